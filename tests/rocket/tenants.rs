//! The tenants script through rocket's test client: the route mounted with a dynamic segment
//! where the path names the tenant, its receiver found under the route's pattern by the
//! fairing.

use rocket::http::Header;
use rocket::local::asynchronous::Client;
use rocket::serde::json::Value;
use rocket::{post, routes};
use webhook::rocket::{Receivers, Webhook};

use crate::email::EmailEvent;
use crate::figment;
use crate::tenant_script::{Rig, Selection, accepted, play};

/// The tenant the path names is the one the proof names.
#[post("/<tenant>", data = "<hook>")]
fn by_path(tenant: &str, hook: Webhook<EmailEvent>) -> Value {
    assert_eq!(hook.proof().tenant(), Some(tenant));
    accepted(hook.proof())
}

/// The tenant the query names is the one the proof names.
#[post("/?<tenant>", data = "<hook>")]
fn by_query(tenant: &str, hook: Webhook<EmailEvent>) -> Value {
    assert_eq!(hook.proof().tenant(), Some(tenant));
    accepted(hook.proof())
}

#[rocket::async_test]
async fn the_tenants_script() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let (pattern, routes) = match selection {
            Selection::Path => ("/webhooks/mail/<tenant>", routes![by_path]),
            Selection::Query => ("/webhooks/mail", routes![by_query]),
        };
        let rocket = rocket::custom(figment())
            .attach(webhook::rocket::WebhookFairing)
            .manage(Receivers::new().route(pattern, rig.receiver.clone()))
            .mount("/webhooks/mail", routes);
        let client = Client::tracked(rocket).await.unwrap();
        for (step, (path, headers, body)) in play(&rig) {
            let mut request = client.post(path).body(body);
            for (name, value) in headers {
                request = request.header(Header::new(name, value));
            }
            let response = request.dispatch().await;
            let status = response.status().code;
            rig.check(
                step,
                status,
                &response.into_bytes().await.unwrap_or_default(),
            );
        }
        rig.finished();
    }
}
