//! [`Tenants`]: one route for many senders, each verified with its own keys.

mod loader;

pub use loader::{TenantLoad, TenantLoader};

use loader::{Loading, Registrar};

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::request::WebhookRequest;
use crate::verify::{KeyFetch, Proof, Verifier};

/// The longest tenant id accepted, in bytes.
const MAX_TENANT_LEN: usize = 64;

/// The default [`Tenants::max_freshness_window`]: twice the receiver's default tolerance.
const DEFAULT_MAX_WINDOW: Duration = Duration::from_secs(600);

/// Each tenant's verifier, by tenant id.
type Registry = HashMap<Box<str>, Arc<dyn Verifier>>;

/// Where a request names its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TenantFrom {
    /// A header that appears exactly once.
    Header(String),
    /// The last segment of the URL's path.
    LastPathSegment,
    /// A query parameter that appears exactly once.
    Query(String),
}

/// Verifies each delivery with the keys of the tenant the request names: one route for many
/// senders, each with secrets of its own (every customer's Mailgun account, every
/// workspace's Standard Webhooks endpoint).
///
/// The request names its tenant in a header ([`by_header`](Self::by_header)), in the last
/// segment of its URL's path ([`by_last_path_segment`](Self::by_last_path_segment):
/// `/webhooks/mail/{tenant}`) or in a query parameter ([`by_query`](Self::by_query)). That
/// tenant's verifier then judges the request alone: a delivery signed with another tenant's
/// key is refused, whatever the request claims. The [`Proof`] names the tenant
/// ([`Proof::tenant`]), the delivery's span records it (for a refused delivery too: the
/// tenant the request named, from [`VerifyError::tenant`]), and the replay store keeps each
/// tenant's deliveries apart, so two senders that happen to use the same message id never
/// deduplicate each other.
///
/// **The registry changes at run time.** Clones of a `Tenants` share it: keep one after
/// handing another to the [`Receiver`](crate::Receiver), then [`insert`](Self::insert) a new
/// tenant, replace a tenant's verifier to rotate its secrets, or [`remove`](Self::remove) it,
/// without restarting. A delivery already being verified finishes with the verifier it
/// started with.
///
/// **Or loaded when first named.** With a [`loader`](Self::loader), a tenant the registry
/// lacks is looked up (in a database, a secrets manager) the first time a request names it,
/// once however many of its deliveries arrive together, and inserted: see [`TenantLoader`].
///
/// What the receiver must know before any tenant exists is fixed when the `Tenants` is made,
/// and every verifier inserted must fit it:
///
/// - its [`freshness_window`](Verifier::freshness_window) is at most
///   [`max_freshness_window`](Self::max_freshness_window) (default 10 minutes, what the
///   default 5-minute tolerance past and future spans), so the replay store's retention
///   covers every tenant's window;
/// - a verifier that signs the request URL (Twilio, Square, HubSpot…) only where adapters
///   build that URL: always for the path and query selections, which read it, and for a
///   header selection declared [`signing_urls`](Self::signing_urls). They build it from the
///   receiver's [`public_base_url`](crate::ReceiverBuilder::public_base_url), else from the
///   request's `Host`, which must then be a host name or address with an optional port (401
///   `missing_header` or `malformed_header` otherwise; see
///   [`Receiver::request_url`](crate::Receiver::request_url));
/// - it always reports that it requires a replay store, since a tenant inserted after the
///   receiver was built may need one (PayPal's scheme does) and the receiver checks this only
///   when it is built: a receiver of tenants cannot be built
///   [`without_replay_protection`](crate::ReceiverBuilder::without_replay_protection).
///
/// Tenant ids are 1 to 64 characters of `A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_`, `.` and `~`
/// (the characters a URL never needs to percent-encode), other than `.` and `..`; a request
/// naming anything else is refused without a lookup. A header, path segment or query value is
/// compared as sent, never percent-decoded.
///
/// | the request | answer |
/// | --- | --- |
/// | names no tenant (header absent, path ends in `/`, no query parameter) | 401 `missing_header` (header) or `missing_credentials` |
/// | names it twice, or not as a tenant id | 401 `malformed_header` (header) or `invalid_credentials` |
/// | names a tenant not in the registry (nor found by the loader) | 401 `invalid_credentials` (“unknown tenant”) |
/// | names a tenant the loader cannot look up now | 503 `key_unavailable` with `Retry-After` (500 `not_configured` for a verifier the registry refuses) |
/// | names a tenant | that tenant's verifier decides |
///
/// # Security
///
/// - **A tenant is proven by its keys alone.** Give each tenant keys of its own. Where
///   several tenants share a key (one signing certificate, one JWT issuer, the same secret
///   inserted twice), a delivery signed for one of them verifies under each of the others
///   too, and since the store keeps tenants apart, a captured delivery can be replayed once
///   to each of their URLs.
/// - **Tenant ids are names, not secrets.** An unknown tenant is answered differently from a
///   known tenant's failed signature, so a client can tell which ids exist.
/// - **Tenants share the receiver's limits**: its rate limit is per source address, not per
///   tenant, and its replay store's capacity is shared by all of them.
/// - **No decryptor**: a receiver with a `Tenants` verifier cannot decrypt payloads
///   ([`Verifier::signs_body`] is `false`: which tenants' schemes sign the body is not known
///   when the receiver is built), and one decryptor would open every tenant's bodies with one
///   key ring anyway. Seal per tenant on a receiver of its own.
/// - **[`Proof::tenant`](crate::Proof::tenant) is the tenant that verified the delivery.**
///   Read it, not the path or query again: a query naming the parameter twice, or with
///   escapes (`t%65nant`), is refused here, but another parser may read the URL otherwise.
/// - **A [`TenantLoader`]'s "unknown" answer is remembered** for
///   [`unknown_for`](TenantLoader::unknown_for): a client that names a tenant just before it
///   is created makes its first deliveries 401 for that long. Call
///   [`insert`](Self::insert) (or [`remove`](Self::remove), which also forgets the answer)
///   when a tenant is created or its keys change, after the change is written where the
///   loader reads.
///
/// `Debug` shows where the tenant is read and how many tenants there are, never an id or a
/// key.
///
/// # Examples
///
/// ```
/// use webhook_core::{Outgoing, Secret, Signer, StandardWebhooks, StandardWebhooksSigner,
///     Tenants, Verifier, WebhookRequest};
///
/// let acme = Secret::random(24);
/// let globex = Secret::random(24);
/// let tenants = Tenants::by_last_path_segment()
///     .tenant("acme", StandardWebhooks::new(acme.clone())?)?
///     .tenant("globex", StandardWebhooks::new(globex.clone())?)?;
///
/// // Acme's sender signs with Acme's secret and posts to Acme's URL.
/// let body = br#"{"type":"ping"}"#;
/// let headers = StandardWebhooksSigner::new(acme.clone()).sign(&Outgoing::new(body))?;
/// let mut request = WebhookRequest::new(body).with_url("https://example.com/webhooks/acme");
/// for (name, value) in headers.iter() {
///     request = request.with_header(name, value);
/// }
/// assert_eq!(tenants.verify(&request)?.tenant(), Some("acme"));
///
/// // The same delivery posted to Globex's URL is refused: Globex's key did not sign it.
/// let mut elsewhere = WebhookRequest::new(body).with_url("https://example.com/webhooks/globex");
/// for (name, value) in headers.iter() {
///     elsewhere = elsewhere.with_header(name, value);
/// }
/// assert_eq!(tenants.verify(&elsewhere).unwrap_err().status(), 401);
///
/// // A clone shares the registry: remove Globex at run time.
/// let registry = tenants.clone();
/// assert!(registry.remove("globex"));
/// assert!(!tenants.contains("globex"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Tenants {
    from: TenantFrom,
    limits: Limits,
    registry: Arc<RwLock<Registry>>,
    loading: Option<Arc<Loading>>,
}

