//! The in-memory replay store in its steady state, against the store an application would
//! write by hand, on the same work in the same run.
//!
//! Each iteration is one fresh delivery: claim its key, then complete it. The clock moves
//! 1 ms per delivery and keys are retained for as many ms as the store is to hold, so the
//! store stays at that size, each delivery also expiring the oldest key: what a receiver
//! sees after its first retention window. The baseline does the same with one
//! `Mutex<HashMap<String, _>>` and a queue of expiries, on the same clock: owned keys (one
//! in the map, one in the queue), the standard hasher, one lock.
//!
//! `cargo bench -p webhook-core --bench store`; the ratios are computed by
//! `python3 scripts/bench_ratios.py memory_store claim_complete_naive` and recorded in
//! BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use webhook_core::{Claim, Clock as _, FixedClock, MemoryStore, ReplayStore};

const LEASE: Duration = Duration::from_secs(30);

/// The key of delivery `n`, as the pipeline writes one (route, kind, message id).
fn key(buf: &mut String, n: u64) -> &str {
    buf.clear();
    write!(buf, "email:m:msg_{n:016x}").unwrap();
    buf
}

/// A replay store as an application writes one by hand: a map of owned keys to their state
/// under one lock, expired from a queue.
#[derive(Default)]
struct Naive {
    inner: Mutex<NaiveInner>,
}

#[derive(Default)]
struct NaiveInner {
    map: HashMap<String, (bool, i64)>,
    expiries: VecDeque<(i64, String)>,
}

impl Naive {
    fn claim(&self, key: &str, clock: &FixedClock) -> bool {
        let now = clock.now_ms();
        let mut inner = self.inner.lock().unwrap();
        while inner.expiries.front().is_some_and(|(at, _)| *at < now) {
            let (_, old) = inner.expiries.pop_front().unwrap();
            inner.map.remove(&old);
        }
        if inner.map.get(key).is_some_and(|(_, at)| *at >= now) {
            return false;
        }
        inner.map.insert(key.to_owned(), (false, now + 30_000));
        true
    }

    fn complete(&self, key: &str, clock: &FixedClock, retention: i64) {
        let at = clock.now_ms() + retention;
        let mut inner = self.inner.lock().unwrap();
        if let Some(entry) = inner.map.get_mut(key) {
            *entry = (true, at);
        }
        inner.expiries.push_back((at, key.to_owned()));
    }
}

fn memory_store(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory_store");
    group.measurement_time(Duration::from_secs(4));
    for held in [10_000u64, 1_000_000] {
        let retention = Duration::from_millis(held);
        let clock = FixedClock::at_secs(1_700_000_000);
        let store =
            MemoryStore::with_clock(usize::try_from(held).unwrap() * 2, Arc::new(clock.clone()));
        let mut buf = String::new();
        let mut n = 0u64;
        let deliver = |store: &MemoryStore, buf: &mut String, n: &mut u64| {
            *n += 1;
            clock.advance(Duration::from_millis(1));
            let key = key(buf, *n);
            let Some(Ok(Claim::New(token))) = store.claim_ready(key, LEASE) else {
                panic!("a fresh key is new");
            };
            store
                .complete_ready(key, token, retention)
                .unwrap()
                .unwrap();
        };
        // Fill to the steady state before measuring.
        for _ in 0..held {
            deliver(&store, &mut buf, &mut n);
        }
        group.bench_function(BenchmarkId::new("claim_complete", held), |b| {
            b.iter(|| deliver(black_box(&store), &mut buf, &mut n));
        });
        // Steady: each shard drops its expired keys when next touched, so a few linger.
        let len = store.len();
        assert!(
            len <= usize::try_from(held).unwrap() + 64 * 64,
            "{len} keys held"
        );

        let naive = Naive::default();
        let retention = i64::try_from(held).unwrap();
        let clock = FixedClock::at_secs(1_700_000_000);
        let mut m = 0u64;
        let mut deliver = |naive: &Naive, buf: &mut String| {
            m += 1;
            clock.advance(Duration::from_millis(1));
            let key = key(buf, m);
            assert!(naive.claim(key, &clock));
            naive.complete(key, &clock, retention);
        };
        for _ in 0..held {
            deliver(&naive, &mut buf);
        }
        group.bench_function(BenchmarkId::new("claim_complete_naive", held), |b| {
            b.iter(|| deliver(black_box(&naive), &mut buf));
        });
    }
    group.finish();
}

criterion_group!(benches, memory_store);
criterion_main!(benches);
