//! The receive pipeline: one [`Delivery`] walks a request through the steps of the design, in
//! order, each cheap before the next is expensive, and nothing unauthenticated reaches a store.
//!
//! 1. [`admit`](Delivery::admit), before the body is read: declared length (413), content type
//!    and content coding (415), source — allowlist and HTTPS (403) — and rate limit (429);
//! 2. [`authenticate`](Delivery::authenticate) the raw body with the verifier (401; freshness
//!    is checked inside verifiers);
//!    then [`decrypt`](Delivery::decrypt) the body when the receiver has a decryptor (400;
//!    before the claim, so a scheme without message ids can be deduplicated by the event's
//!    own id, which is inside the plaintext);
//! 3. [`claim`](Delivery::claim) the delivery's key in the replay store (duplicate → 200
//!    without the handler; in flight → 409; store down → 503);
//! 4. [`decode`](Delivery::decode) into a typed [`WebhookEvent`] (400 / 422);
//! 5. [`finish`](Delivery::finish) with the handler's outcome: success marks the key done,
//!    failure releases it. Dropping an unfinished delivery releases too (errors, panics).
//!
//! Adapters call [`admit`](Delivery::admit), [`authenticate`](Delivery::authenticate) and
//! [`decrypt`](Delivery::decrypt), then steps 3 and 4 in one call — [`accept`](Delivery::accept) for a typed event,
//! [`accept_raw`](Delivery::accept_raw) for the raw body, or
//! [`Receiver::accept_layered`] behind a layer or middleware that already holds the delivery —
//! and map every error through [`Receiver::reply_for`]. The dedupe rule and the duplicate
//! answer live here, so every framework behaves the same.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use sha2::{Digest, Sha256};
use tracing::Span;

use crate::error::{VerifyError, VerifyErrorKind};
use crate::event::WebhookEvent;
use crate::observe::{self, Outcome};
use crate::receiver::{Receiver, Reply};
use crate::request::WebhookRequest;
use crate::store::{Claim, Lease};
use crate::verify::Proof;

/// What the steps after authentication found: a new delivery, or a duplicate to answer.
#[derive(Debug)]
#[must_use]
pub enum Accepted<T> {
    /// A new delivery: its claim is held until [`Delivery::finish`] (or the layer's
    /// response); here is what was decoded.
    Fresh(T),
    /// A duplicate of a delivery already processed: answer this reply (200) without running
    /// the handler. The body is not decoded: the reply's `event_type` is what the receiver's
    /// [`event_type_from`](crate::ReceiverBuilder::event_type_from) reader (or, for a typed
    /// extractor, the event set) read, else `null`.
    Duplicate(Reply),
}

/// The most key fetches one delivery awaits ([`Delivery::fetch_keys`]): a tenant's load,
/// then that tenant's own certificate.
pub const MAX_KEY_FETCHES: u8 = 2;

/// Ids longer than this are stored as their SHA-256, so store keys stay bounded.
const MAX_ID_LEN: usize = 128;

/// Which key deduplicates a delivery: the sender's message id, else the event's own id, else
/// (for schemes whose signature is unique per message) the verifier's replay token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupeKey {
    /// The message id header the verifier authenticated (`webhook-id`, Twitch's message id…).
    MessageId(String),
    /// The event's declared id, read from the body (`evt_…`).
    EventId(String),
    /// The proof's [replay token](crate::Proof::replay_token): a digest of the signed content
    /// (or, for a few presets, of the matched signature), so that a copy keys the same.
    Signature(String),
}

impl DedupeKey {
    /// The key for a delivery, in order of preference; `None` when the scheme proves no
    /// message id or unique signature and the event declares no id (static credentials):
    /// such deliveries have no replay protection beyond their credentials.
    #[must_use]
    pub fn select(proof: &Proof, event_id: Option<&str>) -> Option<Self> {
        if let Some(id) = proof.message_id() {
            return Some(Self::MessageId(id.to_owned()));
        }
        if let Some(id) = event_id {
            return Some(Self::EventId(id.to_owned()));
        }
        proof.replay_token().map(Self::Signature)
    }

    /// The id as reported to the sender in a duplicate answer (`None` for signatures).
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::MessageId(id) | Self::EventId(id) => Some(id),
            Self::Signature(_) => None,
        }
    }

    /// The store key: `{route}:{m|e|s}:={id}`, or `{route}:{M|E|S}:{tenant}:={id}` for a
    /// tenant's delivery ([`Tenants`](crate::Tenants)); an id longer than 128 bytes is written
    /// `h` and its digest instead of `=` and itself (the mark keeps a short id that reads like
    /// a digest from taking a long id's key), the tenant as its digest when it is not a tenant
    /// id. Neither a route name nor a tenant id (nor `h` and a digest) holds a `:`, and the
    /// tag's case says whether a tenant follows, so no two deliveries share a key unless
    /// route, tenant, kind and id all agree.
    fn store_key(&self, route: &str, tenant: Option<&str>) -> String {
        let (tag, id) = match self {
            Self::MessageId(id) => ('m', id),
            Self::EventId(id) => ('e', id),
            Self::Signature(id) => ('s', id),
        };
        // Built by hand: this runs for every delivery, and `format!` costs several times more.
        let hashed = id.len() > MAX_ID_LEN || id.bytes().any(|b| b.is_ascii_control());
        let tenant_len = tenant.map_or(0, |t| t.len() + 1);
        let mut key = String::with_capacity(
            route.len() + 4 + tenant_len + if hashed { 65 } else { id.len() + 1 },
        );
        key.push_str(route);
        key.push(':');
        match tenant {
            // A tenant id as `Tenants` admits it holds no `:`; any other text (a proof made by
            // a verifier of the application's) is written as its digest, `h` and 64 hex
            // digits, longer than any tenant id.
            Some(tenant) if crate::Tenants::is_tenant_id(tenant) => {
                key.push(tag.to_ascii_uppercase());
                key.push(':');
                key.push_str(tenant);
            }
            Some(tenant) => {
                key.push(tag.to_ascii_uppercase());
                key.push_str(":h");
                key.push_str(&hex::encode(Sha256::digest(tenant.as_bytes())));
            }
            None => key.push(tag),
        }
        key.push(':');
        if hashed {
            key.push('h');
            key.push_str(&hex::encode(Sha256::digest(id.as_bytes())));
        } else {
            key.push('=');
            key.push_str(id);
        }
        key
    }
}

/// The result of a successful claim.
#[derive(Debug)]
pub enum Claimed {
    /// First time: go on; the lease (`None` when the receiver has no replay store) is completed or released by
    /// the handler's outcome.
    Fresh(Option<Lease>),
    /// Already processed: answer [`Reply::duplicate`] without running the handler.
    Duplicate,
}

