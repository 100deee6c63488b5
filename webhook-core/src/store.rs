//! Replay and idempotency: the [`ReplayStore`] trait, its lease protocol, the [`Lease`] guard
//! and the bounded in-memory [`MemoryStore`].

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::{self, SharedClock};
use crate::error::{VerifyError, VerifyErrorKind};

/// The boxed future a [`ReplayStore`] returns: `Send`, so it works in axum, actix-web and rocket
/// handlers alike, and object-safe, so a receiver holds any store as `Arc<dyn ReplayStore>`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Identifies one claim, so a holder whose lease expired cannot release or complete the claim
/// of whoever took the key over.
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
///    while its timestamp is still accepted).
/// 3. When it fails, [`release`](Self::release) frees the key so the sender's retry is
///    processed. A crashed holder never releases: its lease expires.
///
/// Only authenticated deliveries reach a store. A store that cannot answer returns a
/// [`StoreError`], and the delivery is refused (503): it fails closed.
///
/// The futures are boxed and `Send`, so one store type serves axum, actix-web and rocket,
/// and networked stores (Redis) can do real I/O.
pub trait ReplayStore: fmt::Debug + Send + Sync + 'static {
    /// Claim `key` for `lease`.
    fn claim<'a>(&'a self, key: &'a str, lease: Duration) -> StoreFuture<'a, Claim>;

    /// Mark `key` done for `retention`, if `token` still holds it (or nobody does).
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
}

/// A claim held on one delivery key: completed when the handler succeeds, released when it
/// fails — and released on drop unless completed, which covers errors, early returns and
/// panics (the guard is dropped while the panic unwinds).
pub struct Lease {
    store: Arc<dyn ReplayStore>,
    key: String,
    token: LeaseToken,
    retention: Duration,
    finished: bool,
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
    /// The store could not be reached; the claim is then released (dropped), so the sender's
    /// retry is processed again — at least once rather than lost.
    pub async fn complete(mut self) -> Result<(), StoreError> {
        self.store
            .complete(&self.key, self.token, self.retention)
            .await?;
        self.finished = true;
        Ok(())
    }

    /// Free the key now, so the sender's retry is processed.
    pub fn release(self) {
        drop(self);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.finished {
            self.store.release(&self.key, self.token);
        }
    }
}

const SHARDS: usize = 64;

/// The in-memory replay and idempotency store: bounded, with expiry, O(1) per operation,
/// concurrent (64 independently locked shards, so growing one never stalls many requests).
///
/// Each key lives until its lease or its retention expires. When every slot is taken by a
/// live key, a new claim is refused with a [`StoreError`] (503) rather than evicting a key
/// still inside its retention — evicting one would reopen a replay window. Cheap to clone;
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
pub struct MemoryStore {
    inner: Arc<MemoryInner>,
}

struct MemoryInner {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    clock: SharedClock,
    next: AtomicU64,
}

#[derive(Default)]
struct Shard {
    map: HashMap<u128, Entry, BuildHasherDefault<DigestHasher>>,
    leases: VecDeque<Expiry>,
    done: VecDeque<Expiry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InFlight,
    Done,
}

struct Entry {
    state: State,
    generation: u64,
    expires_at: i64,
}

struct Expiry {
    at: i64,
    key: u128,
    generation: u64,
}

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

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
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
                shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
                per_shard,
                clock,
                next: AtomicU64::new(1),
            }),
        }
    }

    /// The number of keys held (live or not yet swept).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).map.len()).sum()
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

    fn shard(&self, key: u128) -> Result<MutexGuard<'_, Shard>, StoreError> {
        let index = usize::try_from((key >> 64) % SHARDS as u128).unwrap_or(0);
        self.inner
            .shards
            .get(index)
            .map(lock)
            .ok_or_else(|| StoreError::new("replay store shard missing"))
    }

    fn generation(&self) -> u64 {
        self.inner.next.fetch_add(1, Ordering::Relaxed)
    }

    fn claim_now(&self, key: &str, lease: Duration) -> Result<Claim, StoreError> {
        let key = digest(key);
        let now = self.inner.clock.now_ms();
        let mut shard = self.shard(key)?;
        shard.sweep(now);
        if let Some(entry) = shard.map.get(&key) {
            if entry.expires_at > now {
                return Ok(match entry.state {
                    State::Done => Claim::Done,
                    State::InFlight => Claim::InFlight {
                        retry_after: Duration::from_millis(
                            u64::try_from(entry.expires_at.saturating_sub(now)).unwrap_or(0),
                        ),
                    },
                });
            }
            shard.map.remove(&key);
        }
        if shard.map.len() >= self.inner.per_shard {
            // The queues are ordered per retention class; a store shared by receivers with
            // different retentions can hold expired keys behind a longer-lived one. Before
            // refusing, drop every expired key once (O(shard), only on this rare path).
            shard.map.retain(|_, entry| entry.expires_at > now);
        }
        if shard.map.len() >= self.inner.per_shard {
            let wait = shard
                .earliest_expiry()
                .map_or(5_000, |at| at.saturating_sub(now));
            return Err(StoreError::new("replay store is full")
                .with_retry_after(Duration::from_millis(u64::try_from(wait).unwrap_or(0))));
        }
        let generation = self.generation();
        let expires_at = now.saturating_add(ms(lease));
        shard.map.insert(
            key,
            Entry {
                state: State::InFlight,
                generation,
                expires_at,
            },
        );
        shard.leases.push_back(Expiry {
            at: expires_at,
            key,
            generation,
        });
        shard.compact(self.inner.per_shard);
        Ok(Claim::New(LeaseToken(generation)))
    }

    fn complete_now(
        &self,
        key: &str,
        token: LeaseToken,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let key = digest(key);
        let now = self.inner.clock.now_ms();
        let mut shard = self.shard(key)?;
        shard.sweep(now);
        match shard.map.get(&key) {
            Some(entry) if entry.expires_at > now => {
                let ours = entry.state == State::InFlight && entry.generation == token.0;
                if !ours {
                    // Already done, or another holder took the key over after our lease expired.
                    return Ok(());
                }
            }
            _ => {
                if shard.map.len() >= self.inner.per_shard {
                    return Err(StoreError::new("replay store is full"));
                }
            }
        }
        let generation = self.generation();
        let expires_at = now.saturating_add(ms(retention));
        shard.map.insert(
            key,
            Entry {
                state: State::Done,
                generation,
                expires_at,
            },
        );
        shard.done.push_back(Expiry {
            at: expires_at,
            key,
            generation,
        });
        shard.compact(self.inner.per_shard);
        Ok(())
    }

    fn release_now(&self, key: &str, token: LeaseToken) {
        let key = digest(key);
        let Ok(mut shard) = self.shard(key) else {
            return;
        };
        let ours = shard
            .map
            .get(&key)
            .is_some_and(|e| e.state == State::InFlight && e.generation == token.0);
        if ours {
            shard.map.remove(&key);
        }
    }
}

