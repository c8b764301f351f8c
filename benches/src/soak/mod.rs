//! The soak benchmark's machinery (`benches/soak/soak.sh`, binary `soak`): the load
//! ([`load`]), the sampler of RSS, throughput and lag ([`sample`]), reading the topics back
//! ([`topics`]), the retention emulation and the tally of what was produced ([`retain`]), the figures ([`report`]) and the plot ([`plot`]).

pub mod load;
pub mod plot;
pub mod report;
pub mod retain;
pub mod sample;
pub mod topics;
