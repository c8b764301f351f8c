//! Unit tests of the verifiers: every vector of `tests/vectors/providers.json` (github, stripe,
//! slack, teams, sendgrid, twitter, and the GitLab, Bitbucket and Intercom entries of `misc`), the
//! negative cases of each scheme (wrong secret, altered body, missing, garbled or stale
//! headers), round trips through [`super::sign`], and property tests.

use std::sync::OnceLock;

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use proptest::prelude::*;
use serde_json::Value;

use super::github::GitHubVerifier;
use super::header::HeaderVerifier;
use super::sendgrid::SendGridVerifier;
use super::slack::SlackVerifier;
use super::stripe::StripeVerifier;
use super::teams::TeamsVerifier;
use super::twitter::TwitterVerifier;
use super::*;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn vectors() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/vectors/providers.json"
        );
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read test vectors at {path}: {e}"));
        serde_json::from_str(&text).expect("providers.json is JSON")
    })
}

fn list(provider: &str) -> &'static [Value] {
    vectors()[provider]
        .as_array()
        .unwrap_or_else(|| panic!("vectors.{provider} is an array"))
}

/// The vector named `prefix…` of `provider`.
fn vector(provider: &str, prefix: &str) -> &'static Value {
    list(provider)
        .iter()
        .find(|v| v["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .unwrap_or_else(|| panic!("vector {prefix} of {provider}"))
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} of {}", v["name"]))
}

fn body(v: &Value) -> Vec<u8> {
    let b = base64::engine::general_purpose::STANDARD
        .decode(s(v, "body_b64"))
        .expect("body_b64");
    if let Some(len) = v["body_len"].as_u64() {
        assert_eq!(b.len() as u64, len, "body_len of {}", v["name"]);
    }
    b
}

fn plus_one(b: &[u8]) -> Vec<u8> {
    let mut b = b.to_vec();
    b.push(b' ');
    b
}

