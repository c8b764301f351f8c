//! Metric names (`hookd_<name>_<unit>`, bounded labels) and the Prometheus recorder.
//!
//! Labels: `webhook` is a registered webhook id (operator-defined, so bounded) or `unknown`;
//! `verifier` is a verifier kind; `outcome`, `reason` and `protocol` are fixed sets.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests to `/webhook/{id}` by `webhook`, `verifier`, `outcome`, `protocol`.
pub const REQUESTS_TOTAL: &str = "hookd_requests_total";
/// Rejected requests by `reason` (bad_signature, stale_timestamp, unknown_webhook, too_large, …).
pub const REJECTIONS_TOTAL: &str = "hookd_rejections_total";
/// Request latency, receipt of headers to response, by `outcome` and `protocol`.
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

/// Conductor API latency by `op` and `outcome`.
pub const CONDUCTOR_REQUEST_SECONDS: &str = "hookd_conductor_request_duration_seconds";
/// Sink actions by `kind` (start, complete, skip, dry_run) and `outcome`.
pub const SINK_ACTIONS_TOTAL: &str = "hookd_sink_actions_total";
/// Events not yet processed by this sink, by `partition`.
pub const SINK_LAG_MESSAGES: &str = "hookd_sink_consumer_lag_messages";
/// Waiting tasks in the wait index.
pub const SINK_WAITS_INDEXED: &str = "hookd_sink_waits_indexed";
/// Records sent to the dead-letter topic, by `reason`.
pub const SINK_DLQ_TOTAL: &str = "hookd_sink_dlq_records_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

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
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        REQUESTS_TOTAL,
        "Webhook requests by webhook, verifier, outcome, protocol"
    );
    describe_counter!(REJECTIONS_TOTAL, "Rejected webhook requests by reason");
    describe_histogram!(REQUEST_SECONDS, Unit::Seconds, "Webhook request latency");
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
    describe_counter!(H3_INCOMING_TOTAL, "QUIC connection attempts by action");
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
    describe_histogram!(
        CONDUCTOR_REQUEST_SECONDS,
        Unit::Seconds,
        "Conductor API request latency by operation and outcome"
    );
    describe_counter!(SINK_ACTIONS_TOTAL, "Sink actions by kind and outcome");
    describe_gauge!(
        SINK_LAG_MESSAGES,
        "Events not yet processed by this sink instance, by partition"
    );
    describe_gauge!(SINK_WAITS_INDEXED, "Waiting tasks in the wait index");
    describe_counter!(
        SINK_DLQ_TOTAL,
        "Records sent to the dead-letter topic, by reason"
    );
}
