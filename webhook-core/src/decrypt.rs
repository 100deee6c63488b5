//! Payload decryption. The signature covers the body as sent (the ciphertext), so decryption
//! runs after authentication; it runs before the claim (the design lists it later), so that a
//! scheme without message ids can be deduplicated by the event's own id, which is inside the
//! plaintext. What the handler decodes is the plaintext.

use std::borrow::Cow;
use std::fmt;

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce, Tag};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand_core::{OsRng, RngCore as _};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::clock::{self, SharedClock};
use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::request::WebhookRequest;
use crate::secret::{Key, KeyRing, every_key_expired};
use crate::sign::SignError;

/// Turns an authenticated body into the plaintext the handler decodes. Configured with
/// [`ReceiverBuilder::decryptor`](crate::ReceiverBuilder::decryptor); [`Aes256GcmDecryptor`]
/// is the one this crate provides.
pub trait Decryptor: fmt::Debug + Send + Sync + 'static {
    /// The plaintext of `request`'s body, at `now_ms` (Unix milliseconds: keys past their
    /// expiry are not used).
    ///
    /// # Errors
    ///
    /// `MalformedBody` (400) for an envelope that cannot be read or a body that no key
    /// decrypts; `KeyUnavailable` (503 with `Retry-After`) for a body naming a key the
    /// receiver does not have (yet); `NotConfigured` (500) when every key has expired. The
    /// message names the envelope's part at fault, never a byte of the body or a key. A
    /// plaintext longer than the receiver's body limit is refused by the pipeline (413), as
    /// the sealed body would have been.
    fn decrypt(&self, request: &WebhookRequest<'_>, now_ms: i64) -> Result<Vec<u8>, VerifyError>;

    /// The content type of the plaintext, given to the framework's own extractors behind a
    /// layer or middleware (which rebuilds the request with the plaintext). `None` keeps the
    /// request's.
    fn plaintext_content_type(&self) -> Option<&str> {
        None
    }
}

/// Bytes of an AES-256-GCM nonce.
pub(crate) const NONCE_LEN: usize = 12;
/// Bytes of an AES-256-GCM tag.
pub(crate) const TAG_LEN: usize = 16;
/// Bytes of an AES-256 key.
pub(crate) const KEY_LEN: usize = 32;
/// At most this many keys in one decryptor: a body naming no key is tried with each.
pub(crate) const MAX_KEYS: usize = 8;

/// Where the nonce, the ciphertext, the key id and the associated data of a sealed body are.
///
/// - [`binary`](Self::binary): the body is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
/// - [`base64`](Self::base64): the body is that, in standard base64 (padding optional).
/// - [`json`](Self::json): the body is a JSON object holding the base64 of `ciphertext ‖ tag`
///   and of the nonce at two JSON pointers (RFC 6901), e.g. `{"nonce":"…","ciphertext":"…"}`.
///
/// The associated data authenticated with the ciphertext (none by default) can come from a
/// header ([`associated_data_header`](Self::associated_data_header), e.g. the message id,
/// which binds the plaintext to its delivery) or, in a JSON envelope, from a field; the key
/// id that picks the key likewise. Without a key id, each key of the decryptor is tried.
///
/// ```
/// use webhook_core::Envelope;
/// // WeChat Pay API v3's notification: `resource.ciphertext` (base64 of ciphertext ‖ tag),
/// // a 12-character `resource.nonce` used as its bytes, `resource.associated_data`.
/// let wechat = Envelope::json("/resource/ciphertext", "/resource/nonce")
///     .text_nonce()
///     .associated_data_field("/resource/associated_data");
/// let bound = Envelope::base64().associated_data_header("webhook-id");
/// # let _ = (wechat, bound);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    form: Form,
    aad: Source,
    key_id: Source,
    text_nonce: bool,
}

#[derive(Clone, PartialEq, Eq)]
enum Form {
    Binary,
    Base64,
    Json { ciphertext: String, nonce: String },
}

