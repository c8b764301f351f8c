//! The events producer, with its delivery reports served on the tokio runtime.
//!
//! rdkafka's `FutureProducer` polls librdkafka's main queue from a thread of its own, in 100 ms
//! waits: every delivery report wakes that thread, which then wakes the request's task (two
//! thread hops per batch), and an idle producer still wakes it 10–16 times a second.
//! [`EventProducer`] instead asks librdkafka to call back when the queue becomes non-empty
//! (`rd_kafka_queue_cb_event_enable`, as rdkafka's own `StreamConsumer` does); the callback
//! only notifies a tokio task, which serves every queued event (a delivery report carries a
//! whole batch) and completes the requests' oneshot channels on the runtime. One wake-up per
//! batch instead of two, and none while nothing is produced.

use std::ffi::c_void;
use std::sync::{Arc, Weak};
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, FromClientConfigAndContext};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::producer::FutureRecord;
use tokio::sync::{oneshot, Notify};

/// A delivery report: `Ok` once the broker acknowledged the record.
pub type Report = Result<(), KafkaError>;

/// A record librdkafka did not take, with why.
pub type Refused<'a> = (KafkaError, FutureRecord<'a, [u8], [u8]>);

/// Completes each record's oneshot channel with its delivery report.
pub struct DeliveryContext;

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<oneshot::Sender<Report>>;

    fn delivery(&self, result: &DeliveryResult<'_>, tx: Self::DeliveryOpaque) {
        // the request may have given up waiting (timeout): nobody to tell then
        let _ = tx.send(result.as_ref().map(|_| ()).map_err(|(e, _)| e.clone()));
    }
}

/// The librdkafka producer of events (cheap to clone: shared).
#[derive(Clone)]
pub struct EventProducer {
    inner: Arc<Inner>,
}

struct Inner {
    producer: BaseProducer<DeliveryContext>,
    /// A handle on the producer's main queue (where delivery reports arrive), for its
    /// non-empty callback and length.
    queue: *mut rdsys::rd_kafka_queue_t,
    notify: Arc<Notify>,
}

// SAFETY: librdkafka queue handles may be used from any thread; `queue` is only used for
// `rd_kafka_queue_length` and (un)registering the callback, both thread-safe.
unsafe impl Send for Inner {}
// SAFETY: as above.
unsafe impl Sync for Inner {}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: `queue` is the handle taken in `EventProducer::new`, not yet destroyed; the
        // callback is unregistered before `notify` (its opaque pointer) can be freed.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(self.queue, None, std::ptr::null_mut());
            rdsys::rd_kafka_queue_destroy(self.queue);
        }
        // the serving task sees the producer gone and ends
        self.notify.notify_one();
    }
}

/// Called by a librdkafka thread when the main queue becomes non-empty.
unsafe extern "C" fn nonempty(_: *mut rdsys::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is `Arc::as_ptr` of `Inner::notify`, alive until the callback is
    // unregistered in `Inner::drop`.
    let notify = unsafe { &*(opaque as *const Notify) };
    notify.notify_one();
}

/// Events served per wake-up before the task yields to others.
const SERVE_BATCH: usize = 4096;

