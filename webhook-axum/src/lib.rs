//! axum adapter for [`webhook-core`](webhook_core): receive webhooks that are verified, fresh,
//! deduplicated, decoded and validated before the handler runs.
//!
//! - [`Webhook<E>`]: the typed event extractor;
//! - [`Verified`]: the raw body and the [`Proof`](webhook_core::Proof), for handlers that
//!   decode by themselves; [`WebhookProof`] for the proof alone, next to another extractor;
//! - [`WebhookRejection`]: every answer given without the handler, from core's one status
//!   table;
//! - [`VerifyWebhookLayer`] / [`VerifyWebhook`] / [`ResponseFuture`]: the tower layer that
//!   verifies a set of routes and owns the idempotency claim, so the handler's response
//!   decides whether the delivery is done or released.
//!
//! The [`Receiver`](webhook_core::Receiver) is looked up from the router's state
//! (`Receiver: FromRef<S>`): a handler whose state has none does not compile. Bodies are
//! buffered under the smaller of the receiver's limit and axum's `DefaultBodyLimit`. The peer
//! address comes from `ConnectInfo<SocketAddr>`: serve with
//! `into_make_service_with_connect_info::<SocketAddr>()` when you use allowlists, trusted
//! proxies or per-source rate limits (without it, the source is unknown and an allowlist
//! refuses every request).
//!
//! Behind the layer, a handler taking `Result<Webhook<E>, WebhookRejection>` still answers a
//! rejected delivery with the rejection, and its claim is released: a delivery that failed a
//! check is never answered, or recorded, as processed (the rocket and actix-web adapters
//! answer the same).
//!
//! # Examples
//!
//! ```
//! use axum::{Router, http::StatusCode, routing::post};
//! use webhook_axum::{Verified, VerifyWebhookLayer};
//! use webhook_core::{Receiver, Secret, StandardWebhooks};
//!
//! async fn on_delivery(hook: Verified) -> StatusCode {
//!     let _body: &[u8] = hook.body();
//!     StatusCode::NO_CONTENT
//! }
//!
//! let receiver = Receiver::builder()
//!     .route("email")
//!     .verifier(StandardWebhooks::new(Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)?)
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/webhooks/email", post(on_delivery))
//!     .route_layer(VerifyWebhookLayer::new(receiver.clone()))
//!     .with_state(receiver);
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```
//!
//! # Security
//!
//! The adapter does no parsing, crypto or time logic of its own: it builds the request view,
//! buffers the body with a bound, and calls the core pipeline, whose rejections never echo a
//! secret, a signature or a payload byte.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod extract;
mod future;
mod layer;
mod rejection;
mod service;

pub use body::HttpsConnection;
pub use extract::{Verified, Webhook, WebhookProof};
pub use future::ResponseFuture;
pub use layer::VerifyWebhookLayer;
pub use rejection::WebhookRejection;
pub use service::VerifyWebhook;
