//! Retention emulation for the soak, and the tally of every record the run produced.
//!
//! nisshi's `memory://` storage keeps every record forever: it enforces neither `retention.ms`
//! nor compaction (it does implement DeleteRecords, and frees the deleted batches). At ~8 KB of
//! broker RSS per event a 5-million-event soak would need ~45 GB. So the soak does what a real
//! Kafka's time-based retention would do for it, from outside, with `DeleteRecords`, every
//! `every` (10 s):
//!
//! - **events topic**: below the sink group's committed offset of each partition minus
//!   `keep_events` (events the sinks are done with; the margin keeps events near the committed
//!   offset readable). A partition without a commit is not trimmed.
//! - **`<topic>.starts`**: below the high watermark minus `keep_starts` per partition. A sink
//!   taking a partition reads back only its newest `sink.dedup_index_entries` records
//!   (`daemon/src/sink/dedup.rs`), so `keep_starts` > that bound changes nothing hookd reads
//!   (and a partition with older records is still seen as "truncated", as without trimming).
//! - **`<topic>.history`**: below the high watermark minus `keep_history` (one partition). Every
//!   instance replays it at start and keeps `sink.history_size` entries per webhook; the newest
//!   `keep_history` records hold them for every webhook that had an event among them (a webhook
//!   with no event in that span loses its history on instances started later: what a shorter
//!   retention would do).
//! - **never trimmed**: `<topic>.waits` (compacted: its live keys can be anywhere), the config
//!   topic, the dead-letter topic, and anything else.
//!
//! **Nothing is deleted before it is counted.** Before each trim every topic is read from where
//! the previous pass stopped to its high watermark ([`Tally`]): records and key+value+header
//! bytes per topic (so broker bytes per event are those of everything produced), which sequence
//! numbers of the run reached the events topic (lost before Kafka, or by the sink), and the
//! history entries per sequence number with their event ids. A cut never passes what the tally
//! has read. The tally is saved in a directory (`save`/`load`) for `soak report`, which reads
//! the rest of the topics the same way.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::topics::{self, find_bench_id};

/// What the tally knows about one topic.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct TopicTally {
    /// Records read (each once, before any trim).
    pub records: u64,
    /// Their key + value + header bytes (what the broker stores before its own framing).
    pub bytes: u64,
    /// Per partition: the next offset to read.
    pub next: BTreeMap<i32, i64>,
    /// Records below the low watermarks at the last pass (deleted by the trims).
    pub deleted: u64,
    /// Records between the low and high watermarks at the last pass (held by the broker).
    pub held: u64,
    /// Records that were gone before the tally read them (a low watermark above `next`): 0
    /// unless something else deleted records.
    pub missed: u64,
    /// Whether the last pass read every partition to its high watermark.
    pub complete: bool,
}

/// The history entries of the run, per sequence number.
#[derive(Debug, Default)]
pub struct HistoryTally {
    /// History records per sequence number (saturating).
    pub records_per_seq: Vec<u8>,
    /// A 32-bit hash of the first event id recorded per sequence number (0: none yet).
    pub first_id: Vec<u32>,
    /// Further distinct event ids of a sequence number (provider redeliveries recorded again).
    pub extra_ids: HashMap<u64, Vec<u32>>,
    /// History records of the run.
    pub entries: u64,
    /// History records of other runs, markers, or without a bench id.
    pub other: u64,
}

impl HistoryTally {
    fn add(&mut self, seq: u64, event_id: Option<&[u8]>) {
        self.entries += 1;
        let i = seq as usize;
        if self.records_per_seq.len() <= i {
            self.records_per_seq.resize(i + 1, 0);
            self.first_id.resize(i + 1, 0);
        }
        self.records_per_seq[i] = self.records_per_seq[i].saturating_add(1);
        let h = id_hash(event_id.unwrap_or_default());
        if self.first_id[i] == 0 {
            self.first_id[i] = h;
        } else if self.first_id[i] != h {
            let extra = self.extra_ids.entry(seq).or_default();
            if !extra.contains(&h) {
                extra.push(h);
            }
        }
    }

