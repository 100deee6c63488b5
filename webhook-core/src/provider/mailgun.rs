//! Mailgun: the signature travels in the body, not in a header.
//!
//! JSON webhooks carry `{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`;
//! legacy form posts carry `timestamp`, `token` and `signature` fields. The signature is the
//! hex HMAC-SHA256 of `{timestamp}{token}` with the account's HTTP webhook signing key. The
//! body itself is not signed, so this scheme proves only that Mailgun produced the
//! timestamp/token pair: keep the freshness check, and dedupe by `token` (the proof's message
//! id), which Mailgun recommends caching.

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
}

impl fmt::Debug for Mailgun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailgun")
            .field("keys", &self.keys.len())
            .field("freshness", &self.freshness)
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
    })
}

impl Mailgun {
    /// Use this freshness policy.
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }
}

/// The `(timestamp, token, signature)` triple from a JSON or form body.
fn fields(request: &WebhookRequest<'_>) -> Result<(String, String, String), VerifyError> {
    let missing = || {
        VerifyError::new(VerifyErrorKind::MissingCredentials)
            .with_message("missing field `signature` (timestamp, token, signature)")
    };
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
            (Some(t), Some(k), Some(s)) => Ok((t, k, s)),
            _ => Err(missing()),
        };
    }
    let value: serde_json::Value = serde_json::from_slice(request.body()).map_err(|_| {
        VerifyError::new(VerifyErrorKind::MalformedBody).with_message("body is not valid json")
    })?;
    let sig = value.get("signature").ok_or_else(missing)?;
    let text = |name: &str| -> Result<String, VerifyError> {
        match sig.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            _ => Err(missing()),
        }
    };
    Ok((text("timestamp")?, text("token")?, text("signature")?))
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
        let (timestamp, token, signature) = fields(request)?;
        if token.is_empty() || token.len() > MAX_TOKEN {
            return Err(VerifyError::invalid_signature().with_message("invalid field `token`"));
        }
        let ts_ms = TimeFormat::UnixSeconds.parse_ms("signature.timestamp", &timestamp)?;
        let signature = hex::decode(signature.trim())
            .ok()
            .filter(|s| s.len() == 32)
            .ok_or_else(VerifyError::invalid_signature)?;
        let now = self.freshness.now_ms();
        let mut matched = None;
        for key in self.keys.active(now)? {
            if tag(key.secret().expose_secret(), &timestamp, &token).matches(&signature) {
                matched = Some(key);
            }
        }
        let key = matched.ok_or_else(VerifyError::invalid_signature)?;
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
    let mut raw = [0u8; 25];
    OsRng.fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let timestamp = timestamp_secs.to_string();
    let signature = hex::encode(tag(secret.expose_secret(), &timestamp, &token).as_slice());
    serde_json::json!({ "timestamp": timestamp, "token": token, "signature": signature })
}
