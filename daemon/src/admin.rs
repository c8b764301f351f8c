//! The Orkes-compatible admin API (`/api/metadata/webhook…`), plus `/healthz`, `/readyz` and
//! `/metrics`, on `admin_listen`.
//!
//! Auth (`crate::auth`): `X-Authorization: <credential>` (Orkes style) or
//! `Authorization: Bearer <credential>`, where the credential is the static `admin_token` or a
//! token from `POST /api/token`; anything else is 401, a `read` identity's non-GET 403. Every
//! response masks secrets as `"***"`.
//! Every error answer has Conductor's `ErrorResponse` shape (`crate::error::conductor_shape`).
//!
//! Every route is registered through `utoipa_axum::routes!` from its handler's
//! `#[utoipa::path]` annotation, so the router and the OpenAPI document (`GET
//! /api/openapi.json`, [`document`]) are built from the same list.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use http::StatusCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::{Principal, TokenRequest};
use crate::error::ApiError;
use crate::model::{Tag, WebhookConfig};
use crate::openapi::{ApiDoc, ErrorBody, PluginList, TokenRequestBody, TokenResponse};
use crate::plugin::ReloadReport;
use crate::state::AppState;
use crate::webhook::Entry;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type ApiRouter = OpenApiRouter<Arc<AppState>>;

/// Routes that need the admin token.
fn protected() -> ApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(get_tags, put_tags, delete_tags))
        .routes(routes!(list_plugins))
        .routes(routes!(reload_plugins))
}

/// Routes without the admin token (`/metrics` checks `server.metrics_token` itself).
fn open() -> ApiRouter {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document of every admin route.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(open().split_for_parts().1);
    doc.merge(protected().split_for_parts().1);
    doc
}

/// The admin router.
pub fn routes(state: Arc<AppState>) -> Router {
    let (api, _) = protected().split_for_parts();
    let (open, _) = open().split_for_parts();
    let instance: Arc<str> = state.registry.instance.as_str().into();
    // Bodies a little over the definition limit still reach the handlers, which answer 413
    // with the usual JSON error; far larger ones get axum's own 413.
    let body_limit = state.cfg.server.max_webhook_config_bytes + 64 * 1024;
    open.merge(api.route_layer(middleware::from_fn_with_state(state.clone(), auth)))
        .fallback(|| async { ApiError::NotFound("not_found") })
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            (
                Duration::from_millis(state.cfg.server.body_read_timeout_ms),
                body_limit,
            ),
            body_deadline,
        ))
        .layer(middleware::map_response(move |r: Response| {
            let instance = instance.clone();
            async move { crate::error::conductor_shape(r, &instance) }
        }))
        .with_state(state)
}

/// Reads an admin request's whole body (at most `limit` bytes, else 413) within
/// `server.body_read_timeout_ms` of its head, else `408 body_timeout`: a client that drips a
/// body cannot hold an admin connection, and a slot of the admin listener's connection limit,
/// for longer. Runs before authentication; admin bodies are small (a webhook definition).
async fn body_deadline(
    State((timeout, limit)): State<(Duration, usize)>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, bytes.into())).await,
        Ok(Err(_)) => ApiError::TooLarge.into_response(),
        Err(_) => ApiError::BodyTimeout.into_response(),
    }
}

/// `GET /api/openapi.json`.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")))]
async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = DOC.get_or_init(|| document().to_json().unwrap_or_default());
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        text.as_str(),
    )
        .into_response()
}

/// `GET /healthz`: the process is alive (200 also while draining).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok"
}

fn token_matches(given: &[u8], expected: &[u8]) -> bool {
    // Hash both so the comparison is constant-time in the token length too.
    let a = Sha256::digest(given);
    let b = Sha256::digest(expected);
    a.ct_eq(&b).into()
}

/// The admin API's authentication (`crate::auth`; also guards the console's API route).
pub(crate) async fn auth(
    State(st): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_owned();
    let resp = match st.auth.authorize(req.method(), req.headers()) {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    };
    metrics::counter!(crate::metrics::ADMIN_REQUESTS_TOTAL, "method" => method,
        "status" => resp.status().as_u16().to_string())
    .increment(1);
    resp
}

