//! A client for the Conductor REST API the sink uses (`docs/sink.md`, "Conductor REST calls"),
//! with Orkes auth, timeouts and retries with backoff and jitter on timeouts, 429 and 5xx.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::ConductorConfig;
use crate::verify::Secret;

/// A Conductor call failure, classified for the sink.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConductorError {
    /// Timeout, connection error, 429 or 5xx: retry later.
    #[error("conductor unavailable: {0}")]
    Transient(String),
    /// 409.
    #[error("conductor conflict: {0}")]
    Conflict(String),
    /// 404.
    #[error("not found")]
    NotFound,
    /// Any other 4xx: retrying will not help.
    #[error("conductor rejected the request with {status}: {message}")]
    Permanent {
        /// HTTP status.
        status: u16,
        /// Conductor's message (never contains hookd secrets).
        message: String,
    },
}

/// `StartWorkflowRequest`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowRequest {
    /// Workflow name.
    pub name: String,
    /// Version.
    pub version: i64,
    /// Correlation id (hookd sets a deterministic token used to recover after a crash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Input: the event payload (`hookd_payload::build`).
    pub input: Map<String, Value>,
    /// Always empty.
    #[serde(default)]
    pub task_to_domain: Map<String, Value>,
    /// Always 0.
    pub priority: i32,
    /// The webhook's `createdBy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Resolved idempotency key (omitted when empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// `FAIL`, `RETURN_EXISTING` or `FAIL_ON_RUNNING` (with a key only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_strategy: Option<String>,
}

/// The parts of `Workflow` the sink reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowInfo {
    /// Id.
    #[serde(default)]
    pub workflow_id: String,
    /// Version.
    #[serde(default)]
    pub workflow_version: i64,
    /// RUNNING, PAUSED, COMPLETED, FAILED, TIMED_OUT, TERMINATED.
    #[serde(default)]
    pub status: String,
    /// Start time, epoch ms (0 when absent): a correlated start older than the de-duplication
    /// window does not count.
    #[serde(default)]
    pub create_time: i64,
}

/// The parts of `Task` the sink reads.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Task {
    /// Task id.
    pub task_id: String,
    /// Task type.
    pub task_type: String,
    /// Status.
    pub status: String,
    /// Reference name (may carry a loop suffix `__N`).
    pub reference_task_name: String,
    /// Workflow id.
    pub workflow_instance_id: String,
    /// Workflow name.
    pub workflow_type: String,
    /// Input (holds `matches`).
    pub input_data: Map<String, Value>,
}

