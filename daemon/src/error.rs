//! The daemon's error types: [`ApiError`], the one place that maps errors to HTTP statuses and
//! JSON bodies, and [`StartError`], why a daemon could not start.
//!
//! Two body shapes, neither ever holding secrets, signatures or request bodies:
//! - provider-facing routes (`/webhook/{id}`): short, `{"error": "<reason code>", "message":
//!   "<short text>"}` ([`ApiError::into_response`]);
//! - the admin API: Conductor's `ErrorResponse`, `{"status": <int>, "message": "…", "instance":
//!   "…", "retryable": <bool>, "code": "<reason code>"}` ([`conductor_shape`], applied by the
//!   admin router to every error answer it produces).

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderValue, StatusCode};

use crate::kafka::producer::PublishError;
use crate::webhook::StoreError;
use hookd_verify::Reject;

/// Every error an HTTP handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Unknown webhook (ingress) or resource (admin).
    #[error("not found")]
    NotFound(&'static str),
    /// Missing or wrong admin credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// Valid credentials whose identity may not do this (a `read` key on anything but GET).
    #[error("this identity may only read")]
    ReadOnly,
    /// Verification failed.
    #[error("verification failed: {0}")]
    Rejected(Reject),
    /// Invalid admin input.
    #[error("{0}")]
    BadRequest(String),
    /// Conflicting admin write.
    #[error("{0}")]
    Conflict(String),
    /// Body over the limit.
    #[error("request body over the limit")]
    TooLarge,
    /// Body not received in time.
    #[error("request body not received in time")]
    BodyTimeout,
    /// Body arriving slower than `server.min_body_rate_bytes_per_sec`.
    #[error("request body arriving too slowly")]
    BodyTooSlow,
    /// Over a rate limit (429); `Retry-After` seconds.
    #[error("too many requests")]
    RateLimited {
        /// Reason code (`client_rate_limited`, `webhook_rate_limited`).
        reason: &'static str,
        /// `Retry-After` seconds.
        retry_after: u64,
    },
    /// The source address may not use this webhook (403).
    #[error("this source address may not send to this webhook")]
    Forbidden(&'static str),
    /// Malformed request (unreadable body, …).
    #[error("{0}")]
    Malformed(&'static str),
    /// Backpressure or broker unavailable; `Retry-After` seconds.
    #[error("{}", unavailable_message(reason))]
    Unavailable {
        /// Reason code.
        reason: &'static str,
        /// `Retry-After` seconds.
        retry_after: u64,
    },
    /// Anything else (logged, not shown).
    #[error("internal error")]
    Internal,
    /// `GET /webhook/{id}` of a webhook whose verifier answers no GET handshake (only X's CRC
    /// and plugins do); 405 with `Allow: POST`.
    #[error("this webhook accepts only POST")]
    MethodNotAllowed,
}

impl ApiError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::ReadOnly => StatusCode::FORBIDDEN,
            ApiError::Rejected(r) => r.status(),
            ApiError::BadRequest(_) | ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout | ApiError::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// Machine-readable reason code (also the `reason` metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound(r) => r,
            ApiError::Unauthorized => "unauthorized",
            ApiError::ReadOnly => "forbidden",
            ApiError::Rejected(r) => r.reason(),
            ApiError::BadRequest(_) => "invalid",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge => "too_large",
            ApiError::BodyTimeout => "body_timeout",
            ApiError::BodyTooSlow => "body_too_slow",
            ApiError::RateLimited { reason, .. } => reason,
            ApiError::Forbidden(r) => r,
            ApiError::Malformed(_) => "malformed",
            ApiError::Unavailable { reason, .. } => reason,
            ApiError::Internal => "internal",
            ApiError::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// The publish failure as a 503.
    pub fn from_publish(e: &PublishError, retry_after: u64) -> Self {
        let reason = match e {
            PublishError::QueueFull => "queue_full",
            PublishError::Timeout => "kafka_timeout",
            PublishError::Kafka(_) => "kafka_unavailable",
        };
        ApiError::Unavailable {
            reason,
            retry_after,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("not_found"),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Invalid(m) => ApiError::BadRequest(m),
            StoreError::TooLarge => ApiError::TooLarge,
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "webhook store unavailable");
                ApiError::Unavailable {
                    reason: "store_unavailable",
                    retry_after: 1,
                }
            }
        }
    }
}

