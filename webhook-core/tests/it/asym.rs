//! The asymmetric building block (Ed25519, ECDSA P-256, RSA PKCS#1 v1.5), Standard Webhooks
//! `v1a`, and the SendGrid, Discord and Postal presets.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use serde_json::Value;
use webhook_core::provider::{discord, postal, sendgrid};
use webhook_core::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, Encoding,
    FixedClock, Freshness, Outgoing, Part, PrivateKey, PublicKey, PublicKeyRing, SignatureFormat,
    SignedHeaders, Signer, StandardWebhooksV1a, StandardWebhooksV1aSigner, TimeFormat,
    TimestampSource, Verifier, VerifyError, VerifyErrorKind, WebhookRequest,
};

// ---------------------------------------------------------------------------------------------
// fixtures

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/asym/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn vectors() -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/asym_vectors.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn rows(provider: &str) -> Vec<Value> {
    vectors()
        .into_iter()
        .filter(|r| r["provider"] == provider)
        .collect()
}

fn s<'v>(row: &'v Value, field: &str) -> &'v str {
    row[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field}"))
}

/// The row's headers, in the order of the file.
fn headers(row: &Value) -> Vec<(String, String)> {
    row["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn at(secs: i64) -> Freshness {
    Freshness::default().with_clock(FixedClock::at_secs(secs))
}

/// Freshness that never rejects, so a test sees the signature's verdict alone.
fn any_time() -> Freshness {
    Freshness::new(Duration::MAX, Duration::MAX).with_clock(FixedClock::at_secs(1_700_000_000))
}

fn verify(v: &impl Verifier, body: &[u8], headers: &[(String, String)]) -> Result<(), VerifyError> {
    v.verify(&WebhookRequest::new(body).with_headers(headers))
        .map(|_| ())
}

fn kind(result: Result<(), VerifyError>) -> VerifyErrorKind {
    result.unwrap_err().kind()
}

fn set(headers: &mut [(String, String)], name: &str, value: String) {
    let slot = headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap();
    slot.1 = value;
}

fn get<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    &headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .unwrap()
        .1
}

// ---------------------------------------------------------------------------------------------
// known-answer vectors

#[test]
fn sendgrid_vectors() {
    let rows = rows("sendgrid");
    assert_eq!(
        rows.len(),
        3,
        "two official vectors and the official negative"
    );
    let mut valid = 0;
    for row in &rows {
        let key = PublicKey::from_spki_base64(s(row, "public_key")).unwrap();
        let ts: i64 = s(row, "timestamp").parse().unwrap();
        let v = sendgrid::verifier(key).unwrap().freshness(at(ts));
        let result = verify(&v, s(row, "body").as_bytes(), &headers(row));
        if row["expected_valid"].as_bool().unwrap() {
            result.unwrap();
            valid += 1;
        } else {
            assert_eq!(kind(result), VerifyErrorKind::InvalidSignature);
        }
    }
    assert_eq!(valid, 2);
}

#[test]
fn sendgrid_published_private_key_signs_what_the_public_key_verifies() {
    let row = rows("sendgrid")
        .into_iter()
        .find(|r| r.get("private_key_sec1_b64").is_some())
        .unwrap();
    let private = PrivateKey::from_der_base64(s(&row, "private_key_sec1_b64")).unwrap();
    let public = PublicKey::from_spki_base64(s(&row, "public_key")).unwrap();
    let signer = sendgrid::signer(private).unwrap();
    let body = s(&row, "body").as_bytes();
    let signed = signer
        .sign(&Outgoing::new(body).timestamp_secs(1_588_788_367))
        .unwrap();
    assert_eq!(
        signed.get("x-twilio-email-event-webhook-timestamp"),
        Some("1588788367")
    );
    let v = sendgrid::verifier(public)
        .unwrap()
        .freshness(at(1_588_788_367));
    v.verify(&signed.apply(WebhookRequest::new(body))).unwrap();
}

#[test]
fn discord_vectors() {
    let rows = rows("discord");
    assert!(!rows.is_empty());
    for row in &rows {
        let key = PublicKey::ed25519_hex(s(row, "public_key_hex")).unwrap();
        let ts: i64 = s(row, "timestamp").parse().unwrap();
        let v = discord::verifier(key).unwrap().freshness(at(ts));
        let body = s(row, "body").as_bytes();
        let result = verify(&v, body, &headers(row));
        assert_eq!(result.is_ok(), row["expected_valid"].as_bool().unwrap());

        // Ed25519 is deterministic: the signer twin reproduces the vector.
        let seed = PrivateKey::ed25519_seed_hex(s(row, "private_key_seed_hex")).unwrap();
        let signed = discord::signer(seed)
            .unwrap()
            .sign(&Outgoing::new(body).timestamp_secs(ts))
            .unwrap();
        assert_eq!(signed.get("x-signature-ed25519"), Some(s(row, "expected")));
        assert_eq!(
            signed.get("x-signature-timestamp"),
            Some(s(row, "timestamp"))
        );
    }
}

