//! `POST /webhook/{id}`: look up, read the body within limits, verify over the raw bytes,
//! publish, and answer 2xx only once Kafka has the event.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::BytesMut;
use http::{StatusCode, Version};
use http_body_util::BodyExt;
use tracing::Instrument;

use crate::error::ApiError;
use crate::event::{UnverifiedRequest, Verified};
use crate::metrics as m;
use crate::state::AppState;
use crate::verify::{Reply, VerifyContext};

/// The provider-facing routes (served identically on every listener).
pub fn routes() -> Router<Arc<AppState>> {
    // GET only for verifiers that answer handshakes on it (X's CRC, plugins such as Meta's
    // `hub.challenge`): `Verifier::answers_get`, checked in `handle`.
    Router::new().route("/webhook/{id}", post(ingest).get(ingest))
}

/// Protocol label of a request.
pub fn protocol(v: Version) -> &'static str {
    match v {
        Version::HTTP_2 => "h2",
        Version::HTTP_3 => "h3",
        _ => "h1",
    }
}

/// Outcome labels of a request for metrics.
struct Labels {
    webhook: String,
    verifier: &'static str,
}

async fn ingest(State(st): State<Arc<AppState>>, Path(id): Path<String>, req: Request) -> Response {
    let start = Instant::now();
    let proto = protocol(req.version());
    // Every log line of the request carries the client's address (the TCP or QUIC peer; a load
    // balancer's address when one is in front).
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let span = tracing::info_span!("request", client = client.as_deref().unwrap_or("-"));
    let mut labels = Labels {
        webhook: "unknown".into(),
        verifier: "none",
    };
    let res = handle(&st, id, req, &mut labels).instrument(span).await;
    let (reason, response) = match res {
        Ok(None) => (None, StatusCode::OK.into_response()),
        Ok(Some(r)) => (
            None,
            (
                r.status,
                [(http::header::CONTENT_TYPE, r.content_type)],
                r.body,
            )
                .into_response(),
        ),
        Err(e) => (Some(e.reason()), e.into_response()),
    };
    // Outcomes follow the status actually sent.
    let status = response.status();
    let outcome = m::outcome(status.as_u16());
    match reason {
        Some(r) if status.is_client_error() => {
            metrics::counter!(m::REJECTIONS_TOTAL, "reason" => r).increment(1)
        }
        Some(r) if status.is_server_error() => {
            metrics::counter!(m::REQUEST_ERRORS_TOTAL, "reason" => r).increment(1)
        }
        _ => {}
    }
    metrics::counter!(m::REQUESTS_TOTAL, "webhook" => labels.webhook.clone(), "verifier" => labels.verifier,
        "outcome" => outcome, "protocol" => proto)
    .increment(1);
    metrics::histogram!(m::REQUEST_SECONDS, "webhook" => labels.webhook, "verifier" => labels.verifier,
        "outcome" => outcome)
    .record(start.elapsed().as_secs_f64());
    response
}

