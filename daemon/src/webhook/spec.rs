//! What a webhook definition means, built once when it is registered: its verifier (keys decoded,
//! plugin resolved), its body limit, the workflows it starts and how, the workflows whose waits
//! it may complete. Ingress and the sink read this typed [`Spec`]; the Orkes wire struct
//! ([`WebhookConfig`]) stays at the API edge.

use std::collections::BTreeMap;

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::client_addr::{canonical, parse_cidr};
use crate::ratelimit::{quota, WebhookLimiter};

use crate::config::VerifyConfig;
use crate::model::{VerifierKind, WebhookConfig, MASK};
use crate::plugin::{PluginLink, PluginVerifier};
use crate::verify::{github, header, sendgrid, slack, stripe, teams, twitter, Secret, Verifier};

/// `workflowsToStart.idempotencyStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Start only if no execution with this key ever existed.
    Fail,
    /// Return the existing execution, start nothing.
    ReturnExisting,
    /// Start only if no RUNNING or PAUSED execution has this key.
    FailOnRunning,
}

impl Strategy {
    /// Missing or unknown → `FAIL` (Orkes' default).
    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("RETURN_EXISTING") => Strategy::ReturnExisting,
            Some("FAIL_ON_RUNNING") => Strategy::FailOnRunning,
            _ => Strategy::Fail,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Fail => "FAIL",
            Strategy::ReturnExisting => "RETURN_EXISTING",
            Strategy::FailOnRunning => "FAIL_ON_RUNNING",
        }
    }
}

/// The typed meaning of one webhook definition.
#[derive(Debug)]
pub struct Spec {
    /// The verifier, ready to run.
    pub verifier: Verifier,
    /// `maxBodyBytes` (`None`: `server.max_body_bytes`).
    pub max_body_bytes: Option<u64>,
    /// Workflows to start per event: name → version (the reserved keys removed).
    pub starts: Vec<(String, i64)>,
    /// `idempotencyKey` template (non-empty), resolved per event against its payload.
    pub idempotency_key: Option<String>,
    /// `idempotencyStrategy`.
    pub strategy: Strategy,
    /// hookd `dedupKey` template: identifies a delivery when the provider sends no id.
    pub dedup_key: Option<String>,
    /// Workflows whose `WAIT_FOR_WEBHOOK` tasks this webhook's events may complete.
    pub receivers: BTreeMap<String, i64>,
    /// `rateLimitPerSecond` / `rateLimitBurst`: the webhook's request rate limiter.
    pub rate_limit: Option<WebhookLimiter>,
    /// `allowedSourceCidrs` (empty: any source).
    pub allowed_sources: Vec<IpNet>,
}

impl Spec {
    /// Whether `client` may send to this webhook (`allowedSourceCidrs`).
    pub fn source_allowed(&self, client: IpAddr) -> bool {
        let ip = canonical(client);
        self.allowed_sources.is_empty() || self.allowed_sources.iter().any(|n| n.contains(&ip))
    }

    /// The effective body limit.
    pub fn body_limit(&self, default: u64) -> u64 {
        self.max_body_bytes.unwrap_or(default)
    }
}

/// Builds [`Spec`]s: the verifier defaults (plain config) and the plugin host (a runtime
/// handle), passed in when the registry is built.
#[derive(Debug, Clone)]
pub struct SpecBuilder {
    /// `[verify]`: verifier defaults.
    pub defaults: VerifyConfig,
    /// How `WASM_PLUGIN` webhooks find their plugin.
    pub plugins: PluginLink,
}

impl SpecBuilder {
    /// A builder for webhooks that use no plugin (`WASM_PLUGIN` definitions are refused); the
    /// benches build their verifiers with it.
    #[cfg(any(test, feature = "testing"))]
    pub fn without_plugins(defaults: VerifyConfig) -> Self {
        Self {
            defaults,
            plugins: PluginLink::Off,
        }
    }

    /// Checks a definition (fields, keys, plugin) and builds its spec; the error names the
    /// field, never a secret.
    pub fn build(&self, c: &WebhookConfig) -> Result<Spec, String> {
        PluginVerifier::check_loaded(&self.plugins, c)?;
        self.build_shared(c)
    }

