//! Metric names (`hookd_<name>_<unit>`, bounded labels), their HELP text, the series that exist
//! from start, and the Prometheus recorder (with the standard `process_*` metrics).
//!
//! Labels: `webhook` is a registered webhook id (operator-defined; at most
//! [`MAX_WEBHOOK_LABELS`] distinct ids, then `other`) or `unknown`; `verifier` is a verifier
//! kind; `outcome`, `reason` and `protocol` are fixed sets.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, RwLock};

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// `1`, labelled with the `version` and git `commit` of the running binary.
pub const BUILD_INFO: &str = "hookd_build_info";
/// Requests to `/webhook/{id}` by `webhook`, `verifier`, `outcome`, `protocol`; the outcome
/// follows the status sent (see [`outcome`]).
pub const REQUESTS_TOTAL: &str = "hookd_requests_total";
/// Requests answered 4xx, by `reason` (bad_signature, stale_timestamp, unknown_webhook,
/// too_large, …).
pub const REJECTIONS_TOTAL: &str = "hookd_rejections_total";
/// Requests answered 5xx, by `reason` (kafka_timeout, overloaded, plugin_error, …).
pub const REQUEST_ERRORS_TOTAL: &str = "hookd_request_errors_total";
/// Request latency, receipt of headers to response, by `webhook`, `verifier` and `outcome`.
pub const REQUEST_SECONDS: &str = "hookd_request_duration_seconds";
/// Time from send to Kafka delivery report, by `outcome`.
pub const KAFKA_DELIVERY_SECONDS: &str = "hookd_kafka_delivery_duration_seconds";
/// Events waiting for a Kafka acknowledgement.
pub const INFLIGHT_EVENTS: &str = "hookd_inflight_events";
/// Request body bytes received by `webhook`.
pub const BYTES_IN_TOTAL: &str = "hookd_request_body_bytes_total";
/// Admin API requests by `method` and `status`.
pub const ADMIN_REQUESTS_TOTAL: &str = "hookd_admin_requests_total";
/// Verified requests answered 200 without publishing because this instance already published
/// the same signed content within `server.replay_window_secs`.
pub const REPLAYS_TOTAL: &str = "hookd_replays_total";
/// Replay keys forgotten before their window ended because `server.replay_max_entries` was
/// reached.
pub const REPLAY_EVICTIONS_TOTAL: &str = "hookd_replay_evictions_total";
/// TCP connections closed by hookd before or between requests, by `listener` (`provider`,
/// `admin`) and `reason`: `max_connections`, `max_connections_per_client`, `proxy_protocol`,
/// `tls_handshake`, `idle` (no request head within `header_read_timeout_ms`, or an HTTP/2
/// connection without streams for `idle_timeout_ms`).
pub const CONNECTIONS_CLOSED_TOTAL: &str = "hookd_connections_closed_total";

/// QUIC connection attempts by `action`: `accepted`, `retry` (address validation requested),
/// `refused` (connection limit or shutting down).
pub const H3_INCOMING_TOTAL: &str = "hookd_h3_incoming_total";
/// Plugin calls that failed, by `plugin` and `kind`.
pub const PLUGIN_ERRORS_TOTAL: &str = "hookd_plugin_errors_total";
/// Plugin log lines dropped by `[plugins] log_lines_per_second`, by `plugin`.
pub const PLUGIN_LOG_DROPPED_TOTAL: &str = "hookd_plugin_log_lines_dropped_total";

