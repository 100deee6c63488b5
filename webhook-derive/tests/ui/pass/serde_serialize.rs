// An event set that also derives `Serialize`, with serde's own attributes for it: the
// derive accepts them (decoding follows `#[webhook(...)]`), and a decoded event serializes as
// it came.
use webhook::{WebhookEvent, WebhookRequest};

#[derive(Debug, WebhookEvent, serde::Serialize)]
#[webhook(tag = "type", content = "data")]
#[serde(tag = "type", content = "data")]
enum Events {
    #[webhook(rename = "email.sent")]
    #[serde(rename = "email.sent")]
    Sent {
        #[serde(rename = "to")]
        recipient: String,
    },
    #[webhook(rename = "email.opened")]
    #[serde(rename = "email.opened", rename_all = "camelCase")]
    Opened { user_agent: String },
}

fn main() {
    let body = br#"{"type":"email.sent","data":{"to":"a@example.com"}}"#;
    let event = Events::decode(&WebhookRequest::new(body)).unwrap();
    assert_eq!(serde_json::to_vec(&event).unwrap(), body);
    let body = br#"{"type":"email.opened","data":{"userAgent":"x"}}"#;
    let event = Events::decode(&WebhookRequest::new(body)).unwrap();
    assert_eq!(serde_json::to_vec(&event).unwrap(), body);
}
