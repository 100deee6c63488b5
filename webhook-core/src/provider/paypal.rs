//! PayPal REST webhooks: an RSA signature made with a PayPal certificate's key.
//!
//! | header | content |
//! | --- | --- |
//! | `PAYPAL-TRANSMISSION-ID` | the delivery's id |
//! | `PAYPAL-TRANSMISSION-TIME` | when PayPal sent it (RFC 3339) |
//! | `PAYPAL-TRANSMISSION-SIG` | base64 RSA PKCS#1 v1.5 signature with SHA-256 |
//! | `PAYPAL-CERT-URL` | the certificate whose key signed it, on `api(-m)(.sandbox).paypal.com` |
//! | `PAYPAL-AUTH-ALGO` | `SHA256withRSA` |
//!
//! The signed string is `{transmission id}|{transmission time}|{webhook id}|{crc32}`: the
//! webhook id is yours (from PayPal's dashboard, configuration here, never read from the
//! request) and `crc32` is the CRC-32 of the raw body as an unsigned decimal.
//!
//! # What the verifier checks
//!
//! - `PAYPAL-AUTH-ALGO` is `SHA256withRSA` (401 otherwise).
//! - `PAYPAL-CERT-URL` is an `https` URL on `api.paypal.com`, `api-m.paypal.com` or their
//!   `sandbox` twins, under `/v1/notifications/certs/` (401).
//! - The signature verifies (401 otherwise) with the key of the certificate
//!   `PAYPAL-CERT-URL` names, **fetched** over HTTPS the first time that address is seen
//!   ([`verifier_fetching`], feature `fetch`; while it cannot be fetched, the delivery is
//!   answered 503 `key_unavailable`, which PayPal retries), or with one of the **pinned**
//!   certificates ([`verifier`]): download the one `PAYPAL-CERT-URL` names and load it with
//!   [`PublicKey::from_certificate_pem`](crate::PublicKey::from_certificate_pem); when
//!   PayPal moves to a new one, add it to the ring.
//! - `PAYPAL-TRANSMISSION-TIME` is at most 73 hours old and 5 minutes ahead
//!   ([`default_freshness`]): PayPal retries a delivery for up to three days.
//!
//! # The body is bound by CRC-32 only
//!
//! CRC-32 is a checksum, not a cryptographic hash: whoever has seen one signed delivery (in
//! a log, a proxy, an error tracker) can write another body with the same CRC-32 and send it
//! with the same headers for as long as the transmission time stays fresh. Two things answer
//! such a body:
//!
//! - **The verifier pins the first body** it verifies under each transmission id (its
//!   SHA-256, for the freshness window, up to 100 000 ids per process): a later delivery
//!   under that id with another body is refused (401), even when the first one's handler
//!   failed and its claim was released. A retry that resends the same body passes; one that
//!   came with the same transmission id and a body serialized anew would be refused too.
//! - **The replay claim** on the signed transmission id answers a second delivery as a
//!   duplicate once the first succeeded, and with 409 while it runs. A receiver built
//!   [`without_replay_protection`](crate::ReceiverBuilder::without_replay_protection) is
//!   refused with this verifier.
//!
//! What neither can do: a forged body that arrives *before* the genuine one is the first
//! body (the genuine retry is then refused). The pins are per process; with several
//! replicas, a forged body sent to another replica before the first one completes is
//! checked only by that replica's pins and the shared replay store. For events that move
//! money, read the resource back from PayPal's API before acting, or use PayPal's online
//! `verify-webhook-signature` check (not called by this crate). Retention is about three
//! days: size [`memory_capacity`](crate::ReceiverBuilder::memory_capacity) for three days
//! of deliveries, or use a shared store.
//!
//! # Examples
//!
//! PayPal's own signed delivery, from its Java SDK's tests:
//!
//! ```
//! use webhook_core::provider::paypal;
//! use webhook_core::{FixedClock, PublicKey, Verifier, WebhookRequest};
//!
//! let fixture = |name: &str| {
//!     std::fs::read_to_string(format!("{}/tests/fixtures/paypal/{name}", env!("CARGO_MANIFEST_DIR")))
//!         .unwrap()
//! };
//! let certificate = PublicKey::from_certificate_pem(&fixture("certificate.pem"))?;
//! let verifier = paypal::verifier(certificate, "0FV983392A0531201")?
//!     .freshness(paypal::default_freshness().with_clock(FixedClock::at_secs(1_567_075_800)));
//!
//! let body = fixture("body.json");
//! let headers: serde_json::Value = serde_json::from_str(&fixture("headers.json")).unwrap();
//! let mut request = WebhookRequest::new(body.as_bytes());
//! for (name, value) in headers.as_object().unwrap() {
//!     request.push_header(name, value.as_str().unwrap().as_bytes());
//! }
//! let proof = verifier.verify(&request).unwrap();
//! assert_eq!(proof.message_id(), Some("afa30d40-ca4a-11e9-ab68-7d4e2605c70c"));
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest as _;

