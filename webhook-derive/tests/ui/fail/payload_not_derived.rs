use webhook::WebhookEvent;

#[derive(serde::Deserialize)]
struct Bounce {
    reason: String,
}

#[derive(WebhookEvent)]
#[webhook(tag = "type", content = "data")]
enum Events {
    Bounced(Bounce),
}

fn main() {}