#[test]
fn postal_vectors() {
    let rows = rows("postal");
    assert!(!rows.is_empty());
    for row in &rows {
        let key = PublicKey::from_pem(s(row, "public_key_pem")).unwrap();
        let body = s(row, "body").as_bytes();
        let all = headers(row);
        let valid = row["expected_valid"].as_bool().unwrap();

        // Preferred: SHA-256.
        let v = postal::verifier(key.clone()).unwrap();
        assert_eq!(verify(&v, body, &all).is_ok(), valid);
        let proof = v.verify(&WebhookRequest::new(body).with_headers(&all));
        assert_eq!(
            proof.map(|p| p.scheme().to_owned()).ok().as_deref(),
            Some("postal")
        );

        // Legacy: SHA-1 alone, only when allowed.
        let sha1_only: Vec<_> = all
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("x-postal-signature"))
            .cloned()
            .collect();
        assert_eq!(
            get(&sha1_only, "x-postal-signature"),
            s(row, "expected_sha1")
        );
        let refused = verify(&v, body, &sha1_only).unwrap_err();
        assert_eq!(refused.kind(), VerifyErrorKind::MissingHeader);
        // Named for the operator of an older server, who can turn the fallback on.
        assert!(
            refused.to_string().contains("allow_legacy_sha1"),
            "{refused}"
        );
        let legacy = postal::verifier(key).unwrap().allow_legacy_sha1();
        let proof = legacy
            .verify(&WebhookRequest::new(body).with_headers(&sha1_only))
            .unwrap();
        assert_eq!(proof.scheme(), "postal-sha1");
        assert!(proof.replay_token().is_some());
        assert_eq!(verify(&legacy, body, &all).is_ok(), valid);
        // The same delivery whichever header verified it: stripping the `-256` header from a
        // processed delivery does not make it a new one.
        if valid {
            let both = legacy
                .verify(&WebhookRequest::new(body).with_headers(&all))
                .unwrap();
            assert_eq!(both.scheme(), "postal");
            assert_eq!(proof.replay_token(), both.replay_token());
        }

        // A request with a `-256` header is judged on it alone: no fallback to SHA-1.
        let mut bad_256 = all.clone();
        set(
            &mut bad_256,
            "x-postal-signature-256",
            s(row, "expected_sha1").to_owned(),
        );
        assert_eq!(
            kind(verify(&legacy, body, &bad_256)),
            VerifyErrorKind::InvalidSignature
        );

        // The body is all that is signed.
        assert_eq!(
            kind(verify(&legacy, b"{}", &sha1_only)),
            VerifyErrorKind::InvalidSignature
        );
    }
}

#[test]
fn postal_key_from_dns_record_base64() {
    let row = rows("postal").into_iter().next().unwrap();
    let pem = s(&row, "public_key_pem");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let key = PublicKey::from_spki_base64(&b64).unwrap();
    let v = postal::verifier(key).unwrap();
    verify(&v, s(&row, "body").as_bytes(), &headers(&row)).unwrap();
}

fn v1a_row() -> Value {
    vectors()
        .into_iter()
        .find(|r| r["scheme"] == "standard_webhooks_v1a_ed25519")
        .unwrap()
}

#[test]
fn standard_webhooks_v1a_vector() {
    let row = v1a_row();
    assert!(row["expected_valid"].as_bool().unwrap());
    let key = PublicKey::from_whpk(s(&row, "public_key")).unwrap();
    let ts: i64 = s(&row, "timestamp").parse().unwrap();
    let v = StandardWebhooksV1a::new(key).unwrap().freshness(at(ts));
    let body = s(&row, "body").as_bytes();
    let hs = headers(&row);
    let proof = v
        .verify(&WebhookRequest::new(body).with_headers(&hs))
        .unwrap();
    assert_eq!(proof.scheme(), "standard-webhooks-v1a");
    assert_eq!(proof.message_id(), Some(s(&row, "msg_id")));
    assert_eq!(proof.timestamp_ms(), Some(ts * 1000));
    assert_eq!(proof.key_id(), Some("default"));

    // The Svix-branded headers.
    let svix: Vec<_> = hs
        .iter()
        .map(|(n, v)| (n.replace("webhook-", "svix-"), v.clone()))
        .collect();
    verify(&v, body, &svix).unwrap();

    // The signer twin reproduces the vector from the whsk_ key (both layouts).
    let pair = PrivateKey::from_whsk(s(&row, "secret_key")).unwrap();
    let message = Outgoing::new(body).id(s(&row, "msg_id")).timestamp_secs(ts);
    let signed = StandardWebhooksV1aSigner::new(pair)
        .unwrap()
        .sign(&message)
        .unwrap();
    assert_eq!(signed.get("webhook-signature"), Some(s(&row, "expected")));
    assert_eq!(signed.get("webhook-id"), Some(s(&row, "msg_id")));
    let seed_only = {
        let raw = STANDARD
            .decode(s(&row, "secret_key").trim_start_matches("whsk_"))
            .unwrap();
        format!("whsk_{}", STANDARD.encode(&raw[..32]))
    };
    let signed = StandardWebhooksV1aSigner::svix(PrivateKey::from_whsk(&seed_only).unwrap())
        .unwrap()
        .sign(&message)
        .unwrap();
    assert_eq!(signed.get("svix-signature"), Some(s(&row, "expected")));
    verify(&v, body, &signed.into_vec()).unwrap();
}

#[test]
fn standard_webhooks_v1a_entries() {
    let row = v1a_row();
    let key = PublicKey::from_whpk(s(&row, "public_key")).unwrap();
    let v = StandardWebhooksV1a::new(key)
        .unwrap()
        .freshness(at(1_614_265_330));
    let body = s(&row, "body").as_bytes();
    let valid = s(&row, "expected").to_owned();
    let mut hs = headers(&row);
    let with = |hs: &mut Vec<(String, String)>, sig: &str| {
        set(hs, "webhook-signature", sig.to_owned());
        verify(&v, body, hs)
    };

    // An empty entry is never accepted, alone or among others.
    for empty in ["v1a,", "v1a, v1a,", "v1a,=", "v1a,== v1,", "v1a"] {
        assert_eq!(
            kind(with(&mut hs, empty)),
            VerifyErrorKind::InvalidSignature,
            "{empty}"
        );
    }
    // Garbage, other versions and other keys' signatures before a valid entry are skipped.
    let other = STANDARD.encode([7u8; 64]);
    let noisy = format!("v1a,!!! v1a,AAAA v1,{other} v2a,{other} v1a,{other}  {valid}");
    with(&mut hs, &noisy).unwrap();
    // Only other versions: nothing to check.
    let v1_only = format!("v1,{}", &valid[4..]);
    assert_eq!(
        kind(with(&mut hs, &v1_only)),
        VerifyErrorKind::InvalidSignature
    );
    // Bounded: 17 entries are malformed even when the last is valid.
    let many = format!("{} {valid}", vec!["v1a,AAAA"; 16].join(" "));
    assert_eq!(kind(with(&mut hs, &many)), VerifyErrorKind::MalformedHeader);
    let fifteen = format!("{} {valid}", vec!["v1a,AAAA"; 15].join(" "));
    with(&mut hs, &fifteen).unwrap();
    // Bounded: a header over 8 KiB.
    let long = format!("{} {valid}", "x".repeat(9000));
    assert_eq!(kind(with(&mut hs, &long)), VerifyErrorKind::MalformedHeader);
    // Unpadded base64 is not the encoding: skipped.
    let unpadded = valid.trim_end_matches('=').to_owned();
    assert_eq!(
        kind(with(&mut hs, &unpadded)),
        VerifyErrorKind::InvalidSignature
    );

    // Each distinct signature costs a public-key check per key, so a request may carry at
    // most 4 distinct ones checked (a repeated one is checked once): entries after them are
    // not read, so a valid one there does not count, and one among the first 4 does.
    let forged = |n: u8| format!("v1a,{}", STANDARD.encode([n; 64]));
    let repeated = format!("{} {valid}", vec![forged(1); 14].join(" "));
    with(&mut hs, &repeated).unwrap();
    let four = format!("{} {} {} {valid}", forged(1), forged(2), forged(3));
    with(&mut hs, &four).unwrap();
    let five = format!(
        "{} {} {} {} {valid}",
        forged(1),
        forged(2),
        forged(3),
        forged(4)
    );
    let err = with(&mut hs, &five).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature);
    let valid_first = format!(
        "{valid} {} {} {} {} {}",
        forged(1),
        forged(2),
        forged(3),
        forged(4),
        forged(5)
    );
    with(&mut hs, &valid_first).unwrap();
}

