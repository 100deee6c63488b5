//! Receive webhooks safely: every delivery verified, fresh, deduplicated and typed before your
//! handler runs.
//!
//! `webhook` proves the sender (HMAC in its many provider shapes, Standard Webhooks v1/v1a,
//! Ed25519/ECDSA/RSA, JWT bearer, API keys, HTTP Basic, with key rings for rotation), rejects
//! tampered, stale and replayed requests, and hands your handler a typed, validated event.
//! The engine is framework-neutral ([`webhook_core`]); adapters for axum, actix-web and rocket
//! sit behind features.
//!
//! # Quick start
//!
//! ```
//! use webhook::{FixedClock, Freshness, Outgoing, Secret, Signer, StandardWebhooks,
//!     StandardWebhooksSigner, Verifier, WebhookRequest};
//!
//! let secret = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let verifier = StandardWebhooks::new(secret.clone())?
//!     .freshness(Freshness::default().with_clock(FixedClock::at_secs(1_700_000_000)));
//!
//! // What a sender does (also how you test your own handlers):
//! let body = br#"{"event_type":"email.sent"}"#;
//! let headers = StandardWebhooksSigner::new(secret)
//!     .sign(&Outgoing::new(body).id("msg_1").timestamp_secs(1_700_000_000))
//!     .unwrap();
//!
//! // What a receiver does:
//! let proof = verifier.verify(&headers.apply(WebhookRequest::new(body)))?;
//! assert_eq!(proof.message_id(), Some("msg_1"));
//!
//! // A tampered body is a 401 with a stable machine code:
//! let err = verifier.verify(&headers.apply(WebhookRequest::new(b"{}"))).unwrap_err();
//! assert_eq!((err.status(), err.code()), (401, "invalid_signature"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `derive` | yes | `#[derive(WebhookEvent)]` and `#[derive(WebhookPayload)]` |
//! | `axum` | no | `webhook::axum`: extractors, rejection and tower layer |
//! | `actix` | no | `webhook::actix`: actix-web extractors and middleware |
//! | `rocket` | no | `webhook::rocket`: rocket data guards and fairing |
//! | `redis` | no | `RedisStore`, the replay store shared by several replicas (the `redis` crate, on Tokio) |
//! | `fetch` | no | `CertificateCache` and `HttpsFetcher`: the signing certificates Amazon SNS and PayPal name, and `JwksCache`: a JWT issuer's key set, kept fresh; fetched over HTTPS |
//!
//! # Security model
//!
//! - Signatures are checked over the raw body bytes exactly as received, with constant-time
//!   comparisons, against every active key of a key ring; expired keys are refused.
//! - Signed timestamps must fall within a tolerance bounded separately in the past and the
//!   future (5 minutes each by default), by an injected clock.
//! - Secrets never print: `Secret` has a redacted `Debug`, no `Display`, no `PartialEq`, and is
//!   zeroized on drop. Errors, logs and `Debug` output never contain a secret or a signature;
//!   of the payload, only the event type and event id (visible ASCII, at most 256 bytes)
//!   appear, in the delivery's span and in a duplicate's answer.
//! - Every rejection maps to one status of one table ([`VerifyErrorKind::status`]), with a
//!   small JSON body (`{"error":"invalid_signature","message":"…"}`).
//! - Fail closed: an unreachable replay store (503), or a key ring whose every key has expired
//!   (500), refuses the delivery.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use webhook_core::*;

// --- derive ---
#[cfg(feature = "derive")]
pub use webhook_derive::{WebhookEvent, WebhookPayload};

#[doc(hidden)]
pub use webhook_core::__private;
// --- end derive ---

// --- adapters ---
/// The actix-web adapter: `Webhook<E>` and `Verified` extractors, `WebhookRejection`, and the
/// `VerifyWebhook` middleware.
#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub use webhook_actix as actix;
/// The axum adapter: `Webhook<E>` and `Verified` extractors, `WebhookRejection`, and the
/// `VerifyWebhookLayer` tower layer.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use webhook_axum as axum;
/// The rocket adapter: `Webhook<E>` and `Verified` data guards, `WebhookRejection`,
/// `WebhookFairing` and `Receivers`.
#[cfg(feature = "rocket")]
#[cfg_attr(docsrs, doc(cfg(feature = "rocket")))]
pub use webhook_rocket as rocket;
// --- end adapters ---
