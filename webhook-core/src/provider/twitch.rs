//! Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over `{message id}{timestamp}{body}` (HMAC-SHA256), the timestamp an RFC 3339 string signed as received. Twitch asks receivers to refuse messages older than 10 minutes and to dedupe by message id.

use crate::{
    Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over `{message id}{timestamp}{body}` (HMAC-SHA256), the timestamp an RFC 3339 string signed as received. Twitch asks receivers to refuse messages older than 10 minutes and to dedupe by message id.
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

hmac_preset!("Twitch EventSub");
