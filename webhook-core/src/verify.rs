//! The [`Verifier`] trait, what a verifier proves ([`Proof`]), and the combinators.

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::request::WebhookRequest;

/// Proves that a request came from its sender and was not altered.
///
/// A verifier checks the raw bytes exactly as received, tries every active key against every
/// signature the request carries, compares in constant time, and checks freshness where the
/// scheme signs a timestamp. It returns what it proved.
///
/// Implement it for a scheme of your own; combine several with [`AnyOf`] and [`AllOf`].
pub trait Verifier: fmt::Debug + Send + Sync + 'static {
    /// Verify one request.
    ///
    /// # Errors
    ///
    /// A [`VerifyError`] whose kind says why (missing or malformed header, no matching
    /// signature, stale timestamp, bad credentials…).
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError>;

    /// How long a signed timestamp stays acceptable, past and future tolerance together, when
    /// the scheme signs one. A replay store must remember a delivery at least this long, or a
    /// captured delivery could be replayed while its timestamp is still accepted:
    /// [`ReceiverBuilder::build`](crate::ReceiverBuilder::build) sizes retention from it.
    fn freshness_window(&self) -> Option<Duration> {
        None
    }

    /// Whether the scheme signs the request URL, so [`WebhookRequest::with_url`] must carry
    /// the URL the sender addressed. Adapters build that URL only when this is `true`. The
    /// default is `true`, the safe answer for a scheme that reads [`WebhookRequest::url`].
    ///
    /// # Examples
    ///
    /// ```
    /// use webhook_core::provider::twilio;
    /// use webhook_core::{Secret, StandardWebhooks, Verifier};
    ///
    /// assert!(!StandardWebhooks::new(Secret::random(24))?.signs_url());
    /// assert!(twilio::verifier(Secret::random(24))?.signs_url());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    fn signs_url(&self) -> bool {
        true
    }

    /// Whether the scheme is safe only with a replay store:
    /// [`ReceiverBuilder::build`](crate::ReceiverBuilder::build) refuses such a verifier on a
    /// receiver built [`without_replay_protection`](crate::ReceiverBuilder::without_replay_protection).
    ///
    /// The default is `true` for a scheme that signs no timestamp (no
    /// [`freshness_window`](Self::freshness_window)): without a store nothing would ever
    /// refuse a captured copy of one of its deliveries. Schemes with static credentials
    /// (`ApiKey`, `BasicAuth`) answer `false`, as a store has nothing per delivery to refuse
    /// their copies by. PayPal's verifier answers `true` with a window: its CRC-32 binds the
    /// body so weakly that a different body can carry a captured signature, so the claim on
    /// the signed delivery id is part of its security. So do Mailgun's, which signs a
    /// timestamp and a token but not the body, and an `HmacScheme` or `AsymmetricScheme`
    /// whose content has a timestamp but not [`Part::Body`](crate::Part::Body).
    ///
    /// ```
    /// use webhook_core::provider::github;
    /// use webhook_core::{ApiKey, Secret, StandardWebhooks, Verifier};
    /// assert!(github::verifier(Secret::random(24))?.requires_replay_store());
    /// assert!(!StandardWebhooks::new(Secret::random(24))?.requires_replay_store());
    /// assert!(!ApiKey::new("x-api-key", [Secret::from_text("key")?])?.requires_replay_store());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    fn requires_replay_store(&self) -> bool {
        self.freshness_window().is_none()
    }

    /// Whether every signature this verifier accepts covers the body as received, byte for
    /// byte. A receiver that decrypts payloads
    /// ([`ReceiverBuilder::decryptor`](crate::ReceiverBuilder::decryptor)) needs such a
    /// verifier: only the signature over the ciphertext binds the plaintext to the delivery,
    /// so that an old sealed body cannot ride on a newer signature.
    /// [`ReceiverBuilder::build`](crate::ReceiverBuilder::build) refuses a decryptor beside a
    /// verifier that answers `false`.
    ///
    /// The default is `false`, which fails closed: a verifier of the application's own that
    /// signs the body says so. The built-in schemes answer `true` when their signed content
    /// holds the raw body (Standard Webhooks, GitHub, Stripe, Slack, the public-key schemes,
    /// JWTs with a body-digest claim…) and `false` for static credentials (`ApiKey`,
    /// `BasicAuth`), Mailgun (a timestamp and a token), PayPal (a CRC-32 of the body), signed
    /// form parameters (Twilio, Mandrill, Paddle Classic), SNS (the message's fields) and a
    /// `Tenants` registry (its verifiers are not known when the receiver is built).
    ///
    /// ```
    /// use webhook_core::provider::mailgun;
    /// use webhook_core::{Secret, StandardWebhooks, Verifier};
    /// assert!(StandardWebhooks::new(Secret::random(24))?.signs_body());
    /// assert!(!mailgun::verifier(Secret::random(24))?.signs_body());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    fn signs_body(&self) -> bool {
        false
    }

    /// Work to await before [`verify`](Self::verify) can judge `request`: fetching a signing
    /// certificate the request names and the verifier has not seen yet (the SNS and PayPal
    /// verifiers built with a `CertificateCache`, feature `fetch`). `None`, the default, when
    /// there is nothing to fetch.
    ///
    /// The pipeline ([`Delivery::fetch_keys`](crate::Delivery::fetch_keys)) awaits it after
    /// admission, so that a source the allowlist or the rate limit refuses never causes a
    /// fetch, and before `verify`, which never waits on the network: a key still missing
    /// then is [`KeyUnavailable`](crate::VerifyErrorKind::KeyUnavailable) (503, so that the
    /// sender retries). The future must bound its own time.
    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<KeyFetch> {
        let _ = request;
        None
    }

    /// A configuration this verifier can never accept a request with, found when the
    /// receiver is built rather than at the first request:
    /// [`ReceiverBuilder::build`](crate::ReceiverBuilder::build) fails with it. The default
    /// is `Ok(())`; [`AnyOf`] and [`AllOf`] refuse to be empty.
    ///
    /// ```
    /// use webhook_core::{AnyOf, Receiver, Verifier};
    /// assert!(AnyOf::new().check_config().is_err());
    /// assert!(Receiver::builder().verifier(AnyOf::new()).build().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// What is wrong, in words an operator can act on.
    fn check_config(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// The future of [`Verifier::fetch_keys`]: owns what it needs, borrows nothing.
pub type KeyFetch = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The fetches of several verifiers, awaited together, so that one member's slow fetch does
/// not hold back another's (`None` when none has one).
fn fetch_all<'v>(
    verifiers: impl Iterator<Item = &'v Box<dyn Verifier>>,
    request: &WebhookRequest<'_>,
) -> Option<KeyFetch> {
    let mut fetches: Vec<KeyFetch> = verifiers.filter_map(|v| v.fetch_keys(request)).collect();
    match fetches.len() {
        0 => None,
        1 => fetches.pop(),
        // A join: each poll polls every fetch that has not ended (all with the one waker, so
        // that any of them wakes the task), and drops those that have; done when none is left.
        _ => Some(Box::pin(std::future::poll_fn(move |cx| {
            fetches.retain_mut(|fetch| fetch.as_mut().poll(cx).is_pending());
            if fetches.is_empty() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        }))),
    }
}

