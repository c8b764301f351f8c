//! Checks admin API answers against the Orkes client-model fixtures in `tests/fixtures/orkes/`
//! (see its README), field by field and type by type, the way Jackson would read them into the
//! Java models of an Orkes client.

use serde_json::Value;

/// The models with a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// `WebhookConfig`.
    WebhookConfig,
    /// `WebhookExecutionHistory`.
    WebhookExecutionHistory,
    /// `Tag`.
    Tag,
    /// Conductor's `ErrorResponse`.
    ErrorResponse,
}

impl Model {
    fn file(self) -> &'static str {
        match self {
            Model::WebhookConfig => "WebhookConfig",
            Model::WebhookExecutionHistory => "WebhookExecutionHistory",
            Model::Tag => "Tag",
            Model::ErrorResponse => "ErrorResponse",
        }
    }

    /// Fields of a Java primitive type: they must be present (Jackson would silently default
    /// them otherwise).
    fn primitives(self) -> &'static [&'static str] {
        match self {
            Model::WebhookConfig => &["urlVerified"],
            Model::WebhookExecutionHistory => &["matched", "timeStamp"],
            Model::Tag => &[],
            Model::ErrorResponse => &["status", "retryable"],
        }
    }

    /// `Map<String, V>` fields: keys are free, values typed like the fixture's values.
    fn maps(self) -> &'static [&'static str] {
        match self {
            Model::WebhookConfig => &[
                "receiverWorkflowNamesToVersions",
                "workflowsToStart",
                "headers",
            ],
            _ => &[],
        }
    }

    /// Nested models, by field.
    fn nested(self, field: &str) -> Option<Model> {
        match (self, field) {
            (Model::WebhookConfig, "tags") => Some(Model::Tag),
            (Model::WebhookConfig, "webhookExecutionHistory") => {
                Some(Model::WebhookExecutionHistory)
            }
            _ => None,
        }
    }

    /// Java enums, by field: the only values a client can read.
    fn enum_values(self, field: &str) -> Option<&'static [&'static str]> {
        match (self, field) {
            (Model::WebhookConfig, "verifier") => Some(&[
                "SLACK_BASED",
                "SIGNATURE_BASED",
                "HEADER_BASED",
                "STRIPE",
                "TWITTER",
                "HMAC_BASED",
                "SENDGRID",
            ]),
            _ => None,
        }
    }

    /// hookd's extra fields (the client ignores unknown properties of these models; see
    /// `docs/orkes-differences.md`). `Tag` has none: its client model does not ignore unknowns.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Model::WebhookConfig => &[
                "maxBodyBytes",
                "toleranceSeconds",
                "plugin",
                "pluginParams",
                "pluginSecrets",
            ],
            Model::WebhookExecutionHistory => &["dryRun", "deadLetter"],
            Model::Tag | Model::ErrorResponse => &[],
        }
    }

    /// The fixture document.
    pub fn fixture(self) -> Value {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/orkes")
            .join(format!("{}.json", self.file()));
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap()
    }
}

/// Checks `actual` against `model`'s fixture; the error names the field and both types.
pub fn check(model: Model, actual: &Value) -> Result<(), String> {
    check_at(model, actual, model.file())
}

fn check_at(model: Model, actual: &Value, at: &str) -> Result<(), String> {
    let fixture = model.fixture();
    let (Some(fx), Some(act)) = (fixture.as_object(), actual.as_object()) else {
        return Err(format!("{at}: expected an object, got {actual}"));
    };
    for p in model.primitives() {
        if !act.contains_key(*p) {
            return Err(format!("{at}.{p}: missing (a Java primitive)"));
        }
    }
    for (k, v) in act {
        let path = format!("{at}.{k}");
        let Some(example) = fx.get(k) else {
            if model.extensions().contains(&k.as_str()) {
                continue;
            }
            return Err(format!("{path}: not a field of the Orkes model"));
        };
        if v.is_null() {
            if model.primitives().contains(&k.as_str()) {
                return Err(format!("{path}: null for a Java primitive"));
            }
            continue;
        }
        if let Some(allowed) = model.enum_values(k) {
            if !v.as_str().is_some_and(|s| allowed.contains(&s)) {
                return Err(format!("{path}: {v} is not one of the Java enum's values"));
            }
            continue;
        }
        if let Some(inner) = model.nested(k) {
            let list = v
                .as_array()
                .ok_or_else(|| format!("{path}: expected a list, got {v}"))?;
            for (i, x) in list.iter().enumerate() {
                check_at(inner, x, &format!("{path}[{i}]"))?;
            }
            continue;
        }
        if model.maps().contains(&k.as_str()) {
            let m = v
                .as_object()
                .ok_or_else(|| format!("{path}: expected a map, got {v}"))?;
            let kinds: Vec<&str> = example
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, x)| kind(x))
                .collect();
            for (mk, mv) in m {
                if !kinds.contains(&kind(mv)) {
                    return Err(format!(
                        "{path}.{mk}: a {} where the model holds {kinds:?}",
                        kind(mv)
                    ));
                }
            }
            continue;
        }
        same_type(example, v, &path)?;
    }
    Ok(())
}

/// JSON type name, integers apart from other numbers (Java `int`/`long` vs `double`).
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn same_type(example: &Value, v: &Value, path: &str) -> Result<(), String> {
    if kind(example) != kind(v) {
        return Err(format!(
            "{path}: a {} where the model has a {} (Java reads it as {example})",
            kind(v),
            kind(example)
        ));
    }
    match (example, v) {
        (Value::Array(ex), Value::Array(vs)) => {
            if let Some(first) = ex.first() {
                for (i, x) in vs.iter().enumerate() {
                    same_type(first, x, &format!("{path}[{i}]"))?;
                }
            }
            Ok(())
        }
        (Value::Object(ex), Value::Object(vs)) => {
            for (k, x) in vs {
                match ex.get(k) {
                    Some(e) if !x.is_null() => same_type(e, x, &format!("{path}.{k}"))?,
                    Some(_) => {}
                    None => return Err(format!("{path}.{k}: not a field of the model")),
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
