//! Framework-neutral webhook verification: the engine under the `webhook` crate and its
//! axum, actix-web and rocket adapters. Most applications depend on `webhook` instead.
//!
//! - [`WebhookRequest`]: the request as every verifier sees it (method, URL as the sender
//!   addressed it, headers, peer, raw body), with no `http` crate types.
//! - [`Secret`], [`Key`], [`KeyRing`]: key material that never prints, with expiries for
//!   rotation.
//! - [`Verifier`] and its building blocks: [`HmacScheme`] (most providers),
//!   [`StandardWebhooks`] / [`StandardWebhooksV1a`], [`AsymmetricScheme`] (Ed25519, ECDSA
//!   P-256, RSA), [`JwtBearer`], [`ApiKey`], [`BasicAuth`], combined with [`AnyOf`] / [`AllOf`];
//!   every one has a [`Signer`] twin. [`provider`] holds the named presets. [`Tenants`]
//!   serves many senders on one route, each verified with its own keys.
//! - [`Freshness`] and [`Clock`]: timestamp tolerance, injected time.
//! - [`Receiver`] and [`Delivery`]: the receive pipeline (limits, source checks, rate limit,
//!   authentication, replay claim in a [`ReplayStore`] such as [`MemoryStore`], typed decode
//!   through [`WebhookEvent`]), and [`VerifyError`] with the one status table.
//! - [`Decryptor`]: payload decryption after authentication, [`Aes256GcmDecryptor`] with its
//!   [`Envelope`]s and its twin [`Aes256GcmSealer`].
//!
//! # Quick start
//!
//! ```
//! use webhook_core::{FixedClock, Freshness, Secret, Verifier, WebhookRequest, provider::github};
//!
//! // GitHub's documented example.
//! let verifier = github::verifier(Secret::from_text("It's a Secret to Everybody")?)?;
//! let request = WebhookRequest::new(b"Hello, World!").with_header(
//!     "X-Hub-Signature-256",
//!     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
//! );
//! assert_eq!(verifier.verify(&request).unwrap().scheme(), "github");
//!
//! let forged = WebhookRequest::new(b"Hello, World?").with_header(
//!     "X-Hub-Signature-256",
//!     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
//! );
//! assert_eq!(verifier.verify(&forged).unwrap_err().status(), 401);
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `derive` | no (the `webhook` facade turns it on) | the validation runtime `#[derive(WebhookEvent)]` uses (regex, email and URL checks) |
//! | `redis` | no | `RedisStore`, the replay store shared by several replicas (the `redis` crate, on Tokio) |
//! | `fetch` | no | `CertificateCache` and `HttpsFetcher`: the signing certificates Amazon SNS and PayPal name, and `JwksCache`: a JWT issuer's key set, kept fresh; fetched over HTTPS (reqwest with rustls, Mozilla's roots bundled) |
//!
//! # Security model
//!
//! Signatures are checked over the raw bytes as received, in constant time, against every
//! active key; signed timestamps within a tolerance bounded separately in the past and the
//! future; headers parsed with bounds and without panics; no secret or signature in any
//! `Debug`, `Display`, error or log line, and of the payload only the event type and event id
//! (visible ASCII, at most 256 bytes: the delivery's span, a duplicate's answer); failures
//! closed (an unreachable store refuses the delivery).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod decrypt;
mod error;
#[cfg(feature = "fetch")]
mod fetch;
mod freshness;
mod request;
mod scheme;
mod secret;
mod sign;
mod tenants;
mod verify;

pub mod provider;

pub use clock::{Clock, FixedClock, SharedClock, SystemClock};
pub use decrypt::{Aes256GcmDecryptor, Aes256GcmSealer, Decryptor, Envelope};
pub use error::{ConfigError, VerifyError, VerifyErrorKind};
#[cfg(feature = "fetch")]
pub use fetch::{
    CertificateCache, CertificateCacheBuilder, CertificateFetcher, FETCH_DEADLINE, FetchError,
    FetchFuture, HttpsFetcher,
};
pub use freshness::{Freshness, TimeFormat};
pub use request::WebhookRequest;
pub use scheme::hmac::{
    Encoding, HmacAlgorithm, HmacScheme, HmacSigner, HmacVerifier, Part, SignatureFormat,
    TimestampSource,
};
pub use scheme::standard::{StandardWebhooks, StandardWebhooksSigner};
pub use secret::{Key, KeyRing, Secret};
pub use sign::{Outgoing, SignError, SignedHeaders, SignedHeadersIter, Signer, random_message_id};
pub use tenants::{TenantLoad, TenantLoader, Tenants};
pub use verify::{AllOf, AnyOf, KeyFetch, Proof, Verifier};

// --- auth (token/basic/jwt) ---
#[cfg(feature = "fetch")]
pub use scheme::jwks::{JwksCache, JwksCacheBuilder};
pub use scheme::jwt::{JwtAlgorithm, JwtBearer, JwtKey, JwtSigner};
pub use scheme::token::{ApiKey, ApiKeySigner, BasicAuth, BasicAuthSigner};
// --- end auth ---

// --- asymmetric ---
pub use scheme::asymmetric::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, PrivateKey,
    PublicKey, PublicKeyRing,
};
pub use scheme::standard_v1a::{StandardWebhooksV1a, StandardWebhooksV1aSigner};
// --- end asymmetric ---

// --- event (derive issue): event trait, validation runtime, JSON Schema ---
mod event;

pub use event::{
    DecodeError, DecodeErrorKind, EventTimestamp, FieldError, FieldPath, ValidationErrors,
    WebhookEvent, WebhookPayload,
};

/// Support for code generated by `#[derive(WebhookEvent)]`; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::event::private::*;
}
// --- end event ---

// --- pipeline ---
mod observe;
mod pipeline;
mod rate;
mod receiver;
#[cfg(feature = "redis")]
mod redis_store;
mod source;
mod store;

pub use observe::Stats;
pub use pipeline::{Accepted, Claimed, DedupeKey, Delivery, LeaseSlot, MAX_KEY_FETCHES};
pub use rate::RateLimit;
pub use receiver::{Receiver, ReceiverBuilder, Reply};
#[cfg(feature = "redis")]
pub use redis_store::{RedisStore, RedisStoreBuilder};
pub use source::ForwardedHeader;
pub use store::{Claim, Lease, LeaseToken, MemoryStore, ReplayStore, StoreError, StoreFuture};
// --- end pipeline ---
