//! The sink's de-duplication window and its concurrency inside a partition: key order, crashes
//! mid-window, expiry, redeliveries, bounded takeovers, deletes.

use std::time::Duration;

use hookd_e2e::conductor::ConductorDouble;
use hookd_e2e::hookd::kafka::embedded::EmbeddedKafka;
use hookd_e2e::hookd::sink::dedup;
use hookd_e2e::hookd::sink::starts::StartRecord;
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use serde_json::Value;

const SECRET: &str = "dedup-secret-1";
const WAIT: Duration = Duration::from_secs(60);

/// Ingress replay protection off (every copy reaches the sink, as copies sent to different
/// instances would); long Conductor timeouts so a hung start stays in flight.
fn cfg(c: &ConductorDouble, sink: &str) -> String {
    format!(
        "#server\nreplay_window_secs = 0\nshutdown_grace_ms = 2000\n#rest\n[conductor]\nurl = \"{}\"\ntimeout_ms = 120000\nmax_attempts = 1\n[sink]\nwait_poll_timeout_ms = 100\nwait_callback_after_secs = 5\nhistory_size = 100\n{sink}\n",
        c.url()
    )
}

/// A cluster whose events topic has `partitions` partitions (1: every event shares a partition,
/// so concurrency and order inside one partition are what is tested), and an OSS double.
async fn cluster(partitions: i32) -> (EmbeddedKafka, String, ConductorDouble) {
    let k = mock_cluster(partitions);
    let b = k.bootstrap_servers().to_string();
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    (k, b, c)
}

async fn send(d: &TestDaemon, id: &str, body: &str, delivery: Option<&str>) -> u16 {
    let mut r = http1_client()
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), body.as_bytes()),
        )
        .header("Content-Type", "application/json");
    if let Some(x) = delivery {
        r = r.header("X-GitHub-Delivery", x);
    }
    r.body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn hook(d: &TestDaemon, extra: Value) -> String {
    let mut cfg = json!({"name": "gh", "verifier": "SIGNATURE_BASED", "secretValue": SECRET});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    d.create_webhook(cfg).await
}

/// The history topic's entries of webhook `id` (event ids), in topic order.
fn history_topic(bootstrap: &str, id: &str, want: usize) -> Vec<String> {
    consume_all(bootstrap, "events.history", want, Duration::from_secs(20))
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.value).ok())
        .filter(|v| v["webhookId"] == id && v["entry"].is_object())
        .map(|v| v["entry"]["eventId"].as_str().unwrap().to_string())
        .collect()
}

