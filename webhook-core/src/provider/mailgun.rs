//! Mailgun: the signature travels in the body, not in a header.
//!
//! JSON webhooks carry `{"signature": {"timestamp", "token", "signature"}, "event-data": {…}}`;
//! legacy form posts carry `timestamp`, `token` and `signature` fields. The signature is the
//! hex HMAC-SHA256 of `{timestamp}{token}` with the account's HTTP webhook signing key. The
//! body itself is not signed, so this scheme proves only that Mailgun produced the
//! timestamp/token pair: keep the freshness check, and dedupe by `token` (the proof's message
//! id), which Mailgun recommends caching. A receiver with this verifier therefore needs a
//! replay store ([`Verifier::requires_replay_store`]): without one, a signature seen once (in
//! a log, a proxy, an error report) would carry any other `event-data` for five minutes. Since nothing separates the two in the signed
//! bytes, the timestamp must have ten digits (Unix seconds from 2001 to 2286): otherwise a
//! digit moved from the token to the timestamp, or back, would sign the same bytes under
//! another token, a new message id for the replay store (401 `malformed_header`).
//!
//! `multipart/form-data` posts (RFC 7578), which a route's `forward()` action sends for a
//! message with attachments ("Receiving Messages via HTTP"), carry the same three fields as
//! parts of the form: they are read in place, copying the three values and nothing else
//! (attachments, the parts with a `filename`, and every other field are skipped unread; an
//! attachment named like one of the three is refused, below).
//! The reading is strict, as every byte of it is unauthenticated:
//!
//! - the boundary is the `Content-Type`'s `boundary` parameter (any case), a token or a
//!   quoted-string of RFC 2046's boundary characters, 1 to 70 of them, not ending in a space;
//!   missing, repeated, invalid, or behind unreadable parameters, the header is at fault: 401
//!   `malformed_header` naming `content-type`, as for a repeated `Content-Type`;
//! - lines break with CRLF, as RFC 2046 requires: a body broken with LF alone is not read
//!   (400), rather than read differently from the application's own parser. A preamble
//!   before the first delimiter and an epilogue after the close delimiter are ignored;
//! - a body that is not such multipart (no delimiter, no part, no close delimiter, a part
//!   without a blank line after its headers or without one `Content-Disposition: form-data`
//!   with a `name`, a folded or unreadable header, text after a delimiter) is 400
//!   `malformed_body`, as a body that is not JSON is;
//! - a field missing, given twice, or given as a file (an attachment under its name: which
//!   one would the application read?), is 401 `missing_credentials`, as a JSON body without
//!   one `signature` object is;
//! - a value is read as it stands, up to the line break before the next delimiter, and at
//!   most as long as Mailgun's values can be (32 bytes for the timestamp, 256 for the token,
//!   128 for the signature) and UTF-8: any other is refused as the same value in JSON would
//!   be (401: `malformed_header` for the timestamp, `invalid_signature` for the others).
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

