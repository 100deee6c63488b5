//! JWT signing keys fetched from a JWKS address and kept fresh (feature `fetch`): see
//! [`JwksCache`].

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};
use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::fetch::{AbandonedFetches, CertificateFetcher, FetchError, run_to_end, within_deadline};
use crate::scheme::jwt::{JwtKey, MAX_JWKS, fetched_key_set, names_a_key};
use crate::verify::KeyFetch;

/// Default [`JwksCacheBuilder::refresh_every`].
const DEFAULT_REFRESH_EVERY: Duration = Duration::from_secs(60 * 60);
/// Default [`JwksCacheBuilder::min_refetch_interval`].
const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Default [`JwksCacheBuilder::retry_after_failure`].
const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// Default [`JwksCacheBuilder::max_stale`].
const DEFAULT_MAX_STALE: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest [`JwksCacheBuilder::max_stale`].
const MAX_MAX_STALE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Deliveries never start two fetches closer together than this, whatever else happens.
const MIN_FETCH_SPACING: Duration = Duration::from_secs(1);
/// Shortest [`JwksCacheBuilder::refresh_every`].
const MIN_REFRESH_EVERY: Duration = Duration::from_secs(60);
/// Longest interval or delay of a [`JwksCacheBuilder`] setting.
const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The future of a fetch of the document: how many keys it holds, or why it failed.
type Fetching = Pin<Box<dyn Future<Output = Result<usize, FetchError>> + Send + 'static>>;

