//! What each kind of catch-all answers for `event_type()`, and what the delivery's span and a
//! duplicate's answer record: the type the sender sent (when it is one an event id could be),
//! never a unit catch-all's own name, and no byte of a type that breaks that rule.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use webhook::{
    Accepted, FixedClock, Freshness, LeaseSlot, Outgoing, Receiver, Secret, SharedClock, Signer,
    StandardWebhooks, StandardWebhooksSigner, WebhookEvent, WebhookRequest,
};

/// A unit catch-all: the unknown event is dropped.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "id")]
pub enum Dropping {
    #[webhook(rename = "payment_intent.succeeded", alias = "payment_intent.ok")]
    Succeeded { amount: i64 },
    #[webhook(other)]
    Unhandled,
}

/// A catch-all that keeps the unknown event.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "id")]
pub enum Keeping {
    #[webhook(rename = "payment_intent.succeeded")]
    Succeeded { amount: i64 },
    #[webhook(other)]
    Other {
        event_type: String,
        payload: serde_json::Value,
    },
}

/// No catch-all.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data")]
pub enum Closed {
    #[webhook(rename = "payment_intent.succeeded")]
    Succeeded { amount: i64 },
}

fn body(event_type: &str) -> String {
    format!(
        r#"{{"id":"evt_1","type":{},"data":{{"amount":1}}}}"#,
        serde_json::to_string(event_type).unwrap()
    )
}

#[test]
fn event_type_names_each_kind_of_catch_all() {
    let decode = |t: &str| Dropping::decode(&WebhookRequest::new(body(t).as_bytes())).unwrap();
    let dropped = decode("customer.created");
    assert_eq!(dropped, Dropping::Unhandled);
    assert_eq!(dropped.event_type(), "Unhandled");
    assert!(dropped.is_catch_all());
    let listed = decode("payment_intent.ok");
    assert_eq!(listed.event_type(), "payment_intent.succeeded");
    assert!(!listed.is_catch_all());

    let kept = Keeping::decode(&WebhookRequest::new(body("customer.created").as_bytes())).unwrap();
    assert_eq!(kept.event_type(), "customer.created");
    assert!(kept.is_catch_all());
    let closed = Closed::decode(&WebhookRequest::new(
        body("payment_intent.succeeded").as_bytes(),
    ))
    .unwrap();
    assert!(!closed.is_catch_all());
}

/// Both kinds of catch-all are read as the type sent, before decoding.
#[test]
fn peek_names_the_type_sent_for_either_catch_all() {
    for t in ["customer.created", "Unhandled", "x"] {
        let request_body = body(t);
        let request = WebhookRequest::new(request_body.as_bytes());
        assert_eq!(Dropping::peek_event_type(&request).as_deref(), Some(t));
        assert_eq!(Keeping::peek_event_type(&request).as_deref(), Some(t));
        assert_eq!(Closed::peek_event_type(&request), None);
    }
    let alias = body("payment_intent.ok");
    assert_eq!(
        Dropping::peek_event_type(&WebhookRequest::new(alias.as_bytes())).as_deref(),
        Some("payment_intent.succeeded")
    );
}

/// Runs a future whose every step is ready (the memory store's are).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// A `Write` into a shared buffer, for a captured subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written while `run` runs, with the spans' fields as they close.
    fn during(run: impl FnOnce()) -> String {
        let captured = Self::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }
}

const NOW: i64 = 1_700_000_000;

struct Rig {
    clock: SharedClock,
    secret: Secret,
}

impl Rig {
    fn new() -> Self {
        Self {
            clock: Arc::new(FixedClock::at_secs(NOW)),
            secret: Secret::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap(),
        }
    }

    fn receiver(&self, read_type: bool) -> Receiver {
        let verifier = StandardWebhooks::new(self.secret.clone())
            .unwrap()
            .freshness(Freshness::default().with_shared_clock(self.clock.clone()));
        let builder = Receiver::builder()
            .route("test")
            .verifier(verifier)
            .clock(self.clock.clone());
        if read_type {
            builder.events::<Dropping>().build().unwrap()
        } else {
            builder.build().unwrap()
        }
    }

    fn sign(&self, id: &str, body: &[u8]) -> Vec<(String, String)> {
        StandardWebhooksSigner::new(self.secret.clone())
            .clock(self.clock.clone())
            .sign(&Outgoing::new(body).id(id))
            .unwrap()
            .into_vec()
    }
}

/// One delivery of `body` through `Delivery::accept`, finished; its answer.
fn deliver<E: WebhookEvent>(
    receiver: &Receiver,
    headers: &[(String, String)],
    body: &[u8],
) -> Accepted<E> {
    let request = WebhookRequest::new(body).with_headers(headers);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    delivery.authenticate(&request).unwrap();
    let accepted = ready(delivery.accept::<E>(&request)).unwrap();
    ready(delivery.finish(true));
    accepted
}

