//! The error model: start-up [`ConfigError`], per-request [`VerifyError`], and the one status
//! table every adapter answers with.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A configuration mistake found at start-up: an empty or undecodable secret, a bad key, a
/// missing environment variable, an inconsistent scheme.
///
/// These are separate from [`VerifyError`] because they are handled in a different place:
/// once, when the application starts, by refusing to start.
///
/// The message names the variable, file or option at fault, never the secret itself.
pub struct ConfigError {
    message: Cow<'static, str>,
    source: Option<BoxError>,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// Attach the underlying cause (shown by [`Error::source`](StdError::source), not in
    /// the message): for the errors of a verifier, store or tenant loader of your own.
    ///
    /// ```
    /// use webhook_core::ConfigError;
    /// let cause = std::io::Error::other("permission denied");
    /// let error = ConfigError::custom("`SECRETS_FILE`: not readable").with_source(cause);
    /// assert_eq!(error.to_string(), "`SECRETS_FILE`: not readable");
    /// assert!(std::error::Error::source(&error).is_some());
    /// ```
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// A configuration error with a message of the caller's; for verifiers and stores
    /// implemented outside this crate. Name the variable, file or option at fault, never a
    /// secret.
    pub fn custom(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(message)
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for ConfigError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// What went wrong with one delivery. Each kind maps to exactly one HTTP status and one
/// stable machine code, through [`VerifyErrorKind::status`] and [`VerifyErrorKind::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyErrorKind {
    /// A header the scheme needs is absent (401).
    MissingHeader,
    /// A header is present but cannot be parsed, or is repeated where one value is expected (401).
    MalformedHeader,
    /// No signature in the request matched any active key (401).
    InvalidSignature,
    /// No credentials were presented (401, with `WWW-Authenticate` where the scheme has one).
    MissingCredentials,
    /// The presented credentials, API key or bearer token were not accepted (401).
    InvalidCredentials,
    /// The signed timestamp is older than the tolerance allows (401).
    TimestampTooOld,
    /// The signed timestamp is further in the future than the tolerance allows (401).
    TimestampInFuture,
    /// The source address is not on the allowlist (403).
    SourceNotAllowed,
    /// The request did not arrive over HTTPS (403).
    HttpsRequired,
    /// The body exceeds the configured limit (413).
    BodyTooLarge,
    /// The content type is not one the route accepts, or the body has a content coding
    /// (`Content-Encoding` other than `identity`) (415).
    UnsupportedContentType,
    /// The body cannot be decoded: bad JSON or form data, bad encoding (400).
    MalformedBody,
    /// The event type is not part of the event set and there is no catch-all (422).
    UnknownEventType,
    /// The event decoded but failed a schema rule (422).
    Validation,
    /// Too many requests from this source (429, with `Retry-After`).
    RateLimited,
    /// This delivery is already being processed (409, with `Retry-After`).
    InFlight,
    /// The replay or idempotency store could not be reached; the request is refused (503).
    StoreUnavailable,
    /// A key that must be fetched is not available (yet): the signing certificate the message
    /// names, a JWT key set's key, or a tenant's verifier from its loader. The request is
    /// refused so that the sender retries it (503, with `Retry-After`).
    KeyUnavailable,
    /// The route cannot verify anything as configured (500, logged): no receiver for the
    /// route, a key ring or decryptor whose every key has expired, a tenant's verifier the
    /// registry could not take.
    NotConfigured,
}

impl VerifyErrorKind {
    /// The HTTP status for this outcome: the one status table of the project.
    ///
    /// ```
    /// use webhook_core::VerifyErrorKind;
    /// assert_eq!(VerifyErrorKind::InvalidSignature.status(), 401);
    /// assert_eq!(VerifyErrorKind::RateLimited.status(), 429);
    /// ```
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            Self::MissingHeader
            | Self::MalformedHeader
            | Self::InvalidSignature
            | Self::MissingCredentials
            | Self::InvalidCredentials
            | Self::TimestampTooOld
            | Self::TimestampInFuture => 401,
            Self::SourceNotAllowed | Self::HttpsRequired => 403,
            Self::InFlight => 409,
            Self::BodyTooLarge => 413,
            Self::UnsupportedContentType => 415,
            Self::MalformedBody => 400,
            Self::UnknownEventType | Self::Validation => 422,
            Self::RateLimited => 429,
            Self::StoreUnavailable | Self::KeyUnavailable => 503,
            Self::NotConfigured => 500,
        }
    }

    /// The stable machine code sent in the JSON body, e.g. `invalid_signature`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_header",
            Self::MalformedHeader => "malformed_header",
            Self::InvalidSignature => "invalid_signature",
            Self::MissingCredentials => "missing_credentials",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TimestampTooOld => "timestamp_too_old",
            Self::TimestampInFuture => "timestamp_in_future",
            Self::SourceNotAllowed => "source_not_allowed",
            Self::HttpsRequired => "https_required",
            Self::BodyTooLarge => "body_too_large",
            Self::UnsupportedContentType => "unsupported_content_type",
            Self::MalformedBody => "malformed_body",
            Self::UnknownEventType => "unknown_event_type",
            Self::Validation => "validation_failed",
            Self::RateLimited => "rate_limited",
            Self::InFlight => "in_flight",
            Self::StoreUnavailable => "store_unavailable",
            Self::KeyUnavailable => "key_unavailable",
            Self::NotConfigured => "not_configured",
        }
    }

    /// A short client-safe description used when the error carries no detail of its own.
    const fn default_message(self) -> &'static str {
        match self {
            Self::MissingHeader => "a required header is missing",
            Self::MalformedHeader => "a header is malformed",
            Self::InvalidSignature => "no signature matched",
            Self::MissingCredentials => "credentials are required",
            Self::InvalidCredentials => "credentials were not accepted",
            Self::TimestampTooOld => "timestamp is too old",
            Self::TimestampInFuture => "timestamp is too far in the future",
            Self::SourceNotAllowed => "source address is not allowed",
            Self::HttpsRequired => "https is required",
            Self::BodyTooLarge => "body is too large",
            Self::UnsupportedContentType => "content type is not supported",
            Self::MalformedBody => "body could not be decoded",
            Self::UnknownEventType => "event type is not handled",
            Self::Validation => "event failed validation",
            Self::RateLimited => "too many requests",
            Self::InFlight => "this delivery is already being processed",
            Self::StoreUnavailable => "the delivery store is unavailable",
            Self::KeyUnavailable => "the signing key could not be fetched; retry later",
            Self::NotConfigured => "the webhook receiver is not configured",
        }
    }
}

