//! JSON Schema export: valid against the draft 2020-12 meta-schema, and on a corpus of valid
//! and invalid payloads (fixed and generated) `jsonschema` and our decoder agree on each one.

use proptest::prelude::*;
use serde_json::{Value, json};
use webhook::{WebhookEvent, WebhookRequest};

use crate::attributes::Shop;
use crate::email::EmailEvent;
use crate::errors::Strict;
use crate::github::GitHubEvent;

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::meta::validate(schema)
        .unwrap_or_else(|e| panic!("meta-schema: {e}\n{schema:#}"));
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap()
}

/// Decoding and the exported schema agree on `payload`; returns whether both accept it.
fn agree<E: WebhookEvent + std::fmt::Debug>(
    validator: &jsonschema::Validator,
    payload: &Value,
) -> bool {
    let body = payload.to_string();
    let ours = E::decode(&WebhookRequest::new(body.as_bytes()));
    let theirs = validator.is_valid(payload);
    assert_eq!(
        ours.is_ok(),
        theirs,
        "disagreement on {body}: ours {ours:?}"
    );
    theirs
}

/// Both kinds of payload occur in a corpus: agreement on accepts alone (or on rejects alone)
/// would prove little.
fn assert_both_kinds(name: &str, accepted: impl IntoIterator<Item = bool>) {
    let (mut yes, mut no) = (0, 0);
    for accepted in accepted {
        if accepted {
            yes += 1;
        } else {
            no += 1;
        }
    }
    assert!(yes >= 2 && no >= 2, "{name}: {yes} accepted, {no} rejected");
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    for schema in [
        EmailEvent::json_schema(),
        Strict::json_schema(),
        Shop::json_schema(),
        GitHubEvent::json_schema(),
    ] {
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        jsonschema::draft202012::meta::validate(&schema).unwrap();
    }
}

