//! A Conductor API double: an HTTP server implementing the endpoints hookd's sink uses
//! (`docs/sink.md`, "Conductor REST calls") with their real JSON shapes — workflow starts (with or without idempotency enforcement, like
//! Orkes or OSS), workflow lookup and correlation search, task batch polls, task updates — plus
//! switches to inject outages, latency, lost responses, 400s and Orkes token auth.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

/// A started workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: i64,
    /// RUNNING, COMPLETED, TERMINATED, …
    pub status: String,
    /// Input.
    pub input: Value,
    /// The whole StartWorkflowRequest as received (null for scheduled-by-test workflows).
    pub request: Value,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Start time, epoch ms.
    pub create_time: i64,
}

/// A task of a workflow.
#[derive(Debug, Clone)]
pub struct TaskRec {
    /// Task JSON fields.
    pub task_id: String,
    /// Type.
    pub task_type: String,
    /// Reference name.
    pub reference: String,
    /// Workflow id.
    pub workflow_id: String,
    /// SCHEDULED, IN_PROGRESS, COMPLETED, …
    pub status: String,
    /// Input data.
    pub input: Value,
    /// Output once completed.
    pub output: Value,
    /// Not pollable before this instant (callbackAfterSeconds).
    pub visible_at: Instant,
    /// How many times it was polled.
    pub poll_count: u32,
    /// Updates received after it was already terminal (ignored, like Conductor).
    pub late_updates: u32,
    /// `reasonForIncompletion` of the update that failed it.
    pub reason: Option<String>,
}

#[derive(Default)]
struct St {
    workflows: Vec<Workflow>,
    tasks: Vec<TaskRec>,
    oss: bool,
    unavailable: bool,
    latency: Duration,
    /// Next N starts: create the workflow, then answer 503 (a response lost after the effect).
    lose_start_responses: u32,
    /// Starts create the workflow, then hang this long before answering.
    hang_starts: Option<Duration>,
    auth: Option<(String, String)>,
    tokens: Vec<String>,
    tokens_minted: u32,
    requests: u32,
    /// Indexes (the throughput benchmark holds tens of thousands of workflows and tasks).
    wf_by_id: HashMap<String, usize>,
    wf_by_correlation: HashMap<(String, String), Vec<usize>>,
    task_by_id: HashMap<String, usize>,
}

impl St {
    fn add_workflow(&mut self, w: Workflow) {
        let i = self.workflows.len();
        self.wf_by_id.insert(w.id.clone(), i);
        if let Some(c) = &w.correlation_id {
            self.wf_by_correlation
                .entry((w.name.clone(), c.clone()))
                .or_default()
                .push(i);
        }
        self.workflows.push(w);
    }

    fn workflow_mut(&mut self, id: &str) -> Option<&mut Workflow> {
        let i = *self.wf_by_id.get(id)?;
        self.workflows.get_mut(i)
    }
}

/// The double.
#[derive(Clone)]
pub struct ConductorDouble {
    st: Arc<Mutex<St>>,
    /// Where it listens.
    pub addr: SocketAddr,
}

fn err(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"status": status.as_u16(), "code": status.canonical_reason(), "message": message, "retryable": status.is_server_error(), "validationErrors": []})),
    )
        .into_response()
}

