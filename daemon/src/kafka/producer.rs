//! Durable publishing: a request completes only on the broker's delivery report.
//!
//! Idempotent producer with `acks=all`; batching is librdkafka's (`linger.ms`, `batch.*`). Memory
//! is bounded twice: by the admission budget (`crate::admission`: events and body bytes held by
//! hookd) and by librdkafka's own queue limits; when either is full the request is answered 503
//! instead of waiting unboundedly.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;

use super::delivery::EventProducer;
use super::health::AckTracker;
use crate::event::VerifiedEvent;
use crate::metrics as m;

/// Why an event could not be made durable in time (→ 503 with `Retry-After`).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// librdkafka's queue stayed full until the deadline.
    #[error("producer queue full")]
    QueueFull,
    /// The broker did not acknowledge within `kafka.ack_timeout_ms`.
    #[error("broker did not acknowledge in time")]
    Timeout,
    /// The broker refused the record, or the producer failed.
    #[error("kafka error: {0}")]
    Kafka(String),
}

/// Publishes verified events to the events topic.
#[derive(Clone)]
pub struct EventPublisher {
    /// Replaced after a fatal error ([`EventPublisher::replace_if_fatal`]).
    producer: Arc<RwLock<EventProducer>>,
    topic: Arc<str>,
    ack_timeout: Duration,
    acks: Arc<AckTracker>,
}

/// Kafka record header names (all lower-case, `hookd-` prefixed except `content-type`).
pub mod headers {
    /// hookd's event id.
    pub const EVENT_ID: &str = "hookd-event-id";
    /// The webhook id.
    pub const WEBHOOK_ID: &str = "hookd-webhook-id";
    /// Receive time, epoch milliseconds, decimal.
    pub const RECEIVED_AT: &str = "hookd-received-at";
    /// The request's content type.
    pub const CONTENT_TYPE: &str = "content-type";
    /// The raw query string.
    pub const QUERY: &str = "hookd-query";
    /// The provider's delivery id (e.g. `X-GitHub-Delivery`).
    pub const DELIVERY_ID: &str = "hookd-delivery-id";
    /// The resolved `idempotencyKey` (when the webhook has a template).
    pub const IDEMPOTENCY_KEY: &str = "hookd-idempotency-key";
}

impl EventPublisher {
    /// Wraps a configured producer.
    pub fn new(producer: EventProducer, topic: &str, ack_timeout: Duration) -> Self {
        Self {
            producer: Arc::new(RwLock::new(producer)),
            topic: topic.into(),
            ack_timeout,
            acks: Arc::default(),
        }
    }

    /// Publishes waiting for the broker (for `/readyz`).
    pub fn acks(&self) -> &AckTracker {
        &self.acks
    }

    /// The producer in use (for flushing on shutdown).
    pub fn producer(&self) -> EventProducer {
        self.producer.read().unwrap().clone()
    }

    /// Replaces the producer with `make()` if librdkafka reported a fatal error on it (an
    /// idempotent producer that got, e.g., an out-of-order sequence produces nothing more:
    /// without a new one every request would be answered 503 until a restart). Requests whose
    /// events were in flight on the old one get 503 and are resent by their providers.
    /// Returns whether it replaced it.
    pub fn replace_if_fatal(&self, make: impl FnOnce() -> Result<EventProducer, String>) -> bool {
        super::replace_if_fatal(
            &self.producer,
            self.producer().fatal_error(),
            "events",
            make,
        )
    }

    /// Sends one event and waits for its delivery report, at most `kafka.ack_timeout_ms` in all.
    /// `Ok` means the record is durable (acks=all).
    ///
    /// Memory: the event (and its body) is dropped as soon as librdkafka has its own copy, and
    /// `keep` (the request's admission budget) is held until librdkafka lets go of that copy —
    /// on a timeout that is after this returns (a librdkafka message outlives its request by up
    /// to one timeout scan), so the budget bounds the bodies held by hookd and librdkafka alike.
    pub async fn publish(
        &self,
        ev: VerifiedEvent,
        keep: impl Send + 'static,
    ) -> Result<(), PublishError> {
        let waiting = self.acks.begin();
        let res = self.send(ev, keep).await;
        if res.is_ok() {
            waiting.acked();
        }
        res
    }

