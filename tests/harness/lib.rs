//! Test harness: starts hookd in-process on `127.0.0.1:0` against librdkafka's mock cluster,
//! talks to it over real HTTP/1.1, HTTP/2 and TLS, and reads the events topic back.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookd::config::Config;
use hookd::{Daemon, Options};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

pub mod conductor;
pub mod h3;
pub mod orkes;
pub mod plugins;

pub use hookd;
pub use serde_json::json;

/// Admin token used by every test daemon.
pub const TOKEN: &str = "test-admin-token";

/// A daemon under test with its own state directory and controllable clock.
pub struct TestDaemon {
    /// The daemon.
    pub daemon: Daemon,
    /// Its state directory (kept for restart tests).
    pub state_dir: Arc<tempfile::TempDir>,
    /// Epoch ms the daemon sees; 0 = system clock.
    pub clock: Arc<AtomicI64>,
    /// The config it was started with.
    pub config_text: String,
}

/// librdkafka's mock cluster with hookd's topics under the prefix `events`: `partitions` for the
/// events topic and its de-duplication records, one for the others.
pub fn mock_cluster(partitions: i32) -> hookd::kafka::embedded::EmbeddedKafka {
    hookd::kafka::embedded::EmbeddedKafka::start(&[
        ("events".into(), partitions),
        ("events.webhooks".into(), 1),
        ("events.starts".into(), partitions),
        ("events.waits".into(), 1),
        ("events.history".into(), 1),
        ("events.dlq".into(), 1),
    ])
    .unwrap()
}

/// Base config: plain + TLS + admin on ephemeral ports, embedded Kafka unless `brokers` given.
pub fn base_config(state_dir: &std::path::Path, brokers: &str, extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
tls_listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
admin_token = "{TOKEN}"
state_dir = "{}"
{drain}
{extra_server}
[kafka]
brokers = "{brokers}"
{topic}
{partitions}
ack_timeout_ms = 1500
{extra_kafka}
{extra_rest}
"#,
        state_dir.display(),
        // Tests stop daemons often: no drain delay unless a test asks for one.
        drain = if section(extra, "server").contains("drain_delay_ms") {
            ""
        } else {
            "drain_delay_ms = 0"
        },
        topic = if section(extra, "kafka").contains("topic") {
            ""
        } else {
            "topic = \"events\""
        },
        partitions = if section(extra, "kafka").contains("partitions") {
            ""
        } else {
            "partitions = 3"
        },
        extra_server = section(extra, "server"),
        extra_kafka = section(extra, "kafka"),
        extra_rest = section(extra, "rest"),
    )
}

