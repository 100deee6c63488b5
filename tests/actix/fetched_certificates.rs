//! The actix-web middleware awaits a signing certificate's fetch before authentication: the
//! first message fetches, later ones reuse it, and a failed fetch is answered 503 with
//! `Retry-After`.

use std::sync::Arc;

use actix_web::{App, HttpResponse, test, web};
use webhook::actix::{Verified, VerifyWebhook};

use crate::fetching::{
    Answer, CONTENT_TYPE, PATH, Served, assert_fetched_once, assert_unavailable, body, failing,
    receiver,
};

async fn send(served: &Arc<Served>, bodies: &[String]) -> Vec<Answer> {
    let app = test::init_service(
        App::new().service(
            web::resource(PATH)
                .wrap(VerifyWebhook::new(receiver(served)))
                .route(web::post().to(|_: Verified| async { HttpResponse::NoContent().finish() })),
        ),
    )
    .await;
    let mut answers = Vec::new();
    for body in bodies {
        let request = test::TestRequest::post()
            .uri(PATH)
            .insert_header(("content-type", CONTENT_TYPE))
            .set_payload(body.clone())
            .to_request();
        let response = test::call_service(&app, request).await;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let reply = test::read_body(response).await;
        answers.push((
            status,
            retry_after,
            String::from_utf8(reply.to_vec()).unwrap(),
        ));
    }
    answers
}

#[actix_web::test]
async fn the_middleware_fetches_the_certificate_once_and_answers_503_while_it_cannot() {
    let served = Arc::new(Served::default());
    assert_fetched_once(&served, &send(&served, &[body("m-1"), body("m-2")]).await);
    let failing = failing();
    assert_unavailable(&failing, &send(&failing, &[body("m-1")]).await);
}