/// The signature fields of a JSON, form or multipart body (`parent-signature` from JSON
/// only).
///
/// Read before anything is authenticated, so nothing else of the body is built in memory:
/// the JSON is read into [`Envelope`], which skips every other field, and a multipart body
/// in place by [`multipart::fields`]. A body that is not JSON is 400 `malformed_body` (as an
/// SNS body that is not JSON is); JSON without one readable `signature` object (another
/// shape, the field given twice), and a form or multipart body with a signature field
/// missing or given twice (or, multipart, as a file), is 401 `missing_credentials`. A
/// repeated `Content-Type` is ambiguous (form or JSON): 401 `malformed_header`.
fn fields(request: &WebhookRequest<'_>) -> Result<Fields, VerifyError> {
    let missing = || {
        VerifyError::new(VerifyErrorKind::MissingCredentials)
            .with_message("missing field `signature` (timestamp, token, signature)")
    };
    if request.header_values("content-type").nth(1).is_some() {
        return Err(VerifyError::malformed_header("content-type", "repeated"));
    }
    if request
        .content_type()
        .is_some_and(|ct| ct.eq_ignore_ascii_case("multipart/form-data"))
    {
        // One value, as text: `content_type()` said so.
        let content_type = request.header("content-type").unwrap_or_default();
        return multipart::fields(content_type, request.body());
    }
    let is_form = request
        .content_type()
        .is_some_and(|ct| ct.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if is_form {
        let mut found = (None, None, None);
        for (k, v) in form_urlencoded::parse(request.body()) {
            let slot = match &*k {
                "timestamp" => &mut found.0,
                "token" => &mut found.1,
                "signature" => &mut found.2,
                _ => continue,
            };
            // Which one would the application read? (As for multipart and JSON.)
            if slot.is_some() {
                return Err(VerifyError::new(VerifyErrorKind::MissingCredentials)
                    .with_message(format!("field `{k}` given twice")));
            }
            *slot = Some(v.into_owned());
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

/// The digits of every timestamp Mailgun signs (Unix seconds from 2001-09-09 to 2286-11-20).
const TIMESTAMP_DIGITS: usize = 10;

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

    /// The body is not signed: a captured timestamp, token and signature carry any
    /// `event-data` while they are fresh, and only the claim on the token refuses them.
    fn requires_replay_store(&self) -> bool {
        true
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
        // `{timestamp}{token}` has no separator: a digit moved between the two signs the same
        // bytes under another token, which the replay store would take for a new delivery.
        // Ten digits (2001 to 2286, every time Mailgun has signed) leave no digit to move.
        if timestamp.len() != TIMESTAMP_DIGITS {
            return Err(VerifyError::malformed_header(
                "signature.timestamp",
                "not a ten-digit Unix time",
            ));
        }
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
/// and a fresh random token: the signer twin of [`verifier`], which accepts only ten-digit
/// timestamps (2001-09-09 to 2286-11-20), as Mailgun signs.
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

/// The three fields of a `multipart/form-data` body (RFC 7578, RFC 2046), read in place.
///
/// One pass over the body: each delimiter is searched from the end of the last one, each
/// part's headers are read up to their blank line, and a part's value is copied only when it
/// is one of the three fields, at most as long as its cap. Nothing else is allocated.
mod multipart {
    use super::{Fields, MAX_TOKEN};
    use crate::{VerifyError, VerifyErrorKind};

    /// Longest timestamp read: `TimeFormat::parse_ms` refuses more than 16 digits anyway.
    const MAX_TIMESTAMP: usize = 32;
    /// Longest signature read: 64 hex digits, with room for the spaces `decode_tag` trims.
    const MAX_SIGNATURE: usize = 128;
    /// Longest boundary (RFC 2046).
    const MAX_BOUNDARY: usize = 70;

    /// One of the fields the verifier reads.
    #[derive(Clone, Copy)]
    enum Field {
        Timestamp,
        Token,
        Signature,
    }

    impl Field {
        const ALL: [Self; 3] = [Self::Timestamp, Self::Token, Self::Signature];

        fn name(self) -> &'static str {
            match self {
                Self::Timestamp => "timestamp",
                Self::Token => "token",
                Self::Signature => "signature",
            }
        }

        fn cap(self) -> usize {
            match self {
                Self::Timestamp => MAX_TIMESTAMP,
                Self::Token => MAX_TOKEN,
                Self::Signature => MAX_SIGNATURE,
            }
        }

        /// The refusal of a value too long or not UTF-8: the one the same value gets in JSON
        /// (`TimeFormat::parse_ms` for the timestamp, `Verifier::verify` for the others).
        fn unreadable(self) -> VerifyError {
            match self {
                Self::Timestamp => {
                    VerifyError::malformed_header("signature.timestamp", "not a valid timestamp")
                }
                Self::Token => {
                    VerifyError::invalid_signature().with_message("invalid field `token`")
                }
                Self::Signature => {
                    VerifyError::invalid_signature().with_message("invalid field `signature`")
                }
            }
        }
    }

    /// A field the body holds.
    enum Slot {
        Text(String),
        /// Too long or not UTF-8: refused, but only once the body has been read whole (a
        /// malformed body or a field given twice says more).
        Unreadable,
    }

    #[derive(Default)]
    struct Slots([Option<Slot>; 3]);

    impl Slots {
        fn slot(&mut self, field: Field) -> &mut Option<Slot> {
            let [timestamp, token, signature] = &mut self.0;
            match field {
                Field::Timestamp => timestamp,
                Field::Token => token,
                Field::Signature => signature,
            }
        }
    }

    fn malformed(why: &'static str) -> VerifyError {
        VerifyError::new(VerifyErrorKind::MalformedBody).with_message(why)
    }

    /// The fields of `body`, whose `Content-Type` header is `content_type`.
    ///
    /// # Errors
    ///
    /// 401 `malformed_header` when the `boundary` parameter is missing, repeated or invalid,
    /// or the parameters cannot be read; 400 `malformed_body` when the body is not
    /// multipart; 401 `missing_credentials` when a field is missing, given twice or given as
    /// a file; 401
    /// `malformed_header` (timestamp) or `invalid_signature` (token, signature) when a
    /// value is too long or not UTF-8.
    pub(super) fn fields(content_type: &[u8], body: &[u8]) -> Result<Fields, VerifyError> {
        let boundary = boundary(content_type)?;
        let mut slots = read(body, boundary)?;
        // Every field present before any is refused for its value.
        let mut take = |field: Field| {
            slots.slot(field).take().ok_or_else(|| {
                VerifyError::new(VerifyErrorKind::MissingCredentials)
                    .with_message(format!("missing field `{}`", field.name()))
            })
        };
        let (timestamp, token, signature) = (
            take(Field::Timestamp)?,
            take(Field::Token)?,
            take(Field::Signature)?,
        );
        let text = |field: Field, slot: Slot| match slot {
            Slot::Text(text) => Ok(text),
            Slot::Unreadable => Err(field.unreadable()),
        };
        Ok(Fields {
            timestamp: text(Field::Timestamp, timestamp)?,
            token: text(Field::Token, token)?,
            signature: text(Field::Signature, signature)?,
            parent: None,
        })
    }

    /// The `boundary` parameter of a `Content-Type` value.
    fn boundary(content_type: &[u8]) -> Result<&[u8], VerifyError> {
        let bad = |why| VerifyError::malformed_header("content-type", why);
        let params = content_type
            .iter()
            .position(|&b| b == b';')
            .and_then(|at| content_type.get(at..))
            .unwrap_or_default();
        let mut found = None;
        for param in Params(params) {
            let (name, value) = param.map_err(|()| bad("unreadable parameters"))?;
            if name.eq_ignore_ascii_case(b"boundary") && found.replace(value).is_some() {
                return Err(bad("repeated boundary"));
            }
        }
        // A quoted boundary is taken between its quotes: none of the boundary characters
        // needs an escape, so a backslash is refused like any other character outside them.
        let (ParamValue::Token(boundary) | ParamValue::Quoted(boundary)) =
            found.ok_or_else(|| bad("missing boundary"))?;
        let valid = (1..=MAX_BOUNDARY).contains(&boundary.len())
            && boundary.iter().all(|&b| is_bchar(b))
            && boundary.last() != Some(&b' ');
        if valid {
            Ok(boundary)
        } else {
            Err(bad("invalid boundary"))
        }
    }

    /// RFC 2046's `bchars`.
    fn is_bchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
    }

    /// RFC 9110's `tchar`: the characters of a header or parameter name.
    fn is_tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }

    /// `text` without its leading spaces and tabs (optional whitespace, transport padding).
    fn skip_blanks(text: &[u8]) -> &[u8] {
        let blanks = text
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        text.get(blanks..).unwrap_or_default()
    }

    /// The three fields of the parts of `body`.
    fn read(body: &[u8], boundary: &[u8]) -> Result<Slots, VerifyError> {
        let mut slots = Slots::default();
        // The first delimiter opens the body or a line after the preamble.
        let mut rest = match body
            .strip_prefix(b"--")
            .and_then(|b| b.strip_prefix(boundary))
        {
            Some(after) => after,
            None => {
                split_at_delimiter(body, boundary)
                    .ok_or_else(|| malformed("multipart boundary not found in the body"))?
                    .1
            }
        };
        let mut parts = false;
        loop {
            if let Some(close) = rest.strip_prefix(b"--") {
                if !parts {
                    return Err(malformed("multipart body without a part"));
                }
                // The epilogue follows on the next line, unread.
                let epilogue = skip_blanks(close);
                return if epilogue.is_empty() || epilogue.starts_with(b"\r\n") {
                    Ok(slots)
                } else {
                    Err(malformed("text after a multipart close delimiter"))
                };
            }
            let part = skip_blanks(rest)
                .strip_prefix(b"\r\n")
                .ok_or_else(|| malformed("text after a multipart delimiter"))?;
            let (part, after) = split_at_delimiter(part, boundary)
                .ok_or_else(|| malformed("multipart body without a close delimiter"))?;
            read_part(part, &mut slots)?;
            parts = true;
            rest = after;
        }
    }

    /// `text` around its first delimiter (`CRLF--boundary`): what precedes it, and what
    /// follows the boundary. Linear: at most `boundary.len() + 4` bytes compared per CR.
    fn split_at_delimiter<'a>(text: &'a [u8], boundary: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
        let mut from = 0;
        loop {
            let at = from + text.get(from..)?.iter().position(|&b| b == b'\r')?;
            let (before, candidate) = text.split_at_checked(at)?;
            if let Some(after) = candidate
                .strip_prefix(b"\r\n--")
                .and_then(|c| c.strip_prefix(boundary))
            {
                return Some((before, after));
            }
            from = at + 1;
        }
    }

    /// The first CRLF of `text`: what precedes it and what follows it.
    fn split_line(text: &[u8]) -> Option<(&[u8], &[u8])> {
        let at = text.windows(2).position(|w| w == b"\r\n")?;
        Some((text.get(..at)?, text.get(at + 2..)?))
    }

    /// One part: its headers up to the blank line, then its value, kept when it is one of
    /// the three fields.
    fn read_part(part: &[u8], slots: &mut Slots) -> Result<(), VerifyError> {
        let mut disposition = None;
        let mut rest = part;
        let value = loop {
            let (line, after) = split_line(rest).ok_or_else(|| {
                malformed("multipart part without a blank line after its headers")
            })?;
            if line.is_empty() {
                break after;
            }
            rest = after;
            // No folding (obsolete, RFC 7578 § 4.8), no bare CR or LF.
            if line.starts_with(b" ") || line.starts_with(b"\t") {
                return Err(malformed("folded header in a multipart part"));
            }
            if line.iter().any(|&b| b == b'\r' || b == b'\n') {
                return Err(malformed("bare line break in a multipart part's headers"));
            }
            let (name, value) = line
                .iter()
                .position(|&b| b == b':')
                .and_then(|at| Some((line.get(..at)?, line.get(at + 1..)?)))
                .filter(|(name, _)| !name.is_empty() && name.iter().all(|&b| is_tchar(b)))
                .ok_or_else(|| malformed("unreadable header in a multipart part"))?;
            if name.eq_ignore_ascii_case(b"content-disposition")
                && disposition.replace(value).is_some()
            {
                return Err(malformed(
                    "repeated content-disposition in a multipart part",
                ));
            }
        };
        let disposition =
            disposition.ok_or_else(|| malformed("multipart part without a content-disposition"))?;
        let Some(field) = field(disposition)? else {
            return Ok(());
        };
        let slot = slots.slot(field);
        if slot.is_some() {
            return Err(VerifyError::new(VerifyErrorKind::MissingCredentials)
                .with_message(format!("field `{}` given twice", field.name())));
        }
        *slot = Some(if value.len() > field.cap() {
            Slot::Unreadable
        } else {
            std::str::from_utf8(value).map_or(Slot::Unreadable, |text| Slot::Text(text.to_owned()))
        });
        Ok(())
    }

    /// The field a `Content-Disposition` value names: `None` for an attachment (a
    /// `filename` or `filename*` parameter) or another field.
    fn field(disposition: &[u8]) -> Result<Option<Field>, VerifyError> {
        let bad = || malformed("unreadable content-disposition in a multipart part");
        let disposition = skip_blanks(disposition);
        let kind_len = disposition
            .iter()
            .take_while(|&&b| b != b';' && b != b' ' && b != b'\t')
            .count();
        let (kind, params) = disposition.split_at_checked(kind_len).ok_or_else(bad)?;
        if !kind.eq_ignore_ascii_case(b"form-data") {
            return Err(malformed("multipart part that is not form-data"));
        }
        let mut name = None;
        let mut file = false;
        for param in Params(params) {
            let (key, value) = param.map_err(|()| bad())?;
            if key.eq_ignore_ascii_case(b"name") {
                if name.replace(value).is_some() {
                    return Err(bad());
                }
            } else if key.eq_ignore_ascii_case(b"filename")
                || key.eq_ignore_ascii_case(b"filename*")
            {
                file = true;
            }
        }
        let name = name.ok_or_else(|| malformed("multipart part without a name"))?;
        let field = Field::ALL
            .into_iter()
            .find(|field| name.is(field.name().as_bytes()));
        match field {
            // An attachment under a signature field's name: an application that reads fields
            // by name could read it in place of the signed field.
            Some(field) if file => Err(VerifyError::new(VerifyErrorKind::MissingCredentials)
                .with_message(format!("field `{}` given as a file", field.name()))),
            _ if file => Ok(None),
            field => Ok(field),
        }
    }

    /// A parameter's value: a token, or a quoted-string between its quotes, escapes kept.
    #[derive(Clone, Copy)]
    enum ParamValue<'a> {
        Token(&'a [u8]),
        Quoted(&'a [u8]),
    }

    impl ParamValue<'_> {
        /// Whether the value, unescaped, is `text`.
        fn is(self, text: &[u8]) -> bool {
            match self {
                Self::Token(token) => token == text,
                Self::Quoted(quoted) => {
                    let mut bytes = quoted.iter();
                    let unescaped = std::iter::from_fn(|| match bytes.next()? {
                        b'\\' => bytes.next(),
                        b => Some(b),
                    });
                    unescaped.eq(text)
                }
            }
        }
    }

    /// The `; name=value` parameters of a header value, after its first item; an `Err` when
    /// the rest is not a parameter list, after which the iteration ends.
    struct Params<'a>(&'a [u8]);

    impl<'a> Iterator for Params<'a> {
        type Item = Result<(&'a [u8], ParamValue<'a>), ()>;

        fn next(&mut self) -> Option<Self::Item> {
            let rest = skip_blanks(self.0);
            // The end, or a trailing `;` before it.
            if rest.is_empty()
                || rest
                    .strip_prefix(b";")
                    .is_some_and(|r| skip_blanks(r).is_empty())
            {
                self.0 = &[];
                return None;
            }
            let param = param(rest);
            self.0 = param.map_or(&[], |(_, _, after)| after);
            Some(param.map(|(name, value, _)| (name, value)).ok_or(()))
        }
    }

    /// `; name=value` at the start of `text`: the name, the value and the rest.
    fn param(text: &[u8]) -> Option<(&[u8], ParamValue<'_>, &[u8])> {
        let text = skip_blanks(text.strip_prefix(b";")?);
        let name_len = text.iter().take_while(|&&b| is_tchar(b)).count();
        let (name, text) = text.split_at_checked(name_len)?;
        if name.is_empty() {
            return None;
        }
        let text = skip_blanks(skip_blanks(text).strip_prefix(b"=")?);
        if let Some(quoted) = text.strip_prefix(b"\"") {
            let mut escaped = false;
            let end = quoted.iter().position(|&b| {
                let end = !escaped && b == b'"';
                escaped = !escaped && b == b'\\';
                end
            })?;
            let (value, after) = quoted.split_at_checked(end)?;
            Some((name, ParamValue::Quoted(value), after.get(1..)?))
        } else {
            let len = text
                .iter()
                .take_while(|&&b| b.is_ascii_graphic() && b != b';' && b != b'"')
                .count();
            let (value, after) = text.split_at_checked(len)?;
            if value.is_empty() {
                return None;
            }
            Some((name, ParamValue::Token(value), after))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn boundaries_are_read_as_rfc_2046_writes_them() {
            let read = |ct: &str| {
                boundary(ct.as_bytes())
                    .map(<[u8]>::to_vec)
                    .map_err(|e| e.kind())
            };
            assert_eq!(
                read("multipart/form-data; boundary=abc"),
                Ok(b"abc".to_vec())
            );
            assert_eq!(
                read("multipart/form-data;BOUNDARY=abc;"),
                Ok(b"abc".to_vec())
            );
            assert_eq!(
                read("multipart/form-data; charset=utf-8; Boundary=\"a b:c?\" ; x=y"),
                Ok(b"a b:c?".to_vec())
            );
            let long = "b".repeat(70);
            assert_eq!(
                read(&format!("multipart/form-data; boundary={long}")),
                Ok(long.into_bytes())
            );
            for bad in [
                "multipart/form-data",
                "multipart/form-data;",
                "multipart/form-data; boundary=",
                "multipart/form-data; boundary=\"\"",
                "multipart/form-data; boundary=\"abc",
                "multipart/form-data; boundary=\"a \"",
                "multipart/form-data; boundary=\"a\\\"b\"",
                "multipart/form-data; boundary=a@b",
                "multipart/form-data; boundary=a b",
                "multipart/form-data; boundary=a; boundary=a",
                "multipart/form-data; ; boundary=a",
                "multipart/form-data; =a; boundary=b",
                &format!("multipart/form-data; boundary={}", "b".repeat(71)),
            ] {
                assert_eq!(read(bad), Err(VerifyErrorKind::MalformedHeader), "{bad}");
            }
        }

        #[test]
        fn names_are_compared_unescaped() {
            let name = |disposition: &str| {
                field(disposition.as_bytes())
                    .map(|f| f.map(Field::name))
                    .map_err(|e| e.kind())
            };
            assert_eq!(name("form-data; name=\"token\""), Ok(Some("token")));
            assert_eq!(name(" FORM-DATA ;NAME = \"t\\o\\ken\""), Ok(Some("token")));
            assert_eq!(name("form-data; name=signature"), Ok(Some("signature")));
            assert_eq!(
                name("form-data; name=\"token\"; filename=\"a\""),
                Err(VerifyErrorKind::MissingCredentials)
            );
            assert_eq!(
                name("form-data; filename*=utf-8''a; name=token"),
                Err(VerifyErrorKind::MissingCredentials)
            );
            assert_eq!(name("form-data; name=\"report\"; filename=\"a\""), Ok(None));
            assert_eq!(name("form-data; name=\"tokens\""), Ok(None));
            assert_eq!(name("form-data; name=\"Token\""), Ok(None));
            assert_eq!(
                name("form-data; name=\"tok\\\""),
                Err(VerifyErrorKind::MalformedBody)
            );
            assert_eq!(name("form-data"), Err(VerifyErrorKind::MalformedBody));
            assert_eq!(
                name("attachment; name=token"),
                Err(VerifyErrorKind::MalformedBody)
            );
            assert_eq!(
                name("form-data; name=token; name=token"),
                Err(VerifyErrorKind::MalformedBody)
            );
            assert_eq!(
                name("form-data; name=to ken"),
                Err(VerifyErrorKind::MalformedBody)
            );
        }
    }
}