impl Receiver {
    /// Steps 3 and 4 for an extractor behind a layer or middleware that already
    /// authenticated the delivery and claimed its message id or signature (and holds that
    /// claim): when the proof has no message id and the event declares an id, that id is the
    /// delivery's dedupe key, as without a layer — it is claimed, its lease parked in `slot`
    /// for the layer to finish, and the layer's own claim of the signature is released when
    /// the layer finishes (it only kept a copy of this delivery out while it ran). Then the
    /// body is decoded into `E`. On a receiver that decrypts, `request` carries the plaintext
    /// the layer's [`Delivery::decrypt`] produced.
    ///
    /// # Errors
    ///
    /// As [`Delivery::accept`].
    pub async fn accept_layered<E: WebhookEvent>(
        &self,
        proof: &Proof,
        slot: &LeaseSlot,
        request: &WebhookRequest<'_>,
    ) -> Result<Accepted<E>, VerifyError> {
        let accepted = self.accept_in_slot(proof, slot, request).await;
        match &accepted {
            // For the layer, whatever the handler makes of the rejection (a handler taking
            // `Result<Webhook<E>, _>` may answer 200): unless another extractor of the
            // request handed the delivery on, its claims must not be completed.
            Err(error) => slot.reject(error),
            Ok(Accepted::Fresh(_)) => slot.hand_on(),
            // Likewise, the sender is told `duplicate` whatever the handler answers.
            Ok(Accepted::Duplicate(reply)) => slot.answer_duplicate(reply),
        }
        accepted
    }

    async fn accept_in_slot<E: WebhookEvent>(
        &self,
        proof: &Proof,
        slot: &LeaseSlot,
        request: &WebhookRequest<'_>,
    ) -> Result<Accepted<E>, VerifyError> {
        if proof.message_id().is_none()
            && let Some(id) = E::event_id(request).map_err(VerifyError::from)?
        {
            if crate::event::is_reportable(&id) {
                Span::current().record("message_id", id.as_str());
            }
            // A second extractor of the same request (actix-web lets a handler take two)
            // answers as the first did rather than find the first's claim in flight.
            let duplicate = match slot.begin_event_claim(&id).await {
                EventClaimStart::Settled(duplicate) => duplicate,
                EventClaimStart::Mine(guard) => {
                    let claimed = self
                        .claim_for(proof.tenant(), &DedupeKey::EventId(id.clone()))
                        .await?;
                    slot.supersede();
                    let duplicate = match claimed {
                        Claimed::Fresh(lease) => {
                            if let Some(lease) = lease {
                                slot.park(lease);
                            }
                            false
                        }
                        Claimed::Duplicate => {
                            slot.mark_duplicate();
                            true
                        }
                    };
                    guard.settle(duplicate);
                    duplicate
                }
            };
            if duplicate {
                let event_type = E::peek_event_type(request);
                if let Some(event_type) = event_type
                    .as_deref()
                    .filter(|t| crate::event::is_reportable(t))
                {
                    Span::current().record("event_type", event_type);
                }
                return Ok(Accepted::Duplicate(Reply::duplicate(
                    event_type.as_deref(),
                    Some(&id),
                )));
            }
        }
        let event = E::decode(request).map_err(VerifyError::from)?;
        if let Some(event_type) = decoded_event_type(&event, request) {
            Span::current().record("event_type", &*event_type);
        }
        Ok(Accepted::Fresh(event))
    }

    /// Start one delivery: opens its span and starts its clock.
    pub fn delivery(&self) -> Delivery {
        let span = observe::delivery_span(self.route());
        // The latency is only ever recorded in the span: no clock reads for a span that
        // nothing can see (no subscriber wants it and the `log` bridge is off).
        let started = (!span.is_none()).then(Instant::now);
        Delivery {
            s: Box::new(State {
                receiver: self.clone(),
                span,
                started,
                client: None,
                admitted: false,
                proof: None,
                key: None,
                event_type: None,
                leases: Vec::new(),
                superseded: Vec::new(),
                duplicate: false,
                rejected: None,
                duplicate_answer: None,
                fetches: 0,
                decrypted: false,
                done: false,
            }),
        }
    }

    /// Claim `key` in the replay store (lease-based): see [`Claimed`]. For a delivery a
    /// [`Tenants`](crate::Tenants) verified, use [`claim_for`](Self::claim_for) with its
    /// [`Proof::tenant`].
    ///
    /// # Errors
    ///
    /// `InFlight` (409 + `Retry-After`) while another delivery with this key is processed;
    /// `StoreUnavailable` (503 + `Retry-After`) when the store cannot answer — fail closed.
    pub async fn claim(&self, key: &DedupeKey) -> Result<Claimed, VerifyError> {
        self.claim_for(None, key).await
    }

    /// [`claim`](Self::claim) in the namespace of `tenant` ([`Proof::tenant`]): the same
    /// key claimed for two tenants is two claims.
    ///
    /// # Errors
    ///
    /// As [`claim`](Self::claim).
    pub async fn claim_for(
        &self,
        tenant: Option<&str>,
        key: &DedupeKey,
    ) -> Result<Claimed, VerifyError> {
        let Some(store) = &self.inner.store else {
            return Ok(Claimed::Fresh(None));
        };
        let store_key = key.store_key(self.route(), tenant);
        let claim = match store.claim_ready(&store_key, self.inner.lease) {
            Some(claim) => claim?,
            None => store.claim(&store_key, self.inner.lease).await?,
        };
        match claim {
            Claim::New(token) => Ok(Claimed::Fresh(Some(Lease::new(
                Arc::clone(store),
                store_key,
                token,
                self.inner.retention,
            )))),
            Claim::Done => Ok(Claimed::Duplicate),
            Claim::InFlight { retry_after } => Err(VerifyError::new(VerifyErrorKind::InFlight)
                .with_retry_after(retry_after.max(std::time::Duration::from_secs(1)))),
        }
    }
}

/// A shared place where claims made while a handler's request is extracted wait for the
/// handler's response: the layer / middleware / fairing puts one in the request, extractors
/// [`park`](Self::park) their leases in it, and the response decides done or released. It
/// also carries what the extractor found when the event's own id was a duplicate, so the
/// delivery that [`adopt`](Delivery::adopt)s it counts as one.
///
/// Only a delivery whose proof has no message id ever parks a claim (its event's own id is
/// claimed by the extractor); any delivery's extractor may leave its rejection here, so
/// that the layer neither completes the claims of a delivery that was not handed on nor
/// lets the handler's answer stand for it.
#[derive(Clone)]
pub struct LeaseSlot(Arc<Mutex<Parked>>);