    /// Entries a user sees beyond the first for one event: distinct event ids beyond the first
    /// per sequence number (the history view collapses records with the same event id, i.e. the
    /// same Kafka record handled again after a crash; a provider redelivery recorded as a second
    /// entry has a new event id).
    pub fn duplicates(&self) -> u64 {
        self.extra_ids.values().map(|v| v.len() as u64).sum()
    }

    /// History records beyond the first per sequence number, whatever their event ids.
    pub fn raw_duplicates(&self) -> u64 {
        self.records_per_seq
            .iter()
            .map(|c| u64::from(c.saturating_sub(1)))
            .sum()
    }

    /// History records of sequence number `seq`.
    pub fn records(&self, seq: usize) -> u8 {
        self.records_per_seq.get(seq).copied().unwrap_or(0)
    }
}

fn id_hash(id: &[u8]) -> u32 {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    (h.finish() as u32).max(1)
}

/// The event id of a history record (`"eventId":"…"`, outside the payload string).
pub fn event_id(value: &[u8]) -> Option<&[u8]> {
    const NEEDLE: &[u8] = b"\"eventId\":\"";
    let at = value.windows(NEEDLE.len()).position(|w| w == NEEDLE)? + NEEDLE.len();
    let len = value[at..].iter().position(|b| *b == b'"')?;
    Some(&value[at..at + len])
}

/// Everything the run produced, counted as it was read.
#[derive(Debug, Default)]
pub struct Tally {
    /// The run whose sequence numbers are counted.
    pub run: u32,
    /// Per topic.
    pub topics: BTreeMap<String, TopicTally>,
    /// Records of the events topic per sequence number of the run (saturating).
    pub events_per_seq: Vec<u8>,
    /// History entries of the run.
    pub history: HistoryTally,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    run: u32,
    topics: BTreeMap<String, TopicTally>,
    history_entries: u64,
    history_other: u64,
    history_extra_ids: Vec<(u64, Vec<u32>)>,
}

fn rw_err(p: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", p.display())
}

impl Tally {
    /// An empty tally for run `run` (every topic is read from its low watermark).
    pub fn new(run: u32) -> Self {
        Self {
            run,
            ..Self::default()
        }
    }

    /// Saves to `dir` (created): `tally.json` and three byte arrays (`events_per_seq.bin`,
    /// `history_per_seq.bin`, `history_first_id.bin`, u32 little-endian).
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| rw_err(dir, e))?;
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            let tmp = dir.join(format!("{name}.tmp"));
            std::fs::write(&tmp, bytes).map_err(|e| rw_err(&tmp, e))?;
            std::fs::rename(&tmp, &p).map_err(|e| rw_err(&p, e))
        };
        write("events_per_seq.bin", &self.events_per_seq)?;
        write("history_per_seq.bin", &self.history.records_per_seq)?;
        let ids: Vec<u8> = self
            .history
            .first_id
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        write("history_first_id.bin", &ids)?;
        let saved = Saved {
            run: self.run,
            topics: self.topics.clone(),
            history_entries: self.history.entries,
            history_other: self.history.other,
            history_extra_ids: self
                .history
                .extra_ids
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        };
        // written last: a tally.json always goes with arrays at least as new as it says
        write(
            "tally.json",
            serde_json::to_string(&saved).expect("json").as_bytes(),
        )
    }

    /// Loads what [`Tally::save`] wrote.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| rw_err(&p, e))
        };
        let saved: Saved = serde_json::from_slice(&read("tally.json")?)
            .map_err(|e| format!("{}: {e}", dir.join("tally.json").display()))?;
        let first_id = read("history_first_id.bin")?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Self {
            run: saved.run,
            topics: saved.topics,
            events_per_seq: read("events_per_seq.bin")?,
            history: HistoryTally {
                records_per_seq: read("history_per_seq.bin")?,
                first_id,
                extra_ids: saved.history_extra_ids.into_iter().collect(),
                entries: saved.history_entries,
                other: saved.history_other,
            },
        })
    }

    fn count(&mut self, kind: Kind, value: &[u8]) {
        match kind {
            Kind::Events => {
                if let Some((r, seq)) = find_bench_id(value) {
                    if r == self.run {
                        let i = seq as usize;
                        if self.events_per_seq.len() <= i {
                            self.events_per_seq.resize(i + 1, 0);
                        }
                        self.events_per_seq[i] = self.events_per_seq[i].saturating_add(1);
                    }
                }
            }
            Kind::History => match find_bench_id(value) {
                Some((r, seq)) if r == self.run => self.history.add(seq, event_id(value)),
                _ => self.history.other += 1,
            },
            _ => {}
        }
    }
}

