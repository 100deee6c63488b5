//! Observation: one tracing span per delivery and counters by outcome.
//!
//! The span is named `webhook.delivery` and carries `route`, `scheme`, `outcome`, `reason`,
//! `event_type`, `message_id`, `key_id`, `tenant` and `latency_ms`. It never carries a
//! secret or a signature. Of the payload it carries only the event type and id, and only
//! values an event id may be (visible ASCII, at most 256 bytes): a longer one, or one from an
//! unsigned header that breaks that rule, is recorded nowhere.

use std::sync::atomic::{AtomicU64, Ordering};

use tracing::Span;
use tracing::field::Empty;

use crate::error::VerifyErrorKind;

/// Every rejection kind, in the order of the counters.
const KINDS: [VerifyErrorKind; 19] = [
    VerifyErrorKind::MissingHeader,
    VerifyErrorKind::MalformedHeader,
    VerifyErrorKind::InvalidSignature,
    VerifyErrorKind::MissingCredentials,
    VerifyErrorKind::InvalidCredentials,
    VerifyErrorKind::TimestampTooOld,
    VerifyErrorKind::TimestampInFuture,
    VerifyErrorKind::SourceNotAllowed,
    VerifyErrorKind::HttpsRequired,
    VerifyErrorKind::BodyTooLarge,
    VerifyErrorKind::UnsupportedContentType,
    VerifyErrorKind::MalformedBody,
    VerifyErrorKind::UnknownEventType,
    VerifyErrorKind::Validation,
    VerifyErrorKind::RateLimited,
    VerifyErrorKind::InFlight,
    VerifyErrorKind::StoreUnavailable,
    VerifyErrorKind::KeyUnavailable,
    VerifyErrorKind::NotConfigured,
];

/// The outcome of one delivery, as recorded in its span and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted,
    Duplicate,
    HandlerFailed,
    /// Handed to a handler whose outcome nothing observes (an extractor used alone).
    HandedOn,
    Rejected(VerifyErrorKind),
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::HandlerFailed => "handler_failed",
            Self::HandedOn => "handed_on",
            Self::Rejected(_) => "rejected",
        }
    }
}

/// Counters of one receiver.
/// Aligned to two cache lines: a receiver's configuration is read by every request on every
/// core, and these counters are written by them, so they must not share a line (nor with the
/// receiver's reference count, which the alignment pushes onto a line of its own).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    handler_failures: AtomicU64,
    handed_on: AtomicU64,
    rejected: [AtomicU64; KINDS.len()],
    /// WARN lines left for refusals the rate limiter does not stand in front of.
    admission_lines: LineBudget,
}

/// At most [`ADMISSION_LINES_PER_SECOND`] WARN lines a second (per receiver) for refusals
/// made before the rate limiter is asked (413, 415, 403): a flood of them from sources the
/// allowlist refuses, or with a content type the route does not take, is never answered
/// 429, and would otherwise write one line per request. Past the budget they are logged at
/// DEBUG; the counters and the span still show every one.
#[derive(Debug, Default)]
struct LineBudget {
    /// The second the count is for (since the process's first use), in the high half, and
    /// the lines taken in it, in the low half: one word, so that threads racing over a
    /// second's boundary neither reset the count twice nor lose what others took.
    state: AtomicU64,
}

const ADMISSION_LINES_PER_SECOND: u64 = 10;

impl LineBudget {
    fn take(&self) -> bool {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let second = START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs()
            .min(u64::from(u32::MAX));
        self.state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
                let (seen, used) = (state >> 32, state & u64::from(u32::MAX));
                if second > seen {
                    Some(second << 32 | 1)
                } else if second == seen && used < ADMISSION_LINES_PER_SECOND {
                    Some(state + 1)
                } else {
                    // Spent, or a reading older than the count's second: no line.
                    None
                }
            })
            .is_ok()
    }
}

