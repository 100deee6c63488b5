//! [`RedisStore`]: the replay and idempotency store shared by several replicas of a receiver.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ErrorKind, Script, ServerErrorKind};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::error::ConfigError;
use crate::store::{Claim, LeaseToken, ReplayStore, StoreError, StoreFuture};

/// Takes the key when it is free (`l:<token>` for the lease); otherwise answers done (`d:` and
/// the token of the claim that completed it; `d` alone as written by earlier versions) or the
/// lease's remaining milliseconds. A claim whose token is among the key's tombstones
/// (`KEYS[2]`, see [`ABANDON`]) arrived after its own release and takes nothing (`3`). One
/// script, so the check and the write are atomic.
const CLAIM: &str = r"
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return {3, 0}
end
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'l:' .. ARGV[1], 'PX', ARGV[2])
  return {0, 0}
end
if string.sub(v, 1, 1) == 'd' then
  return {1, 0}
end
return {2, redis.call('PTTL', KEYS[1])}
";

/// Marks the key done (`d:<token>`) for the retention unless it is done already: whether this
/// token still holds it (`1`), nobody does (`1`: the lease expired and no one took the key
/// over), or another holder took it over after this token's lease expired (`2`: a success is
/// a fact; that holder's claim ends here, and its release or completion later finds no lease
/// of its own). A key already done keeps its record: done by this token (`0`: a completion
/// tried again after an answer was lost), or by another claim (`3`: a copy was processed
/// after this token's lease expired, so both handlers ran).
const COMPLETE: &str = r"
local v = redis.call('GET', KEYS[1])
if v == 'd:' .. ARGV[1] then
  return 0
end
if v and string.sub(v, 1, 1) == 'd' then
  return 3
end
redis.call('SET', KEYS[1], 'd:' .. ARGV[1], 'PX', ARGV[2])
if (not v) or v == 'l:' .. ARGV[1] then
  return 1
end
return 2
";

/// Frees the key if this token still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == 'l:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Releases a claim whose answer never came. If the claim took the key, frees it. Otherwise
/// the claim may still be on its way (sent on a connection since replaced, it can arrive after
/// this release): its token joins the key's tombstones (`KEYS[2]`, a set kept for at least
/// the lease, and 20 minutes), so that it takes nothing when it arrives, whoever holds the
/// key then.
const ABANDON: &str = r"
if redis.call('GET', KEYS[1]) == 'l:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 0
";

