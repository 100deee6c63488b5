//! A header-tagged set: the event type is in `X-GitHub-Event`, the whole body is the payload.

use serde::Deserialize;
use webhook::{DecodeErrorKind, WebhookEvent, WebhookPayload, WebhookRequest};

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
pub struct Repository {
    #[webhook(non_empty)]
    pub full_name: String,
    #[webhook(url)]
    pub html_url: String,
}

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
pub struct Push {
    #[serde(rename = "ref")]
    #[webhook(pattern = "^refs/(heads|tags)/")]
    pub git_ref: String,
    #[webhook(length(min = 40, max = 40))]
    pub after: String,
    #[webhook(nested)]
    pub repository: Repository,
}

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
pub struct Issues {
    #[webhook(one_of("opened", "edited", "closed", "reopened"))]
    pub action: String,
    #[webhook(range(min = 1))]
    pub number: u64,
}

#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag_header = "X-GitHub-Event", rename_all = "snake_case")]
pub enum GitHubEvent {
    Push(Push),
    Ping {
        zen: String,
        hook_id: u64,
    },
    Issues(Issues),
    PullRequest(serde_json::Value),
    #[webhook(other)]
    Unsupported,
}

fn request<'a>(event: &'a str, body: &'a str) -> WebhookRequest<'a> {
    WebhookRequest::new(body.as_bytes())
        .with_header("X-GitHub-Event", event)
        .with_header("X-GitHub-Delivery", "d-1")
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn dispatches_on_the_header() {
    let body = format!(
        r#"{{"ref":"refs/heads/main","after":"{SHA}","repository":{{"full_name":"o/r","html_url":"https://github.com/o/r"}},"sender":{{}}}}"#
    );
    let event = GitHubEvent::decode(&request("push", &body)).unwrap();
    assert_eq!(event.event_type(), "push");
    assert!(
        matches!(&event, GitHubEvent::Push(p) if p.git_ref == "refs/heads/main" && p.repository.full_name == "o/r")
    );

    let ping =
        GitHubEvent::decode(&request("ping", r#"{"zen":"Keep it simple.","hook_id":1}"#)).unwrap();
    assert_eq!(
        ping,
        GitHubEvent::Ping {
            zen: "Keep it simple.".into(),
            hook_id: 1
        }
    );

    let issues =
        GitHubEvent::decode(&request("issues", r#"{"action":"opened","number":3}"#)).unwrap();
    assert_eq!(
        issues,
        GitHubEvent::Issues(Issues {
            action: "opened".into(),
            number: 3
        })
    );

    let pr = GitHubEvent::decode(&request("pull_request", r#"{"action":"opened"}"#)).unwrap();
    assert_eq!(pr.event_type(), "pull_request");

    let other = GitHubEvent::decode(&request("workflow_run", "{}")).unwrap();
    assert_eq!(other, GitHubEvent::Unsupported);
    assert_eq!(
        GitHubEvent::event_types(),
        ["push", "ping", "issues", "pull_request"]
    );
    // GitHub signs the body only: its `X-GitHub-Delivery` header cannot key deduplication
    // (a replay could change it), so the set declares no id and the signature keys it.
    assert_eq!(GitHubEvent::event_id(&request("push", "{}")).unwrap(), None);
}

#[test]
fn header_errors() {
    let missing = GitHubEvent::decode(&WebhookRequest::new(b"{}")).unwrap_err();
    assert_eq!(missing.kind(), DecodeErrorKind::Validation);
    assert_eq!(missing.to_string(), "header `X-GitHub-Event`: is required");

    let body = r#"{"ref":"main","after":"abc","repository":{"full_name":"","html_url":"nope"}}"#;
    let err = GitHubEvent::decode(&request("push", body)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ref: does not match the pattern `^refs/(heads|tags)/`; after: length must be between 40 and 40; \
         repository.full_name: must not be empty; repository.html_url: not a valid url"
    );
    let err =
        GitHubEvent::decode(&request("issues", r#"{"action":"deleted","number":0}"#)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "action: must be one of `opened`, `edited`, `closed`, `reopened`; number: must be at least 1"
    );
    let err = GitHubEvent::decode(&request("ping", "{nope")).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::MalformedBody);
}

/// Read from the header, without decoding (or even reading) the body.
#[test]
fn peek_event_type_reads_the_header() {
    assert_eq!(
        GitHubEvent::peek_event_type(&request("pull_request", "not json")).as_deref(),
        Some("pull_request")
    );
    assert_eq!(
        GitHubEvent::peek_event_type(&request("deployment", "{}")).as_deref(),
        Some("deployment")
    );
    assert_eq!(
        GitHubEvent::decode(&request("deployment", "{}"))
            .unwrap()
            .event_type(),
        "unsupported"
    );
    assert_eq!(
        GitHubEvent::peek_event_type(&WebhookRequest::new(b"{}")),
        None
    );
}
