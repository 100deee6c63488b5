//! The one place the adapter orchestrates the core pipeline after authentication: the
//! dedupe claim (by message id, else the event's id, else the signature), the duplicate
//! answer, decoding, and finishing the claim. Everything else in the crate is plumbing.

use actix_web::Error;
use actix_web::dev::ServiceResponse;
use actix_web::web::Bytes;
use tracing::Span;
use webhook_core::{
    Claimed, DedupeKey, Delivery, LeaseSlot, Proof, Receiver, Reply, VerifyError, VerifyErrorKind,
    WebhookEvent, WebhookRequest,
};

use crate::WebhookRejection;
use crate::request::{fail, reject};

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
pub(crate) trait Accept: Sized {
    /// The event's own id, a dedupe key when the scheme proves no message id.
    fn event_id(view: &WebhookRequest<'_>) -> Result<Option<String>, VerifyError>;
    /// Decode (and validate) the delivery.
    fn decode(view: &WebhookRequest<'_>, proof: &Proof) -> Result<Self, VerifyError>;
    /// The event type, recorded and reported in a duplicate answer.
    fn event_type(&self) -> Option<&str>;
}

impl Accept for Proof {
    fn event_id(_: &WebhookRequest<'_>) -> Result<Option<String>, VerifyError> {
        Ok(None)
    }
    fn decode(_: &WebhookRequest<'_>, proof: &Proof) -> Result<Self, VerifyError> {
        Ok(proof.clone())
    }
    fn event_type(&self) -> Option<&str> {
        None
    }
}

impl<E: WebhookEvent> Accept for crate::Webhook<E> {
    fn event_id(view: &WebhookRequest<'_>) -> Result<Option<String>, VerifyError> {
        E::event_id(view).map_err(Into::into)
    }
    fn decode(view: &WebhookRequest<'_>, _: &Proof) -> Result<Self, VerifyError> {
        E::decode(view).map(Self).map_err(Into::into)
    }
    fn event_type(&self) -> Option<&str> {
        Some(self.0.event_type())
    }
}

/// Who holds the delivery.
#[allow(
    clippy::large_enum_variant,
    reason = "built once per request and moved once, into `run_pipeline`"
)]
pub(crate) enum Entry<'a> {
    /// An extractor on a route without the middleware: nothing sees the handler's response,
    /// so the claim is completed as soon as the value is extracted.
    Alone(Delivery),
    /// The middleware: the claim is left for [`settle`] with the handler's response.
    Middleware(&'a mut Delivery),
    /// An extractor behind the middleware, which holds the delivery; a claim of the event's
    /// own id is parked in the middleware's slot.
    Layered(&'a Layered),
}

/// Claim, answer duplicates, decode, and (for [`Entry::Alone`]) finish.
pub(crate) async fn run_pipeline<T: Accept>(
    entry: Entry<'_>,
    view: &WebhookRequest<'_>,
) -> Result<T, WebhookRejection> {
    match entry {
        Entry::Alone(mut delivery) => {
            let value = claim_and_decode::<T>(&mut delivery, view).await?;
            delivery.finish(true).await;
            Ok(value)
        }
        Entry::Middleware(delivery) => claim_and_decode::<T>(delivery, view).await,
        Entry::Layered(layered) => {
            let failed =
                |e: VerifyError| WebhookRejection::error(layered.receiver.reply_for(&e), e);
            if layered.proof.message_id().is_none()
                && let Some(id) = T::event_id(view).map_err(failed)?
            {
                Span::current().record("message_id", id.as_str());
                match layered
                    .receiver
                    .claim(&DedupeKey::EventId(id.clone()))
                    .await
                {
                    Ok(Claimed::Fresh(lease)) => {
                        if let Some(lease) = lease {
                            layered.slot.park(lease);
                        }
                    }
                    Ok(Claimed::Duplicate) => {
                        let decoded = T::decode(view, &layered.proof).ok();
                        let event_type = decoded.as_ref().and_then(T::event_type);
                        let reply = Reply::duplicate(event_type, Some(&id));
                        return Err(WebhookRejection::duplicate(reply));
                    }
                    Err(error) => return Err(failed(error)),
                }
            }
            let value = T::decode(view, &layered.proof).map_err(failed)?;
            if let Some(event_type) = value.event_type() {
                Span::current().record("event_type", event_type);
            }
            Ok(value)
        }
    }
}

async fn claim_and_decode<T: Accept>(
    delivery: &mut Delivery,
    view: &WebhookRequest<'_>,
) -> Result<T, WebhookRejection> {
    let Some(proof) = delivery.proof().cloned() else {
        let error = VerifyError::new(VerifyErrorKind::NotConfigured);
        return Err(reject(delivery, error));
    };
    let event_id = if proof.message_id().is_some() {
        None
    } else {
        T::event_id(view).map_err(|e| reject(delivery, e))?
    };
    if !delivery
        .claim(event_id.as_deref())
        .await
        .map_err(|e| fail(delivery, e))?
    {
        if let Some(event_type) = T::decode(view, &proof)
            .ok()
            .as_ref()
            .and_then(T::event_type)
        {
            delivery.record_event_type(event_type);
        }
        return Err(WebhookRejection::duplicate(delivery.duplicate_reply()));
    }
    let value = T::decode(view, &proof).map_err(|e| reject(delivery, e))?;
    if let Some(event_type) = value.event_type() {
        delivery.record_event_type(event_type);
    }
    Ok(value)
}

/// Finish the middleware's delivery by the handler's outcome: a 2xx response completes every
/// claim (the middleware's and those parked in `slot`), a rejection records its reason, and
/// anything else releases them so the sender's retry is processed. A panic never gets here:
/// the delivery and the slot are dropped while it unwinds, which releases.
pub(crate) async fn settle<B>(
    mut delivery: Delivery,
    slot: &LeaseSlot,
    result: &Result<ServiceResponse<B>, Error>,
) {
    delivery.adopt_leases(slot.take());
    let Ok(response) = result else {
        return delivery.finish(false).await;
    };
    let rejected = response
        .response()
        .error()
        .and_then(|e| e.as_error::<WebhookRejection>())
        .and_then(WebhookRejection::kind);
    match rejected {
        Some(kind) => drop(delivery.reject(VerifyError::new(kind))),
        None => delivery.finish(response.status().is_success()).await,
    }
}
