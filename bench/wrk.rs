//! The separate-process load client the load benchmarks use when `wrk` is installed
//! (Debian: `apt-get install wrk`): 64 keep-alive connections from another process, replaying
//! pre-signed 1 KiB `email.delivered` deliveries, each with its own message id, so every
//! request to the verified route is a real claim. Signing happens before each round, so the
//! client's cost per request is the same for both handlers and small; on a two-core machine
//! the server then gets most of the CPU, and the ratio measures what the pipeline costs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use webhook::{Outgoing, Receiver, Secret, Signer, StandardWebhooksSigner};

use crate::client::{CONNECTIONS, body};

/// Whether a `wrk` binary is on the `PATH`.
pub(crate) fn available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
}

/// One wrk round's numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WrkRound {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    /// CPU time the server process spent during the round, per request.
    pub(crate) cpu_per_request: Duration,
    /// CPU time wrk spent, per request.
    pub(crate) client_cpu_per_request: Duration,
}

impl WrkRound {
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Threads of the wrk process.
const THREADS: usize = 1;

/// Write `records` raw requests to `path` for one wrk thread, ids from `first`.
fn write_requests(
    path: &PathBuf,
    target: &str,
    host: SocketAddr,
    signer: &StandardWebhooksSigner,
    first: usize,
    records: usize,
) {
    let mut out = Vec::new();
    let mut record = String::new();
    let mut length = None;
    for n in first..first + records {
        let payload = body(n);
        let id = format!("msg_{n:012}");
        record.clear();
        write!(
            record,
            "POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            payload.len()
        )
        .unwrap();
        for (name, value) in signer.sign(&Outgoing::new(&payload).id(id)).unwrap().iter() {
            write!(record, "{name}: {value}\r\n").unwrap();
        }
        record.push_str("\r\n");
        let bytes = [record.as_bytes(), &payload].concat();
        let expected = *length.get_or_insert(bytes.len());
        assert_eq!(
            expected,
            bytes.len(),
            "wrk records must all have one length"
        );
        out.extend_from_slice(&bytes);
    }
    let mut file = std::fs::File::create(path).unwrap();
    writeln!(file, "{}", length.unwrap_or(0)).unwrap();
    file.write_all(&out).unwrap();
}

fn duration_us(text: &str) -> Duration {
    Duration::from_micros(text.parse().unwrap())
}

/// Write the request files of one wrk run on `path` under `base` (`base.0`, `base.1`…) and
/// return the wrk command that replays them (for profiling a server under load by hand).
pub(crate) fn prepare(
    addr: SocketAddr,
    path: &str,
    secret: &Secret,
    base: &std::path::Path,
    offset: usize,
    records: usize,
) -> String {
    let signer = StandardWebhooksSigner::new(secret.clone());
    for thread in 0..THREADS {
        let file = PathBuf::from(format!("{}.{thread}", base.display()));
        write_requests(
            &file,
            path,
            addr,
            &signer,
            offset + thread * records,
            records,
        );
    }
    format!(
        "WRK_REQUESTS={} wrk -t{THREADS} -c{CONNECTIONS} -d10s -s {}/bench/wrk.lua http://{addr}{path}",
        base.display(),
        env!("CARGO_MANIFEST_DIR")
    )
}

/// When wrk is installed and `BENCH_CLIENT` is not `reqwest`: the whole comparison against the
/// server at `base` (`http://…`), `BENCH_ROUNDS` pairs (default 10), on a blocking thread;
/// returns whether it ran. `receiver` is the one that claims the target route's deliveries
/// (`None` for a diagnostic route that takes no claim on it: nothing to count).
pub(crate) async fn compare_if_available(
    framework: &str,
    base: &str,
    target: &str,
    secret: &Secret,
    seconds: u64,
    receiver: Option<&Receiver>,
) -> bool {
    if std::env::var("BENCH_CLIENT").as_deref() == Ok("reqwest") || !available() {
        return false;
    }
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let (secret, receiver, target) = (secret.clone(), receiver.cloned(), target.to_owned());
    println!("{framework}");
    tokio::task::spawn_blocking(move || {
        let counts = receiver.map(|receiver| {
            move || {
                let s = receiver.stats();
                (s.accepted, s.duplicates)
            }
        });
        let counts = counts.as_ref().map(|c| c as &dyn Fn() -> (u64, u64));
        compare(addr, "/plain", &target, &secret, seconds, rounds, counts);
    })
    .await
    .unwrap();
    true
}

/// One round: `records` pre-signed requests per wrk thread (ids from `offset`), `seconds` of
/// load on `path` at `addr`.
pub(crate) fn round(
    addr: SocketAddr,
    path: &str,
    secret: &Secret,
    seconds: u64,
    offset: usize,
    records: usize,
) -> WrkRound {
    let dir = std::env::temp_dir().join(format!("webhook-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("requests");
    prepare(addr, path, secret, &base, offset, records);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/wrk.lua");
    let cpu_before = process_cpu();
    let client_before = children_cpu();
    // BENCH_WRK_CPU pins wrk to one CPU (with `taskset`), e.g. to give the server the other.
    let mut command = match std::env::var("BENCH_WRK_CPU") {
        Ok(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &cpu, "wrk"]);
            c
        }
        Err(_) => Command::new("wrk"),
    };
    let output = command
        .arg(format!("-t{THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .args(["--timeout", "10s", "-s", script])
        .arg(format!("http://{addr}{path}"))
        .env("WRK_REQUESTS", &base)
        .output()
        .unwrap();
    let cpu = process_cpu().saturating_sub(cpu_before);
    let client_cpu = children_cpu().saturating_sub(client_before);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("WRK "))
        .unwrap_or_else(|| panic!("wrk printed no summary: {stdout}"));
    let field = |name: &str| -> &str {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap()
    };
    assert_eq!(field("errors"), "0", "wrk saw failed requests: {stdout}");
    let requests: u64 = field("requests").parse().unwrap();
    WrkRound {
        requests,
        cpu_per_request: cpu / u32::try_from(requests.max(1)).unwrap(),
        client_cpu_per_request: client_cpu / u32::try_from(requests.max(1)).unwrap(),
        seconds: field("duration_us").parse::<f64>().unwrap() / 1e6,
        p50: duration_us(field("p50_us")),
        p99: duration_us(field("p99_us")),
    }
}

/// User and system CPU time of this process so far (the server runs in it; the request
/// files are written before a round starts, so a round's difference is the server's).
fn process_cpu() -> Duration {
    stat_ticks(11)
}

/// User and system CPU time of this process's finished children (wrk).
fn children_cpu() -> Duration {
    stat_ticks(13)
}

/// Two consecutive CPU time fields of /proc/self/stat, counted after the command name (which
/// is in parentheses): utime and stime from the 12th, cutime and cstime from the 14th; in
/// clock ticks, 100 per second on Linux.
fn stat_ticks(skip: usize) -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(skip)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The whole comparison: a warm-up of each handler, then `rounds` alternating pairs (plain,
/// verified); prints the report. `counts` reads the verified receiver's accepted and duplicate
/// deliveries, to show that every verified request was a fresh claim (no record replayed);
/// `None` for a route that takes no claim.
pub(crate) fn compare(
    addr: SocketAddr,
    plain: &str,
    target: &str,
    secret: &Secret,
    seconds: u64,
    rounds: usize,
    counts: Option<&dyn Fn() -> (u64, u64)>,
) {
    // Size each round's pool of fresh ids from a warm-up round's rate, with room to spare.
    // Both handlers get pools of the same size, so wrk does the same work for each.
    let warm = round(addr, target, secret, 1, 1_000_000_000, 150_000);
    let _ = round(addr, plain, secret, 1, 0, 150_000);
    let records = ((warm.rps() * seconds as f64 * 2.0) as usize / THREADS).max(50_000);
    let (mut p, mut h) = (Vec::new(), Vec::new());
    let before = counts.map(|counts| counts());
    let mut sent = 0;
    for i in 0..rounds {
        p.push(round(addr, plain, secret, seconds, 0, records));
        let r = round(
            addr,
            target,
            secret,
            seconds,
            2_000_000_000 + i * 100_000_000,
            records,
        );
        sent += r.requests;
        h.push(r);
    }
    let after = counts.map(|counts| counts());
    let total = |v: &[WrkRound]| {
        v.iter().map(|r| r.requests).sum::<u64>() as f64 / v.iter().map(|r| r.seconds).sum::<f64>()
    };
    let p99 = |v: &[WrkRound]| median(v.iter().map(|r| r.p99.as_secs_f64()).collect());
    let p50 = |v: &[WrkRound]| median(v.iter().map(|r| r.p50.as_secs_f64()).collect());
    let rps_pairs: Vec<f64> = p.iter().zip(&h).map(|(p, h)| h.rps() / p.rps()).collect();
    let p99_pairs: Vec<f64> = p
        .iter()
        .zip(&h)
        .map(|(p, h)| h.p99.as_secs_f64() / p.p99.as_secs_f64())
        .collect();
    println!(
        "client: wrk, {THREADS} thread, {CONNECTIONS} connections, pre-signed 1024 B bodies; {rounds} x {seconds} s per handler, alternating, loopback"
    );
    let cpu = |v: &[WrkRound]| median(v.iter().map(|r| r.cpu_per_request.as_secs_f64()).collect());
    let client_cpu = |v: &[WrkRound]| {
        median(
            v.iter()
                .map(|r| r.client_cpu_per_request.as_secs_f64())
                .collect(),
        )
    };
    for (name, v) in [("plain Json<Value>", &p), (target, &h)] {
        println!(
            "{name:<18}: {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms  CPU per request: server {:.2} us, wrk {:.2} us (medians of rounds)",
            total(v),
            p50(v) * 1e3,
            p99(v) * 1e3,
            cpu(v) * 1e6,
            client_cpu(v) * 1e6
        );
    }
    println!(
        "per round (plain / verified req/s): {}",
        p.iter()
            .zip(&h)
            .map(|(p, h)| format!("{:.0}/{:.0}", p.rps(), h.rps()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "throughput ratio {:.3} aggregate, {:.3} median of pairs (target >= 0.90)",
        total(&h) / total(&p),
        median(rps_pairs)
    );
    println!(
        "p99 latency ratio {:.3} of median p99s, {:.3} median of pairs (target <= 1.2)",
        p99(&h) / p99(&p),
        median(p99_pairs)
    );
    let (Some(before), Some(after)) = (before, after) else {
        println!("verified requests answered {sent}; the route takes no claim on the receiver");
        return;
    };
    let (fresh, duplicates) = (after.0 - before.0, after.1 - before.1);
    println!(
        "verified requests answered {sent}; the receiver accepted {fresh} fresh deliveries and saw {duplicates} duplicates"
    );
    assert_eq!(duplicates, 0, "a round replayed records: enlarge the pool");
    // Every request wrk counted was accepted as a fresh delivery; the receiver may also have
    // accepted the requests still in flight when a round ended (at most one per connection).
    let in_flight = (rounds * CONNECTIONS) as u64;
    assert!(
        fresh >= sent && fresh - sent <= in_flight,
        "the receiver accepted {fresh} fresh deliveries for {sent} verified requests"
    );
}
