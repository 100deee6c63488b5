// The usability trial's Stripe set, as written: no `nested`, and the payload's rule runs.
use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload, WebhookRequest};

#[derive(Debug, Deserialize, WebhookPayload)]
pub struct PaymentIntent {
    pub id: String,
    #[webhook(range(min = 1))]
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "id")]
pub enum StripeEvent {
    #[webhook(rename = "payment_intent.succeeded")]
    PaymentIntentSucceeded { object: PaymentIntent },
    #[webhook(other)]
    Unhandled,
}

/// A tree, recursive through `Option<Box<…>>` and `Vec`, unmarked.
#[derive(Debug, Deserialize, WebhookPayload)]
struct Node {
    #[webhook(range(max = 9))]
    value: u8,
    next: Option<Box<Node>>,
    children: Vec<Node>,
}

fn main() {
    let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","amount":0,"currency":"usd"}}}"#;
    let err = StripeEvent::decode(&WebhookRequest::new(body)).unwrap_err();
    assert_eq!(err.to_string(), "data.object.amount: must be at least 1");

    let err = Node::from_json(
        br#"{"value":1,"next":{"value":2,"next":null,"children":[{"value":10,"next":null,"children":[]}]},"children":[]}"#,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "next.children[0].value: must be at most 9");
    // Finite: the inner occurrence takes any value.
    let schema = Node::json_schema();
    assert_eq!(schema["properties"]["value"]["maximum"], 9);
    assert!(schema.to_string().len() < 4096, "{schema}");
}