impl<V: Verifier + ?Sized> Verifier for Box<V> {
    fn check_config(&self) -> Result<(), ConfigError> {
        (**self).check_config()
    }
    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<KeyFetch> {
        (**self).fetch_keys(request)
    }
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        (**self).verify(request)
    }
    fn freshness_window(&self) -> Option<Duration> {
        (**self).freshness_window()
    }
    fn signs_url(&self) -> bool {
        (**self).signs_url()
    }
    fn requires_replay_store(&self) -> bool {
        (**self).requires_replay_store()
    }
    fn signs_body(&self) -> bool {
        (**self).signs_body()
    }
}

impl<V: Verifier + ?Sized> Verifier for Arc<V> {
    fn check_config(&self) -> Result<(), ConfigError> {
        (**self).check_config()
    }
    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<KeyFetch> {
        (**self).fetch_keys(request)
    }
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        (**self).verify(request)
    }
    fn freshness_window(&self) -> Option<Duration> {
        (**self).freshness_window()
    }
    fn signs_url(&self) -> bool {
        (**self).signs_url()
    }
    fn requires_replay_store(&self) -> bool {
        (**self).requires_replay_store()
    }
    fn signs_body(&self) -> bool {
        (**self).signs_body()
    }
}

/// An [`AnyOf`] or [`AllOf`] needs a member, and each member a valid configuration.
fn check_members(what: &str, verifiers: &[Box<dyn Verifier>]) -> Result<(), ConfigError> {
    if verifiers.is_empty() {
        return Err(ConfigError::new(format!(
            "{what} holds no verifier: every request would be refused; add one"
        )));
    }
    verifiers.iter().try_for_each(|v| v.check_config())
}

