// A keeping catch-all's fields are built from the event's name (`String`) and body
// (`serde_json::Value`) with `From`, and the name read with `AsRef<str>`: a type that cannot
// be is an error at that type.
use webhook::WebhookEvent;

#[derive(Debug)]
struct Name;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum E {
    A,
    #[webhook(other)]
    Other { event_type: Name, payload: serde_json::Value },
}

fn main() {}
