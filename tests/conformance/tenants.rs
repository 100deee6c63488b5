//! The tenants script: one route serving several senders that each sign with a secret of
//! their own ([`webhook::Tenants`]), the tenant named by the last path segment
//! (`/webhooks/mail/{tenant}`) or by a query parameter (`/webhooks/mail?tenant={tenant}`).
//! Every framework runner mounts the route for each [`Selection`] with the framework's own
//! path parameter, plays [`SCRIPT`] in order through its test client ([`play`]), and checks
//! each answer with [`Rig::check`], so the three adapters are shown to answer it alike.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};

use webhook::{Outgoing, Receiver, Secret, Signer as _, StandardWebhooks, StandardWebhooksSigner};

/// What the route's handler answers for a fresh delivery: `{"tenant","id","duplicate":false}`.
pub fn accepted(proof: &webhook::Proof) -> serde_json::Value {
    serde_json::json!({ "tenant": proof.tenant(), "id": proof.message_id(), "duplicate": false })
}

/// Where the request names its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// `/webhooks/mail/{tenant}`: mount the route with a path parameter there.
    Path,
    /// `/webhooks/mail?tenant={tenant}`: mount `/webhooks/mail`.
    Query,
}

/// The host every delivery names, unless a step says otherwise. The receiver has no public
/// base URL: the URL it reads the tenant from is built from `Host`.
pub const HOST: &str = "hooks.example.com";

/// One step of the script.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Post a delivery of message `id`, signed with `key`'s secret, to `tenant`'s URL, with
    /// `Host: host`.
    Send {
        key: &'static str,
        tenant: &'static str,
        id: &'static str,
        host: &'static str,
        expect: Expect,
    },
    /// Add `tenant` to the registry (or replace its secret) with `key`'s secret, while the
    /// app serves.
    Insert {
        tenant: &'static str,
        key: &'static str,
    },
    /// Remove `tenant` from the registry while the app serves.
    Remove { tenant: &'static str },
}

/// The answer a [`Step::Send`] must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// 200 from the handler, naming this tenant.
    Accepted(&'static str),
    /// 200 `"duplicate": true`, the handler not run.
    Duplicate,
    /// This status and error code.
    Refused(u16, &'static str),
}

const fn send(key: &'static str, tenant: &'static str, id: &'static str, expect: Expect) -> Step {
    via(HOST, key, tenant, id, expect)
}

const fn via(
    host: &'static str,
    key: &'static str,
    tenant: &'static str,
    id: &'static str,
    expect: Expect,
) -> Step {
    Step::Send {
        key,
        tenant,
        id,
        host,
        expect,
    }
}

const REFUSED_SIGNATURE: Expect = Expect::Refused(401, "invalid_signature");
const REFUSED_TENANT: Expect = Expect::Refused(401, "invalid_credentials");
const REFUSED_HOST: Expect = Expect::Refused(401, "malformed_header");

/// The script: each tenant's deliveries verified with its own secret and deduplicated apart
/// from the others', a delivery signed for one tenant refused at another's URL, a `Host`
/// that would move the path or the query refused, a tenant added, rotated and removed while
/// the app serves, and one loaded when its first delivery names it.
pub const SCRIPT: &[Step] = &[
    send("acme", "acme", "msg_1", Expect::Accepted("acme")),
    // Globex's sender happens to use the same message id: a delivery of its own.
    send("globex", "globex", "msg_1", Expect::Accepted("globex")),
    send("acme", "acme", "msg_1", Expect::Duplicate),
    send("globex", "globex", "msg_1", Expect::Duplicate),
    // Acme's signature at Globex's URL.
    send("acme", "globex", "msg_2", REFUSED_SIGNATURE),
    send("initech", "initech", "msg_2", REFUSED_TENANT),
    send("acme", "ac%6De", "msg_2", REFUSED_TENANT),
    // Globex's delivery at Acme's URL, with a `Host` that would make the URL the receiver
    // builds name Globex (`https://h/globex?/webhooks/mail/acme`, or a query of its own).
    via("h/globex?", "globex", "acme", "msg_2", REFUSED_HOST),
    via("h?tenant=globex#", "globex", "acme", "msg_2", REFUSED_HOST),
    via("user@h", "acme", "acme", "msg_2", REFUSED_HOST),
    Step::Insert {
        tenant: "initech",
        key: "initech",
    },
    send("initech", "initech", "msg_2", Expect::Accepted("initech")),
    // Acme rotates its secret: the old one is refused from then on.
    Step::Insert {
        tenant: "acme",
        key: "acme-2",
    },
    send("acme", "acme", "msg_3", REFUSED_SIGNATURE),
    send("acme-2", "acme", "msg_3", Expect::Accepted("acme")),
    Step::Remove { tenant: "globex" },
    send("globex", "globex", "msg_4", REFUSED_TENANT),
    // Not in the registry, but the loader finds it when its first delivery names it.
    send("wayne", "wayne", "msg_5", Expect::Accepted("wayne")),
    send("wayne", "wayne", "msg_5", Expect::Duplicate),
];

/// The secret named `key` (derived from the name, so every runner signs alike).
fn secret(key: &str) -> Secret {
    Secret::from_bytes(format!("tenant-secret-of-{key:>16}").into_bytes()).unwrap()
}

fn verifier(key: &str) -> StandardWebhooks {
    StandardWebhooks::new(secret(key)).unwrap()
}

/// The registry and the receiver of the route, before the script: Acme and Globex, and a
/// loader that finds Wayne.
pub struct Rig {
    pub selection: Selection,
    /// A clone of the receiver's registry, to change while the app serves.
    pub registry: webhook::Tenants,
    pub receiver: Receiver,
    checked: AtomicUsize,
}

impl Rig {
    pub fn new(selection: Selection) -> Self {
        let registry = match selection {
            Selection::Path => webhook::Tenants::by_last_path_segment(),
            Selection::Query => webhook::Tenants::by_query("tenant"),
        }
        .loader(webhook::TenantLoader::new(|tenant: &str| {
            let found: Option<Box<dyn webhook::Verifier>> =
                (tenant == "wayne").then(|| Box::new(verifier("wayne")) as _);
            Box::pin(std::future::ready(Ok(found)))
        }))
        .unwrap()
        .tenant("acme", verifier("acme"))
        .unwrap()
        .tenant("globex", verifier("globex"))
        .unwrap();
        let receiver = Receiver::builder()
            .route("mail")
            .verifier(registry.clone())
            .content_type("application/json")
            .build()
            .unwrap();
        Self {
            selection,
            registry,
            receiver,
            checked: AtomicUsize::new(0),
        }
    }

    /// Apply an `Insert` or `Remove` step; `Send` steps are the runner's.
    fn apply(&self, step: &Step) {
        match *step {
            Step::Insert { tenant, key } => self.registry.insert(tenant, verifier(key)).unwrap(),
            Step::Remove { tenant } => assert!(self.registry.remove(tenant), "{tenant}"),
            Step::Send { .. } => {}
        }
    }

    /// The path, headers (`Host` among them) and body of a `Send` step's delivery.
    fn delivery(&self, step: &Step) -> Option<Delivery> {
        let Step::Send {
            key,
            tenant,
            id,
            host,
            ..
        } = *step
        else {
            return None;
        };
        let body = format!(
            r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}}}"#
        );
        let mut headers = StandardWebhooksSigner::new(secret(key))
            .sign(&Outgoing::new(body.as_bytes()).id(id))
            .unwrap()
            .into_vec();
        headers.push(("content-type".into(), "application/json".into()));
        headers.push(("host".into(), host.into()));
        let path = match self.selection {
            Selection::Path => format!("/webhooks/mail/{tenant}"),
            Selection::Query => format!("/webhooks/mail?tenant={tenant}"),
        };
        Some((path, headers, body))
    }

    /// Check a `Send` step's answer.
    pub fn check(&self, step: &Step, status: u16, body: &[u8]) {
        step.check(self.selection, status, body);
        self.checked.fetch_add(1, Ordering::SeqCst);
    }

    /// After the script: every delivery was answered and checked, and the registry and the
    /// receiver's counters show what the script did.
    pub fn finished(&self) {
        let sends = SCRIPT
            .iter()
            .filter(|s| matches!(s, Step::Send { .. }))
            .count();
        assert_eq!(self.checked.load(Ordering::SeqCst), sends);
        assert_eq!(self.registry.ids(), ["acme", "initech", "wayne"]);
        let stats = self.receiver.stats();
        assert_eq!((stats.accepted, stats.duplicates), (5, 3));
        assert_eq!(stats.rejected_total(), 8);
    }
}

