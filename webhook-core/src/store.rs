//! Replay and idempotency: the [`ReplayStore`] trait, its lease protocol, the [`Lease`] guard
//! and the bounded in-memory [`MemoryStore`].

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hashbrown::HashTable;
use rand_core::{OsRng, RngCore};
use siphasher::sip128::{Hash128, Hasher128, SipHasher13};

use crate::clock::{self, SharedClock};
use crate::error::{VerifyError, VerifyErrorKind};

/// The boxed future a [`ReplayStore`] returns: `Send`, so it works in axum, actix-web and rocket
/// handlers alike, and object-safe, so a receiver holds any store as `Arc<dyn ReplayStore>`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Identifies one claim, so a holder whose lease expired cannot release the claim of whoever
/// took the key over (its completion still marks the key done: see [`ReplayStore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(u64);

impl LeaseToken {
    /// A token from a number chosen by the store (unique per claim).
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The key was free: the caller holds a lease on it until it completes or releases it, or
    /// the lease expires.
    New(LeaseToken),
    /// A delivery with this key was already processed (answer 200 without running the handler).
    Done,
    /// A delivery with this key is being processed now (answer 409 with `Retry-After`).
    InFlight {
        /// When the current lease expires at the latest.
        retry_after: Duration,
    },
}

/// A replay store could not answer: unreachable, timed out, or full. The delivery is refused
/// with 503 and `Retry-After` (fail closed).
pub struct StoreError {
    message: Cow<'static, str>,
    retry_after: Duration,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A store failure with a message (shown in logs, not to the sender).
    #[must_use]
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
            retry_after: Duration::from_secs(5),
            source: None,
        }
    }

    /// Attach the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Suggest when to retry (default 5 s).
    #[must_use]
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// The suggested retry delay.
    #[must_use]
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("message", &self.message)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<StoreError> for VerifyError {
    fn from(err: StoreError) -> Self {
        let retry = err.retry_after;
        VerifyError::new(VerifyErrorKind::StoreUnavailable)
            .with_retry_after(retry)
            .with_source(err)
    }
}

/// Where claims on delivery keys live: the replay and idempotency memory of a receiver.
///
/// The protocol is a lease:
///
/// 1. [`claim`](Self::claim) atomically answers [`Claim::New`] (the caller now holds a lease
///    for `lease`), [`Claim::Done`] or [`Claim::InFlight`].
/// 2. When the handler succeeds, [`complete`](Self::complete) marks the key done for
///    `retention` (at least the freshness window, so a captured delivery cannot be replayed
///    while its timestamp is still accepted). The key is done through the instant its
///    retention ends, inclusive, as freshness accepts a timestamp exactly as old as its
///    tolerance; retentions and leases are rounded up to the millisecond, never down.
/// 3. When it fails, [`release_wait`](Self::release_wait) (or [`release`](Self::release),
///    from `Drop`) frees the key so the sender's retry is processed. A crashed holder never
///    releases: its lease expires.
///
/// A success is a fact: a holder whose lease expired still completes the key, even when
/// another holder has taken it over since. The key is then done, and the other holder's claim
/// is over: its release or completion afterwards finds no claim of its own and changes
/// nothing (the record stays the first success's). Its handler, already running, may have
/// processed the delivery a second time, but no later copy is. A release is fenced by the
/// lease's [`LeaseToken`]: a holder whose lease expired cannot free the claim of whoever took
/// the key over, which would let a third copy in while that one runs.
///
/// Only authenticated deliveries reach a store. A store that cannot answer returns a
/// [`StoreError`], and the delivery is refused (503): it fails closed.
///
/// The futures are boxed and `Send`, so one store type serves axum, actix-web and rocket,
/// and networked stores (Redis) can do real I/O.
pub trait ReplayStore: fmt::Debug + Send + Sync + 'static {
    /// Claim `key` for `lease`.
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> StoreFuture<'a, Claim>;

    /// Mark `key` done for `retention`: whether `token` still holds it, nobody does, or
    /// another holder took it over after `token`'s lease expired (that claim ends here). A key
    /// already done keeps its record.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: LeaseToken,
        retention: Duration,
    ) -> StoreFuture<'a, ()>;

    /// Free `key` if `token` still holds it. Must not block: called from `Drop` (also while
    /// a panicking handler unwinds). A networked store hands it to a background task; if the
    /// release is lost, the lease simply expires.
    fn release(&self, key: &str, token: LeaseToken);

    /// [`release`](Self::release), for a caller that can wait for the store's answer: a
    /// delivery whose handler failed answers the sender once its key is free, so the sender's
    /// immediate retry is processed rather than found in flight. The default releases through
    /// `release` and answers at once, which is right for a store that releases synchronously;
    /// a networked store waits here for its server. After an error, the caller falls back
    /// to `release`.
    fn release_wait<'a>(&'a self, key: &'a str, token: LeaseToken) -> StoreFuture<'a, ()> {
        self.release(key, token);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Finish a completion that was started and abandoned: the future awaiting
    /// [`complete`](Self::complete) was dropped before the store answered (the client went
    /// away while a networked store was slow), or `complete` failed (a connection reset, a
    /// server refusing writes). The handler succeeded, so the key should end done, not free
    /// for a copy to be processed again. Must not block:
    /// called from `Drop`. The default releases the key ([`release`](Self::release)): the
    /// delivery is then processed at least once more rather than lost. A networked store
    /// completes in a background task.
    fn complete_abandoned(&self, key: &str, token: LeaseToken, retention: Duration) {
        let _ = retention;
        self.release(key, token);
    }

    /// Whether this store may be shared beyond the process (a networked store such as
    /// [`RedisStore`](crate::RedisStore), which other applications can reach too): a receiver
    /// given one must name its route, or two applications left at the default name would
    /// answer each other's deliveries as duplicates. The default is `false`.
    fn is_shared(&self) -> bool {
        false
    }

    /// [`claim`](Self::claim)'s answer, for a store that has it without waiting (the
    /// in-process [`MemoryStore`]): the pipeline asks this first and skips making and
    /// polling a boxed future. `None`, the default, means "ask `claim`".
    fn claim_ready(&self, key: &str, lease: Duration) -> Option<Result<Claim, StoreError>> {
        let _ = (key, lease);
        None
    }

    /// [`complete`](Self::complete)'s answer, for a store that has it without waiting; `None`,
    /// the default, means "ask `complete`".
    fn complete_ready(
        &self,
        key: &str,
        token: LeaseToken,
        retention: Duration,
    ) -> Option<Result<(), StoreError>> {
        let _ = (key, token, retention);
        None
    }
}

impl<T: ReplayStore + ?Sized> ReplayStore for Arc<T> {
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> StoreFuture<'a, Claim> {
        (**self).claim(key, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: LeaseToken,
        retention: Duration,
    ) -> StoreFuture<'a, ()> {
        (**self).complete(key, token, retention)
    }
    fn release(&self, key: &str, token: LeaseToken) {
        (**self).release(key, token);
    }
    fn release_wait<'a>(&'a self, key: &'a str, token: LeaseToken) -> StoreFuture<'a, ()> {
        (**self).release_wait(key, token)
    }
    fn complete_abandoned(&self, key: &str, token: LeaseToken, retention: Duration) {
        (**self).complete_abandoned(key, token, retention);
    }
    fn is_shared(&self) -> bool {
        (**self).is_shared()
    }
    fn claim_ready(&self, key: &str, lease: Duration) -> Option<Result<Claim, StoreError>> {
        (**self).claim_ready(key, lease)
    }
    fn complete_ready(
        &self,
        key: &str,
        token: LeaseToken,
        retention: Duration,
    ) -> Option<Result<(), StoreError>> {
        (**self).complete_ready(key, token, retention)
    }
}