/// Conductor API latency by `op` and `outcome`.
pub const CONDUCTOR_REQUEST_SECONDS: &str = "hookd_conductor_request_duration_seconds";
/// Sink actions by `kind` (start, complete, skip, dry_run) and `outcome`.
pub const SINK_ACTIONS_TOTAL: &str = "hookd_sink_actions_total";
/// Events not yet processed by this sink, by `partition`.
pub const SINK_LAG_MESSAGES: &str = "hookd_sink_consumer_lag_messages";
/// Waiting tasks in the wait index.
pub const SINK_WAITS_INDEXED: &str = "hookd_sink_waits_indexed";
/// Records sent to the dead-letter topic, by `status` (Conductor's answer, or `other`).
pub const SINK_DLQ_TOTAL: &str = "hookd_sink_dlq_records_total";
/// De-duplication records read back from `<topic>.starts` when taking partitions (each
/// takeover reads at most `sink.dedup_index_entries`).
pub const SINK_TAKEOVER_RECORDS_TOTAL: &str = "hookd_sink_takeover_records_total";
/// Kafka producers replaced after a fatal error (label `producer`: `events`, `sink`).
pub const KAFKA_PRODUCER_REBUILDS_TOTAL: &str = "hookd_kafka_producer_rebuilds_total";
/// Times the sink consumer sought back over offsets the fetcher skipped (`sink/continuity.rs`).
pub const SINK_OFFSET_REPAIRS_TOTAL: &str = "hookd_sink_offset_repairs_total";
/// Events of this instance's partitions being processed right now.
pub const SINK_IN_FLIGHT_EVENTS: &str = "hookd_sink_in_flight_events";

/// Webhooks whose stored secrets no key of `server.secrets_keys` opens (they answer 503).
pub const SECRETS_UNOPENED_WEBHOOKS: &str = "hookd_secrets_unopened_webhooks";
/// Webhook definitions whose secrets could not be opened, counted each time one is applied.
pub const SECRETS_UNOPENED_TOTAL: &str = "hookd_secrets_unopened_total";
/// Webhook definitions re-sealed with the newest key at start.
pub const SECRETS_RESEALED_TOTAL: &str = "hookd_secrets_resealed_total";
/// `POST /api/token` requests by `outcome` (`issued`, `refused`, `invalid`).
pub const TOKEN_REQUESTS_TOTAL: &str = "hookd_token_requests_total";

/// Distinct webhook ids used as label values; later ones are counted as `other`.
pub const MAX_WEBHOOK_LABELS: usize = 1000;

/// Every `outcome` of [`REQUESTS_TOTAL`] and [`REQUEST_SECONDS`].
pub const OUTCOMES: &[&str] = &[
    "accepted",
    "challenge",
    "rejected",
    "unknown_webhook",
    "timeout",
    "unavailable",
    "error",
];

/// The `outcome` of a request answered with `status`: 200 `accepted`, other 2xx `challenge`
/// (a handshake reply), 404 `unknown_webhook`, 408 `timeout`, other 4xx `rejected`, 503
/// `unavailable`, other 5xx `error`.
pub fn outcome(status: u16) -> &'static str {
    match status {
        200 => "accepted",
        201..=299 => "challenge",
        404 => "unknown_webhook",
        408 => "timeout",
        400..=403 | 405..=407 | 409..=499 => "rejected",
        503 => "unavailable",
        _ => "error",
    }
}

/// `reason` values of [`REJECTIONS_TOTAL`] (4xx answers of `/webhook/{id}`).
pub const REJECTION_REASONS: &[&str] = &[
    "missing_signature",
    "bad_signature",
    "stale_timestamp",
    "malformed",
    "challenge_required",
    "unknown_webhook",
    "too_large",
    "body_timeout",
    "method_not_allowed",
];

/// `reason` values of [`REQUEST_ERRORS_TOTAL`] (5xx answers of `/webhook/{id}`).
pub const ERROR_REASONS: &[&str] = &[
    "plugin_error",
    "plugin_busy",
    "plugin_unavailable",
    "overloaded",
    "queue_full",
    "kafka_timeout",
    "kafka_unavailable",
    "internal",
];

static WEBHOOK_LABELS: RwLock<Option<HashSet<String>>> = RwLock::new(None);

