//! The load generator the three load benchmarks share: 64 keep-alive connections sending
//! identical signed 1 KiB `email.delivered` deliveries, and the summary of their rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use webhook::{Outgoing, Secret, Signer, StandardWebhooksSigner};

pub(crate) const CONNECTIONS: usize = 64;

pub(crate) fn body(id: usize) -> Vec<u8> {
    let head = format!(
        r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"m{id:012}","recipient":"someone@example.com","timestamp":"2024-05-01T12:00:00Z","pad":""#
    );
    let tail = r#""}}"#;
    let pad = 1024 - head.len() - tail.len();
    format!("{head}{}{tail}", "x".repeat(pad)).into_bytes()
}

pub(crate) struct Round {
    requests: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

pub(crate) async fn round(
    base: &str,
    path: &str,
    secret: &Secret,
    seconds: u64,
    offset: usize,
) -> Round {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let signer = Arc::new(StandardWebhooksSigner::new(secret.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicUsize::new(offset));
    let url = format!("{base}{path}");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, signer, stop, counter, url) = (
            client.clone(),
            signer.clone(),
            Arc::clone(&stop),
            Arc::clone(&counter),
            url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let payload = body(n);
                let mut request = client.post(&url).header("content-type", "application/json");
                // Both handlers get identical signed requests: the client does the same work.
                let id = format!("msg_{n:012}");
                for (name, value) in signer.sign(&Outgoing::new(&payload).id(id)).unwrap().iter() {
                    request = request.header(name, value);
                }
                let sent = Instant::now();
                let response = request.body(payload).send().await.unwrap();
                assert_eq!(response.status(), 204, "{url}");
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    Round {
        requests: latencies.len(),
        seconds,
        latencies,
    }
}

pub(crate) fn summary(rounds: &[Round]) -> (f64, Duration, Duration) {
    let requests: usize = rounds.iter().map(|r| r.requests).sum();
    let seconds: f64 = rounds.iter().map(|r| r.seconds).sum();
    let mut all: Vec<Duration> = rounds
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    all.sort_unstable();
    let p50 = all[all.len() / 2];
    let p99 = all[all.len() * 99 / 100];
    (requests as f64 / seconds, p50, p99)
}
