//! Static credentials: an API key in a header ([`ApiKey`]) and HTTP Basic ([`BasicAuth`]),
//! each with its signer twin ([`ApiKeySigner`], [`BasicAuthSigner`]).
//!
//! Both verifiers compare in constant time against *every* configured credential (no early
//! exit on the first match), and compare SHA-256 digests of both sides so that neither the
//! length of a key nor the position of the first wrong byte leaks through timing.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::clock::{self, SharedClock};
use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::request::WebhookRequest;
use crate::secret::{Key, KeyRing, Secret};
use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::verify::{Proof, Verifier};

/// Longest `Authorization` (or API key) header accepted, in bytes. Real credentials are far
/// shorter; anything longer is rejected before it is decoded.
pub(crate) const MAX_CREDENTIAL_HEADER: usize = 4 * 1024;

/// The default realm of `WWW-Authenticate` challenges.
pub(crate) const DEFAULT_REALM: &str = "webhook";

/// The header that carries Basic and Bearer credentials.
pub(crate) const AUTHORIZATION: &str = "authorization";

/// The credentials of `scheme` in the one `Authorization` header.
///
/// `Ok(None)` when there is no `Authorization` header or it names another scheme; the scheme
/// word is matched case-insensitively. `Err` with a client-safe reason when the header is
/// repeated or longer than `max_len`. The credentials are returned trimmed, possibly empty.
pub(crate) fn authorization_credentials<'a>(
    request: &WebhookRequest<'a>,
    scheme: &str,
    max_len: usize,
) -> Result<Option<&'a [u8]>, &'static str> {
    let mut values = request.header_values(AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("repeated `authorization` header");
    }
    if value.len() > max_len {
        return Err("`authorization` header is too long");
    }
    let value = value.trim_ascii();
    let (word, rest) = match value.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(at) => (
            value.get(..at).unwrap_or_default(),
            value.get(at..).unwrap_or_default(),
        ),
        None => (value, &[][..]),
    };
    if !word.eq_ignore_ascii_case(scheme.as_bytes()) {
        return Ok(None);
    }
    Ok(Some(rest.trim_ascii()))
}

/// A `realm="…"` quoted string: `"` and `\` escaped, control characters dropped, other
/// characters beyond ASCII written `?`.
pub(crate) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            // A header value every framework sends as it is: visible ASCII (a framework may
            // drop a header with other bytes, and then the challenge is lost).
            c if !c.is_ascii() => out.push('?'),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// SHA-256 of `bytes`, for length-independent constant-time comparison.
fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Constant-time search of `candidates` for one whose `check` holds, visiting every candidate.
/// Returns the index of the first match.
fn select_match<T>(candidates: &[T], mut check: impl FnMut(&T) -> Choice) -> Option<usize> {
    let mut found = Choice::from(0u8);
    let mut index = 0u64;
    for (i, candidate) in candidates.iter().enumerate() {
        let hit = check(candidate);
        let i = u64::try_from(i).unwrap_or(u64::MAX);
        index.conditional_assign(&i, hit & !found);
        found |= hit;
    }
    if bool::from(found) {
        usize::try_from(index).ok()
    } else {
        None
    }
}

/// Whether a configured API key can travel in a header as is: visible ASCII, no spaces.
fn is_header_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| (0x21..0x7f).contains(b))
}