impl Counters {
    fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Accepted => &self.accepted,
            Outcome::Duplicate => &self.duplicates,
            Outcome::HandlerFailed => &self.handler_failures,
            Outcome::HandedOn => &self.handed_on,
            Outcome::Rejected(kind) => {
                match KINDS
                    .iter()
                    .position(|k| *k == kind)
                    .and_then(|i| self.rejected.get(i))
                {
                    Some(counter) => counter,
                    None => return,
                }
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            accepted: self.accepted.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            handler_failures: self.handler_failures.load(Ordering::Relaxed),
            handed_on: self.handed_on.load(Ordering::Relaxed),
            rejected: KINDS
                .iter()
                .zip(&self.rejected)
                .map(|(kind, n)| (*kind, n.load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }
}

/// A snapshot of a receiver's counters, from [`Receiver::stats`](crate::Receiver::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Deliveries whose handler succeeded.
    pub accepted: u64,
    /// Duplicates answered without running the handler.
    pub duplicates: u64,
    /// Deliveries whose handler failed (non-2xx, error or panic); their claim was released.
    pub handler_failures: u64,
    /// Verified deliveries handed to a handler whose outcome nothing observed (an adapter's
    /// extractor used without its layer or middleware): neither accepted nor failed as far
    /// as the receiver knows, and their sources are not trusted by the rate limiter.
    pub handed_on: u64,
    /// Rejections by kind (kinds never seen are left out).
    pub rejected: Vec<(VerifyErrorKind, u64)>,
}

impl Stats {
    /// Rejections of one kind.
    #[must_use]
    pub fn rejected(&self, kind: VerifyErrorKind) -> u64 {
        self.rejected
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// Every rejection.
    #[must_use]
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().map(|(_, n)| n).sum()
    }
}

/// The span of one delivery.
pub(crate) fn delivery_span(route: &str) -> Span {
    tracing::info_span!(
        "webhook.delivery",
        route = %route,
        scheme = Empty,
        outcome = Empty,
        reason = Empty,
        event_type = Empty,
        message_id = Empty,
        key_id = Empty,
        tenant = Empty,
        latency_ms = Empty,
    )
}

/// Record the end of a delivery: its outcome in the span and the counters, and one event.
/// `latency_ms` is `None` when the delivery did not time itself (a span nothing records).
pub(crate) fn finish(span: &Span, counters: &Counters, outcome: Outcome, latency_ms: Option<u64>) {
    counters.count(outcome);
    span.record("outcome", outcome.name());
    if let Some(latency_ms) = latency_ms {
        span.record("latency_ms", latency_ms);
    }
    match outcome {
        Outcome::Rejected(kind) => {
            span.record("reason", kind.code());
            // A key that cannot be fetched is logged at WARN here: a sender can cause it on
            // every request (a made-up certificate address), and the fetch's own failure is
            // logged at ERROR once per attempt.
            if kind == VerifyErrorKind::NotConfigured || kind == VerifyErrorKind::StoreUnavailable {
                tracing::error!(parent: span, reason = kind.code(), "webhook delivery refused");
            } else if kind == VerifyErrorKind::RateLimited {
                // The limiter is what stands between a flood and everything after it, the
                // logs included: one line per refused request would let the flood fill them.
                // The counters and the span still show every one.
                tracing::debug!(parent: span, reason = kind.code(), "webhook delivery rejected");
            } else if matches!(
                kind,
                VerifyErrorKind::BodyTooLarge
                    | VerifyErrorKind::UnsupportedContentType
                    | VerifyErrorKind::SourceNotAllowed
                    | VerifyErrorKind::HttpsRequired
            ) && !counters.admission_lines.take()
            {
                // Refused before the limiter is asked: no 429 ever slows these down.
                tracing::debug!(parent: span, reason = kind.code(), "webhook delivery rejected");
            } else {
                tracing::warn!(parent: span, reason = kind.code(), "webhook delivery rejected");
            }
        }
        Outcome::HandlerFailed => {
            tracing::warn!(parent: span, "webhook handler failed; claim released");
        }
        Outcome::Accepted | Outcome::Duplicate | Outcome::HandedOn => {
            tracing::info!(parent: span, outcome = outcome.name(), "webhook delivery");
        }
    }
}
