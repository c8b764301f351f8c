//! The webhook configuration as exchanged with the admin API and stored in the config topic
//! (Orkes `WebhookConfig`, JSON camelCase): its field checks and secret masking. Plain data:
//! what a definition *means* (verifier, starts, receivers) is built from it once, as a
//! `webhook::Spec`, when it is registered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};


/// What every API response shows instead of a secret.
pub const MASK: &str = "***";

/// `{key, value}` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, utoipa::ToSchema)]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    #[serde(default)]
    pub value: String,
}

/// One webhook, as stored and as exchanged with the admin API (secrets masked on the way out).
///
/// Fields follow Orkes' `WebhookConfig`; `maxBodyBytes` and `toleranceSeconds` are hookd
/// extensions (absent = global default), and so are `plugin`, `pluginParams` and
/// `pluginSecrets` of the `WASM_PLUGIN` verifier.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfig {
    /// Unique human name.
    #[serde(default)]
    pub name: String,
    /// Server-generated on create unless supplied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Workflows whose waiting tasks may receive this webhook's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_workflow_names_to_versions: Option<BTreeMap<String, i64>>,
    /// Workflows to start per event, plus reserved keys `idempotencyKey`, `idempotencyStrategy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflows_to_start: Option<BTreeMap<String, serde_json::Value>>,
    /// Read-only: set by the first verified request.
    #[serde(default)]
    pub url_verified: bool,
    /// Informational label (`Github`, `Slack`, `Stripe`, `Microsoft Teams`, `SendGrid`, `Custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_platform: Option<String>,
    /// Verification algorithm.
    pub verifier: VerifierKind,
    /// Required headers (name → exact value) for `HEADER_BASED`; values are secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Signature header name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_key: Option<String>,
    /// SendGrid public verification key (base64 DER); masked like a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// HMAC secret / signing secret / Teams security token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_value: Option<String>,
    /// Set by the server from the authenticated caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Read-only execution history, newest first.
    #[serde(default)]
    pub webhook_execution_history: Vec<serde_json::Value>,
    /// Orkes: a script returning the two target maps. hookd does not evaluate scripts, so a
    /// non-blank value is refused (400 naming the field; see [`WebhookConfig::validate_fields`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Orkes: the evaluator of `expression`; refused like it when non-blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator_type: Option<String>,
    /// hookd: body limit for this webhook, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
    /// hookd: timestamp tolerance for this webhook's verifier, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_seconds: Option<u64>,
    /// hookd, `WASM_PLUGIN`: the plugin's name (its file stem in `[plugins] dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// hookd, `WASM_PLUGIN`: free-form string parameters passed to the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_params: Option<BTreeMap<String, String>>,
    /// hookd, `WASM_PLUGIN`: further secrets after `secretValue` (rotation); each is masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_secrets: Option<Vec<String>>,
    /// hookd: earlier secrets that still verify during a rotation (built-in HMAC verifiers);
    /// each is masked. Removing them ends the rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_values: Option<Vec<String>>,
    /// hookd, `SENDGRID`: earlier public keys that still verify during a rotation; masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_keys: Option<Vec<String>>,
    /// hookd: requests per second this webhook accepts (fractions allowed; absent = no limit);
    /// over it: 429 with `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_second: Option<f64>,
    /// hookd: burst of `rateLimitPerSecond` (default: the rate rounded up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_burst: Option<u32>,
    /// hookd: source addresses allowed to send (CIDRs or addresses; absent or empty = any);
    /// others get 403.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_source_cidrs: Option<Vec<String>>,
    /// hookd: for providers that send no delivery id, a template (`${workflow.input.<path>}`
    /// placeholders, as in `idempotencyKey`) over the payload that identifies a delivery; events
    /// resolving to the same value within `sink.dedup_window_secs` have their effects once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
}