impl ConductorDouble {
    /// Starts the double on 127.0.0.1:0.
    pub async fn start() -> Self {
        let st = Arc::new(Mutex::new(St::default()));
        let app = Router::new()
            .route("/api/token", post(token))
            .route("/api/workflow", post(start_workflow))
            .route("/api/workflow/{id}", get(get_workflow))
            .route("/api/workflow/{name}/correlated/{cid}", get(correlated))
            .route("/api/tasks/poll/batch/{task_type}", get(poll_batch))
            .route("/api/tasks", post(update_task))
            .layer(middleware::from_fn_with_state(st.clone(), gate))
            .with_state(st.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        Self { st, addr }
    }

    /// The `[conductor] url` to give hookd.
    pub fn url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// OSS mode: accept idempotency fields but ignore them.
    pub fn set_oss(&self, on: bool) {
        self.st.lock().unwrap().oss = on;
    }
    /// Every API call answers 503 while on.
    pub fn set_unavailable(&self, on: bool) {
        self.st.lock().unwrap().unavailable = on;
    }
    /// Added latency per call.
    pub fn set_latency(&self, d: Duration) {
        self.st.lock().unwrap().latency = d;
    }
    /// The next `n` starts take effect but answer 503.
    pub fn lose_start_responses(&self, n: u32) {
        self.st.lock().unwrap().lose_start_responses = n;
    }
    /// Starts take effect, then hang for `d` (None: answer normally).
    pub fn hang_starts(&self, d: Option<Duration>) {
        self.st.lock().unwrap().hang_starts = d;
    }
    /// Requires Orkes auth with this key.
    pub fn require_auth(&self, key_id: &str, key_secret: &str) {
        self.st.lock().unwrap().auth = Some((key_id.into(), key_secret.into()));
    }
    /// Invalidates every issued token (the next call gets 401 EXPIRED_TOKEN).
    pub fn expire_tokens(&self) {
        self.st.lock().unwrap().tokens.clear();
    }
    /// Tokens minted so far.
    pub fn tokens_minted(&self) -> u32 {
        self.st.lock().unwrap().tokens_minted
    }

    /// Workflows started through the API (not scheduled by the test), in order.
    pub fn started(&self) -> Vec<Workflow> {
        self.st
            .lock()
            .unwrap()
            .workflows
            .iter()
            .filter(|w| !w.request.is_null())
            .cloned()
            .collect()
    }
    /// Started workflows with this name.
    pub fn started_named(&self, name: &str) -> Vec<Workflow> {
        self.started()
            .into_iter()
            .filter(|w| w.name == name)
            .collect()
    }
    /// A workflow by id.
    pub fn workflow(&self, id: &str) -> Option<Workflow> {
        self.st
            .lock()
            .unwrap()
            .workflows
            .iter()
            .find(|w| w.id == id)
            .cloned()
    }
    /// Sets a workflow's status (e.g. COMPLETED so FAIL_ON_RUNNING may start again).
    pub fn set_status(&self, id: &str, status: &str) {
        if let Some(w) = self
            .st
            .lock()
            .unwrap()
            .workflows
            .iter_mut()
            .find(|w| w.id == id)
        {
            w.status = status.into();
        }
    }
    /// A task by id.
    pub fn task(&self, id: &str) -> Option<TaskRec> {
        self.st
            .lock()
            .unwrap()
            .tasks
            .iter()
            .find(|t| t.task_id == id)
            .cloned()
    }

    /// How many tasks have `status`.
    pub fn tasks_with_status(&self, status: &str) -> usize {
        self.st
            .lock()
            .unwrap()
            .tasks
            .iter()
            .filter(|t| t.status == status)
            .count()
    }

    /// API calls received so far, of every kind.
    pub fn requests(&self) -> u32 {
        self.st.lock().unwrap().requests
    }

    /// Number of workflows started through the API (cheaper than `started().len()`).
    pub fn started_count(&self) -> usize {
        self.st
            .lock()
            .unwrap()
            .workflows
            .iter()
            .filter(|w| !w.request.is_null())
            .count()
    }

    /// Schedules a workflow (name, version, input) whose task `reference` of type `task_type`
    /// waits with `matches`; `${workflow.input.x}` values are resolved now, as Conductor does.
    /// Returns (workflow id, task id).
    pub fn schedule_wait(
        &self,
        name: &str,
        version: i64,
        reference: &str,
        task_type: &str,
        input: Value,
        matches: Value,
    ) -> (String, String) {
        let resolved = Self::resolve(&input, &matches);
        self.schedule_task(
            name,
            version,
            reference,
            task_type,
            input,
            json!({ "matches": resolved }),
        )
    }

    /// Resolves `${workflow.input.x}` values of `matches` against `input`, as Conductor does
    /// when it schedules a task.
    fn resolve(input: &Value, matches: &Value) -> Map<String, Value> {
        let mut resolved = Map::new();
        for (k, v) in matches.as_object().unwrap() {
            let v = match v
                .as_str()
                .and_then(|s| s.strip_prefix("${workflow.input."))
                .and_then(|s| s.strip_suffix('}'))
            {
                Some(path) => input
                    .pointer(&format!("/{}", path.replace('.', "/")))
                    .cloned()
                    .unwrap_or(Value::Null),
                None => v.clone(),
            };
            resolved.insert(k.clone(), v);
        }
        resolved
    }

    /// Schedules a workflow (name, version, input) with one task `reference` of type
    /// `task_type` whose `inputData` is `input_data` as given (e.g. without `matches`).
    /// Returns (workflow id, task id).
    pub fn schedule_task(
        &self,
        name: &str,
        version: i64,
        reference: &str,
        task_type: &str,
        input: Value,
        input_data: Value,
    ) -> (String, String) {
        let mut g = self.st.lock().unwrap();
        let wid = uuid::Uuid::new_v4().to_string();
        let tid = uuid::Uuid::new_v4().to_string();
        g.add_workflow(Workflow {
            id: wid.clone(),
            name: name.into(),
            version,
            status: "RUNNING".into(),
            input,
            request: Value::Null,
            correlation_id: None,
            create_time: now_ms(),
        });
        let ti = g.tasks.len();
        g.task_by_id.insert(tid.clone(), ti);
        g.tasks.push(TaskRec {
            task_id: tid.clone(),
            task_type: task_type.into(),
            reference: reference.into(),
            workflow_id: wid.clone(),
            status: "SCHEDULED".into(),
            input: input_data,
            output: Value::Null,
            visible_at: Instant::now(),
            poll_count: 0,
            late_updates: 0,
            reason: None,
        });
        (wid, tid)
    }

    /// Waits until `f` holds (polling), or panics after `timeout`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, f: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !f(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

type S = Arc<Mutex<St>>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn gate(State(st): State<S>, req: Request, next: Next) -> Response {
    let (latency, unavailable, auth, tokens) = {
        let mut g = st.lock().unwrap();
        g.requests += 1;
        (g.latency, g.unavailable, g.auth.clone(), g.tokens.clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if unavailable {
        return err(StatusCode::SERVICE_UNAVAILABLE, "conductor is down (test)");
    }
    if auth.is_some() && req.uri().path() != "/api/token" {
        let ok = req
            .headers()
            .get("x-authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| tokens.iter().any(|x| x == t));
        if !ok {
            return err(StatusCode::UNAUTHORIZED, "EXPIRED_TOKEN");
        }
    }
    next.run(req).await
}

async fn token(State(st): State<S>, body: Bytes) -> Response {
    let mut g = st.lock().unwrap();
    let Some((id, secret)) = g.auth.clone() else {
        return err(StatusCode::NOT_FOUND, "no auth");
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    if v["keyId"] != id.as_str() || v["keySecret"] != secret.as_str() {
        return err(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
    }
    g.tokens_minted += 1;
    let t = format!("token-{}", g.tokens_minted);
    g.tokens.push(t.clone());
    Json(json!({ "token": t })).into_response()
}

async fn start_workflow(State(st): State<S>, body: Bytes) -> Response {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let name = req["name"].as_str().unwrap_or_default().to_string();
    if name.starts_with("missing") {
        return err(
            StatusCode::BAD_REQUEST,
            &format!("No such workflow found by name: {name}"),
        );
    }
    let (id, hang, lose) = {
        let mut g = st.lock().unwrap();
        let key = req["idempotencyKey"].as_str().map(str::to_owned);
        if let (false, Some(key)) = (g.oss, key) {
            let strategy = req["idempotencyStrategy"].as_str().unwrap_or("FAIL");
            let existing = g
                .workflows
                .iter()
                .rfind(|w| w.name == name && w.request["idempotencyKey"] == key.as_str())
                .cloned();
            if let Some(w) = existing {
                match strategy {
                    "RETURN_EXISTING" => return w.id.clone().into_response(),
                    "FAIL_ON_RUNNING" if !matches!(w.status.as_str(), "RUNNING" | "PAUSED") => {}
                    _ => {
                        return err(
                            StatusCode::CONFLICT,
                            "Workflow with this idempotency key exists",
                        )
                    }
                }
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        g.add_workflow(Workflow {
            id: id.clone(),
            name,
            version: req["version"].as_i64().unwrap_or(1),
            status: "RUNNING".into(),
            input: req["input"].clone(),
            correlation_id: req["correlationId"].as_str().map(str::to_owned),
            create_time: now_ms(),
            request: req,
        });
        let lose = g.lose_start_responses > 0;
        if lose {
            g.lose_start_responses -= 1;
        }
        (id, g.hang_starts, lose)
    };
    if let Some(d) = hang {
        tokio::time::sleep(d).await;
    }
    if lose {
        return err(StatusCode::SERVICE_UNAVAILABLE, "response lost (test)");
    }
    (StatusCode::OK, [("content-type", "text/plain")], id).into_response()
}

fn wf_json(w: &Workflow) -> Value {
    json!({"workflowId": w.id, "workflowName": w.name, "workflowVersion": w.version,
        "status": w.status, "input": w.input, "correlationId": w.correlation_id, "createTime": w.create_time,
        "workflowDefinition": {"name": w.name, "version": w.version}, "tasks": []})
}

async fn get_workflow(State(st): State<S>, Path(id): Path<String>) -> Response {
    match st
        .lock()
        .unwrap()
        .workflow_mut(&id)
        .map(|w| w.clone())
        .as_ref()
    {
        Some(w) => Json(wf_json(w)).into_response(),
        None => err(
            StatusCode::NOT_FOUND,
            &format!("No such workflow found by id: {id}"),
        ),
    }
}

async fn correlated(State(st): State<S>, Path((name, cid)): Path<(String, String)>) -> Response {
    let g = st.lock().unwrap();
    let list: Vec<Value> = g
        .wf_by_correlation
        .get(&(name, cid))
        .into_iter()
        .flatten()
        .map(|&i| wf_json(&g.workflows[i]))
        .collect();
    Json(list).into_response()
}

async fn poll_batch(
    State(st): State<S>,
    Path(task_type): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let count: usize = q.get("count").and_then(|c| c.parse().ok()).unwrap_or(1);
    let mut g = st.lock().unwrap();
    let now = Instant::now();
    let wfs: HashMap<String, (String, String)> = g
        .workflows
        .iter()
        .map(|w| (w.id.clone(), (w.name.clone(), w.status.clone())))
        .collect();
    let mut out = Vec::new();
    for t in g.tasks.iter_mut() {
        if out.len() >= count {
            break;
        }
        let running = wfs.get(&t.workflow_id).is_some_and(|(_, s)| s == "RUNNING");
        if t.task_type == task_type
            && running
            && matches!(t.status.as_str(), "SCHEDULED" | "IN_PROGRESS")
            && t.visible_at <= now
        {
            t.status = "IN_PROGRESS".into();
            t.poll_count += 1;
            t.visible_at = now + Duration::from_secs(3600);
            let wname = wfs
                .get(&t.workflow_id)
                .map(|x| x.0.clone())
                .unwrap_or_default();
            out.push(json!({"taskId": t.task_id, "taskType": t.task_type, "taskDefName": t.task_type,
                "status": "IN_PROGRESS", "referenceTaskName": t.reference,
                "workflowInstanceId": t.workflow_id, "workflowType": wname,
                "inputData": t.input, "outputData": {}, "pollCount": t.poll_count,
                "responseTimeoutSeconds": 3600, "workflowTask": {"type": t.task_type, "taskReferenceName": t.reference}}));
        }
    }
    Json(out).into_response()
}

async fn update_task(State(st): State<S>, _h: HeaderMap, body: Bytes) -> Response {
    let r: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let tid = r["taskId"].as_str().unwrap_or_default().to_string();
    let mut g = st.lock().unwrap();
    let Some(&ti) = g.task_by_id.get(&tid) else {
        return err(StatusCode::NOT_FOUND, "No such task");
    };
    let Some(t) = g.tasks.get_mut(ti) else {
        return err(StatusCode::NOT_FOUND, "No such task");
    };
    if matches!(
        t.status.as_str(),
        "COMPLETED" | "FAILED" | "FAILED_WITH_TERMINAL_ERROR" | "CANCELED" | "TIMED_OUT"
    ) {
        t.late_updates += 1; // Conductor ignores updates of terminal tasks
        return tid.into_response();
    }
    match r["status"].as_str().unwrap_or_default() {
        "IN_PROGRESS" => {
            let after = r["callbackAfterSeconds"].as_u64().unwrap_or(0);
            t.visible_at = Instant::now() + Duration::from_secs(after);
        }
        s @ ("COMPLETED" | "FAILED" | "FAILED_WITH_TERMINAL_ERROR") => {
            t.status = s.into();
            t.output = r["outputData"].clone();
            t.reason = r["reasonForIncompletion"].as_str().map(str::to_owned);
            let wid = t.workflow_id.clone();
            // one task per workflow here: its end is the workflow's (no retries configured)
            let wf_status = if s == "COMPLETED" {
                "COMPLETED"
            } else {
                "FAILED"
            };
            if let Some(w) = g.workflow_mut(&wid) {
                w.status = wf_status.into();
            }
        }
        _ => return err(StatusCode::BAD_REQUEST, "invalid status"),
    }
    tid.into_response()
}