/// The signing keys of a JWT issuer, fetched from the JWKS document it publishes at an
/// `https` address the first time a delivery needs them, and kept fresh (feature `fetch`).
/// Cheap to clone (clones share the keys); give it to
/// [`JwtBearer::from_jwks_cache`](crate::JwtBearer::from_jwks_cache), or let
/// [`JwtBearer::from_jwks_url`](crate::JwtBearer::from_jwks_url) make one.
///
/// Issuers such as Google (`https://www.googleapis.com/oauth2/v3/certs`, whose keys sign
/// Pub/Sub push tokens) rotate their keys: they publish a new key, sign with it, and later
/// drop the old one. A snapshot ([`JwtBearer::from_jwks`](crate::JwtBearer::from_jwks))
/// stops verifying after a rotation; the cache follows it:
///
/// - **On first need.** The first delivery bearing a token that a fetched key could verify
///   (an asymmetric `alg`, no `crit` header) fetches the document, and waits for it; call
///   [`refresh`](Self::refresh) at start-up to fetch it before any delivery.
/// - **Refreshed.** A delivery that finds the keys older than
///   [`refresh_every`](JwksCacheBuilder::refresh_every) (1 hour by default) fetches the
///   document again and waits for that fetch; the deliveries meanwhile verify with the keys
///   held.
/// - **Refetched for an unknown `kid`.** A token whose `kid` no key held could verify (no
///   key of that id, and no key without an id, which verifies tokens of any `kid`) fetches
///   the document again (the issuer may have just rotated), and waits for it, but only when
///   the last fetch started at least
///   [`min_refetch_interval`](JwksCacheBuilder::min_refetch_interval) ago (5 minutes by
///   default): whoever forges a token chooses its `kid`, so a flood of made-up ids costs
///   the issuer one request per interval. A token whose `kid` the set still lacks is
///   answered 503 `key_unavailable` with `Retry-After` the time left until a refetch may
///   run: a sender whose issuer has just rotated retries then rather than giving up, and a
///   forger learns nothing the published set does not say.
/// - **One fetch at a time, run to its end.** A delivery that needs the keys while a fetch
///   is in flight (none held yet, or none of its `kid`) waits for that fetch rather than
///   starting another; a delivery the keys held can judge does not wait. On a Tokio runtime
///   (every adapter runs on one), each fetch runs as a task of its own: a delivery whose
///   client goes away stops waiting, but its fetch goes on, so that every fetch that starts
///   ends in a key set held or a failure logged. Deliveries start at most one fetch a
///   second, whatever happens. Without a runtime, a fetch runs inside the future of whoever
///   started it; dropped, the fetch is abandoned, which is logged at WARN (at most once a
///   minute), and counts toward that spacing of a second but not toward the refetch
///   interval.
/// - **A failure keeps the keys, for a while.** A fetch that fails, or a document that is
///   not a usable key set, leaves the keys held in use, is logged at WARN (at ERROR while
///   no key is held) with the address and the reason, never the document, and holds off
///   the deliveries' fetches for [`retry_after_failure`](JwksCacheBuilder::retry_after_failure)
///   (1 minute by default). When fetches keep failing, the failure that finds the set older
///   than `refresh_every` plus `retry_after_failure` is logged at ERROR (once until a fetch
///   succeeds).
/// - **Too old, no keys.** A set older than [`max_stale`](JwksCacheBuilder::max_stale) (a
///   day by default) is dropped, and that is logged at ERROR: while the issuer fails, or
///   egress is blocked, a key it revoked does not verify forever. Watch
///   [`fetched_ago`](Self::fetched_ago) in a health check.
/// - **No keys, no delivery.** Until a fetch succeeds, deliveries are answered 503
///   `key_unavailable` with `Retry-After`, as for a signing certificate that cannot be
///   fetched ([`CertificateCache`](crate::CertificateCache)), so that the sender retries
///   them.
/// - **The rules of a snapshot.** The document is read as
///   [`JwtKey::from_jwks`](crate::JwtKey::from_jwks) reads one (at most 256 KiB, whatever
///   the fetcher allows): RSA (2048 to 4096 bits), P-256 and Ed25519 public keys; a key's
///   `alg` is its only algorithm; keys for encryption (`use`, `key_ops`) and symmetric `oct`
///   keys are never used (a published symmetric key would let anyone mint tokens). As with
///   [`JwtBearer::new`](crate::JwtBearer::new), a set of more than 64 keys, or one in which a
///   token naming its key could meet more than 8, is refused (a failure, as above). Each
///   document fetched replaces the set whole: a key the issuer dropped stops verifying.
/// - **`https` only.** [`build`](JwksCacheBuilder::build) refuses any other address, and one
///   with a user name or password (the address is logged; its query, which may carry an
///   access token, is not: logs and `Debug` show it as `?…`). [`HttpsFetcher`](crate::HttpsFetcher), the fetcher to
///   use, bounds each fetch (5 seconds, 64 KiB, status 200, no redirects), so that a
///   delivery waits no longer than that.
///
/// **One cache per issuer.** Each call of
/// [`JwtBearer::from_jwks_url`](crate::JwtBearer::from_jwks_url) makes a cache of its own,
/// with its own fetches and limits. When several verifiers (routes, tenants) accept one
/// issuer's tokens, build one cache and give each a clone through
/// [`JwtBearer::from_jwks_cache`](crate::JwtBearer::from_jwks_cache): they then share its
/// keys, its fetches and its limits, instead of each fetching the document and each letting
/// made-up `kid`s cause a refetch per interval.
///
/// The response's `Cache-Control` is not read (a fetcher returns the body only): keep
/// [`refresh_every`](JwksCacheBuilder::refresh_every) no longer than the issuer's `max-age`
/// (Google's is several hours). Intervals are measured on the cache's
/// [`clock`](JwksCacheBuilder::clock) ([`Clock::monotonic`](crate::Clock::monotonic)): the
/// system's by default, a [`FixedClock`](crate::FixedClock) in tests, so that they never
/// sleep. A clock that steps backwards (a custom clock's `monotonic` is its wall time unless
/// it says otherwise) counts as time passed: the intervals and hold-offs running are over,
/// and a refresh is due.
///
/// `Debug` shows the address, how many keys are held and the limits. The address is also
/// logged with each fetch: keep credentials out of it.
///
/// # Examples
///
/// A verifier of Google Pub/Sub push tokens, whose keys are fetched at start-up:
///
/// ```no_run
/// use std::time::Duration;
/// use webhook_core::{HttpsFetcher, JwksCache, JwtBearer, Receiver};
///
/// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
/// let google = JwksCache::builder(
///     "https://www.googleapis.com/oauth2/v3/certs",
///     HttpsFetcher::new()?,
/// )
/// .refresh_every(Duration::from_secs(30 * 60))
/// .build()?;
/// // Optional: the first delivery then does not wait for the fetch, and a wrong address
/// // or an unreachable issuer shows now.
/// let held = google.refresh().await?;
/// assert!(held > 0);
///
/// // One cache for the issuer, shared by every verifier that accepts its tokens.
/// let verifier = JwtBearer::from_jwks_cache(google.clone())
///     .issuer("https://accounts.google.com")
///     .audience("https://example.com/webhooks/pubsub")
///     .claim("email", ["push-invoker@my-project.iam.gserviceaccount.com"])?
///     .claim_true("email_verified")?;
/// let receiver = Receiver::builder().verifier(verifier).build()?;
/// # let _ = receiver;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    fetcher: Arc<dyn CertificateFetcher>,
    clock: SharedClock,
    refresh_every: Duration,
    min_refetch_interval: Duration,
    retry_after_failure: Duration,
    max_stale: Duration,
    fetch_deadline: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The set of the last document fetched that was a usable one.
    keys: Option<Arc<[JwtKey]>>,
    /// When that document was fetched (on the clock's monotonic reading).
    fetched_at: Duration,
    /// A refresh is due whatever the set's age: the clock went back past `fetched_at`.
    refresh_due: bool,
    /// When the last fetch started, whether it ended or was abandoned: deliveries start
    /// fetches at least [`MIN_FETCH_SPACING`] apart.
    last_started: Option<Duration>,
    /// When the last fetch that ended started: what the refetch interval of unknown `kid`s
    /// counts from.
    last_ended_start: Option<Duration>,
    /// After a failed fetch: until when deliveries start none.
    retry_at: Option<Duration>,
    /// The fetch in flight: ends (its sender is dropped) when it does.
    pending: Option<tokio::sync::watch::Receiver<()>>,
    /// How many fetches have ended (not abandoned), and why the last one failed, if it did:
    /// what [`JwksCache::refresh`] answers after waiting for a fetch another caller started.
    ended: u64,
    last_error: Option<String>,
    /// Whether a set older than `refresh_every` plus `retry_after_failure` has been logged
    /// at ERROR since the last fetch that succeeded.
    stale_reported: bool,
    /// Fetches abandoned before they ended, for a log line at most once a minute.
    abandoned: AbandonedFetches,
}

