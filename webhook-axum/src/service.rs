//! [`VerifyWebhook`], the service of [`VerifyWebhookLayer`](crate::VerifyWebhookLayer).

use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use axum::RequestExt as _;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::request::Parts;
use tower_service::Service;
use tracing::Instrument as _;
use webhook_core::{Accepted, Delivery, LeaseSlot, Proof, Receiver, VerifyError};

use crate::WebhookRejection;
use crate::body::{Authenticated, authenticate, fail};
use crate::future::ResponseFuture;
use crate::rejection::{RejectedKind, reply_response};

/// What the layer verified, for the extractors behind it.
#[derive(Clone)]
pub(crate) struct Layered {
    pub(crate) receiver: Receiver,
    pub(crate) proof: Proof,
    pub(crate) body: Bytes,
    pub(crate) url: Option<String>,
    pub(crate) slot: LeaseSlot,
}

/// Verifies requests before `S` sees them and finishes their claims by `S`'s response.
/// Made by [`VerifyWebhookLayer`](crate::VerifyWebhookLayer).
#[derive(Debug, Clone)]
pub struct VerifyWebhook<S> {
    inner: S,
    receiver: Receiver,
}

impl<S> VerifyWebhook<S> {
    /// Wrap `inner`.
    pub fn new(inner: S, receiver: Receiver) -> Self {
        Self { inner, receiver }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S> Service<Request> for VerifyWebhook<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone is not ready; keep it and call the ready one (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // Verification and the claim run in a future of their own, made here: the response
        // future then holds neither the request nor that work's state while the handler runs
        // (it stays small enough for the allocator's fast path).
        let (parts, body) = request.with_limited_body().into_parts();
        let prepared = Box::pin(prepare(self.receiver.clone(), parts, body));
        ResponseFuture::new(async move {
            let (mut delivery, slot, span, call) = match prepared.await {
                Ok(Prepared {
                    delivery,
                    slot,
                    request,
                }) => {
                    let span = delivery.span().clone();
                    (delivery, slot, span, inner.call(request))
                }
                Err(response) => return Ok(response),
            };
            let result = match AssertUnwindSafe(call.instrument(span)).catch_unwind().await {
                Ok(result) => result,
                Err(panic) => {
                    // The handler panicked: its claims are released, and the release waited
                    // for (so the sender's retry is processed, on a networked store too),
                    // before the panic goes on to the server as it would without the layer.
                    delivery.adopt(&slot);
                    delivery.finish(false).await;
                    std::panic::resume_unwind(panic);
                }
            };
            delivery.adopt(&slot);
            if let Some(error) = delivery.take_rejection() {
                // `Webhook<E>` refused the delivery. A handler that took the rejection as a
                // value (`Result<Webhook<E>, _>`) and answered for itself is overruled, as
                // the rocket fairing does: the delivery was not handed on.
                let passed_on =
                    matches!(&result, Ok(r) if r.extensions().get::<RejectedKind>().is_some());
                let answer = (!passed_on).then(|| {
                    WebhookRejection::error(delivery.reply_for(&error), error.answer_copy())
                        .into_response()
                });
                delivery.finish_rejected(error).await;
                return match answer {
                    Some(answer) => Ok(answer),
                    None => result,
                };
            }
            if let Some(reply) = delivery.take_duplicate_answer() {
                // `Webhook<E>` found a duplicate by the event's own id and the handler, taking
                // it as a value, answered for itself: the sender is told `duplicate`.
                delivery.finish(true).await;
                return Ok(reply_response(reply));
            }
            match &result {
                Ok(response) => match response.extensions().get::<RejectedKind>() {
                    Some(RejectedKind(kind)) => {
                        delivery.finish_rejected(VerifyError::new(*kind)).await;
                    }
                    None => delivery.finish(response.status().is_success()).await,
                },
                Err(_) => delivery.finish(false).await,
            }
            result
        })
    }
}

/// A delivery that passed every check and holds its claim, with the request to hand on.
struct Prepared {
    delivery: Delivery,
    slot: LeaseSlot,
    request: Request,
}

/// Admission, authentication and the claim; the request rebuilt for the handler with what
/// was verified in its extensions. `Err` is the response for a rejection or a duplicate.
// A plain function returning an `async move` block rather than an `async fn`: the block
// uses its captures in place, where an `async fn` would also copy its arguments into locals.
#[allow(clippy::manual_async_fn)]
fn prepare(
    receiver: Receiver,
    parts: Parts,
    body: Body,
) -> impl Future<Output = Result<Prepared, Response>> + Send {
    async move {
        let Authenticated {
            body,
            url,
            mut delivery,
        } = authenticate(&receiver, &parts, body)
            .await
            .map_err(IntoResponse::into_response)?;
        let proof = match delivery.accept_raw().await {
            Ok(Accepted::Fresh(proof)) => proof,
            Ok(Accepted::Duplicate(reply)) => return Err(reply_response(reply)),
            Err(error) => return Err(fail(&delivery, error).into_response()),
        };
        let slot = LeaseSlot::new();
        let mut parts = parts;
        if receiver.decrypts() {
            plaintext_headers(&receiver, &mut parts, body.len());
        }
        let mut request = Request::from_parts(parts, Body::from(body.clone()));
        request.extensions_mut().insert(Layered {
            receiver,
            proof,
            body,
            url,
            slot: slot.clone(),
        });
        Ok(Prepared {
            delivery,
            slot,
            request,
        })
    }
}

/// The handler gets the plaintext: its length and content type replace the sealed body's
/// (and its framing: the body is whole now).
fn plaintext_headers(receiver: &Receiver, parts: &mut Parts, len: usize) {
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    if let Some(content_type) = receiver
        .plaintext_content_type()
        .and_then(|ct| http::HeaderValue::from_str(ct).ok())
    {
        parts
            .headers
            .insert(http::header::CONTENT_TYPE, content_type);
    }
}
