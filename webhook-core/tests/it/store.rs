//! The in-memory store under concurrency, and the lease guard.

use std::sync::Arc;
use std::time::Duration;

use webhook_core::{Claim, FixedClock, MemoryStore, ReplayStore};

const LEASE: Duration = Duration::from_secs(30);

#[test]
fn exactly_one_of_many_threads_wins_a_claim() {
    let store = Arc::new(MemoryStore::new(10_000));
    let winners: usize = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut won = 0;
                for i in 0..500 {
                    let key = format!("k{i}");
                    let claim = futures_lite_block_on(store.claim(&key, LEASE)).unwrap();
                    if matches!(claim, Claim::New(_)) {
                        won += 1;
                    }
                }
                won
            })
        })
        .map(|t| t.join().unwrap())
        .sum();
    assert_eq!(winners, 500);
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
