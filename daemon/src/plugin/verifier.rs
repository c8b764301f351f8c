//! `WASM_PLUGIN`: a webhook verified by a plugin.
//!
//! Model fields (hookd extensions; the Orkes `verifier` values are untouched):
//! `"verifier": "WASM_PLUGIN"`, `"plugin": "<name>"` (file stem in `[plugins] dir`),
//! `"pluginParams": {name: value}` (free-form strings), secrets in `secretValue` and the
//! optional list `pluginSecrets` (rotation; every entry masked as `"***"` in responses).
//! `toleranceSeconds` is passed on. The plugin is looked up by name when a request is admitted
//! ([`PluginVerifier::admit`]), so a reload takes effect at once for new requests; an admitted
//! call runs on the plugin version it was admitted with ([`PluginVerifier::verify_in`]).

use std::fmt;
use std::sync::Arc;

use super::origin::Origin;
use super::sandbox::bindings::hookd::verifier::types::{Request, Scheme, Settings};
use super::{PluginHost, PluginLink, PLUGIN_ERRORS_TOTAL};
use crate::model::WebhookConfig;
use hookd_verify::{Outcome, Reject, RequestParts, Secret, VerifyContext};

/// A configured plugin verifier.
#[derive(Clone)]
pub struct PluginVerifier {
    host: Option<Arc<PluginHost>>,
    plugin: String,
    path: String,
    secrets: Vec<Secret>,
    params: Vec<(String, String)>,
    tolerance: Option<u64>,
}

impl PluginVerifier {
    /// Builds the verifier of a `WASM_PLUGIN` webhook; the error names the field.
    pub fn new(link: &PluginLink, c: &WebhookConfig) -> Result<PluginVerifier, String> {
        let plugin = c
            .plugin
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or("plugin is required for verifier WASM_PLUGIN")?;
        if !super::valid_name(plugin) {
            return Err(format!(
                "plugin `{plugin}` is not a valid plugin name (1-64 letters, digits, '-' or '_')"
            ));
        }
        let host =
            match link {
                PluginLink::Off => return Err(
                    "verifier WASM_PLUGIN needs a plugin directory ([plugins] dir) on this hookd"
                        .into(),
                ),
                PluginLink::Deferred => None,
                // A missing plugin is no error here: a definition read back from the config
                // topic or snapshot must survive a plugin that is (for now) gone; its requests
                // answer `plugin_error` until it is back. New definitions are checked by
                // `check_loaded`.
                PluginLink::Host(h) => Some(h.clone()),
            };
        let mut secrets = Vec::new();
        if let Some(s) = c.secret_value.as_deref().filter(|s| !s.is_empty()) {
            secrets.push(Secret::new(s.as_bytes().to_vec()));
        }
        for (i, s) in c.plugin_secrets.iter().flatten().enumerate() {
            if s.is_empty() || s == crate::model::MASK {
                return Err(format!("pluginSecrets[{i}] must be a non-empty secret"));
            }
            secrets.push(Secret::new(s.as_bytes().to_vec()));
        }
        let params = c
            .plugin_params
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(PluginVerifier {
            host,
            plugin: plugin.to_owned(),
            path: format!("/webhook/{}", c.id.as_deref().unwrap_or_default()),
            secrets,
            params,
            tolerance: c.tolerance_seconds,
        })
    }

    /// Fails, naming the plugin and listing the loaded ones, when `c` is a `WASM_PLUGIN`
    /// webhook whose plugin the host has not loaded (admin API writes, static webhooks at
    /// start). Without a running host there is nothing to check.
    pub fn check_loaded(link: &PluginLink, c: &WebhookConfig) -> Result<(), String> {
        let (PluginLink::Host(h), Some(plugin)) = (link, c.plugin.as_deref().map(str::trim)) else {
            return Ok(());
        };
        if c.verifier != crate::model::VerifierKind::WasmPlugin || h.get(plugin).is_some() {
            return Ok(());
        }
        let loaded = h.names();
        Err(format!(
            "plugin `{plugin}` is not loaded (loaded: {})",
            if loaded.is_empty() {
                "none".to_string()
            } else {
                loaded.join(", ")
            }
        ))
    }

