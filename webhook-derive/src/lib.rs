//! `#[derive(WebhookEvent)]`.
