//! Standard Webhooks (and Svix, its origin) symmetric `v1` signatures.

use std::fmt;

use crate::clock::SharedClock;
use crate::error::{ConfigError, VerifyError};
use crate::freshness::{Freshness, TimeFormat};
use crate::request::WebhookRequest;
use crate::scheme::hmac::{
    Encoding, HmacAlgorithm, HmacScheme, HmacSigner, HmacVerifier, Part, SignatureFormat,
    TimestampSource,
};
use crate::secret::{KeyRing, Secret};
use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::verify::{Proof, Verifier};

/// The header names of one branding of the scheme (shared with `v1a`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names {
    pub(crate) id: &'static str,
    pub(crate) timestamp: &'static str,
    pub(crate) signature: &'static str,
}

pub(crate) const STANDARD: Names = Names {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};
pub(crate) const SVIX: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

impl Names {
    /// The timestamp header, in Unix seconds.
    pub(crate) fn timestamp_source(self) -> TimestampSource {
        TimestampSource::Header(self.timestamp.into(), TimeFormat::UnixSeconds)
    }

    /// The branding a request uses: `svix-*` only when it has `svix-id` and no `webhook-id`.
    pub(crate) fn of(request: &WebhookRequest<'_>) -> Self {
        if request.header(STANDARD.id).is_none() && request.header(SVIX.id).is_some() {
            SVIX
        } else {
            STANDARD
        }
    }
}

/// The signed content of every version: `{id}.{timestamp}.{body}`.
pub(crate) fn signed_content() -> [Part; 5] {
    [
        Part::MessageId,
        Part::lit("."),
        Part::Timestamp,
        Part::lit("."),
        Part::Body,
    ]
}

fn scheme(names: Names) -> HmacScheme {
    HmacScheme::new(
        "standard-webhooks-v1",
        HmacAlgorithm::Sha256,
        names.signature,
    )
    .format(SignatureFormat::versioned("v1"))
    .encoding(Encoding::Base64)
    .message_id_header(names.id)
    .timestamp(names.timestamp_source())
    .content(signed_content())
}

/// Verifies [Standard Webhooks](https://www.standardwebhooks.com/) `v1` (HMAC-SHA256)
/// signatures: `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, or their
/// Svix-branded `svix-*` twins (Svix, Resend, Clerk, GitLab signing tokens…).
///
/// The signed content is `{id}.{timestamp}.{body}`; the header holds space-separated
/// `v1,<base64>` entries, every one tried against every active key; other versions are
/// ignored. The timestamp must be within 5 minutes either way by default.
///
/// # Examples
///
/// ```
/// use webhook_core::{FixedClock, Freshness, Secret, StandardWebhooks, Verifier, WebhookRequest};
///
/// // The official vector of the Standard Webhooks libraries.
/// let secret = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let verifier = StandardWebhooks::new(secret)?
///     .freshness(Freshness::default().with_clock(FixedClock::at_secs(1614265330)));
/// let body = br#"{"test": 2432232314}"#;
/// let request = WebhookRequest::new(body)
///     .with_header("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
///     .with_header("webhook-timestamp", "1614265330")
///     .with_header("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// let proof = verifier.verify(&request).expect("valid");
/// assert_eq!(proof.message_id(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Security
///
/// Reject a request first on its signature, then on its timestamp; pair this verifier with a
/// replay store keyed by `webhook-id` so a captured delivery cannot be replayed inside the
/// tolerance window.
#[derive(Clone)]
pub struct StandardWebhooks {
    inner: Branded<HmacVerifier>,
}

impl fmt::Debug for StandardWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhooks")
            .field("verifier", &self.inner.standard)
            .finish()
    }
}

/// One verifier per branding of the header names (`webhook-*`, `svix-*`), chosen by the
/// request's headers; shared by the `v1` and `v1a` verifiers.
#[derive(Clone)]
pub(crate) struct Branded<V> {
    pub(crate) standard: V,
    svix: V,
}

impl<V: Verifier> Branded<V> {
    /// Build the verifier of each branding.
    pub(crate) fn new(
        build: impl Fn(Names) -> Result<V, ConfigError>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            standard: build(STANDARD)?,
            svix: build(SVIX)?,
        })
    }

    /// Change both verifiers alike.
    pub(crate) fn map(self, change: impl Fn(V) -> V) -> Self {
        Self {
            standard: change(self.standard),
            svix: change(self.svix),
        }
    }

    pub(crate) fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        if Names::of(request).id == SVIX.id {
            self.svix.verify(request)
        } else {
            self.standard.verify(request)
        }
    }

    pub(crate) fn freshness_window(&self) -> Option<std::time::Duration> {
        self.standard
            .freshness_window()
            .max(self.svix.freshness_window())
    }
}