use crate::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, ConfigError,
    Freshness, Outgoing, PrivateKey, Proof, PublicKeyRing, SharedClock, SignError, SignedHeaders,
    Signer, SystemClock, TimeFormat, Verifier, VerifyError, WebhookRequest,
};

/// `PAYPAL-TRANSMISSION-ID`.
pub const TRANSMISSION_ID_HEADER: &str = "paypal-transmission-id";
/// `PAYPAL-TRANSMISSION-TIME`.
pub const TRANSMISSION_TIME_HEADER: &str = "paypal-transmission-time";
/// `PAYPAL-TRANSMISSION-SIG`.
pub const TRANSMISSION_SIG_HEADER: &str = "paypal-transmission-sig";
/// `PAYPAL-CERT-URL`.
pub const CERT_URL_HEADER: &str = "paypal-cert-url";
/// `PAYPAL-AUTH-ALGO`.
pub const AUTH_ALGO_HEADER: &str = "paypal-auth-algo";
/// The only `PAYPAL-AUTH-ALGO` PayPal sends.
pub const AUTH_ALGO: &str = "SHA256withRSA";

/// Longest transmission id accepted (PayPal's are 36-character UUIDs).
const MAX_TRANSMISSION_ID: usize = 128;
/// Longest webhook id accepted in configuration.
const MAX_WEBHOOK_ID: usize = 64;
/// Most transmission ids whose body one verifier remembers.
const MAX_PINS: usize = 100_000;

/// The SHA-256 of the first body verified under each transmission id, until the freshness
/// window has passed: a later delivery under the same id must carry the same body.
#[derive(Default)]
struct BodyPins {
    pins: Mutex<Pins>,
}

#[derive(Default)]
struct Pins {
    by_id: HashMap<String, ([u8; 32], i64)>,
    /// Ids in the order they were pinned, with their expiry, for expiry and eviction.
    order: VecDeque<(String, i64)>,
}

impl BodyPins {
    /// Pin `digest` to `id` until `expires_ms`, or check it against the pinned one.
    fn check(
        &self,
        id: &str,
        digest: [u8; 32],
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), VerifyError> {
        let mut pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        let Pins { by_id, order } = &mut *pins;
        while order
            .front()
            .is_some_and(|(_, expiry)| *expiry <= now_ms || by_id.len() >= MAX_PINS)
        {
            if let Some((old, expiry)) = order.pop_front()
                && by_id.get(&old).is_some_and(|(_, e)| *e == expiry)
            {
                by_id.remove(&old);
            }
        }
        match by_id.get(id) {
            Some((pinned, _)) if *pinned != digest => {
                tracing::warn!(
                    "PayPal delivery whose body differs from the one first verified under its \
                     transmission id: refused"
                );
                Err(VerifyError::invalid_signature()
                    .with_message("another body was delivered under this PayPal transmission id"))
            }
            Some(_) => Ok(()),
            None => {
                by_id.insert(id.to_owned(), (digest, expires_ms));
                order.push_back((id.to_owned(), expires_ms));
                Ok(())
            }
        }
    }
}

/// The freshness policy of [`verifier`]: 73 hours in the past (PayPal retries for up to three
/// days), 5 minutes in the future, the system clock.
#[must_use]
pub fn default_freshness() -> Freshness {
    Freshness::new(Duration::from_secs(73 * 3600), Duration::from_secs(5 * 60))
}

