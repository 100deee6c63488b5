//! The [`Receiver`]: everything one webhook route needs to accept a delivery, configured once
//! from code or the environment and shared cheaply by every request.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{self, SharedClock};
use crate::decrypt::Decryptor;
use crate::error::{ConfigError, VerifyError};
use crate::observe::{Counters, Stats};
use crate::rate::{Limiter, RateLimit};
use crate::request::WebhookRequest;
use crate::source::{ForwardedHeader, SourcePolicy, parse_nets};
use crate::store::{MemoryStore, ReplayStore};
use crate::verify::Verifier;

/// The neutral form of an HTTP response the pipeline answers with by itself: a rejection or a
/// duplicate. Adapters render it with their framework's types.
///
/// ```
/// use webhook_core::{Reply, VerifyError, VerifyErrorKind};
/// let reply = Reply::from_error(&VerifyError::new(VerifyErrorKind::RateLimited)
///     .with_retry_after(std::time::Duration::from_secs(2)));
/// assert_eq!(reply.status(), 429);
/// assert!(reply.headers().iter().any(|(n, v)| n == "retry-after" && v == "2"));
/// assert_eq!(reply.body(), r#"{"error":"rate_limited","message":"too many requests"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    headers: Vec<(Cow<'static, str>, String)>,
    body: String,
}

