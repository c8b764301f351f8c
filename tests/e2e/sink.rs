//! The sink stage end to end: signed webhook → Kafka → Conductor double.

use std::time::Duration;

use hookd_e2e::conductor::ConductorDouble;
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;
use serde_json::Value;

const SECRET: &str = "sink-secret-1";
const WAIT: Duration = Duration::from_secs(30);

/// The sink's own de-duplication is under test here, so ingress replay protection is off: every
/// copy of a duplicate reaches the sink, as copies sent to different instances would.
fn conductor_section(d: &ConductorDouble, extra: &str) -> String {
    format!(
        "#server\nreplay_window_secs = 0\n#rest\n[conductor]\nurl = \"{}\"\ntimeout_ms = 1000\nmax_attempts = 2\n{extra}\n[sink]\nwait_poll_timeout_ms = 100\nwait_callback_after_secs = 5\n",
        d.url()
    )
}

/// A Kafka cluster with every hookd topic, which outlives the daemons started on it (its
/// bootstrap address is returned), and an OSS Conductor double.
async fn shared_cluster() -> (
    hookd::kafka::embedded::EmbeddedKafka,
    String,
    ConductorDouble,
) {
    let cluster = mock_cluster(3);
    let bootstrap = cluster.bootstrap_servers().to_string();
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    (cluster, bootstrap, c)
}

