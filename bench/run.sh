#!/bin/sh
# Reproduces section 3 of BENCHMARKS.md: the verified `email` route against a plain Json<Value>
# handler, 1 KiB bodies, 64 connections, loopback, one run per framework.
#
# Usage: bench/run.sh [seconds-per-round]
#
# The load comes from wrk in a separate process (Debian: `apt-get install wrk`; installed here
# when missing and apt-get is usable). Without wrk, or with BENCH_CLIENT=reqwest, the in-repo
# client (bench/client.rs) runs inside the benchmark process instead. BENCH_ROUNDS sets the
# number of alternating round pairs (default 10).
set -eu
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y wrk >/dev/null 2>&1 || echo "wrk could not be installed: using the in-repo client"
fi
seconds="${1:-2}"
cargo run --release --example load --features axum -- "$seconds"
# actix-web: `Webhook<E>` behind `VerifyWebhook` (bench/load_actix.rs).
cargo run --release --example load_actix --features actix -- "$seconds"
# rocket: the `Webhook<E>` guard with `WebhookFairing` (bench/load_rocket.rs).
cargo run --release --example load_rocket --features rocket -- "$seconds"