/// `GET /readyz`: whether this instance should get traffic.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "Not ready: draining on shutdown, catching up with the \
            webhook registry, or requests waiting kafka.unready_after_ms without a broker \
            acknowledgement; the body says which", body = String, content_type = "text/plain")))]
async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let unready = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    if st.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return unready("draining: shutting down".into());
    }
    if !*st.ready.borrow() {
        return unready("catching up with the webhook registry".into());
    }
    let limit = std::time::Duration::from_millis(st.cfg.kafka.unready_after_ms);
    if let Some(waited) = st.publisher.acks().stalled_for().filter(|w| *w >= limit) {
        return unready(format!(
            "kafka: requests have waited {} ms without an acknowledgement from the broker",
            waited.as_millis()
        ));
    }
    (StatusCode::OK, "ready").into_response()
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", body = String,
            content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "server.metrics_token is set and the request did not \
            send it as a bearer token", body = ErrorBody)))]
async fn metrics_text(State(st): State<Arc<AppState>>, headers: http::HeaderMap) -> Response {
    if let Some(expected) = &st.cfg.server.metrics_token {
        let ok = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .is_some_and(|t| token_matches(t, expected.as_bytes()));
        if !ok {
            return ApiError::Unauthorized.into_response();
        }
    }
    crate::metrics::collect_process();
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}

/// Masked view of an entry, with history.
fn view(st: &AppState, e: &Entry) -> WebhookConfig {
    let mut c = e.config().masked();
    c.webhook_execution_history = st.history.get(e.id(), e.generation());
    c
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path.is_empty() || path == "." {
            ApiError::BadRequest(format!("invalid JSON: {}", e.inner()))
        } else {
            ApiError::BadRequest(format!("invalid JSON at {path}: {}", e.inner()))
        }
    })
}

/// A webhook definition over `server.max_webhook_config_bytes` is a 413.
fn within_limit(st: &AppState, body: &Bytes) -> Result<(), ApiError> {
    if body.len() > st.cfg.server.max_webhook_config_bytes {
        return Err(ApiError::TooLarge);
    }
    Ok(())
}

/// `GET /api/metadata/webhook`.
#[utoipa::path(get, path = "/api/metadata/webhook", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    responses((status = 200, description = "Every webhook, secrets masked", body = Vec<WebhookConfig>),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
async fn list(State(st): State<Arc<AppState>>) -> Json<Vec<WebhookConfig>> {
    Json(st.registry.list().iter().map(|e| view(&st, e)).collect())
}

/// `GET /api/metadata/webhook/{id}`.
#[utoipa::path(get, path = "/api/metadata/webhook/{id}", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The webhook, secrets masked, with its execution history", body = WebhookConfig),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody)))]
async fn get_one(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<WebhookConfig>, ApiError> {
    let e = st
        .registry
        .get(&id)
        .ok_or(ApiError::NotFound("not_found"))?;
    Ok(Json(view(&st, &e)))
}

/// `POST /api/token` (Orkes): `{"keyId", "keySecret"}` of an application key → `{"token"}`.
#[utoipa::path(post, path = "/api/token", tag = "auth",
    request_body = TokenRequestBody,
    responses((status = 200, description = "A signed token for X-Authorization or Authorization: Bearer", body = TokenResponse),
        (status = 400, description = "The body is not {keyId, keySecret}", body = ErrorBody),
        (status = 401, description = "Unknown key id or wrong secret", body = ErrorBody)))]
async fn token(State(st): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let outcome = |o: &'static str| {
        metrics::counter!(crate::metrics::TOKEN_REQUESTS_TOTAL, "outcome" => o).increment(1);
    };
    // A fixed message: a parse error could quote the (mistyped) secret back.
    let req: TokenRequest = parse(&body).map_err(|_| {
        outcome("invalid");
        ApiError::BadRequest(r#"the body must be {"keyId": "…", "keySecret": "…"}"#.into())
    })?;
    let token = st.auth.issue(&req).inspect_err(|_| outcome("refused"))?;
    outcome("issued");
    Ok(Json(serde_json::json!({ "token": token })).into_response())
}

