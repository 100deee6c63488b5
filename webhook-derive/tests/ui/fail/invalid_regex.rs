use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        #[webhook(pattern = "^[a-z+$")]
        slug: String,
        #[webhook(pattern = "(?<name")]
        other: String,
    },
}

fn main() {}
