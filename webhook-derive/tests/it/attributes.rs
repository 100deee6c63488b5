//! Every attribute of the grammar, one behaviour each.

use std::collections::BTreeMap;

use serde::Deserialize;
use webhook::{DecodeErrorKind, WebhookEvent, WebhookPayload, WebhookRequest};

pub fn not_reserved(name: &String) -> Result<(), &'static str> {
    if name == "admin" {
        Err("is a reserved name")
    } else {
        Ok(())
    }
}

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    #[webhook(custom = not_reserved, length(min = 2))]
    pub user_name: String,
    #[serde(default)]
    #[webhook(range(min = -1.5, max = 2.5))]
    pub score: f64,
    #[webhook(email)]
    pub backup_email: Option<String>,
}

/// Internally tagged (`tag` only), kebab-case names, aliases, closed payloads.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(
    tag = "kind",
    rename_all = "kebab-case",
    deny_unknown_fields,
    id = "meta.id",
    crate = "webhook"
)]
pub enum Shop {
    #[webhook(alias = "order.new", alias = "order_created")]
    OrderCreated {
        #[webhook(range(min = 1, max = 100))]
        quantity: u8,
        #[webhook(non_empty, length(max = 3))]
        items: Vec<String>,
        #[serde(rename = "sku-code")]
        #[webhook(pattern = r"^[A-Z]{3}-[0-9]+$")]
        sku: String,
        #[webhook(one_of("eur", "usd"))]
        currency: Option<String>,
        #[serde(default)]
        #[webhook(length(max = 2))]
        tags: BTreeMap<String, String>,
    },
    #[webhook(rename = "customer.updated")]
    CustomerUpdated(Customer),
    Heartbeat,
    #[webhook(other)]
    Unknown,
}

fn decode(body: &str) -> Result<Shop, webhook::DecodeError> {
    Shop::decode(&WebhookRequest::new(body.as_bytes()))
}

