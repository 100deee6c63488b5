//! SendGrid (Twilio SendGrid Signed Event Webhook): ECDSA P-256 / SHA-256 over
//! `{timestamp}{body}`.
//!
//! | header | content |
//! | --- | --- |
//! | `X-Twilio-Email-Event-Webhook-Signature` | base64 of the ASN.1 DER ECDSA signature |
//! | `X-Twilio-Email-Event-Webhook-Timestamp` | Unix seconds, signed before the raw body (no separator) |
//!
//! The key is the **verification key** under Mail Settings → Signed Event Webhook: base64 of
//! a DER SubjectPublicKeyInfo, loaded with [`PublicKey::from_spki_base64`](crate::PublicKey::from_spki_base64). Each Event Webhook
//! has its own key; give the ring several for rotation. SendGrid prescribes no tolerance:
//! the default [`Freshness`](crate::Freshness) (5 minutes either way) applies.
//!
//! Only DER signatures are accepted (the raw `r ‖ s` form is rejected); high-S signatures are
//! accepted because SendGrid's are not normalised (see
//! [`AsymmetricAlgorithm::EcdsaP256Sha256`]).
//!
//! # Examples
//!
//! SendGrid's own published vector (sendgrid-nodejs, sendgrid-go):
//!
//! ```
//! use webhook_core::provider::sendgrid;
//! use webhook_core::{FixedClock, Freshness, PublicKey, Verifier, WebhookRequest};
//!
//! let key = PublicKey::from_spki_base64(
//!     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
//! )?;
//! let verifier = sendgrid::verifier(key)?
//!     .freshness(Freshness::default().with_clock(FixedClock::at_secs(1588788367)));
//!
//! let body = br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
//! let request = WebhookRequest::new(body)
//!     .with_header(
//!         "X-Twilio-Email-Event-Webhook-Signature",
//!         "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=",
//!     )
//!     .with_header("X-Twilio-Email-Event-Webhook-Timestamp", "1588788367");
//! assert_eq!(verifier.verify(&request).unwrap().scheme(), "sendgrid");
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```

use crate::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, ConfigError,
    Encoding, Part, PrivateKey, PublicKeyRing, TimeFormat, TimestampSource,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

/// The scheme: `X-Twilio-Email-Event-Webhook-Signature: <base64 DER ECDSA>` over
/// `{X-Twilio-Email-Event-Webhook-Timestamp}{body}` (ECDSA P-256 / SHA-256).
#[must_use]
pub fn scheme() -> AsymmetricScheme {
    AsymmetricScheme::new(
        "sendgrid",
        AsymmetricAlgorithm::EcdsaP256Sha256,
        SIGNATURE_HEADER,
    )
    .encoding(Encoding::Base64)
    .timestamp(TimestampSource::Header(
        TIMESTAMP_HEADER.into(),
        TimeFormat::UnixSeconds,
    ))
    .content([Part::Timestamp, Part::Body])
}

/// A verifier for SendGrid deliveries, accepting any active key of `keys` (P-256 keys, from
/// [`PublicKey::from_spki_base64`](crate::PublicKey::from_spki_base64)).
///
/// # Errors
///
/// An empty ring, or a key that is not P-256.
pub fn verifier(keys: impl Into<PublicKeyRing>) -> Result<AsymmetricVerifier, ConfigError> {
    scheme().verifier(keys)
}

/// A signer producing the headers SendGrid sends, for testing your handlers. SendGrid's
/// signatures are random, this one's are deterministic (RFC 6979): check them by verifying.
///
/// ```
/// use webhook_core::provider::sendgrid;
/// use webhook_core::{Outgoing, PrivateKey, Signer, Verifier, WebhookRequest};
///
/// let key = PrivateKey::generate_p256();
/// let signer = sendgrid::signer(key.clone())?;
/// let verifier = sendgrid::verifier(key.public_key())?;
/// let body = br#"[{"event":"delivered"}]"#;
/// let headers = signer.sign(&Outgoing::new(body)).unwrap();
/// assert!(verifier.verify(&headers.apply(WebhookRequest::new(body))).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Errors
///
/// The key is not P-256.
pub fn signer(key: PrivateKey) -> Result<AsymmetricSigner, ConfigError> {
    scheme().signer(key)
}