/// A [`ReplayStore`] in Redis, for a receiver that runs as several replicas: a delivery
/// claimed by one replica is in flight, then done, for all of them. Feature `redis`.
///
/// Each delivery key is one Redis string under a prefix (`webhook:` unless changed), named by
/// the SHA-256 of the key, so that a long message id does not make a long Redis key and no id
/// is stored in the clear. Its value is `l:<token>` while a lease holds it, with the lease as
/// its expiry, and `d:<token>` once done, with the retention as its expiry: Redis expires both, and
/// the store needs no sweeping. A claim whose answer was lost leaves its token in a set of
/// tombstones next to the key, for its lease and at least 20 minutes, which that claim
/// respects if it arrives late.
/// Both names put the digest in a hash tag, so both are in one Redis Cluster slot. Claim,
/// completion and release are Lua scripts, loaded into Redis's script cache when the store
/// connects, so every check and write is atomic on the server. A release by a holder whose
/// lease expired never frees the claim of whoever took the key over; its completion marks the
/// key done (a success is a fact), which ends that claim, as in the
/// [`MemoryStore`](crate::MemoryStore).
///
/// A done key is done through the instant its retention ends, inclusive, as in the memory
/// store: the completion writes the retention as the key's expiry (`PX`, rounded up to the
/// millisecond), and Redis keeps a key until its clock is past the key's expiry time. The
/// retention runs on Redis's clock from the completion, not on the receiver's.
///
/// Every call waits at most the store's timeout (1 s unless changed) for Redis's answer, and
/// while a connection is being replaced, at most as long again for the new connection; a
/// store that cannot answer in time, or at all, refuses the delivery with 503 and
/// `Retry-After` (fail closed).
/// A call that timed out, or that met a server no longer taking writes (`READONLY` from a
/// primary demoted by a failover, `MASTERDOWN`), drops the connection it used, and a new one is opened in the background
/// (each step within the [connect timeout](RedisStoreBuilder::connect_timeout), tried again with a
/// growing pause while it fails): a connection whose peer vanished without closing it, or
/// that reaches a server no longer taking writes, is not used again, and calls meanwhile wait
/// for the new one within their own timeout. A claim that failed is released in the background with its own
/// token, in case Redis took it before the answer was lost; as that release may travel on a
/// new connection and reach Redis before the claim does, it leaves a tombstone that the late
/// claim respects, so a lost answer does not hold a key for the rest of its lease. A delivery whose handler failed
/// waits for its release (so the sender's immediate retry finds the key free); a release
/// from a dropped lease runs in the background; one that cannot reach Redis is lost and the
/// lease expires instead. A completion that fails is tried again in the background for up to
/// a minute (an error is logged if it never lands: once the lease has expired, a copy would
/// be processed again).
///
/// # What Redis must guarantee
///
/// A processed delivery is remembered only as long as Redis keeps its key. A Redis that
/// evicts keys under memory pressure would forget processed deliveries and let a captured one
/// be replayed inside the freshness window, so [`connect`](RedisStoreBuilder::connect)
/// refuses a server whose `maxmemory-policy` is not `noeviction` (Redis's default; with it, a
/// full Redis refuses the write and the delivery is refused with 503), unless
/// [`allow_eviction`](RedisStoreBuilder::allow_eviction) says otherwise. A server that will
/// not show its `maxmemory-policy` (some managed services refuse `CONFIG`) is accepted with a
/// warning: there, make sure it is `noeviction`. Likewise a restart
/// without persistence, or a failover to a replica that had not yet received the latest
/// writes, forgets the keys written since: run Redis with AOF persistence (`appendonly yes`)
/// where that window matters.
///
/// The connection is a [`ConnectionManager`]: one multiplexed connection, reconnected when
/// Redis closes it. Make the store, and use it, in Tokio runtimes that run as long as the
/// receiver (in actix-web, the main system's runtime, as the example receiver does): the
/// connection's background task runs in the runtime that opened it (a replacement, in the
/// runtime of the call that needed it; should that runtime stop while the replacement is
/// being opened, the next call opens another). Cheap to clone.
///
/// # Examples
///
/// ```no_run
/// use webhook_core::{Receiver, RedisStore, Secret, StandardWebhooks};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
/// let receiver = Receiver::builder()
///     .route("email") // receivers sharing a store are told apart by their route names
///     .verifier(StandardWebhooks::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)?)
///     .replay(store)
///     .build()?;
/// # let _ = receiver;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: ConnectionManagerConfig,
    /// The connection in use, with a number that changes each time it is replaced, so that
    /// several calls failing on one connection replace it once; `None` while a new one is
    /// being opened in the background ([`RedisStore::open_connection`]).
    connection: watch::Sender<(u64, Option<ConnectionManager>)>,
    prefix: String,
    timeout: Duration,
    /// How long opening a connection may take (the builder's connect timeout, or the timeout).
    connect_timeout: Duration,
    allow_eviction: bool,
    /// A new connection is being opened in the background ([`reconnect`]).
    opening: std::sync::atomic::AtomicBool,
    claim: Script,
    complete: Script,
    release: Script,
    abandon: Script,
    /// Tokens are this random base plus a counter: unique per claim, and across replicas
    /// with overwhelming probability.
    token_base: u64,
    tokens: AtomicU64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisStore`]: [`RedisStore::builder`].
#[derive(Debug, Clone)]
pub struct RedisStoreBuilder {
    prefix: String,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    allow_eviction: bool,
}

impl RedisStoreBuilder {
    /// Prefix of every key this store writes (default `webhook:`): receivers that must not
    /// see each other's deliveries on one Redis use different prefixes. It may not hold `{` or
    /// `}`: the store puts each key's digest in a Redis Cluster hash tag, which a brace in the
    /// prefix would change ([`connect`](Self::connect) refuses it).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a claim, a completion or a release may wait for Redis (default 1 s), and
    /// connecting too unless [`connect_timeout`](Self::connect_timeout) is set (the scripts
    /// then load within one more timeout, best effort). Zero is taken as 1 ms.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The longest connecting may take: at start-up, the connection, its `PING` and the
    /// eviction check together; when a connection is replaced in the background, the
    /// connection and its `PING`, then the eviction check, each (default: the
    /// [`timeout`](Self::timeout)). For a Redis that answers each call quickly once connected
    /// but takes longer to reach (TLS, another network) than a delivery should wait for a
    /// call. Calls keep their own timeout; a release or a completion made in the background
    /// may wait for a connection being replaced too. Zero is taken as 1 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::RedisStore;
    /// let builder = RedisStore::builder()
    ///     .timeout(Duration::from_millis(250))
    ///     .connect_timeout(Duration::from_secs(10));
    /// assert!(format!("{builder:?}").contains("connect_timeout: Some(10s)"));
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout.max(Duration::from_millis(1)));
        self
    }

    /// Accept a Redis whose `maxmemory-policy` may evict keys. Under memory pressure it then
    /// forgets processed deliveries, which can be replayed while their timestamps are fresh:
    /// only for a Redis that is known never to fill up.
    #[must_use]
    pub fn allow_eviction(mut self, allow: bool) -> Self {
        self.allow_eviction = allow;
        self
    }

    /// Connect to the Redis at `url` (`redis://[user:password@]host[:port][/db]`, or
    /// `redis+unix:///path`), check that it answers and that it does not evict keys, all
    /// within the timeout. Call it inside the Tokio runtime that serves the receiver.
    ///
    /// # Errors
    ///
    /// No Tokio runtime; a URL that does not parse; a Redis that cannot be reached or does
    /// not answer within the timeout; a `maxmemory-policy` other than `noeviction` (see
    /// [`allow_eviction`](Self::allow_eviction)), or an answer about it that cannot be read
    /// (a server that refuses to show it is accepted, with a warning). No error shows the
    /// URL, which may carry a password.
    pub async fn connect(self, url: &str) -> Result<RedisStore, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::new(
                "redis store: connect must run inside a Tokio runtime",
            ));
        }
        let client = Client::open(url).map_err(|_| {
            StoreError::new(
                "redis store: the URL is not a redis:// or redis+unix:// URL this build supports",
            )
        })?;
        let timeout = self.timeout;
        let connect_timeout = self.connect_timeout.unwrap_or(timeout);
        // Connecting (at start-up, and in the background after a failure) may take the
        // connect timeout, its `PING` and eviction check included; each call is cut off at
        // the timeout by the store itself ([`within`]).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(connect_timeout))
            .set_number_of_retries(1);
        let allow_eviction = self.allow_eviction;
        if self.prefix.contains(['{', '}']) {
            return Err(StoreError::new(
                "redis store: the key prefix may not hold `{` or `}` (the key's digest is its \
                 Redis Cluster hash tag)",
            ));
        }
        let prefix = self.prefix;
        // One deadline for connecting, `PING` and the eviction check together.
        let connecting = async move {
            let connection = within(connect_timeout, async {
                let mut connection =
                    ConnectionManager::new_with_config(client.clone(), config.clone()).await?;
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await?;
                Ok(connection)
            })
            .await
            .map_err(|e| e.prefixed("redis store: cannot connect"))?;
            let mut token_bytes = [0u8; 8];
            OsRng.fill_bytes(&mut token_bytes);
            let store = RedisStore {
                inner: Arc::new(Inner {
                    client,
                    config,
                    connection: watch::Sender::new((0, Some(connection))),
                    prefix,
                    timeout,
                    connect_timeout,
                    allow_eviction,
                    opening: std::sync::atomic::AtomicBool::new(false),
                    claim: Script::new(CLAIM),
                    complete: Script::new(COMPLETE),
                    release: Script::new(RELEASE),
                    abandon: Script::new(ABANDON),
                    token_base: u64::from_le_bytes(token_bytes),
                    tokens: AtomicU64::new(0),
                }),
            };
            store.check_eviction().await?;
            Ok(store)
        };
        let store = tokio::time::timeout(connect_timeout, connecting)
            .await
            .unwrap_or_else(|_| Err(StoreError::new("redis store: cannot connect: timed out")))?;
        // Best effort, after the connect deadline, in its own (one round trip, one timeout).
        store.load_scripts().await;
        Ok(store)
    }
}