/// `POST /api/metadata/webhook`.
#[utoipa::path(post, path = "/api/metadata/webhook", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    request_body = WebhookConfig,
    responses((status = 200, description = "Created; the stored webhook, secrets masked", body = WebhookConfig),
        (status = 400, description = "Invalid definition (the message names the field)", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 503, description = "The config topic did not take the change", body = ErrorBody)))]
async fn create(
    State(st): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Json<WebhookConfig>, ApiError> {
    within_limit(&st, &body)?;
    let mut cfg: WebhookConfig = parse(&body)?;
    cfg.created_by = Some(principal.name);
    let rec = st.registry.prepare_create(cfg)?;
    let id = rec
        .config
        .as_ref()
        .and_then(|c| c.id.clone())
        .unwrap_or_default();
    st.sync.write_webhook(&id, rec).await?;
    tracing::info!(webhook = %id, "webhook created");
    get_one(State(st), Path(id)).await
}

/// `PUT /api/metadata/webhook/{id}`.
#[utoipa::path(put, path = "/api/metadata/webhook/{id}", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    request_body = WebhookConfig,
    responses((status = 200, description = "Updated; the stored webhook, secrets masked", body = WebhookConfig),
        (status = 400, description = "Invalid definition, or an id in the body that differs from the path", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 409, description = "A static webhook (defined in the config file)", body = ErrorBody),
        (status = 503, description = "The config topic did not take the change", body = ErrorBody)))]
async fn update(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<WebhookConfig>, ApiError> {
    within_limit(&st, &body)?;
    let mut cfg: WebhookConfig = parse(&body)?;
    // `createdBy` is never the caller's to choose (the registry keeps the creator's).
    cfg.created_by = Some(st.cfg.server.admin_principal.clone());
    if cfg.id.as_deref().is_some_and(|b| b != id) {
        return Err(ApiError::BadRequest(
            "id in the body differs from the path".into(),
        ));
    }
    let rec = st.registry.prepare_update(&id, cfg)?;
    st.sync.write_webhook(&id, rec).await?;
    tracing::info!(webhook = %id, "webhook updated");
    get_one(State(st), Path(id)).await
}

/// `DELETE /api/metadata/webhook/{id}`.
#[utoipa::path(delete, path = "/api/metadata/webhook/{id}", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "Deleted (empty body)"),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 409, description = "A static webhook (defined in the config file)", body = ErrorBody),
        (status = 503, description = "The config topic did not take the change", body = ErrorBody)))]
async fn delete(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let rec = st.registry.prepare_delete(&id)?;
    st.sync.write_webhook(&id, rec).await?;
    tracing::info!(webhook = %id, "webhook deleted");
    Ok(StatusCode::OK)
}

/// `GET /api/metadata/webhook/{id}/tags`.
#[utoipa::path(get, path = "/api/metadata/webhook/{id}/tags", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, description = "The webhook's tags", body = Vec<Tag>),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody)))]
async fn get_tags(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Tag>>, ApiError> {
    let e = st
        .registry
        .get(&id)
        .ok_or(ApiError::NotFound("not_found"))?;
    Ok(Json(e.config().tags))
}

async fn change_tags(st: &AppState, id: &str, body: &Bytes, add: bool) -> Result<(), ApiError> {
    let tags: Vec<Tag> = parse(body)?;
    let e = st.registry.get(id).ok_or(ApiError::NotFound("not_found"))?;
    let mut cfg = e.config();
    if add {
        for t in tags {
            cfg.tags.retain(|x| x.key != t.key);
            cfg.tags.push(t);
        }
    } else {
        cfg.tags.retain(|x| !tags.contains(x));
    }
    cfg.tags.sort();
    let rec = st.registry.prepare_update(id, cfg)?;
    st.sync.write_webhook(id, rec).await?;
    Ok(())
}

/// `PUT /api/metadata/webhook/{id}/tags`: adds tags (a tag replaces one with the same key).
#[utoipa::path(put, path = "/api/metadata/webhook/{id}/tags", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    request_body = Vec<Tag>,
    responses((status = 200, description = "Tags added (empty body)"),
        (status = 400, description = "Not a JSON array of tags", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 409, description = "A static webhook (defined in the config file)", body = ErrorBody),
        (status = 503, description = "The config topic did not take the change", body = ErrorBody)))]