fn sorted_unique(mut v: Vec<String>) -> (usize, usize) {
    let n = v.len();
    v.sort();
    v.dedup();
    (n, v.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_window_loses_none_and_starts_none_twice() {
    let (_k, b, c) = cluster(1).await;
    let a = TestDaemon::start_with(&b, &cfg(&c, ""), None).await;
    assert!(a.daemon.wait_ready(WAIT).await);
    let id = hook(&a, json!({"workflowsToStart": {"wf": 1}})).await;
    // The first event's start takes effect in Conductor, whose answer then never comes…
    c.hang_starts(Some(Duration::from_secs(600)));
    assert_eq!(send(&a, &id, r#"{"n":0}"#, Some("d-0")).await, 200);
    c.wait_for("the first start", WAIT, |c| c.started().len() == 1)
        .await;
    c.hang_starts(None);
    // …while the later events of the same partition (other keys) run and finish.
    for i in 1..=20 {
        let body = format!(r#"{{"n":{i}}}"#);
        assert_eq!(send(&a, &id, &body, Some(&format!("d-{i}"))).await, 200);
    }
    c.wait_for("20 more starts", WAIT, |c| c.started().len() == 21)
        .await;
    let h = a.history(&id, 20).await;
    assert!(
        h.iter()
            .all(|e| !e["payload"].as_str().unwrap().contains(r#""n":0"#)),
        "the first event is still in flight"
    );
    // The sink dies with the first event between its effect and its offset (the stored offset
    // cannot pass it, so every later event is redelivered too).
    a.stop().await;
    let z = TestDaemon::start_with(&b, &cfg(&c, ""), None).await;
    assert!(z.daemon.wait_ready(WAIT).await);
    wait_sink_caught_up(&b, "events", WAIT * 2).await;
    let mut ns: Vec<i64> = c
        .started()
        .iter()
        .map(|w| w.input["n"].as_i64().unwrap())
        .collect();
    ns.sort();
    assert_eq!(
        ns,
        (0..=20).collect::<Vec<_>>(),
        "every event started once: none lost, none twice"
    );
    let h = z.history(&id, 21).await;
    assert_eq!(h.len(), 21);
    let (n, unique) = sorted_unique(history_topic(&b, &id, 21));
    assert_eq!(
        (n, unique),
        (21, 21),
        "one history entry per event, none for the redelivered copies"
    );
    z.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_one_key_apply_in_offset_order_while_keys_run_concurrently() {
    let (_k, b, c) = cluster(1).await;
    c.set_latency(Duration::from_millis(20));
    let d = TestDaemon::start_with(&b, &cfg(&c, ""), None).await;
    assert!(d.daemon.wait_ready(WAIT).await);
    // FAIL: only the first event of a key may start (hookd enforces it on an OSS Conductor). If
    // events of one key ran at once, several would start; out of order, a later one would.
    let id = hook(
        &d,
        json!({"workflowsToStart": {"wf": 1, "idempotencyKey": "${workflow.input.k}",
            "idempotencyStrategy": "FAIL"}}),
    )
    .await;
    for round in 0..5 {
        for k in 0..4 {
            let body = format!(r#"{{"k":"key-{k}","round":{round}}}"#);
            assert_eq!(send(&d, &id, &body, None).await, 200);
        }
    }
    wait_sink_caught_up(&b, "events", WAIT).await;
    let started = c.started();
    assert_eq!(started.len(), 4, "one start per key: {started:?}");
    for w in &started {
        assert_eq!(
            w.input["round"], 0,
            "the first event of its key started: {w:?}"
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_delivery_counts_as_new_after_the_window() {
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    let d = TestDaemon::start(&cfg(&c, "dedup_window_secs = 3600")).await;
    let id = hook(&d, json!({"workflowsToStart": {"wf": 1}})).await;
    let b = d.bootstrap();
    assert_eq!(send(&d, &id, r#"{"a":1}"#, Some("same")).await, 200);
    c.wait_for("a start", WAIT, |c| c.started().len() == 1)
        .await;
    assert_eq!(send(&d, &id, r#"{"a":1}"#, Some("same")).await, 200);
    wait_sink_caught_up(&b, "events", WAIT).await;
    assert_eq!(
        c.started().len(),
        1,
        "a copy within the window does nothing"
    );
    // two hours later (the injected clock) the record is older than the window
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    d.set_now(now + 7200);
    assert_eq!(send(&d, &id, r#"{"a":1}"#, Some("same")).await, 200);
    c.wait_for("a second start", WAIT, |c| c.started().len() == 2)
        .await;
    d.history(&id, 2).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_events_add_no_history_and_complete_no_second_wait() {
    let c = ConductorDouble::start().await;
    let d = TestDaemon::start(&cfg(&c, "")).await;
    let b = d.bootstrap();
    let id = hook(
        &d,
        json!({"receiverWorkflowNamesToVersions": {"waiter": 1}}),
    )
    .await;
    let m = json!({"$.order": 7});
    let (_, t1) = c.schedule_wait(
        "waiter",
        1,
        "wait",
        "WAIT_FOR_WEBHOOK",
        json!({}),
        m.clone(),
    );
    c.wait_for("t1 polled", WAIT, |c| c.task(&t1).unwrap().poll_count >= 1)
        .await;
    // the first delivery completes t1 (retried until the index has it)
    for _ in 0..100 {
        if c.task(&t1).unwrap().status == "COMPLETED" {
            break;
        }
        assert_eq!(send(&d, &id, r#"{"order":7}"#, Some("D")).await, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        wait_sink_caught_up(&b, "events", WAIT).await;
    }
    assert_eq!(c.task(&t1).unwrap().status, "COMPLETED");
    // a new wait on the same key, and a probe wait polled with it
    let (_, t2) = c.schedule_wait(
        "waiter",
        1,
        "wait",
        "WAIT_FOR_WEBHOOK",
        json!({}),
        m.clone(),
    );
    let (_, probe) = c.schedule_wait(
        "waiter",
        1,
        "wait",
        "WAIT_FOR_WEBHOOK",
        json!({}),
        json!({"$.order": 9}),
    );
    c.wait_for("t2 and the probe polled", WAIT, |c| {
        c.task(&t2).unwrap().poll_count >= 1 && c.task(&probe).unwrap().poll_count >= 1
    })
    .await;
    for i in 0..100 {
        if c.task(&probe).unwrap().status == "COMPLETED" {
            break;
        }
        let delivery = format!("P{i}");
        assert_eq!(send(&d, &id, r#"{"order":9}"#, Some(&delivery)).await, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
        wait_sink_caught_up(&b, "events", WAIT).await;
    }
    assert_eq!(
        c.task(&probe).unwrap().status,
        "COMPLETED",
        "the index has t2"
    );
    // the provider redelivers D: no second completion, no history entry
    let before = history_topic(&b, &id, 1).len();
    assert_eq!(send(&d, &id, r#"{"order":7}"#, Some("D")).await, 200);
    wait_sink_caught_up(&b, "events", WAIT).await;
    assert_ne!(
        c.task(&t2).unwrap().status,
        "COMPLETED",
        "a redelivered event completes no second wait"
    );
    assert_eq!(c.task(&t1).unwrap().late_updates, 0);
    assert_eq!(
        history_topic(&b, &id, before).len(),
        before,
        "a redelivered event adds no history entry"
    );
    // a new delivery with the same content does complete t2
    assert_eq!(send(&d, &id, r#"{"order":7}"#, Some("D-new")).await, 200);
    c.wait_for("t2 completed", WAIT, |c| {
        c.task(&t2).unwrap().status == "COMPLETED"
    })
    .await;
    let events = history_topic(&b, &id, before + 1);
    assert_eq!(events.len(), before + 1);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedup_key_identifies_deliveries_without_an_id() {
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    let d = TestDaemon::start(&cfg(&c, "")).await;
    let b = d.bootstrap();
    let id = hook(
        &d,
        json!({"workflowsToStart": {"wf": 1}, "dedupKey": "${workflow.input.msg.id}"}),
    )
    .await;
    for body in [
        r#"{"msg":{"id":"m1"},"try":1}"#,
        r#"{"msg":{"id":"m1"},"try":2}"#,
        r#"{"msg":{"id":"m2"},"try":1}"#,
    ] {
        assert_eq!(send(&d, &id, body, None).await, 200);
    }
    wait_sink_caught_up(&b, "events", WAIT).await;
    let started = c.started();
    assert_eq!(started.len(), 2, "m1 once, m2 once: {started:?}");
    assert_eq!(d.history(&id, 2).await.len(), 2);
    // an invalid template is refused, naming the field
    let r = admin_client()
        .post(format!("{}/api/metadata/webhook", d.admin_url()))
        .header("X-Authorization", TOKEN)
        .json(
            &json!({"name": "bad", "verifier": "SIGNATURE_BASED", "secretValue": SECRET,
            "workflowsToStart": {"wf": 1}, "dedupKey": "no placeholder"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("dedupKey"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_webhook_tombstones_its_records_in_every_instance() {
    let (_k, b, c) = cluster(3).await;
    let a = TestDaemon::start_with(&b, &cfg(&c, ""), None).await;
    let z = TestDaemon::start_with(&b, &cfg(&c, ""), None).await;
    assert!(a.daemon.wait_ready(WAIT).await && z.daemon.wait_ready(WAIT).await);
    let gone = hook(&a, json!({"workflowsToStart": {"wf": 1}})).await;
    let kept = hook(&a, json!({"name": "kept", "workflowsToStart": {"wf": 1}})).await;
    for i in 0..9 {
        assert_eq!(
            send(
                &a,
                &gone,
                &format!(r#"{{"i":{i}}}"#),
                Some(&format!("g{i}"))
            )
            .await,
            200
        );
    }
    // the other instance learns of the webhook through the config topic
    for _ in 0..600 {
        if z.get_webhook(&kept).await.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in 0..3 {
        assert_eq!(
            send(
                &z,
                &kept,
                &format!(r#"{{"i":{i}}}"#),
                Some(&format!("k{i}"))
            )
            .await,
            200
        );
    }
    wait_sink_caught_up(&b, "events", WAIT).await;
    z.history(&gone, 9).await;
    let r = admin_client()
        .delete(format!("{}/api/metadata/webhook/{gone}", a.admin_url()))
        .header("X-Authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let prefix = format!("done/{gone}/");
    let mut tombstoned = Vec::new();
    for _ in 0..60 {
        let recs = consume_all(&b, "events.starts", 24, Duration::from_secs(5));
        tombstoned = recs
            .iter()
            .filter(|r| r.key.starts_with(&prefix) && r.value.is_empty())
            .map(|r| r.key.clone())
            .collect();
        let kept_gone = recs
            .iter()
            .any(|r| r.key.starts_with(&format!("done/{kept}/")) && r.value.is_empty());
        assert!(!kept_gone, "another webhook's records stay");
        if sorted_unique(tombstoned.clone()).1 == 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        sorted_unique(tombstoned).1,
        9,
        "every record of the deleted webhook is tombstoned, whichever instance owned it"
    );
    let marker = consume_all(&b, "events.history", 13, Duration::from_secs(10))
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.value).ok())
        .any(|v| v["webhookId"] == gone.as_str() && v["deleted"] == true);
    assert!(marker, "the history topic marks the webhook deleted");
    for d in [&a, &z] {
        assert_eq!(d.get_webhook(&gone).await.0, 404);
        assert_eq!(d.history(&kept, 3).await.len(), 3);
    }
    a.stop().await;
    z.stop().await;
}

/// A partition takeover reads back at most `dedup_index_entries` records, the newest, whatever
/// the partition holds; misses are then looked up (the index says it is incomplete).
#[test]
fn a_takeover_reads_at_most_the_bound() {
    let k = EmbeddedKafka::start(&[("t.starts".into(), 2)]).unwrap();
    let b = k.bootstrap_servers().to_string();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &b)
        .create()
        .unwrap();
    let now = 1_800_000_000_000i64;
    let rec = serde_json::to_vec(&StartRecord {
        workflow_id: String::new(),
        generation: 0,
        at_ms: now - 1000,
        webhook: "w".into(),
        workflow_ids: vec!["wf-1".into()],
    })
    .unwrap();
    let total = 2500;
    for (p, n) in [(0, total), (1, 10)] {
        for i in 0..n {
            let key = format!("done/w/d-{i}");
            loop {
                match producer.send(
                    BaseRecord::<String, Vec<u8>>::to("t.starts")
                        .partition(p)
                        .key(&key)
                        .payload(&rec),
                ) {
                    Ok(()) => break,
                    Err(_) => {
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let consumer = |_: ()| -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", "loader-test")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap()
    };
    let window = 3_600_000;
    let (mut ix, loaded) =
        dedup::load_partition(&consumer(()), "t.starts", 0, 1000, window, now).unwrap();
    assert_eq!(
        loaded.read, 1000,
        "read exactly the bound, not the {total} records"
    );
    assert!(loaded.truncated && !ix.complete());
    assert!(ix.get(&format!("done/w/d-{}", total - 1), now).is_some());
    assert!(ix.get(&format!("done/w/d-{}", total - 1000), now).is_some());
    assert!(ix.get(&format!("done/w/d-{}", total - 1001), now).is_none());
    let (mut ix, loaded) =
        dedup::load_partition(&consumer(()), "t.starts", 1, 1000, window, now).unwrap();
    assert_eq!(loaded.read, 10);
    assert!(
        !loaded.truncated && ix.complete(),
        "a small partition is read whole"
    );
    assert!(ix.get("done/w/d-0", now).is_some());
    // records older than the window are not kept
    let (mut ix, _) = dedup::load_partition(&consumer(()), "t.starts", 1, 1000, 500, now).unwrap();
    assert!(ix.get("done/w/d-0", now).is_none());
}
