//! Secrets and key rings.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{ConfigError, VerifyError, VerifyErrorKind};

/// Key material for a signature scheme or a credential check.
///
/// A `Secret` never prints (its `Debug` is redacted and it has no `Display` or `Serialize`),
/// cannot be compared with `==` (it has no `PartialEq`; verifiers compare in constant time),
/// and its bytes are zeroized when it is dropped. Empty or undecodable input is a
/// [`ConfigError`] at start-up, never a silent empty key.
///
/// # Examples
///
/// ```
/// use webhook_core::Secret;
///
/// // Text secrets (GitHub, Stripe, Slack, Shopify, Paddle…) are used as their UTF-8 bytes.
/// let github = Secret::from_text("It's a Secret to Everybody")?;
/// assert_eq!(github.len(), 26);
///
/// // Standard Webhooks / Svix secrets are base64 after a `whsec_` prefix.
/// let sw = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// assert_eq!(sw.len(), 24);
///
/// assert!(Secret::from_text("").is_err());
/// assert_eq!(format!("{github:?}"), "Secret(<redacted>)");
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
    /// Made by [`Secret::from_whsec`]: the base64 after `whsec_`, decoded. The Stripe preset
    /// (`provider::stripe::verifier`), keyed by the whole `whsec_…` text, refuses such a
    /// secret, which could never verify.
    whsec_decoded: bool,
}

