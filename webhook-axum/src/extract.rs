//! The extractors: [`Webhook<E>`] (typed event), [`Verified`] (raw bytes and proof) and
//! [`WebhookProof`] (the proof, next to another body extractor, under the layer).

use std::fmt;

use axum::RequestExt as _;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::request::Parts;
use webhook_core::{Accepted, Proof, Receiver, Reply, VerifyError, VerifyErrorKind, WebhookEvent};

use crate::WebhookRejection;
use crate::body::{Authenticated, authenticate, fail, view};
use crate::service::Layered;

/// Extracts a verified, fresh, deduplicated, decoded and validated event.
///
/// The [`Receiver`] comes from the router's state (`Receiver: FromRef<S>`; without one the
/// handler does not compile). Behind a [`VerifyWebhookLayer`](crate::VerifyWebhookLayer), the
/// layer's receiver is used instead: the layer has already verified and claimed the
/// delivery, and this only decodes it (claiming
/// the event's id too when the scheme has no message id); the handler's response then
/// decides whether the claim is completed (2xx) or released.
///
/// - Succeeds with the event.
/// - Rejects with 413 when the body exceeds the receiver's limit or axum's
///   `DefaultBodyLimit`; 415 for a content type the receiver does not accept (or a `Content-Encoding`); 403 for a
///   source not allowed or HTTP where HTTPS is required; 429 (+ `Retry-After`) when the
///   source is rate limited; 401 for missing, malformed or wrong credentials or signatures
///   and stale timestamps (+ `WWW-Authenticate` for Basic/Bearer); 409 (+ `Retry-After`)
///   while the same delivery is in flight; 503 (+ `Retry-After`) when the replay store is
///   unavailable; 400 for a body that is not JSON, cannot be read (the connection failed
///   mid-body) or cannot be decrypted (a receiver with a decryptor); 422 for an unknown event
///   type or a failed rule; 503 (+ `Retry-After`) for a key that must be fetched and is not
///   yet available (a signing certificate, a JWT key set).
/// - Answers 200 `{"event_type","id","duplicate":true}` for a duplicate of a processed
///   delivery, without running the handler.
///
/// # The layer
///
/// A delivery's claim is completed when the handler answers 2xx and released otherwise (so
/// the sender's retry is processed), which only [`VerifyWebhookLayer`](crate::VerifyWebhookLayer)
/// can see. Without the layer, a receiver with a replay store (the default) is refused with
/// 500 `not_configured` and an error log; a receiver built `without_replay_protection` works
/// without it.
///
/// Used alone that way, the extractor finishes the delivery as soon as it has the event,
/// before the handler runs, since nothing else will ever see the outcome: it is recorded as
/// handed on (its span's outcome is `handed_on`, counted in
/// [`Stats::handed_on`](webhook_core::Stats::handed_on)), neither accepted nor failed, and
/// its source does not become one a [`rate_limit`](webhook_core::ReceiverBuilder::rate_limit)
/// trusts. Behind the layer, and in the rocket adapter always, both wait for the handler's
/// response: 2xx counts in `accepted` and earns the source trust, anything else counts in
/// `handler_failures`. The same holds for [`Verified`]. Put the layer on the route when the
/// outcome matters.
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
/// Outcomes as [`Webhook`], without the decoding ones (400 / 422); a body that cannot be
/// decrypted is still a 400. Without the layer, the delivery is recorded as handed on once
/// extracted, whatever the handler answers: see [`Webhook`'s "The layer"](Webhook#the-layer).
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

/// Extracts what the verifier proved, next to another body extractor (`Json<T>`,
/// [`Webhook<E>`]), on a route behind [`VerifyWebhookLayer`](crate::VerifyWebhookLayer).
///
/// - Succeeds behind the layer.
/// - Rejects with 500 (`not_configured`, logged) on a route without the layer.
#[derive(Debug, Clone)]
pub struct WebhookProof(pub Proof);

