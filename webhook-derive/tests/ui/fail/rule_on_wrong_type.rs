use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        #[webhook(email)]
        count: u32,
        #[webhook(range(min = 1))]
        name: String,
        #[webhook(length(max = 3))]
        flag: Option<bool>,
        #[webhook(nested)]
        label: String,
    },
}

fn main() {}
