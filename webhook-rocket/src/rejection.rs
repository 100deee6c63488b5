//! [`WebhookRejection`]: every way a delivery is answered without running the handler.

use std::fmt;
use std::io::Cursor;

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::shield::{
    ExpectCt, Frame, Hsts, NoSniff, Permission, Policy, Prefetch, Referrer, XssFilter,
};
use webhook_core::{Receiver, Reply, VerifyError, VerifyErrorKind};

use crate::fairing::Slot;

/// A delivery answered without running the handler: rejected by the status table of
/// `webhook-core` (JSON `{"error","message"}` with `Retry-After` / `WWW-Authenticate` where
/// they apply, or the receiver's custom rejection), or a duplicate of a processed delivery
/// (200 `{"event_type","id","duplicate":true}`).
///
/// It is the error of the [`Webhook`](crate::Webhook) and [`Verified`](crate::Verified) guards
/// (rendered by [`WebhookFairing`](crate::WebhookFairing)), and a `Responder` for handlers that
/// reject a delivery themselves: the fairing then records the reason and releases the claim.
pub struct WebhookRejection(Box<Inner>);

/// Boxed, so handlers returning `Result<_, WebhookRejection>` stay small.
struct Inner {
    reply: Reply,
    error: Option<VerifyError>,
}

impl WebhookRejection {
    pub(crate) fn error(reply: Reply, error: VerifyError) -> Self {
        Self(Box::new(Inner {
            reply,
            error: Some(error),
        }))
    }

    pub(crate) fn duplicate(reply: Reply) -> Self {
        Self(Box::new(Inner { reply, error: None }))
    }

    /// A rejection for `error`, answered as `receiver` answers rejections (for handlers that
    /// find a problem of their own, e.g. a body their own decoding refuses).
    #[must_use]
    pub fn from_error(receiver: &Receiver, error: VerifyError) -> Self {
        Self::error(receiver.reply_for(&error), error)
    }

    /// Why the delivery was rejected; `None` for a duplicate.
    #[must_use]
    pub fn kind(&self) -> Option<VerifyErrorKind> {
        self.0.error.as_ref().map(VerifyError::kind)
    }

    /// The underlying error; `None` for a duplicate.
    #[must_use]
    pub fn verify_error(&self) -> Option<&VerifyError> {
        self.0.error.as_ref()
    }

    /// Whether this is the 200 answer to a duplicate.
    #[must_use]
    pub fn is_duplicate(&self) -> bool {
        self.0.error.is_none()
    }

    /// The status the response will have.
    #[must_use]
    pub fn status(&self) -> Status {
        http_status(self.0.reply.status())
    }

    /// The response that will be sent (status, headers, body).
    #[must_use]
    pub fn reply(&self) -> &Reply {
        &self.0.reply
    }
}

impl fmt::Debug for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRejection")
            .field("status", &self.0.reply.status())
            .field("error", &self.0.error)
            .finish()
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.error {
            Some(error) => fmt::Display::fmt(error, f),
            None => f.write_str("duplicate delivery"),
        }
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .error
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl<'r> Responder<'r, 'static> for WebhookRejection {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        if let Some(kind) = self.kind() {
            Slot::of(request).lock().handler_rejected = Some(kind);
        }
        let mut response = Response::new();
        write_reply(&mut response, self.0.reply);
        Ok(response)
    }
}

/// `code` as a response status; a custom rejection's code outside 100–999, which no
/// response can carry, is answered 500 (as the other adapters do).
fn http_status(code: u16) -> Status {
    if (100..=999).contains(&code) {
        Status::new(code)
    } else {
        Status::InternalServerError
    }
}

/// The headers of a response that speak for the server rather than for the handler's answer:
/// rocket's `Server` and the policies of its [`Shield`](rocket::shield::Shield) (attached by
/// default, before [`WebhookFairing`](crate::WebhookFairing), whose headers it sets on every
/// response). A rejection that replaces the handler's response keeps them.
const SERVER_HEADERS: [&str; 9] = [
    "Server",
    <NoSniff as Policy>::NAME,
    <Frame as Policy>::NAME,
    <Permission as Policy>::NAME,
    <Hsts as Policy>::NAME,
    <Referrer as Policy>::NAME,
    <Prefetch as Policy>::NAME,
    <ExpectCt as Policy>::NAME,
    <XssFilter as Policy>::NAME,
];

/// Replace `response` whole by the rendering of `reply`, as the axum and actix-web adapters
/// answer with a response of their own: nothing the handler (or rocket's catcher) put in it
/// survives — no `Set-Cookie` (the cookie jar's too), `Location`, `Cache-Control` or header
/// of its own — but for the [server's headers](SERVER_HEADERS).
pub(crate) fn replace_with_reply(response: &mut Response<'_>, reply: Reply) {
    let mut fresh = Response::new();
    for name in SERVER_HEADERS {
        for value in response.headers().get(name) {
            fresh.adjoin_raw_header(name, value.to_owned());
        }
    }
    write_reply(&mut fresh, reply);
    *response = fresh;
}

/// Make `response` the rendering of `reply`: its status, its headers (replacing the ones of
/// the same names, and the content type of whatever was there), its body. A header a custom
/// rejection made invalid is left out.
fn write_reply(response: &mut Response<'_>, reply: Reply) {
    let (status, headers, body) = reply.into_parts();
    response.set_status(http_status(status));
    response.remove_header("content-type");
    for (name, _) in &headers {
        response.remove_header(name);
    }
    for (name, value) in headers {
        if is_token(&name) && is_header_value(&value) {
            response.adjoin_raw_header(name, value);
        }
    }
    response.set_sized_body(body.len(), Cursor::new(body));
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn invalid_custom_headers_are_left_out() {
        let reply = Reply::json(401, "{}")
            .with_header("x-ok", "1")
            .with_header("bad name", "1")
            .with_header("x-bad-value", "a\r\nb");
        let mut response = Response::new();
        write_reply(&mut response, reply);
        assert_eq!(response.status(), Status::Unauthorized);
        assert_eq!(response.headers().get_one("x-ok"), Some("1"));
        assert_eq!(
            response.headers().get_one("content-type"),
            Some("application/json")
        );
        assert!(!response.headers().contains("bad name"));
        assert!(!response.headers().contains("x-bad-value"));
    }
}