impl Tenants {
    fn new(from: TenantFrom) -> Self {
        // The path and query selections read the URL, so it is built for every delivery
        // anyway; a header selection builds it only when declared.
        let urls = !matches!(from, TenantFrom::Header(_));
        Self {
            from,
            limits: Limits {
                max_window: DEFAULT_MAX_WINDOW,
                urls,
            },
            registry: Arc::default(),
            loading: None,
        }
    }

    /// Tenants named by a header that the request carries exactly once (`X-Tenant-Id`, say,
    /// where the sender lets you set headers of your own).
    #[must_use]
    pub fn by_header(name: impl Into<String>) -> Self {
        Self::new(TenantFrom::Header(name.into()))
    }

    /// Tenants named by the last segment of the URL's path: `/webhooks/mail/acme` names
    /// `acme`. Mount the route with a path parameter there (axum `/webhooks/mail/{tenant}`,
    /// actix-web `/webhooks/mail/{tenant}`, rocket `/webhooks/mail/<tenant>`).
    #[must_use]
    pub fn by_last_path_segment() -> Self {
        Self::new(TenantFrom::LastPathSegment)
    }

    /// Tenants named by a query parameter that the URL carries exactly once
    /// (`/webhooks/mail?tenant=acme`). The value is compared as sent, not percent-decoded:
    /// tenant ids hold no character that needs encoding.
    #[must_use]
    pub fn by_query(name: impl Into<String>) -> Self {
        Self::new(TenantFrom::Query(name.into()))
    }

