//! actix-web answers every row exactly as axum does: same status, same JSON body (the
//! per-request `id` aside), same `Content-Type`, `Retry-After` and `WWW-Authenticate`.

use std::net::SocketAddr;

use actix_web::{App, HttpResponse, test, web};

use crate::cases::{CASES, TestRequest, UNCONFIGURED_PATH, env};
use crate::parity_axum::{normalize, via_axum};
use crate::{actix_app, axum_app, routes, unconfigured_axum};

/// The answer of the actix-web test service `app` to `request`, normalised. (A macro: the
/// service's request type, actix-http's, is not named by actix-web.)
macro_rules! via_actix {
    ($app:expr, $request:expr) => {{
        let request: TestRequest = $request;
        let peer = SocketAddr::new(request.peer.parse().unwrap(), 50_000);
        let mut builder = test::TestRequest::post()
            .uri(&request.path)
            .insert_header(("host", "localhost"))
            .peer_addr(peer);
        for (name, value) in &request.headers {
            builder = builder.append_header((name.as_str(), value.as_str()));
        }
        let response =
            test::call_service(&$app, builder.set_payload(request.body).to_request()).await;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = test::read_body(response).await;
        normalize(status, headers, &body)
    }};
}

#[actix_web::test]
async fn actix_answers_every_row_exactly_as_axum() {
    // One route table (one store); each framework gets its own fresh ids.
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let app = unconfigured_axum::with_unconfigured_route(axum_app::app(&routes));
    let mounts = actix_app::mounts(&routes);
    // The unconfigured route, as the actix-web table runs it: `Verified` with no `Receiver`
    // in `app_data`.
    let unconfigured = web::resource(UNCONFIGURED_PATH).route(
        web::post().to(|_: webhook::actix::Verified| async { HttpResponse::NoContent().finish() }),
    );
    let service = test::init_service(
        App::new()
            .configure(|config| actix_app::configure(config, &mounts))
            .service(unconfigured),
    )
    .await;
    for case in CASES {
        let (mut from_axum, mut from_actix) = (None, None);
        for request in case.requests(&routes) {
            from_axum = Some(via_axum(&app, request).await);
        }
        for request in case.requests(&routes) {
            from_actix = Some(via_actix!(service, request));
        }
        assert_eq!(from_actix, from_axum, "{}", case.name);
    }
}