/// Keys are held as the first 128 bits of their SHA-256: fixed-size entries (bounded memory
/// whatever the id's length, no allocation per key), and collisions are out of reach.
fn digest(key: &str) -> u128 {
    let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    let first = hash.first_chunk::<16>().copied().unwrap_or_default();
    u128::from_le_bytes(first)
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
    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // No code panics while holding a shard; recover the data rather than propagate a poison.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shard {
    /// Drop expired keys from the fronts of both expiry queues. Each queue holds one TTL class
    /// (leases, retentions), so within a receiver it is ordered by expiry: amortised O(1).
    fn sweep(&mut self, now: i64) {
        for which in [true, false] {
            loop {
                let queue = if which {
                    &mut self.leases
                } else {
                    &mut self.done
                };
                let Some(front) = queue.front() else { break };
                if front.at > now {
                    break;
                }
                let Some(item) = queue.pop_front() else { break };
                let current = self
                    .map
                    .get(&item.key)
                    .is_some_and(|e| e.generation == item.generation && e.expires_at <= now);
                if current {
                    self.map.remove(&item.key);
                }
            }
        }
    }

    /// Queue items of released or superseded keys linger until their time; once a queue holds
    /// twice the shard's capacity, drop the stale ones (amortised O(1), bounded memory).
    fn compact(&mut self, per_shard: usize) {
        let limit = per_shard.saturating_mul(2).saturating_add(16);
        let map = &self.map;
        for queue in [&mut self.leases, &mut self.done] {
            if queue.len() > limit {
                queue.retain(|item| {
                    map.get(&item.key)
                        .is_some_and(|e| e.generation == item.generation)
                });
            }
        }
    }

    fn earliest_expiry(&self) -> Option<i64> {
        let a = self.leases.front().map(|e| e.at);
        let b = self.done.front().map(|e| e.at);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    /// A store shared by receivers with different retentions: expired keys queued behind a
    /// longer-lived one must not keep a shard full.
    #[test]
    fn expired_keys_behind_a_longer_retention_do_not_fill_a_shard() {
        let clock = FixedClock::at_secs(1_000_000);
        let store = MemoryStore::with_clock(SHARDS * 2, Arc::new(clock.clone()));
        let shard_of = |k: &str| (digest(k) >> 64) % SHARDS as u128;
        let target = shard_of("k0");
        let keys: Vec<String> = (0..)
            .map(|i| format!("k{i}"))
            .filter(|k| shard_of(k) == target)
            .take(3)
            .collect();
        let lease = Duration::from_secs(30);
        for (key, retention) in [(&keys[0], 7 * 24 * 3600), (&keys[1], 600)] {
            let Ok(Claim::New(token)) = store.claim_now(key, lease) else {
                panic!("fresh key")
            };
            store
                .complete_now(key, token, Duration::from_secs(retention))
                .unwrap();
        }
        clock.advance(Duration::from_secs(3600));
        assert!(matches!(
            store.claim_now(&keys[2], lease),
            Ok(Claim::New(_))
        ));
        assert!(matches!(store.claim_now(&keys[0], lease), Ok(Claim::Done)));
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
        clock.advance(KEEP);
        assert!(matches!(
            block_on(store.claim("k", LEASE)).unwrap(),
            Claim::New(_)
        ));
    }

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
        // The crashed holder's late completion does not touch the new claim.
        block_on(store.complete("k", stale, KEEP)).unwrap();
        assert!(matches!(
            block_on(store.claim("k", LEASE)).unwrap(),
            Claim::InFlight { .. }
        ));
        block_on(store.complete("k", fresh, KEEP)).unwrap();
        assert_eq!(block_on(store.claim("k", LEASE)).unwrap(), Claim::Done);
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

    #[test]
    fn queues_stay_bounded_under_claim_release_churn() {
        let store = MemoryStore::with_clock(16, Arc::new(FixedClock::at_secs(1)));
        for _ in 0..10_000 {
            if let Ok(Claim::New(t)) = block_on(store.claim("k", LEASE)) {
                store.release("k", t);
            }
        }
        let total: usize = store
            .inner
            .shards
            .iter()
            .map(|s| {
                let s = lock(s);
                s.leases.len() + s.done.len()
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
