//! [`VerifyWebhook`], the middleware that verifies a set of routes and owns their
//! idempotency claims, and its service [`VerifyWebhookMiddleware`].

use std::fmt;
use std::future::{Future, Ready, ready};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{
    Extensions, Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready,
};
use actix_web::http::header;
use actix_web::web::{Data, FormConfig, JsonConfig, PayloadConfig};
use actix_web::{Error, HttpMessage as _};
use futures_util::FutureExt as _;
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
/// Wrap the route (`web::post().to(handler).wrap(..)`, actix-web 4.1 and later) rather than
/// the resource: a request of another method (a `GET` from a monitor, a `HEAD`) is then
/// answered 405 by actix-web. Wrapped around the resource, the middleware wraps the
/// resource's 405 service too: such requests would run the pipeline, spend the source's
/// rate limit and be answered 401.
///
/// # actix-web's own body extractors
///
/// actix-web's extractors apply limits of their own, lower than a receiver's default 1 MiB
/// (`web::Form` 16 KiB through `FormConfig`; `web::Bytes` and `String` 256 KiB through
/// `PayloadConfig`; `web::Json` 2 MiB through `JsonConfig`), and refuse a larger declared
/// `Content-Length` before reading — with a plain-text 413 of their own, for a delivery the
/// receiver has verified and claimed. Behind the middleware they accept what the receiver
/// accepted: for each request handed on, the middleware adds app data holding a
/// `PayloadConfig`, a `FormConfig` and a `JsonConfig` whose limit is the receiver's
/// [`body_limit`](Receiver::body_limit) (or the handed-on body's length, should a
/// decryptor's plaintext be longer). Such a config registered above the middleware (on the
/// app or an enclosing scope, as `T` or `web::Data<T>`) keeps its other settings (error
/// handler, content types), with that limit. Further in (on the resource, when the
/// middleware wraps a scope), a config registered as `T` is consulted before the
/// middleware's, as actix-web consults the closest app data first; one registered as
/// `web::Data<T>` is not, since actix-web looks for `T` in every container before it looks
/// for `web::Data<T>`. actix-web refuses to add app data while another middleware holds a
/// clone of the request (it panics): the middleware catches that, logs it, and leaves the
/// extractors their own limits; a build with `panic = "abort"` aborts instead, so do not keep
/// such a clone around this middleware.
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
///         .route(web::post().to(on_delivery).wrap(VerifyWebhook::new(receiver))),
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
            configs: extractor_configs(None, None, None, self.receiver.body_limit()),
            receiver: self.receiver.clone(),
        }))
    }
}

/// The service of [`VerifyWebhook`]: verification, the wrapped service, then completing or
/// releasing the claim.
pub struct VerifyWebhookMiddleware<S> {
    service: Rc<S>,
    receiver: Receiver,
    /// The app data handed on with a request when the app sets none of the configs of
    /// actix-web's body extractors (made once: the usual case costs no allocation).
    configs: Rc<Extensions>,
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
        let configs = Rc::clone(&self.configs);
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
            let limits = configs_for(&request, configs, receiver.body_limit(), body.len());
            add_app_data(&mut request, limits);
            request.set_payload(Payload::from(body.clone()));
            request.extensions_mut().insert(Layered {
                receiver,
                proof,
                body,
                url,
                slot: slot.clone(),
            });
            let span = delivery.span().clone();
            let called = AssertUnwindSafe(service.call(request).instrument(span));
            let result = match called.catch_unwind().await {
                Ok(result) => result,
                Err(panic) => {
                    // The handler panicked: its claims are released, and the release waited
                    // for (so the sender's retry is processed, on a networked store too),
                    // before the panic goes on as it would without the middleware.
                    delivery.adopt(&slot);
                    delivery.finish(false).await;
                    std::panic::resume_unwind(panic);
                }
            };
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

/// The configs of actix-web's body extractors (`web::Bytes` / `String`, `web::Form`,
/// `web::Json`) for a handed-on body of `len` bytes: the app's own (`T`, else `web::Data<T>`,
/// as actix-web looks them up), else the defaults, with the limit raised or lowered to what
/// the receiver accepted.
fn configs_for(
    request: &ServiceRequest,
    made: Rc<Extensions>,
    body_limit: usize,
    len: usize,
) -> Rc<Extensions> {
    fn find<T: 'static>(request: &ServiceRequest) -> Option<&T> {
        request
            .app_data::<T>()
            .or_else(|| request.app_data::<Data<T>>().map(|data| data.get_ref()))
    }
    let payload = find::<PayloadConfig>(request);
    let form = find::<FormConfig>(request);
    let json = find::<JsonConfig>(request);
    let limit = body_limit.max(len);
    if limit == body_limit && payload.is_none() && form.is_none() && json.is_none() {
        return made;
    }
    extractor_configs(payload, form, json, limit)
}

/// App data holding the configs of actix-web's body extractors, each (`given`, else the
/// default) with `limit`.
fn extractor_configs(
    payload: Option<&PayloadConfig>,
    form: Option<&FormConfig>,
    json: Option<&JsonConfig>,
    limit: usize,
) -> Rc<Extensions> {
    let mut configs = Extensions::new();
    configs.insert(payload.cloned().unwrap_or_default().limit(limit));
    configs.insert(form.cloned().unwrap_or_default().limit(limit));
    configs.insert(json.cloned().unwrap_or_default().limit(limit));
    Rc::new(configs)
}

/// Add `data` to the request's app data. As for [`plaintext_headers`], actix-web allows it
/// only while the middleware holds the one handle of the request (it panics otherwise, as it
/// does for a resource's own app data): the panic is caught and logged, and the request goes
/// on with the extractors' own limits.
fn add_app_data(request: &mut ServiceRequest, data: Rc<Extensions>) {
    let added = std::panic::catch_unwind(AssertUnwindSafe(|| request.add_data_container(data)));
    if added.is_err() {
        tracing::error!(
            route = request.match_pattern().as_deref().unwrap_or("(no route)"),
            "VerifyWebhook could not give actix-web's body extractors the receiver's limit: a \
             middleware wrapped around it keeps a clone of the HttpRequest across the call; \
             their own limits apply"
        );
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