/// Whether `name` is a valid header field name (an RFC 9110 token).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Verifies a static API key or token sent in a header, e.g. `X-Api-Key: …`, or as
/// `Authorization: Bearer <token>` with [`ApiKey::bearer`].
///
/// Several keys may be accepted at once, for rotation; a [`KeyRing`] adds ids and expiry.
/// The presented value (trimmed of surrounding whitespace) is compared with every active key
/// in constant time, through SHA-256 digests so the key length does not leak either.
///
/// Outcomes:
/// - Succeeds with a [`Proof`] of scheme `api-key` and the id of the key that matched
///   (`key-0`, `key-1`… for keys given by [`ApiKey::new`]).
/// - Rejects with 401 `MissingCredentials` when the header is absent (for the bearer form: no
///   `Authorization` header, or one of another scheme), with `WWW-Authenticate: Bearer
///   realm="webhook"` for the bearer form.
/// - Rejects with 401 `InvalidCredentials` when the key is not accepted, the header is
///   repeated, empty or longer than 4 KiB.
///
/// A static key proves who sent a request but not that the body is unaltered, nor when it was
/// sent: use it over HTTPS, with a replay store keyed on an id in the body.
///
/// # Examples
///
/// ```
/// use webhook_core::{ApiKey, Secret, Verifier, VerifyErrorKind, WebhookRequest};
///
/// let verifier = ApiKey::new(
///     "x-api-key",
///     [Secret::from_text("new-key-2026")?, Secret::from_text("old-key-2025")?],
/// )?;
///
/// let request = WebhookRequest::new(b"{}").with_header("X-Api-Key", "old-key-2025");
/// let proof = verifier.verify(&request).unwrap();
/// assert_eq!((proof.scheme(), proof.key_id()), ("api-key", Some("key-1")));
///
/// let wrong = WebhookRequest::new(b"{}").with_header("X-Api-Key", "guess");
/// assert_eq!(verifier.verify(&wrong).unwrap_err().kind(), VerifyErrorKind::InvalidCredentials);
/// let none = WebhookRequest::new(b"{}");
/// assert_eq!(verifier.verify(&none).unwrap_err().kind(), VerifyErrorKind::MissingCredentials);
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ApiKey {
    header: Cow<'static, str>,
    bearer: bool,
    keys: Vec<Key>,
    clock: SharedClock,
}

impl ApiKey {
    /// Accept any of `keys` in the header `header_name` (matched case-insensitively). The keys
    /// get the ids `key-0`, `key-1`… in order.
    ///
    /// # Errors
    ///
    /// No key, an invalid header name, or a key that is not visible ASCII without spaces (it
    /// could never arrive intact in a header).
    pub fn new(
        header_name: impl Into<Cow<'static, str>>,
        keys: impl IntoIterator<Item = Secret>,
    ) -> Result<Self, ConfigError> {
        Self::with_key_ring(header_name, numbered(keys))
    }

    /// Accept the active keys of a [`KeyRing`] in the header `header_name`; the proof reports
    /// the id of the key that matched, and expired keys are refused.
    ///
    /// # Errors
    ///
    /// As [`ApiKey::new`].
    pub fn with_key_ring(
        header_name: impl Into<Cow<'static, str>>,
        keys: impl Into<KeyRing>,
    ) -> Result<Self, ConfigError> {
        let header = header_name.into();
        if !is_header_name(&header) {
            return Err(ConfigError::new(format!(
                "api key header name `{}` is not a valid header name",
                header.escape_debug()
            )));
        }
        Self::build(header, false, keys.into())
    }

    /// Accept any of `keys` as a bearer token: `Authorization: Bearer <key>` (the scheme word
    /// is matched case-insensitively). The keys get the ids `key-0`, `key-1`… in order.
    ///
    /// # Errors
    ///
    /// No key, or a key that is not visible ASCII without spaces.
    pub fn bearer(keys: impl IntoIterator<Item = Secret>) -> Result<Self, ConfigError> {
        Self::bearer_with_key_ring(numbered(keys))
    }

    /// Accept the active keys of a [`KeyRing`] as bearer tokens.
    ///
    /// # Errors
    ///
    /// As [`ApiKey::bearer`].
    pub fn bearer_with_key_ring(keys: impl Into<KeyRing>) -> Result<Self, ConfigError> {
        Self::build(Cow::Borrowed(AUTHORIZATION), true, keys.into())
    }

    fn build(header: Cow<'static, str>, bearer: bool, ring: KeyRing) -> Result<Self, ConfigError> {
        ring.ensure_not_empty()?;
        for key in ring.keys() {
            if !is_header_token(key.secret().expose_secret()) {
                return Err(ConfigError::new(format!(
                    "api key `{}` is not visible ascii without spaces",
                    key.id()
                )));
            }
        }
        Ok(Self {
            header,
            bearer,
            keys: ring.keys().cloned().collect(),
            clock: clock::system(),
        })
    }

    /// Read "now" from this clock when checking key expiry (see [`Key::expires_at`]).
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The header the key is read from (`authorization` for the bearer form).
    #[must_use]
    pub fn header_name(&self) -> &str {
        &self.header
    }

