//! The `hookd` binary as an operator runs it: `check-config` on each kind of mistake, JSON log
//! lines, SIGHUP and SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hookd");

/// Runs `hookd args…` with `env` (and no inherited `HOOKD_*`/`RUST_LOG`): (exit code, stdout,
/// stderr).
fn hookd(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("HOOKD_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.envs(env.iter().copied());
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const BASE: &str = "[server]\nadmin_token = \"check-token-1\"\n";

fn check(file: &str, env: &[(&str, &str)]) -> (i32, String) {
    let (code, out, err) = hookd(&["check-config", "--config", file], env);
    (code, format!("{out}{err}"))
}

#[test]
fn check_config_names_each_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.toml", BASE);
    assert_eq!(check(&ok, &[]), (0, "config ok\n".into()));

    // A plugin webhook naming a plugin that plugins.dir does not have.
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(plugins.join("present.wasm"), b"\0asm").unwrap();
    let hook = |plugin: &str| {
        format!("[[webhooks]]\nid = \"p\"\nname = \"p\"\nverifier = \"WASM_PLUGIN\"\nplugin = \"{plugin}\"\nworkflowsToStart = {{ wf = 1 }}\n")
    };
    let f = write(
        dir.path(),
        "missing-plugin.toml",
        &format!(
            "{BASE}[plugins]\ndir = \"{}\"\n{}",
            plugins.display(),
            hook("absent")
        ),
    );
    let (code, msg) = check(&f, &[]);
    assert_eq!(code, 2, "{msg}");
    assert!(
        msg.contains("webhooks[0] (id p)")
            && msg.contains("\"absent\"")
            && msg.contains("plugins.dir"),
        "{msg}"
    );
    let f = write(
        dir.path(),
        "present-plugin.toml",
        &format!(
            "{BASE}[plugins]\ndir = \"{}\"\n{}",
            plugins.display(),
            hook("present")
        ),
    );
    assert_eq!(check(&f, &[]).0, 0);

    // plugins.dir that does not exist.
    let f = write(
        dir.path(),
        "no-dir.toml",
        &format!("{BASE}[plugins]\ndir = \"/nonexistent/hookd-plugins\"\n"),
    );
    let (code, msg) = check(&f, &[]);
    assert_eq!(code, 2);
    assert!(
        msg.contains("plugins.dir /nonexistent/hookd-plugins"),
        "{msg}"
    );

    // A TOML syntax error names the file and the line.
    let f = write(
        dir.path(),
        "syntax.toml",
        &format!("{BASE}\n[kafka\nbrokers = 1\n"),
    );
    let (code, msg) = check(&f, &[]);
    assert_eq!(code, 2);
    assert!(
        msg.contains("syntax.toml") && msg.contains("line 4"),
        "{msg}"
    );

    // A bad verifier names the webhook (and its line).
    let f = write(
        dir.path(),
        "verifier.toml",
        &format!("{BASE}[[webhooks]]\nid = \"w1\"\nname = \"w1\"\nverifier = \"NOPE\"\nworkflowsToStart = {{ wf = 1 }}\n"),
    );
    let (code, msg) = check(&f, &[]);
    assert_eq!(code, 2);
    assert!(
        msg.contains("verifier.toml: webhooks[0].verifier")
            && msg.contains("line 6")
            && msg.contains("NOPE"),
        "{msg}"
    );
    let f = write(
        dir.path(),
        "verifier-key.toml",
        &format!("{BASE}[[webhooks]]\nid = \"w2\"\nname = \"w2\"\nverifier = \"HMAC_BASED\"\nsecretValue = \"not base64!!\"\nworkflowsToStart = {{ wf = 1 }}\n"),
    );
    let (code, msg) = check(&f, &[]);
    assert_eq!(code, 2);
    assert!(msg.contains("webhooks[0] (id w2)"), "{msg}");

    // Environment overrides: the variable is named.
    let (code, msg) = check(&ok, &[("HOOKD_SERVER__MAX_BODY_BYTES", "lots")]);
    assert_eq!(code, 2);
    assert!(msg.contains("HOOKD_SERVER__MAX_BODY_BYTES"), "{msg}");
    let (code, msg) = check(&ok, &[("HOOKD_KAFKA__ACK_TIMEOUT_MS", "5")]);
    assert_eq!(code, 2);
    assert!(
        msg.contains("HOOKD_KAFKA__ACK_TIMEOUT_MS") && msg.contains("between 100"),
        "{msg}"
    );
    let (code, msg) = check(&ok, &[("HOOKD_SERVER__LISENN", "x")]);
    assert_eq!(code, 2);
    assert!(msg.contains("HOOKD_SERVER__LISENN"), "{msg}");

    // No --config: built-in defaults plus the environment, or what is missing.
    let (code, out, err) = hookd(&["check-config"], &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("server.admin_token")
            && err.contains("HOOKD_SERVER__ADMIN_TOKEN")
            && !err.contains("missing field"),
        "{err}"
    );
    let (code, out, err) = hookd(
        &["check-config"],
        &[("HOOKD_SERVER__ADMIN_TOKEN", "from-the-environment")],
    );
    assert_eq!((code, out.as_str()), (0, "config ok\n"), "{err}");

    // A sink needs no provider-facing listener (by the file or by --role).
    let f = write(
        dir.path(),
        "sink.toml",
        &format!("{BASE}listen = \"\"\nrole = \"sink\"\n"),
    );
    assert_eq!(check(&f, &[]).0, 0);
    let f = write(
        dir.path(),
        "nolisten.toml",
        &format!("{BASE}listen = \"\"\n"),
    );
    let (code, msg) = check(&f, &[]);
    assert_eq!(code, 2);
    assert!(msg.contains("server.listen"), "{msg}");
    let (code, _, err) = hookd(&["check-config", "--config", &f, "--role", "sink"], &[]);
    assert_eq!(code, 0, "{err}");
}

/// A running `hookd` whose standard error lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(config: &str, env: &[(&str, &str)]) -> Running {
        let mut c = Command::new(BIN);
        c.args(["--config", config])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("HOOKD_") || k == "RUST_LOG" {
                c.env_remove(k);
            }
        }
        c.envs(env.iter().copied());
        let mut child = c.spawn().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push(l.clone());
                if l.contains(needle) {
                    return l;
                }
            }
        }
        panic!(
            "no log line with {needle:?}; saw:\n{}",
            self.seen.join("\n")
        );
    }

    fn signal(&self, sig: i32) {
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v["fields"][key].as_str().unwrap_or_default()
}