/// A claim held on one delivery key: completed when the handler succeeds, released when it
/// fails — and released on drop unless completed, which covers errors, early returns and
/// panics (the guard is dropped while the panic unwinds). Dropped while its completion
/// awaits the store, it hands the completion over
/// ([`ReplayStore::complete_abandoned`]) rather than release a delivery its handler
/// processed.
pub struct Lease {
    store: Arc<dyn ReplayStore>,
    key: String,
    token: LeaseToken,
    retention: Duration,
    finished: bool,
    /// [`complete`](Self::complete) is awaiting the store.
    completing: bool,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("token", &self.token)
            .field("finished", &self.finished)
            .finish()
    }
}

impl Lease {
    pub(crate) fn new(
        store: Arc<dyn ReplayStore>,
        key: String,
        token: LeaseToken,
        retention: Duration,
    ) -> Self {
        Self {
            store,
            key,
            token,
            retention,
            finished: false,
            completing: false,
        }
    }

    /// The key this lease holds.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Mark the delivery done: later deliveries with the same key are answered 200 without
    /// running the handler, for the receiver's retention.
    ///
    /// # Errors
    ///
    /// The store could not mark the key done (unreachable, refusing writes). The handler
    /// succeeded and its answer stands, so the sender will not retry: freeing the key would
    /// only let a copy be processed again. The completion is handed to
    /// [`ReplayStore::complete_abandoned`] instead (the Redis store tries it again in the
    /// background, and if that fails too, the lease expires; a store that does not override
    /// it releases the key).
    pub async fn complete(mut self) -> Result<(), StoreError> {
        // Dropped before the store has answered (the caller's future was), or refused by it,
        // the lease's completion is handed to the store rather than released.
        self.completing = true;
        let done = match self
            .store
            .complete_ready(&self.key, self.token, self.retention)
        {
            Some(done) => done,
            None => {
                self.store
                    .complete(&self.key, self.token, self.retention)
                    .await
            }
        };
        done?;
        self.finished = true;
        Ok(())
    }

    /// From here on, dropping the lease hands its completion to the store
    /// ([`ReplayStore::complete_abandoned`]) rather than releasing it: the handler succeeded,
    /// and its completion is under way.
    pub(crate) fn hand_over_on_drop(&mut self) {
        self.completing = true;
    }

    /// Free the key now, so the sender's retry is processed.
    pub fn release(self) {
        drop(self);
    }

    /// Free the key and wait until the store has (see [`ReplayStore::release_wait`]). If the
    /// store fails to answer, the release falls back to [`ReplayStore::release`] (in the
    /// background for a networked store), and at worst the lease expires.
    pub async fn release_wait(mut self) {
        if self.store.release_wait(&self.key, self.token).await.is_ok() {
            self.finished = true;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if self.completing {
            self.store
                .complete_abandoned(&self.key, self.token, self.retention);
        } else {
            self.store.release(&self.key, self.token);
        }
    }
}

const SHARDS: usize = 64;

/// Says that a handler outlived its lease while a copy of its delivery was claimed (or, in the
/// memory store, already processed): both may have run. Logged by the built-in stores when
/// they meet such a success (no key: it holds the id).
pub(crate) fn late_success() {
    tracing::warn!(
        "a handler finished after its lease expired, and a copy of the delivery was claimed \
         meanwhile: both may have run; make the lease (`ReceiverBuilder::lease`) longer than \
         the handler's longest run"
    );
}

/// The most keys per shard reserved when a store is made (64 Ki keys in all): a small
/// store never rehashes; a larger one grows as keys arrive, so memory follows use rather
/// than the configured capacity.
const PRESIZE_PER_SHARD: usize = 1 << 10;

/// The in-memory replay and idempotency store: bounded, with expiry, O(1) per operation
/// amortised for keys that share one retention (a full shard is walked once before it
/// refuses a claim; receivers with different retentions sharing one store can make a full
/// shard walk more often), concurrent (64 independently locked shards, so growing one never stalls many requests).
///
/// Each key lives until its lease or its retention expires. Keys are spread over the shards
/// by a keyed hash, each shard holding a 64th of the capacity: when a key's shard is full of
/// live keys, a new claim in it is refused with a [`StoreError`] (503) rather than evicting a
/// key still inside its retention — evicting one would reopen a replay window. A success is
/// never refused: a handler that outlived its lease, its claim's place taken meanwhile, is
/// recorded done even in a full shard (over its capacity by that key until it expires). Size the
/// capacity with room to spare over the deliveries expected within the retention. Cheap to clone;
/// clones share the data.
///
/// For several replicas behind a load balancer use a shared store (Redis), so a replay sent
/// to another replica is still caught.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{Claim, MemoryStore, ReplayStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), webhook_core::StoreError> {
/// let store = MemoryStore::new(10_000);
/// let lease = Duration::from_secs(30);
/// let Claim::New(token) = store.claim("msg_1", lease).await? else { unreachable!() };
/// assert!(matches!(store.claim("msg_1", lease).await?, Claim::InFlight { .. }));
/// store.complete("msg_1", token, Duration::from_secs(600)).await?;
/// assert_eq!(store.claim("msg_1", lease).await?, Claim::Done);
/// assert_eq!(store.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
// Aligned so that, inside an `Arc<dyn ReplayStore>` whose count changes with every lease, the
// pointer read by every operation sits on a cache line of its own.
#[repr(align(128))]
pub struct MemoryStore {
    inner: Arc<MemoryInner>,
}

struct MemoryInner {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    clock: SharedClock,
    /// The keys of the store's digest, drawn from the OS at creation.
    hasher: DigestKeys,
}

/// A key's 128-bit digest, as two words (8-byte aligned, so a map slot is 24 bytes); the
/// first word is already uniform and serves as the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

type DigestMap<V> = HashMap<Key, V, BuildHasherDefault<DigestHasher>>;

/// One of 64 independently locked parts of the store.
///
/// Claims in flight live in a small map of their own, so claiming, completing and releasing
/// touch hot memory. Processed keys live in a log in completion order (key and expiry, 24
/// bytes each, appended at the back and expired from the front) with a compact index over
/// it: a hash table of 4-byte log positions. The index is a fifth of the size a map of keys
/// would be, so under load it mostly stays in cache, and the one access a new delivery makes
/// to a large structure is the append at the log's end.
// Aligned to two cache lines, so that cores working on neighbouring shards do not contend.
#[repr(align(128))]
struct Shard {
    /// Keys claimed and not finished yet.
    flight: DigestMap<Flight>,
    /// Processed keys, oldest first; an entry whose key the index no longer points at is
    /// stale (the key was processed again later) and is skipped.
    log: VecDeque<Expiry>,
    /// The sequence number of `log[0]`, modulo 2³².
    base: u32,
    /// The expiry of `log[0]` (`i64::MAX` when the log is empty), kept here so that the
    /// check made by every operation reads this hot struct rather than the log's far end.
    front_at: i64,
    /// Sequence numbers (modulo 2³²) of the live log entries, hashed by their key.
    index: HashTable<u32>,
    /// When to drop expired leases from `flight` next (monotonic): the earliest lease expiry,
    /// at most once a second. An expired lease is free at once whatever this says — a claim checks
    /// the time — so this only reclaims the memory of claims whose holder never finished.
    next_flight_sweep: i64,
    /// The last lease token handed out: tokens only tell claims of one key apart, and a key
    /// always lives in the same shard.
    generation: u64,
    /// The earliest instant (wall clock) at which an entry can be free by expiry, or earlier
    /// (`i64::MIN` when not known): set by the last sweep of the full shard, lowered by each
    /// entry added since ([`frees_at`](Self::frees_at)). Until then a full shard refuses a
    /// claim without sweeping again, so that senders retrying against it, or claims let in
    /// one by one as others are released, do not each pay a pass over it.
    full_until: i64,
    /// How many times a full shard was swept whole ([`make_room`](Self::make_room)).
    #[cfg(test)]
    full_sweeps: usize,
}

#[derive(Debug, Clone, Copy)]
struct Flight {
    generation: u64,
    /// On the monotonic clock ([`Now::mono`]).
    expires_at: i64,
}

/// One reading of both clocks, in ms. Leases are intervals, so they run on the monotonic
/// clock: a wall clock stepped forward by NTP must not free a claim still being processed,
/// nor one stepped back keep a crashed claim for longer. Retention runs on the wall clock,
/// as the freshness check it backs does (a record expires when its timestamp is stale).
#[derive(Debug, Clone, Copy)]
struct Now {
    wall: i64,
    mono: i64,
}

impl Now {
    /// A lease expiry (monotonic) as a wall-clock time, for the one place that compares the
    /// two kinds of expiry.
    fn to_wall(self, mono: i64) -> i64 {
        self.wall.saturating_add(mono.saturating_sub(self.mono))
    }
}

#[derive(Debug, Clone, Copy)]
struct Expiry {
    at: i64,
    key: Key,
}

/// The shortest interval between two sweeps of a shard's claims in flight, in ms.
const FLIGHT_SWEEP_INTERVAL_MS: i64 = 1_000;

impl Default for MemoryStore {
    /// 100 000 keys.
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// A clock reading in whole ms (rounded down: the instant read has begun).
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A lease or a retention in whole ms, rounded up: never shorter than asked for, so a
/// retention of the freshness window does not end before the window does.
fn span_ms(d: Duration) -> i64 {
    i64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX)
}

impl MemoryStore {
    /// A store holding at most `capacity` keys (rounded up to a multiple of 64), on the system clock.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, clock::system())
    }

