//! The extractors: [`Webhook<E>`] (typed event), [`Verified`] (raw bytes and proof) and
//! [`WebhookProof`] (the proof, next to another body extractor, behind the middleware).

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};
use webhook_core::{Proof, WebhookEvent};

use crate::WebhookRejection;
use crate::pipeline::{Accept, Entry, Layered, run_pipeline};
use crate::request::{Authenticated, authenticate, not_configured, receiver, view};

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, WebhookRejection>>>>;

/// Extracts a verified, fresh, deduplicated, decoded and validated event.
///
/// Behind [`VerifyWebhook`](crate::VerifyWebhook), the middleware has already verified and
/// claimed the delivery, and this only decodes it (claiming the event's id too when the
/// scheme has no message id); the handler's response then decides whether the claim is
/// completed (2xx) or released. Without the middleware, the [`Receiver`](webhook_core::Receiver)
/// comes from `app_data`: `web::Data<Receiver>` if registered, else a bare `Receiver`.
///
/// - Succeeds with the event.
/// - Rejects with 413 when the body exceeds the receiver's limit (the body stream is cut there);
///   415 for a content type the receiver does not accept (or a `Content-Encoding`); 403 for a source not allowed or HTTP
///   where HTTPS is required; 429 (+ `Retry-After`) when the source is rate limited; 401 for
///   missing, malformed or wrong credentials or signatures and stale timestamps (+
///   `WWW-Authenticate` for Basic/Bearer); 409 (+ `Retry-After`) while the same delivery is in
///   flight; 503 (+ `Retry-After`) when the replay store is unavailable or a key that must be
///   fetched is not yet (a signing certificate, a JWT key set); 400 for a body that is not JSON,
///   cannot be read or cannot be decrypted; 422 for an unknown event type or a failed rule; 500
///   `not_configured` (logged with `tracing::error!`) when the route has neither the middleware nor
///   a receiver in `app_data`.
/// - Answers 200 `{"event_type","id","duplicate":true}` for a duplicate of a processed
///   delivery, without running the handler.
///
/// # The middleware
///
/// A delivery's claim is completed when the handler answers 2xx and released otherwise (so
/// the sender's retry is processed), which only [`VerifyWebhook`](crate::VerifyWebhook) can
/// see. Without it, a receiver with a replay store (the default) is refused with 500
/// `not_configured` and an error log; a receiver built `without_replay_protection` works
/// from `app_data` alone.
///
/// Used alone that way, the extractor finishes the delivery as soon as it has the event,
/// before the handler runs, since nothing else will ever see the outcome: it is recorded as
/// handed on (its span's outcome is `handed_on`, counted in
/// [`Stats::handed_on`](webhook_core::Stats::handed_on)), neither accepted nor failed, and
/// its source does not become one a [`rate_limit`](webhook_core::ReceiverBuilder::rate_limit)
/// trusts. Behind the middleware, and in the rocket adapter always, both wait for the handler's
/// response: 2xx counts in `accepted` and earns the source trust, anything else counts in
/// `handler_failures`. The same holds for [`Verified`]. Wrap the route in the middleware
/// when the outcome matters.
///
/// # Examples
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use webhook_actix::Webhook;
/// use webhook_core::{Receiver, Secret, StandardWebhooks, WebhookEvent};
/// # #[derive(Debug)] struct Ping;
/// # impl WebhookEvent for Ping {
/// #     fn event_types() -> &'static [&'static str] { &["ping"] }
/// #     fn event_type(&self) -> &str { "ping" }
/// #     fn decode(_: &webhook_core::WebhookRequest<'_>) -> Result<Self, webhook_core::DecodeError> { Ok(Ping) }
/// #     fn json_schema() -> serde_json::Value { serde_json::Value::Null }
/// # }
///
/// async fn on_ping(Webhook(event): Webhook<Ping>) -> HttpResponse {
///     HttpResponse::Ok().body(event.event_type().to_owned())
/// }
///
/// let receiver = Receiver::builder()
///     .verifier(StandardWebhooks::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)?)
///     .build()?;
/// let app = App::new()
///     .app_data(web::Data::new(receiver))
///     .route("/webhooks/ping", web::post().to(on_ping));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// `Debug` shows the event's type, not the event: payload stays out of logs (print the
/// event itself, `webhook.0`, where that is wanted).
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook<E>(pub E);

