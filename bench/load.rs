//! Load benchmark of the axum adapter (not a test): the `email` route — full verification,
//! replay claim and typed decode behind `VerifyWebhookLayer` — against the same router
//! serving a plain `Json<serde_json::Value>` handler on the same 1 KiB body, 64 keep-alive
//! connections, loopback, one run. Every email request is signed with its own message id,
//! so each one is a real claim.
//!
//! ```text
//! cargo run --release --example load --features axum -- [seconds-per-round]
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

use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use client::{CONNECTIONS, body, round, summary};
use webhook::axum::{VerifyWebhookLayer, Webhook};
use webhook::{Outgoing, Receiver, Secret, Signer, StandardWebhooks, StandardWebhooksSigner};

async fn email_handler(Webhook(_event): Webhook<email::EmailEvent>) -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn verified_handler(_: webhook::axum::Verified) -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn plain_handler(Json(_value): Json<serde_json::Value>) -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Diagnostic: the body read, nothing parsed (what the plain handler costs without its parse).
async fn bytes_handler(_body: axum::body::Bytes) -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Diagnostic: behind the layer, the raw bytes decoded by the handler itself.
async fn verified_then_typed_handler(hook: webhook::axum::Verified) -> StatusCode {
    use webhook::WebhookEvent as _;
    match email::EmailEvent::decode(&webhook::WebhookRequest::new(hook.body())) {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Diagnostic: the typed decode and validation alone, without verification or claim.
async fn typed_handler(body: axum::body::Bytes) -> StatusCode {
    use webhook::WebhookEvent as _;
    match email::EmailEvent::decode(&webhook::WebhookRequest::new(&body)) {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The timed loop of [`inproc`]: a plain function polling each request's future to
/// completion (nothing in it waits on I/O), so that a profiler can select it by name.
#[inline(never)]
fn drive(app: &Router, batch: Vec<axum::http::Request<axum::body::Body>>) {
    use tower::ServiceExt as _;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for request in batch {
        let mut future = std::pin::pin!(app.clone().oneshot(request));
        let response = loop {
            if let std::task::Poll::Ready(response) = future.as_mut().poll(&mut cx) {
                break response.unwrap();
            }
        };
        assert_eq!(response.status(), 204);
    }
}

/// Server-side cost per request without sockets: the router called in a loop.
async fn inproc(app: &Router, secret: &Secret, target: &str) {
    let signer = StandardWebhooksSigner::new(secret.clone());
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let requests = |path: &str, offset: usize| -> Vec<axum::http::Request<axum::body::Body>> {
        (0..n)
            .map(|i| {
                let payload = body(offset + i);
                let id = format!("msg_{:012}", offset + i);
                let mut b =
                    axum::http::Request::post(path).header("content-type", "application/json");
                for (name, value) in signer.sign(&Outgoing::new(&payload).id(id)).unwrap().iter() {
                    b = b.header(name, value);
                }
                b.body(axum::body::Body::from(payload)).unwrap()
            })
            .collect()
    };
    // BENCH_PROFILE=1: the target route only, once (for a profiler).
    let rounds: &[(&str, usize)] = if std::env::var_os("BENCH_PROFILE").is_some() {
        &[(target, 50_000_000)]
    } else {
        &[
            ("/plain", 0),
            (target, 50_000_000),
            ("/plain", 0),
            (target, 60_000_000),
        ]
    };
    for &(path, offset) in rounds {
        let batch = requests(path, offset);
        let started = Instant::now();
        drive(app, batch);
        println!(
            "{path}: {:.2} us/request",
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}

fn main() {
    // BENCH_WORKERS: the server runtime's worker threads (default: one per core).
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        runtime.worker_threads(workers);
    }
    runtime.enable_all().build().unwrap().block_on(run());
}

async fn run() {
    let target = std::env::var("BENCH_ROUTE").unwrap_or_else(|_| "/webhooks/email".to_owned());
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
    let app = Router::new()
        .route(
            "/webhooks/email",
            post(email_handler).route_layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .route("/plain", post(plain_handler))
        .route("/diagnostic/bytes", post(bytes_handler))
        .route("/diagnostic/typed", post(typed_handler))
        .route(
            "/diagnostic/email-without-store",
            post(email_handler).route_layer(VerifyWebhookLayer::new(
                Receiver::builder()
                    .verifier(StandardWebhooks::new(secret.clone()).unwrap())
                    .without_replay_protection()
                    .build()
                    .unwrap(),
            )),
        )
        .route(
            "/webhooks/verified",
            post(verified_handler).route_layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .route(
            "/diagnostic/verified-then-typed",
            post(verified_then_typed_handler)
                .route_layer(VerifyWebhookLayer::new(receiver.clone())),
        )
        .with_state(receiver.clone());
    if std::env::var("BENCH_MODE").as_deref() == Ok("inproc") {
        inproc(&app, &secret, &target).await;
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    if std::env::var("BENCH_MODE").as_deref() == Ok("serve") {
        // Serve for a profiler: write request files (400 000 fresh deliveries per route, about
        // 500 MB each), print the wrk commands, serve until Ctrl-C, then delete the files.
        // Each file can be replayed once without duplicates.
        let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
        let dir = std::env::temp_dir().join(format!("webhook-bench-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (path, offset) in [("/plain", 0), (target.as_str(), 3_000_000_000)] {
            let name = path.trim_start_matches('/').replace('/', "-");
            println!(
                "{}",
                wrk::prepare(addr, path, &secret, &dir.join(name), offset, 400_000)
            );
        }
        let _ = tokio::signal::ctrl_c().await;
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // The routes behind `receiver`'s layer claim each delivery on it; the others take none.
    let claims = [
        "/webhooks/email",
        "/webhooks/verified",
        "/diagnostic/verified-then-typed",
    ]
    .contains(&target.as_str())
    .then_some(&receiver);
    if wrk::compare_if_available("axum", &base, &target, &secret, seconds, claims).await {
        return;
    }
    // Warm-up, then alternate short rounds so drift and other load on the machine affect
    // both handlers alike; report the aggregate and the median of the per-pair ratios.
    let _ = round(&base, "/plain", &secret, 1, 0).await;
    let _ = round(&base, &target, &secret, 1, 10_000_000).await;
    let (mut plain, mut hooks) = (Vec::new(), Vec::new());
    let (mut rps_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let p = round(&base, "/plain", &secret, seconds, 90_000_000 * (i + 1)).await;
        let h = round(&base, &target, &secret, seconds, 20_000_000 * (i + 1)).await;
        let (prps, _, pp99) = summary(std::slice::from_ref(&p));
        let (hrps, _, hp99) = summary(std::slice::from_ref(&h));
        rps_ratios.push(hrps / prps);
        p99_ratios.push(hp99.as_secs_f64() / pp99.as_secs_f64());
        plain.push(p);
        hooks.push(h);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (plain_rps, plain_p50, plain_p99) = summary(&plain);
    let (hook_rps, hook_p50, hook_p99) = summary(&hooks);
    println!(
        "body 1024 B, {CONNECTIONS} connections, {rounds} x {seconds} s per handler, alternating, loopback"
    );
    println!("plain Json<Value> : {plain_rps:>9.0} req/s  p50 {plain_p50:?}  p99 {plain_p99:?}");
    println!("{target:<18}: {hook_rps:>9.0} req/s  p50 {hook_p50:?}  p99 {hook_p99:?}");
    println!(
        "throughput ratio {:.3} aggregate, {:.3} median of pairs (target >= 0.90)",
        hook_rps / plain_rps,
        median(&mut rps_ratios)
    );
    println!(
        "p99 latency ratio {:.3} aggregate, {:.3} median of pairs (target <= 1.2)",
        hook_p99.as_secs_f64() / plain_p99.as_secs_f64(),
        median(&mut p99_ratios)
    );
    if let Some(receiver) = claims {
        println!(
            "deliveries accepted (each a fresh claim) {}",
            receiver.stats().accepted
        );
    }
}
