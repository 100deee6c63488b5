use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        // Valid syntax, but far over the compiled-size limit.
        #[webhook(pattern = "^(?:[A-Za-z0-9_]{1000}){1000}$")]
        slug: String,
        // Large, but within it: accepted.
        #[webhook(pattern = "^[A-Za-z0-9_]{1,64}$")]
        other: String,
    },
}

fn main() {}