/// Whether `url` has the shape of the address of a PayPal webhook certificate:
/// `https://` on `api.paypal.com`, `api-m.paypal.com`, `api.sandbox.paypal.com` or
/// `api-m.sandbox.paypal.com`, no port, user or query, a path `/v1/notifications/certs/`
/// followed by letters, digits and `-`.
#[must_use]
pub fn is_cert_url(url: &str) -> bool {
    const HOSTS: [&str; 4] = [
        "api.paypal.com",
        "api-m.paypal.com",
        "api.sandbox.paypal.com",
        "api-m.sandbox.paypal.com",
    ];
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    let name = path.strip_prefix("v1/notifications/certs/").unwrap_or("");
    HOSTS.contains(&host)
        && !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A transmission id or time as PayPal writes them: visible ASCII without `|`, the signed
/// string's separator (so that no text can move from one field to another).
fn is_field(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic() && b != b'|')
}

/// The string PayPal signs.
fn signed_string(transmission_id: &str, time: &str, webhook_id: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "{transmission_id}|{time}|{webhook_id}|{}",
        crc32fast::hash(body)
    )
    .into_bytes()
}

fn scheme() -> AsymmetricScheme {
    AsymmetricScheme::new(
        "paypal",
        AsymmetricAlgorithm::RsaPkcs1v15Sha256,
        TRANSMISSION_SIG_HEADER,
    )
}

fn check_webhook_id(webhook_id: &str) -> Result<(), ConfigError> {
    if !is_field(webhook_id) || webhook_id.len() > MAX_WEBHOOK_ID {
        return Err(ConfigError::new(
            "the PayPal webhook id must be 1 to 64 visible ASCII characters without `|` (the \
             id PayPal's dashboard shows for the webhook)",
        ));
    }
    Ok(())
}

/// Verifies PayPal webhooks against pinned or fetched certificates for one webhook id. Made
/// by [`verifier`] or [`verifier_fetching`]; see the [module](self) for what it checks.
///
/// `Debug` shows the number of pinned certificates (or the cache) and the freshness policy.
#[derive(Clone)]
pub struct PayPalVerifier {
    keys: Keys,
    webhook_id: String,
    freshness: Freshness,
    pins: Arc<BodyPins>,
}

/// Where the verifier's keys come from.
#[derive(Clone)]
enum Keys {
    Pinned {
        verifier: AsymmetricVerifier,
        count: usize,
    },
    /// Fetched from the delivery's `PAYPAL-CERT-URL`.
    #[cfg(feature = "fetch")]
    Fetched(crate::CertificateCache),
}

impl fmt::Debug for PayPalVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("PayPalVerifier");
        match &self.keys {
            Keys::Pinned { count, .. } => debug.field("certificates", count),
            #[cfg(feature = "fetch")]
            Keys::Fetched(cache) => debug.field("fetched", cache),
        };
        debug
            .field("freshness", &self.freshness)
            .finish_non_exhaustive()
    }
}

/// A verifier for the deliveries of the webhook `webhook_id`, signed by any active key of
/// `certificates` (RSA keys of PayPal's certificates, loaded with
/// [`PublicKey::from_certificate_pem`](crate::PublicKey::from_certificate_pem)), with
/// [`default_freshness`].
///
/// # Errors
///
/// An empty ring, a key that is not RSA of 2048 to 4096 bits, or a webhook id that is not 1
/// to 64 visible ASCII characters without `|`.
///
/// # Security
///
/// The body is bound by CRC-32 only: use the verifier in a receiver with a replay store (the
/// receiver insists), and read the module's section on it.
pub fn verifier(
    certificates: impl Into<PublicKeyRing>,
    webhook_id: &str,
) -> Result<PayPalVerifier, ConfigError> {
    check_webhook_id(webhook_id)?;
    let certificates = certificates.into();
    Ok(PayPalVerifier {
        keys: Keys::Pinned {
            count: certificates.len(),
            verifier: scheme().verifier(certificates)?,
        },
        webhook_id: webhook_id.to_owned(),
        freshness: default_freshness(),
        pins: Arc::default(),
    })
}

