use webhook::WebhookEvent;

#[derive(WebhookEvent)]
enum NoTag {
    A,
}

#[derive(WebhookEvent)]
#[webhook(content = "data")]
enum ContentOnly {
    A,
}

#[derive(WebhookEvent)]
#[webhook(tag = "type", tag_header = "X-Event")]
enum BothTags {
    A,
}

fn main() {}
