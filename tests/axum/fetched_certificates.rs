//! The axum layer awaits a signing certificate's fetch before authentication: the first
//! message fetches, later ones reuse it, and a failed fetch is answered 503 with `Retry-After`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook::axum::{Verified, VerifyWebhookLayer};

use crate::fetching::{
    Answer, CONTENT_TYPE, PATH, Served, assert_fetched_once, assert_unavailable, body, failing,
    receiver,
};

async fn send(served: &Arc<Served>, bodies: &[String]) -> Vec<Answer> {
    let receiver = receiver(served);
    let app = Router::new()
        .route(
            PATH,
            post(|_: Verified| async { StatusCode::NO_CONTENT })
                .layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .with_state(receiver);
    let mut answers = Vec::new();
    for body in bodies {
        let request = Request::post(PATH)
            .header("content-type", CONTENT_TYPE)
            .body(Body::from(body.clone()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        answers.push((
            status,
            retry_after,
            String::from_utf8(bytes.to_vec()).unwrap(),
        ));
    }
    answers
}

#[tokio::test]
async fn the_layer_fetches_the_certificate_once_and_answers_503_while_it_cannot() {
    let served = Arc::new(Served::default());
    assert_fetched_once(&served, &send(&served, &[body("m-1"), body("m-2")]).await);
    let failing = failing();
    assert_unavailable(&failing, &send(&failing, &[body("m-1")]).await);
}
