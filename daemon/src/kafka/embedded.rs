//! The embedded default: librdkafka's in-process mock cluster, in memory and not durable.
//!
//! The mock cluster handle is not `Send`, so it lives on a dedicated thread that owns it until
//! the [`EmbeddedKafka`] is dropped; tests can take its brokers down and up through it.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rdkafka::mocking::MockCluster;

/// Commands to the thread that owns the mock cluster.
enum Cmd {
    Brokers(bool, mpsc::Sender<()>),
    Stop,
}

/// A running in-process mock cluster.
pub struct EmbeddedKafka {
    bootstrap: String,
    tx: mpsc::Sender<Cmd>,
    thread: Option<JoinHandle<()>>,
}

/// Number of mock brokers (3, so `acks=all` means something and a broker can fail).
const BROKERS: i32 = 3;

impl EmbeddedKafka {
    /// Starts a mock cluster and creates `topics` (name, partitions) on it.
    pub fn start(topics: &[(String, i32)]) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel::<Cmd>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let topics = topics.to_vec();
        let thread = std::thread::Builder::new()
            .name("hookd-mock-kafka".into())
            .spawn(move || {
                let cluster = match MockCluster::new(BROKERS) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                for (t, p) in &topics {
                    if let Err(e) = cluster.create_topic(t, *p, BROKERS) {
                        let _ = ready_tx.send(Err(format!("create topic {t}: {e}")));
                        return;
                    }
                }
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                while let Ok(cmd) = rx.recv() {
                    match cmd {
                        Cmd::Brokers(up, done) => {
                            for b in 1..=BROKERS {
                                let _ = if up {
                                    cluster.broker_up(b)
                                } else {
                                    cluster.broker_down(b)
                                };
                            }
                            let _ = done.send(());
                        }
                        Cmd::Stop => break,
                    }
                }
                drop(cluster);
            })
            .map_err(|e| e.to_string())?;
        let bootstrap = ready_rx
            .recv()
            .map_err(|_| "mock cluster thread died".to_string())??;
        Ok(Self {
            bootstrap,
            tx,
            thread: Some(thread),
        })
    }

    /// `bootstrap.servers` of the mock cluster (127.0.0.1 ports; `kcat -b` works with it).
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Takes every broker down (`false`) or brings them back (`true`). For failure tests.
    pub fn set_brokers_up(&self, up: bool) {
        let (done_tx, done_rx) = mpsc::channel();
        if self.tx.send(Cmd::Brokers(up, done_tx)).is_ok() {
            let _ = done_rx.recv();
        }
    }
}

impl Drop for EmbeddedKafka {
    fn drop(&mut self) {
        let _ = self.tx.send(Cmd::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