    fn missing(&self) -> VerifyError {
        let err = VerifyError::new(VerifyErrorKind::MissingCredentials);
        if self.bearer {
            err.with_message("missing bearer token in header `authorization`")
                .with_www_authenticate(format!("Bearer realm={}", quoted(DEFAULT_REALM)))
        } else {
            err.with_message(format!("missing api key in header `{}`", self.header))
        }
    }

    fn invalid(&self, why: &str) -> VerifyError {
        let err = VerifyError::new(VerifyErrorKind::InvalidCredentials)
            .with_message(format!("{why} in header `{}`", self.header));
        if self.bearer {
            err.with_www_authenticate(format!(
                "Bearer realm={}, error=\"invalid_token\"",
                quoted(DEFAULT_REALM)
            ))
        } else {
            err
        }
    }

    /// The presented key, or the reason there is none.
    fn presented<'a>(&self, request: &WebhookRequest<'a>) -> Result<&'a [u8], VerifyError> {
        if self.bearer {
            return match authorization_credentials(request, "Bearer", MAX_CREDENTIAL_HEADER) {
                Ok(Some(token)) => Ok(token),
                Ok(None) => Err(self.missing()),
                Err(why) => Err(VerifyError::new(VerifyErrorKind::InvalidCredentials)
                    .with_message(why)
                    .with_www_authenticate(format!(
                        "Bearer realm={}, error=\"invalid_token\"",
                        quoted(DEFAULT_REALM)
                    ))),
            };
        }
        let mut values = request.header_values(&self.header);
        let value = values.next().ok_or_else(|| self.missing())?;
        if values.next().is_some() {
            return Err(self.invalid("repeated api key"));
        }
        if value.len() > MAX_CREDENTIAL_HEADER {
            return Err(self.invalid("api key too long"));
        }
        Ok(value.trim_ascii())
    }
}

/// Secrets numbered `key-0`, `key-1`… as a ring.
fn numbered(keys: impl IntoIterator<Item = Secret>) -> KeyRing {
    keys.into_iter()
        .enumerate()
        .fold(KeyRing::new(), |ring, (i, secret)| {
            ring.with(Key::new(format!("key-{i}"), secret))
        })
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("header", &self.header)
            .field("bearer", &self.bearer)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Verifier for ApiKey {
    fn signs_url(&self) -> bool {
        false
    }

    /// A store has nothing per delivery to refuse a copy by (unless the event declares an
    /// id): not required.
    fn requires_replay_store(&self) -> bool {
        false
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let presented = self.presented(request)?;
        if presented.is_empty() {
            return Err(self.invalid("empty api key"));
        }
        let presented = digest(presented);
        let now = self.clock.now_ms();
        if !self.keys.iter().any(|key| key.is_active(now)) {
            return Err(crate::secret::every_key_expired(self.keys.len(), now));
        }
        let matched = select_match(&self.keys, |key| {
            let active = Choice::from(u8::from(key.is_active(now)));
            digest(key.secret().expose_secret()).ct_eq(&presented) & active
        });
        let key = matched
            .and_then(|i| self.keys.get(i))
            .ok_or_else(|| self.invalid("api key not accepted"))?;
        Ok(Proof::new("api-key").with_key_id(key.id()))
    }
}

/// Sends a static API key the way a real sender does: in a header of its own, or as
/// `Authorization: Bearer <key>`. The twin of [`ApiKey`].
///
/// # Examples
///
/// ```
/// use webhook_core::{ApiKey, ApiKeySigner, Outgoing, Secret, Signer, Verifier, WebhookRequest};
///
/// let key = Secret::from_text("k-2026")?;
/// let headers = ApiKeySigner::bearer(key.clone()).sign(&Outgoing::new(b"{}")).unwrap();
/// assert_eq!(headers.get("authorization"), Some("Bearer k-2026"));
/// let request = headers.apply(WebhookRequest::new(b"{}"));
/// assert!(ApiKey::bearer([key])?.verify(&request).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ApiKeySigner {
    header: Cow<'static, str>,
    bearer: bool,
    key: Secret,
}