#[derive(Default)]
struct Parked {
    leases: Vec<Lease>,
    duplicate: bool,
    /// The event's own id was claimed: it, not the layer's claim, deduplicates the delivery.
    superseded: bool,
    /// The event id an extractor of this request claims or claimed, and how that went: a
    /// second extractor of the same request (actix-web polls a handler's extractors side by
    /// side) waits for the first one's claim and answers as it did, instead of claiming
    /// again (which would find the key in flight, 409).
    event: Option<(String, EventClaim)>,
    /// Extractors waiting for the claim in progress.
    waiters: Vec<std::task::Waker>,
    /// An extractor's rejection ([`Receiver::accept_layered`] failed): the first one, as the
    /// client would have been answered.
    rejected: Option<VerifyError>,
    /// An extractor handed the delivery to the handler ([`LeaseSlot::hand_on`]): another
    /// one's rejection then does not stand for the delivery.
    handed_on: bool,
    /// An extractor's answer to a duplicate by the event's own id (the first one).
    duplicate_reply: Option<Reply>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EventClaim {
    Claiming,
    Fresh,
    Duplicate,
}

/// What [`LeaseSlot::begin_event_claim`] found.
enum EventClaimStart<'a> {
    /// This extractor claims the id; the guard records how it went.
    Mine(ClaimingGuard<'a>),
    /// An earlier extractor of this request claimed it: `true` when it was a duplicate.
    Settled(bool),
}

/// The claim of an event id in progress in a slot. Dropped without
/// [`settle`](Self::settle) (the claim failed, or the extractor was cancelled), it clears the
/// record, so a waiting extractor claims for itself.
struct ClaimingGuard<'a> {
    slot: &'a LeaseSlot,
    settled: bool,
}

impl ClaimingGuard<'_> {
    fn settle(mut self, duplicate: bool) {
        self.settled = true;
        let state = if duplicate {
            EventClaim::Duplicate
        } else {
            EventClaim::Fresh
        };
        self.slot.set_event_claim(Some(state));
    }
}

impl Drop for ClaimingGuard<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.slot.set_event_claim(None);
        }
    }
}

impl fmt::Debug for LeaseSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.lock().leases.len();
        f.debug_tuple("LeaseSlot").field(&n).finish()
    }
}

impl Default for LeaseSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl LeaseSlot {
    /// An empty slot.
    #[must_use]
    pub fn new() -> Self {
        Self(Arc::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Parked> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leave a lease for the response phase to finish.
    pub fn park(&self, lease: Lease) {
        self.lock().leases.push(lease);
    }

    /// Take every parked lease.
    #[must_use]
    pub fn take(&self) -> Vec<Lease> {
        std::mem::take(&mut self.lock().leases)
    }

    /// Start claiming `id` for this request, or (after waiting for a claim of it in
    /// progress) learn how an earlier extractor's claim of it went.
    async fn begin_event_claim(&self, id: &str) -> EventClaimStart<'_> {
        std::future::poll_fn(|cx| {
            let mut parked = self.lock();
            let state = match &parked.event {
                Some((claimed, state)) if claimed == id => Some(*state),
                _ => None,
            };
            std::task::Poll::Ready(match state {
                Some(EventClaim::Claiming) => {
                    if !parked.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                        parked.waiters.push(cx.waker().clone());
                    }
                    return std::task::Poll::Pending;
                }
                Some(EventClaim::Fresh) => EventClaimStart::Settled(false),
                Some(EventClaim::Duplicate) => EventClaimStart::Settled(true),
                None => {
                    parked.event = Some((id.to_owned(), EventClaim::Claiming));
                    EventClaimStart::Mine(ClaimingGuard {
                        slot: self,
                        settled: false,
                    })
                }
            })
        })
        .await
    }

    /// Record how the claim in progress went (`None`: it did not happen) and wake the
    /// extractors waiting for it.
    fn set_event_claim(&self, state: Option<EventClaim>) {
        let waiters = {
            let mut parked = self.lock();
            match state {
                Some(state) => {
                    if let Some((_, current)) = &mut parked.event {
                        *current = state;
                    }
                }
                None => parked.event = None,
            }
            std::mem::take(&mut parked.waiters)
        };
        for waker in waiters {
            waker.wake();
        }
    }

    /// Record that an extractor handed the delivery to the handler (the event, or the
    /// verified body): what the handler answers then stands, even if another extractor of the
    /// same request refused it (actix-web lets a handler take several, say
    /// `(Verified, Option<Webhook<E>>)` for a raw fallback). [`Receiver::accept_layered`]
    /// records it for a decoded event; an adapter's raw-body extractor calls this.
    pub fn hand_on(&self) {
        self.lock().handed_on = true;
    }

    /// Record an extractor's rejection (the first one), for [`Delivery::adopt`].
    pub(crate) fn reject(&self, error: &VerifyError) {
        let mut parked = self.lock();
        if parked.rejected.is_none() {
            parked.rejected = Some(error.answer_copy());
        }
    }

    /// Record an extractor's answer to a duplicate (the first one), for [`Delivery::adopt`].
    fn answer_duplicate(&self, reply: &Reply) {
        self.lock()
            .duplicate_reply
            .get_or_insert_with(|| reply.clone());
    }

    /// Record that the delivery was answered as a duplicate of a processed one.
    pub(crate) fn mark_duplicate(&self) {
        self.lock().duplicate = true;
    }

    /// Record that the event's own id was claimed, so the claims of the delivery that
    /// [adopts](Delivery::adopt) this slot are released rather than completed.
    pub(crate) fn supersede(&self) {
        self.lock().superseded = true;
    }
}

/// One delivery going through the pipeline. Its methods are the steps, in order: [`admit`](Self::admit), [`fetch_keys`](Self::fetch_keys) (awaited, when the verifier has a certificate to fetch), [`authenticate`](Self::authenticate), [`decrypt`](Self::decrypt) (its plaintext, when the receiver decrypts, is the body of every later step), [`accept`](Self::accept) (or [`accept_raw`](Self::accept_raw)), [`finish`](Self::finish).
///
/// Every step that fails records its reason in the delivery's span and counters before
/// returning the error; answer it with [`Receiver::reply_for`] (or [`Delivery::reply_for`]).
/// Dropping a delivery without [`finish`](Self::finish) releases its claims, so a failure,
/// an early return or a panic never leaves a key blocked beyond its lease.
///
/// # Examples
///
/// What an adapter does for one request (here without a framework):
///
/// ```
/// use webhook_core::{Outgoing, Receiver, Secret, Signer, StandardWebhooks, StandardWebhooksSigner, WebhookRequest};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = Secret::random(24);
/// let receiver = Receiver::builder().verifier(StandardWebhooks::new(secret.clone())?).build()?;
/// let body = br#"{"type":"ping"}"#;
/// let headers = StandardWebhooksSigner::new(secret).sign(&Outgoing::new(body).id("msg_1"))?;
/// let request = headers.apply(WebhookRequest::new(body));
///
/// let mut delivery = receiver.delivery();
/// delivery.admit(&request, false)?;                 // before reading the body
/// if let Some(fetch) = delivery.fetch_keys(&request) {
///     fetch.await;                                  // a certificate the request names
/// }
/// delivery.authenticate(&request)?;                 // the buffered body
/// assert!(delivery.decrypt(&request)?.is_none());   // (the plaintext, if it decrypted)
/// assert!(delivery.claim(None).await?);             // fresh: run the handler…
/// delivery.finish(true).await;                      // …and report its outcome
///
/// let mut again = receiver.delivery();
/// again.admit(&request, false)?;
/// again.authenticate(&request)?;
/// assert!(!again.claim(None).await?);               // a duplicate: 200 without the handler
/// assert_eq!(again.duplicate_reply().status(), 200);
/// # Ok(())
/// # }
/// ```
#[must_use = "a delivery releases its claim when dropped; finish it with the handler's outcome"]
pub struct Delivery {
    // Boxed: a delivery lives in the adapters' futures across several awaits, and moving a
    // pointer is cheaper than moving the state.
    s: Box<State>,
}