/// A Redis call's failure, before it becomes a [`StoreError`].
struct Failure {
    timed_out: bool,
    source: Option<redis::RedisError>,
}

impl Failure {
    /// Whether the connection the call used should be dropped for a new one: it went silent,
    /// or it reaches a server that no longer takes writes, where a new connection (through the
    /// same address, moved by the failover) reaches the new primary: a primary demoted by a
    /// failover keeps its clients connected and answers every write `READONLY` (inside a
    /// script, Redis 6 and earlier wrap it in an `ERR`), and a replica that lost its primary
    /// answers `MASTERDOWN`.
    fn needs_new_connection(&self) -> bool {
        self.timed_out
            || self.source.as_ref().is_some_and(|e| {
                matches!(
                    e.kind(),
                    ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
                ) || e.detail().is_some_and(|detail| detail.contains("READONLY"))
            })
    }

    fn prefixed(self, what: &'static str) -> StoreError {
        let message = if self.timed_out {
            format!("{what}: timed out")
        } else {
            match &self.source {
                Some(e) => format!("{what}: {:?}", e.kind()),
                None => what.to_owned(),
            }
        };
        let error = StoreError::new(message).with_retry_after(Duration::from_secs(1));
        match self.source {
            Some(source) => error.with_source(source),
            None => error,
        }
    }
}