/// What a topic is to the retention emulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The events topic: trimmed below the sink group's committed offsets.
    Events,
    /// `<topic>.starts`: trimmed to its newest records.
    Starts,
    /// `<topic>.history`: trimmed to its newest records.
    History,
    /// Everything else: never trimmed.
    Keep,
}

/// The kind of `name` in the deployment of events topic `events`.
pub fn kind(events: &str, name: &str) -> Kind {
    if name == events {
        Kind::Events
    } else if name == format!("{events}.starts") {
        Kind::Starts
    } else if name == format!("{events}.history") {
        Kind::History
    } else {
        Kind::Keep
    }
}

/// Reads topics incrementally into a [`Tally`].
pub struct Reader {
    consumer: BaseConsumer,
    events_topic: String,
}

/// One partition after a pass: `(partition, low, high)` watermarks as the pass began.
pub type Marks = Vec<(i32, i64, i64)>;

impl Reader {
    /// A reader on `brokers` for the deployment of events topic `events_topic`.
    pub fn new(brokers: &str, events_topic: &str) -> Result<Self, String> {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set(
                "group.id",
                format!("hookd-soak-tally-{}", fastrand::u64(..)),
            )
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("auto.offset.reset", "earliest")
            .set("max.partition.fetch.bytes", "16777216")
            .set("fetch.max.bytes", "67108864")
            .set("log_level", "3")
            .create()
            .map_err(|e| format!("kafka {brokers}: {e}"))?;
        Ok(Self {
            consumer,
            events_topic: events_topic.to_string(),
        })
    }