/// The longest of several windows.
fn longest(windows: impl Iterator<Item = Option<Duration>>) -> Option<Duration> {
    windows.flatten().max()
}

/// What a verifier proved about a request.
///
/// `Debug` shows the scheme, key id, message id, timestamp and tenant. The subject (a Basic
/// auth user name, half of a credential, or a token's `sub`) and the replay token (a digest)
/// are shown only as present or absent: read [`subject`](Self::subject) to log it.
#[derive(Clone, PartialEq, Eq)]
pub struct Proof {
    scheme: Cow<'static, str>,
    key_id: Option<Cow<'static, str>>,
    message_id: Option<String>,
    timestamp_ms: Option<i64>,
    subject: Option<String>,
    tenant: Option<String>,
    replay: Option<ReplaySource>,
}

impl Proof {
    /// A proof for `scheme` with nothing else known yet.
    #[must_use]
    pub fn new(scheme: impl Into<Cow<'static, str>>) -> Self {
        Self {
            scheme: scheme.into(),
            key_id: None,
            message_id: None,
            timestamp_ms: None,
            subject: None,
            tenant: None,
            replay: None,
        }
    }

    /// Record the id of the key that matched.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(Cow::Owned(key_id.into()));
        self
    }

    /// Record the id of the key that matched, without copying a static id.
    pub(crate) fn with_key_id_cow(mut self, key_id: Cow<'static, str>) -> Self {
        self.key_id = Some(key_id);
        self
    }

    /// Record the sender's message id.
    #[must_use]
    pub fn with_message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Record the signed timestamp (Unix milliseconds).
    #[must_use]
    pub fn with_timestamp_ms(mut self, ms: i64) -> Self {
        self.timestamp_ms = Some(ms);
        self
    }

    /// Record the authenticated subject (Basic user name, JWT `sub`).
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Record the tenant whose keys verified the request ([`Tenants`](crate::Tenants)).
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Record what identifies this message, as a replay key when the scheme has no message id:
    /// a digest of the signed content (what the HMAC schemes record, so that adding or retiring
    /// a key never makes a copy look new), or the signature that matched. Only for values unique
    /// to a message (not for static credentials).
    #[must_use]
    pub fn with_signature(mut self, signature: &[u8]) -> Self {
        let mut raw = [0u8; 64];
        self.replay = Some(match raw.get_mut(..signature.len()) {
            Some(dst) => {
                dst.copy_from_slice(signature);
                ReplaySource::Raw(raw, signature.len())
            }
            None => ReplaySource::Digest(Sha256::digest(signature).into()),
        });
        self
    }

    /// The scheme that verified the request, e.g. `standard-webhooks-v1`, `github`.
    #[must_use]
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The id of the key that matched.
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The sender's message id, where the scheme signs one.
    #[must_use]
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The signed timestamp in Unix milliseconds, where the scheme signs one.
    #[must_use]
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.timestamp_ms
    }

    /// The authenticated subject, where the scheme has one.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The tenant whose keys verified the request, when a [`Tenants`](crate::Tenants)
    /// chose them. The replay store keeps each tenant's deliveries apart.
    #[must_use]
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// A SHA-256 digest, hex-encoded, of what [`with_signature`](Self::with_signature)
    /// recorded, when the scheme's signature is unique per message.
    #[must_use]
    pub fn replay_token(&self) -> Option<String> {
        self.replay.as_ref().map(|source| match source {
            ReplaySource::Raw(raw, len) => {
                hex::encode(Sha256::digest(raw.get(..*len).unwrap_or_default()))
            }
            ReplaySource::Digest(digest) => hex::encode(digest),
        })
    }

    /// Fill what `self` lacks from `other`, and join the scheme names (for [`AllOf`], which
    /// joins the key ids itself).
    fn merge(mut self, other: Self) -> Self {
        self.scheme = Cow::Owned(format!("{}+{}", self.scheme, other.scheme));
        self.message_id = self.message_id.or(other.message_id);
        self.timestamp_ms = self.timestamp_ms.or(other.timestamp_ms);
        self.subject = self.subject.or(other.subject);
        self.tenant = self.tenant.or(other.tenant);
        self.replay = self.replay.or(other.replay);
        self
    }
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proof")
            .field("scheme", &self.scheme)
            .field("key_id", &self.key_id)
            .field("message_id", &self.message_id)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("subject", &self.subject.is_some())
            .field("tenant", &self.tenant)
            .field("replay_token", &self.replay.is_some())
            .finish()
    }
}