#[derive(Clone, PartialEq, Eq)]
enum Source {
    None,
    Header(Cow<'static, str>),
    Field(String),
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Envelope");
        match &self.form {
            Form::Binary => s.field("form", &"binary"),
            Form::Base64 => s.field("form", &"base64"),
            Form::Json { ciphertext, nonce } => s
                .field("form", &"json")
                .field("ciphertext", ciphertext)
                .field("nonce", nonce),
        };
        s.field("associated_data", &self.aad.describe())
            .field("key_id", &self.key_id.describe())
            .field("text_nonce", &self.text_nonce)
            .finish()
    }
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Self::None => "none".to_owned(),
            Self::Header(name) => format!("header {name}"),
            Self::Field(pointer) => format!("field {pointer}"),
        }
    }
}

impl Envelope {
    fn of(form: Form) -> Self {
        Self {
            form,
            aad: Source::None,
            key_id: Source::None,
            text_nonce: false,
        }
    }

    /// The raw body: `nonce ‖ ciphertext ‖ tag`.
    #[must_use]
    pub fn binary() -> Self {
        Self::of(Form::Binary)
    }

    /// The body in standard base64 (padded or not; surrounding whitespace ignored) of
    /// `nonce ‖ ciphertext ‖ tag`.
    #[must_use]
    pub fn base64() -> Self {
        Self::of(Form::Base64)
    }

    /// A JSON object: at the pointer `ciphertext`, the base64 of `ciphertext ‖ tag`; at
    /// `nonce`, the base64 of the 12-byte nonce (or its text, with
    /// [`text_nonce`](Self::text_nonce)).
    #[must_use]
    pub fn json(ciphertext: impl Into<String>, nonce: impl Into<String>) -> Self {
        Self::of(Form::Json {
            ciphertext: ciphertext.into(),
            nonce: nonce.into(),
        })
    }

    /// The associated data is this header's value (a missing header is a 400).
    #[must_use]
    pub fn associated_data_header(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.aad = Source::Header(name.into());
        self
    }

    /// JSON envelope only: the associated data is the text of the string at this pointer
    /// (empty when the field is absent; it is authenticated either way).
    #[must_use]
    pub fn associated_data_field(mut self, pointer: impl Into<String>) -> Self {
        self.aad = Source::Field(pointer.into());
        self
    }

    /// The id of the key to use is this header's value.
    #[must_use]
    pub fn key_id_header(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.key_id = Source::Header(name.into());
        self
    }

    /// JSON envelope only: the id of the key to use is the string at this pointer.
    #[must_use]
    pub fn key_id_field(mut self, pointer: impl Into<String>) -> Self {
        self.key_id = Source::Field(pointer.into());
        self
    }

    /// JSON envelope only: the nonce is 12 characters of text used as its bytes (as WeChat
    /// Pay sends it), not base64.
    #[must_use]
    pub fn text_nonce(mut self) -> Self {
        self.text_nonce = true;
        self
    }

    fn check(&self) -> Result<(), ConfigError> {
        let is_json = matches!(self.form, Form::Json { .. });
        let field = |s: &Source| matches!(s, Source::Field(_));
        if !is_json && (field(&self.aad) || field(&self.key_id) || self.text_nonce) {
            return Err(ConfigError::new(
                "envelope: fields (associated data, key id, a text nonce) need the JSON envelope",
            ));
        }
        let mut pointers: Vec<&str> = Vec::new();
        if let Form::Json { ciphertext, nonce } = &self.form {
            pointers.extend([ciphertext.as_str(), nonce.as_str()]);
        }
        for source in [&self.aad, &self.key_id] {
            match source {
                Source::Field(pointer) => pointers.push(pointer),
                Source::Header(name) if name.is_empty() => {
                    return Err(ConfigError::new("envelope: a header name is empty"));
                }
                Source::Header(name) if !name.bytes().all(is_tchar) => {
                    return Err(ConfigError::new(format!(
                        "envelope: `{}` is not a header name",
                        name.escape_debug()
                    )));
                }
                _ => {}
            }
        }
        for pointer in &pointers {
            if !pointer.starts_with('/') {
                return Err(ConfigError::new(format!(
                    "envelope: `{pointer}` is not a JSON pointer to a field (it starts with `/`)"
                )));
            }
            // RFC 6901: `~` only as `~0` or `~1`. Then each field has one spelling, and the
            // pointers below can be compared as written.
            let mut rest: &str = pointer;
            while let Some(at) = rest.find('~') {
                rest = rest.get(at + 1..).unwrap_or_default();
                if !(rest.starts_with('0') || rest.starts_with('1')) {
                    return Err(ConfigError::new(format!(
                        "envelope: `{pointer}` has a `~` that is not `~0` or `~1` (RFC 6901)"
                    )));
                }
            }
        }
        // Each part in a field of its own: one pointer equal to or inside another would make
        // the sealer write one part over another, and no body would open.
        for (i, a) in pointers.iter().enumerate() {
            for b in pointers.iter().skip(i + 1) {
                let inside = |outer: &str, inner: &str| {
                    inner
                        .strip_prefix(outer)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                };
                if inside(a, b) || inside(b, a) {
                    return Err(ConfigError::new(format!(
                        "envelope: `{a}` and `{b}` overlap: each part needs a field of its own"
                    )));
                }
            }
        }
        if let (Source::Header(a), Source::Header(b)) = (&self.aad, &self.key_id)
            && a.eq_ignore_ascii_case(b)
        {
            return Err(ConfigError::new(format!(
                "envelope: header `{a}` cannot be both the associated data and the key id"
            )));
        }
        Ok(())
    }
}