    /// The longest [`freshness_window`](Verifier::freshness_window) a tenant's verifier may
    /// have (default 10 minutes). The receiver keeps processed deliveries at least this long,
    /// so raise it before inserting a verifier with a longer window (Amazon SNS: 1 hour).
    /// Set it first: a receiver sizes its store's retention from it when it is built, so it
    /// cannot change once the registry has been cloned.
    ///
    /// # Errors
    ///
    /// The registry has been cloned (a receiver may hold it); a tenant already in the
    /// registry has a longer window.
    pub fn max_freshness_window(mut self, window: Duration) -> Result<Self, ConfigError> {
        if Arc::strong_count(&self.registry) > 1 {
            return Err(ConfigError::new(
                "tenants: set the maximum freshness window before cloning the registry or \
                 building a receiver with it",
            ));
        }
        if let Some(id) = self
            .read()
            .iter()
            .find(|(_, v)| v.freshness_window().is_some_and(|w| w > window))
            .map(|(id, _)| id.to_string())
        {
            return Err(ConfigError::new(format!(
                "tenants: tenant `{id}` accepts timestamps over a longer window than {} s",
                window.as_secs()
            )));
        }
        self.limits.max_window = window;
        Ok(self)
    }

    /// Load tenants the registry lacks the first time a request names them (see
    /// [`TenantLoader`]). Set it first: it cannot be set once the registry has been cloned.
    ///
    /// # Errors
    ///
    /// The registry has been cloned (a receiver may hold it).
    pub fn loader(mut self, loader: TenantLoader) -> Result<Self, ConfigError> {
        if Arc::strong_count(&self.registry) > 1 {
            return Err(ConfigError::new(
                "tenants: set the loader before cloning the registry or building a receiver \
                 with it",
            ));
        }
        self.loading = Some(Arc::new(Loading::new(loader)));
        Ok(self)
    }

    /// Have adapters build the request URL for every delivery, so that tenants whose schemes
    /// sign it (Twilio, Square, HubSpot…) can be inserted into a registry that selects by
    /// header: from the receiver's [`public_base_url`](crate::ReceiverBuilder::public_base_url),
    /// else from the request's `Host`. The path and query selections build it always. Set it
    /// first: it cannot be set once the registry has been cloned.
    ///
    /// # Errors
    ///
    /// The registry has been cloned (a receiver may hold it).
    pub fn signing_urls(mut self) -> Result<Self, ConfigError> {
        if Arc::strong_count(&self.registry) > 1 {
            return Err(ConfigError::new(
                "tenants: declare URL signing before cloning the registry or building a \
                 receiver with it",
            ));
        }
        self.limits.urls = true;
        Ok(self)
    }

