//! Rate limiting per source address: GCRA (governor), on the injected clock, with a bounded
//! number of tracked sources.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{HashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};
use rand_core::RngCore as _;

use crate::clock::SharedClock;
use crate::error::{ConfigError, VerifyError, VerifyErrorKind};

/// How many requests one source may send: a sustained rate and a burst.
///
/// Sources are keyed by client address; IPv6 clients by their `/64` (one subscriber's
/// allocation), so rotating through one subscriber's addresses does not multiply the
/// allowance. A network (`/24`, or `/48` for IPv6: what one holder commonly has whole) has at
/// most 64 sources in the table (a quarter of it, if smaller); its further sources share the
/// network's overflow budget, so rotating through a network's addresses multiplies its
/// allowance by 64 at most, and cannot fill the table (by 128 for a network whose
/// deliveries are processed: its trusted sources, 64 at most, leave their table places).
/// The limiter tracks at most [`max_sources`](Self::max_sources) sources, so memory stays
/// bounded under a flood from many addresses. When the table is full, or a network's places
/// are taken, idle sources (whose budget is full again) are forgotten (at most once a second); a source in the table keeps its own budget, and new
/// sources share 64 overflow budgets, chosen by their network (`/24`, or `/48` for IPv6), so a
/// flood from one network drains one of them. A source that has sent an authenticated
/// delivery its handler processed (not a copy of a processed one: a copy replayed from other
/// addresses earns them nothing; and only one the replay store claimed, as without a store
/// nothing tells a copy apart) is kept apart (64 at most of one network, up to a quarter of
/// `max_sources`, at most 16 384, the least
/// recently seen leaving first) and is never forgotten for being idle: a provider keeps its
/// own budget through a flood of new addresses, which cannot sign. Requests whose source is
/// unknown share a budget of their own: no peer address, or behind a trusted proxy a
/// forwarding chain that cannot be read. A client can put itself there by sending a value
/// that breaks the chain (an unterminated quote in a `Forwarded` header the proxy appends
/// to, or an `X-Forwarded-For` value that is not UTF-8, which takes the whole header out of
/// the request), so that budget is one more for it; set the proxy to replace the header
/// rather than append to the client's, or set an allowlist, which admits no unknown source.
/// Clients behind a NAT64 translator (`64:ff9b::/96`) arrive with IPv6 addresses of one
/// `/64`, and so share one budget. The limiter
/// counts time on the clock's monotonic reading, so a wall clock stepped back does not stall
/// it.
///
/// # Examples
///
/// ```
/// use webhook_core::RateLimit;
/// let limit = RateLimit::per_second(50).burst(100);
/// assert_eq!(limit.to_string(), "50/s burst 100");
/// let parsed: RateLimit = "600/min".parse()?;
/// assert_eq!(parsed.to_string(), "600/min burst 600");
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    count: u32,
    per: Per,
    burst: Option<u32>,
    max_sources: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Per {
    Second,
    Minute,
    Hour,
}

impl Per {
    fn duration(self) -> Duration {
        match self {
            Self::Second => Duration::from_secs(1),
            Self::Minute => Duration::from_secs(60),
            Self::Hour => Duration::from_secs(3600),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Self::Second => "s",
            Self::Minute => "min",
            Self::Hour => "h",
        }
    }
}

const DEFAULT_MAX_SOURCES: usize = 65_536;

impl RateLimit {
    fn new(count: u32, per: Per) -> Self {
        Self {
            count,
            per,
            burst: None,
            max_sources: DEFAULT_MAX_SOURCES,
        }
    }

    /// `count` requests per second per source (burst `count` unless set).
    #[must_use]
    pub fn per_second(count: u32) -> Self {
        Self::new(count, Per::Second)
    }

    /// `count` requests per minute per source.
    #[must_use]
    pub fn per_minute(count: u32) -> Self {
        Self::new(count, Per::Minute)
    }

    /// `count` requests per hour per source.
    #[must_use]
    pub fn per_hour(count: u32) -> Self {
        Self::new(count, Per::Hour)
    }

    /// Allow bursts of up to `burst` requests.
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Track at most this many sources (default 65 536).
    #[must_use]
    pub fn max_sources(mut self, max: usize) -> Self {
        self.max_sources = max;
        self
    }

    pub(crate) fn quota(&self) -> Result<Quota, ConfigError> {
        let zero = || ConfigError::new("rate limit: the count and burst must be at least 1");
        let count = NonZeroU32::new(self.count).ok_or_else(zero)?;
        let burst = NonZeroU32::new(self.burst.unwrap_or(self.count)).ok_or_else(zero)?;
        let period = self.per.duration() / count.get();
        let quota = Quota::with_period(period)
            .ok_or_else(|| ConfigError::new("rate limit: the rate is too high"))?;
        // governor keeps a source's theoretical arrival time, up to a burst's span past the
        // limiter's uptime, in u64 nanoseconds (about 584 years): the span must leave a
        // century of uptime.
        const HEADROOM: u128 = 100 * 365 * 24 * 3600 * 1_000_000_000;
        if period.as_nanos().saturating_mul(u128::from(burst.get()))
            > u128::from(u64::MAX) - HEADROOM
        {
            return Err(ConfigError::new(
                "rate limit: the burst spans more time than the limiter can count",
            ));
        }
        if self.max_sources == 0 {
            return Err(ConfigError::new(
                "rate limit: max_sources must be at least 1",
            ));
        }
        Ok(quota.allow_burst(burst))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} burst {}",
            self.count,
            self.per.unit(),
            self.burst.unwrap_or(self.count)
        )
    }
}