/// The `verifier` enum. Orkes values are kept verbatim; hookd adds its own without breaking them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifierKind {
    /// Required headers with exact values.
    HeaderBased,
    /// GitHub-style `sha256=` HMAC (legacy `sha1=` with `headerKey = X-Hub-Signature`).
    SignatureBased,
    /// Microsoft Teams outgoing webhook HMAC.
    HmacBased,
    /// Slack challenge + `X-Slack-Signature`.
    SlackBased,
    /// Stripe `Stripe-Signature`.
    Stripe,
    /// SendGrid signed event webhook (ECDSA P-256).
    Sendgrid,
    /// X (Twitter): the CRC challenge on `GET` and `X-Twitter-Webhooks-Signature`, keyed with the
    /// consumer secret in `secretValue`.
    Twitter,
    /// hookd: a sandboxed WebAssembly verifier plugin, named by `plugin`.
    WasmPlugin,
}

/// Why a webhook config is invalid (→ 400). Messages name the field, never a secret value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(pub String);

fn bad(msg: impl Into<String>) -> ModelError {
    ModelError(msg.into())
}

const RESERVED_START_KEYS: [&str; 2] = ["idempotencyKey", "idempotencyStrategy"];

impl WebhookConfig {
    /// Checks the fields as Orkes does (name, id, what to do with an event, start versions);
    /// the verifier's keys are checked when its spec is built.
    pub fn validate_fields(&self) -> Result<(), ModelError> {
        if self.name.trim().is_empty() {
            return Err(bad("name is required"));
        }
        if let Some(id) = &self.id {
            if !valid_id(id) {
                return Err(bad(
                    "id must be 1-128 characters of letters, digits, '-', '_' or '.', starting \
                     with a letter or digit",
                ));
            }
        }
        // Never stored and ignored: hookd has no script evaluator (docs/orkes-differences.md).
        if self.expression.as_deref().is_some_and(|e| !e.trim().is_empty()) {
            return Err(bad(
                "expression is not supported by hookd (it evaluates no scripts): list the \
                 workflows in receiverWorkflowNamesToVersions and workflowsToStart instead",
            ));
        }
        if self.evaluator_type.as_deref().is_some_and(|e| !e.trim().is_empty()) {
            return Err(bad(
                "evaluatorType is not supported by hookd (it evaluates no expression): leave it out",
            ));
        }
        let has_receivers = self
            .receiver_workflow_names_to_versions
            .as_ref()
            .is_some_and(|m| !m.is_empty());
        let has_starts = self
            .workflows_to_start
            .as_ref()
            .is_some_and(|m| !m.is_empty());
        if !has_receivers && !has_starts {
            return Err(bad(
                "one of receiverWorkflowNamesToVersions or workflowsToStart is required",
            ));
        }
        if let Some(w) = &self.workflows_to_start {
            for (k, v) in w {
                if RESERVED_START_KEYS.contains(&k.as_str()) {
                    if !v.is_string() && !v.is_null() {
                        return Err(bad(format!("workflowsToStart.{k} must be a string")));
                    }
                } else if !v.is_i64() {
                    return Err(bad(format!(
                        "workflowsToStart.{k} must be an integer workflow version"
                    )));
                }
            }
            if w.keys().all(|k| RESERVED_START_KEYS.contains(&k.as_str())) && !has_receivers {
                return Err(bad("workflowsToStart names no workflow"));
            }
        }
        if let Some(m) = self.max_body_bytes {
            if m == 0 {
                return Err(bad("maxBodyBytes must be greater than 0"));
            }
        }
        if let Some(r) = self.rate_limit_per_second {
            if !r.is_finite() || r <= 0.0 || r > 1_000_000.0 {
                return Err(bad(
                    "rateLimitPerSecond must be greater than 0 and at most 1000000",
                ));
            }
        }
        match self.rate_limit_burst {
            Some(_) if self.rate_limit_per_second.is_none() => {
                return Err(bad("rateLimitBurst needs rateLimitPerSecond"));
            }
            Some(b) if b == 0 || b > 1_000_000 => {
                return Err(bad("rateLimitBurst must be between 1 and 1000000"));
            }
            _ => {}
        }
        if let Some(t) = &self.dedup_key {
            if t.len() > 1024 || !t.contains("${workflow.input.") {
                return Err(bad(
                    "dedupKey must be at most 1024 characters with at least one ${workflow.input.<path>}",
                ));
            }
        }
        for (i, c) in self.allowed_source_cidrs.iter().flatten().enumerate() {
            crate::client_addr::parse_cidr(c)
                .map_err(|m| bad(format!("allowedSourceCidrs[{i}]: {m}")))?;
        }
        Ok(())
    }

