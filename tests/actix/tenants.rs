//! The tenants script through actix-web's test client: the route mounted behind the
//! `VerifyWebhook` middleware, with a path parameter where the path names the tenant.

use actix_web::{App, HttpResponse, test, web};
use webhook::actix::{VerifyWebhook, Webhook, WebhookProof};

use crate::email::EmailEvent;
use crate::tenant_script::{Rig, Selection, accepted, play};

async fn handler(WebhookProof(proof): WebhookProof, _: Webhook<EmailEvent>) -> HttpResponse {
    HttpResponse::Ok().json(accepted(&proof))
}

#[actix_web::test]
async fn the_tenants_script() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let path = match selection {
            Selection::Path => "/webhooks/mail/{tenant}",
            Selection::Query => "/webhooks/mail",
        };
        let app = test::init_service(
            App::new().service(
                web::resource(path)
                    .app_data(web::Data::new(rig.receiver.clone()))
                    .wrap(VerifyWebhook::new(rig.receiver.clone()))
                    .route(web::post().to(handler)),
            ),
        )
        .await;
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
