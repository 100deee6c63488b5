//! The one place the adapter orchestrates the core pipeline after authentication: the
//! dedupe claim (by message id, else the event's id, else the signature), the duplicate
//! answer, decoding, and finishing the claim. Everything else in the crate is plumbing.

use actix_web::Error;
use actix_web::dev::ServiceResponse;
use actix_web::web::Bytes;
use webhook_core::{
    Accepted, Delivery, LeaseSlot, Proof, Receiver, VerifyError, WebhookEvent, WebhookRequest,
};

use crate::WebhookRejection;
use crate::request::fail;

/// What [`VerifyWebhook`](crate::VerifyWebhook) verified, for the extractors behind it
/// (in the request's extensions).
#[derive(Clone)]
pub(crate) struct Layered {
    pub(crate) receiver: Receiver,
    pub(crate) proof: Proof,
    pub(crate) body: Bytes,
    pub(crate) url: Option<String>,
    pub(crate) slot: LeaseSlot,
}

/// What a caller takes out of an authenticated delivery: a typed event, or the proof alone.
/// Both go through core's one call for the steps after authentication.
pub(crate) trait Accept: Sized {
    /// Claim and decode through the delivery.
    async fn accept(
        delivery: &mut Delivery,
        view: &WebhookRequest<'_>,
    ) -> Result<Accepted<Self>, VerifyError>;
    /// Claim (the event id) and decode behind the middleware, which holds the delivery.
    async fn accept_layered(
        layered: &Layered,
        view: &WebhookRequest<'_>,
    ) -> Result<Accepted<Self>, VerifyError>;
}

impl Accept for Proof {
    async fn accept(
        delivery: &mut Delivery,
        _: &WebhookRequest<'_>,
    ) -> Result<Accepted<Self>, VerifyError> {
        delivery.accept_raw().await
    }
    async fn accept_layered(
        layered: &Layered,
        _: &WebhookRequest<'_>,
    ) -> Result<Accepted<Self>, VerifyError> {
        // The verified body goes to the handler (`Verified`).
        layered.slot.hand_on();
        Ok(Accepted::Fresh(layered.proof.clone()))
    }
}

impl<E: WebhookEvent> Accept for crate::Webhook<E> {
    async fn accept(
        delivery: &mut Delivery,
        view: &WebhookRequest<'_>,
    ) -> Result<Accepted<Self>, VerifyError> {
        Ok(match delivery.accept::<E>(view).await? {
            Accepted::Fresh(event) => Accepted::Fresh(Self(event)),
            Accepted::Duplicate(reply) => Accepted::Duplicate(reply),
        })
    }
    async fn accept_layered(
        layered: &Layered,
        view: &WebhookRequest<'_>,
    ) -> Result<Accepted<Self>, VerifyError> {
        let accepted = layered
            .receiver
            .accept_layered::<E>(&layered.proof, &layered.slot, view)
            .await?;
        Ok(match accepted {
            Accepted::Fresh(event) => Accepted::Fresh(Self(event)),
            Accepted::Duplicate(reply) => Accepted::Duplicate(reply),
        })
    }
}

/// Who holds the delivery.
#[allow(
    clippy::large_enum_variant,
    reason = "built once per request and moved once, into `run_pipeline`"
)]
pub(crate) enum Entry<'a> {
    /// An extractor on a route without the middleware (a receiver without a replay store):
    /// nothing sees the handler's response, so the delivery is finished as handed on as soon
    /// as the value is extracted (documented on [`Webhook`](crate::Webhook)).
    Alone(Delivery),
    /// The middleware: the claim is left for [`settle`] with the handler's response.
    Middleware(&'a mut Delivery),
    /// An extractor behind the middleware, which holds the delivery; a claim of the event's
    /// own id is parked in the middleware's slot.
    Layered(&'a Layered),
}

/// Claim, answer duplicates, decode (core's one call), and (for [`Entry::Alone`]) finish.
pub(crate) async fn run_pipeline<T: Accept>(
    entry: Entry<'_>,
    view: &WebhookRequest<'_>,
) -> Result<T, WebhookRejection> {
    match entry {
        Entry::Alone(mut delivery) => {
            let value = settle_accepted(T::accept(&mut delivery, view).await, &delivery)?;
            // Nothing will see the handler's response: recorded as handed on (not as
            // accepted, and its source not trusted by a rate limit).
            delivery.finish_handed_on().await;
            Ok(value)
        }
        Entry::Middleware(delivery) => settle_accepted(T::accept(delivery, view).await, delivery),
        Entry::Layered(layered) => match T::accept_layered(layered, view).await {
            Ok(Accepted::Fresh(value)) => Ok(value),
            Ok(Accepted::Duplicate(reply)) => Err(WebhookRejection::duplicate(reply)),
            Err(e) => Err(WebhookRejection::error(layered.receiver.reply_for(&e), e)),
        },
    }
}

/// The value, or the answer to a duplicate or an error (already recorded by core).
fn settle_accepted<T>(
    accepted: Result<Accepted<T>, VerifyError>,
    delivery: &Delivery,
) -> Result<T, WebhookRejection> {
    match accepted {
        Ok(Accepted::Fresh(value)) => Ok(value),
        Ok(Accepted::Duplicate(reply)) => Err(WebhookRejection::duplicate(reply)),
        Err(error) => Err(fail(delivery, error)),
    }
}

/// Finish the middleware's delivery by the handler's outcome: a 2xx response completes every
/// claim (the middleware's and those parked in `slot`; a duplicate the extractor found counts
/// as one), a rejection records its reason, and anything else releases them so the sender's
/// retry is processed. A panic never gets here:
/// the delivery and the slot are dropped while it unwinds, which releases.
///
/// Returns the rejection (or the duplicate's answer) to answer with in place of the
/// handler's response, when an extractor refused the delivery, or found it a duplicate by
/// the event's own id, and the handler answered for itself (taking `Result<Webhook<E>, _>`
/// or `Option<Webhook<E>>`): the delivery was not handed on, as the rocket fairing also
/// answers.
pub(crate) async fn settle<B>(
    mut delivery: Delivery,
    slot: &LeaseSlot,
    result: &Result<ServiceResponse<B>, Error>,
) -> Option<WebhookRejection> {
    delivery.adopt(slot);
    let passed_on = |response: &ServiceResponse<B>| {
        response
            .response()
            .error()
            .and_then(|e| e.as_error::<WebhookRejection>())
            .and_then(WebhookRejection::kind)
    };
    if let Some(error) = delivery.take_rejection() {
        let answer = match result {
            Ok(response) if passed_on(response).is_none() => Some(WebhookRejection::error(
                delivery.reply_for(&error),
                error.answer_copy(),
            )),
            _ => None,
        };
        delivery.finish_rejected(error).await;
        return answer;
    }
    if let Some(reply) = delivery.take_duplicate_answer() {
        // `Webhook<E>` found a duplicate by the event's own id and the handler, taking it as
        // a value, answered for itself: the sender is told `duplicate`.
        delivery.finish(true).await;
        return Some(WebhookRejection::duplicate(reply));
    }
    let Ok(response) = result else {
        delivery.finish(false).await;
        return None;
    };
    match passed_on(response) {
        Some(kind) => delivery.finish_rejected(VerifyError::new(kind)).await,
        None => delivery.finish(response.status().is_success()).await,
    }
    None
}