impl Reply {
    /// A JSON reply with this status and body.
    #[must_use]
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".to_owned())],
            body: body.into(),
        }
    }

    /// The standard rejection: the status table's status, `Retry-After` and
    /// `WWW-Authenticate` where they apply, and `{"error","message"}`.
    #[must_use]
    pub fn from_error(error: &VerifyError) -> Self {
        let mut reply = Self::json(error.status(), error.to_json());
        for (name, value) in error.response_headers() {
            reply.headers.push((name.into(), value));
        }
        reply
    }

    /// The answer to a duplicate of a delivery already processed: 200 with
    /// `{"event_type","id","duplicate":true}`, so the sender stops retrying.
    #[must_use]
    pub fn duplicate(event_type: Option<&str>, id: Option<&str>) -> Self {
        let body = serde_json::json!({ "event_type": event_type, "id": id, "duplicate": true });
        Self::json(200, body.to_string())
    }

    /// Add a header.
    #[must_use]
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, content type included.
    #[must_use]
    pub fn headers(&self) -> &[(Cow<'static, str>, String)] {
        &self.headers
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Status, headers and body.
    #[must_use]
    pub fn into_parts(self) -> (u16, Vec<(Cow<'static, str>, String)>, String) {
        (self.status, self.headers, self.body)
    }
}

type RejectionFn = dyn Fn(&VerifyError) -> Reply + Send + Sync;
pub(crate) type EventTypeFn = dyn Fn(&WebhookRequest<'_>) -> Option<String> + Send + Sync;

pub(crate) struct Inner {
    pub(crate) route: Cow<'static, str>,
    pub(crate) verifier: Box<dyn Verifier>,
    pub(crate) store: Option<Arc<dyn ReplayStore>>,
    pub(crate) body_limit: usize,
    pub(crate) content_types: Vec<String>,
    pub(crate) source: SourcePolicy,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) lease: Duration,
    pub(crate) retention: Duration,
    pub(crate) rejection: Option<Arc<RejectionFn>>,
    pub(crate) event_type: Option<Arc<EventTypeFn>>,
    pub(crate) public_base_url: Option<String>,
    pub(crate) signs_url: bool,
    pub(crate) decryptor: Option<Box<dyn Decryptor>>,
    pub(crate) clock: SharedClock,
    pub(crate) counters: Counters,
}

/// Everything one webhook route needs to accept a delivery: the verifier, the replay store,
/// the body limit and content types, the source rules (trusted proxies, allowlist, HTTPS),
/// the rate limit, the lease and retention, and the rejection response.
///
/// Built once at start-up with [`Receiver::builder`] — mistakes (no verifier, a bad CIDR, a
/// retention shorter than the freshness window) are a [`ConfigError`] then, not at the first
/// request. Cheap to clone (one `Arc`); put it in your framework's state.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{RateLimit, Receiver, Secret, StandardWebhooks};
///
/// let receiver = Receiver::builder()
///     .route("email")
///     .verifier(StandardWebhooks::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)?)
///     .max_body_bytes(64 * 1024)
///     .content_type("application/json")
///     .trusted_proxies(["10.0.0.0/8"])
///     .rate_limit(RateLimit::per_second(20))
///     .build()?;
/// assert_eq!(receiver.body_limit(), 64 * 1024);
///
/// // A mistake is found at start-up.
/// let error = Receiver::builder()
///     .verifier(StandardWebhooks::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)?)
///     .allow_sources(["10.0.0.0/33"])
///     .build()
///     .err()
///     .map(|error| error.to_string());
/// assert!(error.is_some_and(|message| message.contains("allowed sources")));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Receiver {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("route", &self.inner.route)
            .field("verifier", &self.inner.verifier)
            .field("store", &self.inner.store)
            .field("body_limit", &self.inner.body_limit)
            .field("content_types", &self.inner.content_types)
            .field("source", &self.inner.source)
            .field("limiter", &self.inner.limiter)
            .field("lease", &self.inner.lease)
            .field("retention", &self.inner.retention)
            .field("decryptor", &self.inner.decryptor)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Start configuring a receiver.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// Whether bodies are decrypted after authentication ([`ReceiverBuilder::decryptor`]).
    #[must_use]
    pub fn decrypts(&self) -> bool {
        self.inner.decryptor.is_some()
    }

    /// The content type the decrypted body is handed on with behind a layer or middleware
    /// (`None`: the request's own, or no decryption).
    #[must_use]
    pub fn plaintext_content_type(&self) -> Option<&str> {
        self.inner
            .decryptor
            .as_deref()
            .and_then(Decryptor::plaintext_content_type)
    }

    /// The route name (span field and store key namespace).
    #[must_use]
    pub fn route(&self) -> &str {
        &self.inner.route
    }

    /// The largest body accepted, in bytes; adapters buffer at most this much.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Whether deliveries are claimed in a replay store. Claims are finished by the handler's
    /// outcome, so adapters refuse to run a claiming receiver where they cannot see that
    /// outcome (an extractor without its layer or middleware).
    #[must_use]
    pub fn has_replay_store(&self) -> bool {
        self.inner.store.is_some()
    }

    /// The response for a rejection: the configured custom response, else
    /// [`Reply::from_error`].
    #[must_use]
    pub fn reply_for(&self, error: &VerifyError) -> Reply {
        match &self.inner.rejection {
            Some(custom) => custom(error),
            None => Reply::from_error(error),
        }
    }

    /// Whether the verifier signs the request URL ([`Verifier::signs_url`]): adapters call
    /// [`request_url`](Self::request_url) only then.
    #[must_use]
    pub fn signs_url(&self) -> bool {
        self.inner.signs_url
    }

    /// The URL a verifier signs, as an adapter builds it: `Ok(None)` when the verifier signs
    /// no URL; else [`request_url`](Self::request_url)'s, and when there is none (no public
    /// base URL, and the request names no usable host) the request is refused: 401
    /// `missing_header` without a `Host`, `malformed_header` with one that is no host name.
    ///
    /// # Errors
    ///
    /// As above: the request, not the receiver, lacks what the URL needs.
    pub fn signed_url(
        &self,
        https: bool,
        host: Option<&str>,
        path_and_query: &str,
    ) -> Result<Option<String>, VerifyError> {
        if !self.signs_url() {
            return Ok(None);
        }
        match self.request_url(https, host, path_and_query) {
            Some(url) => Ok(Some(url)),
            None if host.is_none() => Err(VerifyError::missing_header("host")),
            None => Err(VerifyError::malformed_header("host", "not a host name")),
        }
    }

    /// Whether the checks read the peer's address (a rate limit, an allowlist, trusted
    /// proxies): an adapter that cannot tell it should say so.
    #[must_use]
    pub fn reads_peer(&self) -> bool {
        let source = &self.inner.source;
        self.inner.limiter.is_some()
            || !source.allow.is_empty()
            || !source.trusted_proxies.is_empty()
    }

    /// The URL the sender addressed, for URL-signing schemes: the configured public base URL
    /// followed by `path_and_query` when one is set, else built from the connection's scheme
    /// and `Host` (on HTTP/2, `:authority`). `None` when neither a base URL nor a host is
    /// known, and when the host is not a host name or address with an optional port
    /// (letters, digits, `-`, `.`, `_`, `~`, an IPv6 literal's brackets and colons: nothing
    /// that could end the authority, such as `/`, `?`, `#` or `@`, and so move the path or
    /// the query a verifier reads; IPv6 zone ids are refused too). Adapters answer such a
    /// request 401 `malformed_header` (a missing host `missing_header`), where HTTP itself
    /// would answer 400: the request cannot be verified.
    #[must_use]
    pub fn request_url(
        &self,
        https: bool,
        host: Option<&str>,
        path_and_query: &str,
    ) -> Option<String> {
        match &self.inner.public_base_url {
            Some(base) => Some(format!("{}{path_and_query}", base.trim_end_matches('/'))),
            None => {
                let host = host.filter(|h| is_host(h))?;
                let scheme = if https { "https" } else { "http" };
                Some(format!("{scheme}://{host}{path_and_query}"))
            }
        }
    }

    /// Counters by outcome since start-up.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The number of sources the rate limiter tracks now (0 without a rate limit).
    #[must_use]
    pub fn rate_limited_sources(&self) -> usize {
        self.inner.limiter.as_ref().map_or(0, Limiter::len)
    }
}

#[derive(Default)]
enum StoreChoice {
    #[default]
    Memory,
    Custom(Arc<dyn ReplayStore>),
    Disabled,
}

/// Configures a [`Receiver`]; see [`Receiver::builder`].
///
/// Every setter takes and returns the builder; nothing is checked until
/// [`build`](Self::build), which reports the first mistake.
#[must_use]
pub struct ReceiverBuilder {
    route: Cow<'static, str>,
    verifier: Option<Box<dyn Verifier>>,
    store: StoreChoice,
    memory_capacity: usize,
    body_limit: usize,
    content_types: Vec<String>,
    trusted_proxies: Vec<String>,
    forwarded_header: ForwardedHeader,
    allow: Vec<String>,
    /// An allowlist was given (so an empty one is a mistake, not "everyone").
    allow_set: bool,
    require_https: bool,
    rate: Option<RateLimit>,
    lease: Duration,
    retention: Option<Duration>,
    tolerance: Duration,
    clock: SharedClock,
    rejection: Option<Arc<RejectionFn>>,
    event_type: Option<Arc<EventTypeFn>>,
    public_base_url: Option<String>,
    decryptor: Option<Box<dyn Decryptor>>,
    error: Option<ConfigError>,
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("route", &self.route)
            .field("has_verifier", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

/// Default body limit: 1 MiB.
const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Default lease: how long a claim blocks duplicates while its handler runs.
const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// Default freshness tolerance (each way), matching `Freshness::default()`.
const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

impl Default for ReceiverBuilder {
    fn default() -> Self {
        Self {
            route: Cow::Borrowed("webhook"),
            verifier: None,
            store: StoreChoice::Memory,
            memory_capacity: 100_000,
            body_limit: DEFAULT_BODY_LIMIT,
            content_types: Vec::new(),
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
            allow: Vec::new(),
            allow_set: false,
            require_https: false,
            rate: None,
            lease: DEFAULT_LEASE,
            retention: None,
            tolerance: DEFAULT_TOLERANCE,
            clock: clock::system(),
            rejection: None,
            event_type: None,
            public_base_url: None,
            decryptor: None,
            error: None,
        }
    }
}

/// A `Host` value as a URL's authority may hold it without a user or anything after it: a
/// name or IPv4 address, or an IPv6 literal in brackets, and a port; at most 255 bytes.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'[' | b']')
        })
}

