//! `#[derive(WebhookEvent)]` and `#[derive(WebhookPayload)]` for the `webhook` crate.
//!
//! Use them through `webhook` (feature `derive`, on by default); the attribute grammar is
//! documented there. The pipeline is fixed: [`ast`] parses the input into a model with spans
//! (attributes in [`attr`]), [`check`] applies the cross-variant rules, [`expand`] writes the
//! tokens. Errors are collected in a [`ctxt::Ctxt`] and reported together, with a stub impl so
//! one mistake does not cascade.

mod ast;
mod attr;
mod case;
mod check;
mod ctxt;
mod expand;
mod symbol;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derive `webhook::WebhookEvent` for an enum of event types.
#[proc_macro_derive(WebhookEvent, attributes(webhook, serde))]
pub fn derive_webhook_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input, ast::Derive::Event).into()
}

/// Derive `webhook::WebhookPayload` for a payload struct (next to serde's `Deserialize`).
#[proc_macro_derive(WebhookPayload, attributes(webhook))]
pub fn derive_webhook_payload(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input, ast::Derive::Payload).into()
}
