//! CI smoke of the load generator: a few seconds of real load against an in-process hookd on
//! the embedded broker (HTTP/1.1, HTTP/2 over TLS, HTTP/3; GitHub, Stripe and Slack shapes, the
//! webhooks created through the admin API), asserting that every request got a 2xx and every
//! event landed in Kafka; and against the `bare` baseline server. No timing is asserted.

use std::process::{Command, Output};
use std::time::Duration;

use hookd_benches::stats::Report;
use hookd_e2e::{TestDaemon, TOKEN};

async fn run(cmd: Command) -> Output {
    let mut cmd = cmd;
    tokio::task::spawn_blocking(move || cmd.output().expect("the binary starts"))
        .await
        .expect("join")
}

fn loadgen(args: &[&str], json: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    c.args(args)
        .args(["--json", json.to_str().expect("utf-8 path")])
        .args(["--threads", "2", "--timeout", "20s"]);
    c
}

fn last_report(json: &std::path::Path) -> Report {
    let text = std::fs::read_to_string(json).expect("loadgen wrote its report");
    let runs = hookd_benches::report::parse(&text).expect("valid JSON lines");
    runs.into_iter().last().expect("one report")
}

fn check(out: &Output, json: &std::path::Path, n: u64) -> Report {
    let text = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "loadgen failed: {text}");
    let r = last_report(json);
    assert_eq!(r.sent, n, "{text}");
    assert_eq!(r.statuses.get("200"), Some(&n), "{text}");
    assert!(r.errors.is_empty(), "{text}");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_lands_every_event_over_h1_h2_h3() {
    let d = TestDaemon::start("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("runs.jsonl");
    let pid = std::process::id().to_string();
    let bootstrap = d.bootstrap();
    let cert = d
        .daemon
        .tls_cert_path
        .clone()
        .expect("TLS listener")
        .to_str()
        .expect("utf-8 path")
        .to_string();
    let h3_port = d
        .daemon
        .h3_addr
        .expect("HTTP/3 listener")
        .port()
        .to_string();
    let admin = d.admin_url();
    let http = d.http_url();
    let https = d.https_url();
    let common = |url: &str, proto: &str| -> Vec<String> {
        [
            "--url",
            url,
            "--proto",
            proto,
            "--admin",
            &admin,
            "--token",
            TOKEN,
            "--provider",
            "github,stripe,slack",
            "--size",
            "7k",
            "-c",
            "4",
            "-n",
            "60",
            "--duration",
            "60s",
            "--pid",
            &pid,
            "--brokers",
            &bootstrap,
            "--topic",
            "events",
            "--cacert",
            &cert,
            "--h3-port",
            &h3_port,
            "--strict",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for (url, proto, connections) in [(&http, "h1", "4"), (&https, "h2", "2"), (&https, "h3", "2")]
    {
        let mut args = common(url, proto);
        args.extend([
            "--connections".into(),
            connections.into(),
            "--label".into(),
            format!("smoke-{proto}"),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(loadgen(&args, &json)).await;
        let r = check(&out, &json, 60);
        assert_eq!(r.proto, proto);
        let k = r.kafka.expect("kafka checked");
        assert!(k.complete, "{k:?}");
        assert_eq!((k.acked, k.landed, k.missing, k.duplicates), (60, 60, 0, 0));
        let daemon = r.daemon.expect("daemon figures");
        assert!(daemon.rss_max_mib > 0.0);
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_answers_the_same_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bare.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ntls_listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nadmin_token = \"{TOKEN}\"\nstate_dir = \"{}\"\n",
            dir.path().join("state").display()
        ),
    )
    .expect("write config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bare"))
        .args(["--config", cfg.to_str().expect("utf-8 path")])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bare starts");
    // bare prints its bound addresses on stderr.
    let stderr = child.stderr.take().expect("stderr");
    let lines = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut all = Vec::new();
        for line in std::io::BufReader::new(stderr).lines() {
            all.push(line.expect("stderr line"));
            let listening = all
                .iter()
                .filter(|l| l.starts_with("bare: listening on "))
                .count();
            if listening == 3 {
                break;
            }
        }
        all
    });
    let lines = tokio::time::timeout(Duration::from_secs(30), lines)
        .await
        .expect("bare reports its listeners")
        .expect("join");
    let http = lines
        .iter()
        .find_map(|l| l.strip_prefix("bare: listening on http://"))
        .unwrap_or_else(|| panic!("bare did not start: {lines:?}"));
    let http = format!("http://{http}");
    let json = dir.path().join("runs.jsonl");
    let out = run(loadgen(
        &[
            "--url",
            &http,
            "--proto",
            "h1",
            "--webhook",
            "github:any-id:any-secret",
            "-c",
            "2",
            "-n",
            "20",
            "--duration",
            "60s",
            "--pid",
            &child.id().to_string(),
            "--strict",
        ],
        &json,
    ))
    .await;
    let r = check(&out, &json, 20);
    assert!(r.kafka.is_none());
    assert!(r.daemon.expect("bare's figures").cpu_secs >= 0.0);
    // Graceful stop, as run-all.sh does it.
    // SAFETY: kill(2) on the pid of a child this test spawned and has not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().expect("bare exits");
    assert!(status.success(), "bare exits cleanly on SIGTERM: {status}");
}
