//! MailerSend: `Signature: <hex>` (or `X-MailerSend-Signature`, read when the first is absent) over the raw body (HMAC-SHA256). No timestamp is signed. Never deploy with the public `webhook.test` secret of the documentation.

use crate::{Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat};

/// The scheme: `Signature: <hex>` over the raw body (HMAC-SHA256). No timestamp is signed. Never deploy with the public `webhook.test` secret of the documentation.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("mailersend", HmacAlgorithm::Sha256, "signature")
        .signature_header_alias("x-mailersend-signature")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

hmac_preset!("MailerSend");
