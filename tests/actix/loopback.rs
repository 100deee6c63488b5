//! The loopback subset of the conformance table, over real HTTP against the actix-web
//! example receiver's app served on a free port.

use actix_web::{App, HttpServer};

use crate::cases::{CASES, env};
use crate::{actix_app, routes};

#[actix_web::test]
async fn the_loopback_subset_holds_over_real_http() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = routes::routes(&env, &base).unwrap();
    let mounts = actix_app::mounts(&routes);
    let server = HttpServer::new(move || {
        let mounts = mounts.clone();
        App::new().configure(move |config| actix_app::configure(config, &mounts))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    let server = actix_web::rt::spawn(server);
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
    handle.stop(true).await;
    server.await.unwrap().unwrap();
}
