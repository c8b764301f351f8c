//! Shares webhook definitions and `urlVerified` between instances through a compacted topic.
//!
//! Every instance reads the whole topic from the beginning (manual assignment, no consumer
//! group, no commits) and applies records to its [`Registry`] last-writer-wins. Writes through
//! the admin API are acknowledged by the topic (acks=all) before they are applied and answered.
//! Why a compacted topic: hookd already depends on Kafka for durability, so sharing through it
//! adds no database to operate; compaction keeps it as small as the set of webhooks; and a new
//! instance rebuilds its registry by reading it, typically in milliseconds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use crate::store::{Registry, StoreError, VerifiedRecord, WebhookRecord};

/// Publishes registry changes and applies the topic to the registry.
pub struct ConfigSync {
    producer: FutureProducer,
    topic: String,
    registry: Arc<Registry>,
}

const WEBHOOK_PREFIX: &str = "webhook/";
const VERIFIED_PREFIX: &str = "verified/";

impl ConfigSync {
    /// A sync for `topic`.
    pub fn new(producer: FutureProducer, topic: String, registry: Arc<Registry>) -> Self {
        Self {
            producer,
            topic,
            registry,
        }
    }

    async fn send(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let rec = FutureRecord::to(&self.topic).key(key).payload(&value);
        match self.producer.send(rec, Duration::from_secs(5)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(StoreError::Unavailable(e.to_string())),
        }
    }

    /// Makes a webhook change durable in the topic, then applies it locally.
    pub async fn write_webhook(&self, id: &str, rec: WebhookRecord) -> Result<(), StoreError> {
        let value = serde_json::to_vec(&rec).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.send(&format!("{WEBHOOK_PREFIX}{id}"), value).await?;
        self.registry.apply_keyed(id, rec, true);
        Ok(())
    }

    /// Shares that `id` was verified (best effort: retried by the next instance start).
    pub async fn write_verified(&self, id: &str, rec: VerifiedRecord) {
        let value = serde_json::to_vec(&rec).unwrap_or_default();
        if let Err(e) = self.send(&format!("{VERIFIED_PREFIX}{id}"), value).await {
            tracing::warn!(webhook = %id, error = %e, "cannot share urlVerified");
        }
    }

    fn apply(&self, key: &str, value: &[u8], seen: &mut HashMap<String, u64>) {
        if let Some(id) = key.strip_prefix(WEBHOOK_PREFIX) {
            match serde_json::from_slice::<WebhookRecord>(value) {
                Ok(rec) => {
                    seen.insert(key.to_string(), rec.rev);
                    self.registry.apply_keyed(id, rec, true);
                }
                Err(e) => tracing::warn!(key, error = %e, "skipping unreadable webhook record"),
            }
        } else if let Some(id) = key.strip_prefix(VERIFIED_PREFIX) {
            match serde_json::from_slice::<VerifiedRecord>(value) {
                Ok(rec) => {
                    seen.insert(key.to_string(), rec.created_rev);
                    self.registry.apply_verified(id, rec);
                }
                Err(e) => tracing::warn!(key, error = %e, "skipping unreadable verified record"),
            }
        }
    }

    /// After the first catch-up: publish what the local snapshot knows that the topic lacks.
    async fn republish(&self, seen: &HashMap<String, u64>) {
        let (hooks, verified) = self.registry.known_records();
        let mut n = 0;
        for (id, rec) in hooks {
            let key = format!("{WEBHOOK_PREFIX}{id}");
            if seen.get(&key).is_none_or(|r| *r < rec.rev) {
                let value = serde_json::to_vec(&rec).unwrap_or_default();
                if self.send(&key, value).await.is_ok() {
                    n += 1;
                }
            }
        }
        for (id, rec) in verified {
            let key = format!("{VERIFIED_PREFIX}{id}");
            if seen.get(&key) != Some(&rec.created_rev) {
                self.write_verified(&id, rec).await;
                n += 1;
            }
        }
        if n > 0 {
            tracing::info!(
                records = n,
                "republished local webhook snapshot to the config topic"
            );
        }
    }

    /// Reads the topic until `shutdown`; flips `ready` once caught up with the end of the topic.
    pub async fn run(
        self: Arc<Self>,
        consumer: StreamConsumer,
        ready: watch::Sender<bool>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let partitions = loop {
            match consumer.fetch_metadata(Some(&self.topic), Duration::from_secs(5)) {
                Ok(md) => {
                    let n = md
                        .topics()
                        .iter()
                        .find(|t| t.name() == self.topic)
                        .map(|t| t.partitions().len())
                        .unwrap_or(0);
                    if n > 0 {
                        break n as i32;
                    }
                }
                Err(e) => tracing::warn!(topic = %self.topic, error = %e, "config topic metadata"),
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        };
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            if let Err(e) = tpl.add_partition_offset(&self.topic, p, Offset::Beginning) {
                tracing::error!(error = %e, "config topic assignment");
                return;
            }
        }
        if let Err(e) = consumer.assign(&tpl) {
            tracing::error!(error = %e, "cannot read the config topic");
            return;
        }
        let mut seen = HashMap::new();
        let mut eof = HashSet::new();
        let mut caught_up = false;
        loop {
            let msg = tokio::select! {
                _ = shutdown.changed() => break,
                m = consumer.recv() => m,
            };
            match msg {
                Ok(m) => {
                    if let (Some(Ok(key)), Some(value)) = (m.key_view::<str>(), m.payload()) {
                        self.apply(key, value, &mut seen);
                    }
                }
                Err(KafkaError::PartitionEOF(p)) => {
                    eof.insert(p);
                    if !caught_up && eof.len() as i32 >= partitions {
                        caught_up = true;
                        self.republish(&seen).await;
                        let _ = ready.send(true);
                        tracing::info!(topic = %self.topic, "webhook registry caught up");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "config topic read error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}