/// `extra` is split by `#server`, `#kafka`, `#rest` markers into the matching sections.
fn section(extra: &str, name: &str) -> String {
    let mut out = String::new();
    let mut cur = "rest";
    for line in extra.lines() {
        match line.trim() {
            "#server" => cur = "server",
            "#kafka" => cur = "kafka",
            "#rest" => cur = "rest",
            _ if cur == name => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

impl TestDaemon {
    /// Starts a daemon on the embedded broker.
    pub async fn start(extra: &str) -> TestDaemon {
        Self::start_with("embedded", extra, None).await
    }

    /// Starts a daemon on `brokers`, reusing `state_dir` when given.
    pub async fn start_with(
        brokers: &str,
        extra: &str,
        state_dir: Option<Arc<tempfile::TempDir>>,
    ) -> TestDaemon {
        let state_dir = state_dir.unwrap_or_else(|| Arc::new(tempfile::tempdir().unwrap()));
        let text = base_config(state_dir.path(), brokers, extra);
        let cfg = Config::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let clock = Arc::new(AtomicI64::new(0));
        let c2 = clock.clone();
        let sys = hookd::system_clock();
        // The config is also written to a file, which reloads re-read.
        let config_path = state_dir.path().join("hookd.toml");
        std::fs::write(&config_path, &text).unwrap();
        let opts = Options {
            clock: Some(Arc::new(move || match c2.load(Ordering::Relaxed) {
                0 => sys(),
                v => v,
            })),
            config_path: Some(config_path),
        };
        let daemon = Daemon::start(cfg, opts).await.expect("daemon starts");
        assert!(
            daemon.wait_ready(Duration::from_secs(20)).await || brokers != "embedded",
            "registry did not catch up"
        );
        TestDaemon {
            daemon,
            state_dir,
            clock,
            config_text: text,
        }
    }

    /// Sets the daemon's clock to `unix` seconds (0 = back to the system clock).
    pub fn set_now(&self, unix: i64) {
        self.clock.store(unix * 1000, Ordering::Relaxed);
    }

    /// `http://127.0.0.1:<listen>`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.daemon.listen_addr.unwrap())
    }

    /// `https://localhost:<tls_listen>`.
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.daemon.tls_addr.unwrap().port())
    }

    /// `http://127.0.0.1:<admin>`.
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.daemon.admin_addr)
    }

    /// The Kafka bootstrap servers in use.
    pub fn bootstrap(&self) -> String {
        self.daemon.kafka_bootstrap.clone()
    }

    /// Creates a webhook through the admin API; returns its id.
    pub async fn create_webhook(&self, body: serde_json::Value) -> String {
        let r = admin_client()
            .post(format!("{}/api/metadata/webhook", self.admin_url()))
            .header("X-Authorization", TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(status, 200, "create failed: {v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// GETs a webhook through the admin API.
    pub async fn get_webhook(&self, id: &str) -> (u16, serde_json::Value) {
        let r = admin_client()
            .get(format!("{}/api/metadata/webhook/{id}", self.admin_url()))
            .header("X-Authorization", TOKEN)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// The webhook's execution history once it holds at least `n` entries (polls up to 60 s).
    pub async fn history(&self, id: &str, n: usize) -> Vec<serde_json::Value> {
        for _ in 0..1200 {
            let h = self.get_webhook(id).await.1["webhookExecutionHistory"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if h.len() >= n {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("history of {id} never reached {n} entries");
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        admin_client()
            .get(format!("{}/metrics", self.admin_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The config file the daemon was started from (reloads re-read it).
    pub fn config_path(&self) -> std::path::PathBuf {
        self.state_dir.path().join("hookd.toml")
    }

    /// Graceful shutdown.
    pub async fn stop(self) -> Arc<tempfile::TempDir> {
        self.daemon.shutdown().await;
        self.state_dir
    }
}

/// The sum of the samples of `name` in Prometheus text `m` whose labels include every pair of
/// `labels` (0 when none: series exist at zero from start, so tests compare values).
pub fn metric(m: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Installs ring as rustls' process-wide provider (reqwest is built without one).
pub fn init_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A plain HTTP client (HTTP/1.1).
pub fn admin_client() -> reqwest::Client {
    init_crypto();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A plain HTTP/1.1 client for the provider-facing listener.
pub fn http1_client() -> reqwest::Client {
    init_crypto();
    reqwest::Client::builder()
        .http1_only()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A real rustls client trusting `cert_pem_path`, offering only `alpn` (`h2` or `http/1.1`).
pub fn tls_client(cert_pem_path: &std::path::Path, alpn: &[u8]) -> reqwest::Client {
    init_crypto();
    let pem = std::fs::read(cert_pem_path).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile_certs(&pem) {
        roots.add(c).unwrap();
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    let b = reqwest::Client::builder()
        .use_preconfigured_tls(cfg)
        .timeout(Duration::from_secs(20));
    let b = if alpn == b"h2" {
        b.http2_prior_knowledge()
    } else {
        b.http1_only()
    };
    b.build().unwrap()
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// One record read back from Kafka.
#[derive(Debug, Clone)]
pub struct Record {
    /// Key.
    pub key: String,
    /// Value, byte for byte.
    pub value: Vec<u8>,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Partition.
    pub partition: i32,
}

impl Record {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads every record of `topic` until `want` records were seen (or `timeout`), plus a short
/// quiet period to catch extras.
pub fn consume_all(bootstrap: &str, topic: &str, want: usize, timeout: Duration) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("test-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let n = md.topics()[0].partitions().len() as i32;
    let mut tpl = TopicPartitionList::new();
    for p in 0..n {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut quiet_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now > deadline || quiet_until.is_some_and(|q| now > q) {
            break;
        }
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|x| {
                            (
                                x.key.to_string(),
                                String::from_utf8_lossy(x.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Record {
                key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                value: m.payload().unwrap_or_default().to_vec(),
                headers,
                partition: m.partition(),
            });
        }
        if out.len() >= want && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + Duration::from_millis(500));
        }
    }
    out
}

/// Loads the provider test vectors (`tests/vectors/providers.json`, see `docs/verifiers.md`).
pub fn vectors() -> serde_json::Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/providers.json");
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// Decodes a vector's authoritative base64 body.
pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Whether the sink group `group` has committed every partition of `topic` up to its end: every
/// event published so far is finished (the sink commits below the oldest unfinished event).
pub fn sink_caught_up(bootstrap: &str, group: &str, topic: &str) -> bool {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let Ok(md) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) else {
        return false;
    };
    let n = md.topics()[0].partitions().len() as i32;
    let mut tpl = TopicPartitionList::new();
    for p in 0..n {
        tpl.add_partition(topic, p);
    }
    let Ok(committed) = consumer.committed_offsets(tpl, Duration::from_secs(5)) else {
        return false;
    };
    (0..n).all(|p| {
        let Ok((_, high)) = consumer.fetch_watermarks(topic, p, Duration::from_secs(5)) else {
            return false;
        };
        let at = committed
            .find_partition(topic, p)
            .map(|e| e.offset())
            .unwrap_or(Offset::Invalid);
        match at {
            Offset::Offset(o) => o >= high,
            _ => high == 0,
        }
    })
}

/// Waits until [`sink_caught_up`] (the sink commits about once a second), or panics.
pub async fn wait_sink_caught_up(bootstrap: &str, topic: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let (b, t) = (bootstrap.to_string(), topic.to_string());
        let done = tokio::task::spawn_blocking(move || sink_caught_up(&b, "hookd-sink", &t))
            .await
            .unwrap();
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the sink never caught up on {topic}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
