//! The rocket app of the example receiver: one `POST /webhooks/<route>` per route, each with
//! its own receiver (`Receivers`), answering `{"event_type","id","duplicate":false}`.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;

use rocket::figment::Figment;
use rocket::http::HeaderMap;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawJson;
use rocket::{Build, Rocket, post, routes};
use webhook::WebhookEvent as _;
use webhook::rocket::{Receivers, Verified, Webhook, WebhookFairing, WebhookRejection};

use super::email::EmailEvent;
use super::routes::{Kind, RouteSpec, summarize};

/// The request's headers, for [`summarize`].
pub struct Headers<'r>(&'r HeaderMap<'r>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Headers<'r> {
    type Error = Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Infallible> {
        Outcome::Success(Headers(request.headers()))
    }
}

fn accepted(event_type: Option<&str>, id: Option<&str>) -> RawJson<String> {
    let body = serde_json::json!({ "event_type": event_type, "id": id, "duplicate": false });
    RawJson(body.to_string())
}

#[post("/", data = "<hook>")]
fn raw(headers: Headers<'_>, hook: Verified) -> Result<RawJson<String>, WebhookRejection> {
    let mut request = webhook::WebhookRequest::new(hook.body());
    for header in headers.0.iter() {
        if let (std::borrow::Cow::Borrowed(name), std::borrow::Cow::Borrowed(value)) =
            (header.name.into_cow(), header.value)
        {
            request.push_header(name, value.as_bytes());
        }
    }
    match summarize(&request, hook.proof()) {
        Ok((event_type, id)) => Ok(accepted(event_type.as_deref(), id.as_deref())),
        Err(error) => Err(WebhookRejection::from_error(hook.receiver(), error)),
    }
}

#[post("/", data = "<hook>")]
fn email(hook: Webhook<EmailEvent>) -> RawJson<String> {
    accepted(Some(hook.event_type()), hook.proof().message_id())
}

/// The rocket serving every route, configured by `figment` (address, port, limits, logging).
pub fn app(routes: &[RouteSpec], figment: Figment) -> Rocket<Build> {
    let mut receivers = Receivers::new();
    let mut rocket = rocket::custom(figment).attach(WebhookFairing);
    for route in routes {
        let path = route.path();
        receivers = receivers.route(path.clone(), route.receiver.clone());
        rocket = match route.kind {
            Kind::Raw => rocket.mount(path, routes![raw]),
            Kind::Email => rocket.mount(path, routes![email]),
        };
    }
    rocket.manage(receivers)
}
