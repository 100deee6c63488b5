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
        #[webhook(length(min = 2))]
        tags: std::collections::HashSet<String>,
        #[webhook(length(max = 2))]
        names: Option<std::collections::BTreeSet<String>>,
        #[webhook(non_empty)]
        kinds: std::collections::BTreeSet<String>,
    },
}

fn main() {}
