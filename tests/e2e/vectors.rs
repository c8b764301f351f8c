//! Every shared provider vector through the real HTTP path, accept and reject, with the daemon's
//! clock set to the vector's time. Accepted bodies are in Kafka byte for byte; rejected are not.

use std::time::Duration;

use hookd_e2e::*;
use serde_json::Value;

struct Case {
    webhook: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    now: i64,
    expect: u16,
    what: String,
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

fn plus_one(b: &[u8]) -> Vec<u8> {
    let mut b = b.to_vec();
    b.push(b' ');
    b
}

async fn hook(d: &TestDaemon, cfg: Value) -> String {
    let mut cfg = cfg;
    cfg["workflowsToStart"] = json!({"wf": 1});
    d.create_webhook(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_shared_vectors_over_http() {
    // Vectors resend identical signed requests on purpose (each must be accepted and land);
    // replay protection has its own tests.
    let d = TestDaemon::start("#server\nreplay_window_secs = 0").await;
    let v = vectors();
    let mut cases = Vec::new();
    let now_sys = 1_800_000_000;

    for g in v["github"].as_array().unwrap() {
        let body = b64(&s(g, "body_b64"));
        let secret = s(g, "secret");
        let w256 = hook(
            &d,
            json!({"name": "gh", "verifier": "SIGNATURE_BASED",
            "headerKey": "X-Hub-Signature-256", "secretValue": secret}),
        )
        .await;
        let w1 = hook(
            &d,
            json!({"name": "gh1", "verifier": "SIGNATURE_BASED",
            "headerKey": "X-Hub-Signature", "secretValue": secret}),
        )
        .await;
        let wrong = hook(
            &d,
            json!({"name": "ghw", "verifier": "SIGNATURE_BASED",
            "secretValue": "not-the-secret"}),
        )
        .await;
        let h256 = vec![("X-Hub-Signature-256".into(), s(g, "X-Hub-Signature-256"))];
        let h1 = vec![("X-Hub-Signature".into(), s(g, "X-Hub-Signature"))];
        let name = s(g, "name");
        cases.push(Case {
            webhook: w256.clone(),
            headers: h256.clone(),
            body: body.clone(),
            now: now_sys,
            expect: 200,
            what: format!("{name} sha256"),
        });
        cases.push(Case {
            webhook: w1.clone(),
            headers: h1.clone(),
            body: body.clone(),
            now: now_sys,
            expect: 200,
            what: format!("{name} sha1 legacy"),
        });
        cases.push(Case {
            webhook: w256.clone(),
            headers: h256.clone(),
            body: plus_one(&body),
            now: now_sys,
            expect: 401,
            what: format!("{name} body+1"),
        });
        cases.push(Case {
            webhook: wrong,
            headers: h256.clone(),
            body: body.clone(),
            now: now_sys,
            expect: 401,
            what: format!("{name} wrong secret"),
        });
        cases.push(Case {
            webhook: w256,
            headers: h1,
            body: body.clone(),
            now: now_sys,
            expect: 401,
            what: format!("{name} sha1 header on a sha256 webhook"),
        });
    }

    let st = v["stripe"].as_array().unwrap();
    let st1_body = b64(&s(&st[0], "body_b64"));
    let st2_body = b64(&s(&st[1], "body_b64"));
    let stripe = hook(
        &d,
        json!({"name": "st", "verifier": "STRIPE", "secretValue": s(&st[0], "secret")}),
    )
    .await;
    let stripe_old = hook(
        &d,
        json!({"name": "st-old", "verifier": "STRIPE", "secretValue": s(&st[1], "secret_old")}),
    )
    .await;
    let stripe_wrong = hook(
        &d,
        json!({"name": "st-w", "verifier": "STRIPE", "secretValue": "whsec_wrong"}),
    )
    .await;
    let h = |v: &Value| vec![("Stripe-Signature".to_string(), s(v, "Stripe-Signature"))];
    let t1 = 1_700_000_000;
    let t2 = 1_700_000_300;
    cases.push(Case {
        webhook: stripe.clone(),
        headers: h(&st[0]),
        body: st1_body.clone(),
        now: t1 + 10,
        expect: 200,
        what: "ST-1".into(),
    });
    cases.push(Case {
        webhook: stripe.clone(),
        headers: h(&st[0]),
        body: st1_body.clone(),
        now: t1 + 300,
        expect: 200,
        what: "ST-4 t+300".into(),
    });
    cases.push(Case {
        webhook: stripe.clone(),
        headers: h(&st[0]),
        body: st1_body.clone(),
        now: t1 + 301,
        expect: 401,
        what: "ST-4 t+301".into(),
    });
    cases.push(Case {
        webhook: stripe.clone(),
        headers: h(&st[0]),
        body: plus_one(&st1_body),
        now: t1,
        expect: 401,
        what: "ST-1 body+1".into(),
    });
    cases.push(Case {
        webhook: stripe_wrong,
        headers: h(&st[0]),
        body: st1_body.clone(),
        now: t1,
        expect: 401,
        what: "ST-1 wrong secret".into(),
    });
    cases.push(Case {
        webhook: stripe.clone(),
        headers: h(&st[1]),
        body: st2_body.clone(),
        now: t2,
        expect: 200,
        what: "ST-2 new secret".into(),
    });
    cases.push(Case {
        webhook: stripe_old,
        headers: h(&st[1]),
        body: st2_body.clone(),
        now: t2,
        expect: 200,
        what: "ST-2 old secret".into(),
    });
    cases.push(Case {
        webhook: stripe.clone(),
        headers: h(&st[2]),
        body: st2_body.clone(),
        now: t2,
        expect: 401,
        what: "ST-3 v0 only".into(),
    });
    cases.push(Case {
        webhook: stripe.clone(),
        headers: vec![("Stripe-Signature".into(), "v1=abc".into())],
        body: st2_body.clone(),
        now: t2,
        expect: 400,
        what: "Stripe header without t=".into(),
    });

    let sl_challenge = b64(&s(&v["slack"][1], "body_b64"));
    for sl in v["slack"].as_array().unwrap() {
        let body = b64(&s(sl, "body_b64"));
        let ts: i64 = s(sl, "X-Slack-Request-Timestamp").parse().unwrap();
        let secret = s(sl, "signing_secret");
        let w = hook(
            &d,
            json!({"name": "sl", "verifier": "SLACK_BASED", "secretValue": secret}),
        )
        .await;
        // until its URL is verified a Slack webhook answers only the challenge: verify it first
        // (SL-2's url_verification body, signed with this vector's secret)
        cases.push(Case {
            webhook: w.clone(),
            headers: vec![
                ("X-Slack-Request-Timestamp".to_string(), ts.to_string()),
                (
                    "X-Slack-Signature".to_string(),
                    hookd::verify::sign::slack(secret.as_bytes(), ts, &sl_challenge),
                ),
            ],
            body: sl_challenge.clone(),
            now: ts,
            expect: 200,
            what: format!("{} url_verification first", s(sl, "name")),
        });
        let wrong = hook(&d, json!({"name": "slw", "verifier": "SLACK_BASED", "secretValue": "0000000000000000000000000000000"})).await;
        let headers = vec![
            ("X-Slack-Request-Timestamp".to_string(), ts.to_string()),
            ("X-Slack-Signature".to_string(), s(sl, "X-Slack-Signature")),
        ];
        let name = s(sl, "name");
        let expect_ok = 200;
        cases.push(Case {
            webhook: w.clone(),
            headers: headers.clone(),
            body: body.clone(),
            now: ts + 60,
            expect: expect_ok,
            what: format!("{name} +60"),
        });
        cases.push(Case {
            webhook: w.clone(),
            headers: headers.clone(),
            body: body.clone(),
            now: ts - 300,
            expect: expect_ok,
            what: format!("{name} -300"),
        });
        cases.push(Case {
            webhook: w.clone(),
            headers: headers.clone(),
            body: body.clone(),
            now: ts + 301,
            expect: 401,
            what: format!("{name} +301"),
        });
        cases.push(Case {
            webhook: w.clone(),
            headers: headers.clone(),
            body: body.clone(),
            now: ts - 301,
            expect: 401,
            what: format!("{name} -301"),
        });
        cases.push(Case {
            webhook: w,
            headers: headers.clone(),
            body: plus_one(&body),
            now: ts,
            expect: 401,
            what: format!("{name} body+1"),
        });
        cases.push(Case {
            webhook: wrong,
            headers,
            body,
            now: ts,
            expect: 401,
            what: format!("{name} wrong secret"),
        });
    }

    for t in v["teams"].as_array().unwrap() {
        let body = b64(&s(t, "body_b64"));
        let w = hook(
            &d,
            json!({"name": "tm", "verifier": "HMAC_BASED", "headerKey": "Authorization",
            "secretValue": s(t, "security_token_b64")}),
        )
        .await;
        let headers = vec![("Authorization".to_string(), s(t, "Authorization"))];
        let name = s(t, "name");
        cases.push(Case {
            webhook: w.clone(),
            headers: headers.clone(),
            body: body.clone(),
            now: now_sys,
            expect: 200,
            what: name.clone(),
        });
        cases.push(Case {
            webhook: w,
            headers,
            body: plus_one(&body),
            now: now_sys,
            expect: 401,
            what: format!("{name} body+1"),
        });
    }

    for g in v["sendgrid"].as_array().unwrap() {
        let body = b64(&s(g, "body_b64"));
        let ts = s(g, "X-Twilio-Email-Event-Webhook-Timestamp");
        let w = hook(
            &d,
            json!({"name": "sg", "verifier": "SENDGRID", "secretKey": s(g, "public_key_b64_der")}),
        )
        .await;
        let name = s(g, "name");
        let mut sigs = vec![s(g, "X-Twilio-Email-Event-Webhook-Signature")];
        for k in ["signature_low_s", "signature_high_s"] {
            if let Some(x) = g[k].as_str() {
                sigs.push(x.to_string());
            }
        }
        for (i, sig) in sigs.iter().enumerate() {
            let headers = vec![
                (
                    "X-Twilio-Email-Event-Webhook-Signature".to_string(),
                    sig.clone(),
                ),
                (
                    "X-Twilio-Email-Event-Webhook-Timestamp".to_string(),
                    ts.clone(),
                ),
            ];
            cases.push(Case {
                webhook: w.clone(),
                headers,
                body: body.clone(),
                now: now_sys,
                expect: 200,
                what: format!("{name} sig#{i}"),
            });
        }
        let headers = |ts: String| {
            vec![
                (
                    "X-Twilio-Email-Event-Webhook-Signature".to_string(),
                    sigs[0].clone(),
                ),
                ("X-Twilio-Email-Event-Webhook-Timestamp".to_string(), ts),
            ]
        };
        let ts1 = (ts.parse::<i64>().unwrap() + 1).to_string();
        cases.push(Case {
            webhook: w.clone(),
            headers: headers(ts1),
            body: body.clone(),
            now: now_sys,
            expect: 401,
            what: format!("{name} ts+1"),
        });
        cases.push(Case {
            webhook: w,
            headers: headers(ts.clone()),
            body: plus_one(&body),
            now: now_sys,
            expect: 401,
            what: format!("{name} body+1"),
        });
    }

    for t in v["twitter"].as_array().unwrap() {
        let Some(sig) = t["X-Twitter-Webhooks-Signature"].as_str() else {
            continue; // CRC-only vector: tests/e2e/orkes.rs
        };
        let body = b64(&s(t, "body_b64"));
        let w = hook(
            &d,
            json!({"name": "tw", "verifier": "TWITTER", "secretValue": s(t, "consumer_secret")}),
        )
        .await;
        let wrong = hook(
            &d,
            json!({"name": "tw-w", "verifier": "TWITTER", "secretValue": "not-the-consumer-secret"}),
        )
        .await;
        let headers = vec![("X-Twitter-Webhooks-Signature".to_string(), sig.to_string())];
        let name = s(t, "name");
        cases.push(Case {
            webhook: w.clone(),
            headers: headers.clone(),
            body: body.clone(),
            now: now_sys,
            expect: 200,
            what: name.clone(),
        });
        cases.push(Case {
            webhook: w,
            headers: headers.clone(),
            body: plus_one(&body),
            now: now_sys,
            expect: 401,
            what: format!("{name} body+1"),
        });
        cases.push(Case {
            webhook: wrong,
            headers,
            body: body.clone(),
            now: now_sys,
            expect: 401,
            what: format!("{name} wrong secret"),
        });
    }

    // header-based
    let hb = hook(
        &d,
        json!({"name": "hb", "verifier": "HEADER_BASED",
        "headers": {"X-Gitlab-Token": "gl-shared-token"}}),
    )
    .await;
    cases.push(Case {
        webhook: hb.clone(),
        headers: vec![("x-gitlab-token".into(), "gl-shared-token".into())],
        body: b"{\"gl\":1}".to_vec(),
        now: now_sys,
        expect: 200,
        what: "header-based".into(),
    });
    cases.push(Case {
        webhook: hb.clone(),
        headers: vec![("X-Gitlab-Token".into(), "gl-shared-tokeN".into())],
        body: b"{\"gl\":2}".to_vec(),
        now: now_sys,
        expect: 401,
        what: "header-based wrong".into(),
    });
    cases.push(Case {
        webhook: hb,
        headers: vec![],
        body: b"{\"gl\":3}".to_vec(),
        now: now_sys,
        expect: 401,
        what: "header-based missing".into(),
    });

    let c = http1_client();
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for case in &cases {
        d.set_now(case.now);
        let mut req = c.post(format!("{}/webhook/{}", d.http_url(), case.webhook));
        for (k, v) in &case.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let r = req.body(case.body.clone()).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, case.expect, "{}: {text}", case.what);
        if status == 200 && !text.is_empty() {
            // SL-2 is a url_verification: answered with the challenge, never published
            assert_eq!(
                text, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                "{}",
                case.what
            );
            rejected.push(case.body.clone());
        } else if status == 200 {
            accepted.push(case.body.clone());
        } else {
            rejected.push(case.body.clone());
        }
    }
    d.set_now(0);
    let recs = consume_all(
        &d.bootstrap(),
        "events",
        accepted.len(),
        Duration::from_secs(20),
    );
    let mut got: Vec<Vec<u8>> = recs.into_iter().map(|r| r.value).collect();
    got.sort();
    accepted.sort();
    if got != accepted {
        let show = |v: &Vec<Vec<u8>>| {
            v.iter()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned())
                .collect::<Vec<_>>()
        };
        panic!(
            "Kafka holds {} bodies, {} accepted:\n got {:?}\n acc {:?}",
            got.len(),
            accepted.len(),
            show(&got),
            show(&accepted)
        );
    }
    for r in rejected {
        assert!(
            !got.contains(&r) || accepted.contains(&r),
            "a rejected or challenge body reached Kafka"
        );
    }
    d.stop().await;
}