/// The matched signature, kept until a replay token is asked for: short signatures raw (the
/// digest is computed only when used), long ones (RSA, DER ECDSA) as their digest.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReplaySource {
    Raw([u8; 64], usize),
    Digest([u8; 32]),
}

/// Accepts a request that any one of its verifiers accepts (the first that passes wins).
///
/// Use it for migrations between schemes, or for a route several senders call. When all
/// fail, the error of the most specific failure is returned: a verifier that found its
/// credentials but rejected them outranks one that found nothing to check.
///
/// # Examples
///
/// ```
/// use webhook_core::{AnyOf, ApiKey, Secret, Verifier, WebhookRequest};
///
/// let either = AnyOf::new()
///     .or(ApiKey::new("x-api-key", [Secret::from_text("key-one")?])?)
///     .or(ApiKey::new("x-token", [Secret::from_text("key-two")?])?);
/// let request = WebhookRequest::new(b"{}").with_header("x-token", "key-two");
/// assert!(either.verify(&request).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Default)]
pub struct AnyOf {
    verifiers: Vec<Box<dyn Verifier>>,
}

impl AnyOf {
    /// No verifiers yet: add at least one ([`ReceiverBuilder::build`](crate::ReceiverBuilder::build)
    /// refuses an empty one).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a verifier.
    #[must_use]
    pub fn or(mut self, verifier: impl Verifier) -> Self {
        self.verifiers.push(Box::new(verifier));
        self
    }
}

/// Which member's rejection [`AnyOf`] reports: a verdict on the credentials the request
/// carries beats a member that could not judge them (its keys all expired, or its signing
/// certificate could not be fetched), which beats a
/// member whose credentials the request does not carry at all.
fn specificity(kind: VerifyErrorKind) -> u8 {
    match kind {
        VerifyErrorKind::MissingHeader | VerifyErrorKind::MissingCredentials => 0,
        VerifyErrorKind::NotConfigured | VerifyErrorKind::KeyUnavailable => 1,
        _ => 2,
    }
}