/// A delivery's path, headers and body.
pub type Delivery = (String, Vec<(String, String)>, String);

/// The script as the runner plays it: `Insert` and `Remove` steps applied as they are reached
/// (lazily, so each comes after the deliveries before it have been answered), and each `Send`
/// step yielded with its delivery.
pub fn play(rig: &Rig) -> impl Iterator<Item = (&'static Step, Delivery)> + '_ {
    SCRIPT.iter().filter_map(move |step| {
        rig.apply(step);
        rig.delivery(step).map(|delivery| (step, delivery))
    })
}

impl Step {
    fn check(&self, selection: Selection, status: u16, body: &[u8]) {
        let Step::Send { expect, .. } = *self else {
            return;
        };
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let context = format!("{selection:?} {self:?}: {status} {json}");
        match expect {
            Expect::Accepted(tenant) => {
                assert_eq!(status, 200, "{context}");
                assert_eq!(json["tenant"], tenant, "{context}");
                assert_eq!(json["duplicate"], false, "{context}");
            }
            Expect::Duplicate => {
                assert_eq!(status, 200, "{context}");
                assert_eq!(json["duplicate"], true, "{context}");
                assert!(json.get("tenant").is_none(), "the handler ran: {context}");
            }
            Expect::Refused(code, error) => {
                assert_eq!(
                    (status, json["error"].as_str()),
                    (code, Some(error)),
                    "{context}"
                );
            }
        }
    }
}

/// Play the script over real HTTP against a server at `base` (`http://127.0.0.1:<port>`)
/// serving `rig`'s route, each delivery sent by reqwest with the script's `Host`.
pub async fn play_over_http(rig: &Rig, base: &str) {
    let client = super::cases::loopback_client();
    for (step, (path, headers, body)) in play(rig) {
        let mut request = client.post(format!("{base}{path}"));
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.body(body).send().await.unwrap();
        let status = response.status().as_u16();
        rig.check(step, status, &response.bytes().await.unwrap());
    }
    rig.finished();
}
