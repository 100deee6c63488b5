use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type", rename_all = "snake_case")]
enum Events {
    #[webhook(rename = "email.sent")]
    Sent,
    #[webhook(rename = "email.sent")]
    Resent,
    #[webhook(alias = "email.sent")]
    Queued,
    EmailSent,
    #[webhook(rename = "email_sent")]
    Other,
}

fn main() {}
