//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the raw body (HMAC-SHA256) with the app's client secret. No timestamp is signed: dedupe by `X-Shopify-Webhook-Id`.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `X-Shopify-Hmac-Sha256: <base64>` over the raw body (HMAC-SHA256) with the app's client secret. No timestamp is signed: dedupe by `X-Shopify-Webhook-Id`.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("shopify", HmacAlgorithm::Sha256, "x-shopify-hmac-sha256")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Base64)
        .content([Part::Body])
}

hmac_preset!("Shopify");
