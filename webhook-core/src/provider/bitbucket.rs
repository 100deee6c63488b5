//! Bitbucket: `X-Hub-Signature: sha256=<hex>` over the raw body (HMAC-SHA256). No timestamp is signed: pair it with a replay store.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `X-Hub-Signature: sha256=<hex>` over the raw body (HMAC-SHA256). No timestamp is signed: pair it with a replay store.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("bitbucket", HmacAlgorithm::Sha256, "x-hub-signature")
        .format(SignatureFormat::prefixed("sha256="))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

hmac_preset!("Bitbucket");