/// A rejected delivery.
///
/// An opaque struct so context can grow without breaking users: match on [`kind`](Self::kind).
/// Its `Display`, `Debug` and [`to_json`](Self::to_json) never contain a secret, an expected
/// or received signature, or a byte of the payload; they name the header or field at fault.
///
/// ```
/// use webhook_core::{VerifyError, VerifyErrorKind};
/// let err = VerifyError::missing_header("webhook-id");
/// assert_eq!(err.kind(), VerifyErrorKind::MissingHeader);
/// assert_eq!(err.status(), 401);
/// assert_eq!(err.to_string(), "missing header `webhook-id`");
/// assert_eq!(
///     err.to_json(),
///     r#"{"error":"missing_header","message":"missing header `webhook-id`"}"#
/// );
/// ```
pub struct VerifyError {
    kind: VerifyErrorKind,
    message: Option<Cow<'static, str>>,
    retry_after: Option<Duration>,
    www_authenticate: Option<Cow<'static, str>>,
    tenant: Option<Box<str>>,
    source: Option<BoxError>,
}

/// The longest `Retry-After` sent: a day.
const MAX_RETRY_AFTER_SECS: u64 = 86_400;

impl VerifyError {
    /// A copy of what the sender is answered with (kind, message, `Retry-After`,
    /// challenge), without the [`source`](std::error::Error::source) or the
    /// [`tenant`](Self::tenant): for a rejection recorded in one place and answered in
    /// another.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::{VerifyError, VerifyErrorKind};
    /// let error = VerifyError::new(VerifyErrorKind::InFlight).with_retry_after(Duration::from_secs(3));
    /// let copy = error.answer_copy();
    /// assert_eq!((copy.kind(), copy.retry_after()), (error.kind(), error.retry_after()));
    /// assert_eq!(copy.to_json(), error.to_json());
    /// ```
    #[must_use]
    pub fn answer_copy(&self) -> Self {
        Self {
            kind: self.kind,
            message: self.message.clone(),
            retry_after: self.retry_after,
            www_authenticate: self.www_authenticate.clone(),
            tenant: None,
            source: None,
        }
    }

