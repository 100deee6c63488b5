use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type", tagg = "kind")]
enum Events {
    #[webhook(renam = "a")]
    A { #[webhook(emial)] to: String },
    #[webhook(frobnicate)]
    B,
}

fn main() {}
