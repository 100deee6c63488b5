//! Providers that sign nothing: Postmark, Mailjet, SparkPost, Brevo, Okta event hooks and
//! classic GitLab tokens.
//!
//! They can only prove the sender by a shared secret sent with each request: HTTP Basic
//! credentials embedded in the webhook URL (`https://user:pass@host/path`: Postmark, Mailjet,
//! Brevo, SparkPost) or a static token header (`X-Gitlab-Token`, Okta's authorization header).
//! Use [`BasicAuth`](crate::BasicAuth) or [`ApiKey`](crate::ApiKey) for them, always over HTTPS,
//! ideally with an IP allowlist, and with a replay store keyed by the event's own id: nothing
//! binds the credential to the body, so anyone who sees one request can forge others.
//!
//! | provider | what to configure |
//! | --- | --- |
//! | Postmark | `BasicAuth` (credentials in the webhook URL) |
//! | Mailjet | `BasicAuth` (credentials in the webhook URL) |
//! | SparkPost | `BasicAuth`, or `ApiKey` on a custom header |
//! | Brevo | `BasicAuth`, or `ApiKey` on `Authorization: Bearer` |
//! | Okta event hooks | `ApiKey` on the configured authorization header |
//! | GitLab (classic) | `ApiKey` on `X-Gitlab-Token` |