impl StandardWebhooks {
    /// A verifier for these keys. The key is the base64-decoded bytes after `whsec_`: build
    /// each with [`Secret::from_whsec`] (or [`Secret::from_env_whsec`]), or pass the
    /// `whsec_…` text as it is ([`Secret::from_env`], [`Secret::from_text`]) — a key whose
    /// bytes start with `whsec_` is decoded here, as the Svix libraries do. A secret copied
    /// without its prefix is the same base64: build it with [`Secret::from_base64`]. Given
    /// as text, it would be used as the bytes of its characters, and verify no delivery.
    ///
    /// ```
    /// use webhook_core::{Secret, StandardWebhooks};
    /// let text = Secret::from_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert!(StandardWebhooks::new(text).is_ok());
    /// assert!(StandardWebhooks::new(Secret::from_text("whsec_!!!")?).is_err());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// An empty key ring, or a `whsec_` key whose rest is not base64.
    pub fn new(keys: impl Into<KeyRing>) -> Result<Self, ConfigError> {
        let keys = decode_whsec_keys(keys.into())?;
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

/// The ring with every key given as `whsec_…` text replaced by its decoded bytes.
pub(crate) fn decode_whsec_keys(keys: KeyRing) -> Result<KeyRing, ConfigError> {
    let mut decoded = KeyRing::new();
    for key in keys.keys() {
        // A secret made by `Secret::from_whsec` holds decoded bytes already, whatever they
        // start with.
        if !key.secret().is_whsec_decoded() && key.secret().expose_secret().starts_with(b"whsec_") {
            let text = std::str::from_utf8(key.secret().expose_secret()).map_err(|_| {
                ConfigError::new(format!("key `{}` is not a valid `whsec_` secret", key.id()))
            })?;
            let secret = Secret::from_whsec(text).map_err(|_| {
                ConfigError::new(format!("key `{}` is not a valid `whsec_` secret", key.id()))
            })?;
            decoded.push(key.with_secret(secret));
        } else {
            decoded.push(key.clone());
        }
    }
    Ok(decoded)
}

impl Verifier for StandardWebhooks {
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

/// Signs deliveries the way a Standard Webhooks sender does: `webhook-id`,
/// `webhook-timestamp` and `webhook-signature: v1,<base64>`.
///
/// ```
/// use webhook_core::{Outgoing, Secret, Signer, StandardWebhooksSigner};
/// let signer = StandardWebhooksSigner::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// let headers = signer
///     .sign(&Outgoing::new(br#"{"test": 2432232314}"#).id("msg_p5jXN8AQM9LWM0D4loKWxJek").timestamp_secs(1614265330))
///     .unwrap();
/// assert_eq!(headers.get("webhook-signature"), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StandardWebhooksSigner {
    inner: HmacSigner,
    /// The secret was `whsec_…` text whose rest is not base64: signing refuses, as the
    /// verifier refuses such a key.
    undecodable: bool,
}

impl StandardWebhooksSigner {
    /// A signer with `secret` (the decoded `whsec_` bytes; `whsec_…` text is decoded here).
    /// `whsec_…` text that does not decode makes every [`sign`](Signer::sign) fail, as
    /// [`StandardWebhooks::new`] refuses it.
    #[must_use]
    pub fn new(secret: Secret) -> Self {
        Self::named(STANDARD, secret)
    }

    /// Sign with the `svix-*` header names instead.
    #[must_use]
    pub fn svix(secret: Secret) -> Self {
        Self::named(SVIX, secret)
    }

    fn named(names: Names, secret: Secret) -> Self {
        let decoded = match std::str::from_utf8(secret.expose_secret()) {
            Ok(text) if !secret.is_whsec_decoded() && text.starts_with("whsec_") => {
                Some(Secret::from_whsec(text))
            }
            _ => None,
        };
        let (secret, undecodable) = match decoded {
            Some(Ok(decoded)) => (decoded, false),
            Some(Err(_)) => (secret, true),
            None => (secret, false),
        };
        Self {
            inner: scheme(names).signer(secret),
            undecodable,
        }
    }

    /// Read unset timestamps from this clock.
    #[must_use]
    pub fn clock(self, clock: SharedClock) -> Self {
        Self {
            inner: self.inner.clock(clock),
            undecodable: self.undecodable,
        }
    }
}

impl Signer for StandardWebhooksSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        if self.undecodable {
            return Err(SignError::new(
                "standard webhooks signer: the secret is `whsec_` text that is not base64",
            ));
        }
        self.inner.sign(message)
    }
}
