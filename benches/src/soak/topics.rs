//! The topics of a hookd deployment: their names and partitions, and the bench id in a record
//! (reading them back and counting is `retain.rs`'s tally).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

fn consumer(brokers: &str) -> Result<BaseConsumer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set(
            "group.id",
            format!("hookd-soak-report-{}", fastrand::u64(..)),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        .set("log_level", "3")
        .create()
        .map_err(|e| format!("kafka {brokers}: {e}"))
}

/// Topics named `prefix` or `prefix.*`.
pub fn list(brokers: &str, prefix: &str) -> Result<Vec<String>, String> {
    list_with(&consumer(brokers)?, prefix)
}

/// Topics named `prefix` or `prefix.*`, through an existing client.
pub fn list_with(c: &BaseConsumer, prefix: &str) -> Result<Vec<String>, String> {
    let md = c
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let mut out: Vec<String> = md
        .topics()
        .iter()
        .map(|t| t.name().to_string())
        .filter(|n| n == prefix || n.starts_with(&format!("{prefix}.")))
        .collect();
    out.sort();
    Ok(out)
}

/// `(run, seq)` of the first `"bench_id":"…"` in `text` (also inside a JSON string, where the
/// quotes are escaped).
pub fn find_bench_id(text: &[u8]) -> Option<(u32, u64)> {
    for needle in [&b"\"bench_id\":\""[..], &b"\\\"bench_id\\\":\\\""[..]] {
        if let Some(at) = text.windows(needle.len()).position(|w| w == needle) {
            let id =
                std::str::from_utf8(text.get(at + needle.len()..at + needle.len() + 21)?).ok()?;
            let (run, seq) = id.split_once('-')?;
            return Some((u32::from_str_radix(run, 16).ok()?, seq.parse().ok()?));
        }
    }
    None
}

/// The partition ids of `topic` (none if the broker does not know it).
pub fn partitions(c: &BaseConsumer, topic: &str, t: Duration) -> Result<Vec<i32>, String> {
    let md = c
        .fetch_metadata(Some(topic), t)
        .map_err(|e| e.to_string())?;
    Ok(md
        .topics()
        .iter()
        .find(|x| x.name() == topic)
        .map(|x| x.partitions().iter().map(|p| p.id()).collect())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bench_ids_in_json_strings() {
        let entry = br#"{"entry":{"payload":"{\"bench_id\":\"000000ff-000000000012\",\"a\":1}"}}"#;
        assert_eq!(find_bench_id(entry), Some((0xff, 12)));
        assert_eq!(
            find_bench_id(br#"{"bench_id":"00000001-000000000003""#),
            Some((1, 3))
        );
        assert_eq!(find_bench_id(b"{}"), None);
    }
}
