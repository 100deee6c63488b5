//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}` (HMAC-SHA256). The secret is the whole `whsec_…` text (use [`Secret::from_text`](crate::Secret::from_text)); every `v1` entry is tried (rotation), `v0` entries are ignored.

use crate::{
    Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}` (HMAC-SHA256). The secret is the whole `whsec_…` text (use [`Secret::from_text`](crate::Secret::from_text)); every `v1` entry is tried (rotation), `v0` entries are ignored.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("stripe", HmacAlgorithm::Sha256, "stripe-signature")
        .format(SignatureFormat::key_value(',', "t", "v1"))
        .encoding(Encoding::Hex)
        .content([Part::Timestamp, Part::lit("."), Part::Body])
        .timestamp(TimestampSource::SignatureHeader(TimeFormat::UnixSeconds))
}

hmac_preset!("Stripe");