/// RSA keys below 2048 bits are refused unless the scheme admits a legacy sender's 1024-bit
/// keys; Postal's preset does (its installations sign with them).
#[test]
fn rsa_1024_keys_need_the_legacy_opt_in() {
    let row = rows("postal").into_iter().next().unwrap();
    let key = PublicKey::from_pem(s(&row, "public_key_pem")).unwrap();
    let scheme = || {
        AsymmetricScheme::new("legacy", AsymmetricAlgorithm::RsaPkcs1v15Sha256, "x-sig")
            .content([Part::Body])
    };
    let err = scheme().verifier(key.clone()).unwrap_err();
    assert!(err.to_string().contains("1024 bits"), "{err}");
    assert!(err.to_string().contains("at least 2048"), "{err}");
    assert!(scheme().allow_rsa_1024().verifier(key.clone()).is_ok());
    assert!(postal::verifier(key).is_ok());
    // 2048 bits need nothing.
    let rsa2048 = PublicKey::from_pem(&fixture("rsa2048-public.pem")).unwrap();
    assert!(scheme().verifier(rsa2048).is_ok());
    // A signer is held to what the scheme's verifier accepts.
    let private = || PrivateKey::from_pem(&fixture("rsa1024-private.pem")).unwrap();
    let err = scheme().signer(private()).unwrap_err();
    assert!(err.to_string().contains("at least 2048"), "{err}");
    let signer = scheme().allow_rsa_1024().signer(private()).unwrap();
    let verifier = scheme()
        .allow_rsa_1024()
        .verifier(private().public_key())
        .unwrap();
    let message = Outgoing::new(b"{}");
    let signed = signer.sign(&message).unwrap();
    verify(&verifier, b"{}", &signed.into_vec()).unwrap();
}

#[test]
fn standard_webhooks_v1a_missing_and_stale() {
    let row = v1a_row();
    let key = PublicKey::from_whpk(s(&row, "public_key")).unwrap();
    let body = s(&row, "body").as_bytes();
    let hs = headers(&row);
    let v = StandardWebhooksV1a::new(key.clone())
        .unwrap()
        .freshness(at(1_614_265_330));
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let without: Vec<_> = hs.iter().filter(|(n, _)| n != name).cloned().collect();
        assert_eq!(
            kind(verify(&v, body, &without)),
            VerifyErrorKind::MissingHeader,
            "{name}"
        );
    }
    let late = StandardWebhooksV1a::new(key.clone())
        .unwrap()
        .freshness(at(1_614_265_330 + 301));
    assert_eq!(
        kind(verify(&late, body, &hs)),
        VerifyErrorKind::TimestampTooOld
    );
    let early = StandardWebhooksV1a::new(key)
        .unwrap()
        .freshness(at(1_614_265_330 - 301));
    assert_eq!(
        kind(verify(&early, body, &hs)),
        VerifyErrorKind::TimestampInFuture
    );
}

// ---------------------------------------------------------------------------------------------
// ECDSA: DER only, high-S accepted, malleated twins are one delivery

/// P-256 group order.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `(r, s)` of a DER ECDSA signature, each left-padded to 32 bytes.
fn der_to_scalars(der: &[u8]) -> ([u8; 32], [u8; 32]) {
    assert_eq!(der[0], 0x30);
    let mut at = 2;
    let mut int = || {
        assert_eq!(der[at], 0x02);
        let len = der[at + 1] as usize;
        let bytes = &der[at + 2..at + 2 + len];
        at += 2 + len;
        let bytes = &bytes[bytes.len().saturating_sub(32)..];
        let mut out = [0u8; 32];
        out[32 - bytes.len()..].copy_from_slice(bytes);
        out
    };
    let r = int();
    let s = int();
    (r, s)
}

fn scalars_to_der(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    fn int(x: &[u8; 32]) -> Vec<u8> {
        let first = x.iter().position(|&b| b != 0).unwrap_or(31);
        let mut body = x[first..].to_vec();
        if body[0] & 0x80 != 0 {
            body.insert(0, 0);
        }
        let mut out = vec![0x02, body.len() as u8];
        out.extend(body);
        out
    }
    let (r, s) = (int(r), int(s));
    let mut out = vec![0x30, (r.len() + s.len()) as u8];
    out.extend(r);
    out.extend(s);
    out
}

