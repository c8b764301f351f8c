//! Shares webhook definitions and `urlVerified` between instances through a compacted topic.
//!
//! Every instance reads the whole topic from the beginning (manual assignment, no consumer
//! group, no commits) and applies records to its [`Registry`] last-writer-wins. Writes through
//! the admin API are acknowledged by the topic (acks=all) before they are applied and answered.
//! Why a compacted topic: hookd already depends on Kafka for durability, so sharing through it
//! adds no database to operate; compaction keeps it as small as the set of webhooks; and a new
//! instance rebuilds its registry by reading it, typically in milliseconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::producer::FutureRecord;
use tokio::sync::watch;

use crate::kafka::delivery::EventProducer;
use crate::kafka::tail;

use super::registry::{Registry, StoreError, VerifiedRecord, WebhookRecord};

/// Publishes registry changes and applies the topic to the registry.
pub struct ConfigSync {
    producer: EventProducer,
    topic: String,
    registry: Arc<Registry>,
    /// Revision per key seen in the topic (decides what to republish after catch-up).
    seen: Mutex<HashMap<String, u64>>,
}

const WEBHOOK_PREFIX: &str = "webhook/";
const VERIFIED_PREFIX: &str = "verified/";
/// Largest webhook record written to the config topic (under Kafka's default 1 MB
/// `message.max.bytes`, with room for the key and headers).
const MAX_RECORD_BYTES: usize = 950_000;

impl ConfigSync {
    /// A sync for `topic`.
    pub fn new(producer: EventProducer, topic: String, registry: Arc<Registry>) -> Self {
        Self {
            producer,
            topic,
            registry,
            seen: Mutex::new(HashMap::new()),
        }
    }

    async fn send(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let rec = FutureRecord::to(&self.topic)
            .key(key.as_bytes())
            .payload(value.as_slice());
        self.producer
            .send_and_wait(rec, Duration::from_secs(5))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Makes a webhook change durable in the topic, then applies it locally. Nothing changes
    /// when the record is too large for the topic (413) or the local snapshot cannot be written
    /// (503: the caller can retry).
    pub async fn write_webhook(&self, id: &str, rec: WebhookRecord) -> Result<(), StoreError> {
        let value = serde_json::to_vec(&rec).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if value.len() > MAX_RECORD_BYTES {
            return Err(StoreError::TooLarge);
        }
        self.registry.check_persistable(id, &rec)?;
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

    fn apply_record(&self, key: &str, value: &[u8]) {
        let mut seen = self.seen.lock().unwrap();
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

    /// After the first catch-up: re-seal with the newest key what an older key (or none) sealed,
    /// then publish what the local snapshot knows that the topic lacks.
    async fn republish(&self, seen: &HashMap<String, u64>) {
        // Whatever is offered for re-sealing is not republished as it was (it may be in clear).
        let mut resealed = std::collections::HashSet::new();
        let mut offered = std::collections::HashSet::new();
        for (id, rec) in self.registry.prepare_reseals() {
            offered.insert(id.clone());
            match self.write_webhook(&id, rec).await {
                Ok(()) => {
                    metrics::counter!(crate::metrics::SECRETS_RESEALED_TOTAL).increment(1);
                    resealed.insert(id);
                }
                Err(e) => tracing::warn!(webhook = %id, error = %e,
                    "cannot re-seal with the newest key (retried at the next start)"),
            }
        }
        if !resealed.is_empty() {
            tracing::info!(
                webhooks = resealed.len(),
                "re-sealed webhook secrets with the newest key of server.secrets_keys"
            );
        }
        let (hooks, verified) = self.registry.known_records();
        let mut n = 0;
        for (id, rec) in hooks.into_iter().filter(|(id, _)| !offered.contains(id)) {
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

    /// Reads the topic until `shutdown`; once caught up with its end, republishes what the local
    /// snapshot knows that the topic lacks, then flips `ready`.
    pub async fn run(
        self: Arc<Self>,
        consumer: tail::TailConsumer,
        ready: watch::Sender<bool>,
        shutdown: watch::Receiver<bool>,
    ) {
        let (caught_tx, mut caught_rx) = watch::channel(false);
        let me = self.clone();
        let mut stop = shutdown.clone();
        let announce = tokio::spawn(async move {
            let caught = tokio::select! {
                _ = stop.changed() => false,
                r = caught_rx.wait_for(|v| *v) => r.is_ok(),
            };
            if caught {
                let seen = me.seen.lock().unwrap().clone();
                me.republish(&seen).await;
                let _ = ready.send(true);
                tracing::info!(topic = %me.topic, "webhook registry caught up");
            }
        });
        tail::run(
            consumer,
            &self.topic.clone(),
            self.as_ref(),
            caught_tx,
            shutdown,
        )
        .await;
        announce.abort();
    }
}

impl tail::Apply for ConfigSync {
    fn apply(&self, key: &str, value: Option<&[u8]>) {
        if let Some(v) = value {
            self.apply_record(key, v);
        }
    }
}
