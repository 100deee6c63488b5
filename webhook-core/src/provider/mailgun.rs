//! Mailgun: the signature travels in the body, not in a header.
//!
//! JSON webhooks carry `{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`;
//! legacy form posts carry `timestamp`, `token` and `signature` fields. The signature is the
//! hex HMAC-SHA256 of `{timestamp}{token}` with the account's HTTP webhook signing key. The
//! body itself is not signed, so this scheme proves only that Mailgun produced the
//! timestamp/token pair: keep the freshness check, and dedupe by `token` (the proof's message
//! id), which Mailgun recommends caching.
//!
//! Events of a subaccount's domain also carry `parent-signature` in the JSON `signature`
//! object: the same HMAC made with the primary (parent) account's key, so that the primary
//! account can verify every subaccount's events with its own key.
//! [`Mailgun::accept_parent_signature`] turns that on.

use std::fmt;

use rand_core::{OsRng, RngCore};

use crate::scheme::hmac::MacState;
use crate::{
    ConfigError, Freshness, HmacAlgorithm, KeyRing, Proof, Secret, TimeFormat, Verifier,
    VerifyError, VerifyErrorKind, WebhookRequest,
};

/// Longest token accepted (Mailgun's are 50 characters).
const MAX_TOKEN: usize = 256;

/// Verifies Mailgun webhooks.
#[derive(Clone)]
pub struct Mailgun {
    keys: KeyRing,
    freshness: Freshness,
    parent: bool,
}

impl fmt::Debug for Mailgun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailgun")
            .field("keys", &self.keys.len())
            .field("freshness", &self.freshness)
            .field("accept_parent_signature", &self.parent)
            .finish()
    }
}

/// A verifier for Mailgun webhooks signed with any active key of `keys`.
///
/// # Examples
///
/// ```
/// use webhook_core::{FixedClock, Freshness, Secret, Verifier, WebhookRequest, provider::mailgun};
///
/// // mailgun-php's test vector.
/// let verifier = mailgun::verifier(Secret::from_text("key-3ax6xnjp29jd6fds4gc373sgvjxteol0")?)?
///     .freshness(Freshness::default().with_clock(FixedClock::at_secs(1403645220)));
/// let body = br#"{"signature":{"timestamp":"1403645220","token":"5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6","signature":"9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33"},"event-data":{"event":"delivered"}}"#;
/// let request = WebhookRequest::new(body).with_header("content-type", "application/json");
/// assert!(verifier.verify(&request).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Errors
///
/// An empty key ring.
pub fn verifier(keys: impl Into<KeyRing>) -> Result<Mailgun, ConfigError> {
    let keys = keys.into();
    keys.ensure_not_empty()?;
    Ok(Mailgun {
        keys,
        freshness: Freshness::default(),
        parent: false,
    })
}

impl Mailgun {
    /// Use this freshness policy.
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }

    /// Also accept a delivery whose `parent-signature` verifies under these keys, when its
    /// `signature` does not.
    ///
    /// Mailgun signs the events of a subaccount's domain twice: `signature` with the
    /// subaccount's key and `parent-signature` with the primary account's key, both over the
    /// same timestamp and token. A primary account that receives its subaccounts' events holds
    /// its own key only: with this option, that one key verifies its own domains' events (by
    /// `signature`) and every subaccount's (by `parent-signature`).
    ///
    /// Mailgun documents the field in JSON webhooks only; the legacy form-encoded webhooks are
    /// verified by their `signature` field alone. Mailgun sends `signature` with every event:
    /// a delivery without it is refused (401 `missing_credentials`) whatever
    /// `parent-signature` holds. Freshness and the token's deduplication apply as to any
    /// other delivery; the [`Proof`]'s key id names the key that matched. Mailgun publishes
    /// no vector for `parent-signature`: this is tested by round trips against its documented
    /// scheme only.
    ///
    /// # Security
    ///
    /// The option is a convenience, not a boundary: `parent-signature` is the same HMAC as
    /// `signature`, so a triple it verifies would verify moved into `signature` too. What it
    /// changes is which deliveries carry a tag under the primary key: with it, every
    /// subaccount's events do, wherever that subaccount sends them. Mailgun signs no part of
    /// `event-data`, so whoever runs a subaccount's webhook endpoint can post an event of
    /// their own making to this receiver with a triple they received, within the freshness
    /// window; deduplication by token refuses only a token this receiver has seen. Accept
    /// parent signatures where the subaccounts' webhooks are sent to this receiver (or to
    /// operators trusted as much), keep the freshness window short, and admit only Mailgun's
    /// addresses with the receiver's source allowlist.
    ///
    /// # Examples
    ///
    /// ```
    /// use webhook_core::{FixedClock, Freshness, Secret, Verifier, WebhookRequest, provider::mailgun};
    ///
    /// let primary = Secret::from_text("primary-account-key")?;
    /// let subaccount = Secret::from_text("subaccount-key")?;
    /// let body = serde_json::json!({
    ///     "signature": mailgun::subaccount_signature_block(&subaccount, &primary, 1_700_000_000),
    ///     "event-data": { "event": "delivered" },
    /// })
    /// .to_string();
    /// let request = WebhookRequest::new(body.as_bytes());
    /// let fresh = Freshness::default().with_clock(FixedClock::at_secs(1_700_000_000));
    ///
    /// // The primary account's key alone: refused, unless parent signatures are accepted.
    /// let strict = mailgun::verifier(primary.clone())?.freshness(fresh.clone());
    /// assert!(strict.verify(&request).is_err());
    /// let primary_verifier = strict.accept_parent_signature();
    /// assert!(primary_verifier.verify(&request).is_ok());
    ///
    /// // The subaccount's own key verifies `signature`, as for any delivery.
    /// let own = mailgun::verifier(subaccount)?.freshness(fresh);
    /// assert!(own.verify(&request).is_ok());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn accept_parent_signature(mut self) -> Self {
        self.parent = true;
        self
    }
}