/// The `webhook` label value for `id` (a registered webhook): the id itself for the first
/// [`MAX_WEBHOOK_LABELS`] ids seen by this process, `other` after that.
pub fn webhook_label(id: &str) -> String {
    if let Some(set) = WEBHOOK_LABELS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        if set.contains(id) {
            return id.to_string();
        }
    }
    let mut w = WEBHOOK_LABELS.write().unwrap_or_else(|p| p.into_inner());
    let set = w.get_or_insert_with(HashSet::new);
    if set.contains(id) || set.len() < MAX_WEBHOOK_LABELS {
        set.insert(id.to_string());
        id.to_string()
    } else {
        "other".into()
    }
}

/// Every `protocol` of [`REQUESTS_TOTAL`] (see `ingress::protocol`).
pub const PROTOCOLS: &[&str] = &["h1", "h2", "h3"];

// `WebhookMetrics` keeps one handle per outcome and protocol.
const _: () = assert!(OUTCOMES.len() == 7 && PROTOCOLS.len() == 3);

/// The request metrics of one webhook, made once per webhook when the registry builds its
/// entry: the label is looked up once and each series' handle is resolved on its first use,
/// then reused, so a request costs no label allocation and no recorder lookup. Series appear
/// exactly when the `metrics!` macros would have created them (at first use, or at zero from
/// [`init_series`]).
pub struct WebhookMetrics {
    webhook: String,
    verifier: &'static str,
    requests: [[OnceLock<Counter>; 3]; 7],
    seconds: [OnceLock<Histogram>; 7],
    bytes_in: OnceLock<Counter>,
    replays: OnceLock<Counter>,
}

impl WebhookMetrics {
    /// The metrics of webhook `id` (label from [`webhook_label`]) with verifier kind `verifier`.
    pub fn new(id: &str, verifier: &'static str) -> Self {
        Self::labelled(webhook_label(id), verifier)
    }

    fn labelled(webhook: String, verifier: &'static str) -> Self {
        WebhookMetrics {
            webhook,
            verifier,
            requests: Default::default(),
            seconds: Default::default(),
            bytes_in: OnceLock::new(),
            replays: OnceLock::new(),
        }
    }

    /// The metrics of requests for no known webhook (`webhook="unknown"`, `verifier="none"`).
    pub fn unknown() -> std::sync::Arc<WebhookMetrics> {
        static UNKNOWN: OnceLock<std::sync::Arc<WebhookMetrics>> = OnceLock::new();
        UNKNOWN
            .get_or_init(|| std::sync::Arc::new(Self::labelled("unknown".into(), "none")))
            .clone()
    }

    /// The `webhook` label value.
    pub fn label(&self) -> &str {
        &self.webhook
    }

    /// Counts one request answered with `status` over `protocol` and records its latency.
    pub fn request(&self, status: u16, protocol: &'static str, seconds: f64) {
        let outcome = outcome(status);
        let o = OUTCOMES.iter().position(|x| *x == outcome).unwrap_or(0);
        let p = PROTOCOLS.iter().position(|x| *x == protocol).unwrap_or(0);
        self.requests[o][p]
            .get_or_init(|| {
                metrics::counter!(REQUESTS_TOTAL, "webhook" => self.webhook.clone(),
                    "verifier" => self.verifier, "outcome" => outcome, "protocol" => protocol)
            })
            .increment(1);
        self.seconds[o]
            .get_or_init(|| {
                metrics::histogram!(REQUEST_SECONDS, "webhook" => self.webhook.clone(),
                    "verifier" => self.verifier, "outcome" => outcome)
            })
            .record(seconds);
    }

    /// Counts body bytes received.
    pub fn bytes_in(&self, n: u64) {
        self.bytes_in
            .get_or_init(|| metrics::counter!(BYTES_IN_TOTAL, "webhook" => self.webhook.clone()))
            .increment(n);
    }

    /// Counts a replay answered without publishing.
    pub fn replay(&self) {
        self.replays
            .get_or_init(|| metrics::counter!(REPLAYS_TOTAL, "webhook" => self.webhook.clone()))
            .increment(1);
    }
}