impl std::str::FromStr for RateLimit {
    type Err = ConfigError;

    /// `N/s`, `N/min` or `N/h`, optionally followed by ` burst B`.
    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::new(format!(
                "rate limit `{text}`: expected `N/s`, `N/min` or `N/h`, optionally `burst B`"
            ))
        };
        let mut words = text.split_whitespace();
        let rate = words.next().ok_or_else(bad)?;
        let (count, unit) = rate.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.parse().map_err(|_| bad())?;
        let per = match unit {
            "s" | "sec" | "second" => Per::Second,
            "m" | "min" | "minute" => Per::Minute,
            "h" | "hour" => Per::Hour,
            _ => return Err(bad()),
        };
        let mut limit = Self::new(count, per);
        match (words.next(), words.next(), words.next()) {
            (None, _, _) => {}
            (Some("burst"), Some(b), None) => {
                limit = limit.burst(b.parse().map_err(|_| bad())?);
            }
            _ => return Err(bad()),
        }
        limit.quota()?;
        Ok(limit)
    }
}

/// governor's clock: the receiver's clock, read through [`Clock::monotonic`](crate::Clock::monotonic)
/// (the operating system's monotonic clock for [`SystemClock`](crate::SystemClock)), so that a
/// wall clock stepped back does not stall every source's budget.
///
/// Readings are held to a century past the first one: governor counts time since its first
/// reading in u64 nanoseconds (about 584 years, less the burst's span that
/// [`RateLimit::quota`] leaves a century for) and panics past it, which a clock set by a
/// test (or a custom [`Clock`](crate::Clock) whose readings jump) could otherwise reach.
/// Beyond that century the limiter's time stands still.
#[derive(Clone)]
struct InjectedClock {
    clock: SharedClock,
    /// The first reading.
    origin: Duration,
}

/// How far past its first reading the limiter's clock runs.
const CLOCK_SPAN: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl InjectedClock {
    fn new(clock: SharedClock) -> Self {
        let origin = clock.monotonic();
        Self { clock, origin }
    }
}

impl GovernorClock for InjectedClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.clock
            .monotonic()
            .min(self.origin.saturating_add(CLOCK_SPAN))
    }
}

/// The most trusted sources a limiter keeps (a quarter of its table, at most this many).
const MAX_TRUSTED: usize = 16_384;

/// The key of a client address: IPv6 by its `/64` (one subscriber's allocation).
fn source_key(client: Option<IpAddr>) -> Key {
    match client {
        None => Key::Unknown,
        Some(IpAddr::V6(v6)) => {
            let seg = v6.segments();
            Key::Source(IpAddr::V6(Ipv6Addr::new(
                seg[0], seg[1], seg[2], seg[3], 0, 0, 0, 0,
            )))
        }
        Some(v4) => Key::Source(v4),
    }
}

/// The most sources of one network ([`Net`]) the table holds: a quarter of the table, at
/// most this many.
const MAX_PER_NETWORK: usize = 64;

/// The network of a source: its `/24`, or its `/48` for IPv6 (what one holder commonly has
/// whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Net {
    V4([u8; 3]),
    V6([u8; 6]),
}

fn network(ip: IpAddr) -> Net {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Net::V4([a, b, c])
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, ..] = v6.octets();
            Net::V6([a, b, c, d, e, f])
        }
    }
}

/// How many sources of each network the table holds.
type Networks = Arc<Mutex<HashMap<Net, usize>>>;

fn lock_networks(
    networks: &Mutex<HashMap<Net, usize>>,
) -> std::sync::MutexGuard<'_, HashMap<Net, usize>> {
    networks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many budgets new sources share when the table of sources is full (each by a hash of
/// its network, so a flood from one network leaves most newcomers their own).
const OVERFLOW_BUCKETS: usize = 64;

/// A rate-limited source: an address (IPv6 by its `/64`), or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Source(IpAddr),
    /// No peer, or a forwarding hop that could not be read.
    Unknown,
}

/// governor's state store for [`Limiter`]: a bounded table of sources, a budget of its own
/// for unknown sources, and shared budgets for new sources while the table is full. A source
/// already in the table keeps its own budget however full the table is.
struct Sources {
    table: Arc<HashMapStateStore<Key>>,
    /// How many of the table's sources each network has (changed under the table's lock).
    networks: Networks,
    /// The most sources of one network the table holds.
    per_network: usize,
    /// A new source found its network's places taken: idle sources should be forgotten.
    network_full: Arc<AtomicBool>,
    /// Sources whose authenticated delivery was processed: counted here, apart from the table.
    trusted: Arc<Mutex<Trusted>>,
    unknown: InMemoryState,
    overflow: Arc<[InMemoryState; OVERFLOW_BUCKETS]>,
    max: usize,
    /// SipHash keys for choosing an overflow budget, random per limiter.
    seed: (u64, u64),
}

