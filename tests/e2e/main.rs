//! End-to-end tests: hookd in-process, real HTTP(S) clients, librdkafka's mock cluster.

mod admin;
mod failure;
mod h3;
mod hostile;
mod https;
mod ingress;
mod plugins;
mod safety;
mod sink;
mod vectors;
