//! The loopback subset of the conformance table, over real HTTP against the example
//! receiver's router served on a free port.

use std::net::SocketAddr;

use crate::cases::{CASES, env};
use crate::{axum_app, routes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loopback_subset_holds_over_real_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = routes::routes(&env, &base).unwrap();
    let app = axum_app::app(&routes);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let client = crate::cases::loopback_client();
    let mut ran = 0;
    for case in CASES.iter().filter(|c| c.loopback) {
        let mut last = None;
        for request in case.requests(&routes) {
            let mut builder = client.post(format!("{base}{}", request.path));
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let response = builder.body(request.body).send().await.unwrap();
            let status = response.status().as_u16();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = response.bytes().await.unwrap();
            last = Some((status, headers, body));
        }
        let (status, headers, body) = last.unwrap();
        case.check(status, &headers, &body);
        ran += 1;
    }
    assert!(ran >= 15, "{ran}");
    let _ = stop.send(());
    server.await.unwrap();
}