/// A verifier for the deliveries of the webhook `webhook_id`, signed by the key of the
/// certificate each delivery names in `PAYPAL-CERT-URL`, fetched into `certificates` the
/// first time an address is seen (feature `fetch`; see
/// [`CertificateCache`](crate::CertificateCache) for the limits). Only a delivery with
/// `PAYPAL-AUTH-ALGO: SHA256withRSA` and an address of PayPal's shape causes a fetch; while
/// its certificate cannot be fetched it is answered 503 `key_unavailable`, which PayPal
/// retries. Otherwise as [`verifier`].
///
/// # Errors
///
/// A webhook id that is not 1 to 64 visible ASCII characters without `|`.
///
/// # Security
///
/// As [`verifier`]: the body is bound by CRC-32 only.
#[cfg(feature = "fetch")]
pub fn verifier_fetching(
    certificates: crate::CertificateCache,
    webhook_id: &str,
) -> Result<PayPalVerifier, ConfigError> {
    check_webhook_id(webhook_id)?;
    Ok(PayPalVerifier {
        keys: Keys::Fetched(certificates),
        webhook_id: webhook_id.to_owned(),
        freshness: default_freshness(),
        pins: Arc::default(),
    })
}

impl PayPalVerifier {
    /// Use this freshness policy (tolerance and clock; the clock also decides which keys
    /// have expired).
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }
}

fn header<'a>(request: &WebhookRequest<'a>, name: &str) -> Result<&'a str, VerifyError> {
    let value = request.require_single(name)?;
    if is_field(value) {
        Ok(value)
    } else {
        Err(VerifyError::malformed_header(
            name,
            "not visible ASCII without `|`",
        ))
    }
}

impl Verifier for PayPalVerifier {
    fn signs_url(&self) -> bool {
        false
    }

    fn freshness_window(&self) -> Option<Duration> {
        Some(self.freshness.window())
    }

    fn requires_replay_store(&self) -> bool {
        true
    }

    #[cfg(feature = "fetch")]
    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<crate::KeyFetch> {
        let Keys::Fetched(cache) = &self.keys else {
            return None;
        };
        let url = request.require_single(CERT_URL_HEADER).ok()?;
        let algorithm = request.require_single(AUTH_ALGO_HEADER).ok()?;
        (algorithm == AUTH_ALGO && is_cert_url(url))
            .then(|| cache.prefetch(url))
            .flatten()
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        if request.require_single(AUTH_ALGO_HEADER)? != AUTH_ALGO {
            return Err(VerifyError::invalid_signature()
                .with_message("unsupported `PAYPAL-AUTH-ALGO` (PayPal sends `SHA256withRSA`)"));
        }
        let cert_url = request.require_single(CERT_URL_HEADER)?;
        if !is_cert_url(cert_url) {
            return Err(VerifyError::invalid_signature()
                .with_message("`PAYPAL-CERT-URL` is not a PayPal certificate address"));
        }
        let transmission_id = header(request, TRANSMISSION_ID_HEADER)?;
        if transmission_id.len() > MAX_TRANSMISSION_ID {
            return Err(VerifyError::malformed_header(
                TRANSMISSION_ID_HEADER,
                "too long",
            ));
        }
        let time = header(request, TRANSMISSION_TIME_HEADER)?;
        let ts_ms = TimeFormat::Rfc3339.parse_ms(TRANSMISSION_TIME_HEADER, time)?;
        let signature = request.require_single(TRANSMISSION_SIG_HEADER)?;
        let content = signed_string(transmission_id, time, &self.webhook_id, request.body());
        let now = self.freshness.now_ms();
        let (key_id, replay) = match &self.keys {
            Keys::Pinned { verifier, .. } => {
                let (key, replay) = verifier.verify_content(content, signature, now)?;
                (key.id().to_owned(), replay)
            }
            #[cfg(feature = "fetch")]
            Keys::Fetched(cache) => {
                let verifier = scheme().verifier(cache.key(cert_url)?).map_err(|_| {
                    tracing::error!(
                        "the fetched PayPal certificate's key is not RSA of 2048 to 4096 bits"
                    );
                    VerifyError::invalid_signature()
                })?;
                let (key, replay) = verifier.verify_content(content, signature, now)?;
                (key.id().to_owned(), replay)
            }
        };
        self.freshness.check_ms_at(ts_ms, now)?;
        let window = i64::try_from(self.freshness.window().as_millis()).unwrap_or(i64::MAX);
        let digest: [u8; 32] = sha2::Sha256::digest(request.body()).into();
        self.pins
            .check(transmission_id, digest, now, now.saturating_add(window))?;
        // Only a delivery that passed every check keeps its certificate in use.
        #[cfg(feature = "fetch")]
        if let Keys::Fetched(cache) = &self.keys {
            cache.verified(cert_url);
        }
        Ok(Proof::new("paypal")
            .with_key_id(key_id)
            .with_message_id(transmission_id)
            .with_timestamp_ms(ts_ms)
            .with_signature(&replay))
    }
}

