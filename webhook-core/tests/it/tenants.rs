//! `Tenants`: one route, each sender verified with its own keys, chosen by what the request
//! names; a registry that changes at run time; tenants kept apart in the replay store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use webhook_core::{
    AllOf, ApiKey, Freshness, KeyFetch, Outgoing, Proof, Receiver, Secret, Signer,
    StandardWebhooks, StandardWebhooksSigner, Tenants, Verifier, VerifyError, VerifyErrorKind,
    WebhookRequest,
};

use crate::pipeline::Captured;
use crate::support_pipeline::{Rig, peer};

const BODY: &[u8] = br#"{"type":"email.sent","id":"evt_1","data":{"to":"a@example.com"}}"#;

/// One tenant's sender: its secret, signing on the rig's clock.
struct Sender {
    secret: Secret,
}

impl Sender {
    fn new(seed: u8) -> Self {
        Self {
            secret: Secret::from_bytes(vec![seed; 32]).unwrap(),
        }
    }

    fn verifier(&self, rig: &Rig) -> StandardWebhooks {
        StandardWebhooks::new(self.secret.clone())
            .unwrap()
            .freshness(Freshness::default().with_shared_clock(rig.shared()))
    }

    fn sign(&self, rig: &Rig, id: &str) -> Vec<(String, String)> {
        StandardWebhooksSigner::new(self.secret.clone())
            .clock(rig.shared())
            .sign(&Outgoing::new(BODY).id(id))
            .unwrap()
            .into_vec()
    }
}

/// `registry` holding Acme (`Sender::new(1)`) and Globex (`Sender::new(2)`).
fn acme_and_globex(rig: &Rig, registry: Tenants) -> Tenants {
    registry
        .tenant("acme", Sender::new(1).verifier(rig))
        .unwrap()
        .tenant("globex", Sender::new(2).verifier(rig))
        .unwrap()
}

fn posted<'a>(url: &'a str, headers: &'a [(String, String)]) -> WebhookRequest<'a> {
    WebhookRequest::new(BODY)
        .with_url(url)
        .with_headers(headers)
        .with_header("content-type", "application/json")
        .with_peer(peer("192.0.2.1"))
}

fn refusal(result: Result<Proof, VerifyError>) -> (VerifyErrorKind, String) {
    let error = result.expect_err("refused");
    assert_eq!(error.status(), 401, "{error}");
    (error.kind(), error.to_string())
}

#[test]
fn the_tenant_named_in_the_path_verifies_alone() {
    let rig = Rig::new();
    let acme = Sender::new(1);
    let tenants = acme_and_globex(&rig, Tenants::by_last_path_segment());
    let signed = acme.sign(&rig, "msg_1");

    for url in [
        "https://example.com/webhooks/mail/acme",
        "https://example.com/webhooks/mail/acme?attempt=2",
        "https://example.com/webhooks/mail/acme#top",
    ] {
        let proof = tenants.verify(&posted(url, &signed)).unwrap();
        assert_eq!(proof.tenant(), Some("acme"), "{url}");
        assert_eq!(proof.message_id(), Some("msg_1"));
        assert_eq!(proof.scheme(), "standard-webhooks-v1");
    }

    // Acme's delivery posted to Globex's URL: Globex's key did not sign it.
    let (kind, _) =
        refusal(tenants.verify(&posted("https://example.com/webhooks/mail/globex", &signed)));
    assert_eq!(kind, VerifyErrorKind::InvalidSignature);

    let (kind, message) = refusal(tenants.verify(&posted(
        "https://example.com/webhooks/mail/initech",
        &signed,
    )));
    assert_eq!(
        (kind, message.as_str()),
        (VerifyErrorKind::InvalidCredentials, "unknown tenant")
    );

    for (url, expected) in [
        (
            "https://example.com/webhooks/mail/",
            VerifyErrorKind::MissingCredentials,
        ),
        ("https://example.com", VerifyErrorKind::MissingCredentials),
        (
            "https://example.com/webhooks/mail/ac%6De",
            VerifyErrorKind::InvalidCredentials,
        ),
        (
            "https://example.com/webhooks/mail/a:b",
            VerifyErrorKind::InvalidCredentials,
        ),
        (
            &format!("https://example.com/w/{}", "a".repeat(65)),
            VerifyErrorKind::InvalidCredentials,
        ),
    ] {
        let (kind, message) = refusal(tenants.verify(&posted(url, &signed)));
        assert_eq!(kind, expected, "{url}: {message}");
        assert!(
            !message.contains("acme") && !message.contains("ac%6De"),
            "{message}"
        );
    }

    // No URL at all (an adapter always builds one, since `Tenants` says it signs the URL).
    let (kind, _) = refusal(tenants.verify(&WebhookRequest::new(BODY).with_headers(&signed)));
    assert_eq!(kind, VerifyErrorKind::MissingCredentials);
    assert!(tenants.signs_url());
}

