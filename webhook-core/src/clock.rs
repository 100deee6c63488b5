//! Time, injected: verifiers and stores read the clock through [`Clock`], so tests and known-
//! answer vectors can set "now".

use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of the current time as Unix milliseconds.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// Milliseconds since the Unix epoch (negative before it).
    fn now_ms(&self) -> i64;

    /// Time elapsed since an arbitrary start, on a clock that never goes back: what measures
    /// intervals (the rate limiter's), where a wall clock stepped back by NTP would stall them.
    /// Only differences between two readings mean anything. By default, the wall clock read
    /// through [`now_ms`](Self::now_ms) (so a clock set by a test moves it); [`SystemClock`]
    /// reads the operating system's monotonic clock.
    fn monotonic(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.now_ms()).unwrap_or(0))
    }
}

/// The system clock. The one place in the project that reads `SystemTime::now`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now_ms(&self) -> i64 {
        let now = SystemTime::now();
        match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        }
    }

    fn monotonic(&self) -> Duration {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed()
    }
}

/// A clock that stands still until moved; cheap to clone, all clones share the time.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{Clock, FixedClock};
///
/// let clock = FixedClock::at_secs(1_614_265_330);
/// assert_eq!(clock.now_ms(), 1_614_265_330_000);
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(clock.now_ms(), 1_614_265_331_000);
/// ```
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<AtomicI64>);

impl FixedClock {
    /// A clock at `ms` Unix milliseconds.
    #[must_use]
    pub fn at_ms(ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(ms)))
    }

    /// A clock at `secs` Unix seconds.
    #[must_use]
    pub fn at_secs(secs: i64) -> Self {
        Self::at_ms(secs.saturating_mul(1000))
    }

    /// Move the clock to `ms`.
    pub fn set_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// A shared clock is a clock, so one handle can go to a setter that takes `impl Clock` and
/// to one that takes a [`SharedClock`].
///
/// ```
/// use std::sync::Arc;
/// use webhook_core::{Clock, FixedClock, Freshness, SharedClock};
///
/// let clock = FixedClock::at_secs(1_700_000_000);
/// let shared: SharedClock = Arc::new(clock.clone());
/// let freshness = Freshness::default().with_clock(shared.clone());
/// assert_eq!(shared.now_ms(), 1_700_000_000_000);
/// # let _ = freshness;
/// ```
impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }

    fn monotonic(&self) -> Duration {
        (**self).monotonic()
    }
}

pub(crate) fn system() -> SharedClock {
    Arc::new(SystemClock)
}