/// `TaskResult`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    /// Workflow id.
    pub workflow_instance_id: String,
    /// Task id.
    pub task_id: String,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`, `FAILED_WITH_TERMINAL_ERROR`.
    pub status: String,
    /// Output.
    #[serde(default)]
    pub output_data: Map<String, Value>,
    /// Keep-alive for `IN_PROGRESS`.
    #[serde(default)]
    pub callback_after_seconds: u64,
    /// Reason for failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Worker id.
    #[serde(default)]
    pub worker_id: String,
    /// Logs.
    #[serde(default)]
    pub logs: Vec<Value>,
}

struct Auth {
    key_id: String,
    key_secret: Secret,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    /// `/api/token` answered 404: the server has no auth (Conductor OSS).
    disabled: AtomicBool,
}

/// The Conductor client.
#[derive(Clone)]
pub struct ConductorClient {
    http: reqwest::Client,
    base: Arc<str>,
    auth: Option<Arc<Auth>>,
    max_attempts: u32,
}

const TOKEN_TTL: Duration = Duration::from_secs(45 * 60);

/// Every `op` of `hookd_conductor_request_duration_seconds`.
pub const OPS: &[&str] = &[
    "correlated",
    "start",
    "get_workflow",
    "poll",
    "update_task",
    "token",
    "other",
];

fn op_label(path: &str) -> &'static str {
    if path.starts_with("/workflow/") && path.contains("/correlated/") {
        "correlated"
    } else if path == "/workflow" {
        "start"
    } else if path.starts_with("/workflow/") {
        "get_workflow"
    } else if path.starts_with("/tasks/poll") {
        "poll"
    } else if path == "/tasks" {
        "update_task"
    } else if path == "/token" {
        "token"
    } else {
        "other"
    }
}

impl ConductorClient {
    /// A client for `cfg.url` (must be set) keeping up to `idle` keep-alive connections (the
    /// most calls the sink makes at once), so that concurrent calls reuse connections instead
    /// of opening new ones.
    pub fn new(cfg: &ConductorConfig, idle: usize) -> Result<Self, String> {
        let url = cfg.url.as_deref().ok_or("conductor.url is not set")?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms.min(5000)))
            .pool_max_idle_per_host(idle.max(64))
            .build()
            .map_err(|e| format!("conductor client: {e}"))?;
        let auth = match (&cfg.key_id, &cfg.key_secret) {
            (Some(id), Some(secret)) => Some(Arc::new(Auth {
                key_id: id.clone(),
                key_secret: Secret::new(secret.as_bytes().to_vec()),
                token: tokio::sync::Mutex::new(None),
                disabled: AtomicBool::new(false),
            })),
            _ => None,
        };
        Ok(Self {
            http,
            base: url.trim_end_matches('/').into(),
            auth,
            max_attempts: cfg.max_attempts,
        })
    }

    async fn token(&self, force: bool) -> Result<Option<String>, ConductorError> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        if auth.disabled.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut guard = auth.token.lock().await;
        if let Some((t, at)) = guard.as_ref() {
            if !force && at.elapsed() < TOKEN_TTL {
                return Ok(Some(t.clone()));
            }
        }
        let body = serde_json::json!({
            "keyId": auth.key_id,
            "keySecret": String::from_utf8_lossy(auth.key_secret.expose()),
        });
        let resp = self
            .http
            .post(format!("{}/token", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| ConductorError::Transient(format!("token: {}", without_url(&e))))?;
        match resp.status() {
            StatusCode::NOT_FOUND => {
                tracing::info!("conductor has no /api/token: running without auth");
                auth.disabled.store(true, Ordering::Relaxed);
                Ok(None)
            }
            s if s.is_success() => {
                #[derive(Deserialize)]
                struct T {
                    token: String,
                }
                let t: T = resp
                    .json()
                    .await
                    .map_err(|e| ConductorError::Transient(format!("token response: {e}")))?;
                *guard = Some((t.token.clone(), Instant::now()));
                Ok(Some(t.token))
            }
            s => Err(classify(s, "token request refused".into())),
        }
    }

    /// One call with auth, retries (backoff + jitter) and latency metrics.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, String), ConductorError> {
        self.call_with(method, path, body, self.max_attempts).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        max_attempts: u32,
    ) -> Result<(StatusCode, String), ConductorError> {
        let op = op_label(path.split('?').next().unwrap_or(path));
        let mut attempt = 0;
        let mut reminted = false;
        loop {
            attempt += 1;
            let start = Instant::now();
            let res = self.once(&method, path, body).await;
            let outcome = match &res {
                Ok(_) => "ok",
                Err(ConductorError::Transient(_)) => "transient",
                Err(ConductorError::Permanent { .. }) => "permanent",
                Err(ConductorError::Conflict(_)) => "conflict",
                Err(ConductorError::NotFound) => "not_found",
            };
            metrics::histogram!(crate::metrics::CONDUCTOR_REQUEST_SECONDS, "op" => op, "outcome" => outcome)
                .record(start.elapsed().as_secs_f64());
            match res {
                Err(ConductorError::Permanent {
                    status: 401,
                    message,
                }) if !reminted
                    && self.auth.is_some()
                    && (message.contains("EXPIRED_TOKEN") || message.contains("INVALID_TOKEN")) =>
                {
                    reminted = true;
                    self.token(true).await?;
                }
                Err(ConductorError::Transient(e)) if attempt < max_attempts => {
                    let backoff = 100u64 << (attempt - 1).min(6);
                    let jitter = fastrand::u64(0..=backoff / 2);
                    tracing::debug!(op, attempt, error = %e, "conductor call failed; retrying");
                    tokio::time::sleep(Duration::from_millis(backoff + jitter)).await;
                }
                other => return other,
            }
        }
    }

    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, String), ConductorError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = self.token(false).await? {
            req = req.header("X-Authorization", t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ConductorError::Transient(without_url(&e)))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| ConductorError::Transient(without_url(&e)))?;
        if status.is_success() {
            Ok((status, text))
        } else {
            Err(classify(status, error_message(&text)))
        }
    }

    /// `POST /workflow` → the new workflow's id. Never retried here: a start is not idempotent
    /// on Conductor OSS, so after a transient failure the caller must first look the start up by
    /// its correlation id (see `sink::starts`).
    pub async fn start_workflow(
        &self,
        req: &StartWorkflowRequest,
    ) -> Result<String, ConductorError> {
        let body = serde_json::to_value(req).map_err(|e| ConductorError::Permanent {
            status: 0,
            message: e.to_string(),
        })?;
        let (_, text) = self
            .call_with(Method::POST, "/workflow", Some(&body), 1)
            .await?;
        Ok(unquote(&text))
    }

    /// `GET /workflow/{id}?includeTasks=false`.
    pub async fn get_workflow(&self, id: &str) -> Result<WorkflowInfo, ConductorError> {
        let (_, text) = self
            .call(
                Method::GET,
                &format!("/workflow/{}?includeTasks=false", enc(id)),
                None,
            )
            .await?;
        serde_json::from_str(&text)
            .map_err(|e| ConductorError::Transient(format!("workflow JSON: {e}")))
    }

    /// `GET /workflow/{name}/correlated/{correlationId}?includeClosed=true&includeTasks=false`.
    pub async fn correlated(
        &self,
        name: &str,
        correlation_id: &str,
    ) -> Result<Vec<WorkflowInfo>, ConductorError> {
        let path = format!(
            "/workflow/{}/correlated/{}?includeClosed=true&includeTasks=false",
            enc(name),
            enc(correlation_id)
        );
        let (_, text) = self.call(Method::GET, &path, None).await?;
        serde_json::from_str(&text)
            .map_err(|e| ConductorError::Transient(format!("correlated JSON: {e}")))
    }

    /// `GET /tasks/poll/batch/{taskType}?workerid=&count=&timeout=`.
    pub async fn poll_batch(
        &self,
        task_type: &str,
        worker: &str,
        count: u32,
        timeout_ms: u64,
    ) -> Result<Vec<Task>, ConductorError> {
        let path = format!(
            "/tasks/poll/batch/{}?workerid={}&count={count}&timeout={timeout_ms}",
            enc(task_type),
            enc(worker)
        );
        let (status, text) = self.call(Method::GET, &path, None).await?;
        if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(&text)
            .map_err(|e| ConductorError::Transient(format!("tasks JSON: {e}")))
    }

    /// `POST /tasks` with a `TaskResult`.
    pub async fn update_task(&self, r: &TaskResult) -> Result<(), ConductorError> {
        let body = serde_json::to_value(r).map_err(|e| ConductorError::Permanent {
            status: 0,
            message: e.to_string(),
        })?;
        self.call(Method::POST, "/tasks", Some(&body))
            .await
            .map(|_| ())
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn unquote(text: &str) -> String {
    let t = text.trim();
    serde_json::from_str::<String>(t).unwrap_or_else(|_| t.to_string())
}

/// reqwest errors print the URL; ours has no secrets, but keep messages short anyway.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "<conductor>");
    }
    format!("{kind}: {s}")
}

fn error_message(text: &str) -> String {
    #[derive(Deserialize)]
    struct E {
        #[serde(default)]
        message: String,
        #[serde(default)]
        code: String,
        #[serde(default)]
        error: String,
    }
    match serde_json::from_str::<E>(text) {
        Ok(e) => [e.code, e.error, e.message]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(": "),
        Err(_) => text.chars().take(200).collect(),
    }
}

fn classify(status: StatusCode, message: String) -> ConductorError {
    match status.as_u16() {
        404 => ConductorError::NotFound,
        409 => ConductorError::Conflict(message),
        408 | 429 => ConductorError::Transient(format!("{status}: {message}")),
        s if s >= 500 => ConductorError::Transient(format!("{status}: {message}")),
        s => ConductorError::Permanent { status: s, message },
    }
}