fn n_minus(s: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(P256_N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

#[test]
fn ecdsa_raw_r_s_is_rejected_and_high_s_twins_share_a_replay_token() {
    let row = rows("sendgrid")
        .into_iter()
        .find(|r| r["timestamp"] == "1600112502")
        .unwrap();
    let key = PublicKey::from_spki_base64(s(&row, "public_key")).unwrap();
    let v = sendgrid::verifier(key)
        .unwrap()
        .freshness(at(1_600_112_502));
    let body = s(&row, "body").as_bytes();
    let hs = headers(&row);
    let sig_header = "X-Twilio-Email-Event-Webhook-Signature";
    let der = STANDARD.decode(get(&hs, sig_header)).unwrap();
    let (r, s_high) = der_to_scalars(&der);
    assert!(s_high[0] >= 0x80, "this official vector is high-S");
    assert_eq!(scalars_to_der(&r, &s_high), der);

    let original = v
        .verify(&WebhookRequest::new(body).with_headers(&hs))
        .unwrap();

    // The raw fixed-size form of the same, valid, signature: rejected.
    let mut raw = r.to_vec();
    raw.extend_from_slice(&s_high);
    let mut raw_hs = hs.clone();
    set(&mut raw_hs, sig_header, STANDARD.encode(&raw));
    assert_eq!(
        kind(verify(&v, body, &raw_hs)),
        VerifyErrorKind::InvalidSignature
    );

    // The low-S twin verifies too (ECDSA malleability) but is the same delivery.
    let low = scalars_to_der(&r, &n_minus(&s_high));
    let mut low_hs = hs.clone();
    set(&mut low_hs, sig_header, STANDARD.encode(&low));
    let twin = v
        .verify(&WebhookRequest::new(body).with_headers(&low_hs))
        .unwrap();
    assert!(original.replay_token().is_some());
    assert_eq!(original.replay_token(), twin.replay_token());

    // A padded (non-minimal, BER) integer is not DER: rejected.
    let mut ber = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
    ber.extend_from_slice(&der[4..]);
    let mut ber_hs = hs.clone();
    set(&mut ber_hs, sig_header, STANDARD.encode(&ber));
    assert_eq!(
        kind(verify(&v, body, &ber_hs)),
        VerifyErrorKind::InvalidSignature
    );
}

#[test]
fn sendgrid_repeated_header_garbage_then_valid() {
    let row = rows("sendgrid").into_iter().next().unwrap();
    let key = PublicKey::from_spki_base64(s(&row, "public_key")).unwrap();
    let ts: i64 = s(&row, "timestamp").parse().unwrap();
    let v = sendgrid::verifier(key).unwrap().freshness(at(ts));
    let hs = headers(&row);
    let sig = get(&hs, "X-Twilio-Email-Event-Webhook-Signature");
    let request = WebhookRequest::new(s(&row, "body").as_bytes())
        .with_header("X-Twilio-Email-Event-Webhook-Signature", "not base64!")
        .with_header("X-Twilio-Email-Event-Webhook-Signature", "MEUCIQ==")
        .with_header("X-Twilio-Email-Event-Webhook-Signature", sig)
        .with_header(
            "X-Twilio-Email-Event-Webhook-Timestamp",
            s(&row, "timestamp"),
        );
    v.verify(&request).unwrap();
}

// ---------------------------------------------------------------------------------------------
// every block: round trips, rotation, one-byte changes

const ALGORITHMS: [AsymmetricAlgorithm; 4] = [
    AsymmetricAlgorithm::Ed25519,
    AsymmetricAlgorithm::EcdsaP256Sha256,
    AsymmetricAlgorithm::RsaPkcs1v15Sha256,
    AsymmetricAlgorithm::RsaPkcs1v15Sha1,
];

fn private_key(algorithm: AsymmetricAlgorithm) -> PrivateKey {
    static ED: OnceLock<PrivateKey> = OnceLock::new();
    static P256: OnceLock<PrivateKey> = OnceLock::new();
    static RSA: OnceLock<PrivateKey> = OnceLock::new();
    match algorithm {
        AsymmetricAlgorithm::Ed25519 => ED
            .get_or_init(|| PrivateKey::from_pem(&fixture("ed25519-private.pem")).unwrap())
            .clone(),
        AsymmetricAlgorithm::EcdsaP256Sha256 => P256
            .get_or_init(|| PrivateKey::from_pem(&fixture("p256-private.pem")).unwrap())
            .clone(),
        _ => RSA
            .get_or_init(|| PrivateKey::from_pem(&fixture("rsa2048-private.pem")).unwrap())
            .clone(),
    }
}

/// A scheme that signs everything it can: id, timestamp, method, URL and body.
fn full_scheme(algorithm: AsymmetricAlgorithm) -> AsymmetricScheme {
    AsymmetricScheme::new("test", algorithm, "x-sig")
        .format(SignatureFormat::versioned("v9"))
        .encoding(if algorithm == AsymmetricAlgorithm::Ed25519 {
            Encoding::Hex
        } else {
            Encoding::Base64
        })
        .message_id_header("x-id")
        .timestamp(TimestampSource::Header(
            "x-ts".into(),
            TimeFormat::UnixSeconds,
        ))
        .content([
            Part::MessageId,
            Part::lit("."),
            Part::Timestamp,
            Part::lit("."),
            Part::Method,
            Part::Url,
            Part::Body,
        ])
}

fn pair(algorithm: AsymmetricAlgorithm) -> (AsymmetricSigner, AsymmetricVerifier) {
    let key = private_key(algorithm);
    let signer = full_scheme(algorithm).signer(key.clone()).unwrap();
    let verifier = full_scheme(algorithm)
        .verifier(key.public_key().with_id("k"))
        .unwrap()
        .freshness(any_time());
    (signer, verifier)
}

const URL: &str = "https://example.com/hook";

fn request<'a>(body: &'a [u8], headers: &'a [(String, String)]) -> WebhookRequest<'a> {
    WebhookRequest::new(body)
        .with_url(URL)
        .with_headers(headers)
}

/// One signed delivery per algorithm, made once (RSA signing is slow in debug builds).
fn signed(algorithm: AsymmetricAlgorithm) -> (&'static [u8], Vec<(String, String)>) {
    static SIGNED: OnceLock<Vec<Vec<(String, String)>>> = OnceLock::new();
    const BODY: &[u8] = br#"{"type":"email.sent","data":{"to":"a@example.com"}}"#;
    let all = SIGNED.get_or_init(|| {
        ALGORITHMS
            .iter()
            .map(|&a| {
                pair(a)
                    .0
                    .sign(
                        &Outgoing::new(BODY)
                            .url(URL)
                            .id("msg_2Ld9Q7")
                            .timestamp_secs(1_700_000_000),
                    )
                    .unwrap()
                    .into_vec()
            })
            .collect()
    });
    let index = ALGORITHMS.iter().position(|&a| a == algorithm).unwrap();
    (BODY, all[index].clone())
}

#[test]
fn every_block_round_trips_and_reports_what_it_proved() {
    for algorithm in ALGORITHMS {
        let (_, verifier) = pair(algorithm);
        let (body, hs) = signed(algorithm);
        let proof = verifier.verify(&request(body, &hs)).unwrap();
        assert_eq!(proof.scheme(), "test");
        assert_eq!(proof.key_id(), Some("k"));
        assert_eq!(proof.message_id(), Some("msg_2Ld9Q7"));
        assert_eq!(proof.timestamp_ms(), Some(1_700_000_000_000));
        assert!(proof.replay_token().is_some());
        // The URL is signed.
        let elsewhere = WebhookRequest::new(body)
            .with_url("https://example.com/other")
            .with_headers(&hs);
        assert_eq!(
            verifier.verify(&elsewhere).unwrap_err().kind(),
            VerifyErrorKind::InvalidSignature,
            "{algorithm:?}"
        );
        // No URL configured for a scheme that signs it: the receiver is misconfigured.
        let no_url = WebhookRequest::new(body).with_headers(&hs);
        assert_eq!(
            verifier.verify(&no_url).unwrap_err().kind(),
            VerifyErrorKind::NotConfigured
        );
    }
}

#[test]
fn sha1_and_sha256_rsa_signatures_are_not_interchangeable() {
    let (_, v256) = pair(AsymmetricAlgorithm::RsaPkcs1v15Sha256);
    let (_, v1) = pair(AsymmetricAlgorithm::RsaPkcs1v15Sha1);
    let (body, sha1_headers) = signed(AsymmetricAlgorithm::RsaPkcs1v15Sha1);
    let (_, sha256_headers) = signed(AsymmetricAlgorithm::RsaPkcs1v15Sha256);
    assert!(v1.verify(&request(body, &sha1_headers)).is_ok());
    assert!(v256.verify(&request(body, &sha1_headers)).is_err());
    assert!(v1.verify(&request(body, &sha256_headers)).is_err());
}

#[test]
fn rotation_tries_every_key_and_skips_expired_ones() {
    let postal_key = rows("postal")[0]["public_key_pem"]
        .as_str()
        .unwrap()
        .to_owned();
    for algorithm in ALGORITHMS {
        let key = private_key(algorithm);
        let other = match algorithm {
            AsymmetricAlgorithm::Ed25519 => PrivateKey::generate_ed25519().public_key(),
            AsymmetricAlgorithm::EcdsaP256Sha256 => PrivateKey::generate_p256().public_key(),
            // A second RSA key without generating one (slow in debug builds): Postal's,
            // of 1024 bits, which the schemes below admit for this test.
            _ => PublicKey::from_pem(&postal_key).unwrap(),
        };
        let full_scheme = |algorithm| full_scheme(algorithm).allow_rsa_1024();
        let (body, hs) = signed(algorithm);
        let ring = PublicKeyRing::new()
            .with(other.clone().with_id("new"))
            .with(key.public_key().with_id("old"));
        let v = full_scheme(algorithm)
            .verifier(ring)
            .unwrap()
            .freshness(any_time());
        let proof = v.verify(&request(body, &hs)).unwrap();
        assert_eq!(proof.key_id(), Some("old"), "{algorithm:?}");

        // The clock of the freshness policy (1_700_000_000) decides expiry.
        let expired = key
            .public_key()
            .with_id("old")
            .expires_at(UNIX_EPOCH + Duration::from_secs(1_600_000_000));
        let v = full_scheme(algorithm)
            .verifier(PublicKeyRing::from([other, expired.clone()]))
            .unwrap()
            .freshness(any_time());
        assert_eq!(
            v.verify(&request(body, &hs)).unwrap_err().kind(),
            VerifyErrorKind::InvalidSignature
        );
        // Every key expired: a configuration fault (500), not the sender's (401).
        let v = full_scheme(algorithm)
            .verifier(expired)
            .unwrap()
            .freshness(any_time());
        let err = v.verify(&request(body, &hs)).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::NotConfigured, "{algorithm:?}");
        assert_eq!(err.status(), 500);
        let still_valid = key
            .public_key()
            .expires_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let v = full_scheme(algorithm)
            .verifier(still_valid)
            .unwrap()
            .freshness(any_time());
        assert!(v.verify(&request(body, &hs)).is_ok());
    }
}

fn change(text: &str, index: usize, pick: u8) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    let mut bytes = text.as_bytes().to_vec();
    let i = index % bytes.len();
    let mut replacement = ALPHABET[pick as usize % ALPHABET.len()];
    if replacement == bytes[i] {
        replacement = ALPHABET[(pick as usize + 1) % ALPHABET.len()];
    }
    bytes[i] = replacement;
    String::from_utf8(bytes).unwrap()
}

