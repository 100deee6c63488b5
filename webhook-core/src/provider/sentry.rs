//! Sentry: `Sentry-Hook-Signature: <hex>` over the raw body (HMAC-SHA256) with the integration's client secret. `Sentry-Hook-Timestamp` is not signed, so it is not checked.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `Sentry-Hook-Signature: <hex>` over the raw body (HMAC-SHA256) with the integration's client secret. `Sentry-Hook-Timestamp` is not signed, so it is not checked.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("sentry", HmacAlgorithm::Sha256, "sentry-hook-signature")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

hmac_preset!("Sentry");
