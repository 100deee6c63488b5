use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        #[webhook(length)]
        a: String,
        #[webhook(length(min = 5, max = 2))]
        b: String,
        #[webhook(range(low = 1))]
        c: u8,
        #[webhook(range(min = "one"))]
        d: u8,
        #[webhook(one_of())]
        e: String,
        #[webhook(range(max = 1e999))]
        f: f64,
        #[webhook(range(max = 9007199254740993))]
        g: u64,
    },
}

fn main() {}
