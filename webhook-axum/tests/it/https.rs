//! HTTPS is proven by the server that terminates TLS (the `HttpsConnection` marker) or by a
//! trusted proxy, never by the request URI a client writes.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router};
use tower::ServiceExt as _;
use webhook_axum::{HttpsConnection, Verified, VerifyWebhookLayer};
use webhook_core::{Receiver, Secret, StandardWebhooks};

fn app() -> Router {
    let receiver = Receiver::builder()
        .verifier(StandardWebhooks::new(Secret::random(24)).unwrap())
        .require_https(true)
        .build()
        .unwrap();
    Router::new()
        .route(
            "/hook",
            post(|_: Verified| async { StatusCode::NO_CONTENT }),
        )
        .route_layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver)
}

async fn status(app: Router, uri: &str) -> StatusCode {
    let request = Request::post(uri).body(Body::from("{}")).unwrap();
    app.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn an_absolute_https_uri_from_the_client_proves_nothing() {
    assert_eq!(status(app(), "/hook").await, StatusCode::FORBIDDEN);
    assert_eq!(
        status(app(), "https://anything/hook").await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_tls_listeners_marker_proves_https() {
    let app = app().layer(Extension(HttpsConnection));
    // Past the HTTPS check, stopped at authentication (no signature headers).
    assert_eq!(status(app, "/hook").await, StatusCode::UNAUTHORIZED);
}
