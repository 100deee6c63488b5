use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum TupleCatchAll {
    A,
    #[webhook(other)]
    Unknown(serde_json::Value),
}

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum WrongFields {
    A,
    #[webhook(other, rename = "x")]
    Unknown { name: String, body: serde_json::Value },
}

fn main() {}
