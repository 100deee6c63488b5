//! [`TenantLoader`]: tenants loaded the first time a request names them.

use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};
use crate::error::{VerifyError, VerifyErrorKind};
use crate::verify::{KeyFetch, Verifier};

/// What a [`TenantLoader`]'s function answers: the tenant's verifier, `None` for no such
/// tenant, or why it could not tell (logged, never sent to the client).
pub type TenantLoad = Pin<
    Box<
        dyn Future<Output = Result<Option<Box<dyn Verifier>>, Box<dyn StdError + Send + Sync>>>
            + Send
            + 'static,
    >,
>;

type LoadFn = dyn Fn(&str) -> TenantLoad + Send + Sync + 'static;

/// Most tenants remembered as unknown or failed at once; the oldest are forgotten first.
const MAX_SETTLED: usize = 10_000;

/// Loads a tenant's verifier the first time a request names it — from a database, a secrets
/// manager — for a [`Tenants`](crate::Tenants) registry too large, or too changeable, to fill
/// up front.
///
/// When a request names a tenant the registry lacks, the pipeline's key step
/// ([`Delivery::fetch_keys`](crate::Delivery::fetch_keys), after the source checks and the
/// rate limit) calls the function once for that tenant, and the delivery waits for it:
///
/// - a verifier is inserted into the registry (as [`Tenants::insert`](crate::Tenants::insert)
///   would; one whose freshness window is too long is refused, logged, and the tenant's
///   deliveries are answered 500 `not_configured` for a while), then judges the delivery;
/// - `None` makes the tenant unknown: its deliveries are answered 401 `invalid_credentials`
///   without calling the function again for [`unknown_for`](Self::unknown_for) (default 1
///   minute);
/// - an error is logged, and the tenant's deliveries are answered 503 `key_unavailable` with
///   `Retry-After` (which senders retry) for [`failures_held_for`](Self::failures_held_for)
///   (default 10 seconds).
///
/// Deliveries of a tenant being loaded wait for that one call. At most
/// [`max_loads_per_minute`](Self::max_loads_per_minute) calls start in any minute (default
/// 600), so a flood of made-up tenant ids cannot turn into a flood of queries: past it, a
/// tenant not loaded yet is answered 503 with `Retry-After`. The function's future must bound
/// its own time; a call whose delivery is dropped (the client went away) is cancelled, and
/// the next delivery of the tenant calls again. Tenants loaded stay in the registry until
/// removed: [`Tenants::remove`](crate::Tenants::remove) one whose secret changed, and the next
/// delivery loads it again.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{Secret, StandardWebhooks, TenantLoader, Tenants, Verifier};
///
/// let tenants = Tenants::by_last_path_segment().loader(
///     TenantLoader::new(|tenant: &str| {
///         let tenant = tenant.to_owned();
///         Box::pin(async move {
///             // Look the tenant's secret up (a database query, say).
///             let secret = (tenant == "acme").then(|| Secret::from_text("acme's secret"));
///             match secret {
///                 Some(secret) => {
///                     let verifier: Box<dyn Verifier> = Box::new(StandardWebhooks::new(secret?)?);
///                     Ok(Some(verifier))
///                 }
///                 None => Ok(None),
///             }
///         })
///     })
///     .unknown_for(Duration::from_secs(30)),
/// )?;
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct TenantLoader {
    load: Arc<LoadFn>,
    unknown_for: Duration,
    failures_held_for: Duration,
    max_loads_per_minute: usize,
    clock: SharedClock,
}

impl TenantLoader {
    /// Load with `load`: called with a valid tenant id the registry lacks.
    pub fn new(load: impl Fn(&str) -> TenantLoad + Send + Sync + 'static) -> Self {
        Self {
            load: Arc::new(load),
            unknown_for: Duration::from_secs(60),
            failures_held_for: Duration::from_secs(10),
            max_loads_per_minute: 600,
            clock: Arc::new(SystemClock),
        }
    }

