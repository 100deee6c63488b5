//! The derives inside a `macro_rules!` expansion, with the field types, names and rules coming
//! from the macro's caller: generated locals must not take the hygiene of the caller's tokens.
#![deny(warnings)]
#![allow(dead_code)]

use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload, WebhookRequest};

macro_rules! payload {
    ($name:ident { $($field:ident : $ty:ty),* }) => {
        #[derive(Debug, Deserialize, WebhookPayload)]
        struct $name {
            $(#[webhook(length(max = 64))] $field: $ty,)*
        }
    };
}

macro_rules! events {
    ($name:ident, $payload:ty, $field:ident : $ty:ty) => {
        #[derive(Debug, WebhookEvent)]
        #[webhook(tag = "type", content = "data")]
        enum $name {
            #[webhook(rename = "sent")]
            Sent($payload),
            #[webhook(rename = "opened")]
            Opened {
                #[webhook(email)]
                $field: $ty,
            },
        }
    };
}

payload!(Sent { to: String, subject: String });
events!(Events, Sent, to: String);

fn main() {
    let body = br#"{"type":"opened","data":{"to":"a@example.com"}}"#;
    let event = Events::decode(&WebhookRequest::new(body)).unwrap();
    assert!(matches!(event, Events::Opened { .. }));
    let body = br#"{"type":"sent","data":{"to":"a@example.com","subject":"hi"}}"#;
    assert!(Events::decode(&WebhookRequest::new(body)).is_ok());
}
