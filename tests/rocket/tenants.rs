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
use crate::tenant_script::{Rig, Selection, accepted, play, play_over_http};

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

/// A rocket serving `rig`'s route, mounted for its selection.
fn app(rig: &Rig) -> rocket::Rocket<rocket::Build> {
    let (pattern, routes) = match rig.selection {
        Selection::Path => ("/webhooks/mail/<tenant>", routes![by_path]),
        Selection::Query => ("/webhooks/mail", routes![by_query]),
    };
    rocket::custom(figment())
        .attach(webhook::rocket::WebhookFairing)
        .manage(Receivers::new().route(pattern, rig.receiver.clone()))
        .mount("/webhooks/mail", routes)
}

#[rocket::async_test]
async fn the_tenants_script() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let client = Client::tracked(app(&rig)).await.unwrap();
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

/// The script over real HTTP, against the rocket launched on a free loopback port.
#[rocket::async_test]
async fn the_tenants_script_over_loopback() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let (base, shutdown, server) = crate::launch(app(&rig)).await;
        play_over_http(&rig, &base).await;
        shutdown.notify();
        server.await.unwrap().unwrap();
    }
}
