//! Vercel: `x-vercel-signature: <hex>` over the raw body (HMAC-SHA1). No timestamp is signed.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `x-vercel-signature: <hex>` over the raw body (HMAC-SHA1). No timestamp is signed.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("vercel", HmacAlgorithm::Sha1, "x-vercel-signature")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

hmac_preset!("Vercel");
