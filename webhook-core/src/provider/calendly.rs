//! Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` over `{t}.{body}` (HMAC-SHA256). Calendly suggests a 3-minute tolerance: set it with [`HmacVerifier::freshness`](crate::HmacVerifier::freshness).

use crate::{
    Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` over `{t}.{body}` (HMAC-SHA256). Calendly suggests a 3-minute tolerance: set it with [`HmacVerifier::freshness`](crate::HmacVerifier::freshness).
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new(
        "calendly",
        HmacAlgorithm::Sha256,
        "calendly-webhook-signature",
    )
    .format(SignatureFormat::key_value(',', "t", "v1"))
    .encoding(Encoding::Hex)
    .content([Part::Timestamp, Part::lit("."), Part::Body])
    .timestamp(TimestampSource::SignatureHeader(TimeFormat::UnixSeconds))
}

hmac_preset!("Calendly");
