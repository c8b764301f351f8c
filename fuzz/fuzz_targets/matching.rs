//! Templates and canonical keys over arbitrary JSON: never panic; equal values give equal keys.
#![no_main]

use hookd_payload::matching::{canonical, index_key};
use hookd_payload::template::resolve as resolve_template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let c = canonical(&v);
    let back: serde_json::Value = serde_json::from_str(&c).expect("canonical form is JSON");
    assert_eq!(canonical(&back), c, "canonical form is a fixed point");
    let _ = index_key("w", 1, "r__1", &[c]);
    // the Orkes string form never panics, and a double's form reads back as the same double
    let _ = hookd_payload::matching::string_form(&v);
    if let Some(f) = v.as_f64().filter(|_| v.is_f64()) {
        let s = hookd_payload::matching::java_double(f);
        assert_eq!(s.replace('E', "e").parse::<f64>().ok(), Some(f), "{s}");
    }
    if let serde_json::Value::Object(m) = &v {
        let t: String = String::from_utf8_lossy(data).chars().take(64).collect();
        let _ = resolve_template(&format!("k-${{workflow.input.{t}}}-{t}"), m);
    }
});