    /// How long a tenant the function did not find stays unknown before a delivery naming
    /// it calls the function again (default 1 minute).
    #[must_use]
    pub fn unknown_for(mut self, duration: Duration) -> Self {
        self.unknown_for = duration;
        self
    }

    /// How long after a failed call a tenant's deliveries are refused (503) before the
    /// function is called again (default 10 seconds): a database that is down is not asked
    /// once per delivery.
    #[must_use]
    pub fn failures_held_for(mut self, duration: Duration) -> Self {
        self.failures_held_for = duration;
        self
    }

    /// Most calls started in any 60 seconds (default 600, at least 1).
    #[must_use]
    pub fn max_loads_per_minute(mut self, loads: usize) -> Self {
        self.max_loads_per_minute = loads.max(1);
        self
    }

    /// The clock the durations above are measured on ([`Clock::monotonic`](crate::Clock::monotonic);
    /// the system's by default).
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

impl fmt::Debug for TenantLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantLoader")
            .field("unknown_for", &self.unknown_for)
            .field("failures_held_for", &self.failures_held_for)
            .field("max_loads_per_minute", &self.max_loads_per_minute)
            .finish_non_exhaustive()
    }
}

/// Why a tenant the registry lacks has no verifier now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// The function found no such tenant.
    Unknown,
    /// The call failed (`KeyUnavailable`) or gave a verifier the registry refuses
    /// (`NotConfigured`).
    Failed(VerifyErrorKind),
}