/// Decrypts AES-256-GCM sealed bodies ([`Envelope`]), with a key ring for rotation.
///
/// Keys are 32 bytes; at most 8. A body whose envelope names a key id is opened
/// with that key only; one that names none is tried with every key that has not expired.
/// A body that cannot be opened — an unreadable envelope, a nonce that is not 12 bytes, no
/// key that authenticates the ciphertext — is a 400 `malformed_body` whose message names the
/// part at fault. A body naming a key id the ring does not hold was sealed, by an
/// authenticated sender, with a key it has and the receiver does not have yet (the sender
/// rotated first): 503 `key_unavailable` with `Retry-After: 60`, so that it is retried and
/// opened once the key is added. When every key has expired, the receiver is at fault: 500
/// `not_configured`. Decryption runs after authentication, on a body within the receiver's
/// limit, so its buffers are bounded by that limit. Neither `Debug` nor an error shows a key
/// or a byte of the body.
///
/// The decryptor keeps only the keys (zeroized on drop, as every [`Secret`](crate::Secret)).
/// The cipher state made from a key — the AES key schedule and the GHASH key — is made for
/// each body on the stack and dropped after it: the key schedule is zeroized then, but the
/// GHASH key cannot be (aes-gcm's GHASH, with a backend chosen at run time, has no zeroizing
/// drop), so no such state is kept for the decryptor's lifetime, as the HMAC verifiers keep
/// no keyed hash state.
///
/// ```
/// use webhook_core::{Aes256GcmDecryptor, Aes256GcmSealer, Decryptor, Envelope, Key, Secret};
/// use webhook_core::WebhookRequest;
/// let key = Key::new("2026-11", Secret::random(32));
/// let envelope = Envelope::base64().associated_data_header("webhook-id");
/// let sealed = Aes256GcmSealer::new(key.clone(), envelope.clone())?
///     .seal(br#"{"type":"ping"}"#, b"msg_1")?;
///
/// let decryptor = Aes256GcmDecryptor::new(key, envelope)?;
/// let request = WebhookRequest::new(&sealed).with_header("webhook-id", "msg_1");
/// assert_eq!(decryptor.decrypt(&request, 0)?, br#"{"type":"ping"}"#);
///
/// let moved = WebhookRequest::new(&sealed).with_header("webhook-id", "msg_2");
/// assert_eq!(decryptor.decrypt(&moved, 0).unwrap_err().status(), 400);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Aes256GcmDecryptor {
    ring: KeyRing,
    envelope: Envelope,
    content_type: Option<Cow<'static, str>>,
}

impl fmt::Debug for Aes256GcmDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aes256GcmDecryptor")
            .field("keys", &self.ring)
            .field("envelope", &self.envelope)
            .field("content_type", &self.content_type)
            .finish()
    }
}