#[test]
fn the_tenant_named_in_a_header_or_the_query_verifies_alone() {
    let rig = Rig::new();
    let acme = Sender::new(1);
    let signed = acme.sign(&rig, "msg_1");
    let url = "https://example.com/webhooks/mail";

    let by_header = acme_and_globex(&rig, Tenants::by_header("x-tenant-id"));
    let with = |values: &[&str]| {
        let mut headers = signed.clone();
        headers.extend(
            values
                .iter()
                .map(|v| ("X-Tenant-Id".to_owned(), (*v).to_owned())),
        );
        by_header.verify(&posted(url, &headers))
    };
    assert_eq!(with(&["acme"]).unwrap().tenant(), Some("acme"));
    assert_eq!(
        refusal(with(&["globex"])).0,
        VerifyErrorKind::InvalidSignature
    );
    assert_eq!(
        refusal(with(&["initech"])).0,
        VerifyErrorKind::InvalidCredentials
    );
    assert_eq!(
        refusal(with(&[])),
        (
            VerifyErrorKind::MissingHeader,
            "missing header `x-tenant-id`".to_owned()
        )
    );
    assert_eq!(
        refusal(with(&["acme", "acme"])).0,
        VerifyErrorKind::MalformedHeader
    );
    assert_eq!(
        refusal(with(&["a c"])),
        (
            VerifyErrorKind::MalformedHeader,
            "malformed header `x-tenant-id`: not a tenant id".to_owned()
        )
    );

    let by_query = acme_and_globex(&rig, Tenants::by_query("tenant"));
    let at = |query: &str| by_query.verify(&posted(&format!("{url}{query}"), &signed));
    for query in [
        "?tenant=acme",
        "?x=1&tenant=acme",
        "?tenant=acme&x=tenant",
        "?tenant=acme#f",
        // Escapes that decode to another name are another parameter.
        "?tenant=acme&t%65nants=globex&x+y=1",
    ] {
        assert_eq!(at(query).unwrap().tenant(), Some("acme"), "{query}");
    }
    assert_eq!(
        refusal(at("?tenant=globex")).0,
        VerifyErrorKind::InvalidSignature
    );
    for query in ["", "?", "?tenant=", "?tenant", "?tenants=acme", "?x=tenant"] {
        assert_eq!(
            refusal(at(query)).0,
            VerifyErrorKind::MissingCredentials,
            "{query}"
        );
    }
    for query in [
        "?tenant=acme&tenant=acme",
        "?tenant=acme&tenant=globex",
        "?tenant=ac%6De",
        // A name a query parser decodes to the parameter's: the same parameter again.
        "?t%65nant=globex&tenant=acme",
        "?tenant=acme&%74enant=globex",
        "?tenant=acme&%74enant",
    ] {
        assert_eq!(
            refusal(at(query)).0,
            VerifyErrorKind::InvalidCredentials,
            "{query}"
        );
    }
}

#[test]
fn the_registry_changes_at_run_time_through_any_clone() {
    let rig = Rig::new();
    let (acme, rotated) = (Sender::new(1), Sender::new(3));
    let tenants = Tenants::by_last_path_segment();
    let registry = tenants.clone();
    let url = "https://example.com/webhooks/acme";
    let old = acme.sign(&rig, "msg_1");
    let new = rotated.sign(&rig, "msg_2");

    assert!(tenants.is_empty());
    assert_eq!(
        refusal(tenants.verify(&posted(url, &old))).0,
        VerifyErrorKind::InvalidCredentials
    );

    registry.insert("acme", acme.verifier(&rig)).unwrap();
    registry.insert("zeta", rotated.verifier(&rig)).unwrap();
    registry.insert("beta", rotated.verifier(&rig)).unwrap();
    assert_eq!(tenants.ids(), ["acme", "beta", "zeta"]);
    assert!(registry.remove("zeta") && registry.remove("beta"));
    assert!(tenants.contains("acme"));
    assert_eq!(tenants.len(), 1);
    assert!(tenants.verify(&posted(url, &old)).is_ok());
    assert_eq!(
        refusal(tenants.verify(&posted(url, &new))).0,
        VerifyErrorKind::InvalidSignature
    );

    // Rotation: the tenant's verifier replaced in place.
    registry.insert("acme", rotated.verifier(&rig)).unwrap();
    assert_eq!(tenants.len(), 1);
    assert!(tenants.verify(&posted(url, &new)).is_ok());
    assert_eq!(
        refusal(tenants.verify(&posted(url, &old))).0,
        VerifyErrorKind::InvalidSignature
    );

    assert!(registry.remove("acme"));
    assert!(!registry.remove("acme"));
    assert_eq!(
        refusal(tenants.verify(&posted(url, &new))).0,
        VerifyErrorKind::InvalidCredentials
    );
}

