//! rocket answers every row exactly as axum does: same status, same JSON body (the per-request
//! `id` aside), same `Content-Type`, `Retry-After` and `WWW-Authenticate`.

use std::net::SocketAddr;

use rocket::local::asynchronous::Client;

use crate::cases::{CASES, TestRequest, env};
use crate::parity_axum::{Answer, normalize, via_axum};
use crate::{axum_app, figment, rocket_app, routes, unconfigured_axum, unconfigured_rocket};

async fn via_rocket(client: &Client, request: TestRequest) -> Answer {
    let mut local = client
        .post(request.path)
        .header(rocket::http::Header::new("host", "localhost"))
        .remote(SocketAddr::new(request.peer.parse().unwrap(), 50_000))
        .body(request.body);
    for (name, value) in request.headers {
        local = local.header(rocket::http::Header::new(name, value));
    }
    let response = local.dispatch().await;
    let status = response.status().code;
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_string()))
        .collect();
    let body = response.into_bytes().await.unwrap_or_default();
    normalize(status, headers, &body)
}

#[rocket::async_test]
async fn rocket_answers_every_row_exactly_as_axum() {
    // One route table (one store); each framework gets its own fresh ids.
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let app = unconfigured_axum::with_unconfigured_route(axum_app::app(&routes));
    let rocket = unconfigured_rocket::with_unconfigured_route(rocket_app::app(&routes, figment()));
    let client = Client::tracked(rocket).await.unwrap();
    for case in CASES {
        let (mut from_axum, mut from_rocket) = (None, None);
        for request in case.requests(&routes) {
            from_axum = Some(via_axum(&app, request).await);
        }
        for request in case.requests(&routes) {
            from_rocket = Some(via_rocket(&client, request).await);
        }
        assert_eq!(from_rocket, from_axum, "{}", case.name);
    }
}