#[test]
fn internal_tag_rename_all_and_aliases() {
    let body =
        r#"{"kind":"order-created","quantity":2,"items":["a"],"sku-code":"ABC-1","meta":{"id":9}}"#;
    let expected = Shop::OrderCreated {
        quantity: 2,
        items: vec!["a".into()],
        sku: "ABC-1".into(),
        currency: None,
        tags: BTreeMap::new(),
    };
    // deny_unknown_fields: `meta` is not a field of the variant, nor a name the set declares
    assert_eq!(
        decode(body).unwrap_err().to_string(),
        "*: unknown field, expected one of `quantity`, `items`, `sku-code`, `currency`, `tags`, `kind`"
    );
    let body = r#"{"kind":"order-created","quantity":2,"items":["a"],"sku-code":"ABC-1"}"#;
    assert_eq!(decode(body).unwrap(), expected);
    for alias in ["order.new", "order_created"] {
        let body = body.replace("order-created", alias);
        assert_eq!(decode(&body).unwrap(), expected);
    }
    assert_eq!(decode(body).unwrap().event_type(), "order-created");
    assert_eq!(
        Shop::event_types(),
        ["order-created", "customer.updated", "heartbeat"]
    );
    assert_eq!(decode(r#"{"kind":"heartbeat"}"#).unwrap(), Shop::Heartbeat);
    assert_eq!(decode(r#"{"kind":"refund"}"#).unwrap(), Shop::Unknown);
    assert_eq!(Shop::Unknown.event_type(), "unknown");
    let id = Shop::event_id(&WebhookRequest::new(br#"{"meta":{"id":9}}"#)).unwrap();
    assert_eq!(id.as_deref(), Some("9"));
}

/// The event type read without decoding names the event as decoding would for a listed type
/// (the canonical name for an alias), and by the type sent for one the unit catch-all takes
/// (whose `event_type` is its own name: the span and a duplicate's answer name what was
/// sent), unless that type is no event id (then nothing); nothing when there is no readable
/// tag; a payload that would not decode does not matter.
#[test]
fn peek_event_type_names_events_as_decoding_does() {
    let peek = |body: &str| Shop::peek_event_type(&WebhookRequest::new(body.as_bytes()));
    for alias in ["order-created", "order.new", "order_created"] {
        let body = format!(r#"{{"quantity":0,"kind":"{alias}"}}"#);
        assert_eq!(peek(&body).as_deref(), Some("order-created"), "{alias}");
    }
    assert_eq!(
        peek(r#"{"kind":"heartbeat"}"#).as_deref(),
        Some("heartbeat")
    );
    assert_eq!(peek(r#"{"kind":"refund"}"#).as_deref(), Some("refund"));
    assert_eq!(
        decode(r#"{"kind":"refund"}"#).unwrap().event_type(),
        "unknown"
    );
    let too_long = format!(r#"{{"kind":"{}"}}"#, "r".repeat(257));
    for unnamed in [
        r#"{"kind":" refund"}"#,
        r#"{"kind":"réfund"}"#,
        r#"{"kind":"re\nfund"}"#,
        r#"{"kind":""}"#,
        &too_long,
    ] {
        assert_eq!(peek(unnamed), None, "{unnamed}");
        assert_eq!(decode(unnamed).unwrap(), Shop::Unknown, "{unnamed}");
    }
    for unreadable in [r#"{"quantity":1}"#, r#"{"kind":7}"#, "[]", "not json", ""] {
        assert_eq!(peek(unreadable), None, "{unreadable}");
    }
}

#[test]
fn each_rule_reports_its_message() {
    let body = r#"{"kind":"order-created","quantity":0,"items":[],"sku-code":"abc","currency":"gbp","tags":{"a":"","b":"","c":""}}"#;
    let err = decode(body).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Validation);
    let messages: Vec<String> = err.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "quantity: must be between 1 and 100",
            "items: must not be empty",
            r"sku-code: does not match the pattern `^[A-Z]{3}-[0-9]+$`",
            "currency: must be one of `eur`, `usd`",
            "tags: length must be at most 2",
        ]
    );
    let err = decode(
        r#"{"kind":"order-created","quantity":1,"items":["a","b","c","d"],"sku-code":"ABC-1"}"#,
    );
    assert_eq!(
        err.unwrap_err().to_string(),
        "items: length must be at most 3"
    );
}

#[test]
fn newtype_payload_with_serde_attributes_and_custom_rule() {
    let ok = decode(r#"{"kind":"customer.updated","userName":"bob","backupEmail":null}"#).unwrap();
    assert_eq!(
        ok,
        Shop::CustomerUpdated(Customer {
            user_name: "bob".into(),
            score: 0.0,
            backup_email: None
        })
    );
    let err =
        decode(r#"{"kind":"customer.updated","userName":"admin","score":3,"backupEmail":"x"}"#)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "userName: is a reserved name; score: must be between -1.5 and 2.5; backupEmail: not a valid email address"
    );
    let err = decode(r#"{"kind":"customer.updated","userName":"a"}"#).unwrap_err();
    assert_eq!(err.to_string(), "userName: length must be at least 2");
    assert_eq!(
        decode(r#"{"kind":"customer.updated"}"#)
            .unwrap_err()
            .to_string(),
        "userName: is required"
    );
}

/// Unknown extra fields are accepted by default (providers add fields all the time).
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data", timestamp = "created")]
pub enum Open {
    #[webhook(rename = "thing")]
    Thing { n: i32 },
}

#[test]
fn extra_fields_are_accepted_unless_denied() {
    let event = Open::decode(&WebhookRequest::new(
        br#"{"type":"thing","created":1700000000,"data":{"n":-3,"new_field":true}}"#,
    ));
    assert_eq!(event.unwrap(), Open::Thing { n: -3 });
    let ts = Open::event_timestamp(&WebhookRequest::new(br#"{"created":1700000000}"#)).unwrap();
    assert_eq!(ts, Some(webhook::EventTimestamp::Unix(1_700_000_000)));
    let unknown = Open::decode(&WebhookRequest::new(br#"{"type":"other","data":{}}"#)).unwrap_err();
    assert_eq!(unknown.kind(), DecodeErrorKind::UnknownEventType);
}

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
pub struct Ratio {
    #[webhook(range(max = 0.1))]
    pub low: f32,
    #[webhook(range(min = 0.3))]
    pub high: Option<f32>,
}

/// An `f32` field holding its bound meets it (`0.1_f32` widened exceeds 0.1); the next `f32`
/// beyond is refused.
#[test]
fn f32_fields_meet_their_bounds() {
    let decode = |low: f32, high: f32| {
        Ratio::from_json(format!(r#"{{"low":{low},"high":{high}}}"#).as_bytes())
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        decode(0.1, 0.3),
        Ok(Ratio {
            low: 0.1,
            high: Some(0.3)
        })
    );
    let above = f32::from_bits(0.1_f32.to_bits() + 1);
    let below = f32::from_bits(0.3_f32.to_bits() - 1);
    assert_eq!(
        decode(above, below),
        Err("low: must be at most 0.1; high: must be at least 0.3".to_owned())
    );
}

/// Raw identifiers name their events without `r#`, as serde names them.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "kind")]
#[allow(non_camel_case_types)]
pub enum Keywords {
    r#type { r#ref: u32 },
    r#match,
}

#[test]
fn raw_identifiers_lose_their_prefix() {
    assert_eq!(Keywords::event_types(), ["type", "match"]);
    let decode = |body: &str| Keywords::decode(&WebhookRequest::new(body.as_bytes()));
    let event = decode(r#"{"kind":"type","ref":7}"#).unwrap();
    assert_eq!(event, Keywords::r#type { r#ref: 7 });
    assert_eq!(event.event_type(), "type");
    assert_eq!(decode(r#"{"kind":"match"}"#).unwrap(), Keywords::r#match);
    assert_eq!(
        decode(r#"{"kind":"r#type","ref":7}"#).unwrap_err().kind(),
        DecodeErrorKind::UnknownEventType
    );
}
