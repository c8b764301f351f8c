//! `deploy/`: the systemd unit verified by `systemd-analyze`, the Kubernetes manifests validated
//! against the Kubernetes schemas (`kubernetes-validate`, which ships them), and the pieces that
//! must agree with hookd checked against each other (ports, probes, drain timing, secrets). The
//! tools come from `scripts/setup`; a missing tool fails the test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hookd::config::Config;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tool(name: &str) -> PathBuf {
    let p = root().join("target/tools/venv/bin").join(name);
    assert!(p.exists(), "{} missing: run scripts/setup", p.display());
    p
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (run scripts/setup)"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn systemd_unit_verifies_and_is_hardened() {
    let unit = std::fs::read_to_string(root().join("deploy/systemd/hookd.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/hookd --config /etc/hookd/hookd.toml run"));
    // systemd-analyze checks that ExecStart exists: point it at the binary just built.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hookd.service");
    std::fs::write(
        &file,
        unit.replace("/usr/local/bin/hookd", env!("CARGO_BIN_EXE_hookd")),
    )
    .unwrap();
    let (ok, out) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&file));
    // Unknown keys are only warnings for systemd: any output fails the test.
    assert!(
        ok && out.trim().is_empty(),
        "systemd-analyze verify:\n{out}"
    );
    let (_, out) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&file));
    let level: f64 = out
        .lines()
        .find_map(|l| l.split("Overall exposure level for hookd.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{out}"));
    assert!(level <= 2.0, "exposure level {level}:\n{out}");
    // Stop timeout above drain delay + grace of the defaults.
    let cfg = Config::from_toml_with_env(
        "",
        [("HOOKD_SERVER__ADMIN_TOKEN".to_string(), "x".repeat(16))],
    )
    .unwrap();
    let stop_ms = 1000
        * unit
            .lines()
            .find_map(|l| l.strip_prefix("TimeoutStopSec="))
            .unwrap()
            .parse::<u64>()
            .unwrap();
    assert!(stop_ms > cfg.server.drain_delay_ms + cfg.server.shutdown_grace_ms);
}

