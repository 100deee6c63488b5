//! AES-256-GCM payload decryption: published and independently made vectors, every envelope
//! form, key rotation and expiry, every malformed input, and the pipeline step.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use proptest::prelude::*;
use webhook_core::{
    Aes256GcmDecryptor, Aes256GcmSealer, Decryptor, Envelope, FixedClock, Freshness, Key, KeyRing,
    Outgoing, Receiver, Secret, Signer as _, StandardWebhooks, StandardWebhooksSigner, VerifyError,
    VerifyErrorKind, WebhookRequest,
};

fn key(id: &'static str, bytes: &[u8]) -> Key {
    Key::new(id, Secret::from_bytes(bytes.to_vec()).unwrap())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn err(decryptor: &Aes256GcmDecryptor, request: &WebhookRequest<'_>) -> (VerifyErrorKind, String) {
    let e = decryptor.decrypt(request, 0).unwrap_err();
    (e.kind(), e.to_string())
}

/// The GCM specification's test case 16 (McGrew and Viega, "The Galois/Counter Mode of
/// Operation", AES-256, 96-bit IV, with associated data), as a binary envelope.
#[test]
fn gcm_specification_test_case_16() {
    let k =
        hex::decode("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308").unwrap();
    let p = hex::decode(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24\
         49a6b525b16aedf5aa0de657ba637b39",
    )
    .unwrap();
    let a = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    let iv = hex::decode("cafebabefacedbaddecaf888").unwrap();
    let c = hex::decode(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10\
         56828838c5f61e6393ba7a0abcc9f662",
    )
    .unwrap();
    let t = hex::decode("76fc6ece0f4e1768cddf8853bb2d551b").unwrap();
    let body = [iv, c, t].concat();
    let aad = hex::decode(a).unwrap();
    let d = Aes256GcmDecryptor::new(
        key("k", &k),
        Envelope::binary().associated_data_header("x-aad"),
    )
    .unwrap();
    let request = WebhookRequest::new(&body).with_header("x-aad", &aad);
    assert_eq!(d.decrypt(&request, 0).unwrap(), p);
    // The same body with the associated data changed by one bit.
    let mut other = aad.clone();
    other[0] ^= 1;
    let request = WebhookRequest::new(&body).with_header("x-aad", &other);
    assert_eq!(err(&d, &request).0, VerifyErrorKind::MalformedBody);
}

/// Made with Python's `cryptography` (AESGCM): key 00..1f, nonce 00..0b, associated data
/// `msg_1`.
const PY_BINARY: &str = "000102030405060708090a0b3c20a262b580e021af31fee5d6cb544feab2a50ed21e29086756c7f89fa2365e9c9d33cb2a1e7d4654593d4c";
const PY_BASE64: &str =
    "AAECAwQFBgcICQoLPCCiYrWA4CGvMf7l1stUT+qypQ7SHikIZ1bH+J+iNl6cnTPLKh59RlRZPUw=";
const PY_PLAINTEXT: &[u8] = br#"{"type":"ping","id":"evt_1"}"#;

fn counting_key() -> Key {
    key("k", &(0..32).collect::<Vec<u8>>())
}

#[test]
fn vectors_from_another_implementation() {
    let bound = |e: Envelope| e.associated_data_header("webhook-id");
    let d = Aes256GcmDecryptor::new(counting_key(), bound(Envelope::binary())).unwrap();
    let body = hex::decode(PY_BINARY).unwrap();
    let request = WebhookRequest::new(&body).with_header("webhook-id", "msg_1");
    assert_eq!(d.decrypt(&request, 0).unwrap(), PY_PLAINTEXT);

    let d = Aes256GcmDecryptor::new(counting_key(), bound(Envelope::base64())).unwrap();
    for body in [
        PY_BASE64.to_owned(),
        PY_BASE64.trim_end_matches('=').to_owned(),
        format!("  {PY_BASE64}\r\n"),
    ] {
        let request = WebhookRequest::new(body.as_bytes()).with_header("webhook-id", "msg_1");
        assert_eq!(d.decrypt(&request, 0).unwrap(), PY_PLAINTEXT, "{body:?}");
    }
}

/// A WeChat Pay API v3 notification, shaped as its documentation shows (made with Python's
/// `cryptography` under a 32-character API v3 key).
#[test]
fn wechat_pay_shaped_notification() {
    let body = br#"{"id":"EV-2018022511223320873","event_type":"TRANSACTION.SUCCESS","resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"bz1kVndYkCFlgKSV7lZeuBxDb6Dr2XsMVxgLZBGofcEd7SUTxir1u/FDmpKlOaWQiFkGAHy5Wq2NPMoVdqow401liHpPW0zm+1OMy9i2QbEFdJTt8h27qEdhJ7/oh4aqlIgzWxWI7qrcPMlZ","associated_data":"transaction","nonce":"fdasflkja484"}}"#;
    let envelope = Envelope::json("/resource/ciphertext", "/resource/nonce")
        .text_nonce()
        .associated_data_field("/resource/associated_data");
    let d =
        Aes256GcmDecryptor::new(key("v3", b"0123456789abcdef0123456789ABCDEF"), envelope).unwrap();
    let plain = d.decrypt(&WebhookRequest::new(body), 0).unwrap();
    assert_eq!(
        plain,
        br#"{"mchid":"1230000109","out_trade_no":"1217752501201407033233368018","trade_state":"SUCCESS"}"#
    );
    // The associated data is authenticated: another value does not decrypt.
    let moved = String::from_utf8(body.to_vec()).unwrap().replace(
        r#""associated_data":"transaction""#,
        r#""associated_data":"refund""#,
    );
    let (kind, message) = err(&d, &WebhookRequest::new(moved.as_bytes()));
    assert_eq!(kind, VerifyErrorKind::MalformedBody);
    assert!(message.contains("no key decrypts it"), "{message}");
}

#[test]
fn every_envelope_round_trips_through_the_sealer() {
    let k = Key::new("k1", Secret::random(32));
    let envelopes = [
        Envelope::binary(),
        Envelope::base64(),
        Envelope::json("/ciphertext", "/nonce"),
        Envelope::json("/data/sealed", "/data/iv")
            .associated_data_field("/data/aad")
            .key_id_field("/data/key"),
        Envelope::base64()
            .associated_data_header("webhook-id")
            .key_id_header("x-key-id"),
    ];
    for (i, envelope) in envelopes.into_iter().enumerate() {
        let sealer = Aes256GcmSealer::new(k.clone(), envelope.clone()).unwrap();
        let d = Aes256GcmDecryptor::new(k.clone(), envelope.clone()).unwrap();
        let aad: &[u8] = if i >= 3 { b"msg_1" } else { b"" };
        if aad.is_empty() {
            // Associated data the envelope cannot carry would make a body no key opens.
            assert!(sealer.seal(b"{}", b"msg_1").is_err());
        }
        for plaintext in [&b""[..], b"{}", &[0xA5; 5000]] {
            let body = sealer.seal(plaintext, aad).unwrap();
            let request = WebhookRequest::new(&body)
                .with_header("webhook-id", "msg_1")
                .with_header("x-key-id", "k1");
            assert_eq!(
                d.decrypt(&request, 0).unwrap(),
                plaintext,
                "{envelope:?} {}",
                plaintext.len()
            );
        }
        // Two seals of one plaintext differ: each draws its own nonce.
        assert_ne!(
            sealer.seal(b"{}", aad).unwrap(),
            sealer.seal(b"{}", aad).unwrap()
        );
    }
}

#[test]
fn key_rotation_ids_and_expiry() {
    let old = Key::new("2026-10", Secret::random(32));
    let new = Key::new("2026-11", Secret::random(32));
    let seal = |k: &Key, e: Envelope| Aes256GcmSealer::new(k.clone(), e).unwrap().seal(b"{}", b"");

    // No key id: each key is tried.
    let ring = KeyRing::new().with(new.clone()).with(old.clone());
    let d = Aes256GcmDecryptor::new(ring.clone(), Envelope::binary()).unwrap();
    for k in [&old, &new] {
        let body = seal(k, Envelope::binary()).unwrap();
        assert_eq!(d.decrypt(&WebhookRequest::new(&body), 0).unwrap(), b"{}");
    }

    // A key id names the key: only that one is used.
    let named = Envelope::json("/c", "/n").key_id_field("/kid");
    let d = Aes256GcmDecryptor::new(ring, named.clone()).unwrap();
    let body = seal(&old, named.clone()).unwrap();
    assert_eq!(d.decrypt(&WebhookRequest::new(&body), 0).unwrap(), b"{}");
    let relabelled = String::from_utf8(body)
        .unwrap()
        .replace("2026-10", "2026-11");
    let (kind, message) = err(&d, &WebhookRequest::new(relabelled.as_bytes()));
    assert_eq!(kind, VerifyErrorKind::MalformedBody);
    assert!(message.contains("no key decrypts it"), "{message}");
    // A key the ring lacks: the (authenticated) sender rotated first; retried later.
    let unknown = relabelled.replace("2026-11", "2025-01");
    let e = d
        .decrypt(&WebhookRequest::new(unknown.as_bytes()), 0)
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.status()),
        (VerifyErrorKind::KeyUnavailable, 503)
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(60)));
    let (kind, message) = err(&d, &WebhookRequest::new(unknown.as_bytes()));
    assert_eq!(kind, VerifyErrorKind::KeyUnavailable);
    assert!(message.contains("names a key"), "{message}");
    assert!(
        !message.contains("2025-01"),
        "the sender's key id is not echoed: {message}"
    );

    // An expired key is not used; when every key has expired, the receiver is at fault.
    let cutoff = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let expiring = KeyRing::new()
        .with(old.clone().expires_at(cutoff))
        .with(new.clone());
    let d = Aes256GcmDecryptor::new(expiring, Envelope::binary()).unwrap();
    let body = seal(&old, Envelope::binary()).unwrap();
    let before = 1_799_999_999_000;
    let after = 1_800_000_001_000;
    assert!(d.decrypt(&WebhookRequest::new(&body), before).is_ok());
    let e = d.decrypt(&WebhookRequest::new(&body), after).unwrap_err();
    assert_eq!(e.kind(), VerifyErrorKind::MalformedBody);
    // A body naming an expired key, while another key is current: the sender's fault (400).
    let named = Envelope::json("/c", "/n").key_id_field("/kid");
    let d = Aes256GcmDecryptor::new(
        KeyRing::new()
            .with(old.clone().expires_at(cutoff))
            .with(new.clone()),
        named.clone(),
    )
    .unwrap();
    let body_named = seal(&old, named).unwrap();
    assert!(d.decrypt(&WebhookRequest::new(&body_named), before).is_ok());
    let e = d
        .decrypt(&WebhookRequest::new(&body_named), after)
        .unwrap_err();
    assert_eq!(e.kind(), VerifyErrorKind::MalformedBody);
    assert!(e.to_string().contains("has expired"), "{e}");
    let d = Aes256GcmDecryptor::new(old.clone().expires_at(cutoff), Envelope::binary()).unwrap();
    let e = d.decrypt(&WebhookRequest::new(&body), after).unwrap_err();
    assert_eq!(
        (e.kind(), e.status()),
        (VerifyErrorKind::NotConfigured, 500)
    );

    // The sealer refuses a key past its expiry rather than seal a body no receiver opens.
    let clock = FixedClock::at_secs(1_799_999_999);
    let sealer = Aes256GcmSealer::new(old.clone().expires_at(cutoff), Envelope::binary())
        .unwrap()
        .with_clock(std::sync::Arc::new(clock.clone()));
    let sealed = sealer.seal(b"{}", b"").unwrap();
    assert!(d.decrypt(&WebhookRequest::new(&sealed), before).is_ok());
    clock.advance(Duration::from_secs(1));
    let e = sealer.seal(b"{}", b"").unwrap_err();
    assert!(e.to_string().contains("key `2026-10` has expired"), "{e}");
}

