//! The daemon's error types: [`ApiError`], the one place that maps errors to HTTP statuses and
//! short JSON bodies, and [`StartError`], why a daemon could not start.
//!
//! Bodies are `{"error": "<reason code>", "message": "<short text>"}` and never contain secrets,
//! signatures or request bodies.

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
    #[error("{reason}")]
    Unavailable {
        /// Reason code.
        reason: &'static str,
        /// `Retry-After` seconds.
        retry_after: u64,
    },
    /// Anything else (logged, not shown).
    #[error("internal error")]
    Internal,
    /// `GET /webhook/{id}` of a webhook whose verifier is not a plugin (only plugins answer
    /// GET handshakes); 405 with `Allow: POST`.
    #[error("this webhook accepts only POST")]
    MethodNotAllowed,
}

impl ApiError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Rejected(r) => r.to_string(),
            other => other.to_string(),
        };
        let body = serde_json::json!({ "error": self.reason(), "message": message });
        let mut resp = (self.status(), Json(body)).into_response();
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
