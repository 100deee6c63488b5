//! Square: `x-square-hmacsha256-signature: <base64>` over `{notification url}{body}` (HMAC-SHA256). The URL is the one configured on the subscription: give the request view the public URL, never one derived from `Host`.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `x-square-hmacsha256-signature: <base64>` over `{notification url}{body}` (HMAC-SHA256). The URL is the one configured on the subscription: give the request view the public URL, never one derived from `Host`.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new(
        "square",
        HmacAlgorithm::Sha256,
        "x-square-hmacsha256-signature",
    )
    .format(SignatureFormat::prefixed(""))
    .encoding(Encoding::Base64)
    .content([Part::Url, Part::Body])
}

hmac_preset!("Square");
