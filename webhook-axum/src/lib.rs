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
//! (`Receiver: FromRef<S>`): a handler whose state has none does not compile. Behind a
//! [`VerifyWebhookLayer`], the layer's own receiver is the one that counts (each route's layer
//! may carry its own: Stripe's on one route, GitHub's on another); the state's receiver
//! serves only extractors used without a layer, so a router of several webhook routes may
//! keep any one of them in its state. Bodies are
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
//! # Testing a handler
//!
//! Every verifier has a signer twin that makes the headers its sender makes: sign a body,
//! send it through the router with tower's `oneshot`, and check the answers. Add axum's
//! `MockConnectInfo` for the peer address the rate limiter and allowlists read (without it
//! the source is unknown: every test request shares one budget, and an allowlist admits
//! none).
//!
//! ```
//! use std::net::SocketAddr;
//!
//! use axum::body::Body;
//! use axum::extract::connect_info::MockConnectInfo;
//! use axum::http::{Request, StatusCode};
//! use axum::{Router, routing::post};
//! use tower::ServiceExt as _;
//! use webhook_axum::{Verified, VerifyWebhookLayer};
//! use webhook_core::provider::stripe;
//! use webhook_core::{Outgoing, Receiver, Secret, Signer as _};
//!
//! const SECRET: &str = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
//!
//! async fn on_stripe(_hook: Verified) -> StatusCode {
//!     StatusCode::NO_CONTENT
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder()
//!     .route("stripe")
//!     .verifier(stripe::verifier(Secret::from_text(SECRET)?)?)
//!     .allow_sources(["127.0.0.0/8"])
//!     .build()?;
//! let app = Router::new()
//!     .route("/webhooks/stripe", post(on_stripe))
//!     .route_layer(VerifyWebhookLayer::new(receiver.clone()))
//!     .with_state(receiver)
//!     .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
//!
//! let body = br#"{"id":"evt_1","type":"charge.refunded","data":{"object":{}}}"#;
//! let headers = stripe::signer(Secret::from_text(SECRET)?).sign(&Outgoing::new(body))?;
//! let request = |body: &[u8]| {
//!     let mut request = Request::post("/webhooks/stripe");
//!     for (name, value) in &headers {
//!         request = request.header(name, value);
//!     }
//!     request.body(Body::from(body.to_vec()))
//! };
//!
//! let fresh = app.clone().oneshot(request(body)?).await?;
//! assert_eq!(fresh.status(), StatusCode::NO_CONTENT);
//! // The same delivery again: answered 200 `duplicate`, without the handler.
//! let again = app.clone().oneshot(request(body)?).await?;
//! assert_eq!(again.status(), StatusCode::OK);
//! // Altered after signing.
//! let tampered = app.oneshot(request(&body.repeat(2))?).await?;
//! assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
//!
//! # HTTPS and the peer address
//!
//! The peer address is the server's `ConnectInfo<SocketAddr>` (serve the router with
//! `into_make_service_with_connect_info::<SocketAddr>()`), or a test's `MockConnectInfo`.
//! A request counts as HTTPS only when the server says so: axum cannot tell whether its
//! listener terminates TLS, so a router served over TLS adds the [`HttpsConnection`] marker
//! (`Router::layer(Extension(HttpsConnection))`), or a trusted proxy says so in its
//! forwarding header. Without either, `require_https` refuses every request (403), and a
//! URL-signing scheme (Twilio) without a public base URL rebuilds an `http://` URL.
//! (actix-web and rocket know their listener's TLS and need no marker.)
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
