//! hookd's benchmark harness: the load generator (`loadgen`), the bare baseline server
//! (`bare`), the report builder (`bench-report`), the soak benchmark (`soak`) and their shared
//! code. The criterion micro-benchmarks live in `benches/`; `README.md` documents how to run
//! everything and `RESULTS.md` holds the figures.

pub mod client;
pub mod kafka_check;
pub mod options;
pub mod procstat;
pub mod report;
pub mod run;
pub mod shapes;
pub mod soak;
pub mod stats;
pub mod webhooks;