/// `call`, waiting at most `timeout`.
async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Failure {
            timed_out: e.is_timeout(),
            source: Some(e),
        }),
        Err(_) => Err(Failure {
            timed_out: true,
            source: None,
        }),
    }
}

/// `call`, waiting at most `timeout` (its own failures as they are).
async fn within_deadline<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(Failure {
            timed_out: true,
            source: None,
        }))
}

/// The longest expiry written: 100 years. Redis refuses an expiry that overflows its clock
/// arithmetic, and a retention of `Duration::MAX` must not make every completion fail.
const MAX_EXPIRY_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Milliseconds for a Redis expiry, rounded up (never shorter than `duration`, so a retention
/// of the freshness window cannot end before the window does): at least 1 (Redis refuses 0),
/// at most [`MAX_EXPIRY_MS`].
fn expiry_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_EXPIRY_MS)
}

impl RedisStore {
    /// A builder, to set the key prefix or the timeout before connecting.
    #[must_use]
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder {
            prefix: "webhook:".to_owned(),
            timeout: Duration::from_secs(1),
            connect_timeout: None,
            allow_eviction: false,
        }
    }

    /// Connect to the Redis at `url` with the default prefix and timeout; see
    /// [`RedisStoreBuilder::connect`].
    ///
    /// # Errors
    ///
    /// As [`RedisStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder().connect(url).await
    }

    /// Connect to the Redis named by the environment variable `var` (e.g. `REDIS_URL`), if it
    /// is set: `Ok(None)` when it is not (logged at INFO, naming the variable).
    ///
    /// # Errors
    ///
    /// As [`RedisStoreBuilder::connect`], or a value that is not Unicode.
    pub async fn from_env(var: &str) -> Result<Option<Self>, ConfigError> {
        match std::env::var(var) {
            // The URL may carry a password: zeroized once read.
            Ok(url) => Self::connect(&zeroize::Zeroizing::new(url))
                .await
                .map(Some)
                .map_err(|e| ConfigError::new(format!("`{var}`: {e}"))),
            Err(std::env::VarError::NotPresent) => {
                // Said once at start-up: a replica left without its variable would keep its
                // own memory store, and a copy sent to another replica would be processed.
                tracing::info!(var, "redis store: not set; no Redis store");
                Ok(None)
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(ConfigError::new(format!("`{var}` is not Unicode")))
            }
        }
    }

    /// Free `key` if `token` still holds it, and wait for Redis's answer: whether it was
    /// freed. [`ReplayStore::release`] does the same in a background task.
    ///
    /// # Errors
    ///
    /// Redis did not answer within the timeout, or failed.
    pub async fn release_and_wait(&self, key: &str, token: LeaseToken) -> Result<bool, StoreError> {
        self.release_key(self.redis_key(key), token)
            .await
            .map_err(|e| e.prefixed("redis store: release failed"))
    }

    async fn release_key(&self, key: String, token: LeaseToken) -> Result<bool, Failure> {
        self.release_key_within(self.inner.timeout, key, token)
            .await
    }

    async fn release_key_within(
        &self,
        deadline: Duration,
        key: String,
        token: LeaseToken,
    ) -> Result<bool, Failure> {
        let mut call = self.inner.release.key(key);
        call.arg(token.get());
        let freed: i64 = self
            .call_within(deadline, async |mut connection| {
                call.invoke_async(&mut connection).await
            })
            .await?;
        Ok(freed == 1)
    }

    /// How long a call made in the background may wait: for a new connection being opened
    /// (often what made the call necessary: a claim whose answer was lost to a silent
    /// connection), then for its answer.
    fn background_deadline(&self) -> Duration {
        self.inner
            .connect_timeout
            .saturating_mul(2)
            .saturating_add(self.inner.timeout)
    }

    /// Load the scripts into Redis's script cache, in one round trip, so that each call runs
    /// by its digest at once. Best effort: a script missing from the cache (a Redis restarted
    /// since, or one that refused the load) is sent whole on first use instead, which costs a
    /// round trip, and needs its first answer, before the script runs.
    async fn load_scripts(&self) {
        let mut pipe = redis::pipe();
        for source in [CLAIM, COMPLETE, RELEASE, ABANDON] {
            pipe.cmd("SCRIPT").arg("LOAD").arg(source);
        }
        let loaded: Result<Vec<String>, Failure> = self
            .call(async |mut connection| pipe.query_async(&mut connection).await)
            .await;
        if let Err(e) = loaded {
            tracing::warn!(
                error = %e.prefixed("redis store: cannot load its scripts"),
                "redis store: scripts load on first use"
            );
        }
    }

    /// Refuse a Redis that may evict keys (see the type's docs), unless allowed. A Redis
    /// that does not let clients read its configuration (some managed services) is trusted,
    /// with a warning.
    async fn check_eviction(&self) -> Result<(), StoreError> {
        let answer = self.call(eviction_policy).await;
        judge_eviction(answer, self.inner.allow_eviction)
    }

    /// Run `call` on the current connection, waiting at most the timeout for its answer (and,
    /// while a new connection is being opened, at most the timeout for that first). A call
    /// that timed out on its connection, or that met a server that no longer takes writes,
    /// replaces the connection (once, however many calls failed on it).
    async fn call<T, F>(&self, call: F) -> Result<T, Failure>
    where
        F: AsyncFnOnce(ConnectionManager) -> redis::RedisResult<T>,
    {
        self.call_within(self.inner.timeout, call).await
    }

    /// [`call`](Self::call), waiting at most `wait` for a connection.
    async fn call_within<T, F>(&self, wait: Duration, call: F) -> Result<T, Failure>
    where
        F: AsyncFnOnce(ConnectionManager) -> redis::RedisResult<T>,
    {
        let mut current = self.inner.connection.subscribe();
        let ready = within_deadline(wait, async {
            current
                .wait_for(|(_, connection)| connection.is_some())
                .await
                .map(|ready| ready.clone())
                .map_err(|_| Failure {
                    timed_out: false,
                    source: None,
                })
        })
        .await;
        let (generation, connection) = match ready {
            Ok((generation, Some(connection))) => (generation, connection),
            Ok((_, None)) => {
                return Err(Failure {
                    timed_out: false,
                    source: None,
                });
            }
            Err(failure) => {
                // No connection came in time: one is opened unless that is under way already
                // (its opening may have ended with the runtime it ran in).
                let generation = current.borrow().0;
                self.open_connection(generation, Replace::OnlyIfNone);
                return Err(failure);
            }
        };
        // The answer gets the whole timeout, so that a timeout says the connection is silent.
        let result = within(self.inner.timeout, call(connection)).await;
        if let Err(failure) = &result
            && failure.needs_new_connection()
        {
            self.open_connection(generation, Replace::Current);
        }
        result
    }

    /// Drop the connection numbered `generation`, if it is still the current one, and open a
    /// new one in the background: calls wait for it, each within its own timeout. While no
    /// connection is current and none is being opened, one is opened (all that
    /// [`Replace::OnlyIfNone`] allows). Opening takes up to the
    /// connect timeout for connecting and `PING`, and as long again for the eviction check; an
    /// attempt that fails, or that finds a server which may evict keys (see the type's docs),
    /// is tried again after a pause (0.1 s, doubling up to 5 s) for as long as the store exists.
    fn open_connection(&self, generation: u64, replace: Replace) {
        let opening = &self.inner.opening;
        let replaced = self.inner.connection.send_if_modified(|current| {
            let keep = match &current.1 {
                Some(_) => replace == Replace::OnlyIfNone,
                None => opening.load(Ordering::Acquire),
            };
            if current.0 != generation || keep {
                return false; // replaced already, being opened, or to be kept
            }
            *current = (generation.wrapping_add(1), None);
            true
        });
        if !replaced {
            return;
        }
        opening.store(true, Ordering::Release);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Not reached from a call (they run in a runtime); a lazy connection then, opened by
            // the first call that uses it.
            opening.store(false, Ordering::Release);
            if let Ok(fresh) = ConnectionManager::new_lazy_with_config(
                self.inner.client.clone(),
                self.inner.config.clone(),
            ) {
                install(&self.inner, generation.wrapping_add(1), fresh);
            }
            return;
        };
        tracing::debug!("redis store: a call failed on its connection; opening a new one");
        runtime.spawn(reconnect(
            Arc::downgrade(&self.inner),
            generation.wrapping_add(1),
        ));
    }

    /// The Redis key of a delivery key: the prefix, then the key's digest as a Redis Cluster
    /// hash tag, so that its tombstones ([`tombstones`]) are in the same slot.
    fn redis_key(&self, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let mut name = String::with_capacity(self.inner.prefix.len() + 47);
        name.push_str(&self.inner.prefix);
        name.push('{');
        URL_SAFE_NO_PAD.encode_string(digest, &mut name);
        name.push('}');
        name
    }

    fn next_token(&self) -> LeaseToken {
        let n = self.inner.tokens.fetch_add(1, Ordering::Relaxed);
        LeaseToken::new(self.inner.token_base.wrapping_add(n))
    }

    /// Release `key` for `token` in a background task, if there is a runtime to run it. With
    /// `abandoned` (the claim's lease), the claim's answer never came: see [`ABANDON`].
    fn release_in_background(&self, key: String, token: LeaseToken, abandoned: Option<Duration>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!("redis store: no runtime to release a claim on; its lease will expire");
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            let deadline = store.background_deadline();
            let result = match abandoned {
                Some(lease) => store.abandon_key(deadline, key, token, lease).await,
                None => store.release_key_within(deadline, key, token).await,
            };
            if let Err(e) = result {
                let e = e.prefixed("redis store: release failed; the lease will expire");
                tracing::warn!(error = %e, "redis store: release failed");
            }
        });
    }

    async fn abandon_key(
        &self,
        deadline: Duration,
        key: String,
        token: LeaseToken,
        lease: Duration,
    ) -> Result<bool, Failure> {
        let mut call = self.inner.abandon.key(&key);
        // A claim may sit in a dead connection's send buffer for as long as TCP retries it
        // (about a quarter of an hour by default) before it reaches Redis.
        let keep = lease.max(TOMBSTONE_MIN);
        call.key(tombstones(&key))
            .arg(token.get())
            .arg(expiry_ms(keep));
        let freed: i64 = self
            .call_within(deadline, async |mut connection| {
                call.invoke_async(&mut connection).await
            })
            .await?;
        Ok(freed == 1)
    }
}

