//! [`WebhookRejection`]: every way a delivery is answered without running the handler.

use std::fmt;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use webhook_core::{Reply, VerifyError, VerifyErrorKind};

/// A delivery answered without running the handler: rejected by the status table of
/// `webhook-core` (JSON `{"error","message"}` with `Retry-After` / `WWW-Authenticate` where
/// they apply, or the receiver's custom rejection), or a duplicate of a processed delivery
/// (200 `{"event_type","id","duplicate":true}`, always in this form: a duplicate is not a
/// rejection, and the receiver's custom rejection does not change its answer).
pub struct WebhookRejection {
    reply: Reply,
    error: Option<VerifyError>,
}

/// Marks a response as a rejection, so the layer records its reason.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RejectedKind(pub(crate) VerifyErrorKind);

impl WebhookRejection {
    pub(crate) fn error(reply: Reply, error: VerifyError) -> Self {
        Self {
            reply,
            error: Some(error),
        }
    }

    pub(crate) fn duplicate(reply: Reply) -> Self {
        Self { reply, error: None }
    }

    /// A rejection for `error`, answered as `receiver` answers rejections (for handlers that
    /// find a problem of their own, e.g. a body their own decoding refuses). Behind the layer,
    /// its reason is recorded and the claim released.
    #[must_use]
    pub fn from_error(receiver: &webhook_core::Receiver, error: VerifyError) -> Self {
        Self::error(receiver.reply_for(&error), error)
    }

    /// Why the delivery was rejected; `None` for a duplicate.
    #[must_use]
    pub fn kind(&self) -> Option<VerifyErrorKind> {
        self.error.as_ref().map(VerifyError::kind)
    }

    /// The underlying error; `None` for a duplicate.
    #[must_use]
    pub fn verify_error(&self) -> Option<&VerifyError> {
        self.error.as_ref()
    }

    /// Whether this is the 200 answer to a duplicate.
    #[must_use]
    pub fn is_duplicate(&self) -> bool {
        self.error.is_none()
    }

    /// The status the response will have.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.reply.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl fmt::Debug for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRejection")
            .field("status", &self.reply.status())
            .field("error", &self.error)
            .finish()
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(error) => fmt::Display::fmt(error, f),
            None => f.write_str("duplicate delivery"),
        }
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let kind = self.kind();
        let mut response = reply_response(self.reply);
        if let Some(kind) = kind {
            response.extensions_mut().insert(RejectedKind(kind));
        }
        response
    }
}

/// Render a core [`Reply`]; a header the custom rejection made invalid is left out.
pub(crate) fn reply_response(reply: Reply) -> Response {
    let (status, headers, body) = reply.into_parts();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
