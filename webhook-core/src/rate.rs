//! Rate limiting per source address: GCRA (governor), on the injected clock, with a bounded
//! number of tracked sources.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::SharedClock;
use crate::error::{ConfigError, VerifyError, VerifyErrorKind};

/// How many requests one source may send: a sustained rate and a burst.
///
/// Sources are keyed by client address; IPv6 clients by their `/64` (one subscriber's
/// allocation), so rotating through one network's addresses does not multiply the allowance.
/// The limiter tracks at most [`max_sources`](Self::max_sources) sources; beyond that, idle ones
/// are forgotten and, if all are busy, new sources share one overflow budget, so memory stays
/// bounded under a flood from many addresses.
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

/// governor's clock, read from the receiver's injected clock (millisecond resolution).
#[derive(Clone)]
struct InjectedClock(SharedClock);

impl GovernorClock for InjectedClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.now_ms()).unwrap_or(0))
    }
}

type Keyed =
    RateLimiter<IpAddr, HashMapStateStore<IpAddr>, InjectedClock, NoOpMiddleware<Duration>>;

/// The live limiter of one receiver.
pub(crate) struct Limiter {
    limiter: Keyed,
    clock: InjectedClock,
    max_sources: usize,
    last_sweep_ms: AtomicI64,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("sources", &self.limiter.len())
            .field("max_sources", &self.max_sources)
            .finish()
    }
}

/// The key shared, under a flood of new sources, by all of them.
const OVERFLOW: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The key of every request whose source is unknown (no peer, or a forwarding hop that could
/// not be read): a budget of its own, so that a client able to make itself unknown drains
/// neither a known source's budget nor the overflow one.
const UNKNOWN: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

impl Limiter {
    pub(crate) fn new(limit: &RateLimit, clock: SharedClock) -> Result<Self, ConfigError> {
        let quota = limit.quota()?;
        let clock = InjectedClock(clock);
        Ok(Self {
            limiter: RateLimiter::new(quota, HashMapStateStore::default(), clock.clone()),
            clock,
            max_sources: limit.max_sources,
            last_sweep_ms: AtomicI64::new(i64::MIN),
        })
    }

    fn key(&self, client: Option<IpAddr>) -> IpAddr {
        let key = match client {
            None => return UNKNOWN,
            Some(IpAddr::V6(v6)) => {
                let seg = v6.segments();
                IpAddr::V6(Ipv6Addr::new(seg[0], seg[1], seg[2], seg[3], 0, 0, 0, 0))
            }
            Some(v4) => v4,
        };
        if self.limiter.len() < self.max_sources {
            return key;
        }
        // Full: forget idle sources at most once a second, then share the overflow budget.
        let now = self.clock.0.now_ms();
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 1000
            && self
                .last_sweep_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        if self.limiter.len() < self.max_sources {
            key
        } else {
            OVERFLOW
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
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

    #[test]
    fn ipv6_is_keyed_by_slash_64_and_sources_are_bounded() {
        let clock = FixedClock::at_secs(1_000);
        let limit = RateLimit::per_second(1).max_sources(10);
        let limiter = Limiter::new(&limit, Arc::new(clock.clone())).unwrap();
        assert!(limiter.check(Some("2001:db8::1".parse().unwrap())).is_ok());
        assert!(limiter.check(Some("2001:db8::2".parse().unwrap())).is_err());
        for i in 0..1000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            let _ = limiter.check(Some(ip));
        }
        assert!(limiter.len() <= 11, "{}", limiter.len());
        clock.advance(Duration::from_secs(5));
        let _ = limiter.check(Some("198.51.100.1".parse().unwrap()));
        assert!(limiter.len() <= 2, "{}", limiter.len());
    }

    /// Unknown sources share a budget of their own: draining it leaves known sources, and
    /// the overflow budget of a full table, untouched.
    #[test]
    fn unknown_sources_have_a_budget_of_their_own() {
        let clock = FixedClock::at_secs(1_000);
        let limiter = Limiter::new(&RateLimit::per_second(1), Arc::new(clock)).unwrap();
        assert!(limiter.check(None).is_ok());
        assert!(limiter.check(None).is_err());
        assert!(limiter.check(Some("192.0.2.1".parse().unwrap())).is_ok());
        assert!(limiter.check(Some(OVERFLOW)).is_ok());
        assert_ne!(limiter.key(None), limiter.key(Some(OVERFLOW)));
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
        ] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }
}