/// `CONFIG GET maxmemory-policy` on `connection`: a map (RESP3) or a flat list of pairs
/// (RESP2), both read as a map.
async fn eviction_policy(
    mut connection: ConnectionManager,
) -> redis::RedisResult<std::collections::HashMap<String, String>> {
    redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(&mut connection)
        .await
}

/// Whether a server whose `CONFIG GET maxmemory-policy` answered `answer` may be used.
fn judge_eviction(
    answer: Result<std::collections::HashMap<String, String>, Failure>,
    allow: bool,
) -> Result<(), StoreError> {
    let policy = match answer {
        Ok(map) => map.get("maxmemory-policy").cloned(),
        // The server refused the command (disabled, renamed, or not permitted to this user):
        // it cannot be read. Any other refusal (still loading, a demoted primary) says
        // nothing about the policy, and is an error like a failed connection.
        Err(Failure {
            source: Some(e), ..
        }) if matches!(
            e.kind(),
            ErrorKind::Server(ServerErrorKind::NoPerm | ServerErrorKind::ResponseError)
        ) =>
        {
            None
        }
        Err(e) => return Err(e.prefixed("redis store: cannot read maxmemory-policy")),
    };
    match policy.as_deref() {
        Some("noeviction") => Ok(()),
        Some(policy) if allow => {
            tracing::warn!(
                policy,
                "redis store: Redis may evict processed deliveries under memory pressure"
            );
            Ok(())
        }
        Some(policy) => Err(StoreError::new(format!(
            "redis store: Redis's maxmemory-policy is {policy}, which may evict processed \
             deliveries and let them be replayed; set it to noeviction (or allow eviction \
             explicitly)"
        ))),
        None => {
            tracing::warn!(
                "redis store: cannot read Redis's maxmemory-policy; it must be noeviction"
            );
            Ok(())
        }
    }
}

