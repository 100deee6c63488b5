use webhook::WebhookEvent;

#[derive(serde::Deserialize, webhook::WebhookPayload)]
struct Bounce {
    to: String,
}

#[derive(WebhookEvent)]
#[webhook(tag = "type", content = "data")]
enum Events {
    // serde's names are not event names: `#[webhook(rename/alias)]` are. (`rename` shapes a
    // `Serialize` only, and is accepted.)
    #[serde(rename = "email.sent", alias = "sent")]
    Sent { to: String },
    // A shape other than the fields, which the schema describes.
    #[serde(transparent)]
    Opened { to: String },
    // Read by the struct its fields are decoded with: accepted.
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    Clicked { link_url: String },
    // Decoding reads none of these.
    #[serde(deny_unknown_fields)]
    Bounced(#[serde(default)] Bounce),
    #[serde(skip_deserializing)]
    Ping,
    #[webhook(other)]
    #[serde(deny_unknown_fields)]
    Other {
        #[serde(alias = "kind")]
        event_type: String,
        payload: serde_json::Value,
    },
}

fn main() {}
