//! Starts the sink stage inside a daemon.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rdkafka::producer::FutureRecord;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::conductor::ConductorClient;
use super::process::{Actions, Processor};
use super::waits::WaitIndex;
use super::history::{History, HistoryRecord};
use super::output::Output;
use crate::clock::Clock;
use crate::config::Config;
use crate::kafka;
use crate::webhook::Registry;

/// The runtime handles the sink is built with.
pub struct Handles {
    /// The webhook registry.
    pub registry: Arc<Registry>,
    /// Execution history.
    pub history: Arc<History>,
    /// Deleted webhooks (id, generation of their history), from `Registry::on_removed`.
    pub removed: mpsc::Receiver<(String, u64)>,
    /// The clock of the de-duplication window.
    pub clock: Clock,
    /// Becomes `true` once the registry has caught up with the config topic: the sink takes no
    /// partition before (an event of a webhook it does not know yet would be skipped).
    pub ready: watch::Receiver<bool>,
}

/// Starts the wait-index reader, the wait poller (with a Conductor), the purge of deleted
/// webhooks and the events consumer. Returns the consumer thread; it stops when `stop` is set.
pub fn start(
    cfg: &Arc<Config>,
    bootstrap: &str,
    handles: Handles,
    stop: Arc<AtomicBool>,
    background: &mut JoinSet<()>,
    shutdown: watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let Handles {
        registry,
        history,
        removed,
        clock,
        ready,
    } = handles;
    let actions = match &cfg.conductor.url {
        Some(_) => Actions::Conductor(ConductorClient::new(
            &cfg.conductor,
            cfg.sink.max_in_flight * cfg.kafka.partitions.max(1) as usize + 8,
        )?),
        None => {
            tracing::warn!(
                "sink: no [conductor] url configured: DRY RUN — every action is logged and recorded in the webhook's history, nothing is called"
            );
            Actions::DryRun
        }
    };
    let worker_id = cfg.sink.worker_id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        if host.is_empty() {
            format!("hookd-{}", &registry.instance[..8])
        } else {
            format!("hookd-{host}")
        }
    });
    let waits = Arc::new(WaitIndex::default());
    let topics = cfg.topics();
    {
        let consumer = kafka::tail::consumer(cfg, bootstrap, "waits")?;
        let (w, topic, s) = (waits.clone(), topics.waits.clone(), shutdown.clone());
        let (caught, _) = watch::channel(false);
        background
            .spawn(async move { kafka::tail::run(consumer, &topic, w.as_ref(), caught, s).await });
    }
    let output = Arc::new(Output::new(cfg, bootstrap)?);
    background.spawn(output.clone().watch(shutdown.clone()));
    let processor = Arc::new(Processor {
        cfg: cfg.clone(),
        registry: registry.clone(),
        actions: actions.clone(),
        waits,
        history: history.clone(),
        output: output.clone(),
        topics,
        worker_id,
        clock,
        owned: Default::default(),
    });
    background.spawn(purge_deleted(processor.clone(), removed, shutdown.clone()));
    if let Actions::Conductor(client) = actions {
        background.spawn(super::poller::run(
            processor.clone(),
            client,
            registry.instance.clone(),
            shutdown,
        ));
    }
    super::spawn_consumer(cfg, bootstrap, processor, ready, stop)
}

/// Deleted webhooks (from every instance, through the config topic): their de-duplication
/// records in this instance's partitions are tombstoned, and a deletion marker in the history
/// topic makes every later replay forget their history.
async fn purge_deleted(
    processor: Arc<Processor>,
    mut removed: mpsc::Receiver<(String, u64)>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (id, generation) = tokio::select! {
            r = removed.recv() => match r {
                Some(x) => x,
                None => return,
            },
            _ = shutdown.wait_for(|s| *s) => return,
        };
        let n = processor.purge_webhook(&id);
        let marker = HistoryRecord {
            webhook_id: id.clone(),
            generation,
            entry: None,
            deleted: true,
        };
        let value = serde_json::to_vec(&marker).unwrap_or_default();
        let r = FutureRecord::to(&processor.topics.history)
            .key(&id)
            .payload(&value);
        if let Err((e, _)) = processor.output.get().send_result(r) {
            tracing::warn!(error = %e, "cannot mark a deleted webhook's history");
        }
        tracing::info!(webhook = %id, tombstones = n, "deleted webhook: de-duplication records tombstoned, history marked");
    }
}
