//! Time and blocking helpers shared by the runtime parts of the daemon.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Wall clock in epoch milliseconds (injectable for tests with fixed-timestamp vectors).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Runs a blocking call from async code: on a multi-thread runtime through `block_in_place`,
/// so the worker's other tasks move to another thread meanwhile; inline elsewhere.
pub fn run_blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// Calls `f` every `period` until `shutdown` turns true (the first call after one period).
pub async fn every(period: Duration, mut shutdown: watch::Receiver<bool>, mut f: impl FnMut()) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(period) => f(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn every_calls_until_shutdown() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = watch::channel(false);
        let c = calls.clone();
        let task = tokio::spawn(every(Duration::from_millis(5), rx, move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        while calls.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tx.send(true).unwrap();
        task.await.unwrap();
        let after = calls.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            after,
            "no call after shutdown"
        );
    }
}
