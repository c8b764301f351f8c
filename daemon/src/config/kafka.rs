//! `[kafka]`: brokers, topics, producer batching, the in-flight budget.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[kafka]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `"embedded"` (librdkafka's in-process mock cluster, in memory, not durable) or `host:port,…`.
    #[serde(default = "d_brokers")]
    pub brokers: String,
    /// Topic that receives one record per verified event.
    #[serde(default = "d_topic")]
    pub topic: String,
    /// Compacted topic that shares webhook definitions between instances; default `<topic>.webhooks`.
    #[serde(default)]
    pub config_topic: Option<String>,
    /// Partitions for topics hookd creates (existing topics are left alone).
    #[serde(default = "d_partitions")]
    pub partitions: i32,
    /// Replication factor for topics hookd creates.
    #[serde(default = "d_replication")]
    pub replication_factor: i32,
    /// How long a request may wait for the broker's acknowledgement before answering 503, ms.
    #[serde(default = "d_ack_timeout")]
    pub ack_timeout_ms: u64,
    /// librdkafka `linger.ms`: how long to wait to fill a batch.
    #[serde(default = "d_linger")]
    pub linger_ms: u64,
    /// librdkafka `batch.num.messages`.
    #[serde(default = "d_batch_num")]
    pub batch_num_messages: u32,
    /// librdkafka `batch.size`, bytes.
    #[serde(default = "d_batch_size")]
    pub batch_size: u32,
    /// librdkafka `compression.codec`: none (default), gzip, lz4 (snappy/zstd are not built
    /// in). `none` because lz4 was most of librdkafka's per-event CPU for webhook-sized bodies
    /// (benches/RESULTS.md, issue 18); set lz4 where broker bandwidth or disk matter more.
    #[serde(default = "d_compression")]
    pub compression: String,
    /// Maximum events waiting for a broker acknowledgement; beyond it requests get 503.
    #[serde(default = "d_inflight")]
    pub max_inflight_events: usize,
    /// Maximum request-body bytes held in memory (being read or waiting for Kafka); beyond: 503.
    #[serde(default = "d_inflight_bytes")]
    pub max_inflight_bytes: usize,
    /// `/readyz` answers 503 while requests wait for the broker and none has acknowledged
    /// anything for this long, ms.
    #[serde(default = "d_unready_after")]
    pub unready_after_ms: u64,
    /// `Retry-After` seconds on 503 answers.
    #[serde(default = "d_retry_after")]
    pub retry_after_secs: u64,
    /// Extra librdkafka producer properties, passed through verbatim (e.g. security settings).
    #[serde(default)]
    /// Values never print (`sasl.password` and the like): see [`super::Sensitive`].
    pub producer: BTreeMap<String, super::Sensitive>,
    /// Extra librdkafka consumer properties, passed through verbatim.
    #[serde(default)]
    /// Values never print, as for `producer`.
    pub consumer: BTreeMap<String, super::Sensitive>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        toml::from_str("").expect("kafka defaults")
    }
}

fn d_brokers() -> String {
    "embedded".into()
}
fn d_topic() -> String {
    "hookd.events".into()
}
fn d_partitions() -> i32 {
    6
}
fn d_replication() -> i32 {
    1
}
fn d_ack_timeout() -> u64 {
    2_000
}
fn d_linger() -> u64 {
    2
}
fn d_batch_num() -> u32 {
    10_000
}
fn d_batch_size() -> u32 {
    1_000_000
}
fn d_compression() -> String {
    "none".into()
}
fn d_inflight() -> usize {
    10_000
}
fn d_inflight_bytes() -> usize {
    256 * 1024 * 1024
}
fn d_unready_after() -> u64 {
    5_000
}
fn d_retry_after() -> u64 {
    1
}

pub(super) fn valid_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}
