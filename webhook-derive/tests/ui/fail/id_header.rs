use webhook::WebhookEvent;

// An id in a header the signature does not cover could be changed by whoever replays a
// delivery: it cannot key deduplication.
#[derive(Debug, WebhookEvent)]
#[webhook(tag_header = "X-GitHub-Event", id_header = "X-GitHub-Delivery")]
enum GitHubEvent {
    Ping { zen: String },
}

fn main() {}
