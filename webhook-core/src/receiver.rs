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
            reply.push_header(name.into(), value);
        }
        reply
    }

    /// The answer to a duplicate of a delivery already processed: 200 with
    /// `{"event_type","id","duplicate":true}`, so the sender stops retrying. An event type or
    /// id that is not what a body's event id may be (visible ASCII, 1 to 256 bytes, no
    /// surrounding spaces) is answered `null`: the answer never echoes an unbounded value.
    #[must_use]
    pub fn duplicate(event_type: Option<&str>, id: Option<&str>) -> Self {
        fn reportable(value: Option<&str>) -> Option<&str> {
            value.filter(|v| crate::event::is_reportable(v))
        }
        let body = serde_json::json!({
            "event_type": reportable(event_type),
            "id": reportable(id),
            "duplicate": true,
        });
        Self::json(200, body.to_string())
    }

    /// Add a header. A name that is not an HTTP token, or a value holding anything but
    /// visible ASCII, spaces and tabs (a line break, a control character, non-ASCII text), is
    /// left out, so that every adapter sends the same headers (each framework would refuse,
    /// or pass on, such a value its own way).
    ///
    /// ```
    /// use webhook_core::Reply;
    /// let reply = Reply::json(401, "{}")
    ///     .with_header("x-reason", "expired")
    ///     .with_header("x-city", "Zürich")
    ///     .with_header("x-split", "a\r\nb");
    /// assert_eq!(reply.headers().len(), 2); // content-type and x-reason
    /// ```
    #[must_use]
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.push_header(name.into(), value.into());
        self
    }

    fn push_header(&mut self, name: Cow<'static, str>, value: String) {
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let text = value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
        if token && text {
            self.headers.push((name, value));
        } else {
            tracing::debug!("a reply header that is not a valid HTTP header was left out");
        }
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
    /// 409 and 429 are answered 503 ([`ReceiverBuilder::retryable_as_503`]).
    pub(crate) retryable_as_503: bool,
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

    /// Whether a request with this `Content-Type` value passes the content-type check
    /// ([`ReceiverBuilder::content_type`]; parameters are not compared, case is ignored).
    /// With no content type configured, every request does, even one without the header.
    #[must_use]
    pub fn accepts_content_type(&self, value: Option<&str>) -> bool {
        self.accepts_essence(value.map(crate::request::essence))
    }

    pub(crate) fn accepts_essence(&self, essence: Option<&str>) -> bool {
        let allowed = &self.inner.content_types;
        allowed.is_empty()
            || essence.is_some_and(|ct| allowed.iter().any(|a| a.eq_ignore_ascii_case(ct)))
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

    /// The response for a rejection: the configured custom response, with the rejection's
    /// `Retry-After` and `WWW-Authenticate` added where it keeps the rejection's status and
    /// does not set them itself; else [`Reply::from_error`].
    #[must_use]
    pub fn reply_for(&self, error: &VerifyError) -> Reply {
        let mut reply = self.table_reply_for(error);
        if self.inner.retryable_as_503
            && matches!(
                error.kind(),
                crate::VerifyErrorKind::InFlight | crate::VerifyErrorKind::RateLimited
            )
            && reply.status == error.status()
        {
            reply.status = 503;
        }
        reply
    }

    /// [`reply_for`](Self::reply_for) before [`ReceiverBuilder::retryable_as_503`].
    fn table_reply_for(&self, error: &VerifyError) -> Reply {
        match &self.inner.rejection {
            Some(custom) => {
                let mut reply = custom(error);
                // Only on a reply that keeps the rejection's status: one that answers
                // otherwise (a 404 hiding the endpoint) must not name its auth scheme.
                if reply.status == error.status() {
                    for (name, value) in error.response_headers() {
                        if !reply
                            .headers
                            .iter()
                            .any(|(n, _)| n.eq_ignore_ascii_case(name))
                        {
                            reply.push_header(name.into(), value);
                        }
                    }
                }
                reply
            }
            None => Reply::from_error(error),
        }
    }

    /// Whether the verifier signs the request URL ([`Verifier::signs_url`]): adapters call
    /// [`request_url`](Self::request_url) only then.
    #[must_use]
    pub fn signs_url(&self) -> bool {
        self.inner.signs_url
    }

    /// The request's host from the text values of its `Host` field lines (adapters pass
    /// those that are UTF-8; rocket drops the others before anyone sees them), for
    /// [`signed_url`](Self::signed_url): `None` without one. A request with several is
    /// refused, as HTTP/1.1 requires (RFC 9112 §3.2): each reader of it could take another
    /// for the URL the sender addressed. Adapters ask this whenever the verifier signs the
    /// URL, with a public base URL set too (the request is malformed either way).
    ///
    /// ```
    /// use webhook_core::{Receiver, VerifyErrorKind};
    ///
    /// assert_eq!(Receiver::host_field(["example.com"]).unwrap(), Some("example.com"));
    /// assert_eq!(Receiver::host_field([]).unwrap(), None);
    /// let two = Receiver::host_field(["example.com", "attacker.test"]);
    /// assert_eq!(two.unwrap_err().kind(), VerifyErrorKind::MalformedHeader);
    /// ```
    ///
    /// # Errors
    ///
    /// 401 `malformed_header` when the field is repeated.
    pub fn host_field<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<&'a str>, VerifyError> {
        let mut values = values.into_iter();
        let host = values.next();
        if values.next().is_some() {
            return Err(VerifyError::malformed_header("host", "repeated"));
        }
        Ok(host)
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
    /// proxies, every peer trusted as one): an adapter that cannot tell it should say so.
    #[must_use]
    pub fn reads_peer(&self) -> bool {
        let source = &self.inner.source;
        self.inner.limiter.is_some()
            || !source.allow.is_empty()
            || !source.trusted_proxies.is_empty()
            || source.every_peer
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
    /// The variable `retention` was read from, named in build's errors.
    retention_from: Option<String>,
    /// The route was named (a shared store needs it: see `build`).
    route_set: bool,
    /// Every peer may be a proxy ([`ReceiverBuilder::trust_every_peer_as_proxy`]).
    every_peer_trusted: bool,
    /// The store was given with `replay_shared`.
    shared_store: bool,
    clock: SharedClock,
    rejection: Option<Arc<RejectionFn>>,
    retryable_as_503: bool,
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
/// The shortest default retention: the freshness window of `Freshness::default()` (5 minutes
/// each way), and the whole memory of a copy for schemes that sign no timestamp.
const DEFAULT_RETENTION: Duration = Duration::from_secs(600);

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
            retention_from: None,
            route_set: false,
            every_peer_trusted: false,
            shared_store: false,
            clock: clock::system(),
            rejection: None,
            retryable_as_503: false,
            event_type: None,
            public_base_url: None,
            decryptor: None,
            error: None,
        }
    }
}

