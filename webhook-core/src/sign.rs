//! Signers: the twin of every verifier, producing exactly the headers a real sender sends, so
//! applications can test their own handlers end to end.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use rand_core::{OsRng, RngCore};

use crate::request::WebhookRequest;

/// One outgoing delivery to sign.
///
/// Unset fields are filled by the signer: the id with a random `msg_…`, the timestamp from the
/// signer's clock.
///
/// # Examples
///
/// ```
/// use webhook_core::Outgoing;
/// let message = Outgoing::new(br#"{"type":"ping"}"#).id("msg_1").timestamp_secs(1_700_000_000);
/// assert_eq!(message.body(), br#"{"type":"ping"}"#);
/// ```
#[derive(Clone)]
pub struct Outgoing<'a> {
    body: &'a [u8],
    method: &'a str,
    url: Option<&'a str>,
    id: Option<Cow<'a, str>>,
    timestamp_ms: Option<i64>,
}

impl<'a> Outgoing<'a> {
    /// A `POST` of `body`.
    #[must_use]
    pub fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            method: "POST",
            url: None,
            id: None,
            timestamp_ms: None,
        }
    }

    /// The method (signed by HubSpot v2/v3).
    #[must_use]
    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// The URL the sender addresses (signed by URL-based schemes).
    #[must_use]
    pub fn url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The message id.
    #[must_use]
    pub fn id(mut self, id: impl Into<Cow<'a, str>>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The timestamp, in Unix seconds.
    #[must_use]
    pub fn timestamp_secs(mut self, secs: i64) -> Self {
        self.timestamp_ms = Some(secs.saturating_mul(1000));
        self
    }

    /// The timestamp, in Unix milliseconds.
    #[must_use]
    pub fn timestamp_ms(mut self, ms: i64) -> Self {
        self.timestamp_ms = Some(ms);
        self
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The method.
    #[must_use]
    pub fn method_str(&self) -> &'a str {
        self.method
    }

    /// The URL, if set.
    #[must_use]
    pub fn url_str(&self) -> Option<&'a str> {
        self.url
    }

    /// The message id, if set.
    #[must_use]
    pub fn id_str(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The timestamp in Unix milliseconds, if set.
    #[must_use]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp_ms
    }

    /// The message id, or a fresh random `msg_…` one.
    pub(crate) fn id_or_random(&self) -> Cow<'_, str> {
        match &self.id {
            Some(id) => Cow::Borrowed(id),
            None => Cow::Owned(random_message_id()),
        }
    }
}

impl fmt::Debug for Outgoing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("method", &self.method)
            .field("has_url", &self.url.is_some())
            .field("id", &self.id)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A random message id, `msg_` and 32 hex digits.
#[must_use]
pub fn random_message_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    format!("msg_{}", hex::encode(bytes))
}

/// The headers a signer produced, in the order a sender would send them.
///
/// `Debug` shows header names only: the values include signatures, and for API keys and
/// Basic auth the credential itself, so they are zeroized when the headers are dropped
/// (not the copies [`into_vec`](Self::into_vec) hands out).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SignedHeaders(Vec<(String, String)>);

impl Drop for SignedHeaders {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        for (_, value) in &mut self.0 {
            value.zeroize();
        }
    }
}

impl SignedHeaders {
    /// No headers yet (for a [`Signer`] of your own; [`push`](Self::push) adds them).
    #[must_use]
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Add a header, after those already there.
    ///
    /// ```
    /// use webhook_core::{Outgoing, SignError, SignedHeaders, Signer};
    ///
    /// /// A sender that puts a fixed token in a header (see `ApiKeySigner` for a real one).
    /// #[derive(Debug)]
    /// struct Token(&'static str);
    ///
    /// impl Signer for Token {
    ///     fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
    ///         if message.body().is_empty() {
    ///             return Err(SignError::new("nothing to send"));
    ///         }
    ///         let mut headers = SignedHeaders::new();
    ///         headers.push("X-Token", self.0);
    ///         Ok(headers)
    ///     }
    /// }
    ///
    /// let headers = Token("t0k3n").sign(&Outgoing::new(b"{}")).unwrap();
    /// assert_eq!(headers.get("x-token"), Some("t0k3n"));
    /// assert!(Token("t0k3n").sign(&Outgoing::new(b"")).is_err());
    /// ```
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of a header (case-insensitive).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, as `(name, value)` (as `for (name, value) in &headers` gives them).
    pub fn iter(&self) -> SignedHeadersIter<'_> {
        SignedHeadersIter(self.0.iter())
    }

    /// The headers as owned pairs (yours to zeroize, where they carry a credential).
    #[must_use]
    pub fn into_vec(mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.0)
    }

    /// Add these headers to a request view.
    #[must_use]
    pub fn apply<'a>(&'a self, request: WebhookRequest<'a>) -> WebhookRequest<'a> {
        request.with_headers(&self.0)
    }
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

/// `(name, value)` pairs, ready for any request builder (for a
/// [`WebhookRequest`], [`apply`](SignedHeaders::apply) adds them):
///
/// ```
/// use webhook_core::{Outgoing, Secret, Signer, StandardWebhooksSigner};
///
/// let signer = StandardWebhooksSigner::new(Secret::random(24));
/// let headers = signer.sign(&Outgoing::new(b"{}"))?;
/// let mut request = http::Request::post("/webhooks/email");
/// for (name, value) in &headers {
///     request = request.header(name, value);
/// }
/// assert!(request.headers_ref().is_some_and(|h| h.contains_key("webhook-signature")));
/// # Ok::<(), webhook_core::SignError>(())
/// ```
impl<'a> IntoIterator for &'a SignedHeaders {
    type Item = (&'a str, &'a str);
    type IntoIter = SignedHeadersIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The headers of a [`SignedHeaders`], as `(name, value)`. `Debug` names no value.
#[derive(Clone)]
pub struct SignedHeadersIter<'a>(std::slice::Iter<'a, (String, String)>);

impl<'a> Iterator for SignedHeadersIter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(n, v)| (n.as_str(), v.as_str()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for SignedHeadersIter<'_> {}

impl fmt::Debug for SignedHeadersIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHeadersIter")
            .field("remaining", &self.0.len())
            .finish_non_exhaustive()
    }
}

/// Signing failed: the message lacks something the scheme signs (a URL, a form body).
#[derive(Debug, Clone)]
pub struct SignError {
    message: Cow<'static, str>,
}

impl SignError {
    /// An error with this message (for a [`Signer`] of your own). The message is shown to
    /// whoever signs: name what is missing, never a secret.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for SignError {}

/// Signs an outgoing delivery the way a real sender does.
pub trait Signer: fmt::Debug + Send + Sync + 'static {
    /// The headers to send with `message`.
    ///
    /// # Errors
    ///
    /// The message lacks something the scheme signs.
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError>;
}
