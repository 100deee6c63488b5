//! Every row of the conformance table through axum's test client.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::cases::{CASES, env};
use crate::{axum_app, routes, unconfigured_axum};

#[tokio::test]
async fn the_conformance_table_holds_for_axum() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let app = unconfigured_axum::with_unconfigured_route(axum_app::app(&routes));
    for case in CASES {
        let mut last = None;
        for request in case.requests(&routes) {
            let mut builder = Request::post(&request.path).header("host", "localhost");
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let mut http_request = builder.body(Body::from(request.body)).unwrap();
            let peer: SocketAddr = SocketAddr::new(request.peer.parse().unwrap(), 50_000);
            http_request.extensions_mut().insert(ConnectInfo(peer));
            let response = app.clone().oneshot(http_request).await.unwrap();
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            last = Some((status, headers, body));
        }
        let (status, headers, body) = last.unwrap();
        case.check(status, &headers, &body);
    }
}
