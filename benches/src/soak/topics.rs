//! Reads every topic of a hookd deployment back after a soak: records and bytes per topic (key,
//! value and headers: what the broker stores before its own framing), and the history entries
//! per event of the soak's run (duplicates are entries beyond the first for one delivery).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// Records and bytes of one topic.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct TopicBytes {
    /// Records read.
    pub records: u64,
    /// Key + value + header bytes.
    pub bytes: u64,
    /// Whether every partition was read to its high watermark.
    pub complete: bool,
}

/// What the history topic says about the run.
#[derive(Debug, Default)]
pub struct HistoryCounts {
    /// Entries per sequence number of the run (saturating).
    pub per_seq: Vec<u8>,
    /// Entries of the run.
    pub entries: u64,
    /// Entries of other runs or without a bench id.
    pub other: u64,
    /// Records of the events topic per sequence number of the run (saturating): whether an
    /// event that was never started reached Kafka at all.
    pub events_per_seq: Vec<u8>,
}

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
    let c = consumer(brokers)?;
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

/// Reads `topic` from the start to its current end; `each` sees every record's value.
pub fn read(brokers: &str, topic: &str, mut each: impl FnMut(&[u8])) -> Result<TopicBytes, String> {
    let c = consumer(brokers)?;
    let t = Duration::from_secs(10);
    let parts = partitions(&c, topic, t)?;
    let mut tpl = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for p in parts {
        let (low, high) = c.fetch_watermarks(topic, p, t).map_err(|e| e.to_string())?;
        if high > low {
            ends.insert(p, high);
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .map_err(|e| e.to_string())?;
        }
    }
    let mut out = TopicBytes::default();
    if ends.is_empty() {
        out.complete = true;
        return Ok(out);
    }
    c.assign(&tpl).map_err(|e| e.to_string())?;
    let mut last = Instant::now();
    while !ends.is_empty() && last.elapsed() < Duration::from_secs(30) {
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                last = Instant::now();
                let mut b = m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len);
                if let Some(h) = m.headers() {
                    for x in h.iter() {
                        b += x.key.len() + x.value.map_or(0, <[u8]>::len);
                    }
                }
                out.records += 1;
                out.bytes += b as u64;
                each(m.payload().unwrap_or_default());
                if ends
                    .get(&m.partition())
                    .is_some_and(|e| m.offset() + 1 >= *e)
                {
                    ends.remove(&m.partition());
                }
            }
            Some(Err(e)) => return Err(format!("{topic}: {e}")),
            None => {}
        }
    }
    out.complete = ends.is_empty();
    Ok(out)
}

/// Every topic of the deployment, and the history entries of run `run`.
pub fn read_all(
    brokers: &str,
    events_topic: &str,
    run: u32,
) -> Result<(BTreeMap<String, TopicBytes>, HistoryCounts), String> {
    let history_topic = format!("{events_topic}.history");
    let mut hist = HistoryCounts::default();
    let mut out = BTreeMap::new();
    for topic in list(brokers, events_topic)? {
        let is_history = topic == history_topic;
        let is_events = topic == events_topic;
        let tb = read(brokers, &topic, |v| {
            if !is_history && !is_events {
                return;
            }
            match find_bench_id(v) {
                Some((r, seq)) if r == run => {
                    let seq = seq as usize;
                    let counts = if is_history {
                        hist.entries += 1;
                        &mut hist.per_seq
                    } else {
                        &mut hist.events_per_seq
                    };
                    if counts.len() <= seq {
                        counts.resize(seq + 1, 0);
                    }
                    counts[seq] = counts[seq].saturating_add(1);
                }
                _ if is_history => hist.other += 1,
                _ => {}
            }
        })?;
        out.insert(topic, tb);
    }
    Ok((out, hist))
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
