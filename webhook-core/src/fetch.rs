//! Signing certificates fetched from the address a message names (feature `fetch`): see
//! [`CertificateCache`].

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use crate::scheme::asymmetric::fetched_certificate_key;
use crate::{
    ConfigError, KeyFetch, PublicKey, SharedClock, SystemClock, VerifyError, VerifyErrorKind,
};

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The future of [`CertificateFetcher::fetch`]: the document's bytes.
pub type FetchFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, FetchError>> + Send + 'static>>;

/// Fetches abandoned before they ended are logged at most this often.
const ABANDONED_LOG_EVERY: Duration = Duration::from_secs(60);

/// Runs `fetch` (a fetch and the recording of its outcome) to its end.
///
/// With a Tokio runtime current (every adapter runs on one), it is spawned as a task of its
/// own: it ends, and its outcome is recorded and logged, whatever becomes of the delivery
/// that started it. The future returned only waits for that end (`None` when the task did
/// not end: it panicked, or its runtime shut down). Without a runtime, the future returned
/// runs the fetch itself, and dropping it abandons the fetch. A current-thread runtime that
/// is only entered (`Handle::enter`), with nothing driving it, would never run the task: the
/// adapters' runtimes all run their tasks.
pub(crate) fn run_to_end<T: Send + 'static>(
    fetch: impl Future<Output = T> + Send + 'static,
) -> Pin<Box<dyn Future<Output = Option<T>> + Send + 'static>> {
    use tracing::instrument::WithSubscriber as _;
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            // Logged to the subscriber of whoever started it, on whichever thread it runs.
            // Not in that delivery's span, which it may outlive.
            let task = runtime.spawn(fetch.with_current_subscriber());
            Box::pin(async move { task.await.ok() })
        }
        Err(_) => Box::pin(async move { Some(fetch.await) }),
    }
}

/// The longest a fetch may take by default, whatever its fetcher does: twice
/// [`HttpsFetcher`]'s own limit. A fetch still running then is ended as failed (and logged as
/// such), so that a fetcher without a time limit of its own (a client built without a
/// timeout, a proxy that stalls) cannot hold a cache's one fetch, and every delivery waiting on
/// it, forever. Set per cache with `fetch_deadline` ([`CertificateCacheBuilder::fetch_deadline`],
/// `JwksCacheBuilder::fetch_deadline`). It is timed by a thread of its own, which ends with the
/// fetch: the runtime the fetch runs on needs no timers, and none is needed at all.
pub const FETCH_DEADLINE: Duration = Duration::from_secs(10);

/// How long an address whose fetch failed is not fetched again, by default: under the 20 s
/// SNS waits between its retries.
const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(15);

/// How long a held certificate is trusted before its address is fetched again, by default.
const DEFAULT_REFRESH_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// `fetch`, ended as failed once `deadline` has passed.
pub(crate) fn within_deadline(fetch: FetchFuture, deadline: Duration) -> FetchFuture {
    let (expired_tx, expired) = tokio::sync::oneshot::channel::<()>();
    // Dropped with the returned future (the fetch ended, or was abandoned): the thread then
    // ends at once, without expiring anything.
    let (done, done_rx) = std::sync::mpsc::channel::<()>();
    let timer = std::thread::Builder::new()
        .name("webhook-fetch-deadline".to_owned())
        .spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(deadline)
            {
                let _ = expired_tx.send(());
            }
        });
    if timer.is_err() {
        tracing::warn!("no thread to time a key fetch: it is bound by its fetcher's own limits");
        return fetch;
    }
    let mut fetch = fetch;
    let mut expired = Some(expired);
    Box::pin(async move {
        let _done = done;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(fetched) = fetch.as_mut().poll(cx) {
                return Poll::Ready(fetched);
            }
            if let Some(timer) = &mut expired
                && let Poll::Ready(outcome) = Pin::new(timer).poll(cx)
            {
                expired = None;
                if outcome.is_ok() {
                    return Poll::Ready(Err(FetchError::new(
                        "the fetch did not end within its deadline (`fetch_deadline`, 10 s by \
                         default): ended as failed",
                    )));
                }
            }
            Poll::Pending
        })
        .await
    })
}

