// `#[webhook(nested)]` on `Box<T>` and `Option<Box<T>>`: a recursive payload.
use serde::Deserialize;
use webhook::{WebhookEvent, WebhookPayload};

#[derive(Debug, Deserialize, WebhookPayload)]
struct Node {
    #[webhook(range(max = 9))]
    value: u8,
    #[webhook(nested)]
    next: Option<Box<Node>>,
}

#[derive(Debug, Deserialize, WebhookPayload)]
struct Leaf {
    #[webhook(email)]
    to: String,
}

#[derive(Debug, WebhookEvent)]
#[webhook(tag = "type", content = "data")]
enum Events {
    #[webhook(rename = "list")]
    List {
        #[webhook(nested)]
        head: Node,
        #[webhook(nested)]
        leaf: Box<Leaf>,
    },
}

fn main() {
    let decode = |body: &str| Events::decode(&webhook::WebhookRequest::new(body.as_bytes()));
    let ok = decode(
        r#"{"type":"list","data":{"head":{"value":1,"next":{"value":2,"next":null}},"leaf":{"to":"a@b.co"}}}"#,
    );
    assert!(ok.is_ok(), "{ok:?}");
    let err = decode(
        r#"{"type":"list","data":{"head":{"value":1,"next":{"value":10}},"leaf":{"to":"nope"}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.head.next.value: must be at most 9; data.leaf.to: not a valid email address"
    );
    let schema = Events::json_schema();
    assert!(schema.to_string().contains("\"email\""), "{schema}");
}
