//! The email event set used by the docs, tests and the example receiver: ready to copy.

use serde::Deserialize;
use webhook::{
    DecodeErrorKind, VerifyError, VerifyErrorKind, WebhookEvent, WebhookPayload, WebhookRequest,
};

/// Envelope `{ "event_type", "timestamp", "data" }`; the payload is under `data`.
#[derive(Debug, Clone, PartialEq, WebhookEvent)]
#[webhook(
    tag = "event_type",
    content = "data",
    id = "data.message_id",
    timestamp = "timestamp"
)]
pub enum EmailEvent {
    #[webhook(rename = "email.sent")]
    Sent {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
    #[webhook(rename = "email.delivered")]
    Delivered {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
    #[webhook(rename = "email.bounced")]
    Bounced(Bounce),
    #[webhook(rename = "email.opened")]
    Opened {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
        user_agent: String,
    },
    #[webhook(rename = "email.clicked")]
    Clicked {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        #[webhook(url)]
        url: String,
        timestamp: String,
    },
    #[webhook(rename = "email.unsubscribed")]
    Unsubscribed {
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
    #[webhook(rename = "email.spam_reported")]
    SpamReported {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
    /// Any event type the provider adds later: kept, not rejected.
    #[webhook(other)]
    Other {
        event_type: String,
        payload: serde_json::Value,
    },
}

/// The payload of `email.bounced`, with its own rules.
#[derive(Debug, Clone, PartialEq, Deserialize, WebhookPayload)]
pub struct Bounce {
    pub message_id: String,
    #[webhook(email)]
    pub recipient: String,
    #[webhook(one_of("hard", "soft"))]
    pub bounce_type: String,
    pub reason: String,
}

pub fn decode(body: &str) -> Result<EmailEvent, webhook::DecodeError> {
    EmailEvent::decode(&WebhookRequest::new(body.as_bytes()))
}

#[test]
fn every_email_event_decodes() {
    let cases = [
        (
            r#"{"event_type":"email.sent","timestamp":"2024-05-01T12:00:00Z","data":{"message_id":"m1","recipient":"a@example.com","timestamp":"t"}}"#,
            EmailEvent::Sent {
                message_id: "m1".into(),
                recipient: "a@example.com".into(),
                timestamp: "t".into(),
            },
        ),
        (
            r#"{"event_type":"email.delivered","data":{"message_id":"m2","recipient":"b@example.com","timestamp":"t"}}"#,
            EmailEvent::Delivered {
                message_id: "m2".into(),
                recipient: "b@example.com".into(),
                timestamp: "t".into(),
            },
        ),
        (
            r#"{"data":{"message_id":"m3","recipient":"c@example.com","bounce_type":"hard","reason":"mailbox full"},"event_type":"email.bounced"}"#,
            EmailEvent::Bounced(Bounce {
                message_id: "m3".into(),
                recipient: "c@example.com".into(),
                bounce_type: "hard".into(),
                reason: "mailbox full".into(),
            }),
        ),
        (
            r#"{"event_type":"email.opened","data":{"message_id":"m4","recipient":"d@example.com","timestamp":"t","user_agent":"UA/1"}}"#,
            EmailEvent::Opened {
                message_id: "m4".into(),
                recipient: "d@example.com".into(),
                timestamp: "t".into(),
                user_agent: "UA/1".into(),
            },
        ),
        (
            r#"{"event_type":"email.clicked","data":{"message_id":"m5","recipient":"e@example.com","url":"https://example.com/x?y=1","timestamp":"t"}}"#,
            EmailEvent::Clicked {
                message_id: "m5".into(),
                recipient: "e@example.com".into(),
                url: "https://example.com/x?y=1".into(),
                timestamp: "t".into(),
            },
        ),
        (
            r#"{"event_type":"email.unsubscribed","data":{"recipient":"f@example.com","timestamp":"t"}}"#,
            EmailEvent::Unsubscribed {
                recipient: "f@example.com".into(),
                timestamp: "t".into(),
            },
        ),
        (
            r#"{"event_type":"email.spam_reported","data":{"message_id":"m7","recipient":"g@example.com","timestamp":"t"}}"#,
            EmailEvent::SpamReported {
                message_id: "m7".into(),
                recipient: "g@example.com".into(),
                timestamp: "t".into(),
            },
        ),
    ];
    for (body, expected) in cases {
        let event = decode(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(event, expected);
        assert!(EmailEvent::event_types().contains(&event.event_type()));
    }
}

#[test]
fn unknown_types_are_kept_by_the_catch_all() {
    let event = decode(r#"{"event_type":"email.complained","data":{"x":1}}"#).unwrap();
    assert_eq!(
        event,
        EmailEvent::Other {
            event_type: "email.complained".into(),
            payload: serde_json::json!({"x": 1})
        }
    );
    assert_eq!(event.event_type(), "email.complained");
    let event = decode(r#"{"event_type":"email.complained"}"#).unwrap();
    assert_eq!(
        event,
        EmailEvent::Other {
            event_type: "email.complained".into(),
            payload: serde_json::Value::Null
        }
    );
}

#[test]
fn every_failing_field_is_reported_with_its_path() {
    let err = decode(
        r#"{"event_type":"email.clicked","data":{"message_id":"m","recipient":"not-an-email","url":"not a url","timestamp":"t"}}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Validation);
    assert_eq!(
        err.to_string(),
        "data.recipient: not a valid email address; data.url: not a valid url"
    );
    let paths: Vec<&str> = err.errors().iter().map(|e| e.path()).collect();
    assert_eq!(paths, ["data.recipient", "data.url"]);
    let verify = VerifyError::from(err);
    assert_eq!(verify.kind(), VerifyErrorKind::Validation);
    assert_eq!(verify.status(), 422);
    assert!(!verify.to_json().contains("not-an-email"));
}

#[test]
fn bounce_rules_run_through_the_newtype() {
    let err = decode(
        r#"{"event_type":"email.bounced","data":{"message_id":"m","recipient":"x@example.com","bounce_type":"medium","reason":"r"}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.bounce_type: must be one of `hard`, `soft`"
    );
    let bounce = Bounce::from_json(
        br#"{"message_id":"m","recipient":"bad","bounce_type":"soft","reason":"r"}"#,
    );
    assert_eq!(
        bounce.unwrap_err().to_string(),
        "recipient: not a valid email address"
    );
}

#[test]
fn id_and_timestamp_are_read_without_decoding() {
    let body = br#"{"event_type":"email.sent","timestamp":"2024-05-01T12:00:00Z","data":{"message_id":"m1"}}"#;
    let request = WebhookRequest::new(body);
    assert_eq!(
        EmailEvent::event_id(&request).unwrap().as_deref(),
        Some("m1")
    );
    let ts = EmailEvent::event_timestamp(&request).unwrap().unwrap();
    assert_eq!(ts.unix_seconds(), Some(1_714_564_800));
    let none = WebhookRequest::new(br#"{"event_type":"email.unsubscribed","data":{}}"#);
    assert_eq!(EmailEvent::event_id(&none).unwrap(), None);
    let bad = WebhookRequest::new(br#"{"data":{"message_id":[1]}}"#);
    assert_eq!(
        EmailEvent::event_id(&bad).unwrap_err().to_string(),
        "data.message_id: invalid type, expected a string or an integer"
    );
}

/// A body's id is recorded in the delivery's span and echoed in a duplicate's answer: like a
/// header message id it must be visible ASCII, and it is at most 256 bytes. Otherwise 422,
/// at the id's path, without the value. Numbers stay ids.
#[test]
fn body_ids_follow_the_header_rule() {
    let id = |message_id: &str| {
        let body = format!(r#"{{"event_type":"email.sent","data":{{"message_id":{message_id}}}}}"#);
        EmailEvent::event_id(&WebhookRequest::new(body.as_bytes()))
    };
    assert_eq!(id("12345").unwrap().as_deref(), Some("12345"));
    let longest = "m".repeat(256);
    assert_eq!(
        id(&format!(r#""{longest}""#)).unwrap().as_deref(),
        Some(longest.as_str())
    );
    for bad in [
        format!(r#""{longest}m""#),
        r#""SECRET\u001b[2J""#.to_owned(),
        r#""SECRET\r\nX-Injected: 1""#.to_owned(),
        r#""SECRÉT""#.to_owned(),
        r#"" SECRET ""#.to_owned(),
        r#""""#.to_owned(),
    ] {
        let err = id(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data.message_id: invalid value, expected visible ascii of 1 to 256 bytes without \
             surrounding spaces",
            "{bad}"
        );
        let err = webhook::VerifyError::from(err);
        assert_eq!((err.status(), err.code()), (422, "validation_failed"));
        assert!(!format!("{err:?}").contains("SECR"), "{err:?}");
    }
}

/// Adjacent tagging: the type is read from the envelope, and an unlisted one is named by the
/// catch-all that keeps it.
#[test]
fn peek_event_type_reads_the_envelope() {
    let peek = |body: &str| EmailEvent::peek_event_type(&WebhookRequest::new(body.as_bytes()));
    assert_eq!(
        peek(r#"{"data":{"recipient":"not an address"},"event_type":"email.sent"}"#).as_deref(),
        Some("email.sent")
    );
    assert_eq!(
        peek(r#"{"event_type":"email.forwarded","data":{}}"#).as_deref(),
        Some("email.forwarded")
    );
    assert_eq!(peek(r#"{"data":{}}"#), None);
}

/// A payload is an object: the fields of a struct variant or a newtype's payload struct given
/// as an array (which serde alone would read in order) are refused, as the schema and the id
/// reader refuse them; the example receivers' set too.
#[test]
fn payloads_given_as_arrays_are_refused() {
    for body in [
        r#"{"event_type":"email.sent","data":["m1","a@example.com","t"]}"#,
        r#"{"data":["m1","a@example.com","t"],"event_type":"email.sent"}"#,
        r#"{"event_type":"email.bounced","data":["m3","c@example.com","hard","full"]}"#,
    ] {
        let request = WebhookRequest::new(body.as_bytes());
        for err in [
            decode(body).unwrap_err(),
            crate::example_email::EmailEvent::decode(&request).unwrap_err(),
        ] {
            assert_eq!(err.kind(), DecodeErrorKind::Validation, "{body}");
            assert_eq!(
                err.to_string(),
                "data: invalid type, expected an object",
                "{body}"
            );
            assert_eq!(VerifyError::from(err).status(), 422);
        }
        assert_eq!(EmailEvent::event_id(&request).unwrap(), None, "{body}");
    }
}

/// A kept event type goes into the delivery's span and a duplicate's answer: it follows the
/// rule body ids do (visible ASCII, 1 to 256 bytes, no surrounding spaces). Otherwise decoding
/// is a 422 at the tag, without the name, and there is no type to peek.
#[test]
fn kept_event_types_follow_the_id_rule() {
    let longest = "e".repeat(256);
    let body = format!(r#"{{"event_type":"{longest}","data":{{}}}}"#);
    let request = WebhookRequest::new(body.as_bytes());
    assert_eq!(
        EmailEvent::decode(&request).unwrap().event_type(),
        longest.as_str()
    );
    assert_eq!(
        EmailEvent::peek_event_type(&request).as_deref(),
        Some(longest.as_str())
    );
    for name in [
        r#""SECRET\u001b[2J""#.to_owned(),
        format!(r#""SECRET{}""#, "x".repeat(294)),
        r#""SECRET\r\nX-Injected: 1""#.to_owned(),
        r#"" SECRET""#.to_owned(),
        r#""SECR\u00c9T""#.to_owned(),
        r#""""#.to_owned(),
    ] {
        for body in [
            format!(r#"{{"event_type":{name},"data":{{}}}}"#),
            format!(r#"{{"data":{{}},"event_type":{name}}}"#),
        ] {
            let request = WebhookRequest::new(body.as_bytes());
            assert_eq!(EmailEvent::peek_event_type(&request), None, "{body}");
            let err = EmailEvent::decode(&request).unwrap_err();
            assert_eq!(err.kind(), DecodeErrorKind::Validation, "{body}");
            assert_eq!(
                err.to_string(),
                "event_type: invalid value, expected visible ascii of 1 to 256 bytes without \
                 surrounding spaces",
                "{body}"
            );
            assert!(!format!("{err:?}").contains("SECR"), "{err:?}");
            let err = VerifyError::from(err);
            assert_eq!((err.status(), err.code()), (422, "validation_failed"));
        }
    }
}