fn cipher_for(key: &Key) -> Result<Aes256Gcm, ConfigError> {
    let bytes = key.secret().expose_secret();
    if bytes.len() != KEY_LEN {
        return Err(ConfigError::new(format!(
            "AES-256-GCM key `{}` has {} bytes: AES-256 keys are {KEY_LEN} bytes",
            key.id(),
            bytes.len()
        )));
    }
    Aes256Gcm::new_from_slice(bytes)
        .map_err(|_| ConfigError::new("AES-256-GCM: the key has the wrong length"))
}

impl Aes256GcmDecryptor {
    /// Decrypt `envelope`s with these keys (a [`Secret`](crate::Secret), a [`Key`] or a
    /// [`KeyRing`]).
    ///
    /// # Errors
    ///
    /// No key; more than 8; a key that is not 32 bytes; an envelope whose field options are
    /// set on a form without fields, whose pointer does not start with `/`, whose pointers
    /// overlap (one names another or a part of it), with an empty header name, or with one
    /// header for both the associated data and the key id.
    pub fn new(keys: impl Into<KeyRing>, envelope: Envelope) -> Result<Self, ConfigError> {
        let ring = keys.into();
        ring.ensure_not_empty()?;
        if ring.len() > MAX_KEYS {
            return Err(ConfigError::new(format!(
                "AES-256-GCM: {} keys, at most {MAX_KEYS} (each is tried on a body that names \
                 no key)",
                ring.len()
            )));
        }
        envelope.check()?;
        for key in ring.keys() {
            cipher_for(key)?;
        }
        Ok(Self {
            ring,
            envelope,
            content_type: Some(Cow::Borrowed("application/json")),
        })
    }

    /// The content type the plaintext is handed on with behind a layer or middleware
    /// (default `application/json`); see [`Decryptor::plaintext_content_type`].
    #[must_use]
    pub fn plaintext_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// What an envelope holds, read from the body and headers.
struct Opened<'a> {
    nonce: [u8; NONCE_LEN],
    /// `ciphertext ‖ tag`.
    sealed: Cow<'a, [u8]>,
    aad: Cow<'a, [u8]>,
    key_id: Option<Cow<'a, str>>,
}

/// How long a sender is asked to wait before retrying a body sealed with a key this receiver
/// does not have yet.
const UNKNOWN_KEY_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

fn malformed(message: impl Into<Cow<'static, str>>) -> VerifyError {
    VerifyError::new(VerifyErrorKind::MalformedBody).with_message(message)
}

fn base64_engine() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

fn nonce_of(bytes: &[u8]) -> Result<[u8; NONCE_LEN], VerifyError> {
    bytes.try_into().map_err(|_| {
        malformed(format!(
            "encrypted body: the nonce must be {NONCE_LEN} bytes"
        ))
    })
}

fn header_source<'a>(
    request: &WebhookRequest<'a>,
    name: &str,
    what: &str,
) -> Result<&'a [u8], VerifyError> {
    let mut values = request.header_values(name);
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        (None, _) => Err(malformed(format!(
            "encrypted body: header `{name}` ({what}) is missing"
        ))),
        (Some(_), Some(_)) => Err(malformed(format!(
            "encrypted body: header `{name}` ({what}) is repeated"
        ))),
    }
}

