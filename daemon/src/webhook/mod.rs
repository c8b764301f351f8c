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