/// Put `connection` in use, if the store still waits for connection `generation`.
fn install(inner: &Inner, generation: u64, connection: ConnectionManager) {
    inner.connection.send_if_modified(|current| {
        if current.0 != generation || current.1.is_some() {
            return false;
        }
        current.1 = Some(connection);
        true
    });
}

/// What [`RedisStore::open_connection`] may do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replace {
    /// Drop the current connection (it failed a call) for a new one.
    Current,
    /// Open one only if there is none (a call waited for one in vain).
    OnlyIfNone,
}

/// How long a completion handed over by [`ReplayStore::complete_abandoned`] is tried for.
const COMPLETION_TRIES_FOR: Duration = Duration::from_secs(60);

/// The first pause between two attempts to open a connection (or to complete a claim), and
/// the longest.
const RECONNECT_PAUSE: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Open connection `generation` for the store `inner`, if it still exists, trying again
/// after a pause until one connects to a server this store may use.
async fn reconnect(inner: Weak<Inner>, generation: u64) {
    // However this ends (installed, the store dropped, or this task dropped with the runtime
    // it ran in), the next call left without a connection may start another.
    struct Opening(Weak<Inner>);
    impl Drop for Opening {
        fn drop(&mut self) {
            if let Some(inner) = self.0.upgrade() {
                inner.opening.store(false, Ordering::Release);
            }
        }
    }
    let _opening = Opening(inner.clone());
    let mut pause = RECONNECT_PAUSE.0;
    loop {
        let Some(store) = inner.upgrade() else {
            return;
        };
        let (client, config) = (store.client.clone(), store.config.clone());
        let (connect_timeout, allow) = (store.connect_timeout, store.allow_eviction);
        drop(store); // not kept alive by an attempt
        let attempt = within(connect_timeout, async {
            let mut connection = ConnectionManager::new_with_config(client, config).await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await?;
            Ok(connection)
        })
        .await;
        let failure = match attempt {
            Ok(connection) => {
                // A failover may have promoted a server configured otherwise.
                let policy = within(connect_timeout, eviction_policy(connection.clone())).await;
                match judge_eviction(policy, allow) {
                    Ok(()) => {
                        if let Some(store) = inner.upgrade() {
                            install(&store, generation, connection);
                            tracing::debug!("redis store: connected again");
                        }
                        return;
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e.prefixed("redis store: cannot connect"),
        };
        tracing::warn!(
            error = %failure,
            retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
            "redis store: no connection; deliveries are refused (503) until one is made"
        );
        tokio::time::sleep(pause).await;
        pause = pause.saturating_mul(2).min(RECONNECT_PAUSE.1);
    }
}

/// The name of the set of tokens of claims abandoned on the Redis key `name` (see
/// [`ABANDON`]). It extends `name`, after its hash tag: one slot for both.
fn tombstones(name: &str) -> String {
    let mut tombs = String::with_capacity(name.len() + 2);
    tombs.push_str(name);
    tombs.push_str(":r");
    tombs
}

/// How long a tombstone is kept at least, whatever the lease.
const TOMBSTONE_MIN: Duration = Duration::from_secs(20 * 60);

/// A claim sent and not answered yet: dropped armed, it abandons the claim in the background
/// (with its own token, so it cannot free anyone else's claim, and a tombstone in case the
/// claim has not reached Redis yet).
struct Unanswered<'a> {
    store: &'a RedisStore,
    name: Option<String>,
    token: LeaseToken,
    lease: Duration,
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            self.store
                .release_in_background(name, self.token, Some(self.lease));
        }
    }
}