impl Secret {
    /// A secret from raw bytes.
    ///
    /// # Errors
    ///
    /// Empty input.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(ConfigError::new("secret is empty"));
        }
        Ok(Self {
            bytes,
            whsec_decoded: false,
        })
    }

    /// A secret whose key bytes are the UTF-8 bytes of `text`, prefix included (GitHub,
    /// Stripe's `whsec_…`, Paddle's `pdl_ntfset_…`, Slack, Shopify…).
    ///
    /// Text that starts or ends with whitespace is refused: no provider's secret does, and
    /// a value that does (an environment variable filled by `echo`, with its newline) would
    /// sign every delivery with another key, each refused with 401 and nothing at start-up
    /// to say why. [`from_bytes`](Self::from_bytes) takes any bytes.
    ///
    /// ```
    /// use webhook_core::Secret;
    /// assert!(Secret::from_text("It's a Secret to Everybody").is_ok());
    /// assert!(Secret::from_text("s3cret\n").is_err());
    /// assert!(Secret::from_text("   ").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// Empty input, or input with leading or trailing whitespace.
    pub fn from_text(text: &str) -> Result<Self, ConfigError> {
        if text.trim() != text {
            return Err(ConfigError::new(
                "secret text starts or ends with whitespace (a newline from `echo`?): no \
                 provider's secret does; remove it",
            ));
        }
        Self::from_bytes(text.as_bytes().to_vec())
    }

    /// A secret given in base64: standard or URL-safe alphabet, padded or not.
    ///
    /// # Errors
    ///
    /// Empty input, or input that is not base64.
    pub fn from_base64(text: &str) -> Result<Self, ConfigError> {
        let decoded = decode_base64_key(text.trim())
            .ok_or_else(|| ConfigError::new("secret is not valid base64"))?;
        if decoded.is_empty() {
            return Err(ConfigError::new("secret is empty"));
        }
        Ok(Self {
            bytes: decoded,
            whsec_decoded: false,
        })
    }

    /// A secret given in hexadecimal.
    ///
    /// # Errors
    ///
    /// Empty input, or input that is not hex.
    pub fn from_hex(text: &str) -> Result<Self, ConfigError> {
        let decoded =
            hex::decode(text.trim()).map_err(|_| ConfigError::new("secret is not valid hex"))?;
        Self::from_bytes(decoded)
    }

    /// A Standard Webhooks / Svix secret: base64 with an optional `whsec_` prefix. The key is
    /// the decoded bytes.
    ///
    /// # Errors
    ///
    /// Empty input, or a body after the prefix that is not base64.
    pub fn from_whsec(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let body = text.strip_prefix("whsec_").unwrap_or(text);
        let mut secret = Self::from_base64(body)
            .map_err(|_| ConfigError::new("secret is not a valid `whsec_` base64 secret"))?;
        secret.whsec_decoded = true;
        Ok(secret)
    }

    /// Whether [`from_whsec`](Self::from_whsec) (or [`from_env_whsec`](Self::from_env_whsec))
    /// made this secret.
    pub(crate) fn is_whsec_decoded(&self) -> bool {
        self.whsec_decoded
    }

    /// A text secret from an environment variable.
    ///
    /// # Errors
    ///
    /// The variable is unset, not Unicode, empty, or starts or ends with whitespace (see
    /// [`from_text`](Self::from_text)); the message names the variable.
    pub fn from_env(var: &str) -> Result<Self, ConfigError> {
        Self::from_env_with(var, Self::from_text)
    }

    /// A `whsec_` secret from an environment variable.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env), or the value is not a valid `whsec_` secret.
    pub fn from_env_whsec(var: &str) -> Result<Self, ConfigError> {
        Self::from_env_with(var, Self::from_whsec)
    }

    /// A secret from an environment variable, decoded by `decode` (e.g.
    /// [`Secret::from_base64`]).
    ///
    /// # Errors
    ///
    /// The variable is unset, not Unicode, or `decode` fails; the message names the variable.
    pub fn from_env_with(
        var: &str,
        decode: impl FnOnce(&str) -> Result<Self, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let value = env_var(var)?;
        decode(&value).map_err(|e| ConfigError::new(format!("environment variable `{var}`: {e}")))
    }

    /// A text secret read from a file (for mounted secrets); one trailing newline is removed.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not UTF-8, or is empty or starts or ends with whitespace
    /// once its one trailing newline is removed; the message names the path.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(format!("secret file `{}`: {e}", path.display())).with_source(e)
        })?);
        let trimmed = text.strip_suffix('\n').unwrap_or(&text);
        let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
        Self::from_text(trimmed)
            .map_err(|e| ConfigError::new(format!("secret file `{}`: {e}", path.display())))
    }

    /// A fresh random secret of `len` bytes (at least 1) from the operating system's RNG.
    #[must_use]
    pub fn random(len: usize) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; len.max(1)]);
        OsRng.fill_bytes(&mut bytes);
        Self {
            bytes,
            whsec_decoded: false,
        }
    }

    /// The key bytes. Handle with care: never log them.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes
    }

    /// The secret in base64 (standard, padded). For printing a freshly generated secret once at
    /// set-up; never log it afterwards.
    #[must_use]
    pub fn expose_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(&*self.bytes))
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: a `Secret` is never empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// The value of an environment variable holding a secret or key. The error names the
/// variable and says what is wrong with it, never its value (the standard library's
/// `VarError::NotUnicode` prints the value, so it is neither shown nor kept as a source).
pub(crate) fn env_var(var: &str) -> Result<Zeroizing<String>, ConfigError> {
    match std::env::var(var) {
        Ok(value) => Ok(Zeroizing::new(value)),
        Err(std::env::VarError::NotPresent) => Err(ConfigError::new(format!(
            "environment variable `{var}` is not set"
        ))),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::new(format!(
            "environment variable `{var}` is not valid unicode"
        ))),
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One key of a [`KeyRing`]: an id (reported in the proof when it matches, never secret), the
/// secret, and an optional expiry after which it is no longer accepted.
#[derive(Clone)]
pub struct Key {
    id: Cow<'static, str>,
    secret: Secret,
    expires_at_ms: Option<i64>,
}

impl Key {
    /// A key that does not expire.
    #[must_use]
    pub fn new(id: impl Into<Cow<'static, str>>, secret: Secret) -> Self {
        Self {
            id: id.into(),
            secret,
            expires_at_ms: None,
        }
    }

    /// Stop accepting this key from `at` on.
    #[must_use]
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        let ms = match at.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(_) => 0,
        };
        self.expires_at_ms = Some(ms);
        self
    }

    /// The same key (id and expiry) with another secret.
    #[must_use]
    pub fn with_secret(&self, secret: Secret) -> Self {
        Self {
            id: self.id.clone(),
            secret,
            expires_at_ms: self.expires_at_ms,
        }
    }

    /// The key id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn id_cow(&self) -> Cow<'static, str> {
        self.id.clone()
    }

    /// The secret.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    pub(crate) fn is_active(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|exp| now_ms < exp)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("secret", &self.secret)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// Several secrets accepted at once, for rotation without downtime: add the new secret, move
