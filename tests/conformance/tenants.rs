//! The tenants script: one route, `/webhooks/mail/{tenant}`, serving several senders that each
//! sign with a secret of their own ([`webhook::Tenants`], the tenant named by the last path
//! segment). Every framework runner mounts it with the framework's own path parameter, plays
//! [`SCRIPT`] in order through its test client ([`play`]), and checks each answer with [`Rig::check`],
//! so the three adapters are shown to answer it alike.
#![allow(dead_code, unreachable_pub)]

use webhook::{Outgoing, Receiver, Secret, Signer as _, StandardWebhooks, StandardWebhooksSigner};

/// What the route's handler answers for a fresh delivery: `{"tenant","id","duplicate":false}`.
pub fn accepted(proof: &webhook::Proof) -> serde_json::Value {
    serde_json::json!({ "tenant": proof.tenant(), "id": proof.message_id(), "duplicate": false })
}

/// One step of the script.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Post a delivery of message `id`, signed with `key`'s secret, to `tenant`'s URL.
    Send {
        key: &'static str,
        tenant: &'static str,
        id: &'static str,
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

/// The script: each tenant's deliveries verified with its own secret and deduplicated apart
/// from the others', a delivery signed for one tenant refused at another's URL, a tenant
/// added, rotated and removed while the app serves.
pub const SCRIPT: &[Step] = &[
    send("acme", "acme", "msg_1", Expect::Accepted("acme")),
    // Globex's sender happens to use the same message id: a delivery of its own.
    send("globex", "globex", "msg_1", Expect::Accepted("globex")),
    send("acme", "acme", "msg_1", Expect::Duplicate),
    send("globex", "globex", "msg_1", Expect::Duplicate),
    // Acme's signature at Globex's URL.
    send(
        "acme",
        "globex",
        "msg_2",
        Expect::Refused(401, "invalid_signature"),
    ),
    send(
        "initech",
        "initech",
        "msg_2",
        Expect::Refused(401, "invalid_credentials"),
    ),
    send(
        "acme",
        "ac%6De",
        "msg_2",
        Expect::Refused(401, "invalid_credentials"),
    ),
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
    send(
        "acme",
        "acme",
        "msg_3",
        Expect::Refused(401, "invalid_signature"),
    ),
    send("acme-2", "acme", "msg_3", Expect::Accepted("acme")),
    Step::Remove { tenant: "globex" },
    send(
        "globex",
        "globex",
        "msg_4",
        Expect::Refused(401, "invalid_credentials"),
    ),
];

const fn send(key: &'static str, tenant: &'static str, id: &'static str, expect: Expect) -> Step {
    Step::Send {
        key,
        tenant,
        id,
        expect,
    }
}

/// The secret named `key` (derived from the name, so every runner signs alike).
fn secret(key: &str) -> Secret {
    Secret::from_bytes(format!("tenant-secret-of-{key:>16}").into_bytes()).unwrap()
}

fn verifier(key: &str) -> StandardWebhooks {
    StandardWebhooks::new(secret(key)).unwrap()
}

/// The registry and the receiver of the route, before the script: Acme and Globex.
pub struct Rig {
    /// A clone of the receiver's registry, to change while the app serves.
    pub registry: webhook::Tenants,
    pub receiver: Receiver,
    checked: std::sync::atomic::AtomicUsize,
}

impl Rig {
    pub fn new() -> Self {
        let registry = webhook::Tenants::by_last_path_segment()
            .tenant("acme", verifier("acme"))
            .unwrap()
            .tenant("globex", verifier("globex"))
            .unwrap();
        let receiver = Receiver::builder()
            .route("mail")
            .verifier(registry.clone())
            .content_type("application/json")
            .public_base_url("https://hooks.example.com")
            .build()
            .unwrap();
        Self {
            registry,
            receiver,
            checked: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Check a `Send` step's answer.
    pub fn check(&self, step: &Step, status: u16, body: &[u8]) {
        step.check(status, body);
        self.checked
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// After the script: every delivery was answered and checked, and the registry and the
    /// receiver's counters show what the script did.
    pub fn finished(&self) {
        let sends = SCRIPT
            .iter()
            .filter(|s| matches!(s, Step::Send { .. }))
            .count();
        assert_eq!(
            self.checked.load(std::sync::atomic::Ordering::SeqCst),
            sends
        );
        assert!(self.registry.contains("initech") && !self.registry.contains("globex"));
        let stats = self.receiver.stats();
        assert_eq!((stats.accepted, stats.duplicates), (4, 2));
        assert_eq!(stats.rejected_total(), 5);
    }

    /// Apply an `Insert` or `Remove` step; `Send` steps are the runner's.
    fn apply(&self, step: &Step) {
        match *step {
            Step::Insert { tenant, key } => self.registry.insert(tenant, verifier(key)).unwrap(),
            Step::Remove { tenant } => assert!(self.registry.remove(tenant), "{tenant}"),
            Step::Send { .. } => {}
        }
    }
}

/// The script as the runner plays it: `Insert` and `Remove` steps applied as they are reached
/// (lazily, so each comes after the deliveries before it have been answered), and each `Send`
/// step yielded with its delivery's path, headers and body.
pub fn play(rig: &Rig) -> impl Iterator<Item = (&'static Step, Delivery)> + '_ {
    SCRIPT.iter().filter_map(move |step| match *step {
        Step::Send {
            key, tenant, id, ..
        } => Some((step, delivery(key, tenant, id))),
        _ => {
            rig.apply(step);
            None
        }
    })
}

/// A delivery's path, headers and body.
pub type Delivery = (String, Vec<(String, String)>, String);

/// The path, headers and body of a `Send` step's delivery.
fn delivery(key: &str, tenant: &str, id: &str) -> Delivery {
    let body = format!(
        r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}}}"#
    );
    let mut headers = StandardWebhooksSigner::new(secret(key))
        .sign(&Outgoing::new(body.as_bytes()).id(id))
        .unwrap()
        .into_vec();
    headers.push(("content-type".into(), "application/json".into()));
    (format!("/webhooks/mail/{tenant}"), headers, body)
}

impl Step {
    fn check(&self, status: u16, body: &[u8]) {
        let Step::Send { expect, .. } = *self else {
            return;
        };
        let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        match expect {
            Expect::Accepted(tenant) => {
                assert_eq!(status, 200, "{self:?}: {json}");
                assert_eq!(json["tenant"], tenant, "{self:?}: {json}");
                assert_eq!(json["duplicate"], false, "{self:?}: {json}");
            }
            Expect::Duplicate => {
                assert_eq!(status, 200, "{self:?}: {json}");
                assert_eq!(json["duplicate"], true, "{self:?}: {json}");
                assert!(
                    json.get("tenant").is_none(),
                    "{self:?}: the handler ran: {json}"
                );
            }
            Expect::Refused(code, error) => {
                assert_eq!(
                    (status, json["error"].as_str()),
                    (code, Some(error)),
                    "{self:?}"
                );
            }
        }
    }
}