/// What an error answer was made of, kept in the response's extensions so that the admin router
/// can give it Conductor's shape ([`conductor_shape`]).
#[derive(Debug, Clone)]
struct ErrorParts {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The message of a 503: the reason code, or a sentence where the code alone is not clear.
fn unavailable_message(reason: &str) -> &str {
    match reason {
        "plugin_unavailable" => {
            "this webhook's verifier plugin is not loaded on this hookd (removed, or it failed \
             to load: see GET /api/admin/plugins)"
        }
        other => other,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Rejected(r) => r.to_string(),
            other => other.to_string(),
        };
        let body = serde_json::json!({ "error": self.reason(), "message": message });
        let parts = ErrorParts {
            status: self.status(),
            code: self.reason(),
            message,
        };
        let mut resp = (self.status(), Json(body)).into_response();
        resp.extensions_mut().insert(parts);
        match &self {
            ApiError::Unavailable { retry_after, .. }
            | ApiError::RateLimited { retry_after, .. } => {
                resp.headers_mut()
                    .insert(http::header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Unauthorized => {
                resp.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer"),
                );
            }
            ApiError::MethodNotAllowed => {
                resp.headers_mut()
                    .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
            }
            _ => {}
        }
        resp
    }
}

/// Gives an error answer of [`ApiError`] Conductor's `ErrorResponse` shape: `status` (the HTTP
/// status), `message`, `instance` (this hookd instance), `retryable` (true for `503`: try
/// again later) and hookd's reason code as `code`. Other responses pass unchanged; status and
/// headers (`Retry-After`, `WWW-Authenticate`, `Allow`) are kept.
pub fn conductor_shape(resp: Response, instance: &str) -> Response {
    let Some(p) = resp.extensions().get::<ErrorParts>().cloned() else {
        return resp;
    };
    let body = serde_json::json!({
        "status": p.status.as_u16(),
        "message": p.message,
        "instance": instance,
        "retryable": p.status == StatusCode::SERVICE_UNAVAILABLE,
        "code": p.code,
    });
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let mut out = Response::from_parts(parts, axum::body::Body::from(body.to_string()));
    out.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

/// Startup failure.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Kafka could not be set up.
    #[error("kafka: {0}")]
    Kafka(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// TLS material problem.
    #[error("tls: {0}")]
    Tls(String),
    /// State directory or snapshot problem.
    #[error("state: {0}")]
    State(String),
    /// The plugin host could not start.
    #[error(transparent)]
    Plugins(#[from] crate::plugin::HostError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(r: Response) -> serde_json::Value {
        let b = r.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&b).unwrap()
    }

    #[tokio::test]
    async fn short_and_conductor_shapes() {
        let short = ApiError::NotFound("not_found").into_response();
        assert_eq!(short.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            body(short).await,
            serde_json::json!({"error": "not_found", "message": "not found"})
        );
        let r = conductor_shape(
            ApiError::Unavailable {
                reason: "store_unavailable",
                retry_after: 1,
            }
            .into_response(),
            "hookd-1",
        );
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "1");
        assert_eq!(
            body(r).await,
            serde_json::json!({"status": 503, "message": "store_unavailable",
                "instance": "hookd-1", "retryable": true, "code": "store_unavailable"})
        );
        let ok = conductor_shape(StatusCode::OK.into_response(), "x");
        assert_eq!(ok.status(), StatusCode::OK);
    }
}