    /// The plugin's name.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// Whether the plugin is loaded now (a webhook whose plugin is not answers 503
    /// `plugin_unavailable`).
    pub fn is_loaded(&self) -> bool {
        self.host
            .as_ref()
            .is_some_and(|h| h.get(&self.plugin).is_some())
    }

    /// Waits for a call slot of the plugin (see [`super::Plugin::admit`]) and pins the plugin
    /// version then loaded: run the call with [`PluginVerifier::verify_in`]. When the plugin is
    /// not loaded the slot is empty (the call then reports it).
    pub async fn admit(&self) -> Result<Slot, super::Busy> {
        match self.host.as_ref().and_then(|h| h.get(&self.plugin)) {
            Some(p) => {
                let permit = p.admit().await?;
                Ok(Slot(Some((p, permit))))
            }
            None => Ok(Slot(None)),
        }
    }
}

/// One admitted call of a plugin: the plugin version admitted (a reload may since have replaced
/// it in the table) and its concurrency permit, held until dropped.
pub struct Slot(Option<(Arc<super::Plugin>, tokio::sync::OwnedSemaphorePermit)>);

impl Slot {
    /// Whether the plugin was not loaded when the call was admitted (the request answers 503
    /// `plugin_unavailable`).
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Runs `f` — the admitted call — from async code. While the plugin behaves the call runs
    /// inline (a few µs; handing it to another thread costs several times that, see
    /// benches/benches/plugin.rs); for a minute after one of its calls kept its thread busy
    /// past two epoch ticks or hit its deadline (see `sandbox::Watch`), calls go through
    /// `block_in_place`, so a looping plugin holds no async worker.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        if self.0.as_ref().is_some_and(|(p, _)| p.is_suspect()) {
            crate::clock::run_blocking(f)
        } else {
            f()
        }
    }
}

