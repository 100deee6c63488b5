//! Standard Webhooks (and Svix) asymmetric `v1a` signatures: Ed25519 over
//! `{id}.{timestamp}.{body}`.

use std::fmt;

use crate::clock::SharedClock;
use crate::error::{ConfigError, VerifyError};
use crate::freshness::Freshness;
use crate::request::WebhookRequest;
use crate::scheme::asymmetric::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, PrivateKey,
    PublicKeyRing,
};
use crate::scheme::hmac::{Encoding, SignatureFormat};
use crate::scheme::standard::{Branded, Names, STANDARD, SVIX, signed_content};
use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::verify::{Proof, Verifier};

fn scheme(names: Names) -> AsymmetricScheme {
    AsymmetricScheme::new(
        "standard-webhooks-v1a",
        AsymmetricAlgorithm::Ed25519,
        names.signature,
    )
    .format(SignatureFormat::versioned("v1a"))
    .encoding(Encoding::Base64)
    .message_id_header(names.id)
    .timestamp(names.timestamp_source())
    .content(signed_content())
}

/// Verifies [Standard Webhooks](https://www.standardwebhooks.com/) `v1a` (Ed25519)
/// signatures: `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, or their
/// Svix-branded `svix-*` twins.
///
/// The signed content is `{id}.{timestamp}.{body}`; the signature header holds space-separated
/// `v1a,<base64 signature>` entries (at most 16, of which the first 4 distinct signatures are
/// checked), every one tried against every active key;
/// entries of other versions (`v1,…`) are ignored, undecodable ones skipped. The timestamp
/// must be within 5 minutes either way by default. Public keys are `whpk_` + base64 of the
/// raw 32-byte key ([`PublicKey::from_whpk`](crate::PublicKey::from_whpk)).
///
/// # Examples
///
/// ```
/// use webhook_core::{FixedClock, Freshness, PublicKey, StandardWebhooksV1a, Verifier,
///     WebhookRequest};
///
/// let key = PublicKey::from_whpk("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")?;
/// let verifier = StandardWebhooksV1a::new(key)?
///     .freshness(Freshness::default().with_clock(FixedClock::at_secs(1614265330)));
/// let body = br#"{"test": 2432232314}"#;
/// let request = WebhookRequest::new(body)
///     .with_header("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
///     .with_header("webhook-timestamp", "1614265330")
///     .with_header(
///         "webhook-signature",
///         "v1,ignored= v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw==",
///     );
/// let proof = verifier.verify(&request).expect("valid");
/// assert_eq!(proof.scheme(), "standard-webhooks-v1a");
/// assert_eq!(proof.message_id(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Security
///
/// Signature first, then timestamp; pair it with a replay store keyed by `webhook-id`.
/// Ed25519 is verified strictly (non-canonical signatures and weak keys are refused).
#[derive(Clone)]
pub struct StandardWebhooksV1a {
    inner: Branded<AsymmetricVerifier>,
}

impl fmt::Debug for StandardWebhooksV1a {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhooksV1a")
            .field("verifier", &self.inner.standard)
            .finish()
    }
}

impl StandardWebhooksV1a {
    /// A verifier for these public keys (Ed25519; build each with
    /// [`PublicKey::from_whpk`](crate::PublicKey::from_whpk)).
    ///
    /// # Errors
    ///
    /// An empty ring, or a key that is not Ed25519.
    pub fn new(keys: impl Into<PublicKeyRing>) -> Result<Self, ConfigError> {
        let keys = keys.into();
        Ok(Self {
            inner: Branded::new(|names| scheme(names).verifier(keys.clone()))?,
        })
    }

    /// Use this freshness policy (tolerance and clock).
    #[must_use]
    pub fn freshness(self, freshness: Freshness) -> Self {
        Self {
            inner: self.inner.map(|v| v.freshness(freshness.clone())),
        }
    }
}

impl Verifier for StandardWebhooksV1a {
    fn signs_url(&self) -> bool {
        false
    }

    fn freshness_window(&self) -> Option<std::time::Duration> {
        self.inner.freshness_window()
    }

    /// `{id}.{timestamp}.{body}`.
    fn signs_body(&self) -> bool {
        true
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        self.inner.verify(request)
    }
}

/// Signs deliveries the way a Standard Webhooks `v1a` sender does: `webhook-id`,
/// `webhook-timestamp` and `webhook-signature: v1a,<base64 Ed25519 signature>`.
///
/// ```
/// use webhook_core::{Outgoing, PrivateKey, Signer, StandardWebhooksV1aSigner};
///
/// let key = PrivateKey::from_whsk(
///     "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==",
/// )?;
/// let signer = StandardWebhooksV1aSigner::new(key)?;
/// let headers = signer
///     .sign(
///         &Outgoing::new(br#"{"test": 2432232314}"#)
///             .id("msg_p5jXN8AQM9LWM0D4loKWxJek")
///             .timestamp_secs(1614265330),
///     )
///     .unwrap();
/// assert_eq!(
///     headers.get("webhook-signature"),
///     Some("v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw=="),
/// );
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StandardWebhooksV1aSigner {
    inner: AsymmetricSigner,
}

impl StandardWebhooksV1aSigner {
    /// A signer with `key`, an Ed25519 key (e.g. [`PrivateKey::from_whsk`]).
    ///
    /// # Errors
    ///
    /// The key is not Ed25519.
    pub fn new(key: PrivateKey) -> Result<Self, ConfigError> {
        Ok(Self {
            inner: scheme(STANDARD).signer(key)?,
        })
    }

    /// Sign with the `svix-*` header names instead.
    ///
    /// # Errors
    ///
    /// The key is not Ed25519.
    pub fn svix(key: PrivateKey) -> Result<Self, ConfigError> {
        Ok(Self {
            inner: scheme(SVIX).signer(key)?,
        })
    }

    /// Read unset timestamps from this clock.
    #[must_use]
    pub fn clock(self, clock: SharedClock) -> Self {
        Self {
            inner: self.inner.clock(clock),
        }
    }
}

impl Signer for StandardWebhooksV1aSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        self.inner.sign(message)
    }
}