/// Why a public base URL cannot be one (`Err`): it must be `http(s)://host[/prefix]`.
fn check_public_base_url(url: &str) -> Result<(), &'static str> {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Err("must start with http:// or https://");
    };
    if url.contains(['?', '#']) {
        // The request's path and query follow it: a query or fragment here would put the
        // request's path inside them, and a verifier or a `Tenants` registry reading the URL
        // would read another path.
        return Err("is a scheme, a host and at most a path prefix: no `?` or `#`");
    }
    let host = rest.split('/').next().unwrap_or(rest);
    if !is_host(host) {
        return Err("must name a host after the scheme");
    }
    Ok(())
}

/// Whether these blocks together hold every IPv4 or every IPv6 address.
fn covers_a_whole_family(nets: &[ipnet::IpNet]) -> bool {
    ipnet::IpNet::aggregate(&nets.to_vec())
        .iter()
        .any(|net| net.prefix_len() == 0)
}

/// A configured content type's essence, lower-cased: `type/subtype` as RFC 9110 tokens,
/// parameters dropped; `None` for anything else, wildcards included (`application/*`,
/// `*/*`: essences are compared as they stand, so a wildcard would match nothing).
fn content_type_essence(value: &str) -> Option<String> {
    let essence = crate::request::essence(value);
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'+-.^_`|~".contains(&b))
    };
    let (kind, subtype) = essence.split_once('/')?;
    (token(kind) && token(subtype)).then(|| essence.to_ascii_lowercase())
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
    ///
    /// Receivers that share a store must each be named, or two left at the default would
    /// answer each other's deliveries as duplicates: `build` refuses a store given with
    /// [`replay_shared`](Self::replay_shared), or a networked one (a
    /// [`RedisStore`](crate::RedisStore), which several applications may reach:
    /// [`ReplayStore::is_shared`]), on a receiver left at the default name. Applications
    /// sharing one Redis also keep apart by the store's key prefix.
    pub fn route(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.route = name.into();
        self.route_set = true;
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
        self.shared_store = false;
        self
    }

    /// Use a shared store handle.
    pub fn replay_shared(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = StoreChoice::Custom(store);
        self.shared_store = true;
        self
    }

    /// Capacity of the default in-memory store.
    pub fn memory_capacity(mut self, capacity: usize) -> Self {
        self.memory_capacity = capacity;
        self
    }

    /// Turn replay and idempotency protection off: a captured delivery is then processed
    /// again each time it is sent while its timestamp is fresh. Only for an application that
    /// makes every delivery idempotent itself. [`build`](Self::build) refuses it for a
    /// verifier that [requires a store](crate::Verifier::requires_replay_store): by default
    /// one whose scheme signs no timestamp (GitHub, Shopify…), whose copies nothing else
    /// would ever refuse; API keys and Basic auth, which a store cannot help, may go
    /// without.
    pub fn without_replay_protection(mut self) -> Self {
        self.store = StoreChoice::Disabled;
        self
    }

    /// The largest body accepted (default 1 MiB); larger is 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Accept this content type (essence, e.g. `application/json`; parameters such as
    /// `; charset=utf-8` are dropped, since a request's are not compared); call again for more.
    /// With none set, any content type is accepted; otherwise others are 415. A value that is
    /// not `type/subtype` makes [`build`](Self::build) fail.
    ///
    /// ```
    /// use webhook_core::{Receiver, Secret, StandardWebhooks};
    /// let verifier = || StandardWebhooks::new(Secret::random(24));
    /// let receiver = Receiver::builder()
    ///     .verifier(verifier()?)
    ///     .content_type("Application/JSON; charset=utf-8")
    ///     .build()?;
    /// assert!(receiver.accepts_content_type(Some("application/json")));
    /// assert!(!receiver.accepts_content_type(Some("text/plain")));
    /// assert!(Receiver::builder().verifier(verifier()?).content_type("json").build().is_err());
    /// // Essences are compared as they stand: a wildcard would match nothing, so it is refused.
    /// for wildcard in ["application/*+json", "*/*", "application/*"] {
    ///     assert!(Receiver::builder().verifier(verifier()?).content_type(wildcard).build().is_err());
    /// }
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn content_type(mut self, essence: impl Into<String>) -> Self {
        let essence = essence.into();
        match content_type_essence(&essence) {
            Some(essence) => self.content_types.push(essence),
            None => self.fail(ConfigError::new(format!(
                "content type `{}` is not `type/subtype` (e.g. `application/json`; no \
                 wildcards: list each type)",
                essence.escape_debug()
            ))),
        }
        self
    }

    /// Keep the first configuration error, for `build`.
    fn fail(&mut self, error: ConfigError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
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
        self.every_peer_trusted = false;
        self
    }

    /// Take every peer for a proxy that appends one hop to the forwarding header, and believe
    /// that hop alone: for an application no client can reach except through one proxy whose
    /// addresses are not known in advance (a platform's load balancer). The client is the
    /// rightmost hop, the one the proxy appended; hops further left, which the client may
    /// have written itself, are never read, and the protocol is the proxy's own rightmost
    /// entry. Anywhere a client can reach the application directly it writes its own source
    /// address and protocol, so the allowlist, the rate limit's sources and
    /// [`require_https`](Self::require_https) would mean nothing. A list of trusted proxies
    /// set afterwards replaces this. [`build`](Self::build) refuses trusted blocks that cover
    /// every IPv4 or every IPv6 address (`0.0.0.0/0`, or `0.0.0.0/1` with `128.0.0.0/1`):
    /// they would believe hops a client wrote. From the environment:
    /// `{prefix}_TRUSTED_PROXIES=*`.
    ///
    /// ```
    /// use webhook_core::{Receiver, Secret, StandardWebhooks};
    /// let verifier = || StandardWebhooks::new(Secret::random(24));
    /// assert!(Receiver::builder().verifier(verifier()?).trusted_proxies(["0.0.0.0/0"]).build().is_err());
    /// assert!(Receiver::builder().verifier(verifier()?).trust_every_peer_as_proxy().build().is_ok());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn trust_every_peer_as_proxy(mut self) -> Self {
        self.every_peer_trusted = true;
        self
    }

    /// Which header the trusted proxies write: `X-Forwarded-For` (+ `X-Forwarded-Proto`, the
    /// default) or RFC 7239 `Forwarded`. Only this one is read, because a proxy passes the
    /// other through from the client as it came.
    ///
    /// With `X-Forwarded-For`, the protocol is the rightmost `X-Forwarded-Proto` value, which
    /// is the proxy's own only when the proxy replaces the header: many pass a client's
    /// `X-Forwarded-Proto` through unless told otherwise (nginx needs
    /// `proxy_set_header X-Forwarded-Proto $scheme;`). Where the proxy cannot be made to
    /// replace it, a client could claim HTTPS over plain HTTP: use `Forwarded`, whose last
    /// element is the proxy's own, protocol included.
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

    /// Require HTTPS: on the connection, or as a trusted proxy reports it (see
    /// [`forwarded_header`](Self::forwarded_header) for what the proxy must write). Otherwise
    /// 403.
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
    /// handler's claim is freed after this, and so is a slow one's: make it longer than the
    /// handler's longest run, or a copy arriving after it may run beside it (a success that
    /// lands after a copy was claimed is logged as a warning).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a processed delivery's key is remembered. The default is the verifier's
    /// freshness window, the whole span in which a timestamp is accepted
    /// ([`freshness_window`](crate::Verifier::freshness_window)), and at least 10 minutes.
    /// Shorter than that window, or zero, is a [`ConfigError`].
    ///
    /// A verifier whose scheme signs no timestamp (GitHub, Shopify, Twilio, Postal, Paddle
    /// Classic…; its `freshness_window` is `None`) gives a copy no age to be refused by: a
    /// copy is refused only while its key is remembered, so set this to how long that must
    /// be (hours or days), with a store that holds that many deliveries; built without it,
    /// such a receiver logs a warning at start-up. (Not one whose verifier has a window of
    /// its own while some deliveries it accepts carry no timestamp: an `AnyOf` of GitHub
    /// and Standard Webhooks, or `Tenants` mixing such schemes. Set it there too.)
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self.retention_from = None;
        self
    }

    /// The clock of the rate limiter and the default store (tests).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Answer the refusals a sender is meant to retry later, 409 `in_flight` (a copy whose
    /// first delivery is still being handled) and 429 `rate_limited`, with 503 instead, the
    /// same body and `Retry-After`: for senders that retry a 5xx answer but drop a message
    /// answered with any 4xx, such as Amazon SNS ([`provider::sns`](crate::provider::sns)),
    /// which would otherwise lose a message refused for either. Every other rejection keeps
    /// the status table's status. With a custom [`rejection`](Self::rejection), only a
    /// response that keeps the 409 or 429 is changed. From the environment:
    /// `{prefix}_RETRYABLE_AS_503=true`.
    ///
    /// ```
    /// use webhook_core::{Receiver, Secret, StandardWebhooks, VerifyError, VerifyErrorKind};
    /// let receiver = Receiver::builder()
    ///     .verifier(StandardWebhooks::new(Secret::random(24))?)
    ///     .retryable_as_503(true)
    ///     .build()?;
    /// let limited = VerifyError::new(VerifyErrorKind::RateLimited)
    ///     .with_retry_after(std::time::Duration::from_secs(3));
    /// let reply = receiver.reply_for(&limited);
    /// assert_eq!(reply.status(), 503);
    /// assert_eq!(reply.body(), r#"{"error":"rate_limited","message":"too many requests"}"#);
    /// assert!(reply.headers().iter().any(|(n, v)| n == "retry-after" && v == "3"));
    /// assert_eq!(receiver.reply_for(&VerifyError::new(VerifyErrorKind::InvalidSignature)).status(), 401);
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn retryable_as_503(mut self, on: bool) -> Self {
        self.retryable_as_503 = on;
        self
    }

    /// Answer rejections with this response instead of the standard JSON. A duplicate of a
    /// processed delivery is not a rejection: it is answered 200
    /// `{"event_type","id","duplicate":true}` whatever `respond` does. Where the response
    /// keeps the rejection's status, the rejection's `Retry-After` and `WWW-Authenticate` are
    /// added to it unless it sets them itself, so a sender still learns when to retry and a
    /// client which credentials to send; a response with another status (a 404 that hides
    /// the endpoint) gets neither.
    ///
    /// ```
    /// use webhook_core::{Receiver, Reply, Secret, StandardWebhooks, VerifyError, VerifyErrorKind};
    /// let receiver = Receiver::builder()
    ///     .verifier(StandardWebhooks::new(Secret::random(24))?)
    ///     .rejection(|error| Reply::json(error.status(), r#"{"ok":false}"#))
    ///     .build()?;
    /// let limited = VerifyError::new(VerifyErrorKind::RateLimited)
    ///     .with_retry_after(std::time::Duration::from_secs(3));
    /// let reply = receiver.reply_for(&limited);
    /// assert_eq!((reply.status(), reply.body()), (429, r#"{"ok":false}"#));
    /// assert!(reply.headers().iter().any(|(n, v)| n == "retry-after" && v == "3"));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
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
    /// Without it, a duplicate answered before anything is decoded (by the axum layer or the
    /// actix-web middleware) has `event_type` `null`; one answered by a typed extractor or
    /// guard names the type its event set reads from the body. It runs on the verified body (the
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
    /// The verifier must sign the body ([`Verifier::signs_body`]), or
    /// [`build`](Self::build) fails: only that signature binds the plaintext to its delivery.
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
    /// A variable whose value is not UTF-8 is refused naming it, as a malformed one is.
    pub fn env(self, prefix: &str) -> Self {
        self.env_os_with(prefix, |name| std::env::var_os(name))
    }

    /// [`env_with`](Self::env_with) over raw values: one that is not UTF-8 makes `build`
    /// fail naming it (read as unset, it would turn its check off).
    fn env_os_with(
        mut self,
        prefix: &str,
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Self {
        let not_unicode = std::cell::RefCell::new(None);
        self = self.env_with(prefix, |name| {
            let value = lookup(name)?;
            match value.into_string() {
                Ok(text) => Some(text),
                Err(_) => {
                    not_unicode
                        .borrow_mut()
                        .get_or_insert_with(|| name.to_owned());
                    None
                }
            }
        });
        if let Some(name) = not_unicode.into_inner() {
            self.fail(ConfigError::new(format!(
                "environment variable `{name}`: is not valid UTF-8"
            )));
        }
        self
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
    /// | `{prefix}_TRUSTED_PROXIES` | comma-separated addresses / CIDR blocks, or `*` for [every peer](Self::trust_every_peer_as_proxy) |
    /// | `{prefix}_FORWARDED_HEADER` | what the trusted proxies write: `x-forwarded-for` (the default) or `forwarded` |
    /// | `{prefix}_ALLOWED_SOURCES` | comma-separated addresses / CIDR blocks |
    /// | `{prefix}_REQUIRE_HTTPS` | `true` / `false` |
    /// | `{prefix}_RETRYABLE_AS_503` | `true` / `false`: 409 and 429 answered 503 ([`retryable_as_503`](Self::retryable_as_503)) |
    /// | `{prefix}_RATE_LIMIT` | `N/s`, `N/min` or `N/h`, optionally `burst B` |
    /// | `{prefix}_RETENTION_SECS` | how long processed keys are remembered ([`retention`](Self::retention)) |
    /// | `{prefix}_LEASE_SECS` | how long a claim blocks duplicates ([`lease`](Self::lease)) |
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
        let secs = |name: &str, v: &str| match v.trim().parse::<u64>() {
            Ok(0) => Err(bad(name, "must be at least 1 second")),
            Ok(n) => Ok(Duration::from_secs(n)),
            Err(_) => Err(bad(name, "expected whole seconds")),
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
                Ok(n) if n > 0 => self.body_limit = n,
                _ => note(bad(&name, "expected a number of bytes, at least 1")),
            }
        }
        if let Some((name, v)) = get("CONTENT_TYPES") {
            let essences = nonempty(&name, &v).and_then(|items| {
                items
                    .iter()
                    .map(|item| {
                        content_type_essence(item).ok_or_else(|| {
                            bad(
                                &name,
                                &format!(
                                    "`{}` is not `type/subtype` (no wildcards: list each type)",
                                    item.escape_debug()
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            });
            match essences {
                Ok(essences) => self.content_types = essences,
                Err(e) => note(e),
            }
        }
        if let Some((_, v)) = get("TRUSTED_PROXIES")
            && v.trim() == "*"
        {
            self.trusted_proxies.clear();
            self.every_peer_trusted = true;
        } else if let Some((name, v)) = get("TRUSTED_PROXIES") {
            match nonempty(&name, &v).and_then(|items| parse_nets(&name, &items).map(|_| items)) {
                Ok(items) => {
                    self.trusted_proxies = items;
                    self.every_peer_trusted = false;
                }
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
        if let Some((name, v)) = get("RETRYABLE_AS_503") {
            match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => self.retryable_as_503 = true,
                "0" | "false" | "no" | "off" => self.retryable_as_503 = false,
                _ => note(bad(&name, "expected true or false")),
            }
        }
        if let Some((name, v)) = get("RATE_LIMIT") {
            match v.parse::<RateLimit>() {
                Ok(limit) => self.rate = Some(limit),
                Err(e) => note(bad(&name, &e.to_string())),
            }
        }
        if let Some((name, _)) = get("TOLERANCE_SECS") {
            // Read by earlier versions as a floor for retention: refused rather than ignored,
            // so that a deployment relying on it does not keep keys for less time unawares.
            note(bad(
                &name,
                "is not read: the freshness tolerance is the verifier's own (`Freshness`), and \
                 how long processed keys are kept is `_RETENTION_SECS`",
            ));
        }
        if let Some((name, v)) = get("RETENTION_SECS") {
            match secs(&name, &v) {
                Ok(d) => {
                    self.retention = Some(d);
                    self.retention_from = Some(name);
                }
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
        if let Some((name, v)) = get("PUBLIC_BASE_URL") {
            match check_public_base_url(v.trim()) {
                Ok(()) => self.public_base_url = Some(v.trim().to_owned()),
                Err(why) => note(bad(&name, why)),
            }
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
    /// A route name that is empty or holds `:` or a control character; no verifier, or one
    /// whose [`check_config`](crate::Verifier::check_config) fails (an empty `AnyOf`); a bad
    /// address or CIDR block, or trusted proxies covering every address without
    /// [`trust_every_peer_as_proxy`](Self::trust_every_peer_as_proxy); a zero rate, body
    /// limit, lease or retention; a retention shorter than the verifier's freshness window;
    /// a content type that is not `type/subtype`; no replay store for a verifier whose scheme
    /// signs no timestamp or that requires one; a store given with
    /// [`replay_shared`](Self::replay_shared), or a networked one
    /// ([`ReplayStore::is_shared`]), to a receiver left at the default route name; a
    /// malformed environment variable; a public base URL that is not `http(s)://host[/prefix]`;
    /// a decryptor's plaintext content type that is not a header value; a decryptor beside a
    /// verifier whose signature does not cover the body ([`Verifier::signs_body`]).
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
        verifier
            .check_config()
            .map_err(|e| ConfigError::new(format!("receiver `{}`: {e}", self.route)))?;
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
        // The verifier's own window (its Freshness, past + future): a copy is refused by its
        // age after it, and must be remembered until then.
        let window = verifier.freshness_window();
        let retention = self
            .retention
            .unwrap_or_else(|| window.unwrap_or_default().max(DEFAULT_RETENTION));
        let set_by = self
            .retention_from
            .as_deref()
            .map(|name| format!(" (set by `{name}`)"))
            .unwrap_or_default();
        if retention.is_zero() {
            return Err(ConfigError::new(format!(
                "receiver `{}`: retention must be longer than zero{set_by}",
                self.route
            )));
        }
        if let Some(window) = window
            && retention < window
        {
            return Err(ConfigError::new(format!(
                "receiver `{}`: retention {} s{set_by} is shorter than the freshness window {} s \
                 (the verifier's tolerance, past and future); a replay could slip through",
                self.route,
                retention.as_secs(),
                window.as_secs()
            )));
        }
        if window.is_none()
            && self.retention.is_none()
            && !matches!(self.store, StoreChoice::Disabled)
            && (verifier.signs_body() || verifier.requires_replay_store())
        {
            // Said once, at start-up: a captured delivery of such a scheme verifies forever,
            // and only the store's memory of its key refuses it.
            tracing::warn!(
                route = %self.route,
                retention_secs = retention.as_secs(),
                "the verifier signs no timestamp: a copy of a delivery is refused only while \
                 its key is retained; set the receiver's retention to as long as a captured \
                 delivery must be refused (days)"
            );
        }
        if let Some(url) = &self.public_base_url {
            check_public_base_url(url)
                .map_err(|why| ConfigError::new(format!("receiver: the public base URL {why}")))?;
        }
        let source = SourcePolicy {
            trusted_proxies: parse_nets("trusted proxies", &self.trusted_proxies)?,
            forwarded_header: self.forwarded_header,
            allow: parse_nets("allowed sources", &self.allow)?,
            require_https: self.require_https,
            every_peer: self.every_peer_trusted,
        };
        if self.allow_set && source.allow.is_empty() {
            return Err(ConfigError::new(
                "allowed sources: an allowlist was given but lists nothing, which would admit \
                 every source",
            ));
        }
        if !self.every_peer_trusted && covers_a_whole_family(&source.trusted_proxies) {
            return Err(ConfigError::new(format!(
                "receiver `{}`: the trusted proxies cover every IPv4 or every IPv6 address, so \
                 any client could choose its source address and protocol through forwarding \
                 headers; list the proxies, or call `trust_every_peer_as_proxy` \
                 (`{{prefix}}_TRUSTED_PROXIES=*`, which believes only the hop the proxy appends) \
                 if no client can reach the app but through one proxy",
                self.route
            )));
        }
        let limiter = self
            .rate
            .map(|limit| Limiter::new(&limit, Arc::clone(&self.clock)))
            .transpose()?;
        let store_is_shared = match &self.store {
            StoreChoice::Custom(store) => self.shared_store || store.is_shared(),
            _ => false,
        };
        if store_is_shared && !self.route_set {
            return Err(ConfigError::new(
                "receiver: name the route (`route(..)`) of a receiver given a shared store \
                 (`replay_shared`, or a networked store such as Redis): receivers sharing a \
                 store keep their deliveries apart by it, and two left at the default name \
                 would answer each other's deliveries as duplicates",
            ));
        }
        if matches!(self.store, StoreChoice::Disabled) && verifier.requires_replay_store() {
            return Err(ConfigError::new(format!(
                "receiver `{}`: its verifier is safe only with a replay store (a scheme that signs \
                 no timestamp, whose copies nothing else would ever refuse; one that does not \
                 sign the body, or binds it too weakly to stand alone; or a `Tenants` registry, \
                 whose tenants may need one); remove `without_replay_protection`",
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
        if self.decryptor.is_some() && !verifier.signs_body() {
            return Err(ConfigError::new(format!(
                "receiver `{}`: a decryptor needs a verifier whose signature covers the body \
                 (`Verifier::signs_body`): otherwise nothing binds the plaintext to the \
                 delivery, and an old sealed body could ride on a newer signature",
                self.route
            )));
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
                retryable_as_503: self.retryable_as_503,
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
        // The rejection's own headers are added where the custom reply does not set them.
        let limited = VerifyError::new(crate::VerifyErrorKind::RateLimited)
            .with_retry_after(Duration::from_secs(7));
        let reply = r.reply_for(&limited);
        assert_eq!(reply.status(), 429);
        assert_eq!(
            reply
                .headers()
                .iter()
                .filter(|(n, _)| n == "retry-after")
                .count(),
            1
        );
        assert!(
            reply
                .headers()
                .iter()
                .any(|(n, v)| n == "retry-after" && v == "7")
        );
        let challenge = VerifyError::new(crate::VerifyErrorKind::MissingCredentials)
            .with_www_authenticate("Basic realm=\"hooks\"");
        assert!(
            r.reply_for(&challenge)
                .headers()
                .iter()
                .any(|(n, v)| n == "www-authenticate" && v == "Basic realm=\"hooks\"")
        );
        // One the custom reply sets itself is kept as it is, not doubled.
        let own = Receiver::builder()
            .verifier(verifier())
            .rejection(|e| {
                let mut reply = Reply::json(e.status(), "{}");
                reply.headers.push(("Retry-After".into(), "60".to_owned()));
                reply
            })
            .build()
            .unwrap();
        let headers = own.reply_for(&limited).headers().to_vec();
        let retry: Vec<_> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
            .collect();
        assert_eq!(retry.len(), 1);
        assert_eq!(retry.first().map(|(_, v)| v.as_str()), Some("60"));
        // A reply with another status gets neither header: it may be hiding the endpoint.
        let hidden = Receiver::builder()
            .verifier(verifier())
            .rejection(|_| Reply::json(404, "{}"))
            .build()
            .unwrap();
        let only_content_type =
            |reply: Reply| reply.headers().iter().all(|(n, _)| n == "content-type");
        assert!(only_content_type(hidden.reply_for(&challenge)));
        assert!(only_content_type(hidden.reply_for(&limited)));
    }

    fn github() -> crate::HmacVerifier {
        crate::provider::github::verifier(Secret::random(24)).unwrap()
    }

    /// A verifier whose scheme signs no timestamp keeps processed keys 10 minutes by default,
    /// never zero; an explicit zero is refused, naming the variable it came from.
    #[test]
    fn retention_is_never_zero() {
        let r = Receiver::builder().verifier(github()).build().unwrap();
        assert_eq!(r.inner.retention, DEFAULT_RETENTION);
        let error = Receiver::builder()
            .verifier(github())
            .retention(Duration::ZERO)
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("longer than zero"), "{error}");
        let refusal = |verifier: Box<dyn Verifier>, name: &'static str, value: &'static str| {
            Receiver::builder()
                .verifier(verifier)
                .env_with("H", move |n: &str| (n == name).then(|| value.to_owned()))
                .build()
                .unwrap_err()
                .to_string()
        };
        let error = refusal(Box::new(github()), "H_RETENTION_SECS", "0");
        assert!(error.contains("H_RETENTION_SECS"), "{error}");
        // Too short for the verifier's window, set from the environment: named too.
        let error = refusal(Box::new(verifier()), "H_RETENTION_SECS", "60");
        assert!(
            error.contains("H_RETENTION_SECS") && error.contains("600 s"),
            "{error}"
        );
        // The freshness tolerance is the verifier's: a variable earlier versions read as a
        // retention floor is refused, not ignored.
        let error = refusal(Box::new(github()), "H_TOLERANCE_SECS", "86400");
        assert!(
            error.contains("H_TOLERANCE_SECS") && error.contains("RETENTION_SECS"),
            "{error}"
        );
    }

    /// Every numeric variable whose zero would be refused later is refused naming itself,
    /// and so is a public base URL that cannot be one.
    #[test]
    fn environment_errors_name_their_variable() {
        for (name, value) in [
            ("H_MAX_BODY_BYTES", "0"),
            ("H_LEASE_SECS", "0"),
            ("H_RETENTION_SECS", "0"),
            ("H_PUBLIC_BASE_URL", ""),
            ("H_PUBLIC_BASE_URL", "ftp://hooks.example"),
            ("H_PUBLIC_BASE_URL", "https://"),
            ("H_PUBLIC_BASE_URL", "https://user@hooks.example"),
            ("H_PUBLIC_BASE_URL", "https://hooks.example/?a=1"),
            ("H_CONTENT_TYPES", "application/json, json"),
            ("H_CONTENT_TYPES", "application/*+json"),
        ] {
            let lookup = move |n: &str| (n == name).then(|| value.to_owned());
            let error = Receiver::builder()
                .verifier(verifier())
                .env_with("H", lookup)
                .build()
                .unwrap_err()
                .to_string();
            assert!(error.contains(name), "{name}={value:?}: {error}");
        }
    }

    /// A value that is not UTF-8 is refused naming its variable; read as unset, it would
    /// turn its check off.
    #[test]
    fn environment_values_that_are_not_utf8_are_refused() {
        use std::os::unix::ffi::OsStringExt as _;
        let lookup = |n: &str| {
            (n == "H_ALLOWED_SOURCES").then(|| std::ffi::OsString::from_vec(vec![0xff, b'1']))
        };
        let error = Receiver::builder()
            .verifier(verifier())
            .env_os_with("H", lookup)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("H_ALLOWED_SOURCES") && error.contains("UTF-8"),
            "{error}"
        );
        let fine =
            |n: &str| (n == "H_ALLOWED_SOURCES").then(|| std::ffi::OsString::from("192.0.2.0/24"));
        let builder = Receiver::builder()
            .verifier(verifier())
            .env_os_with("H", fine);
        assert_eq!(builder.allow, ["192.0.2.0/24"]);
    }

    /// Content types are kept by their essence; what is not `type/subtype` is refused.
    #[test]
    fn content_types_are_essences() {
        let r = Receiver::builder()
            .verifier(verifier())
            .content_type(" Application/JSON ; charset=utf-8")
            .build()
            .unwrap();
        assert_eq!(r.inner.content_types, ["application/json"]);
        assert!(r.accepts_content_type(Some("application/json; charset=UTF-8")));
        assert!(!r.accepts_content_type(Some("application/jsonx")));
        assert!(!r.accepts_content_type(None));
        for bad in [
            "",
            " ",
            "json",
            "application/",
            "/json",
            "application/ json",
            "a b/c",
        ] {
            assert!(
                Receiver::builder()
                    .verifier(verifier())
                    .content_type(bad)
                    .build()
                    .is_err(),
                "{bad:?}"
            );
        }
        let any = Receiver::builder().verifier(verifier()).build().unwrap();
        assert!(any.accepts_content_type(None));
    }

    /// Trusted proxies that together hold every address of a family are refused unless the
    /// application says every peer is a proxy.
    #[test]
    fn trusting_every_address_must_be_said() {
        for nets in [
            &["0.0.0.0/0"][..],
            &["::/0"],
            &["0.0.0.0/1", "128.0.0.0/1"],
            &["10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"],
        ] {
            let error = Receiver::builder()
                .verifier(verifier())
                .trusted_proxies(nets.iter().copied())
                .build()
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("trust_every_peer_as_proxy"),
                "{nets:?}: {error}"
            );
        }
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .trusted_proxies(["0.0.0.0/1", "128.0.0.0/2"])
                .build()
                .is_ok()
        );
        let r = Receiver::builder()
            .verifier(verifier())
            .trust_every_peer_as_proxy()
            .build()
            .unwrap();
        assert!(r.inner.source.every_peer);
        let lookup = |n: &str| (n == "H_TRUSTED_PROXIES").then(|| " * ".to_owned());
        let r = Receiver::builder()
            .verifier(verifier())
            .env_with("H", lookup)
            .build()
            .unwrap();
        assert!(r.inner.source.every_peer);
        // A list set afterwards replaces it.
        let r = Receiver::builder()
            .verifier(verifier())
            .env_with("H", lookup)
            .trusted_proxies(["10.0.0.0/8"])
            .build()
            .unwrap();
        assert!(!r.inner.source.every_peer);
    }

    /// Without a replay store, a scheme that signs no timestamp would process every copy:
    /// refused. A shared store needs a named route.
    #[test]
    fn stores_are_required_and_shared_ones_named() {
        let error = Receiver::builder()
            .verifier(github())
            .without_replay_protection()
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("signs no timestamp"), "{error}");
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .without_replay_protection()
                .build()
                .is_ok()
        );
        // Combined with a verifier that has a window, one without still needs the store.
        let either = crate::AnyOf::new().or(github()).or(verifier());
        assert!(
            Receiver::builder()
                .verifier(either)
                .without_replay_protection()
                .build()
                .is_err()
        );
        // Mailgun signs a timestamp and a token but not the body: only the token's claim
        // refuses a captured signature carrying other event data.
        let mailgun = crate::provider::mailgun::verifier(Secret::random(24)).unwrap();
        assert!(crate::Verifier::requires_replay_store(&mailgun));
        let error = Receiver::builder()
            .verifier(mailgun)
            .without_replay_protection()
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("safe only with a replay store"), "{error}");
        // Static credentials give a store nothing to refuse copies by: they may go without.
        let key = crate::ApiKey::new("x-api-key", [Secret::from_text("key").unwrap()]).unwrap();
        assert!(
            Receiver::builder()
                .verifier(key)
                .without_replay_protection()
                .build()
                .is_ok()
        );
        // A store shared by handle needs a named route; one given by value does not.
        let store: Arc<dyn ReplayStore> = Arc::new(MemoryStore::new(64));
        let error = Receiver::builder()
            .verifier(verifier())
            .replay_shared(Arc::clone(&store))
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("name the route"), "{error}");
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .route("github")
                .replay_shared(store)
                .build()
                .is_ok()
        );
        assert!(
            Receiver::builder()
                .verifier(verifier())
                .replay(MemoryStore::new(64))
                .build()
                .is_ok()
        );
    }

    /// An empty `AnyOf` or `AllOf` would refuse every request: refused when built.
    #[test]
    fn empty_combinations_are_refused() {
        let error = Receiver::builder()
            .verifier(crate::AnyOf::new())
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("AnyOf holds no verifier"), "{error}");
        let nested = crate::AnyOf::new().or(crate::AllOf::new());
        assert!(Receiver::builder().verifier(nested).build().is_err());
        let fine = crate::AllOf::new().and(verifier());
        assert!(Receiver::builder().verifier(fine).build().is_ok());
    }
}
