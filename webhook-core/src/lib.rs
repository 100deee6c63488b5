//! Framework-neutral webhook verification.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod request;

pub use error::{ConfigError, VerifyError, VerifyErrorKind};
pub use request::WebhookRequest;

// --- event (derive issue): event trait, validation runtime, JSON Schema ---
// --- end event ---
