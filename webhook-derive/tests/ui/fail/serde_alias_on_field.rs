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

fn main() {}
