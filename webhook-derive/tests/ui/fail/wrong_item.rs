use webhook::{WebhookEvent, WebhookPayload};

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
struct NotAnEnum {
    a: String,
}

#[derive(WebhookPayload)]
enum NotAStruct {
    A,
}

#[derive(serde::Deserialize, WebhookPayload)]
#[webhook(tag = "type")]
struct PayloadWithTag {
    a: String,
}

fn main() {}