/// Signs deliveries as PayPal does, producing its five headers: the twin of [`verifier`], for
/// testing your handlers. The message's id is the transmission id (random when unset), its
/// timestamp the transmission time (the clock's when unset), written to the whole second as
/// PayPal writes it. `Debug` never shows the key.
///
/// ```
/// use webhook_core::provider::paypal;
/// use webhook_core::{Outgoing, PrivateKey, Signer, Verifier};
///
/// let key = PrivateKey::from_pem(include_str!(concat!(
///     env!("CARGO_MANIFEST_DIR"),
///     "/tests/fixtures/asym/rsa2048-private.pem"
/// )))?;
/// let cert_url = "https://api-m.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77";
/// let signer = paypal::signer(key.clone(), cert_url, "8PT597110X687430LKGECATA")?;
/// let verifier = paypal::verifier(key.public_key(), "8PT597110X687430LKGECATA")?;
///
/// let body = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
/// let headers = signer.sign(&Outgoing::new(body)).unwrap();
/// let request = headers.apply(webhook_core::WebhookRequest::new(body));
/// assert_eq!(verifier.verify(&request).unwrap().scheme(), "paypal");
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Security
///
/// RSA signing is not constant-time in the `rsa` crate: meant for tests (see [`PrivateKey`]).
#[derive(Clone)]
pub struct PayPalSigner {
    inner: AsymmetricSigner,
    cert_url: String,
    webhook_id: String,
    clock: SharedClock,
}

impl fmt::Debug for PayPalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPalSigner")
            .field("cert_url", &self.cert_url)
            .finish_non_exhaustive()
    }
}

/// A signer with `key` (RSA) naming `cert_url` as its certificate, for the webhook
/// `webhook_id`.
///
/// # Errors
///
/// The key is not RSA of at least 2048 bits, the URL is not a PayPal certificate address
/// ([`is_cert_url`]), or the webhook id is not one [`verifier`] accepts.
pub fn signer(
    key: PrivateKey,
    cert_url: &str,
    webhook_id: &str,
) -> Result<PayPalSigner, ConfigError> {
    if !is_cert_url(cert_url) {
        return Err(ConfigError::new(
            "the certificate URL must be https://api-m.paypal.com/v1/notifications/certs/<name> \
             (or api., or a sandbox host)",
        ));
    }
    check_webhook_id(webhook_id)?;
    Ok(PayPalSigner {
        inner: scheme().signer(key)?,
        cert_url: cert_url.to_owned(),
        webhook_id: webhook_id.to_owned(),
        clock: Arc::new(SystemClock),
    })
}

impl PayPalSigner {
    /// Read the time of messages without a timestamp from this clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

impl Signer for PayPalSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        let transmission_id = message.id_or_random();
        if !is_field(&transmission_id) || transmission_id.len() > MAX_TRANSMISSION_ID {
            return Err(SignError::new(
                "a transmission id is 1 to 128 visible ASCII characters without `|`",
            ));
        }
        let ms = message.timestamp().unwrap_or_else(|| self.clock.now_ms());
        let time = TimeFormat::Rfc3339.format_ms(ms.div_euclid(1000).saturating_mul(1000));
        if ms < 0 || time.is_empty() {
            return Err(SignError::new("timestamp out of range"));
        }
        let content = signed_string(&transmission_id, &time, &self.webhook_id, message.body());
        let signature = STANDARD.encode(self.inner.raw_signature(&content)?);
        let mut headers = SignedHeaders::new();
        headers.push(TRANSMISSION_ID_HEADER, transmission_id.into_owned());
        headers.push(TRANSMISSION_TIME_HEADER, time);
        headers.push(TRANSMISSION_SIG_HEADER, signature);
        headers.push(CERT_URL_HEADER, self.cert_url.clone());
        headers.push(AUTH_ALGO_HEADER, AUTH_ALGO);
        Ok(headers)
    }
}
