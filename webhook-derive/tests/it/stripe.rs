//! Stripe's envelope (`{ "id", "type", "data": { "object": … } }`), as the derive's docs show
//! it, and one-sided `range` bounds.

use serde::Deserialize;
use serde_json::json;
use webhook::{DecodeErrorKind, WebhookEvent, WebhookPayload, WebhookRequest};

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
pub struct PaymentIntent {
    pub id: String,
    #[webhook(range(min = 1))]
    pub amount: i64,
    #[webhook(pattern = "^[a-z]{3}$")]
    pub currency: String,
}

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
pub struct Refund {
    pub id: String,
    #[webhook(range(max = 99_999_999))]
    pub amount: u64,
    #[webhook(range(min = 0.5))]
    pub ratio: Option<f64>,
}

#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "id", timestamp = "created")]
pub enum StripeEvent {
    #[webhook(rename = "payment_intent.succeeded")]
    PaymentIntentSucceeded { object: PaymentIntent },
    #[webhook(rename = "charge.refunded")]
    ChargeRefunded { object: Refund },
    #[webhook(other)]
    Unhandled,
}

fn decode(body: &str) -> Result<StripeEvent, webhook::DecodeError> {
    StripeEvent::decode(&WebhookRequest::new(body.as_bytes()))
}

#[test]
fn stripe_events_decode_with_their_payloads_rules() {
    let body = r#"{"id":"evt_1","object":"event","created":1700000000,"type":"payment_intent.succeeded",
        "data":{"object":{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd"}}}"#;
    let request = WebhookRequest::new(body.as_bytes());
    let event = StripeEvent::decode(&request).unwrap();
    assert_eq!(
        event,
        StripeEvent::PaymentIntentSucceeded {
            object: PaymentIntent {
                id: "pi_1".into(),
                amount: 2000,
                currency: "usd".into()
            }
        }
    );
    assert_eq!(
        StripeEvent::event_id(&request).unwrap().as_deref(),
        Some("evt_1")
    );
    let err = decode(
        r#"{"id":"evt_2","type":"payment_intent.succeeded","data":{"object":{"id":"pi_2","amount":0,"currency":"USD"}}}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Validation);
    assert_eq!(
        err.to_string(),
        "data.object.amount: must be at least 1; data.object.currency: does not match the pattern `^[a-z]{3}$`"
    );
    let other = decode(r#"{"id":"evt_3","type":"customer.created","data":{"object":{}}}"#);
    assert_eq!(other.unwrap(), StripeEvent::Unhandled);
}

/// `range(min = …)` and `range(max = …)` alone bound one side, in decoding and in the schema;
/// an absent `Option` skips the rule.
#[test]
fn one_sided_ranges_bound_one_side() {
    let refund = |amount: &str, ratio: &str| {
        decode(&format!(
            r#"{{"id":"evt_4","type":"charge.refunded","data":{{"object":{{"id":"re_1","amount":{amount},"ratio":{ratio}}}}}}}"#
        ))
    };
    assert!(refund("0", "null").is_ok());
    assert!(refund("99999999", "0.5").is_ok());
    assert!(refund("1", "1e300").is_ok());
    assert_eq!(
        refund("100000000", "0.4999").unwrap_err().to_string(),
        "data.object.amount: must be at most 99999999; data.object.ratio: must be at least 0.5"
    );
    let intent = |amount: &str| {
        decode(&format!(
            r#"{{"id":"evt_5","type":"payment_intent.succeeded","data":{{"object":{{"id":"pi","amount":{amount},"currency":"eur"}}}}}}"#
        ))
    };
    assert!(intent("1").is_ok());
    assert!(intent("9223372036854775807").is_ok());
    assert_eq!(
        intent("-5").unwrap_err().to_string(),
        "data.object.amount: must be at least 1"
    );

    let schema = StripeEvent::json_schema();
    let object = |i: usize| &schema["oneOf"][i]["properties"]["data"]["properties"]["object"];
    let amount = &object(0)["properties"]["amount"];
    assert_eq!(amount["minimum"], json!(1), "{schema:#}");
    assert_eq!(
        amount["maximum"],
        json!(i64::MAX),
        "the type's own bound stays"
    );
    let refund_amount = &object(1)["properties"]["amount"];
    assert_eq!(
        refund_amount["minimum"],
        json!(0),
        "the type's own bound stays"
    );
    assert_eq!(refund_amount["maximum"], json!(99_999_999));
    let ratio = &object(1)["properties"]["ratio"];
    assert_eq!(ratio["minimum"], json!(0.5));
    assert!(ratio.get("maximum").is_none(), "{ratio}");
}
