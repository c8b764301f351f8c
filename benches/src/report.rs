//! Markdown tables from the JSON lines `loadgen --json` writes: every run, each `hookd-<x>` run
//! as a ratio to its `bare-<x>` run, and the targets, keyed on the labels `run-all.sh`
//! uses (`hookd-h1`, `bare-h1`, `hookd-h2c`, `hookd-h2-tls`, `hookd-h1-tls`, `hookd-h3`,
//! `hookd-h1-half`, `hookd-h1-1000conns`, `hookd-broker-down`).

use std::fmt::Write;

use crate::stats::Report;

/// Parses JSON lines (blank lines skipped); a bad line is an error naming its number.
pub fn parse(text: &str) -> Result<Vec<Report>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

fn find<'a>(runs: &'a [Report], label: &str) -> Option<&'a Report> {
    runs.iter().rev().find(|r| r.label == label)
}

fn cpu(r: &Report) -> Option<f64> {
    r.daemon.as_ref().map(|d| d.cpu_us_per_req_excl_broker)
}

fn f1(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

fn failures(r: &Report) -> u64 {
    let non2xx: u64 = r
        .statuses
        .iter()
        .filter(|(k, _)| !k.starts_with('2'))
        .map(|(_, v)| v)
        .sum();
    non2xx + r.errors.values().sum::<u64>()
}

/// All runs, one row each.
pub fn runs_table(runs: &[Report]) -> String {
    let mut s = String::new();
    s.push_str("| label | proto | body | conc/conns | load | req/s | p50 ms | p99 ms | p99.9 ms | daemon CPU µs/req (total) | (without broker) | loadgen µs/req | RSS max MiB | RSS slope MiB/min | non-2xx + errors | Kafka missing |\n");
    s.push_str("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in runs {
        let d = r.daemon.as_ref();
        let kafka = match &r.kafka {
            None => "not checked".to_string(),
            Some(k) if k.complete => format!("{} of {}", k.missing, k.acked),
            Some(k) => format!(
                "{} of {}, incomplete: {} records deleted by retention before they were read",
                k.missing, k.acked, k.skipped
            ),
        };
        let _ = writeln!(
            s,
            "| {} | {} {} | {} {} B | {}/{} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.1} | {} | {} | {} | {} |",
            r.label,
            r.proto,
            r.scheme,
            r.providers,
            r.size,
            r.concurrency,
            r.connections,
            r.rate.map_or("closed".into(), |x| format!("{x:.0}/s")),
            r.rps,
            r.latency_ms.p50,
            r.latency_ms.p99,
            r.latency_ms.p999,
            f1(d.map(|d| d.cpu_us_per_req)),
            f1(d.map(|d| d.cpu_us_per_req_excl_broker)),
            r.loadgen_cpu_us_per_req,
            f1(d.map(|d| d.rss_max_mib)),
            d.map_or("–".into(), |d| format!("{:+.2}", d.rss_slope_mib_per_min)),
            failures(r),
            kafka
        );
    }
    s
}

/// Each `hookd-<x>` next to `bare-<x>`.
pub fn bare_table(runs: &[Report]) -> String {
    let mut s = String::new();
    s.push_str("| pair | hookd CPU µs/req (without broker) | bare CPU µs/req | ratio | hookd req/s | bare req/s |\n|---|---:|---:|---:|---:|---:|\n");
    for r in runs {
        let Some(rest) = r.label.strip_prefix("hookd-") else {
            continue;
        };
        let Some(b) = find(runs, &format!("bare-{rest}")) else {
            continue;
        };
        let ratio = match (cpu(r), cpu(b)) {
            (Some(h), Some(b)) if b > 0.0 => format!("{:.2}×", h / b),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {rest} | {} | {} | {ratio} | {:.0} | {:.0} |",
            f1(cpu(r)),
            f1(cpu(b)),
            r.rps,
            b.rps
        );
    }
    s
}

fn ratio_row(s: &mut String, what: &str, target: f64, num: Option<&Report>, den: Option<&Report>) {
    let (value, verdict) = match (num.and_then(cpu), den.and_then(cpu)) {
        (Some(n), Some(d)) if d > 0.0 => {
            let r = n / d;
            (
                format!("{r:.2}× ({n:.1} / {d:.1} µs)"),
                if r <= target { "met" } else { "MISSED" },
            )
        }
        _ => ("not run".to_string(), "–"),
    };
    let _ = writeln!(s, "| {what} | ≤ {target}× | {value} | {verdict} |");
}

/// The targets.
pub fn targets_table(runs: &[Report]) -> String {
    let mut s = String::new();
    s.push_str("| target | goal | measured | verdict |\n|---|---|---|---|\n");
    let get = |l: &str| find(runs, l);
    ratio_row(
        &mut s,
        "daemon CPU/req, HTTP/1.1 keep-alive, vs bare",
        2.0,
        get("hookd-h1"),
        get("bare-h1"),
    );
    ratio_row(
        &mut s,
        "HTTP/2 (h2c) vs HTTP/1.1 (plain)",
        1.5,
        get("hookd-h2c"),
        get("hookd-h1"),
    );
    ratio_row(
        &mut s,
        "HTTP/2 (TLS) vs HTTP/1.1 (TLS)",
        1.5,
        get("hookd-h2-tls"),
        get("hookd-h1-tls"),
    );
    ratio_row(
        &mut s,
        "HTTP/3 vs HTTP/1.1 (TLS)",
        4.0,
        get("hookd-h3"),
        get("hookd-h1-tls"),
    );
    ratio_row(
        &mut s,
        "per-request CPU, Standard Webhooks plugin vs native HMAC-SHA256 (GitHub), 1 KiB",
        1.5,
        get("hookd-h1-plugin"),
        get("hookd-h1"),
    );
    match get("hookd-h1-half") {
        Some(r) => {
            let _ = writeln!(
                s,
                "| p99 request → 2xx at half the maximum throughput ({:.0}/s) | ≤ 20 ms | {:.2} ms | {} |",
                r.rate.unwrap_or(0.0),
                r.latency_ms.p99,
                if r.latency_ms.p99 <= 20.0 { "met" } else { "MISSED" }
            );
        }
        None => s.push_str("| p99 at half the maximum throughput | ≤ 20 ms | not run | – |\n"),
    }
    match get("hookd-h1-1000conns").and_then(|r| r.daemon.as_ref().map(|d| (r, d))) {
        Some((r, d)) => {
            let _ = writeln!(
                s,
                "| RSS with {} concurrent connections | ≤ 100 MiB | {:.1} MiB max ({:.1} peak) | {} |",
                r.connections,
                d.rss_max_mib,
                d.hwm_mib,
                if d.rss_max_mib <= 100.0 { "met" } else { "MISSED" }
            );
        }
        None => s.push_str("| RSS with 1,000 connections | ≤ 100 MiB | not run | – |\n"),
    }
    match get("hookd-broker-down").and_then(|r| r.daemon.as_ref().map(|d| (r, d))) {
        Some((r, d)) => {
            let flat = d.rss_slope_mib_per_min.abs() <= 1.0;
            let _ = writeln!(
                s,
                "| memory while the broker is down, under load ({:.0} req/s offered) | flat | {:+.2} MiB/min, {:.1} → {:.1} MiB (max {:.1}) | {} |",
                r.rate.unwrap_or(r.rps),
                d.rss_slope_mib_per_min,
                d.rss_start_mib,
                d.rss_end_mib,
                d.rss_max_mib,
                if flat { "met" } else { "MISSED" }
            );
        }
        None => s.push_str("| memory flat while the broker is down | flat | not run | – |\n"),
    }
    s
}

/// The whole markdown report.
pub fn markdown(runs: &[Report]) -> String {
    format!(
        "### Targets\n\n{}\n### hookd against the bare server\n\n{}\n### Every run\n\n{}",
        targets_table(runs),
        bare_table(runs),
        runs_table(runs)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::ProcessFigures;

    fn run(label: &str, cpu: f64) -> Report {
        Report {
            label: label.into(),
            daemon: Some(ProcessFigures {
                cpu_us_per_req_excl_broker: cpu,
                ..ProcessFigures::default()
            }),
            ..Report::default()
        }
    }

    #[test]
    fn ratios_and_verdicts() {
        let runs = vec![
            run("bare-h1", 10.0),
            run("hookd-h1", 25.0),
            run("hookd-h2c", 30.0),
        ];
        let text = serde_json::to_string(&runs[0]).unwrap();
        assert_eq!(parse(&format!("{text}\n\n{text}")).unwrap().len(), 2);
        let t = targets_table(&runs);
        assert!(t.contains("2.50× (25.0 / 10.0 µs) | MISSED"), "{t}");
        assert!(t.contains("1.20× (30.0 / 25.0 µs) | met"), "{t}");
        assert!(
            t.contains("HTTP/3 vs HTTP/1.1 (TLS) | ≤ 4× | not run"),
            "{t}"
        );
        let b = bare_table(&runs);
        assert!(b.contains("| h1 | 25.0 | 10.0 | 2.50× |"), "{b}");
        assert!(parse("{").is_err());
    }
}