fn http(addr: &str, req: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn json_logs_sighup_and_sigterm_drain() {
    let dir = tempfile::tempdir().unwrap();
    let (listen, admin) = (free_port(), free_port());
    let hook = |id: &str| {
        format!("[[webhooks]]\nid = \"{id}\"\nname = \"{id}\"\nverifier = \"HEADER_BASED\"\nheaders = {{ X-Token = \"tok-{id}\" }}\nworkflowsToStart = {{ wf = 1 }}\n")
    };
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{listen}\"\nadmin_listen = \"127.0.0.1:{admin}\"\nadmin_token = \"cli-admin-token\"\nstate_dir = \"{}\"\ndrain_delay_ms = 3000\n[log]\nformat = \"json\"\n[kafka]\nbrokers = \"embedded\"\npartitions = 1\n",
        dir.path().join("state").display()
    );
    let config = write(dir.path(), "hookd.toml", &format!("{text}{}", hook("one")));
    let mut d = Running::start(&config, &[]);
    let started = d.wait_for("hookd started");
    let admin_addr = format!("127.0.0.1:{admin}");
    let provider = format!("127.0.0.1:{listen}");
    let ready = |a: &str| {
        http(
            a,
            "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&admin_addr).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Every line is one JSON object with time, level, target and fields.message.
    let v: serde_json::Value = serde_json::from_str(&started).expect("JSON line");
    assert_eq!(v["level"], "INFO");
    assert_eq!(v["target"], "hookd::daemon");
    assert!(v["timestamp"].as_str().is_some_and(|t| t.contains('T')));
    assert_eq!(field(&v, "message"), "hookd started");
    // Values as users write them: an address, `off`, not `Some(…)`.
    assert_eq!(field(&v, "listen"), provider);
    assert_eq!(field(&v, "tls"), "off");
    assert!(!started.contains("Some("), "{started}");
    assert!(
        !started.contains('\u{1b}'),
        "no colour codes when not a terminal"
    );

    // A rejected request logs nothing at WARN, but a plugin-less 404 path… use the reload log
    // instead: SIGHUP re-reads [[webhooks]] and says what changed.
    std::fs::write(&config, format!("{text}{}{}", hook("one"), hook("two"))).unwrap();
    d.signal(libc::SIGHUP);
    let line = d.wait_for("[[webhooks]] reloaded");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(field(&v, "added"), "two");
    let r = http(
        &provider,
        "POST /webhook/two HTTP/1.1\r\nHost: x\r\nX-Token: tok-two\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .unwrap();
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");

    // SIGTERM: /readyz turns 503 while the provider listener still serves, then it closes.
    d.signal(libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            std::net::TcpStream::connect(&provider).is_ok(),
            "refused before /readyz said 503"
        );
        if ready(&admin_addr).is_some_and(|r| r.starts_with("HTTP/1.1 503")) {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz never turned 503");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = http(
        &provider,
        "POST /webhook/one HTTP/1.1\r\nHost: x\r\nX-Token: tok-one\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .unwrap();
    assert!(r.starts_with("HTTP/1.1 200"), "served while draining: {r}");
    d.wait_for("hookd stopped");
    let status = d.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    for l in &d.seen {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
    }
}

#[test]
fn repeated_warnings_are_rate_limited_with_a_count() {
    // No broker: every request waits ack_timeout_ms, gets 503 and logs one WARN.
    let dir = tempfile::tempdir().unwrap();
    let (listen, admin) = (free_port(), free_port());
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{listen}\"\nadmin_listen = \"127.0.0.1:{admin}\"\nadmin_token = \"cli-admin-token\"\nstate_dir = \"{}\"\ndrain_delay_ms = 0\nrole = \"ingest\"\n[log]\nformat = \"json\"\nwarn_burst = 2\nwarn_window_secs = 5\n[kafka]\nbrokers = \"127.0.0.1:1\"\nack_timeout_ms = 200\nlinger_ms = 1\nunready_after_ms = 1000\n[[webhooks]]\nid = \"w\"\nname = \"w\"\nverifier = \"HEADER_BASED\"\nheaders = {{ X-Token = \"tok\" }}\nworkflowsToStart = {{ wf = 1 }}\n",
        dir.path().join("state").display()
    );
    let config = write(dir.path(), "hookd.toml", &text);
    let mut d = Running::start(&config, &[]);
    d.wait_for("hookd started");
    let provider = format!("127.0.0.1:{listen}");
    for _ in 0..10 {
        let r = http(
            &provider,
            "POST /webhook/w HTTP/1.1\r\nHost: x\r\nX-Token: tok\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        )
        .unwrap();
        assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    }
    // Every warning is either written or counted in a summary (several windows may pass, so
    // summaries may come).
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut written, mut suppressed, mut summaries) = (0u64, 0u64, 0);
    loop {
        let l = d.wait_for("event not acknowledged by kafka");
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        if field(&v, "message") == "repeated warnings suppressed" {
            assert_eq!(
                field(&v, "first"),
                "event not acknowledged by kafka; answering 503"
            );
            assert!(field(&v, "place").contains("ingress.rs"), "{l}");
            suppressed += v["fields"]["suppressed"].as_u64().unwrap();
            summaries += 1;
        } else {
            written += 1;
        }
        if written + suppressed == 10 && summaries > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{written} written, {suppressed} suppressed"
        );
    }
    assert!((2..10).contains(&written), "{written}");
    // The warning itself: JSON, with the client's address.
    let warn = d
        .seen
        .iter()
        .find(|l| l.contains("event not acknowledged by kafka"))
        .unwrap();
    let w: serde_json::Value = serde_json::from_str(warn).unwrap();
    assert_eq!(w["level"], "WARN");
    assert_eq!(field(&w, "webhook"), "w");
    // The client address (the peer's, or a trusted proxy's word for it), without the port.
    assert!(w["span"]["client"]
        .as_str()
        .is_some_and(|c| c == "127.0.0.1"));
    d.signal(libc::SIGTERM);
    assert!(d.child.wait().unwrap().success());
}
