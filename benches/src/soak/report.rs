//! The soak's figures, from what the run left in its directory (`benches/soak/soak.sh`):
//! `load.json` + `acked.bin` + `load-series.csv` (the load), `samples.csv` (the sampler),
//! `events.csv` (`t_ms,what`: kills, restarts, rebalances), `logs/sink-*.log` (JSON logs), plus
//! the Conductor double's accounting and the topics read back from the broker.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::Serialize;
use serde_json::Value;

use super::retain::{self, Tally, TopicTally};
use crate::stats::slope;

/// One time series: `(t_ms, value)`.
pub type Series = Vec<(u64, f64)>;

/// `samples.csv` by series name.
pub fn read_samples(path: &Path) -> Result<BTreeMap<String, Series>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out: BTreeMap<String, Series> = BTreeMap::new();
    for line in text.lines() {
        let mut it = line.splitn(3, ',');
        let (Some(t), Some(k), Some(v)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if let (Ok(t), Ok(v)) = (t.parse(), v.parse()) {
            out.entry(k.to_string()).or_default().push((t, v));
        }
    }
    Ok(out)
}

/// `events.csv`: `(t_ms, what)`.
pub fn read_events(path: &Path) -> Vec<(u64, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (t, w) = l.split_once(',')?;
            Some((t.parse().ok()?, w.to_string()))
        })
        .collect()
}

/// Per-second rate of a cumulative counter, averaged over `window` samples. A counter that
/// goes down (a restarted process) is treated as restarting from zero.
pub fn rate(s: &Series, window: usize) -> Series {
    let w = window.max(1);
    let mut out = Vec::new();
    for i in w..s.len() {
        let (t0, v0) = s[i - w];
        let (t1, v1) = s[i];
        if t1 > t0 && v1 >= v0 {
            out.push((t1, (v1 - v0) * 1000.0 / (t1 - t0) as f64));
        }
    }
    out
}

