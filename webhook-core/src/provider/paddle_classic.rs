//! Paddle Classic (the legacy platform's webhooks and alerts): the signature is a form field.
//!
//! A Classic delivery is an `application/x-www-form-urlencoded` POST whose `p_signature` field
//! is the base64 RSA PKCS#1 v1.5 signature, with SHA-1, of the other fields as PHP's
//! `serialize()` writes them after `ksort()`: `a:<n>:{s:<len>:"<key>";s:<len>:"<value>";…}`,
//! keys in byte order, lengths in bytes. The key is the vendor's public key from Paddle's
//! dashboard (RSA, usually 4096 bits). Paddle Billing, the current platform, signs with an
//! HMAC instead: see [`paddle`](super::paddle).
//!
//! What the verifier checks, and why it is strict:
//! - the body is a form whose field names are lowercase ASCII letters, digits and `_`, each
//!   at most once (401 otherwise). PHP reads other names differently (`a[]` becomes an array,
//!   `123` an integer key, a repeated name keeps its last value), so this verifier would not
//!   compute the string Paddle signed; Paddle's own fields all have plain names. A name or
//!   value that does not decode to UTF-8 is a malformed body (400).
//! - `p_signature` verifies with one of the keys (401).
//!
//! Classic signs no timestamp and no delivery id of its own: the proof's message id is the
//! `alert_id` field when there is one (Paddle's id of the alert, the same on each retry),
//! otherwise the replay token comes from the signed content. A captured delivery verifies
//! forever, so replay protection lasts as long as the receiver's replay store remembers it:
//! with no signed timestamp to size it, give the receiver a long
//! [`retention`](crate::ReceiverBuilder::retention) (days, not the default minutes).
//!
//! SHA-1 is Paddle's choice. A collision attack would have to predict the fields Paddle
//! writes before one the attacker controls (`alert_id`, `event_time`), which is impractical;
//! Paddle Billing replaced the scheme.
//!
//! No vector published by Paddle was found; the tests use one from a third-party library's
//! tests (`verify-paddle-webhook`), which verifies with OpenSSL too.
//!
//! # Examples
//!
//! ```
//! use webhook_core::provider::paddle_classic;
//! use webhook_core::{PrivateKey, Verifier, WebhookRequest};
//!
//! let key = PrivateKey::from_pem(include_str!(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/tests/fixtures/asym/rsa2048-private.pem"
//! )))?;
//! let signer = paddle_classic::signer(key.clone())?;
//! let verifier = paddle_classic::verifier(key.public_key())?;
//!
//! let body = signer
//!     .sign(&[("alert_id", "1534261303"), ("alert_name", "subscription_created")])
//!     .unwrap();
//! let request = WebhookRequest::new(body.as_bytes())
//!     .with_header("content-type", "application/x-www-form-urlencoded");
//! let proof = verifier.verify(&request).unwrap();
//! assert_eq!(proof.message_id(), Some("1534261303"));
//!
//! let forged = body.replace("subscription_created", "subscription_cancelled");
//! assert!(verifier.verify(&WebhookRequest::new(forged.as_bytes())).is_err());
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, ConfigError,
    Freshness, PrivateKey, Proof, PublicKeyRing, SignError, Verifier, VerifyError, VerifyErrorKind,
    WebhookRequest,
};

/// The form field that carries the signature.
pub const SIGNATURE_FIELD: &str = "p_signature";
/// The form field whose value becomes the proof's message id.
pub const ALERT_ID_FIELD: &str = "alert_id";

/// Most fields a delivery may have (Paddle's have a few dozen).
const MAX_FIELDS: usize = 256;
/// Longest `alert_id` taken as the message id.
const MAX_ALERT_ID: usize = 128;

fn scheme() -> AsymmetricScheme {
    // The header name is unused: the signature is a form field.
    AsymmetricScheme::new(
        "paddle-classic",
        AsymmetricAlgorithm::RsaPkcs1v15Sha1,
        "p_signature",
    )
}

/// Whether PHP would read `name` as this verifier does: lowercase ASCII letters, digits and
/// `_`, starting with a letter or `_` (so never an integer key, never an array).
fn is_plain_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// `fields` (every one but the signature) as PHP's `serialize()` writes the array after
/// `ksort()`.
fn serialized<'a>(fields: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    let mut out = String::with_capacity(64 * fields.len());
    let _ = write!(out, "a:{}:{{", fields.len());
    for (key, value) in fields {
        let _ = write!(
            out,
            "s:{}:\"{key}\";s:{}:\"{value}\";",
            key.len(),
            value.len()
        );
    }
    out.push('}');
    out.into_bytes()
}

/// One name or value of a form: `+` is a space, then percent-decoding; `None` when the bytes
/// are not UTF-8 (a lossy decoding could make two different bodies read alike).
fn form_text(raw: &[u8]) -> Option<String> {
    let spaced: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let text = percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .ok()?;
    Some(text.into_owned())
}

/// The form's fields by name; `Err` for a name PHP would read differently, a repeated one,
/// or text that is not UTF-8.
fn fields(body: &[u8]) -> Result<BTreeMap<String, String>, VerifyError> {
    let mut fields = BTreeMap::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (
                pair.get(..at).unwrap_or_default(),
                pair.get(at + 1..).unwrap_or_default(),
            ),
            None => (pair, &b""[..]),
        };
        // A form that does not decode is a malformed body (400), as the status table has it.
        let (Some(name), Some(value)) = (form_text(name), form_text(value)) else {
            return Err(VerifyError::new(VerifyErrorKind::MalformedBody)
                .with_message("a form field that is not UTF-8"));
        };
        if fields.len() >= MAX_FIELDS {
            return Err(VerifyError::invalid_signature()
                .with_message("too many fields for a Paddle Classic delivery"));
        }
        if !is_plain_name(&name) {
            return Err(VerifyError::invalid_signature()
                .with_message("a form field name Paddle Classic does not send"));
        }
        if fields.insert(name, value).is_some() {
            return Err(VerifyError::invalid_signature().with_message("a form field is repeated"));
        }
    }
    Ok(fields)
}

