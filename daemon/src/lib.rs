//! hookd: verify provider webhooks, publish them durably to Kafka, act on Conductor.
//!
//! The library's public surface is what the binary and the tests need: [`Daemon::start`] (used
//! in-process by the tests on `127.0.0.1:0`), [`run`] (used by the thin binary through
//! [`cli::main`]), the plain-data [`config`], and the embedded Kafka cluster. Everything else is
//! crate-private. The benches and the end-to-end tests measure a few internals (the verifier
//! and plugin host, the event record, the HTTP/3 client): with the `testing` feature those
//! modules are public too, hidden from the docs and not a stable API. `ARCHITECTURE.md` walks a
//! request and an event through the modules.

/// Declares modules that are private, or public with the `testing` feature.
macro_rules! internal {
    ($($m:ident),* $(,)?) => {$(
        #[cfg(feature = "testing")]
        #[doc(hidden)]
        pub mod $m;
        #[cfg(not(feature = "testing"))]
        mod $m;
    )*};
}

mod admin;
mod admission;
mod body;
pub mod cli;
mod clock;
pub mod config;
mod conn;
mod daemon;
mod error;
mod ingress;
mod metrics;
mod proxy_protocol;
mod ratelimit;
mod replay;
mod state;
internal!(event, h3, kafka, model, plugin, server, sink, tls, verify, webhook);
internal!(client_addr);

pub use clock::{system_clock, Clock};
pub use daemon::{run, Daemon, Options, StartError};
pub use kafka::embedded::EmbeddedKafka;