/// senders over, then let the old one expire.
///
/// Every active key is tried against every signature in a request; expired keys are skipped.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use webhook_core::{Key, KeyRing, Secret};
///
/// let ring = KeyRing::new()
///     .with(Key::new("2026-11", Secret::from_text("new secret")?))
///     .with(
///         Key::new("2026-05", Secret::from_text("old secret")?)
///             .expires_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
///     );
/// assert_eq!(ring.len(), 2);
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    /// An empty ring; add keys with [`with`](Self::with). A verifier refuses to build with an
    /// empty ring.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a key.
    #[must_use]
    pub fn with(mut self, key: Key) -> Self {
        self.keys.push(key);
        self
    }

    /// Add a key in place.
    pub fn push(&mut self, key: Key) {
        self.keys.push(key);
    }

    /// Number of keys, active or not.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every key, active or not.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// The keys still active at `now_ms` (Unix milliseconds).
    ///
    /// # Errors
    ///
    /// [`every_key_expired`] when none is.
    pub(crate) fn active(&self, now_ms: i64) -> Result<impl Iterator<Item = &Key>, VerifyError> {
        if !self.keys.iter().any(|k| k.is_active(now_ms)) {
            return Err(every_key_expired(self.keys.len(), now_ms));
        }
        Ok(self.keys.iter().filter(move |k| k.is_active(now_ms)))
    }

    pub(crate) fn ensure_not_empty(&self) -> Result<(), ConfigError> {
        if self.keys.is_empty() {
            Err(ConfigError::new("key ring is empty"))
        } else {
            Ok(())
        }
    }
}

/// A verifier whose every key has expired: the receiver's fault, not the sender's. A 401
/// would tell senders their signatures are wrong (and get the endpoint disabled); this is
/// 500 `not_configured` until a current key is configured. Logged at most once a minute of
/// the verifier's clock (each refused delivery is logged by the pipeline anyway; a flood
/// must not multiply it).
pub(crate) fn every_key_expired(keys: usize, now_ms: i64) -> VerifyError {
    // One throttle for the process: a minute apart by the verifier's clock, in either
    // direction (a clock behind the last log, injected or stepped back, still logs).
    static LAST_LOGGED_SECS: AtomicI64 = AtomicI64::new(i64::MIN);
    let now = now_ms / 1000;
    let last = LAST_LOGGED_SECS.load(Ordering::Relaxed);
    if now.abs_diff(last) >= 60
        && LAST_LOGGED_SECS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::error!(
            keys,
            "every key of a verifier has expired: it refuses deliveries until a current key is \
             configured"
        );
    }
    VerifyError::new(VerifyErrorKind::NotConfigured)
}

impl From<Secret> for KeyRing {
    fn from(secret: Secret) -> Self {
        Self::new().with(Key::new("default", secret))
    }
}

impl From<Key> for KeyRing {
    fn from(key: Key) -> Self {
        Self::new().with(key)
    }
}

/// The keys of a rotation, named: `github::verifier([new, old])`.
///
/// ```
/// use webhook_core::{Key, KeyRing, Secret, provider::github};
///
/// let new = Key::new("2026-11", Secret::from_text("new secret")?);
/// let old = Key::new("2026-05", Secret::from_text("old secret")?);
/// let verifier = github::verifier([new.clone(), old.clone()])?;
/// # let _ = verifier;
/// assert_eq!(KeyRing::from(vec![new.clone(), old.clone()]).len(), 2);
/// assert_eq!([new, old].into_iter().collect::<KeyRing>().len(), 2);
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
impl<const N: usize> From<[Key; N]> for KeyRing {
    fn from(keys: [Key; N]) -> Self {
        keys.into_iter().collect()
    }
}

impl From<Vec<Key>> for KeyRing {
    fn from(keys: Vec<Key>) -> Self {
        Self { keys }
    }
}