impl Envelope {
    fn open<'a>(&self, request: &WebhookRequest<'a>) -> Result<Opened<'a>, VerifyError> {
        let body = request.body();
        let mut opened = match &self.form {
            Form::Binary => split(Cow::Borrowed(body))?,
            Form::Base64 => {
                let text = body.trim_ascii();
                let decoded = base64_engine()
                    .decode(text)
                    .map_err(|_| malformed("encrypted body: the body is not base64"))?;
                split(Cow::Owned(decoded))?
            }
            Form::Json { ciphertext, nonce } => return self.open_json(request, ciphertext, nonce),
        };
        self.read_headers(request, &mut opened)?;
        Ok(opened)
    }

    fn read_headers<'a>(
        &self,
        request: &WebhookRequest<'a>,
        opened: &mut Opened<'a>,
    ) -> Result<(), VerifyError> {
        if let Source::Header(name) = &self.aad {
            opened.aad = Cow::Borrowed(header_source(request, name, "the associated data")?);
        }
        if let Source::Header(name) = &self.key_id {
            let id = header_source(request, name, "the key id")?;
            let id = std::str::from_utf8(id)
                .map_err(|_| malformed(format!("encrypted body: header `{name}` is not UTF-8")))?;
            opened.key_id = Some(Cow::Borrowed(id));
        }
        Ok(())
    }

    fn open_json<'a>(
        &self,
        request: &WebhookRequest<'a>,
        ciphertext: &str,
        nonce: &str,
    ) -> Result<Opened<'a>, VerifyError> {
        let value: Value = serde_json::from_slice(request.body())
            .map_err(|_| malformed("encrypted body: the envelope is not JSON"))?;
        let string = |pointer: &str| -> Result<Option<&str>, VerifyError> {
            match value.pointer(pointer) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(malformed(format!(
                    "encrypted body: `{pointer}` is not a string"
                ))),
            }
        };
        let required = |pointer: &str| -> Result<&str, VerifyError> {
            string(pointer)?
                .ok_or_else(|| malformed(format!("encrypted body: `{pointer}` is missing")))
        };
        let engine = base64_engine();
        let sealed = engine
            .decode(required(ciphertext)?)
            .map_err(|_| malformed(format!("encrypted body: `{ciphertext}` is not base64")))?;
        if sealed.len() < TAG_LEN {
            return Err(malformed(format!(
                "encrypted body: `{ciphertext}` is shorter than the {TAG_LEN}-byte tag"
            )));
        }
        let nonce_text = required(nonce)?;
        let nonce = if self.text_nonce {
            nonce_of(nonce_text.as_bytes())?
        } else {
            let bytes = engine
                .decode(nonce_text)
                .map_err(|_| malformed(format!("encrypted body: `{nonce}` is not base64")))?;
            nonce_of(&bytes)?
        };
        let mut opened = Opened {
            nonce,
            sealed: Cow::Owned(sealed),
            aad: Cow::Borrowed(b""),
            key_id: None,
        };
        if let Source::Field(pointer) = &self.aad {
            opened.aad = Cow::Owned(string(pointer)?.unwrap_or_default().as_bytes().to_vec());
        }
        if let Source::Field(pointer) = &self.key_id {
            opened.key_id = string(pointer)?.map(|id| Cow::Owned(id.to_owned()));
        }
        self.read_headers(request, &mut opened)?;
        Ok(opened)
    }
}

/// `nonce ‖ ciphertext ‖ tag` into its parts.
fn split(bytes: Cow<'_, [u8]>) -> Result<Opened<'_>, VerifyError> {
    let short = || {
        malformed(format!(
            "encrypted body: shorter than a {NONCE_LEN}-byte nonce and a {TAG_LEN}-byte tag"
        ))
    };
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return Err(short());
    }
    let nonce = nonce_of(bytes.get(..NONCE_LEN).ok_or_else(short)?)?;
    let sealed = match bytes {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(NONCE_LEN..).ok_or_else(short)?),
        Cow::Owned(mut b) => {
            b.drain(..NONCE_LEN);
            Cow::Owned(b)
        }
    };
    Ok(Opened {
        nonce,
        sealed,
        aad: Cow::Borrowed(b""),
        key_id: None,
    })
}

