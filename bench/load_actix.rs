//! Load benchmark of the actix-web adapter (not a test): the `email` route — full
//! verification, replay claim and typed decode through `Webhook<E>` behind `VerifyWebhook` —
//! against the same actix-web app serving a plain `web::Json<serde_json::Value>` handler on the
//! same 1 KiB body, 64 keep-alive connections, loopback, one run. Every email request is signed
//! with its own message id, so each one is a real claim. The load generator is the one of
//! `bench/load.rs`; the server runs on its own actix system (2 workers) beside it.
//!
//! ```text
//! cargo run --release --example load_actix --features actix -- [seconds-per-round]
//! BENCH_MODE=inproc cargo run --release --example load_actix --features actix   # server cost only
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

#[path = "client.rs"]
mod client;
#[path = "../examples/support/email.rs"]
mod email;
#[path = "wrk.rs"]
mod wrk;

use std::time::Instant;

use actix_web::{App, HttpResponse, HttpServer, web};
use client::{CONNECTIONS, body, round, summary};
use webhook::actix::{VerifyWebhook, Webhook};
use webhook::{Outgoing, Receiver, Secret, Signer, StandardWebhooks, StandardWebhooksSigner};

async fn email_handler(Webhook(_event): Webhook<email::EmailEvent>) -> HttpResponse {
    HttpResponse::NoContent().finish()
}

async fn plain_handler(_value: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::NoContent().finish()
}

fn app(
    receiver: Receiver,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .service(
            web::resource("/webhooks/email")
                .wrap(VerifyWebhook::new(receiver))
                .route(web::post().to(email_handler)),
        )
        .route("/plain", web::post().to(plain_handler))
}

/// Server-side cost per request without sockets: the app called in a loop on one thread.
fn inproc(receiver: Receiver, secret: &Secret) {
    use actix_web::test;
    let signer = StandardWebhooksSigner::new(secret.clone());
    let n = 100_000;
    actix_web::rt::System::new().block_on(async move {
        let app = test::init_service(app(receiver)).await;
        for (path, offset) in [
            ("/plain", 0),
            ("/webhooks/email", 50_000_000),
            ("/plain", 0),
            ("/webhooks/email", 60_000_000),
        ] {
            let batch: Vec<_> = (0..n)
                .map(|i| {
                    let payload = body(offset + i);
                    let id = format!("msg_{:012}", offset + i);
                    let mut request = test::TestRequest::post()
                        .uri(path)
                        .insert_header(("content-type", "application/json"));
                    for (name, value) in
                        signer.sign(&Outgoing::new(&payload).id(id)).unwrap().iter()
                    {
                        request = request.insert_header((name, value));
                    }
                    request.set_payload(payload).to_request()
                })
                .collect();
            let started = Instant::now();
            for request in batch {
                let response = test::call_service(&app, request).await;
                assert_eq!(response.status(), 204);
            }
            println!(
                "{path}: {:.2} us/request",
                started.elapsed().as_secs_f64() * 1e6 / n as f64
            );
        }
    });
}

/// Serve the app on a free loopback port from its own thread; returns the base URL.
fn serve(receiver: Receiver) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || app(receiver.clone()))
                .workers(2)
                .disable_signals()
                .listen(listener)
                .unwrap()
                .run()
                .await
                .unwrap();
        });
    });
    base
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let secret = Secret::random(24);
    let receiver = Receiver::builder()
        .route("email")
        .verifier(StandardWebhooks::new(secret.clone()).unwrap())
        .content_type("application/json")
        .memory_capacity(4_000_000)
        .build()
        .unwrap();
    if std::env::var("BENCH_MODE").as_deref() == Ok("inproc") {
        // actix's own runtime, on its own thread (not inside tokio's).
        std::thread::spawn(move || inproc(receiver, &secret))
            .join()
            .unwrap();
        return;
    }
    let base = serve(receiver.clone());
    if wrk::compare_if_available(
        "actix-web",
        &base,
        "/webhooks/email",
        &secret,
        seconds,
        Some(&receiver),
    )
    .await
    {
        return;
    }
    // Warm-up, then alternate rounds so drift affects both alike.
    let _ = round(&base, "/plain", &secret, 1, 0).await;
    let _ = round(&base, "/webhooks/email", &secret, 1, 10_000_000).await;
    let (mut plain, mut hooks) = (Vec::new(), Vec::new());
    for i in 0..3 {
        plain.push(round(&base, "/plain", &secret, seconds, 90_000_000 * (i + 1)).await);
        hooks.push(
            round(
                &base,
                "/webhooks/email",
                &secret,
                seconds,
                20_000_000 * (i + 1),
            )
            .await,
        );
    }
    let (plain_rps, plain_p50, plain_p99) = summary(&plain);
    let (hook_rps, hook_p50, hook_p99) = summary(&hooks);
    println!(
        "actix-web: body 1024 B, {CONNECTIONS} connections, 3 x {seconds} s per handler, loopback"
    );
    println!("plain Json<Value> : {plain_rps:>9.0} req/s  p50 {plain_p50:?}  p99 {plain_p99:?}");
    println!("email (verified)  : {hook_rps:>9.0} req/s  p50 {hook_p50:?}  p99 {hook_p99:?}");
    println!(
        "throughput ratio {:.3} (target >= 0.90)",
        hook_rps / plain_rps
    );
    println!(
        "p99 latency ratio {:.3} (target <= 1.2)",
        hook_p99.as_secs_f64() / plain_p99.as_secs_f64()
    );
    println!("accepted {}", receiver.stats().accepted);
}