    /// [`insert`](Self::insert), for chaining while building.
    ///
    /// # Errors
    ///
    /// As [`insert`](Self::insert).
    pub fn tenant(self, id: &str, verifier: impl Verifier) -> Result<Self, ConfigError> {
        self.insert(id, verifier)?;
        Ok(self)
    }

    /// Whether `id` is a valid tenant id (see the type's docs): to check a list of tenants
    /// before applying any of it.
    ///
    /// ```
    /// use webhook_core::Tenants;
    /// assert!(Tenants::is_tenant_id("acme-eu.1"));
    /// assert!(!Tenants::is_tenant_id("acme corp"));
    /// ```
    #[must_use]
    pub fn is_tenant_id(id: &str) -> bool {
        is_tenant_id(id)
    }

    /// Add a tenant, or replace its verifier (to rotate its secrets). Every clone of this
    /// `Tenants`, and so the receiver it was given to, sees the change at once.
    ///
    /// # Errors
    ///
    /// `id` is not a tenant id (see the type's docs); the verifier's freshness window is
    /// longer than [`max_freshness_window`](Self::max_freshness_window); it signs the URL,
    /// and the registry selects by header without [`signing_urls`](Self::signing_urls); its
    /// [`check_config`](Verifier::check_config) fails (an empty `AnyOf`).
    pub fn insert(&self, id: &str, verifier: impl Verifier) -> Result<(), ConfigError> {
        if let Some(loading) = &self.loading {
            loading.forget(id);
        }
        admit(&self.registry, self.limits, id, Arc::new(verifier), true)
    }

    /// Remove a tenant: its deliveries are refused from now on. `false` when it was not there.
    /// With a [`loader`](Self::loader), the tenant's next delivery asks the loader again (an
    /// "unknown" answer it gave is forgotten too), so remove a tenant after its change is
    /// written where the loader reads: a delivery in between would load the old keys.
    pub fn remove(&self, id: &str) -> bool {
        if let Some(loading) = &self.loading {
            loading.forget(id);
        }
        self.registry
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some()
    }

    /// Whether the registry holds `id`.
    #[must_use]
    pub fn contains(&self, id: &str) -> bool {
        self.read().contains_key(id)
    }