/// The span's `event_type` of each delivery in `text`, in order (`None`: not recorded).
fn recorded_types(text: &str) -> Vec<Option<String>> {
    text.lines()
        .filter(|line| line.contains("webhook.delivery") && line.contains("close"))
        .map(|line| {
            line.split_once("event_type=")
                .map(|(_, rest)| rest.split([' ', '}']).next().unwrap_or("").to_owned())
        })
        .collect()
}

/// The trial's report: a unit catch-all recorded `event_type="Unhandled"` in the span, over
/// the type the sender sent. The span now keeps the type sent, with or without the
/// receiver's reader, and a duplicate's answer names it too.
#[test]
fn the_span_keeps_the_type_sent_to_a_unit_catch_all() {
    let rig = Rig::new();
    for read_type in [false, true] {
        let receiver = rig.receiver(read_type);
        let sent = body("customer.created");
        let headers = rig.sign("msg_caught", sent.as_bytes());
        let listed = body("payment_intent.ok");
        let listed_headers = rig.sign("msg_listed", listed.as_bytes());
        let mut answers = Vec::new();
        let text = Captured::during(|| {
            let first = deliver::<Dropping>(&receiver, &headers, sent.as_bytes());
            assert!(matches!(first, Accepted::Fresh(Dropping::Unhandled)));
            let again = deliver::<Dropping>(&receiver, &headers, sent.as_bytes());
            let Accepted::Duplicate(reply) = again else {
                panic!("not a duplicate");
            };
            answers.push(serde_json::from_str::<serde_json::Value>(reply.body()).unwrap());
            let listed = deliver::<Dropping>(&receiver, &listed_headers, listed.as_bytes());
            assert!(matches!(
                listed,
                Accepted::Fresh(Dropping::Succeeded { .. })
            ));
        });
        let quoted = |t: &str| Some(format!("{t:?}"));
        assert_eq!(
            recorded_types(&text),
            [
                quoted("customer.created"),
                quoted("customer.created"),
                quoted("payment_intent.succeeded")
            ],
            "reader {read_type}:\n{text}"
        );
        assert!(!text.contains("Unhandled"), "{text}");
        assert_eq!(answers[0]["event_type"], "customer.created");
    }
}

/// A type sent to a unit catch-all that an event id could not be (not visible ASCII, empty,
/// with surrounding spaces, over 256 bytes) is accepted, and none of it is recorded: the
/// span has no `event_type`, rather than the sender's bytes or the catch-all's name.
#[test]
fn a_type_no_event_id_could_be_leaves_no_trace_in_the_span() {
    let rig = Rig::new();
    let too_long = format!("SECRET{}", "x".repeat(251));
    for read_type in [false, true] {
        let receiver = rig.receiver(read_type);
        let text = Captured::during(|| {
            for (i, t) in [
                "SECRET\u{1b}[31m",
                " SECRET",
                "SECRÉT",
                "SECRET\n",
                "",
                &too_long,
            ]
            .into_iter()
            .enumerate()
            {
                let sent = body(t);
                let headers = rig.sign(&format!("msg_bad_{i}"), sent.as_bytes());
                let accepted = deliver::<Dropping>(&receiver, &headers, sent.as_bytes());
                assert!(matches!(accepted, Accepted::Fresh(Dropping::Unhandled)));
            }
        });
        assert_eq!(recorded_types(&text), vec![None; 6], "{text}");
        assert!(
            !text.contains("SECRET") && !text.contains("Unhandled"),
            "{text}"
        );
    }
}

/// Behind a layer, the extractor's `accept_layered` records in the current span the same way.
#[test]
fn a_layered_accept_records_the_type_sent_too() {
    let rig = Rig::new();
    let receiver = rig.receiver(false);
    let sent = body("customer.created");
    let headers = rig.sign("msg_layered", sent.as_bytes());
    let text = Captured::during(|| {
        let request = WebhookRequest::new(sent.as_bytes()).with_headers(&headers);
        let mut delivery = receiver.delivery();
        delivery.admit(&request, false).unwrap();
        let proof = delivery.authenticate(&request).unwrap().clone();
        let slot = LeaseSlot::new();
        let accepted = {
            let _entered = delivery.span().clone().entered();
            ready(receiver.accept_layered::<Dropping>(&proof, &slot, &request)).unwrap()
        };
        assert!(matches!(accepted, Accepted::Fresh(Dropping::Unhandled)));
        delivery.adopt(&slot);
        ready(delivery.finish(true));
    });
    assert_eq!(
        recorded_types(&text),
        [Some(r#""customer.created""#.to_owned())],
        "{text}"
    );
}
