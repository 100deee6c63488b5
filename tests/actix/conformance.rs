//! Every row of the conformance table through actix-web's test client.

use std::net::SocketAddr;

use actix_web::{App, HttpResponse, test, web};

use crate::cases::{CASES, UNCONFIGURED_PATH, env};
use crate::{actix_app, routes};

#[actix_web::test]
async fn the_conformance_table_holds_for_actix() {
    run_table(&routes::routes(&env, "http://localhost").unwrap()).await;
}

/// The same table with every route's claims in Redis.
#[cfg(feature = "redis")]
#[actix_web::test]
async fn the_conformance_table_holds_for_actix_with_the_redis_store() {
    run_table(&crate::cases::routes_in_redis("actix").await).await;
}

async fn run_table(routes: &[routes::RouteSpec]) {
    let mounts = actix_app::mounts(routes);
    // The unconfigured route: `Verified` with no `Receiver` in `app_data`.
    let unconfigured = web::resource(UNCONFIGURED_PATH).route(
        web::post().to(|_: webhook::actix::Verified| async { HttpResponse::NoContent().finish() }),
    );
    let app = test::init_service(
        App::new()
            .configure(|config| actix_app::configure(config, &mounts))
            .service(unconfigured),
    )
    .await;
    for case in CASES {
        let mut last = None;
        for request in case.requests(routes) {
            let peer = SocketAddr::new(request.peer.parse().unwrap(), 50_000);
            let mut builder = test::TestRequest::post()
                .uri(&request.path)
                .insert_header(("host", "localhost"))
                .peer_addr(peer);
            for (name, value) in &request.headers {
                builder = builder.append_header((name.as_str(), value.as_str()));
            }
            let response =
                test::call_service(&app, builder.set_payload(request.body).to_request()).await;
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = test::read_body(response).await;
            last = Some((status, headers, body));
        }
        let (status, headers, body) = last.unwrap();
        case.check(status, &headers, &body);
    }
}

/// Only POST runs the pipeline: the example wraps the POST route, so another method is
/// answered 405 by actix-web, without a rejection counted or the source's rate limit spent.
#[actix_web::test]
async fn other_methods_are_405_without_running_the_pipeline() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let mounts = actix_app::mounts(&routes);
    let app =
        test::init_service(App::new().configure(|config| actix_app::configure(config, &mounts)))
            .await;
    for method in ["GET", "HEAD", "PUT", "OPTIONS", "DELETE"] {
        let request = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri("/webhooks/github")
            .insert_header(("host", "localhost"))
            .peer_addr("127.0.0.1:50000".parse().unwrap())
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status().as_u16(), 405, "{method}");
    }
    for route in &routes {
        assert_eq!(route.receiver.stats().rejected_total(), 0, "{}", route.name);
    }
}