/// Counts the fetches abandoned before they ended (dropped without a Tokio runtime to run
/// them to their end, or with a runtime shutting down), and says when to log them: at most
/// once a minute on a monotonic clock, with how many there were since the last time.
#[derive(Debug, Default)]
pub(crate) struct AbandonedFetches {
    unreported: u64,
    quiet_until: Option<Duration>,
}

impl AbandonedFetches {
    /// Count one abandoned `now`; `Some(count)` when they are to be logged now.
    pub(crate) fn count(&mut self, now: Duration) -> Option<u64> {
        self.unreported = self.unreported.saturating_add(1);
        if self.quiet_until.is_some_and(|until| now < until) {
            return None;
        }
        self.quiet_until = Some(now.saturating_add(ABANDONED_LOG_EVERY));
        Some(std::mem::take(&mut self.unreported))
    }
}

/// Gets the document at a signing certificate's address. [`HttpsFetcher`] is the one to use;
/// implement it to fetch through a client of your own (a proxy, a mirror) or in tests.
///
/// The future must bound its own time and the size of what it reads: a delivery waits for it.
/// (A fetch that runs past its cache's deadline, [`FETCH_DEADLINE`] by default, is ended as
/// failed regardless, unless no thread can be started to time it, which is logged.)
pub trait CertificateFetcher: fmt::Debug + Send + Sync + 'static {
    /// GET `url` (an `https` address the verifier has checked) and return the body.
    fn fetch(&self, url: &str) -> FetchFuture;
}

/// Why a certificate could not be fetched. Logged, never sent to the client.
pub struct FetchError {
    message: Cow<'static, str>,
    source: Option<BoxError>,
    gone: bool,
}

impl FetchError {
    /// An error with this message.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
            source: None,
            gone: false,
        }
    }

    /// The server answered that the document does not exist (404, 410): a certificate held
    /// from that address is withdrawn, and no longer trusted. [`HttpsFetcher`] says so for
    /// those statuses; a fetcher of your own should too.
    pub fn gone(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            gone: true,
            ..Self::new(message)
        }
    }

    /// Whether the server answered that the document does not exist ([`gone`](Self::gone)).
    #[must_use]
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// Attach the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }
}

impl fmt::Debug for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchError")
            .field("message", &self.message)
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for FetchError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Fetches over HTTPS with reqwest: its default TLS (rustls), Mozilla's root certificates
/// (bundled, not the system's), HTTPS only, no redirects, 5 seconds in all (3 to connect),
/// at most 64 KiB, status 200 only. Like every reqwest client, it goes through the proxy
/// that `HTTPS_PROXY` (or `ALL_PROXY`) names, when the environment sets one.
#[derive(Debug, Clone)]
pub struct HttpsFetcher {
    client: reqwest::Client,
    max_bytes: usize,
}

impl HttpsFetcher {
    /// Largest document read (a certificate chain in PEM is a few KiB).
    pub const MAX_BYTES: usize = 64 * 1024;

    /// The fetcher described above.
    ///
    /// # Errors
    ///
    /// When the TLS configuration or the client cannot be built.
    pub fn new() -> Result<Self, ConfigError> {
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der).ok());
        Self::with_root_certificates(roots)
    }

    /// As [`new`](Self::new), trusting `roots` instead of Mozilla's root certificates (a
    /// mirror of the provider's certificates behind a private authority, a test server).
    ///
    /// # Errors
    ///
    /// When the client cannot be built.
    pub fn with_root_certificates(
        roots: impl IntoIterator<Item = reqwest::Certificate>,
    ) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .tls_certs_only(roots)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| {
                ConfigError::new("HTTP client for fetching certificates").with_source(e)
            })?;
        Ok(Self::with_client(client))
    }

    /// Fetch with a client of your own (a proxy, other roots). Its settings apply as they
    /// are: give it a timeout, HTTPS only and no redirects. This fetcher still refuses an
    /// address that is not `https`, an answer other than 200 and more than 64 KiB.
    #[must_use]
    pub fn with_client(client: reqwest::Client) -> Self {
        Self {
            client,
            max_bytes: Self::MAX_BYTES,
        }
    }
}

