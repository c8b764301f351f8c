//! End-to-end tests: hookd in-process, real HTTP(S) clients, librdkafka's mock cluster.

mod admin;
mod failure;
mod h3;
mod hostile;
mod https;
mod safety;
mod ingress;
mod plugins;
mod sink;
mod vectors;
