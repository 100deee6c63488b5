//! rocket adapter for [`webhook-core`](webhook_core): receive webhooks that are verified, fresh,
//! deduplicated, decoded and validated before the handler runs.
//!
//! - [`Webhook<E>`]: the data guard of a typed event (with the [`Proof`](webhook_core::Proof));
//! - [`Verified`]: the data guard of the raw body and the proof, for handlers that decode by
//!   themselves;
//! - [`WebhookRejection`]: every answer given without the handler (its `Responder` renders core's
//!   status table);
//! - [`WebhookFairing`]: attach it once; it answers rejected deliveries with their JSON body and
//!   headers, and completes (2xx) or releases (anything else, a handler error or a panic) the
//!   idempotency claim by the handler's response;
//! - [`Receivers`]: one [`Receiver`](webhook_core::Receiver) per route path, when an app has
//!   several webhook routes.
//!
//! The receiver is looked up in rocket's managed state: a [`Receivers`] entry for the matched
//! route's path, else a managed [`Receiver`](webhook_core::Receiver). Bodies are read under the
//! smaller of the receiver's limit and rocket's named data limit `webhook` (`limits.webhook` in
//! the configuration); a longer body is 413. The peer address is the socket's
//! ([`Request::remote`](rocket::Request::remote), never `X-Real-IP`); forwarded headers count
//! only through the receiver's trusted proxies; HTTPS is whether rocket serves TLS.
//!
//! # Examples
//!
//! ```
//! use rocket::local::blocking::Client;
//! use rocket::{http::{ContentType, Status}, post, routes};
//! use webhook_core::{Outgoing, Receiver, Secret, Signer, StandardWebhooks, StandardWebhooksSigner};
//! use webhook_rocket::{Verified, WebhookFairing};
//!
//! #[post("/webhooks/email", data = "<hook>")]
//! fn on_delivery(hook: Verified) -> Status {
//!     let _body: &[u8] = hook.body();
//!     Status::NoContent
//! }
//!
//! let secret = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let receiver = Receiver::builder().verifier(StandardWebhooks::new(secret.clone())?).build()?;
//! let rocket = rocket::build()
//!     .manage(receiver)
//!     .attach(WebhookFairing)
//!     .mount("/", routes![on_delivery]);
//! let client = Client::tracked(rocket)?;
//!
//! // A correctly signed delivery reaches the handler…
//! let body = br#"{"type":"ping"}"#;
//! let signed = StandardWebhooksSigner::new(secret).sign(&Outgoing::new(body).id("msg_1"))?;
//! let mut request = client.post("/webhooks/email").header(ContentType::JSON).body(body);
//! for (name, value) in signed.iter() {
//!     request = request.header(rocket::http::Header::new(name.to_owned(), value.to_owned()));
//! }
//! assert_eq!(request.dispatch().status(), Status::NoContent);
//!
//! // …an unsigned one is answered from the status table, JSON included.
//! let response = client.post("/webhooks/email").body(body).dispatch();
//! assert_eq!(response.status(), Status::Unauthorized);
//! assert!(response.into_string().unwrap_or_default().contains(r#""error":"missing_header""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Rejections and the fairing
//!
//! rocket answers a failed data guard through its catcher, which only knows the status. The
//! guards therefore keep their rejection in the request-local cache, and [`WebhookFairing`]
//! replaces the catcher's page by it (status, `{"error","message"}`, `Retry-After`,
//! `WWW-Authenticate`, or the receiver's custom rejection): the answer is the one the axum and
//! actix-web adapters give. Without the fairing nothing would complete or release a claim: a
//! rocket whose routes take the guards does not launch then (their sentinels abort it, with
//! an error log).
//!
//! A handler taking `Result<Webhook<E>, WebhookRejection>` still answers a rejected delivery with
//! the rejection: a delivery that failed a check is never answered as processed. Unlike behind
//! the axum layer or the actix-web middleware, which answer before the handler, such a
//! handler does run for every rejection and duplicate (rocket runs a route once its guards are
//! resolved, whatever they resolved to), and its answer is then replaced: keep side effects
//! in its `Ok` branch.
//!
//! The handler does not run inside the delivery's `webhook.delivery` span (rocket gives a
//! fairing no way to wrap a handler): its own tracing events carry the route's context only
//! when it opens a span of its own. The delivery's span still records its outcome.
//!
//! A duplicate of a processed delivery is answered 200 the same way, as a guard failure:
//! rocket's generated route code logs every guard failure at its warn level (``Data guard
//! `Webhook<…>` failed: WebhookRejection { status: 200, error: None }.``: the rejection's
//! `Debug`, which never shows a secret or payload byte). Senders retry, so such lines are routine; the
//! delivery's own tracing event records the duplicate at info level, as in the other
//! adapters. Rocket's `log_level` setting (or its `log` filter) quiets those lines.
//!
//! # Security
//!
//! The adapter does no parsing, crypto or time logic of its own: it builds the request view,
//! reads the body with a bound, and calls the core pipeline, whose rejections never echo a
//! secret or a signature, nor of the payload more than a duplicate's event type and id.
//! Guards never forward a failed request to another route.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod fairing;
mod guard;
mod receivers;
mod rejection;

pub use fairing::WebhookFairing;
pub use guard::{Verified, Webhook};
pub use receivers::Receivers;
pub use rejection::WebhookRejection;
