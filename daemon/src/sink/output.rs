//! The sink's Kafka producer (de-duplication records, history, waits, dead letters), replaced
//! by a new one when librdkafka reports a fatal error. An idempotent producer that gets, e.g.,
//! an out-of-order sequence from the broker stops producing for good; without a new one every
//! event of the instance would be retried forever and the partitions it owns would stop.
//! Messages in flight on the old producer fail, and their events are retried on the new one.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, Producer};
use tokio::sync::watch;

use crate::config::Config;

/// The current producer; cheap to read (a clone of a shared handle).
pub struct Output {
    current: RwLock<FutureProducer>,
    cfg: Arc<Config>,
    bootstrap: String,
}

impl Output {
    /// Creates the first producer.
    pub fn new(cfg: &Arc<Config>, bootstrap: &str) -> Result<Self, String> {
        Ok(Self {
            current: RwLock::new(crate::kafka::sink_producer(cfg, bootstrap)?),
            cfg: cfg.clone(),
            bootstrap: bootstrap.to_string(),
        })
    }

    /// The producer to send with now.
    pub fn get(&self) -> FutureProducer {
        self.current.read().unwrap().clone()
    }

    /// Replaces the producer if it reported a fatal error; returns whether it did.
    pub fn replace_if_fatal(&self) -> bool {
        let fatal = self
            .get()
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code:?}: {reason}"));
        crate::kafka::replace_if_fatal(&self.current, fatal, "sink", || {
            crate::kafka::sink_producer(&self.cfg, &self.bootstrap)
        })
    }

    /// Checks for a fatal error every second until `shutdown`.
    pub async fn watch(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        crate::clock::every(Duration::from_secs(1), shutdown, || {
            self.replace_if_fatal();
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// librdkafka's own test hook raises a fatal error; the next check replaces the producer and
    /// the new one produces.
    #[tokio::test]
    async fn a_fatal_error_replaces_the_producer() {
        let k = crate::kafka::embedded::EmbeddedKafka::start(&[("t".into(), 1)]).unwrap();
        let cfg = Arc::new(Config::from_toml_with_env("[server]\nadmin_token = \"output-test-token\"\n", []).unwrap());
        let out = Output::new(&cfg, k.bootstrap_servers()).unwrap();
        assert!(!out.replace_if_fatal(), "a healthy producer is kept");
        let old = out.get();
        // SAFETY: the producer's live client; the strings are NUL-terminated literals
        let err = unsafe {
            rdkafka::bindings::rd_kafka_test_fatal_error(
                old.client().native_ptr(),
                rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                c"test: out of order sequence".as_ptr(),
            )
        };
        assert_eq!(err, rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR);
        let r = rdkafka::producer::FutureRecord::<str, str>::to("t").payload("x");
        assert!(
            old.send(r, Duration::from_secs(5)).await.is_err(),
            "the old producer refuses to produce"
        );
        assert!(out.replace_if_fatal());
        let r = rdkafka::producer::FutureRecord::<str, str>::to("t").payload("y");
        out.get()
            .send(r, Duration::from_secs(10))
            .await
            .expect("the new producer produces");
    }
}
