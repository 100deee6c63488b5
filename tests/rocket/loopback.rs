//! The loopback subset of the conformance table, over real HTTP against the example
//! receiver's rocket launched on a free port.

use crate::cases::{CASES, env};
use crate::{figment, rocket_app, routes};

#[rocket::async_test]
async fn the_loopback_subset_holds_over_real_http() {
    let routes = routes::routes(&env, "http://localhost").unwrap();
    let (base, shutdown, server) = crate::launch(rocket_app::app(&routes, figment())).await;
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
