//! The webhook registry: what every request looks up, shared between instances.
//!
//! Source of truth is a compacted Kafka topic (`kafka.config_topic`) that every instance reads
//! from the beginning: `webhook/<id>` records carry a whole definition (or a delete marker) with a
//! revision, `verified/<id>` records say the URL was verified. Conflicts resolve last-writer-wins
//! by `(rev, origin)`; revisions are hybrid logical clocks (max of wall-clock ms and the highest
//! revision seen + 1). A local snapshot in `state_dir/webhooks.json` survives restarts; after
//! catching up with the topic an instance republishes whatever its snapshot knows that the topic
//! lacks — which is how API-created webhooks survive a restart on the in-memory embedded broker.
//!
//! Static `[[webhooks]]` from the config file are defined on every instance alike: they are
//! never published, cannot be changed through the API, and only their `urlVerified` is shared.
//!
//! Records (in the topic, in the snapshot, in `Inner::records`) hold their secrets sealed
//! (`crate::seal`); an entry holds them opened. A record no configured key opens still makes an
//! entry — without a verifier (`Verifier::Unavailable`, answered `503`), its secrets `***` —
//! and stays as it is in the topic and the snapshot, so a later key list can open it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::spec::{Spec, SpecBuilder};
use crate::metrics::WebhookMetrics;
use crate::model::{WebhookConfig, MASK};
use crate::seal::Keyring;

/// A registered webhook, ready to verify requests.
pub struct Entry {
    config: WebhookConfig,
    /// What `config` means (verifier, starts, receivers), built once.
    pub spec: Spec,
    url_verified: AtomicBool,
    created_rev: u64,
    /// Defined in the config file (read-only through the API).
    pub is_static: bool,
    /// Its request metrics (label and handles resolved once, not per request).
    metrics: Arc<WebhookMetrics>,
}

impl Entry {
    /// The webhook id.
    pub fn id(&self) -> &str {
        self.config.id.as_deref().unwrap_or_default()
    }
    /// The stored config (unmasked: never return it from the API without `.masked()`).
    pub fn config(&self) -> WebhookConfig {
        let mut c = self.config.clone();
        c.url_verified = self.url_verified();
        c
    }
    /// Whether a request to this webhook has passed verification.
    pub fn url_verified(&self) -> bool {
        self.url_verified.load(Ordering::Relaxed)
    }
    /// Revision of the create this definition descends from: a re-create under the same id
    /// starts a new generation (fresh `urlVerified`, empty history).
    pub fn generation(&self) -> u64 {
        self.created_rev
    }
    /// The user who created it (`createdBy`).
    pub fn created_by(&self) -> Option<&str> {
        self.config.created_by.as_deref()
    }
    /// Whether its stored secrets could not be opened (requests answer `503`).
    pub fn secrets_unavailable(&self) -> bool {
        self.spec.verifier.is_unavailable()
    }
    /// Its request metrics.
    pub fn metrics(&self) -> &Arc<WebhookMetrics> {
        &self.metrics
    }
}

/// One `webhook/<id>` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// Revision (hybrid logical clock, ms).
    pub rev: u64,
    /// Revision of the create this definition descends from (a re-create resets `urlVerified`).
    pub created_rev: u64,
    /// Instance that wrote it (tie-break).
    pub origin: String,
    /// Delete marker.
    #[serde(default)]
    pub deleted: bool,
    /// The definition (absent when deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<WebhookConfig>,
}

/// One `verified/<id>` record.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct VerifiedRecord {
    /// `created_rev` of the definition that was verified (0 for static webhooks).
    pub created_rev: u64,
}

#[derive(Default, Serialize, Deserialize)]
struct Snapshot {
    webhooks: HashMap<String, WebhookRecord>,
    verified: HashMap<String, VerifiedRecord>,
}