/// What a delivery needs of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any key: none is held.
    Keys,
    /// A key for the token's `kid`, which the set held lacks.
    Kid,
    /// Nothing the keys held lack: only a refresh, if they are old.
    Fresh,
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &ShownUrl(&self.inner.url))
            .field("keys", &self.len())
            .field("refresh_every", &self.inner.refresh_every)
            .field("min_refetch_interval", &self.inner.min_refetch_interval)
            .field("retry_after_failure", &self.inner.retry_after_failure)
            .field("max_stale", &self.inner.max_stale)
            .field("fetch_deadline", &self.inner.fetch_deadline)
            .finish_non_exhaustive()
    }
}

/// Builds a [`JwksCache`] with other limits than the defaults.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{HttpsFetcher, JwksCache};
///
/// let keys = JwksCache::builder("https://issuer.example/.well-known/jwks.json", HttpsFetcher::new()?)
///     .refresh_every(Duration::from_secs(6 * 60 * 60))
///     .min_refetch_interval(Duration::from_secs(60))
///     .retry_after_failure(Duration::from_secs(30))
///     .max_stale(Duration::from_secs(12 * 60 * 60))
///     .build()?;
/// assert!(keys.is_empty()); // nothing is fetched before a delivery or `refresh` needs it
/// assert_eq!(keys.fetched_ago(), None);
///
/// // Keys fetched in the clear could be anyone's.
/// let refused = JwksCache::builder("http://issuer.example/jwks.json", HttpsFetcher::new()?).build();
/// assert!(refused.unwrap_err().to_string().contains("https"));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
pub struct JwksCacheBuilder {
    url: Result<String, ConfigError>,
    fetcher: Arc<dyn CertificateFetcher>,
    clock: SharedClock,
    refresh_every: Duration,
    min_refetch_interval: Duration,
    retry_after_failure: Duration,
    max_stale: Duration,
    fetch_deadline: Duration,
}

impl fmt::Debug for JwksCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only an address `build` accepts: a refused one may carry a password.
        f.debug_struct("JwksCacheBuilder")
            .field("url", &self.url.as_deref().ok().map(ShownUrl))
            .field("refresh_every", &self.refresh_every)
            .field("min_refetch_interval", &self.min_refetch_interval)
            .field("retry_after_failure", &self.retry_after_failure)
            .field("max_stale", &self.max_stale)
            .finish_non_exhaustive()
    }
}

impl JwksCacheBuilder {
    /// How old the keys may grow before a delivery fetches the document again (1 hour by
    /// default; at least 1 minute, at most a day: values outside are taken as the nearest
    /// bound). Keep it no longer than the issuer's `Cache-Control: max-age`.
    #[must_use]
    pub fn refresh_every(mut self, interval: Duration) -> Self {
        self.refresh_every = interval.clamp(MIN_REFRESH_EVERY, MAX_DELAY);
        self
    }