#[test]
fn what_the_receiver_relies_on_is_fixed_and_checked_on_insert() {
    let rig = Rig::new();
    let acme = Sender::new(1);
    let tenants = Tenants::by_header("x-tenant");
    for bad in ["", "a b", "a:b", "a/b", "ü", &"a".repeat(65)] {
        let error = tenants.insert(bad, acme.verifier(&rig)).unwrap_err();
        assert!(
            error.to_string().contains("tenant id is 1 to 64"),
            "{bad:?}: {error}"
        );
    }
    assert!(tenants.is_empty());
    // A header or query name no request could carry is refused when the receiver is built.
    for tenants in [
        Tenants::by_header("x tenant"),
        Tenants::by_header(""),
        Tenants::by_header("x-tenant:"),
        Tenants::by_query("t=x"),
        Tenants::by_query("t%65nant"),
        Tenants::by_query(""),
    ] {
        let built = webhook_core::Receiver::builder().verifier(tenants).build();
        assert!(built.is_err());
    }
    for tenants in [Tenants::by_header("X-Tenant"), Tenants::by_query("tenant")] {
        assert!(
            webhook_core::Receiver::builder()
                .verifier(tenants)
                .build()
                .is_ok()
        );
    }
    // A verifier that could never accept a delivery is refused as the receiver refuses it.
    let error = tenants
        .insert("acme", webhook_core::AnyOf::new())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`acme`") && error.contains("AnyOf"),
        "{error}"
    );
    assert!(tenants.is_empty());

    // The default window (10 min) holds the default freshness (5 min each way), not an hour.
    assert_eq!(tenants.freshness_window(), Some(Duration::from_secs(600)));
    tenants.insert("acme", acme.verifier(&rig)).unwrap();
    let hour = Duration::from_secs(3600);
    let long = || {
        StandardWebhooks::new(acme.secret.clone())
            .unwrap()
            .freshness(Freshness::new(hour, hour))
    };
    let error = tenants.insert("sns", long()).unwrap_err().to_string();
    assert!(
        error.contains("7200 s") && error.contains("max_freshness_window"),
        "{error}"
    );
    assert!(!tenants.contains("sns"));

    let tenants = tenants.max_freshness_window(2 * hour).unwrap();
    tenants.insert("sns", long()).unwrap();
    assert_eq!(tenants.freshness_window(), Some(2 * hour));
    // Fixed once cloned (a receiver sizes its retention from it when built)…
    let error = tenants
        .clone()
        .max_freshness_window(3 * hour)
        .unwrap_err()
        .to_string();
    assert!(error.contains("before cloning"), "{error}");
    // …and never below a tenant's own window.
    let lone = Tenants::by_header("x-tenant")
        .max_freshness_window(2 * hour)
        .unwrap()
        .tenant("sns", long())
        .unwrap();
    let error = lone.max_freshness_window(hour).unwrap_err().to_string();
    assert!(error.contains("`sns`"), "{error}");

    // A header selection builds no URL unless told to: a scheme that signs it is refused.
    assert!(!tenants.signs_url());
    let twilio = || webhook_core::provider::twilio::verifier(acme.secret.clone()).unwrap();
    let error = tenants.insert("sms", twilio()).unwrap_err().to_string();
    assert!(error.contains("signing_urls"), "{error}");
    let error = tenants.clone().signing_urls().unwrap_err().to_string();
    assert!(error.contains("before cloning"), "{error}");
    let urls = Tenants::by_header("x-tenant").signing_urls().unwrap();
    urls.insert("sms", twilio()).unwrap();
    assert!(urls.signs_url());
    assert!(Tenants::by_last_path_segment().signs_url() && Tenants::by_query("t").signs_url());

    // The receiver keeps deliveries as long as the longest window, and cannot drop its store.
    assert!(tenants.requires_replay_store());
    let builder = || {
        Receiver::builder()
            .verifier(tenants.clone())
            .clock(rig.shared())
    };
    assert!(builder().build().is_ok());
    let error = builder().retention(hour).build().unwrap_err().to_string();
    assert!(
        error.contains("shorter than the freshness window 7200 s"),
        "{error}"
    );
    let error = builder()
        .without_replay_protection()
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("replay store"), "{error}");
}

/// Two tenants' senders that pick the same message id are two deliveries; a replay within one
/// tenant is still a duplicate.
#[tokio::test]
async fn the_store_keeps_tenants_apart() {
    let rig = Rig::new();
    let (acme, globex) = (Sender::new(1), Sender::new(2));
    let tenants = acme_and_globex(&rig, Tenants::by_last_path_segment());
    let receiver = Receiver::builder()
        .route("mail")
        .verifier(tenants)
        .clock(rig.shared())
        .build()
        .unwrap();
    let claim = |url: &'static str, headers: Vec<(String, String)>| {
        let receiver = receiver.clone();
        async move {
            let request = posted(url, &headers);
            let mut delivery = receiver.delivery();
            delivery.admit(&request, false).unwrap();
            assert!(delivery.authenticate(&request).unwrap().tenant().is_some());
            let fresh = delivery.claim(None).await.unwrap();
            if fresh {
                delivery.finish(true).await;
            }
            fresh
        }
    };
    let acme_url = "https://example.com/webhooks/mail/acme";
    let globex_url = "https://example.com/webhooks/mail/globex";
    assert!(claim(acme_url, acme.sign(&rig, "msg_same")).await);
    assert!(claim(globex_url, globex.sign(&rig, "msg_same")).await);
    assert!(!claim(acme_url, acme.sign(&rig, "msg_same")).await);
    assert!(!claim(globex_url, globex.sign(&rig, "msg_same")).await);
    let stats = receiver.stats();
    assert_eq!((stats.accepted, stats.duplicates), (2, 2));

    // The same in a store the receiver does not own: keys differ by tenant.
    let keys = Arc::new(Keys::default());
    let receiver = Receiver::builder()
        .route("mail")
        .verifier(
            Tenants::by_last_path_segment()
                .tenant("acme", acme.verifier(&rig))
                .unwrap(),
        )
        .replay_shared(keys.clone())
        .clock(rig.shared())
        .build()
        .unwrap();
    let headers = acme.sign(&rig, "msg_same");
    let request = posted(acme_url, &headers);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    delivery.authenticate(&request).unwrap();
    assert!(delivery.claim(None).await.unwrap());
    delivery.finish(true).await;
    assert_eq!(*keys.0.lock().unwrap(), ["mail:M:acme:=msg_same"]);
}

