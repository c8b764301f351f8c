//! `<topic>.starts`, the sink's de-duplication records: created `compact,delete` with
//! `retention.ms` = `sink.dedup_window_secs`, so the topic is bounded by the window whatever the
//! traffic; an existing topic whose policy differs is reported at start (hookd never alters a
//! topic it did not create).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;

use crate::config::Config;

/// The topic settings hookd creates `<topic>.starts` with.
pub fn settings(cfg: &Config) -> [(&'static str, String); 3] {
    [
        ("cleanup.policy", "compact,delete".to_string()),
        ("retention.ms", window_ms(cfg).to_string()),
        ("min.compaction.lag.ms", "0".to_string()),
    ]
}

fn window_ms(cfg: &Config) -> u64 {
    cfg.sink.dedup_window_secs.saturating_mul(1000)
}

/// `t` with [`settings`] applied.
pub fn new_topic<'a>(t: NewTopic<'a>, settings: &'a [(&'static str, String); 3]) -> NewTopic<'a> {
    settings.iter().fold(t, |t, (k, v)| t.set(k, v))
}

/// What is wrong with an existing topic's `cleanup.policy` / `retention.ms` for a window of
/// `window_ms` (`None`: nothing).
pub fn mismatch(policy: Option<&str>, retention_ms: Option<&str>, window_ms: u64) -> Option<String> {
    let policy = policy.unwrap_or("delete");
    let parts: Vec<&str> = policy.split(',').map(str::trim).collect();
    if !(parts.contains(&"compact") && parts.contains(&"delete")) {
        return Some(format!(
            "cleanup.policy is \"{policy}\", not \"compact,delete\": {}",
            if parts.contains(&"compact") {
                "its records never expire, so it grows with traffic and partition takeovers read more of it"
            } else {
                "records of one key are not compacted"
            }
        ));
    }
    match retention_ms.and_then(|r| r.parse::<i64>().ok()) {
        Some(r) if r == window_ms as i64 => None,
        Some(r) if r < 0 => Some(format!(
            "retention.ms is {r} (unlimited), not {window_ms} (sink.dedup_window_secs)"
        )),
        Some(r) => Some(format!(
            "retention.ms is {r}, not {window_ms} (sink.dedup_window_secs): {}",
            if (r as u64) < window_ms {
                "records expire before the window ends"
            } else {
                "records are kept longer than needed"
            }
        )),
        None => Some(format!("retention.ms is unknown; expected {window_ms}")),
    }
}

/// Reads the existing topic's settings and warns when they differ from [`settings`].
pub async fn check(cfg: &Config, admin: &AdminClient<DefaultClientContext>) {
    let topic = cfg.topics().starts;
    let opts = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let spec = ResourceSpecifier::Topic(&topic);
    let res = tokio::time::timeout(
        Duration::from_secs(15),
        admin.describe_configs([&spec], &opts),
    )
    .await;
    let resource = match res {
        Ok(Ok(mut v)) if !v.is_empty() => match v.remove(0) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(topic = %topic, error = ?e, "cannot read topic settings");
                return;
            }
        },
        Ok(Ok(_)) => return,
        Ok(Err(e)) => {
            tracing::debug!(topic = %topic, error = %e, "cannot read topic settings");
            return;
        }
        Err(_) => {
            tracing::debug!(topic = %topic, "timed out reading topic settings");
            return;
        }
    };
    let get = |k: &str| resource.get(k).and_then(|e| e.value.clone());
    if let Some(problem) = mismatch(
        get("cleanup.policy").as_deref(),
        get("retention.ms").as_deref(),
        window_ms(cfg),
    ) {
        tracing::warn!(topic = %topic, "the de-duplication topic's settings differ from what hookd creates: {problem}. Set cleanup.policy=compact,delete and retention.ms={} (e.g. kafka-configs --alter --entity-type topics --entity-name {topic} --add-config ...)", window_ms(cfg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_checked() {
        let w = 604_800_000;
        assert_eq!(mismatch(Some("compact,delete"), Some("604800000"), w), None);
        assert_eq!(mismatch(Some("delete, compact"), Some("604800000"), w), None);
        let m = mismatch(Some("compact"), Some("604800000"), w).unwrap();
        assert!(m.contains("never expire"), "{m}");
        assert!(mismatch(None, None, w).unwrap().contains("compact,delete"));
        let m = mismatch(Some("compact,delete"), Some("-1"), w).unwrap();
        assert!(m.contains("unlimited"), "{m}");
        let m = mismatch(Some("compact,delete"), Some("1000"), w).unwrap();
        assert!(m.contains("expire before"), "{m}");
    }
}
