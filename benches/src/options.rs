//! Command-line value parsers shared by the binaries: durations (`500ms`, `10s`, `2m`) and
//! sizes (`1k`, `7k`, `64k`, `1024`).

use std::time::Duration;

/// Parses `<n>ms`, `<n>s`, `<n>m` or a bare number of seconds (decimals allowed).
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 10s, 2m)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{s}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(v * mult))
}

/// Parses `<n>`, `<n>k` (KiB) or `<n>m` (MiB) into bytes.
pub fn size(s: &str) -> Result<usize, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix('k') {
        (n, 1024)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 1024 * 1024)
    } else {
        (t.as_str(), 1)
    };
    num.trim()
        .parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| format!("`{s}` is not a size (e.g. 1k, 7k, 64k, 1024)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(duration("x").is_err());
        assert_eq!(size("1k"), Ok(1024));
        assert_eq!(size("64K"), Ok(65536));
        assert_eq!(size("100"), Ok(100));
        assert!(size("k").is_err());
    }
}
