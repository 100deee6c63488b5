use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A,
    #[webhook(other)]
    Unknown,
    #[webhook(other)]
    Unhandled,
}

fn main() {}
