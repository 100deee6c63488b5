//! decode(encode(x)) == x for generated events: every variant of the email set, encoded as
//! the provider would send it (fields in any order, tag before or after the payload).

use proptest::prelude::*;
use serde_json::{Value, json};
use webhook::{WebhookEvent, WebhookRequest};

use crate::email::{Bounce, EmailEvent};

fn encode(event: &EmailEvent, tag_last: bool) -> String {
    let (name, data) = match event {
        EmailEvent::Sent {
            message_id,
            recipient,
            timestamp,
        } => (
            "email.sent",
            json!({"message_id": message_id, "recipient": recipient, "timestamp": timestamp}),
        ),
        EmailEvent::Delivered {
            message_id,
            recipient,
            timestamp,
        } => (
            "email.delivered",
            json!({"message_id": message_id, "recipient": recipient, "timestamp": timestamp}),
        ),
        EmailEvent::Bounced(b) => (
            "email.bounced",
            json!({"message_id": b.message_id, "recipient": b.recipient, "bounce_type": b.bounce_type, "reason": b.reason}),
        ),
        EmailEvent::Opened {
            message_id,
            recipient,
            timestamp,
            user_agent,
        } => (
            "email.opened",
            json!({"message_id": message_id, "recipient": recipient, "timestamp": timestamp, "user_agent": user_agent}),
        ),
        EmailEvent::Clicked {
            message_id,
            recipient,
            url,
            timestamp,
        } => (
            "email.clicked",
            json!({"message_id": message_id, "recipient": recipient, "url": url, "timestamp": timestamp}),
        ),
        EmailEvent::Unsubscribed {
            recipient,
            timestamp,
        } => (
            "email.unsubscribed",
            json!({"recipient": recipient, "timestamp": timestamp}),
        ),
        EmailEvent::SpamReported {
            message_id,
            recipient,
            timestamp,
        } => (
            "email.spam_reported",
            json!({"message_id": message_id, "recipient": recipient, "timestamp": timestamp}),
        ),
        EmailEvent::Other {
            event_type,
            payload,
        } => (event_type.as_str(), payload.clone()),
    };
    if tag_last {
        format!(
            r#"{{"timestamp":"2024-01-01T00:00:00Z","data":{data},"event_type":{}}}"#,
            Value::from(name)
        )
    } else {
        format!(r#"{{"event_type":{},"data":{data}}}"#, Value::from(name))
    }
}

fn email() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,6}([._+-][a-z0-9]{1,4})?@[a-z0-9]{1,10}\\.(com|org|example)"
}

fn any_text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn event() -> impl Strategy<Value = EmailEvent> {
    prop_oneof![
        (any_text(), email(), any_text()).prop_map(|(message_id, recipient, timestamp)| {
            EmailEvent::Sent {
                message_id,
                recipient,
                timestamp,
            }
        }),
        (any_text(), email(), any_text()).prop_map(|(message_id, recipient, timestamp)| {
            EmailEvent::Delivered {
                message_id,
                recipient,
                timestamp,
            }
        }),
        (
            any_text(),
            email(),
            prop_oneof![Just("hard"), Just("soft")],
            any_text()
        )
            .prop_map(
                |(message_id, recipient, bounce_type, reason)| EmailEvent::Bounced(Bounce {
                    message_id,
                    recipient,
                    bounce_type: bounce_type.into(),
                    reason
                })
            ),
        (any_text(), email(), any_text(), any_text()).prop_map(
            |(message_id, recipient, timestamp, user_agent)| {
                EmailEvent::Opened {
                    message_id,
                    recipient,
                    timestamp,
                    user_agent,
                }
            }
        ),
        (
            any_text(),
            email(),
            "https://[a-z]{1,12}\\.com/[a-z0-9/]{0,12}",
            any_text()
        )
            .prop_map(
                |(message_id, recipient, url, timestamp)| EmailEvent::Clicked {
                    message_id,
                    recipient,
                    url,
                    timestamp
                }
            ),
        (email(), any_text()).prop_map(|(recipient, timestamp)| EmailEvent::Unsubscribed {
            recipient,
            timestamp
        }),
        (any_text(), email(), any_text()).prop_map(|(message_id, recipient, timestamp)| {
            EmailEvent::SpamReported {
                message_id,
                recipient,
                timestamp,
            }
        }),
        ("email\\.[a-z]{1,10}", any::<i64>()).prop_map(|(event_type, n)| EmailEvent::Other {
            event_type,
            payload: json!({"n": n})
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_identity(event in event(), tag_last in any::<bool>()) {
        prop_assume!(!matches!(&event, EmailEvent::Other { event_type, .. } if EmailEvent::event_types().contains(&event_type.as_str())));
        let body = encode(&event, tag_last);
        let decoded = EmailEvent::decode(&WebhookRequest::new(body.as_bytes()));
        prop_assert_eq!(decoded.as_ref().ok(), Some(&event), "{} -> {:?}", body, decoded);
    }
}
