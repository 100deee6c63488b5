// A type the derive cannot see through: the trait bound decides, on the field's type.
use webhook::WebhookEvent;

#[derive(serde::Deserialize)]
struct Opaque;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        #[webhook(email)]
        address: Opaque,
    },
}

fn main() {}