#[test]
fn malformed_envelopes_are_400_and_name_the_part() {
    let k = counting_key();
    let binary = Aes256GcmDecryptor::new(k.clone(), Envelope::binary()).unwrap();
    let base64 = Aes256GcmDecryptor::new(k.clone(), Envelope::base64()).unwrap();
    let json = Aes256GcmDecryptor::new(k.clone(), Envelope::json("/c", "/n")).unwrap();
    let bound = Aes256GcmDecryptor::new(
        k.clone(),
        Envelope::binary().associated_data_header("webhook-id"),
    )
    .unwrap();
    let sealed = hex::decode(PY_BINARY).unwrap();
    let nonce12 = b64(&[7; 12]);
    /// The decryptor, the body, its headers, what the message must say.
    type Case<'a> = (
        &'a Aes256GcmDecryptor,
        Vec<u8>,
        Vec<(&'a str, &'a str)>,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (&binary, vec![], vec![], "shorter than"),
        (&binary, vec![0; 27], vec![], "shorter than"),
        (
            &base64,
            b"not base64 at all!".to_vec(),
            vec![],
            "not base64",
        ),
        (&base64, b64(&[0; 20]).into_bytes(), vec![], "shorter than"),
        (&json, b"[1,2".to_vec(), vec![], "not JSON"),
        (
            &json,
            br#"{"n":"AAAA"}"#.to_vec(),
            vec![],
            "`/c` is missing",
        ),
        (
            &json,
            br#"{"c":5,"n":"AAAA"}"#.to_vec(),
            vec![],
            "`/c` is not a string",
        ),
        (
            &json,
            br#"{"c":"%%%","n":"AAAA"}"#.to_vec(),
            vec![],
            "`/c` is not base64",
        ),
        (
            &json,
            format!(r#"{{"c":"{}","n":"{nonce12}"}}"#, b64(&[1; 15])).into_bytes(),
            vec![],
            "shorter than the 16-byte tag",
        ),
        (
            &json,
            format!(r#"{{"c":"{}"}}"#, b64(&[1; 32])).into_bytes(),
            vec![],
            "`/n` is missing",
        ),
        (
            &json,
            format!(r#"{{"c":"{}","n":"{}"}}"#, b64(&[1; 32]), b64(&[1; 16])).into_bytes(),
            vec![],
            "nonce must be 12 bytes",
        ),
        (
            &bound,
            sealed.clone(),
            vec![],
            "`webhook-id` (the associated data) is missing",
        ),
        (
            &bound,
            sealed.clone(),
            vec![("webhook-id", "msg_1"), ("webhook-id", "msg_1")],
            "is repeated",
        ),
        (
            &bound,
            sealed.clone(),
            vec![("webhook-id", "msg_2")],
            "no key decrypts it",
        ),
    ];
    for (decryptor, body, headers, expected) in cases {
        let mut request = WebhookRequest::new(&body);
        for (name, value) in &headers {
            request = request.with_header(name, value);
        }
        let e = decryptor.decrypt(&request, 0).unwrap_err();
        assert_eq!(e.kind(), VerifyErrorKind::MalformedBody, "{expected}");
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains(expected), "{e} / {expected}");
    }
}

#[test]
fn any_changed_byte_is_refused() {
    let d = Aes256GcmDecryptor::new(
        counting_key(),
        Envelope::binary().associated_data_header("webhook-id"),
    )
    .unwrap();
    let sealed = hex::decode(PY_BINARY).unwrap();
    for i in 0..sealed.len() {
        let mut body = sealed.clone();
        body[i] ^= 0x01;
        let request = WebhookRequest::new(&body).with_header("webhook-id", "msg_1");
        let e = d.decrypt(&request, 0).unwrap_err();
        assert_eq!(e.kind(), VerifyErrorKind::MalformedBody, "byte {i}");
    }
    // Truncated or extended by one byte.
    for body in [
        &sealed[..sealed.len() - 1],
        &[&sealed[..], &[0]].concat()[..],
    ] {
        let request = WebhookRequest::new(body).with_header("webhook-id", "msg_1");
        assert!(d.decrypt(&request, 0).is_err());
    }
}

#[test]
fn errors_show_no_key_and_no_byte_of_the_body() {
    let secret_bytes = [0x5C_u8; 32];
    let k = key("k", &secret_bytes);
    let d = Aes256GcmDecryptor::new(k.clone(), Envelope::json("/c", "/n")).unwrap();
    let other = Aes256GcmSealer::new(
        Key::new("k", Secret::random(32)),
        Envelope::json("/c", "/n"),
    )
    .unwrap()
    .seal(b"{\"card\":\"4242424242424242\"}", b"")
    .unwrap();
    let e = d.decrypt(&WebhookRequest::new(&other), 0).unwrap_err();
    let value: serde_json::Value = serde_json::from_slice(&other).unwrap();
    let ciphertext = value["c"].as_str().unwrap();
    for text in [
        e.to_string(),
        format!("{e:?}"),
        e.to_json(),
        format!("{d:?}"),
    ] {
        assert!(!text.contains("4242"), "{text}");
        assert!(!text.contains(&ciphertext[..12]), "{text}");
        assert!(!text.contains("5c5c"), "{text}");
        assert!(!text.contains("XFxc"), "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any body, through every envelope: an error (400), never a panic, never a plaintext.
    #[test]
    fn arbitrary_bodies_are_refused_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        for envelope in [
            Envelope::binary(),
            Envelope::base64(),
            Envelope::json("/c", "/n").text_nonce().associated_data_field("/a").key_id_field("/k"),
        ] {
            let d = Aes256GcmDecryptor::new(counting_key(), envelope).unwrap();
            let e = d.decrypt(&WebhookRequest::new(&body), 0).unwrap_err();
            prop_assert_eq!(e.status(), 400);
        }
    }

    /// Any plaintext and associated data round-trip.
    #[test]
    fn arbitrary_plaintexts_round_trip(plaintext in proptest::collection::vec(any::<u8>(), 0..600), aad in "[ -~]{0,40}") {
        let k = Key::new("k", Secret::random(32));
        let envelope = Envelope::json("/a/c", "/a/n").associated_data_field("/a/d");
        let body = Aes256GcmSealer::new(k.clone(), envelope.clone()).unwrap().seal(&plaintext, aad.as_bytes()).unwrap();
        let d = Aes256GcmDecryptor::new(k, envelope).unwrap();
        prop_assert_eq!(d.decrypt(&WebhookRequest::new(&body), 0).unwrap(), plaintext);
    }
}

/// The pipeline: decryption after authentication, before the claim; its failure takes no
/// claim; the receiver's clock retires keys.
#[tokio::test]
async fn the_pipeline_decrypts_after_authentication() {
    let secret = Secret::random(24);
    let k = Key::new("k", Secret::random(32));
    let envelope = Envelope::base64().associated_data_header("webhook-id");
    let clock = FixedClock::at_secs(1_700_000_000);
    let receiver = Receiver::builder()
        .verifier(
            StandardWebhooks::new(secret.clone())
                .unwrap()
                .freshness(Freshness::default().with_clock(clock.clone())),
        )
        .clock(std::sync::Arc::new(clock.clone()))
        .decryptor(Aes256GcmDecryptor::new(k.clone(), envelope.clone()).unwrap())
        .build()
        .unwrap();
    assert!(receiver.decrypts());
    assert_eq!(receiver.plaintext_content_type(), Some("application/json"));
    let signer = StandardWebhooksSigner::new(secret);
    let sealer = Aes256GcmSealer::new(k, envelope).unwrap();
    let deliver = |id: &str, aad: &str| {
        let body = sealer.seal(br#"{"type":"ping"}"#, aad.as_bytes()).unwrap();
        let headers = signer
            .sign(
                &Outgoing::new(&body)
                    .id(id.to_owned())
                    .timestamp_secs(1_700_000_000),
            )
            .unwrap()
            .into_vec();
        (body, headers)
    };

    // Before authentication: refused, not decrypted.
    let (body, headers) = deliver("msg_1", "msg_1");
    let request = WebhookRequest::new(&body).with_headers(&headers);
    let mut early = receiver.delivery();
    let e = early.decrypt(&request).unwrap_err();
    assert_eq!(e.kind(), VerifyErrorKind::NotConfigured);

    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    delivery.authenticate(&request).unwrap();
    let plain = delivery.decrypt(&request).unwrap().expect("decrypted");
    assert_eq!(plain, br#"{"type":"ping"}"#);
    assert!(delivery.claim(None).await.unwrap());
    delivery.finish(true).await;

    // Sealed for another delivery: authenticated, but refused with 400, and its id is not
    // claimed (the correct delivery with that id is processed later).
    let (body, headers) = deliver("msg_2", "msg_1");
    let request = WebhookRequest::new(&body).with_headers(&headers);
    let mut moved = receiver.delivery();
    moved.admit(&request, false).unwrap();
    moved.authenticate(&request).unwrap();
    assert_eq!(
        moved.decrypt(&request).unwrap_err().kind(),
        VerifyErrorKind::MalformedBody
    );
    drop(moved);
    let (body, headers) = deliver("msg_2", "msg_2");
    let request = WebhookRequest::new(&body).with_headers(&headers);
    let mut fresh = receiver.delivery();
    fresh.admit(&request, false).unwrap();
    fresh.authenticate(&request).unwrap();
    assert!(fresh.decrypt(&request).unwrap().is_some());
    assert!(
        fresh.claim(None).await.unwrap(),
        "msg_2 was not claimed by the failed delivery"
    );
    fresh.finish(true).await;
    let stats = receiver.stats();
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.rejected(VerifyErrorKind::MalformedBody), 1);
    assert_eq!(
        stats.rejected(VerifyErrorKind::NotConfigured),
        1,
        "the early call"
    );

    // A receiver without a decryptor hands the body on as it is.
    let plain = Receiver::builder()
        .verifier(StandardWebhooks::new(Secret::random(24)).unwrap())
        .build()
        .unwrap();
    assert!(!plain.decrypts());
    let mut d = plain.delivery();
    assert!(d.decrypt(&request).unwrap().is_none());
}

/// An adapter that skips the decryption step does not get the sealed body past the pipeline:
/// the claim, the event id and decoding are refused with 500.
#[tokio::test]
async fn a_receiver_that_decrypts_refuses_to_go_on_without_decrypting() {
    let secret = Secret::random(24);
    let k = Key::new("k", Secret::random(32));
    let receiver = Receiver::builder()
        .verifier(StandardWebhooks::new(secret.clone()).unwrap())
        .decryptor(Aes256GcmDecryptor::new(k.clone(), Envelope::binary()).unwrap())
        .build()
        .unwrap();
    let body = Aes256GcmSealer::new(k, Envelope::binary())
        .unwrap()
        .seal(br#"{"type":"ping"}"#, b"")
        .unwrap();
    let headers = StandardWebhooksSigner::new(secret)
        .sign(&Outgoing::new(&body).id("msg_1"))
        .unwrap()
        .into_vec();
    let request = WebhookRequest::new(&body).with_headers(&headers);
    let mut skipped = receiver.delivery();
    skipped.admit(&request, false).unwrap();
    skipped.authenticate(&request).unwrap();
    let e = skipped.claim(None).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.status()),
        (VerifyErrorKind::NotConfigured, 500)
    );
    let mut raw = receiver.delivery();
    raw.admit(&request, false).unwrap();
    raw.authenticate(&request).unwrap();
    assert_eq!(
        raw.accept_raw().await.unwrap_err().kind(),
        VerifyErrorKind::NotConfigured
    );
    // Nothing was claimed: the same delivery, decrypted, is fresh.
    let mut done = receiver.delivery();
    done.admit(&request, false).unwrap();
    done.authenticate(&request).unwrap();
    assert!(done.decrypt(&request).unwrap().is_some());
    assert!(done.claim(None).await.unwrap());
    done.finish(true).await;
}

#[test]
fn a_plaintext_content_type_that_is_no_header_value_is_refused() {
    for bad in ["", "application/json\r\nx-injected: 1", "text/é"] {
        let e = Receiver::builder()
            .verifier(StandardWebhooks::new(Secret::random(24)).unwrap())
            .decryptor(
                Aes256GcmDecryptor::new(Secret::random(32), Envelope::binary())
                    .unwrap()
                    .plaintext_content_type(bad),
            )
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("plaintext content type"), "{e}");
    }
}

/// Only a signature over the body binds the plaintext to its delivery: a decryptor beside a
/// verifier whose signature does not cover the body (static credentials, Mailgun's token,
/// PayPal's CRC-32, an `AnyOf` with one such member) fails the receiver's build; beside one
/// that does (an `AllOf` with one such member too) it builds.
#[test]
fn a_decryptor_needs_a_verifier_that_signs_the_body() {
    use webhook_core::provider::{github, mailersend, mailgun};
    use webhook_core::{AllOf, AnyOf, ApiKey, BasicAuth, Verifier};
    let decryptor = || Aes256GcmDecryptor::new(Secret::random(32), Envelope::binary()).unwrap();
    let standard = || StandardWebhooks::new(Secret::random(24)).unwrap();
    let api_key = || ApiKey::new("x-api-key", [Secret::from_text("key").unwrap()]).unwrap();
    let build = |verifier: Box<dyn Verifier>| {
        Receiver::builder()
            .verifier(verifier)
            .decryptor(decryptor())
            .build()
    };
    for refused in [
        Box::new(api_key()) as Box<dyn Verifier>,
        Box::new(BasicAuth::new([("user", Secret::from_text("pass").unwrap())]).unwrap()),
        Box::new(mailgun::verifier(Secret::random(24)).unwrap()),
        Box::new(AnyOf::new().or(standard()).or(api_key())),
        // MailerSend's test ping is signed with a secret anyone can read.
        Box::new(
            AnyOf::new()
                .or(mailersend::verifier(Secret::from_text("own").unwrap()).unwrap())
                .or(mailersend::test_ping_verifier()),
        ),
    ] {
        assert!(!refused.signs_body());
        let error = build(refused).unwrap_err().to_string();
        assert!(error.contains("signature covers the body"), "{error}");
    }
    for accepted in [
        Box::new(standard()) as Box<dyn Verifier>,
        Box::new(github::verifier(Secret::random(24)).unwrap()),
        Box::new(AllOf::new().and(standard()).and(api_key())),
        Box::new(
            AnyOf::new()
                .or(standard())
                .or(github::verifier(Secret::random(24)).unwrap()),
        ),
    ] {
        assert!(accepted.signs_body());
        assert!(build(accepted).unwrap().decrypts());
    }
    assert!(!AnyOf::new().signs_body());
}

/// A decryptor of the application's own that expands (decompresses) cannot hand on more than
/// the body limit: the plaintext is refused with 413, and nothing is claimed.
#[tokio::test]
async fn a_plaintext_longer_than_the_body_limit_is_refused() {
    #[derive(Debug)]
    struct Expanding(usize);
    impl webhook_core::Decryptor for Expanding {
        fn decrypt(&self, _: &WebhookRequest<'_>, _: i64) -> Result<Vec<u8>, VerifyError> {
            Ok(vec![b' '; self.0])
        }
    }
    let secret = Secret::random(24);
    for (len, expanded) in [(64, false), (65, true)] {
        let receiver = Receiver::builder()
            .verifier(StandardWebhooks::new(secret.clone()).unwrap())
            .decryptor(Expanding(len))
            .max_body_bytes(64)
            .build()
            .unwrap();
        let body = b"sealed".to_vec();
        let headers = StandardWebhooksSigner::new(secret.clone())
            .sign(&Outgoing::new(&body).id("msg_1"))
            .unwrap()
            .into_vec();
        let request = WebhookRequest::new(&body).with_headers(&headers);
        let mut delivery = receiver.delivery();
        delivery.admit(&request, false).unwrap();
        delivery.authenticate(&request).unwrap();
        match delivery.decrypt(&request) {
            Ok(plaintext) => {
                assert!(!expanded);
                assert_eq!(plaintext.map(|p| p.len()), Some(len));
            }
            Err(error) => {
                assert!(expanded);
                assert_eq!(
                    (error.kind(), error.status()),
                    (VerifyErrorKind::BodyTooLarge, 413)
                );
            }
        }
    }
}
