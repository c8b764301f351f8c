//! End-to-end tests: hookd in-process, real HTTP(S) clients, librdkafka's mock cluster.

mod admin;
mod failure;
mod h3;
mod https;
mod ingress;
mod plugins;
mod secrets;
mod sink;
mod tokens;
mod vectors;