/// One call in flight: the deliveries waiting for it are woken when it ends.
#[derive(Default)]
struct Signal {
    done: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Signal {
    fn finish(&self) {
        self.done.store(true, Ordering::Release);
        let wakers =
            std::mem::take(&mut *self.wakers.lock().unwrap_or_else(PoisonError::into_inner));
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Waits for another delivery's call to end.
struct Wait(Arc<Signal>);

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let mut wakers = self.0.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked again under the lock `finish` takes, so no wake-up falls in between.
        if self.0.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[derive(Default)]
struct State {
    /// Calls in flight, by tenant.
    pending: HashMap<Box<str>, Arc<Signal>>,
    /// Tenants without a verifier for now, until a monotonic time.
    settled: HashMap<Box<str>, (Settled, Duration)>,
    /// `settled`'s keys in the order they were settled, to forget the oldest first.
    order: VecDeque<Box<str>>,
    /// When the calls of the last 60 seconds started.
    started: VecDeque<Duration>,
}

/// A [`TenantLoader`] at work: shared by every clone of its `Tenants`.
pub(crate) struct Loading {
    loader: TenantLoader,
    state: Mutex<State>,
}

/// What `Tenants::insert` would say of a loaded verifier.
pub(crate) type Admit = dyn Fn(&str, Box<dyn Verifier>) -> Result<(), String> + Send + Sync;

impl Loading {
    pub(crate) fn new(loader: TenantLoader) -> Self {
        Self {
            loader,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Duration {
        self.loader.clock.monotonic()
    }

    /// The work before `verify` can judge a delivery of `tenant`, a tenant the registry
    /// lacks: wait for a call in flight, or start one; `None` when the tenant is settled for
    /// now or the minute's calls are spent.
    pub(crate) fn fetch(self: &Arc<Self>, tenant: &str, admit: Arc<Admit>) -> Option<KeyFetch> {
        let now = self.now();
        let mut state = self.state();
        if let Some(signal) = state.pending.get(tenant) {
            return Some(Box::pin(Wait(Arc::clone(signal))));
        }
        if state
            .settled
            .get(tenant)
            .is_some_and(|(_, until)| *until > now)
        {
            return None;
        }
        let minute_ago = now.saturating_sub(Duration::from_secs(60));
        while state.started.front().is_some_and(|t| *t <= minute_ago) {
            state.started.pop_front();
        }
        if state.started.len() >= self.loader.max_loads_per_minute {
            return None;
        }
        state.started.push_back(now);
        let signal = Arc::new(Signal::default());
        state.pending.insert(tenant.into(), Arc::clone(&signal));
        drop(state);
        let call = (self.loader.load)(tenant);
        let guard = Pending {
            loading: Arc::clone(self),
            tenant: tenant.into(),
            signal,
            outcome: None,
        };
        Some(Box::pin(async move {
            let mut guard = guard;
            let outcome = match call.await {
                Ok(Some(verifier)) => match admit(&guard.tenant, verifier) {
                    Ok(()) => None,
                    Err(why) => {
                        tracing::error!(tenant = %guard.tenant, "tenant loader: {why}");
                        Some(Settled::Failed(VerifyErrorKind::NotConfigured))
                    }
                },
                Ok(None) => Some(Settled::Unknown),
                Err(error) => {
                    tracing::error!(tenant = %guard.tenant, "tenant loader failed: {error}");
                    Some(Settled::Failed(VerifyErrorKind::KeyUnavailable))
                }
            };
            guard.outcome = Some(outcome);
        }))
    }

    /// Why a delivery of `tenant`, a tenant the registry lacks, cannot be judged now (after
    /// [`fetch`](Self::fetch)).
    pub(crate) fn refusal(&self, tenant: &str) -> VerifyError {
        let now = self.now();
        let state = self.state();
        let settled = state.settled.get(tenant).filter(|(_, until)| *until > now);
        match settled {
            Some((Settled::Unknown, _)) => {
                VerifyError::new(VerifyErrorKind::InvalidCredentials).with_message("unknown tenant")
            }
            Some((Settled::Failed(VerifyErrorKind::NotConfigured), _)) => {
                VerifyError::new(VerifyErrorKind::NotConfigured)
            }
            Some((_, until)) => unavailable(until.saturating_sub(now)),
            // Being loaded by another delivery, or never loaded (the minute's calls were
            // spent, or `verify` was called without the key step): ask again shortly.
            None => unavailable(Duration::from_secs(1)),
        }
    }

    fn settle(&self, tenant: &str, outcome: Option<Settled>) {
        let now = self.now();
        let mut state = self.state();
        state.pending.remove(tenant);
        let Some(settled) = outcome else {
            state.settled.remove(tenant);
            return;
        };
        let held = match settled {
            Settled::Unknown => self.loader.unknown_for,
            Settled::Failed(_) => self.loader.failures_held_for,
        };
        let until = now.saturating_add(held);
        if state
            .settled
            .insert(tenant.into(), (settled, until))
            .is_none()
        {
            state.order.push_back(tenant.into());
        }
        while state.settled.len() > MAX_SETTLED {
            let Some(oldest) = state.order.pop_front() else {
                break;
            };
            state.settled.remove(&oldest);
        }
        // Keys removed from `settled` by a later success linger in `order`; drop them once
        // they outnumber the live ones.
        if state.order.len() > 2 * state.settled.len() + 16 {
            let State { order, settled, .. } = &mut *state;
            order.retain(|key| settled.contains_key(key));
        }
    }
}

fn unavailable(retry_after: Duration) -> VerifyError {
    VerifyError::new(VerifyErrorKind::KeyUnavailable)
        .with_message("the tenant's keys cannot be loaded now")
        .with_retry_after(retry_after.max(Duration::from_secs(1)))
}

/// A call in flight: when its future ends or is dropped (the delivery went away, or the
/// function panicked), the tenant is settled (or left to the next delivery) and the
/// deliveries waiting for it are woken.
struct Pending {
    loading: Arc<Loading>,
    tenant: Box<str>,
    signal: Arc<Signal>,
    /// Set when the call ended: `Some(None)` for a verifier inserted.
    outcome: Option<Option<Settled>>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        match self.outcome {
            Some(outcome) => self.loading.settle(&self.tenant, outcome),
            None => {
                self.loading.state().pending.remove(&self.tenant);
            }
        }
        self.signal.finish();
    }
}
