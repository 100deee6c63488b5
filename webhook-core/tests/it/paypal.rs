//! PayPal: PayPal's own signed delivery, every signed part, the headers' rules, the body's
//! CRC-32 binding and what the replay claim does about it, the signer twin, and garbage.

use proptest::prelude::*;
use serde_json::Value;
use webhook_core::provider::paypal;
use webhook_core::{
    Accepted, FixedClock, Outgoing, PrivateKey, Proof, PublicKey, PublicKeyRing, Receiver, Signer,
    Verifier, VerifyError, VerifyErrorKind, WebhookRequest,
};

const WEBHOOK_ID: &str = "0FV983392A0531201";
/// 2019-08-29T10:50:00Z, 27 s after the vector's transmission.
const VECTOR_NOW_S: i64 = 1_567_075_800;
const CERT_URL: &str =
    "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77";
const NOW_MS: i64 = 1_764_000_000_000;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn certificate() -> PublicKey {
    PublicKey::from_certificate_pem(&fixture("paypal/certificate.pem")).unwrap()
}

fn vector_headers() -> Vec<(String, String)> {
    let headers: Value = serde_json::from_str(&fixture("paypal/headers.json")).unwrap();
    headers
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn vector_verifier() -> paypal::PayPalVerifier {
    paypal::verifier(certificate(), WEBHOOK_ID)
        .unwrap()
        .freshness(paypal::default_freshness().with_clock(FixedClock::at_secs(VECTOR_NOW_S)))
}

fn verify_with(
    verifier: &impl Verifier,
    body: &[u8],
    headers: &[(String, String)],
) -> Result<Proof, VerifyError> {
    verifier.verify(&WebhookRequest::new(body).with_headers(headers))
}

fn with_header(name: &str, value: &str) -> Vec<(String, String)> {
    vector_headers()
        .into_iter()
        .map(|(n, v)| {
            if n == name {
                (n, value.to_owned())
            } else {
                (n, v)
            }
        })
        .collect()
}

fn without_header(name: &str) -> Vec<(String, String)> {
    vector_headers()
        .into_iter()
        .filter(|(n, _)| n != name)
        .collect()
}

fn rsa_private() -> PrivateKey {
    PrivateKey::from_pem(&fixture("asym/rsa2048-private.pem")).unwrap()
}

fn our_verifier() -> paypal::PayPalVerifier {
    paypal::verifier(rsa_private().public_key(), "8PT597110X687430LKGECATA")
        .unwrap()
        .freshness(paypal::default_freshness().with_clock(FixedClock::at_ms(NOW_MS)))
}

fn our_signer() -> paypal::PayPalSigner {
    paypal::signer(rsa_private(), CERT_URL, "8PT597110X687430LKGECATA").unwrap()
}

/// Four bytes that, appended to `prefix`, give the CRC-32 `target` (CRC-32 is linear and
/// invertible: this is what makes it no hash).
fn crc32_forge(prefix: &[u8], target: u32) -> [u8; 4] {
    let table: Vec<u32> = (0..256u32)
        .map(|i| {
            (0..8).fold(i, |c, _| {
                if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    let mut by_top_byte = [0u32; 256];
    for (i, entry) in table.iter().enumerate() {
        by_top_byte[(entry >> 24) as usize] = i as u32;
    }
    let mut register = !target;
    for _ in 0..4 {
        let i = by_top_byte[(register >> 24) as usize];
        register = ((register ^ table[i as usize]) << 8) | i;
    }
    (register ^ !crc32fast::hash(prefix)).to_le_bytes()
}

#[test]
fn paypal_s_signed_delivery_verifies_with_its_certificate() {
    let body = fixture("paypal/body.json");
    assert_eq!(body.len(), 3241);
    assert_eq!(crc32fast::hash(body.as_bytes()), 3_674_300_368);
    let proof = verify_with(&vector_verifier(), body.as_bytes(), &vector_headers()).unwrap();
    assert_eq!(proof.scheme(), "paypal");
    assert_eq!(
        proof.message_id(),
        Some("afa30d40-ca4a-11e9-ab68-7d4e2605c70c")
    );
    assert_eq!(proof.timestamp_ms(), Some(1_567_075_773_000));
    assert!(proof.key_id().unwrap().starts_with("x509-sha256:"));
}

#[test]
fn every_signed_part_is_covered() {
    let body = fixture("paypal/body.json");
    let verifier = vector_verifier();
    let refused = |body: &[u8], headers: &[(String, String)]| {
        verify_with(&verifier, body, headers).unwrap_err().kind()
    };
    // The body (through its CRC-32), one byte changed.
    let changed = body.replacen("30.11", "30.12", 1);
    assert_eq!(
        refused(changed.as_bytes(), &vector_headers()),
        VerifyErrorKind::InvalidSignature
    );
    // The transmission id and time.
    for (name, value) in [
        (
            "paypal-transmission-id",
            "afa30d40-ca4a-11e9-ab68-7d4e2605c70d",
        ),
        ("paypal-transmission-time", "2019-08-29T10:49:34Z"),
    ] {
        assert_eq!(
            refused(body.as_bytes(), &with_header(name, value)),
            VerifyErrorKind::InvalidSignature,
            "{name}"
        );
    }
    // The webhook id, which is configuration.
    let other = paypal::verifier(certificate(), "0FV983392A0531202")
        .unwrap()
        .freshness(paypal::default_freshness().with_clock(FixedClock::at_secs(VECTOR_NOW_S)));
    assert_eq!(
        verify_with(&other, body.as_bytes(), &vector_headers())
            .unwrap_err()
            .kind(),
        VerifyErrorKind::InvalidSignature
    );
    // Another key.
    let wrong_key = paypal::verifier(rsa_private().public_key(), WEBHOOK_ID)
        .unwrap()
        .freshness(paypal::default_freshness().with_clock(FixedClock::at_secs(VECTOR_NOW_S)));
    assert!(verify_with(&wrong_key, body.as_bytes(), &vector_headers()).is_err());
    // A ring finds the right certificate.
    let ring = PublicKeyRing::new()
        .with(rsa_private().public_key())
        .with(certificate().with_id("paypal-sandbox-2019"));
    let ring = paypal::verifier(ring, WEBHOOK_ID)
        .unwrap()
        .freshness(paypal::default_freshness().with_clock(FixedClock::at_secs(VECTOR_NOW_S)));
    let proof = verify_with(&ring, body.as_bytes(), &vector_headers()).unwrap();
    assert_eq!(proof.key_id(), Some("paypal-sandbox-2019"));
}

#[test]
fn the_headers_rules_give_clear_errors() {
    let body = fixture("paypal/body.json");
    let verifier = vector_verifier();
    let kind_of = |headers: Vec<(String, String)>| {
        verify_with(&verifier, body.as_bytes(), &headers)
            .unwrap_err()
            .kind()
    };
    for name in [
        "paypal-transmission-id",
        "paypal-transmission-time",
        "paypal-transmission-sig",
        "paypal-cert-url",
        "paypal-auth-algo",
    ] {
        assert_eq!(
            kind_of(without_header(name)),
            VerifyErrorKind::MissingHeader,
            "{name}"
        );
        let mut twice = vector_headers();
        let value = twice.iter().find(|(n, _)| n == name).unwrap().1.clone();
        twice.push((name.to_owned(), value));
        assert_eq!(
            kind_of(twice),
            VerifyErrorKind::MalformedHeader,
            "{name} twice"
        );
    }
    assert_eq!(
        kind_of(with_header("paypal-auth-algo", "SHA1withRSA")),
        VerifyErrorKind::InvalidSignature
    );
    for (name, value) in [
        ("paypal-transmission-id", "a|b"),
        ("paypal-transmission-id", &"a".repeat(129)),
        ("paypal-transmission-time", "2019-08-29 10:49:33"),
        ("paypal-transmission-time", "2019-08-29T10:49:33Z|x"),
        ("paypal-transmission-time", "2019-08-29T10:49:33"),
        ("paypal-transmission-time", "yesterday"),
        ("paypal-transmission-time", "1969-12-31T23:59:59Z"),
    ] {
        assert_eq!(
            kind_of(with_header(name, value)),
            VerifyErrorKind::MalformedHeader,
            "{name}: {value:.20}"
        );
    }
    // An empty header is malformed, as for every scheme.
    assert_eq!(
        kind_of(with_header("paypal-transmission-sig", "")),
        VerifyErrorKind::MalformedHeader
    );
    for signature in ["%%%", "QUJD", &"A".repeat(2000)] {
        assert_eq!(
            kind_of(with_header("paypal-transmission-sig", signature)),
            VerifyErrorKind::InvalidSignature,
            "{signature:.10}"
        );
    }
    let error = verify_with(
        &verifier,
        body.as_bytes(),
        &with_header(
            "paypal-cert-url",
            "https://evil.example/v1/notifications/certs/CERT-1",
        ),
    )
    .unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature);
    assert!(
        error.message().contains("PAYPAL-CERT-URL"),
        "{}",
        error.message()
    );
    assert!(!error.message().contains("evil"), "{}", error.message());
}

#[test]
fn certificate_urls_outside_paypal_are_refused() {
    for good in [
        "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
        "https://api-m.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",
    ] {
        assert!(paypal::is_cert_url(good), "{good}");
    }
    for bad in [
        "http://api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        "https://evil.example/api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
        "https://user@api.paypal.com/v1/notifications/certs/CERT-1",
        "https://api.paypal.com/v1/notifications/certs/CERT-1?x=1",
        "https://api.paypal.com/v1/notifications/certs/",
        "https://api.paypal.com/v1/notifications/certs/../../x",
        "https://api.paypal.com/v2/notifications/certs/CERT-1",
        "https://www.paypal.com/v1/notifications/certs/CERT-1",
        "",
    ] {
        assert!(!paypal::is_cert_url(bad), "{bad}");
    }
}

#[test]
fn freshness_bounds_the_transmission_time() {
    let body = fixture("paypal/body.json");
    let at = |secs: i64| {
        paypal::verifier(certificate(), WEBHOOK_ID)
            .unwrap()
            .freshness(paypal::default_freshness().with_clock(FixedClock::at_secs(secs)))
    };
    let sent = 1_567_075_773;
    assert!(verify_with(&at(sent + 72 * 3600), body.as_bytes(), &vector_headers()).is_ok());
    assert_eq!(
        verify_with(&at(sent + 74 * 3600), body.as_bytes(), &vector_headers())
            .unwrap_err()
            .kind(),
        VerifyErrorKind::TimestampTooOld
    );
    assert_eq!(
        verify_with(&at(sent - 360), body.as_bytes(), &vector_headers())
            .unwrap_err()
            .kind(),
        VerifyErrorKind::TimestampInFuture
    );
    assert_eq!(
        at(0).freshness_window(),
        Some(std::time::Duration::from_secs(73 * 3600 + 300))
    );
}

/// PayPal binds the body by CRC-32, which anyone can match: a forged body with the signed
/// CRC-32 carries the signature. The verifier's pin of the first body it saw under a
/// transmission id refuses the forgery afterwards, even when the first delivery failed and
/// released its claim; the replay claim answers a completed one as a duplicate.
#[tokio::test]
async fn a_body_forged_to_the_same_crc_32_is_refused_after_the_first() {
    let body = fixture("paypal/body.json");
    let mut forged = body
        .replacen("\"total\":\"30.11\"", "\"total\":\"9999.99\"", 1)
        .into_bytes();
    forged.extend_from_slice(&crc32_forge(&forged, crc32fast::hash(body.as_bytes())));
    assert_eq!(crc32fast::hash(&forged), crc32fast::hash(body.as_bytes()));
    let headers = vector_headers();
    assert!(
        verify_with(&vector_verifier(), &forged, &headers).is_ok(),
        "the scheme's limit: alone, a body with the same CRC-32 verifies"
    );

    // The first delivery fails in its handler (its claim is released); the forgery is still
    // refused, by the verifier's pin.
    let receiver = Receiver::builder()
        .verifier(vector_verifier())
        .memory_capacity(1024)
        .build()
        .unwrap();
    let original = WebhookRequest::new(body.as_bytes()).with_headers(&headers);
    let mut first = receiver.delivery();
    first.admit(&original, false).unwrap();
    first.authenticate(&original).unwrap();
    assert!(matches!(
        first.accept_raw().await.unwrap(),
        Accepted::Fresh(_)
    ));
    first.finish(false).await;
    let copy = WebhookRequest::new(&forged).with_headers(&headers);
    let mut second = receiver.delivery();
    second.admit(&copy, false).unwrap();
    let error = second.authenticate(&copy).unwrap_err();
    assert_eq!(error.status(), 401);
    assert!(
        error.message().contains("another body"),
        "{}",
        error.message()
    );
    // PayPal's own retry of the same body is processed.
    let mut retry = receiver.delivery();
    retry.admit(&original, false).unwrap();
    retry.authenticate(&original).unwrap();
    assert!(matches!(
        retry.accept_raw().await.unwrap(),
        Accepted::Fresh(_)
    ));
    retry.finish(true).await;
    // Once it succeeded, the same body again is a duplicate.
    let mut again = receiver.delivery();
    again.admit(&original, false).unwrap();
    again.authenticate(&original).unwrap();
    assert!(matches!(
        again.accept_raw().await.unwrap(),
        Accepted::Duplicate(_)
    ));

    // What no check can do: a forgery that arrives first is the first body; the genuine
    // delivery is then the one refused.
    let verifier = vector_verifier();
    assert!(verify_with(&verifier, &forged, &headers).is_ok());
    assert!(verify_with(&verifier, body.as_bytes(), &headers).is_err());
}

#[test]
fn a_receiver_without_a_replay_store_is_refused() {
    let error = Receiver::builder()
        .verifier(vector_verifier())
        .without_replay_protection()
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("replay store"), "{error}");
    // Also inside a combination.
    let any = webhook_core::AnyOf::new()
        .or(vector_verifier())
        .or(webhook_core::BasicAuth::new([(
            "user",
            webhook_core::Secret::from_text("pass").unwrap(),
        )])
        .unwrap());
    assert!(
        Receiver::builder()
            .verifier(any)
            .without_replay_protection()
            .build()
            .is_err()
    );
}

#[test]
fn the_signer_produces_what_paypal_sends() {
    let signer = our_signer();
    let body = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
    let headers = signer
        .sign(
            &Outgoing::new(body)
                .id("b2a1c0de-0000-4000-8000-000000000001")
                .timestamp_ms(NOW_MS + 999),
        )
        .unwrap();
    assert_eq!(headers.get("PAYPAL-AUTH-ALGO"), Some("SHA256withRSA"));
    assert_eq!(headers.get("PAYPAL-CERT-URL"), Some(CERT_URL));
    assert_eq!(
        headers.get("PAYPAL-TRANSMISSION-TIME"),
        Some("2025-11-24T16:00:00Z")
    );
    let proof = our_verifier()
        .verify(&headers.apply(WebhookRequest::new(body)))
        .unwrap();
    assert_eq!(
        proof.message_id(),
        Some("b2a1c0de-0000-4000-8000-000000000001")
    );
    assert!(
        our_verifier()
            .verify(&headers.apply(WebhookRequest::new(b"{}")))
            .is_err()
    );
    // Without an id or a time: a random id, the clock's time.
    let headers = signer
        .clone()
        .clock(std::sync::Arc::new(FixedClock::at_ms(NOW_MS)))
        .sign(&Outgoing::new(body))
        .unwrap();
    assert!(
        headers
            .get("paypal-transmission-id")
            .unwrap()
            .starts_with("msg_")
    );
    assert!(
        our_verifier()
            .verify(&headers.apply(WebhookRequest::new(body)))
            .is_ok()
    );
    // What the verifier would refuse is refused when signing.
    assert!(signer.sign(&Outgoing::new(body).id("a|b")).is_err());
    assert!(
        signer
            .sign(&Outgoing::new(body).timestamp_ms(i64::MAX))
            .is_err()
    );
    assert!(
        signer
            .sign(&Outgoing::new(body).timestamp_ms(-1000))
            .is_err()
    );
    assert!(!format!("{signer:?}").contains("PRIVATE"));
}

#[test]
fn configuration_is_checked_at_start_up() {
    for bad in ["", "a|b", "a b", &"A".repeat(65)] {
        let error = paypal::verifier(certificate(), bad).unwrap_err();
        assert!(error.to_string().contains("webhook id"), "{error}");
    }
    assert!(paypal::verifier(PrivateKey::generate_ed25519().public_key(), WEBHOOK_ID).is_err());
    assert!(paypal::verifier(PublicKeyRing::new(), WEBHOOK_ID).is_err());
    assert!(paypal::signer(rsa_private(), "https://example.com/cert", WEBHOOK_ID).is_err());
    assert!(paypal::signer(PrivateKey::generate_p256(), CERT_URL, WEBHOOK_ID).is_err());
    let shown = format!("{:?}", vector_verifier());
    assert!(
        shown.contains("certificates") && !shown.contains(WEBHOOK_ID),
        "{shown}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any body round-trips; any one byte changed is refused.
    #[test]
    fn any_body_round_trips_and_one_byte_changed_is_refused(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        index: usize,
        flip in 1u8..=255,
    ) {
        let headers = our_signer().sign(&Outgoing::new(&body).timestamp_ms(NOW_MS)).unwrap();
        prop_assert!(our_verifier().verify(&headers.apply(WebhookRequest::new(&body))).is_ok());
        if !body.is_empty() {
            let mut changed = body.clone();
            let i = index % changed.len();
            changed[i] ^= flip;
            // A one-byte change always changes a CRC-32.
            prop_assert!(our_verifier().verify(&headers.apply(WebhookRequest::new(&changed))).is_err());
        }
    }

    /// One header of PayPal's delivery replaced by anything: refused with 401, never a panic.
    #[test]
    fn any_header_replaced_is_refused(which in 0usize..5, value in "[ -~\t]{0,120}|\\PC{0,40}") {
        let body = fixture("paypal/body.json");
        let mut headers = vector_headers();
        headers.sort();
        prop_assume!(headers[which].1 != value);
        headers[which].1 = value;
        let error = verify_with(&vector_verifier(), body.as_bytes(), &headers).unwrap_err();
        prop_assert_eq!(error.status(), 401);
    }
}
