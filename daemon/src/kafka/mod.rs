//! Kafka plumbing: client settings, topic creation, the embedded mock cluster, the event
//! producer, and the compacted config topic that shares webhook definitions between instances.

pub mod delivery;
pub mod embedded;
pub mod health;
pub mod producer;
pub mod starts_topic;
pub mod tail;

use std::sync::RwLock;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::FutureProducer;

use crate::config::Config;

/// Common client settings for `bootstrap` (quiet logs: librdkafka's own go through `log`).
pub fn base_client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("client.id", "hookd")
        .set("socket.keepalive.enable", "true")
        .set("topic.metadata.refresh.interval.ms", "10000");
    c
}

/// The events producer: idempotent, `acks=all`, batching settings from `[kafka]`; its delivery
/// reports are served on the current tokio runtime ([`delivery::EventProducer`]).
pub fn event_producer(cfg: &Config, bootstrap: &str) -> Result<delivery::EventProducer, String> {
    let k = &cfg.kafka;
    let mut c = base_client(bootstrap);
    let max_msg = (cfg.server.max_body_bytes + 64 * 1024).max(1_000_000);
    let queue_kb = (k.max_inflight_bytes / 1024).max(1024) * 2;
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", k.linger_ms.to_string())
        .set("batch.num.messages", k.batch_num_messages.to_string())
        .set("batch.size", k.batch_size.to_string())
        .set("compression.codec", &k.compression)
        .set("message.timeout.ms", k.ack_timeout_ms.to_string())
        .set("message.max.bytes", max_msg.to_string())
        .set(
            "queue.buffering.max.messages",
            (k.max_inflight_events * 2).max(1000).to_string(),
        )
        .set(
            "queue.buffering.max.kbytes",
            queue_kb.min(2_097_151).to_string(),
        );
    for (key, v) in &k.producer {
        c.set(key, &**v);
    }
    delivery::EventProducer::new(&c).map_err(|e| format!("kafka producer: {e}"))
}

/// The config topic's producer for webhook changes (idempotent, acks=all, no linger), with its
/// delivery reports served on the current tokio runtime: no polling thread waking while idle.
pub fn config_writer(cfg: &Config, bootstrap: &str) -> Result<delivery::EventProducer, String> {
    delivery::EventProducer::new(&plain_client(cfg, bootstrap, 0))
        .map_err(|e| format!("kafka config producer: {e}"))
}

/// The sink's producer (de-duplication records, history, waits, dead letters): like the config
/// writer, but batching for `kafka.linger_ms` like the events producer, as it writes a record
/// or two for every event of many in flight.
pub fn sink_producer(cfg: &Config, bootstrap: &str) -> Result<FutureProducer, String> {
    plain_client(cfg, bootstrap, cfg.kafka.linger_ms)
        .create()
        .map_err(|e| format!("kafka sink producer: {e}"))
}

fn plain_client(cfg: &Config, bootstrap: &str, linger_ms: u64) -> ClientConfig {
    let mut c = base_client(bootstrap);
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", linger_ms.to_string())
        .set("message.timeout.ms", "5000");
    for (key, v) in &cfg.kafka.producer {
        c.set(key, &**v);
    }
    c
}

/// Replaces the producer in `slot` with `make()` when `fatal` holds librdkafka's fatal error on
/// it: an idempotent producer that got, e.g., an out-of-order sequence from the broker produces
/// nothing more. `which` (`events`, `sink`) names it in logs and in
/// `hookd_kafka_producer_rebuilds_total`. Returns whether it replaced it.
pub fn replace_if_fatal<P>(
    slot: &RwLock<P>,
    fatal: Option<String>,
    which: &'static str,
    make: impl FnOnce() -> Result<P, String>,
) -> bool {
    let Some(reason) = fatal else {
        return false;
    };
    match make() {
        Ok(p) => {
            tracing::error!(producer = which, %reason,
                "a Kafka producer failed fatally; replaced by a new one (what was in flight on it is retried)");
            *slot.write().unwrap() = p;
            metrics::counter!(crate::metrics::KAFKA_PRODUCER_REBUILDS_TOTAL, "producer" => which)
                .increment(1);
            true
        }
        Err(e) => {
            tracing::error!(producer = which, %reason, error = %e,
                "a Kafka producer failed fatally and a new one cannot be created");
            false
        }
    }
}

/// Every topic hookd uses, with its partition count: events, config (compacted), the sink's
/// de-duplication records (compacted and deleted after `sink.dedup_window_secs`,
/// co-partitioned with events), waits (compacted), history
/// (7-day retention) and the dead-letter topic.
pub fn topic_plan(cfg: &Config) -> Vec<(String, i32)> {
    let p = cfg.kafka.partitions;
    let t = cfg.topics();
    vec![
        (t.events, p),
        (t.config, 1),
        (t.starts, p),
        (t.waits, 1),
        (t.history, 1),
        (t.dlq, 1),
    ]
}

/// Creates the events topic and the compacted config topic when missing (existing topics are
/// left as they are). Failure is logged, not fatal: the operator may manage topics. Gives up
/// when `shutdown` turns true, so a slow or unanswered CreateTopics never delays a shutdown.
pub async fn ensure_topics(
    cfg: &Config,
    bootstrap: &str,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let admin: AdminClient<DefaultClientContext> = match base_client(bootstrap).create() {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(error = %e, "cannot create kafka admin client");
            return;
        }
    };
    let max_msg = (cfg.server.max_body_bytes + 64 * 1024).to_string();
    let plan = topic_plan(cfg);
    let repl = || TopicReplication::Fixed(cfg.kafka.replication_factor);
    let starts = cfg.topics().starts;
    let starts_settings = starts_topic::settings(cfg);
    let topics: Vec<NewTopic<'_>> = plan
        .iter()
        .map(|(name, partitions)| {
            let t = NewTopic::new(name, *partitions, repl());
            if *name == starts {
                starts_topic::new_topic(t, &starts_settings)
            } else if *name == cfg.kafka.topic || name.ends_with(".dlq") {
                t.set("max.message.bytes", &max_msg)
            } else if *name == cfg.derived_topic("history") {
                t.set("retention.ms", "604800000")
            } else {
                t.set("cleanup.policy", "compact")
                    .set("min.compaction.lag.ms", "0")
            }
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let created =
        tokio::time::timeout(Duration::from_secs(15), admin.create_topics(&topics, &opts));
    let created = tokio::select! {
        r = created => r,
        _ = shutdown.wait_for(|stop| *stop) => {
            tracing::info!("shutting down; topic creation abandoned");
            return;
        }
    };
    match created {
        Ok(Ok(results)) => {
            for r in results {
                match r {
                    Ok(t) => tracing::info!(topic = %t, "created kafka topic"),
                    Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((t, e)) => tracing::warn!(topic = %t, error = %e, "cannot create topic"),
                }
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot create kafka topics"),
        Err(_) => tracing::warn!("timed out creating kafka topics"),
    }
    if cfg.server.role.sink() {
        tokio::select! {
            _ = starts_topic::check(cfg, &admin) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
}