#[derive(Default)]
struct Inner {
    live: HashMap<String, Arc<Entry>>,
    /// Latest record per API-managed id (including delete markers), as persisted.
    records: HashMap<String, WebhookRecord>,
    verified: HashMap<String, VerifiedRecord>,
}

/// What [`Registry::reload_static`] changed, by id.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StaticChanges {
    /// New static webhooks.
    pub added: Vec<String>,
    /// Static webhooks whose definition changed.
    pub changed: Vec<String>,
    /// Static webhooks no longer in the file.
    pub removed: Vec<String>,
}

impl StaticChanges {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// A definition as an entry stores it.
fn strip(config: WebhookConfig) -> WebhookConfig {
    WebhookConfig {
        url_verified: false,
        webhook_execution_history: Vec::new(),
        ..config
    }
}

/// Webhook and verified records by id (see [`Registry::known_records`]).
pub type KnownRecords = (Vec<(String, WebhookRecord)>, Vec<(String, VerifiedRecord)>);

/// Errors of registry writes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such webhook.
    #[error("webhook not found")]
    NotFound,
    /// Id taken, or a static webhook.
    #[error("{0}")]
    Conflict(String),
    /// Invalid definition.
    #[error("{0}")]
    Invalid(String),
    /// The definition is larger than a config-topic record may be.
    #[error("webhook definition too large")]
    TooLarge,
    /// The config topic could not take the change.
    #[error("webhook store unavailable: {0}")]
    Unavailable(String),
}

/// Called with the id of a webhook that was deleted (here or on another instance).
pub type Removed = Box<dyn Fn(&str) + Send + Sync>;

/// The registry.
pub struct Registry {
    inner: RwLock<Inner>,
    builder: SpecBuilder,
    keyring: Arc<Keyring>,
    on_removed: RwLock<Option<Removed>>,
    state_file: Option<PathBuf>,
    clock: AtomicU64,
    /// This instance's id (tie-break of equal revisions).
    pub instance: String,
    persist_lock: std::sync::Mutex<()>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn newer(a: (u64, &str), b: (u64, &str)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
}

impl Registry {
    /// A registry with the static webhooks of the config and the snapshot in `state_dir`;
    /// `keyring` seals and opens the secrets of shared definitions.
    pub fn new(
        statics: &[WebhookConfig],
        builder: SpecBuilder,
        keyring: Arc<Keyring>,
        state_dir: Option<PathBuf>,
    ) -> Result<Self, String> {
        let reg = Registry {
            inner: RwLock::new(Inner::default()),
            builder,
            keyring,
            on_removed: RwLock::new(None),
            state_file: state_dir.map(|d| d.join("webhooks.json")),
            clock: AtomicU64::new(0),
            instance: uuid::Uuid::new_v4().to_string(),
            persist_lock: std::sync::Mutex::new(()),
        };
        let snap: Snapshot = match &reg.state_file {
            Some(f) if f.exists() => {
                let text = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
                serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", f.display()))?
            }
            _ => Snapshot::default(),
        };
        {
            let mut inner = reg.inner.write().unwrap();
            inner.verified = snap.verified;
            for w in statics {
                let entry = reg
                    .build_entry(w.clone(), 0, true, &inner.verified)
                    .map_err(|e| format!("webhook {:?}: {e}", w.id))?;
                inner.live.insert(entry.id().to_string(), Arc::new(entry));
            }
        }
        for (id, rec) in snap.webhooks {
            reg.apply_keyed(&id, rec, false);
        }
        Ok(reg)
    }

    fn build_entry(
        &self,
        config: WebhookConfig,
        created_rev: u64,
        is_static: bool,
        verified: &HashMap<String, VerifiedRecord>,
    ) -> Result<Entry, String> {
        let spec = if is_static {
            self.builder.build(&config)?
        } else {
            self.builder.build_shared(&config)?
        };
        Ok(Self::entry(config, spec, created_rev, is_static, verified))
    }