struct State {
    receiver: Receiver,
    span: Span,
    /// When the delivery started, if its span records the latency.
    started: Option<Instant>,
    client: Option<IpAddr>,
    /// [`Delivery::admit`] passed: the source checks and the rate limit ran.
    admitted: bool,
    proof: Option<Proof>,
    key: Option<DedupeKey>,
    event_type: Option<String>,
    leases: Vec<Lease>,
    /// Claims (of the signature) that an extractor's claim of the event's own id replaced
    /// ([`Delivery::adopt`]): released once the handler has answered, waiting for the store,
    /// so that a retry sent as soon as the answer arrives does not find them in flight.
    superseded: Vec<Lease>,
    /// Answered as a duplicate by an extractor behind a layer (see [`Delivery::adopt`]).
    duplicate: bool,
    /// Refused by an extractor behind a layer (see [`Delivery::adopt`]).
    rejected: Option<VerifyError>,
    /// An extractor behind a layer answered a duplicate by the event's own id, and nothing
    /// handed the delivery on (see [`Delivery::take_duplicate_answer`]).
    duplicate_answer: Option<Reply>,
    /// [`Delivery::decrypt`] produced the plaintext (for a receiver that decrypts).
    decrypted: bool,
    /// Key fetches handed out ([`Delivery::fetch_keys`]).
    fetches: u8,
    done: bool,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("route", &self.s.receiver.route())
            .field("client", &self.s.client)
            .field("proof", &self.s.proof)
            .field("key", &self.s.key)
            .field("event_type", &self.s.event_type)
            .field("leases", &self.s.leases.len())
            .finish()
    }
}

impl Delivery {
    /// The receiver this delivery belongs to.
    #[must_use]
    pub fn receiver(&self) -> &Receiver {
        &self.s.receiver
    }

    /// The delivery's span: instrument the handler with it.
    #[must_use]
    pub fn span(&self) -> &Span {
        &self.s.span
    }

    /// The client address found by [`admit`](Self::admit).
    #[must_use]
    pub fn client(&self) -> Option<IpAddr> {
        self.s.client
    }

    /// What the verifier proved, after [`authenticate`](Self::authenticate).
    #[must_use]
    pub fn proof(&self) -> Option<&Proof> {
        self.s.proof.as_ref()
    }

    /// The dedupe key chosen by [`claim`](Self::claim).
    #[must_use]
    pub fn key(&self) -> Option<&DedupeKey> {
        self.s.key.as_ref()
    }