fn algorithm_strategy() -> impl Strategy<Value = AsymmetricAlgorithm> {
    prop::sample::select(ALGORITHMS.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn one_byte_of_body_changed_is_rejected(algorithm in algorithm_strategy(), index: usize, flip in 1u8..=255) {
        let (_, verifier) = pair(algorithm);
        let (body, hs) = signed(algorithm);
        let mut body = body.to_vec();
        let i = index % body.len();
        body[i] ^= flip;
        let err = verifier.verify(&request(&body, &hs)).unwrap_err();
        prop_assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature);
    }

    #[test]
    fn one_byte_of_signature_changed_is_rejected(algorithm in algorithm_strategy(), index: usize, flip in 1u8..=255) {
        let (_, verifier) = pair(algorithm);
        let (body, mut hs) = signed(algorithm);
        let encoded = &get(&hs, "x-sig")["v9,".len()..];
        let encoding = if algorithm == AsymmetricAlgorithm::Ed25519 { Encoding::Hex } else { Encoding::Base64 };
        let mut raw = match encoding {
            Encoding::Hex => hex::decode(encoded).unwrap(),
            _ => STANDARD.decode(encoded).unwrap(),
        };
        let i = index % raw.len();
        raw[i] ^= flip;
        let reencoded = match encoding {
            Encoding::Hex => hex::encode(&raw),
            _ => STANDARD.encode(&raw),
        };
        set(&mut hs, "x-sig", format!("v9,{reencoded}"));
        let err = verifier.verify(&request(body, &hs)).unwrap_err();
        prop_assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature);
    }

    #[test]
    fn one_byte_of_timestamp_changed_is_rejected(algorithm in algorithm_strategy(), index: usize, digit in 0u8..10) {
        let (_, verifier) = pair(algorithm);
        let (body, mut hs) = signed(algorithm);
        let ts = get(&hs, "x-ts").to_owned();
        let mut bytes = ts.into_bytes();
        let i = index % bytes.len();
        let mut d = b'0' + digit;
        if d == bytes[i] { d = b'0' + (digit + 1) % 10; }
        bytes[i] = d;
        let leading_zero = bytes[0] == b'0';
        set(&mut hs, "x-ts", String::from_utf8(bytes).unwrap());
        let err = verifier.verify(&request(body, &hs)).unwrap_err();
        // A leading zero is no timestamp at all; any other digit changed breaks the signature.
        let expected = if leading_zero { VerifyErrorKind::MalformedHeader } else { VerifyErrorKind::InvalidSignature };
        prop_assert_eq!(err.kind(), expected);
    }

    #[test]
    fn one_byte_of_id_changed_is_rejected(algorithm in algorithm_strategy(), index: usize, pick: u8) {
        let (_, verifier) = pair(algorithm);
        let (body, mut hs) = signed(algorithm);
        let id = change(get(&hs, "x-id"), index, pick);
        set(&mut hs, "x-id", id);
        let err = verifier.verify(&request(body, &hs)).unwrap_err();
        prop_assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature);
    }

    #[test]
    fn fast_blocks_round_trip_any_body(
        algorithm in prop::sample::select(vec![AsymmetricAlgorithm::Ed25519, AsymmetricAlgorithm::EcdsaP256Sha256]),
        body in prop::collection::vec(any::<u8>(), 0..512),
        id in "[A-Za-z0-9_]{1,40}",
        ts in 0i64..4_000_000_000,
    ) {
        let (signer, verifier) = pair(algorithm);
        let hs = signer.sign(&Outgoing::new(&body).url(URL).id(id.clone()).timestamp_secs(ts)).unwrap().into_vec();
        let proof = verifier.verify(&request(&body, &hs)).unwrap();
        prop_assert_eq!(proof.message_id(), Some(id.as_str()));
        prop_assert_eq!(proof.timestamp_ms(), Some(ts * 1000));
    }

    #[test]
    fn v1a_round_trips_any_body(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let key = private_key(AsymmetricAlgorithm::Ed25519);
        let signer = StandardWebhooksV1aSigner::new(key.clone()).unwrap();
        let verifier = StandardWebhooksV1a::new(key.public_key()).unwrap().freshness(at(1_700_000_000));
        let hs = signer.sign(&Outgoing::new(&body).timestamp_secs(1_700_000_000)).unwrap();
        let proof = verifier.verify(&hs.apply(WebhookRequest::new(&body))).unwrap();
        prop_assert!(proof.message_id().unwrap().starts_with("msg_"));
    }

    #[test]
    fn hostile_signature_headers_never_panic(value in "\\PC{0,300}", algorithm in algorithm_strategy()) {
        let (_, verifier) = pair(algorithm);
        let (body, mut hs) = signed(algorithm);
        set(&mut hs, "x-sig", value);
        prop_assert!(verifier.verify(&request(body, &hs)).is_err());
    }
}

