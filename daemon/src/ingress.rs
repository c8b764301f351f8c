//! `POST /webhook/{id}`: the cheap checks (client rate limit, lookup, method, source
//! allow-list, webhook rate limit, `Content-Length`), then admission, the body read within
//! limits, verification over the raw bytes, replay protection, publishing, and a 2xx only once
//! Kafka has the event.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::{StatusCode, Version};
use tracing::Instrument;

use crate::admission::Claimant;
use crate::conn::ConnInfo;
use crate::error::ApiError;
use crate::event::{UnverifiedRequest, Verified};
use crate::metrics as m;
use crate::replay;
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

/// Outcome labels of a request for metrics: the webhook's metric handles (made when the
/// registry built its entry), `unknown` until the webhook is found.
struct Labels {
    metrics: Arc<m::WebhookMetrics>,
    client: IpAddr,
    replayed: bool,
}

async fn ingest(State(st): State<Arc<AppState>>, Path(id): Path<String>, req: Request) -> Response {
    let start = Instant::now();
    let proto = protocol(req.version());
    // The client: the TCP or QUIC peer, or what a trusted proxy says it is (`client_addr`).
    // Every log line of the request carries it.
    let conn = req.extensions().get::<ConnInfo>().cloned();
    let peer = conn
        .as_ref()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.addr.ip());
    let client = st.clients.resolve(peer, req.headers());
    let mut labels = Labels {
        metrics: m::WebhookMetrics::unknown(),
        client,
        replayed: false,
    };
    // No span around the whole request: making one (registry slot, formatted fields) cost
    // ~1.4 µs per request (benches/RESULTS.md, issue 18) while only a plugin call and a publish
    // failure log anything. Those run in `request_span`, so their lines carry the client as
    // before.
    let res = handle(&st, id, req, conn, &mut labels).await;
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
    match reason {
        Some(r) if status.is_client_error() => {
            metrics::counter!(m::REJECTIONS_TOTAL, "reason" => r).increment(1);
            tracing::debug!(client = %labels.client, webhook = %labels.metrics.label(), reason = r,
                "webhook request refused");
        }
        Some(r) if status.is_server_error() => {
            metrics::counter!(m::REQUEST_ERRORS_TOTAL, "reason" => r).increment(1)
        }
        _ => {}
    }
    labels
        .metrics
        .request(status.as_u16(), proto, start.elapsed().as_secs_f64());
    response
}

/// The span of a request's log lines (the client address, `span` in JSON logs).
fn request_span(client: IpAddr) -> tracing::Span {
    tracing::info_span!("request", client = %client)
}

