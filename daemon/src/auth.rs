//! Who may call the admin API: the static `admin_token`, and application keys
//! (`[[server.application_keys]]`) that exchange their secret for a short-lived token at
//! `POST /api/token`, as Orkes clients do.
//!
//! - A credential is read from `X-Authorization: <credential>` (Orkes) or
//!   `Authorization: Bearer <credential>`; it is the static token (compared in constant time) or
//!   a token issued here.
//! - Tokens are JWTs signed with HS256 (`jsonwebtoken`): `iss = "hookd"`, `sub` = the key id,
//!   `iat`, `exp` = issue time + `server.token_ttl_secs`, the signing key's id as `kid`. They
//!   are checked without a network round trip, so every instance accepts every instance's
//!   tokens: the signing key is `server.token_secret`, or derived (HKDF) from each key of
//!   `server.secrets_keys` — the newest signs, any listed one verifies.
//! - The role comes from the configuration when the token is used, not from the token: removing
//!   a key from the configuration revokes its tokens. `read` may use `GET` only (`403`
//!   otherwise); `admin` may do what the static token may.
//! - Key secrets are stored as their SHA-256 (`secret_sha256`), compared in constant time. They
//!   must be high-entropy random strings (not passwords): a plain hash is what such a secret
//!   needs, and it keeps the check cheap for the server and unprofitable to guess.

use std::collections::HashMap;

use http::{HeaderMap, Method};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{KeyRole, ServerConfig};
use crate::error::ApiError;
use crate::seal::Keyring;
use hookd_verify::Secret;

/// Issuer of every token.
const ISSUER: &str = "hookd";
/// HKDF label of token signing keys derived from the sealing keys.
const DERIVE_LABEL: &str = "hookd/admin-token/v1";

/// An authenticated caller of the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `server.admin_principal` for the static token, the key id for an application key
    /// (recorded as `createdBy`).
    pub name: String,
    /// What it may do.
    pub role: KeyRole,
}

/// The body of `POST /api/token`. No `Debug`: it holds a secret.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// The application key's id.
    pub key_id: String,
    /// The application key's secret.
    pub key_secret: String,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    iat: u64,
    exp: u64,
}

struct AppKey {
    secret_sha256: [u8; 32],
    role: KeyRole,
}

struct Signer {
    kid: String,
    key: EncodingKey,
}

/// Checks credentials and issues tokens (built once from `[server]` and the sealing keys).
pub struct Authenticator {
    admin_token: Secret,
    admin_principal: String,
    keys: HashMap<String, AppKey>,
    signer: Option<Signer>,
    verifiers: Vec<(String, DecodingKey)>,
    ttl_secs: u64,
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Constant-time equality of two credentials (hashed first, so the length is hidden too).
fn same(given: &[u8], expected: &[u8]) -> bool {
    sha256(given).ct_eq(&sha256(expected)).into()
}

impl Authenticator {
    /// From `[server]` (validated) and the sealing keys the token keys may be derived from.
    pub fn new(cfg: &ServerConfig, keyring: &Keyring) -> Self {
        let keys = cfg
            .application_keys
            .iter()
            .map(|k| {
                let mut h = [0u8; 32];
                // Validated as 64 hex digits by `config`.
                let _ = hex::decode_to_slice(&k.secret_sha256, &mut h);
                (
                    k.id.clone(),
                    AppKey {
                        secret_sha256: h,
                        role: k.role,
                    },
                )
            })
            .collect();
        let material: Vec<(String, Secret)> = match &cfg.token_secret {
            Some(t) => vec![(
                hex::encode(&sha256(format!("hookd token secret id\0{}", &**t).as_bytes())[..4]),
                Secret::new(t.as_bytes().to_vec()),
            )],
            None => keyring.derive(DERIVE_LABEL),
        };
        let signer = material.first().map(|(kid, k)| Signer {
            kid: kid.clone(),
            key: EncodingKey::from_secret(k.expose()),
        });
        let verifiers = material
            .iter()
            .map(|(kid, k)| (kid.clone(), DecodingKey::from_secret(k.expose())))
            .collect();
        Authenticator {
            admin_token: Secret::new(cfg.admin_token.as_bytes().to_vec()),
            admin_principal: cfg.admin_principal.clone(),
            keys,
            signer,
            verifiers,
            ttl_secs: cfg.token_ttl_secs,
        }
    }

