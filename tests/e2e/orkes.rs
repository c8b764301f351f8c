//! Existing Orkes clients and workflows work unchanged: one test per point of the compatibility
//! audit — history and every admin answer read as Orkes' client models (`tests/fixtures/orkes`),
//! Conductor-shaped admin errors, Orkes' string-form matching and failed no-`matches` waits
//! (against the Conductor double), Slack before verification, `TWITTER`, refused expressions, and
//! the documented wait example (`docs/examples/wait-for-webhook`) run as written.

use std::time::Duration;

use hookd_e2e::conductor::ConductorDouble;
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::orkes::{check, Model};
use hookd_e2e::*;
use serde_json::Value;

const SECRET: &str = "orkes-compat-secret";
const WAIT: Duration = Duration::from_secs(30);

fn conductor_section(d: &ConductorDouble) -> String {
    format!(
        "#rest\n[conductor]\nurl = \"{}\"\ntimeout_ms = 1000\nmax_attempts = 2\n[sink]\nwait_poll_timeout_ms = 100\nwait_callback_after_secs = 5\n",
        d.url()
    )
}

async fn post_github(d: &TestDaemon, id: &str, body: &[u8], query: &str) -> u16 {
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

/// An admin request; (status, JSON body or Null).
async fn admin(
    d: &TestDaemon,
    method: http::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = admin_client().request(method, format!("{}{path}", d.admin_url()));
    if let Some(t) = token {
        r = r.header("X-Authorization", t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn ok_or_panic(r: Result<(), String>, what: &str) {
    if let Err(e) = r {
        panic!("{what} does not read as the Orkes model: {e}");
    }
}

// 1. History entries (and the whole admin answers around them) as Orkes' client models.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_admin_answers_read_as_orkes_client_models() {
    let d = TestDaemon::start("").await; // dry-run sink: history without a Conductor
    let id = d
        .create_webhook(json!({"name": "gh", "sourcePlatform": "Github",
            "verifier": "SIGNATURE_BASED", "headerKey": "X-Hub-Signature-256", "secretValue": SECRET,
            "workflowsToStart": {"on_push": 1, "idempotencyKey": "${workflow.input.after}",
                "idempotencyStrategy": "RETURN_EXISTING"},
            "receiverWorkflowNamesToVersions": {"deploy": 2},
            "tags": [{"key": "team", "value": "web"}]}))
        .await;
    let body = br#"{"ref":"refs/heads/main","after":"abc123","size":5.0}"#;
    assert_eq!(post_github(&d, &id, body, "?source=ci").await, 200);
    let h = d.history(&id, 1).await;
    // payload is a String holding the payload's JSON text
    let text = h[0]["payload"].as_str().expect("payload is a JSON string");
    let payload: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        payload,
        json!({"ref": "refs/heads/main", "after": "abc123", "size": 5.0, "source": "ci"})
    );
    assert!(h[0]["timeStamp"].is_i64() && h[0]["eventId"].is_string());
    assert!(h[0]["workflowIds"].as_array().unwrap()[0].is_string());

    // every answer, field by field and type by type
    let (s, one) = d.get_webhook(&id).await;
    assert_eq!(s, 200);
    ok_or_panic(
        check(Model::WebhookConfig, &one),
        "GET /api/metadata/webhook/{id}",
    );
    for e in one["webhookExecutionHistory"].as_array().unwrap() {
        ok_or_panic(check(Model::WebhookExecutionHistory, e), "a history entry");
    }
    let (s, list) = admin(
        &d,
        http::Method::GET,
        "/api/metadata/webhook",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, 200);
    for w in list.as_array().unwrap() {
        ok_or_panic(check(Model::WebhookConfig, w), "GET /api/metadata/webhook");
    }
    let (s, tags) = admin(
        &d,
        http::Method::GET,
        &format!("/api/metadata/webhook/{id}/tags"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(tags, json!([{"key": "team", "value": "web"}]));
    for t in tags.as_array().unwrap() {
        ok_or_panic(check(Model::Tag, t), "a tag");
    }
    // the fixtures themselves conform, and the check bites: the old shape (payload as an
    // object) and a wrongly typed field are refused
    for m in [
        Model::WebhookConfig,
        Model::WebhookExecutionHistory,
        Model::Tag,
        Model::ErrorResponse,
    ] {
        ok_or_panic(check(m, &m.fixture()), "the fixture");
    }
    let mut old = h[0].clone();
    old["payload"] = payload;
    assert!(check(Model::WebhookExecutionHistory, &old).is_err());
    let mut bad = one.clone();
    bad["urlVerified"] = json!("false");
    assert!(check(Model::WebhookConfig, &bad).is_err());
    bad = one.clone();
    bad["verifier"] = json!("WASM_PLUGIN");
    assert!(
        check(Model::WebhookConfig, &bad).is_err(),
        "not in the Java enum"
    );
    assert!(check(Model::Tag, &json!({"key": "a", "value": "b", "x": 1})).is_err());
    d.stop().await;
}

// 2. Admin errors in Conductor's shape; provider-facing routes keep their short bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_errors_have_conductors_shape_provider_routes_keep_short_ones() {
    let d = TestDaemon::start("").await;
    let id = d
        .create_webhook(
            json!({"id": "taken", "name": "gh", "verifier": "SIGNATURE_BASED",
            "secretValue": SECRET, "workflowsToStart": {"wf": 1}}),
        )
        .await;
    let get = http::Method::GET;
    let post = http::Method::POST;
    let cases = [
        (
            admin(&d, get.clone(), "/api/metadata/webhook", None, None).await,
            401,
            "unauthorized",
        ),
        (
            admin(
                &d,
                get.clone(),
                "/api/metadata/webhook/nope",
                Some(TOKEN),
                None,
            )
            .await,
            404,
            "not_found",
        ),
        (
            admin(
                &d,
                http::Method::DELETE,
                "/api/metadata/webhook/nope",
                Some(TOKEN),
                None,
            )
            .await,
            404,
            "not_found",
        ),
        (
            admin(
                &d,
                post.clone(),
                "/api/metadata/webhook",
                Some(TOKEN),
                Some(json!({"name": "x", "verifier": "STRIPE", "workflowsToStart": {"wf": 1}})),
            )
            .await,
            400,
            "invalid",
        ),
        (
            admin(
                &d,
                post.clone(),
                "/api/metadata/webhook",
                Some(TOKEN),
                Some(
                    json!({"id": id, "name": "gh", "verifier": "SIGNATURE_BASED",
                    "secretValue": SECRET, "workflowsToStart": {"wf": 1}}),
                ),
            )
            .await,
            409,
            "conflict",
        ),
        (
            admin(
                &d,
                get.clone(),
                "/api/metadata/nothing-here",
                Some(TOKEN),
                None,
            )
            .await,
            404,
            "not_found",
        ),
    ];
    for ((status, body), want, code) in cases {
        assert_eq!(status, want, "{body}");
        ok_or_panic(check(Model::ErrorResponse, &body), "an admin error");
        assert_eq!(body["status"], want, "{body}");
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(body["retryable"], false);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body["instance"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(body.get("error").is_none(), "no short-body field: {body}");
    }
    // the provider-facing routes answer as before: {"error", "message"}, nothing else
    let c = http1_client();
    let r = c
        .post(format!("{}/webhook/unknown", d.http_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unknown_webhook");
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    let r = c
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header("X-Hub-Signature-256", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "bad_signature");
    assert!(
        v.get("status").is_none() && v.get("instance").is_none(),
        "{v}"
    );
    d.stop().await;
}

// 3. Orkes' string-form matching; a wait without matches is failed, never completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_on_42_is_completed_by_qid_42_and_a_wait_without_matches_is_failed() {
    let c = ConductorDouble::start().await;
    let d = TestDaemon::start(&conductor_section(&c)).await;
    let id = d
        .create_webhook(
            json!({"name": "gh", "verifier": "SIGNATURE_BASED", "secretValue": SECRET,
            "receiverWorkflowNamesToVersions": {"orders": 1}}),
        )
        .await;
    let ty = "WAIT_FOR_WEBHOOK";
    // the number 42, resolved from the workflow input as Conductor does
    let (w42, t42) = c.schedule_wait(
        "orders",
        1,
        "wait_ref",
        ty,
        json!({"qid": 42}),
        json!({"$.qid": "${workflow.input.qid}"}),
    );
    let (_, t42f) = c.schedule_wait(
        "orders",
        1,
        "wait_ref",
        ty,
        json!({}),
        json!({"$.qid": 42.0}),
    );
    let (_, tbool) = c.schedule_wait(
        "orders",
        1,
        "flag_ref",
        ty,
        json!({}),
        json!({"$.flag": true, "$.qid": "42"}),
    );
    let (w_none, t_none) = c.schedule_task("orders", 1, "bare_ref", ty, json!({}), json!({}));
    let (_, t_empty) = c.schedule_task(
        "orders",
        1,
        "empty_ref",
        ty,
        json!({}),
        json!({"matches": {}}),
    );
    c.wait_for("waits polled", WAIT, |c| {
        [&t42, &t42f, &tbool]
            .iter()
            .all(|t| c.task(t).unwrap().poll_count >= 1)
    })
    .await;
    // the waits that could only ever match everything are failed with a reason, at once
    c.wait_for("no-matches waits failed", WAIT, |c| {
        [&t_none, &t_empty]
            .iter()
            .all(|t| c.task(t).unwrap().status == "FAILED_WITH_TERMINAL_ERROR")
    })
    .await;
    let none = c.task(&t_none).unwrap();
    let reason = none.reason.expect("reasonForIncompletion");
    assert!(
        reason.contains("without inputParameters.matches") && reason.contains("every event"),
        "{reason}"
    );
    let reason = c.task(&t_empty).unwrap().reason.unwrap();
    assert!(reason.contains("empty matches"), "{reason}");
    assert_eq!(c.workflow(&w_none).unwrap().status, "FAILED");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // an empty body with ?qid=42: the query string "42" is the number 42's string form
    assert_eq!(post_github(&d, &id, b"{}", "?qid=42").await, 200);
    c.wait_for("the wait on 42 completed", WAIT, |c| {
        c.task(&t42).unwrap().status == "COMPLETED"
    })
    .await;
    assert_eq!(c.task(&t42).unwrap().output, json!({"qid": "42"}));
    let h = d.history(&id, 1).await;
    assert_eq!(h[0]["matched"], true);
    assert_eq!(h[0]["workflowIds"], json!([w42]), "only the wait on 42");
    // a boolean and a string in the body: "true" and "42"
    assert_eq!(
        post_github(&d, &id, br#"{"flag":"true"}"#, "?qid=42").await,
        200
    );
    c.wait_for("the wait on true completed", WAIT, |c| {
        c.task(&tbool).unwrap().status == "COMPLETED"
    })
    .await;
    d.history(&id, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        c.task(&t42f).unwrap().status,
        "IN_PROGRESS",
        "42.0 is \"42.0\", not \"42\""
    );
    for t in [&t_none, &t_empty] {
        let t = c.task(t).unwrap();
        assert_eq!(
            t.status, "FAILED_WITH_TERMINAL_ERROR",
            "never completed by an event"
        );
        assert_eq!(t.late_updates, 0, "no completion was even attempted");
        assert_eq!(t.poll_count, 1, "failed once, not re-polled");
    }
    d.stop().await;
}

// 4. Slack: until urlVerified, only url_verification is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_answers_only_url_verification_until_verified() {
    let d = TestDaemon::start("").await;
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let id = d
        .create_webhook(
            json!({"name": "slack", "verifier": "SLACK_BASED", "secretValue": secret,
            "receiverWorkflowNamesToVersions": {"wf": 1}}),
        )
        .await;
    let c = http1_client();
    let send = |body: &'static [u8]| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        c.post(format!("{}/webhook/{id}", d.http_url()))
            .header("X-Slack-Request-Timestamp", now.to_string())
            .header(
                "X-Slack-Signature",
                sign::slack(secret.as_bytes(), now, body),
            )
            .body(body.to_vec())
            .send()
    };
    let event: &[u8] = br#"{"type":"event_callback","event_id":"Ev7","event":{"type":"message"}}"#;
    let command: &[u8] = b"token=x&command=%2Fdeploy&text=now";
    for body in [event, command] {
        let r = send(body).await.unwrap();
        assert_eq!(r.status(), 401, "signed, but the URL is not verified yet");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "challenge_required"
        );
    }
    assert_eq!(d.get_webhook(&id).await.1["urlVerified"], false);
    let challenge: &[u8] = br#"{"token":"t","challenge":"c-123","type":"url_verification"}"#;
    let r = send(challenge).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "c-123");
    assert_eq!(d.get_webhook(&id).await.1["urlVerified"], true);
    for body in [event, command] {
        assert_eq!(send(body).await.unwrap().status(), 200);
    }
    let recs = consume_all(&d.bootstrap(), "events", 2, Duration::from_secs(10));
    let mut got: Vec<Vec<u8>> = recs.into_iter().map(|r| r.value).collect();
    got.sort();
    let mut want = vec![event.to_vec(), command.to_vec()];
    want.sort();
    assert_eq!(
        got, want,
        "only what came after the challenge was published, once each"
    );
    d.stop().await;
}

// 5. TWITTER: the CRC verifies the URL; deliveries are checked by X-Twitter-Webhooks-Signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twitter_crc_verifies_the_url_and_signed_deliveries_flow() {
    let d = TestDaemon::start("").await;
    let v = vectors();
    let (crc_v, post_v) = (&v["twitter"][0], &v["twitter"][1]);
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    let id = d
        .create_webhook(
            json!({"name": "x", "sourcePlatform": "Custom", "verifier": "TWITTER",
            "secretValue": s(crc_v, "consumer_secret"), "workflowsToStart": {"wf": 1}}),
        )
        .await;
    let c = http1_client();
    let url = format!("{}/webhook/{id}", d.http_url());
    assert_eq!(d.get_webhook(&id).await.1["urlVerified"], false);
    for bad in [
        "",
        "?other=1",
        "?crc_token=",
        "?crc_token=%7B%22a%22%3A1%7D",
    ] {
        let r = c.get(format!("{url}{bad}")).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "malformed");
    }
    assert_eq!(d.get_webhook(&id).await.1["urlVerified"], false);
    let r = c
        .get(format!("{url}?crc_token={}", s(crc_v, "crc_token")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"response_token": s(crc_v, "response_token")})
    );
    assert_eq!(
        d.get_webhook(&id).await.1["urlVerified"],
        true,
        "the CRC verifies the URL"
    );

    // deliveries, on a webhook with the vector's consumer secret
    let id2 = d
        .create_webhook(json!({"name": "x2", "verifier": "TWITTER",
            "secretValue": s(post_v, "consumer_secret"), "workflowsToStart": {"wf": 1}}))
        .await;
    let body = b64(&s(post_v, "body_b64"));
    let url2 = format!("{}/webhook/{id2}", d.http_url());
    let r = c
        .post(&url2)
        .header(
            "X-Twitter-Webhooks-Signature",
            s(post_v, "X-Twitter-Webhooks-Signature"),
        )
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c.post(&url2).body(body.clone()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "missing_signature"
    );
    // built-in verifiers without a GET handshake still refuse GET
    let gh = d
        .create_webhook(
            json!({"name": "gh", "verifier": "SIGNATURE_BASED", "secretValue": SECRET,
            "workflowsToStart": {"wf": 1}}),
        )
        .await;
    let r = c
        .get(format!("{}/webhook/{gh}?crc_token=abc", d.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let recs = consume_all(&d.bootstrap(), "events", 1, Duration::from_secs(10));
    assert_eq!(recs.len(), 1, "the CRC is answered, never published");
    assert_eq!(recs[0].value, body);
    d.stop().await;
}

// 6. expression / evaluatorType are refused at create and update, naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expression_and_evaluator_type_are_refused_naming_the_field() {
    let d = TestDaemon::start("").await;
    let base = "/api/metadata/webhook";
    let post = http::Method::POST;
    let with = |extra: Value| {
        let mut b = json!({"name": "e", "verifier": "SIGNATURE_BASED", "secretValue": SECRET});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases = [
        (
            with(
                json!({"expression": "(function(){return {workflowsToStart:{wf:1}};})()",
            "evaluatorType": "javascript"}),
            ),
            "expression",
        ),
        (
            with(json!({"expression": "x", "workflowsToStart": {"wf": 1}})),
            "expression",
        ),
        (
            with(json!({"evaluatorType": "graaljs", "workflowsToStart": {"wf": 1}})),
            "evaluatorType",
        ),
    ];
    for (body, field) in &cases {
        let (s, v) = admin(&d, post.clone(), base, Some(TOKEN), Some(body.clone())).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["code"], "invalid");
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!("{field} is not supported")),
            "{msg}"
        );
    }
    let (_, list) = admin(&d, http::Method::GET, base, Some(TOKEN), None).await;
    assert_eq!(list, json!([]), "nothing stored");
    // update too; and nulls (what Orkes clients send for unset fields) are fine
    let id = d
        .create_webhook(with(json!({"workflowsToStart": {"wf": 1},
            "expression": null, "evaluatorType": null})))
        .await;
    let (s, v) = admin(
        &d,
        http::Method::PUT,
        &format!("{base}/{id}"),
        Some(TOKEN),
        Some(with(
            json!({"workflowsToStart": {"wf": 1}, "expression": "x"}),
        )),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        v["message"].as_str().unwrap().starts_with("expression"),
        "{v}"
    );
    let (_, w) = d.get_webhook(&id).await;
    assert!(w.get("expression").is_none(), "{w}");
    d.stop().await;
}