/// A memory store that records the keys claimed in it.
#[derive(Debug, Default)]
struct Keys(std::sync::Mutex<Vec<String>>, webhook_core::MemoryStore);
impl webhook_core::ReplayStore for Keys {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> webhook_core::StoreFuture<'a, webhook_core::Claim> {
        self.0.lock().unwrap().push(key.to_owned());
        self.1.claim(key, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: webhook_core::LeaseToken,
        retention: Duration,
    ) -> webhook_core::StoreFuture<'a, ()> {
        self.1.complete(key, token, retention)
    }
    fn release(&self, key: &str, token: webhook_core::LeaseToken) {
        self.1.release(key, token);
    }
}

#[test]
fn the_span_names_the_tenant_and_debug_shows_no_id_or_key() {
    let rig = Rig::new();
    let acme = Sender::new(1);
    let tenants = Tenants::by_last_path_segment()
        .tenant("acme-corp", acme.verifier(&rig))
        .unwrap();
    let shown = format!("{tenants:?}");
    assert!(
        shown.contains("LastPathSegment") && shown.contains("tenants: 1"),
        "{shown}"
    );
    assert!(!shown.contains("acme"), "{shown}");
    let secret_b64 = acme.secret.expose_base64();
    assert!(!shown.contains(secret_b64.as_str()), "{shown}");

    let receiver = Receiver::builder()
        .verifier(tenants)
        .clock(rig.shared())
        .build()
        .unwrap();
    let captured = Captured::default();
    let headers = acme.sign(&rig, "msg_t");
    tracing::subscriber::with_default(captured.subscriber(tracing::Level::INFO, true), || {
        let request = posted("https://example.com/hooks/acme-corp", &headers);
        let mut delivery = receiver.delivery();
        delivery.admit(&request, false).unwrap();
        let proof = delivery.authenticate(&request).unwrap();
        assert_eq!(proof.tenant(), Some("acme-corp"));
        assert!(format!("{proof:?}").contains(r#"tenant: Some("acme-corp")"#));
    });
    let text = captured.text();
    assert!(text.contains(r#"tenant="acme-corp""#), "{text}");

    // A refused delivery names the tenant too: which tenant's deliveries fail is what an
    // operator looks for.
    let captured = Captured::default();
    let forged = Sender::new(9).sign(&rig, "msg_f");
    tracing::subscriber::with_default(captured.subscriber(tracing::Level::INFO, false), || {
        for url in [
            "https://example.com/hooks/acme-corp",
            "https://example.com/hooks/nobody",
        ] {
            let request = posted(url, &forged);
            let mut delivery = receiver.delivery();
            delivery.admit(&request, false).unwrap();
            let error = delivery.authenticate(&request).unwrap_err();
            assert_eq!(error.status(), 401);
            assert!(!error.to_json().contains("acme") && !error.to_json().contains("nobody"));
        }
    });
    let text = captured.text();
    let rejected: Vec<&str> = text.lines().filter(|l| l.contains("rejected")).collect();
    assert_eq!(rejected.len(), 2, "{text}");
    assert!(rejected[0].contains(r#"tenant="acme-corp""#), "{text}");
    assert!(rejected[0].contains("invalid_signature"), "{text}");
    assert!(rejected[1].contains(r#"tenant="nobody""#), "{text}");
}

/// A verifier with a certificate to fetch, counting the fetches asked of it.
#[derive(Debug, Default)]
struct Fetching(Arc<AtomicUsize>);

impl Verifier for Fetching {
    fn verify(&self, _: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        Ok(Proof::new("fetching"))
    }
    fn signs_url(&self) -> bool {
        false
    }
    fn fetch_keys(&self, _: &WebhookRequest<'_>) -> Option<KeyFetch> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Some(Box::pin(async {}))
    }
}

#[test]
fn only_the_named_tenants_keys_are_fetched() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let tenants = Tenants::by_header("x-tenant")
        .tenant("fetches", Fetching(fetches.clone()))
        .unwrap()
        .tenant(
            "static",
            ApiKey::new("x-key", [Secret::from_text("k").unwrap()]).unwrap(),
        )
        .unwrap();
    let named = |tenant: &'static str| WebhookRequest::new(BODY).with_header("x-tenant", tenant);
    assert!(tenants.fetch_keys(&named("fetches")).is_some());
    assert!(tenants.fetch_keys(&named("static")).is_none());
    assert!(tenants.fetch_keys(&named("nobody")).is_none());
    assert!(tenants.fetch_keys(&WebhookRequest::new(BODY)).is_none());
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
}

/// Combined with a check that every sender shares (an API key of the platform), the tenant
/// survives the merge.
#[test]
fn the_tenant_survives_all_of() {
    let rig = Rig::new();
    let acme = Sender::new(1);
    let both = AllOf::new()
        .and(ApiKey::new("x-platform-key", [Secret::from_text("platform").unwrap()]).unwrap())
        .and(
            Tenants::by_last_path_segment()
                .tenant("acme", acme.verifier(&rig))
                .unwrap(),
        );
    let mut headers = acme.sign(&rig, "msg_1");
    headers.push(("x-platform-key".into(), "platform".into()));
    let proof = both
        .verify(&posted("https://example.com/w/acme", &headers))
        .unwrap();
    assert_eq!(proof.tenant(), Some("acme"));
    assert_eq!(proof.message_id(), Some("msg_1"));
    // Each member's key is named, in order, as the schemes are.
    assert_eq!(proof.scheme(), "api-key+standard-webhooks-v1");
    assert_eq!(proof.key_id(), Some("key-0+default"));
}

/// A proof naming a tenant that is not a tenant id (a verifier of the application's) cannot
/// make keys meet: its tenant is stored as a digest.
#[tokio::test]
async fn any_tenant_text_keeps_its_own_keys() {
    #[derive(Debug)]
    struct Named(&'static str);
    impl Verifier for Named {
        fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
            let id = request.require_single("x-id")?;
            Ok(Proof::new("named").with_message_id(id).with_tenant(self.0))
        }
        fn signs_url(&self) -> bool {
            false
        }
    }
    let keys = Arc::new(Keys::default());
    for (tenant, id) in [("a:x", "y"), ("a", "x:y"), ("a", "y")] {
        let receiver = Receiver::builder()
            .route("r")
            .verifier(Named(tenant))
            .replay_shared(keys.clone())
            .build()
            .unwrap();
        let request = WebhookRequest::new(BODY).with_header("x-id", id);
        let mut delivery = receiver.delivery();
        delivery.admit(&request, false).unwrap();
        delivery.authenticate(&request).unwrap();
        assert!(delivery.claim(None).await.unwrap(), "{tenant} {id}");
        delivery.finish(true).await;
    }
    let keys = keys.0.lock().unwrap().clone();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"a:x"));
    assert_eq!(
        keys,
        [
            format!("r:M:h{digest}:=y"),
            "r:M:a:=x:y".to_owned(),
            "r:M:a:=y".to_owned()
        ]
    );
}

/// Without a public base URL the URL comes from `Host`, which must be a host and port: one
/// holding `/`, `?`, `#` or `@` could otherwise move the path or the query a verifier (or a
/// `Tenants`) reads.
#[test]
fn a_host_cannot_move_the_path_or_the_query() {
    let receiver = Receiver::builder()
        .verifier(Tenants::by_last_path_segment())
        .build()
        .unwrap();
    for host in [
        "example.com",
        "example.com:8443",
        "127.0.0.1:80",
        "[::1]:3000",
        "a_b.local",
    ] {
        assert_eq!(
            receiver
                .request_url(true, Some(host), "/webhooks/acme")
                .as_deref(),
            Some(format!("https://{host}/webhooks/acme").as_str())
        );
    }
    for host in [
        "h/globex?",
        "h?tenant=globex#",
        "h#",
        "user@h",
        "h%2F",
        "h ",
        "",
        "ü.example",
    ] {
        assert_eq!(
            receiver.request_url(true, Some(host), "/webhooks/acme"),
            None,
            "{host:?}"
        );
        let error = receiver
            .signed_url(true, Some(host), "/webhooks/acme")
            .unwrap_err();
        assert_eq!(error.kind(), VerifyErrorKind::MalformedHeader, "{host:?}");
    }
    assert_eq!(
        receiver.signed_url(true, None, "/w").unwrap_err().kind(),
        VerifyErrorKind::MissingHeader
    );
}

/// A loader over a fixed table, counting its calls: `acme` and `globex` are found, `broken`
/// fails, `slow` waits for `gate` (when one is given), anything else is not found.
#[derive(Clone, Default)]
struct Table {
    calls: Arc<std::sync::Mutex<Vec<String>>>,
    gate: Option<Arc<tokio::sync::Notify>>,
    window: Option<Duration>,
}

impl Table {
    fn loader(&self, rig: &Rig) -> webhook_core::TenantLoader {
        let table = self.clone();
        let (acme, globex) = (Sender::new(1).verifier(rig), Sender::new(2).verifier(rig));
        webhook_core::TenantLoader::new(move |tenant: &str| {
            table.calls.lock().unwrap().push(tenant.to_owned());
            let (tenant, gate, window) = (tenant.to_owned(), table.gate.clone(), table.window);
            let (acme, globex) = (acme.clone(), globex.clone());
            Box::pin(async move {
                if let Some(gate) = gate {
                    gate.notified().await;
                }
                let found: Option<Box<dyn Verifier>> = match tenant.as_str() {
                    "acme" => Some(Box::new(match window {
                        Some(w) => acme.freshness(Freshness::new(w, w)),
                        None => acme,
                    })),
                    "globex" | "slow" => Some(Box::new(globex)),
                    "broken" => return Err("the database is down".into()),
                    _ => None,
                };
                Ok(found)
            })
        })
        .clock(rig.shared())
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

/// One delivery through the pipeline's steps up to the claim: admitted, its keys fetched,
/// authenticated. The status and error code when refused.
async fn deliver(
    receiver: &Receiver,
    url: &str,
    headers: &[(String, String)],
) -> Result<Option<String>, (u16, &'static str, Option<u64>)> {
    let request = posted(url, headers);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    if let Some(fetch) = delivery.fetch_keys(&request) {
        fetch.await;
    }
    delivery
        .authenticate(&request)
        .map(|proof| proof.tenant().map(str::to_owned))
        .map_err(|e| (e.status(), e.code(), e.retry_after_secs()))
}

#[tokio::test]
async fn tenants_the_registry_lacks_are_loaded_once_when_first_named() {
    let rig = Rig::new();
    let table = Table::default();
    let tenants = Tenants::by_last_path_segment()
        .loader(table.loader(&rig).unknown_for(Duration::from_secs(60)))
        .unwrap();
    let registry = tenants.clone();
    let receiver = Receiver::builder()
        .verifier(tenants)
        .clock(rig.shared())
        .build()
        .unwrap();
    let acme = Sender::new(1);
    let url = |tenant: &str| format!("https://example.com/webhooks/{tenant}");

    assert_eq!(
        deliver(&receiver, &url("acme"), &acme.sign(&rig, "m1")).await,
        Ok(Some("acme".to_owned()))
    );
    assert!(registry.contains("acme"));
    assert_eq!(
        deliver(&receiver, &url("acme"), &acme.sign(&rig, "m2")).await,
        Ok(Some("acme".to_owned()))
    );
    // A tenant loaded is judged like any other: another tenant's key is refused.
    assert_eq!(
        deliver(&receiver, &url("globex"), &acme.sign(&rig, "m3")).await,
        Err((401, "invalid_signature", None))
    );
    assert_eq!(table.calls(), ["acme", "globex"]);

    // Not found: unknown, and not asked again within `unknown_for`…
    for _ in 0..3 {
        assert_eq!(
            deliver(&receiver, &url("initech"), &acme.sign(&rig, "m4")).await,
            Err((401, "invalid_credentials", None))
        );
    }
    assert_eq!(table.calls(), ["acme", "globex", "initech"]);
    // …then asked again.
    rig.clock.advance(Duration::from_secs(61));
    assert_eq!(
        deliver(&receiver, &url("initech"), &acme.sign(&rig, "m5")).await,
        Err((401, "invalid_credentials", None))
    );
    assert_eq!(table.calls().len(), 4);

    // Failed: 503 with `Retry-After` for the hold-back, without calling again.
    let failed = deliver(&receiver, &url("broken"), &acme.sign(&rig, "m6")).await;
    assert_eq!(failed, Err((503, "key_unavailable", Some(10))));
    rig.clock.advance(Duration::from_secs(4));
    let failed = deliver(&receiver, &url("broken"), &acme.sign(&rig, "m7")).await;
    assert_eq!(failed, Err((503, "key_unavailable", Some(6))));
    assert_eq!(table.calls().len(), 5);

    // A name that is not a tenant id is never looked up.
    let bad = deliver(&receiver, &url("a%20b"), &acme.sign(&rig, "m8")).await;
    assert_eq!(bad.map_err(|e| e.1), Err("invalid_credentials"));
    assert_eq!(table.calls().len(), 5);

    // Removed, the tenant is loaded again by its next delivery (a secret that changed).
    assert!(registry.remove("acme"));
    assert!(
        deliver(&receiver, &url("acme"), &acme.sign(&rig, "m9"))
            .await
            .is_ok()
    );
    assert_eq!(table.calls().len(), 6);
}

#[tokio::test]
async fn loads_are_bounded_and_a_refused_verifier_is_not_configured() {
    let rig = Rig::new();
    let table = Table {
        window: Some(Duration::from_secs(3600)),
        ..Table::default()
    };
    let receiver = Receiver::builder()
        .verifier(
            Tenants::by_last_path_segment()
                .loader(table.loader(&rig).max_loads_per_minute(3))
                .unwrap(),
        )
        .clock(rig.shared())
        .build()
        .unwrap();
    let acme = Sender::new(1);
    // Acme's verifier accepts an hour each way, longer than the registry allows: refused,
    // logged, and answered 500 until the hold-back ends.
    let refused = deliver(&receiver, "https://e.com/w/acme", &acme.sign(&rig, "m1")).await;
    assert_eq!(refused, Err((500, "not_configured", None)));
    // Made-up tenants spend the minute's calls; past them, nothing is called and a tenant
    // not loaded yet is answered 503.
    for (tenant, expected) in [
        ("x1", (401, "invalid_credentials", None)),
        ("x2", (401, "invalid_credentials", None)),
        ("x3", (503, "key_unavailable", Some(60))),
        ("x4", (503, "key_unavailable", Some(60))),
    ] {
        let url = format!("https://e.com/w/{tenant}");
        assert_eq!(
            deliver(&receiver, &url, &acme.sign(&rig, "m2")).await,
            Err(expected)
        );
    }
    assert_eq!(table.calls(), ["acme", "x1", "x2"]);
    // `Retry-After` says when the oldest call leaves the minute.
    rig.clock.advance(Duration::from_secs(45));
    let spent = deliver(&receiver, "https://e.com/w/globex", &acme.sign(&rig, "m3")).await;
    assert_eq!(spent, Err((503, "key_unavailable", Some(15))));
    rig.clock.advance(Duration::from_secs(16));
    let globex = Sender::new(2);
    assert_eq!(
        deliver(
            &receiver,
            "https://e.com/w/globex",
            &globex.sign(&rig, "m4")
        )
        .await,
        Ok(Some("globex".to_owned()))
    );
    assert_eq!(table.calls(), ["acme", "x1", "x2", "globex"]);
    // The refused verifier was not inserted; after the hold-back, Acme is asked again.
    let acme_again = deliver(&receiver, "https://e.com/w/acme", &acme.sign(&rig, "m5")).await;
    assert_eq!(acme_again, Err((500, "not_configured", None)));
    assert_eq!(table.calls().len(), 5);
}

/// Deliveries of a tenant being loaded wait for the one call; a call whose delivery went
/// away is cancelled, and the next delivery calls again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_wait_for_the_one_call_in_flight() {
    let rig = Rig::new();
    let gate = Arc::new(tokio::sync::Notify::new());
    let table = Table {
        gate: Some(Arc::clone(&gate)),
        ..Table::default()
    };
    let receiver = Receiver::builder()
        .verifier(
            Tenants::by_last_path_segment()
                .loader(table.loader(&rig))
                .unwrap(),
        )
        .clock(rig.shared())
        .build()
        .unwrap();
    let globex = Sender::new(2);
    let url = "https://e.com/w/slow";
    let waiting: Vec<_> = (0..5)
        .map(|i| {
            let (receiver, headers) = (receiver.clone(), globex.sign(&rig, &format!("m{i}")));
            tokio::spawn(async move { deliver(&receiver, url, &headers).await })
        })
        .collect();
    until(|| !table.calls().is_empty()).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    gate.notify_one();
    // Were there a call per delivery, the gate would let only one through: the others
    // would hang, and the timeout fails the test.
    for task in waiting {
        let answer = tokio::time::timeout(Duration::from_secs(10), task).await;
        assert_eq!(answer.unwrap().unwrap(), Ok(Some("slow".to_owned())));
    }
    assert_eq!(table.calls(), ["slow"]);

    // Cancelled: the delivery is dropped while its call waits.
    let headers = globex.sign(&rig, "c1");
    let request = posted("https://e.com/w/globex", &headers);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    let mut fetch = delivery.fetch_keys(&request).unwrap();
    assert!(futures_poll_once(fetch.as_mut()).is_pending());
    drop(fetch);
    drop(delivery);
    // The next delivery calls again, and is judged once the call ends.
    let next = {
        let (receiver, headers) = (receiver.clone(), globex.sign(&rig, "c2"));
        tokio::spawn(async move { deliver(&receiver, "https://e.com/w/globex", &headers).await })
    };
    until(|| table.calls().len() == 3).await;
    gate.notify_one();
    let answer = tokio::time::timeout(Duration::from_secs(10), next).await;
    assert_eq!(answer.unwrap().unwrap(), Ok(Some("globex".to_owned())));
    assert_eq!(table.calls(), ["slow", "globex", "globex"]);
}

/// The deliveries that waited for a call that was cancelled call again themselves; a
/// tenant inserted or removed while its call is in flight keeps what the application did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_overtaken_by_the_application_is_discarded() {
    let rig = Rig::new();
    let gate = Arc::new(tokio::sync::Notify::new());
    let table = Table {
        gate: Some(Arc::clone(&gate)),
        ..Table::default()
    };
    let tenants = Tenants::by_last_path_segment()
        .loader(table.loader(&rig))
        .unwrap();
    let registry = tenants.clone();
    let receiver = Receiver::builder()
        .verifier(tenants)
        .clock(rig.shared())
        .build()
        .unwrap();
    let (globex, other) = (Sender::new(2), Sender::new(7));
    let spawn = |sender: &Sender, id: &str| {
        let (receiver, headers) = (receiver.clone(), sender.sign(&rig, id));
        tokio::spawn(async move { deliver(&receiver, "https://e.com/w/globex", &headers).await })
    };
    let within = |task| tokio::time::timeout(Duration::from_secs(10), task);

    // The first delivery goes away while its call waits; the one waiting behind it calls
    // again and is answered.
    let headers = globex.sign(&rig, "a1");
    let request = posted("https://e.com/w/globex", &headers);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    let mut first = delivery.fetch_keys(&request).unwrap();
    assert!(futures_poll_once(first.as_mut()).is_pending());
    let behind = spawn(&globex, "a2");
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    drop(first);
    until(|| table.calls().len() == 2).await;
    gate.notify_one();
    assert_eq!(
        within(behind).await.unwrap().unwrap(),
        Ok(Some("globex".to_owned()))
    );
    assert_eq!(table.calls().len(), 2);

    // Inserted while the call is in flight: the application's verifier stays, and the
    // delivery waiting for the call is judged by it.
    assert!(registry.remove("globex"));
    let waiting = spawn(&other, "b1");
    until(|| table.calls().len() == 3).await;
    registry.insert("globex", other.verifier(&rig)).unwrap();
    gate.notify_one();
    assert_eq!(
        within(waiting).await.unwrap().unwrap(),
        Ok(Some("globex".to_owned()))
    );
    assert_eq!(table.calls().len(), 3);

    // Removed while the call is in flight: its answer is not put back; the delivery waiting
    // for it calls again.
    assert!(registry.remove("globex"));
    let waiting = spawn(&globex, "c1");
    until(|| table.calls().len() == 4).await;
    assert!(!registry.remove("globex"));
    gate.notify_one();
    until(|| table.calls().len() == 5).await;
    gate.notify_one();
    assert_eq!(
        within(waiting).await.unwrap().unwrap(),
        Ok(Some("globex".to_owned()))
    );
    assert_eq!(table.calls().len(), 5);
}

/// Let the other tasks run until `done` holds (at most 10 seconds, then fail).
async fn until(done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never happened"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn futures_poll_once<F: Future + ?Sized>(
    future: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    future.poll(&mut cx)
}

/// A loader that panics leaves nothing pending: the next delivery calls it again rather than
/// wait for a call that will never end.
#[test]
fn a_loader_that_panics_leaves_no_call_pending() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let tenants = Tenants::by_header("x-tenant")
        .loader(webhook_core::TenantLoader::new(move |_: &str| {
            counted.fetch_add(1, Ordering::SeqCst);
            panic!("the loader's own bug");
        }))
        .unwrap();
    let request = WebhookRequest::new(BODY).with_header("x-tenant", "acme");
    for expected in 1..=2 {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tenants.fetch_keys(&request).is_some()
        }));
        assert!(outcome.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), expected);
    }
    let error = tenants.verify(&request).unwrap_err();
    assert_eq!((error.status(), error.code()), (503, "key_unavailable"));
}