/// Sources whose authenticated delivery was processed ([`Limiter::trust`]). A flood cannot get in
/// (it cannot sign), and an entry is not forgotten for being idle, so a provider that sends
/// once an hour keeps its own budget while a flood of new addresses fills the table and
/// drains the overflow budgets. Bounded: when full, the source seen least recently leaves;
/// and one network holds at most as many places here as in the table, so that a sender
/// whose deliveries are processed (a tenant signing with its own secret) cannot multiply
/// its budget by rotating through its network's addresses, nor push every other trusted
/// source out.
struct Trusted {
    entries: HashMap<Key, TrustedEntry>,
    /// How many entries each network has.
    networks: HashMap<Net, usize>,
    per_network: usize,
    /// Every use, oldest first, as `(key, tick)`: an item whose tick is no longer its entry's
    /// `seen` is stale and skipped. The least recently seen entry is found by popping the
    /// front (amortised O(1), where a scan of the entries would hold the lock for a pass over
    /// up to 16 384 of them each time a new source is trusted while full).
    order: VecDeque<(Key, u64)>,
    /// Counts uses, to order entries by when they were last seen.
    tick: u64,
    cap: usize,
}

struct TrustedEntry {
    state: InMemoryState,
    seen: u64,
}

impl Trusted {
    fn lock(trusted: &Mutex<Self>) -> std::sync::MutexGuard<'_, Self> {
        trusted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Note a use of `key`'s entry, if it has one.
    fn touch(&mut self, key: Key) -> Option<&mut TrustedEntry> {
        let tick = self.tick.wrapping_add(1);
        let entry = self.entries.get_mut(&key)?;
        entry.seen = tick;
        self.tick = tick;
        self.order.push_back((key, tick));
        if self.order.len() > self.cap.saturating_mul(2).saturating_add(16) {
            // Drop stale items, in order: at most one per entry remains (O(cap) once per
            // cap uses or more).
            let entries = &self.entries;
            self.order
                .retain(|(key, tick)| entries.get(key).is_some_and(|e| e.seen == *tick));
        }
        self.entries.get_mut(&key)
    }

    /// Whether `key`'s network has all the places it may have.
    fn network_full(&self, key: Key) -> bool {
        match key {
            Key::Source(ip) => self
                .networks
                .get(&network(ip))
                .is_some_and(|held| *held >= self.per_network),
            Key::Unknown => true,
        }
    }

    /// Add `key` with `state`, the least recently seen entry leaving when full.
    fn insert(&mut self, key: Key, state: InMemoryState) {
        while self.entries.len() >= self.cap {
            let Some((oldest, tick)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&oldest).is_some_and(|e| e.seen == tick) {
                self.entries.remove(&oldest);
                if let Key::Source(ip) = oldest
                    && let Some(held) = self.networks.get_mut(&network(ip))
                {
                    *held = held.saturating_sub(1);
                    if *held == 0 {
                        self.networks.remove(&network(ip));
                    }
                }
            }
        }
        if let Key::Source(ip) = key {
            *self.networks.entry(network(ip)).or_insert(0) += 1;
        }
        self.tick = self.tick.wrapping_add(1);
        let seen = self.tick;
        self.entries.insert(key, TrustedEntry { state, seen });
        self.order.push_back((key, seen));
    }
}

/// The overflow budget of a new source: by its `/24` (IPv4) or `/48` (IPv6), which one
/// holder commonly has whole, hashed under the limiter's random keys.
fn overflow_index(seed: (u64, u64), ip: IpAddr) -> usize {
    use std::hash::Hasher as _;
    let mut h = siphasher::sip::SipHasher13::new_with_keys(seed.0, seed.1);
    match ip {
        IpAddr::V4(v4) => h.write(&v4.octets()[..3]),
        IpAddr::V6(v6) => h.write(&v6.octets()[..6]),
    }
    usize::try_from(h.finish() % OVERFLOW_BUCKETS as u64).unwrap_or(0)
}

impl Sources {
    fn overflow_bucket(&self, ip: IpAddr) -> &InMemoryState {
        self.overflow
            .get(overflow_index(self.seed, ip))
            .unwrap_or(&self.unknown)
    }
}

/// Fresh SipHash keys from the OS; should `rand_core`'s source fail, the standard library's
/// own random hash keys instead (as the replay store does), rather than a panic.
fn random_seed() -> (u64, u64) {
    let mut seed = [0u8; 16];
    if rand_core::OsRng.try_fill_bytes(&mut seed).is_ok() {
        let (k0, k1) = seed.split_at(8);
        let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or([0; 8]));
        return (word(k0), word(k1));
    }
    use std::hash::BuildHasher as _;
    let state = std::hash::RandomState::new();
    (state.hash_one(0u8), state.hash_one(1u8))
}