impl EventProducer {
    /// Creates the producer from `config` and starts serving its delivery reports on the
    /// current tokio runtime.
    pub fn new(config: &ClientConfig) -> KafkaResult<EventProducer> {
        let producer = BaseProducer::from_config_and_context(config, DeliveryContext)?;
        let notify = Arc::new(Notify::new());
        // SAFETY: `native_ptr` is the live client of `producer`; the queue handle is destroyed
        // in `Inner::drop`, before the client (fields drop after `drop`).
        let queue = unsafe { rdsys::rd_kafka_queue_get_main(producer.client().native_ptr()) };
        let inner = Arc::new(Inner {
            producer,
            queue,
            notify: notify.clone(),
        });
        // SAFETY: see `nonempty`.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(
                queue,
                Some(nonempty),
                Arc::as_ptr(&notify) as *mut c_void,
            );
        }
        tokio::spawn(serve(Arc::downgrade(&inner), notify));
        Ok(EventProducer { inner })
    }

    /// librdkafka's fatal error, if the producer has one (it produces nothing more).
    pub fn fatal_error(&self) -> Option<String> {
        use rdkafka::producer::Producer;
        self.inner
            .producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{code:?}: {reason}"))
    }

    /// Raises a fatal error through librdkafka's own test hook (tests only).
    #[cfg(feature = "testing")]
    pub fn inject_fatal_error(&self) {
        use rdkafka::producer::Producer;
        // SAFETY: the producer's live client; the reason is a NUL-terminated literal
        unsafe {
            rdsys::rd_kafka_test_fatal_error(
                self.inner.producer.client().native_ptr(),
                rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                c"injected by a test".as_ptr(),
            );
        }
    }

    /// Queues `record`; the receiver gets its delivery report. On failure (queue full, …) the
    /// record comes back.
    #[allow(clippy::result_large_err)]
    pub fn send<'a>(
        &self,
        record: FutureRecord<'a, [u8], [u8]>,
    ) -> Result<oneshot::Receiver<Report>, Refused<'a>> {
        let (tx, rx) = oneshot::channel();
        let base = BaseRecord {
            topic: record.topic,
            partition: record.partition,
            payload: record.payload,
            key: record.key,
            timestamp: record.timestamp,
            headers: record.headers,
            delivery_opaque: Box::new(tx),
        };
        self.inner.producer.send(base).map(|()| rx).map_err(|(e, r)| {
            let back = FutureRecord {
                topic: r.topic,
                partition: r.partition,
                payload: r.payload,
                key: r.key,
                timestamp: r.timestamp,
                headers: r.headers,
            };
            (e, back)
        })
    }

    /// Queues `record` (retrying every 100 ms while librdkafka's queue is full, for up to
    /// `queue_timeout`) and waits for its delivery report.
    pub async fn send_and_wait(
        &self,
        mut record: FutureRecord<'_, [u8], [u8]>,
        queue_timeout: Duration,
    ) -> Report {
        let start = std::time::Instant::now();
        loop {
            match self.send(record) {
                Ok(rx) => {
                    return rx
                        .await
                        .unwrap_or(Err(KafkaError::Canceled));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r))
                    if start.elapsed() < queue_timeout =>
                {
                    record = r;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Serves the delivery reports queued so far on the calling thread (what the serving task
    /// does when woken): a request whose deadline fired before that task ran still gets the
    /// report librdkafka already has.
    pub fn serve_now(&self) {
        drain(&self.inner);
    }

    /// Waits until every queued record is delivered (or `timeout`); serves the reports itself.
    pub fn flush(&self, timeout: Duration) -> KafkaResult<()> {
        self.inner.producer.flush(timeout)
    }
}

/// Serves up to [`SERVE_BATCH`] queued events; `true` when the queue was emptied.
fn drain(inner: &Inner) -> bool {
    for _ in 0..SERVE_BATCH {
        // SAFETY: `inner.queue` is alive while `inner` is.
        if unsafe { rdsys::rd_kafka_queue_length(inner.queue) } == 0 {
            return true;
        }
        // each call serves one event (a delivery report carries a whole batch)
        inner.producer.poll(Duration::ZERO);
    }
    false
}

/// Serves the main queue whenever librdkafka says it is non-empty.
async fn serve(producer: Weak<Inner>, notify: Arc<Notify>) {
    loop {
        {
            let Some(inner) = producer.upgrade() else {
                return;
            };
            if !drain(&inner) {
                drop(inner);
                tokio::task::yield_now().await;
                continue;
            }
        }
        // The callback fires on the empty → non-empty edge; `Notify` keeps a permit for one
        // that fired while the queue was served, so nothing is missed. The timeout is a safety
        // net should an event ever stay queued without the edge.
        let _ = tokio::time::timeout(Duration::from_secs(5), notify.notified()).await;
    }
}
