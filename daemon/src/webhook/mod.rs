//! Webhooks as the daemon holds them: the registry every request looks up, the typed spec each
//! definition is turned into, and the config topic that shares definitions between instances.
//!
//! The Orkes wire struct is [`crate::model::WebhookConfig`]; it is checked and turned into a
//! [`Spec`] once, by [`SpecBuilder`], when a definition is registered.

mod registry;
mod spec;
mod sync;

pub use registry::{Entry, Registry, StaticChanges, StoreError};
pub use spec::{check_static, SpecBuilder, Strategy};
pub use sync::ConfigSync;

/// The ids of the webhooks whose verifier is plugin `name`, sorted (a plugin file removed while
/// they use it stays loaded: `crate::plugin`).
pub fn webhooks_using_plugin(registry: &Registry, name: &str) -> Vec<String> {
    let mut ids: Vec<String> = registry
        .list()
        .iter()
        .filter(|e| matches!(&e.spec.verifier, crate::verify::Verifier::Plugin(p) if p.plugin() == name))
        .map(|e| e.id().to_owned())
        .collect();
    ids.sort();
    ids
}