impl ReplayStore for RedisStore {
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let token = self.next_token();
            let name = self.redis_key(key);
            let mut call = self.inner.claim.key(&name);
            call.key(tombstones(&name))
                .arg(token.get())
                .arg(expiry_ms(lease));
            // Redis may take the key and its answer never come back to us: the call fails,
            // or this future is dropped (the client went away mid-request). Either way the
            // guard frees the key, or every retry would find it in flight for the whole lease.
            let mut unanswered = Unanswered {
                store: self,
                name: Some(name),
                token,
                lease,
            };
            let answer: Result<(i64, i64), Failure> = self
                .call(async |mut connection| call.invoke_async(&mut connection).await)
                .await;
            let (state, ttl) = match answer {
                Ok(answer) => answer,
                Err(e) => return Err(e.prefixed("redis store: claim failed")),
            };
            if (0..=3).contains(&state) {
                // Answered: a new claim is the caller's lease now; the others took nothing.
                unanswered.name = None;
            }
            match state {
                0 => Ok(Claim::New(token)),
                1 => Ok(Claim::Done),
                2 => Ok(Claim::InFlight {
                    // PTTL is -1 or -2 only for a key without expiry or one just gone; every
                    // lease has one, so wait a second then.
                    retry_after: u64::try_from(ttl)
                        .ok()
                        .filter(|&ms| ms > 0)
                        .map_or(Duration::from_secs(1), Duration::from_millis),
                }),
                // Only a claim abandoned before it arrived is answered so, and nobody waits
                // for that answer any more.
                3 => Err(StoreError::new(
                    "redis store: the claim arrived after its own release",
                )),
                _ => Err(StoreError::new(
                    "redis store: the claim script answered oddly",
                )),
            }
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: LeaseToken,
        retention: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut call = self.inner.complete.key(self.redis_key(key));
            call.arg(token.get()).arg(expiry_ms(retention));
            // 0 or 3: the key was done already (by this claim, or by a copy processed after its
            // lease expired); as with the memory store, that is not an error.
            let outcome: i64 = self
                .call(async |mut connection| call.invoke_async(&mut connection).await)
                .await
                .map_err(|e| e.prefixed("redis store: completion failed"))?;
            if outcome == 2 || outcome == 3 {
                crate::store::late_success();
            }
            Ok(())
        })
    }

    fn release(&self, key: &str, token: LeaseToken) {
        // Called from `Drop`: hand the release to the runtime. Outside one, or if Redis does
        // not answer, the lease expires instead.
        self.release_in_background(self.redis_key(key), token, None);
    }

    fn complete_abandoned(&self, key: &str, token: LeaseToken, retention: Duration) {
        // Called from `Drop`, or after a completion failed: the handler succeeded, so the
        // completion goes on in the runtime, tried again while Redis refuses it (for up to
        // a minute: completing stays right after the lease has expired, and until it lands a
        // copy of the delivery would be processed). Outside a runtime, or if Redis never
        // answers, the lease expires, and a copy sent after it is processed again.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!(
                "redis store: no runtime to complete a claim on; its lease will expire"
            );
            return;
        };
        let (store, key) = (self.clone(), key.to_owned());
        runtime.spawn(async move {
            let started = tokio::time::Instant::now();
            let mut pause = RECONNECT_PAUSE.0;
            loop {
                match store.complete(&key, token, retention).await {
                    Ok(()) => return,
                    Err(e) if started.elapsed() + pause > COMPLETION_TRIES_FOR => {
                        tracing::error!(
                            error = %e,
                            "redis store: a processed delivery could not be marked done; once \
                             its lease expires, a copy of it is processed again"
                        );
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "redis store: completion failed; trying again");
                    }
                }
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2).min(RECONNECT_PAUSE.1);
            }
        });
    }

    fn release_wait<'a>(&'a self, key: &'a str, token: LeaseToken) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.release_and_wait(key, token).await.map(|_| ()) })
    }
    fn is_shared(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Redis expiry is never shorter than the duration asked for: a fraction of a
    /// millisecond rounds up, as in the memory store.
    #[test]
    fn expiries_round_up_to_the_millisecond() {
        assert_eq!(expiry_ms(Duration::from_secs(600)), 600_000);
        assert_eq!(expiry_ms(Duration::from_micros(600_000_001)), 600_001);
        assert_eq!(expiry_ms(Duration::from_nanos(1)), 1);
        assert_eq!(expiry_ms(Duration::ZERO), 1);
        assert_eq!(expiry_ms(Duration::MAX), MAX_EXPIRY_MS);
    }
}