async fn put_tags(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    change_tags(&st, &id, &body, true).await?;
    Ok(StatusCode::OK)
}

/// `DELETE /api/metadata/webhook/{id}/tags`: removes the given tags.
#[utoipa::path(delete, path = "/api/metadata/webhook/{id}/tags", tag = "webhooks", security(("x_authorization" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    request_body = Vec<Tag>,
    responses((status = 200, description = "Tags removed (empty body)"),
        (status = 400, description = "Not a JSON array of tags", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No such webhook", body = ErrorBody),
        (status = 409, description = "A static webhook (defined in the config file)", body = ErrorBody),
        (status = 503, description = "The config topic did not take the change", body = ErrorBody)))]
async fn delete_tags(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    change_tags(&st, &id, &body, false).await?;
    Ok(StatusCode::OK)
}

/// `GET /api/admin/plugins`: `{"dir": …, "loaded": [names], "contract": version, "failed":
/// {name: error}}` (the failures of the last load; 404 without `[plugins] dir`).
#[utoipa::path(get, path = "/api/admin/plugins", tag = "plugins", security(("x_authorization" = []), ("bearer" = [])),
    responses((status = 200, description = "The plugin directory and the loaded plugins", body = PluginList),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No [plugins] dir configured (error plugins_disabled)", body = ErrorBody)))]
async fn list_plugins(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let h = st
        .plugins
        .as_ref()
        .ok_or(ApiError::NotFound("plugins_disabled"))?;
    Ok(Json(PluginList {
        dir: h.dir().display().to_string(),
        loaded: h.names(),
        contract: crate::plugin::CONTRACT.to_string(),
        failed: h.last_failures(),
    })
    .into_response())
}

/// `POST /api/admin/plugins/reload`: rescans `[plugins] dir`; answers
/// `{"loaded": [names], "failed": {name: error}}` (a failed file keeps its previous version).
#[utoipa::path(post, path = "/api/admin/plugins/reload", tag = "plugins", security(("x_authorization" = []), ("bearer" = [])),
    responses((status = 200, description = "Plugins loaded, and files that failed (their previous version stays)", body = ReloadReport),
        (status = 401, description = "Missing or wrong admin token", body = ErrorBody),
        (status = 404, description = "No [plugins] dir configured (error plugins_disabled)", body = ErrorBody),
        (status = 500, description = "The reload task failed", body = ErrorBody)))]
async fn reload_plugins(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let h = st
        .plugins
        .clone()
        .ok_or(ApiError::NotFound("plugins_disabled"))?;
    let report = tokio::task::spawn_blocking(move || h.reload())
        .await
        .map_err(|_| ApiError::Internal)?;
    crate::plugin::log_reload("admin API", &report);
    Ok(Json(report).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_goes_through_the_openapi_router() {
        // A plain `.route(` would serve a path the document does not describe.
        let src = include_str!("admin.rs");
        let code = &src[..src.find("#[cfg(test)]").unwrap()];
        assert!(!code.contains(concat!(".", "route(")), "use routes!(…)");
        assert!(!code.contains(concat!(".", "nest(")), "use routes!(…)");
    }

    #[test]
    fn the_document_lists_every_handler() {
        let doc = super::document();
        let n: usize = doc
            .paths
            .paths
            .values()
            .map(|p| {
                [&p.get, &p.put, &p.post, &p.delete, &p.patch]
                    .iter()
                    .filter(|o| o.is_some())
                    .count()
            })
            .sum();
        assert_eq!(n, 15);
    }
}