impl Verifier for AnyOf {
    /// On failure, the most specific member rejection (see above; between equals, one that
    /// carries a `WWW-Authenticate` challenge, else the first). A 401 carries the first
    /// challenge any member gave, whichever member's rejection is reported, so a client that
    /// could use Basic or Bearer credentials is told so whatever the members' order.
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let mut best: Option<VerifyError> = None;
        let mut challenge: Option<String> = None;
        for verifier in &self.verifiers {
            match verifier.verify(request) {
                Ok(proof) => return Ok(proof),
                Err(err) => {
                    if challenge.is_none() {
                        challenge = err.www_authenticate().map(str::to_owned);
                    }
                    let better = best.as_ref().is_none_or(|b| {
                        let (new, old) = (specificity(err.kind()), specificity(b.kind()));
                        new > old
                            || (new == old
                                && b.www_authenticate().is_none()
                                && err.www_authenticate().is_some())
                    });
                    if better {
                        best = Some(err);
                    }
                }
            }
        }
        let Some(mut best) = best else {
            return Err(VerifyError::new(VerifyErrorKind::NotConfigured)
                .with_message("no verifier configured"));
        };
        if best.status() == 401
            && best.www_authenticate().is_none()
            && let Some(challenge) = challenge
        {
            best = best.with_www_authenticate(challenge);
        }
        Err(best)
    }

    fn freshness_window(&self) -> Option<Duration> {
        longest(self.verifiers.iter().map(|v| v.freshness_window()))
    }

    fn signs_url(&self) -> bool {
        self.verifiers.iter().any(|v| v.signs_url())
    }

    fn requires_replay_store(&self) -> bool {
        self.verifiers.iter().any(|v| v.requires_replay_store())
    }

    /// Every member's signature covers the body (whichever member accepts a request).
    fn signs_body(&self) -> bool {
        !self.verifiers.is_empty() && self.verifiers.iter().all(|v| v.signs_body())
    }

    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<KeyFetch> {
        fetch_all(self.verifiers.iter(), request)
    }

    fn check_config(&self) -> Result<(), ConfigError> {
        check_members("AnyOf", &self.verifiers)
    }
}

/// Accepts a request only when every one of its verifiers accepts it, e.g. Basic auth *and* a
/// signature. The proofs are merged: scheme names and matched key ids are joined with `+` in
/// the members' order (`api-key+github`, `key-0+default`; `-` for a member that names no key,
/// as Basic auth: `-+default`), and the rest is taken from the first member that has it.
/// The first failure is returned.
#[derive(Debug, Default)]
pub struct AllOf {
    verifiers: Vec<Box<dyn Verifier>>,
}

impl AllOf {
    /// No verifiers yet: add at least one ([`ReceiverBuilder::build`](crate::ReceiverBuilder::build)
    /// refuses an empty one).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a verifier.
    #[must_use]
    pub fn and(mut self, verifier: impl Verifier) -> Self {
        self.verifiers.push(Box::new(verifier));
        self
    }
}

impl Verifier for AllOf {
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let mut verifiers = self.verifiers.iter();
        let first = verifiers.next().ok_or_else(|| {
            VerifyError::new(VerifyErrorKind::NotConfigured).with_message("no verifier configured")
        })?;
        let mut proof = first.verify(request)?;
        let mut key_ids = vec![proof.key_id.take()];
        for verifier in verifiers {
            let mut next = verifier.verify(request)?;
            key_ids.push(next.key_id.take());
            proof = proof.merge(next);
        }
        // Each member's key id in order, `-` for a member that names none; none when no
        // member names one.
        if key_ids.iter().any(Option::is_some) {
            let joined: Vec<&str> = key_ids
                .iter()
                .map(|id| id.as_deref().unwrap_or("-"))
                .collect();
            proof.key_id = Some(Cow::Owned(joined.join("+")));
        }
        Ok(proof)
    }

    fn freshness_window(&self) -> Option<Duration> {
        longest(self.verifiers.iter().map(|v| v.freshness_window()))
    }

    fn signs_url(&self) -> bool {
        self.verifiers.iter().any(|v| v.signs_url())
    }

    fn requires_replay_store(&self) -> bool {
        self.verifiers.iter().any(|v| v.requires_replay_store())
    }

    /// One member's signature covering the body binds it: every member must accept.
    fn signs_body(&self) -> bool {
        self.verifiers.iter().any(|v| v.signs_body())
    }

    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<KeyFetch> {
        fetch_all(self.verifiers.iter(), request)
    }

    fn check_config(&self) -> Result<(), ConfigError> {
        check_members("AllOf", &self.verifiers)
    }
}
