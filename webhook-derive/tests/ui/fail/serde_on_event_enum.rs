use webhook::WebhookEvent;

// Nothing derives serde's `Deserialize` for the enum: these would be ignored.
#[derive(WebhookEvent)]
#[webhook(tag = "type")]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[serde(tag = "kind", untagged)]
enum Events {
    Sent { to: String },
}

fn main() {}