    /// Refuses a secret, secret key, header value or plugin secret equal to the mask `"***"`
    /// (which would otherwise become the real secret, and anyone could send it). On an update,
    /// call it after [`WebhookConfig::keep_masked_secrets_from`]: a mask left then had no
    /// stored value to keep (a new field, or a renamed header).
    pub fn check_no_masks(&self) -> Result<(), ModelError> {
        let masked = |v: &Option<String>| v.as_deref() == Some(MASK);
        let hint = "is the mask \"***\" and there is no stored value to keep: send the real value";
        if masked(&self.secret_value) {
            return Err(bad(format!("secretValue {hint}")));
        }
        if masked(&self.secret_key) {
            return Err(bad(format!("secretKey {hint}")));
        }
        for (k, v) in self.headers.iter().flatten() {
            if v == MASK {
                return Err(bad(format!("headers.{k} {hint}")));
            }
        }
        for (i, v) in self.plugin_secrets.iter().flatten().enumerate() {
            if v == MASK {
                return Err(bad(format!("pluginSecrets[{i}] {hint}")));
            }
        }
        Ok(())
    }

    /// A copy safe to show: secrets and header values replaced by `"***"`.
    pub fn masked(&self) -> WebhookConfig {
        let mut c = self.clone();
        if c.secret_value.as_deref().is_some_and(|s| !s.is_empty()) {
            c.secret_value = Some(MASK.into());
        }
        if c.secret_key.as_deref().is_some_and(|s| !s.is_empty()) {
            c.secret_key = Some(MASK.into());
        }
        if let Some(h) = &mut c.headers {
            for v in h.values_mut() {
                *v = MASK.into();
            }
        }
        if let Some(p) = &mut c.plugin_secrets {
            for v in p.iter_mut() {
                *v = MASK.into();
            }
        }
        for list in [&mut c.previous_secret_values, &mut c.previous_secret_keys] {
            for v in list.iter_mut().flatten() {
                *v = MASK.into();
            }
        }
        c
    }

    /// Every secret value with the name of its field (`secretValue`, `secretKey`,
    /// `headers.<name>`, `pluginSecrets`, `previousSecretValues`, `previousSecretKeys`): what is
    /// sealed at rest (`crate::seal`).
    pub fn secrets_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut out = Vec::new();
        if let Some(v) = &mut self.secret_value {
            out.push(("secretValue".to_string(), v));
        }
        if let Some(v) = &mut self.secret_key {
            out.push(("secretKey".to_string(), v));
        }
        for (k, v) in self.headers.iter_mut().flatten() {
            out.push((format!("headers.{k}"), v));
        }
        for (name, list) in [
            ("pluginSecrets", &mut self.plugin_secrets),
            ("previousSecretValues", &mut self.previous_secret_values),
            ("previousSecretKeys", &mut self.previous_secret_keys),
        ] {
            for v in list.iter_mut().flatten() {
                out.push((name.to_string(), v));
            }
        }
        out
    }

    /// For an update: wherever the new config sends `"***"`, keep the stored secret.
    pub fn keep_masked_secrets_from(&mut self, stored: &WebhookConfig) {
        if self.secret_value.as_deref() == Some(MASK) {
            self.secret_value = stored.secret_value.clone();
        }
        if self.secret_key.as_deref() == Some(MASK) {
            self.secret_key = stored.secret_key.clone();
        }
        if let Some(h) = &mut self.headers {
            for (k, v) in h.iter_mut() {
                if v == MASK {
                    if let Some(old) = stored.headers.as_ref().and_then(|o| o.get(k)) {
                        v.clone_from(old);
                    }
                }
            }
        }
        // pluginSecrets by position: `["***", "new"]` keeps the first and adds a second.
        if let Some(p) = &mut self.plugin_secrets {
            for (i, v) in p.iter_mut().enumerate() {
                if v == MASK {
                    if let Some(old) = stored.plugin_secrets.as_ref().and_then(|o| o.get(i)) {
                        v.clone_from(old);
                    }
                }
            }
        }
        // previousSecretValues / previousSecretKeys by position too; one position past the
        // stored list, `"***"` stands for the stored secretValue / secretKey, so
        // `{"secretValue": "new", "previousSecretValues": ["***"]}` starts a rotation.
        for (list, old_list, current) in [
            (
                &mut self.previous_secret_values,
                &stored.previous_secret_values,
                &stored.secret_value,
            ),
            (
                &mut self.previous_secret_keys,
                &stored.previous_secret_keys,
                &stored.secret_key,
            ),
        ] {
            let old = old_list.as_deref().unwrap_or_default();
            for (i, v) in list.iter_mut().flatten().enumerate() {
                if v == MASK {
                    let kept = if i < old.len() {
                        Some(&old[i])
                    } else if i == old.len() {
                        current.as_ref()
                    } else {
                        None
                    };
                    if let Some(k) = kept {
                        v.clone_from(k);
                    }
                }
            }
        }
    }

    /// The effective body limit.
    pub fn body_limit(&self, default: u64) -> u64 {
        self.max_body_bytes.unwrap_or(default)
    }
}