    /// The largest body to buffer.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.s.receiver.body_limit()
    }

    fn fail(&mut self, error: VerifyError) -> VerifyError {
        if !self.s.done {
            self.s.done = true;
            self.s.leases.clear();
            observe::finish(
                &self.s.span,
                &self.s.receiver.inner.counters,
                Outcome::Rejected(error.kind()),
                self.elapsed_ms(),
            );
        }
        error
    }

    fn elapsed_ms(&self) -> Option<u64> {
        self.s
            .started
            .map(|started| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Reject the delivery for a reason found outside the pipeline (e.g. the adapter failed
    /// to read the body): records it and returns the error.
    pub fn reject(&mut self, error: VerifyError) -> VerifyError {
        self.fail(error)
    }

    /// The response for an error (the receiver's custom rejection, or the standard JSON).
    #[must_use]
    pub fn reply_for(&self, error: &VerifyError) -> Reply {
        self.s.receiver.reply_for(error)
    }

    /// Step 1, before reading the body: the declared `Content-Length` against the limit (413),
    /// the content type and any content coding other than `identity` (415), the source —
    /// allowlist, HTTPS — (403) and the rate limit (429).
    ///
    /// `head` is the request view without its body (or with it); `https` says whether the
    /// connection itself is TLS.
    ///
    /// # Errors
    ///
    /// As above; the first failing step.
    pub fn admit(&mut self, head: &WebhookRequest<'_>, https: bool) -> Result<(), VerifyError> {
        let inner = &self.s.receiver.inner;
        if let Some(length) = head.header("content-length")
            && let Some(length) = std::str::from_utf8(length)
                .ok()
                .and_then(|l| l.trim().parse::<u64>().ok())
            && length > u64::try_from(inner.body_limit).unwrap_or(u64::MAX)
        {
            return Err(self.fail(VerifyError::body_too_large(inner.body_limit)));
        }
        if !self.s.receiver.accepts_essence(head.content_type()) {
            let message = format!("content type must be {}", inner.content_types.join(" or "));
            return Err(self.fail(
                VerifyError::new(VerifyErrorKind::UnsupportedContentType).with_message(message),
            ));
        }
        // A coded body (gzip, br…) is not what verifiers read, nor what the handler's
        // decoder expects: refused, rather than checked as bytes nobody signed or parsed as
        // JSON garbage after its claim (RFC 9110 §15.5.16). `identity` is no coding.
        if head
            .header_values("content-encoding")
            .any(|coding| !is_identity_coding(coding))
        {
            return Err(self.fail(
                VerifyError::new(VerifyErrorKind::UnsupportedContentType).with_message(
                    "a content coding (Content-Encoding) is not accepted: send the body \
                     unencoded",
                ),
            ));
        }
        if head.peer().is_none() && self.s.receiver.reads_peer() {
            warn_without_peer();
        }
        let client = match inner.source.check(head, https) {
            Ok(client) => client,
            Err(e) => return Err(self.fail(e)),
        };
        self.s.client = client;
        if let Some(limiter) = &self.s.receiver.inner.limiter
            && let Err(e) = limiter.check(client)
        {
            return Err(self.fail(e));
        }
        self.s.admitted = true;
        Ok(())
    }

    /// Step 2a, between [`admit`](Self::admit) and [`authenticate`](Self::authenticate): what
    /// the verifier must fetch before it can judge `request` (a signing certificate the
    /// request names and the verifier has not seen: [`Verifier::fetch_keys`](crate::Verifier::fetch_keys)). Await it when
    /// there is one; `None` when there is nothing to fetch, or before `admit` has passed (a
    /// source the allowlist, the HTTPS rule or the rate limit refuses causes no fetch).
    ///
    /// Call it again after each fetch, until it answers `None` (at most
    /// [`MAX_KEY_FETCHES`] fetches a delivery): one step can lead to another, as a
    /// [`TenantLoader`](crate::TenantLoader) loading a tenant whose verifier then has a
    /// certificate to fetch.
    ///
    /// ```text
    /// while let Some(fetch) = delivery.fetch_keys(&request) {
    ///     fetch.await;
    /// }
    /// ```
    ///
    /// An adapter that skips it still fails closed: `authenticate` then answers
    /// `KeyUnavailable` (503) for a certificate never fetched.
    #[must_use = "await the fetch before `authenticate`"]
    pub fn fetch_keys(&mut self, request: &WebhookRequest<'_>) -> Option<crate::KeyFetch> {
        if !self.s.admitted || self.s.fetches >= MAX_KEY_FETCHES {
            return None;
        }
        let fetch = self.s.receiver.inner.verifier.fetch_keys(request)?;
        self.s.fetches += 1;
        Some(fetch)
    }

    /// Step 2: verify the raw body exactly as received (and its freshness, inside the verifier).
    ///
    /// # Errors
    ///
    /// `BodyTooLarge` (413) when the body exceeds the limit; the verifier's error (401);
    /// `NotConfigured` (500, logged) before [`admit`](Self::admit) has passed — otherwise a
    /// source the allowlist, the HTTPS rule or the rate limit refuses would still learn
    /// whether its signature is good.
    pub fn authenticate(&mut self, request: &WebhookRequest<'_>) -> Result<&Proof, VerifyError> {
        if !self.s.admitted {
            tracing::error!(parent: &self.s.span, "Delivery::authenticate before Delivery::admit");
            return Err(self.fail(VerifyError::new(VerifyErrorKind::NotConfigured)));
        }
        let limit = self.s.receiver.body_limit();
        if request.body().len() > limit {
            return Err(self.fail(VerifyError::body_too_large(limit)));
        }
        let proof = match self.s.receiver.inner.verifier.verify(request) {
            Ok(proof) => proof,
            Err(e) => {
                // Which tenant's deliveries are failing is what an operator looks for.
                if let Some(tenant) = e.tenant() {
                    self.s.span.record("tenant", tenant);
                }
                return Err(self.fail(e));
            }
        };
        self.s.span.record("scheme", proof.scheme());
        if let Some(key_id) = proof.key_id() {
            self.s.span.record("key_id", key_id);
        }
        if let Some(tenant) = proof.tenant() {
            self.s.span.record("tenant", tenant);
        }
        if let Some(id) = proof
            .message_id()
            .filter(|id| crate::event::is_reportable(id))
        {
            self.s.span.record("message_id", id);
        }
        // A sealed body says nothing yet: its type is read from the plaintext (`decrypt`).
        if !self.s.receiver.decrypts() {
            self.peek_event_type(request);
        }
        Ok(self.s.proof.insert(proof))
    }

    /// The receiver's [`event_type_from`](crate::ReceiverBuilder::event_type_from) reader, on
    /// the verified body, recorded before the claim (for a duplicate's answer and the span).
    fn peek_event_type(&mut self, request: &WebhookRequest<'_>) {
        if let Some(read) = &self.s.receiver.inner.event_type
            && let Some(event_type) = read(request)
        {
            self.record_event_type(&event_type);
        }
    }

    /// Step 2b, right after [`authenticate`](Self::authenticate): when the receiver decrypts
    /// ([`ReceiverBuilder::decryptor`](crate::ReceiverBuilder::decryptor)), the plaintext of
    /// the authenticated body, which every later step (the event id, decoding) and the
    /// handler read instead of the body; `None` when it does not.
    ///
    /// It runs before the claim (the design lists it after): an event's own id, the dedupe
    /// key of a scheme without message ids, is inside the plaintext, and a body that cannot
    /// be decrypted then takes no claim.
    ///
    /// # Errors
    ///
    /// `MalformedBody` (400) for a body that cannot be decrypted; `KeyUnavailable` (503, with
    /// `Retry-After`) for one sealed with a key the receiver does not have yet;
    /// `NotConfigured` (500) before authentication or when every decryption key has expired;
    /// `BodyTooLarge` (413) for a plaintext longer than the body limit (a decryptor of the
    /// application's own that expands).
    pub fn decrypt(
        &mut self,
        request: &WebhookRequest<'_>,
    ) -> Result<Option<Vec<u8>>, VerifyError> {
        let inner = &self.s.receiver.inner;
        let Some(decryptor) = &inner.decryptor else {
            return Ok(None);
        };
        if self.s.proof.is_none() {
            return Err(self.fail(not_authenticated()));
        }
        match decryptor.decrypt(request, inner.clock.now_ms()) {
            // A decryptor of the application's own may expand (decompress): the plaintext is
            // held to the body limit as the sealed body was.
            Ok(plaintext) if plaintext.len() > inner.body_limit => {
                let limit = inner.body_limit;
                Err(self.fail(VerifyError::body_too_large(limit)))
            }
            Ok(plaintext) => {
                self.s.decrypted = true;
                if inner.event_type.is_some() {
                    let mut opened = request.clone();
                    opened.set_body(&plaintext);
                    self.peek_event_type(&opened);
                }
                Ok(Some(plaintext))
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// A receiver that decrypts hands on nothing it has not decrypted: the claim, the event id
    /// and decoding are refused (500, logged) until [`decrypt`](Self::decrypt) has run — an
    /// adapter that skipped it would otherwise give the handler the sealed body as verified.
    fn require_plaintext(&mut self) -> Result<(), VerifyError> {
        if self.s.decrypted || !self.s.receiver.decrypts() {
            return Ok(());
        }
        tracing::error!(parent: &self.s.span, "a receiver that decrypts was used without Delivery::decrypt");
        Err(self.fail(VerifyError::new(VerifyErrorKind::NotConfigured)))
    }

    /// Step 3: claim the delivery's [`DedupeKey`] — the message id, else `event_id`, else the
    /// signature. Returns `true` for a fresh delivery (the claim is held by this delivery
    /// until [`finish`](Self::finish)) and `false` for a duplicate of a processed one
    /// (answer [`duplicate_reply`](Self::duplicate_reply); the delivery is finished).
    ///
    /// # Errors
    ///
    /// `NotConfigured` (500) before [`authenticate`](Self::authenticate), or on a receiver
    /// that decrypts before [`decrypt`](Self::decrypt); `InFlight` (409); `StoreUnavailable`
    /// (503).
    pub async fn claim(&mut self, event_id: Option<&str>) -> Result<bool, VerifyError> {
        if self.s.proof.is_some() {
            self.require_plaintext()?;
        }
        let Some(proof) = &self.s.proof else {
            return Err(self.fail(not_authenticated()));
        };
        let Some(key) = DedupeKey::select(proof, event_id) else {
            return Ok(true);
        };
        if let DedupeKey::EventId(id) = &key
            && proof.message_id().is_none()
            && crate::event::is_reportable(id)
        {
            self.s.span.record("message_id", id.as_str());
        }
        let claimed = self.s.receiver.claim_for(proof.tenant(), &key).await;
        self.s.key = Some(key);
        match claimed {
            Ok(Claimed::Fresh(lease)) => {
                self.s.leases.extend(lease);
                Ok(true)
            }
            Ok(Claimed::Duplicate) => {
                self.finish_as(Outcome::Duplicate);
                Ok(false)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// A source that sent an authenticated delivery the handler processed keeps its own rate
    /// budget however full the limiter's table is (a flood of new addresses cannot sign).
    /// Only once processed (finished as accepted) and only for a delivery that held a claim
    /// in the replay store: a captured delivery replayed from many addresses is a duplicate
    /// each time — behind a layer, perhaps only by the event's own id, which the handler's
    /// extractor claims — and earns none of them a place. A delivery nothing deduplicates
    /// (no store), or deduplicated by a key its sender did not sign (an event id in a body
    /// sent with static credentials), could be replayed or varied from every address it
    /// likes, so it earns none either.
    fn trust_source(&self) {
        // The key claimed must be one the sender signed: a message id, a signature, or an
        // event id inside a signed body (not one a holder of static credentials makes up).
        let signed_key = match &self.s.key {
            Some(DedupeKey::MessageId(_) | DedupeKey::Signature(_)) => true,
            _ => self.s.receiver.inner.verifier.signs_body(),
        };
        if let Some(limiter) = &self.s.receiver.inner.limiter
            && !self.s.leases.is_empty()
            && signed_key
        {
            limiter.trust(self.s.client);
        }
    }

    /// Step 4: decode and validate the body into `E`; records its event type in the span (for
    /// a catch-all, the type the sender sent, when [`WebhookEvent::peek_event_type`] can name
    /// it).
    ///
    /// # Errors
    ///
    /// `MalformedBody` (400), `UnknownEventType` or `Validation` (422), with the field paths.
    /// A failure releases the delivery's claims without waiting for the store (this step is
    /// synchronous); [`accept`](Self::accept) waits for the release.
    pub fn decode<E: WebhookEvent>(
        &mut self,
        request: &WebhookRequest<'_>,
    ) -> Result<E, VerifyError> {
        self.require_plaintext()?;
        match E::decode(request) {
            Ok(event) => {
                self.record_decoded(&event, request);
                Ok(event)
            }
            Err(e) => Err(self.fail(e.into())),
        }
    }

    /// Steps 3 and 4 in one call, after [`authenticate`](Self::authenticate): the dedupe key
    /// (the message id, else the event's declared id read without decoding, else the
    /// signature) is claimed, then the body is decoded and validated into `E`.
    ///
    /// # Errors
    ///
    /// `InFlight` (409), `StoreUnavailable` (503), `MalformedBody` (400), `UnknownEventType`
    /// or `Validation` (422); `NotConfigured` (500) before authentication, or on a receiver
    /// that decrypts before [`decrypt`](Self::decrypt). Each is recorded. When decoding fails
    /// after the claim, the claim is released, and the store has confirmed it, before the
    /// error is returned.
    pub async fn accept<E: WebhookEvent>(
        &mut self,
        request: &WebhookRequest<'_>,
    ) -> Result<Accepted<E>, VerifyError> {
        let has_message_id = self.s.proof.as_ref().and_then(Proof::message_id).is_some();
        let event_id = if has_message_id {
            None
        } else {
            self.event_id::<E>(request)?
        };
        if !self.claim(event_id.as_deref()).await? {
            if self.s.event_type.is_none()
                && let Some(event_type) = E::peek_event_type(request)
            {
                self.record_event_type(&event_type);
            }
            return Ok(Accepted::Duplicate(self.duplicate_reply()));
        }
        self.require_plaintext()?;
        match E::decode(request) {
            Ok(event) => {
                self.record_decoded(&event, request);
                Ok(Accepted::Fresh(event))
            }
            Err(error) => {
                // Released before the answer goes out, as a failed handler's claims are.
                self.release_leases().await;
                Err(self.fail(error.into()))
            }
        }
    }

    /// Step 3 for handlers that decode by themselves: claim by message id, else the signature,
    /// and hand back the proof.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept), without the decoding ones.
    pub async fn accept_raw(&mut self) -> Result<Accepted<Proof>, VerifyError> {
        if !self.claim(None).await? {
            return Ok(Accepted::Duplicate(self.duplicate_reply()));
        }
        match &self.s.proof {
            Some(proof) => Ok(Accepted::Fresh(proof.clone())),
            None => Err(self.fail(not_authenticated())),
        }
    }

    /// The event's declared id (for [`claim`](Self::claim)), read without decoding.
    ///
    /// # Errors
    ///
    /// `MalformedBody` (400) or `Validation` (422) when the body or the id is malformed.
    pub fn event_id<E: WebhookEvent>(
        &mut self,
        request: &WebhookRequest<'_>,
    ) -> Result<Option<String>, VerifyError> {
        self.require_plaintext()?;
        E::event_id(request).map_err(|e| self.fail(e.into()))
    }

    /// Record the event type (for adapters that decode by themselves). One that is not what
    /// an event id may be (visible ASCII, 1 to 256 bytes, no surrounding spaces) is recorded
    /// nowhere, neither in the span nor in a duplicate's answer.
    pub fn record_event_type(&mut self, event_type: &str) {
        // Not what an event id may be (a header's unbounded value): recorded nowhere.
        if !crate::event::is_reportable(event_type) {
            return;
        }
        self.s.span.record("event_type", event_type);
        self.s.event_type = Some(event_type.to_owned());
    }

    /// Record the type of a decoded event: its [`event_type`](WebhookEvent::event_type),
    /// but for a catch-all the type the sender sent (see [`decoded_event_type`]), unless the
    /// receiver's reader has recorded one already.
    fn record_decoded<E: WebhookEvent>(&mut self, event: &E, request: &WebhookRequest<'_>) {
        if event.is_catch_all() && self.s.event_type.is_some() {
            return;
        }
        if let Some(event_type) = decoded_event_type(event, request) {
            self.record_event_type(&event_type);
        }
    }

    /// The answer to a duplicate: 200 `{"event_type","id","duplicate":true}`.
    #[must_use]
    pub fn duplicate_reply(&self) -> Reply {
        Reply::duplicate(
            self.s.event_type.as_deref(),
            self.s.key.as_ref().and_then(DedupeKey::id),
        )
    }

    /// Hold these claims too (from a [`LeaseSlot`]), finished with this delivery.
    pub fn adopt_leases(&mut self, leases: impl IntoIterator<Item = Lease>) {
        self.s.leases.extend(leases);
    }

    /// Take over everything parked in `slot` once the handler has answered: its claims, and
    /// whether the extractor answered a duplicate — then [`finish`](Self::finish) marks the
    /// claims done and counts the delivery as a duplicate, not as accepted. When the
    /// extractor claimed the event's own id, this delivery's claims made before (of the
    /// signature) are released once the delivery is finished (the store waited for, as for a
    /// failure): the event id alone deduplicates the delivery.
    pub fn adopt(&mut self, slot: &LeaseSlot) {
        let mut parked = slot.lock();
        if std::mem::take(&mut parked.superseded) {
            let replaced = std::mem::take(&mut self.s.leases);
            self.s.superseded.extend(replaced);
        }
        self.s.leases.append(&mut parked.leases);
        self.s.duplicate |= std::mem::take(&mut parked.duplicate);
        let duplicate_reply = parked.duplicate_reply.take();
        if !parked.handed_on {
            self.s.duplicate_answer = duplicate_reply;
        }
        let rejected = parked.rejected.take();
        if !parked.handed_on
            && let Some(error) = rejected
        {
            self.s.rejected.get_or_insert(error);
        }
    }

    /// The answer to give in place of the handler's when an extractor behind the layer found
    /// the delivery a duplicate of a processed one (by the event's own id) and nothing handed
    /// the delivery on, taken from the slot by [`adopt`](Self::adopt): a handler taking
    /// `Result<Webhook<E>, _>` answered for itself, but the sender is told `duplicate`, as the
    /// rocket fairing tells it. [`finish(true)`](Self::finish) then counts a duplicate.
    pub fn take_duplicate_answer(&mut self) -> Option<Reply> {
        self.s.duplicate_answer.take()
    }

    /// The rejection an extractor behind the layer answered with, taken from the slot by
    /// [`adopt`](Self::adopt): the layer answers with it, whatever the handler made of it
    /// (as the rocket fairing does), and [`finish_rejected`](Self::finish_rejected)s the
    /// delivery. [`finish`](Self::finish) treats a delivery with one as rejected anyway.
    pub fn take_rejection(&mut self) -> Option<VerifyError> {
        self.s.rejected.take()
    }

    fn finish_as(&mut self, outcome: Outcome) {
        if !self.s.done {
            self.s.done = true;
            observe::finish(
                &self.s.span,
                &self.s.receiver.inner.counters,
                outcome,
                self.elapsed_ms(),
            );
        }
    }

    /// Step 5: the handler's outcome. Success marks every claimed key done (a store failure
    /// then is logged, and the completion handed back to the store to finish: the handler's
    /// answer stands, so the sender will not retry); failure releases them so the sender's
    /// retry is processed.
    pub async fn finish(mut self, success: bool) {
        if let Some(error) = self.s.rejected.take() {
            // An extractor refused the delivery: nothing was handed on, whatever the answer.
            return self.finish_rejected(error).await;
        }
        if success {
            // Counted before the store is awaited: if this future is dropped meanwhile, the
            // completion goes on in the store (`Lease`), and the delivery was processed.
            let outcome = if self.s.duplicate {
                Outcome::Duplicate
            } else {
                self.trust_source();
                Outcome::Accepted
            };
            self.finish_as(outcome);
            self.complete_leases().await;
        } else {
            self.release_leases().await;
            self.finish_as(Outcome::HandlerFailed);
        }
        self.release_superseded().await;
    }

    /// Step 5 when nothing will see the handler's outcome (an adapter's extractor used
    /// without its layer or middleware, on a receiver without a replay store): the delivery
    /// is recorded as handed on, counted in [`Stats::handed_on`](crate::Stats::handed_on),
    /// and its source is not trusted by the rate limiter, which only a processed delivery
    /// earns. Claims, should there be any, are completed, as the handler has the delivery.
    pub async fn finish_handed_on(mut self) {
        if let Some(error) = self.s.rejected.take() {
            return self.finish_rejected(error).await;
        }
        let outcome = if self.s.duplicate {
            Outcome::Duplicate
        } else {
            Outcome::HandedOn
        };
        self.finish_as(outcome);
        self.complete_leases().await;
        self.release_superseded().await;
    }

    /// Release every claim and wait until the store has, so a retry sent as soon as the
    /// answer arrives finds the key free (a networked store would otherwise release in the
    /// background, and the retry could find the key still in flight: 409).
    async fn release_leases(&mut self) {
        for lease in std::mem::take(&mut self.s.leases) {
            lease.release_wait().await;
        }
        self.release_superseded().await;
    }

    /// Release the claims an event-id claim replaced, waiting for the store.
    async fn release_superseded(&mut self) {
        for lease in std::mem::take(&mut self.s.superseded) {
            lease.release_wait().await;
        }
    }

    /// Finish a delivery the handler's side refused with `error` (an extractor behind a layer
    /// answered with a rejection, e.g. 422): the rejection is recorded, and the claims are
    /// released, waiting for the store as [`finish(false)`](Self::finish) does, so a retry
    /// sent as soon as the answer arrives finds the key free.
    pub async fn finish_rejected(mut self, error: VerifyError) {
        self.release_leases().await;
        let _ = self.fail(error);
    }

    /// Mark every claimed key done; a store failure is logged and that completion handed back
    /// to the store ([`ReplayStore::complete_abandoned`](crate::ReplayStore::complete_abandoned)).
    async fn complete_leases(&mut self) {
        let mut leases = std::mem::take(&mut self.s.leases);
        // Should this future be dropped part-way (the client went away), the claims not
        // completed yet are handed to the store to complete, not released: the handler
        // succeeded.
        for lease in &mut leases {
            lease.hand_over_on_drop();
        }
        for lease in leases {
            if let Err(error) = lease.complete().await {
                tracing::error!(
                    parent: &self.s.span,
                    %error,
                    "could not mark the delivery done: handed back to the store to finish"
                );
            }
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if !self.s.done && self.s.proof.is_some() {
            // Dropped mid-way (error path the adapter did not report, or a panic): release.
            self.s.leases.clear();
            self.finish_as(Outcome::HandlerFailed);
        }
    }
}

/// Whether a `Content-Encoding` value names no coding: `identity`, any case, a list of only
/// `identity`, or empty.
fn is_identity_coding(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .all(|coding| coding.is_empty() || coding.eq_ignore_ascii_case(b"identity"))
}

/// Says once per process that requests reach a receiver whose checks read the peer's address
/// without one: the rate limit then counts every client as one unknown source, and an
/// allowlist admits none (it fails closed).
fn warn_without_peer() {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::error!(
            "webhook receiver with a rate limit, an allowlist or trusted proxies, but requests \
             carry no peer address (axum: serve the router with \
             `into_make_service_with_connect_info::<SocketAddr>()`; actix-web: a listener \
             with socket addresses, not a Unix socket); until then every client is one unknown \
             source"
        );
    }
}

fn not_authenticated() -> VerifyError {
    VerifyError::new(VerifyErrorKind::NotConfigured)
        .with_message("the delivery was not authenticated before this step")
}

/// The type a decoded event is recorded under: its [`event_type`](WebhookEvent::event_type),
/// but for a catch-all the type the sender sent, as
/// [`peek_event_type`](WebhookEvent::peek_event_type) reads it — a unit catch-all's
/// `event_type` is its own variant name, which would hide what was sent. `None` when that
/// type cannot be read or breaks the rule body ids follow (a derived set's `peek_event_type`
/// then answers `None`): nothing is recorded rather than bytes of the body that break it.
fn decoded_event_type<'e, E: WebhookEvent>(
    event: &'e E,
    request: &WebhookRequest<'_>,
) -> Option<std::borrow::Cow<'e, str>> {
    if event.is_catch_all() {
        E::peek_event_type(request).map(std::borrow::Cow::Owned)
    } else {
        Some(std::borrow::Cow::Borrowed(event.event_type()))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, SocketAddr};
    use std::sync::Arc;

    use crate::{
        FixedClock, Freshness, Outgoing, RateLimit, Receiver, Secret, Signer as _,
        StandardWebhooks, StandardWebhooksSigner, WebhookRequest,
    };

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    /// Admit, authenticate and claim one delivery from `from`: the delivery, and whether it
    /// was fresh.
    fn open(
        receiver: &Receiver,
        headers: &[(String, String)],
        from: &str,
    ) -> (crate::Delivery, bool) {
        let peer = SocketAddr::new(from.parse().unwrap(), 40_000);
        let request = WebhookRequest::new(b"{}")
            .with_headers(headers)
            .with_peer(peer);
        let mut delivery = receiver.delivery();
        delivery.admit(&request, false).unwrap();
        delivery.authenticate(&request).unwrap();
        let fresh = block_on(delivery.claim(None)).unwrap();
        (delivery, fresh)
    }

    /// A short id that reads like a long id's digest does not take that id's key.
    #[test]
    fn short_ids_never_take_a_long_ids_key() {
        use sha2::Digest as _;
        let long = "x".repeat(200);
        let posing = format!("h{}", hex::encode(sha2::Sha256::digest(long.as_bytes())));
        let key = |id: &str| super::DedupeKey::MessageId(id.to_owned()).store_key("r", None);
        assert_ne!(key(&long), key(&posing));
        assert_eq!(key("msg_1"), "r:m:=msg_1");
        assert_eq!(key(&long), format!("r:m:{posing}"));
    }

    /// [`open`] one delivery, and finish it as processed when it was fresh: whether it was.
    fn deliver(receiver: &Receiver, headers: &[(String, String)], from: &str) -> bool {
        let (delivery, fresh) = open(receiver, headers, from);
        if fresh {
            block_on(delivery.finish(true));
        }
        fresh
    }

    /// A rate-limited receiver on a fixed clock, made by `build` from its builder, and a
    /// function signing a delivery of `{}` with an id for it.
    fn limited(
        build: impl FnOnce(crate::ReceiverBuilder) -> crate::ReceiverBuilder,
    ) -> (Receiver, impl Fn(&str) -> Vec<(String, String)>) {
        let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
        let secret = Secret::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        let verifier = StandardWebhooks::new(secret.clone())
            .unwrap()
            .freshness(Freshness::default().with_shared_clock(clock.clone()));
        let builder = Receiver::builder()
            .verifier(verifier)
            .clock(clock.clone())
            .rate_limit(RateLimit::per_second(100));
        let receiver = build(builder).build().unwrap();
        let signer = StandardWebhooksSigner::new(secret).clock(clock);
        let sign = move |id: &str| {
            signer
                .sign(&Outgoing::new(b"{}").id(id))
                .unwrap()
                .into_vec()
        };
        (receiver, sign)
    }

    /// Only a processed delivery makes its source trusted by the rate limiter: authenticating
    /// and claiming are not enough, and a copy replayed from other addresses earns them
    /// nothing, even one only its event id shows to be a copy.
    #[test]
    fn only_a_processed_delivery_makes_its_source_trusted() {
        let (receiver, sign) = limited(|b| b.route("trust"));
        let limiter = receiver.inner.limiter.as_ref().unwrap();
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        // Admitted, authenticated and claimed (fresh).
        let claimed = |headers: &[(String, String)], from: &str| {
            let (delivery, fresh) = open(&receiver, headers, from);
            assert!(fresh);
            delivery
        };
        let headers = sign("msg_1");

        // Authenticated and claimed, then failed: not trusted.
        let delivery = claimed(&headers, "198.51.100.1");
        assert!(!limiter.is_trusted(ip("198.51.100.1")));
        block_on(delivery.finish(false));
        assert!(!limiter.is_trusted(ip("198.51.100.1")));

        assert!(deliver(&receiver, &headers, "198.51.100.1"));
        assert!(limiter.is_trusted(ip("198.51.100.1")));
        // The same delivery replayed from elsewhere: a duplicate, and no trust.
        assert!(!deliver(&receiver, &headers, "203.0.113.5"));
        assert!(!limiter.is_trusted(ip("203.0.113.5")));

        // Behind a layer, a copy fresh to the layer's claim (under another message id) that
        // the handler's extractor found a duplicate by the event's own id: no trust either.
        let mut layer = claimed(&sign("msg_2"), "203.0.113.6");
        let slot = crate::LeaseSlot::new();
        slot.mark_duplicate();
        layer.adopt(&slot);
        block_on(layer.finish(true));
        assert!(!limiter.is_trusted(ip("203.0.113.6")));
    }

    /// Without a replay store nothing tells a copy from the original: a processed delivery
    /// earns its source no trust, or a captured one replayed from many addresses would earn
    /// each of them a place.
    #[test]
    fn a_delivery_nothing_deduplicates_earns_no_trust() {
        let (receiver, sign) = limited(crate::ReceiverBuilder::without_replay_protection);
        let limiter = receiver.inner.limiter.as_ref().unwrap();
        let headers = sign("msg_1");
        for from in ["198.51.100.1", "203.0.113.5"] {
            assert!(deliver(&receiver, &headers, from));
            assert!(!limiter.is_trusted(Some(from.parse().unwrap())), "{from}");
        }
    }

    /// With static credentials, a delivery claimed by an event id its sender made up (the
    /// body is not signed) earns no trust: whoever holds the key could send new ids from
    /// every address.
    #[test]
    fn an_event_id_nobody_signed_earns_no_trust() {
        let key = crate::ApiKey::new("x-api-key", [Secret::from_text("key").unwrap()]).unwrap();
        let receiver = Receiver::builder()
            .verifier(key)
            .rate_limit(RateLimit::per_second(100))
            .build()
            .unwrap();
        let limiter = receiver.inner.limiter.as_ref().unwrap();
        let from: IpAddr = "198.51.100.1".parse().unwrap();
        let headers = [("x-api-key".to_owned(), "key".to_owned())];
        let request = WebhookRequest::new(b"{}")
            .with_headers(&headers)
            .with_peer(SocketAddr::new(from, 40_000));
        let mut delivery = receiver.delivery();
        delivery.admit(&request, false).unwrap();
        delivery.authenticate(&request).unwrap();
        assert!(block_on(delivery.claim(Some("evt_made_up"))).unwrap());
        block_on(delivery.finish(true));
        assert!(!limiter.is_trusted(Some(from)));
        assert_eq!(receiver.stats().accepted, 1);
    }
}
