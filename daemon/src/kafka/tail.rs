//! Reads a whole topic from the beginning and keeps following it — the shared pattern behind the
//! webhook registry, the wait index and the execution history, which every instance rebuilds by
//! reading a topic (no consumer group, no commits).

use std::collections::HashSet;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use crate::config::Config;

/// Receives the records of a tailed topic.
pub trait Apply: Send + Sync {
    /// One record; `value` is `None` for a tombstone.
    fn apply(&self, key: &str, value: Option<&[u8]>);
}

/// Client context of tailing consumers: reaching the end of a partition is how they notice they
/// caught up, not an error worth a log line.
pub struct TailContext;

impl ClientContext for TailContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::Global(RDKafkaErrorCode::PartitionEOF)) {
            tracing::error!(error = %error, reason, "kafka client error");
        }
    }
}

impl ConsumerContext for TailContext {}

/// A tailing consumer.
pub type TailConsumer = StreamConsumer<TailContext>;

/// A consumer for tailing (group id unique to this reader; nothing is committed).
pub fn consumer(cfg: &Config, bootstrap: &str, name: &str) -> Result<TailConsumer, String> {
    let mut c = super::base_client(bootstrap);
    c.set("group.id", format!("hookd-{name}-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        // A long poll: the broker answers as soon as a record arrives, so this bounds only the
        // idle fetch rate (librdkafka's default; 100 ms woke each tailing consumer ~12 times a
        // second on an idle instance: benches/RESULTS.md, "Idle").
        .set("fetch.wait.max.ms", "500");
    for (key, v) in &cfg.kafka.consumer {
        c.set(key, &**v);
    }
    c.create_with_context(TailContext)
        .map_err(|e| format!("kafka {name} consumer: {e}"))
}

/// Tails `topic` until `shutdown`; `caught_up` turns true once every partition reached the end
/// it had when reading started.
pub async fn run<A: Apply + ?Sized>(
    consumer: TailConsumer,
    topic: &str,
    apply: &A,
    caught_up: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let partitions = loop {
        // A blocking call (up to 5 s while the broker is unreachable): off the async worker, or
        // every request on that worker waits with it.
        match crate::clock::run_blocking(|| consumer.fetch_metadata(Some(topic), Duration::from_secs(5))) {
            Ok(md) => {
                let n = md
                    .topics()
                    .iter()
                    .find(|t| t.name() == topic)
                    .map(|t| t.partitions().len())
                    .unwrap_or(0);
                if n > 0 {
                    break n as i32;
                }
            }
            Err(e) => tracing::warn!(topic, error = %e, "topic metadata"),
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    };
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        if let Err(e) = tpl.add_partition_offset(topic, p, Offset::Beginning) {
            tracing::error!(topic, error = %e, "assignment");
            return;
        }
    }
    if let Err(e) = consumer.assign(&tpl) {
        tracing::error!(topic, error = %e, "cannot read topic");
        return;
    }
    let mut eof = HashSet::new();
    loop {
        let msg = tokio::select! {
            _ = shutdown.changed() => break,
            m = consumer.recv() => m,
        };
        match msg {
            Ok(m) => {
                if let Some(Ok(key)) = m.key_view::<str>() {
                    apply.apply(key, m.payload());
                }
            }
            Err(KafkaError::PartitionEOF(p)) => {
                eof.insert(p);
                if !*caught_up.borrow() && eof.len() as i32 >= partitions {
                    let _ = caught_up.send(true);
                }
            }
            Err(e) => {
                tracing::warn!(topic, error = %e, "read error");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
