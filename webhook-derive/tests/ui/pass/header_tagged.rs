use webhook::WebhookEvent;

#[derive(Debug, WebhookEvent)]
#[webhook(tag_header = "X-GitHub-Event", rename_all = "snake_case")]
enum GitHubEvent {
    Ping { zen: String },
    PullRequest(serde_json::Value),
    #[webhook(other)]
    Other { event_type: String, payload: serde_json::Value },
}

fn main() {
    let request = webhook::WebhookRequest::new(br#"{"zen":"hi"}"#).with_header("x-github-event", "ping");
    assert!(matches!(GitHubEvent::decode(&request), Ok(GitHubEvent::Ping { .. })));
    assert_eq!(GitHubEvent::event_types(), ["ping", "pull_request"]);
}
