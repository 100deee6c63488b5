//! [`Receivers`]: one receiver per route path.

use std::collections::HashMap;

use webhook_core::Receiver;

/// One [`Receiver`] per route, for apps with several webhook routes: rocket manages one value
/// per type, so a single managed `Receiver` serves every route that has no entry here.
///
/// The key is the matched route's path as mounted (base and route path joined, without the
/// query), e.g. `/webhooks/github`; for a route with dynamic segments, its pattern
/// (`/webhooks/<provider>`).
///
/// # Examples
///
/// ```
/// use webhook_core::{Receiver, Secret, StandardWebhooks};
/// use webhook_rocket::{Receivers, WebhookFairing};
///
/// let email = Receiver::builder()
///     .route("email")
///     .verifier(StandardWebhooks::new(Secret::random(24))?)
///     .build()?;
/// let receivers = Receivers::new().route("/webhooks/email", email);
/// assert!(receivers.get("/webhooks/email").is_some());
/// let _rocket = rocket::build().manage(receivers).attach(WebhookFairing);
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Receivers {
    by_path: HashMap<String, Receiver>,
}

impl Receivers {
    /// No routes yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve the route mounted at `path` with `receiver` (replacing an earlier one).
    #[must_use]
    pub fn route(mut self, path: impl Into<String>, receiver: Receiver) -> Self {
        self.by_path.insert(path.into(), receiver);
        self
    }

    /// The receiver of the route at `path`.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Receiver> {
        self.by_path.get(path)
    }

    /// The number of routes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Whether no route is configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}