// 7. The documented Conductor OSS example — workflow, task definition, webhook — as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_wait_example_runs_as_written() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/wait-for-webhook");
    let read = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap()
    };
    let (wf, taskdefs, mut hook) = (
        read("workflow.json"),
        read("taskdef.json"),
        read("webhook.json"),
    );
    let sink = hookd::config::SinkConfig::default();
    let td = &taskdefs[0];
    let wait = &wf["tasks"][0];
    assert_eq!(wait["type"], "SIMPLE", "on OSS the wait is a worker task");
    assert_eq!(wait["name"], sink.wait_task_type.as_str());
    assert_eq!(td["name"], sink.wait_task_type.as_str());
    let response_timeout = td["responseTimeoutSeconds"].as_u64().unwrap();
    assert!(
        response_timeout > 2 * sink.wait_callback_after_secs,
        "keep-alive fits"
    );
    assert!(response_timeout < td["timeoutSeconds"].as_u64().unwrap());
    assert_eq!(
        hook["receiverWorkflowNamesToVersions"][wf["name"].as_str().unwrap()],
        wf["version"]
    );

    let c = ConductorDouble::start().await;
    let d = TestDaemon::start(&conductor_section(&c)).await;
    let secret = "whsec_example_endpoint_secret";
    hook["secretValue"] = json!(secret);
    let id = d.create_webhook(hook).await;
    let name = wf["name"].as_str().unwrap();
    let version = wf["version"].as_i64().unwrap();
    let reference = wait["taskReferenceName"].as_str().unwrap();
    let matches = wait["inputParameters"]["matches"].clone();
    let (wid, tid) = c.schedule_wait(
        name,
        version,
        reference,
        &sink.wait_task_type,
        json!({"orderId": "o-1", "paymentIntentId": "pi_123"}),
        matches.clone(),
    );
    let (_, other) = c.schedule_wait(
        name,
        version,
        reference,
        &sink.wait_task_type,
        json!({"orderId": "o-2", "paymentIntentId": "pi_456"}),
        matches,
    );
    c.wait_for("waits polled", WAIT, |c| {
        c.task(&tid).unwrap().poll_count >= 1 && c.task(&other).unwrap().poll_count >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stripe = |body: &[u8]| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        http1_client()
            .post(format!("{}/webhook/{id}", d.http_url()))
            .header("Stripe-Signature", sign::stripe(secret.as_bytes(), t, body))
            .body(body.to_vec())
            .send()
    };
    let failed = br#"{"id":"evt_1","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_123"}}}"#;
    let paid = br#"{"id":"evt_2","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","amount_received":4200}}}"#;
    assert_eq!(stripe(failed).await.unwrap().status(), 200);
    assert_eq!(stripe(paid).await.unwrap().status(), 200);
    c.wait_for("the payment wait completed", WAIT, |c| {
        c.task(&tid).unwrap().status == "COMPLETED"
    })
    .await;
    let out = c.task(&tid).unwrap().output;
    assert_eq!(out["data"]["object"]["amount_received"], 4200);
    assert_eq!(out["id"], "evt_2");
    let h = d.history(&id, 2).await;
    assert_eq!(h[0]["workflowIds"], json!([wid]));
    assert_eq!(h[1]["matched"], false, "the failed payment matched nothing");
    assert_eq!(
        c.task(&other).unwrap().status,
        "IN_PROGRESS",
        "another order's wait"
    );
    d.stop().await;
}
