//! Time and blocking helpers shared by the runtime parts of the daemon.

use std::sync::Arc;

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
