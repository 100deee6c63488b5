use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        // Unicode digits in Rust, ASCII digits in JSON Schema: refused.
        #[webhook(pattern = "^[A-Z]{3}-\\d+$")]
        sku: String,
        // `.` matches `\r` in Rust only: refused.
        #[webhook(pattern = "^a.b$")]
        code: String,
        // Inline flags are Rust syntax only: refused.
        #[webhook(pattern = "(?i)^abc$")]
        name: String,
        // A quantifier on a quantifier is a syntax error in ECMA-262: refused.
        #[webhook(pattern = "^[a-z]{2}{3}$")]
        pair: String,
        // The portable spelling: accepted.
        #[webhook(pattern = "^[A-Z]{3}-[0-9]+$")]
        other: String,
    },
}

fn main() {}
