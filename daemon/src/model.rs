//! The webhook configuration model (Orkes `WebhookConfig`, JSON camelCase), its validation,
//! secret masking, and the mapping from a config to a ready-to-run [`Verifier`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::VerifyConfig;
use crate::verify::{self, Secret, Verifier};

/// What every API response shows instead of a secret.
pub const MASK: &str = "***";

/// `{key, value}` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    /// Optional script (stored, not evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Evaluator of `expression`.
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
}

/// The `verifier` enum. Orkes values are kept verbatim; hookd adds its own without breaking them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Orkes' Twitter CRC verifier: accepted in the model, not supported by hookd yet.
    Twitter,
    /// hookd: a sandboxed WebAssembly verifier plugin, named by `plugin`.
    WasmPlugin,
}

/// Why a webhook config is invalid (→ 400). Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A field is missing or wrong.
    #[error("{0}")]
    Invalid(String),
    /// The verifier's key material is unusable.
    #[error(transparent)]
    Key(#[from] verify::KeyError),
}

fn bad(msg: impl Into<String>) -> ModelError {
    ModelError::Invalid(msg.into())
}

const RESERVED_START_KEYS: [&str; 2] = ["idempotencyKey", "idempotencyStrategy"];

impl WebhookConfig {
    /// Checks the config as Orkes does (spec §1) and that a verifier can be built from it.
    pub fn validate(&self, defaults: &VerifyConfig) -> Result<(), ModelError> {
        if self.name.trim().is_empty() {
            return Err(bad("name is required"));
        }
        if let Some(id) = &self.id {
            if id.is_empty()
                || id.len() > 128
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(bad(
                    "id must be 1-128 characters of letters, digits, '-', '_' or '.'",
                ));
            }
        }
        let has_receivers = self
            .receiver_workflow_names_to_versions
            .as_ref()
            .is_some_and(|m| !m.is_empty());
        let has_starts = self
            .workflows_to_start
            .as_ref()
            .is_some_and(|m| !m.is_empty());
        if self
            .expression
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
            && !has_receivers
            && !has_starts
        {
            return Err(bad(
                "one of expression, receiverWorkflowNamesToVersions or workflowsToStart is required",
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
            if w.keys().all(|k| RESERVED_START_KEYS.contains(&k.as_str()))
                && !has_receivers
                && self.expression.is_none()
            {
                return Err(bad("workflowsToStart names no workflow"));
            }
        }
        if let Some(m) = self.max_body_bytes {
            if m == 0 {
                return Err(bad("maxBodyBytes must be greater than 0"));
            }
        }
        crate::plugin::PluginVerifier::check_loaded(&defaults.plugins, self).map_err(bad)?;
        self.build_verifier(defaults)?;
        Ok(())
    }

    /// Builds the verifier (decoding keys); fails with a message naming the field.
    pub fn build_verifier(&self, d: &VerifyConfig) -> Result<Verifier, ModelError> {
        let secret = || -> Result<Secret, ModelError> {
            match self.secret_value.as_deref() {
                Some(s) if !s.is_empty() && s != MASK => Ok(Secret::new(s.as_bytes().to_vec())),
                _ => Err(bad(format!(
                    "secretValue is required for verifier {}",
                    self.verifier.as_str()
                ))),
            }
        };
        let tol = |default: u64| self.tolerance_seconds.unwrap_or(default);
        Ok(match self.verifier {
            VerifierKind::HeaderBased => {
                let headers = self
                    .headers
                    .as_ref()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| bad("HEADER_BASED needs at least one entry in headers"))?;
                let mut list = Vec::with_capacity(headers.len());
                for (k, v) in headers {
                    if http::HeaderName::from_bytes(k.as_bytes()).is_err() {
                        return Err(bad(format!("headers: `{k}` is not a valid header name")));
                    }
                    if v.is_empty() {
                        return Err(bad(format!("headers.{k} must not be empty")));
                    }
                    list.push((k.clone(), Secret::new(v.as_bytes().to_vec())));
                }
                Verifier::Header(verify::header::HeaderVerifier::new(list)?)
            }
            VerifierKind::SignatureBased => Verifier::GitHub(verify::github::GitHubVerifier::new(
                self.header_key.clone(),
                vec![secret()?],
            )?),
            VerifierKind::HmacBased => Verifier::Teams(verify::teams::TeamsVerifier::new(
                self.header_key.clone(),
                &secret()?,
            )?),
            VerifierKind::SlackBased => {
                let s = match self.secret_value.as_deref() {
                    Some(s) if !s.is_empty() => Some(Secret::new(s.as_bytes().to_vec())),
                    _ => None,
                };
                Verifier::Slack(verify::slack::SlackVerifier::new(
                    s,
                    tol(d.slack_tolerance_secs),
                )?)
            }
            VerifierKind::Stripe => Verifier::Stripe(verify::stripe::StripeVerifier::new(
                vec![secret()?],
                tol(d.stripe_tolerance_secs),
            )?),
            VerifierKind::Sendgrid => {
                let key = self
                    .secret_key
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| bad("secretKey (SendGrid public key) is required"))?;
                let t = tol(d.sendgrid_tolerance_secs);
                Verifier::SendGrid(verify::sendgrid::SendGridVerifier::new(
                    key,
                    (t > 0).then_some(t),
                )?)
            }
            VerifierKind::Twitter => {
                return Err(bad("verifier TWITTER is not supported by hookd"));
            }
            VerifierKind::WasmPlugin => {
                Verifier::Plugin(crate::plugin::PluginVerifier::new(&d.plugins, self).map_err(bad)?)
            }
        })
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
        c
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
    }

    /// The effective body limit.
    pub fn body_limit(&self, default: u64) -> u64 {
        self.max_body_bytes.unwrap_or(default)
    }
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
    fn validation_messages() {
        let d = VerifyConfig::default();
        let mut c = gh();
        c.workflows_to_start = None;
        assert!(c
            .validate(&d)
            .unwrap_err()
            .to_string()
            .contains("workflowsToStart"));
        let mut c = gh();
        c.secret_value = None;
        assert!(c
            .validate(&d)
            .unwrap_err()
            .to_string()
            .contains("secretValue"));
        let mut c = gh();
        c.verifier = VerifierKind::HeaderBased;
        c.headers = None;
        assert!(c.validate(&d).unwrap_err().to_string().contains("headers"));
        let mut c = gh();
        c.verifier = VerifierKind::HmacBased;
        c.secret_value = Some("not base64!!".into());
        assert!(c.validate(&d).is_err());
        let mut c = gh();
        c.verifier = VerifierKind::Sendgrid;
        c.secret_key = Some("AAAA".into());
        assert!(c.validate(&d).is_err());
        assert!(gh().validate(&d).is_ok());
    }

    #[test]
    fn unknown_verifier_is_rejected() {
        let r: Result<WebhookConfig, _> =
            serde_json::from_value(serde_json::json!({"name": "x", "verifier": "NOPE"}));
        assert!(r.is_err());
    }
}