impl ApiKeySigner {
    /// Send `key` in the header `header_name`.
    #[must_use]
    pub fn new(header_name: impl Into<Cow<'static, str>>, key: Secret) -> Self {
        Self {
            header: header_name.into(),
            bearer: false,
            key,
        }
    }

    /// Send `key` as `Authorization: Bearer <key>`.
    #[must_use]
    pub fn bearer(key: Secret) -> Self {
        Self {
            header: Cow::Borrowed("Authorization"),
            bearer: true,
            key,
        }
    }
}

impl fmt::Debug for ApiKeySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeySigner")
            .field("header", &self.header)
            .field("bearer", &self.bearer)
            .field("key", &self.key)
            .finish()
    }
}

impl Signer for ApiKeySigner {
    fn sign(&self, _message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        let key = self.key.expose_secret();
        if !is_header_token(key) {
            return Err(SignError::new(
                "api key is not visible ascii without spaces",
            ));
        }
        let key = std::str::from_utf8(key)
            .map_err(|_| SignError::new("api key is not visible ascii without spaces"))?;
        let mut headers = SignedHeaders::new();
        if self.bearer {
            headers.push(self.header.clone(), format!("Bearer {key}"));
        } else {
            headers.push(self.header.clone(), key);
        }
        Ok(headers)
    }
}

/// One accepted Basic credential.
#[derive(Clone)]
struct Credential {
    user: String,
    password: Secret,
}

/// Verifies HTTP Basic authentication (`Authorization: Basic base64(user:password)`, RFC
/// 7617) against a list of credentials, several at once for rotation.
///
/// The header is parsed without panics on any input: the scheme word is case-insensitive,
/// the header is bounded to 4 KiB, the decoded credentials must be UTF-8 and contain a `:`.
/// Every configured credential is compared, user name and password both, in constant time
/// through SHA-256 digests.
///
/// Outcomes:
/// - Succeeds with a [`Proof`] of scheme `basic` whose subject is the user name.
/// - Rejects with 401 `MissingCredentials` when there is no `Authorization` header or it names
///   another scheme.
/// - Rejects with 401 `InvalidCredentials` when the credentials are malformed (`Basic` alone,
///   bad base64, no colon, not UTF-8, too long, repeated header) or not accepted.
///
/// Every rejection carries `WWW-Authenticate: Basic realm="webhook", charset="UTF-8"` (realm
/// set with [`BasicAuth::realm`]).
///
/// # Examples
///
/// ```
/// use webhook_core::{BasicAuth, Secret, Verifier, VerifyErrorKind, WebhookRequest};
///
/// // "sender:s3cret" and a second credential, e.g. from `BASIC_AUTH=sender:s3cret,old:pw`.
/// let verifier = BasicAuth::from_list("sender:s3cret,old:pw")?.realm("payments");
///
/// let request = WebhookRequest::new(b"{}")
///     .with_header("Authorization", "Basic c2VuZGVyOnMzY3JldA==");
/// assert_eq!(verifier.verify(&request).unwrap().subject(), Some("sender"));
///
/// let err = verifier.verify(&WebhookRequest::new(b"{}")).unwrap_err();
/// assert_eq!(err.kind(), VerifyErrorKind::MissingCredentials);
/// assert_eq!(err.www_authenticate(), Some(r#"Basic realm="payments", charset="UTF-8""#));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct BasicAuth {
    credentials: Vec<Credential>,
    challenge: String,
}

impl BasicAuth {
    /// Accept any of these `(user, password)` pairs.
    ///
    /// # Errors
    ///
    /// No credential; an empty user name, or one containing `:` or control characters; a
    /// password that is not UTF-8 (it could never be presented).
    pub fn new<U: Into<String>>(
        credentials: impl IntoIterator<Item = (U, Secret)>,
    ) -> Result<Self, ConfigError> {
        let mut list = Vec::new();
        for (i, (user, password)) in credentials.into_iter().enumerate() {
            let user = user.into();
            let n = i + 1;
            if user.is_empty() {
                return Err(ConfigError::new(format!(
                    "basic auth credential {n}: empty user name"
                )));
            }
            if user.contains(':') || user.chars().any(char::is_control) {
                return Err(ConfigError::new(format!(
                    "basic auth credential {n}: user name contains `:` or a control character"
                )));
            }
            if std::str::from_utf8(password.expose_secret()).is_err() {
                return Err(ConfigError::new(format!(
                    "basic auth credential {n}: password is not UTF-8"
                )));
            }
            list.push(Credential { user, password });
        }
        if list.is_empty() {
            return Err(ConfigError::new("basic auth has no credentials"));
        }
        Ok(Self {
            credentials: list,
            challenge: challenge(DEFAULT_REALM),
        })
    }

