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
pub type TenantLoad = Pin<Box<dyn Future<Output = Answer> + Send + 'static>>;

/// A call's answer.
type Answer = Result<Option<Box<dyn Verifier>>, Box<dyn StdError + Send + Sync>>;

type LoadFn = dyn Fn(&str) -> TenantLoad + Send + Sync + 'static;

/// Most tenants remembered as unknown or failed at once; the oldest are forgotten first.
const MAX_SETTLED: usize = 10_000;

/// The longest a tenant is held unknown or failed (a day).
const MAX_HOLD: Duration = Duration::from_secs(86_400);

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
/// tenant not loaded yet is answered 503 with `Retry-After` (when the oldest call leaves the
/// minute), and a warning is logged. The function's future must bound its own time. A call
/// whose delivery is dropped (the client went away), or whose function panics, is
/// cancelled, and the deliveries that waited for it call again. Tenants loaded stay in the
/// registry until removed: [`Tenants::remove`](crate::Tenants::remove) one whose secret
/// changed, and its next delivery loads it again. A tenant inserted or removed while its call
/// is in flight keeps what the application did: the call's answer is discarded (a loaded
/// verifier never replaces one inserted), and the deliveries that waited for it call again.
///
/// The key step is where loading happens: [`Tenants::verify`](crate::Verifier::verify)
/// called alone, without [`Verifier::fetch_keys`](crate::Verifier::fetch_keys) first, never
/// loads, and answers 503 for a tenant not loaded yet.
///
/// # Security
///
/// - **Match ids exactly.** The function gets the id as the request sent it (a valid tenant
///   id, case and all). A lookup that ignores case, or otherwise maps two ids to one
///   tenant's keys, makes two tenants with one key: a delivery captured for one can be
///   replayed once to the other (see [`Tenants`](crate::Tenants)'s security notes).
/// - **The budget is shared.** Clients naming made-up ids spend the minute's calls for
///   everyone, so that tenants not loaded yet (every tenant, after a restart) are refused
///   with 503 until it frees. Give the receiver a
///   [`rate_limit`](crate::ReceiverBuilder::rate_limit) per source; inside
///   [`AllOf`](crate::AllOf), the load runs before the other members check anything.
/// - **Errors are logged.** A failed call's error is logged (its `Display`, at ERROR): keep
///   secrets, such as a database URL with its password, out of it.
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
    #[must_use]
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
        self.unknown_for = duration.min(MAX_HOLD);
        self
    }

    /// How long after a failed call a tenant's deliveries are refused (503) before the
    /// function is called again (default 10 seconds): a database that is down is not asked
    /// once per delivery.
    #[must_use]
    pub fn failures_held_for(mut self, duration: Duration) -> Self {
        self.failures_held_for = duration.min(MAX_HOLD);
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

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Its verifier is in the registry.
    Loaded,
    /// No verifier for now.
    Settled(Settled),
    /// Its answer was discarded (the tenant was inserted or removed meanwhile): the
    /// deliveries that waited for it call again.
    Discarded,
}

/// The registry a loaded verifier goes into: the `Tenants`'.
pub(crate) trait Registrar: Send + Sync + 'static {
    /// Whether the registry holds `tenant`.
    fn contains(&self, tenant: &str) -> bool;
    /// Insert `verifier` for `tenant` unless the registry holds it already; `Err` says why
    /// the registry refuses the verifier.
    fn admit(&self, tenant: &str, verifier: Box<dyn Verifier>) -> Result<(), String>;
}

