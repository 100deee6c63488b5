use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        // Valid syntax, but far over the compiled-size limit.
        #[webhook(pattern = "^\\w{1000}{1000}$")]
        slug: String,
        // Large, but within it: accepted.
        #[webhook(pattern = "^\\w{1,64}$")]
        other: String,
    },
}

fn main() {}