    /// A store on another clock (tests: expire leases by moving a [`FixedClock`](crate::FixedClock)).
    #[must_use]
    pub fn with_clock(capacity: usize, clock: SharedClock) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        Self {
            inner: Arc::new(MemoryInner {
                shards: (0..SHARDS)
                    .map(|_| Mutex::new(Shard::with_capacity(per_shard)))
                    .collect(),
                per_shard,
                clock,
                hasher: DigestKeys::random(),
            }),
        }
    }

    /// The number of keys held (live or not yet swept).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most keys this store holds.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner.per_shard.saturating_mul(SHARDS)
    }

    fn shard(&self, key: Key) -> Result<MutexGuard<'_, Shard>, StoreError> {
        // The second word picks the shard, the first the slot within it: independent bits.
        let index = usize::try_from(key.1 % SHARDS as u64).unwrap_or(0);
        self.inner
            .shards
            .get(index)
            .map(lock)
            .ok_or_else(|| StoreError::new("replay store shard missing"))
    }

    fn digest(&self, key: &str) -> Key {
        digest(&self.inner.hasher, key)
    }

    fn now(&self) -> Now {
        Now {
            wall: self.inner.clock.now_ms(),
            mono: self.mono(),
        }
    }

    fn mono(&self) -> i64 {
        ms(self.inner.clock.monotonic())
    }

    fn claim_now(&self, key: &str, lease: Duration) -> Result<Claim, StoreError> {
        let key = self.digest(key);
        let now = self.now();
        let mut shard = self.shard(key)?;
        shard.sweep(now);
        if shard.done_until(key).is_some_and(|at| at >= now.wall) {
            return Ok(Claim::Done);
        }
        if let Some(flight) = shard.flight.get(&key) {
            if flight.expires_at > now.mono {
                return Ok(Claim::InFlight {
                    retry_after: Duration::from_millis(
                        u64::try_from(flight.expires_at.saturating_sub(now.mono)).unwrap_or(0),
                    ),
                });
            }
            shard.flight.remove(&key);
        }
        shard.make_room(now, self.inner.per_shard)?;
        shard.generation = shard.generation.wrapping_add(1);
        let generation = shard.generation;
        let expires_at = now.mono.saturating_add(span_ms(lease));
        shard.flight.insert(
            key,
            Flight {
                generation,
                expires_at,
            },
        );
        shard.next_flight_sweep = shard.next_flight_sweep.min(expires_at);
        shard.frees_at(now.to_wall(expires_at));
        Ok(Claim::New(LeaseToken(generation)))
    }

    fn complete_now(
        &self,
        key: &str,
        token: LeaseToken,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let key = self.digest(key);
        let wall = self.inner.clock.now_ms();
        let mut shard = self.shard(key)?;
        shard.sweep_log(wall);
        match shard.flight.remove(&key) {
            // Our claim, expired or not: nobody took the key over since, so it is done now.
            // (Completing needs no monotonic reading on this, the common path.)
            Some(flight) if flight.generation == token.0 => {}
            // Our lease expired and another holder took the key over (that claim ends here:
            // a success is a fact, and the other holder's release or completion finds no
            // claim of its own), or nobody holds the key: mark it done unless it already
            // is, if there is room.
            other => {
                // A copy holds the key, or has been processed already.
                let done = shard.done_until(key).is_some_and(|at| at >= wall);
                if other.is_some() || done {
                    late_success();
                }
                if done {
                    return Ok(());
                }
                let now = Now {
                    wall,
                    mono: self.mono(),
                };
                // A success is a fact: it is recorded in a full shard too, one entry over
                // the shard's capacity until it expires (only a handler that outlived its
                // lease gets here, its claim's place taken meanwhile). Refused, the key would
                // be free, and a copy processed again.
                if shard.make_room(now, self.inner.per_shard).is_err() {
                    tracing::debug!("a late success recorded in a full replay store shard");
                }
            }
        }
        shard.mark_done(
            key,
            wall.saturating_add(span_ms(retention)),
            self.inner.per_shard,
        );
        Ok(())
    }

    fn release_now(&self, key: &str, token: LeaseToken) {
        let key = self.digest(key);
        let Ok(mut shard) = self.shard(key) else {
            return;
        };
        let ours = shard
            .flight
            .get(&key)
            .is_some_and(|f| f.generation == token.0);
        if ours {
            shard.flight.remove(&key);
        }
    }
}

/// Keys are held as a 128-bit digest: fixed-size entries (bounded memory whatever the id's
/// length, no allocation per key). The digest is SipHash-1-3 with its 128-bit output under
/// the store's random keys: a keyed function, so no sender can aim ids at one slot or make
/// two ids collide without the keys, and 128 bits put accidental collisions out of reach.
fn digest(keys: &DigestKeys, key: &str) -> Key {
    let mut h = SipHasher13::new_with_keys(keys.0, keys.1);
    h.write(key.as_bytes());
    let Hash128 { h1, h2 } = h.finish128();
    Key(h1, h2)
}

/// The two 64-bit keys of a store's digest. Not `Debug`: nothing prints them.
struct DigestKeys(u64, u64);

impl DigestKeys {
    /// Fresh keys from the OS. Should `rand_core`'s source fail, the standard library's own
    /// random hash keys are used instead (std draws those from the OS too, by its own means,
    /// and panics only when it cannot get any).
    fn random() -> Self {
        let mut bytes = [0u8; 16];
        if OsRng.try_fill_bytes(&mut bytes).is_ok() {
            let (a, b) = bytes.split_at(8);
            let word = |half: &[u8]| {
                let mut w = [0u8; 8];
                w.copy_from_slice(half);
                u64::from_le_bytes(w)
            };
            return Self(word(a), word(b));
        }
        let state = RandomState::new();
        Self(state.hash_one(0u8), state.hash_one(1u8))
    }
}

