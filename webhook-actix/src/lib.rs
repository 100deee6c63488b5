//! actix-web adapter for [`webhook-core`](webhook_core): receive webhooks that are verified,
//! fresh, deduplicated, decoded and validated before the handler runs.
//!
//! - [`Webhook<E>`]: the typed event extractor;
//! - [`Verified`]: the raw body and the [`Proof`](webhook_core::Proof), for handlers that
//!   decode by themselves; [`WebhookProof`] for the proof alone, next to another extractor;
//! - [`WebhookRejection`]: every answer given without the handler, from core's one status
//!   table, as an actix [`ResponseError`](actix_web::ResponseError);
//! - [`VerifyWebhook`] / [`VerifyWebhookMiddleware`]: the middleware that verifies a set of
//!   routes and owns the idempotency claim, so the handler's response decides whether the
//!   delivery is done or released.
//!
//! # Configuration
//!
//! A route wrapped in [`VerifyWebhook`] uses the middleware's [`Receiver`](webhook_core::Receiver).
//! Without the middleware, the extractors look it up in `app_data`: a `web::Data<Receiver>`
//! registered at any level (resource, scope, app) wins over a bare `Receiver`
//! (`App::app_data(receiver)`); within one kind, the closest registration wins, as for any
//! actix app data. A route with neither answers
//! 500 `not_configured` and logs an error: there is no default receiver. Only a receiver
//! without a replay store can work without the middleware, which alone sees the handler's
//! response and so completes or releases claims; a claiming receiver is refused there (500,
//! logged).
//!
//! Bodies are read under the receiver's limit ([`Receiver::body_limit`](webhook_core::Receiver::body_limit)),
//! whatever actix's `PayloadConfig` says. Behind [`VerifyWebhook`], actix's own body
//! extractors (`web::Bytes`, `String`, `web::Form`, `web::Json`) accept what the receiver
//! accepted: the middleware gives them the receiver's limit (see [its
//! docs](VerifyWebhook#actix-webs-own-body-extractors)). The peer address is the
//! socket's (`HttpRequest::peer_addr`); HTTPS is the connection's own scheme. Forwarded
//! headers (`X-Forwarded-For`, `Forwarded`, `X-Forwarded-Proto`) are believed only from the
//! receiver's trusted proxies, never through actix's `connection_info()`.
//!
//! Behind the middleware, a handler taking `Result<Webhook<E>, WebhookRejection>` (or
//! `Option<Webhook<E>>`) still answers a rejected delivery with the rejection, and its claim
//! is released: a delivery that failed a check is never answered, or recorded, as processed
//! (the rocket and axum adapters answer the same).
//!
//! # Examples
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use webhook_actix::{Verified, VerifyWebhook};
//! use webhook_core::{Outgoing, Receiver, Secret, Signer as _, StandardWebhooks, StandardWebhooksSigner};
//!
//! async fn on_delivery(hook: Verified) -> HttpResponse {
//!     let _body: &[u8] = hook.body();
//!     HttpResponse::NoContent().finish()
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! let secret = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let receiver = Receiver::builder()
//!     .route("email")
//!     .verifier(StandardWebhooks::new(secret.clone())?)
//!     .build()?;
//! let app = test::init_service(App::new().service(
//!     web::resource("/webhooks/email")
//!         .route(web::post().to(on_delivery).wrap(VerifyWebhook::new(receiver))),
//! ))
//! .await;
//!
//! // A delivery signed with the secret reaches the handler…
//! let body = br#"{"event_type":"email.sent"}"#;
//! let mut signed = test::TestRequest::post().uri("/webhooks/email").set_payload(&body[..]);
//! for (name, value) in StandardWebhooksSigner::new(secret).sign(&Outgoing::new(body).id("msg_1"))?.iter() {
//!     signed = signed.insert_header((name, value));
//! }
//! assert_eq!(test::call_service(&app, signed.to_request()).await.status(), 204);
//!
//! // …an unsigned one never does.
//! let unsigned = test::TestRequest::post().uri("/webhooks/email").set_payload(&body[..]);
//! let response = test::call_service(&app, unsigned.to_request()).await;
//! assert_eq!(response.status(), 401);
//! assert_eq!(
//!     test::read_body(response).await,
//!     r#"{"error":"missing_header","message":"missing header `webhook-signature`"}"#,
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Security
//!
//! The adapter does no parsing, crypto or time logic of its own: it builds the request view,
//! reads the body with a bound, and calls the core pipeline, whose rejections never echo a
//! secret, a signature or a payload byte.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod extract;
mod middleware;
mod pipeline;
mod rejection;
mod request;

pub use extract::{Verified, Webhook, WebhookProof};
pub use middleware::{VerifyWebhook, VerifyWebhookMiddleware};
pub use rejection::WebhookRejection;