    /// An error of `kind` with its default message.
    #[must_use]
    pub fn new(kind: VerifyErrorKind) -> Self {
        Self {
            kind,
            message: None,
            retry_after: None,
            www_authenticate: None,
            tenant: None,
            source: None,
        }
    }

    /// Replace the message. It is shown to the sender: keep secrets, signatures and payload
    /// bytes out of it.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Attach the underlying cause (available through [`std::error::Error::source`]; never sent
    /// to the client).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Set the `Retry-After` delay (used with 409, 429 and 503).
    #[must_use]
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Record the tenant the refused request named ([`Tenants`](crate::Tenants)), for the
    /// delivery's span and logs; never sent to the client.
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<Box<str>>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The tenant the refused request named, when a [`Tenants`](crate::Tenants) read one.
    #[must_use]
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// Set the `WWW-Authenticate` challenge (used with Basic and Bearer schemes).
    #[must_use]
    pub fn with_www_authenticate(mut self, challenge: impl Into<Cow<'static, str>>) -> Self {
        self.www_authenticate = Some(challenge.into());
        self
    }

    /// ``missing header `name` ``.
    #[must_use]
    pub fn missing_header(name: &str) -> Self {
        Self::new(VerifyErrorKind::MissingHeader).with_message(format!("missing header `{name}`"))
    }

    /// ``malformed header `name`: why``.
    #[must_use]
    pub fn malformed_header(name: &str, why: &str) -> Self {
        Self::new(VerifyErrorKind::MalformedHeader)
            .with_message(format!("malformed header `{name}`: {why}"))
    }

    /// The body is larger than `limit` bytes: 413 `body_too_large`, stating the limit (a
    /// sender can act on it; the limit is configuration, not a secret).
    ///
    /// ```
    /// use webhook_core::{VerifyError, VerifyErrorKind};
    /// let error = VerifyError::body_too_large(1024);
    /// assert_eq!(error.kind(), VerifyErrorKind::BodyTooLarge);
    /// assert_eq!(error.status(), 413);
    /// assert_eq!(error.to_string(), "body is larger than 1024 bytes");
    /// ```
    #[must_use]
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(VerifyErrorKind::BodyTooLarge)
            .with_message(format!("body is larger than {limit} bytes"))
    }

    /// The body could not be read (the connection failed or the stream broke off): 400
    /// `malformed_body`. Adapters answer a body over the limit with
    /// [`BodyTooLarge`](VerifyErrorKind::BodyTooLarge) instead.
    #[must_use]
    pub fn unreadable_body() -> Self {
        Self::new(VerifyErrorKind::MalformedBody).with_message("the body could not be read")
    }

    /// No signature matched any active key.
    #[must_use]
    pub fn invalid_signature() -> Self {
        Self::new(VerifyErrorKind::InvalidSignature)
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> VerifyErrorKind {
        self.kind
    }

    /// The HTTP status from the status table.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The stable machine code, e.g. `invalid_signature`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The client-safe message.
    #[must_use]
    pub fn message(&self) -> &str {
        self.message
            .as_deref()
            .unwrap_or(self.kind.default_message())
    }

    /// The `Retry-After` delay, where the status has one.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The `Retry-After` header value in whole seconds (rounded up, at least 1, at most a
    /// day), where the status has one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::{VerifyError, VerifyErrorKind};
    /// let limited = |d| VerifyError::new(VerifyErrorKind::RateLimited).with_retry_after(d);
    /// assert_eq!(limited(Duration::from_millis(1500)).retry_after_secs(), Some(2));
    /// assert_eq!(limited(Duration::MAX).retry_after_secs(), Some(86_400));
    /// ```
    #[must_use]
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| {
            let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
            secs.clamp(1, MAX_RETRY_AFTER_SECS)
        })
    }

    /// The `WWW-Authenticate` challenge, where the scheme has one.
    #[must_use]
    pub fn www_authenticate(&self) -> Option<&str> {
        self.www_authenticate.as_deref()
    }

    /// The response headers this rejection carries, besides the content type:
    /// `Retry-After` and `WWW-Authenticate` where they apply.
    #[must_use]
    pub fn response_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Some(secs) = self.retry_after_secs() {
            headers.push(("retry-after", secs.to_string()));
        }
        if let Some(challenge) = self.www_authenticate() {
            headers.push(("www-authenticate", challenge.to_owned()));
        }
        headers
    }

    /// The small JSON body sent to the client: `{"error":"<code>","message":"<message>"}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": self.code(), "message": self.message() }).to_string()
    }
}

