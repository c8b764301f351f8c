//! `hookd plugin test` and `hookd plugin call` as a plugin author runs them: every first-party
//! plugin passes its vectors (`plugins/<name>/vectors.json`), a wrong expectation fails with
//! exit code 1 and says what differed, and `call` prints the verdict, the plugin's log lines,
//! the time and the memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const BIN: &str = env!("CARGO_BIN_EXE_hookd");

/// The plugins of `plugins/`, built for wasm32-wasip2 (a no-op when CI built them already).
fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins")
            .canonicalize()
            .unwrap();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env("CARGO_TARGET_DIR", root.join("target"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building plugins/ failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        root.join("target/wasm32-wasip2/release")
    })
}

fn hookd(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn plugin_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins")
        .join(name)
}

fn wasm(name: &str) -> String {
    built()
        .join(format!("{}.wasm", name.replace('-', "_")))
        .display()
        .to_string()
}

#[test]
fn every_first_party_plugin_passes_its_vectors() {
    let mut tested = Vec::new();
    for e in std::fs::read_dir(plugin_dir("")).unwrap() {
        let dir = e.unwrap().path();
        let vectors = dir.join("vectors.json");
        if !vectors.is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        // A generous deadline: the verdicts are under test, not a busy machine's timing.
        let (code, out) = hookd(&[
            "plugin",
            "test",
            "--deadline-ms",
            "2000",
            &wasm(&name),
            vectors.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{name}:\n{out}");
        assert!(out.contains(" 0 failed"), "{out}");
        tested.push(name);
    }
    tested.sort();
    for must in ["twilio", "pagerduty", "mailgun", "standard-webhooks"] {
        assert!(
            tested.iter().any(|t| t == must),
            "{must} has no vectors: {tested:?}"
        );
    }
}

#[test]
fn a_wrong_expectation_fails_and_says_what_differed() {
    let text = std::fs::read_to_string(plugin_dir("twilio").join("vectors.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["cases"][0]["expect"] = serde_json::json!({"verdict": "reject", "reason": "bad_signature"});
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.json");
    std::fs::write(&wrong, v.to_string()).unwrap();
    let (code, out) = hookd(&[
        "plugin",
        "test",
        "--deadline-ms",
        "2000",
        &wasm("twilio"),
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  Twilio docs example"), "{out}");
    assert!(
        out.contains(r#"got      {"verdict":"accept","delivery_id":null}"#),
        "{out}"
    );
    assert!(out.contains("1 failed"), "{out}");
    // Bad input is exit code 2, naming the file.
    std::fs::write(&wrong, "{").unwrap();
    let (code, out) = hookd(&["plugin", "test", &wasm("twilio"), wrong.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("wrong.json"), "{out}");
}

#[test]
fn call_prints_the_verdict_the_log_the_time_and_the_memory() {
    let (code, out) = hookd(&[
        "plugin",
        "call",
        "--deadline-ms",
        "2000",
        &wasm("chatty"),
        "--url",
        "https://hooks.example.com/webhook/x?a=1",
        "--body",
        "hi",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(r#""body":"https hooks.example.com https://hooks.example.com/webhook/x?a=1""#),
        "{out}"
    );
    assert!(
        out.contains("log: Warn [Log] chatty: hello from the log import"),
        "{out}"
    );
    assert!(
        out.contains("log: Info [Stdout] chatty: printed to stdout"),
        "{out}"
    );
    assert!(
        out.contains("contract: 0.3.0") && out.contains(" µs") && out.contains("KiB"),
        "{out}"
    );
    // A 0.2.0 plugin runs too.
    let (code, out) = hookd(&[
        "plugin",
        "call",
        "--deadline-ms",
        "2000",
        &wasm("contract-v0-2"),
        "-H",
        "X-Token: t0k",
        "--secret",
        "t0k",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(r#"{"verdict":"accept""#) && out.contains("contract: 0.2.0"),
        "{out}"
    );
}