/// The fields of a delivery's signature: `(timestamp, token, signature, parent-signature)`.
struct Fields {
    timestamp: String,
    token: String,
    signature: String,
    parent: Option<String>,
}

/// The signature fields of a JSON or form body (`parent-signature` from JSON only).
///
/// Read before anything is authenticated, so nothing else of the body is built in memory:
/// the JSON is read into [`Envelope`], which skips every other field. A body that is not
/// JSON is 400 `malformed_body` (as an SNS body that is not JSON is); JSON without one
/// readable `signature` object (another shape, the field given twice) is 401
/// `missing_credentials`. A repeated `Content-Type` is ambiguous (form or JSON): 401
/// `malformed_header`.
fn fields(request: &WebhookRequest<'_>) -> Result<Fields, VerifyError> {
    let missing = || {
        VerifyError::new(VerifyErrorKind::MissingCredentials)
            .with_message("missing field `signature` (timestamp, token, signature)")
    };
    if request.header_values("content-type").nth(1).is_some() {
        return Err(VerifyError::malformed_header("content-type", "repeated"));
    }
    let is_form = request
        .content_type()
        .is_some_and(|ct| ct.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if is_form {
        let mut found = (None, None, None);
        for (k, v) in form_urlencoded::parse(request.body()) {
            match &*k {
                "timestamp" => found.0 = Some(v.into_owned()),
                "token" => found.1 = Some(v.into_owned()),
                "signature" => found.2 = Some(v.into_owned()),
                _ => {}
            }
        }
        return match found {
            (Some(timestamp), Some(token), Some(signature)) => Ok(Fields {
                timestamp,
                token,
                signature,
                parent: None,
            }),
            _ => Err(missing()),
        };
    }
    let envelope: Envelope = serde_json::from_slice(request.body()).map_err(|error| {
        if error.is_data() {
            // JSON, but not an object with one readable `signature` object.
            missing()
        } else {
            VerifyError::new(VerifyErrorKind::MalformedBody).with_message("body is not valid json")
        }
    })?;
    let sig = envelope.signature.ok_or_else(missing)?;
    match (sig.timestamp.0, sig.token.0, sig.signature.0) {
        (Some(timestamp), Some(token), Some(signature)) => Ok(Fields {
            timestamp,
            token,
            signature,
            // A string only, as Mailgun writes it.
            parent: sig.parent.0.filter(|_| sig.parent.1),
        }),
        _ => Err(missing()),
    }
}

/// A JSON delivery, with only the part the verifier reads: serde skips the rest without
/// allocating (a field given twice is an error, as is any JSON error).
#[derive(serde::Deserialize)]
struct Envelope {
    signature: Option<SignatureBlock>,
}

#[derive(serde::Deserialize)]
struct SignatureBlock {
    #[serde(default)]
    timestamp: Loose,
    #[serde(default)]
    token: Loose,
    #[serde(default)]
    signature: Loose,
    #[serde(rename = "parent-signature", default)]
    parent: Loose,
}

/// A field read as text when it is a string or an integer (Mailgun writes the timestamp
/// either way), with whether it was a string; any other value is skipped unbuilt and reads
/// as absent.
#[derive(Default)]
struct Loose(Option<String>, bool);

impl<'de> serde::Deserialize<'de> for Loose {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose(Some(v.to_owned()), true))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose(Some(v.to_string()), false))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose(Some(v.to_string()), false))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Loose, E> {
                Ok(Loose::default())
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Loose, E> {
                Ok(Loose::default())
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Loose, E> {
                Ok(Loose::default())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Loose, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Loose::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Loose, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Loose::default())
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A hex HMAC-SHA256 tag, or `None` when `text` is not one.
fn decode_tag(text: &str) -> Option<Vec<u8>> {
    hex::decode(text.trim()).ok().filter(|s| s.len() == 32)
}

fn tag(key: &[u8], timestamp: &str, token: &str) -> crate::scheme::hmac::Tag {
    let mut mac = MacState::new(HmacAlgorithm::Sha256, key);
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    mac.finalize()
}

impl Verifier for Mailgun {
    fn signs_url(&self) -> bool {
        false
    }

    fn freshness_window(&self) -> Option<std::time::Duration> {
        Some(self.freshness.window())
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let Fields {
            timestamp,
            token,
            signature,
            parent,
        } = fields(request)?;
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Err(VerifyError::invalid_signature().with_message("invalid field `token`"));
        }
        let ts_ms = TimeFormat::UnixSeconds.parse_ms("signature.timestamp", &timestamp)?;
        let now = self.freshness.now_ms();
        // Each candidate is compared with every active key; `parent-signature` only when it
        // is accepted and `signature` matched no key.
        let matching = |candidate: &[u8]| -> Result<Option<&crate::Key>, VerifyError> {
            let mut matched = None;
            for key in self.keys.active(now)? {
                if tag(key.secret().expose_secret(), &timestamp, &token).matches(candidate) {
                    matched = Some(key);
                }
            }
            Ok(matched)
        };
        let mut found = None;
        if let Some(own) = decode_tag(&signature) {
            found = matching(&own)?.map(|key| (key, own));
        }
        if found.is_none()
            && self.parent
            && let Some(theirs) = parent.as_deref().and_then(decode_tag)
        {
            found = matching(&theirs)?.map(|key| (key, theirs));
        }
        let (key, signature) = found.ok_or_else(VerifyError::invalid_signature)?;
        self.freshness.check_ms(ts_ms)?;
        Ok(Proof::new("mailgun")
            .with_key_id(key.id())
            .with_message_id(token)
            .with_timestamp_ms(ts_ms)
            .with_signature(&signature))
    }
}

/// The `signature` object Mailgun puts in a JSON webhook body, for `timestamp` (Unix seconds)
/// and a fresh random token: the signer twin of [`verifier`].
///
/// ```
/// use webhook_core::{Secret, Verifier, WebhookRequest, provider::mailgun};
/// let secret = Secret::from_text("signing-key")?;
/// let body = serde_json::json!({
///     "signature": mailgun::signature_block(&secret, 1_700_000_000),
///     "event-data": { "event": "delivered" },
/// }).to_string();
/// let verifier = mailgun::verifier(secret)?.freshness(
///     webhook_core::Freshness::default().with_clock(webhook_core::FixedClock::at_secs(1_700_000_000)));
/// assert!(verifier.verify(&WebhookRequest::new(body.as_bytes())).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[must_use]
pub fn signature_block(secret: &Secret, timestamp_secs: i64) -> serde_json::Value {
    block(secret, None, timestamp_secs)
}

/// The `signature` object of a subaccount's event: `signature` made with the subaccount's
/// key and `parent-signature` with the primary account's, over one timestamp and a fresh
/// random token. The signer twin of [`Mailgun::accept_parent_signature`].
#[must_use]
pub fn subaccount_signature_block(
    subaccount: &Secret,
    primary: &Secret,
    timestamp_secs: i64,
) -> serde_json::Value {
    block(subaccount, Some(primary), timestamp_secs)
}

fn block(secret: &Secret, parent: Option<&Secret>, timestamp_secs: i64) -> serde_json::Value {
    let mut raw = [0u8; 25];
    OsRng.fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let timestamp = timestamp_secs.to_string();
    let sign = |key: &Secret| hex::encode(tag(key.expose_secret(), &timestamp, &token).as_slice());
    let mut block = serde_json::Map::new();
    block.insert("signature".into(), sign(secret).into());
    if let Some(parent) = parent {
        block.insert("parent-signature".into(), sign(parent).into());
    }
    block.insert("timestamp".into(), timestamp.into());
    block.insert("token".into(), token.into());
    serde_json::Value::Object(block)
}