async fn post(d: &TestDaemon, id: &str, body: &[u8], query: &str) -> u16 {
    http1_client()
        .post(format!("{}/webhook/{id}{query}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), body),
        )
        .header("Content-Type", "application/json")
        .body(body.to_vec())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhook_starts_workflows_with_input_and_idempotency_key() {
    let c = ConductorDouble::start().await;
    let d = TestDaemon::start(&conductor_section(&c, "")).await;
    let id = hook(&d, json!({"workflowsToStart": {"order_flow": 3, "audit": 1,
        "idempotencyKey": "order-${workflow.input.order.id}", "idempotencyStrategy": "RETURN_EXISTING"}}))
    .await;
    let body = br#"{"order":{"id":42,"total":9.5},"action":"created"}"#;
    assert_eq!(
        post(&d, &id, body, "?source=shop&action=overridden").await,
        200
    );
    c.wait_for("two starts", WAIT, |c| c.started().len() == 2)
        .await;
    let wf = &c.started_named("order_flow")[0];
    let r = &wf.request;
    assert_eq!(r["version"], 3);
    assert_eq!(r["priority"], 0);
    assert_eq!(r["createdBy"], "admin");
    assert_eq!(r["idempotencyKey"], "order-42");
    assert_eq!(r["idempotencyStrategy"], "RETURN_EXISTING");
    assert_eq!(
        r["input"],
        json!({"order": {"id": 42, "total": 9.5}, "action": "overridden", "source": "shop"}),
        "input = body with query parameters merged on top"
    );
    assert_eq!(c.started_named("audit").len(), 1);
    let h = d.history(&id, 1).await;
    assert_eq!(h[0]["matched"], false);
    let ids: Vec<&str> = h[0]["workflowIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(ids.contains(&wf.id.as_str()));
    let payload: Value = serde_json::from_str(h[0]["payload"].as_str().expect("a JSON string"))
        .expect("payload is JSON text");
    assert_eq!(payload["order"]["id"], 42);
    let text = h[0].to_string();
    assert!(
        !text.contains(SECRET) && !text.contains("sha256="),
        "history holds no secrets or signatures"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_match_fan_out_resolve_and_compare_in_string_form() {
    let c = ConductorDouble::start().await;
    let d = TestDaemon::start(&conductor_section(&c, "")).await;
    let id = hook(&d, json!({"receiverWorkflowNamesToVersions": {"chat": 1}})).await;
    let m = json!({"$['event']['type']": "message", "$.event.user": "${workflow.input.user}"});
    // two waits on the same key (fan-out), one in a loop iteration (__2), one resolved from input
    let (w1, t1) = c.schedule_wait(
        "chat",
        1,
        "wait_ref",
        "WAIT_FOR_WEBHOOK",
        json!({"user": "U1"}),
        m.clone(),
    );
    let (w2, t2) = c.schedule_wait(
        "chat",
        1,
        "wait_ref__2",
        "WAIT_FOR_WEBHOOK",
        json!({"user": "U1"}),
        m.clone(),
    );
    let (_, t_other_user) = c.schedule_wait(
        "chat",
        1,
        "wait_ref",
        "WAIT_FOR_WEBHOOK",
        json!({"user": "U2"}),
        m.clone(),
    );
    let (_, t_v2) = c.schedule_wait(
        "chat",
        2,
        "wait_ref",
        "WAIT_FOR_WEBHOOK",
        json!({"user": "U1"}),
        m.clone(),
    );
    let (w_num, t_num) = c.schedule_wait(
        "chat",
        1,
        "amount_ref",
        "WAIT_FOR_WEBHOOK",
        json!({}),
        json!({"$.amount": 5, "$.paid": true}),
    );
    let (_, t_other_type) = c.schedule_wait(
        "chat",
        1,
        "wait_ref",
        "OTHER_TASK",
        json!({"user": "U1"}),
        m.clone(),
    );
    // hookd indexes and keeps alive every wait of its task type
    c.wait_for("waits polled", WAIT, |c| {
        [&t1, &t2, &t_other_user, &t_v2, &t_num]
            .iter()
            .all(|t| c.task(t).unwrap().poll_count >= 1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // a non-matching event completes nothing
    assert_eq!(
        post(&d, &id, br#"{"event":{"type":"message","user":"U9"}}"#, "").await,
        200
    );
    // the matching one completes both U1 waits of version 1, not U2's, not version 2's
    let ev = br#"{"event":{"type":"message","user":"U1","text":"hi"}}"#;
    assert_eq!(post(&d, &id, ev, "").await, 200);
    c.wait_for("fan-out", WAIT, |c| {
        c.task(&t1).unwrap().status == "COMPLETED" && c.task(&t2).unwrap().status == "COMPLETED"
    })
    .await;
    let out = c.task(&t1).unwrap().output;
    assert_eq!(
        out,
        json!({"event": {"type": "message", "user": "U1", "text": "hi"}}),
        "payload keys as output"
    );
    // values compare in Orkes' string form: 5.0 ("5.0") is not 5 ("5") ...
    assert_eq!(
        post(&d, &id, br#"{"amount":5.0,"paid":true}"#, "").await,
        200
    );
    d.history(&id, 3).await;
    assert_eq!(
        c.task(&t_num).unwrap().status,
        "IN_PROGRESS",
        "5.0 is not 5"
    );
    // ... while the query string "5" and the string "true" are 5 and true
    assert_eq!(post(&d, &id, br#"{"paid":"true"}"#, "?amount=5").await, 200);
    c.wait_for("string-form match", WAIT, |c| {
        c.task(&t_num).unwrap().status == "COMPLETED"
    })
    .await;
    let h = d.history(&id, 4).await;
    assert_eq!(h[0]["matched"], true);
    assert_eq!(h[0]["workflowIds"], json!([w_num]));
    assert_eq!(h[1]["matched"], false);
    let h = &h[1..];
    let mut both: Vec<String> = h[1]["workflowIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    both.sort();
    let mut want = vec![w1, w2];
    want.sort();
    assert_eq!(both, want);
    assert_eq!(h[2]["matched"], false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for t in [&t_other_user, &t_v2] {
        assert_eq!(
            c.task(t).unwrap().status,
            "IN_PROGRESS",
            "non-matching waits stay waiting"
        );
    }
    assert_eq!(
        c.task(&t_other_type).unwrap().poll_count,
        0,
        "other task types are not hookd's"
    );
    // the same event again completes nothing more
    assert_eq!(post(&d, &id, ev, "").await, 200);
    d.history(&id, 5).await;
    assert_eq!(
        c.task(&t1).unwrap().late_updates,
        0,
        "each task completed once"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_strategies_enforced_against_an_oss_server() {
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    let d = TestDaemon::start(&conductor_section(&c, "")).await;
    let fail = hook(
        &d,
        json!({"workflowsToStart": {"wf_fail": 1, "idempotencyKey": "${workflow.input.id}"}}),
    )
    .await;
    let ret = hook(&d, json!({"workflowsToStart": {"wf_ret": 1, "idempotencyKey": "${workflow.input.id}", "idempotencyStrategy": "RETURN_EXISTING"}})).await;
    let run = hook(&d, json!({"workflowsToStart": {"wf_run": 1, "idempotencyKey": "${workflow.input.id}", "idempotencyStrategy": "FAIL_ON_RUNNING"}})).await;
    let none = hook(
        &d,
        json!({"workflowsToStart": {"wf_none": 1, "idempotencyStrategy": "FAIL"}}),
    )
    .await;

    for n in 0..2 {
        for h in [&fail, &ret, &none] {
            assert_eq!(
                post(&d, h, format!(r#"{{"id":"k1","n":{n}}}"#).as_bytes(), "").await,
                200
            );
        }
    }
    assert_eq!(post(&d, &run, br#"{"id":"k1","n":0}"#, "").await, 200);
    d.history(&fail, 2).await;
    let hr = d.history(&ret, 2).await;
    d.history(&none, 2).await;
    d.history(&run, 1).await;
    assert_eq!(
        c.started_named("wf_fail").len(),
        1,
        "FAIL: one execution per key"
    );
    assert_eq!(
        c.started_named("wf_ret").len(),
        1,
        "RETURN_EXISTING: one execution"
    );
    assert_eq!(
        hr[0]["workflowIds"], hr[1]["workflowIds"],
        "RETURN_EXISTING returns the existing id"
    );
    assert_eq!(
        c.started_named("wf_none").len(),
        2,
        "no key: every event starts"
    );
    // FAIL_ON_RUNNING: refused while running, started again once finished
    assert_eq!(post(&d, &run, br#"{"id":"k1","n":1}"#, "").await, 200);
    d.history(&run, 2).await;
    assert_eq!(c.started_named("wf_run").len(), 1);
    let first = c.started_named("wf_run")[0].id.clone();
    c.set_status(&first, "COMPLETED");
    assert_eq!(post(&d, &run, br#"{"id":"k1","n":2}"#, "").await, 200);
    c.wait_for("restart after completion", WAIT, |c| {
        c.started_named("wf_run").len() == 2
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_duplicates_and_lost_responses_start_once() {
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    let d = TestDaemon::start(&conductor_section(&c, "")).await;
    let id = hook(&d, json!({"workflowsToStart": {"wf": 1}})).await;
    let body = br#"{"ping":1}"#;
    let send = |delivery: &'static str| {
        let (url, body) = (format!("{}/webhook/{id}", d.http_url()), body.to_vec());
        async move {
            http1_client()
                .post(url)
                .header(
                    "X-Hub-Signature-256",
                    sign::github_sha256(SECRET.as_bytes(), &body),
                )
                .header("X-GitHub-Delivery", delivery)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // the provider sends the same delivery twice: the copy has no effect, not even history
    assert_eq!(send("dup-1").await, 200);
    assert_eq!(send("dup-1").await, 200);
    wait_sink_caught_up(&d.bootstrap(), "events", WAIT).await;
    assert_eq!(d.history(&id, 1).await.len(), 1);
    assert_eq!(c.started().len(), 1, "one start per provider delivery");
    // Conductor starts the workflow but the response is lost: the retry finds it by correlation id
    c.lose_start_responses(1);
    assert_eq!(send("dup-2").await, 200);
    d.history(&id, 2).await;
    assert_eq!(
        c.started().len(),
        2,
        "a lost response does not start a second workflow"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_killed_between_effect_and_commit_does_not_duplicate() {
    let (_cluster, b, c) = shared_cluster().await;
    let a = TestDaemon::start_with(&b, &conductor_section(&c, ""), None).await;
    assert!(a.daemon.wait_ready(WAIT).await);
    let id = hook(&a, json!({"workflowsToStart": {"wf": 1}})).await;
    // the start takes effect in Conductor, then the answer never comes back in time…
    c.hang_starts(Some(Duration::from_secs(5)));
    assert_eq!(post(&a, &id, br#"{"crash":1}"#, "").await, 200);
    c.wait_for("the effect", WAIT, |c| c.started().len() == 1)
        .await;
    // …and the sink dies before it recorded the start or committed the offset
    a.stop().await;
    c.hang_starts(None);
    let z = TestDaemon::start_with(&b, &conductor_section(&c, ""), None).await;
    assert!(z.daemon.wait_ready(WAIT).await);
    let h = z.history(&id, 1).await;
    assert_eq!(
        c.started().len(),
        1,
        "the redelivered event did not start a second workflow"
    );
    assert_eq!(h[0]["workflowIds"][0], c.started()[0].id.as_str());
    z.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conductor_outage_loses_nothing_and_400_goes_to_the_dlq() {
    let c = ConductorDouble::start().await;
    let d = TestDaemon::start(&conductor_section(&c, "")).await;
    let good = hook(&d, json!({"workflowsToStart": {"wf": 1}})).await;
    let bad = hook(&d, json!({"workflowsToStart": {"missing_wf": 1}})).await;
    c.set_unavailable(true);
    for i in 0..6 {
        assert_eq!(
            post(&d, &good, format!(r#"{{"i":{i}}}"#).as_bytes(), "").await,
            200,
            "ingest does not depend on Conductor"
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(c.started().is_empty());
    c.set_unavailable(false);
    c.wait_for("catch-up", WAIT, |c| c.started().len() == 6)
        .await;
    // a permanent error: to the dead-letter topic, and processing goes on
    assert_eq!(post(&d, &bad, br#"{"doomed":true}"#, "").await, 200);
    assert_eq!(post(&d, &good, br#"{"after":true}"#, "").await, 200);
    c.wait_for("processing continues", WAIT, |c| c.started().len() == 7)
        .await;
    let dlq = consume_all(&d.bootstrap(), "events.dlq", 1, Duration::from_secs(10));
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].value, br#"{"doomed":true}"#);
    assert!(dlq[0].header("hookd-dlq-reason").unwrap().contains("400"));
    assert_eq!(dlq[0].header("hookd-dlq-status"), Some("400"));
    assert_eq!(dlq[0].header("hookd-webhook-id"), Some(bad.as_str()));
    let h = d.history(&bad, 1).await;
    assert!(h[0]["deadLetter"].as_str().unwrap().contains("400"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        c.started().len(),
        7,
        "nothing started twice after the outage"
    );
    let m = d.metrics_text().await;
    assert!(
        metric(&m, "hookd_sink_dlq_records_total", &[]) >= 1.0,
        "{m}"
    );
    assert!(m.contains("hookd_conductor_request_duration_seconds"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orkes_auth_mints_and_remints_tokens() {
    let c = ConductorDouble::start().await;
    c.require_auth("key-id-1", "key-secret-1");
    let d = TestDaemon::start(&conductor_section(
        &c,
        "key_id = \"key-id-1\"\nkey_secret = \"key-secret-1\"",
    ))
    .await;
    let id = hook(&d, json!({"workflowsToStart": {"wf": 1}})).await;
    assert_eq!(post(&d, &id, br#"{"a":1}"#, "").await, 200);
    c.wait_for("start with a token", WAIT, |c| c.started().len() == 1)
        .await;
    c.expire_tokens();
    assert_eq!(post(&d, &id, br#"{"a":2}"#, "").await, 200);
    c.wait_for("start after re-mint", WAIT, |c| c.started().len() == 2)
        .await;
    assert!(c.tokens_minted() >= 2);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_without_conductor_records_history() {
    let d = TestDaemon::start("").await;
    let id = hook(&d, json!({"workflowsToStart": {"wf": 1}})).await;
    assert_eq!(post(&d, &id, br#"{"dry":1}"#, "").await, 200);
    let h = d.history(&id, 1).await;
    assert_eq!(h[0]["dryRun"], true);
    assert!(h[0]["workflowIds"][0]
        .as_str()
        .unwrap()
        .starts_with("dry-run-"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_that_are_cancelled_leave_the_index() {
    let c = ConductorDouble::start().await;
    let d = TestDaemon::start(&conductor_section(&c, "").replace(
        "wait_callback_after_secs = 5",
        "wait_callback_after_secs = 1",
    ))
    .await;
    let id = hook(&d, json!({"receiverWorkflowNamesToVersions": {"chat": 1}})).await;
    let m = json!({"$.user": "U1"});
    let (w_cancel, t_cancel) =
        c.schedule_wait("chat", 1, "w", "WAIT_FOR_WEBHOOK", json!({}), m.clone());
    let (_, t_live) = c.schedule_wait("chat", 1, "w2", "WAIT_FOR_WEBHOOK", json!({}), m.clone());
    // kept alive: re-polled after each callbackAfterSeconds
    c.wait_for("keep-alive re-polls", WAIT, |c| {
        c.task(&t_live).unwrap().poll_count >= 3
    })
    .await;
    c.set_status(&w_cancel, "TERMINATED");
    // not re-polled any more: gone from the index after its TTL (2×callback + 2×poll timeout + 1 s)
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(post(&d, &id, br#"{"user":"U1"}"#, "").await, 200);
    c.wait_for("live wait completed", WAIT, |c| {
        c.task(&t_live).unwrap().status == "COMPLETED"
    })
    .await;
    let h = d.history(&id, 1).await;
    assert_eq!(
        h[0]["workflowIds"].as_array().unwrap().len(),
        1,
        "the cancelled wait was not matched"
    );
    assert_eq!(c.task(&t_cancel).unwrap().status, "IN_PROGRESS");
    assert_eq!(c.task(&t_cancel).unwrap().late_updates, 0);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sink_instances_share_work_waits_and_idempotency() {
    let (_cluster, b, c) = shared_cluster().await;
    let a = TestDaemon::start_with(&b, &conductor_section(&c, ""), None).await;
    let z = TestDaemon::start_with(&b, &conductor_section(&c, ""), None).await;
    assert!(a.daemon.wait_ready(WAIT).await && z.daemon.wait_ready(WAIT).await);
    let id = hook(
        &a,
        json!({"receiverWorkflowNamesToVersions": {"chat": 1},
        "workflowsToStart": {"wf": 1, "idempotencyKey": "${workflow.input.k}"}}),
    )
    .await;
    let mut waits = Vec::new();
    for i in 0..6 {
        waits.push(
            c.schedule_wait(
                "chat",
                1,
                "w",
                "WAIT_FOR_WEBHOOK",
                json!({}),
                json!({"$.k": format!("k{i}")}),
            )
            .1,
        );
    }
    c.wait_for("waits indexed", WAIT, |c| {
        waits.iter().all(|t| c.task(t).unwrap().poll_count >= 1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // 6 keys, each sent 3 times, through both instances' listeners
    let mut n = 0;
    for round in 0..3 {
        for i in 0..6 {
            let d = if (i + round) % 2 == 0 { &a } else { &z };
            let body = format!(r#"{{"k":"k{i}","round":{round}}}"#);
            for _ in 0..50 {
                if d.get_webhook(&id).await.0 == 200 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(post(d, &id, body.as_bytes(), "").await, 200);
            n += 1;
        }
    }
    a.history(&id, 10).await;
    c.wait_for("every wait completed", WAIT, |c| {
        waits
            .iter()
            .all(|t| c.task(t).unwrap().status == "COMPLETED")
    })
    .await;
    c.wait_for("one start per key", WAIT, |c| c.started().len() >= 6)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(n, 18);
    assert_eq!(
        c.started().len(),
        6,
        "one workflow per idempotency key across instances"
    );
    for t in &waits {
        assert_eq!(
            c.task(t).unwrap().late_updates,
            0,
            "each wait completed once"
        );
    }
    a.stop().await;
    z.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_webhook_starts_with_an_empty_history_on_every_instance() {
    let (_cluster, b, _c) = shared_cluster().await;
    // Dry-run sinks (no [conductor]): history is recorded and shared through the topic.
    let a = TestDaemon::start_with(&b, "", None).await;
    let z = TestDaemon::start_with(&b, "", None).await;
    assert!(a.daemon.wait_ready(WAIT).await && z.daemon.wait_ready(WAIT).await);
    let cfg = json!({"id": "reused", "workflowsToStart": {"wf": 1}});
    let id = hook(&a, cfg.clone()).await;
    for i in 0..3 {
        assert_eq!(
            post(&a, &id, format!(r#"{{"old":{i}}}"#).as_bytes(), "").await,
            200
        );
    }
    a.history(&id, 3).await;
    z.history(&id, 3).await;
    let r = admin_client()
        .delete(format!("{}/api/metadata/webhook/{id}", a.admin_url()))
        .header("X-Authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for _ in 0..200 {
        if z.get_webhook(&id).await.0 == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        z.get_webhook(&id).await.0,
        404,
        "the delete reached the other instance"
    );
    assert_eq!(hook(&a, cfg).await, id, "recreated under the same id");
    for d in [&a, &z] {
        for _ in 0..200 {
            if d.get_webhook(&id).await.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (s, w) = d.get_webhook(&id).await;
        assert_eq!(s, 200);
        assert_eq!(w["webhookExecutionHistory"], json!([]), "{w}");
    }
    // The new generation's events are recorded, and only they.
    assert_eq!(post(&z, &id, br#"{"new":1}"#, "").await, 200);
    for d in [&a, &z] {
        let h = d.history(&id, 1).await;
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h[0]["payload"], r#"{"new":1}"#, "payload as JSON text");
    }
    a.stop().await;
    z.stop().await;
}

/// An event whose webhook this instance's registry does not know yet (created moments ago on
/// another instance) is retried until the definition arrives, not skipped as a deleted
/// webhook's; an old event of an unknown webhook is skipped and does not hold the partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_of_a_webhook_not_known_yet_waits_for_its_definition() {
    use hookd_e2e::hookd::kafka::producer::headers as h;
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    let (_k, b, c) = shared_cluster().await;
    let d = TestDaemon::start_with(&b, &conductor_section(&c, ""), None).await;
    assert!(d.daemon.wait_ready(WAIT).await);
    let producer: BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &b)
        .create()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let produce = |webhook: &str, event: &str, received: i64, body: &str| {
        let received = received.to_string();
        let hdrs = OwnedHeaders::new()
            .insert(Header {
                key: h::EVENT_ID,
                value: Some(event),
            })
            .insert(Header {
                key: h::WEBHOOK_ID,
                value: Some(webhook),
            })
            .insert(Header {
                key: h::RECEIVED_AT,
                value: Some(&received),
            })
            .insert(Header {
                key: h::CONTENT_TYPE,
                value: Some("application/json"),
            });
        producer
            .send(
                BaseRecord::to("events")
                    .key(webhook)
                    .payload(body)
                    .headers(hdrs),
            )
            .unwrap();
        producer.flush(Duration::from_secs(10)).unwrap();
    };
    // an event received a minute ago for a webhook nobody knows: a deleted one's, skipped
    produce("long-gone", "ev-old", now - 60_000, r#"{"n":0}"#);
    // an event received just now for a webhook whose definition is still on its way
    produce("created-elsewhere", "ev-new", now, r#"{"n":1}"#);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        c.started().is_empty(),
        "nothing to start before the definition"
    );
    let id = hook(
        &d,
        json!({"id": "created-elsewhere", "workflowsToStart": {"late_flow": 1}}),
    )
    .await;
    assert_eq!(id, "created-elsewhere");
    c.wait_for("the waiting event's start", WAIT, |c| {
        c.started_named("late_flow").len() == 1
    })
    .await;
    assert_eq!(c.started_named("late_flow")[0].input["n"], 1);
    wait_sink_caught_up(&b, "events", WAIT).await;
    assert_eq!(c.started().len(), 1, "the old event was skipped");
    d.stop().await;
}