impl ReceiverBuilder {
    /// Name the route (default `webhook`): shown in the span, and the namespace of its keys in
    /// a shared store, so two routes never collide. Not empty, and without `:` (the store key's
    /// separator) or control characters: [`build`](Self::build) refuses such a name.
    pub fn route(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.route = name.into();
        self
    }

    /// The verifier (required). Combine several with [`AnyOf`](crate::AnyOf) /
    /// [`AllOf`](crate::AllOf).
    pub fn verifier(mut self, verifier: impl Verifier) -> Self {
        self.verifier = Some(Box::new(verifier));
        self
    }

    /// Use this replay and idempotency store (default: a [`MemoryStore`] of 100 000 keys).
    pub fn replay(mut self, store: impl ReplayStore) -> Self {
        self.store = StoreChoice::Custom(Arc::new(store));
        self
    }

    /// Use a shared store handle.
    pub fn replay_shared(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = StoreChoice::Custom(store);
        self
    }

    /// Capacity of the default in-memory store.
    pub fn memory_capacity(mut self, capacity: usize) -> Self {
        self.memory_capacity = capacity;
        self
    }

    /// Turn replay and idempotency protection off. Only for schemes with their own replay
    /// protection; a captured delivery can otherwise be replayed inside the freshness window.
    pub fn without_replay_protection(mut self) -> Self {
        self.store = StoreChoice::Disabled;
        self
    }