impl std::fmt::Debug for WebhookMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookMetrics")
            .field("webhook", &self.webhook)
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

/// [`INFLIGHT_EVENTS`], resolved once.
pub fn inflight_events() -> &'static Gauge {
    static G: OnceLock<Gauge> = OnceLock::new();
    G.get_or_init(|| metrics::gauge!(INFLIGHT_EVENTS))
}

/// [`KAFKA_DELIVERY_SECONDS`] for a delivery that succeeded (`ok`) or not, resolved once.
pub fn kafka_delivery_seconds(ok: bool) -> &'static Histogram {
    static H: [OnceLock<Histogram>; 2] = [OnceLock::new(), OnceLock::new()];
    let outcome = if ok { "ok" } else { "error" };
    H[usize::from(ok)]
        .get_or_init(|| metrics::histogram!(KAFKA_DELIVERY_SECONDS, "outcome" => outcome))
}

/// What a daemon runs, to create its series at zero from start ([`init_series`]).
#[derive(Default)]
pub struct Series {
    /// Provider-facing listeners run.
    pub ingest: bool,
    /// The sink runs.
    pub sink: bool,
    /// Protocols served (`h1`, `h2`, `h3`).
    pub protocols: Vec<&'static str>,
    /// Webhooks known at start: (id, verifier kind).
    pub webhooks: Vec<(String, &'static str)>,
    /// Plugins loaded at start.
    pub plugins: Vec<String>,
    /// Sink actions by (kind, outcome).
    pub sink_actions: &'static [(&'static str, &'static str)],
    /// Conductor operations.
    pub conductor_ops: &'static [&'static str],
}