impl Decryptor for Aes256GcmDecryptor {
    fn decrypt(&self, request: &WebhookRequest<'_>, now_ms: i64) -> Result<Vec<u8>, VerifyError> {
        let opened = self.envelope.open(request)?;
        let short = || malformed("encrypted body: shorter than the 16-byte tag");
        let (ciphertext, tag) = opened
            .sealed
            .split_at_checked(opened.sealed.len().checked_sub(TAG_LEN).ok_or_else(short)?)
            .ok_or_else(short)?;
        let nonce = Nonce::from(opened.nonce);
        let tag = Tag::from(<[u8; TAG_LEN]>::try_from(tag).map_err(|_| short())?);
        let mut active = 0_usize;
        let mut named = false;
        let mut named_expired = false;
        // One buffer for every try: a failed try leaves it as it was (aes-gcm checks the tag
        // before it decrypts), and it is copied afresh anyway. On success the plaintext
        // leaves it for the handler, whose copies nothing wipes: the wrapper only clears
        // what a failed try left (ciphertext), not the plaintext.
        let mut buffer = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
        for key in self.ring.keys() {
            let is_named = opened.key_id.as_deref().is_none_or(|id| key.id() == id);
            if !key.is_active(now_ms) {
                named_expired |= is_named && opened.key_id.is_some();
                continue;
            }
            active += 1;
            if !is_named {
                continue;
            }
            named = true;
            // Validated at construction; a failure here would be a broken invariant.
            let Ok(cipher) = cipher_for(key) else {
                return Err(VerifyError::new(VerifyErrorKind::NotConfigured));
            };
            buffer.clear();
            buffer.extend_from_slice(ciphertext);
            if cipher
                .decrypt_in_place_detached(&nonce, &opened.aad, &mut buffer, &tag)
                .is_ok()
            {
                return Ok(std::mem::take(&mut *buffer));
            }
        }
        if active == 0 {
            return Err(every_key_expired(self.ring.len(), now_ms));
        }
        if !named && named_expired {
            return Err(malformed("encrypted body: the key it names has expired"));
        }
        if !named {
            // The body is authenticated: its sender sealed it with a key it has and this
            // receiver does not have yet (the sender rotated first). Retried, it is opened
            // once the key is added.
            return Err(VerifyError::new(VerifyErrorKind::KeyUnavailable)
                .with_message("encrypted body: it names a key this receiver does not have (yet)")
                .with_retry_after(UNKNOWN_KEY_RETRY));
        }
        Err(malformed(
            "encrypted body: no key decrypts it (wrong key, nonce, associated data or tampered)",
        ))
    }

    fn plaintext_content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
}

/// The sender's twin of [`Aes256GcmDecryptor`]: seals a plaintext in an [`Envelope`] with a
/// fresh random nonce, for tests and for apps that send sealed webhooks.
///
/// Nonces are 96 random bits, so one key should seal at most 2³² bodies (NIST SP 800-38D's
/// bound for random nonces): rotate the key well before that.
///
/// A key past its [expiry](Key::expires_at) seals nothing: the receiver would refuse the body,
/// so [`seal`](Self::seal) says so at once (the time is read from the system clock, or the one
/// given to [`with_clock`](Self::with_clock)).
///
/// A JSON envelope is written with the fields at its pointers (objects made along the way),
/// the key id at its key-id pointer and the associated data at its pointer; for header
/// sources, the caller sends the headers (the key id is [`Key::id`], the associated data the
/// argument to [`seal`](Self::seal)).
///
/// ```
/// use webhook_core::{Aes256GcmSealer, Envelope, Key, Secret};
/// let envelope = Envelope::json("/data/ciphertext", "/data/nonce").key_id_field("/data/key");
/// let sealer = Aes256GcmSealer::new(Key::new("k1", Secret::random(32)), envelope)?;
/// let body: serde_json::Value = serde_json::from_slice(&sealer.seal(b"{}", b"")?)?;
/// assert_eq!(body["data"]["key"], "k1");
/// assert!(body["data"]["ciphertext"].is_string());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Aes256GcmSealer {
    key: Key,
    envelope: Envelope,
    clock: SharedClock,
}

impl fmt::Debug for Aes256GcmSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aes256GcmSealer")
            .field("key", &self.key)
            .field("envelope", &self.envelope)
            .finish()
    }
}

impl Aes256GcmSealer {
    /// Seal with `key` (32 bytes) into `envelope`.
    ///
    /// # Errors
    ///
    /// A key that is not 32 bytes; an envelope [`Aes256GcmDecryptor::new`] refuses; a text
    /// nonce (it cannot be drawn at random with 96 bits of entropy, so this sealer does not
    /// write one).
    pub fn new(key: Key, envelope: Envelope) -> Result<Self, ConfigError> {
        envelope.check()?;
        if envelope.text_nonce {
            return Err(ConfigError::new(
                "Aes256GcmSealer: a text nonce is not written (it carries less than 96 bits)",
            ));
        }
        cipher_for(&key)?;
        Ok(Self {
            key,
            envelope,
            clock: clock::system(),
        })
    }

