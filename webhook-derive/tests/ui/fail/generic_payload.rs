// The derives take no generic parameters: a field's type is always concrete where the
// derive expands, which is what lets it find a payload's rules in any field. (A generic
// wrapper of the application's, with its own `WebhookPayload` impl, is found as a field's
// concrete type, `Page<Item>`.)
use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload};

#[derive(Deserialize, WebhookPayload)]
struct Page<T> {
    data: Vec<T>,
}

#[derive(WebhookEvent)]
#[webhook(tag = "type", content = "data")]
enum Events<T> {
    #[webhook(rename = "page")]
    Page { object: T },
}

fn main() {}