#[test]
fn email_schema_shape() {
    let schema = EmailEvent::json_schema();
    let one_of = schema["oneOf"].as_array().unwrap();
    assert_eq!(one_of.len(), 8, "7 event types and the catch-all");
    let clicked = &one_of[4];
    assert_eq!(
        clicked["properties"]["event_type"],
        json!({"const": "email.clicked"})
    );
    assert_eq!(clicked["required"], json!(["event_type", "data"]));
    let data = &clicked["properties"]["data"];
    assert_eq!(
        data["properties"]["recipient"],
        json!({"type": "string", "format": "email", "maxLength": 254})
    );
    assert_eq!(
        data["properties"]["url"],
        json!({"type": "string", "format": "uri"})
    );
    assert_eq!(
        data["required"],
        json!(["message_id", "recipient", "url", "timestamp"])
    );
    let bounce = &one_of[2]["properties"]["data"]["properties"]["bounce_type"];
    assert_eq!(bounce, &json!({"type": "string", "enum": ["hard", "soft"]}));
    assert_eq!(
        one_of[7]["properties"]["event_type"]["not"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

fn email_corpus() -> Vec<Value> {
    let mut corpus = vec![
        json!({"event_type": "email.sent", "data": {"message_id": "m", "recipient": "a@example.com", "timestamp": "t"}}),
        json!({"event_type": "email.sent", "data": {"message_id": "m", "recipient": "not an email", "timestamp": "t"}}),
        // RFC 5321's empty quoted local part; an IPv6 literal's tag in any case; a 64-octet
        // local part with a 199-octet domain (264 in all: the format alone allows it).
        json!({"event_type": "email.sent", "data": {"message_id": "m", "recipient": "\"\"@example.com", "timestamp": "t"}}),
        json!({"event_type": "email.sent", "data": {"message_id": "m", "recipient": "a@[ipv6:::1]", "timestamp": "t"}}),
        json!({"event_type": "email.sent", "data": {"message_id": "m", "recipient": format!("{}@{}.{}.{}.example", "a".repeat(64), "b".repeat(63), "c".repeat(63), "d".repeat(63)), "timestamp": "t"}}),
        json!({"event_type": "email.sent", "data": {"message_id": "m", "timestamp": "t"}}),
        json!({"event_type": "email.sent", "data": {"message_id": 1, "recipient": "a@example.com", "timestamp": "t"}}),
        json!({"event_type": "email.sent"}),
        json!({"event_type": "email.sent", "data": "x"}),
        json!({"event_type": 5, "data": {}}),
        json!({"data": {}}),
        json!([]),
        json!("email.sent"),
        json!({"event_type": "email.new_thing", "data": {"anything": 1}}),
        json!({"event_type": "email.sent", "data": ["m", "a@example.com", "t"]}),
        json!({"event_type": "email.bounced", "data": ["m", "a@example.com", "hard", "r"]}),
        json!({"event_type": "SECRET\u{1b}[2J", "data": {}}),
        json!({"event_type": "e".repeat(300), "data": {}}),
        json!({"event_type": "e".repeat(256), "data": {}}),
        json!({"event_type": "a b\tc", "data": {}}),
        json!({"event_type": " a", "data": {}}),
        json!({"event_type": "", "data": {}}),
        json!({"event_type": "caf\u{e9}", "data": {}}),
        json!({"event_type": "email.bounced", "data": {"message_id": "m", "recipient": "a@b.co", "bounce_type": "soft", "reason": "r"}}),
        json!({"event_type": "email.bounced", "data": {"message_id": "m", "recipient": "a@b.co", "bounce_type": "other", "reason": "r"}}),
        json!({"event_type": "email.bounced", "data": {"message_id": "m", "recipient": "a@b.co", "bounce_type": "soft"}}),
        json!({"event_type": "email.clicked", "data": {"message_id": "m", "recipient": "a@b.co", "url": "https://x.io/a?b=c", "timestamp": "t"}}),
        json!({"event_type": "email.clicked", "data": {"message_id": "m", "recipient": "a@b.co", "url": "/relative", "timestamp": "t"}}),
        json!({"event_type": "email.clicked", "data": {"message_id": "m", "recipient": "a@b.co", "url": "https://a b", "timestamp": "t"}}),
        json!({"event_type": "email.unsubscribed", "data": {"recipient": "a@b.co", "timestamp": "t", "extra": [1]}}),
        json!({"event_type": "email.opened", "data": {"message_id": "m", "recipient": "a@b.co", "timestamp": "t", "user_agent": null}}),
    ];
    for email in [
        "a@b",
        "a.b@c.d",
        "@b.co",
        "a@",
        "a@b..co",
        "a b@c.co",
        "\"q\"@b.co",
        "a@[127.0.0.1]",
        "a@-x.co",
        "x@y_z.co",
    ] {
        corpus.push(json!({"event_type": "email.delivered", "data": {"message_id": "m", "recipient": email, "timestamp": "t"}}));
    }
    for url in [
        "http://a",
        "mailto:x@y.z",
        "urn:isbn:1",
        "https://x.io/%20",
        "https://x.io/%zz",
        "ftp://[::1]/",
        "http://ex ample.com",
        "no-scheme",
    ] {
        corpus.push(json!({"event_type": "email.clicked", "data": {"message_id": "m", "recipient": "a@b.co", "url": url, "timestamp": "t"}}));
    }
    corpus
}

#[test]
fn email_schema_agrees_with_decoding_on_the_corpus() {
    let v = validator(&EmailEvent::json_schema());
    let outcomes: Vec<bool> = email_corpus()
        .iter()
        .map(|payload| agree::<EmailEvent>(&v, payload))
        .collect();
    assert_both_kinds("email", outcomes);
}

#[test]
fn other_sets_agree_on_their_corpora() {
    let strict = validator(&Strict::json_schema());
    let outcomes: Vec<bool> = [
        json!({"type": "a", "data": {"id": 1, "to": "a@b.co", "links": [{"href": "https://x.io"}]}}),
        json!({"type": "a", "data": {"id": 1, "to": "a@b.co", "links": [{"href": "nope"}]}}),
        json!({"type": "a", "data": {"id": 4_294_967_296_u64, "to": "a@b.co", "links": []}}),
        json!({"type": "a", "data": {"id": -1, "to": "a@b.co", "links": []}}),
        json!({"type": "a", "data": {"id": 1, "to": "a@b.co"}}),
        json!({"type": "ping"}),
        json!({"type": "ping", "data": 7}),
        json!({"type": "pong"}),
        json!({"type": "a", "data": [1, "a@b.co", [{"href": "https://x.io"}]]}),
        json!({"type": "a", "data": {"id": 1, "to": "a@b.co", "links": [["https://x.io"]]}}),
    ]
    .iter()
    .map(|payload| agree::<Strict>(&strict, payload))
    .collect();
    assert_both_kinds("strict", outcomes);
    let shop = validator(&Shop::json_schema());
    let outcomes: Vec<bool> = [
        json!({"kind": "order-created", "quantity": 2, "items": ["a"], "sku-code": "ABC-1"}),
        json!({"kind": "order.new", "quantity": 2, "items": ["a"], "sku-code": "ABC-1", "currency": "eur", "tags": {"x": "y"}}),
        json!({"kind": "order-created", "quantity": 2, "items": ["a"], "sku-code": "ABC-1", "currency": null}),
        json!({"kind": "order-created", "quantity": 0, "items": ["a"], "sku-code": "ABC-1"}),
        json!({"kind": "order-created", "quantity": 101, "items": ["a"], "sku-code": "ABC-1"}),
        json!({"kind": "order-created", "quantity": 2, "items": [], "sku-code": "ABC-1"}),
        json!({"kind": "order-created", "quantity": 2, "items": ["a", "b", "c", "d"], "sku-code": "ABC-1"}),
        json!({"kind": "order-created", "quantity": 2, "items": ["a"], "sku-code": "abc-1"}),
        json!({"kind": "order-created", "quantity": 2, "items": ["a"], "sku-code": "ABC-1", "currency": "gbp"}),
        json!({"kind": "order-created", "quantity": 2, "items": ["a"], "sku-code": "ABC-1", "tags": {"a": "", "b": "", "c": ""}}),
        json!({"kind": "order-created", "quantity": 2, "items": ["a"], "sku-code": "ABC-1", "unknown": 1}),
        json!({"kind": "customer.updated", "userName": "bob", "score": 1.5}),
        json!({"kind": "customer.updated", "userName": "bob", "score": 2.6}),
        json!({"kind": "customer.updated", "userName": "b"}),
        json!({"kind": "customer.updated", "userName": "bob", "backupEmail": "nope"}),
        json!({"kind": "customer.updated"}),
        json!({"kind": "heartbeat", "anything": true}),
        json!({"kind": "whatever"}),
        json!({"kind": 1}),
    ]
    .iter()
    .map(|payload| agree::<Shop>(&shop, payload))
    .collect();
    assert_both_kinds("shop", outcomes);
}

#[test]
fn header_tagged_schema_has_one_definition_per_event() {
    let schema = GitHubEvent::json_schema();
    assert_eq!(schema["x-webhook-tag-header"], "X-GitHub-Event");
    let defs = schema["$defs"].as_object().unwrap();
    assert_eq!(
        defs.keys().collect::<Vec<_>>(),
        ["issues", "ping", "pull_request", "push"]
    );
    let issues = validator(&defs["issues"]);
    for (body, ok) in [
        (json!({"action": "opened", "number": 1}), true),
        (json!({"action": "opened", "number": 0}), false),
        (json!({"action": "deleted", "number": 1}), false),
        (json!({"action": "opened"}), false),
    ] {
        assert_eq!(issues.is_valid(&body), ok, "{body}");
        let decoded = GitHubEvent::decode(
            &WebhookRequest::new(body.to_string().as_bytes())
                .with_header("X-GitHub-Event", "issues"),
        );
        assert_eq!(decoded.is_ok(), ok, "{body}");
    }
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{1,8}@[a-z]{1,8}\\.(com|org|io)".prop_map(Value::from),
        "https://[a-z]{1,10}\\.(com|io)/[a-z0-9]{0,8}".prop_map(Value::from),
        "[a-zA-Z0-9 ._@:/-]{0,12}".prop_map(Value::from),
        Just(json!("hard")),
        Just(json!("soft")),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text(),
        1 => any::<i32>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!([])),
        1 => Just(json!({})),
    ]
}

fn email_payload() -> impl Strategy<Value = Value> {
    let names = prop_oneof![
        Just("email.sent"),
        Just("email.delivered"),
        Just("email.bounced"),
        Just("email.opened"),
        Just("email.clicked"),
        Just("email.unsubscribed"),
        Just("email.spam_reported"),
        Just("email.future"),
    ];
    let fields = [
        "message_id",
        "recipient",
        "timestamp",
        "bounce_type",
        "reason",
        "user_agent",
        "url",
    ];
    let data =
        proptest::collection::vec(proptest::option::weighted(0.85, any_value()), fields.len())
            .prop_map(move |values| {
                let mut map = serde_json::Map::new();
                for (key, value) in fields.iter().zip(values) {
                    if let Some(value) = value {
                        map.insert((*key).to_owned(), value);
                    }
                }
                Value::Object(map)
            });
    (names, data, any::<u8>()).prop_map(|(name, data, shape)| match shape % 16 {
        0 => json!({"event_type": name}),
        1 => json!({"data": data}),
        2 => json!({"event_type": name, "data": "x"}),
        _ => json!({"event_type": name, "timestamp": "t", "data": data}),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_email_payloads_agree(payload in email_payload()) {
        let v = validator(&EmailEvent::json_schema());
        let body = payload.to_string();
        let ours = EmailEvent::decode(&WebhookRequest::new(body.as_bytes())).is_ok();
        prop_assert_eq!(ours, v.is_valid(&payload), "disagreement on {}", body);
    }
}

/// A type with no schema of its own (a date, say): the schema takes any value for it.
#[derive(Debug, PartialEq, serde::Deserialize)]
pub struct Stamp(String);

#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data")]
pub enum Optionals {
    #[webhook(rename = "a")]
    A {
        id: u32,
        #[webhook(nested)]
        link: Option<crate::errors::Link>,
        when: Option<Stamp>,
        boxed: Box<Option<Stamp>>,
    },
}

/// Fields written `Option<…>` are optional in the schema as in decoding, whether or not
/// their type has a schema of its own.
#[test]
fn written_options_are_not_required() {
    let schema = Optionals::json_schema();
    let text = schema.to_string();
    assert!(text.contains(r#""required":["id"]"#), "{schema:#}");
    let v = validator(&schema);
    let outcomes: Vec<bool> = [
        json!({"type": "a", "data": {"id": 1}}),
        json!({"type": "a", "data": {"id": 1, "link": null, "when": null}}),
        json!({"type": "a", "data": {"id": 1, "link": {"href": "https://x.io"}, "when": "t"}}),
        json!({"type": "a", "data": {"id": 1, "link": {"href": "nope"}}}),
        json!({"type": "a", "data": {"link": {"href": "https://x.io"}}}),
    ]
    .iter()
    .map(|payload| agree::<Optionals>(&v, payload))
    .collect();
    assert_eq!(outcomes, [true, true, true, false, false]);
}

/// A payload that contains itself (a tree).
#[derive(Debug, PartialEq, serde::Deserialize, webhook::WebhookPayload)]
pub struct Node {
    #[webhook(length(max = 8))]
    pub name: String,
    #[webhook(nested)]
    pub children: Vec<Node>,
}

#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data")]
pub enum Trees {
    #[webhook(rename = "tree")]
    Tree(Node),
}

/// A payload containing itself has a finite schema: its inner occurrence takes any value
/// (decoding still checks every level), instead of exporting without end.
#[test]
fn recursive_payloads_have_a_finite_schema() {
    let schema = Trees::json_schema();
    let v = validator(&schema);
    let outcomes: Vec<bool> = [
        json!({"type": "tree", "data": {"name": "root", "children": []}}),
        json!({"type": "tree", "data": {"name": "root", "children": [{"name": "leaf", "children": []}]}}),
        json!({"type": "tree", "data": {"name": "a-name-too-long", "children": []}}),
    ]
    .iter()
    .map(|payload| agree::<Trees>(&v, payload))
    .collect();
    assert_eq!(outcomes, [true, true, false]);
    // Where the payload recurs, the schema accepts anything, and decoding does not.
    let deep = json!({"type": "tree", "data": {"name": "root", "children": [{"name": "leaf", "children": [{"name": "a-name-too-long", "children": []}]}]}});
    assert!(v.is_valid(&deep));
    assert!(Trees::decode(&WebhookRequest::new(deep.to_string().as_bytes())).is_err());
    // Exporting twice gives the same schema (nothing is left on the stack).
    assert_eq!(Trees::json_schema(), schema);
}

/// A variant's own `#[serde(deny_unknown_fields)]`, internally tagged: the tag beside its
/// fields is known, any other key refused, and the schema is closed to agree; its
/// `#[serde(default)]` fills what is missing.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type")]
pub enum ClosedVariant {
    #[webhook(rename = "closed")]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    Closed { user_name: String },
    #[webhook(rename = "open")]
    Open { user_name: String },
    /// A variant's `#[serde(default)]` fills what is missing, and the schema requires nothing.
    #[webhook(rename = "defaulted")]
    #[serde(default)]
    Defaulted { n: u32, name: String },
}

#[test]
fn a_variants_own_serde_settings_are_honoured_and_in_its_schema() {
    let decode = |body: &str| ClosedVariant::decode(&WebhookRequest::new(body.as_bytes()));
    assert_eq!(
        decode(r#"{"type":"closed","userName":"u"}"#).unwrap(),
        ClosedVariant::Closed {
            user_name: "u".into()
        }
    );
    assert_eq!(
        decode(r#"{"userName":"u","type":"closed","SECRET":1}"#)
            .unwrap_err()
            .to_string(),
        "*: unknown field, expected `userName` or `type`"
    );
    assert_eq!(
        decode(r#"{"type":"defaulted","n":2}"#).unwrap(),
        ClosedVariant::Defaulted {
            n: 2,
            name: String::new()
        }
    );
    let schema = ClosedVariant::json_schema();
    assert_eq!(schema["oneOf"][0]["additionalProperties"], json!(false));
    assert_eq!(schema["oneOf"][2]["required"], json!(["type"]));
    assert!(schema["oneOf"][1].get("additionalProperties").is_none());
    let validator = validator(&schema);
    let accepted = [
        json!({"type": "closed", "userName": "u"}),
        json!({"type": "closed", "userName": "u", "extra": 1}),
        json!({"type": "closed"}),
        json!({"type": "open", "user_name": "u", "extra": 1}),
        json!({"type": "open", "userName": "u"}),
        json!({"type": "closed", "user_name": "u"}),
        json!({"type": "defaulted"}),
        json!({"type": "defaulted", "n": 2}),
        json!({"type": "defaulted", "n": "2"}),
    ]
    .iter()
    .map(|payload| agree::<ClosedVariant>(&validator, payload))
    .collect::<Vec<_>>();
    assert_both_kinds("closed variant", accepted);
}

/// 128-bit integers: their schema is an integer (before, `true`, or with a `range` bounds
/// without a type), so what decoding refuses for its type the schema refuses too.
#[derive(Debug, webhook::WebhookEvent)]
#[webhook(tag = "type")]
pub enum Wide {
    #[webhook(rename = "big")]
    Big {
        #[webhook(range(min = -5, max = 1000))]
        signed: i128,
        #[webhook(range(max = 1_000_000))]
        unsigned: u128,
    },
    /// A rule wider than its type: the schema keeps the type's bound, as decoding does.
    #[webhook(rename = "narrow")]
    Narrow {
        #[webhook(range(max = 1000))]
        small: u8,
        #[webhook(range(min = -5))]
        count: u32,
        #[webhook(range(min = 10, max = 20))]
        inside: u8,
    },
}

#[test]
fn wide_integers_agree_on_their_corpus() {
    let validator = validator(&Wide::json_schema());
    let accepted: Vec<bool> = [
        json!({"type": "big", "signed": -5, "unsigned": 1}),
        json!({"type": "big", "signed": 1000, "unsigned": 0}),
        json!({"type": "big", "signed": "x", "unsigned": 1}),
        json!({"type": "big", "signed": 1.5, "unsigned": 1}),
        json!({"type": "big", "signed": null, "unsigned": 1}),
        json!({"type": "big", "signed": {}, "unsigned": 1}),
        json!({"type": "big", "signed": -6, "unsigned": 1}),
        json!({"type": "big", "signed": 1, "unsigned": -1}),
        json!({"type": "big", "signed": 1, "unsigned": "1"}),
    ]
    .iter()
    .map(|payload| agree::<Wide>(&validator, payload))
    .collect();
    assert_eq!(
        accepted,
        [true, true, false, false, false, false, false, false, false]
    );
    let narrow: Vec<bool> = [
        json!({"type": "narrow", "small": 255, "count": 0, "inside": 10}),
        json!({"type": "narrow", "small": 0, "count": 7, "inside": 20}),
        json!({"type": "narrow", "small": 256, "count": 0, "inside": 10}),
        json!({"type": "narrow", "small": 300, "count": 0, "inside": 10}),
        json!({"type": "narrow", "small": 1, "count": -1, "inside": 10}),
        json!({"type": "narrow", "small": 1, "count": 0, "inside": 9}),
        json!({"type": "narrow", "small": 1, "count": 0, "inside": 21}),
    ]
    .iter()
    .map(|payload| agree::<Wide>(&validator, payload))
    .collect();
    assert_eq!(narrow, [true, true, false, false, false, false, false]);
    let schema = Wide::json_schema().to_string();
    assert!(schema.contains(r#""maximum":255"#), "{schema}");
}

/// A tree as deep as JSON decoding allows (63 levels of an object and a list each inside the
/// envelope: serde_json stops at 128), failing its rule at the bottom, decodes on a thread
/// with a 2 MiB stack (a Tokio worker's) in this unoptimised build: the rule's error, not a
/// stack overflow. Deeper is refused as malformed.
#[test]
fn the_deepest_tree_json_allows_decodes_on_a_workers_stack() {
    fn nested(depth: usize, leaf: &str) -> String {
        let mut body = format!(r#"{{"name":"{leaf}","children":[]}}"#);
        for _ in 1..depth {
            body = format!(r#"{{"name":"n","children":[{body}]}}"#);
        }
        format!(r#"{{"type":"tree","data":{body}}}"#)
    }
    let outcomes = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            [60, 63, 64, 65, 200].map(|depth| {
                Trees::decode(&WebhookRequest::new(
                    nested(depth, "a-name-too-long").as_bytes(),
                ))
                .map_err(|e| e.kind())
            })
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    use webhook::DecodeErrorKind::{MalformedBody, Validation};
    assert_eq!(
        outcomes,
        [
            Err(Validation),
            Err(Validation),
            Err(MalformedBody),
            Err(MalformedBody),
            Err(MalformedBody)
        ]
    );
}

fn number_from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// A field read by a function of the application's: serde requires it, `Option` or not,
/// unless it has a default, and its shape is the function's (any value, to the schema).
#[derive(Debug, webhook::WebhookEvent)]
#[webhook(tag = "type")]
pub enum ReadByFunction {
    #[webhook(rename = "count")]
    Count {
        #[serde(deserialize_with = "number_from_text")]
        required: Option<u64>,
        #[serde(default, deserialize_with = "number_from_text")]
        #[webhook(range(max = 100))]
        optional: Option<u64>,
    },
}

#[test]
fn fields_read_by_a_function_are_required_unless_defaulted() {
    let schema = ReadByFunction::json_schema();
    let validator = validator(&schema);
    let accepted: Vec<bool> = [
        json!({"type": "count", "required": "7"}),
        json!({"type": "count", "required": "7", "optional": "8"}),
        json!({"type": "count"}),
        json!({"type": "count", "optional": "8"}),
    ]
    .iter()
    .map(|payload| agree::<ReadByFunction>(&validator, payload))
    .collect();
    assert_eq!(accepted, [true, true, false, false]);
    let body = br#"{"type":"count","required":"7","optional":"8"}"#;
    let ReadByFunction::Count { required, optional } =
        ReadByFunction::decode(&WebhookRequest::new(body)).unwrap();
    assert_eq!((required, optional), (Some(7), Some(8)));
    let count = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["properties"]["type"]["const"] == "count")
        .unwrap();
    assert_eq!(count["properties"]["required"], json!(true), "{count}");
    assert_eq!(count["properties"]["optional"], json!(true), "{count}");
    assert_eq!(count["required"], json!(["type", "required"]), "{count}");
}
