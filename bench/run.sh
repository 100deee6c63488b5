#!/bin/sh
# Reproduces section 3 of BENCHMARKS.md: the verified `email` route against a plain Json<Value> handler,
# 1 KiB bodies, 64 connections, loopback, one run. Usage: bench/run.sh [seconds-per-round]
set -eu
cd "$(dirname "$0")/.."
cargo run --release --example load --features axum -- "${1:-2}"
# rocket: the same comparison through the `Webhook<E>` guard and `WebhookFairing` (bench/load_rocket.rs).
cargo run --release --example load_rocket --features rocket -- "${1:-5}"
# actix-web: the same comparison through `Webhook<E>` behind `VerifyWebhook` (bench/load_actix.rs).
cargo run --release --example load_actix --features actix -- "${1:-5}"
