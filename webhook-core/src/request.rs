//! The framework-neutral view of one incoming request.

use std::fmt;
use std::net::SocketAddr;

use crate::error::VerifyError;

/// One incoming webhook request, as every verifier sees it: method, the URL as the sender
/// addressed it, headers, peer address and the raw body bytes exactly as received.
///
/// It borrows everything and uses no `http` crate types, so adapters for http 0.2 and http 1
/// frameworks build it alike. Header names are matched case-insensitively; a repeated header
/// keeps every value.
///
/// `Debug` shows the method, header *names* and the body length, never a header value or a
/// body byte.
///
/// # Examples
///
/// ```
/// use webhook_core::WebhookRequest;
///
/// let body = br#"{"type":"ping"}"#;
/// let request = WebhookRequest::new(body)
///     .with_method("POST")
///     .with_url("https://example.com/webhooks/github")
///     .with_header("X-GitHub-Event", "ping")
///     .with_header("Content-Type", "application/json");
/// assert_eq!(request.header("x-github-event"), Some(&b"ping"[..]));
/// assert_eq!(request.body(), body);
/// ```
#[derive(Clone)]
pub struct WebhookRequest<'a> {
    method: &'a str,
    url: Option<&'a str>,
    headers: Vec<(&'a str, &'a [u8])>,
    peer: Option<SocketAddr>,
    body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    /// A `POST` request with this body, no headers, no URL and no peer address.
    #[must_use]
    pub fn new(body: &'a [u8]) -> Self {
        Self {
            method: "POST",
            url: None,
            headers: Vec::new(),
            peer: None,
            body,
        }
    }

    /// Set the method.
    #[must_use]
    pub fn with_method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// Set the full URL as the sender addressed it (scheme, host, path and query). URL-based
    /// schemes (Twilio, Square, HubSpot v2/v3, Mandrill) sign it; configure the public URL
    /// rather than trusting `Host` behind a proxy.
    #[must_use]
    pub fn with_url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// Add one header value. Call again with the same name for a repeated header.
    #[must_use]
    pub fn with_header(mut self, name: &'a str, value: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
        self.headers.push((name, value.as_ref()));
        self
    }

    /// Add many header values at once.
    #[must_use]
    pub fn with_headers<N, V>(mut self, headers: impl IntoIterator<Item = &'a (N, V)>) -> Self
    where
        N: AsRef<str> + 'a,
        V: AsRef<[u8]> + 'a,
    {
        self.headers
            .extend(headers.into_iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
        self
    }

    /// Make room for `additional` more headers (adapters that know the count: one allocation).
    pub fn reserve_headers(&mut self, additional: usize) {
        self.headers.reserve_exact(additional);
    }

    /// Set the body in place: adapters build the view from the request head, admit the
    /// request, then read the body and set it.
    pub fn set_body(&mut self, body: &'a [u8]) {
        self.body = body;
    }

    /// Set the URL in place, or clear it with `None`; see [`with_url`](Self::with_url).
    pub fn set_url(&mut self, url: Option<&'a str>) {
        self.url = url;
    }

    /// Add one header value in place (for adapters that build the view in a loop).
    pub fn push_header(&mut self, name: &'a str, value: &'a [u8]) {
        self.headers.push((name, value));
    }

    /// Set the peer (socket) address.
    #[must_use]
    pub fn with_peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The URL as the sender addressed it, if known.
    #[must_use]
    pub fn url(&self) -> Option<&'a str> {
        self.url
    }

    /// The peer address, if known.
    #[must_use]
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The raw body bytes, exactly as received.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The first value of a header, matched case-insensitively.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.header_values(name).next()
    }

    /// Every value of a header, in the order received.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// Every header as `(name, value)`, in the order received.
    pub fn all_headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + '_ {
        self.headers.iter().copied()
    }

    /// The one value of a header that must appear exactly once, as text.
    ///
    /// # Errors
    ///
    /// `MissingHeader` when absent; `MalformedHeader` when repeated, empty, or not visible ASCII.
    pub fn require_single(&self, name: &str) -> Result<&'a str, VerifyError> {
        let mut values = self.header_values(name);
        let value = values
            .next()
            .ok_or_else(|| VerifyError::missing_header(name))?;
        if values.next().is_some() {
            return Err(VerifyError::malformed_header(name, "repeated"));
        }
        header_text(name, value)
    }

    /// The one value of an optional header that must not be repeated, as text.
    ///
    /// # Errors
    ///
    /// `MalformedHeader` when repeated, empty, or not visible ASCII.
    pub fn optional_single(&self, name: &str) -> Result<Option<&'a str>, VerifyError> {
        if self.header(name).is_none() {
            return Ok(None);
        }
        self.require_single(name).map(Some)
    }

    /// The content type's essence (`application/json` of `application/json; charset=utf-8`),
    /// lower-cased comparison left to the caller. `None` when the header is absent, not text,
    /// or repeated: two content types are ambiguous (each reader could pick another), so a
    /// receiver that requires one refuses the request (415).
    #[must_use]
    pub fn content_type(&self) -> Option<&'a str> {
        let mut values = self.header_values("content-type");
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        let raw = std::str::from_utf8(value).ok()?;
        Some(essence(raw))
    }
}

