use webhook::WebhookPayload;

// The JSON is then not the struct's own fields, which the schema and error paths describe.
#[derive(serde::Deserialize, WebhookPayload)]
#[serde(transparent)]
struct Wrapped {
    #[webhook(email)]
    to: String,
}

#[derive(serde::Deserialize)]
struct Raw {
    to: String,
}

impl From<Raw> for Converted {
    fn from(raw: Raw) -> Self {
        Self { address: raw.to }
    }
}

#[derive(serde::Deserialize, WebhookPayload)]
#[serde(from = "Raw")]
struct Converted {
    #[webhook(email)]
    address: String,
}

impl TryFrom<Raw> for Checked {
    type Error = &'static str;
    fn try_from(raw: Raw) -> Result<Self, Self::Error> {
        Ok(Self { address: raw.to })
    }
}

#[derive(serde::Deserialize, WebhookPayload)]
#[serde(try_from = "Raw")]
struct Checked {
    address: String,
}

fn main() {}