    /// Read the time from `clock` (tests) when checking the key's expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The body that carries `plaintext`, authenticated with `associated_data` (pass what the
    /// envelope's associated-data source will hold: the header's value, or the field's text;
    /// empty for none).
    ///
    /// # Errors
    ///
    /// A key past its expiry; associated data for an envelope that has no source for it; a
    /// plaintext beyond AES-GCM's limit (64 GiB); the OS's random source failing.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Vec<u8>, SignError> {
        if !self.key.is_active(self.clock.now_ms()) {
            // The receiver tries no expired key: the body would be refused there.
            return Err(SignError::new(format!(
                "AES-256-GCM: key `{}` has expired",
                self.key.id()
            )));
        }
        if self.envelope.aad == Source::None && !associated_data.is_empty() {
            // The receiver would authenticate none, and no key would open the body.
            return Err(SignError::new(
                "the envelope carries no associated data: seal with an empty one",
            ));
        }
        let mut nonce = [0_u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SignError::new("AES-256-GCM: the OS gave no random bytes for a nonce"))?;
        let mut buffer = Zeroizing::new(plaintext.to_vec());
        let cipher = cipher_for(&self.key)
            .map_err(|_| SignError::new("AES-256-GCM: the key is not 32 bytes"))?;
        let tag = cipher
            .encrypt_in_place_detached(&Nonce::from(nonce), associated_data, &mut buffer)
            .map_err(|_| SignError::new("AES-256-GCM: the plaintext is too long"))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + buffer.len() + TAG_LEN);
        match &self.envelope.form {
            Form::Binary | Form::Base64 => {
                sealed.extend_from_slice(&nonce);
                sealed.extend_from_slice(&buffer);
                sealed.extend_from_slice(&tag);
                if matches!(self.envelope.form, Form::Base64) {
                    sealed = base64::engine::general_purpose::STANDARD
                        .encode(&sealed)
                        .into_bytes();
                }
                Ok(sealed)
            }
            Form::Json {
                ciphertext,
                nonce: nonce_at,
            } => {
                sealed.extend_from_slice(&buffer);
                sealed.extend_from_slice(&tag);
                let b64 = base64::engine::general_purpose::STANDARD;
                let mut value = Value::Object(serde_json::Map::new());
                set(&mut value, ciphertext, Value::String(b64.encode(&sealed)))?;
                set(&mut value, nonce_at, Value::String(b64.encode(nonce)))?;
                if let Source::Field(pointer) = &self.envelope.aad {
                    let text = std::str::from_utf8(associated_data).map_err(|_| {
                        SignError::new("the associated data of a JSON field must be UTF-8")
                    })?;
                    set(&mut value, pointer, Value::String(text.to_owned()))?;
                }
                if let Source::Field(pointer) = &self.envelope.key_id {
                    set(&mut value, pointer, Value::String(self.key.id().to_owned()))?;
                }
                serde_json::to_vec(&value)
                    .map_err(|_| SignError::new("the envelope could not be written"))
            }
        }
    }
}

/// Put `new` at `pointer` in `value`, making objects along the way.
fn set(value: &mut Value, pointer: &str, new: Value) -> Result<(), SignError> {
    let mut at = value;
    let mut parts = pointer
        .strip_prefix('/')
        .unwrap_or(pointer)
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = at else {
            return Err(SignError::new(format!(
                "envelope: `{pointer}` crosses a field that is not an object"
            )));
        };
        if parts.peek().is_none() {
            map.insert(part, new);
            return Ok(());
        }
        at = map
            .entry(part)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    Ok(())
}

