//! Freshness: is a signed timestamp within tolerance of now?

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{self, Clock, SharedClock};
use crate::error::{VerifyError, VerifyErrorKind};

/// How a timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeFormat {
    /// Unix seconds, decimal digits only (most providers).
    UnixSeconds,
    /// Unix milliseconds, decimal digits only (HubSpot v3, Linear).
    UnixMillis,
    /// RFC 3339, e.g. `2026-11-22T07:00:00.123456789Z` (Twitch).
    Rfc3339,
}

/// Largest accepted length of a numeric timestamp: 13 digits of seconds covers year 318857.
const MAX_DIGITS: usize = 16;

impl TimeFormat {
    /// Parse a timestamp into Unix milliseconds.
    ///
    /// Only plain decimal digits are accepted for the numeric forms (no sign, no spaces, no
    /// fraction), so pre-1970 and overflowing values are rejected rather than wrapped; and no
    /// leading zero, which no sender writes: where the signed content puts the timestamp right
    /// after other text (HubSpot v3's `{url}{body}{timestamp}`), a zero moved from that text
    /// to the timestamp would leave the signed bytes unchanged.
    ///
    /// ```
    /// use webhook_core::TimeFormat;
    /// assert_eq!(TimeFormat::UnixSeconds.parse_ms("t", "1700000000").ok(), Some(1_700_000_000_000));
    /// assert!(TimeFormat::UnixSeconds.parse_ms("t", "01700000000").is_err());
    /// assert!(TimeFormat::UnixMillis.parse_ms("t", "0").is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// `MalformedHeader` naming `field`.
    pub fn parse_ms(self, field: &str, text: &str) -> Result<i64, VerifyError> {
        let bad = || VerifyError::malformed_header(field, "not a valid timestamp");
        match self {
            Self::UnixSeconds | Self::UnixMillis => {
                if text.is_empty()
                    || text.len() > MAX_DIGITS
                    || !text.bytes().all(|b| b.is_ascii_digit())
                    || (text.len() > 1 && text.starts_with('0'))
                {
                    return Err(bad());
                }
                let n: i64 = text.parse().map_err(|_| bad())?;
                if self == Self::UnixSeconds {
                    n.checked_mul(1000).ok_or_else(bad)
                } else {
                    Ok(n)
                }
            }
            Self::Rfc3339 => {
                let t = time::OffsetDateTime::parse(
                    text,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| bad())?;
                let ms = t.unix_timestamp_nanos() / 1_000_000;
                if ms < 0 {
                    return Err(bad());
                }
                i64::try_from(ms).map_err(|_| bad())
            }
        }
    }

    /// Write `ms` in this format (for signers).
    #[must_use]
    pub fn format_ms(self, ms: i64) -> String {
        match self {
            Self::UnixSeconds => ms.div_euclid(1000).to_string(),
            Self::UnixMillis => ms.to_string(),
            Self::Rfc3339 => {
                let nanos = i128::from(ms) * 1_000_000;
                time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default()
            }
        }
    }
}

/// The freshness policy: how far in the past and in the future a signed timestamp may be, and
/// the clock that says what "now" is.
///
/// The default accepts 5 minutes either way with the system clock. Past and future are
/// bounded separately; arithmetic saturates, so no timestamp can overflow the check.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{FixedClock, Freshness, VerifyErrorKind};
///
/// let clock = FixedClock::at_secs(1_000_000);
/// let f = Freshness::new(Duration::from_secs(300), Duration::from_secs(60)).with_clock(clock);
/// assert!(f.check_ms(999_800_000).is_ok());
/// assert_eq!(f.check_ms(999_000_000).unwrap_err().kind(), VerifyErrorKind::TimestampTooOld);
/// assert_eq!(f.check_ms(1_000_061_000).unwrap_err().kind(), VerifyErrorKind::TimestampInFuture);
/// ```
#[derive(Clone)]
pub struct Freshness {
    past: Duration,
    future: Duration,
    clock: SharedClock,
}

impl Default for Freshness {
    fn default() -> Self {
        Self::new(Duration::from_secs(300), Duration::from_secs(300))
    }
}

impl fmt::Debug for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Freshness")
            .field("past", &self.past)
            .field("future", &self.future)
            .field("clock", &self.clock)
            .finish()
    }
}