impl<S: Send + Sync> FromRequestParts<S> for WebhookProof {
    type Rejection = WebhookRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, WebhookRejection> {
        match parts.extensions.get::<Layered>() {
            Some(layered) => Ok(Self(layered.proof.clone())),
            None => {
                // The client gets the standard message, the same in every adapter; the log
                // says what is missing.
                let error = VerifyError::new(VerifyErrorKind::NotConfigured);
                tracing::error!("WebhookProof used on a route without VerifyWebhookLayer");
                Err(WebhookRejection::error(Reply::from_error(&error), error))
            }
        }
    }
}

/// Without the layer nothing sees the handler's response, so a claim could be neither
/// completed on success nor released on failure: a receiver with a replay store is refused
/// there (500, logged) rather than silently marking deliveries done before the handler runs.
fn refuse_claims_without_the_layer(receiver: &Receiver) -> Option<WebhookRejection> {
    if !receiver.has_replay_store() {
        return None;
    }
    tracing::error!(
        "webhook extractor without VerifyWebhookLayer on a receiver with a replay store: add \
         `.route_layer(VerifyWebhookLayer::new(receiver))` to the route; refusing the delivery"
    );
    // The standard reply, as for every configuration fault in every adapter.
    let error = VerifyError::new(VerifyErrorKind::NotConfigured);
    Some(WebhookRejection::error(Reply::from_error(&error), error))
}

fn layered_error(layered: &Layered, error: VerifyError) -> WebhookRejection {
    WebhookRejection::error(layered.receiver.reply_for(&error), error)
}

impl<E, S> FromRequest<S> for Webhook<E>
where
    E: WebhookEvent + Send + 'static,
    S: Send + Sync,
    Receiver: FromRef<S>,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, WebhookRejection> {
        let (mut parts, body) = request.into_parts();
        if let Some(layered) = parts.extensions.remove::<Layered>() {
            let view = view(&parts, &layered.body, layered.url.as_deref());
            return match layered
                .receiver
                .accept_layered::<E>(&layered.proof, &layered.slot, &view)
                .await
            {
                Ok(Accepted::Fresh(event)) => Ok(Self(event)),
                Ok(Accepted::Duplicate(reply)) => Err(WebhookRejection::duplicate(reply)),
                Err(error) => Err(layered_error(&layered, error)),
            };
        }

        let receiver = Receiver::from_ref(state);
        if let Some(rejection) = refuse_claims_without_the_layer(&receiver) {
            return Err(rejection);
        }
        let (parts, body) = Request::from_parts(parts, body)
            .with_limited_body()
            .into_parts();
        let Authenticated {
            body,
            url,
            mut delivery,
        } = authenticate(&receiver, &parts, body).await?;
        let view = view(&parts, &body, url.as_deref());
        match delivery.accept::<E>(&view).await {
            Ok(Accepted::Fresh(event)) => {
                // Nothing will see the handler's response: recorded as handed on (not as
                // accepted, and its source not trusted by a rate limit).
                delivery.finish_handed_on().await;
                Ok(Self(event))
            }
            Ok(Accepted::Duplicate(reply)) => Err(WebhookRejection::duplicate(reply)),
            Err(error) => Err(fail(&delivery, error)),
        }
    }
}

impl<S> FromRequest<S> for Verified
where
    S: Send + Sync,
    Receiver: FromRef<S>,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, WebhookRejection> {
        if let Some(layered) = request.extensions().get::<Layered>() {
            layered.slot.hand_on();
            return Ok(Self {
                proof: layered.proof.clone(),
                body: layered.body.clone(),
            });
        }
        let receiver = Receiver::from_ref(state);
        if let Some(rejection) = refuse_claims_without_the_layer(&receiver) {
            return Err(rejection);
        }
        let (parts, body) = request.with_limited_body().into_parts();
        let Authenticated {
            body, mut delivery, ..
        } = authenticate(&receiver, &parts, body).await?;
        match delivery.accept_raw().await {
            Ok(Accepted::Fresh(proof)) => {
                // Nothing will see the handler's response: recorded as handed on (not as
                // accepted, and its source not trusted by a rate limit).
                delivery.finish_handed_on().await;
                Ok(Self { proof, body })
            }
            Ok(Accepted::Duplicate(reply)) => Err(WebhookRejection::duplicate(reply)),
            Err(error) => Err(fail(&delivery, error)),
        }
    }
}
