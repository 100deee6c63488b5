//! Load benchmark of the rocket adapter (not a test): the `email` route — full verification,
//! replay claim and typed decode through the `Webhook<E>` guard and `WebhookFairing` — against
//! the same rocket serving a plain `Json<serde_json::Value>` handler on the same 1 KiB body,
//! 64 keep-alive connections, loopback, one run. Every email request is signed with its own
//! message id, so each one is a real claim. The load generator is the one of `bench/load.rs`.
//!
//! ```text
//! cargo run --release --example load_rocket --features rocket -- [seconds-per-round]
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

use client::{CONNECTIONS, body, round, summary};
use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{post, routes};
use webhook::rocket::{Webhook, WebhookFairing};
use webhook::{Outgoing, Receiver, Secret, Signer, StandardWebhooks, StandardWebhooksSigner};

#[post("/webhooks/email", data = "<_hook>")]
fn email_handler(_hook: Webhook<email::EmailEvent>) -> Status {
    Status::NoContent
}

#[post("/plain", data = "<_value>")]
fn plain_handler(_value: Json<serde_json::Value>) -> Status {
    Status::NoContent
}

#[rocket::main]
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
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        port: 0,
        ..rocket::Config::release_default()
    };
    let (port_tx, port_rx) = tokio::sync::oneshot::channel::<u16>();
    let port_tx = std::sync::Mutex::new(Some(port_tx));
    let rocket = rocket::custom(config)
        .manage(receiver.clone())
        .attach(WebhookFairing)
        .attach(AdHoc::on_liftoff("port", move |rocket| {
            let port = rocket.config().port;
            Box::pin(async move {
                if let Some(tx) = port_tx.lock().unwrap().take() {
                    let _ = tx.send(port);
                }
            })
        }))
        .mount("/", routes![email_handler, plain_handler]);
    if std::env::var("BENCH_MODE").as_deref() == Ok("inproc") {
        inproc(rocket, &secret).await;
        return;
    }
    tokio::spawn(rocket.launch());
    let base = format!("http://127.0.0.1:{}", port_rx.await.unwrap());
    if wrk::compare_if_available(
        "rocket",
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
    // Warm-up, then alternate short rounds so drift and other load on the machine affect
    // both handlers alike; report the aggregate and the median of the per-pair ratios.
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let target = "/webhooks/email";
    let _ = round(&base, "/plain", &secret, 1, 0).await;
    let _ = round(&base, target, &secret, 1, 10_000_000).await;
    let (mut plain, mut hooks) = (Vec::new(), Vec::new());
    let (mut rps_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let p = round(&base, "/plain", &secret, seconds, 90_000_000 * (i + 1)).await;
        let h = round(&base, target, &secret, seconds, 20_000_000 * (i + 1)).await;
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
        "rocket: body 1024 B, {CONNECTIONS} connections, {rounds} x {seconds} s per handler, alternating, loopback"
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
    println!(
        "deliveries accepted (each a fresh claim) {}",
        receiver.stats().accepted
    );
}

/// Server-side cost per request without sockets: rocket's local client in a loop.
async fn inproc(rocket: rocket::Rocket<rocket::Build>, secret: &Secret) {
    use rocket::http::{ContentType, Header};
    let client = rocket::local::asynchronous::Client::untracked(rocket)
        .await
        .unwrap();
    let signer = StandardWebhooksSigner::new(secret.clone());
    let n = 100_000;
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
                let headers = signer.sign(&Outgoing::new(&payload).id(id)).unwrap();
                let headers: Vec<(String, String)> = headers
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect();
                (payload, headers)
            })
            .collect();
        let started = Instant::now();
        for (payload, headers) in batch {
            let mut request = client.post(path).header(ContentType::JSON).body(payload);
            for (name, value) in headers {
                request = request.header(Header::new(name, value));
            }
            assert_eq!(request.dispatch().await.status().code, 204);
        }
        println!(
            "{path}: {:.2} us/request",
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