impl PluginVerifier {
    /// Calls `f` with the request as the plugin sees it. Everything is borrowed (the header
    /// block is written into a buffer kept per thread) except the public URL, built from
    /// `origin` (one allocation); more only when a webhook has more than four secrets or any
    /// params, or the request has a query.
    fn with_request<R>(
        &self,
        req: &RequestParts<'_>,
        ctx: &VerifyContext,
        origin: &Origin,
        f: impl FnOnce(Request<'_>) -> R,
    ) -> R {
        thread_local! {
            static HEADERS: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        // Secrets are set from strings, so they are always UTF-8.
        fn secret(s: &Secret) -> &str {
            std::str::from_utf8(s.expose()).unwrap_or_default()
        }
        let mut few = [""; 4];
        let many: Vec<&str>;
        let secrets: &[&str] = if self.secrets.len() <= few.len() {
            for (slot, s) in few.iter_mut().zip(&self.secrets) {
                *slot = secret(s);
            }
            &few[..self.secrets.len()]
        } else {
            many = self.secrets.iter().map(secret).collect();
            &many
        };
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let target = match req.query {
            Some(q) => std::borrow::Cow::Owned(format!("{}?{q}", self.path)),
            None => std::borrow::Cow::Borrowed(self.path.as_str()),
        };
        let url = origin.url(&target);
        HEADERS.with(|buf| {
            // A plugin call never re-enters this (plugins cannot call back into verifiers).
            let mut headers = buf.take();
            header_block_into(req.headers, &mut headers);
            let out = f(Request {
                method: req.method.as_str(),
                target: &target,
                headers: &headers,
                body: req.body,
                now_unix_seconds: ctx.now_unix,
                url_verified: ctx.url_verified,
                settings: Settings {
                    secrets,
                    params: &params,
                    tolerance_seconds: self.tolerance,
                },
                scheme: if origin.https {
                    Scheme::Https
                } else {
                    Scheme::Http
                },
                authority: &origin.authority,
                url: &url,
            });
            if headers.capacity() <= MAX_KEPT_HEADER_BUFFER {
                buf.replace(headers);
            }
            out
        })
    }

    /// Runs the admitted call of `slot` on the plugin version `slot` holds — not on whatever the
    /// table holds under the name now (after a reload, another version with its own instances):
    /// so calls that run at once on a plugin version are never more than its permits. A failing
    /// plugin is counted (`hookd_plugin_errors_total`) and answers [`Reject::PluginError`] (500
    /// `plugin_error`). `slot` must come from this verifier's [`PluginVerifier::admit`].
    pub fn verify_in(
        &self,
        slot: &Slot,
        req: &RequestParts<'_>,
        ctx: &VerifyContext,
        origin: &Origin,
    ) -> Result<Outcome, Reject> {
        let result = match (&self.host, &slot.0) {
            (Some(h), Some((p, _))) => self.with_request(req, ctx, origin, |r| h.call_on(p, r)),
            _ => Err(super::Failure::Missing),
        };
        self.answer(result)
    }

    /// Runs the plugin now loaded under the name, unadmitted: no concurrency bound (benchmarks,
    /// tools). Ingress admits first and calls [`PluginVerifier::verify_in`]. Failures as there.
    /// The request's origin is plain HTTP to its `Host`.
    pub fn verify(&self, req: &RequestParts<'_>, ctx: &VerifyContext) -> Result<Outcome, Reject> {
        let origin = Origin::of(&http::Uri::from_static("/"), req.headers, false, false, None);
        let result = match &self.host {
            Some(h) => self.with_request(req, ctx, &origin, |r| h.call(&self.plugin, r)),
            None => Err(super::Failure::Missing),
        };
        self.answer(result)
    }

    /// The answer to a plugin call's result (failures counted and logged).
    fn answer(
        &self,
        result: Result<super::sandbox::Checked, super::Failure>,
    ) -> Result<Outcome, Reject> {
        match result {
            Ok(checked) => checked,
            Err(f) => {
                metrics::counter!(PLUGIN_ERRORS_TOTAL, "plugin" => self.plugin.clone(), "kind" => f.kind())
                    .increment(1);
                tracing::warn!(plugin = %self.plugin, kind = f.kind(), "plugin failed: {f}; answering 500");
                Err(Reject::PluginError)
            }
        }
    }
}

/// Largest header-block buffer kept per thread for the next request, bytes.
const MAX_KEPT_HEADER_BUFFER: usize = 16 * 1024;

/// `name: value` lines joined by `\n` (see `headers` in the WIT file).
pub fn header_block(headers: &http::HeaderMap) -> String {
    let mut out = String::new();
    header_block_into(headers, &mut out);
    out
}

/// [`header_block`] into `out` (cleared first).
pub fn header_block_into(headers: &http::HeaderMap, out: &mut String) {
    out.clear();
    out.reserve(
        headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 3)
            .sum(),
    );
    for (n, v) in headers {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(n.as_str());
        out.push_str(": ");
        // A HeaderValue never holds CR or LF, so a line is always one header. Values are
        // nearly always UTF-8 (ASCII) without surrounding blanks: both checked cheaply first.
        let b = v.as_bytes();
        let padded = |b: &[u8]| {
            b.first().is_some_and(u8::is_ascii_whitespace)
                || b.last()
                    .is_some_and(|c| c.is_ascii_whitespace() || !c.is_ascii())
        };
        match std::str::from_utf8(b) {
            Ok(s) if !padded(b) => out.push_str(s),
            Ok(s) => out.push_str(s.trim()),
            Err(_) => out.push_str(String::from_utf8_lossy(b).trim()),
        }
    }
}

impl fmt::Debug for PluginVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginVerifier")
            .field("plugin", &self.plugin)
            .field("secrets", &self.secrets.len())
            .field("params", &self.params.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn hook(extra: serde_json::Value) -> WebhookConfig {
        let mut v = serde_json::json!({"id": "w1", "name": "p", "verifier": "WASM_PLUGIN",
            "plugin": "standard-webhooks", "secretValue": "whsec_first",
            "pluginSecrets": ["whsec_second", "whsec_third"], "pluginParams": {"b": "2", "a": "1"},
            "workflowsToStart": {"wf": 1}});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn plugin_secrets_are_masked_and_kept_by_position() {
        let stored = hook(serde_json::json!({}));
        let shown = serde_json::to_string(&stored.masked()).unwrap();
        assert!(!shown.contains("whsec_"), "{shown}");
        assert!(
            shown.contains(r#""pluginSecrets":["***","***"]"#),
            "{shown}"
        );
        assert!(shown.contains(r#""verifier":"WASM_PLUGIN""#));
        let mut upd = stored.masked();
        upd.plugin_secrets = Some(vec!["***".into(), "whsec_new".into()]);
        upd.keep_masked_secrets_from(&stored);
        assert_eq!(
            upd.plugin_secrets.unwrap(),
            vec!["whsec_second".to_string(), "whsec_new".to_string()]
        );
        assert_eq!(upd.secret_value.as_deref(), Some("whsec_first"));
    }

    #[test]
    fn settings_and_field_errors() {
        let v = PluginVerifier::new(&PluginLink::Deferred, &hook(serde_json::json!({}))).unwrap();
        assert_eq!(v.secrets.len(), 3, "secretValue then pluginSecrets");
        assert_eq!(v.secrets[0].expose(), b"whsec_first");
        assert_eq!(
            v.params[0],
            ("a".into(), "1".into()),
            "params sorted by name"
        );
        assert_eq!(v.path, "/webhook/w1");
        assert!(!format!("{v:?}").contains("whsec"), "Debug hides secrets");
        // Without a secret: fine (e.g. Discord takes a public key in pluginParams).
        let none = hook(serde_json::json!({"secretValue": null, "pluginSecrets": null}));
        assert!(PluginVerifier::new(&PluginLink::Deferred, &none).is_ok());
        let cases = [
            (serde_json::json!({"plugin": null}), "plugin is required"),
            (
                serde_json::json!({"plugin": "../x"}),
                "not a valid plugin name",
            ),
            (
                serde_json::json!({"pluginSecrets": [""]}),
                "pluginSecrets[0]",
            ),
            (
                serde_json::json!({"pluginSecrets": ["a", "***"]}),
                "pluginSecrets[1]",
            ),
        ];
        for (extra, msg) in cases {
            let e = PluginVerifier::new(&PluginLink::Deferred, &hook(extra.clone())).unwrap_err();
            assert!(e.contains(msg), "{extra}: {e}");
        }
        let e = PluginVerifier::new(&PluginLink::Off, &hook(serde_json::json!({}))).unwrap_err();
        assert!(e.contains("[plugins] dir"), "{e}");
    }

    const MIN: &str = "[server]\nadmin_token = \"secret-token\"\n";

    #[test]
    fn plugins_config_defaults_and_validation() {
        let c = Config::from_toml(MIN).unwrap();
        assert_eq!(c.plugins.dir, None);
        assert_eq!(c.plugins.memory_limit_bytes, 16 * 1024 * 1024);
        assert_eq!(c.plugins.deadline_ms, 5);
        for (bad, field) in [
            ("deadline_ms = 0", "plugins.deadline_ms"),
            ("memory_limit_bytes = 1000", "plugins.memory_limit_bytes"),
            ("pool_size = 100000", "plugins.pool_size"),
            ("max_output_bytes = 0", "plugins.max_output_bytes"),
            ("dir = \"\"", "plugins.dir"),
            ("nope = 1", "nope"),
        ] {
            let e = Config::from_toml(&format!("{MIN}[plugins]\n{bad}\n")).unwrap_err();
            assert!(e.to_string().contains(field), "{bad}: {e}");
        }
    }
}
