//! The axum router of the SES example: `POST /webhooks/ses` behind `VerifyWebhookLayer` with
//! an Amazon SNS verifier; the handler reads the envelope and the SES event inside it.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use webhook::axum::{Verified, VerifyWebhookLayer, WebhookRejection};
use webhook::provider::sns::{self, MessageType, SnsVerifier};
use webhook::{
    ConfigError, RateLimit, Receiver, ReceiverBuilder, SharedClock, WebhookEvent, WebhookPayload,
};

/// What the handler did with each verified message, for tests and the log: the last
/// [`INBOX_LEN`] of each kind, so that a receiver left running keeps bounded memory.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    /// `(SNS MessageId, SES event type)` of each notification processed.
    pub events: Arc<Mutex<Vec<(String, String)>>>,
    /// The `SubscribeURL` of each subscription confirmation.
    pub confirmations: Arc<Mutex<Vec<String>>>,
}

/// How many entries of each kind an [`Inbox`] keeps.
pub const INBOX_LEN: usize = 1000;

/// Append `item`, dropping the oldest entries beyond [`INBOX_LEN`].
fn keep<T>(list: &Mutex<Vec<T>>, item: T) {
    let mut list = list
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    list.push(item);
    let excess = list.len().saturating_sub(INBOX_LEN);
    list.drain(..excess);
}

/// The router's state.
#[derive(Debug, Clone)]
pub struct AppState {
    pub receiver: Receiver,
    pub inbox: Inbox,
}

impl FromRef<AppState> for Receiver {
    fn from_ref(state: &AppState) -> Self {
        state.receiver.clone()
    }
}

/// The SES sending events the example handles, as SES's event publishing writes them
/// (`eventType` beside the event's own object); any other type is a 422.
#[derive(Debug, WebhookEvent)]
#[webhook(tag = "eventType", id = "mail.messageId")]
pub enum SesEvent {
    /// A recipient's server refused the message.
    Bounce {
        #[webhook(nested)]
        bounce: SesBounce,
        #[webhook(nested)]
        mail: SesMail,
    },
    /// A recipient reported it as spam.
    Complaint {
        #[webhook(nested)]
        mail: SesMail,
    },
    /// A recipient's server accepted it.
    Delivery {
        #[webhook(nested)]
        mail: SesMail,
    },
}

/// The message an event is about.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct SesMail {
    /// SES's id of the message.
    #[serde(rename = "messageId")]
    #[webhook(non_empty)]
    pub message_id: String,
}

/// What bounced.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct SesBounce {
    /// `Permanent`, `Transient` or `Undetermined`.
    #[serde(rename = "bounceType")]
    #[webhook(one_of("Permanent", "Transient", "Undetermined"))]
    pub bounce_type: String,
}

/// The receiver of the route: SNS sends `text/plain; charset=UTF-8` unless its delivery policy
/// sets `application/json`; both are accepted. Each source gets 50 requests a second (a burst
/// of 100): an RSA check costs about 0.2 ms, and a route that fetches certificates spends
/// its fetches only on what the limit lets through. SNS drops a message answered with any
/// 4xx, so the limit's 429 and an in-flight copy's 409 are answered 503, which it retries.
pub fn receiver(verifier: SnsVerifier) -> Result<Receiver, ConfigError> {
    builder(verifier).build()
}

/// The same receiver with its rate limiter and store on `clock` (tests).
#[allow(dead_code)] // used by the tests
pub fn receiver_on(verifier: SnsVerifier, clock: SharedClock) -> Result<Receiver, ConfigError> {
    builder(verifier).clock(clock).build()
}

fn builder(verifier: SnsVerifier) -> ReceiverBuilder {
    Receiver::builder()
        .route("ses")
        .verifier(verifier)
        .content_type("text/plain")
        .content_type("application/json")
        .rate_limit(RateLimit::per_second(50).burst(100))
        .retryable_as_503(true)
}

fn reply(message_type: MessageType, event_type: Option<&str>, id: &str) -> Response {
    axum::Json(serde_json::json!({
        "message_type": message_type.as_str(),
        "event_type": event_type,
        "id": id,
        "duplicate": false,
    }))
    .into_response()
}

async fn ses(State(state): State<AppState>, hook: Verified) -> Response {
    let envelope = match sns::Envelope::from_slice(hook.body()) {
        Ok(envelope) => envelope,
        Err(error) => return WebhookRejection::from_error(&state.receiver, error).into_response(),
    };
    match envelope.message_type {
        MessageType::Notification => match envelope.decode_message::<SesEvent>() {
            Ok(event) => {
                let ses_message_id = match &event {
                    SesEvent::Bounce { mail, .. }
                    | SesEvent::Complaint { mail }
                    | SesEvent::Delivery { mail } => &mail.message_id,
                };
                tracing::info!(
                    event_type = event.event_type(),
                    %ses_message_id,
                    "SES event"
                );
                keep(
                    &state.inbox.events,
                    (envelope.message_id.clone(), event.event_type().to_owned()),
                );
                reply(
                    envelope.message_type,
                    Some(event.event_type()),
                    &envelope.message_id,
                )
            }
            // A non-2xx answer releases the claim, so the message is processed if it comes
            // again. SNS retries 5xx answers (for up to an hour) but never a 4xx: answer 5xx
            // for a failure of your own, such as a database that is down.
            Err(error) => {
                WebhookRejection::from_error(&state.receiver, error.into()).into_response()
            }
        },
        MessageType::SubscriptionConfirmation => {
            // The subscription becomes active when its SubscribeURL is visited (an HTTP GET).
            // This example has no HTTP client: it logs the URL (signed by SNS, so it is
            // Amazon's) for an operator to open.
            let url = envelope.subscribe_url.clone().unwrap_or_default();
            tracing::warn!(
                topic = %envelope.topic_arn,
                subscribe_url = %url,
                "confirm the SNS subscription by visiting its SubscribeURL"
            );
            keep(&state.inbox.confirmations, url);
            reply(envelope.message_type, None, &envelope.message_id)
        }
        other => reply(other, None, &envelope.message_id),
    }
}

/// The router: `POST /webhooks/ses`.
pub fn app(receiver: Receiver, inbox: Inbox) -> Router {
    Router::new().route(
        "/webhooks/ses",
        post(ses)
            .route_layer(VerifyWebhookLayer::new(receiver.clone()))
            .with_state(AppState { receiver, inbox }),
    )
}
