// The example of DESIGN.md, exactly.
use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload};

#[derive(Debug, Deserialize, WebhookPayload)]
struct Bounce {
    #[webhook(email)]
    recipient: String,
    #[webhook(one_of("hard", "soft"))]
    bounce_type: String,
}

#[derive(Debug, WebhookEvent)]
#[webhook(tag = "event_type", content = "data", id = "id")]
enum EmailEvent {
    #[webhook(rename = "email.delivered")]
    Delivered { message_id: String, #[webhook(email)] recipient: String, timestamp: String },
    #[webhook(rename = "email.bounced")]
    Bounced(Bounce),
    #[webhook(other)]
    Unknown,
}

fn main() {
    let request = webhook::WebhookRequest::new(
        br#"{"event_type":"email.bounced","id":"e1","data":{"recipient":"a@b.co","bounce_type":"hard"}}"#,
    );
    let event = EmailEvent::decode(&request).expect("valid event");
    match event {
        EmailEvent::Bounced(Bounce { recipient, bounce_type }) => {
            assert_eq!((recipient.as_str(), bounce_type.as_str()), ("a@b.co", "hard"));
        }
        EmailEvent::Delivered { .. } | EmailEvent::Unknown => unreachable!(),
    }
    assert_eq!(EmailEvent::event_id(&request).expect("id"), Some("e1".to_owned()));
}
