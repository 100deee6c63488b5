//! MailerSend: `Signature: <hex>` (or `X-MailerSend-Signature`, read when the first is absent) over the raw body (HMAC-SHA256). No timestamp is signed. The documentation publishes the secret of its `webhook.test` ping; [`verifier`] refuses it as a key, and [`test_ping_verifier`] accepts it for that ping only.

use std::time::Duration;

use crate::{
    ConfigError, Encoding, HmacAlgorithm, HmacScheme, HmacSigner, HmacVerifier, KeyRing, Part,
    Proof, Secret, SignatureFormat, Verifier, VerifyError, VerifyErrorKind, WebhookRequest,
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
/// documentation (with it, anyone could sign any event). To accept the test ping too, add
/// [`test_ping_verifier`], which takes that secret for the ping alone.
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

/// A verifier for the `webhook.test` ping MailerSend sends when a webhook is saved, which is
/// signed with the public secret of its documentation: it accepts a body signed with that
/// secret only when the body is a JSON object whose `type` is `webhook.test` (given once).
/// Anything else signed with it is 401 `invalid_signature`, since anyone can sign with that
/// secret. Every ping's message id is [`PING_ID`], so it is deduplicated by that alone: the
/// first ping within the receiver's retention reaches the handler, later ones are answered
/// `duplicate` (either answer satisfies MailerSend), and no ping can claim an event's own id
/// or fill the replay store. Anyone can send a ping, so its content is not the sender's
/// word: a handler should only acknowledge it. Combine it with the webhook's own verifier to
/// accept both:
///
/// ```
/// use webhook_core::provider::mailersend;
/// use webhook_core::{AnyOf, Outgoing, Receiver, Secret, Signer, Verifier, WebhookRequest};
///
/// let own = Secret::from_text("the-webhooks-own-signing-secret")?;
/// let verifier = AnyOf::new()
///     .or(mailersend::verifier(own.clone())?)
///     .or(mailersend::test_ping_verifier());
///
/// let check = |secret: Secret, body: &[u8]| {
///     let headers = mailersend::signer(secret).sign(&Outgoing::new(body)).unwrap();
///     let request = headers.apply(WebhookRequest::new(body));
///     verifier.verify(&request).is_ok()
/// };
/// let public = Secret::from_text("test_Am3L1GuOIc4blLUuHqAPxxwkZaJyEk8G")?;
/// assert!(check(public.clone(), br#"{"type":"webhook.test"}"#));
/// assert!(!check(public, br#"{"type":"activity.sent"}"#));
/// assert!(check(own, br#"{"type":"activity.sent"}"#));
///
/// let receiver = Receiver::builder().route("mailersend").verifier(verifier).build()?;
/// # let _ = receiver;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn test_ping_verifier() -> TestPing {
    TestPing {
        // The scheme and a secret that is not empty: nothing to refuse.
        inner: Secret::from_bytes(PUBLIC_TEST_SECRET)
            .ok()
            .and_then(|secret| scheme().verifier(secret).ok()),
    }
}

/// The message id of every test ping ([`test_ping_verifier`]).
pub const PING_ID: &str = "mailersend-webhook-test";

/// The verifier of [`test_ping_verifier`].
#[derive(Debug, Clone)]
pub struct TestPing {
    inner: Option<HmacVerifier>,
}

impl Verifier for TestPing {
    fn signs_url(&self) -> bool {
        false
    }

    fn freshness_window(&self) -> Option<Duration> {
        self.inner.as_ref().and_then(Verifier::freshness_window)
    }

    fn check_config(&self) -> Result<(), ConfigError> {
        match &self.inner {
            Some(_) => Ok(()),
            None => Err(ConfigError::new(
                "mailersend: the test ping verifier could not be built",
            )),
        }
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let inner = self
            .inner
            .as_ref()
            .ok_or_else(|| VerifyError::new(VerifyErrorKind::NotConfigured))?;
        let proof = inner.verify(request)?;
        // The body's top-level `type`, read as the derive reads an event's type: from a
        // JSON object only, a member given twice refused.
        match crate::event::private::event_id_at(request, &["type"]) {
            // One message id for every ping: anyone can sign one, so a ping must never key
            // deduplication by an id of its body (a forged ping naming a real event's id would
            // have that event answered as a duplicate), nor add a key of its own per body
            // (forged pings would fill the replay store). The first ping in a retention is
            // processed; the others are duplicates, which earn their source no trust.
            Ok(Some(kind)) if kind == "webhook.test" => Ok(proof.with_message_id(PING_ID)),
            _ => Err(VerifyError::new(VerifyErrorKind::InvalidSignature).with_message(
                "only MailerSend's `webhook.test` ping may be signed with the public test secret",
            )),
        }
    }
}
