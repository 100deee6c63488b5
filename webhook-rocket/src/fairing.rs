//! [`WebhookFairing`] and the request-local [`Slot`] it shares with the guards.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::request::Request;
use rocket::response::Response;
use rocket::{Build, Rocket};
use webhook_core::{Delivery, Receiver, Reply, VerifyError, VerifyErrorKind};

use crate::Receivers;
use crate::rejection::replace_with_reply;

/// What one request's guard leaves for the response phase.
#[derive(Default)]
pub(crate) struct SlotState {
    /// An accepted delivery holding its claims, finished by the handler's response.
    pub(crate) delivery: Option<Delivery>,
    /// A guard's rejection, to replace the catcher's page.
    pub(crate) rejection: Option<Reply>,
    /// The handler answered with a [`WebhookRejection`](crate::WebhookRejection) of this kind.
    pub(crate) handler_rejected: Option<VerifyErrorKind>,
}

/// The request-local cache entry of the adapter.
#[derive(Default)]
pub(crate) struct Slot(Mutex<SlotState>);

impl Slot {
    pub(crate) fn of<'r>(request: &'r Request<'_>) -> &'r Self {
        request.local_cache(Self::default)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Managed by [`WebhookFairing`] when it is attached; without it the guards' sentinels stop
/// the launch, and a guard that runs anyway refuses.
#[derive(Debug)]
pub(crate) struct Attached;

/// The response side of the adapter; attach it once to every rocket that mounts a route with
/// a [`Webhook`](crate::Webhook) or [`Verified`](crate::Verified) guard.
///
/// - A delivery a guard rejected is answered with its rejection (status, JSON body,
///   `Retry-After`, `WWW-Authenticate`), replacing the page of rocket's catcher — or the
///   response of a handler that took `Result<Webhook<E>, WebhookRejection>` and answered for
///   itself. The whole response is replaced, as the other adapters answer with a response of
///   their own: none of its headers (`Set-Cookie`, including the cookie jar's, `Location`,
///   `Cache-Control`, …) is kept, but for `Server` and the policy headers of rocket's
///   `Shield`. A response fairing attached before this one adds its headers to the response
///   that is replaced: attach one whose headers rejections must carry after
///   `WebhookFairing`.
/// - An accepted delivery's idempotency claim is completed when the response is 2xx and
///   released otherwise — a handler error, a handler answering with a
///   [`WebhookRejection`](crate::WebhookRejection) (its reason is recorded), or a panic
///   (rocket answers 500) — so the sender's retry is processed again. Rocket runs each
///   request to its end in a task of its own, even when the client has gone away: the
///   handler finishes, and its outcome completes or releases the claim as above. (Should a
///   request's state be dropped before its response, its claim is released then.)
///
/// Without the fairing a rocket whose routes take the guards does not launch: the guards'
/// sentinels abort it, with an error log. (A guard also checks at each request and refuses
/// with 500 `not_configured` should it ever run without the fairing.) At ignition the
/// fairing logs an error when the rocket manages neither a
/// [`Receiver`](webhook_core::Receiver) nor [`Receivers`].
///
/// # Examples
///
/// ```
/// use webhook_core::{Receiver, Secret, StandardWebhooks};
/// use webhook_rocket::WebhookFairing;
///
/// let receiver = Receiver::builder().verifier(StandardWebhooks::new(Secret::random(24))?).build()?;
/// let _rocket = rocket::build().manage(receiver).attach(WebhookFairing);
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookFairing;

#[rocket::async_trait]
impl Fairing for WebhookFairing {
    fn info(&self) -> Info {
        Info {
            name: "webhook",
            kind: Kind::Ignite | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if rocket.state::<Receiver>().is_none() && rocket.state::<Receivers>().is_none() {
            tracing::error!(
                "WebhookFairing is attached but the rocket manages no webhook Receiver nor \
                 Receivers: every webhook route will answer 500 not_configured"
            );
        }
        if rocket.state::<Attached>().is_some() {
            Ok(rocket)
        } else {
            Ok(rocket.manage(Attached))
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let (delivery, rejection, handler_rejected) = {
            let mut slot = Slot::of(request).lock();
            (
                slot.delivery.take(),
                slot.rejection.take(),
                slot.handler_rejected.take(),
            )
        };
        if let Some(reply) = rejection {
            // A new response, not the handler's (or the catcher's) edited: none of its
            // headers (`Set-Cookie`, `Location`, …) may ride on the rejection.
            replace_with_reply(response, reply);
        }
        if let Some(delivery) = delivery {
            match handler_rejected {
                // Recorded as that rejection; the claims are released before the answer.
                Some(kind) => delivery.finish_rejected(VerifyError::new(kind)).await,
                None => {
                    delivery
                        .finish(response.status().class().is_success())
                        .await
                }
            }
        }
    }
}