    /// The entry of a shared record: its secrets opened, or — when no configured key opens
    /// them — an entry whose requests answer `503` (reported, never an empty secret).
    fn open_entry(
        &self,
        id: &str,
        sealed: &WebhookConfig,
        created_rev: u64,
        verified: &HashMap<String, VerifiedRecord>,
    ) -> Result<Entry, String> {
        match self.keyring.open_config(id, sealed) {
            Ok(config) => self.build_entry(config, created_rev, false, verified),
            Err(e) => {
                tracing::error!(webhook = %id, error = %e,
                    "cannot open this webhook's secrets with server.secrets_keys: it answers 503 until a key that opens them is configured (or its secrets are sent again)");
                metrics::counter!(crate::metrics::SECRETS_UNOPENED_TOTAL).increment(1);
                let config = sealed.masked();
                let spec = self.builder.build_unavailable(&config);
                Ok(Self::entry(config, spec, created_rev, false, verified))
            }
        }
    }

    fn entry(
        config: WebhookConfig,
        spec: Spec,
        created_rev: u64,
        is_static: bool,
        verified: &HashMap<String, VerifiedRecord>,
    ) -> Entry {
        let id = config.id.clone().unwrap_or_default();
        let v = verified
            .get(&id)
            .is_some_and(|r| r.created_rev == created_rev);
        let metrics = Arc::new(WebhookMetrics::new(&id, spec.verifier.kind()));
        Entry {
            config: strip(config),
            spec,
            url_verified: AtomicBool::new(v),
            created_rev,
            is_static,
            metrics,
        }
    }

    /// Sets what to do when a webhook is deleted (here or on another instance): the daemon
    /// forgets its execution history.
    pub fn on_removed(&self, f: Removed) {
        *self.on_removed.write().unwrap() = Some(f);
    }

    /// Looks a webhook up (the per-request path: one read lock, one `Arc` clone).
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        self.inner.read().unwrap().live.get(id).cloned()
    }

    /// All webhooks, sorted by name then id.
    pub fn list(&self) -> Vec<Arc<Entry>> {
        let mut v: Vec<_> = self.inner.read().unwrap().live.values().cloned().collect();
        v.sort_by(|a, b| (&a.config.name, a.id()).cmp(&(&b.config.name, b.id())));
        v
    }

