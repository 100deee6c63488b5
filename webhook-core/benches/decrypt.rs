//! AES-256-GCM payload decryption against its floor (aes-gcm's own detached decryption of the
//! same ciphertext into a buffer), on the same inputs, in the same run.
//!
//! `cargo bench -p webhook-core --bench decrypt`; the ratios are computed by
//! `python3 scripts/bench_ratios.py decrypt bare_aes_gcm_keyed_per_body` (and against
//! `bare_aes_gcm`) and recorded in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce, Tag};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use webhook_core::WebhookRequest;
use webhook_core::{Aes256GcmDecryptor, Aes256GcmSealer, Decryptor, Envelope, Key, Secret};

fn plaintext(len: usize) -> Vec<u8> {
    let mut body = br#"{"type":"email.delivered","data":{"padding":""#.to_vec();
    while body.len() + 3 < len {
        body.push(b'x');
    }
    body.extend_from_slice(br#""}}"#);
    body
}

fn decrypt(c: &mut Criterion) {
    let bytes = [0x42_u8; 32];
    let key = Key::new("k", Secret::from_bytes(bytes.to_vec()).unwrap());
    let cipher = Aes256Gcm::new_from_slice(&bytes).unwrap();
    let binary = Envelope::binary().associated_data_header("webhook-id");
    let json = Envelope::json("/ciphertext", "/nonce").associated_data_header("webhook-id");
    let mut group = c.benchmark_group("decrypt");
    for (len, label) in [(1024, "1KiB"), (64 * 1024, "64KiB")] {
        let plain = plaintext(len);
        let sealed = Aes256GcmSealer::new(key.clone(), binary.clone())
            .unwrap()
            .seal(&plain, b"msg_1")
            .unwrap();
        let sealed_json = Aes256GcmSealer::new(key.clone(), json.clone())
            .unwrap()
            .seal(&plain, b"msg_1")
            .unwrap();
        group.throughput(Throughput::Bytes(len as u64));
        // The floor: the ciphertext already split from its nonce and tag, copied into a
        // buffer (the decryptor hands back an owned plaintext too) and decrypted.
        let (nonce, rest) = sealed.split_at(12);
        let (ciphertext, tag) = rest.split_at(rest.len() - 16);
        let open = |cipher: &Aes256Gcm| {
            let mut buffer = ciphertext.to_vec();
            cipher
                .decrypt_in_place_detached(
                    &Nonce::from(<[u8; 12]>::try_from(black_box(nonce)).unwrap()),
                    b"msg_1",
                    &mut buffer,
                    &Tag::from(<[u8; 16]>::try_from(tag).unwrap()),
                )
                .unwrap();
            buffer
        };
        group.bench_with_input(BenchmarkId::new("bare_aes_gcm", label), &(), |b, ()| {
            b.iter(|| open(&cipher));
        });
        // The same, keying the cipher for each body, as the decryptor does (it keeps no
        // cipher state between bodies: see its documentation).
        group.bench_with_input(
            BenchmarkId::new("bare_aes_gcm_keyed_per_body", label),
            &(),
            |b, ()| b.iter(|| open(&Aes256Gcm::new_from_slice(black_box(&bytes)).unwrap())),
        );
        for (function, envelope, body) in [
            ("webhook_core_binary", &binary, &sealed),
            ("webhook_core_json", &json, &sealed_json),
        ] {
            let decryptor = Aes256GcmDecryptor::new(key.clone(), envelope.clone()).unwrap();
            let request = WebhookRequest::new(body).with_header("webhook-id", "msg_1");
            group.bench_with_input(BenchmarkId::new(function, label), &request, |b, r| {
                b.iter(|| decryptor.decrypt(black_box(r), 0).unwrap());
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = decrypt
}
criterion_main!(benches);
