//! MailerSend: `Signature: <hex>` (or `X-MailerSend-Signature`, read when the first is absent) over the raw body (HMAC-SHA256). No timestamp is signed. The documentation publishes the secret of its `webhook.test` ping; [`verifier`] refuses it as a key.

use crate::{
    ConfigError, Encoding, HmacAlgorithm, HmacScheme, HmacSigner, HmacVerifier, KeyRing, Part,
    Secret, SignatureFormat,
};

/// The secret MailerSend's documentation publishes for its `webhook.test` ping: anyone can
/// sign with it.
const PUBLIC_TEST_SECRET: &[u8] = b"test_Am3L1GuOIc4blLUuHqAPxxwkZaJyEk8G";

/// The scheme: `Signature: <hex>` over the raw body (HMAC-SHA256). No timestamp is signed. The documentation publishes the secret of its `webhook.test` ping; [`verifier`] refuses it as a key.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("mailersend", HmacAlgorithm::Sha256, "signature")
        .signature_header_alias("x-mailersend-signature")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

/// A verifier for MailerSend deliveries, accepting any active key of `keys`.
///
/// # Errors
///
/// An empty key ring, or a ring holding the public `webhook.test` secret of MailerSend's
/// documentation (with it, anyone could sign any event). To check the test ping against it,
/// build a verifier from [`scheme`] on purpose, and only for that ping.
pub fn verifier(keys: impl Into<KeyRing>) -> Result<HmacVerifier, ConfigError> {
    let keys = keys.into();
    if keys
        .keys()
        .any(|key| key.secret().expose_secret() == PUBLIC_TEST_SECRET)
    {
        return Err(ConfigError::new(
            "mailersend: the key is the public `webhook.test` secret of MailerSend's \
             documentation, with which anyone can sign; use the webhook's own signing secret",
        ));
    }
    scheme().verifier(keys)
}

/// A signer producing the headers MailerSend sends.
#[must_use]
pub fn signer(secret: Secret) -> HmacSigner {
    scheme().signer(secret)
}
