use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "data.id")]
enum Events {
    // The schema and the event id path know a field by one name: a second one would let a
    // body carry the id under a key the id reader does not follow.
    #[webhook(rename = "sent")]
    Sent {
        #[serde(alias = "message_id")]
        id: String,
        #[serde(rename = "to", alias = "recipient")]
        to_address: String,
    },
}

// The same for a payload's field: an id path may lead into it.
#[derive(serde::Deserialize, webhook::WebhookPayload)]
struct Bounce {
    #[serde(alias = "msg_id")]
    message_id: String,
}

fn main() {}