    /// The least time from the start of one fetch to a refetch caused by a token whose `kid`
    /// the set lacks (5 minutes by default; at least 1 second, at most a day). A token naming
    /// an unknown `kid` meanwhile is answered 503 `key_unavailable` without a fetch, with
    /// `Retry-After` the time left: its `kid` is chosen by whoever made it.
    #[must_use]
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval.clamp(MIN_FETCH_SPACING, MAX_DELAY);
        self
    }

    /// How long after a failed fetch (or a document refused) deliveries start no fetch (1
    /// minute by default; at least 1 second, at most a day), and the longest `Retry-After`
    /// of the 503 answered meanwhile when no key is held.
    #[must_use]
    pub fn retry_after_failure(mut self, delay: Duration) -> Self {
        self.retry_after_failure = delay.clamp(MIN_FETCH_SPACING, MAX_DELAY);
        self
    }

    /// How old the set held may grow, while fetches fail, before it is dropped and
    /// deliveries are answered 503 `key_unavailable` until a fetch succeeds (a day by
    /// default; at most a week, and at least [`refresh_every`](Self::refresh_every),
    /// whichever order they are set in). Without this bound, an issuer that stays down (or
    /// egress that stays blocked) would keep a key it revoked verifying forever.
    #[must_use]
    pub fn max_stale(mut self, age: Duration) -> Self {
        self.max_stale = age.min(MAX_MAX_STALE);
        self
    }

    /// How long a fetch may take before it is ended as failed, whatever its fetcher does
    /// ([`FETCH_DEADLINE`](crate::FETCH_DEADLINE), 10 s, by default; at least 1 millisecond,
    /// at most a minute).
    #[must_use]
    pub fn fetch_deadline(mut self, deadline: Duration) -> Self {
        self.fetch_deadline = deadline.clamp(Duration::from_millis(1), Duration::from_secs(60));
        self
    }

    /// The clock the intervals above are measured on, by its
    /// [`monotonic`](crate::Clock::monotonic) reading (the system's by default). The tokens
    /// themselves are judged by the verifier's clock ([`JwtBearer::clock`](crate::JwtBearer::clock)).
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The cache. It holds no key until a delivery needs one or [`JwksCache::refresh`] is
    /// called.
    ///
    /// # Errors
    ///
    /// The address is not a URL, not `https`, has no host, or carries a user name or
    /// password.
    pub fn build(self) -> Result<JwksCache, ConfigError> {
        Ok(JwksCache {
            inner: Arc::new(Inner {
                url: self.url?,
                fetcher: self.fetcher,
                clock: self.clock,
                refresh_every: self.refresh_every,
                min_refetch_interval: self.min_refetch_interval,
                retry_after_failure: self.retry_after_failure,
                max_stale: self.max_stale.max(self.refresh_every),
                fetch_deadline: self.fetch_deadline,
                state: Mutex::default(),
            }),
        })
    }
}

/// A key set's address as logs and `Debug` show it: without its query, which may carry an
/// access token (`?api_key=…`), shown as `?…` when there is one.
#[derive(Clone, Copy)]
struct ShownUrl<'a>(&'a str);

impl fmt::Display for ShownUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_once('?') {
            Some((address, _)) => write!(f, "{address}?…"),
            None => f.write_str(self.0),
        }
    }
}

impl fmt::Debug for ShownUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// `url`, if it is an address the cache may fetch: `https`, with a host, without a user name
/// or password (it would be logged; its query is not). The fragment is dropped.
fn checked_url(url: &str) -> Result<String, ConfigError> {
    // The parser's message never quotes the input.
    let mut parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::new(format!("jwks url is not a valid url: {e}")))?;
    if parsed.scheme() != "https" {
        return Err(ConfigError::new(
            "jwks url must be an `https` address: keys fetched without TLS could be anyone's",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new("jwks url has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ConfigError::new(
            "jwks url must not carry a user name or password: the address is logged (its \
             query is not)",
        ));
    }
    parsed.set_fragment(None);
    Ok(parsed.into())
}

