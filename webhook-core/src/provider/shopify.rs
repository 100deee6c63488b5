//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the raw body (HMAC-SHA256) with the app's client secret; deliveries of Shopify's newer event topics name it `Shopify-Hmac-Sha256`, which is read when the first is absent. No timestamp is signed, and the `X-Shopify-Webhook-Id` header is not signed either: deliveries are deduplicated by their signature.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `X-Shopify-Hmac-Sha256: <base64>` (or `Shopify-Hmac-Sha256`) over the raw body (HMAC-SHA256) with the app's client secret.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("shopify", HmacAlgorithm::Sha256, "x-shopify-hmac-sha256")
        .signature_header_alias("shopify-hmac-sha256")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Base64)
        .content([Part::Body])
}

hmac_preset!("Shopify");