    /// Reads `topic` from where the tally stopped to the high watermarks it has now (blocking).
    pub fn pass(&self, tally: &mut Tally, topic: &str) -> Result<Marks, String> {
        let c = &self.consumer;
        let t = Duration::from_secs(10);
        let k = kind(&self.events_topic, topic);
        let mut marks = Vec::new();
        let mut tpl = TopicPartitionList::new();
        let mut ends = BTreeMap::new();
        {
            let tt = tally.topics.entry(topic.to_string()).or_default();
            let (mut deleted, mut held) = (0, 0);
            for p in topics::partitions(c, topic, t)? {
                let (low, high) = c.fetch_watermarks(topic, p, t).map_err(|e| e.to_string())?;
                marks.push((p, low, high));
                deleted += low.max(0) as u64;
                held += (high - low).max(0) as u64;
                let next = tt.next.entry(p).or_insert(low);
                if *next < low {
                    tt.missed += (low - *next) as u64;
                    *next = low;
                }
                if high > *next {
                    ends.insert(p, high);
                    tpl.add_partition_offset(topic, p, Offset::Offset(*next))
                        .map_err(|e| e.to_string())?;
                }
            }
            tt.deleted = deleted;
            tt.held = held;
        }
        if ends.is_empty() {
            tally.topics.get_mut(topic).expect("inserted").complete = true;
            return Ok(marks);
        }
        c.assign(&tpl).map_err(|e| e.to_string())?;
        let mut last = Instant::now();
        while !ends.is_empty() && last.elapsed() < Duration::from_secs(30) {
            match c.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    last = Instant::now();
                    let tt = tally.topics.get_mut(topic).expect("inserted");
                    let next = tt.next.entry(m.partition()).or_insert(0);
                    if m.offset() < *next {
                        continue; // read before
                    }
                    *next = m.offset() + 1;
                    let mut b = m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len);
                    if let Some(h) = m.headers() {
                        for x in h.iter() {
                            b += x.key.len() + x.value.map_or(0, <[u8]>::len);
                        }
                    }
                    tt.records += 1;
                    tt.bytes += b as u64;
                    if ends
                        .get(&m.partition())
                        .is_some_and(|e| m.offset() + 1 >= *e)
                    {
                        ends.remove(&m.partition());
                    }
                    tally.count(k, m.payload().unwrap_or_default());
                }
                Some(Err(e)) => return Err(format!("{topic}: {e}")),
                None => {}
            }
        }
        let _ = c.unassign();
        tally.topics.get_mut(topic).expect("inserted").complete = ends.is_empty();
        Ok(marks)
    }

    /// The deployment's topics.
    pub fn topics(&self) -> Result<Vec<String>, String> {
        topics::list_with(&self.consumer, &self.events_topic)
    }

    /// Reads every topic of the deployment to its end.
    pub fn pass_all(&self, tally: &mut Tally) -> Result<(), String> {
        for topic in self.topics()? {
            self.pass(tally, &topic)?;
        }
        Ok(())
    }
}

/// The retention emulation's settings.
#[derive(Debug, Clone)]
pub struct RetainConfig {
    /// Kafka bootstrap servers.
    pub brokers: String,
    /// Events topic.
    pub topic: String,
    /// The sinks' consumer group.
    pub group: String,
    /// The run whose sequence numbers are tallied.
    pub run: u32,
    /// Interval between passes.
    pub every: Duration,
    /// Events kept below the committed offset, per partition.
    pub keep_events: i64,
    /// Newest `<topic>.starts` records kept per partition (more than
    /// `sink.dedup_index_entries`).
    pub keep_starts: i64,
    /// Newest `<topic>.history` records kept.
    pub keep_history: i64,
    /// Count only, delete nothing (the comparison run without retention).
    pub dry_run: bool,
    /// Where the tally is saved.
    pub dir: PathBuf,
    /// Series (`t_ms,series,value`, appended): records deleted and held per topic.
    pub csv: PathBuf,
}

/// Where to cut each partition of a topic of kind `k`: `(partition, offset)` pairs above the
/// low watermark, never past what the tally has read. `committed` is the sink group's committed
/// offset per partition (events topic only).
pub fn cuts(
    k: Kind,
    cfg: &RetainConfig,
    marks: &[(i32, i64, i64)],
    next: &BTreeMap<i32, i64>,
    committed: &BTreeMap<i32, i64>,
) -> Vec<(i32, i64)> {
    let mut out = Vec::new();
    for (p, low, high) in marks {
        let want = match k {
            Kind::Events => match committed.get(p) {
                Some(c) if *c >= 0 => c - cfg.keep_events,
                _ => continue,
            },
            Kind::Starts => high - cfg.keep_starts,
            Kind::History => high - cfg.keep_history,
            Kind::Keep => continue,
        };
        let cut = want.min(next.get(p).copied().unwrap_or(*low));
        if cut > *low {
            out.push((*p, cut));
        }
    }
    out
}