impl JwksCache {
    /// A cache of the key set at `url`, fetched with `fetcher` ([`HttpsFetcher`](crate::HttpsFetcher)
    /// in production), with the default limits.
    ///
    /// # Errors
    ///
    /// As [`JwksCacheBuilder::build`]: `url` is not an `https` address with a host, or
    /// carries a user name or password.
    ///
    /// # Examples
    ///
    /// ```
    /// use webhook_core::{HttpsFetcher, JwksCache};
    ///
    /// let keys = JwksCache::new("https://www.googleapis.com/oauth2/v3/certs", HttpsFetcher::new()?)?;
    /// assert_eq!(keys.len(), 0);
    /// assert!(format!("{keys:?}").contains("googleapis.com"));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn new(url: &str, fetcher: impl CertificateFetcher) -> Result<Self, ConfigError> {
        Self::builder(url, fetcher).build()
    }

    /// A cache of the key set at `url`, fetched with `fetcher`, with limits of your own; the
    /// address is checked by [`build`](JwksCacheBuilder::build).
    #[must_use]
    pub fn builder(url: &str, fetcher: impl CertificateFetcher) -> JwksCacheBuilder {
        JwksCacheBuilder {
            url: checked_url(url),
            fetcher: Arc::new(fetcher),
            clock: Arc::new(SystemClock),
            refresh_every: DEFAULT_REFRESH_EVERY,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            retry_after_failure: DEFAULT_RETRY_AFTER_FAILURE,
            max_stale: DEFAULT_MAX_STALE,
            fetch_deadline: crate::fetch::FETCH_DEADLINE,
        }
    }

    /// How many keys the cache holds (0 before the first successful fetch, and once the set
    /// held is older than [`max_stale`](JwksCacheBuilder::max_stale)).
    #[must_use]
    pub fn len(&self) -> usize {
        let now = self.inner.now();
        let state = self.inner.lock();
        self.inner
            .usable(&state, now)
            .map_or(0, |(keys, _)| keys.len())
    }

    /// Whether the cache holds no key: no fetch has succeeded yet, or the set held grew
    /// older than [`max_stale`](JwksCacheBuilder::max_stale).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How long ago the key set held was fetched, on the cache's clock; `None` when no set
    /// is held (none fetched yet, or the one held grew older than
    /// [`max_stale`](JwksCacheBuilder::max_stale) and was dropped).
    ///
    /// For a health check. The cache fetches only when a delivery (or
    /// [`refresh`](Self::refresh)) needs it, so while the issuer answers, the age stays
    /// under [`refresh_every`](JwksCacheBuilder::refresh_every) plus the time to the next
    /// delivery; on a quiet route, call `refresh` on a schedule for the age to mean
    /// something. Older than `refresh_every` plus
    /// [`retry_after_failure`](JwksCacheBuilder::retry_after_failure), with deliveries
    /// flowing, fetches are failing (and logged); `None` after start-up means deliveries are
    /// answered 503.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use webhook_core::{CertificateFetcher, FetchError, FetchFuture, FixedClock, JwksCache};
    ///
    /// /// An issuer that publishes one Ed25519 key.
    /// #[derive(Debug)]
    /// struct Issuer;
    ///
    /// impl CertificateFetcher for Issuer {
    ///     fn fetch(&self, _url: &str) -> FetchFuture {
    ///         let document = concat!(
    ///             r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","#,
    ///             r#""x":"4QcGEGW0YEwThwP0M-R-REGirujxFqQyu70lIvu6-RE"}]}"#
    ///         );
    ///         Box::pin(async move { Ok::<_, FetchError>(document.as_bytes().to_vec()) })
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
    /// let keys = JwksCache::builder("https://issuer.example/jwks.json", Issuer)
    ///     .clock(clock.clone())
    ///     .build()?;
    /// assert_eq!(keys.fetched_ago(), None);
    /// keys.refresh().await.unwrap();
    /// clock.advance(Duration::from_secs(90));
    /// assert_eq!(keys.fetched_ago(), Some(Duration::from_secs(90)));
    ///
    /// // A health check: no keys, or keys older than they should ever be while the issuer
    /// // answers, deserve an alert.
    /// let healthy = keys
    ///     .fetched_ago()
    ///     .is_some_and(|age| age < Duration::from_secs(60 * 60 + 60));
    /// assert!(healthy);
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn fetched_ago(&self) -> Option<Duration> {
        let now = self.inner.now();
        let state = self.inner.lock();
        self.inner.usable(&state, now).map(|(_, age)| age)
    }

    /// Fetch the document now, whatever the intervals say (or wait for the fetch in flight),
    /// and answer how many keys the cache then holds. For start-up, so that the first
    /// delivery does not wait and a wrong address shows before any delivery, or for a
    /// schedule of your own. A failure keeps the keys held and holds off the deliveries'
    /// fetches, as a delivery's failed fetch does. On a Tokio runtime, the fetch ends, and
    /// its outcome is kept, even if this future is dropped first.
    ///
    /// # Errors
    ///
    /// The fetch failed, or the document is not a usable key set (also logged). The error
    /// never quotes the document.
    ///
    /// # Examples
    ///
    /// ```
    /// use webhook_core::{CertificateFetcher, FetchError, FetchFuture, JwksCache};
    ///
    /// /// An issuer whose server is down.
    /// #[derive(Debug)]
    /// struct Down;
    ///
    /// impl CertificateFetcher for Down {
    ///     fn fetch(&self, _url: &str) -> FetchFuture {
    ///         Box::pin(async { Err(FetchError::new("answered 503 instead of 200")) })
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let keys = JwksCache::new("https://issuer.example/jwks.json", Down)?;
    /// let error = keys.refresh().await.unwrap_err();
    /// assert!(error.to_string().contains("503"));
    /// assert!(keys.is_empty());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// # }).unwrap();
    /// ```
    pub async fn refresh(&self) -> Result<usize, FetchError> {
        loop {
            let joined = {
                let state = self.inner.lock();
                match state.pending.clone() {
                    Some(done) => Ok((done, state.ended)),
                    None => Err(self.begin(state, self.inner.now())),
                }
            };
            let (mut done, ended) = match joined {
                Ok(joined) => joined,
                Err(fetch) => return fetch.await,
            };
            // Err: the fetch ended (its sender is gone), which is what is awaited.
            let _ = done.changed().await;
            let state = self.inner.lock();
            if state.ended != ended {
                return match (&state.last_error, &state.keys) {
                    (Some(error), _) => Err(FetchError::new(error.clone())),
                    (None, Some(keys)) => Ok(keys.len()),
                    (None, None) => Err(FetchError::new("no jwks document fetched")),
                };
            }
            // The fetch was abandoned before it ended: fetch again.
        }
    }

    /// The fetch to await before the keys can judge a token of `kid`: `None` when the keys
    /// held can (and are fresh), when a failure holds fetches off, or when an unknown `kid`
    /// came too soon after the last fetch; a wait for the fetch in flight when this token
    /// needs its result.
    pub(crate) fn prefetch(&self, kid: Option<&str>) -> Option<KeyFetch> {
        let inner = &self.inner;
        let now = inner.now();
        let mut state = inner.lock();
        inner.settle(&mut state, now);
        let need = match &state.keys {
            None => Need::Keys,
            Some(keys) if !names_a_key(keys, kid) => Need::Kid,
            Some(_) => Need::Fresh,
        };
        if let Some(done) = &state.pending {
            if need == Need::Fresh {
                return None;
            }
            let mut done = done.clone();
            return Some(Box::pin(async move {
                // Err: the fetch ended (its sender is gone), which is what is awaited.
                let _ = done.changed().await;
            }));
        }
        if inner.next_fetch(&state, now, need).is_some() {
            return None;
        }
        let fetch = self.begin(state, now);
        Some(Box::pin(async move {
            // The outcome is in the cache (and the log) now, or the fetch was abandoned.
            let _ = fetch.await;
        }))
    }

    /// The keys held, or 503 `KeyUnavailable` with `Retry-After` when there are none.
    pub(crate) fn keys(&self) -> Result<Arc<[JwtKey]>, VerifyError> {
        let now = self.inner.now();
        let mut state = self.inner.lock();
        self.inner.settle(&mut state, now);
        if let Some(keys) = &state.keys {
            return Ok(Arc::clone(keys));
        }
        // At most `retry_after_failure`: `settle` keeps `retry_at` within it.
        let wait = state
            .retry_at
            .map_or(MIN_FETCH_SPACING, |t| t.saturating_sub(now))
            .max(MIN_FETCH_SPACING);
        Err(VerifyError::new(VerifyErrorKind::KeyUnavailable).with_retry_after(wait))
    }

    /// The rejection of a token whose `kid` the set held lacks: 503 `KeyUnavailable` with
    /// `Retry-After` the time left until a delivery may refetch (at least a second), as
    /// for no key at all. The issuer may have just rotated: the sender retries. The message
    /// is the default one, whatever the `kid`.
    pub(crate) fn unknown_kid(&self) -> VerifyError {
        let inner = &self.inner;
        let now = inner.now();
        let mut state = inner.lock();
        inner.settle(&mut state, now);
        let wait = inner
            .next_fetch(&state, now, Need::Kid)
            .map_or(MIN_FETCH_SPACING, |at| at.saturating_sub(now))
            .max(MIN_FETCH_SPACING);
        VerifyError::new(VerifyErrorKind::KeyUnavailable).with_retry_after(wait)
    }

    /// Start a fetch: record it as the one in flight, call the fetcher (outside the lock),
    /// and run it to its end ([`run_to_end`]).
    fn begin(&self, mut state: MutexGuard<'_, State>, now: Duration) -> Fetching {
        state.last_started = Some(now);
        let (sender, done) = tokio::sync::watch::channel(());
        state.pending = Some(done);
        drop(state);
        // Made before the fetcher is called, so that a panic in it leaves no fetch pending.
        let mut pending = PendingFetch {
            cache: self.clone(),
            started: now,
            sender: Some(sender),
        };
        let fetch = within_deadline(
            self.inner.fetcher.fetch(&self.inner.url),
            self.inner.fetch_deadline,
        );
        let run = run_to_end(async move {
            let fetched = fetch.await;
            pending.finish(fetched)
        });
        Box::pin(async move {
            run.await.unwrap_or_else(|| {
                Err(FetchError::new(
                    "jwks fetch did not end: it panicked, or its runtime shut down",
                ))
            })
        })
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole; a panic elsewhere cannot break it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Duration {
        self.clock.monotonic()
    }

    /// The keys held and their age, unless they are older than `max_stale` (a read-only view
    /// of what [`settle`](Self::settle) keeps, for `len`, `fetched_ago` and `Debug`, which
    /// neither change the state nor log).
    fn usable<'s>(&self, state: &'s State, now: Duration) -> Option<(&'s Arc<[JwtKey]>, Duration)> {
        let age = now.saturating_sub(state.fetched_at);
        state
            .keys
            .as_ref()
            .filter(|_| age <= self.max_stale)
            .map(|keys| (keys, age))
    }

    /// Bring `state` to `now`. A clock that went back counts as time passed: the spacing and
    /// the refetch interval are over, a refresh is due, and no hold-off after a failure lasts
    /// longer than `retry_after_failure` from now. A set older than `max_stale` is dropped.
    fn settle(&self, state: &mut State, now: Duration) {
        if state.last_started.is_some_and(|t| now < t) {
            state.last_started = None;
        }
        if state.last_ended_start.is_some_and(|t| now < t) {
            state.last_ended_start = None;
        }
        let longest_hold = now.saturating_add(self.retry_after_failure);
        if state.retry_at.is_some_and(|t| t > longest_hold) {
            state.retry_at = Some(longest_hold);
        }
        let Some(keys) = &state.keys else {
            return;
        };
        if now < state.fetched_at {
            state.fetched_at = now;
            state.refresh_due = true;
        }
        let age = now.saturating_sub(state.fetched_at);
        if age > self.max_stale {
            tracing::error!(
                url = %ShownUrl(&self.url),
                keys = keys.len(),
                age_secs = age.as_secs(),
                max_stale_secs = self.max_stale.as_secs(),
                "jwks dropped: no fetch has succeeded for longer than max_stale; deliveries are \
                 refused (503) until one does"
            );
            state.keys = None;
            state.refresh_due = false;
        }
    }

    /// When a delivery that needs `need` may start a fetch, if not now (`None`): never
    /// before [`MIN_FETCH_SPACING`] after the last start, nor while a failure holds fetches
    /// off; for a `kid` the set lacks, not before `min_refetch_interval` after the start of
    /// the last fetch that ended, unless the set is due for a refresh; for keys held that
    /// can judge the token, only once they are due for one (`Some(Duration::MAX)` until
    /// then: it is not a wait a delivery is told). `state` is settled at `now`.
    fn next_fetch(&self, state: &State, now: Duration, need: Need) -> Option<Duration> {
        let stale = state.keys.is_some()
            && (state.refresh_due || now.saturating_sub(state.fetched_at) >= self.refresh_every);
        let mut at = now;
        match need {
            Need::Keys => {}
            Need::Kid if stale => {}
            Need::Kid => {
                if let Some(t) = state.last_ended_start {
                    at = at.max(t.saturating_add(self.min_refetch_interval));
                }
            }
            Need::Fresh if stale => {}
            Need::Fresh => return Some(Duration::MAX),
        }
        if let Some(t) = state.last_started {
            at = at.max(t.saturating_add(MIN_FETCH_SPACING));
        }
        if let Some(t) = state.retry_at {
            at = at.max(t);
        }
        (at > now).then_some(at)
    }
}