/// One call in flight: the deliveries waiting for it are woken when it ends.
#[derive(Default)]
struct Signal {
    done: AtomicBool,
    /// The call ended without an answer to keep (cancelled, or discarded): a waiting
    /// delivery calls again.
    again: AtomicBool,
    /// The tenant was inserted or removed while the call was in flight: discard its answer.
    stale: AtomicBool,
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
struct Wait {
    signal: Arc<Signal>,
    /// Where this wait's waker is in the signal's list, once registered: each wait has one
    /// place, so a crowd waiting on one call costs O(1) per poll, not a scan of the crowd.
    /// (The list only grows until `finish` takes it, after which `done` answers first.)
    slot: Option<usize>,
}

impl Wait {
    fn new(signal: Arc<Signal>) -> Self {
        Self { signal, slot: None }
    }
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.signal.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let mut wakers = this
            .signal
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked again under the lock `finish` takes, so no wake-up falls in between.
        if this.signal.done.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        match this.slot.and_then(|slot| wakers.get_mut(slot)) {
            Some(waker) => {
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
            }
            None => {
                this.slot = Some(wakers.len());
                wakers.push(cx.waker().clone());
            }
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
    /// `settled`'s entries in the order they were made, to forget the oldest first (an
    /// entry whose time no longer matches the map's is an old one, skipped).
    order: VecDeque<(Box<str>, Duration)>,
    /// When the calls of the last 60 seconds started.
    started: VecDeque<Duration>,
    /// While the minute's calls are spent: when the oldest of them leaves the window.
    spent_until: Option<Duration>,
}

/// A [`TenantLoader`] at work: shared by every clone of its `Tenants`.
pub(crate) struct Loading {
    loader: TenantLoader,
    state: Mutex<State>,
}

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

    /// The work before `verify` can judge a delivery of `tenant`: wait for the call in
    /// flight, or start one; `None` when the registry holds the tenant, the tenant is
    /// settled for now, or the minute's calls are spent.
    pub(crate) fn fetch(
        self: &Arc<Self>,
        tenant: &str,
        registry: Arc<dyn Registrar>,
    ) -> Option<KeyFetch> {
        let now = self.now();
        let mut state = self.state();
        // Under the state lock, which a call's answer is put into the registry under: a
        // tenant loaded just now is seen here, and not loaded twice.
        if registry.contains(tenant) {
            return None;
        }
        if let Some(signal) = state.pending.get(tenant) {
            let (signal, loading, tenant) =
                (Arc::clone(signal), Arc::clone(self), tenant.to_owned());
            return Some(Box::pin(async move {
                Wait::new(Arc::clone(&signal)).await;
                if signal.again.load(Ordering::Acquire)
                    && let Some(call) = loading.fetch(&tenant, registry)
                {
                    call.await;
                }
            }));
        }
        if state
            .settled
            .get(tenant)
            .is_some_and(|(_, until)| *until > now)
        {
            return None;
        }
        if let Some(minute_ago) = now.checked_sub(Duration::from_secs(60)) {
            while state.started.front().is_some_and(|t| *t <= minute_ago) {
                state.started.pop_front();
            }
        }
        if state.started.len() >= self.loader.max_loads_per_minute {
            let until = state
                .started
                .front()
                .map_or(now, |oldest| oldest.saturating_add(Duration::from_secs(60)));
            if state.spent_until.is_none_or(|t| t <= now) {
                tracing::warn!(
                    "tenant loader: {} calls in the last minute, the most allowed; tenants not \
                     loaded yet are refused (503) until one leaves the window",
                    self.loader.max_loads_per_minute
                );
            }
            state.spent_until = Some(until);
            return None;
        }
        state.started.push_back(now);
        let signal = Arc::new(Signal::default());
        state.pending.insert(tenant.into(), Arc::clone(&signal));
        drop(state);
        // Made before the function is called, so that a panic in it leaves no call pending.
        let guard = Pending {
            loading: Arc::clone(self),
            tenant: tenant.into(),
            signal,
            ended: false,
        };
        let call = (self.loader.load)(tenant);
        Some(Box::pin(async move {
            let mut guard = guard;
            guard.end(call.await, &*registry);
            let again = guard.signal.again.load(Ordering::Acquire);
            let (loading, tenant) = (Arc::clone(&guard.loading), guard.tenant.clone());
            drop(guard);
            // The answer was discarded: this delivery, like those that waited, calls again.
            if again && let Some(call) = loading.fetch(&tenant, registry) {
                call.await;
            }
        }))
    }