/// Verifies and publishes one request: `Ok(None)` once its event is durable in Kafka (answered
/// `200`), `Ok(Some(reply))` for a handshake answered as it is.
async fn handle(
    st: &AppState,
    id: String,
    req: Request,
    labels: &mut Labels,
) -> Result<Option<Reply>, ApiError> {
    let entry = st
        .registry
        .get(&id)
        .ok_or(ApiError::NotFound("unknown_webhook"))?;
    labels.webhook = m::webhook_label(&id);
    labels.verifier = entry.spec.verifier.kind();
    if entry.secrets_unavailable() {
        // Sealed with a key this instance does not hold: this webhook only, never unverified.
        return Err(ApiError::Unavailable {
            reason: "secrets_unavailable",
            retry_after: st.cfg.kafka.retry_after_secs,
        });
    }
    let method = req.method();
    if method != http::Method::POST
        && !(method == http::Method::GET && entry.spec.verifier.answers_get())
    {
        return Err(ApiError::MethodNotAllowed);
    }
    let retry_after = st.cfg.kafka.retry_after_secs;
    let mut held = st.budget.try_event()?;
    let limit = entry.spec.body_limit(st.cfg.server.max_body_bytes);
    let (parts, body) = req.into_parts();
    if let Some(len) = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit {
            return Err(ApiError::TooLarge);
        }
    }
    let body = tokio::time::timeout(st.body_timeout, read_body(body, limit, &mut held))
        .await
        .map_err(|_| ApiError::BodyTimeout)??;
    metrics::counter!(m::BYTES_IN_TOTAL, "webhook" => labels.webhook.clone())
        .increment(body.len() as u64);
    let now_ms = (st.clock)();
    let unverified = UnverifiedRequest {
        webhook_id: id,
        method: parts.method,
        headers: parts.headers,
        query: parts.uri.query().map(str::to_owned),
        body,
        received_at_ms: now_ms,
    };
    let ctx = VerifyContext {
        now_unix: now_ms.div_euclid(1000),
        url_verified: entry.url_verified(),
    };
    let verified = if let crate::verify::Verifier::Plugin(pv) = &entry.spec.verifier {
        // Bounded calls per plugin; a plugin that was slow lately runs off the async worker.
        let slot = pv.admit().await.map_err(|_| ApiError::Unavailable {
            reason: "plugin_busy",
            retry_after,
        })?;
        // The call runs on the plugin version admitted, whose permit it holds (not on one a
        // reload has put in the table since).
        slot.run(|| unverified.verify_with(|parts| pv.verify_in(&slot, parts, &ctx)))
    } else {
        unverified.verify(&entry.spec.verifier, &ctx)
    }
    .map_err(ApiError::Rejected)?;
    if let Some(rec) = st.registry.mark_verified(&entry) {
        let sync = st.sync.clone();
        let wid = entry.id().to_string();
        tokio::spawn(async move { sync.write_verified(&wid, rec).await });
    }
    match verified {
        Verified::Reply(r) => Ok(Some(r)),
        Verified::Event(mut ev) => {
            if let Some(template) = &entry.spec.idempotency_key {
                let payload = hookd_payload::build(ev.body(), ev.query());
                let key = hookd_payload::template::resolve(template, &payload);
                ev.set_idempotency_key(key);
            }
            metrics::gauge!(m::INFLIGHT_EVENTS).increment(1.0);
            let r = st.publisher.publish(&ev).await;
            metrics::gauge!(m::INFLIGHT_EVENTS).decrement(1.0);
            drop(held);
            match r {
                Ok(()) => Ok(None),
                Err(e) => {
                    tracing::warn!(webhook = %ev.webhook_id(), event = %ev.event_id(), error = %e,
                        "event not acknowledged by kafka; answering 503");
                    Err(ApiError::from_publish(&e, retry_after))
                }
            }
        }
    }
}

async fn read_body(
    mut body: Body,
    limit: u64,
    held: &mut crate::admission::Held,
) -> Result<bytes::Bytes, ApiError> {
    // A body that arrives in one frame (the common small webhook) is kept as is, without a copy.
    // Further frames are gathered into one buffer reserved from the body's remaining length, at
    // most RESERVE_AHEAD ahead of what arrived: a claimed length allocates nothing the byte
    // budget has not granted beyond that.
    const RESERVE_AHEAD: u64 = 64 * 1024;
    let mut first: Option<bytes::Bytes> = None;
    let mut buf = BytesMut::new();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ApiError::Malformed("request body could not be read"))?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > limit {
                return Err(ApiError::TooLarge);
            }
            held.try_bytes(data.len())?;
            if first.is_none() && buf.is_empty() {
                first = Some(data);
                continue;
            }
            if let Some(f) = first.take() {
                let ahead = axum::body::HttpBody::size_hint(&body)
                    .lower()
                    .min(RESERVE_AHEAD);
                buf.reserve(f.len() + data.len() + ahead as usize);
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}