/// The keys of a fetched document, or why it is refused. Neither message quotes it.
fn parse(document: &[u8]) -> Result<Vec<JwtKey>, FetchError> {
    if document.len() > MAX_JWKS {
        return Err(FetchError::new("jwks document is larger than 256 KiB"));
    }
    let text =
        std::str::from_utf8(document).map_err(|_| FetchError::new("jwks document is not utf-8"))?;
    fetched_key_set(text).map_err(|e| FetchError::new("jwks document refused").with_source(e))
}

/// A fetch in flight. Dropped before it ends (abandoned: dropped without a Tokio runtime to
/// run it to its end, or its runtime shut down), it leaves the cache without a fetch in
/// flight, so that a later delivery fetches again, wakes the deliveries waiting for it, and
/// is logged (at most once a minute). It counts toward the spacing of fetches (the issuer
/// was asked), not toward the refetch interval.
struct PendingFetch {
    cache: JwksCache,
    /// When it started (on the cache's clock).
    started: Duration,
    sender: Option<tokio::sync::watch::Sender<()>>,
}

impl PendingFetch {
    fn finish(&mut self, fetched: Result<Vec<u8>, FetchError>) -> Result<usize, FetchError> {
        let inner = &self.cache.inner;
        let parsed = fetched.and_then(|document| parse(&document));
        let now = inner.now();
        let mut state = inner.lock();
        state.pending = None;
        state.ended = state.ended.wrapping_add(1);
        state.last_ended_start = Some(self.started);
        let outcome = match parsed {
            Ok(keys) => {
                let count = keys.len();
                state.keys = Some(keys.into());
                state.fetched_at = now;
                state.refresh_due = false;
                state.retry_at = None;
                state.last_error = None;
                state.stale_reported = false;
                Ok(count)
            }
            Err(error) => {
                // The set held may have grown too old meanwhile.
                inner.settle(&mut state, now);
                state.retry_at = Some(now.saturating_add(inner.retry_after_failure));
                state.last_error = Some(error.to_string());
                Err(error)
            }
        };
        let held = state.keys.as_ref().map(|keys| keys.len());
        let age = now.saturating_sub(state.fetched_at);
        // Once per run of failures: the set is older than a refresh and a retry.
        let overdue = outcome.is_err()
            && held.is_some()
            && !state.stale_reported
            && age
                >= inner
                    .refresh_every
                    .saturating_add(inner.retry_after_failure);
        state.stale_reported |= overdue;
        drop(state);
        // Wakes the deliveries waiting for this fetch.
        self.sender = None;
        match (&outcome, held) {
            (Ok(count), _) => {
                tracing::info!(url = %ShownUrl(&inner.url), keys = count, "jwks fetched")
            }
            (Err(error), Some(held)) if overdue => tracing::error!(
                url = %ShownUrl(&inner.url),
                %error,
                keys = held,
                age_secs = age.as_secs(),
                max_stale_secs = inner.max_stale.as_secs(),
                "jwks not fetched; the keys fetched before stay in use, but are older than the \
                 refresh interval and the retry delay: a key the issuer revoked still verifies \
                 until a fetch succeeds, or the set reaches max_stale and is dropped (logged \
                 once until a fetch succeeds)"
            ),
            (Err(error), Some(held)) => tracing::warn!(
                url = %ShownUrl(&inner.url),
                %error,
                keys = held,
                "jwks not fetched; the keys fetched before stay in use"
            ),
            (Err(error), None) => tracing::error!(
                url = %ShownUrl(&inner.url),
                %error,
                "jwks not fetched; deliveries are refused (503) until a fetch succeeds"
            ),
        }
        outcome
    }
}

impl Drop for PendingFetch {
    fn drop(&mut self) {
        if self.sender.is_none() {
            return;
        }
        let inner = &self.cache.inner;
        let now = inner.now();
        let mut state = inner.lock();
        // Only this fetch can be in flight until it ends: the one recorded is this one.
        state.pending = None;
        let report = state.abandoned.count(now);
        drop(state);
        if let Some(abandoned) = report {
            tracing::warn!(
                url = %ShownUrl(&inner.url),
                abandoned,
                "jwks fetch abandoned before it ended (dropped without a Tokio runtime to run \
                 it, or its runtime shut down); a later delivery fetches again (logged at most \
                 once a minute)"
            );
        }
    }
}