#[test]
fn rsa_round_trips_several_bodies() {
    for algorithm in [
        AsymmetricAlgorithm::RsaPkcs1v15Sha256,
        AsymmetricAlgorithm::RsaPkcs1v15Sha1,
    ] {
        let (signer, verifier) = pair(algorithm);
        for body in [&b""[..], b"x", &[0xff; 300]] {
            let hs = signer
                .sign(
                    &Outgoing::new(body)
                        .url(URL)
                        .id("m")
                        .timestamp_secs(1_700_000_000),
                )
                .unwrap()
                .into_vec();
            verifier.verify(&request(body, &hs)).unwrap();
        }
    }
}

#[test]
fn postal_signer_round_trips() {
    let key = private_key(AsymmetricAlgorithm::RsaPkcs1v15Sha256);
    let body = br#"{"event":"MessageSent"}"#;
    let hs = postal::signer(key.clone())
        .unwrap()
        .sign(&Outgoing::new(body))
        .unwrap();
    assert!(hs.get("x-postal-signature").is_some());
    assert!(hs.get("x-postal-signature-256").is_some());
    let hs = hs.into_vec();
    postal::verifier(key.public_key())
        .unwrap()
        .verify(&WebhookRequest::new(body).with_headers(&hs))
        .unwrap();
    let sha1_only: Vec<_> = hs
        .iter()
        .filter(|(n, _)| n == "x-postal-signature")
        .cloned()
        .collect();
    postal::verifier(key.public_key())
        .unwrap()
        .allow_legacy_sha1()
        .verify(&WebhookRequest::new(body).with_headers(&sha1_only))
        .unwrap();
}

