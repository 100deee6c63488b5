//! Discord (interactions endpoint): Ed25519 over `{timestamp}{body}`.
//!
//! | header | content |
//! | --- | --- |
//! | `X-Signature-Ed25519` | hex of the 64-byte Ed25519 signature |
//! | `X-Signature-Timestamp` | Unix seconds, signed before the raw body (no separator) |
//!
//! The key is the application's **Public Key** from the Developer Portal (hex of 32 bytes),
//! loaded with [`PublicKey::ed25519_hex`](crate::PublicKey::ed25519_hex). Discord documents
//! no tolerance: the default [`Freshness`](crate::Freshness) (5 minutes either way) applies.
//!
//! Discord sends deliberately invalid signatures to check the endpoint and removes endpoints
//! that accept them: a failed verification is a 401, as the status table has it. Answer a
//! PING (`"type":1`) with `{"type":1}`.
//!
//! # Examples
//!
//! ```
//! use webhook_core::provider::discord;
//! use webhook_core::{FixedClock, Freshness, PublicKey, Verifier, WebhookRequest};
//!
//! // RFC 8032 §7.1 TEST 1 key pair; Discord publishes no fixed vector.
//! let key = PublicKey::ed25519_hex(
//!     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
//! )?;
//! let verifier = discord::verifier(key)?
//!     .freshness(Freshness::default().with_clock(FixedClock::at_secs(1700000000)));
//!
//! let body = br#"{"id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}"#;
//! let signature = "f0bd878adcef1f6d475c9644421905bd02b5de38e0d3ecfc6f58a711962c69cc\
//!                  c8dd7c9db312f9bdf08b1e1b8182e27a844da728c5e0dbb5507bf9931c1ed80b";
//! let request = WebhookRequest::new(body)
//!     .with_header("X-Signature-Ed25519", signature)
//!     .with_header("X-Signature-Timestamp", "1700000000");
//! assert_eq!(verifier.verify(&request).unwrap().scheme(), "discord");
//!
//! let tampered = WebhookRequest::new(b"{}")
//!     .with_header("X-Signature-Ed25519", signature)
//!     .with_header("X-Signature-Timestamp", "1700000000");
//! assert_eq!(verifier.verify(&tampered).unwrap_err().status(), 401);
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```

use crate::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, ConfigError,
    Encoding, Part, PrivateKey, PublicKeyRing, TimeFormat, TimestampSource,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";

/// The scheme: `X-Signature-Ed25519: <hex>` over `{X-Signature-Timestamp}{body}` (Ed25519).
#[must_use]
pub fn scheme() -> AsymmetricScheme {
    AsymmetricScheme::new("discord", AsymmetricAlgorithm::Ed25519, SIGNATURE_HEADER)
        .encoding(Encoding::Hex)
        .timestamp(TimestampSource::Header(
            TIMESTAMP_HEADER.into(),
            TimeFormat::UnixSeconds,
        ))
        .content([Part::Timestamp, Part::Body])
}

/// A verifier for Discord interactions, accepting any active key of `keys` (Ed25519 keys,
/// from [`PublicKey::ed25519_hex`](crate::PublicKey::ed25519_hex)).
///
/// # Errors
///
/// An empty ring, or a key that is not Ed25519.
pub fn verifier(keys: impl Into<PublicKeyRing>) -> Result<AsymmetricVerifier, ConfigError> {
    scheme().verifier(keys)
}

/// A signer producing the headers Discord sends, for testing your handlers.
///
/// ```
/// use webhook_core::provider::discord;
/// use webhook_core::{Outgoing, PrivateKey, Signer};
///
/// // RFC 8032 §7.1 TEST 1 seed; Ed25519 is deterministic.
/// let key = PrivateKey::ed25519_seed_hex(
///     "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
/// )?;
/// let body = br#"{"id":"787053080478613555","token":"ThisIsATokenFromDiscordThatIsVeryLong","type":1,"version":1}"#;
/// let headers = discord::signer(key)?
///     .sign(&Outgoing::new(body).timestamp_secs(1700000000))
///     .unwrap();
/// assert_eq!(headers.get("x-signature-timestamp"), Some("1700000000"));
/// assert!(headers.get("x-signature-ed25519").unwrap().starts_with("f0bd878adcef1f6d"));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Errors
///
/// The key is not Ed25519.
pub fn signer(key: PrivateKey) -> Result<AsymmetricSigner, ConfigError> {
    scheme().signer(key)
}