impl CertificateFetcher for HttpsFetcher {
    fn fetch(&self, url: &str) -> FetchFuture {
        let client = self.client.clone();
        let max_bytes = self.max_bytes;
        let url = url.to_owned();
        Box::pin(async move {
            if !url.starts_with("https://") {
                return Err(FetchError::new("only https addresses are fetched"));
            }
            let mut response = client
                .get(&url)
                .send()
                .await
                // The address is logged beside the error, as its cache shows it (a key set's
                // without its query): reqwest's error would repeat it whole.
                .map_err(|e| FetchError::new("request failed").with_source(e.without_url()))?;
            if response.status() != reqwest::StatusCode::OK {
                let message = format!("answered {} instead of 200", response.status().as_u16());
                return Err(
                    if matches!(
                        response.status(),
                        reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE
                    ) {
                        FetchError::gone(message)
                    } else {
                        FetchError::new(message)
                    },
                );
            }
            if response
                .content_length()
                .is_some_and(|n| n > max_bytes as u64)
            {
                return Err(FetchError::new("document too large"));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| {
                FetchError::new("reading the answer failed").with_source(e.without_url())
            })? {
                if body.len() + chunk.len() > max_bytes {
                    return Err(FetchError::new("document too large"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
    }
}

/// Signing certificates by address, fetched on first use (feature `fetch`). Cheap to clone
/// (clones share the certificates and the minute's fetches). Give each provider's verifiers
/// a cache of their own: PayPal's certificate addresses need nothing secret to name, so
/// with a cache shared with an SNS verifier anyone could spend the fetches SNS needs.
///
/// Amazon SNS and PayPal sign with the key of a certificate whose address travels with each
/// message (`SigningCertURL`, `PAYPAL-CERT-URL`), and move to a new certificate from time to
/// time. A verifier built with a cache
/// ([`sns::verifier_fetching`](crate::provider::sns::verifier_fetching),
/// [`paypal::verifier_fetching`](crate::provider::paypal::verifier_fetching)) fetches the
/// certificate a message names the first time it sees that address, and keeps it:
///
/// - Only addresses of the provider's own shape are fetched
///   (`https://sns.<region>.amazonaws.com/SimpleNotificationService-<32 hex digits>.pem`,
///   [`sns::is_fetchable_cert_url`](crate::provider::sns::is_fetchable_cert_url);
///   `https://api.paypal.com/v1/notifications/certs/<name>` and its three twins,
///   [`paypal::is_cert_url`](crate::provider::paypal::is_cert_url)), and only after the
///   request passed admission (allowlist, HTTPS, rate limit) and, for SNS, named a topic the
///   verifier accepts; not after other verifiers it is combined with: in an
///   [`AllOf`](crate::AllOf), every member's fetch runs before any member verifies, so Basic
///   auth beside it does not gate fetches. TLS then proves the host, with Mozilla's roots
///   ([`HttpsFetcher`]).
/// - The certificate must be valid now (its validity period, on the cache's clock); its key
///   expires with it. Only the first certificate of the document is read (a chain's leaf).
/// - One fetch per address at a time: deliveries that name an address being fetched wait
///   for that fetch. On a Tokio runtime (every adapter runs on one), each fetch runs as a
///   task of its own: a delivery whose client goes away stops waiting, but the fetch goes on
///   and its certificate (or its failure) is recorded for the deliveries after it. Without
///   a runtime, the fetch runs inside the future of the delivery that started it; dropped,
///   that fetch is abandoned (logged at WARN, at most once a minute) and still counts toward
///   the minute's fetches. A fetch that fails is not retried for 15 seconds
///   ([`CertificateCacheBuilder::retry_after_failure`]: less than the 20 s SNS waits
///   between its retries, so each retry finds a new fetch), and at most ten fetches start in
///   any minute ([`CertificateCacheBuilder::fetches_per_minute`]): a flood of messages naming
///   made-up addresses costs the provider's server a few requests a minute, not one each.
/// - A delivery whose certificate could not be fetched is answered 503 `key_unavailable`
///   with `Retry-After`, so that the sender retries it (SNS and PayPal retry a 5xx; SNS by
///   default only 3 times, 20 s apart, over about a minute, after which the message is
///   lost), and the fetch's failure is logged at ERROR with the address.
/// - The cache holds at most 32 certificates and failures
///   ([`CertificateCacheBuilder::capacity`]). A certificate just fetched replaces a failure
///   first, then an expired certificate, then one that no delivery was verified with, then
///   the one that verified a delivery longest ago; a failure replaces only another failure
///   or an expired certificate.
///
/// A held certificate is used for a day ([`CertificateCacheBuilder::refresh_after`]), then
/// its address is fetched again by the next delivery that names it, whatever the minute's
/// budget: a certificate found there replaces it; an answer that nothing is there (404, 410)
/// removes it, so a certificate the provider withdraws stops being trusted within a day of
/// use; any other failure keeps it. Its subject is not checked: TLS to the provider's own
/// host is what proves the document (a fetcher of your own, or a mirror behind
/// [`HttpsFetcher::with_root_certificates`], must be trusted as much).
///
/// What the budget cannot tell apart: a new certificate's address from a made-up one, until
/// it has fetched it. Someone who knows a topic ARN your SNS route accepts (or, for PayPal,
/// nothing at all) can spend the minute's fetches with made-up addresses; while they keep it
/// up, a certificate the provider has just moved to is not fetched, and its deliveries are
/// answered 503, which the provider retries. Certificates that verify deliveries stay held
/// (made-up addresses cannot push them out; other genuine certificates, fetched without
/// verifying anything, go before them). Each failed fetch is logged at ERROR, at most
/// [`fetches_per_minute`](CertificateCacheBuilder::fetches_per_minute) a minute. Give the
/// route the receiver's per-source rate limit, which runs before any fetch.
///
/// # Examples
///
/// A receiver of SES notifications through SNS that fetches SNS's certificates:
///
/// ```
/// use webhook_core::provider::sns;
/// use webhook_core::{CertificateCache, HttpsFetcher, RateLimit, Receiver};
///
/// let certificates = CertificateCache::new(HttpsFetcher::new()?);
/// let receiver = Receiver::builder()
///     .verifier(sns::verifier_fetching(
///         certificates,
///         ["arn:aws:sns:us-east-1:123456789012:ses-events"],
///     )?)
///     // Above the subscription's own throttle: SNS never retries a 429.
///     .rate_limit(RateLimit::per_second(50))
///     .content_type("text/plain")
///     .content_type("application/json")
///     .build()?;
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// `Debug` shows the limits and how many certificates are held.
#[derive(Clone)]
pub struct CertificateCache {
    inner: Arc<Inner>,
}

struct Inner {
    fetcher: Arc<dyn CertificateFetcher>,
    clock: SharedClock,
    capacity: usize,
    fetches_per_minute: usize,
    retry_after_failure: Duration,
    refresh_after: Duration,
    fetch_deadline: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// When the fetches of the last minute started.
    started: VecDeque<Duration>,
    /// Until when "fetches are spent" is not logged again: once per spent window, however
    /// many requests name addresses not held meanwhile (their senders choose them).
    quiet_until: Option<Duration>,
    /// Fetches abandoned before they ended, for a log line at most once a minute.
    abandoned: AbandonedFetches,
}

enum Entry {
    Ready {
        key: Box<PublicKey>,
        not_after_ms: i64,
        /// When it fetched, or last verified a delivery.
        used: Duration,
        /// Whether it has verified a delivery: certificates no delivery proved itself with
        /// are given up first.
        verified: bool,
        /// When its address is to be fetched again (monotonic).
        refresh_at: Duration,
        /// A refetch is in flight (deliveries meanwhile use this certificate).
        refreshing: bool,
    },
    Pending {
        done: tokio::sync::watch::Receiver<()>,
    },
    Failed {
        until: Duration,
    },
}

impl fmt::Debug for CertificateCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCache")
            .field("fetcher", &self.inner.fetcher)
            .field("certificates", &self.len())
            .field("capacity", &self.inner.capacity)
            .field("fetches_per_minute", &self.inner.fetches_per_minute)
            .field("retry_after_failure", &self.inner.retry_after_failure)
            .field("refresh_after", &self.inner.refresh_after)
            .field("fetch_deadline", &self.inner.fetch_deadline)
            .finish_non_exhaustive()
    }
}

/// Builds a [`CertificateCache`] with other limits than the defaults.
#[derive(Debug)]
pub struct CertificateCacheBuilder {
    fetcher: Arc<dyn CertificateFetcher>,
    clock: SharedClock,
    capacity: usize,
    fetches_per_minute: usize,
    retry_after_failure: Duration,
    refresh_after: Duration,
    fetch_deadline: Duration,
}

impl CertificateCacheBuilder {
    /// How long a fetch may take before it is ended as failed, whatever its fetcher does
    /// ([`FETCH_DEADLINE`], 10 s, by default; at least 1 millisecond, at most a minute).
    #[must_use]
    pub fn fetch_deadline(mut self, deadline: Duration) -> Self {
        self.fetch_deadline = deadline.clamp(Duration::from_millis(1), Duration::from_secs(60));
        self
    }

    /// Most certificates held (32 by default; at least 1).
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Most fetches started in any minute (10 by default; at least 1).
    #[must_use]
    pub fn fetches_per_minute(mut self, fetches: usize) -> Self {
        self.fetches_per_minute = fetches.max(1);
        self
    }

    /// How long an address whose fetch failed is not fetched again (15 s by default, at most
    /// a day), and the `Retry-After` of the 503 meanwhile. Keep it under the delay between
    /// the provider's retries (SNS retries an HTTPS delivery 3 times by default, 20 s apart,
    /// then drops it, whatever `Retry-After` says): each retry then finds a new fetch.
    #[must_use]
    pub fn retry_after_failure(mut self, delay: Duration) -> Self {
        self.retry_after_failure = delay.min(Duration::from_secs(24 * 60 * 60));
        self
    }

    /// How long a held certificate is used before its address is fetched again (a day by
    /// default; at least a minute). The refetch is made by the first delivery that names
    /// the address after that, which waits for it; deliveries meanwhile use the certificate
    /// held. Refetches are outside the minute's budget (made-up addresses cannot hold them
    /// off), bounded by the certificates held. What it finds replaces the certificate; an
    /// answer that the document does not exist ([`FetchError::gone`]: 404, 410) removes it
    /// (the provider withdrew it); any other failure, a document that is not a valid
    /// certificate included, keeps it, and the address is fetched again after
    /// [`retry_after_failure`](Self::retry_after_failure).
    #[must_use]
    pub fn refresh_after(mut self, after: Duration) -> Self {
        self.refresh_after = after.max(Duration::from_secs(60));
        self
    }

    /// The clock that decides whether a certificate is valid, and times the hold-back after a
    /// failure and the minute's fetches (its monotonic reading); the system clock by default.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The cache.
    #[must_use]
    pub fn build(self) -> CertificateCache {
        CertificateCache {
            inner: Arc::new(Inner {
                fetcher: self.fetcher,
                clock: self.clock,
                capacity: self.capacity,
                fetches_per_minute: self.fetches_per_minute,
                retry_after_failure: self.retry_after_failure,
                refresh_after: self.refresh_after,
                fetch_deadline: self.fetch_deadline,
                state: Mutex::default(),
            }),
        }
    }
}

impl CertificateCache {
    /// A cache that fetches with `fetcher`, with the default limits.
    #[must_use]
    pub fn new(fetcher: impl CertificateFetcher) -> Self {
        Self::builder(fetcher).build()
    }

    /// A cache that fetches with `fetcher`, with limits of your own.
    #[must_use]
    pub fn builder(fetcher: impl CertificateFetcher) -> CertificateCacheBuilder {
        CertificateCacheBuilder {
            fetcher: Arc::new(fetcher),
            clock: Arc::new(SystemClock),
            capacity: 32,
            fetches_per_minute: 10,
            retry_after_failure: DEFAULT_RETRY_AFTER_FAILURE,
            refresh_after: DEFAULT_REFRESH_AFTER,
            fetch_deadline: FETCH_DEADLINE,
        }
    }

    /// How many certificates the cache holds (fetched and valid or expired, not failed or
    /// in flight).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .entries
            .values()
            .filter(|e| matches!(e, Entry::Ready { .. }))
            .count()
    }

    /// Whether the cache holds no certificate.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fetch to await before [`key`](Self::key) can answer for `url`: `None` when the
    /// certificate is held, when its last fetch failed within the hold-back delay, or when
    /// this minute's fetches are spent; a wait for it when it is being fetched.
    pub(crate) fn prefetch(&self, url: &str) -> Option<KeyFetch> {
        let now = self.inner.clock.monotonic();
        let wall_ms = self.inner.clock.now_ms();
        let mut state = self.inner.lock();
        // A held certificate due to be fetched again: refetched while it stays in use.
        let mut refresh = false;
        match state.entries.get(url) {
            // One fetch per address: a refetch in flight is waited for by nobody (the
            // certificate held serves meanwhile, or, expired meanwhile, is answered 503).
            Some(Entry::Ready { refreshing, .. }) if *refreshing => return None,
            Some(Entry::Ready {
                not_after_ms,
                refresh_at,
                ..
            }) if wall_ms < *not_after_ms => {
                if now < *refresh_at {
                    return None;
                }
                refresh = true;
            }
            Some(Entry::Pending { done }) => {
                let mut done = done.clone();
                return Some(Box::pin(async move {
                    // Err: the fetch ended (its sender is gone), which is what is awaited.
                    let _ = done.changed().await;
                }));
            }
            Some(Entry::Failed { until }) if now < *until => return None,
            _ => {}
        }
        while state
            .started
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= Duration::from_secs(60))
        {
            state.started.pop_front();
        }
        // A refetch is outside the minute's budget, so that made-up addresses cannot keep a
        // withdrawn certificate trusted: refetches are bounded by the certificates held, each
        // at most once per hold-back.
        if !refresh && state.started.len() >= self.inner.fetches_per_minute {
            if state.quiet_until.is_none_or(|until| now >= until) {
                // The window frees its first slot a minute after its oldest fetch started.
                let frees = state
                    .started
                    .front()
                    .map_or(now, |t| t.saturating_add(Duration::from_secs(60)));
                state.quiet_until = Some(frees);
                tracing::warn!(
                    "signing certificate not fetched: this minute's fetches are spent (logged \
                     once until one is free again)"
                );
            }
            return None;
        }
        if !refresh {
            state.started.push_back(now);
        }
        let (sender, done) = tokio::sync::watch::channel(());
        match state.entries.get_mut(url) {
            Some(Entry::Ready { refreshing, .. }) if refresh => *refreshing = true,
            _ => {
                state
                    .entries
                    .insert(url.to_owned(), Entry::Pending { done });
            }
        }
        drop(state);
        let mut pending = PendingFetch {
            cache: self.clone(),
            url: url.to_owned(),
            sender: Some(sender),
            refresh,
        };
        let fetch = run_to_end(async move {
            let inner = &pending.cache.inner;
            let fetched =
                within_deadline(inner.fetcher.fetch(&pending.url), inner.fetch_deadline).await;
            pending.finish(fetched);
        });
        Some(Box::pin(async move {
            // The outcome is in the cache (and the log) now, or the fetch was abandoned.
            let _ = fetch.await;
        }))
    }

    /// The key of the certificate at `url`, when it is held and valid.
    pub(crate) fn key(&self, url: &str) -> Result<PublicKey, VerifyError> {
        let wall_ms = self.inner.clock.now_ms();
        match self.inner.lock().entries.get(url) {
            Some(Entry::Ready {
                key, not_after_ms, ..
            }) if wall_ms < *not_after_ms => Ok(PublicKey::clone(key)),
            _ => Err(VerifyError::new(VerifyErrorKind::KeyUnavailable)
                .with_retry_after(self.inner.retry_after_failure)),
        }
    }

    /// The certificate at `url` verified a delivery: it is in use (only a verified delivery
    /// counts, so that unverified requests cannot keep a certificate of their choice held).
    pub(crate) fn verified(&self, url: &str) {
        let now = self.inner.clock.monotonic();
        if let Some(Entry::Ready { used, verified, .. }) = self.inner.lock().entries.get_mut(url) {
            *used = now;
            *verified = true;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the map whole; a panic elsewhere cannot break it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Make room for one entry besides `keep`: a failure (the one held back least long), else an
/// expired certificate, else (when `valid_too`) a certificate no delivery was verified with,
/// else the one that verified a delivery longest ago. `false` when nothing may go.
fn evict_one(
    entries: &mut HashMap<String, Entry>,
    keep: &str,
    valid_too: bool,
    now: Duration,
    wall_ms: i64,
) -> bool {
    // Lower ranks go first; within a rank, the smaller second member.
    let victim = entries
        .iter()
        .filter(|(url, _)| url.as_str() != keep)
        .filter_map(|(url, entry)| match entry {
            Entry::Failed { until } => Some(((0u8, until.saturating_sub(now)), url)),
            // Being fetched again: its fetch records what it finds there.
            Entry::Ready {
                refreshing: true, ..
            } => None,
            Entry::Ready {
                not_after_ms,
                used,
                verified,
                ..
            } => {
                let rank = match (wall_ms >= *not_after_ms, *verified) {
                    (true, _) => 1,
                    (false, _) if !valid_too => return None,
                    (false, false) => 2,
                    (false, true) => 3,
                };
                Some((
                    (
                        rank,
                        Duration::MAX.saturating_sub(now.saturating_sub(*used)),
                    ),
                    url,
                ))
            }
            Entry::Pending { .. } => None,
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, url)| url.clone());
    victim.is_some_and(|url| entries.remove(&url).is_some())
}

/// A fetch in flight. Dropped before it finishes (abandoned: its delivery was dropped without
/// a Tokio runtime to run it to its end, or the runtime shut down), it removes its entry, so
/// that the next delivery fetches again, wakes the deliveries waiting for it, and is logged
/// (at most once a minute). It stays counted among the minute's fetches: the budget bounds
/// what the provider's server is asked, and an abandoned request reached it too.
struct PendingFetch {
    cache: CertificateCache,
    url: String,
    sender: Option<tokio::sync::watch::Sender<()>>,
    /// A refetch of a certificate held (marked `refreshing`), not a first fetch.
    refresh: bool,
}

impl PendingFetch {
    /// When the fetch refetched a certificate held, record what it found and say so: the
    /// certificate found replaces it (its use so far kept); an address that no longer holds
    /// it (gone, or not a certificate) removes it; another failure keeps it, to be fetched
    /// again after the hold-back. `false` when no certificate is held (a first fetch).
    fn refreshed(&self, fetched: &Result<(PublicKey, i64), FetchError>, now: Duration) -> bool {
        if !self.refresh {
            return false;
        }
        let inner = &self.cache.inner;
        let mut state = inner.lock();
        let Some(Entry::Ready {
            key,
            not_after_ms,
            verified,
            refresh_at,
            refreshing,
            ..
        }) = state.entries.get_mut(&self.url)
        else {
            // Gone meanwhile (it could not be evicted while refetched, so it was never
            // put back): what was fetched is recorded as a first fetch is.
            return false;
        };
        *refreshing = false;
        match fetched {
            // Its use is kept (an unverified request may ask for the refetch, so it is not a
            // use); another certificate has verified nothing yet.
            Ok((found, found_not_after_ms)) => {
                if found.id() != key.id() {
                    tracing::info!(
                        url = %self.url,
                        key_id = found.id(),
                        "signing certificate fetched again: another certificate, which replaces it"
                    );
                    *verified = false;
                }
                **key = found.clone();
                *not_after_ms = *found_not_after_ms;
                *refresh_at = now.saturating_add(inner.refresh_after);
            }
            Err(error) if error.is_gone() => {
                state.entries.remove(&self.url);
                drop(state);
                tracing::error!(
                    url = %self.url,
                    %error,
                    "signing certificate withdrawn: its address no longer holds it, so it is no \
                     longer trusted"
                );
            }
            Err(error) => {
                *refresh_at = now.saturating_add(inner.retry_after_failure);
                drop(state);
                tracing::warn!(
                    url = %self.url,
                    %error,
                    "signing certificate not fetched again: the one held is kept"
                );
            }
        }
        true
    }

    fn finish(&mut self, fetched: Result<Vec<u8>, FetchError>) {
        let inner = &self.cache.inner;
        let now_ms = inner.clock.now_ms();
        let now = inner.clock.monotonic();
        // A document that is not a usable certificate (an error page, a clock skewed against
        // its validity) withdraws nothing: only the server's word that nothing is there does.
        let fetched = fetched.and_then(|document| {
            fetched_certificate_key(&document, now_ms)
                .map_err(|e| FetchError::new("not a valid certificate").with_source(e))
        });
        // A refetch of a certificate held: it stays unless the address no longer holds it.
        if self.refreshed(&fetched, now) {
            self.sender = None;
            return;
        }
        let entry = match fetched {
            Ok((key, not_after_ms)) => {
                tracing::info!(url = %self.url, key_id = key.id(), "signing certificate fetched");
                Entry::Ready {
                    key: Box::new(key),
                    not_after_ms,
                    used: now,
                    verified: false,
                    refresh_at: now.saturating_add(inner.refresh_after),
                    refreshing: false,
                }
            }
            Err(error) => {
                tracing::error!(url = %self.url, %error, "signing certificate not fetched");
                Entry::Failed {
                    until: inner
                        .clock
                        .monotonic()
                        .saturating_add(inner.retry_after_failure),
                }
            }
        };
        let mut state = inner.lock();
        // Fetches in flight do not count: they are bounded by the minute's budget.
        let held = |state: &State| {
            state
                .entries
                .iter()
                .filter(|(url, e)| **url != self.url && !matches!(e, Entry::Pending { .. }))
                .count()
        };
        // A certificate may take the place of another; a failure only of another failure or
        // an expired certificate, so that failed fetches cannot push out a certificate in use.
        let valid_too = matches!(entry, Entry::Ready { .. });
        let mut room = true;
        while room && held(&state) >= inner.capacity {
            room = evict_one(
                &mut state.entries,
                &self.url,
                valid_too,
                inner.clock.monotonic(),
                now_ms,
            );
        }
        if room {
            state.entries.insert(self.url.clone(), entry);
        } else {
            // No room for the failure: forget the address (the budget still bounds refetches).
            state.entries.remove(&self.url);
        }
        drop(state);
        self.sender = None;
    }
}

impl Drop for PendingFetch {
    fn drop(&mut self) {
        if self.sender.is_none() {
            return;
        }
        let now = self.cache.inner.clock.monotonic();
        let mut state = self.cache.inner.lock();
        match state.entries.get_mut(&self.url) {
            Some(Entry::Pending { .. }) if !self.refresh => {
                state.entries.remove(&self.url);
            }
            // An abandoned refetch: the certificate held stays, due again.
            Some(Entry::Ready { refreshing, .. }) if self.refresh => *refreshing = false,
            _ => {}
        }
        let report = state.abandoned.count(now);
        drop(state);
        if let Some(abandoned) = report {
            tracing::warn!(
                url = %self.url,
                abandoned,
                "signing certificate fetch abandoned before it ended (dropped without a Tokio \
                 runtime to run it, or its runtime shut down): it still counts toward the \
                 minute's fetches (logged at most once a minute)"
            );
        }
    }
}
