//! Unverified requests and verified events are different types: only [`VerifiedEvent`] can reach
//! the Kafka producer, and the only way to get one is [`UnverifiedRequest::verify`].

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::verify::{Outcome, Reject, Reply, RequestParts, Verifier, VerifyContext};

/// A request as received, not yet trusted.
#[derive(Debug)]
pub struct UnverifiedRequest {
    /// Webhook id from the path.
    pub webhook_id: String,
    /// Method.
    pub method: Method,
    /// Request headers.
    pub headers: HeaderMap,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Raw body bytes.
    pub body: Bytes,
    /// Receive time, epoch milliseconds.
    pub received_at_ms: i64,
}

/// What verification yields.
#[derive(Debug)]
pub enum Verified {
    /// An authentic event, to be published.
    Event(VerifiedEvent),
    /// A handshake answered synchronously; nothing is published.
    Reply(Reply),
}

/// An event whose authenticity was checked. Fields are read-only outside this module.
#[derive(Debug, Clone)]
pub struct VerifiedEvent {
    event_id: String,
    webhook_id: String,
    received_at_ms: i64,
    content_type: Option<String>,
    query: Option<String>,
    delivery_id: Option<String>,
    idempotency_key: Option<String>,
    body: Bytes,
}

impl UnverifiedRequest {
    /// Runs `verifier` over the raw bytes; on success the request becomes a [`VerifiedEvent`]
    /// (with a fresh time-ordered event id) or a challenge answer.
    pub fn verify(self, verifier: &Verifier, ctx: &VerifyContext) -> Result<Verified, Reject> {
        self.verify_with(|parts| verifier.verify(parts, ctx))
    }

    /// [`UnverifiedRequest::verify`] with the verification given as `check` over the request's
    /// raw parts: ingress runs an admitted plugin call this way (on the plugin version it
    /// admitted, see `PluginVerifier::verify_in`).
    pub fn verify_with(
        self,
        check: impl FnOnce(&RequestParts<'_>) -> Result<Outcome, Reject>,
    ) -> Result<Verified, Reject> {
        let parts = RequestParts {
            method: &self.method,
            headers: &self.headers,
            query: self.query.as_deref(),
            body: &self.body,
        };
        match check(&parts)? {
            Outcome::Reply(r) => Ok(Verified::Reply(r)),
            Outcome::Accept { delivery_id } => Ok(Verified::Event(VerifiedEvent {
                event_id: uuid::Uuid::now_v7().to_string(),
                content_type: self
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                webhook_id: self.webhook_id,
                received_at_ms: self.received_at_ms,
                query: self.query.filter(|q| !q.is_empty()),
                delivery_id: delivery_id.filter(|d| !d.is_empty() && d.len() <= 256),
                idempotency_key: None,
                body: self.body,
            })),
        }
    }
}

impl VerifiedEvent {
    /// hookd's event id (UUIDv7, time-ordered).
    pub fn event_id(&self) -> &str {
        &self.event_id
    }
    /// The webhook that received it.
    pub fn webhook_id(&self) -> &str {
        &self.webhook_id
    }
    /// Receive time, epoch ms.
    pub fn received_at_ms(&self) -> i64 {
        self.received_at_ms
    }
    /// Request `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// Raw query string.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    /// The provider's delivery id, when the provider sends one.
    pub fn delivery_id(&self) -> Option<&str> {
        self.delivery_id.as_deref()
    }
    /// Sets the delivery id from the webhook's `dedupKey` when the provider sent none (empty:
    /// none; longer than 256 bytes: its SHA-256).
    pub fn set_dedup_key(&mut self, key: String) {
        if self.delivery_id.is_some() || key.is_empty() {
            return;
        }
        self.delivery_id = Some(if key.len() > 256 {
            use sha2::Digest;
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(key.as_bytes())))
        } else {
            key
        });
    }

    /// The raw body, byte for byte.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// Kafka record key: `<webhook id>/<delivery id or event id>`. Every event of a hot webhook
    /// gets a different key, so the partitioner spreads it over all partitions, while redeliveries
    /// of one provider delivery share a key (and so a partition) for the sink's de-duplication.
    ///
    /// When the webhook resolves an `idempotencyKey`, the key is `<webhook id>/key/<resolved key>`
    /// instead: every event sharing an idempotency key shares a partition, which is what lets the
    /// sink enforce idempotency strategies without a distributed lock.
    pub fn record_key(&self) -> String {
        match &self.idempotency_key {
            Some(k) => format!("{}/key/{k}", self.webhook_id),
            None => format!(
                "{}/{}",
                self.webhook_id,
                self.delivery_id.as_deref().unwrap_or(&self.event_id)
            ),
        }
    }

    /// The resolved `idempotencyKey`, when the webhook has a template that resolved non-empty.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// Sets the resolved `idempotencyKey` (empty = none).
    pub fn set_idempotency_key(&mut self, key: String) {
        self.idempotency_key = (!key.is_empty()).then_some(key);
    }
}
