//! The web console (`docs/console.md`): a single-page app served on the admin listener at `/`,
//! plus `GET /api/console/info` (what the page needs beyond the admin API: the URL prefix
//! providers call). The app is built from `console/` by `scripts/build-console` into
//! `assets/` (committed) and embedded here with `include_bytes!`, so the binary serves it
//! offline and alone.
//!
//! The page talks only to the admin API of its own origin, with the credential in the
//! `X-Authorization` header (kept in the tab's session storage, never in a cookie: no CSRF
//! surface). Every console response carries a strict Content-Security-Policy: scripts, styles,
//! images and requests from this origin only, no inline script or style, no framing, no form
//! posts.

mod info;

use std::sync::{Arc, OnceLock};

use axum::extract::Request;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header::{self, HeaderValue};
use http::StatusCode;
use sha2::{Digest, Sha256};

pub use info::Listeners;

use crate::state::AppState;

/// Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    etag: OnceLock<HeaderValue>,
}

impl Asset {
    const fn new(bytes: &'static [u8], content_type: &'static str) -> Asset {
        Asset {
            bytes,
            content_type,
            etag: OnceLock::new(),
        }
    }

    /// A strong validator: the first 16 bytes of the SHA-256 of the content, in hex.
    fn etag(&self) -> &HeaderValue {
        self.etag.get_or_init(|| {
            let d = Sha256::digest(self.bytes);
            HeaderValue::from_str(&format!("\"{}\"", hex::encode(&d[..16])))
                .expect("hex is a valid header value")
        })
    }

    /// The file, or `304` when the browser's copy is current. `no-cache`: the browser revalidates
    /// every time, so a new binary's console is picked up at once.
    fn serve(&self, req: &Request) -> Response {
        let etag = self.etag().clone();
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes());
        let mut resp = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                )],
                self.bytes,
            )
                .into_response()
        };
        let h = resp.headers_mut();
        h.insert(header::ETAG, etag);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        resp
    }
}

static INDEX: Asset = Asset::new(
    include_bytes!("assets/index.html"),
    "text/html; charset=utf-8",
);
static APP_JS: Asset = Asset::new(
    include_bytes!("assets/app.js"),
    "text/javascript; charset=utf-8",
);
static APP_CSS: Asset = Asset::new(include_bytes!("assets/app.css"), "text/css; charset=utf-8");
static ICON: Asset = Asset::new(include_bytes!("assets/icon.svg"), "image/svg+xml");

/// Security headers on every console response.
async fn harden(req: Request, next: middleware::Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// The console's routes, merged into the admin router: the page and its assets (no token: they
/// hold no data), and `GET /api/console/info` behind the admin API's authentication.
pub fn routes(state: Arc<AppState>, listeners: Listeners) -> Router {
    let pages = Router::new()
        .route("/", get(|req: Request| async move { INDEX.serve(&req) }))
        .route(
            "/console/app.js",
            get(|req: Request| async move { APP_JS.serve(&req) }),
        )
        .route(
            "/console/app.css",
            get(|req: Request| async move { APP_CSS.serve(&req) }),
        )
        .route(
            "/console/icon.svg",
            get(|req: Request| async move { ICON.serve(&req) }),
        )
        .layer(middleware::from_fn(harden));
    pages.merge(info::routes(state, listeners))
}