    /// The next revision.
    pub fn next_rev(&self) -> u64 {
        let now = now_ms();
        let mut cur = self.clock.load(Ordering::Relaxed);
        loop {
            let next = now.max(cur + 1);
            match self
                .clock
                .compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(c) => cur = c,
            }
        }
    }

    fn observe_rev(&self, rev: u64) {
        self.clock.fetch_max(rev, Ordering::Relaxed);
    }

    /// Prepares the record for a create. Fails if the id is taken.
    pub fn prepare_create(&self, mut config: WebhookConfig) -> Result<WebhookRecord, StoreError> {
        let id = config
            .id
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        if self.get(&id).is_some() {
            return Err(StoreError::Conflict(format!(
                "webhook id {id} already exists"
            )));
        }
        config.id = Some(id.clone());
        config.url_verified = false;
        config.webhook_execution_history.clear();
        config
            .check_no_masks()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.builder.build(&config).map_err(StoreError::Invalid)?;
        let config = self.seal(&id, &config)?;
        let rev = self.next_rev();
        Ok(WebhookRecord {
            rev,
            created_rev: rev,
            origin: self.instance.clone(),
            deleted: false,
            config: Some(config),
        })
    }

    /// `config` with its secrets sealed, as it goes to the topic and the snapshot.
    fn seal(&self, id: &str, config: &WebhookConfig) -> Result<WebhookConfig, StoreError> {
        self.keyring
            .seal_config(id, config)
            .map_err(StoreError::Invalid)
    }

    /// Prepares the record for an update of `id` (`"***"` keeps secrets, and is refused where
    /// there is none to keep; `urlVerified` kept; `createdBy` stays the creator's, or becomes
    /// the caller's given in `config` when none is stored).
    pub fn prepare_update(
        &self,
        id: &str,
        mut config: WebhookConfig,
    ) -> Result<WebhookRecord, StoreError> {
        let cur = self.get(id).ok_or(StoreError::NotFound)?;
        if cur.is_static {
            return Err(StoreError::Conflict(format!(
                "webhook {id} is defined in the config file; change it there"
            )));
        }
        config.keep_masked_secrets_from(&cur.config);
        if cur.secrets_unavailable() && config.secrets_mut().iter().any(|(_, v)| *v == MASK) {
            return Err(StoreError::Conflict(format!(
                "the secrets of webhook {id} are sealed with a key not in server.secrets_keys: send every secret in clear to replace them"
            )));
        }
        config
            .check_no_masks()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        config.id = Some(id.to_string());
        config.url_verified = false;
        config.webhook_execution_history.clear();
        if cur.config.created_by.is_some() {
            config.created_by.clone_from(&cur.config.created_by);
        }
        self.builder.build(&config).map_err(StoreError::Invalid)?;
        let config = self.seal(id, &config)?;
        Ok(WebhookRecord {
            rev: self.next_rev(),
            created_rev: cur.created_rev,
            origin: self.instance.clone(),
            deleted: false,
            config: Some(config),
        })
    }

    /// New records for the definitions whose secrets are not sealed with the newest key (an
    /// older key, or in clear while keys are configured) and that the keyring opens: the same
    /// definition sealed with the newest key, under a new revision so that every instance and
    /// snapshot takes it.
    pub fn prepare_reseals(&self) -> Vec<(String, WebhookRecord)> {
        let inner = self.inner.read().unwrap();
        let mut out = Vec::new();
        for (id, rec) in &inner.records {
            let Some(sealed) = rec.config.as_ref().filter(|_| !rec.deleted) else {
                continue;
            };
            if !self.keyring.needs_reseal(sealed) {
                continue;
            }
            let Ok(config) = self.keyring.open_config(id, sealed) else {
                continue; // reported when applied; kept as it is
            };
            match self.keyring.seal_config(id, &config) {
                Ok(config) => out.push((
                    id.clone(),
                    WebhookRecord {
                        rev: self.next_rev(),
                        created_rev: rec.created_rev,
                        origin: self.instance.clone(),
                        deleted: false,
                        config: Some(config),
                    },
                )),
                Err(e) => tracing::error!(webhook = %id, error = %e, "cannot re-seal"),
            }
        }
        out
    }

    /// Prepares a delete marker for `id`.
    pub fn prepare_delete(&self, id: &str) -> Result<WebhookRecord, StoreError> {
        let cur = self.get(id).ok_or(StoreError::NotFound)?;
        if cur.is_static {
            return Err(StoreError::Conflict(format!(
                "webhook {id} is defined in the config file; remove it there"
            )));
        }
        Ok(WebhookRecord {
            rev: self.next_rev(),
            created_rev: cur.created_rev,
            origin: self.instance.clone(),
            deleted: true,
            config: None,
        })
    }

    /// Applies a webhook record (local write, snapshot or topic) if it is newer than what is
    /// known for `id`. Returns whether it changed anything.
    pub fn apply_keyed(&self, id: &str, rec: WebhookRecord, persist: bool) -> bool {
        self.observe_rev(rec.rev);
        let changed = {
            let mut inner = self.inner.write().unwrap();
            Self::apply_locked(self, &mut inner, id.to_string(), rec)
        };
        if changed && persist {
            self.persist();
        }
        changed
    }

    fn apply_locked(&self, inner: &mut Inner, id: String, rec: WebhookRecord) -> bool {
        if inner.live.get(&id).is_some_and(|e| e.is_static) {
            tracing::warn!(webhook = %id, "ignoring shared definition of a static webhook id");
            return false;
        }
        if let Some(cur) = inner.records.get(&id) {
            if !newer((rec.rev, &rec.origin), (cur.rev, &cur.origin)) {
                return false;
            }
        }
        if rec.deleted {
            if inner.live.remove(&id).is_some() {
                if let Some(f) = self.on_removed.read().unwrap().as_ref() {
                    f(&id);
                }
            }
            inner.verified.remove(&id);
        } else if let Some(cfg) = rec.config.clone() {
            let prev_verified = inner
                .live
                .get(&id)
                .is_some_and(|e| e.created_rev == rec.created_rev && e.url_verified());
            match self.open_entry(&id, &cfg, rec.created_rev, &inner.verified) {
                Ok(e) => {
                    if prev_verified {
                        e.url_verified.store(true, Ordering::Relaxed);
                    }
                    inner.live.insert(id.clone(), Arc::new(e));
                }
                Err(e) => {
                    tracing::error!(webhook = %id, error = %e, "ignoring invalid shared definition");
                    return false;
                }
            }
        }
        inner.records.insert(id, rec);
        let unopened = inner.live.values().filter(|e| e.secrets_unavailable());
        metrics::gauge!(crate::metrics::SECRETS_UNOPENED_WEBHOOKS).set(unopened.count() as f64);
        true
    }

    /// Replaces the static webhooks with `statics` (the `[[webhooks]]` of a re-read config
    /// file). Every definition is built first: if one is invalid nothing changes and the error
    /// names it. A static whose definition is unchanged keeps its entry; a changed one keeps its
    /// `urlVerified`; an id that an API-managed webhook holds is taken over by the static one.
    pub fn reload_static(&self, statics: &[WebhookConfig]) -> Result<StaticChanges, String> {
        let mut changes = StaticChanges::default();
        let mut inner = self.inner.write().unwrap();
        let mut built = Vec::with_capacity(statics.len());
        for (i, w) in statics.iter().enumerate() {
            let id = w.id.clone().unwrap_or_default();
            match inner.live.get(&id) {
                Some(cur) if cur.is_static && cur.config == strip(w.clone()) => continue,
                cur => {
                    let was = cur.filter(|c| c.is_static);
                    let e = self
                        .build_entry(w.clone(), 0, true, &inner.verified)
                        .map_err(|e| format!("webhooks[{i}] (id {id}): {e}"))?;
                    if was.is_some_and(|c| c.url_verified()) {
                        e.url_verified.store(true, Ordering::Relaxed);
                    }
                    match was {
                        Some(_) => changes.changed.push(id.clone()),
                        None => changes.added.push(id.clone()),
                    }
                    built.push((id, e));
                }
            }
        }
        let keep: std::collections::HashSet<&str> =
            statics.iter().filter_map(|w| w.id.as_deref()).collect();
        let gone: Vec<String> = inner
            .live
            .values()
            .filter(|e| e.is_static && !keep.contains(e.id()))
            .map(|e| e.id().to_string())
            .collect();
        for id in gone {
            inner.live.remove(&id);
            if let Some(f) = self.on_removed.read().unwrap().as_ref() {
                f(&id);
            }
            changes.removed.push(id);
        }
        for (id, e) in built {
            inner.live.insert(id, Arc::new(e));
        }
        changes.added.sort();
        changes.changed.sort();
        changes.removed.sort();
        Ok(changes)
    }

    /// Marks `entry` verified locally; returns the record to share when this is the first time.
    pub fn mark_verified(&self, entry: &Entry) -> Option<VerifiedRecord> {
        if entry.url_verified.swap(true, Ordering::Relaxed) {
            return None;
        }
        let rec = VerifiedRecord {
            created_rev: entry.created_rev,
        };
        self.inner
            .write()
            .unwrap()
            .verified
            .insert(entry.id().to_string(), rec);
        self.persist();
        Some(rec)
    }

    /// Applies a `verified/<id>` record from the topic.
    pub fn apply_verified(&self, id: &str, rec: VerifiedRecord) {
        let changed = {
            let mut inner = self.inner.write().unwrap();
            let hit = match inner.live.get(id) {
                Some(e) if e.created_rev == rec.created_rev => {
                    !e.url_verified.swap(true, Ordering::Relaxed)
                }
                _ => false,
            };
            let known = inner
                .verified
                .get(id)
                .is_some_and(|r| r.created_rev == rec.created_rev);
            if !known {
                inner.verified.insert(id.to_string(), rec);
            }
            hit || !known
        };
        if changed {
            self.persist();
        }
    }

    /// Every record this instance knows (for republishing after catch-up).
    pub fn known_records(&self) -> KnownRecords {
        let inner = self.inner.read().unwrap();
        (
            inner
                .records
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            inner
                .verified
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        )
    }

    /// Checks, before a change is shared, that the snapshot can be written with `rec` applied
    /// to `id` (the same temporary file is written and synced, then removed): a state directory
    /// that cannot take it makes the change fail (503) instead of being lost on restart.
    pub fn check_persistable(&self, id: &str, rec: &WebhookRecord) -> Result<(), StoreError> {
        let Some(file) = &self.state_file else {
            return Ok(());
        };
        let _g = self.persist_lock.lock().unwrap();
        let snap = {
            let inner = self.inner.read().unwrap();
            let mut webhooks = inner.records.clone();
            webhooks.insert(id.to_string(), rec.clone());
            Snapshot {
                webhooks,
                verified: inner.verified.clone(),
            }
        };
        let tmp = write_tmp(file, &snap).map_err(|e| {
            tracing::error!(file = %file.display(), error = %e, "cannot persist webhook snapshot");
            StoreError::Unavailable(format!("state directory: {e}"))
        })?;
        let _ = std::fs::remove_file(tmp);
        Ok(())
    }

    /// Writes the snapshot atomically (temp file + rename, mode 0600: it holds secrets).
    pub fn persist(&self) {
        let Some(file) = &self.state_file else {
            return;
        };
        let _g = self.persist_lock.lock().unwrap();
        let snap = {
            let inner = self.inner.read().unwrap();
            Snapshot {
                webhooks: inner.records.clone(),
                verified: inner.verified.clone(),
            }
        };
        if let Err(e) = write_tmp(file, &snap).and_then(|tmp| std::fs::rename(&tmp, file)) {
            tracing::error!(file = %file.display(), error = %e, "cannot persist webhook snapshot");
        }
    }
}

