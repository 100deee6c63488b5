//! The loopback subset of the conformance table, over real HTTP against the example
//! receiver's rocket launched on a free port.

use rocket::fairing::AdHoc;

use crate::cases::{CASES, env};
use crate::{figment, rocket_app, routes};

#[rocket::async_test]
async fn the_loopback_subset_holds_over_real_http() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let (port_tx, port_rx) = tokio::sync::oneshot::channel::<u16>();
    let port_tx = std::sync::Mutex::new(Some(port_tx));
    let rocket = rocket_app::app(&routes, figment())
        .attach(AdHoc::on_liftoff("port", move |rocket| {
            let port = rocket.config().port;
            Box::pin(async move {
                if let Some(tx) = port_tx.lock().unwrap().take() {
                    let _ = tx.send(port);
                }
            })
        }))
        .ignite()
        .await
        .unwrap();
    let shutdown = rocket.shutdown();
    let server = tokio::spawn(rocket.launch());
    let port = tokio::time::timeout(std::time::Duration::from_secs(30), port_rx)
        .await
        .unwrap()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
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
    shutdown.notify();
    server.await.unwrap().unwrap();
}
