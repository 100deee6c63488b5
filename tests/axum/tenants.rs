//! The tenants script through axum's test client: the route mounted behind
//! `VerifyWebhookLayer`, with a path parameter where the path names the tenant.

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use webhook::axum::{VerifyWebhookLayer, Webhook, WebhookProof};

use crate::email::EmailEvent;
use crate::tenant_script::{Rig, Selection, accepted, play, play_over_http};

async fn handler(
    WebhookProof(proof): WebhookProof,
    _: Webhook<EmailEvent>,
) -> axum::Json<serde_json::Value> {
    axum::Json(accepted(&proof))
}

/// The route of `rig`, mounted for its selection.
fn app(rig: &Rig) -> Router {
    let path = match rig.selection {
        Selection::Path => "/webhooks/mail/{tenant}",
        Selection::Query => "/webhooks/mail",
    };
    Router::new()
        .route(path, post(handler))
        .layer(VerifyWebhookLayer::new(rig.receiver.clone()))
        .with_state(rig.receiver.clone())
}

#[tokio::test]
async fn the_tenants_script() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let app = app(&rig);
        for (step, (path, headers, body)) in play(&rig) {
            let mut request = axum::http::Request::post(path);
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            let response = app
                .clone()
                .oneshot(request.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            rig.check(step, status, &bytes);
        }
        rig.finished();
    }
}

/// The script over real HTTP: the router served on a free loopback port, each delivery sent
/// by reqwest with the script's `Host`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenants_script_over_loopback() {
    for selection in [Selection::Path, Selection::Query] {
        let rig = Rig::new(selection);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = app(&rig);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        play_over_http(&rig, &base).await;
        stop.send(()).unwrap();
        server.await.unwrap();
    }
}
