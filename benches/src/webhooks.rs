//! The webhooks a run sends to: created through hookd's admin API, or given on the command line.

use std::time::Duration;

use crate::shapes::Provider;

/// One webhook to load.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Its id (`/webhook/<id>`).
    pub id: String,
    /// Its provider shape.
    pub provider: Provider,
    /// Its signing secret.
    pub secret: String,
}

/// An admin API call failed.
#[derive(Debug, thiserror::Error)]
#[error("admin API: {0}")]
pub struct AdminError(String);

/// Creates one webhook per provider through the admin API at `admin` (`http://host:port`),
/// each with a fresh random secret; returns them in the order given.
pub async fn create(
    admin: &str,
    token: &str,
    providers: &[Provider],
    run: u32,
) -> Result<Vec<Webhook>, AdminError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| AdminError(e.to_string()))?;
    let mut out = Vec::new();
    for &p in providers {
        let secret = format!("whsec_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let name = format!("loadgen-{run:08x}-{}", p.as_str());
        let r = client
            .post(format!(
                "{}/api/metadata/webhook",
                admin.trim_end_matches('/')
            ))
            .header("X-Authorization", token)
            .json(&p.webhook_json(&name, &secret))
            .send()
            .await
            .map_err(|e| AdminError(format!("create {name}: {e}")))?;
        let status = r.status();
        let v: serde_json::Value = r
            .json()
            .await
            .map_err(|e| AdminError(format!("create {name}: {status}: {e}")))?;
        let id = match v["id"].as_str() {
            Some(id) if status.is_success() => id.to_string(),
            _ => return Err(AdminError(format!("create {name}: {status}: {v}"))),
        };
        out.push(Webhook {
            id,
            provider: p,
            secret,
        });
    }
    Ok(out)
}