/// A verifier whose key must be fetched before it verifies anything (as SNS's or PayPal's
/// with a certificate not cached yet): `verify` answers 503 until its fetch has run.
#[derive(Debug, Default, Clone)]
struct NeedsFetch(Arc<std::sync::atomic::AtomicBool>);

impl Verifier for NeedsFetch {
    fn verify(&self, _: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        if self.0.load(Ordering::SeqCst) {
            Ok(Proof::new("needs-fetch"))
        } else {
            Err(VerifyError::new(VerifyErrorKind::KeyUnavailable))
        }
    }
    fn signs_url(&self) -> bool {
        false
    }
    fn fetch_keys(&self, _: &WebhookRequest<'_>) -> Option<KeyFetch> {
        if self.0.load(Ordering::SeqCst) {
            return None;
        }
        let fetched = Arc::clone(&self.0);
        Some(Box::pin(
            async move { fetched.store(true, Ordering::SeqCst) },
        ))
    }
}

/// A tenant loaded on its first delivery, whose verifier then has a key of its own to fetch:
/// the delivery that loaded it awaits both (`Delivery::fetch_keys` until `None`), and is
/// verified rather than answered 503.
#[tokio::test]
async fn a_loaded_tenants_own_key_is_fetched_for_the_delivery_that_loaded_it() {
    let verifier = NeedsFetch::default();
    let tenants = Tenants::by_header("x-tenant")
        .loader(webhook_core::TenantLoader::new(move |_: &str| {
            let verifier = verifier.clone();
            Box::pin(async move { Ok(Some(Box::new(verifier) as Box<dyn Verifier>)) })
        }))
        .unwrap();
    let receiver = Receiver::builder().verifier(tenants).build().unwrap();
    let request = WebhookRequest::new(BODY).with_header("x-tenant", "acme");
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    let mut fetches = 0;
    while let Some(fetch) = delivery.fetch_keys(&request) {
        fetch.await;
        fetches += 1;
    }
    assert_eq!(fetches, 2, "the tenant's load, then its key");
    let proof = delivery.authenticate(&request).unwrap();
    assert_eq!(proof.tenant(), Some("acme"));
}

/// `AllOf` names each member's key in the members' order, `-` for a member that names none,
/// and no key at all when no member names one.
#[test]
fn all_of_names_each_members_key_in_order() {
    #[derive(Debug)]
    struct Keyless;
    impl Verifier for Keyless {
        fn verify(&self, _: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
            Ok(Proof::new("keyless"))
        }
        fn signs_url(&self) -> bool {
            false
        }
    }
    let key = || ApiKey::new("x-platform-key", [Secret::from_text("platform").unwrap()]).unwrap();
    let headers = vec![("x-platform-key".to_owned(), "platform".to_owned())];
    let request = posted("https://example.com/w/acme", &headers);
    let proof = AllOf::new()
        .and(Keyless)
        .and(key())
        .and(Keyless)
        .verify(&request)
        .unwrap();
    assert_eq!(proof.scheme(), "keyless+api-key+keyless");
    assert_eq!(proof.key_id(), Some("-+key-0+-"));
    let proof = AllOf::new()
        .and(Keyless)
        .and(Keyless)
        .verify(&request)
        .unwrap();
    assert_eq!(proof.key_id(), None);
}
