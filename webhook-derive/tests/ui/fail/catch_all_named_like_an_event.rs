use webhook::WebhookEvent;

// `event_type()` of a unit catch-all is its own name: a listed event of that name would be
// told apart from it by nothing.
#[derive(WebhookEvent)]
#[webhook(tag = "type", rename_all = "snake_case")]
enum Events {
    #[webhook(rename = "unknown")]
    Listed,
    #[webhook(other)]
    Unknown,
}

fn main() {}
