//! CPU time and memory of a process (the daemon under test), read from `/proc`.
//!
//! CPU is `utime + stime` of `/proc/<pid>/stat` (all threads), in clock ticks. The per-thread
//! split (`/proc/<pid>/task/<tid>/stat`, grouped by thread name) separates hookd's own work
//! from the embedded broker, which runs inside the daemon process as librdkafka's `rdk:mock`
//! thread.

use std::collections::BTreeMap;
use std::path::Path;

/// Error reading `/proc`.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// The file could not be read (process gone, not Linux, …).
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file did not have the expected format.
    #[error("{0}: unexpected format")]
    Format(String),
}

/// Seconds per clock tick of `/proc/*/stat` times.
pub fn tick_secs() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        1.0 / t as f64
    } else {
        0.01
    }
}

fn read(path: &Path) -> Result<String, ProcError> {
    std::fs::read_to_string(path).map_err(|source| ProcError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// `(comm, utime + stime ticks)` of a `stat` file.
fn parse_stat(text: &str, path: &Path) -> Result<(String, u64), ProcError> {
    let bad = || ProcError::Format(path.display().to_string());
    let open = text.find('(').ok_or_else(bad)?;
    let close = text.rfind(')').ok_or_else(bad)?;
    let comm = text.get(open + 1..close).ok_or_else(bad)?.to_string();
    // Fields after the comm start at field 3 (state); utime is field 14, stime field 15.
    let mut it = text[close + 1..].split_whitespace().skip(11);
    let u: u64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let s: u64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    Ok((comm, u + s))
}

/// One reading of a process.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// CPU seconds (user + system) of the whole process.
    pub cpu_secs: f64,
    /// CPU seconds per thread-name group (`tokio-runtime-w`, `rdk:mock`, `rdk:broker1`…).
    pub threads: BTreeMap<String, f64>,
    /// Resident set, bytes.
    pub rss_bytes: u64,
    /// Peak resident set, bytes.
    pub hwm_bytes: u64,
}

/// Groups thread names: digits at the end are dropped (`rdk:broker12` → `rdk:broker`).
fn group(comm: &str) -> String {
    comm.trim_end_matches(|c: char| c.is_ascii_digit())
        .to_string()
}

/// Reads CPU and memory of `pid` (with the per-thread split when `threads`).
pub fn sample(pid: u32, threads: bool) -> Result<Sample, ProcError> {
    let base = Path::new("/proc").join(pid.to_string());
    let tick = tick_secs();
    let stat = base.join("stat");
    let (_, ticks) = parse_stat(&read(&stat)?, &stat)?;
    let status = base.join("status");
    let text = read(&status)?;
    let kib = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let mut s = Sample {
        cpu_secs: ticks as f64 * tick,
        threads: BTreeMap::new(),
        rss_bytes: kib("VmRSS:"),
        hwm_bytes: kib("VmHWM:"),
    };
    if threads {
        let dir = base.join("task");
        let entries = std::fs::read_dir(&dir).map_err(|source| ProcError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        for e in entries.flatten() {
            let p = e.path().join("stat");
            // A thread may exit between the listing and the read.
            if let Ok(t) = std::fs::read_to_string(&p) {
                let (comm, ticks) = parse_stat(&t, &p)?;
                *s.threads.entry(group(&comm)).or_default() += ticks as f64 * tick;
            }
        }
    }
    Ok(s)
}

/// The thread group of the embedded broker (librdkafka's mock cluster thread).
pub const BROKER_THREAD: &str = "rdk:mock";

/// Thread ids of `pid` whose name is `comm` (to pin the embedded broker elsewhere).
pub fn threads_named(pid: u32, comm: &str) -> Vec<u32> {
    let dir = Path::new("/proc").join(pid.to_string()).join("task");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end() == comm)
        })
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let line = "123 (tokio (w) 1) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1 2 3";
        let (comm, ticks) = parse_stat(line, Path::new("x")).unwrap();
        assert_eq!(comm, "tokio (w) 1");
        assert_eq!(ticks, 300);
        assert!(parse_stat("123 (x) S 1", Path::new("x")).is_err());
    }

    #[test]
    fn reads_this_process() {
        // Burn CPU until a tick is counted: a fixed wall-clock burn can get no CPU tick at
        // all on a loaded machine (the test failed so at load average 5).
        let start = std::time::Instant::now();
        let mut x = 0u64;
        let s = loop {
            let burn = std::time::Instant::now();
            while burn.elapsed() < std::time::Duration::from_millis(20) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            let s = sample(std::process::id(), true).unwrap();
            if s.cpu_secs > 0.0 || start.elapsed() > std::time::Duration::from_secs(30) {
                break s;
            }
        };
        std::hint::black_box(x);
        assert!(s.rss_bytes > 0 && s.hwm_bytes >= s.rss_bytes);
        assert!(s.cpu_secs > 0.0);
        assert!(!s.threads.is_empty());
        assert_eq!(group("rdk:broker12"), "rdk:broker");
    }
}