    /// [`SpecBuilder::build`] of a definition read back (config topic, snapshot): its plugin
    /// need not be loaded now — the webhook survives and answers 503 `plugin_unavailable`
    /// until the plugin is back, rather than being dropped.
    pub fn build_shared(&self, c: &WebhookConfig) -> Result<Spec, String> {
        c.validate_fields().map_err(|e| e.to_string())?;
        let verifier = self.verifier(c)?;
        let mut spec = Self::spec(c, verifier);
        if let Some(r) = c.rate_limit_per_second {
            let q = quota(r, c.rate_limit_burst).map_err(|e| format!("rateLimitPerSecond {e}"))?;
            spec.rate_limit = Some(WebhookLimiter::new(q));
        }
        Ok(spec)
    }

    /// The spec of a definition whose secrets no configured key opens: everything but the
    /// verifier, which is [`Verifier::Unavailable`] (the sink still handles its events).
    pub fn build_unavailable(&self, c: &WebhookConfig) -> Spec {
        Self::spec(c, Verifier::Unavailable)
    }

    fn spec(c: &WebhookConfig, verifier: Verifier) -> Spec {
        let wts = c.workflows_to_start.as_ref();
        let reserved = |k: &str| wts.and_then(|w| w.get(k)).and_then(Value::as_str);
        Spec {
            verifier,
            max_body_bytes: c.max_body_bytes,
            starts: wts
                .into_iter()
                .flatten()
                .filter_map(|(name, v)| Some((name.clone(), v.as_i64()?)))
                .collect(),
            idempotency_key: reserved("idempotencyKey")
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            strategy: Strategy::parse(reserved("idempotencyStrategy")),
            dedup_key: c.dedup_key.clone().filter(|t| !t.is_empty()),
            receivers: c
                .receiver_workflow_names_to_versions
                .clone()
                .unwrap_or_default(),
            // Set by `build` (an unavailable definition gets no limiter: it answers 503).
            rate_limit: None,
            allowed_sources: c
                .allowed_source_cidrs
                .iter()
                .flatten()
                .filter_map(|s| parse_cidr(s).ok())
                .collect(),
        }
    }

    fn verifier(&self, c: &WebhookConfig) -> Result<Verifier, String> {
        let d = &self.defaults;
        let key = |e: crate::verify::KeyError| e.to_string();
        let secret = || -> Result<Secret, String> {
            match c.secret_value.as_deref() {
                Some(s) if !s.is_empty() && s != MASK => Ok(Secret::new(s.as_bytes().to_vec())),
                _ => Err(format!(
                    "secretValue is required for verifier {}",
                    c.verifier.as_str()
                )),
            }
        };
        let tol = |default: u64| c.tolerance_seconds.unwrap_or(default);
        let previous = previous_secrets(c)?;
        let previous_keys = c.previous_secret_keys.as_deref().unwrap_or_default();
        if !previous.is_empty()
            && !matches!(
                c.verifier,
                VerifierKind::SignatureBased
                    | VerifierKind::HmacBased
                    | VerifierKind::SlackBased
                    | VerifierKind::Stripe
            )
        {
            return Err(format!(
                "previousSecretValues does not apply to verifier {} (SENDGRID: previousSecretKeys; WASM_PLUGIN: pluginSecrets)",
                c.verifier.as_str()
            ));
        }
        if !previous_keys.is_empty() && c.verifier != VerifierKind::Sendgrid {
            return Err("previousSecretKeys applies only to verifier SENDGRID".into());
        }
        if previous_keys.iter().any(|k| k.is_empty() || k == MASK) {
            return Err(
                "previousSecretKeys entries must be non-empty keys (\"***\" there names no stored key)"
                    .into(),
            );
        }
        let with_previous = || -> Result<Vec<Secret>, String> {
            let mut all = vec![secret()?];
            all.extend(previous.iter().cloned());
            Ok(all)
        };
        Ok(match c.verifier {
            VerifierKind::HeaderBased => {
                let headers = c
                    .headers
                    .as_ref()
                    .filter(|h| !h.is_empty())
                    .ok_or("HEADER_BASED needs at least one entry in headers")?;
                let mut list = Vec::with_capacity(headers.len());
                for (k, v) in headers {
                    if http::HeaderName::from_bytes(k.as_bytes()).is_err() {
                        return Err(format!("headers: `{k}` is not a valid header name"));
                    }
                    if v.is_empty() {
                        return Err(format!("headers.{k} must not be empty"));
                    }
                    list.push((k.clone(), Secret::new(v.as_bytes().to_vec())));
                }
                Verifier::Header(header::HeaderVerifier::new(list).map_err(key)?)
            }
            VerifierKind::SignatureBased => Verifier::GitHub(
                github::GitHubVerifier::new(c.header_key.clone(), with_previous()?)
                    .map_err(key)?,
            ),
            VerifierKind::HmacBased => Verifier::Teams(
                teams::TeamsVerifier::new(c.header_key.clone(), &secret()?)
                    .and_then(|v| v.with_previous(&previous))
                    .map_err(key)?,
            ),
            VerifierKind::SlackBased => {
                let s = c
                    .secret_value
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .map(|s| Secret::new(s.as_bytes().to_vec()));
                Verifier::Slack(
                    slack::SlackVerifier::new(s, tol(d.slack_tolerance_secs))
                        .and_then(|v| v.with_previous(&previous))
                        .map_err(key)?,
                )
            }
            VerifierKind::Stripe => Verifier::Stripe(
                stripe::StripeVerifier::new(with_previous()?, tol(d.stripe_tolerance_secs))
                    .map_err(key)?,
            ),
            VerifierKind::Sendgrid => {
                let k = c
                    .secret_key
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .ok_or("secretKey (SendGrid public key) is required")?;
                let t = tol(d.sendgrid_tolerance_secs);
                Verifier::SendGrid(
                    sendgrid::SendGridVerifier::new(k, (t > 0).then_some(t))
                        .and_then(|v| v.with_previous(previous_keys))
                        .map_err(key)?,
                )
            }
            VerifierKind::Twitter => {
                Verifier::Twitter(twitter::TwitterVerifier::new(&secret()?).map_err(key)?)
            }
            VerifierKind::WasmPlugin => Verifier::Plugin(PluginVerifier::new(&self.plugins, c)?),
        })
    }
}