    /// The ids of the tenants the registry holds, sorted (to bring it in line with a list
    /// of tenants kept elsewhere: remove those the list no longer has).
    #[must_use]
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.read().keys().map(|id| id.to_string()).collect();
        ids.sort_unstable();
        ids
    }

    /// How many tenants the registry holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the registry holds no tenant (every delivery is then refused).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant the request names, checked to be a tenant id.
    fn named<'r>(&self, request: &WebhookRequest<'r>) -> Result<&'r str, VerifyError> {
        let parameter: &str = match &self.from {
            TenantFrom::Header(name) => {
                let value = request.require_single(name)?;
                if !is_tenant_id(value) {
                    return Err(VerifyError::malformed_header(name, "not a tenant id"));
                }
                return Ok(value);
            }
            TenantFrom::LastPathSegment => {
                let (path, _) = split_url(request.url().unwrap_or_default());
                let segment = path.rsplit('/').next().filter(|s| !s.is_empty());
                return match segment {
                    None => Err(VerifyError::new(VerifyErrorKind::MissingCredentials)
                        .with_message("the URL's last path segment names no tenant")),
                    Some(id) if is_tenant_id(id) => Ok(id),
                    Some(_) => Err(invalid(Cow::Borrowed(
                        "the URL's last path segment is not a tenant id",
                    ))),
                };
            }
            TenantFrom::Query(name) => name,
        };
        let (_, query) = split_url(request.url().unwrap_or_default());
        // A name written with escapes that decodes to the parameter's (`t%65nant`) is the same
        // parameter to a framework's query parser: ambiguous, as a repeated one is.
        let escaped = query
            .unwrap_or_default()
            .split('&')
            .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
            .any(|key| {
                key.contains(['%', '+'])
                    && percent_encoding::percent_decode_str(&key.replace('+', " "))
                        .decode_utf8()
                        .is_ok_and(|decoded| decoded == parameter)
            });
        if escaped {
            return Err(invalid(Cow::Owned(format!(
                "query parameter `{parameter}` is written with escapes"
            ))));
        }
        let mut values = query
            .unwrap_or_default()
            .split('&')
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .filter(|(key, _)| *key == parameter)
            .map(|(_, value)| value);
        let first = values.next().filter(|s| !s.is_empty());
        if values.next().is_some() {
            return Err(invalid(Cow::Owned(format!(
                "query parameter `{parameter}` is repeated"
            ))));
        }
        match first {
            None => Err(VerifyError::new(VerifyErrorKind::MissingCredentials)
                .with_message(format!("query parameter `{parameter}` names no tenant"))),
            Some(id) if is_tenant_id(id) => Ok(id),
            Some(_) => Err(invalid(Cow::Owned(format!(
                "query parameter `{parameter}` is not a tenant id"
            )))),
        }
    }

    /// The verifier of the tenant the request names.
    fn select<'r>(
        &self,
        request: &WebhookRequest<'r>,
    ) -> Result<(&'r str, Arc<dyn Verifier>), VerifyError> {
        let id = self.named(request)?;
        let verifier = self.read().get(id).cloned();
        let verifier = verifier.ok_or_else(|| {
            match &self.loading {
                Some(loading) => loading.refusal(id),
                None => invalid(Cow::Borrowed("unknown tenant")),
            }
            .with_tenant(id)
        })?;
        Ok((id, verifier))
    }
}

/// What the receiver was told before any tenant existed, and every tenant's verifier must fit.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// The longest freshness window.
    max_window: Duration,
    /// Whether adapters build the request URL (for tenants' schemes that sign it).
    urls: bool,
}

/// Insert `verifier` for `id` into `registry` when `id` is a tenant id and the verifier fits
/// `limits`.
fn admit(
    registry: &RwLock<Registry>,
    limits: Limits,
    id: &str,
    verifier: Arc<dyn Verifier>,
    replace: bool,
) -> Result<(), ConfigError> {
    if !is_tenant_id(id) {
        return Err(ConfigError::new(format!(
            "tenants: a tenant id is 1 to {MAX_TENANT_LEN} characters of A-Z, a-z, 0-9, \
             `-`, `_`, `.` and `~`"
        )));
    }
    if let Some(window) = verifier.freshness_window()
        && window > limits.max_window
    {
        return Err(ConfigError::new(format!(
            "tenants: tenant `{id}`'s verifier accepts timestamps over {} s, longer than \
             this registry's maximum of {} s; raise it with `max_freshness_window`",
            window.as_secs(),
            limits.max_window.as_secs()
        )));
    }
    verifier
        .check_config()
        .map_err(|e| ConfigError::new(format!("tenants: tenant `{id}`: {e}")))?;
    if verifier.signs_url() && !limits.urls {
        return Err(ConfigError::new(format!(
            "tenants: tenant `{id}`'s verifier signs the request URL, which a registry \
             selecting by header has built only when declared with `signing_urls`"
        )));
    }
    let mut registry = registry.write().unwrap_or_else(PoisonError::into_inner);
    if replace {
        registry.insert(id.into(), verifier);
    } else {
        registry.entry(id.into()).or_insert(verifier);
    }
    Ok(())
}

/// The registry as a [`TenantLoader`] fills it: a verifier loaded never replaces one inserted.
struct Handle {
    registry: Arc<RwLock<Registry>>,
    limits: Limits,
}