    /// Credentials from a list `user:password,user2:password2` (the form of a `BASIC_AUTH`
    /// environment variable). The user name ends at the first `:`; a password may contain `:`
    /// but not `,`. Surrounding whitespace of each entry is ignored.
    ///
    /// # Errors
    ///
    /// An empty list, an entry without `:`, an empty user name or password; messages give the
    /// entry's position, never its text.
    pub fn from_list(list: &str) -> Result<Self, ConfigError> {
        let mut credentials = Vec::new();
        for (i, entry) in list.split(',').enumerate() {
            let n = i + 1;
            let entry = entry.trim();
            let Some((user, password)) = entry.split_once(':') else {
                return Err(ConfigError::new(format!(
                    "basic auth entry {n} is not `user:password`"
                )));
            };
            if user.is_empty() {
                return Err(ConfigError::new(format!(
                    "basic auth entry {n}: empty user name"
                )));
            }
            let password = Secret::from_text(password).map_err(|_| {
                ConfigError::new(format!(
                    "basic auth entry {n}: the password is empty, or starts or ends with \
                     whitespace"
                ))
            })?;
            credentials.push((user.to_owned(), password));
        }
        Self::new(credentials)
    }

    /// Credentials from an environment variable holding a list as for
    /// [`from_list`](Self::from_list), e.g. `BASIC_AUTH`.
    ///
    /// # Errors
    ///
    /// The variable is unset or not Unicode, or its list is invalid; the message names the
    /// variable, never its value.
    pub fn from_env(var: &str) -> Result<Self, ConfigError> {
        let value = crate::secret::env_var(var)?;
        Self::from_list(&value)
            .map_err(|e| ConfigError::new(format!("environment variable `{var}`: {e}")))
    }

    /// The realm named in the `WWW-Authenticate` challenge (default `webhook`). Quotes and
    /// backslashes are escaped, control characters dropped, characters beyond ASCII written
    /// `?` (a header value every framework sends unchanged).
    #[must_use]
    pub fn realm(mut self, realm: &str) -> Self {
        self.challenge = challenge(realm);
        self
    }

    /// The `WWW-Authenticate` challenge every rejection carries.
    #[must_use]
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    fn reject(&self, kind: VerifyErrorKind, message: &'static str) -> VerifyError {
        VerifyError::new(kind)
            .with_message(message)
            .with_www_authenticate(self.challenge.clone())
    }

    fn invalid(&self, message: &'static str) -> VerifyError {
        self.reject(VerifyErrorKind::InvalidCredentials, message)
    }
}

fn challenge(realm: &str) -> String {
    format!("Basic realm={}, charset=\"UTF-8\"", quoted(realm))
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("credentials", &self.credentials.len())
            .field("challenge", &self.challenge)
            .finish()
    }
}

impl Verifier for BasicAuth {
    fn signs_url(&self) -> bool {
        false
    }

    /// As for [`ApiKey`]: not required.
    fn requires_replay_store(&self) -> bool {
        false
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let encoded = match authorization_credentials(request, "Basic", MAX_CREDENTIAL_HEADER) {
            Ok(Some(encoded)) => encoded,
            Ok(None) => {
                return Err(self.reject(
                    VerifyErrorKind::MissingCredentials,
                    "missing basic credentials in header `authorization`",
                ));
            }
            Err(why) => return Err(self.invalid(why)),
        };
        if encoded.is_empty() {
            return Err(self.invalid("empty basic credentials in header `authorization`"));
        }
        let decoded = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| self.invalid("basic credentials are not valid base64"))?,
        );
        let text = std::str::from_utf8(&decoded)
            .map_err(|_| self.invalid("basic credentials are not UTF-8"))?;
        let (user, password) = text
            .split_once(':')
            .ok_or_else(|| self.invalid("basic credentials have no `:`"))?;
        let user = digest(user.as_bytes());
        let password = Zeroizing::new(digest(password.as_bytes()));
        let matched = select_match(&self.credentials, |c| {
            digest(c.user.as_bytes()).ct_eq(&user)
                & digest(c.password.expose_secret()).ct_eq(&*password)
        });
        let credential = matched
            .and_then(|i| self.credentials.get(i))
            .ok_or_else(|| self.invalid("basic credentials not accepted"))?;
        Ok(Proof::new("basic").with_subject(credential.user.clone()))
    }
}

