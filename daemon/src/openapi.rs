//! The admin API's OpenAPI 3.1 document: the shared parts (title, security schemes, the error
//! body). The paths come from the `#[utoipa::path]` annotations of the handlers in `admin.rs`,
//! which builds its router and this document from the same list of handlers
//! (`utoipa_axum::routes!`), so a route cannot be served without being described. Served at
//! `GET /api/openapi.json`.

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The body of every admin error answer (`error::conductor_shape`): Conductor's `ErrorResponse`
/// shape plus hookd's reason code;
/// never a secret, a signature or a request body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    pub status: u16,
    /// Short human-readable text (never a secret).
    pub message: String,
    /// The id of the instance that answered.
    pub instance: String,
    /// Whether the same request may succeed later (503s).
    pub retryable: bool,
    /// hookd's reason code, e.g. `unauthorized`, `not_found`, `invalid`, `conflict`,
    /// `store_unavailable`.
    pub code: String,
}

/// `POST /api/token`'s body: an application key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequestBody {
    /// The key's `id` in `[[server.application_keys]]`.
    pub key_id: String,
    /// The key's secret (its SHA-256 is in the configuration).
    pub key_secret: String,
}

/// `POST /api/token`'s answer.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// A signed token (JWT, HS256) that expires after `server.token_ttl_secs`.
    pub token: String,
}

/// `GET /api/admin/plugins`.
#[derive(Serialize, ToSchema)]
pub struct PluginList {
    /// `plugins.dir`.
    pub dir: String,
    /// Loaded plugin names, sorted.
    pub loaded: Vec<String>,
    /// The plugin contract version the host serves (plugins built for it load).
    pub contract: String,
    /// Files of the last load that were not loaded, with the reason.
    pub failed: std::collections::BTreeMap<String, String>,
}

/// Name of the `X-Authorization: <admin_token>` scheme (Orkes style; the handlers' annotations
/// spell it as a literal).
pub const X_AUTHORIZATION: &str = "x_authorization";
/// Name of the `Authorization: Bearer <admin_token>` scheme (likewise).
pub const BEARER: &str = "bearer";

/// The document's fixed parts.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookd admin API",
        description = "Orkes-compatible webhook definitions (/api/metadata/webhook…), plugin \
            management, health, readiness and metrics, on server.admin_listen. Authenticated \
            routes take the admin token as `X-Authorization: <token>` or `Authorization: Bearer \
            <token>`; responses never show secrets (they are masked as \"***\")."
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Application keys exchanged for tokens"),
        (name = "webhooks", description = "Webhook definitions (Orkes WebhookConfig)"),
        (name = "plugins", description = "WebAssembly verifier plugins"),
        (name = "operations", description = "Health, readiness, metrics, this document")
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            X_AUTHORIZATION,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Authorization"))),
        );
        c.add_security_scheme(
            BEARER,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