    /// Authenticates the request and checks that its identity may use `method`: `401` without
    /// a valid credential, `403` for a `read` identity on anything but `GET`/`HEAD`.
    pub fn authorize(&self, method: &Method, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let p = self.authenticate(headers).ok_or(ApiError::Unauthorized)?;
        match p.role {
            KeyRole::Admin => Ok(p),
            KeyRole::Read if method == Method::GET || method == Method::HEAD => Ok(p),
            KeyRole::Read => Err(ApiError::ReadOnly),
        }
    }

    /// The identity of the first valid credential in `X-Authorization` or
    /// `Authorization: Bearer`.
    fn authenticate(&self, headers: &HeaderMap) -> Option<Principal> {
        let x = headers.get("x-authorization").map(|v| v.as_bytes());
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        [x, bearer]
            .into_iter()
            .flatten()
            .find_map(|c| self.identify(c))
    }

    fn identify(&self, credential: &[u8]) -> Option<Principal> {
        if same(credential, self.admin_token.expose()) {
            return Some(Principal {
                name: self.admin_principal.clone(),
                role: KeyRole::Admin,
            });
        }
        let token = std::str::from_utf8(credential).ok()?;
        if token.len() > 4096 || token.bytes().filter(|b| *b == b'.').count() != 2 {
            return None;
        }
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let (_, key) = self.verifiers.iter().find(|(k, _)| *k == kid)?;
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &v).ok()?.claims;
        let app = self.keys.get(&claims.sub)?;
        Some(Principal {
            name: claims.sub,
            role: app.role,
        })
    }

