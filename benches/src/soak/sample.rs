//! The soak's sampler: every interval, the RSS of every instance (pids read again each time
//! from a directory of `<name>.pid` files, so restarted processes are followed), the Conductor
//! double's start count, and from the broker: events produced (sum of the events topic's high
//! watermarks) and the sink group's lag (high watermark minus committed offset, per partition,
//! summed). One CSV row per reading, long format: `t_ms,series,value`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, TopicPartitionList};

use crate::procstat;

/// What to sample.
#[derive(Debug, Clone)]
pub struct SampleConfig {
    /// Directory of `<instance>.pid` files.
    pub pids: PathBuf,
    /// Kafka bootstrap servers.
    pub brokers: String,
    /// Events topic.
    pub topic: String,
    /// The sink's consumer group.
    pub group: String,
    /// `http://127.0.0.1:PORT` of the soak Conductor double.
    pub conductor: String,
    /// Interval.
    pub every: Duration,
    /// Output CSV (appended).
    pub out: PathBuf,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `(name, pid)` of every `<name>.pid` file in `dir`.
pub fn read_pids(dir: &Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".pid"))
            else {
                continue;
            };
            if let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                out.push((name.to_string(), pid));
            }
        }
    }
    out.sort();
    out
}

/// `(produced, lag)` of `group` on `topic`: sums of high watermarks and of what the group has
/// not committed yet (a partition without a commit counts from its low watermark).
pub fn group_lag(c: &BaseConsumer, topic: &str) -> Result<(i64, i64), String> {
    let t = Duration::from_secs(5);
    let parts = super::topics::partitions(c, topic, t)?;
    let mut tpl = TopicPartitionList::new();
    for p in &parts {
        tpl.add_partition(topic, *p);
    }
    let committed = c.committed_offsets(tpl, t).map_err(|e| e.to_string())?;
    let (mut produced, mut lag) = (0, 0);
    for p in parts {
        let (low, high) = c.fetch_watermarks(topic, p, t).map_err(|e| e.to_string())?;
        let done = committed
            .find_partition(topic, p)
            .and_then(|e| e.offset().to_raw())
            .filter(|o| *o >= 0)
            .unwrap_or(low);
        produced += high;
        lag += (high - done).max(0);
    }
    Ok((produced, lag))
}

/// A consumer that only reads offsets of `group` (it never subscribes, so it never joins).
pub fn offsets_client(brokers: &str, group: &str) -> Result<BaseConsumer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("log_level", "3")
        .create()
        .map_err(|e| format!("kafka {brokers}: {e}"))
}

/// Samples until `stop` turns true.
pub async fn run(cfg: SampleConfig, stop: &AtomicBool) -> Result<(), String> {
    let c = offsets_client(&cfg.brokers, &cfg.group)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cfg.out)
        .map_err(|e| format!("{}: {e}", cfg.out.display()))?;
    let mut next = tokio::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let t = unix_ms();
        let mut rows = String::new();
        for (name, pid) in read_pids(&cfg.pids) {
            if let Ok(s) = procstat::sample(pid, false) {
                rows += &format!("{t},rss_mib:{name},{:.1}\n", s.rss_bytes as f64 / 1048576.0);
                rows += &format!("{t},cpu_secs:{name},{:.2}\n", s.cpu_secs);
            }
        }
        let url = format!("{}/soak/stats", cfg.conductor.trim_end_matches('/'));
        if let Ok(r) = http.get(&url).send().await {
            if let Ok(v) = r.json::<serde_json::Value>().await {
                for k in ["starts", "duplicate_starts", "correlated_lookups"] {
                    rows += &format!("{t},{k},{}\n", v[k].as_u64().unwrap_or(0));
                }
            }
        }
        let topic = cfg.topic.clone();
        let lag = tokio::task::block_in_place(|| group_lag(&c, &topic));
        if let Ok((produced, lag)) = lag {
            rows += &format!("{t},produced,{produced}\n{t},lag,{lag}\n");
        }
        f.write_all(rows.as_bytes())
            .map_err(|e| format!("{}: {e}", cfg.out.display()))?;
        next += cfg.every;
        tokio::time::sleep_until(next).await;
    }
    Ok(())
}
