// `crate = "…"` points the generated code at another root, here `webhook_core` directly.
use webhook_core::WebhookEvent;

#[derive(Debug, webhook::WebhookEvent)]
#[webhook(crate = "webhook_core", tag = "type")]
enum Events {
    #[webhook(rename = "a.b")]
    Ab {
        #[webhook(range(min = 0, max = 10), custom = small)]
        n: i64,
    },
}

fn small(n: &i64) -> Result<(), &'static str> {
    if *n < 5 { Ok(()) } else { Err("must be small") }
}

fn main() {
    let request = webhook_core::WebhookRequest::new(br#"{"type":"a.b","n":7}"#);
    let err = Events::decode(&request).expect_err("7 is not small");
    assert_eq!(err.to_string(), "n: must be small");
}