impl FromIterator<Key> for KeyRing {
    fn from_iter<I: IntoIterator<Item = Key>>(keys: I) -> Self {
        Self {
            keys: keys.into_iter().collect(),
        }
    }
}

impl Extend<Key> for KeyRing {
    fn extend<I: IntoIterator<Item = Key>>(&mut self, keys: I) {
        self.keys.extend(keys);
    }
}

/// Decode key material written in base64, standard or URL-safe alphabet, padded or not. The
/// alphabet and padding are read off the text, and the bytes are decoded once, into a buffer
/// that is zeroized when dropped, failure included (no partly decoded copy is left behind).
pub(crate) fn decode_base64_key(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let url_safe = text.contains(['-', '_']);
    let padded = text.len().is_multiple_of(4);
    let engine = match (url_safe, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    let mut buffer = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(text.len())]);
    let len = engine.decode_slice(text, buffer.as_mut_slice()).ok()?;
    buffer.truncate(len);
    Some(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One decoder, chosen by the text's alphabet and padding, reads every base64 form a key
    /// is written in; a text that mixes alphabets or pads wrongly is refused.
    #[test]
    fn base64_keys_in_every_form_decode_once() {
        let key: Vec<u8> = (0u8..=255).step_by(7).collect();
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let text = engine.encode(&key);
            assert_eq!(decode_base64_key(&text).unwrap().as_slice(), key, "{text}");
            assert_eq!(Secret::from_base64(&text).unwrap().expose_secret(), key);
        }
        for bad in ["ab+-cd==", "ab=c", "a", "ab==cd", "@@@@", "YQ="] {
            assert!(decode_base64_key(bad).is_none(), "{bad}");
        }
        assert_eq!(decode_base64_key("YQ").unwrap().as_slice(), b"a");
        assert_eq!(decode_base64_key("YQ==").unwrap().as_slice(), b"a");
        assert!(Secret::from_base64("").is_err());
    }

    #[test]
    fn rejects_empty_and_bad_encodings() {
        assert!(Secret::from_bytes(Vec::new()).is_err());
        assert!(Secret::from_text("").is_err());
        assert!(Secret::from_base64("not base64!!").is_err());
        assert!(Secret::from_hex("zz").is_err());
        assert!(Secret::from_whsec("whsec_").is_err());
        assert!(Secret::from_whsec("whsec_***").is_err());
    }

    #[test]
    fn whsec_accepts_unpadded_and_bare() {
        let a = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let b = Secret::from_whsec("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        // 25 bytes → base64 needs padding; accept it without.
        let c = Secret::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(c.len(), 25);
    }

    #[test]
    fn env_and_file_errors_name_the_source_not_the_value() {
        let err = Secret::from_env("WEBHOOK_TEST_SURELY_UNSET_VAR").unwrap_err();
        assert!(err.to_string().contains("WEBHOOK_TEST_SURELY_UNSET_VAR"));
        let err = Secret::from_file("/nonexistent/secret").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/secret"));
    }

    #[test]
    fn file_trims_one_newline() {
        let dir = std::env::temp_dir().join(format!("webhook-secret-{}", std::process::id()));
        std::fs::write(&dir, "abc\n").unwrap();
        assert_eq!(Secret::from_file(&dir).unwrap().expose_secret(), b"abc");
        std::fs::write(&dir, "\n").unwrap();
        assert!(Secret::from_file(&dir).is_err());
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from_text("hunter2-very-secret").unwrap();
        let key = Key::new("k1", s.clone());
        let ring = KeyRing::from(key.clone());
        for text in [format!("{s:?}"), format!("{key:?}"), format!("{ring:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn expiry() {
        let key = Key::new("k", Secret::random(8))
            .expires_at(UNIX_EPOCH + std::time::Duration::from_millis(1000));
        assert!(key.is_active(999));
        assert!(!key.is_active(1000));
        let ring = KeyRing::from(key);
        assert_eq!(ring.active(999).map(Iterator::count).ok(), Some(1));
        let error = ring.active(5000).err().unwrap();
        assert_eq!(error.kind(), VerifyErrorKind::NotConfigured);
        assert_eq!(error.status(), 500);
    }
}