fn headers(list: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in list {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn run_at(
    v: &Builtin,
    hs: &[(&str, &str)],
    body: &[u8],
    now_unix: i64,
    url_verified: bool,
) -> Result<Outcome, Reject> {
    let h = headers(hs);
    let req = RequestParts {
        method: &Method::POST,
        headers: &h,
        query: None,
        body,
    };
    v.verify(
        &req,
        &VerifyContext {
            now_unix,
            url_verified,
        },
    )
}

fn run(v: &Builtin, hs: &[(&str, &str)], body: &[u8], now: i64) -> Result<Outcome, Reject> {
    run_at(v, hs, body, now, false)
}

fn accept(id: Option<&str>) -> Result<Outcome, Reject> {
    Ok(Outcome::Accept {
        delivery_id: id.map(str::to_owned),
    })
}

fn secret(x: &str) -> Secret {
    Secret::new(x)
}

const NOW: i64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------------
// Common types

#[test]
fn secret_never_prints() {
    let sec = secret("hunter2-super-secret");
    assert_eq!(format!("{sec:?}"), "***");
    assert_eq!(format!("{sec}"), "***");
    assert_eq!(sec.expose(), b"hunter2-super-secret");
    assert_eq!(sec.len(), 20);
    let v = GitHubVerifier::new(None, vec![sec.clone()]).unwrap();
    assert!(!format!("{v:?}").contains("hunter2"));
    let v = HeaderVerifier::new(vec![("X-Token".into(), sec.clone())]).unwrap();
    assert!(!format!("{v:?}").contains("hunter2"));
    let v = StripeVerifier::new(vec![sec.clone()], 300).unwrap();
    assert!(!format!("{v:?}").contains("hunter2"));
    let v = SlackVerifier::new(Some(sec), 300).unwrap();
    assert!(!format!("{v:?}").contains("hunter2"));
}

#[test]
fn reject_reasons_and_statuses() {
    let cases = [
        (
            Reject::MissingSignature,
            "missing_signature",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Reject::BadSignature,
            "bad_signature",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Reject::StaleTimestamp,
            "stale_timestamp",
            StatusCode::UNAUTHORIZED,
        ),
        (
            Reject::Malformed("Stripe-Signature has no t="),
            "malformed",
            StatusCode::BAD_REQUEST,
        ),
        (
            Reject::ChallengeRequired,
            "challenge_required",
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (r, reason, status) in cases {
        assert_eq!(r.reason(), reason);
        assert_eq!(r.status(), status);
        assert!(!r.to_string().is_empty());
    }
    assert!(Reject::Malformed("Stripe-Signature has no t=")
        .to_string()
        .contains("no t="));
}

#[test]
fn kinds() {
    let gh = Builtin::GitHub(GitHubVerifier::new(None, vec![secret("x")]).unwrap());
    let st = Builtin::Stripe(StripeVerifier::new(vec![secret("x")], 300).unwrap());
    let sl = Builtin::Slack(SlackVerifier::new(None, 300).unwrap());
    let tm = Builtin::Teams(TeamsVerifier::new(None, &secret("AAAA")).unwrap());
    let sg = Builtin::SendGrid(
        SendGridVerifier::new(s(vector("sendgrid", "SG-1"), "public_key_b64_der"), None).unwrap(),
    );
    let hd = Builtin::Header(HeaderVerifier::new(vec![("a".into(), secret("b"))]).unwrap());
    let tw = Builtin::Twitter(TwitterVerifier::new(&secret("c")).unwrap());
    let all = [gh, st, sl, tm, sg, hd, tw];
    let kinds: Vec<_> = all.iter().map(Builtin::kind).collect();
    assert_eq!(
        kinds,
        ["github", "stripe", "slack", "teams", "sendgrid", "header", "twitter"]
    );
    let get: Vec<_> = all
        .iter()
        .filter(|b| b.answers_get())
        .map(Builtin::kind)
        .collect();
    assert_eq!(get, ["twitter"], "only X's CRC is answered on GET");
}

#[test]
fn json_probe() {
    assert_eq!(
        json_strings(
            br#" {"id":"a","x":{"id":"nested"},"type":1}"#,
            ["id", "type"]
        ),
        [Some("a".into()), None]
    );
    assert_eq!(
        json_string(br#"{"id":"a","id":"b"}"#, "id"),
        Some("b".into())
    );
    assert_eq!(
        json_string(br#"{"id":"\u00e9\n"}"#, "id"),
        Some("é\n".into())
    );
    assert_eq!(
        json_string(br#"{"i\u0064":"esc"}"#, "id"),
        Some("esc".into())
    );
    assert_eq!(json_string(br#"{"id":[1,{"a":2}],"z":null}"#, "id"), None);
    assert_eq!(json_string(br#"[{"id":"a"}]"#, "id"), None);
    assert_eq!(json_string(br#"{"id":"a"} trailing"#, "id"), None);
    assert_eq!(json_string(br#"{"id":"a""#, "id"), None);
    assert_eq!(json_string(b"id=a", "id"), None);
    assert_eq!(json_string(b"", "id"), None);
}

// ---------------------------------------------------------------------------------------------
// GitHub

fn github(header: Option<&str>, secrets: &[&str]) -> Builtin {
    Builtin::GitHub(
        GitHubVerifier::new(
            header.map(str::to_owned),
            secrets.iter().map(|x| secret(x)).collect(),
        )
        .unwrap(),
    )
}

#[test]
fn github_vectors_sha256() {
    for v in list("github") {
        let (b, sec, sig) = (body(v), s(v, "secret"), s(v, "X-Hub-Signature-256"));
        let gh = github(None, &[sec]);
        assert_eq!(
            run(&gh, &[("X-Hub-Signature-256", sig)], &b, NOW),
            accept(None)
        );
        assert_eq!(
            run(
                &gh,
                &[
                    ("x-hub-signature-256", sig),
                    ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
                ],
                &b,
                NOW
            ),
            accept(Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"))
        );
        assert_eq!(sign::github_sha256(sec.as_bytes(), &b), sig);
        assert_eq!(
            sign::github_sha1(sec.as_bytes(), &b),
            s(v, "X-Hub-Signature")
        );
        // negatives
        let wrong = github(None, &["not-the-secret"]);
        let bad = Err(Reject::BadSignature);
        assert_eq!(run(&wrong, &[("X-Hub-Signature-256", sig)], &b, NOW), bad);
        assert_eq!(
            run(&gh, &[("X-Hub-Signature-256", sig)], &plus_one(&b), NOW),
            bad
        );
        assert_eq!(
            run(&gh, &[("X-Hub-Signature", sig)], &b, NOW),
            Err(Reject::MissingSignature)
        );
        // no downgrade to sha1 on the default header
        let sha1 = s(v, "X-Hub-Signature");
        assert_eq!(run(&gh, &[("X-Hub-Signature-256", sha1)], &b, NOW), bad);
    }
}

#[test]
fn github_legacy_sha1_header() {
    for v in list("github") {
        let (b, sec) = (body(v), s(v, "secret"));
        for name in ["X-Hub-Signature", "x-hub-signature"] {
            let gh = github(Some(name), &[sec]);
            let sha1 = s(v, "X-Hub-Signature");
            let sha256 = s(v, "X-Hub-Signature-256");
            assert_eq!(
                run(&gh, &[("X-Hub-Signature", sha1)], &b, NOW),
                accept(None)
            );
            // Bitbucket / Jira send sha256= in X-Hub-Signature
            assert_eq!(
                run(&gh, &[("X-Hub-Signature", sha256)], &b, NOW),
                accept(None)
            );
            assert_eq!(
                run(&gh, &[("X-Hub-Signature", sha1)], &plus_one(&b), NOW),
                Err(Reject::BadSignature)
            );
            assert_eq!(
                run(&gh, &[("X-Hub-Signature-256", sha256)], &b, NOW),
                Err(Reject::MissingSignature)
            );
        }
    }
    // misc vectors: Bitbucket (sha256 in X-Hub-Signature), Intercom (sha1)
    let misc = &vectors()["misc"];
    for (name, key) in [("bitbucket_cloud", "secret"), ("intercom", "client_secret")] {
        let m = &misc[name];
        let gh = github(Some("X-Hub-Signature"), &[s(m, key)]);
        let b = m["body_utf8"].as_str().unwrap().as_bytes();
        assert_eq!(
            run(&gh, &[("X-Hub-Signature", s(m, "X-Hub-Signature"))], b, NOW),
            accept(None),
            "{name}"
        );
    }
}

#[test]
fn github_rotation_and_garbage() {
    let v = vector("github", "GH-2");
    let (b, sig) = (body(v), s(v, "X-Hub-Signature-256"));
    let gh = github(None, &["old-secret", s(v, "secret")]);
    assert_eq!(
        run(&gh, &[("X-Hub-Signature-256", sig)], &b, NOW),
        accept(None)
    );
    let gh = github(None, &[s(v, "secret"), "new-secret"]);
    assert_eq!(
        run(&gh, &[("X-Hub-Signature-256", sig)], &b, NOW),
        accept(None)
    );
    let hex = sig.strip_prefix("sha256=").unwrap();
    for garbage in [
        hex.to_string(),                    // no prefix
        format!("sha512={hex}"),            // unknown algorithm
        format!("sha256={}", &hex[..62]),   // short
        format!("sha256={hex}00"),          // long
        format!("sha256={}zz", &hex[..62]), // bad hex
        "sha256=".into(),
        "=".into(),
        String::new(),
    ] {
        assert_eq!(
            run(&gh, &[("X-Hub-Signature-256", &garbage)], &b, NOW),
            Err(Reject::BadSignature),
            "{garbage:?}"
        );
    }
    // uppercase hex and an uppercase algorithm are the same bytes
    let upper = format!("SHA256={}", hex.to_ascii_uppercase());
    assert_eq!(
        run(&gh, &[("X-Hub-Signature-256", &upper)], &b, NOW),
        accept(None)
    );
    // custom header name
    let gh = github(Some("X-Custom-Sig"), &[s(v, "secret")]);
    assert_eq!(run(&gh, &[("x-custom-sig", sig)], &b, NOW), accept(None));
}

#[test]
fn github_key_errors() {
    assert_eq!(
        GitHubVerifier::new(None, vec![]).unwrap_err(),
        KeyError::Missing("secretValue")
    );
    assert!(GitHubVerifier::new(None, vec![secret("")]).is_err());
    let e = GitHubVerifier::new(Some("bad header".into()), vec![secret("x")]).unwrap_err();
    assert!(e.to_string().contains("headerKey"), "{e}");
    // blank header name = default
    let gh = GitHubVerifier::new(Some(" ".into()), vec![secret("x")]).unwrap();
    assert_eq!(gh.header().as_str(), "x-hub-signature-256");
}

// ---------------------------------------------------------------------------------------------
// Stripe

fn stripe_v(secrets: &[&str], tolerance: u64) -> Builtin {
    Builtin::Stripe(
        StripeVerifier::new(secrets.iter().map(|x| secret(x)).collect(), tolerance).unwrap(),
    )
}

const SIG: &str = "Stripe-Signature";

#[test]
fn stripe_st1_and_tolerance_boundary() {
    let v = vector("stripe", "ST-1");
    let (b, sig, t) = (body(v), s(v, SIG), v["timestamp"].as_i64().unwrap());
    let st = stripe_v(&[s(v, "secret")], 300);
    let ok = accept(Some("evt_test_webhook"));
    assert_eq!(run(&st, &[(SIG, sig)], &b, t), ok);
    assert_eq!(run(&st, &[(SIG, sig)], &b, t + 300), ok); // ST-4
    assert_eq!(
        run(&st, &[(SIG, sig)], &b, t + 301),
        Err(Reject::StaleTimestamp)
    );
    // timestamps too far in the future are refused like stale ones (the SDKs let them pass:
    // a captured request stamped ten years ahead would otherwise be replayable for ten years)
    assert_eq!(run(&st, &[(SIG, sig)], &b, t - 300), ok);
    assert_eq!(
        run(&st, &[(SIG, sig)], &b, t - 301),
        Err(Reject::StaleTimestamp)
    );
    assert_eq!(
        run(&st, &[(SIG, sig)], &b, t - 100_000),
        Err(Reject::StaleTimestamp)
    );
    // tolerance 0 disables the check
    let st0 = stripe_v(&[s(v, "secret")], 0);
    assert_eq!(run(&st0, &[(SIG, sig)], &b, t + 10_000_000), ok);
    // signature first: a forged stale request is a bad signature
    let wrong = stripe_v(&["whsec_wrong"], 300);
    assert_eq!(
        run(&wrong, &[(SIG, sig)], &b, t + 301),
        Err(Reject::BadSignature)
    );
    assert_eq!(run(&wrong, &[(SIG, sig)], &b, t), Err(Reject::BadSignature));
    assert_eq!(
        run(&st, &[(SIG, sig)], &plus_one(&b), t),
        Err(Reject::BadSignature)
    );
    assert_eq!(sign::stripe(s(v, "secret").as_bytes(), t, &b), sig);
}

#[test]
fn stripe_st2_rotation_ignores_v0() {
    let v = vector("stripe", "ST-2");
    let (b, sig, t) = (body(v), s(v, SIG), v["timestamp"].as_i64().unwrap());
    let ok = accept(Some("evt_1RotationTest"));
    for secrets in [
        vec![s(v, "secret")],
        vec![s(v, "secret_old")],
        vec![s(v, "secret"), s(v, "secret_old")],
        vec!["whsec_unrelated", s(v, "secret_old")],
    ] {
        assert_eq!(run(&stripe_v(&secrets, 300), &[(SIG, sig)], &b, t), ok);
    }
    assert_eq!(
        run(&stripe_v(&["whsec_unrelated"], 300), &[(SIG, sig)], &b, t),
        Err(Reject::BadSignature)
    );
    // the v0 of ST-2 is not a valid v1 for either secret: dropping the v1s must fail
    let only_v0: String = sig
        .split(',')
        .filter(|i| !i.starts_with("v1="))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        run(&stripe_v(&[s(v, "secret")], 300), &[(SIG, &only_v0)], &b, t),
        Err(Reject::BadSignature)
    );
}

#[test]
fn stripe_st3_v0_only_rejected() {
    let v = vector("stripe", "ST-3");
    let b = body(vector("stripe", "ST-2")); // "same as ST-2"
    assert_eq!(
        s(v, "body_sha256_hex"),
        s(vector("stripe", "ST-2"), "body_sha256_hex")
    );
    let st = stripe_v(&[s(v, "secret")], 300);
    let t = v["timestamp"].as_i64().unwrap();
    assert_eq!(
        run(&st, &[(SIG, s(v, SIG))], &b, t),
        Err(Reject::BadSignature)
    );
    // even though the v0 value IS a valid HMAC: never fall back to another scheme
    let v0_value = s(v, SIG).split("v0=").nth(1).unwrap();
    let as_v1 = format!("t={t},v1={v0_value}");
    assert_eq!(
        run(&st, &[(SIG, &as_v1)], &b, t),
        accept(Some("evt_1RotationTest"))
    );
}

#[test]
fn stripe_header_parsing() {
    let v = vector("stripe", "ST-1");
    let (b, t, sec) = (body(v), v["timestamp"].as_i64().unwrap(), s(v, "secret"));
    let st = stripe_v(&[sec], 300);
    let mac = sign::stripe(sec.as_bytes(), t, &b);
    let v1 = mac.split("v1=").nth(1).unwrap();
    let ok = accept(Some("evt_test_webhook"));
    for h in [
        format!("t={t}, v1={v1}"),
        format!(" t = {t} , v1 = {v1} "),
        format!("v1={v1},t={t}"),
        format!("t={t},v1={},v1={v1}", "0".repeat(64)),
        format!("t={t},v1=nothex,v1={v1},v0=abc,x=y,garbage"),
        format!("t=0{t},v1={v1}"),
        format!("t=1,t={t},v1={v1}"),
    ] {
        assert_eq!(run(&st, &[(SIG, &h)], &b, t), ok, "{h}");
    }
    let cases: [(String, Reject); 7] = [
        (
            format!("v1={v1}"),
            Reject::Malformed("Stripe-Signature has no t="),
        ),
        (
            format!("t=abc,v1={v1}"),
            Reject::Malformed("Stripe-Signature t= is not a Unix timestamp"),
        ),
        (
            format!("t=-{t},v1={v1}"),
            Reject::Malformed("Stripe-Signature t= is not a Unix timestamp"),
        ),
        (format!("t={t}"), Reject::BadSignature),
        (format!("t={t},v1="), Reject::BadSignature),
        (format!("t={},v1={v1}", t + 1), Reject::BadSignature),
        (format!("t={t},v2={v1}"), Reject::BadSignature),
    ];
    for (h, want) in cases {
        assert_eq!(run(&st, &[(SIG, &h)], &b, t), Err(want.clone()), "{h}");
        let _ = want.status();
    }
    assert_eq!(run(&st, &[], &b, t), Err(Reject::MissingSignature));
    assert_eq!(
        run(&st, &[(SIG, "")], &b, t),
        Err(Reject::Malformed("Stripe-Signature has no t="))
    );
    assert!(StripeVerifier::new(vec![], 300).is_err());
}

// ---------------------------------------------------------------------------------------------
// Slack

fn slack_v(sec: Option<&str>) -> Builtin {
    Builtin::Slack(SlackVerifier::new(sec.map(secret), 300).unwrap())
}

const SSIG: &str = "X-Slack-Signature";
const STS: &str = "X-Slack-Request-Timestamp";

fn slack_ts(v: &Value) -> i64 {
    s(v, STS).parse().unwrap()
}

/// A Slack request to a webhook whose URL is already verified.
fn run_verified(
    v: &Builtin,
    hs: &[(&str, &str)],
    body: &[u8],
    now: i64,
) -> Result<Outcome, Reject> {
    run_at(v, hs, body, now, true)
}

#[test]
fn slack_vectors_and_window() {
    for v in list("slack") {
        let (b, sig, ts) = (body(v), s(v, SSIG), slack_ts(v));
        let sl = slack_v(Some(s(v, "signing_secret")));
        let hs = [(SSIG, sig), (STS, s(v, STS))];
        let res = run_verified(&sl, &hs, &b, ts + 60);
        match &res {
            Ok(Outcome::Accept { .. }) | Ok(Outcome::Reply(_)) => {}
            other => panic!("{}: {other:?}", v["name"]),
        }
        // before the URL is verified only the challenge (SL-2) is answered
        let before = run(&sl, &hs, &b, ts + 60);
        match &res {
            Ok(Outcome::Reply(_)) => assert_eq!(before, res),
            _ => assert_eq!(before, Err(Reject::ChallengeRequired), "{}", v["name"]),
        }
        for now in [ts, ts + 300, ts - 300] {
            assert_eq!(
                run_verified(&sl, &hs, &b, now),
                res,
                "{} at {now}",
                v["name"]
            );
        }
        for now in [ts + 301, ts - 301] {
            assert_eq!(
                run_verified(&sl, &hs, &b, now),
                Err(Reject::StaleTimestamp),
                "{}",
                v["name"]
            );
        }
        // negatives: wrong secret, body +1 byte, missing headers
        let wrong = slack_v(Some("e6b19c573432dcc6b075501d51b51bb9"));
        assert_eq!(run_verified(&wrong, &hs, &b, ts), Err(Reject::BadSignature));
        assert_eq!(
            run_verified(&sl, &hs, &plus_one(&b), ts),
            Err(Reject::BadSignature)
        );
        assert_eq!(
            run_verified(&sl, &[(SSIG, sig)], &b, ts),
            Err(Reject::MissingSignature)
        );
        assert_eq!(
            run_verified(&sl, &[(STS, s(v, STS))], &b, ts),
            Err(Reject::MissingSignature)
        );
        // the timestamp is signed
        let later = (ts + 1).to_string();
        assert_eq!(
            run_verified(&sl, &[(SSIG, sig), (STS, &later)], &b, ts),
            Err(Reject::BadSignature)
        );
        assert_eq!(
            sign::slack(s(v, "signing_secret").as_bytes(), ts, &b),
            sig,
            "{}",
            v["name"]
        );
    }
}

#[test]
fn slack_delivery_ids() {
    let v = vector("slack", "SL-3");
    let b = body(v);
    let hs = [(SSIG, s(v, SSIG)), (STS, s(v, STS))];
    let sl = slack_v(Some(s(v, "signing_secret")));
    assert_eq!(
        run_verified(&sl, &hs, &b, slack_ts(v)),
        accept(Some("Ev123ABC456"))
    );
    // SL-1: slash command, form body, no id
    let v = vector("slack", "SL-1");
    let hs = [(SSIG, s(v, SSIG)), (STS, s(v, STS))];
    let sl = slack_v(Some(s(v, "signing_secret")));
    assert_eq!(run_verified(&sl, &hs, &body(v), slack_ts(v)), accept(None));
}

#[test]
fn slack_malformed_and_garbage() {
    let v = vector("slack", "SL-3");
    let (b, sig, ts) = (body(v), s(v, SSIG), slack_ts(v));
    let sl = slack_v(Some(s(v, "signing_secret")));
    assert_eq!(
        run(&sl, &[(SSIG, sig), (STS, "soon")], &b, ts),
        Err(Reject::Malformed(
            "X-Slack-Request-Timestamp is not a Unix timestamp"
        ))
    );
    let hex = sig.strip_prefix("v0=").unwrap();
    for g in [
        hex.to_string(),
        format!("v1={hex}"),
        format!("v0={}", &hex[..10]),
        "v0=".into(),
        format!("v0={}xx", &hex[..62]),
    ] {
        assert_eq!(
            run(&sl, &[(SSIG, &g), (STS, s(v, STS))], &b, ts),
            Err(Reject::BadSignature),
            "{g}"
        );
    }
}

const CHALLENGE: &str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";

fn text_challenge() -> Result<Outcome, Reject> {
    Ok(Outcome::Reply(crate::Reply::ok("text/plain", CHALLENGE)))
}

#[test]
fn slack_challenge_with_secret() {
    let v = vector("slack", "SL-2");
    let (b, ts) = (body(v), slack_ts(v));
    let sl = slack_v(Some(s(v, "signing_secret")));
    let hs = [(SSIG, s(v, SSIG)), (STS, s(v, STS))];
    for verified in [false, true] {
        assert_eq!(run_at(&sl, &hs, &b, ts + 60, verified), text_challenge());
    }
    // JSON answer when asked for
    let mut hs_json = hs.to_vec();
    hs_json.push(("Accept", "application/json, */*"));
    let Ok(Outcome::Reply(crate::Reply {
        content_type,
        body: resp,
        ..
    })) = run(&sl, &hs_json, &b, ts)
    else {
        panic!("challenge expected");
    };
    assert_eq!(content_type, "application/json");
    let resp: Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(resp, serde_json::json!({ "challenge": CHALLENGE }));
    // with a secret the challenge must be signed too
    assert_eq!(run(&sl, &[], &b, ts), Err(Reject::MissingSignature));
    let wrong = slack_v(Some("0000000000000000000000000000000"));
    assert_eq!(run(&wrong, &hs, &b, ts), Err(Reject::BadSignature));
    assert_eq!(run(&sl, &hs, &b, ts + 301), Err(Reject::StaleTimestamp));
}

#[test]
fn slack_challenge_without_secret() {
    let v = vector("slack", "SL-2");
    let b = body(v);
    let sl = slack_v(None);
    // unverified: only the challenge passes (signature headers, if any, are irrelevant)
    assert_eq!(run_at(&sl, &[], &b, NOW, false), text_challenge());
    assert_eq!(
        run_at(&sl, &[("Content-Type", "text/plain")], &b, NOW, false),
        text_challenge()
    );
    let ev = body(vector("slack", "SL-3"));
    assert_eq!(
        run_at(&sl, &[], &ev, NOW, false),
        Err(Reject::ChallengeRequired)
    );
    assert_eq!(
        run_at(&sl, &[], b"payload=%7B%7D", NOW, false),
        Err(Reject::ChallengeRequired)
    );
    // a form-encoded "challenge" is not a challenge
    assert_eq!(
        run_at(&sl, &[], b"type=url_verification&challenge=abc", NOW, false),
        Err(Reject::ChallengeRequired)
    );
    // a top-level challenge member without type url_verification is not a challenge
    let fake = br#"{"type":"event_callback","challenge":"x","event_id":"Ev1"}"#;
    assert_eq!(
        run_at(&sl, &[], fake, NOW, false),
        Err(Reject::ChallengeRequired)
    );
    assert_eq!(run_at(&sl, &[], fake, NOW, true), accept(Some("Ev1")));
    // a non-string challenge is not a challenge
    let odd = br#"{"type":"url_verification","challenge":42}"#;
    assert_eq!(
        run_at(&sl, &[], odd, NOW, false),
        Err(Reject::ChallengeRequired)
    );
    // verified, no secret: everything is accepted (Orkes behaviour), challenges still answered
    assert_eq!(
        run_at(&sl, &[], &ev, NOW, true),
        accept(Some("Ev123ABC456"))
    );
    assert_eq!(run_at(&sl, &[], b"not json", NOW, true), accept(None));
    assert_eq!(run_at(&sl, &[], &b, NOW, true), text_challenge());
}

#[test]
fn slack_signed_event_with_challenge_member_is_an_event() {
    let sec = "e6b19c573432dcc6b075501d51b51bb8";
    let b = br#"{"type":"event_callback","challenge":"x","event_id":"Ev9"}"#;
    let sig = sign::slack(sec.as_bytes(), NOW, b);
    let ts = NOW.to_string();
    let sl = slack_v(Some(sec));
    assert_eq!(
        run_verified(&sl, &[(SSIG, &sig), (STS, &ts)], b, NOW),
        accept(Some("Ev9"))
    );
    // before the URL is verified, a correctly signed event is refused (only the challenge)
    assert_eq!(
        run(&sl, &[(SSIG, &sig), (STS, &ts)], b, NOW),
        Err(Reject::ChallengeRequired)
    );
    assert!(SlackVerifier::new(Some(secret("")), 300).is_err());
}

// ---------------------------------------------------------------------------------------------
// X (Twitter)

const TSIG: &str = "X-Twitter-Webhooks-Signature";

fn twitter_v(sec: &str) -> Builtin {
    Builtin::Twitter(TwitterVerifier::new(&secret(sec)).unwrap())
}

fn crc(v: &Builtin, query: Option<&str>) -> Result<Outcome, Reject> {
    let h = HeaderMap::new();
    let req = RequestParts {
        method: &Method::GET,
        headers: &h,
        query,
        body: b"",
    };
    v.verify(
        &req,
        &VerifyContext {
            now_unix: NOW,
            url_verified: false,
        },
    )
}

#[test]
fn twitter_crc_vectors() {
    for v in list("twitter") {
        let Some(token) = v["crc_token"].as_str() else {
            continue;
        };
        let sec = s(v, "consumer_secret");
        let tw = twitter_v(sec);
        let q = format!("crc_token={token}");
        let Ok(Outcome::Reply(r)) = crc(&tw, Some(&q)) else {
            panic!("{}: CRC answered", v["name"]);
        };
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type, "application/json");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"response_token": s(v, "response_token")})
        );
        assert_eq!(
            sign::twitter_crc(sec.as_bytes(), token),
            s(v, "response_token")
        );
        // other query parameters are ignored; a url-encoded token is decoded first
        let q2 = format!("nonce=1&crc_token={}", token.replace('-', "%2D"));
        assert_eq!(crc(&tw, Some(&q2)), Ok(Outcome::Reply(r)));
    }
}

#[test]
fn twitter_delivery_vectors() {
    let mut n = 0;
    for v in list("twitter") {
        let Some(sig) = v["X-Twitter-Webhooks-Signature"].as_str() else {
            continue;
        };
        n += 1;
        let b = body(v);
        let sec = s(v, "consumer_secret");
        let tw = twitter_v(sec);
        assert_eq!(
            run(&tw, &[(TSIG, sig)], &b, NOW),
            accept(None),
            "{}",
            v["name"]
        );
        assert_eq!(sign::twitter(sec.as_bytes(), &b), sig);
        assert_eq!(
            run(&tw, &[(TSIG, sig)], &plus_one(&b), NOW),
            Err(Reject::BadSignature)
        );
        assert_eq!(
            run(&twitter_v("not-the-secret"), &[(TSIG, sig)], &b, NOW),
            Err(Reject::BadSignature)
        );
        assert_eq!(run(&tw, &[], &b, NOW), Err(Reject::MissingSignature));
        let hex_form = format!(
            "sha256={}",
            hex::encode(crate::hmac::hmac_sha256(sec.as_bytes(), &[&b]))
        );
        assert_eq!(
            run(&tw, &[(TSIG, &hex_form)], &b, NOW),
            Err(Reject::BadSignature)
        );
        assert_eq!(
            run(&tw, &[(TSIG, &sig[7..])], &b, NOW),
            Err(Reject::BadSignature)
        );
    }
    assert!(n >= 2);
}

#[test]
fn twitter_crc_is_not_a_signing_oracle_for_deliveries() {
    let sec = "tw-consumer-secret";
    let tw = twitter_v(sec);
    let forged = br#"{"for_user_id":"1","qid":42}"#;
    // asking the CRC to sign a delivery body is refused, with or without leading whitespace
    for token in [
        "%7B%22for_user_id%22%3A%221%22%2C%22qid%22%3A42%7D",
        "%20%0A%7B%7D",
        "{}",
    ] {
        assert!(
            matches!(
                crc(&tw, Some(&format!("crc_token={token}"))),
                Err(Reject::Malformed(_))
            ),
            "{token}"
        );
    }
    // and what the CRC does sign is never accepted as a delivery (not a JSON object)
    let token = "abc";
    let Ok(Outcome::Reply(_)) = crc(&tw, Some("crc_token=abc")) else {
        panic!()
    };
    let sig = sign::twitter_crc(sec.as_bytes(), token);
    assert_eq!(
        run(&tw, &[(TSIG, &sig)], token.as_bytes(), NOW),
        Err(Reject::BadSignature)
    );
    // a correctly signed body that is not an object is refused too
    for b in [&b"[1]"[..], b"\"x\"", b"42", b""] {
        let sig = sign::twitter(sec.as_bytes(), b);
        assert_eq!(run(&tw, &[(TSIG, &sig)], b, NOW), Err(Reject::BadSignature));
    }
    let sig = sign::twitter(sec.as_bytes(), forged);
    assert_eq!(run(&tw, &[(TSIG, &sig)], forged, NOW), accept(None));
    // GET without a usable token
    for q in [None, Some(""), Some("crc_token="), Some("other=1")] {
        assert!(matches!(crc(&tw, q), Err(Reject::Malformed(_))), "{q:?}");
    }
    let long = format!("crc_token={}", "a".repeat(twitter::MAX_CRC_TOKEN + 1));
    assert!(matches!(crc(&tw, Some(&long)), Err(Reject::Malformed(_))));
    assert!(TwitterVerifier::new(&secret("")).is_err());
    assert_eq!(
        format!("{:?}", TwitterVerifier::new(&secret("sek")).unwrap()),
        "TwitterVerifier { .. }"
    );
}

// ---------------------------------------------------------------------------------------------
// Teams

fn teams_v(token: &str) -> Builtin {
    Builtin::Teams(TeamsVerifier::new(None, &secret(token)).unwrap())
}

#[test]
fn teams_vectors() {
    let ids = [Some("1485983408511"), None];
    for (v, id) in list("teams").iter().zip(ids) {
        let (b, auth, tok) = (body(v), s(v, "Authorization"), s(v, "security_token_b64"));
        let tm = teams_v(tok);
        assert_eq!(run(&tm, &[("Authorization", auth)], &b, NOW), accept(id));
        assert_eq!(sign::teams(tok, &b).unwrap(), auth);
        let mac = auth.strip_prefix("HMAC ").unwrap();
        for ok in [
            format!("hmac {mac}"),
            format!("HMAC   {mac}"),
            mac.to_string(),
        ] {
            assert_eq!(
                run(&tm, &[("authorization", &ok)], &b, NOW),
                accept(id),
                "{ok}"
            );
        }
        // negatives
        assert_eq!(
            run(&tm, &[("Authorization", auth)], &plus_one(&b), NOW),
            Err(Reject::BadSignature)
        );
        let wrong = teams_v("vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=");
        assert_eq!(
            run(&wrong, &[("Authorization", auth)], &b, NOW),
            Err(Reject::BadSignature)
        );
        assert_eq!(run(&tm, &[], &b, NOW), Err(Reject::MissingSignature));
        for g in [
            format!("Bearer {mac}"),
            "HMAC !!!notbase64".into(),
            format!("HMAC {}", &mac[..20]),
            "HMAC ".into(),
        ] {
            assert_eq!(
                run(&tm, &[("Authorization", &g)], &b, NOW),
                Err(Reject::BadSignature),
                "{g}"
            );
        }
        // the raw token bytes are NOT the key
        let raw_key = base64::engine::general_purpose::STANDARD.encode(tok.as_bytes());
        let raw = sign::teams(&raw_key, &b).unwrap();
        assert_eq!(
            run(&tm, &[("Authorization", &raw)], &b, NOW),
            Err(Reject::BadSignature)
        );
    }
}

#[test]
fn teams_keys() {
    let e = TeamsVerifier::new(None, &secret("not base64!")).unwrap_err();
    assert_eq!(e.to_string(), "secretValue is not valid base64");
    assert!(TeamsVerifier::new(None, &secret("")).is_err());
    assert!(sign::teams("not base64!", b"x").is_err());
    // unpadded / URL-safe forms of the same token work
    let v = vector("teams", "TM-2");
    let b = body(v);
    let tok = s(v, "security_token_b64");
    let url = tok.replace('+', "-").replace('/', "_");
    for t in [tok.trim_end_matches('='), &url, &format!(" {tok}\n")] {
        let tm = teams_v(t);
        assert_eq!(
            run(&tm, &[("Authorization", s(v, "Authorization"))], &b, NOW),
            accept(None)
        );
    }
    // custom header
    let tm = Builtin::Teams(TeamsVerifier::new(Some("X-Sig".into()), &secret(tok)).unwrap());
    assert_eq!(
        run(&tm, &[("x-sig", s(v, "Authorization"))], &b, NOW),
        accept(None)
    );
}

// ---------------------------------------------------------------------------------------------
// SendGrid

const GSIG: &str = "X-Twilio-Email-Event-Webhook-Signature";
const GTS: &str = "X-Twilio-Email-Event-Webhook-Timestamp";

fn sendgrid_v(v: &Value, tolerance: Option<u64>) -> Builtin {
    Builtin::SendGrid(SendGridVerifier::new(s(v, "public_key_b64_der"), tolerance).unwrap())
}

fn is_high_s(sig_b64: &str) -> bool {
    let der = base64::engine::general_purpose::STANDARD
        .decode(sig_b64)
        .unwrap();
    p256::ecdsa::Signature::from_der(&der)
        .unwrap()
        .normalize_s()
        .is_some()
}

#[test]
fn sendgrid_vectors() {
    for v in list("sendgrid") {
        let (b, ts) = (body(v), s(v, GTS));
        let sg = sendgrid_v(v, None);
        let mut sigs = vec![s(v, GSIG)];
        if v["signature_s_is_high"].as_bool() == Some(true) {
            assert!(is_high_s(s(v, GSIG)), "{}", v["name"]);
        }
        for form in ["signature_low_s", "signature_high_s"] {
            if let Some(x) = v[form].as_str() {
                assert_eq!(is_high_s(x), form == "signature_high_s");
                sigs.push(x);
            }
        }
        for sig in sigs {
            assert_eq!(
                run(&sg, &[(GSIG, sig), (GTS, ts)], &b, NOW),
                accept(None),
                "{} {sig}",
                v["name"]
            );
            // negatives: timestamp +1, body +1 byte
            let ts1 = (ts.parse::<i64>().unwrap() + 1).to_string();
            assert_eq!(
                run(&sg, &[(GSIG, sig), (GTS, &ts1)], &b, NOW),
                Err(Reject::BadSignature)
            );
            assert_eq!(
                run(&sg, &[(GSIG, sig), (GTS, ts)], &plus_one(&b), NOW),
                Err(Reject::BadSignature)
            );
        }
        assert_eq!(
            run(&sg, &[(GTS, ts)], &b, NOW),
            Err(Reject::MissingSignature)
        );
        assert_eq!(
            run(&sg, &[(GSIG, s(v, GSIG))], &b, NOW),
            Err(Reject::MissingSignature)
        );
    }
    // SG-0 and SG-0b (produced by SendGrid) are high-S
    assert!(is_high_s(s(vector("sendgrid", "SG-0 "), GSIG)));
    assert!(is_high_s(s(vector("sendgrid", "SG-0b"), GSIG)));
}

#[test]
fn sendgrid_wrong_key_and_garbage() {
    let (v1, v2) = (vector("sendgrid", "SG-1"), vector("sendgrid", "SG-2"));
    let sg2 = sendgrid_v(v2, None);
    let (b, ts) = (body(v1), s(v1, GTS));
    assert_eq!(
        run(&sg2, &[(GSIG, s(v1, GSIG)), (GTS, ts)], &b, NOW),
        Err(Reject::BadSignature)
    );
    let sg1 = sendgrid_v(v1, None);
    for g in ["", "!!!", "MEUCIQ==", "AAAA"] {
        assert_eq!(
            run(&sg1, &[(GSIG, g), (GTS, ts)], &b, NOW),
            Err(Reject::BadSignature),
            "{g}"
        );
    }
    // without a tolerance the timestamp is only signed bytes; with one it must be an integer
    let sg1t = sendgrid_v(v1, Some(300));
    let t: i64 = ts.parse().unwrap();
    let hs = [(GSIG, s(v1, GSIG)), (GTS, ts)];
    assert_eq!(run(&sg1t, &hs, &b, t + 300), accept(None));
    assert_eq!(run(&sg1t, &hs, &b, t - 300), accept(None));
    assert_eq!(run(&sg1t, &hs, &b, t + 301), Err(Reject::StaleTimestamp));
    assert_eq!(run(&sg1t, &hs, &b, t - 301), Err(Reject::StaleTimestamp));
    assert_eq!(run(&sg1, &hs, &b, t + 10_000_000), accept(None));
    let sg0 = sendgrid_v(v1, Some(0));
    assert_eq!(run(&sg0, &hs, &b, t + 10_000_000), accept(None));
}

#[test]
fn sendgrid_keys() {
    let v = vector("sendgrid", "SG-1");
    let key = s(v, "public_key_b64_der");
    let e = SendGridVerifier::new("not base64!", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "secretKey is not a P-256 public key (base64 DER SubjectPublicKeyInfo)"
    );
    assert!(SendGridVerifier::new("AAAA", None).is_err());
    assert!(SendGridVerifier::new("", None).is_err());
    // PEM armour and stray whitespace are fine
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
        &key[..64],
        &key[64..]
    );
    for k in [pem.as_str(), &format!("  {key}\n")] {
        let sg = Builtin::SendGrid(SendGridVerifier::new(k, None).unwrap());
        assert_eq!(
            run(&sg, &[(GSIG, s(v, GSIG)), (GTS, s(v, GTS))], &body(v), NOW),
            accept(None)
        );
    }
    // a private key is not a public key
    assert!(SendGridVerifier::new(s(v, "private_key_pem_pkcs8"), None).is_err());
}

#[test]
fn sendgrid_sign_round_trip() {
    for name in ["SG-1", "SG-2"] {
        let v = vector("sendgrid", name);
        let (b, ts) = (body(v), s(v, GTS));
        let t: i64 = ts.parse().unwrap();
        let sig = sign::sendgrid(s(v, "private_key_pem_pkcs8"), t, &b).unwrap();
        // RFC 6979 is deterministic: the same (r, s) as the vector, in one of its two forms
        assert!(
            sig == s(v, "signature_low_s") || sig == s(v, "signature_high_s"),
            "{name}: {sig}"
        );
        let sg = sendgrid_v(v, None);
        assert_eq!(run(&sg, &[(GSIG, &sig), (GTS, ts)], &b, NOW), accept(None));
        let fresh = sign::sendgrid(s(v, "private_key_pem_pkcs8"), NOW, b"[]\r\n").unwrap();
        let now = NOW.to_string();
        assert_eq!(
            run(&sg, &[(GSIG, &fresh), (GTS, &now)], b"[]\r\n", NOW),
            accept(None)
        );
    }
    assert_eq!(
        sign::sendgrid("garbage", NOW, b"").unwrap_err(),
        KeyError::PrivateKey
    );
    let pub_as_priv = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
        s(vector("sendgrid", "SG-1"), "public_key_b64_der")
    );
    assert!(sign::sendgrid(&pub_as_priv, NOW, b"").is_err());
}

// ---------------------------------------------------------------------------------------------
// Header-based

#[test]
fn header_based() {
    let hv = Builtin::Header(
        HeaderVerifier::new(vec![
            ("X-Gitlab-Token".into(), secret("gl-shared-token")),
            ("x-env".into(), secret("prod")),
        ])
        .unwrap(),
    );
    let ok = [("x-gitlab-token", "gl-shared-token"), ("X-ENV", "prod")];
    assert_eq!(run(&hv, &ok, b"{}", NOW), accept(None));
    assert_eq!(
        run(&hv, &[("X-Gitlab-Token", "gl-shared-token")], b"{}", NOW),
        Err(Reject::MissingSignature)
    );
    assert_eq!(run(&hv, &[], b"{}", NOW), Err(Reject::MissingSignature));
    for bad in [
        [("X-Gitlab-Token", "gl-shared-tokeN"), ("x-env", "prod")],
        [("X-Gitlab-Token", "gl-shared-token "), ("x-env", "prod")],
        [("X-Gitlab-Token", "gl-shared"), ("x-env", "prod")],
        [("X-Gitlab-Token", "gl-shared-token"), ("x-env", "Prod")],
    ] {
        assert_eq!(
            run(&hv, &bad, b"{}", NOW),
            Err(Reject::BadSignature),
            "{bad:?}"
        );
    }
    // a repeated header: any value may match
    let rep = [
        ("X-Gitlab-Token", "nope"),
        ("X-Gitlab-Token", "gl-shared-token"),
        ("x-env", "prod"),
    ];
    assert_eq!(run(&hv, &rep, b"{}", NOW), accept(None));
    // GitLab vector
    let gl = &vectors()["misc"]["gitlab"];
    let hv = Builtin::Header(
        HeaderVerifier::new(vec![(
            "X-Gitlab-Token".into(),
            secret(s(gl, "X-Gitlab-Token")),
        )])
        .unwrap(),
    );
    assert_eq!(
        run(
            &hv,
            &[("X-Gitlab-Token", s(gl, "X-Gitlab-Token"))],
            b"{}",
            NOW
        ),
        accept(None)
    );
    // configuration errors
    assert_eq!(
        HeaderVerifier::new(vec![]).unwrap_err(),
        KeyError::NoHeaders
    );
    assert!(HeaderVerifier::new(vec![("bad name".into(), secret("x"))]).is_err());
    assert!(HeaderVerifier::new(vec![("x".into(), secret(""))]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Property tests: sign → verify accepts; any single flipped body byte rejects.

fn flip(body: &[u8], idx: usize, mask: u8) -> Vec<u8> {
    let mut b = body.to_vec();
    let i = idx % b.len();
    b[i] ^= mask;
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn prop_github(sec in prop::collection::vec(any::<u8>(), 1..64),
                   body in prop::collection::vec(any::<u8>(), 1..512),
                   idx in any::<usize>(), mask in 1u8..=255) {
        let gh = Builtin::GitHub(GitHubVerifier::new(None, vec![Secret::new(sec.clone())]).unwrap());
        let sig = sign::github_sha256(&sec, &body);
        let hs = [("X-Hub-Signature-256", sig.as_str())];
        prop_assert_eq!(run(&gh, &hs, &body, NOW), accept(None));
        prop_assert_eq!(run(&gh, &hs, &flip(&body, idx, mask), NOW), Err(Reject::BadSignature));
        let legacy = Builtin::GitHub(
            GitHubVerifier::new(Some("X-Hub-Signature".into()), vec![Secret::new(sec.clone())]).unwrap());
        let sig1 = sign::github_sha1(&sec, &body);
        let hs1 = [("X-Hub-Signature", sig1.as_str())];
        prop_assert_eq!(run(&legacy, &hs1, &body, NOW), accept(None));
        prop_assert_eq!(run(&legacy, &hs1, &flip(&body, idx, mask), NOW), Err(Reject::BadSignature));
    }

    #[test]
    fn prop_stripe(sec in "[ -~]{1,64}",
                   body in prop::collection::vec(any::<u8>(), 1..512),
                   t in 0i64..4_000_000_000, idx in any::<usize>(), mask in 1u8..=255) {
        let st = Builtin::Stripe(StripeVerifier::new(vec![Secret::new(sec.clone())], 300).unwrap());
        let sig = sign::stripe(sec.as_bytes(), t, &body);
        let hs = [("Stripe-Signature", sig.as_str())];
        let accepted = matches!(run(&st, &hs, &body, t), Ok(Outcome::Accept { .. }));
        prop_assert!(accepted);
        prop_assert_eq!(run(&st, &hs, &flip(&body, idx, mask), t), Err(Reject::BadSignature));
    }

    #[test]
    fn prop_slack(sec in "[0-9a-f]{32}",
                  body in prop::collection::vec(any::<u8>(), 1..512),
                  ts in 0i64..4_000_000_000, skew in -300i64..=300,
                  idx in any::<usize>(), mask in 1u8..=255) {
        let sl = Builtin::Slack(SlackVerifier::new(Some(Secret::new(sec.clone())), 300).unwrap());
        let sig = sign::slack(sec.as_bytes(), ts, &body);
        let tss = ts.to_string();
        let hs = [("X-Slack-Signature", sig.as_str()), ("X-Slack-Request-Timestamp", tss.as_str())];
        prop_assert!(run_verified(&sl, &hs, &body, ts + skew).is_ok());
        prop_assert_eq!(run(&sl, &hs, &body, ts + skew), Err(Reject::ChallengeRequired));
        prop_assert_eq!(run(&sl, &hs, &flip(&body, idx, mask), ts), Err(Reject::BadSignature));
    }

    #[test]
    fn prop_teams(key in prop::collection::vec(any::<u8>(), 1..64),
                  body in prop::collection::vec(any::<u8>(), 1..512),
                  idx in any::<usize>(), mask in 1u8..=255) {
        let tok = base64::engine::general_purpose::STANDARD.encode(&key);
        let tm = Builtin::Teams(TeamsVerifier::new(None, &Secret::new(tok.clone())).unwrap());
        let sig = sign::teams(&tok, &body).unwrap();
        let hs = [("Authorization", sig.as_str())];
        let accepted = matches!(run(&tm, &hs, &body, NOW), Ok(Outcome::Accept { .. }));
        prop_assert!(accepted);
        prop_assert_eq!(run(&tm, &hs, &flip(&body, idx, mask), NOW), Err(Reject::BadSignature));
    }

    #[test]
    fn prop_garbage_headers_never_panic(value in "[ -~]{0,200}",
                                        body in prop::collection::vec(any::<u8>(), 0..64)) {
        let sg = vector("sendgrid", "SG-1");
        let verifiers = [
            github(None, &["s"]),
            stripe_v(&["s"], 300),
            slack_v(Some("s")),
            slack_v(None),
            teams_v("AAAA"),
            sendgrid_v(sg, Some(300)),
            twitter_v("s"),
        ];
        for v in &verifiers {
            for name in ["X-Hub-Signature-256", "Stripe-Signature", "X-Slack-Signature",
                         "Authorization", GSIG, TSIG] {
                let hs = [(name, value.as_str()), (STS, value.as_str()), (GTS, value.as_str())];
                let r = run(v, &hs, &body, NOW);
                let accepted = matches!(r, Ok(Outcome::Accept { .. }));
                prop_assert!(!accepted, "{} accepted {:?}", v.kind(), value);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rotation: previous secrets of the single-secret schemes

#[test]
fn slack_teams_sendgrid_accept_previous_secrets() {
    let b = br#"{"type":"event_callback","event_id":"Ev1"}"#;
    let ts = NOW.to_string();
    // Slack
    let sl = |cur: &str, prev: &[&str]| {
        let p: Vec<Secret> = prev.iter().map(|x| secret(x)).collect();
        Builtin::Slack(
            SlackVerifier::new(Some(secret(cur)), 300)
                .unwrap()
                .with_previous(&p)
                .unwrap(),
        )
    };
    let by = |sec: &str| sign::slack(sec.as_bytes(), NOW, b);
    let rotating = sl("new-signing", &["old-signing"]);
    for sec in ["new-signing", "old-signing"] {
        let sig = by(sec);
        let hs = [(SSIG, sig.as_str()), (STS, ts.as_str())];
        // (Slack answers events only once the URL is verified.)
        assert_eq!(
            run_at(&rotating, &hs, b, NOW, true),
            accept(Some("Ev1")),
            "{sec}"
        );
    }
    let sig = by("other");
    let hs = [(SSIG, sig.as_str()), (STS, ts.as_str())];
    assert_eq!(
        run_at(&rotating, &hs, b, NOW, true),
        Err(Reject::BadSignature)
    );
    let sig = by("old-signing");
    let hs = [(SSIG, sig.as_str()), (STS, ts.as_str())];
    assert_eq!(
        run_at(&sl("new-signing", &[]), &hs, b, NOW, true),
        Err(Reject::BadSignature),
        "removing the previous secret ends the rotation"
    );
    assert!(SlackVerifier::new(None, 300)
        .unwrap()
        .with_previous(&[secret("x")])
        .is_err());
    assert!(SlackVerifier::new(Some(secret("a")), 300)
        .unwrap()
        .with_previous(&[secret("")])
        .is_err());

    // Teams
    let (k_new, k_old) = (
        "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    );
    let tm = Builtin::Teams(
        TeamsVerifier::new(None, &secret(k_new))
            .unwrap()
            .with_previous(&[secret(k_old)])
            .unwrap(),
    );
    for k in [k_new, k_old] {
        let auth = sign::teams(k, b).unwrap();
        assert!(run(&tm, &[("Authorization", &auth)], b, NOW).is_ok(), "{k}");
    }
    let auth = sign::teams("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", b).unwrap();
    assert_eq!(
        run(&tm, &[("Authorization", &auth)], b, NOW),
        Err(Reject::BadSignature)
    );
    let e = TeamsVerifier::new(None, &secret(k_new))
        .unwrap()
        .with_previous(&[secret("not base64!")])
        .unwrap_err();
    assert_eq!(e.to_string(), "previousSecretValues is not valid base64");

    // SendGrid: the SG-1 key is current, SG-2's still accepted
    let (v1, v2) = (vector("sendgrid", "SG-1"), vector("sendgrid", "SG-2"));
    let sg = Builtin::SendGrid(
        SendGridVerifier::new(s(v1, "public_key_b64_der"), None)
            .unwrap()
            .with_previous(&[s(v2, "public_key_b64_der")])
            .unwrap(),
    );
    for v in [v1, v2] {
        let hs = [(GSIG, s(v, GSIG)), (GTS, s(v, GTS))];
        assert_eq!(run(&sg, &hs, &body(v), NOW), accept(None), "{}", v["name"]);
    }
    let only1 = sendgrid_v(v1, None);
    let hs = [(GSIG, s(v2, GSIG)), (GTS, s(v2, GTS))];
    assert_eq!(run(&only1, &hs, &body(v2), NOW), Err(Reject::BadSignature));
    assert!(SendGridVerifier::new(s(v1, "public_key_b64_der"), None)
        .unwrap()
        .with_previous(&["AAAA"])
        .is_err());
}