/// Verifies Paddle Classic deliveries against the vendor's public keys. Made by [`verifier`].
///
/// `Debug` shows the number of keys.
#[derive(Clone)]
pub struct PaddleClassic {
    inner: AsymmetricVerifier,
    keys: usize,
    freshness: Freshness,
}

impl fmt::Debug for PaddleClassic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaddleClassic")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// A verifier accepting deliveries signed by any active key of `keys` (RSA, 2048 to 4096
/// bits: the public key of Paddle's dashboard, e.g. with
/// [`PublicKey::from_pem`](crate::PublicKey::from_pem)).
///
/// # Errors
///
/// An empty ring, or a key that is not RSA of 2048 to 4096 bits.
pub fn verifier(keys: impl Into<PublicKeyRing>) -> Result<PaddleClassic, ConfigError> {
    let keys = keys.into();
    Ok(PaddleClassic {
        keys: keys.len(),
        inner: scheme().verifier(keys)?,
        freshness: Freshness::default(),
    })
}

impl PaddleClassic {
    /// Use this clock for key expiry (Classic signs no timestamp, so nothing else reads it).
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }
}

impl Verifier for PaddleClassic {
    fn signs_url(&self) -> bool {
        false
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let mut fields = fields(request.body())?;
        let signature = fields.remove(SIGNATURE_FIELD).ok_or_else(|| {
            VerifyError::new(VerifyErrorKind::MissingCredentials)
                .with_message("missing form field `p_signature`")
        })?;
        let content = serialized(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let now = self.freshness.now_ms();
        let (key, replay) = self.inner.verify_content(content, &signature, now)?;
        let mut proof = Proof::new("paddle-classic")
            .with_key_id(key.id())
            .with_signature(&replay);
        if let Some(id) = fields
            .get(ALERT_ID_FIELD)
            .filter(|id| !id.is_empty() && id.len() <= MAX_ALERT_ID)
        {
            proof = proof.with_message_id(id.as_str());
        }
        Ok(proof)
    }
}

/// Signs form bodies as Paddle Classic does: the twin of [`verifier`], for testing your
/// handlers. `Debug` never shows the key.
///
/// # Security
///
/// RSA signing is not constant-time in the `rsa` crate: meant for tests (see [`PrivateKey`]).
#[derive(Clone)]
pub struct PaddleClassicSigner {
    inner: AsymmetricSigner,
}

impl fmt::Debug for PaddleClassicSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaddleClassicSigner")
            .finish_non_exhaustive()
    }
}

/// A signer with `key` (RSA).
///
/// # Errors
///
/// The key is not RSA of at least 2048 bits.
pub fn signer(key: PrivateKey) -> Result<PaddleClassicSigner, ConfigError> {
    Ok(PaddleClassicSigner {
        inner: scheme().signer(key)?,
    })
}

impl PaddleClassicSigner {
    /// The form body (`application/x-www-form-urlencoded`) of `fields` with its
    /// `p_signature`.
    ///
    /// # Errors
    ///
    /// A field name the verifier refuses (see the [module](self)), `p_signature` among the
    /// fields, a name given twice, more fields than the verifier reads (255 besides the
    /// signature), or the key failed to sign.
    pub fn sign(&self, fields: &[(&str, &str)]) -> Result<String, SignError> {
        if fields.len() >= MAX_FIELDS {
            return Err(SignError::new(
                "more fields than a Paddle Classic delivery may have",
            ));
        }
        let mut sorted = BTreeMap::new();
        for &(name, value) in fields {
            if !is_plain_name(name) || name == SIGNATURE_FIELD {
                return Err(SignError::new(
                    "field names are lowercase ASCII letters, digits and `_`, and not \
                     `p_signature`",
                ));
            }
            if sorted.insert(name, value).is_some() {
                return Err(SignError::new("a field name is given twice"));
            }
        }
        let content = serialized(sorted.iter().map(|(k, v)| (*k, *v)));
        let signature = STANDARD.encode(self.inner.raw_signature(&content)?);
        let mut form = form_urlencoded::Serializer::new(String::new());
        for &(name, value) in fields {
            form.append_pair(name, value);
        }
        form.append_pair(SIGNATURE_FIELD, &signature);
        Ok(form.finish())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::{fields, serialized};

    /// The string PHP 8.2 itself serialized for a body it made (`php.json`).
    #[test]
    fn the_serialization_is_php_s() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/paddle_classic/php.json"
        );
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut read = fields(fixture["body"].as_str().unwrap().as_bytes()).unwrap();
        read.remove("p_signature").unwrap();
        let ours = serialized(read.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            fixture["serialized"].as_str().unwrap()
        );
    }

    #[test]
    fn the_field_limit_is_exact() {
        let body = |n: usize| {
            (0..n)
                .map(|i| format!("f{i}=x"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert_eq!(fields(body(256).as_bytes()).unwrap().len(), 256);
        let error = fields(body(257).as_bytes()).unwrap_err();
        assert!(
            error.message().contains("too many fields"),
            "{}",
            error.message()
        );
    }
}
