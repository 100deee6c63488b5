//! Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over `{message id}{timestamp}{body}` (HMAC-SHA256), the timestamp an RFC 3339 string signed as received. Twitch asks receivers to refuse messages older than 10 minutes, which the preset's verifier does (and those more than 5 minutes ahead), and to dedupe by message id, which the replay store does.

use std::time::Duration;

use crate::{
    ConfigError, Encoding, Freshness, HmacAlgorithm, HmacScheme, HmacSigner, HmacVerifier, KeyRing,
    Part, Secret, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over `{message id}{timestamp}{body}` (HMAC-SHA256), the timestamp an RFC 3339 string signed as received. Twitch asks receivers to refuse messages older than 10 minutes, which the preset's verifier does (and those more than 5 minutes ahead), and to dedupe by message id, which the replay store does.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new(
        "twitch",
        HmacAlgorithm::Sha256,
        "twitch-eventsub-message-signature",
    )
    .format(SignatureFormat::prefixed("sha256="))
    .encoding(Encoding::Hex)
    .content([Part::MessageId, Part::Timestamp, Part::Body])
    .message_id_header("twitch-eventsub-message-id")
    .timestamp(TimestampSource::Header(
        "twitch-eventsub-message-timestamp".into(),
        TimeFormat::Rfc3339,
    ))
}

/// The freshness Twitch asks for: 10 minutes old at most (and 5 minutes ahead, the default).
#[must_use]
pub fn freshness() -> Freshness {
    Freshness::new(Duration::from_secs(600), Duration::from_secs(300))
}

/// A verifier for Twitch EventSub deliveries, accepting any active key of `keys`, with
/// [`freshness`] (change it with [`HmacVerifier::freshness`]).
///
/// # Errors
///
/// An empty key ring.
pub fn verifier(keys: impl Into<KeyRing>) -> Result<HmacVerifier, ConfigError> {
    Ok(scheme().verifier(keys)?.freshness(freshness()))
}

/// A signer producing the headers Twitch EventSub sends.
#[must_use]
pub fn signer(secret: Secret) -> HmacSigner {
    scheme().signer(secret)
}
