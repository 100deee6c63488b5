//! Decode + validate a 1 KiB event with the derived impl, against plain serde_json
//! deserialization of the equivalent `#[serde(tag = …, content = …)]` enum, in the same run.
//!
//! `cargo bench -p webhook-derive --bench decode`
#![allow(missing_docs, clippy::unwrap_used, dead_code)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload, WebhookRequest};

#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Bounce {
    message_id: String,
    #[webhook(email)]
    recipient: String,
    #[webhook(one_of("hard", "soft"))]
    bounce_type: String,
    reason: String,
}

#[derive(Debug, WebhookEvent)]
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
    #[webhook(other)]
    Other {
        event_type: String,
        payload: serde_json::Value,
    },
}

#[derive(Debug, Deserialize)]
pub struct SerdeBounce {
    message_id: String,
    recipient: String,
    bounce_type: String,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "event_type", content = "data")]
pub enum SerdeEmailEvent {
    #[serde(rename = "email.sent")]
    Sent {
        message_id: String,
        recipient: String,
        timestamp: String,
    },
    #[serde(rename = "email.delivered")]
    Delivered {
        message_id: String,
        recipient: String,
        timestamp: String,
    },
    #[serde(rename = "email.bounced")]
    Bounced(SerdeBounce),
    #[serde(rename = "email.opened")]
    Opened {
        message_id: String,
        recipient: String,
        timestamp: String,
        user_agent: String,
    },
    #[serde(rename = "email.clicked")]
    Clicked {
        message_id: String,
        recipient: String,
        url: String,
        timestamp: String,
    },
    #[serde(rename = "email.unsubscribed")]
    Unsubscribed {
        recipient: String,
        timestamp: String,
    },
    #[serde(rename = "email.spam_reported")]
    SpamReported {
        message_id: String,
        recipient: String,
        timestamp: String,
    },
    #[serde(other)]
    Other,
}

fn pad_to_1k(prefix: &str, suffix: &str) -> String {
    let fill = 1024_usize.saturating_sub(prefix.len() + suffix.len());
    let body = format!("{prefix}{}{suffix}", "a".repeat(fill));
    assert_eq!(body.len(), 1024);
    body
}

fn bodies() -> Vec<(&'static str, String)> {
    let opened = pad_to_1k(
        r#"{"event_type":"email.opened","timestamp":"2024-05-01T12:00:00Z","data":{"message_id":"0a8f5c1e-3b7d-4c2a-9e6f-1d2b3c4d5e6f","recipient":"jane.doe+news@example.com","timestamp":"2024-05-01T12:00:00Z","user_agent":"Mozilla/5.0 "#,
        r#""}}"#,
    );
    let clicked = pad_to_1k(
        r#"{"event_type":"email.clicked","timestamp":"2024-05-01T12:00:00Z","data":{"message_id":"0a8f5c1e-3b7d-4c2a-9e6f-1d2b3c4d5e6f","recipient":"jane.doe+news@example.com","timestamp":"2024-05-01T12:00:00Z","url":"https://www.example.com/newsletter/2024/05?utm_source=email&utm_campaign=may&ref="#,
        r#""}}"#,
    );
    vec![("opened", opened), ("clicked", clicked)]
}

fn bench(c: &mut Criterion) {
    for (name, body) in bodies() {
        let request = WebhookRequest::new(body.as_bytes());
        assert!(EmailEvent::decode(&request).is_ok());
        assert!(serde_json::from_slice::<SerdeEmailEvent>(body.as_bytes()).is_ok());
        let mut group = c.benchmark_group(format!("decode_1k_{name}"));
        group.bench_function("derived_decode_validate", |b| {
            b.iter(|| EmailEvent::decode(black_box(&request)).unwrap());
        });
        group.bench_function("serde_tagged_enum", |b| {
            b.iter(|| {
                serde_json::from_slice::<SerdeEmailEvent>(black_box(body.as_bytes())).unwrap()
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(60);
    targets = bench
}
criterion_main!(benches);
