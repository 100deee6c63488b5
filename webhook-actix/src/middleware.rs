//! [`VerifyWebhook`], the middleware that verifies a set of routes and owns their
//! idempotency claims, and its service [`VerifyWebhookMiddleware`].

use std::fmt;
use std::future::{Future, Ready, ready};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header;
use actix_web::{Error, HttpMessage as _};
use tracing::Instrument as _;
use webhook_core::{LeaseSlot, Proof, Receiver, VerifyError, VerifyErrorKind, WebhookRequest};

use crate::WebhookRejection;
use crate::pipeline::{Entry, Layered, run_pipeline, settle};
use crate::request::{Authenticated, authenticate};

/// Middleware that verifies every request of the routes it wraps and owns their idempotency
/// claims: the handler's response decides whether a delivery is done (2xx) or released (any
/// other status, an error, or a panic — the claim is released while the panic unwinds), so a
/// failed delivery is processed again when the sender retries.
///
/// Requests that fail a check never reach the handler; they are answered from the status
/// table (see [`Webhook`](crate::Webhook) for the list). Duplicates of a processed delivery
/// are answered 200 without running the handler; a duplicate in flight is 409. Behind the
/// middleware, handlers take [`Webhook<E>`](crate::Webhook), [`Verified`](crate::Verified),
/// [`WebhookProof`](crate::WebhookProof), or any body extractor (`web::Json<T>`,
/// `web::Bytes`): the body is handed on as verified — unchanged, or its plaintext when the
/// receiver decrypts (with `Content-Length` and `Content-Type` set for the plaintext, and no
/// `Transfer-Encoding`). The middleware carries its own
/// [`Receiver`]; no `app_data` is needed.
///
/// # Examples
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use webhook_actix::{Verified, VerifyWebhook};
/// use webhook_core::{Receiver, Secret, StandardWebhooks};
///
/// async fn on_delivery(hook: Verified) -> HttpResponse {
///     HttpResponse::Ok().body(hook.body().len().to_string())
/// }
///
/// let receiver = Receiver::builder()
///     .route("email")
///     .verifier(StandardWebhooks::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)?)
///     .build()?;
/// let app = App::new().service(
///     web::resource("/webhooks/email")
///         .wrap(VerifyWebhook::new(receiver))
///         .route(web::post().to(on_delivery)),
/// );
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifyWebhook {
    receiver: Receiver,
}

impl VerifyWebhook {
    /// Middleware verifying with `receiver`.
    #[must_use]
    pub fn new(receiver: Receiver) -> Self {
        Self { receiver }
    }
}

impl<S, B> Transform<S, ServiceRequest> for VerifyWebhook
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = VerifyWebhookMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(VerifyWebhookMiddleware {
            service: Rc::new(service),
            receiver: self.receiver.clone(),
        }))
    }
}

/// The service of [`VerifyWebhook`]: verification, the wrapped service, then completing or
/// releasing the claim.
pub struct VerifyWebhookMiddleware<S> {
    service: Rc<S>,
    receiver: Receiver,
}

impl<S> fmt::Debug for VerifyWebhookMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyWebhookMiddleware")
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

type Responding<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<EitherBody<B>>, Error>>>>;

impl<S, B> Service<ServiceRequest> for VerifyWebhookMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Responding<B>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let receiver = self.receiver.clone();
        Box::pin(async move {
            let payload = request.take_payload();
            let authenticated = authenticate(&receiver, request.request(), payload).await;
            let Authenticated {
                body,
                url,
                mut delivery,
            } = match authenticated {
                Ok(authenticated) => authenticated,
                Err(rejection) => {
                    return Ok(request.error_response(rejection).map_into_right_body());
                }
            };
            // Before the claim: a delivery refused here takes none.
            if receiver.decrypts() && !plaintext_headers(&receiver, &mut request, body.len()) {
                let error = delivery.reject(
                    VerifyError::new(VerifyErrorKind::NotConfigured)
                        .with_message("the decrypted body could not be handed on"),
                );
                let rejection = WebhookRejection::error(receiver.reply_for(&error), error);
                return Ok(request.error_response(rejection).map_into_right_body());
            }
            // The raw claim reads nothing from the view: the body alone will do.
            let claimed = run_pipeline::<Proof>(
                Entry::Middleware(&mut delivery),
                &WebhookRequest::new(&body),
            )
            .await;
            let proof = match claimed {
                Ok(proof) => proof,
                Err(rejection) => {
                    return Ok(request.error_response(rejection).map_into_right_body());
                }
            };
            let slot = LeaseSlot::new();
            request.set_payload(Payload::from(body.clone()));
            request.extensions_mut().insert(Layered {
                receiver,
                proof,
                body,
                url,
                slot: slot.clone(),
            });
            let span = delivery.span().clone();
            let result = service.call(request).instrument(span).await;
            match (settle(delivery, &slot, &result).await, result) {
                (Some(rejection), Ok(response)) => {
                    let (request, _) = response.into_parts();
                    Ok(ServiceResponse::from_err(rejection, request).map_into_right_body())
                }
                (_, result) => result.map(ServiceResponse::map_into_left_body),
            }
        })
    }
}

/// The handler gets the plaintext: its length and content type replace the sealed body's
/// (and its framing: the body is whole now). actix-web lets a middleware change headers only
/// while it holds the one handle of the request, as its own `NormalizePath` does to the URI:
/// a middleware wrapped around this one must not keep a clone of the `HttpRequest` across the
/// call. actix-web offers no way to ask, and panics in `headers_mut` when one is kept; that
/// panic is caught here (before anything changed), logged, and `false` returned, so the
/// delivery is refused (500) instead of the worker thread unwinding. The panic still passes
/// through the process's panic hook (printed, or reported by a hook that reports panics).
fn plaintext_headers(receiver: &Receiver, request: &mut ServiceRequest, len: usize) -> bool {
    let content_type = receiver
        .plaintext_content_type()
        .and_then(|ct| header::HeaderValue::from_str(ct).ok());
    let rewritten = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let headers = request.headers_mut();
        headers.remove(header::TRANSFER_ENCODING);
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
        if let Some(content_type) = content_type {
            headers.insert(header::CONTENT_TYPE, content_type);
        }
    }));
    if rewritten.is_err() {
        tracing::error!(
            route = request.match_pattern().as_deref().unwrap_or("(no route)"),
            "VerifyWebhook could not set the decrypted body's headers: a middleware wrapped \
             around it keeps a clone of the HttpRequest across the call (actix-web then refuses \
             to change the request); refusing the delivery"
        );
    }
    rewritten.is_ok()
}