/// `previousSecretValues` as secrets; an empty entry, or a `"***"` that named no stored secret,
/// is refused.
fn previous_secrets(c: &WebhookConfig) -> Result<Vec<Secret>, String> {
    let list = c.previous_secret_values.as_deref().unwrap_or_default();
    list.iter()
        .enumerate()
        .map(|(i, s)| {
            if s.is_empty() || s == MASK {
                Err(format!(
                    "previousSecretValues[{i}] must be a non-empty secret (\"***\" there names no stored secret)"
                ))
            } else {
                Ok(Secret::new(s.as_bytes().to_vec()))
            }
        })
        .collect()
}

/// Checks the static `[[webhooks]]` of a configuration as far as can be done without starting
/// anything (`hookd check-config`; the daemon checks them again when it builds its registry):
/// fields, keys, that `plugins.dir` is a readable directory, and that each `WASM_PLUGIN`
/// webhook names a plugin that has a `<name>.wasm` there (whether it compiles is checked when
/// the daemon loads it).
pub fn check_static(cfg: &crate::config::Config) -> Result<(), String> {
    let plugin_files = match &cfg.plugins.dir {
        Some(dir) => Some(crate::plugin::plugin_names(dir).map_err(|e| e.to_string())?),
        None => None,
    };
    let builder = SpecBuilder {
        defaults: cfg.verify.clone(),
        plugins: match cfg.plugins.dir {
            Some(_) => PluginLink::Deferred,
            None => PluginLink::Off,
        },
    };
    for (i, w) in cfg.webhooks.iter().enumerate() {
        let id = w.id.as_deref().unwrap_or_default();
        builder
            .build(w)
            .map_err(|e| format!("webhooks[{i}] (id {id}): {e}"))?;
        if let (Some(names), Some(p)) = (&plugin_files, w.plugin.as_deref()) {
            if w.verifier == crate::model::VerifierKind::WasmPlugin && !names.contains(p) {
                return Err(format!(
                    "webhooks[{i}] (id {id}): plugin \"{p}\" is not in plugins.dir {} (no {p}.wasm there)",
                    cfg.plugins.dir.as_deref().unwrap_or(std::path::Path::new("")).display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gh() -> WebhookConfig {
        serde_json::from_value(serde_json::json!({
            "name": "gh", "verifier": "SIGNATURE_BASED", "headerKey": "X-Hub-Signature-256",
            "secretValue": "s3cr3t-value",
            "workflowsToStart": {"wf": 1, "other": 2, "idempotencyKey": "k-${workflow.input.id}",
                "idempotencyStrategy": "RETURN_EXISTING"},
            "receiverWorkflowNamesToVersions": {"waiter": 3}
        }))
        .unwrap()
    }

    fn builder() -> SpecBuilder {
        SpecBuilder::without_plugins(VerifyConfig::default())
    }

    #[test]
    fn typed_spec() {
        let s = builder().build(&gh()).unwrap();
        assert_eq!(s.starts, vec![("other".into(), 2), ("wf".into(), 1)]);
        assert_eq!(s.idempotency_key.as_deref(), Some("k-${workflow.input.id}"));
        assert_eq!(s.strategy, Strategy::ReturnExisting);
        assert_eq!(s.receivers["waiter"], 3);
        assert_eq!(s.verifier.kind(), "github");
        assert_eq!(s.body_limit(7), 7);
    }

    #[test]
    fn validation_messages() {
        let b = builder();
        let err = |c: &WebhookConfig| b.build(c).unwrap_err();
        let mut c = gh();
        c.workflows_to_start = None;
        c.receiver_workflow_names_to_versions = None;
        assert!(err(&c).contains("workflowsToStart"));
        let mut c = gh();
        c.secret_value = None;
        assert!(err(&c).contains("secretValue"));
        let mut c = gh();
        c.verifier = VerifierKind::HeaderBased;
        c.headers = None;
        assert!(err(&c).contains("headers"));
        let mut c = gh();
        c.verifier = VerifierKind::HmacBased;
        c.secret_value = Some("not base64!!".into());
        assert!(b.build(&c).is_err());
        let mut c = gh();
        c.verifier = VerifierKind::Sendgrid;
        c.secret_key = Some("AAAA".into());
        assert!(b.build(&c).is_err());
        let mut c = gh();
        c.verifier = VerifierKind::WasmPlugin;
        c.plugin = Some("p".into());
        assert!(err(&c).contains("plugin"), "{}", err(&c));
    }

    #[test]
    fn previous_secrets_verify_and_are_checked() {
        use crate::verify::{sign, RequestParts, VerifyContext};
        let b = builder();
        let mut c = gh();
        c.secret_value = Some("new-secret".into());
        c.previous_secret_values = Some(vec!["old-secret".into()]);
        let spec = b.build(&c).unwrap();
        let body = b"{}";
        let check = |secret: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(
                "x-hub-signature-256",
                sign::github_sha256(secret.as_bytes(), body).parse().unwrap(),
            );
            let req = RequestParts {
                method: &http::Method::POST,
                headers: &h,
                query: None,
                body,
            };
            let ctx = VerifyContext {
                now_unix: 0,
                url_verified: false,
            };
            spec.verifier.verify(&req, &ctx).is_ok()
        };
        assert!(check("new-secret") && check("old-secret") && !check("other"));
        for bad in ["", MASK] {
            c.previous_secret_values = Some(vec![bad.into()]);
            let e = b.build(&c).unwrap_err();
            assert!(e.contains("previousSecretValues[0]"), "{e}");
        }
        c.previous_secret_values = Some(vec!["x".into()]);
        c.verifier = VerifierKind::HeaderBased;
        c.headers = Some([("X-T".to_string(), "v".to_string())].into());
        assert!(b.build(&c).unwrap_err().contains("does not apply"));
        let mut c = gh();
        c.previous_secret_keys = Some(vec!["k".into()]);
        assert!(b.build(&c).unwrap_err().contains("SENDGRID"));
        // Without its secrets a definition still has its starts; its verifier refuses.
        let s = b.build_unavailable(&gh());
        assert!(s.verifier.is_unavailable() && s.starts.len() == 2);
    }

    #[test]
    fn static_plugin_webhooks_need_a_plugin_host() {
        use crate::config::Config;
        let min = "[server]\nadmin_token = \"secret-token\"\n";
        let hook = "[[webhooks]]\nid = \"p\"\nname = \"p\"\nverifier = \"WASM_PLUGIN\"\n\
                    plugin = \"shopify\"\nworkflowsToStart = { wf = 1 }\n";
        let c = Config::from_toml(&format!("{min}{hook}")).unwrap();
        let e = check_static(&c).unwrap_err();
        assert!(e.contains("webhooks[0]") && e.contains("[plugins] dir"), "{e}");
        // With a host configured, the name must have a `<name>.wasm` in the directory (whether
        // it compiles is checked when the daemon loads it).
        let dir = tempfile::tempdir().unwrap();
        let with_dir = format!("{min}[plugins]\ndir = \"{}\"\n{hook}", dir.path().display());
        let c = Config::from_toml(&with_dir).unwrap();
        let e = check_static(&c).unwrap_err();
        assert!(e.contains("\"shopify\" is not in plugins.dir"), "{e}");
        std::fs::write(dir.path().join("shopify.wasm"), b"\0asm").unwrap();
        check_static(&c).unwrap();
        let c = Config::from_toml(&format!("{min}[plugins]\ndir = \"/nonexistent\"\n{hook}")).unwrap();
        assert!(check_static(&c).unwrap_err().contains("plugins.dir /nonexistent"));
    }
}
