use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum Events {
    A {
        // `\U` and eight digits: `U` and the digits in ECMA-262.
        #[webhook(pattern = "^\\U0001F600+$")]
        smile: String,
        // `]` first in a class: a character in Rust, an empty class in ECMA-262.
        #[webhook(pattern = "^[]a]+$")]
        bracket: String,
        // ... or, negated, any character in ECMA-262.
        #[webhook(pattern = "^[^]a]+$")]
        not_bracket: String,
        // A class in a class: a union in Rust, `[a[bc]` then `]` in ECMA-262.
        #[webhook(pattern = "^[a[bc]]+$")]
        nested: String,
        // The portable spellings: accepted.
        #[webhook(pattern = "^[\\]a]+$|^[abc]+$|^😀+$")]
        portable: String,
    },
}

fn main() {}