/// "sink partition assigned" lines of the sink logs: `(t_ms, instance, partition, records)`.
pub fn assignments(logs: &Path) -> Vec<(u64, String, i64, u64)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(logs) else {
        return out;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("sink") {
            continue;
        }
        let inst = name.trim_end_matches(".log").to_string();
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text
            .lines()
            .filter(|l| l.contains("sink partition assigned"))
        {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let t = v["timestamp"]
                .as_str()
                .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as u64);
            if let Some(t) = t {
                out.push((
                    t,
                    inst.clone(),
                    v["fields"]["partition"].as_i64().unwrap_or(-1),
                    // `read` since the bounded index (`records` before)
                    v["fields"]["read"]
                        .as_u64()
                        .or_else(|| v["fields"]["records"].as_u64())
                        .unwrap_or(0),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A disruption and how long until every partition was owned (and loaded) again.
#[derive(Debug, Serialize)]
pub struct Takeover {
    /// What happened (`kill -9 sink-2`, …).
    pub what: String,
    /// Seconds after the load started.
    pub at_secs: f64,
    /// Seconds from the disruption to the last partition assignment it caused (includes the
    /// group's session timeout after a SIGKILL).
    pub takeover_secs: Option<f64>,
    /// Partition assignments it caused.
    pub assignments: usize,
    /// Most de-duplication records one assignment read back (bounded by
    /// `sink.dedup_index_entries`).
    pub max_records_loaded: u64,
}

/// RSS of one instance.
#[derive(Debug, Serialize)]
pub struct Rss {
    /// Instance.
    pub instance: String,
    /// First sample, MiB.
    pub first_mib: f64,
    /// Last sample, MiB.
    pub last_mib: f64,
    /// Largest sample, MiB.
    pub max_mib: f64,
    /// Least-squares slope over the second half of its samples, MiB/min.
    pub slope_second_half_mib_per_min: f64,
}

/// Everything the report says.
#[derive(Debug, Serialize)]
pub struct Figures {
    /// The load's summary (`load.json`).
    pub load: Value,
    /// The Conductor double's accounting (`/soak/stats`).
    pub conductor: Value,
    /// Distinct events answered 2xx.
    pub acked: u64,
    /// Of those, never started in Conductor.
    pub lost: u64,
    /// Examples of lost sequence numbers.
    pub lost_examples: Vec<u64>,
    /// Of the lost, those with no record in the events topic (lost before Kafka, i.e. by
    /// ingest); the others reached Kafka and were lost by the sink. From the tally, which read
    /// every record before the retention emulation deleted it.
    pub lost_before_kafka: u64,
    /// Non-empty when `lost_before_kafka` cannot be known (records deleted unread).
    pub lost_unknown: String,
    /// Events started although never answered 2xx (a 2xx lost on the way, or a timeout).
    pub started_not_acked: u64,
    /// Workflow starts beyond the first for one correlation id.
    pub duplicate_starts: u64,
    /// History entries of the run.
    pub history_entries: u64,
    /// History entries a user sees beyond the first for one event: distinct event ids beyond
    /// the first per sequence number (the history view collapses records with one event id).
    pub duplicate_history: u64,
    /// History records beyond the first per sequence number, whatever their event ids (the
    /// sink writes entries at least once: the same event id again is not a duplicate entry).
    pub duplicate_history_records: u64,
    /// Events answered 2xx with no history entry.
    pub acked_without_history: u64,
    /// Every topic: records and bytes produced (counted before any trim), deleted by the
    /// retention emulation, held by the broker at the end.
    pub topics: BTreeMap<String, TopicTally>,
    /// Key + value + header bytes of every record produced to every topic, per distinct 2xx'd
    /// event.
    pub broker_bytes_per_event: f64,
    /// Broker RSS growth (largest sample − first) per distinct 2xx'd event, bytes (in-memory
    /// broker; with the retention emulation, what it holds stays bounded).
    pub broker_rss_bytes_per_event: Option<f64>,
    /// RSS per instance.
    pub rss: Vec<Rss>,
    /// Takeovers.
    pub takeovers: Vec<Takeover>,
    /// Mean sink throughput (workflow starts/s) from the first to the last start (bounded by
    /// the offered rate).
    pub sink_starts_per_sec: f64,
    /// Highest 10 s average of sink throughput (catching up after a disruption).
    pub sink_peak_starts_per_sec: f64,
    /// Largest sink lag sampled.
    pub max_lag: f64,
    /// Seconds from the end of the load until the lag was 0 (None: never within the run).
    pub drain_secs: Option<f64>,
}

/// Computes the figures.
#[allow(clippy::too_many_arguments)]
pub async fn figures(
    dir: &Path,
    tally_dir: Option<&Path>,
    conductor: &str,
    brokers: &str,
    topic: &str,
) -> Result<(Figures, BTreeMap<String, Series>, Vec<(u64, String)>), String> {
    let load: Value = serde_json::from_slice(
        &std::fs::read(dir.join("load.json")).map_err(|e| format!("load.json: {e}"))?,
    )
    .map_err(|e| format!("load.json: {e}"))?;
    let run = u32::from_str_radix(load["run_id"].as_str().unwrap_or_default(), 16)
        .map_err(|_| "load.json: run_id".to_string())?;
    let acked = std::fs::read(dir.join("acked.bin")).map_err(|e| format!("acked.bin: {e}"))?;
    let http = reqwest::Client::new();
    let base = conductor.trim_end_matches('/');
    let get = |p: &str| http.get(format!("{base}{p}")).send();
    let stats: Value = get("/soak/stats")
        .await
        .map_err(|e| format!("conductor: {e}"))?
        .json()
        .await
        .map_err(|e| format!("conductor: {e}"))?;
    let seen = get("/soak/seen")
        .await
        .map_err(|e| format!("conductor: {e}"))?
        .bytes()
        .await
        .map_err(|e| format!("conductor: {e}"))?;
    let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
    let mut lost = Vec::new();
    let mut started_not_acked = 0;
    for (i, a) in acked.iter().enumerate() {
        match (*a == 1, at(&seen, i) > 0) {
            (true, false) => lost.push(i as u64),
            (false, true) => started_not_acked += 1,
            _ => {}
        }
    }
    // What was produced: the retention emulation's tally (every record counted before any
    // trim), then the rest of every topic read the same way; without a tally, everything.
    let tally = match tally_dir {
        Some(d) if d.join("tally.json").exists() => Tally::load(d)?,
        _ => Tally::new(run),
    };
    if tally.run != run {
        return Err(format!(
            "the tally is of run {:08x}, not {run:08x}",
            tally.run
        ));
    }
    let (b, t) = (brokers.to_string(), topic.to_string());
    let tally = tokio::task::spawn_blocking(move || {
        let mut tally = tally;
        retain::Reader::new(&b, &t)?.pass_all(&mut tally)?;
        Ok::<_, String>(tally)
    })
    .await
    .map_err(|e| e.to_string())??;
    let hist = &tally.history;
    let n_acked = acked.iter().filter(|a| **a == 1).count() as u64;
    let acked_without_history = acked
        .iter()
        .enumerate()
        .filter(|(i, a)| **a == 1 && hist.records(*i) == 0)
        .count() as u64;
    let all_bytes: u64 = tally.topics.values().map(|t| t.bytes).sum();

    let samples = read_samples(&dir.join("samples.csv"))?;
    let events = read_events(&dir.join("events.csv"));
    let start_ms = load["start_unix_ms"].as_u64().unwrap_or(0);
    let end_ms = start_ms + (load["elapsed_secs"].as_f64().unwrap_or(0.0) * 1000.0) as u64;
    let rss: Vec<Rss> = samples
        .iter()
        .filter_map(|(k, s)| Some((k.strip_prefix("rss_mib:")?, s)))
        .filter(|(_, s)| !s.is_empty())
        .map(|(name, s)| {
            let half: Vec<(f64, f64)> = s[s.len() / 2..]
                .iter()
                .map(|(t, v)| (*t as f64 / 1000.0, *v))
                .collect();
            Rss {
                instance: name.to_string(),
                first_mib: s[0].1,
                last_mib: s[s.len() - 1].1,
                max_mib: s.iter().map(|x| x.1).fold(0.0, f64::max),
                slope_second_half_mib_per_min: slope(&half) * 60.0,
            }
        })
        .collect();
    let broker_rss_bytes_per_event = samples.get("rss_mib:broker").and_then(|s| {
        let growth = s.iter().map(|x| x.1).fold(0.0, f64::max) - s.first()?.1;
        (n_acked > 0).then(|| growth * 1048576.0 / n_acked as f64)
    });
    let assigned = assignments(&dir.join("logs"));
    let mut takeovers = Vec::new();
    let disruptions: Vec<&(u64, String)> =
        events.iter().filter(|(_, w)| w.contains("sink")).collect();
    for (i, (t, what)) in disruptions.iter().enumerate() {
        let until = disruptions.get(i + 1).map(|(n, _)| *n).unwrap_or(u64::MAX);
        let mine: Vec<_> = assigned
            .iter()
            .filter(|(a, ..)| a >= t && *a < until)
            .collect();
        takeovers.push(Takeover {
            what: what.clone(),
            at_secs: t.saturating_sub(start_ms) as f64 / 1000.0,
            takeover_secs: mine.last().map(|(a, ..)| (a - t) as f64 / 1000.0),
            assignments: mine.len(),
            max_records_loaded: mine.iter().map(|x| x.3).max().unwrap_or(0),
        });
    }
    let starts = samples.get("starts").cloned().unwrap_or_default();
    let sink_starts_per_sec = {
        let first = starts.iter().find(|x| x.1 > 0.0);
        let last = starts
            .iter()
            .find(|x| x.1 >= starts.last().map_or(0.0, |l| l.1));
        match (first, last) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) * 1000.0 / (b.0 - a.0) as f64,
            _ => 0.0,
        }
    };
    let sink_peak_starts_per_sec = rate(&starts, 10).iter().map(|x| x.1).fold(0.0, f64::max);
    let lag = samples.get("lag").cloned().unwrap_or_default();
    let max_lag = lag.iter().map(|x| x.1).fold(0.0, f64::max);
    let drain_secs = lag
        .iter()
        .find(|(t, v)| *t >= end_ms && *v == 0.0)
        .map(|(t, _)| (t - end_ms) as f64 / 1000.0);
    let f = Figures {
        load,
        duplicate_starts: stats["duplicate_starts"].as_u64().unwrap_or(0),
        conductor: stats,
        acked: n_acked,
        lost: lost.len() as u64,
        lost_examples: lost.iter().take(10).copied().collect(),
        lost_before_kafka: lost
            .iter()
            .filter(|i| at(&tally.events_per_seq, **i as usize) == 0)
            .count() as u64,
        lost_unknown: if tally.topics.get(topic).is_some_and(|t| t.missed > 0) {
            "unknown: records of the events topic were deleted before the tally read them".into()
        } else {
            String::new()
        },
        started_not_acked,
        history_entries: hist.entries,
        duplicate_history: hist.duplicates(),
        duplicate_history_records: hist.raw_duplicates(),
        acked_without_history,
        broker_bytes_per_event: all_bytes as f64 / n_acked.max(1) as f64,
        topics: tally.topics.clone(),
        broker_rss_bytes_per_event,
        rss,
        takeovers,
        sink_starts_per_sec,
        sink_peak_starts_per_sec,
        max_lag,
        drain_secs,
    };
    Ok((f, samples, events))
}

/// The figures as Markdown (for `benches/RESULTS.md`).
pub fn markdown(f: &Figures) -> String {
    let l = &f.load;
    let mut s = String::new();
    let _ = writeln!(s, "| figure | value |\n|---|---|");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "| {k} | {v} |");
    };
    row(
        "events (distinct) / requests / redeliveries sent",
        format!(
            "{} / {} / {}",
            l["events"], l["requests"], l["redeliveries_sent"]
        ),
    );
    row(
        "target rate / achieved rate (req/s)",
        format!(
            "{} / {:.0}",
            l["rate"],
            l["achieved_rate"].as_f64().unwrap_or(0.0)
        ),
    );
    row(
        "load duration",
        format!("{:.0} s", l["elapsed_secs"].as_f64().unwrap_or(0.0)),
    );
    row("answers by status (all tries)", l["statuses"].to_string());
    row("client errors (all tries)", l["errors"].to_string());
    row(
        "request latency p50 / p99 / p99.9 / max (ms, from the scheduled send)",
        format!(
            "{} / {} / {} / {}",
            l["latency_ms"]["p50"],
            l["latency_ms"]["p99"],
            l["latency_ms"]["p999"],
            l["latency_ms"]["max"]
        ),
    );
    row(
        "distinct events answered 2xx / seen by Conductor",
        format!("{} / {}", f.acked, f.conductor["run_distinct_events"]),
    );
    row(
        "**lost** (2xx'd, never started)",
        format!("**{}** {:?}", f.lost, f.lost_examples),
    );
    row(
        "of the lost: never in the events topic (lost by ingest) / in it (lost by the sink)",
        if f.lost_unknown.is_empty() {
            format!("{} / {}", f.lost_before_kafka, f.lost - f.lost_before_kafka)
        } else {
            f.lost_unknown.clone()
        },
    );
    row(
        "started without a 2xx (answer lost or timed out)",
        f.started_not_acked.to_string(),
    );
    row(
        "**duplicate workflow starts** (same correlation id started again)",
        format!("**{}**", f.duplicate_starts),
    );
    row(
        "history records / **duplicate entries** (distinct event ids beyond the first per event) / 2xx'd events without one",
        format!(
            "{} / **{}** / {}",
            f.history_entries, f.duplicate_history, f.acked_without_history
        ),
    );
    row(
        "history records beyond the first per event, any event id (raw; the same event id again is collapsed by the view)",
        f.duplicate_history_records.to_string(),
    );
    row(
        "Conductor correlation look-ups (recovery checks after takeovers)",
        f.conductor["correlated_lookups"].to_string(),
    );
    row(
        "sink throughput: mean first to last start / best 10 s",
        format!(
            "{:.0} / {:.0} workflow starts/s",
            f.sink_starts_per_sec, f.sink_peak_starts_per_sec
        ),
    );
    row(
        "consumer lag: max / drained after the load in",
        format!(
            "{:.0} events / {}",
            f.max_lag,
            f.drain_secs
                .map_or("not within the run".into(), |d| format!("{d:.0} s"))
        ),
    );
    row(
        "broker bytes per event (key+value+headers of every record produced, all topics, counted before any trim)",
        format!("{:.0} B", f.broker_bytes_per_event),
    );
    if let Some(b) = f.broker_rss_bytes_per_event {
        row(
            "broker RSS growth (max − first sample) per event",
            format!("{b:.0} B"),
        );
    }
    let _ = writeln!(
        s,
        "\n| topic | records produced | bytes | bytes/record | deleted by the retention emulation | held at the end |\n|---|---|---|---|---|---|"
    );
    for (name, t) in &f.topics {
        let _ = writeln!(
            s,
            "| `{name}` | {} | {} | {:.0}{} | {} | {} |",
            t.records,
            t.bytes,
            t.bytes as f64 / t.records.max(1) as f64,
            if t.complete && t.missed == 0 {
                String::new()
            } else {
                format!(" (incomplete: {} unread)", t.missed)
            },
            t.deleted,
            t.held
        );
    }
    let _ = writeln!(
        s,
        "\n| instance | RSS first | last | max | slope, 2nd half |\n|---|---|---|---|---|"
    );
    for r in &f.rss {
        let _ = writeln!(
            s,
            "| {} | {:.0} MiB | {:.0} MiB | {:.0} MiB | {:+.2} MiB/min |",
            r.instance, r.first_mib, r.last_mib, r.max_mib, r.slope_second_half_mib_per_min
        );
    }
    let _ = writeln!(
        s,
        "\n| disruption | at | partitions owned again after | assignments | most idempotency records read by one |\n|---|---|---|---|---|"
    );
    for t in &f.takeovers {
        let _ = writeln!(
            s,
            "| {} | {:.0} s | {} | {} | {} |",
            t.what,
            t.at_secs,
            t.takeover_secs.map_or("—".into(), |x| format!("{x:.1} s")),
            t.assignments,
            t.max_records_loaded
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_a_counter_skips_restarts() {
        let s: Series = vec![
            (0, 0.0),
            (1000, 100.0),
            (2000, 300.0),
            (3000, 10.0),
            (4000, 60.0),
        ];
        let r = rate(&s, 1);
        assert_eq!(r, vec![(1000, 100.0), (2000, 200.0), (4000, 50.0)]);
    }

    #[test]
    fn reads_assignments_from_json_logs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sink-1.log"),
            concat!(
                r#"{"timestamp":"2026-11-30T16:00:00.500000Z","level":"INFO","fields":{"message":"sink partition assigned","partition":3,"records":42,"recovery_below":7},"target":"hookd::sink"}"#,
                "\n",
                r#"{"timestamp":"2026-11-30T16:00:01Z","level":"INFO","fields":{"message":"other"}}"#,
                "\nnot json\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("ingest-1.log"), "sink partition assigned").unwrap();
        let a = assignments(dir.path());
        assert_eq!(a.len(), 1);
        let (t, inst, p, records) = &a[0];
        assert_eq!((inst.as_str(), *p, *records), ("sink-1", 3, 42));
        let want = humantime::parse_rfc3339("2026-11-30T16:00:00.500Z").unwrap();
        assert_eq!(
            *t,
            want.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
        );
    }
}
