// `range` on 128-bit integers.
use webhook::WebhookEvent;

#[derive(Debug, WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    #[webhook(rename = "big")]
    Big {
        #[webhook(range(min = -5, max = 1000))]
        signed: i128,
        #[webhook(range(max = 10))]
        unsigned: u128,
        #[webhook(range(min = 1))]
        optional: Option<u128>,
    },
}

fn main() {
    let decode = |body: &str| Events::decode(&webhook::WebhookRequest::new(body.as_bytes()));
    assert!(decode(r#"{"type":"big","signed":-5,"unsigned":10}"#).is_ok());
    let err = decode(
        r#"{"type":"big","signed":-6,"unsigned":340282366920938463463374607431768211455,"optional":0}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "signed: must be between -5 and 1000; \
         unsigned: must be at most 10; optional: must be at least 1"
    );
}
