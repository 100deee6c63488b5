// Flags given a value, a custom rule written as a string, an empty tuple variant: each
// error names what to write, on the attribute or variant at fault.
use webhook::WebhookEvent;

#[derive(WebhookEvent)]
#[webhook(tag = "type", deny_unknown_fields = true)]
enum FlagWithValue {
    A,
    #[webhook(other = true)]
    Unknown,
}

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum CustomAsString {
    A {
        #[webhook(custom = "check")]
        n: u8,
    },
}

fn check(_: &u8) -> Result<(), &'static str> {
    Ok(())
}

#[derive(WebhookEvent)]
#[webhook(tag = "type")]
enum EmptyTuple {
    A(),
}

fn main() {}
