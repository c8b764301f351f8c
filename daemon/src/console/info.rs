//! `GET /api/console/info` (admin token required): what the console shows beyond the admin API,
//! above all the URL prefix providers call (`server.public_url` + `/webhook/`, else this
//! instance's own provider-facing listener, with a hint to set `public_url`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use http::HeaderMap;
use serde::Serialize;

use crate::state::AppState;

/// The provider-facing listeners this instance bound (none in the `sink` role).
#[derive(Debug, Clone, Copy, Default)]
pub struct Listeners {
    /// `server.listen` (plain HTTP).
    pub plain: Option<SocketAddr>,
    /// `server.tls_listen` (HTTPS).
    pub tls: Option<SocketAddr>,
}

/// The answer.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    /// What a webhook's id is appended to (`…/webhook/`); `None` when it cannot be known.
    pub webhook_url_prefix: Option<String>,
    /// Whether `server.public_url` is set (the prefix is then the one providers use).
    pub public_url_set: bool,
    /// Why the prefix is probably not what providers should call, when it is not.
    pub hint: Option<String>,
    /// Who the console is signed in as (`createdBy` of what it creates).
    pub principal: String,
    /// Whether `[plugins] dir` is set (the plugins page and plugin platforms).
    pub plugins_enabled: bool,
    /// The daemon's version.
    pub version: &'static str,
}

struct Ctx {
    state: Arc<AppState>,
    listeners: Listeners,
}

/// The route, behind the admin API's authentication.
pub fn routes(state: Arc<AppState>, listeners: Listeners) -> Router {
    let ctx = Arc::new(Ctx {
        state: state.clone(),
        listeners,
    });
    Router::new()
        .route("/api/console/info", get(info))
        .with_state(ctx)
        .route_layer(middleware::from_fn_with_state(state, crate::admin::auth))
}

async fn info(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Json<Info> {
    let server = &ctx.state.cfg.server;
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok())
        .map(|a| a.host().to_owned());
    let (prefix, hint) = prefix(server.public_url.as_deref(), ctx.listeners, host.as_deref());
    Json(Info {
        webhook_url_prefix: prefix,
        public_url_set: server.public_url.is_some(),
        hint,
        principal: server.admin_principal.clone(),
        plugins_enabled: ctx.state.plugins.is_some(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

const HINT: &str = "server.public_url is not set: this is this instance's own listener address, \
     which providers usually cannot reach. Set server.public_url to the address they use (for \
     example the load balancer's URL).";

/// The URL prefix and the hint. `browser_host` (the host the browser reached the admin listener
/// by) stands in for a listener bound to every address (`0.0.0.0`, `[::]`).
fn prefix(
    public_url: Option<&str>,
    l: Listeners,
    browser_host: Option<&str>,
) -> (Option<String>, Option<String>) {
    if let Some(u) = public_url {
        return (Some(format!("{}/webhook/", u.trim_end_matches('/'))), None);
    }
    let (scheme, addr) = match (l.plain, l.tls) {
        (Some(a), _) => ("http", a),
        (None, Some(a)) => ("https", a),
        (None, None) => {
            return (
                None,
                Some(
                    "This instance runs no provider-facing listener (role = \"sink\"): set \
                     server.public_url to the address providers use."
                        .into(),
                ),
            )
        }
    };
    let host = match browser_host {
        Some(h) if addr.ip().is_unspecified() => {
            if h.contains(':') && !h.starts_with('[') {
                format!("[{h}]")
            } else {
                h.to_owned()
            }
        }
        _ => match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        },
    };
    (
        Some(format!("{scheme}://{host}:{}/webhook/", addr.port())),
        Some(HINT.into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(plain: Option<&str>, tls: Option<&str>) -> Listeners {
        Listeners {
            plain: plain.map(|a| a.parse().unwrap()),
            tls: tls.map(|a| a.parse().unwrap()),
        }
    }

    #[test]
    fn public_url_wins_and_has_no_hint() {
        let (p, h) = prefix(
            Some("https://hooks.example.com/"),
            l(Some("127.0.0.1:8080"), None),
            None,
        );
        assert_eq!(p.as_deref(), Some("https://hooks.example.com/webhook/"));
        assert!(h.is_none());
        let (p, _) = prefix(Some("https://lb/prefix"), l(None, None), None);
        assert_eq!(p.as_deref(), Some("https://lb/prefix/webhook/"));
    }

    #[test]
    fn listener_address_with_a_hint() {
        let (p, h) = prefix(
            None,
            l(Some("127.0.0.1:8080"), Some("127.0.0.1:8443")),
            None,
        );
        assert_eq!(p.as_deref(), Some("http://127.0.0.1:8080/webhook/"));
        assert!(h.unwrap().contains("server.public_url"));
        let (p, _) = prefix(None, l(None, Some("[::1]:8443")), None);
        assert_eq!(p.as_deref(), Some("https://[::1]:8443/webhook/"));
    }

    #[test]
    fn unspecified_address_takes_the_browsers_host() {
        let (p, _) = prefix(None, l(Some("0.0.0.0:8080"), None), Some("hookd.internal"));
        assert_eq!(p.as_deref(), Some("http://hookd.internal:8080/webhook/"));
        let (p, _) = prefix(None, l(Some("127.0.0.1:8080"), None), Some("elsewhere"));
        assert_eq!(p.as_deref(), Some("http://127.0.0.1:8080/webhook/"));
    }

    #[test]
    fn sink_role_has_no_prefix() {
        let (p, h) = prefix(None, l(None, None), None);
        assert!(p.is_none());
        assert!(h.unwrap().contains("public_url"));
    }
}