/// A webhook id: `[A-Za-z0-9][A-Za-z0-9._-]{0,127}` (so never `.`, `..` or any other
/// all-dots name, which paths and files would misread).
pub fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

impl VerifierKind {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            VerifierKind::HeaderBased => "HEADER_BASED",
            VerifierKind::SignatureBased => "SIGNATURE_BASED",
            VerifierKind::HmacBased => "HMAC_BASED",
            VerifierKind::SlackBased => "SLACK_BASED",
            VerifierKind::Stripe => "STRIPE",
            VerifierKind::Sendgrid => "SENDGRID",
            VerifierKind::Twitter => "TWITTER",
            VerifierKind::WasmPlugin => "WASM_PLUGIN",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gh() -> WebhookConfig {
        serde_json::from_value(serde_json::json!({
            "name": "gh", "verifier": "SIGNATURE_BASED", "headerKey": "X-Hub-Signature-256",
            "secretValue": "s3cr3t-value", "workflowsToStart": {"wf": 1},
            "headers": {"X-Token": "abc"}
        }))
        .unwrap()
    }

    #[test]
    fn masks_every_secret() {
        let m = serde_json::to_string(&gh().masked()).unwrap();
        assert!(!m.contains("s3cr3t-value") && !m.contains("abc"), "{m}");
        assert!(m.contains("\"secretValue\":\"***\""));
    }

    #[test]
    fn mask_on_update_keeps_secret() {
        let stored = gh();
        let mut upd = stored.masked();
        upd.keep_masked_secrets_from(&stored);
        assert_eq!(upd.secret_value.as_deref(), Some("s3cr3t-value"));
        assert_eq!(upd.headers.unwrap()["X-Token"], "abc");
    }