#[test]
fn discord_signer_round_trips_with_a_fresh_key() {
    let key = PrivateKey::generate_ed25519();
    let hs = discord::signer(key.clone())
        .unwrap()
        .sign(&Outgoing::new(b"{\"type\":1}").timestamp_secs(1_700_000_000))
        .unwrap();
    let v = discord::verifier(key.public_key())
        .unwrap()
        .freshness(at(1_700_000_000));
    v.verify(&hs.apply(WebhookRequest::new(b"{\"type\":1}")))
        .unwrap();
    assert!(
        v.verify(&hs.apply(WebhookRequest::new(b"{\"type\":2}")))
            .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// keys

#[test]
fn keys_load_from_every_supported_form() {
    let forms = [
        (
            "ed25519-private.pem",
            "ed25519-public.pem",
            AsymmetricAlgorithm::Ed25519,
        ),
        (
            "p256-private.pem",
            "p256-public.pem",
            AsymmetricAlgorithm::EcdsaP256Sha256,
        ),
        (
            "p256-private-sec1.pem",
            "p256-public.pem",
            AsymmetricAlgorithm::EcdsaP256Sha256,
        ),
        (
            "rsa2048-private.pem",
            "rsa2048-public.pem",
            AsymmetricAlgorithm::RsaPkcs1v15Sha256,
        ),
        (
            "rsa2048-private-pkcs1.pem",
            "rsa2048-public-pkcs1.pem",
            AsymmetricAlgorithm::RsaPkcs1v15Sha256,
        ),
    ];
    for (private, public, algorithm) in forms {
        let sk = PrivateKey::from_pem(&fixture(private)).unwrap();
        let pem = fixture(public);
        let pk = PublicKey::from_pem(&pem).unwrap();
        let parsed = PublicKey::parse(&pem).unwrap();
        let body = b"key forms";
        let hs = full_scheme(algorithm)
            .signer(sk)
            .unwrap()
            .sign(
                &Outgoing::new(body)
                    .url(URL)
                    .id("m")
                    .timestamp_secs(1_700_000_000),
            )
            .unwrap()
            .into_vec();
        for key in [pk, parsed] {
            let v = full_scheme(algorithm)
                .verifier(key)
                .unwrap()
                .freshness(any_time());
            assert!(
                v.verify(&request(body, &hs)).is_ok(),
                "{private} / {public}"
            );
        }
    }
    // Base64 DER SPKI and raw forms agree with PEM.
    let pem = fixture("ed25519-public.pem");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let from_b64 = PublicKey::from_spki_base64(&b64).unwrap();
    let from_pem = PublicKey::from_pem(&pem).unwrap();
    assert_eq!(from_b64.to_whpk(), from_pem.to_whpk());
    let whpk = from_pem.to_whpk().unwrap();
    assert_eq!(
        PublicKey::parse(&whpk).unwrap().to_whpk().as_deref(),
        Some(whpk.as_str())
    );
    let hex_key = hex::encode(STANDARD.decode(&whpk["whpk_".len()..]).unwrap());
    assert_eq!(
        PublicKey::parse(&hex_key).unwrap().to_whpk().as_deref(),
        Some(whpk.as_str())
    );
    assert!(
        PublicKey::from_pem(&fixture("p256-public.pem"))
            .unwrap()
            .to_whpk()
            .is_none()
    );
}

fn config_error<T: std::fmt::Debug>(result: Result<T, webhook_core::ConfigError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn undecodable_keys_are_config_errors() {
    for text in [
        "",
        "garbage",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        "whpk_AAAA",
        "whpk_!!!",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f70751",
    ] {
        assert!(PublicKey::parse(text).is_err(), "{text:?}");
    }
    assert!(PublicKey::from_spki_base64("not base64!").is_err());
    assert!(PublicKey::from_spki_base64("AAAA").is_err());
    assert!(PublicKey::ed25519_hex("zz").is_err());
    assert!(PublicKey::ed25519(&[0u8; 31]).is_err());
    assert!(PublicKey::from_whpk("whpk_").is_err());
    // A P-384 key and a 512-bit RSA key decode but are refused.
    assert!(PublicKey::from_pem(&fixture("p384-public.pem")).is_err());
    let short = config_error(PublicKey::from_pem(&fixture("rsa512-public.pem")));
    assert!(short.contains("512 bits"), "{short}");
    // A private key where a public one is expected, and the reverse.
    assert!(PublicKey::from_pem(&fixture("p256-private.pem")).is_err());
    assert!(PrivateKey::from_pem(&fixture("p256-public.pem")).is_err());
    assert!(PrivateKey::from_pem("garbage").is_err());
    assert!(PrivateKey::from_der_base64("!!").is_err());
    assert!(PrivateKey::from_der(b"\x30\x00").is_err());
    assert!(PrivateKey::ed25519_seed(&[1u8; 31]).is_err());
    assert!(PrivateKey::ed25519_seed_hex("xyz").is_err());
    assert!(PrivateKey::from_whsk("whsk_AAAA").is_err());
    assert!(PrivateKey::generate_rsa(1024).is_err());
    // Keys of the wrong type for a preset, and empty rings.
    let ed = PrivateKey::generate_ed25519();
    let p256 = PrivateKey::generate_p256();
    assert!(sendgrid::verifier(ed.public_key()).is_err());
    assert!(sendgrid::signer(ed.clone()).is_err());
    assert!(discord::verifier(p256.public_key()).is_err());
    assert!(discord::signer(p256.clone()).is_err());
    assert!(postal::verifier(p256.public_key()).is_err());
    assert!(postal::signer(ed.clone()).is_err());
    assert!(StandardWebhooksV1a::new(p256.public_key()).is_err());
    assert!(StandardWebhooksV1aSigner::new(p256).is_err());
    assert!(sendgrid::verifier(PublicKeyRing::new()).is_err());
    assert!(StandardWebhooksV1a::new(PublicKeyRing::new()).is_err());
    // Inconsistent schemes.
    let key = ed.public_key();
    let scheme = AsymmetricScheme::new("x", AsymmetricAlgorithm::Ed25519, "sig");
    assert!(
        scheme
            .clone()
            .content([Part::Timestamp])
            .verifier(key.clone())
            .is_err()
    );
    assert!(
        scheme
            .clone()
            .content([Part::MessageId])
            .verifier(key.clone())
            .is_err()
    );
    assert!(scheme.clone().content([]).verifier(key.clone()).is_err());
    assert!(
        scheme
            .timestamp(TimestampSource::SignatureHeader(TimeFormat::UnixSeconds))
            .verifier(key)
            .is_err()
    );
}

#[test]
fn key_value_format_with_timestamp_in_the_signature_header() {
    let key = PrivateKey::generate_ed25519();
    let scheme = AsymmetricScheme::new("kv", AsymmetricAlgorithm::Ed25519, "sig")
        .format(SignatureFormat::key_value(',', "t", "v1"))
        .timestamp(TimestampSource::SignatureHeader(TimeFormat::UnixSeconds))
        .content([Part::Timestamp, Part::lit("."), Part::Body]);
    let hs = scheme
        .clone()
        .signer(key.clone())
        .unwrap()
        .sign(&Outgoing::new(b"{}").timestamp_secs(1_700_000_000))
        .unwrap();
    let value = hs.get("sig").unwrap();
    assert!(value.starts_with("t=1700000000,v1="));
    let v = scheme
        .verifier(key.public_key())
        .unwrap()
        .freshness(at(1_700_000_000));
    assert!(v.verify(&hs.apply(WebhookRequest::new(b"{}"))).is_ok());
    let conflicting = format!("t=1700000001,{value}");
    let request = WebhookRequest::new(b"{}").with_header("sig", &conflicting);
    assert_eq!(
        v.verify(&request).unwrap_err().kind(),
        VerifyErrorKind::MalformedHeader
    );
}

// ---------------------------------------------------------------------------------------------
// nothing secret or signed leaks through Debug, Display or errors

fn assert_no_leak(text: &str, needles: &[&str]) {
    for needle in needles {
        // Any 12-character window of a key or signature text would be a leak.
        let chars: Vec<char> = needle.chars().collect();
        for window in chars.windows(12).step_by(6) {
            let window: String = window.iter().collect();
            assert!(!text.contains(&window), "leaked {window:?} in {text}");
        }
    }
}

#[test]
fn debug_and_display_show_no_key_or_signature() {
    let row = v1a_row();
    let whpk = s(&row, "public_key");
    let whsk = s(&row, "secret_key");
    let sig = s(&row, "expected");
    let rsa_pem = fixture("rsa2048-private.pem");
    let rsa_body: String = rsa_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let p256_pem = fixture("p256-public.pem");
    let p256_body: String = p256_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let needles = [
        &whpk[5..],
        &whsk[5..],
        &sig[4..],
        "d75a980182b10ab7d54bfed3c964073a",
        "9d61b19deffd5a60ba844af492ec2cc4",
        rsa_body.as_str(),
        p256_body.as_str(),
    ];

    let pk = PublicKey::from_whpk(whpk).unwrap();
    let sk = PrivateKey::from_whsk(whsk).unwrap();
    let rsa = PrivateKey::from_pem(&rsa_pem).unwrap();
    let p256 = PublicKey::from_pem(&p256_pem).unwrap();
    let discord_key =
        PublicKey::ed25519_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            .unwrap();
    let seed = PrivateKey::ed25519_seed_hex(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    )
    .unwrap();
    let verifier = StandardWebhooksV1a::new(pk.clone())
        .unwrap()
        .freshness(at(1_614_265_330));
    let signer = StandardWebhooksV1aSigner::new(sk.clone()).unwrap();
    let signed = signer
        .sign(
            &Outgoing::new(s(&row, "body").as_bytes())
                .id("msg_1")
                .timestamp_secs(1_614_265_330),
        )
        .unwrap();

    // A rejected request that carries the valid signature of another body.
    let hs = headers(&row);
    let rejected = verifier
        .verify(&WebhookRequest::new(b"other").with_headers(&hs))
        .unwrap_err();
    let malformed = verifier
        .verify(
            &WebhookRequest::new(b"other")
                .with_header("webhook-id", "msg_1")
                .with_header("webhook-timestamp", "1614265330")
                .with_header(
                    "webhook-signature",
                    &format!("{} {sig}", vec!["v1a,x"; 20].join(" ")),
                ),
        )
        .unwrap_err();
    let config = PublicKey::parse(&format!("whpk_{}", &whsk[5..40])).unwrap_err();
    let config2 = sendgrid::verifier(pk.clone()).unwrap_err();

    let texts = [
        format!("{pk:?}"),
        format!("{sk:?}"),
        format!("{rsa:?}"),
        format!("{p256:?}"),
        format!("{discord_key:?}"),
        format!("{seed:?}"),
        format!("{:?}", PublicKeyRing::from([pk.clone(), p256.clone()])),
        format!("{verifier:?}"),
        format!("{signer:?}"),
        format!("{signed:?}"),
        format!("{:?}", sendgrid::verifier(p256.clone()).unwrap()),
        format!("{:?}", discord::signer(seed.clone()).unwrap()),
        format!("{:?}", discord::verifier(discord_key).unwrap()),
        format!("{:?}", postal::signer(rsa.clone()).unwrap()),
        format!("{:?}", postal::verifier(rsa.public_key()).unwrap()),
        format!("{rejected:?} {rejected} {}", rejected.to_json()),
        format!("{malformed:?} {malformed} {}", malformed.to_json()),
        format!("{config:?} {config}"),
        format!("{config2:?} {config2}"),
    ];
    for text in &texts {
        assert_no_leak(text, &needles);
    }
    assert_eq!(format!("{sk:?}"), "PrivateKey { kind: Ed25519, .. }");
    assert!(texts[0].contains("Ed25519"));
    // The signed headers do carry the signature (that is their job), but their Debug does not.
    assert_eq!(
        signed
            .get("webhook-signature")
            .map(|v| v.starts_with("v1a,")),
        Some(true)
    );
    let _: &SignedHeaders = &signed;
}

#[test]
fn keys_from_the_environment_name_the_variable_not_the_value() {
    let err = PublicKey::from_env_with(
        "WEBHOOK_ASYM_TEST_SURELY_UNSET",
        PublicKey::from_spki_base64,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("WEBHOOK_ASYM_TEST_SURELY_UNSET"), "{err}");
}