/// The map's hasher: keys are already uniform digests, so their low bits are the hash.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(chunk) {
                *w = *b;
            }
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // No code panics while holding a shard; recover the data rather than propagate a poison.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shard {
    /// Sized for `per_shard` processed keys up front, up to [`PRESIZE_PER_SHARD`].
    fn with_capacity(per_shard: usize) -> Self {
        let reserve = per_shard.min(PRESIZE_PER_SHARD);
        Self {
            flight: DigestMap::default(),
            log: VecDeque::with_capacity(reserve),
            base: 0,
            front_at: i64::MAX,
            index: HashTable::with_capacity(reserve),
            next_flight_sweep: i64::MAX,
            generation: 0,
            full_until: i64::MIN,
            #[cfg(test)]
            full_sweeps: 0,
        }
    }

    fn len(&self) -> usize {
        self.flight.len() + self.index.len()
    }

    /// The log entry at sequence number `seq` (modulo 2³²), if still in the log.
    fn entry(log: &VecDeque<Expiry>, base: u32, seq: u32) -> Option<&Expiry> {
        log.get(usize::try_from(seq.wrapping_sub(base)).ok()?)
    }

    /// Until when `key` counts as processed, if it is in the index.
    fn done_until(&self, key: Key) -> Option<i64> {
        let (log, base) = (&self.log, self.base);
        let seq = self.index.find(key.0, |&seq| {
            Self::entry(log, base, seq).is_some_and(|e| e.key == key)
        })?;
        Self::entry(log, base, *seq).map(|e| e.at)
    }

    /// Record `key` as processed until `at` (replacing an earlier record of it).
    fn mark_done(&mut self, key: Key, at: i64, per_shard: usize) {
        let (log, base) = (&self.log, self.base);
        if let Ok(entry) = self.index.find_entry(key.0, |&seq| {
            Self::entry(log, base, seq).is_some_and(|e| e.key == key)
        }) {
            entry.remove();
        }
        let seq = self
            .base
            .wrapping_add(u32::try_from(self.log.len()).unwrap_or(u32::MAX));
        if self.log.is_empty() {
            self.front_at = at;
        }
        self.log.push_back(Expiry { at, key });
        let (log, base) = (&self.log, self.base);
        self.index.insert_unique(key.0, seq, |&seq| {
            Self::entry(log, base, seq).map_or(0, |e| e.key.0)
        });
        self.frees_at(at.saturating_add(1));
        self.compact(per_shard);
    }

    /// An entry was added that is free from `instant` on (wall clock): the shard can have
    /// room again from then, if not before.
    fn frees_at(&mut self, instant: i64) {
        self.full_until = self.full_until.min(instant);
    }

    /// Drop expired keys: processed ones from the front of the log (ordered by expiry within
    /// a receiver: amortised O(1)), and claims whose lease ran out from the small in-flight
    /// map, at most once a second.
    fn sweep(&mut self, now: Now) {
        if now.mono >= self.next_flight_sweep {
            self.flight.retain(|_, f| f.expires_at > now.mono);
            let earliest = self.flight.values().map(|f| f.expires_at).min();
            self.next_flight_sweep = earliest.map_or(i64::MAX, |at| {
                at.max(now.mono.saturating_add(FLIGHT_SWEEP_INTERVAL_MS))
            });
        }
        self.sweep_log(now.wall);
    }

    /// Drop processed keys whose retention has passed at `now` (wall clock), from the front
    /// of the log. A key is done through its expiry instant: it goes only once `now` is past it.
    fn sweep_log(&mut self, now: i64) {
        if now <= self.front_at {
            return;
        }
        while let Some(front) = self.log.front().copied() {
            if front.at >= now {
                break;
            }
            let seq = self.base;
            if let Ok(entry) = self.index.find_entry(front.key.0, |&s| s == seq) {
                entry.remove();
            }
            self.log.pop_front();
            self.base = self.base.wrapping_add(1);
        }
        self.front_at = self.log.front().map_or(i64::MAX, |e| e.at);
    }

    /// Room for one more key, or the store-full error (503). A full shard never evicts a
    /// live key: that would reopen a replay window.
    fn make_room(&mut self, now: Now, per_shard: usize) -> Result<(), StoreError> {
        if self.len() >= per_shard && now.wall >= self.full_until {
            // The log is ordered per retention class; a store shared by receivers with
            // different retentions can hold expired keys behind a longer-lived one. Before
            // refusing, drop every expired key once (O(shard), only on this rare path, and
            // then not again before an entry can have expired).
            #[cfg(test)]
            {
                self.full_sweeps += 1;
            }
            self.flight.retain(|_, f| f.expires_at > now.mono);
            self.rebuild(|e| e.at >= now.wall);
            self.full_until = self.earliest_free(now).unwrap_or(i64::MIN);
        }
        if self.len() >= per_shard {
            let wait = self.full_until.saturating_sub(now.wall).max(1_000);
            return Err(StoreError::new("replay store is full")
                .with_retry_after(Duration::from_millis(u64::try_from(wait).unwrap_or(1_000))));
        }
        // `full_until` stays: the entry about to be added lowers it to its own expiry
        // ([`frees_at`](Self::frees_at)), and an entry released or swept meanwhile only
        // leaves it early. Reset, a shard refilled after each release would be swept whole
        // by the next claim, once per release.
        Ok(())
    }

    /// Stale log entries (keys processed again later) linger until they reach the front;
    /// once the log is twice the shard's capacity, drop them (amortised O(1), bounded memory).
    fn compact(&mut self, per_shard: usize) {
        if self.log.len() > per_shard.saturating_mul(2).saturating_add(16) {
            self.rebuild(|_| true);
        }
    }

    /// Keep the live log entries that `keep` accepts, in order, and index them afresh.
    fn rebuild(&mut self, mut keep: impl FnMut(&Expiry) -> bool) {
        let (index, base) = (&self.index, self.base);
        let live: VecDeque<Expiry> = self
            .log
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                let seq = base.wrapping_add(u32::try_from(*i).unwrap_or(u32::MAX));
                index.find(e.key.0, |&s| s == seq).is_some() && keep(e)
            })
            .map(|(_, e)| *e)
            .collect();
        self.index.clear();
        self.base = 0;
        for (i, e) in live.iter().enumerate() {
            let seq = u32::try_from(i).unwrap_or(u32::MAX);
            self.index.insert_unique(e.key.0, seq, |&seq| {
                Self::entry(&live, 0, seq).map_or(0, |e| e.key.0)
            });
        }
        self.front_at = live.front().map_or(i64::MAX, |e| e.at);
        self.log = live;
    }

    /// The earliest instant at which any entry is free, on the wall clock: a lease at its
    /// expiry, a processed key a millisecond after its own (a pass over the shard: the log is
    /// ordered by expiry only within one retention).
    fn earliest_free(&self, now: Now) -> Option<i64> {
        let a = self
            .flight
            .values()
            .map(|f| now.to_wall(f.expires_at))
            .min();
        let b = self.log.iter().map(|e| e.at.saturating_add(1)).min();
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl ReplayStore for MemoryStore {
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(std::future::ready(self.claim_now(key, lease)))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: LeaseToken,
        retention: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(self.complete_now(key, token, retention)))
    }

    fn release(&self, key: &str, token: LeaseToken) {
        self.release_now(key, token);
    }

    fn claim_ready(&self, key: &str, lease: Duration) -> Option<Result<Claim, StoreError>> {
        Some(self.claim_now(key, lease))
    }

    fn complete_ready(
        &self,
        key: &str,
        token: LeaseToken,
        retention: Duration,
    ) -> Option<Result<(), StoreError>> {
        Some(self.complete_now(key, token, retention))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    /// Three keys of one shard, and that shard's number.
    fn same_shard_keys(store: &MemoryStore) -> (u64, Vec<String>) {
        keys_of_one_shard(store, 3)
    }

    /// `n` keys of one shard, and that shard's number.
    fn keys_of_one_shard(store: &MemoryStore, n: usize) -> (u64, Vec<String>) {
        let shard_of = |k: &str| store.digest(k).1 % SHARDS as u64;
        let target = shard_of("k0");
        let keys = (0..)
            .map(|i| format!("k{i}"))
            .filter(|k| shard_of(k) == target)
            .take(n)
            .collect();
        (target, keys)
    }

    /// Claim and complete each key, kept for its retention in seconds.
    fn processed<'k>(store: &MemoryStore, keys: impl IntoIterator<Item = (&'k String, u64)>) {
        for (key, retention) in keys {
            let Ok(Claim::New(token)) = store.claim_now(key, Duration::from_secs(30)) else {
                panic!("fresh key")
            };
            store
                .complete_now(key, token, Duration::from_secs(retention))
                .unwrap();
        }
    }

    /// A handler that outlived its lease, in a shard filled meanwhile by another claim: its
    /// success is still recorded (a copy is a duplicate, not processed again), the other
    /// claim stays its holder's, and the shard, over its capacity by that entry, takes no
    /// new key until room is made.
    #[test]
    fn a_late_success_is_recorded_in_a_full_shard() {
        let clock = FixedClock::at_secs(1_000_000);
        let store = MemoryStore::with_clock(SHARDS, Arc::new(clock.clone()));
        let (_, keys) = same_shard_keys(&store);
        let lease = Duration::from_secs(30);
        let Ok(Claim::New(late)) = store.claim_now(&keys[0], Duration::from_secs(1)) else {
            panic!("fresh key")
        };
        clock.advance(Duration::from_secs(2));
        let Ok(Claim::New(other)) = store.claim_now(&keys[1], lease) else {
            panic!("the expired claim makes room")
        };
        assert!(store.claim_now(&keys[2], lease).is_err(), "one key a shard");
        store
            .complete_now(&keys[0], late, Duration::from_secs(600))
            .unwrap();
        assert_eq!(store.claim_now(&keys[0], lease).unwrap(), Claim::Done);
        assert!(matches!(
            store.claim_now(&keys[1], lease),
            Ok(Claim::InFlight { .. })
        ));
        store.release_now(&keys[1], other);
        assert!(store.claim_now(&keys[2], lease).is_err(), "still full");
        clock.advance(Duration::from_secs(601));
        assert!(matches!(
            store.claim_now(&keys[2], lease),
            Ok(Claim::New(_))
        ));
    }

    /// A store shared by receivers with different retentions: expired keys queued behind a
    /// longer-lived one must not keep a shard full.
    #[test]
    fn expired_keys_behind_a_longer_retention_do_not_fill_a_shard() {
        let clock = FixedClock::at_secs(1_000_000);
        let store = MemoryStore::with_clock(SHARDS * 2, Arc::new(clock.clone()));
        let (_, keys) = same_shard_keys(&store);
        let lease = Duration::from_secs(30);
        processed(&store, [(&keys[0], 7 * 24 * 3600), (&keys[1], 600)]);
        clock.advance(Duration::from_secs(3600));
        assert!(matches!(
            store.claim_now(&keys[2], lease),
            Ok(Claim::New(_))
        ));
        assert!(matches!(store.claim_now(&keys[0], lease), Ok(Claim::Done)));
    }

    /// A full shard holding keys of several retentions: the claim it refuses is told to come
    /// back when the earliest of them expires (not the oldest inserted); refusals until then
    /// do not sweep the shard again; and the claim is taken once that key has expired (a
    /// millisecond after its expiry instant, through which it is still done).
    #[test]
    fn a_full_shard_names_its_earliest_expiry_and_sweeps_once() {
        let clock = FixedClock::at_secs(1_000_000);
        let store = MemoryStore::with_clock(SHARDS * 2, Arc::new(clock.clone()));
        let (target, keys) = same_shard_keys(&store);
        let lease = Duration::from_secs(30);
        processed(&store, [(&keys[0], 3_600), (&keys[1], 600)]);
        let refused = store.claim_now(&keys[2], lease).unwrap_err();
        assert_eq!(refused.retry_after(), Duration::from_millis(600_001));
        let shard = &store.inner.shards[usize::try_from(target).unwrap()];
        assert_eq!(lock(shard).full_until, 1_000_600_001);
        assert_eq!(lock(shard).full_sweeps, 1);
        // Refused again, without a sweep: a stale log entry planted here (one the index does
        // not point at) is still there afterwards; a sweep's rebuild drops it.
        let planted = Expiry {
            at: i64::MAX,
            key: Key(u64::MAX, u64::MAX),
        };
        lock(shard).log.push_back(planted);
        clock.advance(Duration::from_secs(599));
        let refused = store.claim_now(&keys[2], lease).unwrap_err();
        assert_eq!(refused.retry_after(), Duration::from_millis(1_001));
        // At the shorter retention's expiry instant its key is still done: still full.
        clock.advance(Duration::from_secs(1));
        let refused = store.claim_now(&keys[2], lease).unwrap_err();
        assert_eq!(refused.retry_after(), Duration::from_secs(1));
        assert_eq!(store.claim_now(&keys[1], lease).unwrap(), Claim::Done);
        assert_eq!(lock(shard).log.back().map(|e| e.key), Some(planted.key));
        assert_eq!(lock(shard).full_sweeps, 1);
        clock.advance(Duration::from_millis(1));
        assert!(matches!(
            store.claim_now(&keys[2], lease),
            Ok(Claim::New(_))
        ));
        assert_eq!(lock(shard).full_sweeps, 2);
        assert_ne!(lock(shard).log.back().map(|e| e.key), Some(planted.key));
        // The claim just let in is the entry that can expire first: its lease.
        assert_eq!(lock(shard).full_until, 1_000_630_001);
        assert!(matches!(store.claim_now(&keys[0], lease), Ok(Claim::Done)));
    }

    /// The index grows from a shard sized for one key to a thousand keys (rehashing from the
    /// log each time; a few dozen keys share the low half of their first word, in fours):
    /// every key is still found with its own expiry, and a key never marked is not.
    #[test]
    fn the_index_grows_without_losing_keys() {
        let mut shard = Shard::with_capacity(1);
        let key = |i: u64| {
            let low = if i % 25 < 4 { 0xfeed_0000 + i / 25 } else { i };
            Key(((i + 1) << 32) | low, i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        };
        for i in 0..1000 {
            shard.mark_done(key(i), 1_000 + i64::try_from(i).unwrap(), 4096);
        }
        assert!(shard.index.capacity() >= 1000);
        for i in 0..1000 {
            assert_eq!(
                shard.done_until(key(i)),
                Some(1_000 + i64::try_from(i).unwrap()),
                "key {i}"
            );
        }
        assert_eq!(shard.done_until(key(1000)), None);
        // Keys that share a marked key's first word, or its hash's high bits, are not it.
        let Key(first, second) = key(4);
        assert_eq!(shard.done_until(Key(first ^ (1 << 40), second)), None);
        assert_eq!(shard.done_until(Key(first, second ^ 1)), None);
        // A key marked again keeps one live entry, with its new expiry.
        shard.mark_done(key(1), 9_000, 4096);
        assert_eq!(shard.done_until(key(1)), Some(9_000));
        assert_eq!(shard.done_until(key(0)), Some(1_000));
        assert_eq!(shard.index.len(), 1000);
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    const LEASE: Duration = Duration::from_secs(30);
    const KEEP: Duration = Duration::from_secs(600);

    /// A store whose completion never answers (or fails at once), recording what a lease
    /// asks of it.
    #[derive(Debug, Default)]
    struct Slow {
        fail: bool,
        calls: std::sync::Mutex<Vec<&'static str>>,
    }

    impl ReplayStore for Slow {
        fn claim<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, Claim> {
            Box::pin(std::future::ready(Ok(Claim::New(LeaseToken::new(1)))))
        }
        fn complete<'a>(&'a self, _: &'a str, _: LeaseToken, _: Duration) -> StoreFuture<'a, ()> {
            self.calls.lock().unwrap().push("complete");
            if self.fail {
                Box::pin(std::future::ready(Err(StoreError::new("down"))))
            } else {
                Box::pin(std::future::pending())
            }
        }
        fn release(&self, _: &str, _: LeaseToken) {
            self.calls.lock().unwrap().push("release");
        }
        fn complete_abandoned(&self, _: &str, _: LeaseToken, retention: Duration) {
            assert_eq!(retention, KEEP);
            self.calls.lock().unwrap().push("complete_abandoned");
        }
    }

    /// A completion whose future is dropped while the store has not answered (the client
    /// went away), or that the store refused, is handed over to the store, not turned into a
    /// release: the handler succeeded. A lease never completed releases.
    #[test]
    fn an_abandoned_or_failed_completion_is_handed_over_and_a_dropped_lease_releases() {
        let slow = Arc::new(Slow::default());
        let lease = Lease::new(slow.clone(), "k".into(), LeaseToken::new(1), KEEP);
        {
            let mut completing = std::pin::pin!(lease.complete());
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(completing.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(
            *slow.calls.lock().unwrap(),
            ["complete", "complete_abandoned"]
        );

        let down = Arc::new(Slow {
            fail: true,
            ..Slow::default()
        });
        let lease = Lease::new(down.clone(), "k".into(), LeaseToken::new(1), KEEP);
        assert!(block_on(lease.complete()).is_err());
        assert_eq!(
            *down.calls.lock().unwrap(),
            ["complete", "complete_abandoned"]
        );

        let lease = Lease::new(slow.clone(), "k".into(), LeaseToken::new(1), KEEP);
        drop(lease);
        assert_eq!(slow.calls.lock().unwrap().last(), Some(&"release"));
    }

    #[test]
    fn lease_lifecycle() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        let Claim::New(t1) = block_on(store.claim("k", LEASE)).unwrap() else {
            panic!("expected new")
        };
        assert!(matches!(
            block_on(store.claim("k", LEASE)).unwrap(),
            Claim::InFlight { retry_after } if retry_after == LEASE
        ));
        store.release("k", t1);
        assert!(store.is_empty());
        let Claim::New(t2) = block_on(store.claim("k", LEASE)).unwrap() else {
            panic!("expected new")
        };
        // A stale token changes nothing.
        store.release("k", t1);
        assert_eq!(store.len(), 1);
        block_on(store.complete("k", t2, KEEP)).unwrap();
        assert_eq!(block_on(store.claim("k", LEASE)).unwrap(), Claim::Done);
        clock.advance(KEEP + Duration::from_millis(1));
        assert!(matches!(
            block_on(store.claim("k", LEASE)).unwrap(),
            Claim::New(_)
        ));
    }

    /// A clock whose wall time and monotonic time move independently, as when NTP steps the
    /// wall clock.
    #[derive(Debug, Default)]
    struct SteppedClock {
        wall: std::sync::atomic::AtomicI64,
        mono: std::sync::atomic::AtomicI64,
    }

    impl SteppedClock {
        fn step_wall(&self, by_ms: i64) {
            self.wall
                .fetch_add(by_ms, std::sync::atomic::Ordering::SeqCst);
        }
        /// Time passes: both clocks move.
        fn pass(&self, by: Duration) {
            self.step_wall(ms(by));
            self.mono
                .fetch_add(ms(by), std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl crate::Clock for SteppedClock {
        fn now_ms(&self) -> i64 {
            self.wall.load(std::sync::atomic::Ordering::SeqCst)
        }
        fn monotonic(&self) -> Duration {
            let mono = self.mono.load(std::sync::atomic::Ordering::SeqCst);
            Duration::from_millis(u64::try_from(mono).unwrap_or(0))
        }
    }

    /// Leases run on the monotonic clock: a wall clock stepped forward does not free a claim
    /// still in flight, one stepped back does not keep a crashed claim past its lease. The
    /// retention of processed keys runs on the wall clock, as freshness does.
    #[test]
    fn leases_follow_the_monotonic_clock_and_retention_the_wall_clock() {
        let clock = Arc::new(SteppedClock::default());
        clock.step_wall(1_000_000_000);
        let store = MemoryStore::with_clock(64, clock.clone());
        let Ok(Claim::New(first)) = store.claim_now("k", LEASE) else {
            panic!("fresh key")
        };
        // NTP steps the wall clock an hour ahead: the holder is still working.
        clock.step_wall(3_600_000);
        assert!(matches!(
            store.claim_now("k", LEASE),
            Ok(Claim::InFlight { retry_after }) if retry_after == LEASE
        ));
        // Stepped back two hours, then the lease runs out: the key is free again.
        clock.step_wall(-7_200_000);
        clock.pass(LEASE);
        let Ok(Claim::New(second)) = store.claim_now("k", LEASE) else {
            panic!("the expired lease frees the key")
        };
        // The first holder, late, succeeds: the key is done, the second claim is over, and
        // the second holder's release changes nothing.
        store.complete_now("k", first, KEEP).unwrap();
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        store.release_now("k", second);
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        // Retention is wall time: a step forward past it expires the record.
        clock.step_wall(ms(KEEP) + 1);
        assert!(matches!(store.claim_now("k", LEASE), Ok(Claim::New(_))));
    }

    /// A holder whose lease expired with nobody taking the key over still completes it.
    #[test]
    fn an_expired_lease_not_taken_over_still_completes() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        let Ok(Claim::New(token)) = store.claim_now("k", LEASE) else {
            panic!("fresh key")
        };
        clock.advance(LEASE * 2);
        store.complete_now("k", token, KEEP).unwrap();
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        assert_eq!(store.len(), 1);
    }

    /// The digest is keyed per store: stable within a store, unrelated between two, and
    /// distinct for distinct ids (no truncation to a common prefix).
    #[test]
    fn digests_are_keyed_per_store() {
        let (a, b) = (MemoryStore::new(64), MemoryStore::new(64));
        assert_eq!(a.digest("msg_1"), a.digest("msg_1"));
        assert_ne!(a.digest("msg_1"), b.digest("msg_1"));
        assert_ne!(a.digest("msg_1"), a.digest("msg_2"));
        let long = "x".repeat(1_000);
        assert_ne!(a.digest(&long), a.digest(&format!("{long}y")));
        let Key(h1, h2) = a.digest("msg_1");
        assert_ne!(h1, h2, "two independent halves");
    }

    /// Processed keys leave the store once their retention has passed, round after round: the
    /// log empties and refills, and each refill is swept again when it expires.
    #[test]
    fn processed_keys_are_swept_after_their_retention() {
        let clock = FixedClock::at_secs(1_000);
        // Room for far more keys than a round makes: the digest is keyed at random, so a
        // shard's share of one round's keys varies from run to run.
        let store = MemoryStore::with_clock(64 * 128, Arc::new(clock.clone()));
        for round in 0..3 {
            let keys: Vec<String> = (0..1_000).map(|i| format!("r{round}-{i}")).collect();
            for key in &keys {
                let Claim::New(token) = block_on(store.claim(key, LEASE)).unwrap() else {
                    panic!("expected new")
                };
                block_on(store.complete(key, token, KEEP)).unwrap();
            }
            assert_eq!(store.len(), 1_000);
            clock.advance(KEEP + Duration::from_millis(1));
            // A claim sweeps its shard; the keys of this round spread over every shard, so
            // releasing them touches every one.
            for key in &keys {
                let Claim::New(token) = block_on(store.claim(key, LEASE)).unwrap() else {
                    panic!("expected the expired key {key} to be free")
                };
                store.release(key, token);
            }
            assert!(store.is_empty(), "round {round}: {} keys left", store.len());
        }
    }

    /// An expired lease frees the key for the next claim; the late holder's success still
    /// stands (it marks the key done and ends the new claim), and the new holder's
    /// completion and release then change nothing.
    #[test]
    fn expired_lease_frees_the_key() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        let Claim::New(stale) = block_on(store.claim("k", LEASE)).unwrap() else {
            panic!("expected new")
        };
        clock.advance(LEASE);
        let Claim::New(fresh) = block_on(store.claim("k", LEASE)).unwrap() else {
            panic!("expected new")
        };
        // The slow holder's late completion marks the key done over the new claim.
        block_on(store.complete("k", stale, KEEP)).unwrap();
        assert_eq!(block_on(store.claim("k", LEASE)).unwrap(), Claim::Done);
        block_on(store.complete("k", fresh, KEEP)).unwrap();
        store.release("k", fresh);
        assert_eq!(block_on(store.claim("k", LEASE)).unwrap(), Claim::Done);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn full_store_refuses_instead_of_evicting_and_sweeps_on_expiry() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        assert_eq!(store.capacity(), 64);
        let mut refused = 0;
        for i in 0..500 {
            match block_on(store.claim(&format!("k{i}"), LEASE)) {
                Ok(Claim::New(_)) => {}
                Ok(other) => panic!("{other:?}"),
                Err(err) => {
                    refused += 1;
                    assert!(err.retry_after() <= LEASE);
                    assert_eq!(VerifyError::from(err).status(), 503);
                }
            }
        }
        assert!(refused >= 500 - 64);
        assert!(store.len() <= store.capacity());
        clock.advance(LEASE);
        // Expired keys are swept as their shards are used: the refused keys now get in.
        for i in 0..500 {
            assert!(matches!(
                block_on(store.claim(&format!("k{i}"), LEASE)),
                Ok(Claim::New(_)) | Err(_)
            ));
        }
        assert!(store.len() <= store.capacity());
        clock.advance(LEASE);
        let admitted = (0..3000)
            .filter(|i| {
                matches!(
                    block_on(store.claim(&format!("n{i}"), LEASE)),
                    Ok(Claim::New(_))
                )
            })
            .count();
        assert_eq!(admitted, 64);
    }

    /// Claims whose holder never finished (a crashed process, a hung handler) are free as soon
    /// as their lease ends, and their memory is reclaimed by the next sweep of their shard.
    #[test]
    fn abandoned_claims_are_reclaimed_after_their_lease() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64_000, Arc::new(clock.clone()));
        for i in 0..1000 {
            assert!(matches!(
                store.claim_now(&format!("k{i}"), LEASE),
                Ok(Claim::New(_))
            ));
        }
        assert_eq!(store.len(), 1000);
        clock.advance(LEASE);
        assert!(matches!(store.claim_now("k7", LEASE), Ok(Claim::New(_))));
        for i in 0..1000 {
            let _ = store.claim_now(&format!("n{i}"), LEASE);
        }
        assert_eq!(store.len(), 1001, "the abandoned claims were not reclaimed");
    }

    /// The store against a plain model of the lease protocol, over a long random sequence of
    /// claims, completions, releases and clock moves on a few keys, with two retentions (so
    /// expiries leave the log out of order), re-processing after expiry (stale log entries),
    /// and completions and releases by the key's last few holders, not only its latest (late
    /// holders whose lease expired and was taken over).
    #[test]
    fn agrees_with_a_model_of_the_protocol() {
        use crate::clock::Clock as _;
        #[derive(Clone, Copy)]
        enum Model {
            Flight { token: LeaseToken, until: i64 },
            Done { until: i64 },
        }
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64 * 64, Arc::new(clock.clone()));
        let mut model: HashMap<String, Model> = HashMap::new();
        // Each key's last few holders, latest last.
        let mut tokens: HashMap<String, Vec<LeaseToken>> = HashMap::new();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (lease, short, long) = (30_000_i64, 60_000_i64, 600_000_i64);
        for _ in 0..100_000 {
            let key = format!("k{}", next(40));
            let now = clock.now_ms();
            match next(10) {
                0..=3 => {
                    let expected = match model.get(&key).copied() {
                        Some(Model::Done { until }) if until >= now => Some(Claim::Done),
                        Some(Model::Flight { until, .. }) if until > now => Some(Claim::InFlight {
                            retry_after: Duration::from_millis(u64::try_from(until - now).unwrap()),
                        }),
                        _ => None,
                    };
                    let got = store
                        .claim_now(&key, Duration::from_millis(30_000))
                        .unwrap();
                    match (expected, got) {
                        (None, Claim::New(token)) => {
                            model.insert(
                                key.clone(),
                                Model::Flight {
                                    token,
                                    until: now + lease,
                                },
                            );
                            let held = tokens.entry(key).or_default();
                            if held.len() == 3 {
                                held.remove(0);
                            }
                            held.push(token);
                        }
                        (Some(e), g) => assert_eq!(e, g, "{key}"),
                        (None, g) => panic!("{key}: expected a new claim, got {g:?}"),
                    }
                }
                4..=6 => {
                    let Some(held) = tokens.get(&key) else {
                        continue;
                    };
                    let Some(&token) = held.get(usize::try_from(next(4)).unwrap()).or(held.last())
                    else {
                        continue;
                    };
                    let retention = if next(2) == 0 { short } else { long };
                    // A success is a fact: it marks the key done whoever holds it, unless it
                    // is done already.
                    let mark = !matches!(
                        model.get(&key).copied(),
                        Some(Model::Done { until }) if until >= now
                    );
                    if mark {
                        model.insert(
                            key.clone(),
                            Model::Done {
                                until: now + retention,
                            },
                        );
                    }
                    store
                        .complete_now(
                            &key,
                            token,
                            Duration::from_millis(u64::try_from(retention).unwrap()),
                        )
                        .unwrap();
                }
                7 => {
                    let Some(held) = tokens.get(&key) else {
                        continue;
                    };
                    let Some(&token) = held.get(usize::try_from(next(4)).unwrap()).or(held.last())
                    else {
                        continue;
                    };
                    if let Some(Model::Flight { token: t, .. }) = model.get(&key).copied()
                        && t == token
                    {
                        model.remove(&key);
                    }
                    store.release_now(&key, token);
                }
                _ => clock.advance(Duration::from_millis(next(20_000))),
            }
        }
        let live = model
            .values()
            .filter(|m| match m {
                Model::Flight { until, .. } => *until > clock.now_ms(),
                Model::Done { until } => *until >= clock.now_ms(),
            })
            .count();
        assert!(store.len() >= live, "{} < {live}", store.len());
    }

    /// A processed key is done through its expiry instant, inclusive: the freshness check
    /// accepts a timestamp exactly `past` old, so a copy signed `future` ahead of its first
    /// processing is still accepted when a retention of the whole window ends. At that
    /// instant the copy must be found done; a millisecond later the record may go.
    #[test]
    fn a_processed_key_is_done_through_its_expiry_instant() {
        let clock = FixedClock::at_secs(1_000_000);
        let freshness = crate::Freshness::default().with_clock(clock.clone());
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        let (processed_at, signed_at) = (1_000_000_000, 1_000_300_000);
        freshness.check_ms(signed_at).unwrap();
        let Ok(Claim::New(token)) = store.claim_now("k", LEASE) else {
            panic!("fresh key")
        };
        store.complete_now("k", token, freshness.window()).unwrap();
        // The replay, at the last instant its timestamp is accepted.
        clock.set_ms(processed_at + ms(freshness.window()));
        freshness.check_ms(signed_at).unwrap();
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        assert_eq!(store.len(), 1, "swept at its expiry instant");
        // Both end together.
        clock.advance(Duration::from_millis(1));
        assert!(freshness.check_ms(signed_at).is_err());
        assert!(matches!(store.claim_now("k", LEASE), Ok(Claim::New(_))));
    }

    /// A retention with a fraction of a millisecond is rounded up, never down.
    #[test]
    fn a_retention_rounds_up_to_the_millisecond() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        let Ok(Claim::New(token)) = store.claim_now("k", LEASE) else {
            panic!("fresh key")
        };
        store
            .complete_now("k", token, Duration::from_micros(600_000_001))
            .unwrap();
        clock.advance(Duration::from_millis(600_001));
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        clock.advance(Duration::from_millis(1));
        assert!(matches!(store.claim_now("k", LEASE), Ok(Claim::New(_))));
    }

    /// The sequence of the review: A's lease expires, B takes the key over, A's handler
    /// succeeds, B's fails. A's success stands: a later copy is answered as done, B's
    /// release and completion change nothing.
    #[test]
    fn a_success_by_an_expired_holder_marks_the_key_done() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        let Ok(Claim::New(a)) = store.claim_now("k", LEASE) else {
            panic!("fresh key")
        };
        clock.advance(Duration::from_secs(31));
        let Ok(Claim::New(b)) = store.claim_now("k", LEASE) else {
            panic!("A's lease expired: the key is free")
        };
        clock.advance(Duration::from_secs(9));
        store.complete_now("k", a, KEEP).unwrap();
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        // B's claim ended with A's success: one record, no claim in flight.
        assert_eq!(store.len(), 1);
        assert!(store.inner.shards.iter().all(|s| lock(s).flight.is_empty()));
        clock.advance(Duration::from_secs(1));
        store.release_now("k", b);
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        store
            .complete_now("k", b, Duration::from_secs(3_600))
            .unwrap();
        clock.advance(Duration::from_secs(1));
        assert_eq!(store.claim_now("k", LEASE).unwrap(), Claim::Done);
        assert_eq!(store.len(), 1);
        // B's completion did not replace A's record: it ends with A's retention.
        clock.set_ms(1_040_000 + ms(KEEP) + 1);
        assert!(matches!(store.claim_now("k", LEASE), Ok(Claim::New(_))));
    }

    /// A shard full of live records, one claim at a time released and another admitted:
    /// a claim refused in between must not sweep the whole shard each time (only when an
    /// entry can have expired: here, a lease), and it is still refused (503).
    #[test]
    fn a_full_shard_is_not_swept_again_after_every_release() {
        let clock = FixedClock::at_secs(1_000_000);
        let store = MemoryStore::with_clock(SHARDS * 4, Arc::new(clock.clone()));
        let cycles = 300;
        let (target, keys) = keys_of_one_shard(&store, cycles + 5);
        let shard = &store.inner.shards[usize::try_from(target).unwrap()];
        let day = 24 * 3_600;
        processed(&store, keys.iter().take(3).map(|k| (k, day)));
        let mut held_key = &keys[3];
        let mut held = store.claim_now(held_key, LEASE).unwrap();
        let refused_key = &keys[cycles + 4];
        for i in 0..cycles {
            let Claim::New(token) = held else {
                panic!("cycle {i}: {held:?}")
            };
            store.release_now(held_key, token);
            held_key = &keys[4 + i];
            held = store.claim_now(held_key, LEASE).unwrap();
            // The shard is full again: fail closed.
            let refused = store.claim_now(refused_key, LEASE).unwrap_err();
            assert_eq!(VerifyError::from(refused).status(), 503, "cycle {i}");
            clock.advance(Duration::from_secs(1));
        }
        assert!(store.len() <= store.capacity());
        // One sweep to learn the earliest expiry, then one each time a lease can have run
        // out (every 30 s of the 300 s), not one per cycle.
        let sweeps = lock(shard).full_sweeps;
        assert!(
            sweeps <= 2 + cycles / 30,
            "{sweeps} sweeps in {cycles} cycles"
        );
        // The processed keys are still done.
        assert_eq!(store.claim_now(&keys[0], LEASE).unwrap(), Claim::Done);
    }

    /// Keys processed again and again stay bounded: the stale records they leave are dropped.
    #[test]
    fn reprocessing_keeps_the_log_bounded() {
        let clock = FixedClock::at_secs(1_000);
        let store = MemoryStore::with_clock(64, Arc::new(clock.clone()));
        for round in 0..2_000 {
            let key = format!("k{}", round % 3);
            if let Ok(Claim::New(token)) = store.claim_now(&key, LEASE) {
                store
                    .complete_now(
                        &key,
                        token,
                        Duration::from_secs(if round % 2 == 0 { 1 } else { 3600 }),
                    )
                    .unwrap();
            }
            clock.advance(Duration::from_secs(2));
        }
        let logged: usize = store.inner.shards.iter().map(|s| lock(s).log.len()).sum();
        // Per shard: twice the capacity (1 key each) plus 16 before compaction.
        assert!(logged <= 64 * (2 + 16), "{logged}");
        assert!(store.len() <= 3);
    }

    #[test]
    fn queues_stay_bounded_under_claim_release_churn() {
        let store = MemoryStore::with_clock(16, Arc::new(FixedClock::at_secs(1)));
        for round in 0..10_000 {
            // Each release frees the key: every claim is new.
            match block_on(store.claim("k", LEASE)) {
                Ok(Claim::New(t)) => store.release("k", t),
                other => panic!("round {round}: {other:?}"),
            }
        }
        let total: usize = store
            .inner
            .shards
            .iter()
            .map(|s| {
                let s = lock(s);
                s.flight.len() + s.log.len()
            })
            .sum();
        assert!(total <= 64 * (2 + 16), "{total}");
    }

    #[test]
    fn lease_guard_releases_on_drop_and_on_panic() {
        let store: Arc<dyn ReplayStore> = Arc::new(MemoryStore::new(64));
        let Claim::New(t) = block_on(store.claim("k", LEASE)).unwrap() else {
            panic!("expected new")
        };
        let lease = Lease::new(Arc::clone(&store), "k".into(), t, KEEP);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = lease;
            panic!("handler failed");
        }));
        assert!(result.is_err());
        assert!(matches!(
            block_on(store.claim("k", LEASE)).unwrap(),
            Claim::New(_)
        ));
    }
}