/// Writes `snap` to `file`'s temporary sibling (mode 0600) and syncs it; returns its path.
fn write_tmp(file: &std::path::Path, snap: &Snapshot) -> std::io::Result<PathBuf> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("json.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    std::io::Write::write_all(&mut f, &serde_json::to_vec(snap).unwrap_or_default())?;
    f.sync_all()?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VerifyConfig;
    use crate::seal::sealed_key_id;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn registry(keys: &[&str], dir: Option<PathBuf>) -> Registry {
        let b = SpecBuilder::without_plugins(VerifyConfig::default());
        Registry::new(&[], b, Arc::new(Keyring::new(keys).unwrap()), dir).unwrap()
    }

    fn gh() -> WebhookConfig {
        serde_json::from_value(serde_json::json!({
            "id": "w1", "name": "gh", "verifier": "SIGNATURE_BASED",
            "secretValue": "plain-secret-value", "previousSecretValues": ["plain-old-value"],
            "workflowsToStart": {"wf": 1}
        }))
        .unwrap()
    }

    #[test]
    fn records_are_sealed_entries_opened_and_the_snapshot_holds_no_secret() {
        let dir = std::env::temp_dir().join(format!("hookd-reg-{}", uuid::Uuid::new_v4()));
        let reg = registry(&[K1], Some(dir.clone()));
        let rec = reg.prepare_create(gh()).unwrap();
        let sealed = rec.config.clone().unwrap();
        assert!(sealed.secret_value.as_deref().unwrap().starts_with(crate::seal::PREFIX));
        assert!(reg.apply_keyed("w1", rec, true));
        let e = reg.get("w1").unwrap();
        assert!(!e.secrets_unavailable());
        assert_eq!(e.config().secret_value.as_deref(), Some("plain-secret-value"));
        let snap = std::fs::read_to_string(dir.join("webhooks.json")).unwrap();
        assert!(!snap.contains("plain-"), "{snap}");
        // An update with "***" keeps the secret, sealed again.
        let rec = reg.prepare_update("w1", e.config().masked()).unwrap();
        reg.apply_keyed("w1", rec, true);
        assert_eq!(
            reg.get("w1").unwrap().config().secret_value.as_deref(),
            Some("plain-secret-value")
        );
        // A restart from the snapshot opens it again.
        let again = registry(&[K1], Some(dir.clone()));
        assert_eq!(
            again.get("w1").unwrap().config().previous_secret_values,
            Some(vec!["plain-old-value".to_string()])
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn unknown_key_makes_the_entry_unavailable_until_secrets_are_sent_again() {
        let rec = registry(&[K1], None).prepare_create(gh()).unwrap();
        let other = registry(&[K2], None);
        other.apply_keyed("w1", rec.clone(), false);
        let e = other.get("w1").unwrap();
        assert!(e.secrets_unavailable());
        assert_eq!(e.config().secret_value.as_deref(), Some(MASK));
        assert_eq!(e.spec.starts.len(), 1, "its events can still be handled");
        // kept sealed as it was, not re-sealed, not replaced by "***"
        assert!(other.prepare_reseals().is_empty());
        let (known, _) = other.known_records();
        assert_eq!(known[0].1.config, rec.config);
        let err = other.prepare_update("w1", e.config()).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(m) if m.contains("in clear")));
        let rec2 = other.prepare_update("w1", gh()).unwrap();
        other.apply_keyed("w1", rec2, false);
        assert!(!other.get("w1").unwrap().secrets_unavailable());
        // Without any key: a sealed record is unavailable too, never an empty secret.
        let none = registry(&[], None);
        none.apply_keyed("w1", rec, false);
        assert!(none.get("w1").unwrap().secrets_unavailable());
    }

    #[test]
    fn a_new_key_reseals_older_and_clear_records() {
        let old = registry(&[K1], None);
        let by_k1 = old.prepare_create(gh()).unwrap();
        let clear = registry(&[], None)
            .prepare_create(WebhookConfig {
                id: Some("w2".into()),
                ..gh()
            })
            .unwrap();
        assert_eq!(
            clear.config.as_ref().unwrap().secret_value.as_deref(),
            Some("plain-secret-value")
        );
        let new = registry(&[K2, K1], None);
        new.apply_keyed("w1", by_k1.clone(), false);
        new.apply_keyed("w2", clear, false);
        let reseals = new.prepare_reseals();
        assert_eq!(reseals.len(), 2);
        let k2 = Keyring::new(&[K2]).unwrap().ids()[0].to_string();
        for (id, rec) in reseals {
            assert!(rec.rev > by_k1.rev);
            let c = rec.config.as_ref().unwrap();
            assert_eq!(
                sealed_key_id(c.secret_value.as_deref().unwrap()),
                Some(k2.as_str())
            );
            assert!(new.apply_keyed(&id, rec, false));
        }
        assert!(new.prepare_reseals().is_empty());
        let only_new = registry(&[K2], None);
        for (id, rec) in new.known_records().0 {
            only_new.apply_keyed(&id, rec, false);
        }
        assert!(!only_new.get("w1").unwrap().secrets_unavailable());
        assert!(!only_new.get("w2").unwrap().secrets_unavailable());
    }
}
