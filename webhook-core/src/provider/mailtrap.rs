//! Mailtrap: `Mailtrap-Signature: <hex>` over the raw body (HMAC-SHA256). No timestamp is signed.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `Mailtrap-Signature: <hex>` over the raw body (HMAC-SHA256). No timestamp is signed.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("mailtrap", HmacAlgorithm::Sha256, "mailtrap-signature")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

hmac_preset!("Mailtrap");