    async fn send(
        &self,
        ev: VerifiedEvent,
        keep: impl Send + 'static,
    ) -> Result<(), PublishError> {
        let start = Instant::now();
        let deadline = start + self.ack_timeout;
        let key = ev.record_key();
        let mut record = event_record(&self.topic, &ev, &key);
        let producer = self.producer();
        let fut = loop {
            match producer.send(record) {
                Ok(f) => break f,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    if Instant::now() + Duration::from_millis(5) >= deadline {
                        return Err(PublishError::QueueFull);
                    }
                    record = r;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => return Err(PublishError::Kafka(e.to_string())),
            }
        };
        drop(ev);
        let mut fut = fut;
        let report = match tokio::time::timeout_at(deadline.into(), &mut fut).await {
            Ok(r) => Some(r.map_err(|_| ())),
            // The report may be in librdkafka's queue with its serving task not yet run (a
            // saturated runtime): serve the queue here before calling it a timeout.
            Err(_) => {
                producer.serve_now();
                match fut.try_recv() {
                    Ok(r) => Some(Ok(r)),
                    Err(tokio::sync::oneshot::error::TryRecvError::Closed) => Some(Err(())),
                    Err(tokio::sync::oneshot::error::TryRecvError::Empty) => None,
                }
            }
        };
        let res = match report {
            None => {
                tokio::spawn(async move {
                    let _ = fut.await;
                    drop(keep);
                });
                Err(PublishError::Timeout)
            }
            Some(Err(())) => Err(PublishError::Kafka("producer dropped".into())),
            Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)))) => {
                Err(PublishError::Timeout)
            }
            Some(Ok(Err(e))) => Err(PublishError::Kafka(e.to_string())),
        };
        m::kafka_delivery_seconds(res.is_ok()).record(start.elapsed().as_secs_f64());
        res
    }
}

/// The Kafka record of `ev` on `topic` with record key `key` (from
/// [`VerifiedEvent::record_key`]): the raw body as value, hookd's headers, the receive time as
/// timestamp. Pure (no I/O), so the benchmarks can measure it.
pub fn event_record<'a>(
    topic: &'a str,
    ev: &'a VerifiedEvent,
    key: &'a str,
) -> FutureRecord<'a, [u8], [u8]> {
    let received = ev.received_at_ms().to_string();
    let mut hdrs = OwnedHeaders::new_with_capacity(6)
        .insert(Header {
            key: headers::EVENT_ID,
            value: Some(ev.event_id()),
        })
        .insert(Header {
            key: headers::WEBHOOK_ID,
            value: Some(ev.webhook_id()),
        })
        .insert(Header {
            key: headers::RECEIVED_AT,
            value: Some(&received),
        });
    if let Some(ct) = ev.content_type() {
        hdrs = hdrs.insert(Header {
            key: headers::CONTENT_TYPE,
            value: Some(ct),
        });
    }
    if let Some(q) = ev.query() {
        hdrs = hdrs.insert(Header {
            key: headers::QUERY,
            value: Some(q),
        });
    }
    if let Some(d) = ev.delivery_id() {
        hdrs = hdrs.insert(Header {
            key: headers::DELIVERY_ID,
            value: Some(d),
        });
    }
    if let Some(k) = ev.idempotency_key() {
        hdrs = hdrs.insert(Header {
            key: headers::IDEMPOTENCY_KEY,
            value: Some(k),
        });
    }
    FutureRecord::to(topic)
        .key(key.as_bytes())
        .payload(ev.body().as_ref())
        .headers(hdrs)
        .timestamp(ev.received_at_ms())
}