/// A `Content-Type` value's essence: what comes before its parameters, trimmed.
pub(crate) fn essence(value: &str) -> &str {
    value.split(';').next().unwrap_or(value).trim()
}

/// A header value as text: visible ASCII and spaces only, trimmed, not empty.
pub(crate) fn header_text<'a>(name: &str, value: &'a [u8]) -> Result<&'a str, VerifyError> {
    // A fold without early exit: the compiler vectorises it (headers are short, and the
    // check runs for every header a verifier reads).
    let visible = value.iter().fold(true, |ok, &b| {
        ok & ((0x20..0x7f).contains(&b) | (b == b'\t'))
    });
    if !visible {
        return Err(VerifyError::malformed_header(name, "not visible ascii"));
    }
    let text = std::str::from_utf8(value)
        .map_err(|_| VerifyError::malformed_header(name, "not visible ascii"))?
        .trim();
    if text.is_empty() {
        return Err(VerifyError::malformed_header(name, "empty"));
    }
    Ok(text)
}

impl fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("has_url", &self.url.is_some())
            .field("header_names", &names)
            .field("peer", &self.peer)
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VerifyErrorKind;

    #[test]
    fn headers_are_case_insensitive_and_repeatable() {
        let req = WebhookRequest::new(b"")
            .with_header("X-A", "1")
            .with_header("x-a", "2")
            .with_header("B", "3");
        let all: Vec<_> = req.header_values("X-a").collect();
        assert_eq!(all, vec![&b"1"[..], &b"2"[..]]);
        assert_eq!(
            req.require_single("x-a").unwrap_err().kind(),
            VerifyErrorKind::MalformedHeader
        );
        assert_eq!(req.require_single("b").unwrap(), "3");
        assert_eq!(
            req.require_single("c").unwrap_err().kind(),
            VerifyErrorKind::MissingHeader
        );
        assert_eq!(req.optional_single("c").unwrap(), None);
    }

    #[test]
    fn rejects_non_ascii_and_empty_values() {
        let req = WebhookRequest::new(b"")
            .with_header("a", b"\xff\xfe")
            .with_header("b", "  ");
        assert_eq!(
            req.require_single("a").unwrap_err().kind(),
            VerifyErrorKind::MalformedHeader
        );
        assert_eq!(
            req.require_single("b").unwrap_err().kind(),
            VerifyErrorKind::MalformedHeader
        );
    }

    #[test]
    fn debug_shows_no_values_or_body() {
        let req = WebhookRequest::new(b"top-secret-body").with_header("x-sig", "sig-value-123");
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("top-secret-body"));
        assert!(!dbg.contains("sig-value-123"));
        assert!(dbg.contains("x-sig"));
    }

    #[test]
    fn content_type_essence() {
        let req =
            WebhookRequest::new(b"").with_header("Content-Type", "application/json; charset=utf-8");
        assert_eq!(req.content_type(), Some("application/json"));
    }
}
