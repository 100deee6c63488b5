//! The data guards [`Webhook<E>`] and [`Verified`]: state lookup, body reading under the
//! limits, the core request view, and one call into the pipeline ([`run_pipeline`]).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use rocket::data::{self, ByteUnit, Data, FromData};
use rocket::outcome::Outcome;
use rocket::request::Request;
use webhook_core::{
    Accepted, Delivery, Proof, Receiver, Reply, VerifyError, VerifyErrorKind, WebhookEvent,
    WebhookRequest,
};

use crate::Receivers;
use crate::WebhookRejection;
use crate::fairing::{Attached, Slot};

/// The data guard of a verified, fresh, deduplicated, decoded and validated event.
///
/// The [`Receiver`] comes from managed state (a [`Receivers`] entry for the route's path, else
/// a managed `Receiver`); [`WebhookFairing`](crate::WebhookFairing) must be attached. The
/// handler's response decides whether the claim is completed (2xx) or released.
///
/// - Succeeds with the event and the [`Proof`].
/// - Rejects with 413 when the body exceeds the receiver's limit or rocket's data limit `webhook`;
///   415 for a content type the receiver does not accept (or a `Content-Encoding`); 403 for a source not allowed or HTTP
///   where HTTPS is required; 429 (+ `Retry-After`) when the source is rate limited; 401 for
///   missing, malformed or wrong credentials or signatures and stale timestamps (+
///   `WWW-Authenticate` for Basic/Bearer); 409 (+ `Retry-After`) while the same delivery is in
///   flight; 503 (+ `Retry-After`) when the replay store is unavailable or a key that must be
///   fetched is not yet (a signing certificate, a JWT key set); 400 for a body that is not JSON,
///   cannot be read or cannot be decrypted; 422 for an unknown event type or a failed rule; 500
///   `not_configured` (logged) when no receiver is managed for the route. (Without the fairing the
///   rocket does not launch: the guard's sentinel aborts it.)
/// - Answers 200 `{"event_type","id","duplicate":true}` for a duplicate of a processed
///   delivery, without running the handler.
///
/// It never forwards: a failed delivery is answered, never tried on another route.
pub struct Webhook<E> {
    event: E,
    proof: Proof,
}

impl<E> Webhook<E> {
    /// The event.
    #[must_use]
    pub fn event(&self) -> &E {
        &self.event
    }

    /// What the verifier proved (scheme, key id, message id, timestamp, subject).
    #[must_use]
    pub fn proof(&self) -> &Proof {
        &self.proof
    }

    /// The event.
    #[must_use]
    pub fn into_inner(self) -> E {
        self.event
    }

    /// Event and proof.
    #[must_use]
    pub fn into_parts(self) -> (E, Proof) {
        (self.event, self.proof)
    }
}

impl<E> Deref for Webhook<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.event
    }
}

/// Shows the event's type and the proof, not the event: payload stays out of logs (print
/// [`event`](Self::event) where that is wanted).
impl<E: WebhookEvent> fmt::Debug for Webhook<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("event_type", &self.event.event_type())
            .field("proof", &self.proof)
            .finish_non_exhaustive()
    }
}

/// The data guard of the raw body, verified and deduplicated, with what the verifier proved —
/// for handlers that decode by themselves.
///
/// Outcomes as [`Webhook`], without the decoding ones (400 for a body that is not JSON, 422);
/// a body that cannot be decrypted is still a 400.
pub struct Verified {
    proof: Proof,
    body: Vec<u8>,
    receiver: Receiver,
}

impl Verified {
    /// What the verifier proved (scheme, key id, message id, timestamp, subject).
    #[must_use]
    pub fn proof(&self) -> &Proof {
        &self.proof
    }

