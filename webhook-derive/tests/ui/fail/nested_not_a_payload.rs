// `nested` is optional (a payload's rules run without it) but still asserts: a field marked
// `nested` whose type holds no payload the derive can check does not compile, where an
// unmarked one would be left unchecked.
use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload};

#[derive(Deserialize, WebhookPayload)]
struct Item {
    #[webhook(length(min = 1))]
    sku: String,
}

#[derive(Deserialize)]
struct NotAPayload {
    sku: String,
}

#[derive(WebhookEvent)]
#[webhook(tag = "type", content = "data")]
enum Events {
    #[webhook(rename = "order")]
    Order {
        #[webhook(nested)]
        plain: NotAPayload,
        #[webhook(nested)]
        pair: (Item, u8),
    },
}

fn main() {}
