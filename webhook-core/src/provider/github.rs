//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body (HMAC-SHA256). Neither a timestamp nor the delivery id is signed (`X-GitHub-Delivery` is not): a replay store deduplicates deliveries by their signature, since an id anyone could change cannot.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `X-Hub-Signature-256: sha256=<hex>` over the raw body (HMAC-SHA256). Neither a timestamp nor the delivery id is signed (`X-GitHub-Delivery` is not): a replay store deduplicates deliveries by their signature, since an id anyone could change cannot.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("github", HmacAlgorithm::Sha256, "x-hub-signature-256")
        .format(SignatureFormat::prefixed("sha256="))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

hmac_preset!("GitHub");

/// The legacy scheme: `X-Hub-Signature: sha1=<hex>` (HMAC-SHA1). Prefer [`scheme`]; accept
/// this only for old integrations.
#[must_use]
pub fn legacy_sha1_scheme() -> HmacScheme {
    HmacScheme::new("github-sha1", HmacAlgorithm::Sha1, "x-hub-signature")
        .format(SignatureFormat::prefixed("sha1="))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}