    /// `POST /api/token`: a token for a valid key id and secret; `401` otherwise (the same
    /// answer for an unknown id and a wrong secret).
    pub fn issue(&self, req: &TokenRequest) -> Result<String, ApiError> {
        let given = sha256(req.key_secret.as_bytes());
        let ok = match self.keys.get(&req.key_id) {
            Some(k) => bool::from(given.ct_eq(&k.secret_sha256)),
            None => {
                // Same work as a known id.
                let _ = bool::from(given.ct_eq(&[0u8; 32]));
                false
            }
        };
        let signer = self.signer.as_ref().filter(|_| ok).ok_or_else(|| {
            tracing::info!(key_id = ?req.key_id.chars().take(128).collect::<String>(),
                "token refused: unknown application key or wrong secret");
            ApiError::Unauthorized
        })?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: req.key_id.clone(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(signer.kid.clone());
        jsonwebtoken::encode(&header, &claims, &signer.key).map_err(|e| {
            tracing::error!(error = %e, "cannot sign a token");
            ApiError::Internal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn auth(keys: &[&str], extra: &str) -> Authenticator {
        let hash = |s: &str| hex::encode(sha256(s.as_bytes()));
        let text = format!(
            "[server]\nadmin_token = \"static-admin-token\"\n{extra}\n\
             [[server.application_keys]]\nid = \"ops\"\nsecret_sha256 = \"{}\"\nrole = \"admin\"\n\
             [[server.application_keys]]\nid = \"dash\"\nsecret_sha256 = \"{}\"\nrole = \"read\"\n",
            hash("ops-secret"),
            hash("dash-secret")
        );
        let text = if keys.is_empty() {
            text
        } else {
            let list: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
            text.replacen(
                "[server]\n",
                &format!("[server]\nsecrets_keys = [{}]\n", list.join(",")),
                1,
            )
        };
        let cfg = Config::from_toml(&text).unwrap();
        Authenticator::new(
            &cfg.server,
            &Keyring::new(&cfg.server.secrets_keys).unwrap(),
        )
    }

    fn req(id: &str, secret: &str) -> TokenRequest {
        TokenRequest {
            key_id: id.into(),
            key_secret: secret.into(),
        }
    }

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
        h
    }

    #[test]
    fn tokens_carry_the_configured_role() {
        let a = auth(&[K1], "");
        let t = a.issue(&req("ops", "ops-secret")).unwrap();
        for h in [
            headers("x-authorization", &t),
            headers("authorization", &format!("Bearer {t}")),
        ] {
            let p = a.authorize(&Method::PUT, &h).unwrap();
            assert_eq!(p.name, "ops");
        }
        let r = a.issue(&req("dash", "dash-secret")).unwrap();
        let h = headers("x-authorization", &r);
        assert_eq!(a.authorize(&Method::GET, &h).unwrap().role, KeyRole::Read);
        for m in [Method::PUT, Method::POST, Method::DELETE] {
            assert!(matches!(a.authorize(&m, &h), Err(ApiError::ReadOnly)));
        }
        let st = headers("x-authorization", "static-admin-token");
        assert_eq!(a.authorize(&Method::DELETE, &st).unwrap().name, "admin");
    }

    #[test]
    fn refusals() {
        let a = auth(&[K1], "");
        assert!(a.issue(&req("ops", "wrong")).is_err());
        assert!(a.issue(&req("nobody", "ops-secret")).is_err());
        let t = a.issue(&req("ops", "ops-secret")).unwrap();
        let unauth = |v: &str| {
            matches!(
                a.authorize(&Method::GET, &headers("x-authorization", v)),
                Err(ApiError::Unauthorized)
            )
        };
        // altered payload, altered signature, garbage, another signing key
        let parts: Vec<&str> = t.split('.').collect();
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                iss: ISSUER.into(),
                sub: "ops".into(),
                iat: 0,
                exp: u64::MAX / 2,
            },
            &EncodingKey::from_secret(b"guess"),
        )
        .unwrap();
        assert!(unauth(&format!("{}.{}x.{}", parts[0], parts[1], parts[2])));
        assert!(unauth(&format!("{}.{}.{}A", parts[0], parts[1], parts[2])));
        assert!(unauth("a.b.c") && unauth("") && unauth(&forged));
        let other = auth(&[K2], "");
        let t2 = other.issue(&req("ops", "ops-secret")).unwrap();
        assert!(unauth(&t2));
        // a key removed from the configuration: its tokens stop working
        let fewer = Authenticator {
            keys: HashMap::new(),
            ..auth(&[K1], "")
        };
        assert!(fewer
            .authorize(&Method::GET, &headers("x-authorization", &t))
            .is_err());
        // expired
        let mut short = auth(&[K1], "token_ttl_secs = 1");
        short.ttl_secs = 0;
        let old = short.issue(&req("ops", "ops-secret")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(short
            .authorize(&Method::GET, &headers("x-authorization", &old))
            .is_err());
    }

    #[test]
    fn every_instance_accepts_every_instances_tokens() {
        // Rotation: [K2, K1] signs with K2 and accepts K1's tokens; [K1, K2] accepts K2's.
        let a = auth(&[K1], "");
        let b = auth(&[K2, K1], "");
        let c = auth(&[K1, K2], "");
        let ta = a.issue(&req("ops", "ops-secret")).unwrap();
        let tb = b.issue(&req("ops", "ops-secret")).unwrap();
        let h = |t: &str| headers("x-authorization", t);
        assert!(b.authorize(&Method::GET, &h(&ta)).is_ok());
        assert!(c.authorize(&Method::GET, &h(&tb)).is_ok());
        assert!(a.authorize(&Method::GET, &h(&tb)).is_err());
        // an explicit token secret: any instance with the same secret
        let s = format!("token_secret = \"{}\"", "s".repeat(40));
        let (x, y) = (auth(&[], &s), auth(&[K2], &s));
        let tx = x.issue(&req("dash", "dash-secret")).unwrap();
        assert!(y.authorize(&Method::GET, &h(&tx)).is_ok());
    }
}