    /// The body exactly as received and verified (its plaintext, when the receiver decrypts).
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The receiver that verified it, e.g. for
    /// [`WebhookRejection::from_error`](crate::WebhookRejection::from_error).
    #[must_use]
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// Proof and body.
    #[must_use]
    pub fn into_parts(self) -> (Proof, Vec<u8>) {
        (self.proof, self.body)
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("proof", &self.proof)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Whether a rocket lacks [`WebhookFairing`](crate::WebhookFairing): without it no guard
/// could finish a delivery nor render its rejection, so the rocket does not launch (with the
/// reason logged) rather than answer every delivery with rocket's catcher page.
fn lacks_the_fairing(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
    let missing = rocket.state::<Attached>().is_none();
    if missing {
        tracing::error!(
            "a route takes a webhook guard, but WebhookFairing is not attached: attach it with \
             `.attach(WebhookFairing)`"
        );
    }
    missing
}

impl<E> rocket::Sentinel for Webhook<E> {
    fn abort(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
        lacks_the_fairing(rocket)
    }
}

impl rocket::Sentinel for Verified {
    fn abort(rocket: &rocket::Rocket<rocket::Ignite>) -> bool {
        lacks_the_fairing(rocket)
    }
}

#[rocket::async_trait]
impl<'r, E: WebhookEvent + Send + 'static> FromData<'r> for Webhook<E> {
    type Error = WebhookRejection;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let outcome = receive::<E>(request, data).await;
        answer(
            request,
            outcome.map(|(event, proof, _, _)| Self { event, proof }),
        )
    }
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Verified {
    type Error = WebhookRejection;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let outcome = receive::<Raw>(request, data).await;
        answer(
            request,
            outcome.map(|(Raw, proof, body, receiver)| Self {
                proof,
                body,
                receiver,
            }),
        )
    }
}

/// Success, or an error whose rejection waits in the request's slot for the fairing.
fn answer<'r, T>(
    request: &'r Request<'_>,
    result: Result<T, WebhookRejection>,
) -> data::Outcome<'r, T, WebhookRejection> {
    match result {
        Ok(value) => Outcome::Success(value),
        Err(rejection) => {
            Slot::of(request).lock().rejection = Some(rejection.reply().clone());
            Outcome::Error((rejection.status(), rejection))
        }
    }
}

fn not_configured() -> WebhookRejection {
    // The client gets core's standard message, the same in every adapter; callers log what
    // is missing.
    let error = VerifyError::new(VerifyErrorKind::NotConfigured);
    WebhookRejection::error(Reply::from_error(&error), error)
}

/// The route's receiver: its [`Receivers`] entry, else the managed [`Receiver`].
fn receiver<'r>(request: &'r Request<'_>) -> Option<&'r Receiver> {
    let rocket = request.rocket();
    rocket
        .state::<Receivers>()
        .zip(request.route())
        .and_then(|(receivers, route)| receivers.get(route.uri.path()))
        .or_else(|| rocket.state::<Receiver>())
}

/// The core view of `request` with `body`: method, URL, headers and the socket's peer.
fn view<'a>(request: &'a Request<'_>, body: &'a [u8], url: Option<&'a str>) -> WebhookRequest<'a> {
    let mut view = WebhookRequest::new(body).with_method(request.method().as_str());
    if let Some(url) = url {
        view = view.with_url(url);
    }
    if let Some(peer) = request.remote() {
        view = view.with_peer(peer);
    }
    for header in request.headers().iter() {
        // `iter` lends names and values from the request's map; an owned one cannot occur.
        if let (Cow::Borrowed(name), Cow::Borrowed(value)) = (header.name.into_cow(), header.value)
        {
            view.push_header(name, value.as_bytes());
        }
    }
    view
}

fn fail(delivery: &Delivery, error: VerifyError) -> WebhookRejection {
    WebhookRejection::error(delivery.reply_for(&error), error)
}

fn reject(delivery: &mut Delivery, error: VerifyError) -> WebhookRejection {
    let error = delivery.reject(error);
    WebhookRejection::error(delivery.reply_for(&error), error)
}

/// Read the body under the smaller of the receiver's limit and the data limit `webhook`.
async fn read_body(
    request: &Request<'_>,
    data: Data<'_>,
    delivery: &mut Delivery,
) -> Result<Vec<u8>, WebhookRejection> {
    let own = ByteUnit::from(u64::try_from(delivery.body_limit()).unwrap_or(u64::MAX));
    let limit = request
        .limits()
        .get("webhook")
        .map_or(own, |named| named.min(own));
    match data.open(limit).into_bytes().await {
        Ok(body) if body.is_complete() => Ok(body.into_inner()),
        // The limit that stopped the read: the smaller of the two.
        Ok(_) => Err(reject(
            delivery,
            VerifyError::body_too_large(usize::try_from(limit.as_u64()).unwrap_or(usize::MAX)),
        )),
        Err(_) => Err(reject(delivery, VerifyError::unreadable_body())),
    }
}