/// Creates every series a daemon knows of at zero, so a fresh instance exposes them before the
/// first request (rates and alerts work from the first scrape).
pub fn init_series(s: &Series) {
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "commit" => env!("HOOKD_COMMIT"))
        .set(1.0);
    for method in ["GET", "POST", "PUT", "DELETE"] {
        for status in ["200", "401"] {
            metrics::counter!(ADMIN_REQUESTS_TOTAL, "method" => method, "status" => status)
                .absolute(0);
        }
    }
    if s.ingest {
        for r in REJECTION_REASONS {
            metrics::counter!(REJECTIONS_TOTAL, "reason" => *r).absolute(0);
        }
        for r in ERROR_REASONS {
            metrics::counter!(REQUEST_ERRORS_TOTAL, "reason" => *r).absolute(0);
        }
        metrics::gauge!(INFLIGHT_EVENTS).set(0.0);
        for o in ["ok", "error"] {
            let _ = metrics::histogram!(KAFKA_DELIVERY_SECONDS, "outcome" => o);
        }
        if s.protocols.contains(&"h3") {
            for a in ["accepted", "retry", "refused"] {
                metrics::counter!(H3_INCOMING_TOTAL, "action" => a).absolute(0);
            }
        }
        for (id, verifier) in &s.webhooks {
            let webhook = webhook_label(id);
            metrics::counter!(BYTES_IN_TOTAL, "webhook" => webhook.clone()).absolute(0);
            for o in OUTCOMES {
                let _ = metrics::histogram!(REQUEST_SECONDS, "webhook" => webhook.clone(),
                    "verifier" => *verifier, "outcome" => *o);
                for p in &s.protocols {
                    metrics::counter!(REQUESTS_TOTAL, "webhook" => webhook.clone(),
                        "verifier" => *verifier, "outcome" => *o, "protocol" => *p)
                    .absolute(0);
                }
            }
        }
        for p in &s.plugins {
            for k in [
                "deadline",
                "memory",
                "trap",
                "output",
                "missing",
                "instantiate",
                "busy",
            ] {
                metrics::counter!(PLUGIN_ERRORS_TOTAL, "plugin" => p.clone(), "kind" => k)
                    .absolute(0);
            }
            metrics::counter!(PLUGIN_LOG_DROPPED_TOTAL, "plugin" => p.clone()).absolute(0);
        }
    }
    if s.sink {
        for (kind, outcome) in s.sink_actions {
            metrics::counter!(SINK_ACTIONS_TOTAL, "kind" => *kind, "outcome" => *outcome)
                .absolute(0);
        }
        for op in s.conductor_ops {
            let _ = metrics::histogram!(CONDUCTOR_REQUEST_SECONDS, "op" => *op, "outcome" => "ok");
        }
        metrics::gauge!(SINK_WAITS_INDEXED).set(0.0);
        metrics::counter!(SINK_DLQ_TOTAL, "status" => "other").absolute(0);
        metrics::counter!(SINK_TAKEOVER_RECORDS_TOTAL).absolute(0);
        metrics::gauge!(SINK_IN_FLIGHT_EVENTS).set(0.0);
        metrics::counter!(SINK_OFFSET_REPAIRS_TOTAL).absolute(0);
        metrics::counter!(KAFKA_PRODUCER_REBUILDS_TOTAL, "producer" => "sink").absolute(0);
    }
    if s.ingest {
        metrics::counter!(KAFKA_PRODUCER_REBUILDS_TOTAL, "producer" => "events").absolute(0);
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static PROCESS: OnceLock<Mutex<metrics_process::Collector>> = OnceLock::new();

/// Refreshes the `process_*` metrics (called before each render and periodically).
pub fn collect_process() {
    if let Some(c) = PROCESS.get() {
        c.lock().unwrap_or_else(|p| p.into_inner()).collect();
    }
}

/// Installs the global recorder once per process (several in-process daemons share it).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let latency = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &latency)
                .expect("buckets");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            describe();
            let process = metrics_process::Collector::default();
            process.describe();
            let _ = PROCESS.set(Mutex::new(process));
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(
        BUILD_INFO,
        "Always 1; labelled with the version and git commit of the running hookd"
    );
    describe_counter!(
        REQUESTS_TOTAL,
        "Webhook requests by webhook, verifier, outcome (from the status sent) and protocol"
    );
    describe_counter!(REJECTIONS_TOTAL, "Webhook requests answered 4xx, by reason");
    describe_counter!(
        REQUEST_ERRORS_TOTAL,
        "Webhook requests answered 5xx, by reason"
    );
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "Webhook request latency by webhook, verifier and outcome"
    );
    describe_histogram!(
        KAFKA_DELIVERY_SECONDS,
        Unit::Seconds,
        "Kafka produce-to-delivery-report latency"
    );
    describe_gauge!(
        INFLIGHT_EVENTS,
        "Events waiting for a Kafka acknowledgement"
    );
    describe_counter!(BYTES_IN_TOTAL, Unit::Bytes, "Webhook request body bytes");
    describe_counter!(
        ADMIN_REQUESTS_TOTAL,
        "Admin API requests by method and status"
    );
    describe_counter!(
        REPLAYS_TOTAL,
        "Verified requests answered without publishing: a replay of content already published"
    );
    describe_counter!(
        REPLAY_EVICTIONS_TOTAL,
        "Replay keys forgotten early because server.replay_max_entries was reached"
    );
    describe_counter!(
        CONNECTIONS_CLOSED_TOTAL,
        "TCP connections closed by hookd before or between requests, by listener and reason"
    );
    describe_counter!(
        PLUGIN_ERRORS_TOTAL,
        "Plugin calls that failed (request answered 500 plugin_error) by plugin and kind"
    );
    describe_counter!(
        PLUGIN_LOG_DROPPED_TOTAL,
        "Plugin log lines dropped by plugins.log_lines_per_second, by plugin"
    );
    describe_histogram!(
        CONDUCTOR_REQUEST_SECONDS,
        Unit::Seconds,
        "Conductor API request latency by operation and outcome"
    );
    describe_counter!(SINK_ACTIONS_TOTAL, "Sink actions by kind and outcome");
    describe_counter!(
        H3_INCOMING_TOTAL,
        "QUIC connection attempts by action (accepted, retry, refused)"
    );
    describe_gauge!(
        SINK_LAG_MESSAGES,
        "Events not yet processed by this sink instance, by partition"
    );
    describe_gauge!(SINK_WAITS_INDEXED, "Waiting tasks in the wait index");
    describe_counter!(
        SINK_TAKEOVER_RECORDS_TOTAL,
        "De-duplication records read back when taking partitions (at most sink.dedup_index_entries each)"
    );
    describe_counter!(
        KAFKA_PRODUCER_REBUILDS_TOTAL,
        "Kafka producers replaced by a new one after a fatal error (e.g. an idempotent producer's out-of-order sequence)"
    );
    describe_counter!(
        SINK_OFFSET_REPAIRS_TOTAL,
        "Seeks back over offsets the sink consumer's fetcher skipped (every offset must reach a worker)"
    );
    describe_gauge!(
        SINK_IN_FLIGHT_EVENTS,
        "Events of this instance's partitions being processed right now"
    );
    describe_counter!(
        SINK_DLQ_TOTAL,
        "Records sent to the dead-letter topic, by the Conductor status that refused them"
    );
    describe_gauge!(
        SECRETS_UNOPENED_WEBHOOKS,
        "Webhooks whose stored secrets no configured key opens (they answer 503)"
    );
    describe_counter!(
        SECRETS_UNOPENED_TOTAL,
        "Webhook definitions applied whose secrets no configured key opens"
    );
    describe_counter!(
        SECRETS_RESEALED_TOTAL,
        "Webhook definitions re-sealed with the newest key at start"
    );
    describe_counter!(
        TOKEN_REQUESTS_TOTAL,
        "POST /api/token requests by outcome (issued, refused, invalid)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_status_sent() {
        for (status, want) in [
            (200, "accepted"),
            (202, "challenge"),
            (401, "rejected"),
            (400, "rejected"),
            (413, "rejected"),
            (405, "rejected"),
            (404, "unknown_webhook"),
            (408, "timeout"),
            (500, "error"),
            (503, "unavailable"),
        ] {
            assert_eq!(outcome(status), want, "{status}");
            assert!(OUTCOMES.contains(&want));
        }
    }

    #[test]
    fn webhook_labels_are_bounded() {
        for i in 0..MAX_WEBHOOK_LABELS + 10 {
            let id = format!("label-test-{i}");
            let l = webhook_label(&id);
            assert!(l == id || l == "other");
        }
        assert_eq!(webhook_label("label-test-past-the-cap"), "other");
    }

    #[test]
    fn webhook_metrics_reuse_their_handles_and_keep_the_labels() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let wm = WebhookMetrics::labelled("wm-test".into(), "github");
            wm.request(200, "h1", 0.001);
            wm.request(200, "h1", 0.002);
            wm.request(401, "h2", 0.001);
            wm.bytes_in(10);
            wm.bytes_in(5);
            wm.replay();
        });
        let text = handle.render();
        for want in [
            r#"hookd_requests_total{webhook="wm-test",verifier="github",outcome="accepted",protocol="h1"} 2"#,
            r#"hookd_requests_total{webhook="wm-test",verifier="github",outcome="rejected",protocol="h2"} 1"#,
            r#"hookd_request_duration_seconds_count{webhook="wm-test",verifier="github",outcome="accepted"} 2"#,
            r#"hookd_request_body_bytes_total{webhook="wm-test"} 15"#,
            r#"hookd_replays_total{webhook="wm-test"} 1"#,
        ] {
            assert!(text.contains(want), "{want} not in\n{text}");
        }
        // no series for what never happened
        assert!(!text.contains("protocol=\"h3\""), "{text}");
    }
}
