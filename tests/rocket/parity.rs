//! rocket answers every row exactly as axum does: same status, same JSON body (the per-request
//! `id` aside), same `Content-Type`, `Retry-After` and `WWW-Authenticate`.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http_body_util::BodyExt as _;
use rocket::local::asynchronous::Client;
use tower::ServiceExt as _;

use crate::cases::{CASES, TestRequest, env};
use crate::{axum_app, figment, rocket_app, routes, unconfigured_axum, unconfigured_rocket};

const COMPARED: [&str; 3] = ["content-type", "retry-after", "www-authenticate"];

type Answer = (u16, Vec<(String, String)>, serde_json::Value);

fn normalize(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Answer {
    let mut json: serde_json::Value = serde_json::from_slice(body).unwrap();
    if let Some(id) = json.get_mut("id")
        && id.is_string()
    {
        *id = "<id>".into();
    }
    let mut headers: Vec<(String, String)> = headers
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .filter(|(n, _)| COMPARED.contains(&n.as_str()))
        .collect();
    headers.sort();
    (status, headers, json)
}

async fn via_axum(app: &axum::Router, request: TestRequest) -> Answer {
    let mut builder = axum::http::Request::post(&request.path).header("host", "localhost");
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut http_request = builder.body(axum::body::Body::from(request.body)).unwrap();
    let peer = SocketAddr::new(request.peer.parse().unwrap(), 50_000);
    http_request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(http_request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    normalize(status, headers, &body)
}

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
