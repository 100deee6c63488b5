use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type", content = "data")]
enum Events {
    #[webhook(rename = "sent")]
    Sent { to: String },
    // The catch-all keeps an unknown event as it came: these rules would never run.
    #[webhook(other)]
    Other {
        #[webhook(length(max = 64))]
        event_type: String,
        #[webhook(custom = check)]
        payload: serde_json::Value,
    },
}

fn check(_: &serde_json::Value) -> Result<(), &'static str> {
    Ok(())
}

fn main() {}