/// What a guard yields on success.
type Received<A> = (A, Proof, Vec<u8>, Receiver);

/// Framework plumbing around [`run_pipeline`]: receiver lookup, admission before the body is
/// read, the body under the limits, the view; the accepted delivery is left in the request's
/// slot for the fairing.
async fn receive<A: Accept>(
    request: &Request<'_>,
    data: Data<'_>,
) -> Result<Received<A>, WebhookRejection> {
    let Some(receiver) = receiver(request) else {
        tracing::error!(
            route = request.route().map(|r| r.uri.path()),
            "webhook guard on a route without a managed Receiver (nor a Receivers entry)"
        );
        return Err(not_configured());
    };
    if request.rocket().state::<Attached>().is_none() {
        tracing::error!("webhook guard used without WebhookFairing attached: refusing deliveries");
        return Err(not_configured());
    }
    let https = request.rocket().config().tls_enabled();
    let mut delivery = receiver.delivery();
    delivery
        .admit(&view(request, b"", None), https)
        .map_err(|e| fail(&delivery, e))?;
    let body = read_body(request, data, &mut delivery).await?;
    // Only for schemes that sign it. The host: the `Host` header, else (HTTP/2, where it
    // travels as `:authority`) the request's own authority. A request with more than one
    // `Host` is refused (401), as in every adapter.
    let url = if receiver.signs_url() {
        let authority = request.host().map(ToString::to_string);
        let host = Receiver::host_field(request.headers().get("host"))
            .map_err(|error| reject(&mut delivery, error))?
            .or(authority.as_deref());
        receiver
            .signed_url(https, host, &request.uri().to_string())
            .map_err(|error| reject(&mut delivery, error))?
    } else {
        None
    };
    let mut view = view(request, &body, url.as_deref());
    while let Some(fetch) = delivery.fetch_keys(&view) {
        fetch.await;
    }
    if let Err(error) = delivery.authenticate(&view).map(drop) {
        return Err(fail(&delivery, error));
    }
    let plaintext = delivery.decrypt(&view).map_err(|e| fail(&delivery, e))?;
    if let Some(plaintext) = &plaintext {
        view.set_body(plaintext);
    }
    let accepted = run_pipeline::<A>(&mut delivery, &view).await?;
    drop(view);
    let Some(proof) = delivery.proof().cloned() else {
        let error = VerifyError::new(VerifyErrorKind::NotConfigured);
        return Err(fail(&delivery, error));
    };
    Slot::of(request).lock().delivery = Some(delivery);
    // The plaintext, when the receiver decrypts, is the body handed on.
    Ok((accepted, proof, plaintext.unwrap_or(body), receiver.clone()))
}

/// The pipeline after authentication (and decryption): core's one call for the rest (claim
/// by message id, else the event's id, else the signature; answer duplicates; decode).
async fn run_pipeline<A: Accept>(
    delivery: &mut Delivery,
    view: &WebhookRequest<'_>,
) -> Result<A, WebhookRejection> {
    match A::accept(delivery, view).await {
        Ok(Accepted::Fresh(value)) => Ok(value),
        Ok(Accepted::Duplicate(reply)) => Err(WebhookRejection::duplicate(reply)),
        Err(error) => Err(fail(delivery, error)),
    }
}

/// What a guard decodes: a [`WebhookEvent`], or nothing ([`Raw`]).
trait Accept: Sized + Send {
    fn accept<'a>(
        delivery: &'a mut Delivery,
        view: &'a WebhookRequest<'a>,
    ) -> impl Future<Output = Result<Accepted<Self>, VerifyError>> + Send + 'a;
}

/// The body is not decoded.
struct Raw;

impl Accept for Raw {
    async fn accept<'a>(
        delivery: &'a mut Delivery,
        _: &'a WebhookRequest<'a>,
    ) -> Result<Accepted<Self>, VerifyError> {
        Ok(match delivery.accept_raw().await? {
            Accepted::Fresh(_) => Accepted::Fresh(Self),
            Accepted::Duplicate(reply) => Accepted::Duplicate(reply),
        })
    }
}

impl<E: WebhookEvent + Send + 'static> Accept for E {
    fn accept<'a>(
        delivery: &'a mut Delivery,
        view: &'a WebhookRequest<'a>,
    ) -> impl Future<Output = Result<Accepted<Self>, VerifyError>> + Send + 'a {
        delivery.accept::<E>(view)
    }
}
