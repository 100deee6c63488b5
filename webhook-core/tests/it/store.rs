//! The in-memory store under concurrency, and the lease guard.

use std::sync::Arc;
use std::time::Duration;

use webhook_core::{Claim, FixedClock, MemoryStore, ReplayStore};

const LEASE: Duration = Duration::from_secs(30);

#[test]
fn exactly_one_of_many_threads_wins_a_claim() {
    const THREADS: usize = 8;
    let store = Arc::new(MemoryStore::new(10_000));
    // Every thread is started before any is joined, and they begin together.
    let start = Arc::new(std::sync::Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let store = Arc::clone(&store);
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                let mut won = Vec::new();
                for i in 0..500 {
                    let key = format!("k{i}");
                    let claim = futures_lite_block_on(store.claim(&key, LEASE)).unwrap();
                    if matches!(claim, Claim::New(_)) {
                        won.push(i);
                    }
                }
                won
            })
        })
        .collect();
    let mut winners: Vec<usize> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    winners.sort_unstable();
    // Each key won exactly once, whichever thread won it.
    assert_eq!(winners, (0..500).collect::<Vec<_>>());
    assert_eq!(store.len(), 500);
}

#[test]
fn capacity_is_a_hard_bound_and_expiry_frees_it() {
    let clock = FixedClock::at_secs(1);
    let store = MemoryStore::with_clock(160, Arc::new(clock.clone()));
    let mut refused = 0;
    for i in 0..10_000 {
        if futures_lite_block_on(store.claim(&format!("k{i}"), LEASE)).is_err() {
            refused += 1;
        }
    }
    assert!(store.len() <= store.capacity());
    assert!(refused >= 10_000 - store.capacity());
    clock.advance(LEASE);
    assert!(matches!(
        futures_lite_block_on(store.claim("fresh", LEASE)),
        Ok(Claim::New(_))
    ));
}

fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// A handler that outlives its lease while a copy is claimed: its success still marks the key
/// done (a late success wins), and a warning says both may have run and what to change. A
/// success within the lease, or past it with no copy claimed, logs nothing.
#[test]
fn a_success_after_a_copy_took_over_the_lease_is_warned_about() {
    use crate::pipeline::Captured;
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));
    let clock = FixedClock::at_secs(1);
    let store = MemoryStore::with_clock(1_000, Arc::new(clock.clone()));
    let claim = |key: &str| match futures_lite_block_on(store.claim(key, LEASE)) {
        Ok(Claim::New(token)) => Some(token),
        _ => None,
    };
    let keep = Duration::from_secs(600);

    let first = claim("quick").unwrap();
    futures_lite_block_on(store.complete("quick", first, keep)).unwrap();
    let slow = claim("slow").unwrap();
    clock.advance(LEASE + Duration::from_secs(1));
    futures_lite_block_on(store.complete("slow", slow, keep)).unwrap();
    assert_eq!(captured.text(), "", "no copy was claimed");

    let slow = claim("raced").unwrap();
    clock.advance(LEASE + Duration::from_secs(1));
    let copy = claim("raced").expect("the lease expired: the copy claims");
    futures_lite_block_on(store.complete("raced", slow, keep)).unwrap();
    let text = captured.text();
    assert!(
        text.contains("WARN") && text.contains("both may have run"),
        "{text}"
    );
    assert!(text.contains("ReceiverBuilder::lease"), "{text}");
    assert!(!text.contains("raced"), "no key in the log: {text}");
    // The late success stands: the copy's claim ended, and a third copy is a duplicate.
    store.release("raced", copy);
    assert!(claim("raced").is_none());

    // The copy was processed first: warned about too.
    let slow = claim("overtaken").unwrap();
    clock.advance(LEASE + Duration::from_secs(1));
    let copy = claim("overtaken").unwrap();
    futures_lite_block_on(store.complete("overtaken", copy, keep)).unwrap();
    futures_lite_block_on(store.complete("overtaken", slow, keep)).unwrap();
    assert_eq!(captured.text().matches("both may have run").count(), 2);
}
