//! End-to-end tests: hookd in-process, real HTTP(S) clients, librdkafka's mock cluster.

mod admin;
mod console;
mod contract;
mod dedup;
mod failure;
mod h3;
mod hostile;
mod https;
mod ingress;
mod metrics;
mod openapi;
mod operations;
mod orkes;
mod plugins;
mod reload;
mod safety;
mod secrets;
mod sink;
mod tokens;
mod vectors;
