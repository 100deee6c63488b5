//! Mandrill (Mailchimp Transactional): `X-Mandrill-Signature: <base64>` of HMAC-SHA1 over the
//! webhook URL followed by every form parameter, names sorted, as `name‖value`. Some traffic is
//! said to name the header `X-Mailchimp-Signature`; it is read when the first is absent.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: HMAC-SHA1, base64, over `{url}{name}{value}…` with the form parameters sorted by
/// name. The URL is the one configured in Mandrill: give the request view the public URL.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("mandrill", HmacAlgorithm::Sha1, "x-mandrill-signature")
        .signature_header_alias("x-mailchimp-signature")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Base64)
        .content([Part::Url, Part::SortedFormParams])
}

hmac_preset!("Mandrill");