impl Registrar for Handle {
    fn contains(&self, tenant: &str) -> bool {
        self.registry
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(tenant)
    }

    fn admit(&self, tenant: &str, verifier: Box<dyn Verifier>) -> Result<(), String> {
        admit(
            &self.registry,
            self.limits,
            tenant,
            Arc::from(verifier),
            false,
        )
        .map_err(|e| e.to_string())
    }
}

fn invalid(message: Cow<'static, str>) -> VerifyError {
    VerifyError::new(VerifyErrorKind::InvalidCredentials).with_message(message)
}

/// 1 to 64 characters a URL never percent-encodes, not `.` or `..` (which no URL's path can
/// hold as a segment: clients remove them).
fn is_tenant_id(id: &str) -> bool {
    (1..=MAX_TENANT_LEN).contains(&id.len())
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// The path and the query of a URL: `scheme://authority/path?query#fragment`, or a path
/// alone (`/path?query`). The authority ends at the first `/`, `?` or `#`; a `://` counts
/// only after a scheme (letters, digits, `+`, `-`, `.`), so one inside a path or a query
/// moves nothing.
fn split_url(url: &str) -> (&str, Option<&str>) {
    let url = url.split('#').next().unwrap_or_default();
    let after_authority = match url.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')) =>
        {
            rest.find(['/', '?'])
                .map_or("", |i| rest.get(i..).unwrap_or_default())
        }
        _ => url,
    };
    match after_authority.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (after_authority, None),
    }
}

