//! [`WebhookRejection`]: every way a delivery is answered without running the handler.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use webhook_core::{Receiver, Reply, VerifyError, VerifyErrorKind};

/// A delivery answered without running the handler: rejected by the status table of
/// `webhook-core` (JSON `{"error","message"}` with `Retry-After` / `WWW-Authenticate` where
/// they apply, or the receiver's custom rejection), or a duplicate of a processed delivery
/// (200 `{"event_type","id","duplicate":true}`).
///
/// It is the `Error` of the extractors: actix-web answers it with
/// [`ResponseError::error_response`], and [`VerifyWebhook`](crate::VerifyWebhook) reads its
/// [`kind`](Self::kind) back from the response to record why the delivery failed.
pub struct WebhookRejection(Box<Inner>);

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
    /// find a problem of their own, e.g. a body their own decoding refuses). Behind the
    /// middleware, its reason is recorded and the claim released.
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

impl ResponseError for WebhookRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.reply.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The reply, headers included; a header a custom rejection made invalid is left out.
    fn error_response(&self) -> HttpResponse {
        let mut response =
            HttpResponse::with_body(self.status_code(), self.0.reply.body().to_owned());
        for (name, value) in self.0.reply.headers() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response.map_into_boxed_body()
    }
}
