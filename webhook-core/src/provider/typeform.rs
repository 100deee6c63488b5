//! Typeform: `Typeform-Signature: sha256=<base64>` over the raw body (HMAC-SHA256). No timestamp is signed.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `Typeform-Signature: sha256=<base64>` over the raw body (HMAC-SHA256). No timestamp is signed.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("typeform", HmacAlgorithm::Sha256, "typeform-signature")
        .format(SignatureFormat::prefixed("sha256="))
        .encoding(Encoding::Base64)
        .content([Part::Body])
}

hmac_preset!("Typeform");