impl Freshness {
    /// Accept timestamps at most `past` old and at most `future` ahead, by the system clock.
    #[must_use]
    pub fn new(past: Duration, future: Duration) -> Self {
        Self {
            past,
            future,
            clock: clock::system(),
        }
    }

    /// Use another clock (tests, known-answer vectors).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Use a shared clock.
    #[must_use]
    pub fn with_shared_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The accepted age.
    #[must_use]
    pub fn past(&self) -> Duration {
        self.past
    }

    /// The accepted lead.
    #[must_use]
    pub fn future(&self) -> Duration {
        self.future
    }

    /// Past and future tolerance together: how long one timestamp stays acceptable.
    #[must_use]
    pub fn window(&self) -> Duration {
        self.past.saturating_add(self.future)
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Now, in Unix milliseconds.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Check a timestamp given in Unix milliseconds.
    ///
    /// # Errors
    ///
    /// `TimestampTooOld` or `TimestampInFuture`.
    pub fn check_ms(&self, ts_ms: i64) -> Result<(), VerifyError> {
        self.check_ms_at(ts_ms, self.now_ms())
    }

    /// Check a timestamp against a "now" already read from the clock.
    pub(crate) fn check_ms_at(&self, ts_ms: i64, now_ms: i64) -> Result<(), VerifyError> {
        let now = i128::from(now_ms);
        let ts = i128::from(ts_ms);
        let past = i128::try_from(self.past.as_millis()).unwrap_or(i128::MAX);
        let future = i128::try_from(self.future.as_millis()).unwrap_or(i128::MAX);
        if ts < now.saturating_sub(past) {
            return Err(
                VerifyError::new(VerifyErrorKind::TimestampTooOld).with_message(format!(
                    "timestamp is older than the {} s tolerance",
                    self.past.as_secs()
                )),
            );
        }
        if ts > now.saturating_add(future) {
            return Err(
                VerifyError::new(VerifyErrorKind::TimestampInFuture).with_message(format!(
                    "timestamp is more than {} s in the future",
                    self.future.as_secs()
                )),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn parses_only_plain_digits() {
        let s = TimeFormat::UnixSeconds;
        assert_eq!(s.parse_ms("t", "1614265330").unwrap(), 1_614_265_330_000);
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.5",
            "0x10",
            "9223372036854775807",
            "١٢٣",
        ] {
            assert!(s.parse_ms("t", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            TimeFormat::UnixMillis
                .parse_ms("t", "1693657560000")
                .unwrap(),
            1_693_657_560_000
        );
    }

    #[test]
    fn parses_rfc3339_with_nanos() {
        let ms = TimeFormat::Rfc3339
            .parse_ms("t", "2023-01-01T00:00:00.123456789Z")
            .unwrap();
        assert_eq!(ms, 1_672_531_200_123);
        assert!(
            TimeFormat::Rfc3339
                .parse_ms("t", "1969-12-31T23:59:59Z")
                .is_err()
        );
        assert!(TimeFormat::Rfc3339.parse_ms("t", "yesterday").is_err());
        assert_eq!(
            TimeFormat::Rfc3339.format_ms(1_672_531_200_123),
            "2023-01-01T00:00:00.123Z"
        );
    }

    #[test]
    fn extremes_do_not_overflow() {
        let f = Freshness::default().with_clock(FixedClock::at_ms(i64::MAX));
        assert!(f.check_ms(i64::MIN).is_err());
        assert!(f.check_ms(i64::MAX).is_ok());
        let f = Freshness::new(Duration::MAX, Duration::MAX).with_clock(FixedClock::at_ms(0));
        assert!(f.check_ms(i64::MIN).is_ok());
        assert!(f.check_ms(i64::MAX).is_ok());
        let f = Freshness::default().with_clock(FixedClock::at_ms(i64::MIN));
        assert_eq!(
            f.check_ms(i64::MAX).unwrap_err().kind(),
            VerifyErrorKind::TimestampInFuture
        );
    }

    #[test]
    fn boundaries_are_inclusive() {
        let f = Freshness::default().with_clock(FixedClock::at_secs(1000));
        assert!(f.check_ms(700_000).is_ok());
        assert!(f.check_ms(699_999).is_err());
        assert!(f.check_ms(1_300_000).is_ok());
        assert!(f.check_ms(1_300_001).is_err());
    }
}
