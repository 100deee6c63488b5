//! `RedisStore` against a real Redis (`WEBHOOK_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`; `.ci/run` starts one when none answers). Every test writes under
//! a prefix of its own, so tests and runs never see each other's keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use webhook_core::{Claim, Receiver, RedisStore, ReplayStore, StoreError};

use crate::support_pipeline::{Rig, peer, request};

const BODY: &[u8] = br#"{"type":"email.sent","id":"evt_1"}"#;
const LEASE: Duration = Duration::from_secs(30);
const RETENTION: Duration = Duration::from_secs(600);

fn url() -> String {
    std::env::var("WEBHOOK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A prefix no other test or run uses.
fn prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    use rand_core::RngCore as _;
    let run = rand_core::OsRng.next_u64();
    format!(
        "webhook-test:{}:{run:016x}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn store(prefix: &str) -> RedisStore {
    // Generous: these tests are not about timeouts, and the machine may be loaded.
    RedisStore::builder()
        .prefix(prefix)
        .timeout(Duration::from_secs(5))
        .connect(&url())
        .await
        .expect("a Redis must answer at WEBHOOK_TEST_REDIS_URL (default redis://127.0.0.1:6379)")
}

/// Runs `future` with a 60 s ceiling, so that a store whose own timeout is broken fails the
/// test instead of hanging the suite. Not a measurement: the tests check the store's error.
async fn hang_guard<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the store's own timeout did not end the call")
}

fn token(claim: Claim) -> webhook_core::LeaseToken {
    match claim {
        Claim::New(token) => token,
        other => panic!("expected a new claim, got {other:?}"),
    }
}

/// Polls `check` every 10 ms for up to 30 s (a release runs in a background task; only a
/// failing run waits that long).
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..3_000 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn claim_complete_and_duplicates_follow_the_lease_protocol() {
    let store = store(&prefix()).await;
    let held = token(store.claim("msg_1", LEASE).await.unwrap());
    // In flight: retry after at most the lease.
    match store.claim("msg_1", LEASE).await.unwrap() {
        Claim::InFlight { retry_after } => {
            // What is left of the lease (half of it, however slow the machine).
            assert!(
                retry_after <= LEASE && retry_after >= LEASE / 2,
                "{retry_after:?}"
            );
        }
        other => panic!("expected in flight, got {other:?}"),
    }
    // Another key is independent.
    token(store.claim("msg_2", LEASE).await.unwrap());
    store.complete("msg_1", held, RETENTION).await.unwrap();
    assert_eq!(store.claim("msg_1", LEASE).await.unwrap(), Claim::Done);
    // A release after completion changes nothing.
    assert!(!store.release_and_wait("msg_1", held).await.unwrap());
    assert_eq!(store.claim("msg_1", LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn a_release_frees_the_key_but_only_for_its_own_token() {
    let store = store(&prefix()).await;
    let held = token(store.claim("msg_r", LEASE).await.unwrap());
    // A token that does not hold the key does not free it. (A completion is not fenced so:
    // a success is a fact, see `a_success_by_an_expired_holder_marks_the_key_done`.)
    let stranger = webhook_core::LeaseToken::new(held.get().wrapping_add(1));
    assert!(!store.release_and_wait("msg_r", stranger).await.unwrap());
    assert!(matches!(
        store.claim("msg_r", LEASE).await.unwrap(),
        Claim::InFlight { .. }
    ));
    // Its own token frees it: the retry is a new claim.
    assert!(store.release_and_wait("msg_r", held).await.unwrap());
    let again = token(store.claim("msg_r", LEASE).await.unwrap());
    // `release`, as a dropped lease calls it, does the same in the background.
    store.release("msg_r", again);
    let freed =
        eventually(async || matches!(store.claim("msg_r", LEASE).await, Ok(Claim::New(_)))).await;
    assert!(freed, "the released key was not claimable again");
}

#[tokio::test]
async fn expired_leases_and_retentions_free_the_key() {
    let prefix = prefix();
    let store = store(&prefix).await;
    let short = Duration::from_millis(150);
    let crashed = token(store.claim("msg_e", short).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The slow holder's lease expired: the key is claimable. The late holder's success
    // still marks the key done, and the new holder's completion then changes nothing.
    let retry = token(store.claim("msg_e", LEASE).await.unwrap());
    store.complete("msg_e", crashed, RETENTION).await.unwrap();
    assert_eq!(store.claim("msg_e", LEASE).await.unwrap(), Claim::Done);
    store.complete("msg_e", retry, RETENTION).await.unwrap();
    assert_eq!(store.claim("msg_e", LEASE).await.unwrap(), Claim::Done);
    // The retention is the key's expiry in Redis; once it runs out (made to, here), a
    // delivery of the key is new again.
    let mut redis = redis_client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys = redis_keys(&redis_client(), &format!("{prefix}*")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .unwrap();
    // The retention (600 s), not the lease (30 s), however slow the machine.
    assert!(ttl > 300_000 && ttl <= 600_000, "{ttl}");
    let _: i64 = redis::cmd("PEXPIRE")
        .arg(&keys[0])
        .arg(1)
        .query_async(&mut redis)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    token(store.claim("msg_e", LEASE).await.unwrap());
    // An unbounded retention is written as a long one, not refused by Redis.
    let held = token(store.claim("msg_forever", LEASE).await.unwrap());
    store
        .complete("msg_forever", held, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(
        store.claim("msg_forever", LEASE).await.unwrap(),
        Claim::Done
    );
    // Leave no century-long key behind.
    for key in redis_keys(&redis_client(), &format!("{prefix}*")).await {
        let _: i64 = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
}

/// The review's sequence against Redis: A's lease expires, B takes the key over, A's handler
/// succeeds, then B's fails. A's success stands: the key is done for the retention, and B's
/// release and completion change nothing.
#[tokio::test]
async fn a_success_by_an_expired_holder_marks_the_key_done() {
    let prefix = prefix();
    let store = store(&prefix).await;
    let a = token(
        store
            .claim("msg_ab", Duration::from_millis(150))
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = token(store.claim("msg_ab", LEASE).await.unwrap());
    store.complete("msg_ab", a, RETENTION).await.unwrap();
    assert_eq!(store.claim("msg_ab", LEASE).await.unwrap(), Claim::Done);
    assert!(!store.release_and_wait("msg_ab", b).await.unwrap());
    assert_eq!(store.claim("msg_ab", LEASE).await.unwrap(), Claim::Done);
    store
        .complete("msg_ab", b, Duration::from_secs(3_600))
        .await
        .unwrap();
    assert_eq!(store.claim("msg_ab", LEASE).await.unwrap(), Claim::Done);
    // The record is A's: kept for A's retention, not B's lease nor B's retention.
    let keys = redis_keys(&redis_client(), &format!("{prefix}*")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut direct_connection().await)
        .await
        .unwrap();
    assert!(ttl > 300_000 && ttl <= 600_000, "{ttl}");
}

/// As in the memory store, a success that comes after a copy was processed says both
/// handlers may have run; a completion tried again by the claim that made it says nothing.
#[tokio::test]
async fn a_success_after_a_copy_was_processed_is_warned_about() {
    use crate::pipeline::Captured;
    let captured = Captured::default();
    let _logs = tracing::subscriber::set_default(captured.subscriber(tracing::Level::WARN, false));
    let store = store(&prefix()).await;
    let slow = token(
        store
            .claim("msg_overtaken", Duration::from_millis(150))
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let copy = token(store.claim("msg_overtaken", LEASE).await.unwrap());
    store
        .complete("msg_overtaken", copy, RETENTION)
        .await
        .unwrap();
    // The copy's completion, tried again (its first answer lost): already done by it.
    store
        .complete("msg_overtaken", copy, RETENTION)
        .await
        .unwrap();
    assert_eq!(captured.text(), "", "one handler has run so far");
    store
        .complete("msg_overtaken", slow, RETENTION)
        .await
        .unwrap();
    let text = captured.text();
    assert_eq!(text.matches("both may have run").count(), 1, "{text}");
    assert!(!text.contains("msg_overtaken"), "no key in the log: {text}");
    assert_eq!(
        store.claim("msg_overtaken", LEASE).await.unwrap(),
        Claim::Done
    );
}

/// Redis's time, in Unix milliseconds.
async fn redis_now_ms(connection: &mut redis::aio::MultiplexedConnection) -> i64 {
    let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(connection).await.unwrap();
    secs * 1_000 + micros / 1_000
}

/// A processed key is done through the instant its retention ends, as in the memory store:
/// Redis keeps a key until its clock is past the key's expiry time, and the completion sets
/// that time to the completion's instant plus the retention, rounded up to the millisecond
/// (never down: half a millisecond more is one more, not none).
#[tokio::test]
async fn a_done_key_expires_at_its_completion_plus_the_retention_rounded_up() {
    let prefix = prefix();
    let store = store(&prefix).await;
    let mut redis = direct_connection().await;
    let held = token(store.claim("msg_t", LEASE).await.unwrap());
    let retention = RETENTION + Duration::from_micros(500);
    let before = redis_now_ms(&mut redis).await;
    store.complete("msg_t", held, retention).await.unwrap();
    let after = redis_now_ms(&mut redis).await;
    let keys = redis_keys(&redis_client(), &format!("{prefix}*")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let expires: i64 = redis::cmd("PEXPIRETIME")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        expires >= before + 600_001 && expires <= after + 600_001,
        "expires at {expires}, completed between {before} and {after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_claim_wins_across_replicas() {
    let prefix = prefix();
    // Two replicas, each with its own connection, 200 concurrent claims of one key.
    let replicas = [store(&prefix).await, store(&prefix).await];
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = replicas[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            store.claim("msg_shared", LEASE).await.unwrap()
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Claim::New(_) => won += 1,
            Claim::InFlight { .. } => {}
            Claim::Done => panic!("nothing completed the key"),
            _ => panic!("unknown claim"),
        }
    }
    assert_eq!(won, 1);
    // Prefixes separate receivers sharing one Redis.
    let other = store(&format!("{prefix}other:")).await;
    token(other.claim("msg_shared", LEASE).await.unwrap());
}

#[tokio::test]
async fn replicas_of_a_receiver_share_deliveries() {
    let rig = Rig::new();
    let prefix = prefix();
    let replica =
        async || -> Receiver { rig.builder().replay(store(&prefix).await).build().unwrap() };
    let (a, b) = (replica().await, replica().await);
    let headers = rig.sign("msg_replicas", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    let claim = async |receiver: &Receiver| {
        let mut delivery = receiver.delivery();
        delivery.admit(&req, false).unwrap();
        delivery.authenticate(&req).unwrap();
        let claimed = delivery.claim(None).await;
        (claimed, delivery)
    };
    let (first, delivery) = claim(&a).await;
    assert!(first.unwrap(), "the first delivery is new");
    // While replica A handles it, replica B answers 409 with Retry-After.
    let (busy, _) = claim(&b).await;
    let busy = busy.unwrap_err();
    assert_eq!(busy.status(), 409);
    assert!(busy.retry_after().is_some());
    delivery.finish(true).await;
    // Once A has succeeded, B sees the duplicate.
    let (again, _) = claim(&b).await;
    assert!(
        !again.unwrap(),
        "the completed delivery is a duplicate on every replica"
    );
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed() {
    // Nothing listens on port 1: connecting fails, without showing the URL (the outer
    // timeout only keeps a broken build from hanging the suite).
    let error: StoreError = hang_guard(
        RedisStore::builder()
            .timeout(Duration::from_millis(500))
            .connect("redis://:hunter2-password@127.0.0.1:1"),
    )
    .await
    .unwrap_err();
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(text.contains("cannot connect"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let error = RedisStore::connect("http://127.0.0.1:6379")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("URL"), "{error}");
    // As a verifier error, a store failure is 503 with Retry-After.
    let error = webhook_core::VerifyError::from(error);
    assert_eq!(error.status(), 503);
    assert!(error.retry_after().is_some());
}

/// A Redis store may be reached by other applications: a receiver left at the default route
/// name is refused, as with `replay_shared`.
#[tokio::test]
async fn a_redis_store_needs_a_named_route() {
    let rig = Rig::new();
    let verifier = webhook_core::StandardWebhooks::new(webhook_core::Secret::random(24)).unwrap();
    let error = Receiver::builder()
        .verifier(verifier)
        .replay(store(&prefix()).await)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("name the route"), "{error}");
    assert!(rig.builder().replay(store(&prefix()).await).build().is_ok());
}

#[tokio::test]
async fn keys_are_hashed_under_the_prefix_and_debug_shows_no_url() {
    let prefix = prefix();
    let store = store(&prefix).await;
    token(store.claim("msg_visible?", LEASE).await.unwrap());
    let client = redis_client();
    let keys: Vec<String> = redis_keys(&client, &format!("{prefix}*")).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(!keys[0].contains("msg_visible"), "{keys:?}");
    // SHA-256, unpadded base64url: 43 characters after the prefix, as a Redis Cluster hash
    // tag (the slot of the key and of its tombstones).
    let tag = &keys[0][prefix.len()..];
    assert_eq!(tag.len(), 45, "{keys:?}");
    assert!(tag.starts_with('{') && tag.ends_with('}'), "{keys:?}");
    // A brace in the prefix would change the hash tag, and split a key from its tombstones
    // across Redis Cluster slots.
    for braced in ["app{x}:", "app{:", "app}:"] {
        let error = RedisStore::builder()
            .prefix(braced)
            .connect(&url())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("may not hold"), "{error}");
    }
    let shown = format!("{store:?}");
    assert!(
        shown.contains(&prefix) && !shown.contains("6379"),
        "{shown}"
    );
}

fn redis_client() -> redis::Client {
    redis::Client::open(url()).unwrap()
}

async fn redis_keys(client: &redis::Client, pattern: &str) -> Vec<String> {
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// A TCP proxy to Redis whose existing connections can be made to go silent for good, as
/// when the peer vanishes without closing them, or to hold back their requests until told;
/// connections opened later work.
struct Proxy {
    url: String,
    accepted: Arc<std::sync::atomic::AtomicU64>,
    silenced: Arc<std::sync::atomic::AtomicU64>,
    /// Replies from Redis are dropped while set (requests still reach it).
    muted: Arc<std::sync::atomic::AtomicBool>,
    /// Connections numbered up to this hold their requests back until `flush` says.
    held: Arc<std::sync::atomic::AtomicU64>,
    /// Set to a marker key: held requests go on to Redis, followed by `SET <marker> 1`.
    flush: tokio::sync::watch::Sender<Option<String>>,
    /// Integer replies relayed on connections that hold nothing back.
    integer_replies: Arc<std::sync::atomic::AtomicU64>,
    /// Everything Redis answered on connections that held their requests back.
    held_replies: Arc<std::sync::Mutex<Vec<u8>>>,
}

/// What a connection's relay shares with the [`Proxy`].
#[derive(Clone)]
struct Controls {
    number: u64,
    silenced: Arc<std::sync::atomic::AtomicU64>,
    muted: Arc<std::sync::atomic::AtomicBool>,
    held: Arc<std::sync::atomic::AtomicU64>,
    flush: tokio::sync::watch::Receiver<Option<String>>,
    integer_replies: Arc<std::sync::atomic::AtomicU64>,
    held_replies: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Controls {
    fn live(&self) -> bool {
        self.number > self.silenced.load(Ordering::SeqCst)
    }

    fn holds(&self) -> bool {
        self.number <= self.held.load(Ordering::SeqCst)
    }
}

impl Proxy {
    async fn start() -> Self {
        use std::sync::atomic::AtomicU64;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (host, port) = match redis_client().get_connection_info().addr() {
            redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
            _ => panic!("the proxy test needs a redis:// URL in WEBHOOK_TEST_REDIS_URL"),
        };
        let target = format!("{host}:{port}");
        // Connections are numbered from 1; those numbered up to `silenced` are silent.
        let accepted = Arc::new(AtomicU64::new(0));
        let (flush, flushed) = tokio::sync::watch::channel(None);
        let controls = Controls {
            number: 0,
            silenced: Arc::new(AtomicU64::new(0)),
            muted: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            held: Arc::new(AtomicU64::new(0)),
            flush: flushed,
            integer_replies: Arc::new(AtomicU64::new(0)),
            held_replies: Arc::default(),
        };
        let (count, shared) = (Arc::clone(&accepted), controls.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let number = count.fetch_add(1, Ordering::SeqCst) + 1;
                let upstream = tokio::net::TcpStream::connect(&target).await.unwrap();
                let controls = Controls {
                    number,
                    ..shared.clone()
                };
                tokio::spawn(relay(client, upstream, controls));
            }
        });
        // The test URL with the proxy's address in place of Redis's (credentials and
        // database kept).
        let original = url();
        let url = if original.contains(&format!("{host}:{port}")) {
            original.replacen(&format!("{host}:{port}"), &addr.to_string(), 1)
        } else {
            original.replacen(&host, &addr.to_string(), 1)
        };
        Self {
            url,
            accepted,
            silenced: controls.silenced,
            muted: controls.muted,
            held: controls.held,
            flush,
            integer_replies: controls.integer_replies,
            held_replies: controls.held_replies,
        }
    }

    /// From now on Redis's replies are lost on the way back; requests still arrive.
    fn mute_replies(&self) {
        self.muted.store(true, Ordering::SeqCst);
    }

    /// Every connection open now stops passing bytes, for good.
    fn silence_open_connections(&self) {
        self.silenced
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Every connection open now holds the requests it receives from now on, until
    /// [`flush_held`](Self::flush_held).
    fn hold_open_connections(&self) {
        self.held
            .store(self.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// The held requests go on to Redis, each connection's followed by `SET <marker> 1`: once
    /// the marker key exists, Redis has run them.
    fn flush_held(&self, marker: &str) {
        self.flush.send_replace(Some(marker.to_owned()));
    }
}

/// A store under `prefix` that reaches Redis through `proxy`, with the given call timeout.
async fn through(proxy: &Proxy, prefix: &str, timeout: Duration) -> RedisStore {
    // The calls under test get the short timeout; connecting through the proxy, on a
    // loaded machine, a generous one.
    RedisStore::builder()
        .prefix(prefix)
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .connect(&proxy.url)
        .await
        .unwrap()
}

/// A connection to Redis of the test's own, not through any proxy.
async fn direct_connection() -> redis::aio::MultiplexedConnection {
    redis_client()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Copies bytes both ways, as [`Controls`] say; a silenced connection stays open, silent.
async fn relay(client: tokio::net::TcpStream, upstream: tokio::net::TcpStream, controls: Controls) {
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let up = pump_up(client_read, upstream_write, controls.clone());
    let down = pump_down(upstream_read, client_write, controls);
    tokio::select! {
        () = up => {}
        () = down => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {}
    }
}

/// Requests: copied while live; while the connection holds, kept back until the flush (even
/// after the client has closed the connection), then sent with the marker command.
async fn pump_up(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    mut controls: Controls,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 4096];
    let mut held = Vec::new();
    let mut open = true;
    loop {
        tokio::select! {
            read = from.read(&mut buf), if open => match read {
                Ok(n) if n > 0 && controls.live() => {
                    if controls.holds() && controls.flush.borrow().is_none() {
                        held.extend_from_slice(&buf[..n]);
                    } else if to.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                _ => open = false,
            },
            changed = controls.flush.changed(), if !held.is_empty() => {
                let marker = controls.flush.borrow_and_update().clone();
                if let (Ok(()), Some(marker)) = (changed, marker) {
                    let set = format!(
                        "*3\r\n$3\r\nSET\r\n${}\r\n{marker}\r\n$1\r\n1\r\n",
                        marker.len()
                    );
                    held.extend_from_slice(set.as_bytes());
                    if to.write_all(&held).await.is_err() {
                        break;
                    }
                    held.clear();
                }
            },
            else => break,
        }
    }
    std::future::pending::<()>().await;
}

/// Replies: copied while live, dropped while muted; integer replies on connections that hold
/// nothing back are counted.
async fn pump_down(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl tokio::io::AsyncWrite + Unpin,
    controls: Controls,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 4096];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || !controls.live() {
            break;
        }
        let chunk = &buf[..n];
        if controls.holds() {
            // Recorded before relaying: the client may have gone, as a timed-out one has.
            controls
                .held_replies
                .lock()
                .unwrap()
                .extend_from_slice(chunk);
        }
        if !controls.holds() && (chunk.starts_with(b":") || chunk.windows(3).any(|w| w == b"\r\n:"))
        {
            controls.integer_replies.fetch_add(1, Ordering::SeqCst);
        }
        if controls.muted.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(chunk).await.is_err() {
            break;
        }
    }
    std::future::pending::<()>().await;
}

/// A claim whose future is dropped while Redis has taken the key but its answer has not
/// arrived (the client went away mid-request) frees the key, rather than leaving it in
/// flight, held by nobody, for the whole lease.
#[tokio::test]
async fn a_claim_dropped_before_its_answer_frees_the_key() {
    // Redis forgets its cached scripts, as after a restart: the release below must still run
    // by its digest, since a `NOSCRIPT` answer would be lost with every other reply (the
    // store loads its scripts when it connects). Other tests' stores send theirs whole again.
    let mut direct_connection = direct_connection().await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut direct_connection)
        .await
        .unwrap();
    let proxy = Proxy::start().await;
    let prefix = prefix();
    let store = through(&proxy, &prefix, Duration::from_secs(60)).await;
    proxy.mute_replies();
    let claiming = tokio::spawn({
        let store = store.clone();
        async move { store.claim("msg_cut", Duration::from_secs(600)).await }
    });
    // The claim has reached Redis: its key is there (in flight, for ten minutes).
    let client = redis_client();
    assert!(
        eventually(async || !redis_keys(&client, &format!("{prefix}*")).await.is_empty()).await
    );
    claiming.abort();
    assert!(claiming.await.unwrap_err().is_cancelled());
    // Its release went out as the future was dropped: the key is free again.
    let direct = self::store(&prefix).await;
    assert!(
        eventually(async || matches!(direct.claim("msg_cut", LEASE).await, Ok(Claim::New(_))))
            .await,
        "the dropped claim still holds the key"
    );
}

/// A claim that times out before reaching Redis is released on a new connection, and that
/// release may arrive first. The claim, arriving late (here after a retry has come and gone),
/// must not take the key for its lease: the sender's next retry would find the delivery in
/// flight, held by nobody, until the lease expired.
#[tokio::test]
async fn a_claim_that_arrives_after_its_release_takes_nothing() {
    let proxy = Proxy::start().await;
    let prefix = prefix();
    let store = through(&proxy, &prefix, Duration::from_millis(300)).await;
    proxy.hold_open_connections();
    let replies_before = proxy.integer_replies.load(Ordering::SeqCst);
    // The claim is held on its way to Redis and times out.
    let error = hang_guard(store.claim("msg_late", Duration::from_secs(600)))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    // Its release goes out on a new connection and Redis answers it (the only integer reply
    // on a connection that holds nothing back)...
    assert!(
        eventually(async || proxy.integer_replies.load(Ordering::SeqCst) > replies_before).await,
        "the release of the timed-out claim never reached Redis"
    );
    // A retry comes before the late claim: the key is free to it; its handler fails, and it
    // releases the key again.
    let direct = self::store(&prefix).await;
    let retry = token(direct.claim("msg_late", LEASE).await.unwrap());
    assert!(direct.release_and_wait("msg_late", retry).await.unwrap());
    // Only then does the first claim arrive (the marker follows it on its connection).
    let marker = format!("{prefix}marker");
    proxy.flush_held(&marker);
    let mut connection = direct_connection().await;
    assert!(
        eventually(async || {
            redis::cmd("EXISTS")
                .arg(&marker)
                .query_async::<bool>(&mut connection)
                .await
                .unwrap()
        })
        .await,
        "the held claim never reached Redis"
    );
    let _: () = redis::cmd("DEL")
        .arg(&marker)
        .query_async(&mut connection)
        .await
        .unwrap();
    // The held claim ran, and answered that it came after its own release (`[3, 0]`), before
    // the marker's `OK`: it took nothing.
    let replies = String::from_utf8_lossy(&proxy.held_replies.lock().unwrap()).into_owned();
    assert!(
        replies.contains("*2\r\n:3\r\n:0\r\n+OK"),
        "the held claim's answer: {replies:?}"
    );
    // The late claim took nothing: the sender's next retry gets the delivery.
    let retry = direct.claim("msg_late", LEASE).await.unwrap();
    assert!(
        matches!(retry, Claim::New(_)),
        "the late claim holds the key: {retry:?}"
    );
    // And the retry's claim is an ordinary one: completed, the delivery is done.
    direct
        .complete("msg_late", token(retry), RETENTION)
        .await
        .unwrap();
    assert_eq!(direct.claim("msg_late", LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn a_connection_gone_silent_is_replaced_after_one_timeout() {
    let proxy = Proxy::start().await;
    let timeout = Duration::from_millis(1_000);
    let store = through(&proxy, &prefix(), timeout).await;
    token(store.claim("msg_before", LEASE).await.unwrap());
    proxy.silence_open_connections();
    let connections = proxy.accepted.load(Ordering::SeqCst);
    // The claim is cut off by the store's timeout (its error says so), then fails closed (503).
    let error = hang_guard(store.claim("msg_during", LEASE))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    assert_eq!(webhook_core::VerifyError::from(error).status(), 503);
    // The silent connection is not used again: a new one is opened, and the next call succeeds.
    token(store.claim("msg_after", LEASE).await.unwrap());
    assert!(proxy.accepted.load(Ordering::SeqCst) > connections);
}

#[tokio::test]
async fn a_server_that_never_answers_is_refused_within_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let error = hang_guard(
        RedisStore::builder()
            .timeout(Duration::from_millis(300))
            .connect(&format!("redis://{addr}")),
    )
    .await
    .unwrap_err();
    // The store's own timeout ended the wait: its error says so.
    assert!(error.to_string().contains("timed out"), "{error}");
}

/// A minimal RESP server: `PING` → `PONG`, `CONFIG GET maxmemory-policy` → `config`,
/// anything else → an error (as a server with a command disabled answers).
async fn fake_redis(config: Config) -> String {
    fake_redis_with(config, Scripts::Refused).await
}

/// How the fake server answers a script (`EVALSHA`), by the connection it arrives on.
#[derive(Clone, Copy, PartialEq)]
enum Scripts {
    /// An error, as for any unknown command.
    Refused,
    /// `-READONLY` on the first connection (a primary demoted by a failover); a new claim's
    /// answer on the others.
    ReadOnlyOnFirst,
    /// No answer at all on the first connection (a peer gone silent); a new claim's answer
    /// on the others.
    SilentOnFirst,
}

/// [`fake_redis`], answering scripts as `scripts` says; connections are counted in `opened`.
async fn fake_redis_counted(
    config: Config,
    scripts: Scripts,
    opened: Arc<std::sync::atomic::AtomicU64>,
) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let number = opened.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let Some(count) = line.strip_prefix('*') else {
                        continue;
                    };
                    let mut args = Vec::new();
                    for _ in 0..count.parse::<usize>().unwrap_or(0) {
                        let _length = lines.next_line().await;
                        if let Ok(Some(arg)) = lines.next_line().await {
                            args.push(arg.to_ascii_uppercase());
                        }
                    }
                    let reply = match args.first().map(String::as_str) {
                        Some("PING") => {
                            if let Config::SlowPing(delay) = config {
                                tokio::time::sleep(delay).await;
                            }
                            "+PONG\r\n".to_owned()
                        }
                        Some("CONFIG") => config.reply(),
                        Some("EVALSHA") => match (scripts, number) {
                            (Scripts::Refused, _) => "-ERR unknown command\r\n".to_owned(),
                            (Scripts::ReadOnlyOnFirst, 1) => {
                                "-READONLY You can't write against a read only replica.\r\n"
                                    .to_owned()
                            }
                            (Scripts::SilentOnFirst, 1) => continue,
                            _ => "*2\r\n:0\r\n:0\r\n".to_owned(),
                        },
                        _ => "-ERR unknown command\r\n".to_owned(),
                    };
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("redis://{addr}")
}

async fn fake_redis_with(config: Config, scripts: Scripts) -> String {
    fake_redis_counted(config, scripts, Arc::default()).await
}

/// A store on a [`fake_redis_counted`] server answering as `config` and `scripts` say, with
/// the call timeout `timeout` (connecting within 10 s), and the count of connections opened.
async fn counted_store(
    config: Config,
    scripts: Scripts,
    timeout: Duration,
) -> (RedisStore, Arc<std::sync::atomic::AtomicU64>) {
    let opened = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let url = fake_redis_counted(config, scripts, Arc::clone(&opened)).await;
    let store = RedisStore::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .unwrap();
    (store, opened)
}

/// A primary demoted by a failover keeps its clients connected and refuses every write with
/// `READONLY`: the store answers 503 once, then opens a new connection (to the new primary).
#[tokio::test]
async fn a_demoted_primary_is_left_for_a_new_connection() {
    let (store, opened) = counted_store(
        Config::Pairs("noeviction"),
        Scripts::ReadOnlyOnFirst,
        Duration::from_secs(5),
    )
    .await;
    let error = hang_guard(store.claim("msg_ro", LEASE)).await.unwrap_err();
    assert!(error.to_string().contains("ReadOnly"), "{error}");
    assert_eq!(webhook_core::VerifyError::from(error).status(), 503);
    let retry = hang_guard(store.claim("msg_ro", LEASE)).await.unwrap();
    assert!(matches!(retry, Claim::New(_)), "{retry:?}");
    assert_eq!(opened.load(Ordering::SeqCst), 2);
}

/// Calls that time out on a silent connection after it was replaced leave the new one alone:
/// only the connection a call used is replaced.
#[tokio::test]
async fn a_late_timeout_does_not_replace_the_new_connection() {
    let (store, opened) = counted_store(
        Config::Pairs("noeviction"),
        Scripts::SilentOnFirst,
        Duration::from_millis(300),
    )
    .await;
    let early = hang_guard(store.claim("msg_early", LEASE));
    let late = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        hang_guard(store.claim("msg_late", LEASE)).await
    };
    let (early, late) = tokio::join!(early, late);
    assert!(early.unwrap_err().to_string().contains("timed out"));
    // The late call was made on the silent connection too, unless the new one was ready.
    if let Err(error) = late {
        assert!(error.to_string().contains("timed out"), "{error}");
    }
    assert!(matches!(
        hang_guard(store.claim("msg_after", LEASE)).await,
        Ok(Claim::New(_))
    ));
    assert_eq!(opened.load(Ordering::SeqCst), 2);
}

/// After a call times out, the new connection is opened in the background within the
/// connect timeout, not each call's: a Redis slow to reach (here, 400 ms per `PING`) behind a
/// 100 ms call timeout is connected to again, and calls wait for it rather than each opening
/// a connection of its own.
#[tokio::test]
async fn a_slow_reconnect_is_waited_for_not_restarted_by_every_call() {
    let (store, opened) = counted_store(
        Config::SlowPing(Duration::from_millis(400)),
        Scripts::SilentOnFirst,
        Duration::from_millis(100),
    )
    .await;
    let error = hang_guard(store.claim("msg_slow", LEASE))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    // Calls made while the new connection is being opened time out (503) without opening
    // another; once it is open, they succeed.
    assert!(
        eventually(async || {
            matches!(
                hang_guard(store.claim("msg_slow", LEASE)).await,
                Ok(Claim::New(_))
            )
        })
        .await,
        "the store never connected again"
    );
    assert_eq!(opened.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_redis_that_evicts_keys_is_refused_unless_allowed() {
    let evicting = fake_redis(Config::Pairs("allkeys-lru")).await;
    let error = RedisStore::connect(&evicting).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("maxmemory-policy is allkeys-lru"),
        "{error}"
    );
    assert!(
        RedisStore::builder()
            .allow_eviction(true)
            .connect(&evicting)
            .await
            .is_ok()
    );
    assert!(
        RedisStore::connect(&fake_redis(Config::Pairs("noeviction")).await)
            .await
            .is_ok()
    );
    // A RESP3 map is read the same way.
    let error = RedisStore::connect(&fake_redis(Config::Map("volatile-lru")).await)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("volatile-lru"), "{error}");
    assert!(
        RedisStore::connect(&fake_redis(Config::Map("noeviction")).await)
            .await
            .is_ok()
    );
    // A server that refuses CONFIG (some managed services) is trusted, with a warning; an
    // answer that cannot be read is refused.
    assert!(
        RedisStore::connect(&fake_redis(Config::Refused).await)
            .await
            .is_ok()
    );
    let error = RedisStore::connect(&fake_redis(Config::Garbled).await)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("maxmemory-policy"), "{error}");
}

/// How the fake server answers `CONFIG GET maxmemory-policy`.
#[derive(Clone, Copy)]
enum Config {
    /// RESP2: a flat array of name and value.
    Pairs(&'static str),
    /// RESP3: a map.
    Map(&'static str),
    /// An error, as when the command is disabled.
    Refused,
    /// A status where an array was expected.
    Garbled,
    /// `noeviction`, with every `PING` answered this late (a Redis slow to reach).
    SlowPing(Duration),
}

impl Config {
    fn reply(self) -> String {
        match self {
            Self::Pairs(policy) => format!(
                "*2\r\n$16\r\nmaxmemory-policy\r\n${}\r\n{policy}\r\n",
                policy.len()
            ),
            Self::Map(policy) => format!(
                "%1\r\n$16\r\nmaxmemory-policy\r\n${}\r\n{policy}\r\n",
                policy.len()
            ),
            Self::Refused => "-ERR unknown command 'CONFIG'\r\n".to_owned(),
            Self::Garbled => "+OK\r\n".to_owned(),
            Self::SlowPing(_) => Self::Pairs("noeviction").reply(),
        }
    }
}

/// Connecting has a deadline of its own when one is set: a Redis slow to answer at start-up
/// is still connected to, while the calls keep their shorter timeout.
#[tokio::test]
async fn connecting_waits_for_the_connect_timeout_not_the_call_timeout() {
    let slow = fake_redis(Config::SlowPing(Duration::from_millis(400))).await;
    let error = RedisStore::builder()
        .timeout(Duration::from_millis(100))
        .connect(&slow)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    let store = RedisStore::builder()
        .timeout(Duration::from_millis(100))
        .connect_timeout(Duration::from_secs(10))
        .connect(&slow)
        .await;
    assert!(store.is_ok(), "{:?}", store.err());
}

#[test]
fn connecting_outside_a_runtime_is_an_error_not_a_panic() {
    let future = RedisStore::connect("redis://127.0.0.1:6379");
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(error)) => {
            assert!(error.to_string().contains("Tokio runtime"), "{error}");
        }
        other => panic!(
            "expected an error at once, got {:?}",
            other.map(|r| r.is_ok())
        ),
    }
}

#[test]
fn a_failed_handler_answers_once_its_key_is_free() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rig = Rig::new();
    let prefix = prefix();
    let receiver =
        runtime.block_on(async { rig.builder().replay(store(&prefix).await).build().unwrap() });
    let headers = rig.sign("msg_failed", BODY);
    let req = request(&headers, BODY, peer("192.0.2.1"));
    runtime.block_on(async {
        let mut delivery = receiver.delivery();
        delivery.admit(&req, false).unwrap();
        delivery.authenticate(&req).unwrap();
        assert!(delivery.claim(None).await.unwrap());
        delivery.finish(false).await;
    });
    // The runtime runs nothing between `block_on`s: a release left to a background task
    // would still be pending. The key must already be gone.
    let mut sync = redis_client().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut sync)
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}