impl Verifier for Tenants {
    /// A header or query parameter name no request could carry is refused: every delivery
    /// would be 401.
    fn check_config(&self) -> Result<(), ConfigError> {
        let visible = |name: &str, also_refused: &[u8]| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !also_refused.contains(&b))
        };
        match &self.from {
            // RFC 9110 field names are tokens: no separators.
            TenantFrom::Header(name) if !visible(name, b"\"(),/:;<=>?@[\\]{}") => {
                Err(ConfigError::new(format!(
                    "tenants: `{}` is not a header name",
                    name.escape_debug()
                )))
            }
            // Compared as sent, so a name that a URL would write escaped never matches.
            TenantFrom::Query(name) if !visible(name, b"=&#%+") => Err(ConfigError::new(format!(
                "tenants: `{}` is not a query parameter name a URL carries unescaped",
                name.escape_debug()
            ))),
            _ => Ok(()),
        }
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let (id, verifier) = self.select(request)?;
        match verifier.verify(request) {
            Ok(proof) => Ok(proof.with_tenant(id)),
            Err(error) => Err(error.with_tenant(id)),
        }
    }

    fn freshness_window(&self) -> Option<Duration> {
        Some(self.limits.max_window)
    }

    /// `true` for the path and query selections, which read the URL, and for a header
    /// selection declared [`signing_urls`](Self::signing_urls).
    fn signs_url(&self) -> bool {
        self.limits.urls
    }

    /// Always `true`: a tenant inserted after the receiver was built may need a store (the
    /// receiver checks only when it is built), and the store keeps tenants apart.
    fn requires_replay_store(&self) -> bool {
        true
    }

    /// The named tenant's own key step; for a tenant the registry lacks, its
    /// [`TenantLoader`] call (or the wait for one in flight).
    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<KeyFetch> {
        let id = self.named(request).ok()?;
        let verifier = self.read().get(id).cloned();
        match (verifier, &self.loading) {
            (Some(verifier), _) => verifier.fetch_keys(request),
            (None, Some(loading)) => loading
                .fetch(
                    id,
                    Arc::new(Handle {
                        registry: Arc::clone(&self.registry),
                        limits: self.limits,
                    }),
                )
                .or_else(|| {
                    // No load to wait for: another delivery's load may have inserted the
                    // tenant since the registry was read above, and its own key step is
                    // then this delivery's to take.
                    let verifier = self.read().get(id).cloned()?;
                    verifier.fetch_keys(request)
                }),
            (None, None) => None,
        }
    }
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenants")
            .field("from", &self.from)
            .field("tenants", &self.len())
            .field("max_freshness_window", &self.limits.max_window)
            .field("loader", &self.loading.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_url_safe_and_bounded() {
        assert!(is_tenant_id("acme"));
        assert!(is_tenant_id("org_1.eu-west~2"));
        assert!(is_tenant_id(&"a".repeat(64)));
        assert!(!is_tenant_id(&"a".repeat(65)));
        assert!(!is_tenant_id(""));
        assert!(is_tenant_id("..."));
        for bad in [
            "a b", "a/b", "a:b", "a%20", "a?b", "ü", "a\n", "a@b", "a+b", ".", "..",
        ] {
            assert!(!is_tenant_id(bad), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the URL, the path selection never panics, and what it names is a tenant
        /// id that is the URL path's last segment, as written.
        #[test]
        fn the_path_names_only_its_last_segment(
            url in "(https?://[a-z.]{1,8})?(/[a-z%:.?#=&~_-]{0,6}){0,4}(\\?[a-z=&/%]{0,8})?(#[a-z/]{0,4})?"
        ) {
            let tenants = Tenants::by_last_path_segment();
            let request = WebhookRequest::new(b"").with_url(&url);
            if let Ok(id) = tenants.named(&request) {
                proptest::prop_assert!(is_tenant_id(id));
                let (path, _) = split_url(&url);
                let segment = format!("/{id}");
                proptest::prop_assert!(path.ends_with(&segment), "{} named {}", url, id);
                proptest::prop_assert!(!path.contains('?') && !path.contains('#'));
            }
            let by_query = Tenants::by_query("t");
            if let Ok(id) = by_query.named(&request) {
                proptest::prop_assert!(is_tenant_id(id));
                let (_, query) = split_url(&url);
                let query = query.unwrap_or_default();
                let pair = format!("t={id}");
                proptest::prop_assert!(query.split('&').any(|p| p == pair), "{} named {}", url, id);
            }
        }

        /// A query with exactly one `t=<id>` pair, among others, names that id.
        #[test]
        fn the_query_names_its_one_tenant_pair(
            path in "(/[a-z]{1,6}){0,3}",
            before in "([a-su-z]{1,4}=[a-z]{0,4}&){0,3}",
            id in "[a-z0-9._~-]{1,8}",
            after in "(&[a-su-z]{1,4}=[a-z]{0,4}){0,3}",
        ) {
            proptest::prop_assume!(is_tenant_id(&id));
            let url = format!("https://hooks.example{path}?{before}t={id}{after}");
            let request = WebhookRequest::new(b"").with_url(&url);
            proptest::prop_assert_eq!(Tenants::by_query("t").named(&request).ok(), Some(id.as_str()));
        }
    }

    #[test]
    fn urls_split_into_path_and_query() {
        assert_eq!(split_url("https://h/w/acme"), ("/w/acme", None));
        assert_eq!(
            split_url("https://h/w/acme?t=1#f"),
            ("/w/acme", Some("t=1"))
        );
        assert_eq!(split_url("https://h"), ("", None));
        assert_eq!(split_url("https://h?x=1"), ("", Some("x=1")));
        assert_eq!(split_url("/w/acme?x"), ("/w/acme", Some("x")));
        assert_eq!(split_url(""), ("", None));
        // A `://` in a path-only URL's query or path is not a scheme's.
        assert_eq!(
            split_url("/w/acme?next=https://x/globex"),
            ("/w/acme", Some("next=https://x/globex"))
        );
        assert_eq!(
            split_url("/w/https://x/globex"),
            ("/w/https://x/globex", None)
        );
        assert_eq!(
            split_url("https://h/w/a?n=https://x/b"),
            ("/w/a", Some("n=https://x/b"))
        );
    }
}