/// A state holding what `from` holds now (governor's states are not `Clone`).
fn copy_state(from: &InMemoryState) -> InMemoryState {
    let copy = InMemoryState::default();
    // Read without writing: a decision that is an error leaves the state as it was.
    let held = from.measure_and_replace(&NotKeyed::NonKey, Err::<((), Nanos), _>);
    if let Err(Some(tat)) = held {
        let _ = copy.measure_and_replace(&NotKeyed::NonKey, |_| Ok::<_, ()>(((), tat)));
    }
    copy
}

impl StateStore for Sources {
    type Key = Key;

    fn measure_and_replace<T, F, E>(&self, key: &Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let ip = match key {
            Key::Unknown => return self.unknown.measure_and_replace(&NotKeyed::NonKey, f),
            Key::Source(ip) => *ip,
        };
        let mut trusted = Trusted::lock(&self.trusted);
        if let Some(entry) = trusted.touch(*key) {
            return entry.state.measure_and_replace(&NotKeyed::NonKey, f);
        }
        // Taken before the trusted set is let go: a `trust` of this source in between would
        // find it not yet in the table, and the entry made below would outlive that move.
        let mut table = self.table.lock();
        drop(trusted);
        if let Some(state) = table.get(key) {
            return state.measure_and_replace(&NotKeyed::NonKey, f);
        }
        if table.len() < self.max {
            let mut networks = lock_networks(&self.networks);
            let held = networks.entry(network(ip)).or_insert(0);
            if *held < self.per_network {
                *held += 1;
                drop(networks);
                return table
                    .entry(*key)
                    .or_default()
                    .measure_and_replace(&NotKeyed::NonKey, f);
            }
            // The network's places may be held by sources gone idle: have them forgotten
            // (the limiter's next request sweeps, at most once a second).
            self.network_full.store(true, Ordering::Relaxed);
        }
        drop(table);
        self.overflow_bucket(ip)
            .measure_and_replace(&NotKeyed::NonKey, f)
    }
}

impl ShrinkableKeyedStateStore<Key> for Sources {
    fn retain_recent(&self, drop_below: Nanos) {
        self.table.retain_recent(drop_below);
        // Counted again from what is left (at most once a second, with the sweep).
        let table = self.table.lock();
        let mut networks = lock_networks(&self.networks);
        networks.clear();
        for key in table.keys() {
            if let Key::Source(ip) = key {
                *networks.entry(network(*ip)).or_insert(0) += 1;
            }
        }
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&*self.table);
    }

    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&*self.table)
    }

    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&*self.table)
    }
}

type Keyed = RateLimiter<Key, Sources, InjectedClock, NoOpMiddleware<Duration>>;

/// The live limiter of one receiver.
pub(crate) struct Limiter {
    limiter: Keyed,
    /// The limiter's table of sources and its trusted sources (shared with its state store).
    table: Arc<HashMapStateStore<Key>>,
    networks: Networks,
    network_full: Arc<AtomicBool>,
    trusted: Arc<Mutex<Trusted>>,
    /// The overflow budgets (shared with the state store).
    overflow: Arc<[InMemoryState; OVERFLOW_BUCKETS]>,
    clock: InjectedClock,
    max_sources: usize,
    /// The keys of [`overflow_index`] (the same as the table's).
    seed: (u64, u64),
    /// When idle sources were last forgotten, in milliseconds of the monotonic clock.
    last_sweep_ms: AtomicU64,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("sources", &self.limiter.len())
            .field("max_sources", &self.max_sources)
            .finish()
    }
}

impl Limiter {
    pub(crate) fn new(limit: &RateLimit, clock: SharedClock) -> Result<Self, ConfigError> {
        let quota = limit.quota()?;
        let clock = InjectedClock::new(clock);
        let seed = random_seed();
        let table = Arc::new(HashMapStateStore::default());
        let networks = Networks::default();
        let network_full = Arc::new(AtomicBool::new(false));
        let overflow = Arc::new(std::array::from_fn(|_| InMemoryState::default()));
        let trusted = Arc::new(Mutex::new(Trusted {
            entries: HashMap::new(),
            networks: HashMap::new(),
            // A quarter of the trusted places at most, so one network never has them all.
            per_network: (limit.max_sources / 16).clamp(1, MAX_PER_NETWORK),
            order: VecDeque::new(),
            tick: 0,
            cap: (limit.max_sources / 4).clamp(1, MAX_TRUSTED),
        }));
        let sources = Sources {
            table: Arc::clone(&table),
            networks: Arc::clone(&networks),
            network_full: Arc::clone(&network_full),
            per_network: (limit.max_sources / 4).clamp(1, MAX_PER_NETWORK),
            trusted: Arc::clone(&trusted),
            unknown: InMemoryState::default(),
            overflow: Arc::clone(&overflow),
            max: limit.max_sources,
            seed,
        };
        Ok(Self {
            limiter: RateLimiter::new(quota, sources, clock.clone()),
            table,
            networks,
            network_full,
            trusted,
            overflow,
            clock,
            max_sources: limit.max_sources,
            seed,
            last_sweep_ms: AtomicU64::new(0),
        })
    }