    /// The largest body accepted (default 1 MiB); larger is 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Accept this content type (essence, e.g. `application/json`); call again for more. With
    /// none set, any content type is accepted; otherwise others are 415.
    pub fn content_type(mut self, essence: impl Into<String>) -> Self {
        self.content_types.push(essence.into().to_ascii_lowercase());
        self
    }

    /// Proxies whose forwarding header is believed (addresses or CIDR blocks): the client is
    /// the rightmost hop not in this list. Which header they write is set with
    /// [`forwarded_header`](Self::forwarded_header) (`X-Forwarded-For` and
    /// `X-Forwarded-Proto` by default); the other is never read. A request from one of them
    /// without that header, or with a hop that cannot be read, comes from an unknown client,
    /// which no allowlist admits: never the proxy's own address, which a client could
    /// otherwise borrow (a header value that is not UTF-8 is left out of every request, so
    /// the header the proxy appended to it goes with it). List only proxies: a sender inside
    /// these blocks that posts directly is unknown too.
    pub fn trusted_proxies<I, S>(mut self, nets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trusted_proxies
            .extend(nets.into_iter().map(Into::into));
        self
    }

    /// Which header the trusted proxies write: `X-Forwarded-For` (+ `X-Forwarded-Proto`, the
    /// default) or RFC 7239 `Forwarded`. Only this one is read, because a proxy passes the
    /// other through from the client as it came.
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.forwarded_header = header;
        self
    }

    /// Accept deliveries only from these addresses or CIDR blocks (IPv4 and IPv6; IPv4-mapped
    /// IPv6 clients match IPv4 blocks). Others are 403. An allowlist given here that lists
    /// nothing (`allow_sources("".split(','))`) makes [`build`](Self::build) fail: it would
    /// otherwise admit every source.
    pub fn allow_sources<I, S>(mut self, nets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allow.extend(nets.into_iter().map(Into::into));
        self.allow_set = true;
        self
    }

    /// Require HTTPS: on the connection, or as a trusted proxy reports it. Otherwise 403.
    pub fn require_https(mut self, required: bool) -> Self {
        self.require_https = required;
        self
    }

    /// Rate-limit each source (429 with `Retry-After` beyond it).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate = Some(limit);
        self
    }

    /// How long a claim blocks duplicates while its handler runs (default 30 s). A crashed
    /// handler's claim is freed after this.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a processed delivery's key is remembered. The default is the freshness window,
    /// the whole span in which a timestamp is accepted: the longer of twice the
    /// [`tolerance`](Self::tolerance) and the verifier's
    /// [`freshness_window`](crate::Verifier::freshness_window). Shorter than that window is a
    /// [`ConfigError`].
    ///
    /// A verifier whose scheme signs no timestamp (GitHub, Shopify, Twilio, Postal, Paddle
    /// Classic…; its `freshness_window` is `None`) gives a copy no age to be refused by: a
    /// copy is refused only while its key is remembered, so set this to how long that must
    /// be (hours or days), with a store that holds that many deliveries.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// The freshness tolerance assumed each way (default 5 minutes) for the replay store's
    /// retention: retention is at least the longer of twice this and the verifier's
    /// [`freshness_window`](crate::Verifier::freshness_window) (so it also covers a verifier
    /// that reports no window of its own). It does not change the verifier's own tolerance.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The clock of the rate limiter and the default store (tests).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Answer rejections with this response instead of the standard JSON.
    pub fn rejection(
        mut self,
        respond: impl Fn(&VerifyError) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.rejection = Some(Arc::new(respond));
        self
    }

    /// Read each authenticated delivery's event type with `read`, before the claim: the
    /// answer to a duplicate (`{"event_type","id","duplicate":true}`, given before anything
    /// is decoded) then names it, and so does the delivery's span whatever happens next.
    /// Without it a duplicate's `event_type` is `null`. It runs on the verified body (the
    /// plaintext, when the receiver decrypts); it must not fail, only answer `None`.
    ///
    /// ```
    /// use webhook_core::{Receiver, Secret, StandardWebhooks, WebhookRequest};
    /// let receiver = Receiver::builder()
    ///     .verifier(StandardWebhooks::new(Secret::random(24))?)
    ///     .event_type_from(|request: &WebhookRequest<'_>| {
    ///         let body: serde_json::Value = serde_json::from_slice(request.body()).ok()?;
    ///         body.get("type")?.as_str().map(str::to_owned)
    ///     })
    ///     .build()?;
    /// # let _ = receiver;
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn event_type_from(
        mut self,
        read: impl Fn(&WebhookRequest<'_>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.event_type = Some(Arc::new(read));
        self
    }

    /// [`event_type_from`](Self::event_type_from) the event set `E`: its tag field or header,
    /// read without decoding ([`WebhookEvent::peek_event_type`](crate::WebhookEvent::peek_event_type)),
    /// named as `E` names it.
    pub fn events<E: crate::WebhookEvent + 'static>(self) -> Self {
        self.event_type_from(E::peek_event_type)
    }

    /// The public base URL senders address (e.g. `https://hooks.example.com`); URL-signing
    /// schemes (Twilio…) verify against it plus the request's path and query. A scheme, a
    /// host and at most a path prefix: one with a `?` or `#` is a [`ConfigError`].
    pub fn public_base_url(mut self, url: impl Into<String>) -> Self {
        self.public_base_url = Some(url.into());
        self
    }

    /// Decrypt bodies after authentication and before the claim (the signature covers the
    /// body as sent): the handler decodes the plaintext. See [`Aes256GcmDecryptor`](crate::Aes256GcmDecryptor).
    ///
    /// ```
    /// use webhook_core::{Aes256GcmDecryptor, Envelope, Receiver, Secret, StandardWebhooks};
    /// let receiver = Receiver::builder()
    ///     .verifier(StandardWebhooks::new(Secret::random(24))?)
    ///     .decryptor(Aes256GcmDecryptor::new(Secret::random(32), Envelope::base64())?)
    ///     .build()?;
    /// assert!(receiver.decrypts());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn decryptor(mut self, decryptor: impl Decryptor) -> Self {
        self.decryptor = Some(Box::new(decryptor));
        self
    }

    /// Read settings from environment variables named `{prefix}_…`; see
    /// [`env_with`](Self::env_with).
    pub fn env(self, prefix: &str) -> Self {
        self.env_with(prefix, |name| std::env::var(name).ok())
    }

    /// Read settings through `lookup` (an environment, a config map). A variable that is set
    /// replaces the current value (lists too: they are not added to); unset variables keep
    /// it. A malformed one makes [`build`](Self::build) fail naming it, and so does a list
    /// variable that is set but empty, which would otherwise turn its check off.
    ///
    /// | variable | meaning |
    /// | --- | --- |
    /// | `{prefix}_MAX_BODY_BYTES` | body limit in bytes |
    /// | `{prefix}_CONTENT_TYPES` | comma-separated accepted content types |
    /// | `{prefix}_TRUSTED_PROXIES` | comma-separated addresses / CIDR blocks |
    /// | `{prefix}_FORWARDED_HEADER` | what the trusted proxies write: `x-forwarded-for` (the default) or `forwarded` |
    /// | `{prefix}_ALLOWED_SOURCES` | comma-separated addresses / CIDR blocks |
    /// | `{prefix}_REQUIRE_HTTPS` | `true` / `false` |
    /// | `{prefix}_RATE_LIMIT` | `N/s`, `N/min` or `N/h`, optionally `burst B` |
    /// | `{prefix}_TOLERANCE_SECS` | freshness tolerance each way |
    /// | `{prefix}_RETENTION_SECS` | how long processed keys are remembered |
    /// | `{prefix}_LEASE_SECS` | how long a claim blocks duplicates |
    /// | `{prefix}_REPLAY_CAPACITY` | keys the default in-memory store holds |
    /// | `{prefix}_PUBLIC_BASE_URL` | the URL senders address |
    ///
    /// ```
    /// use webhook_core::{Receiver, Secret, StandardWebhooks};
    /// let verifier = StandardWebhooks::new(Secret::random(24))?;
    /// let vars = |name: &str| match name {
    ///     "HOOKS_MAX_BODY_BYTES" => Some("4096".to_owned()),
    ///     "HOOKS_TRUSTED_PROXIES" => Some("10.0.0.0/8, fd00::/8".to_owned()),
    ///     _ => None,
    /// };
    /// let receiver = Receiver::builder().verifier(verifier).env_with("HOOKS", vars).build()?;
    /// assert_eq!(receiver.body_limit(), 4096);
    /// let bad = Receiver::builder()
    ///     .verifier(StandardWebhooks::new(Secret::random(24))?)
    ///     .env_with("HOOKS", |n| (n == "HOOKS_REQUIRE_HTTPS").then(|| "maybe".to_owned()))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(bad.to_string().contains("HOOKS_REQUIRE_HTTPS"));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn env_with(mut self, prefix: &str, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |suffix: &str| {
            let name = format!("{prefix}_{suffix}");
            lookup(&name).map(|v| (name, v))
        };
        let bad = |name: &str, why: &str| {
            ConfigError::new(format!("environment variable `{name}`: {why}"))
        };
        let secs = |name: &str, v: &str| {
            v.trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| bad(name, "expected whole seconds"))
        };
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        // A list variable that is set but holds nothing (`HOOKS_ALLOWED_SOURCES=` from an
        // unset `${…}`) is a mistake, not "no restriction": it would turn a check off.
        let nonempty = |name: &str, v: &str| {
            let items = list(v);
            if items.is_empty() {
                Err(bad(
                    name,
                    "is set but lists nothing; unset it to keep the default",
                ))
            } else {
                Ok(items)
            }
        };
        let mut first_error: Option<ConfigError> = None;
        let mut note = |e: ConfigError| {
            if first_error.is_none() {
                first_error = Some(e);
            }
        };
        if let Some((name, v)) = get("MAX_BODY_BYTES") {
            match v.trim().parse::<usize>() {
                Ok(n) => self.body_limit = n,
                Err(_) => note(bad(&name, "expected a number of bytes")),
            }
        }
        if let Some((name, v)) = get("CONTENT_TYPES") {
            match nonempty(&name, &v) {
                Ok(items) => {
                    self.content_types =
                        items.into_iter().map(|s| s.to_ascii_lowercase()).collect();
                }
                Err(e) => note(e),
            }
        }
        if let Some((name, v)) = get("TRUSTED_PROXIES") {
            match nonempty(&name, &v).and_then(|items| parse_nets(&name, &items).map(|_| items)) {
                Ok(items) => self.trusted_proxies = items,
                Err(e) => note(e),
            }
        }
        if let Some((name, v)) = get("FORWARDED_HEADER") {
            match v.trim().to_ascii_lowercase().as_str() {
                "x-forwarded-for" => self.forwarded_header = ForwardedHeader::XForwardedFor,
                "forwarded" => self.forwarded_header = ForwardedHeader::Forwarded,
                _ => note(bad(&name, "expected `x-forwarded-for` or `forwarded`")),
            }
        }
        if let Some((name, v)) = get("ALLOWED_SOURCES") {
            match nonempty(&name, &v).and_then(|items| parse_nets(&name, &items).map(|_| items)) {
                Ok(items) => {
                    self.allow = items;
                    self.allow_set = true;
                }
                Err(e) => note(e),
            }
        }
        if let Some((name, v)) = get("REQUIRE_HTTPS") {
            match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => self.require_https = true,
                "0" | "false" | "no" | "off" => self.require_https = false,
                _ => note(bad(&name, "expected true or false")),
            }
        }
        if let Some((name, v)) = get("RATE_LIMIT") {
            match v.parse::<RateLimit>() {
                Ok(limit) => self.rate = Some(limit),
                Err(e) => note(bad(&name, &e.to_string())),
            }
        }
        if let Some((name, v)) = get("TOLERANCE_SECS") {
            match secs(&name, &v) {
                Ok(d) => self.tolerance = d,
                Err(e) => note(e),
            }
        }
        if let Some((name, v)) = get("RETENTION_SECS") {
            match secs(&name, &v) {
                Ok(d) => self.retention = Some(d),
                Err(e) => note(e),
            }
        }
        if let Some((name, v)) = get("LEASE_SECS") {
            match secs(&name, &v) {
                Ok(d) => self.lease = d,
                Err(e) => note(e),
            }
        }
        if let Some((name, v)) = get("REPLAY_CAPACITY") {
            match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => self.memory_capacity = n,
                _ => note(bad(&name, "expected a number of keys")),
            }
        }
        if let Some((_, v)) = get("PUBLIC_BASE_URL") {
            self.public_base_url = Some(v.trim().to_owned());
        }
        if self.error.is_none() {
            self.error = first_error;
        }
        self
    }

    /// Check the configuration and build the receiver.
    ///
    /// # Errors
    ///
    /// A route name that is empty or holds `:` or a control character; no verifier; a bad
    /// address or CIDR block; a zero rate, body limit or lease; a retention
    /// shorter than the freshness window (the longer of twice the tolerance and the verifier's
    /// own window); a malformed environment variable; a public base URL
    /// that is not `http(s)://…`; a decryptor's plaintext content type that is not a header
    /// value.
    pub fn build(self) -> Result<Receiver, ConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.route.is_empty()
            || self.route.contains(':')
            || self.route.chars().any(char::is_control)
        {
            return Err(ConfigError::new(
                "receiver: the route name must not be empty, nor contain `:` (the separator of \
                 its keys in a shared store) or control characters",
            ));
        }
        let verifier = self.verifier.ok_or_else(|| {
            ConfigError::new(format!("receiver `{}`: no verifier configured", self.route))
        })?;
        if self.body_limit == 0 {
            return Err(ConfigError::new(
                "receiver: the body limit must be at least 1 byte",
            ));
        }
        if self.lease.is_zero() {
            return Err(ConfigError::new(
                "receiver: the lease must be longer than zero",
            ));
        }
        // The longer of the verifier's own window (its Freshness, past + future) and twice the
        // builder's tolerance.
        let window = verifier
            .freshness_window()
            .unwrap_or_default()
            .max(self.tolerance.saturating_mul(2));
        let retention = self.retention.unwrap_or(window);
        if retention < window {
            return Err(ConfigError::new(format!(
                "receiver: retention {} s is shorter than the freshness window {} s (the verifier's \
                 tolerance, past and future); a replay could slip through",
                retention.as_secs(),
                window.as_secs()
            )));
        }
        if let Some(url) = &self.public_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::new(
                "receiver: the public base URL must start with http:// or https://",
            ));
        }
        if let Some(url) = &self.public_base_url
            && url.contains(['?', '#'])
        {
            // The request's path and query follow it: a query or fragment here would put
            // the request's path inside them, and a verifier or a `Tenants` registry reading
            // the URL would read another path.
            return Err(ConfigError::new(
                "receiver: the public base URL is a scheme, a host and at most a path prefix: \
                 no `?` or `#`",
            ));
        }
        let source = SourcePolicy {
            trusted_proxies: parse_nets("trusted proxies", &self.trusted_proxies)?,
            forwarded_header: self.forwarded_header,
            allow: parse_nets("allowed sources", &self.allow)?,
            require_https: self.require_https,
        };
        if self.allow_set && source.allow.is_empty() {
            return Err(ConfigError::new(
                "allowed sources: an allowlist was given but lists nothing, which would admit \
                 every source",
            ));
        }
        if source
            .trusted_proxies
            .iter()
            .any(|net| net.prefix_len() == 0)
        {
            tracing::warn!(
                "receiver: every address is a trusted proxy (a /0 block), so any client can \
                 choose its source address and protocol through forwarding headers"
            );
        }
        let limiter = self
            .rate
            .map(|limit| Limiter::new(&limit, Arc::clone(&self.clock)))
            .transpose()?;
        if matches!(self.store, StoreChoice::Disabled) && verifier.requires_replay_store() {
            return Err(ConfigError::new(format!(
                "receiver `{}`: its verifier is safe only with a replay store (a scheme that binds \
                 the body too weakly to stand alone, or a `Tenants` registry, whose tenants may \
                 need one); remove `without_replay_protection`",
                self.route
            )));
        }
        let store: Option<Arc<dyn ReplayStore>> = match self.store {
            StoreChoice::Memory => Some(Arc::new(MemoryStore::with_clock(
                self.memory_capacity,
                Arc::clone(&self.clock),
            ))),
            StoreChoice::Custom(store) => Some(store),
            StoreChoice::Disabled => None,
        };
        if let Some(content_type) = self
            .decryptor
            .as_deref()
            .and_then(Decryptor::plaintext_content_type)
            && (content_type.is_empty() || !content_type.bytes().all(|b| (0x20..0x7f).contains(&b)))
        {
            return Err(ConfigError::new(
                "receiver: the decryptor's plaintext content type must be visible ASCII",
            ));
        }
        let signs_url = verifier.signs_url();
        Ok(Receiver {
            inner: Arc::new(Inner {
                route: self.route,
                verifier,
                store,
                body_limit: self.body_limit,
                content_types: self.content_types,
                source,
                limiter,
                lease: self.lease,
                retention,
                rejection: self.rejection,
                event_type: self.event_type,
                public_base_url: self.public_base_url,
                signs_url,
                decryptor: self.decryptor,
                clock: self.clock,
                counters: Counters::default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Secret, StandardWebhooks};

    fn verifier() -> StandardWebhooks {
        StandardWebhooks::new(Secret::random(24)).unwrap()
    }

    #[test]
    fn build_reports_mistakes() {
        let no_verifier = Receiver::builder().build().unwrap_err();
        assert!(no_verifier.to_string().contains("no verifier"));
        let short = Receiver::builder()
            .verifier(verifier())
            .retention(Duration::from_secs(60))
            .build()
            .unwrap_err();
        assert!(short.to_string().contains("retention"));
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .trusted_proxies(["300.0.0.1"])
                .build()
                .is_err()
        );
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .rate_limit(RateLimit::per_second(0))
                .build()
                .is_err()
        );
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .public_base_url("ftp://x")
                .build()
                .is_err()
        );
        for url in ["https://hooks.example?x=1", "https://hooks.example/p#f"] {
            let error = Receiver::builder()
                .verifier(verifier())
                .public_base_url(url)
                .build()
                .unwrap_err()
                .to_string();
            assert!(error.contains("no `?` or `#`"), "{url}: {error}");
        }
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .public_base_url("https://hooks.example/prefix/")
                .build()
                .is_ok()
        );
    }

    /// An environment variable that is set replaces the setting; a list that is set but
    /// empty would turn its check off, and is refused instead, naming the variable.
    #[test]
    fn environment_lists_and_the_forwarded_header() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        for name in [
            "HOOKS_ALLOWED_SOURCES",
            "HOOKS_TRUSTED_PROXIES",
            "HOOKS_CONTENT_TYPES",
        ] {
            for empty in ["", " ", " , ,"] {
                let lookup = move |n: &str| (n == name).then(|| empty.to_owned());
                let error = Receiver::builder()
                    .verifier(verifier())
                    .allow_sources(["192.0.2.0/24"])
                    .env_with("HOOKS", lookup)
                    .build()
                    .unwrap_err()
                    .to_string();
                assert!(
                    error.contains(name) && error.contains("lists nothing"),
                    "{error}"
                );
            }
        }
        let builder = Receiver::builder()
            .verifier(verifier())
            .allow_sources(["192.0.2.0/24"])
            .env_with(
                "HOOKS",
                env(&[
                    ("HOOKS_FORWARDED_HEADER", " Forwarded "),
                    ("HOOKS_ALLOWED_SOURCES", "198.51.100.0/24"),
                ]),
            );
        assert_eq!(builder.forwarded_header, ForwardedHeader::Forwarded);
        assert_eq!(builder.allow, ["198.51.100.0/24"]);
        assert!(builder.build().is_ok());
        let builder = Receiver::builder()
            .verifier(verifier())
            .forwarded_header(ForwardedHeader::Forwarded)
            .env_with(
                "HOOKS",
                env(&[("HOOKS_FORWARDED_HEADER", "x-forwarded-for")]),
            );
        assert_eq!(builder.forwarded_header, ForwardedHeader::XForwardedFor);
        let error = Receiver::builder()
            .verifier(verifier())
            .env_with("HOOKS", env(&[("HOOKS_FORWARDED_HEADER", "x-real-ip")]))
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("HOOKS_FORWARDED_HEADER"), "{error}");
        // The same mistake through the builder: an allowlist that lists nothing.
        let error = Receiver::builder()
            .verifier(verifier())
            .allow_sources("".split(','))
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("lists nothing"), "{error}");
    }

    #[test]
    fn request_url_prefers_the_public_base() {
        let r = Receiver::builder()
            .verifier(verifier())
            .public_base_url("https://hooks.example.com/")
            .build()
            .unwrap();
        assert_eq!(
            r.request_url(false, Some("internal:3000"), "/webhooks/twilio?a=1")
                .as_deref(),
            Some("https://hooks.example.com/webhooks/twilio?a=1")
        );
        let r = Receiver::builder().verifier(verifier()).build().unwrap();
        assert_eq!(
            r.request_url(true, Some("h.example"), "/x").as_deref(),
            Some("https://h.example/x")
        );
        assert_eq!(r.request_url(true, None, "/x"), None);
        assert_eq!(r.request_url(true, Some("bad host"), "/x"), None);
    }

    #[test]
    fn custom_rejection_is_used() {
        let r = Receiver::builder()
            .verifier(verifier())
            .rejection(|e| Reply::json(e.status(), "{}"))
            .build()
            .unwrap();
        let reply = r.reply_for(&VerifyError::invalid_signature());
        assert_eq!((reply.status(), reply.body()), (401, "{}"));
    }
}