impl fmt::Debug for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyError")
            .field("kind", &self.kind)
            .field("message", &self.message())
            .field("retry_after", &self.retry_after)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl StdError for VerifyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<VerifyErrorKind> for VerifyError {
    fn from(kind: VerifyErrorKind) -> Self {
        Self::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_matches_design() {
        use VerifyErrorKind as K;
        let table = [
            (K::MissingHeader, 401),
            (K::MalformedHeader, 401),
            (K::InvalidSignature, 401),
            (K::MissingCredentials, 401),
            (K::InvalidCredentials, 401),
            (K::TimestampTooOld, 401),
            (K::TimestampInFuture, 401),
            (K::SourceNotAllowed, 403),
            (K::HttpsRequired, 403),
            (K::InFlight, 409),
            (K::BodyTooLarge, 413),
            (K::UnsupportedContentType, 415),
            (K::MalformedBody, 400),
            (K::UnknownEventType, 422),
            (K::Validation, 422),
            (K::RateLimited, 429),
            (K::StoreUnavailable, 503),
            (K::KeyUnavailable, 503),
            (K::NotConfigured, 500),
        ];
        for (kind, status) in table {
            assert_eq!(kind.status(), status, "{kind:?}");
            assert!(
                kind.code()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        let err = VerifyError::new(VerifyErrorKind::RateLimited)
            .with_retry_after(Duration::from_millis(1500));
        assert_eq!(err.retry_after_secs(), Some(2));
        let err = VerifyError::new(VerifyErrorKind::RateLimited)
            .with_retry_after(Duration::from_millis(0));
        assert_eq!(err.retry_after_secs(), Some(1));
        assert_eq!(
            err.response_headers(),
            vec![("retry-after", "1".to_owned())]
        );
    }

    /// One error for a body that broke off, whichever adapter read it.
    #[test]
    fn an_unreadable_body_is_a_400_that_says_so() {
        let err = VerifyError::unreadable_body();
        assert_eq!(err.status(), 400);
        assert_eq!(err.kind(), VerifyErrorKind::MalformedBody);
        assert_eq!(err.message(), "the body could not be read");
    }

    #[test]
    fn json_escapes_message() {
        let err = VerifyError::new(VerifyErrorKind::Validation).with_message("a \"quoted\" field");
        let v: serde_json::Value = serde_json::from_str(&err.to_json()).expect("valid json");
        assert_eq!(v["message"], "a \"quoted\" field");
        assert_eq!(v["error"], "validation_failed");
    }
}