    /// Put a call's answer into the registry, or settle the tenant, under the state lock.
    fn end(&self, tenant: &str, signal: &Signal, answer: Answer, registry: &dyn Registrar) {
        let mut state = self.state();
        let outcome = if signal.stale.load(Ordering::Acquire) {
            Outcome::Discarded
        } else {
            match answer {
                Ok(Some(verifier)) => match registry.admit(tenant, verifier) {
                    Ok(()) => Outcome::Loaded,
                    Err(why) => {
                        tracing::error!(tenant = %tenant, "tenant loader: {why}");
                        Outcome::Settled(Settled::Failed(VerifyErrorKind::NotConfigured))
                    }
                },
                Ok(None) => Outcome::Settled(Settled::Unknown),
                Err(error) => {
                    tracing::error!(tenant = %tenant, "tenant loader failed: {error}");
                    Outcome::Settled(Settled::Failed(VerifyErrorKind::KeyUnavailable))
                }
            }
        };
        state.pending.remove(tenant);
        match outcome {
            Outcome::Loaded => {
                state.settled.remove(tenant);
            }
            Outcome::Discarded => signal.again.store(true, Ordering::Release),
            Outcome::Settled(settled) => self.settle(&mut state, tenant, settled),
        }
    }

    fn settle(&self, state: &mut State, tenant: &str, settled: Settled) {
        let held = match settled {
            Settled::Unknown => self.loader.unknown_for,
            Settled::Failed(_) => self.loader.failures_held_for,
        };
        let until = self.now().saturating_add(held);
        state.settled.insert(tenant.into(), (settled, until));
        state.order.push_back((tenant.into(), until));
        while state.settled.len() > MAX_SETTLED {
            let Some((oldest, at)) = state.order.pop_front() else {
                break;
            };
            if state.settled.get(&oldest).is_some_and(|(_, t)| *t == at) {
                state.settled.remove(&oldest);
            }
        }
        // Entries made old by a later one linger in `order`; drop them once they outnumber
        // the live ones.
        if state.order.len() > 2 * state.settled.len() + 16 {
            let State { order, settled, .. } = state;
            order.retain(|(key, at)| settled.get(key).is_some_and(|(_, t)| t == at));
        }
    }

    /// The tenant was inserted or removed: a call in flight for it is discarded when it
    /// ends (its deliveries call again), and what was settled about it is forgotten.
    pub(crate) fn forget(&self, tenant: &str) {
        let mut state = self.state();
        if let Some(signal) = state.pending.get(tenant) {
            signal.stale.store(true, Ordering::Release);
        }
        state.settled.remove(tenant);
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
            // Not loaded: the minute's calls are spent, or another delivery's call is in
            // flight, or `verify` was called without the key step.
            None => match state.spent_until.filter(|until| *until > now) {
                Some(until) => unavailable(until.saturating_sub(now)),
                None => unavailable(Duration::from_secs(1)),
            },
        }
    }
}

fn unavailable(retry_after: Duration) -> VerifyError {
    VerifyError::new(VerifyErrorKind::KeyUnavailable)
        .with_message("the tenant's keys cannot be loaded now")
        .with_retry_after(retry_after.max(Duration::from_secs(1)))
}

/// A call in flight. When its future is dropped before the call ended (the delivery went
/// away, or the function or its future panicked), the tenant is left to the next delivery
/// and the deliveries waiting for the call call again; either way they are woken.
struct Pending {
    loading: Arc<Loading>,
    tenant: Box<str>,
    signal: Arc<Signal>,
    ended: bool,
}

impl Pending {
    fn end(&mut self, answer: Answer, registry: &dyn Registrar) {
        self.loading
            .end(&self.tenant, &self.signal, answer, registry);
        self.ended = true;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.ended {
            self.loading.state().pending.remove(&self.tenant);
            self.signal.again.store(true, Ordering::Release);
        }
        self.signal.finish();
    }
}
