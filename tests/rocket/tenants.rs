//! The tenants script through rocket's test client: the route mounted with a dynamic segment,
//! its receiver found under the route's pattern by the fairing.

use rocket::http::Header;
use rocket::local::asynchronous::Client;
use rocket::serde::json::Value;
use rocket::{post, routes};
use webhook::rocket::{Receivers, Webhook};

use crate::email::EmailEvent;
use crate::figment;
use crate::tenant_script::{Rig, accepted, play};

/// The fairing finds the receiver under the route's pattern, `/webhooks/mail/<tenant>`.
#[post("/<tenant>", data = "<hook>")]
fn handler(tenant: &str, hook: Webhook<EmailEvent>) -> Value {
    assert_eq!(hook.proof().tenant(), Some(tenant));
    accepted(hook.proof())
}

#[rocket::async_test]
async fn the_tenants_script() {
    let rig = Rig::new();
    let rocket = rocket::custom(figment())
        .attach(webhook::rocket::WebhookFairing)
        .manage(Receivers::new().route("/webhooks/mail/<tenant>", rig.receiver.clone()))
        .mount("/webhooks/mail", routes![handler]);
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
