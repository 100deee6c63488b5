//! The tenants script through actix-web's test client: the route mounted behind the
//! `VerifyWebhook` middleware, with a path parameter where the path names the tenant.

use actix_web::{App, HttpResponse, HttpServer, test, web};
use webhook::actix::{VerifyWebhook, Webhook, WebhookProof};

use crate::email::EmailEvent;
use crate::tenant_script::{Rig, Selection, accepted, play, play_over_http};

async fn handler(WebhookProof(proof): WebhookProof, _: Webhook<EmailEvent>) -> HttpResponse {
    HttpResponse::Ok().json(accepted(&proof))
}

/// The route of `rig`, mounted for its selection.
fn configure(config: &mut web::ServiceConfig, rig: &Rig) {
    let path = match rig.selection {
        Selection::Path => "/webhooks/mail/{tenant}",
        Selection::Query => "/webhooks/mail",
    };
    config.service(
        web::resource(path)
            .app_data(web::Data::new(rig.receiver.clone()))
            .wrap(VerifyWebhook::new(rig.receiver.clone()))
            .route(web::post().to(handler)),
    );
}

#[actix_web::test]
async fn the_tenants_script() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let app = test::init_service(App::new().configure(|config| configure(config, &rig))).await;
        for (step, (path, headers, body)) in play(&rig) {
            let mut request = test::TestRequest::post()
                .uri(&path)
                .peer_addr("192.0.2.1:40000".parse().unwrap());
            for (name, value) in headers {
                request = request.append_header((name, value));
            }
            let response = test::call_service(&app, request.set_payload(body).to_request()).await;
            let status = response.status().as_u16();
            rig.check(step, status, &test::read_body(response).await);
        }
        rig.finished();
    }
}

/// The script over real HTTP, against the route served on a free loopback port.
#[actix_web::test]
async fn the_tenants_script_over_loopback() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = std::sync::Arc::new(Rig::new(selection));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = std::sync::Arc::clone(&rig);
        let server = HttpServer::new(move || {
            let served = std::sync::Arc::clone(&served);
            App::new().configure(move |config| configure(config, &served))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        let server = actix_web::rt::spawn(server);
        play_over_http(&rig, &base).await;
        handle.stop(true).await;
        server.await.unwrap().unwrap();
    }
}