/// Sends HTTP Basic credentials the way a real sender does: `Authorization: Basic
/// base64(user:password)`. The twin of [`BasicAuth`].
///
/// # Examples
///
/// ```
/// use webhook_core::{BasicAuth, BasicAuthSigner, Outgoing, Secret, Signer, Verifier,
///     WebhookRequest};
///
/// let signer = BasicAuthSigner::new("sender", Secret::from_text("s3cret")?);
/// let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
/// assert_eq!(headers.get("authorization"), Some("Basic c2VuZGVyOnMzY3JldA=="));
/// let request = headers.apply(WebhookRequest::new(b"{}"));
/// assert!(BasicAuth::from_list("sender:s3cret")?.verify(&request).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct BasicAuthSigner {
    user: String,
    password: Secret,
}

impl BasicAuthSigner {
    /// Send `user` and `password`.
    #[must_use]
    pub fn new(user: impl Into<String>, password: Secret) -> Self {
        Self {
            user: user.into(),
            password,
        }
    }
}

impl fmt::Debug for BasicAuthSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuthSigner")
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

impl Signer for BasicAuthSigner {
    fn sign(&self, _message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        if self.user.is_empty() || self.user.contains(':') {
            return Err(SignError::new(
                "basic auth user name is empty or contains `:`",
            ));
        }
        let password = self.password.expose_secret();
        let mut plain = Zeroizing::new(Vec::with_capacity(self.user.len() + 1 + password.len()));
        plain.extend_from_slice(self.user.as_bytes());
        plain.push(b':');
        plain.extend_from_slice(password);
        let mut headers = SignedHeaders::new();
        headers.push(
            "Authorization",
            format!("Basic {}", STANDARD.encode(&*plain)),
        );
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_parsing_never_panics_and_bounds_length() {
        let long = format!("Basic {}", "A".repeat(MAX_CREDENTIAL_HEADER));
        type Expected<'a> = Result<Option<&'a [u8]>, ()>;
        let cases: [(&[u8], Expected<'_>); 9] = [
            (b"Basic abc", Ok(Some(b"abc"))),
            (b"basic   abc  ", Ok(Some(b"abc"))),
            (b"BASIC\tabc", Ok(Some(b"abc"))),
            (b"Basic", Ok(Some(b""))),
            (b"Bearer abc", Ok(None)),
            (b"Basicabc", Ok(None)),
            (b"", Ok(None)),
            (b"\xff\xfe", Ok(None)),
            (long.as_bytes(), Err(())),
        ];
        for (value, expected) in cases {
            let request = WebhookRequest::new(b"").with_header("Authorization", value);
            let got = authorization_credentials(&request, "Basic", MAX_CREDENTIAL_HEADER);
            assert_eq!(got.map_err(|_| ()), expected, "{value:?}");
        }
        let twice = WebhookRequest::new(b"")
            .with_header("authorization", "Basic a")
            .with_header("Authorization", "Basic b");
        assert!(authorization_credentials(&twice, "Basic", MAX_CREDENTIAL_HEADER).is_err());
    }

    #[test]
    fn select_match_reports_first_hit_after_visiting_all() {
        let mut visited = 0;
        let hit = select_match(&[1, 2, 3, 2], |x| {
            visited += 1;
            Choice::from(u8::from(*x == 2))
        });
        assert_eq!((hit, visited), (Some(1), 4));
        assert_eq!(
            select_match(&[1, 3], |x| Choice::from(u8::from(*x == 2))),
            None
        );
    }

    #[test]
    fn realm_is_quoted_safely() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("x\r\ny"), r#""xy""#);
    }
}
