//! The Orkes-compatible admin API (`/api/metadata/webhook…`), plus `/healthz`, `/readyz` and
//! `/metrics`, on `admin_listen`.
//!
//! Auth: `X-Authorization: <admin_token>` (Orkes style) or `Authorization: Bearer <admin_token>`,
//! compared in constant time; anything else is 401. Every response masks secrets as `"***"`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::model::{Tag, WebhookConfig};
use crate::state::AppState;
use crate::webhook::Entry;

/// The admin router.
pub fn routes(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/metadata/webhook", get(list).post(create))
        .route(
            "/api/metadata/webhook/{id}",
            get(get_one).put(update).delete(delete),
        )
        .route(
            "/api/metadata/webhook/{id}/tags",
            get(get_tags).put(put_tags).delete(delete_tags),
        )
        .route("/api/admin/plugins", get(list_plugins))
        .route(
            "/api/admin/plugins/reload",
            axum::routing::post(reload_plugins),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    // Bodies a little over the definition limit still reach the handlers, which answer 413
    // with the usual JSON error; far larger ones get axum's own 413.
    let body_limit = state.cfg.server.max_webhook_config_bytes + 64 * 1024;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(api)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

fn token_matches(given: &[u8], expected: &[u8]) -> bool {
    // Hash both so the comparison is constant-time in the token length too.
    let a = Sha256::digest(given);
    let b = Sha256::digest(expected);
    a.ct_eq(&b).into()
}

async fn auth(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let expected = st.cfg.server.admin_token.as_bytes();
    let h = req.headers();
    let ok = h
        .get("x-authorization")
        .is_some_and(|v| token_matches(v.as_bytes(), expected))
        || h.get(http::header::AUTHORIZATION).is_some_and(|v| {
            v.as_bytes()
                .strip_prefix(b"Bearer ")
                .is_some_and(|t| token_matches(t, expected))
        });
    let method = req.method().as_str().to_owned();
    let resp = if ok {
        next.run(req).await
    } else {
        ApiError::Unauthorized.into_response()
    };
    metrics::counter!(crate::metrics::ADMIN_REQUESTS_TOTAL, "method" => method,
        "status" => resp.status().as_u16().to_string())
    .increment(1);
    resp
}

async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    if *st.ready.borrow() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "catching up with the webhook registry",
        )
            .into_response()
    }
}

async fn metrics_text(State(st): State<Arc<AppState>>) -> Response {
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

async fn list(State(st): State<Arc<AppState>>) -> Json<Vec<WebhookConfig>> {
    Json(st.registry.list().iter().map(|e| view(&st, e)).collect())
}

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

async fn create(
    State(st): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<WebhookConfig>, ApiError> {
    within_limit(&st, &body)?;
    let mut cfg: WebhookConfig = parse(&body)?;
    cfg.created_by = Some(st.cfg.server.admin_principal.clone());
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

async fn delete(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let rec = st.registry.prepare_delete(&id)?;
    st.sync.write_webhook(&id, rec).await?;
    tracing::info!(webhook = %id, "webhook deleted");
    Ok(StatusCode::OK)
}

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

async fn put_tags(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    change_tags(&st, &id, &body, true).await?;
    Ok(StatusCode::OK)
}

async fn delete_tags(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    change_tags(&st, &id, &body, false).await?;
    Ok(StatusCode::OK)
}

/// `GET /api/admin/plugins`: `{"dir": …, "loaded": [names]}` (404 without `[plugins] dir`).
async fn list_plugins(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let h = st
        .plugins
        .as_ref()
        .ok_or(ApiError::NotFound("plugins_disabled"))?;
    Ok(Json(serde_json::json!({"dir": h.dir(), "loaded": h.names()})).into_response())
}

/// `POST /api/admin/plugins/reload`: rescans `[plugins] dir`; answers
/// `{"loaded": [names], "failed": {name: error}}` (a failed file keeps its previous version).
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