/// Every document of a YAML file, as JSON (PyYAML from the validator's venv).
fn yaml(file: &Path) -> Vec<Value> {
    let (ok, out) = run(Command::new(tool("python")).arg("-c").arg(
        "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
    ).arg(file));
    assert!(ok, "{out}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn kubernetes_manifests_validate_and_agree() {
    let dir = root().join("deploy/kubernetes");
    let mut docs: HashMap<String, Vec<Value>> = HashMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            for d in yaml(&p) {
                docs.entry(d["kind"].as_str().unwrap().to_string())
                    .or_default()
                    .push(d);
            }
            let (ok, out) = run(Command::new(tool("kubernetes-validate"))
                .args(["--strict", "--quiet"])
                .arg(&p));
            // The ServiceMonitor is a CRD of the Prometheus operator: no schema ships for it
            // (checked below against the objects it refers to).
            let crd_only = out.lines().all(|l| {
                l.trim().is_empty() || l.contains("Couldn't find schema for kind ServiceMonitor")
            });
            assert!(ok && crd_only, "{}:\n{out}", p.display());
        }
    }
    let one = |k: &str| docs[k].first().unwrap_or_else(|| panic!("no {k}")).clone();
    let (dep, cm, pdb, secret, sm) = (
        one("Deployment"),
        one("ConfigMap"),
        one("PodDisruptionBudget"),
        one("Secret"),
        one("ServiceMonitor"),
    );

    // The shipped config parses as hookd reads it (with the token the Secret provides).
    let toml = cm["data"]["hookd.toml"].as_str().unwrap();
    let cfg = Config::from_toml_with_env(
        toml,
        [("HOOKD_SERVER__ADMIN_TOKEN".to_string(), "x".repeat(16))],
    )
    .unwrap();
    let admin_port = cfg
        .server
        .admin_listen
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let http_port = cfg.server.listen.rsplit(':').next().unwrap().to_string();

    let spec = &dep["spec"]["template"]["spec"];
    let c = &spec["containers"][0];
    let port = |name: &str| {
        c["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no container port {name}"))["containerPort"]
            .to_string()
    };
    assert_eq!(port("admin"), admin_port);
    assert_eq!(port("http"), http_port);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "admin");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "admin");
    // Kubernetes sends SIGTERM, then SIGKILL after the grace period: drain + grace must fit.
    let grace_ms = spec["terminationGracePeriodSeconds"].as_u64().unwrap() * 1000;
    assert!(
        grace_ms > cfg.server.drain_delay_ms + cfg.server.shutdown_grace_ms,
        "terminationGracePeriodSeconds {grace_ms} ms <= drain {} + grace {}",
        cfg.server.drain_delay_ms,
        cfg.server.shutdown_grace_ms
    );
    // Non-root, read-only root filesystem, the state directory writable.
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["mountPath"] == cfg.server.state_dir.display().to_string()));
    // Secrets the Deployment reads exist in the Secret.
    let keys = secret["stringData"].as_object().unwrap();
    for e in c["env"].as_array().unwrap() {
        let r = &e["valueFrom"]["secretKeyRef"];
        assert_eq!(r["name"], secret["metadata"]["name"]);
        assert!(keys.contains_key(r["key"].as_str().unwrap()), "{e}");
    }
    // The PDB selects the pods.
    let pod_labels = &dep["spec"]["template"]["metadata"]["labels"];
    for (k, v) in pdb["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v);
    }
    // The ServiceMonitor selects a Service that has its port, scrapes /metrics with the token.
    let ep = &sm["spec"]["endpoints"][0];
    let svc = docs["Service"]
        .iter()
        .find(|s| {
            sm["spec"]["selector"]["matchLabels"]
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| &s["metadata"]["labels"][k] == v)
        })
        .expect("a Service matches the ServiceMonitor");
    let sp = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == ep["port"])
        .expect("the ServiceMonitor's port is on the Service");
    assert_eq!(sp["targetPort"], "admin");
    assert_eq!(ep["path"], "/metrics");
    assert_eq!(ep["bearerTokenSecret"]["name"], secret["metadata"]["name"]);
    assert!(c["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "HOOKD_SERVER__METRICS_TOKEN"
            && e["valueFrom"]["secretKeyRef"]["key"] == ep["bearerTokenSecret"]["key"]));
}

#[test]
fn container_file_is_multi_stage_non_root_with_a_health_check() {
    let text = std::fs::read_to_string(root().join("deploy/Containerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(lines.iter().filter(|l| l.starts_with("FROM ")).count() >= 2);
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .unwrap();
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    let health = text.split("HEALTHCHECK").nth(1).expect("HEALTHCHECK");
    // The health check probes the admin port the image configures.
    // Every `HOOKD_…=value` the image sets (ENV lines and their continuations).
    let env: Vec<(String, String)> = lines
        .iter()
        .flat_map(|l| l.split_whitespace())
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            k.starts_with("HOOKD_")
                .then(|| (k.to_string(), v.trim_end_matches('\\').to_string()))
        })
        .collect();
    let admin = env
        .iter()
        .find(|(k, _)| k == "HOOKD_SERVER__ADMIN_LISTEN")
        .expect("admin listen set")
        .1
        .clone();
    let port = admin.rsplit(':').next().unwrap();
    assert!(
        health.contains(&format!("/dev/tcp/127.0.0.1/{port}")) && health.contains("/healthz"),
        "{health}"
    );
    // The image's config and environment load (config file as copied, state dir, listeners).
    let cfg = Config::load(
        Some(&root().join("config/hookd.toml")),
        env.iter()
            .filter(|(k, _)| k != "HOOKD_CONFIG")
            .cloned()
            .chain([("HOOKD_SERVER__ADMIN_TOKEN".to_string(), "x".repeat(16))]),
    )
    .unwrap();
    assert_eq!(cfg.server.admin_listen, admin);
    assert_eq!(cfg.log.format, hookd::config::LogFormat::Json);
}