/// Verifies and publishes one request: `Ok(None)` once its event is durable in Kafka (answered
/// `200`), `Ok(Some(reply))` for a handshake answered as it is.
async fn handle(
    st: &AppState,
    id: String,
    req: Request,
    conn: Option<ConnInfo>,
    labels: &mut Labels,
) -> Result<Option<Reply>, ApiError> {
    let client = labels.client;
    if let Some(l) = &st.client_limiter {
        l.check(client).map_err(|l| ApiError::RateLimited {
            reason: "client_rate_limited",
            retry_after: l.retry_after_secs,
        })?;
    }
    let entry = st
        .registry
        .get(&id)
        .ok_or(ApiError::NotFound("unknown_webhook"))?;
    labels.metrics = entry.metrics().clone();
    if entry.secrets_unavailable() {
        // Sealed with a key this instance does not hold: this webhook only, never unverified.
        return Err(ApiError::Unavailable {
            reason: "secrets_unavailable",
            retry_after: st.cfg.kafka.retry_after_secs,
        });
    }
    if let crate::verify::Verifier::Plugin(pv) = &entry.spec.verifier {
        if !pv.is_loaded() {
            // Removed, or never loaded on this instance: this webhook only, never a 500.
            return Err(ApiError::Unavailable {
                reason: "plugin_unavailable",
                retry_after: st.cfg.kafka.retry_after_secs,
            });
        }
    }
    let method = req.method();
    if method != http::Method::POST
        && !(method == http::Method::GET && entry.spec.verifier.answers_get())
    {
        return Err(ApiError::MethodNotAllowed);
    }
    if !entry.spec.source_allowed(client) {
        return Err(ApiError::Forbidden("source_not_allowed"));
    }
    if let Some(l) = &entry.spec.rate_limit {
        l.check().map_err(|l| ApiError::RateLimited {
            reason: "webhook_rate_limited",
            retry_after: l.retry_after_secs,
        })?;
    }
    let retry_after = st.cfg.kafka.retry_after_secs;
    let limit = entry.spec.body_limit(st.cfg.server.max_body_bytes);
    let (parts, body) = req.into_parts();
    // What a plugin sees of where the request was sent (scheme, authority, public URL).
    let origin = matches!(entry.spec.verifier, crate::verify::Verifier::Plugin(_)).then(|| {
        crate::plugin::Origin::of(
            &parts.uri,
            &parts.headers,
            conn.as_ref().is_some_and(|c| c.tls),
            conn.as_ref()
                .is_some_and(|c| st.clients.is_trusted(c.addr.ip())),
            st.cfg.server.public_url.as_deref(),
        )
    });
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
    let mut held = st.budget.try_event(Claimant {
        webhook: &id,
        client,
        // a trusted proxy's connection carries many clients: shared per client, not per connection
        conn: conn
            .as_ref()
            .filter(|c| !st.clients.is_trusted(c.addr.ip()))
            .map(|c| &c.usage),
    })?;
    let body = crate::body::read(body, limit, &st.body_rules, &mut held).await?;
    let signed_ts = replay::signed_timestamp(&entry.spec.verifier, &parts.headers);
    labels.metrics.bytes_in(body.len() as u64);
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
        // A plugin's log lines carry the client.
        let span = request_span(client);
        let slot =
            pv.admit()
                .instrument(span.clone())
                .await
                .map_err(|_| ApiError::Unavailable {
                    reason: "plugin_busy",
                    retry_after,
                })?;
        if slot.is_empty() {
            return Err(ApiError::Unavailable {
                reason: "plugin_unavailable",
                retry_after,
            });
        }
        let origin = origin.unwrap_or_default();
        // The call runs on the plugin version admitted, whose permit it holds (not on one a
        // reload has put in the table since).
        span.in_scope(|| {
            slot.run(|| unverified.verify_with(|parts| pv.verify_in(&slot, parts, &ctx, &origin)))
        })
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
            let spec = &entry.spec;
            // `dedupKey` stands in for a delivery id only when the provider sent none
            let dedup_key = spec
                .dedup_key
                .as_deref()
                .filter(|_| ev.delivery_id().is_none());
            if spec.idempotency_key.is_some() || dedup_key.is_some() {
                // looked up on the body's simd-json tape, parsed once: no payload is built
                let (key, dedup) = hookd_payload::with_parsed(ev.body(), ev.query(), |p| {
                    (
                        spec.idempotency_key
                            .as_deref()
                            .map(|t| p.idempotency_key(t)),
                        dedup_key.map(|t| p.idempotency_key(t)),
                    )
                });
                if let Some(key) = key {
                    ev.set_idempotency_key(key);
                }
                if let Some(dedup) = dedup {
                    ev.set_dedup_key(dedup);
                }
            }
            let ticket = match &st.replay {
                None => None,
                Some(guard) => {
                    let key =
                        replay::key(ev.webhook_id(), entry.generation(), signed_ts, ev.body());
                    match replay::admit(guard, key, st.cfg.ack_timeout()).await {
                        replay::Admit::Fresh(t) => Some(t),
                        replay::Admit::Replay => {
                            labels.replayed = true;
                            labels.metrics.replay();
                            return Ok(None);
                        }
                        replay::Admit::Busy => {
                            return Err(ApiError::Unavailable {
                                reason: "duplicate_in_flight",
                                retry_after,
                            })
                        }
                    }
                }
            };
            m::inflight_events().increment(1.0);
            let event = ev.event_id().to_owned();
            let r = st.publisher.publish(ev, held).await;
            m::inflight_events().decrement(1.0);
            match r {
                Ok(()) => {
                    if let Some(t) = ticket {
                        t.published();
                    }
                    Ok(None)
                }
                Err(e) => {
                    request_span(client).in_scope(|| {
                        tracing::warn!(webhook = %entry.id(), %event, error = %e,
                            "event not acknowledged by kafka; answering 503")
                    });
                    Err(ApiError::from_publish(&e, retry_after))
                }
            }
        }
    }
}