    fn key(&self, client: Option<IpAddr>) -> Key {
        let key = source_key(client);
        if key != Key::Unknown
            && (self.limiter.len() >= self.max_sources
                || self.network_full.swap(false, Ordering::Relaxed))
        {
            self.sweep();
        }
        key
    }

    /// `client` sent an authenticated delivery the handler processed (not a duplicate):
    /// from now on it is counted among the trusted sources (see [`Trusted`]), with the budget
    /// it had.
    pub(crate) fn trust(&self, client: Option<IpAddr>) {
        let key = source_key(client);
        if key == Key::Unknown {
            return;
        }
        let mut trusted = Trusted::lock(&self.trusted);
        if trusted.touch(key).is_some() || trusted.network_full(key) {
            // Trusted already; or its network has its share of trusted places, and the
            // source keeps its place in the table (with its network's) instead.
            return;
        }
        // Its state moves over from the table (so trusting it gives it no fresh budget), and
        // its network's place in the table is free again.
        let mut table = self.table.lock();
        let state = table.remove(&key);
        if state.is_some()
            && let Key::Source(ip) = key
        {
            let mut networks = lock_networks(&self.networks);
            if let Some(held) = networks.get_mut(&network(ip)) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    networks.remove(&network(ip));
                }
            }
        }
        drop(table);
        // Not in the table, it was counted in its network's overflow budget (the table or
        // its network's places were full): it starts from that budget as it stands.
        let state = match (state, key) {
            (Some(state), _) => state,
            (None, Key::Source(ip)) => self
                .overflow
                .get(overflow_index(self.seed, ip))
                .map(copy_state)
                .unwrap_or_default(),
            (None, Key::Unknown) => InMemoryState::default(),
        };
        trusted.insert(key, state);
    }

    /// The table is full: forget idle sources, at most once a second.
    fn sweep(&self) {
        let now = u64::try_from(self.clock.now().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= 1000)
            && self
                .last_sweep_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }

    /// Count one request from `client`.
    ///
    /// # Errors
    ///
    /// `RateLimited` (429) with the wait until the next request would conform.
    pub(crate) fn check(&self, client: Option<IpAddr>) -> Result<(), VerifyError> {
        let key = self.key(client);
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            VerifyError::new(VerifyErrorKind::RateLimited).with_retry_after(wait)
        })
    }

    /// The number of sources currently tracked.
    pub(crate) fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether `client` is among the trusted sources.
    #[cfg(test)]
    pub(crate) fn is_trusted(&self, client: Option<IpAddr>) -> bool {
        Trusted::lock(&self.trusted)
            .entries
            .contains_key(&source_key(client))
    }

    #[cfg(test)]
    fn overflow_index(&self, ip: IpAddr) -> usize {
        overflow_index(self.seed, ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FixedClock};
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    #[test]
    fn limits_then_recovers_on_the_injected_clock() {
        let clock = FixedClock::at_secs(1_000);
        let limiter = Limiter::new(&RateLimit::per_second(2), Arc::new(clock.clone())).unwrap();
        let ip = Some("192.0.2.1".parse().unwrap());
        assert!(limiter.check(ip).is_ok());
        assert!(limiter.check(ip).is_ok());
        let err = limiter.check(ip).unwrap_err();
        assert_eq!(err.status(), 429);
        assert_eq!(err.retry_after_secs(), Some(1));
        clock.advance(Duration::from_millis(500));
        assert!(limiter.check(ip).is_ok());
    }

    /// governor counts time since its first reading in u64 nanoseconds and panics past 584
    /// years: a clock that jumps further (set by a test, or a custom clock) is held to a
    /// century past the limiter's first reading, and checks go on.
    #[test]
    fn a_clock_that_jumps_centuries_does_not_panic() {
        let ip = Some("192.0.2.1".parse().unwrap());
        for jump in [
            Duration::from_secs(700 * 365 * 24 * 3600),
            Duration::from_millis(u64::MAX),
        ] {
            let clock = FixedClock::at_secs(1_000);
            let limiter = Limiter::new(&RateLimit::per_second(1), Arc::new(clock.clone())).unwrap();
            assert!(limiter.check(ip).is_ok());
            assert!(limiter.check(ip).is_err());
            clock.advance(jump);
            // A century on, the source's budget is back; the limiter's time then stands.
            assert!(limiter.check(ip).is_ok(), "{jump:?}");
            assert!(limiter.check(ip).is_err(), "{jump:?}");
            clock.set_ms(i64::MAX);
            assert!(limiter.check(ip).is_err(), "{jump:?}");
            assert!(limiter.check(Some("198.51.100.1".parse().unwrap())).is_ok());
        }
    }

    #[test]
    fn ipv6_is_keyed_by_slash_64_and_sources_are_bounded() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_second(1).max_sources(10);
        let limiter = Limiter::new(&limit, Arc::new(clock.clone())).unwrap();
        assert!(limiter.check(Some("2001:db8::1".parse().unwrap())).is_ok());
        assert!(limiter.check(Some("2001:db8::2".parse().unwrap())).is_err());
        // From a thousand networks (one network has at most a quarter of the table).
        for i in 0..1000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8)));
            let _ = limiter.check(Some(ip));
        }
        assert!(limiter.len() <= 10, "{}", limiter.len());
        clock.advance(Duration::from_secs(5));
        let _ = limiter.check(Some("198.51.100.1".parse().unwrap()));
        assert!(limiter.len() <= 2, "{}", limiter.len());
    }

    /// Unknown sources share a budget of their own: draining it leaves known sources, and
    /// the sources whose addresses look special (`0.0.0.0`, `::`), untouched.
    #[test]
    fn unknown_sources_have_a_budget_of_their_own() {
        let clock = FixedClock::at_secs(1_000);
        let limiter = Limiter::new(&RateLimit::per_second(1), Arc::new(clock)).unwrap();
        assert!(limiter.check(None).is_ok());
        assert!(limiter.check(None).is_err());
        assert!(limiter.check(Some("192.0.2.1".parse().unwrap())).is_ok());
        for special in ["0.0.0.0", "::"] {
            let ip = Some(special.parse().unwrap());
            assert_ne!(limiter.key(None), limiter.key(ip), "{special}");
            assert!(limiter.check(ip).is_ok(), "{special}");
        }
    }

    /// A full table does not take a known sender's budget away: it is still counted on its
    /// own, while a flood of new sources shares the overflow budgets.
    #[test]
    fn a_known_source_keeps_its_budget_when_the_table_is_full() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_hour(3).max_sources(4);
        let limiter = Limiter::new(&limit, Arc::new(clock)).unwrap();
        let sender = Some("203.0.113.7".parse().unwrap());
        assert!(limiter.check(sender).is_ok());
        // A flood from many networks fills the table and drains every overflow budget.
        let mut refused = 0;
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8)));
            refused += usize::from(limiter.check(Some(ip)).is_err());
        }
        assert_eq!(limiter.len(), 4);
        assert!(refused > 9_000, "{refused}");
        // The sender still has two of its three requests, then is limited on its own.
        assert!(limiter.check(sender).is_ok());
        assert!(limiter.check(sender).is_ok());
        assert_eq!(limiter.check(sender).unwrap_err().status(), 429);
    }

    /// While the table is full, new sources share budgets by network: a flood from one
    /// IPv6 `/48`, however many `/64`s it rotates through, drains one of them.
    #[test]
    fn a_flood_from_one_network_drains_one_overflow_budget() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_hour(1).max_sources(2);
        let limiter = Limiter::new(&limit, Arc::new(clock)).unwrap();
        let network = |n: u16, subnet: u16| -> IpAddr {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, n, subnet, 0, 0, 0, 1))
        };
        for filler in ["192.0.2.1", "198.51.100.1"] {
            assert!(limiter.check(Some(filler.parse().unwrap())).is_ok());
        }
        for subnet in 0..1_000 {
            let _ = limiter.check(Some(network(1, subnet)));
        }
        assert_eq!(limiter.len(), 2);
        assert!(limiter.check(Some(network(1, 5_000))).is_err());
        // A newcomer from another network, whose overflow budget is another one.
        let flooded = limiter.overflow_index(network(1, 0));
        let other = (2..u16::MAX)
            .map(|n| network(n, 0))
            .find(|&ip| limiter.overflow_index(ip) != flooded)
            .unwrap();
        assert!(limiter.check(Some(other)).is_ok());
    }

    /// One network (an IPv6 `/48`, an IPv4 `/24`) has at most 64 sources of the table: a
    /// holder rotating through its `/64`s gets 64 budgets and the network's overflow budget,
    /// not one per `/64`, and cannot fill the table; another network keeps its own budgets.
    /// A source of a full network that becomes trusted leaves its place to the next.
    #[test]
    fn one_network_has_at_most_its_share_of_the_table() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_hour(1).max_sources(1024);
        let limiter = Limiter::new(&limit, Arc::new(clock)).unwrap();
        let v6 = |n: u16, subnet: u16| -> Option<IpAddr> {
            Some(IpAddr::V6(Ipv6Addr::new(
                0x2001, 0xdb8, n, subnet, 0, 0, 0, 1,
            )))
        };
        let admitted = (0..1024)
            .filter(|&s| limiter.check(v6(7, s)).is_ok())
            .count();
        assert_eq!(admitted, 64 + 1, "64 of the table and the overflow budget");
        assert_eq!(limiter.len(), 64);
        assert!(limiter.check(v6(8, 0)).is_ok(), "another /48");
        let v4 = |host: u8| Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, host)));
        let admitted = (0..=255).filter(|&h| limiter.check(v4(h)).is_ok()).count();
        assert!(admitted <= 64 + 1, "{admitted}");
        assert_eq!(limiter.len(), 64 + 1 + 64);

        limiter.trust(v6(7, 0));
        assert_eq!(limiter.len(), 64 + 64);
        assert!(
            limiter.check(v6(7, 5_000)).is_ok(),
            "a place of the /48 is free"
        );
        assert!(limiter.check(v6(7, 5_001)).is_err(), "and taken again");
        // Small tables: a quarter of the table each.
        let limiter = Limiter::new(
            &RateLimit::per_hour(1).max_sources(8),
            Arc::new(FixedClock::at_secs(1)),
        )
        .unwrap();
        let admitted = (0..100)
            .filter(|&s| limiter.check(v6(9, s)).is_ok())
            .count();
        assert_eq!((admitted, limiter.len()), (2 + 1, 2));
    }

    /// A network's places are not held for good: once its sources have gone idle (their
    /// budgets full again), a newcomer of that network that finds them taken has them
    /// forgotten, at the next request, although the table is far from full.
    #[test]
    fn a_full_networks_idle_sources_are_forgotten() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_second(1).max_sources(1024);
        let limiter = Limiter::new(&limit, Arc::new(clock.clone())).unwrap();
        let v6 = |subnet: u16| -> Option<IpAddr> {
            Some(IpAddr::V6(Ipv6Addr::new(
                0x2001, 0xdb8, 7, subnet, 0, 0, 0, 1,
            )))
        };
        for subnet in 0..64 {
            assert!(limiter.check(v6(subnet)).is_ok());
        }
        assert_eq!(limiter.len(), 64);
        // Still busy: the 65th shares the network's overflow budget.
        assert!(limiter.check(v6(64)).is_ok());
        assert!(
            limiter.check(v6(65)).is_err(),
            "the overflow budget is spent"
        );
        assert_eq!(limiter.len(), 64);
        // A second on, every budget is full again: the places are given up and taken anew.
        clock.advance(Duration::from_secs(2));
        assert!(limiter.check(v6(66)).is_ok());
        assert!(limiter.len() <= 1, "{}", limiter.len());
        for subnet in 100..163 {
            assert!(limiter.check(v6(subnet)).is_ok(), "{subnet}");
        }
        assert_eq!(limiter.len(), 64);
    }

    /// A clock whose wall time and monotonic time can be moved apart.
    #[derive(Debug)]
    struct SteppedClock {
        wall: FixedClock,
        monotonic: FixedClock,
    }

    impl Clock for SteppedClock {
        fn now_ms(&self) -> i64 {
            self.wall.now_ms()
        }

        fn monotonic(&self) -> Duration {
            Duration::from_millis(u64::try_from(self.monotonic.now_ms()).unwrap())
        }
    }

    /// A source that sent an authenticated delivery keeps its own budget through a flood
    /// that fills the table and drains the overflow budgets, however long it was idle; one
    /// that never proved itself is forgotten and shares a drained overflow budget.
    #[test]
    fn an_authenticated_source_keeps_its_budget_through_a_flood() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_minute(60).burst(2).max_sources(8);
        let limiter = Limiter::new(&limit, Arc::new(clock.clone())).unwrap();
        let provider = Some("203.0.113.7".parse().unwrap());
        let stranger = Some("198.51.100.9".parse().unwrap());
        assert!(limiter.check(provider).is_ok());
        limiter.trust(provider);
        assert!(limiter.check(stranger).is_ok());
        // Both idle an hour, then a flood from thousands of networks.
        clock.advance(Duration::from_secs(3_600));
        for i in 0..5_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8)));
            let _ = limiter.check(Some(ip));
        }
        assert_eq!(limiter.len(), 8);
        assert!(limiter.check(provider).is_ok());
        assert!(limiter.check(provider).is_ok());
        assert_eq!(limiter.check(provider).unwrap_err().status(), 429);
        assert_eq!(limiter.check(stranger).unwrap_err().status(), 429);
        // Trusting moves a source's state over from the table: no fresh budget from it.
        let limiter = Limiter::new(&limit, Arc::new(clock.clone())).unwrap();
        let spent = Some("192.0.2.55".parse().unwrap());
        let _ = limiter.check(spent);
        let _ = limiter.check(spent);
        let _ = limiter.check(spent);
        limiter.trust(spent);
        assert!(limiter.check(spent).is_err());

        // Nor from an overflow budget: a source counted in one (the table full) starts from
        // that budget as it stands.
        let limiter = Limiter::new(&limit, Arc::new(clock.clone())).unwrap();
        for i in 0..8u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8)));
            assert!(limiter.check(Some(ip)).is_ok());
        }
        assert_eq!(limiter.len(), 8);
        let newcomer = Some("192.0.2.77".parse().unwrap());
        assert!(limiter.check(newcomer).is_ok());
        assert!(limiter.check(newcomer).is_ok());
        assert!(
            limiter.check(newcomer).is_err(),
            "its overflow budget is spent"
        );
        limiter.trust(newcomer);
        assert!(limiter.is_trusted(newcomer));
        assert!(limiter.check(newcomer).is_err(), "no fresh budget");
        // Its own budget from then on: a second later it has one request again.
        clock.advance(Duration::from_secs(1));
        assert!(limiter.check(newcomer).is_ok());
        assert!(limiter.check(newcomer).is_err());
    }

    /// The trusted sources are bounded: past the cap, the one seen least recently leaves.
    #[test]
    fn trusted_sources_are_bounded() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_minute(60).max_sources(8);
        let limiter = Limiter::new(&limit, Arc::new(clock)).unwrap();
        let ip = |n: u8| Some(IpAddr::V4(Ipv4Addr::new(192, 0, n, 1)));
        limiter.trust(ip(1));
        limiter.trust(ip(2));
        let _ = limiter.check(ip(1));
        limiter.trust(ip(3));
        let trusted = Trusted::lock(&limiter.trusted);
        assert_eq!(trusted.entries.len(), 2);
        assert!(trusted.entries.contains_key(&source_key(ip(1))));
        assert!(!trusted.entries.contains_key(&source_key(ip(2))));
        assert!(trusted.entries.contains_key(&source_key(ip(3))));
        drop(trusted);
        limiter.trust(None);
        assert_eq!(Trusted::lock(&limiter.trusted).entries.len(), 2);
    }

    /// One network has at most its share of trusted places (as of the table's): a sender
    /// whose deliveries are processed, rotating through its network's addresses, has the
    /// rest of them counted in the table as before, and cannot push other networks' trusted
    /// sources out.
    #[test]
    fn one_network_has_at_most_its_share_of_trusted_places() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_minute(60).max_sources(1024);
        let limiter = Limiter::new(&limit, Arc::new(clock)).unwrap();
        let provider = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));
        limiter.trust(provider);
        for n in 1..=200u8 {
            let rotating = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)));
            let _ = limiter.check(rotating);
            limiter.trust(rotating);
        }
        let trusted = Trusted::lock(&limiter.trusted);
        // max_sources 1024: 256 trusted places, 64 a network.
        assert_eq!(trusted.entries.len(), 65);
        assert!(trusted.entries.contains_key(&source_key(provider)));
        let rotating = trusted
            .entries
            .keys()
            .filter(|key| matches!(key, Key::Source(IpAddr::V4(v4)) if v4.octets()[..3] == [198, 51, 100]))
            .count();
        assert_eq!(rotating, 64);
        assert_eq!(trusted.networks.values().sum::<usize>(), 65);
    }

    /// Least recently seen first, through many uses: the queue of uses stays bounded and
    /// eviction follows the last use of each source, not its first.
    #[test]
    fn trusted_sources_leave_least_recently_seen_first() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_second(1_000_000).max_sources(16);
        let limiter = Limiter::new(&limit, Arc::new(clock)).unwrap();
        let ip = |n: u8| Some(IpAddr::V4(Ipv4Addr::new(192, 0, n, 1)));
        for n in 1..=4 {
            limiter.trust(ip(n));
        }
        // Uses in the order 3, 1, 4, 2, many times over.
        for _ in 0..1_000 {
            for n in [3, 1, 4, 2] {
                let _ = limiter.check(ip(n));
            }
        }
        {
            let trusted = Trusted::lock(&limiter.trusted);
            assert!(
                trusted.order.len() <= 2 * trusted.cap + 16,
                "{}",
                trusted.order.len()
            );
        }
        let present = |n: u8| {
            Trusted::lock(&limiter.trusted)
                .entries
                .contains_key(&source_key(ip(n)))
        };
        limiter.trust(ip(5));
        assert!(!present(3) && present(1) && present(4) && present(2) && present(5));
        limiter.trust(ip(6));
        assert!(!present(1) && present(4));
        // Trusting a present source again is a use: 4 is now the most recent.
        limiter.trust(ip(4));
        limiter.trust(ip(7));
        assert!(!present(2) && present(4) && present(5) && present(6) && present(7));
        assert_eq!(Trusted::lock(&limiter.trusted).entries.len(), 4);
    }

    /// The wall clock stepped back an hour (NTP, a VM resumed) neither stalls a source's
    /// budget nor asks it to wait an hour: the limiter runs on the monotonic clock.
    #[test]
    fn a_wall_clock_stepped_back_does_not_stall_the_limiter() {
        let wall = FixedClock::at_secs(10_000);
        let monotonic = FixedClock::at_secs(50);
        let clock = SteppedClock {
            wall: wall.clone(),
            monotonic: monotonic.clone(),
        };
        let limiter = Limiter::new(&RateLimit::per_second(1), Arc::new(clock)).unwrap();
        let ip = Some("192.0.2.1".parse().unwrap());
        assert!(limiter.check(ip).is_ok());
        wall.set_ms(10_000_000 - 3_600_000);
        let refused = limiter.check(ip).unwrap_err();
        assert_eq!(refused.retry_after_secs(), Some(1));
        monotonic.advance(Duration::from_secs(1));
        assert!(limiter.check(ip).is_ok());
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            "10/s burst 20".parse::<RateLimit>().unwrap(),
            RateLimit::per_second(10).burst(20)
        );
        for bad in [
            "",
            "10",
            "0/s",
            "10/day",
            "10/s burst",
            "10/s burst 0",
            "x/s",
            // A burst whose span overflows governor's u64 nanoseconds.
            "1/h burst 6000000",
            "1/h burst 5124095",
            "1/min burst 400000000",
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }
}