/// A `token` character (RFC 9110 §5.6.2): what a header name is made of.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn key(id: &'static str, byte: u8) -> Key {
        Key::new(id, Secret::from_bytes(vec![byte; KEY_LEN]).expect("key"))
    }

    #[test]
    fn refuses_bad_configurations() {
        let short = Key::new("short", Secret::from_bytes(vec![1; 16]).expect("key"));
        let e = Aes256GcmDecryptor::new(short, Envelope::binary()).unwrap_err();
        assert!(e.to_string().contains("32 bytes"), "{e}");
        let e = Aes256GcmDecryptor::new(key("a", 1), Envelope::base64().text_nonce()).unwrap_err();
        assert!(e.to_string().contains("JSON envelope"), "{e}");
        let e = Aes256GcmDecryptor::new(key("a", 1), Envelope::binary().key_id_field("/k"))
            .unwrap_err();
        assert!(e.to_string().contains("JSON envelope"), "{e}");
        let e = Aes256GcmDecryptor::new(key("a", 1), Envelope::json("ciphertext", "/nonce"))
            .unwrap_err();
        assert!(e.to_string().contains("JSON pointer"), "{e}");
        for envelope in [
            Envelope::json("/c", "/c"),
            Envelope::json("/a", "/a/n"),
            Envelope::json("/c", "/n").key_id_field("/c/k"),
            Envelope::json("/c", "/n")
                .associated_data_field("/x")
                .key_id_field("/x"),
            Envelope::binary()
                .associated_data_header("x-h")
                .key_id_header("X-H"),
        ] {
            let e = Aes256GcmDecryptor::new(key("a", 1), envelope).unwrap_err();
            assert!(
                e.to_string().contains("overlap") || e.to_string().contains("both"),
                "{e}"
            );
        }
        // Siblings that share a prefix of characters are distinct fields.
        assert!(Aes256GcmDecryptor::new(key("a", 1), Envelope::json("/c", "/cn")).is_ok());
        // A `~` is `~0` or `~1` only (RFC 6901): else `/~` and `/~0` would name one field
        // spelled two ways, past the overlap check.
        for envelope in [
            Envelope::json("/~", "/~0"),
            Envelope::json("/~2", "/~02"),
            Envelope::json("/c", "/n~"),
        ] {
            let e = Aes256GcmDecryptor::new(key("a", 1), envelope).unwrap_err();
            assert!(e.to_string().contains("RFC 6901"), "{e}");
        }
        assert!(Aes256GcmDecryptor::new(key("a", 1), Envelope::json("/a~1b", "/a~0b")).is_ok());
        let mut ring = KeyRing::new();
        for i in 0..=MAX_KEYS {
            ring.push(key("k", u8::try_from(i).expect("small")));
        }
        assert!(Aes256GcmDecryptor::new(ring, Envelope::binary()).is_err());
        assert!(Aes256GcmDecryptor::new(KeyRing::new(), Envelope::binary()).is_err());
        assert!(
            Aes256GcmSealer::new(key("a", 1), Envelope::json("/c", "/n").text_nonce()).is_err()
        );
        // Header names are header names: a space or a colon would make every body a 400.
        for name in ["webhook id", "x-key:", "x\u{e9}"] {
            for envelope in [
                Envelope::base64().associated_data_header(name),
                Envelope::base64().key_id_header(name),
            ] {
                let e = Aes256GcmDecryptor::new(key("a", 1), envelope).unwrap_err();
                assert!(e.to_string().contains("not a header name"), "{e}");
            }
        }
        assert!(
            Aes256GcmDecryptor::new(key("a", 1), Envelope::base64().key_id_header("X-Key-Id"))
                .is_ok()
        );
    }

    #[test]
    fn debug_shows_no_key() {
        let d = Aes256GcmDecryptor::new(key("k1", 0xAB), Envelope::binary()).expect("config");
        let s = Aes256GcmSealer::new(key("k1", 0xAB), Envelope::binary()).expect("config");
        for text in [format!("{d:?}"), format!("{s:?}")] {
            assert!(text.contains("k1"), "{text}");
            assert!(!text.to_lowercase().contains("abab"), "{text}");
            assert!(!text.contains("171"), "{text}");
        }
    }

    #[test]
    fn pointer_writes_nest_and_escape() {
        let mut v = Value::Object(serde_json::Map::new());
        set(&mut v, "/a/b~1c/d~0e", Value::from("x")).expect("set");
        assert_eq!(v["a"]["b/c"]["d~e"], "x");
        set(&mut v, "/a/b~1c/d~0e/f", Value::from("y")).unwrap_err();
    }
}
