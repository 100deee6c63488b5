//! `#[derive(WebhookEvent)]` and `#[derive(WebhookPayload)]` for the `webhook` crate.
//!
//! Use them through `webhook` (feature `derive`, on by default); the attribute grammar is
//! documented on each derive ([`WebhookEvent`](macro@WebhookEvent),
//! [`WebhookPayload`](macro@WebhookPayload)), which `webhook` re-exports. The pipeline is fixed: `ast` parses the input into a model with spans
//! (attributes in `attr`), `check` applies the cross-variant rules, `expand` writes the
//! tokens. Errors are collected in a `ctxt::Ctxt` and reported together, with a stub impl so
//! one mistake does not cascade.

mod ast;
mod attr;
mod case;
mod check;
mod ctxt;
mod dialect;
mod expand;
mod symbol;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derive `webhook::WebhookEvent` for an enum of event types: one variant per event type.
///
/// Struct variants list their fields directly (serde attributes on them work as usual);
/// newtype variants carry a payload type that derives `Deserialize` and `WebhookPayload`; unit
/// variants carry nothing (their payload, if any, is skipped).
///
/// # Attributes
///
/// On the enum, `#[webhook(...)]`:
///
/// | attribute | meaning |
/// | --- | --- |
/// | `tag = "type"` | the event type is the body field `type`, beside the payload fields (internally tagged) |
/// | `tag = "type", content = "data"` | the payload is under `data` (adjacently tagged) |
/// | `tag_header = "X-GitHub-Event"` | the event type is a header; the whole body is the payload. Such a header is often not signed (GitHub's is not): a copy of a delivery re-sent with another value decodes as another event when its body fits that event's payload. It is refused as a duplicate within the retention (the signed content keys it), so keep the retention long for such a sender and give each event's payload the fields that tell it apart |
/// | `id = "data.id"` | where the event id is, for idempotency (dotted path into the body, which the signature covers; a string there must be what a header message id may be, visible ASCII without surrounding spaces, and at most 256 bytes, or an integer; else 422). There is no `id_header`: a header the signature does not cover (GitHub's `X-GitHub-Delivery`) could be changed by whoever replays a delivery, and a scheme that signs its id header reads it itself as the message id |
/// | `timestamp = "created_at"` | where the event's own timestamp is (dotted path) |
/// | `rename_all = "snake_case"` | event names from variant names, with serde's rules |
/// | `deny_unknown_fields` | reject unknown fields in struct variants' payloads (by default extra fields are accepted; the tag beside them is known); a newtype variant's payload type decides for itself, with serde's own `#[serde(deny_unknown_fields)]` on it (with `tag` alone such a payload must declare the tag field itself), and the JSON Schema follows the same rule |
/// | `crate = "path"` | the crate root to use instead of `::webhook` |
///
/// serde's attributes on the enum and its variants shape only a `Serialize` you derive beside
/// it: decoding follows `#[webhook(...)]` (a variant's event name is its `#[webhook(rename)]`,
/// never its `#[serde(rename)]`). Those that can only mean deserialization (`deny_unknown_fields`,
/// `default`, `from`, `try_from` on the enum; `alias`, `other`, `skip_deserializing`,
/// `deserialize_with`, `with` on a variant) are refused, naming the `#[webhook(...)]`
/// equivalent where there is one.
///
/// On a variant: `rename = "email.sent"`, any number of `alias = "…"`, and `other` for the
/// catch-all: a unit variant (drops the unknown event) or `Other { event_type: String,
/// payload: serde_json::Value }` (keeps its name and JSON; `event_type` may be any type built
/// `From<String>` that reads as `AsRef<str>`, such as `Box<str>`, and `payload` any type built
/// `From<serde_json::Value>`; its fields take no rules; the name
/// it keeps must be what a body's event id may be, visible ASCII of 1 to 256 bytes without
/// surrounding spaces, else 422 at the tag). Without
/// a catch-all an unknown type is rejected with `UnknownEventType` (422). `event_type()` is a
/// listed event's canonical name (also when an alias was sent), the name a keeping catch-all
/// kept, and a unit catch-all's own variant name after `rename_all` (`"Unhandled"`, or
/// `"unhandled"` with `snake_case`) whatever type was sent; `is_catch_all()` is true for
/// either catch-all. A delivery's span, a duplicate's answer and `peek_event_type()` name the
/// type sent instead: canonical for a listed type, as sent for a caught one (a unit
/// catch-all's too), and nothing for a caught type that breaks the rule above (visible ASCII,
/// 1 to 256 bytes, no surrounding spaces). A struct variant
/// also takes serde's `rename_all`, `deny_unknown_fields` (which, like the enum's, knows the
/// tag beside the fields and closes the variant's schema) and `default` for its fields, and
/// refuses serde settings that would read them as another shape (`transparent`, `untagged`…);
/// its fields refuse serde's `alias` (the schema and the id path know each field by one name).
/// A raw identifier names its event without `r#` (`r#type` is `type`), as serde does. A
/// payload is a JSON object: a struct variant's fields, a payload struct or a nested one given
/// as an array (which serde alone reads as the fields in order) is refused with 422.
///
/// On a field: `email` (an ASCII address of at most 254 characters, as JSON Schema's `email`
/// format), `url`, `length(min = 1, max = 64)` (or one bound alone; not on a set, whose
/// repeated items serde merges before the rule could count them), `range(min = 0, max =
/// 100)`, or one bound alone, `range(min = 1)` or `range(max = 100)` (inclusive; on any
/// primitive number, `i128`/`u128` included; an `f32` field is compared with the bounds
/// rounded to `f32`),
/// `pattern = "^[a-z]+$"` (checked at compile time: its syntax, its compiled size, and that it
/// means the same in Rust and in the JSON Schema export's ECMA-262 — so `[0-9]`, not `\d`; no
/// `.`, inline flags, `\A`/`\z`, `\U0001F600`, POSIX or Unicode classes, nested classes, a
/// class starting with `]`, a quantifier on a quantifier (`a{2}{3}`), or an escape of a
/// character ECMA-262 does not hold special, such as `\-` outside a class), `one_of("hard", "soft")`, `non_empty`, `nested` and
/// `custom = path::to_fn` (`fn(&T) -> Result<(), E>` with `E: Into<Cow<'static, str>>`).
/// A rule on an `Option` skips `None`. Every failing field is reported at once, with its path:
/// `data.recipient: not a valid email address`.
///
/// A payload's rules run wherever it appears: a field whose type derives `WebhookPayload`, or
/// is an `Option`, `Box`, `Vec`, `VecDeque`, array or boxed slice of such, or a
/// `HashMap`/`BTreeMap` with such values (`Option<Box<Node>>` for a recursive payload), in a
/// struct variant or in a
/// payload struct at any depth, runs its payloads' rules and exports their schema, with or
/// without `nested` (errors at `data.object.amount`, `data.items[2].sku`, and at
/// `data.prices.*.unit` in a map, whose keys are the sender's and are written `*`); error
/// paths and their `*` for undeclared keys are the same either way. `nested` is optional: it only
/// asserts that the field holds payloads, a compile error otherwise, so a type that loses its
/// `WebhookPayload` derive cannot go unnoticed. Types the derive does not look into — a
/// tuple, an `Rc`/`Arc`, a `Cow`, a set, a `Box` around a list or map inside another shape
/// (`Option<Box<Vec<P>>>`; a field's own outer `Box` is looked through), a wrapper of your
/// own — hold payloads whose rules do
/// not run: give the wrapper a `WebhookPayload` impl (it is then found), or mark the field
/// `nested`, which refuses to compile any type whose payloads it cannot check. A
/// `#[serde(skip)]` field is never read, and never checked.
///
/// # Examples
///
/// The email event set (envelope `{ "event_type", "timestamp", "data" }`):
///
/// ```
/// use serde::Deserialize;
/// use webhook::{DecodeErrorKind, WebhookEvent, WebhookPayload, WebhookRequest};
///
/// #[derive(Debug, PartialEq, WebhookEvent)]
/// #[webhook(tag = "event_type", content = "data", id = "data.message_id", timestamp = "timestamp")]
/// enum EmailEvent {
///     #[webhook(rename = "email.sent")]
///     Sent { message_id: String, #[webhook(email)] recipient: String, timestamp: String },
///     #[webhook(rename = "email.delivered")]
///     Delivered { message_id: String, #[webhook(email)] recipient: String, timestamp: String },
///     #[webhook(rename = "email.bounced")]
///     Bounced(Bounce),
///     #[webhook(rename = "email.opened")]
///     Opened {
///         message_id: String,
///         #[webhook(email)]
///         recipient: String,
///         timestamp: String,
///         user_agent: String,
///     },
///     #[webhook(rename = "email.clicked")]
///     Clicked {
///         message_id: String,
///         #[webhook(email)]
///         recipient: String,
///         #[webhook(url)]
///         url: String,
///         timestamp: String,
///     },
///     #[webhook(rename = "email.unsubscribed")]
///     Unsubscribed { #[webhook(email)] recipient: String, timestamp: String },
///     #[webhook(rename = "email.spam_reported")]
///     SpamReported { message_id: String, #[webhook(email)] recipient: String, timestamp: String },
///     #[webhook(other)]
///     Other { event_type: String, payload: serde_json::Value },
/// }
///
/// #[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
/// struct Bounce {
///     message_id: String,
///     #[webhook(email)]
///     recipient: String,
///     #[webhook(one_of("hard", "soft"))]
///     bounce_type: String,
///     reason: String,
/// }
///
/// let body = br#"{"event_type":"email.clicked","timestamp":"2024-05-01T12:00:00Z",
///     "data":{"message_id":"m1","recipient":"a@example.com","url":"https://example.com/x","timestamp":"t"}}"#;
/// let request = WebhookRequest::new(body);
/// let event = EmailEvent::decode(&request)?;
/// assert_eq!(event.event_type(), "email.clicked");
/// assert_eq!(EmailEvent::event_id(&request)?.as_deref(), Some("m1"));
///
/// let bad = br#"{"event_type":"email.clicked","data":{"message_id":"m1","recipient":"nope","url":"nope","timestamp":"t"}}"#;
/// let err = EmailEvent::decode(&WebhookRequest::new(bad)).unwrap_err();
/// assert_eq!(err.kind(), DecodeErrorKind::Validation);
/// assert_eq!(err.to_string(), "data.recipient: not a valid email address; data.url: not a valid url");
///
/// let schema = EmailEvent::json_schema();
/// assert_eq!(schema["oneOf"].as_array().map(Vec::len), Some(8));
/// # Ok::<(), webhook::DecodeError>(())
/// ```
///
/// Stripe's envelope: the event id and type at the top, the object under `data.object`,
/// checked by its own rules (no `nested` needed):
///
/// ```
/// use serde::Deserialize;
/// use webhook::{WebhookEvent, WebhookPayload, WebhookRequest};
///
/// #[derive(Debug, Deserialize, WebhookPayload)]
/// struct PaymentIntent {
///     id: String,
///     #[webhook(range(min = 1))]
///     amount: i64,
///     #[webhook(pattern = "^[a-z]{3}$")]
///     currency: String,
/// }
///
/// #[derive(Debug, Deserialize, WebhookPayload)]
/// struct Refund {
///     id: String,
///     #[webhook(range(max = 99_999_999))]
///     amount: u64,
/// }
///
/// #[derive(Debug, WebhookEvent)]
/// #[webhook(tag = "type", content = "data", id = "id", timestamp = "created")]
/// enum StripeEvent {
///     #[webhook(rename = "payment_intent.succeeded")]
///     PaymentIntentSucceeded { object: PaymentIntent },
///     #[webhook(rename = "charge.refunded")]
///     ChargeRefunded { object: Refund },
///     #[webhook(other)]
///     Unhandled,
/// }
///
/// let body = br#"{"id":"evt_1","object":"event","created":1700000000,"type":"payment_intent.succeeded",
///     "data":{"object":{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd"}}}"#;
/// let request = WebhookRequest::new(body);
/// let event = StripeEvent::decode(&request)?;
/// assert!(matches!(&event, StripeEvent::PaymentIntentSucceeded { object } if object.amount == 2000));
/// assert_eq!(StripeEvent::event_id(&request)?.as_deref(), Some("evt_1"));
///
/// // The payload's rules run under `data.object`.
/// let zero = br#"{"id":"evt_2","type":"payment_intent.succeeded",
///     "data":{"object":{"id":"pi_2","amount":0,"currency":"usd"}}}"#;
/// let err = StripeEvent::decode(&WebhookRequest::new(zero)).unwrap_err();
/// assert_eq!(err.to_string(), "data.object.amount: must be at least 1");
///
/// // An event type the set does not list is dropped by the unit catch-all, which names itself;
/// // the delivery's span and a duplicate's answer name the type sent.
/// let other = WebhookRequest::new(br#"{"id":"evt_3","type":"customer.created","data":{"object":{}}}"#);
/// let event = StripeEvent::decode(&other)?;
/// assert_eq!((event.event_type(), event.is_catch_all()), ("Unhandled", true));
/// assert_eq!(StripeEvent::peek_event_type(&other).as_deref(), Some("customer.created"));
///
/// // The schema carries the payload's fields and bounds.
/// let schema = StripeEvent::json_schema();
/// let object = &schema["oneOf"][0]["properties"]["data"]["properties"]["object"];
/// assert_eq!(object["properties"]["amount"]["minimum"], 1);
/// # Ok::<(), webhook::DecodeError>(())
/// ```
///
/// A header-tagged set, GitHub style:
///
/// ```
/// use serde::Deserialize;
/// use webhook::{WebhookEvent, WebhookPayload, WebhookRequest};
///
/// #[derive(Debug, Deserialize, WebhookPayload)]
/// struct Push {
///     #[serde(rename = "ref")]
///     #[webhook(pattern = "^refs/")]
///     git_ref: String,
/// }
///
/// #[derive(Debug, WebhookEvent)]
/// #[webhook(tag_header = "X-GitHub-Event", rename_all = "snake_case")]
/// enum GitHubEvent {
///     Push(Push),
///     Ping { zen: String },
///     Issues(serde_json::Value),
///     #[webhook(other)]
///     Unsupported,
/// }
///
/// let request = WebhookRequest::new(br#"{"ref":"refs/heads/main"}"#)
///     .with_header("X-GitHub-Event", "push")
///     .with_header("X-GitHub-Delivery", "72d3162e");
/// assert!(matches!(GitHubEvent::decode(&request)?, GitHubEvent::Push(p) if p.git_ref == "refs/heads/main"));
/// // GitHub signs the body only: deliveries are deduplicated by their signature.
/// assert_eq!(GitHubEvent::event_id(&request)?, None);
/// # Ok::<(), webhook::DecodeError>(())
/// ```
#[proc_macro_derive(WebhookEvent, attributes(webhook, serde))]
pub fn derive_webhook_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input, ast::Derive::Event).into()
}

/// Derive `webhook::WebhookPayload` for a payload struct (next to serde's `Deserialize`, which
/// shapes its JSON): the field rules of [`derive@WebhookEvent`] and the struct's JSON Schema.
/// The schema and the error paths describe the struct's own fields, so serde's
/// `transparent`, `from` and `try_from`, which read other JSON, are refused.
///
/// ```
/// use serde::Deserialize;
/// use webhook::WebhookPayload;
///
/// #[derive(Deserialize, WebhookPayload)]
/// struct Bounce {
///     #[webhook(email)]
///     recipient: String,
///     #[webhook(one_of("hard", "soft"))]
///     bounce_type: String,
/// }
///
/// let err = Bounce::from_json(br#"{"recipient":"x","bounce_type":"maybe"}"#).err().map(|e| e.to_string());
/// assert_eq!(err.as_deref(), Some("recipient: not a valid email address; bounce_type: must be one of `hard`, `soft`"));
/// ```
#[proc_macro_derive(WebhookPayload, attributes(webhook))]
pub fn derive_webhook_payload(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input, ast::Derive::Payload).into()
}
