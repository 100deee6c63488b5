//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}` (HMAC-SHA256) with the app's signing secret.

use crate::{
    Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}` (HMAC-SHA256) with the app's signing secret.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("slack", HmacAlgorithm::Sha256, "x-slack-signature")
        .format(SignatureFormat::prefixed("v0="))
        .encoding(Encoding::Hex)
        .content([
            Part::lit("v0:"),
            Part::Timestamp,
            Part::lit(":"),
            Part::Body,
        ])
        .timestamp(TimestampSource::Header(
            "x-slack-request-timestamp".into(),
            TimeFormat::UnixSeconds,
        ))
}

hmac_preset!("Slack");
