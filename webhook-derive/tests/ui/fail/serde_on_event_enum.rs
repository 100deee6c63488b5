use webhook::WebhookEvent;

// Serde's attributes on the enum shape only a `Serialize` the application derives; those
// that can only mean deserialization are refused, as decoding would not follow them.
#[derive(WebhookEvent)]
#[webhook(tag = "type")]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[serde(tag = "kind", default)]
enum Events {
    Sent { to: String },
}

fn main() {}