    #[test]
    fn every_secret_is_masked_and_visited() {
        let mut c = gh();
        c.secret_key = Some("sk-secret".into());
        c.plugin_secrets = Some(vec!["ps-secret".into()]);
        c.previous_secret_values = Some(vec!["prev-secret".into()]);
        c.previous_secret_keys = Some(vec!["prevkey-secret".into()]);
        let names: Vec<String> = c.secrets_mut().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "secretValue",
                "secretKey",
                "headers.X-Token",
                "pluginSecrets",
                "previousSecretValues",
                "previousSecretKeys"
            ]
        );
        let mut m = c.masked();
        for (name, v) in m.secrets_mut() {
            assert_eq!(v, MASK, "{name} not masked");
        }
        let text = serde_json::to_string(&c.masked()).unwrap();
        assert!(!text.contains("secret\""), "{text}");
    }

    #[test]
    fn masked_previous_secrets_rotate() {
        let stored = gh();
        let mut upd = stored.masked();
        upd.secret_value = Some("new-secret".into());
        upd.previous_secret_values = Some(vec![MASK.into(), MASK.into()]);
        upd.keep_masked_secrets_from(&stored);
        // position 0 = one past the (empty) stored list: the stored secretValue; beyond: kept
        // as "***" (refused when the spec is built).
        assert_eq!(
            upd.previous_secret_values.as_deref().unwrap(),
            ["s3cr3t-value", MASK]
        );
        let mut again = upd.masked();
        again.previous_secret_values = Some(vec![MASK.into()]);
        again.keep_masked_secrets_from(&upd);
        assert_eq!(
            again.previous_secret_values.as_deref().unwrap(),
            ["s3cr3t-value"]
        );
        assert_eq!(again.secret_value.as_deref(), Some("new-secret"));
    }

    #[test]
    fn field_messages() {
        let mut c = gh();
        c.workflows_to_start = None;
        let e = c.validate_fields().unwrap_err().to_string();
        assert!(e.contains("workflowsToStart"), "{e}");
        let mut c = gh();
        c.name = " ".into();
        assert!(c.validate_fields().unwrap_err().to_string().contains("name"));
        assert!(gh().validate_fields().is_ok());
    }

    #[test]
    fn expressions_are_refused_never_stored_and_ignored() {
        let mut c = gh();
        c.expression = Some("(function () { return {}; })()".into());
        let e = c.validate_fields().unwrap_err().to_string();
        assert!(e.starts_with("expression is not supported"), "{e}");
        c.workflows_to_start = None;
        let e = c.validate_fields().unwrap_err().to_string();
        assert!(e.starts_with("expression"), "an expression alone: {e}");
        let mut c = gh();
        c.evaluator_type = Some("javascript".into());
        let e = c.validate_fields().unwrap_err().to_string();
        assert!(e.starts_with("evaluatorType"), "{e}");
        // null or blank, as Orkes clients send when unset, are fine
        let mut c = gh();
        c.expression = Some(" ".into());
        c.evaluator_type = Some(String::new());
        assert!(c.validate_fields().is_ok());
    }

    #[test]
    fn ids() {
        for ok in ["a", "A9", "gh.push-1_x", &"x".repeat(128)] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", ".", "..", "...", ".a", "-a", "_a", "a/b", "a b", &"x".repeat(129)] {
            assert!(!valid_id(bad), "{bad}");
        }
        let mut c = gh();
        c.id = Some("..".into());
        assert!(c.validate_fields().unwrap_err().to_string().contains("id"));
    }

    #[test]
    fn masks_are_never_secrets() {
        let mut c = gh();
        c.check_no_masks().unwrap();
        c.secret_value = Some(MASK.into());
        assert!(c.check_no_masks().unwrap_err().to_string().contains("secretValue"));
        let mut c = gh();
        c.headers = Some([("X-Token".to_string(), MASK.to_string())].into());
        assert!(c.check_no_masks().unwrap_err().to_string().contains("headers.X-Token"));
        let mut c = gh();
        c.plugin_secrets = Some(vec!["real".into(), MASK.into()]);
        assert!(c.check_no_masks().unwrap_err().to_string().contains("pluginSecrets[1]"));
        // an update that renames a header key cannot keep a value stored under the old key
        let stored = gh();
        let mut upd = stored.masked();
        upd.headers = Some([("X-Other".to_string(), MASK.to_string())].into());
        upd.keep_masked_secrets_from(&stored);
        assert!(upd.check_no_masks().unwrap_err().to_string().contains("headers.X-Other"));
    }

    #[test]
    fn rate_limits_and_cidrs_are_checked() {
        let mut c = gh();
        c.rate_limit_per_second = Some(0.0);
        assert!(c.validate_fields().unwrap_err().to_string().contains("rateLimitPerSecond"));
        let mut c = gh();
        c.rate_limit_burst = Some(5);
        assert!(c.validate_fields().unwrap_err().to_string().contains("rateLimitBurst"));
        let mut c = gh();
        c.allowed_source_cidrs = Some(vec!["10.0.0.0/8".into(), "nope".into()]);
        let e = c.validate_fields().unwrap_err().to_string();
        assert!(e.contains("allowedSourceCidrs[1]"), "{e}");
    }

    #[test]
    fn unknown_verifier_is_rejected() {
        let r: Result<WebhookConfig, _> =
            serde_json::from_value(serde_json::json!({"name": "x", "verifier": "NOPE"}));
        assert!(r.is_err());
    }
}
