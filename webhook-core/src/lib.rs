//! Framework-neutral webhook verification.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod error;
mod freshness;
mod request;
mod scheme;
mod secret;
mod sign;
mod verify;

pub mod provider;

pub use clock::{Clock, FixedClock, SharedClock, SystemClock};
pub use error::{ConfigError, VerifyError, VerifyErrorKind};
pub use freshness::{Freshness, TimeFormat};
pub use request::WebhookRequest;
pub use scheme::hmac::{
    Encoding, HmacAlgorithm, HmacScheme, HmacSigner, HmacVerifier, Part, SignatureFormat,
    TimestampSource,
};
pub use scheme::standard::{StandardWebhooks, StandardWebhooksSigner};
pub use secret::{Key, KeyRing, Secret};
pub use sign::{Outgoing, SignError, SignedHeaders, Signer, random_message_id};
pub use verify::{AllOf, AnyOf, Proof, Verifier};

// --- auth (token/basic/jwt) ---
// --- end auth ---

// --- asymmetric ---
// --- end asymmetric ---

// --- event (derive issue): event trait, validation runtime, JSON Schema ---
// --- end event ---
