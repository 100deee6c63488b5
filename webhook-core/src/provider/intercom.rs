//! Intercom: `X-Hub-Signature: sha1=<hex>` over the raw body (HMAC-SHA1), keyed with the app's client secret. No timestamp is signed.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `X-Hub-Signature: sha1=<hex>` over the raw body (HMAC-SHA1), keyed with the app's client secret. No timestamp is signed.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("intercom", HmacAlgorithm::Sha1, "x-hub-signature")
        .format(SignatureFormat::prefixed("sha1="))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

hmac_preset!("Intercom");
