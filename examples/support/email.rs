//! The email event set of the example receivers (the `email` route): envelope
//! `{ "event_type", "timestamp", "data" }`, every `recipient` a valid address, every `url` a
//! valid URL. Without a catch-all variant, an unknown event type is a 422.
#![allow(unreachable_pub)]

use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload};

/// Events of an email delivery service.
#[derive(Debug, Clone, PartialEq, WebhookEvent)]
#[webhook(
    tag = "event_type",
    content = "data",
    id = "data.message_id",
    timestamp = "timestamp"
)]
pub enum EmailEvent {
    /// The message left the service.
    #[webhook(rename = "email.sent")]
    Sent {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
    /// The recipient's server accepted it.
    #[webhook(rename = "email.delivered")]
    Delivered {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
    /// It bounced.
    #[webhook(rename = "email.bounced")]
    Bounced(Bounce),
    /// It was opened.
    #[webhook(rename = "email.opened")]
    Opened {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
        user_agent: String,
    },
    /// A link was clicked.
    #[webhook(rename = "email.clicked")]
    Clicked {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        #[webhook(url)]
        url: String,
        timestamp: String,
    },
    /// The recipient unsubscribed.
    #[webhook(rename = "email.unsubscribed")]
    Unsubscribed {
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
    /// The recipient reported spam.
    #[webhook(rename = "email.spam_reported")]
    SpamReported {
        message_id: String,
        #[webhook(email)]
        recipient: String,
        timestamp: String,
    },
}

/// The payload of `email.bounced`.
#[derive(Debug, Clone, PartialEq, Deserialize, WebhookPayload)]
pub struct Bounce {
    pub message_id: String,
    #[webhook(email)]
    pub recipient: String,
    #[webhook(one_of("hard", "soft"))]
    pub bounce_type: String,
    pub reason: String,
}