impl<E: WebhookEvent> fmt::Debug for Webhook<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("event_type", &self.0.event_type())
            .finish_non_exhaustive()
    }
}

/// Extracts the raw body, verified and deduplicated, with what the verifier proved — for
/// handlers that decode by themselves.
///
/// Outcomes as [`Webhook`], without the decoding ones (400 / 422 are the handler's to give,
/// e.g. with [`WebhookRejection::from_error`]); a body that cannot be decrypted is still a
/// 400. Without the middleware, the delivery is recorded as handed on once extracted,
/// whatever the handler answers: see [`Webhook`'s "The middleware"](Webhook#the-middleware).
#[derive(Clone)]
pub struct Verified {
    proof: Proof,
    body: Bytes,
}

impl Verified {
    /// What the verifier proved (scheme, key id, message id, timestamp, subject).
    #[must_use]
    pub fn proof(&self) -> &Proof {
        &self.proof
    }

    /// The body exactly as received and verified (its plaintext, when the receiver decrypts).
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Proof and body.
    #[must_use]
    pub fn into_parts(self) -> (Proof, Bytes) {
        (self.proof, self.body)
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("proof", &self.proof)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Extracts what the verifier proved, next to another body extractor (`web::Json<T>`,
/// [`Webhook<E>`]), on a route wrapped in [`VerifyWebhook`](crate::VerifyWebhook).
///
/// - Succeeds behind the middleware.
/// - Rejects with 500 (`not_configured`, logged with `tracing::error!`) on a route without
///   it.
#[derive(Debug, Clone)]
pub struct WebhookProof(pub Proof);

impl FromRequest for WebhookProof {
    type Error = WebhookRejection;
    type Future = Ready<Result<Self, WebhookRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match request.extensions().get::<Layered>() {
            Some(layered) => Ok(Self(layered.proof.clone())),
            None => {
                tracing::error!(
                    route = request.match_pattern().as_deref().unwrap_or("(no route)"),
                    "WebhookProof used on a route without VerifyWebhook"
                );
                Err(not_configured())
            }
        })
    }
}

/// Verify `request` (or take what the middleware verified) and accept it as `T`.
async fn extract<T: Accept>(
    request: HttpRequest,
    payload: Payload,
) -> Result<(T, Bytes), WebhookRejection> {
    let layered = request.extensions().get::<Layered>().cloned();
    if let Some(layered) = layered {
        let view = view(&request, &layered.body, layered.url.as_deref());
        let value = run_pipeline::<T>(Entry::Layered(&layered), &view).await?;
        return Ok((value, layered.body.clone()));
    }
    let receiver = receiver(&request)?;
    if receiver.has_replay_store() {
        // Nothing here sees the handler's response: a claim could be neither completed on
        // success nor released on failure.
        tracing::error!(
            route = request.match_pattern().as_deref().unwrap_or("(no route)"),
            "webhook extractor without the VerifyWebhook middleware on a receiver with a replay \
             store: wrap the route in `VerifyWebhook::new(receiver)`; refusing the delivery"
        );
        return Err(not_configured());
    }
    let Authenticated {
        body,
        url,
        delivery,
    } = authenticate(&receiver, &request, payload).await?;
    let view = view(&request, &body, url.as_deref());
    let value = run_pipeline::<T>(Entry::Alone(delivery), &view).await?;
    Ok((value, body))
}

impl<E: WebhookEvent + 'static> FromRequest for Webhook<E> {
    type Error = WebhookRejection;
    type Future = Extracting<Self>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (request, payload) = (request.clone(), payload.take());
        Box::pin(async move {
            extract::<Self>(request, payload)
                .await
                .map(|(hook, _)| hook)
        })
    }
}

impl FromRequest for Verified {
    type Error = WebhookRejection;
    type Future = Extracting<Self>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (request, payload) = (request.clone(), payload.take());
        Box::pin(async move {
            let (proof, body) = extract::<Proof>(request, payload).await?;
            Ok(Self { proof, body })
        })
    }
}
