//! Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>…]` over `{ts}:{body}` (HMAC-SHA256). The secret is the whole `pdl_ntfset_…` text, prefix included. Paddle's SDK allows only 5 s of variance; this preset keeps the default 5 minutes unless told otherwise.

use crate::{
    Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=<hex>…]` over `{ts}:{body}` (HMAC-SHA256). The secret is the whole `pdl_ntfset_…` text, prefix included. Paddle's SDK allows only 5 s of variance; this preset keeps the default 5 minutes unless told otherwise.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("paddle", HmacAlgorithm::Sha256, "paddle-signature")
        .format(SignatureFormat::key_value(';', "ts", "h1"))
        .encoding(Encoding::Hex)
        .content([Part::Timestamp, Part::lit(":"), Part::Body])
        .timestamp(TimestampSource::SignatureHeader(TimeFormat::UnixSeconds))
}

hmac_preset!("Paddle Billing");
