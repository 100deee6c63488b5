use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type", other)]
enum Events {
    #[webhook(email)]
    A { #[webhook(rename = "b")] to: String },
}

fn main() {}