fn committed(
    c: &BaseConsumer,
    topic: &str,
    marks: &[(i32, i64, i64)],
) -> Result<BTreeMap<i32, i64>, String> {
    let mut tpl = TopicPartitionList::new();
    for (p, ..) in marks {
        tpl.add_partition(topic, *p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    Ok(marks
        .iter()
        .filter_map(|(p, ..)| {
            let o = got.find_partition(topic, *p)?.offset().to_raw()?;
            (o >= 0).then_some((*p, o))
        })
        .collect())
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Tallies and trims every `cfg.every` until `stop`; then a last pass, and the tally is saved.
pub async fn run(cfg: RetainConfig, stop: &AtomicBool) -> Result<(), String> {
    let reader = Reader::new(&cfg.brokers, &cfg.topic)?;
    let offsets = super::sample::offsets_client(&cfg.brokers, &cfg.group)?;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .set("log_level", "3")
        .create()
        .map_err(|e| format!("kafka {}: {e}", cfg.brokers))?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let mut csv = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cfg.csv)
        .map_err(|e| rw_err(&cfg.csv, e))?;
    let mut tally = Tally::new(cfg.run);
    let mut next_pass = tokio::time::Instant::now();
    let mut last_save = Instant::now();
    let mut last_log = Instant::now() - Duration::from_secs(3600);
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let names = match tokio::task::block_in_place(|| reader.topics()) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("retain: topics: {e}");
                Vec::new()
            }
        };
        let mut rows = String::new();
        let mut line = Vec::new();
        for topic in &names {
            let marks = match tokio::task::block_in_place(|| reader.pass(&mut tally, topic)) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("retain: {topic}: {e}");
                    continue;
                }
            };
            let k = kind(&cfg.topic, topic);
            let tt = &tally.topics[topic];
            let t = unix_ms();
            rows += &format!(
                "{t},deleted:{topic},{}\n{t},held:{topic},{}\n",
                tt.deleted, tt.held
            );
            if cfg.dry_run || stopping || k == Kind::Keep {
                continue;
            }
            let committed = if k == Kind::Events {
                match tokio::task::block_in_place(|| committed(&offsets, topic, &marks)) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("retain: committed offsets: {e}");
                        continue;
                    }
                }
            } else {
                BTreeMap::new()
            };
            let cut = cuts(k, &cfg, &marks, &tt.next, &committed);
            if cut.is_empty() {
                continue;
            }
            let mut tpl = TopicPartitionList::new();
            for (p, o) in &cut {
                tpl.add_partition_offset(topic, *p, Offset::Offset(*o))
                    .map_err(|e| e.to_string())?;
            }
            match admin.delete_records(&tpl, &opts).await {
                Ok(res) => {
                    for e in res.elements() {
                        if let Err(err) = e.error() {
                            eprintln!("retain: {topic}[{}]: {err}", e.partition());
                        }
                    }
                    let n: i64 = cut
                        .iter()
                        .map(|(p, o)| o - marks.iter().find(|m| m.0 == *p).map_or(*o, |m| m.1))
                        .sum();
                    line.push(format!("{topic} -{n}"));
                }
                Err(e) => eprintln!("retain: delete_records {topic}: {e}"),
            }
        }
        // how long counting and trimming took: a slow pass means a busy broker (or a cause of one)
        rows += &format!(
            "{},retain_pass_ms,{}\n",
            unix_ms(),
            t0.elapsed().as_millis()
        );
        csv.write_all(rows.as_bytes())
            .map_err(|e| rw_err(&cfg.csv, e))?;
        if stopping || last_save.elapsed() > Duration::from_secs(60) {
            tally.save(&cfg.dir)?;
            last_save = Instant::now();
        }
        if stopping {
            println!("retain: final pass saved to {}", cfg.dir.display());
            return Ok(());
        }
        if last_log.elapsed() > Duration::from_secs(60) {
            let held: u64 = tally.topics.values().map(|t| t.held).sum();
            let read: u64 = tally.topics.values().map(|t| t.records).sum();
            println!(
                "retain: pass in {:.1?}: {read} records tallied, {held} held by the broker; trimmed {}",
                t0.elapsed(),
                if line.is_empty() { "nothing".into() } else { line.join(", ") }
            );
            last_log = Instant::now();
        }
        next_pass += cfg.every;
        while tokio::time::Instant::now() < next_pass && !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RetainConfig {
        RetainConfig {
            brokers: String::new(),
            topic: "t".into(),
            group: "g".into(),
            run: 1,
            every: Duration::from_secs(10),
            keep_events: 100,
            keep_starts: 1000,
            keep_history: 50,
            dry_run: false,
            dir: PathBuf::new(),
            csv: PathBuf::new(),
        }
    }

    #[test]
    fn cuts_never_pass_the_tally_or_the_margins() {
        let c = cfg();
        let marks: Marks = vec![(0, 0, 5000), (1, 0, 5000), (2, 4000, 5000)];
        let next: BTreeMap<i32, i64> = [(0, 5000), (1, 3000), (2, 5000)].into();
        // events: committed - keep, no commit = no cut, never past the tally
        let committed: BTreeMap<i32, i64> = [(0, 2000), (1, 4500)].into();
        assert_eq!(
            cuts(Kind::Events, &c, &marks, &next, &committed),
            vec![(0, 1900), (1, 3000)]
        );
        // starts: the newest keep_starts stay; nothing to cut where low is already above
        assert_eq!(
            cuts(Kind::Starts, &c, &marks, &next, &BTreeMap::new()),
            vec![(0, 4000), (1, 3000)]
        );
        assert_eq!(
            cuts(Kind::History, &c, &marks[..1], &next, &BTreeMap::new()),
            vec![(0, 4950)]
        );
        assert!(cuts(Kind::Keep, &c, &marks, &next, &committed).is_empty());
        assert_eq!(kind("t", "t.starts"), Kind::Starts);
        assert_eq!(kind("t", "t.waits"), Kind::Keep);
        assert_eq!(kind("t", "t"), Kind::Events);
    }

    #[test]
    fn history_duplicates_count_distinct_event_ids() {
        let mut h = HistoryTally::default();
        let rec = |id: &str| {
            format!(
                r#"{{"webhookId":"soak","generation":1,"entry":{{"eventId":"{id}","matched":false,"payload":"{{\"bench_id\":\"00000001-000000000003\"}}"}}}}"#
            )
        };
        assert_eq!(event_id(rec("e-1").as_bytes()), Some(&b"e-1"[..]));
        let mut t = Tally::new(1);
        // seq 3: the same Kafka record handled twice (same event id) and a provider redelivery
        for id in ["e-1", "e-1", "e-2"] {
            t.count(Kind::History, rec(id).as_bytes());
        }
        assert_eq!(t.history.records(3), 3);
        assert_eq!(t.history.raw_duplicates(), 2);
        assert_eq!(t.history.duplicates(), 1);
        h.add(7, Some(b"x"));
        assert_eq!((h.duplicates(), h.raw_duplicates()), (0, 0));
        // other runs are not counted as the run's
        t.count(
            Kind::History,
            br#"{"entry":{"eventId":"z","payload":"{\"bench_id\":\"00000002-000000000003\"}"}}"#,
        );
        assert_eq!((t.history.entries, t.history.other), (3, 1));
    }

    #[test]
    fn a_saved_tally_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tally::new(9);
        t.events_per_seq = vec![1, 0, 2];
        t.history.add(0, Some(b"a"));
        t.history.add(0, Some(b"b"));
        t.history.add(2, Some(b"c"));
        t.topics.insert(
            "t".into(),
            TopicTally {
                records: 3,
                bytes: 30,
                next: [(0, 3)].into(),
                ..TopicTally::default()
            },
        );
        t.save(dir.path()).unwrap();
        let l = Tally::load(dir.path()).unwrap();
        assert_eq!(l.run, 9);
        assert_eq!(l.events_per_seq, vec![1, 0, 2]);
        assert_eq!(l.history.records_per_seq, t.history.records_per_seq);
        assert_eq!(l.history.first_id, t.history.first_id);
        assert_eq!(l.history.duplicates(), 1);
        assert_eq!(l.topics["t"].next[&0], 3);
        assert_eq!(l.topics["t"].bytes, 30);
    }
}
