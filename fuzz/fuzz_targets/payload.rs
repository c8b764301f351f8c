//! The simd-json payload builder never panics and agrees with serde_json on what it accepts, up
//! to canonical form (simd-json reads `-0` as the integer 0, serde_json as -0.0; both are `0`
//! canonically, which is how the sink compares values), and the `idempotencyKey` looked up on the
//! tape equals the template resolved over serde_json's payload.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (split, body) = data.split_first().map(|(s, b)| (*s as usize, b)).unwrap_or((0, data));
    let q = std::str::from_utf8(&body[..split.min(body.len())]).ok();
    let body = &body[split.min(body.len())..];
    let p = hookd_payload::build(body, q);
    let reference = hookd_payload::build_with_serde_json(body, q);
    const T: &str = "${workflow.input.a}|${workflow.input.b.c[0]}|${workflow.input.request}";
    let key = hookd_payload::idempotency_key(T, body, q);
    if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        assert_eq!(key, hookd_payload::template::resolve(T, &reference));
        let canon = |m: serde_json::Map<String, serde_json::Value>| {
            hookd_payload::matching::canonical(&serde_json::Value::Object(m))
        };
        assert_eq!(canon(p), canon(reference));
    }
});
