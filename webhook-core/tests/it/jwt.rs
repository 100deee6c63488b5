//! `JwtBearer` and `JwtSigner`: algorithms and key binding, time claims against the injected
//! clock, issuer and audience, required claims, JWKS, body binding, deduplication by `jti`,
//! public keys refused as HMAC secrets, key expiry, malformed tokens, and leakage.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use webhook_core::{
    FixedClock, JwtAlgorithm, JwtBearer, JwtKey, JwtSigner, Outgoing, Proof, Secret, Signer,
    Verifier, VerifyError, VerifyErrorKind, WebhookRequest,
};

const NOW: i64 = 1_700_000_000;
const HS_SECRET: &str = "jwt-test-secret-hunter2-0123456789-long-enough-for-hs512-0123456";
const BEARER_CHALLENGE: &str = r#"Bearer realm="webhook""#;
const BEARER_INVALID: &str = r#"Bearer realm="webhook", error="invalid_token""#;

const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/rsa-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../fixtures/auth/rsa-public.pem");
const RSA2_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/rsa2-private.pem");
const RSA2_PUBLIC: &[u8] = include_bytes!("../fixtures/auth/rsa2-public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/ec-private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../fixtures/auth/ec-public.pem");
const EC384_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/ec384-private.pem");
const EC384_PUBLIC: &[u8] = include_bytes!("../fixtures/auth/ec384-public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("../fixtures/auth/ed25519-private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../fixtures/auth/ed25519-public.pem");

fn secret() -> Secret {
    Secret::from_text(HS_SECRET).unwrap()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::at_secs(NOW))
}

fn hs_verifier() -> JwtBearer {
    JwtBearer::hmac(secret()).unwrap().clock(clock())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token from raw header and claims JSON text, HS256-signed with `key`: for claims no
/// serializer would write (`alg: none`, 1e400, duplicate names).
fn craft(header: &str, claims: &str, key: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// An HS256 token with these claims, signed with the test secret.
fn hs(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

fn check(verifier: &JwtBearer, token: &str) -> Result<Proof, VerifyError> {
    check_body(verifier, token, b"{}")
}

fn check_body(verifier: &JwtBearer, token: &str, body: &[u8]) -> Result<Proof, VerifyError> {
    let value = format!("Bearer {token}");
    verifier.verify(&WebhookRequest::new(body).with_header("Authorization", &value))
}

#[track_caller]
fn assert_invalid(result: Result<Proof, VerifyError>, mentions: &str) -> VerifyError {
    let err = result.unwrap_err();
    // Time claims are refused with the kinds every scheme uses for stale and future
    // timestamps; everything else is invalid credentials.
    let kind = match mentions {
        "expired" | "older than the maximum age" => VerifyErrorKind::TimestampTooOld,
        "`nbf`" | "`iat` is in the future" => VerifyErrorKind::TimestampInFuture,
        _ => VerifyErrorKind::InvalidCredentials,
    };
    assert_eq!(err.kind(), kind, "{err:?}");
    assert_eq!(err.status(), 401);
    assert_eq!(err.www_authenticate(), Some(BEARER_INVALID));
    assert!(
        err.message().contains(mentions),
        "{:?} should mention {mentions:?}",
        err.message()
    );
    err
}

// ---------------------------------------------------------------- round trips

#[test]
fn hs256_round_trip_reports_kid_sub_and_iat() {
    let signer = JwtSigner::hmac(secret())
        .unwrap()
        .key_id("k-2026")
        .subject("billing")
        .clock(clock());
    let headers = signer
        .sign(&Outgoing::new(b"{}").id("msg_42").timestamp_secs(NOW - 5))
        .unwrap();
    let proof = hs_verifier()
        .verify(&headers.apply(WebhookRequest::new(b"{}")))
        .unwrap();
    assert_eq!(proof.scheme(), "jwt");
    // The verifying key has no id of its own: the token's `kid` is not reported.
    assert_eq!(proof.key_id(), None);
    assert_eq!(proof.subject(), Some("billing"));
    // The token is not bound to the body: its `jti` names the token, not the delivery, and
    // deliveries are told apart by the replay token (token and body).
    assert_eq!(proof.message_id(), None);
    assert_eq!(proof.timestamp_ms(), Some((NOW - 5) * 1000));
    assert!(proof.replay_token().is_some());
    // Bound to the body, the token carries one delivery: its `jti` is the message id.
    let bound = signer
        .body_digest_claim("body_sha256")
        .sign(&Outgoing::new(b"{}").id("msg_42").timestamp_secs(NOW - 5))
        .unwrap();
    let proof = hs_verifier()
        .body_digest_claim("body_sha256")
        .verify(&bound.apply(WebhookRequest::new(b"{}")))
        .unwrap();
    assert_eq!(proof.message_id(), Some("msg_42"));
}

/// Without `jti`, a delivery's replay token is a digest of the token's signed part and the
/// body: the same token on the same body is the same delivery; on another body (a sender
/// reusing its token, as Pub/Sub does) another one; and re-forming the signature of an
/// ECDSA token does not make a copy look new.
#[test]
fn the_replay_token_covers_the_signed_claims_and_the_body() {
    let v = hs_verifier();
    let token = hs(&json!({"exp": NOW + 60, "iat": NOW}));
    let replay =
        |token: &str, body: &[u8]| check_body(&v, token, body).unwrap().replay_token().unwrap();
    assert_eq!(replay(&token, b"{}"), replay(&token, b"{}"));
    assert_ne!(replay(&token, b"{}"), replay(&token, b"{ }"));
    let other = hs(&json!({"exp": NOW + 60, "iat": NOW - 1}));
    assert_ne!(replay(&token, b"{}"), replay(&other, b"{}"));

    // ES256: (r, s) and (r, n - s) both verify; the replay token is the same for both.
    let es = JwtBearer::new([JwtKey::ec_pem(EC_PUBLIC).unwrap()])
        .unwrap()
        .clock(clock());
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &json!({"exp": NOW + 60, "iat": NOW}),
        &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
    )
    .unwrap();
    let flipped = flip_ecdsa_s(&token);
    assert_ne!(token, flipped);
    let a = check_body(&es, &token, b"{}").unwrap().replay_token();
    let b = check_body(&es, &flipped, b"{}").unwrap().replay_token();
    assert_eq!(a, b);
}

/// The same ES256 token with its signature's `s` replaced by `n - s` (still valid).
fn flip_ecdsa_s(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    let (r, s) = signature.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-s).to_bytes()).unwrap();
    format!("{signed}.{}", b64(&flipped.to_bytes()))
}

#[test]
fn signer_writes_the_claims_a_sender_writes() {
    let signer = JwtSigner::hmac(secret())
        .unwrap()
        .issuer("https://sender.example")
        .audience("receiver")
        .ttl(Duration::from_secs(120))
        .body_digest_claim("body_sha256")
        .clock(clock());
    let headers = signer.sign(&Outgoing::new(b"hello").id("msg_1")).unwrap();
    let value = headers.get("authorization").unwrap();
    let token = value.strip_prefix("Bearer ").unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iat"], json!(NOW));
    assert_eq!(claims["exp"], json!(NOW + 120));
    assert_eq!(claims["jti"], json!("msg_1"));
    assert_eq!(claims["iss"], json!("https://sender.example"));
    assert_eq!(claims["aud"], json!("receiver"));
    assert_eq!(claims["body_sha256"], json!(b64(&Sha256::digest(b"hello"))));
    // Without a message id, a random one.
    let a = signer.sign(&Outgoing::new(b"x")).unwrap();
    let b = signer.sign(&Outgoing::new(b"x")).unwrap();
    assert_ne!(a.get("authorization"), b.get("authorization"));
}

fn round_trip(signer: JwtSigner, key: JwtKey, alg: &str) {
    let headers = signer
        .clock(clock())
        .sign(&Outgoing::new(b"{}").id("m"))
        .unwrap();
    let token = headers
        .get("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(format!("{:?}", header.alg), alg);
    let verifier = JwtBearer::new([key]).unwrap().clock(clock());
    assert!(check(&verifier, &token).is_ok());
    // One changed byte of the signature is refused.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_invalid(check(&verifier, &tampered), "");
}

#[test]
fn rs256_round_trip() {
    round_trip(
        JwtSigner::rsa_pem(RSA_PRIVATE).unwrap(),
        JwtKey::rsa_pem(RSA_PUBLIC).unwrap(),
        "RS256",
    );
}

#[test]
fn ps256_round_trip() {
    round_trip(
        JwtSigner::rsa_pem(RSA_PRIVATE)
            .unwrap()
            .algorithm(JwtAlgorithm::Ps256)
            .unwrap(),
        JwtKey::rsa_pem(RSA_PUBLIC).unwrap(),
        "PS256",
    );
}

#[test]
fn es256_round_trip() {
    round_trip(
        JwtSigner::ec_pem(EC_PRIVATE).unwrap(),
        JwtKey::ec_pem(EC_PUBLIC).unwrap(),
        "ES256",
    );
}

#[test]
fn eddsa_round_trip() {
    round_trip(
        JwtSigner::ed25519_pem(ED_PRIVATE).unwrap(),
        JwtKey::ed25519_pem(ED_PUBLIC).unwrap(),
        "EdDSA",
    );
}

#[test]
fn hs512_round_trip_and_narrowed_allowlist() {
    let signer = JwtSigner::hmac(secret())
        .unwrap()
        .algorithm(JwtAlgorithm::Hs512)
        .unwrap()
        .clock(clock());
    let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    let request = headers.apply(WebhookRequest::new(b"{}"));
    assert!(hs_verifier().verify(&request).is_ok());
    let only_256 = JwtBearer::new([JwtKey::hmac(secret())
        .unwrap()
        .with_algorithms([JwtAlgorithm::Hs256])
        .unwrap()])
    .unwrap()
    .clock(clock());
    assert_invalid(only_256.verify(&request), "`alg` HS512 is not allowed");
    // A key shorter than SHA-512's 64 bytes is never used for HS512 (RFC 7518 §3.2).
    let short = Secret::from_text("a 40-byte hmac key for hs256 only, 40 by").unwrap();
    let short_key = JwtKey::hmac(short.clone()).unwrap();
    assert_eq!(short_key.algorithms(), [JwtAlgorithm::Hs256]);
    // The signer refuses to make such a token; a sender could still make one by hand.
    let error = JwtSigner::hmac(short.clone())
        .unwrap()
        .algorithm(JwtAlgorithm::Hs512)
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("HS512 needs at least 64"),
        "{error}"
    );
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &json!({"iat": NOW}),
        &EncodingKey::from_secret(short.expose_secret()),
    )
    .unwrap();
    let verifier = JwtBearer::hmac(short.clone()).unwrap().clock(clock());
    assert_invalid(check(&verifier, &forged), "`alg` HS512 is not allowed");
    // HS384 needs 48 bytes: the signer refuses a 40-byte key for it too.
    assert!(
        JwtSigner::hmac(short)
            .unwrap()
            .algorithm(JwtAlgorithm::Hs384)
            .is_err()
    );
    // Under HS256's 32 bytes, neither twin takes the key.
    let too_short = Secret::from_text("31 bytes is too short for hs256").unwrap();
    let error = JwtBearer::hmac(too_short.clone()).err().unwrap();
    assert!(error.to_string().contains("at least 32"), "{error}");
    let error = JwtSigner::hmac(too_short).err().unwrap();
    assert!(error.to_string().contains("at least 32"), "{error}");
}

#[test]
fn wrong_key_is_refused() {
    let token = JwtSigner::rsa_pem(RSA2_PRIVATE)
        .unwrap()
        .clock(clock())
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    let verifier = JwtBearer::new([JwtKey::rsa_pem(RSA_PUBLIC).unwrap()])
        .unwrap()
        .clock(clock());
    assert_invalid(
        verifier.verify(&token.apply(WebhookRequest::new(b"{}"))),
        "signature",
    );
    // Control: the matching public key accepts it.
    let right = JwtBearer::new([JwtKey::rsa_pem(RSA2_PUBLIC).unwrap()])
        .unwrap()
        .clock(clock());
    assert!(
        right
            .verify(&token.apply(WebhookRequest::new(b"{}")))
            .is_ok()
    );
    let other =
        JwtBearer::hmac(Secret::from_text("another secret, long enough for hs256").unwrap())
            .unwrap()
            .clock(clock());
    assert_invalid(check(&other, &hs(&json!({"exp": NOW + 60}))), "signature");
}

// ---------------------------------------------------------------- algorithms and keys

#[test]
fn alg_none_is_refused_in_every_spelling() {
    let verifier = hs_verifier();
    let claims = json!({"exp": NOW + 60}).to_string();
    for alg in ["none", "None", "NONE", "", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT"}).to_string();
        let unsigned = format!("{}.{}.", b64(header.as_bytes()), b64(claims.as_bytes()));
        assert_invalid(check(&verifier, &unsigned), "header");
        // Even with a valid HMAC over it.
        let signed = craft(&header, &claims, HS_SECRET.as_bytes());
        assert_invalid(check(&verifier, &signed), "header");
    }
    let no_alg = craft(r#"{"typ":"JWT"}"#, &claims, HS_SECRET.as_bytes());
    assert_invalid(check(&verifier, &no_alg), "header");
}

#[test]
fn hmac_token_signed_with_the_rsa_public_key_is_refused() {
    // The classic key confusion: the attacker knows the public key and uses its PEM bytes as
    // an HMAC secret, hoping the verifier feeds the same bytes to HMAC.
    let claims = json!({"exp": NOW + 60, "sub": "attacker"}).to_string();
    let forged = craft(r#"{"alg":"HS256","typ":"JWT"}"#, &claims, RSA_PUBLIC);
    let verifier = JwtBearer::new([JwtKey::rsa_pem(RSA_PUBLIC).unwrap()])
        .unwrap()
        .clock(clock());
    assert_invalid(check(&verifier, &forged), "`alg` HS256 is not allowed");
    // And the key cannot be configured for HMAC at all.
    assert!(
        JwtKey::rsa_pem(RSA_PUBLIC)
            .unwrap()
            .with_algorithms([JwtAlgorithm::Hs256])
            .is_err()
    );
    // With an HMAC key next to the RSA key, the forgery still fails: it is checked only against
    // the HMAC key, whose secret is not the PEM.
    let both = JwtBearer::new([
        JwtKey::rsa_pem(RSA_PUBLIC).unwrap(),
        JwtKey::hmac(secret()).unwrap(),
    ])
    .unwrap()
    .clock(clock());
    assert_invalid(check(&both, &forged), "signature");
}

#[test]
fn tokens_of_another_family_are_refused() {
    let es = JwtSigner::ec_pem(EC_PRIVATE)
        .unwrap()
        .clock(clock())
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    let rsa_only = JwtBearer::new([JwtKey::rsa_pem(RSA_PUBLIC).unwrap()])
        .unwrap()
        .clock(clock());
    assert_invalid(
        rsa_only.verify(&es.apply(WebhookRequest::new(b"{}"))),
        "`alg` ES256 is not allowed",
    );
    // ES384 is not supported at all.
    let es384 = jsonwebtoken::encode(
        &Header::new(Algorithm::ES384),
        &json!({"exp": NOW + 60}),
        &EncodingKey::from_ec_pem(EC384_PRIVATE).unwrap(),
    )
    .unwrap();
    assert_invalid(check(&rsa_only, &es384), "not supported");
}

#[test]
fn key_config_errors() {
    assert!(JwtKey::rsa_pem(b"not a pem").is_err());
    assert!(JwtKey::rsa_pem(EC_PUBLIC).is_err());
    assert!(JwtKey::ec_pem(RSA_PUBLIC).is_err());
    assert!(JwtKey::ec_pem(EC384_PUBLIC).is_err(), "only P-256");
    assert!(JwtKey::ed25519_pem(EC_PUBLIC).is_err());
    assert!(JwtKey::ed25519_pem(RSA_PUBLIC).is_err());
    assert!(
        JwtSigner::rsa_pem(RSA_PUBLIC).is_err(),
        "a public key cannot sign"
    );
    assert!(JwtSigner::ec_pem(EC384_PRIVATE).is_err());
    assert!(JwtSigner::ec_pem(ED_PRIVATE).is_err());
    assert!(JwtSigner::ed25519_pem(EC_PRIVATE).is_err());
    assert!(
        JwtSigner::hmac(secret())
            .unwrap()
            .algorithm(JwtAlgorithm::Rs256)
            .is_err()
    );
    assert!(JwtBearer::new(Vec::new()).is_err());
    assert!(JwtBearer::new(std::iter::repeat_n(JwtKey::hmac(secret()).unwrap(), 65)).is_err());
    assert!(
        JwtKey::ec_pem(EC_PUBLIC)
            .unwrap()
            .with_algorithms([JwtAlgorithm::EdDsa])
            .is_err()
    );
}

#[test]
fn crit_header_is_refused() {
    let token = craft(
        r#"{"alg":"HS256","crit":["exp"]}"#,
        &json!({"exp": NOW + 60}).to_string(),
        HS_SECRET.as_bytes(),
    );
    assert_invalid(check(&hs_verifier(), &token), "`crit`");
}

#[test]
fn embedded_key_headers_are_ignored() {
    // An attacker's own key in the header (`jwk`, `jku`, `x5u`) must never verify the token.
    let attacker = b"attacker-chosen-secret";
    let header = json!({
        "alg": "HS256",
        "jwk": {"kty": "oct", "k": b64(attacker)},
        "jku": "https://attacker.example/jwks.json",
    })
    .to_string();
    let token = craft(&header, &json!({"exp": NOW + 60}).to_string(), attacker);
    assert_invalid(check(&hs_verifier(), &token), "signature");
    // The same header signed with the configured secret is fine: the fields are ignored.
    let token = craft(
        &header,
        &json!({"exp": NOW + 60}).to_string(),
        HS_SECRET.as_bytes(),
    );
    assert!(check(&hs_verifier(), &token).is_ok());
}

// ---------------------------------------------------------------- time claims

#[test]
fn exp_is_required_and_checked_with_leeway() {
    let v = hs_verifier();
    assert_invalid(check(&v, &hs(&json!({"sub": "x"}))), "`exp` is missing");
    assert_invalid(check(&v, &hs(&json!({"exp": NOW - 61}))), "expired");
    assert_invalid(check(&v, &hs(&json!({"exp": NOW - 60}))), "expired");
    assert!(
        check(&v, &hs(&json!({"exp": NOW - 59}))).is_ok(),
        "within leeway"
    );
    let strict = hs_verifier().leeway(Duration::ZERO);
    assert_invalid(check(&strict, &hs(&json!({"exp": NOW}))), "expired");
    assert!(check(&strict, &hs(&json!({"exp": NOW + 1}))).is_ok());
    let lenient = hs_verifier().leeway(Duration::from_secs(240));
    assert!(check(&lenient, &hs(&json!({"exp": NOW - 239}))).is_ok());
    // A leeway beyond 5 minutes would switch the checks off: it is taken as 5 minutes.
    let capped = hs_verifier().leeway(Duration::from_secs(3600));
    assert!(check(&capped, &hs(&json!({"exp": NOW - 299}))).is_ok());
    assert_invalid(check(&capped, &hs(&json!({"exp": NOW - 300}))), "expired");
}

/// No token is accepted for longer than the maximum age (by `iat`, or by `exp` without
/// one), so the replay store's record of a delivery (kept for the verifier's freshness
/// window) outlives every copy of it.
#[test]
fn old_tokens_are_refused_and_the_window_covers_every_accepted_one() {
    let v = hs_verifier().max_age(Duration::from_secs(300));
    assert_eq!(
        v.freshness_window(),
        Some(Duration::from_secs(300 + 2 * 60))
    );
    let far = NOW + 86_400;
    assert!(check(&v, &hs(&json!({"exp": far, "iat": NOW - 359}))).is_ok());
    assert_invalid(
        check(&v, &hs(&json!({"exp": far, "iat": NOW - 360}))),
        "older than the maximum age",
    );
    // Without `iat`: only a token that expires within the maximum age (and leeway).
    assert!(check(&v, &hs(&json!({"exp": NOW + 360}))).is_ok());
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 361}))),
        "no `iat` and expires later",
    );
    // The default is an hour (a Google-issued token's life); the bounds are 1 s and 24 h.
    assert_eq!(
        hs_verifier().freshness_window(),
        Some(Duration::from_secs(3_600 + 120))
    );
    assert_eq!(
        hs_verifier().max_age(Duration::ZERO).freshness_window(),
        Some(Duration::from_secs(1 + 120))
    );
    assert_eq!(
        hs_verifier()
            .max_age(Duration::from_secs(10 * 86_400))
            .freshness_window(),
        Some(Duration::from_secs(86_400 + 120))
    );
    // The window holds whatever the token: first seen at the latest moment `iat` allows,
    // a copy is refused once the window has passed.
    let clock = clock();
    let v = JwtBearer::hmac(secret())
        .unwrap()
        .max_age(Duration::from_secs(300))
        .clock(clock.clone());
    let window = v.freshness_window().unwrap();
    for claims in [
        json!({"exp": far, "iat": NOW + 60}),
        json!({"exp": NOW + 360}),
    ] {
        let token = hs(&claims);
        clock.set_ms(NOW * 1000);
        assert!(check(&v, &token).is_ok(), "{claims}");
        clock.set_ms((NOW * 1000) + i64::try_from(window.as_millis()).unwrap());
        assert!(
            check(&v, &token).is_err(),
            "{claims}: accepted after the window"
        );
    }
}

#[test]
fn time_comes_from_the_injected_clock() {
    let clock = clock();
    let v = JwtBearer::hmac(secret())
        .unwrap()
        .leeway(Duration::ZERO)
        .clock(clock.clone());
    let token = hs(&json!({"exp": NOW + 10}));
    assert!(check(&v, &token).is_ok());
    clock.advance(Duration::from_secs(10));
    assert_invalid(check(&v, &token), "expired");
    // A token valid by the system clock but not by the injected one.
    let far_past = JwtBearer::hmac(secret())
        .unwrap()
        .clock(Arc::new(FixedClock::at_secs(0)));
    assert_invalid(
        check(&far_past, &hs(&json!({"exp": 60, "nbf": 100}))),
        "`nbf`",
    );
}

#[test]
fn nbf_and_iat_in_the_future_are_refused() {
    let v = hs_verifier();
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 600, "nbf": NOW + 61}))),
        "`nbf`",
    );
    assert!(check(&v, &hs(&json!({"exp": NOW + 600, "nbf": NOW + 59}))).is_ok());
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 600, "iat": NOW + 61}))),
        "`iat` is in the future",
    );
    let proof = check(&v, &hs(&json!({"exp": NOW + 600, "iat": NOW + 59}))).unwrap();
    assert_eq!(proof.timestamp_ms(), Some((NOW + 59) * 1000));
}

#[test]
fn time_claims_must_be_numbers() {
    let v = hs_verifier();
    for bad in [json!("9999999999"), json!(true), json!(null)] {
        assert_invalid(
            check(&v, &hs(&json!({"exp": bad}))),
            "`exp` is not a number",
        );
        assert_invalid(
            check(&v, &hs(&json!({"exp": NOW + 60, "nbf": bad}))),
            "`nbf` is not a number",
        );
        assert_invalid(
            check(&v, &hs(&json!({"exp": NOW + 60, "iat": bad}))),
            "`iat` is not a number",
        );
    }
    // Arrays and objects already fail jsonwebtoken's own claim parsing: refused all the same.
    for bad in [json!([NOW + 60]), json!({"n": NOW + 60})] {
        for name in ["exp", "nbf", "iat"] {
            let mut claims = json!({"exp": NOW + 60});
            claims[name] = bad.clone();
            assert_invalid(check(&v, &hs(&claims)), "");
        }
    }
}

#[test]
fn extreme_numbers_never_overflow() {
    let v = hs_verifier();
    let ok = |claims: Value| assert!(check(&v, &hs(&claims)).is_ok(), "{claims}");
    ok(json!({"exp": i64::MAX, "iat": NOW}));
    ok(json!({"exp": u64::MAX, "iat": NOW}));
    ok(json!({"exp": 1e300, "iat": NOW}));
    ok(json!({"exp": NOW as f64 + 0.5, "nbf": i64::MIN, "iat": NOW as f64 - 0.25}));
    ok(json!({"exp": i64::MAX, "nbf": -1e300, "iat": NOW}));
    // Without `iat`, so far an expiry is beyond any maximum age.
    for exp in [json!(i64::MAX), json!(u64::MAX), json!(1e300)] {
        assert_invalid(
            check(&v, &hs(&json!({"exp": exp}))),
            "no `iat` and expires later",
        );
    }
    assert_invalid(check(&v, &hs(&json!({"exp": i64::MIN}))), "expired");
    assert_invalid(check(&v, &hs(&json!({"exp": -1e300}))), "expired");
    assert_invalid(check(&v, &hs(&json!({"exp": -0.5}))), "expired");
    assert_invalid(
        check(&v, &hs(&json!({"exp": i64::MAX, "nbf": i64::MAX}))),
        "`nbf`",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": i64::MAX, "nbf": 1e300}))),
        "`nbf`",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": i64::MAX, "iat": i64::MAX}))),
        "`iat` is in the future",
    );
    // In the past, but not representable as milliseconds in an i64.
    // Far in the past: older than any maximum age.
    assert_invalid(
        check(&v, &hs(&json!({"exp": i64::MAX, "iat": i64::MIN}))),
        "older than the maximum age",
    );
    // Fractions are honoured to the millisecond.
    let strict = hs_verifier().leeway(Duration::ZERO);
    assert!(check(&strict, &hs(&json!({"exp": NOW as f64 + 0.002}))).is_ok());
    assert_invalid(
        check(&strict, &hs(&json!({"exp": NOW as f64 - 0.002}))),
        "expired",
    );
    // Numbers beyond f64, written by hand: out of range for the JSON parser, refused.
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    for claims in [r#"{"exp":1e400}"#, r#"{"exp":-1e400}"#] {
        let token = craft(header, claims, HS_SECRET.as_bytes());
        assert!(check(&v, &token).is_err(), "{claims}");
    }
    // A long integer beyond u64 parses as a float: far future, accepted (with an `iat`).
    let token = craft(
        header,
        &format!(r#"{{"exp":123456789012345678901234567890,"iat":{NOW}}}"#),
        HS_SECRET.as_bytes(),
    );
    assert!(check(&v, &token).is_ok());
}

/// A claim given twice is refused as malformed, whichever copy is the good one: a parser
/// that kept either copy would accept one order (or refuse it as expired, not malformed).
#[test]
fn duplicate_claim_names_are_refused() {
    for (first, second) in [(NOW - 1000, NOW + 1000), (NOW + 1000, NOW - 1000)] {
        let token = craft(
            r#"{"alg":"HS256"}"#,
            &format!(r#"{{"exp":{first},"exp":{second}}}"#),
            HS_SECRET.as_bytes(),
        );
        assert_invalid(check(&hs_verifier(), &token), "malformed");
    }
    // Each copy alone is judged on its own: the later one verifies.
    let token = craft(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{}}}"#, NOW + 1000),
        HS_SECRET.as_bytes(),
    );
    assert!(check(&hs_verifier(), &token).is_ok());
}

/// Once a key verifies the signature, claims that do not parse end the search: the token is
/// malformed whatever the other keys say, and no more keys are tried.
#[test]
fn a_verified_token_with_bad_claims_is_malformed_not_unsigned() {
    let wrong =
        JwtKey::hmac(Secret::from_text("another secret, long enough for hs256").unwrap()).unwrap();
    let right = JwtKey::hmac(secret()).unwrap();
    let verifier = JwtBearer::new([wrong, right]).unwrap().clock(clock());
    let token = craft(
        r#"{"alg":"HS256"}"#,
        &format!(r#"{{"exp":{},"exp":{}}}"#, NOW - 1000, NOW + 1000),
        HS_SECRET.as_bytes(),
    );
    assert_invalid(check(&verifier, &token), "malformed");
}

// ---------------------------------------------------------------- issuer and audience

#[test]
fn issuer_is_checked_when_configured() {
    let v = hs_verifier()
        .issuer("https://a.example")
        .issuer("https://b.example");
    assert!(
        check(
            &v,
            &hs(&json!({"exp": NOW + 60, "iss": "https://b.example"}))
        )
        .is_ok()
    );
    assert_invalid(
        check(
            &v,
            &hs(&json!({"exp": NOW + 60, "iss": "https://evil.example"})),
        ),
        "`iss` is not an accepted issuer",
    );
    assert_invalid(
        check(
            &v,
            &hs(&json!({"exp": NOW + 60, "iss": "https://A.example"})),
        ),
        "`iss`",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60}))),
        "`iss` is missing",
    );
    assert_invalid(
        check(
            &v,
            &hs(&json!({"exp": NOW + 60, "iss": ["https://a.example"]})),
        ),
        "`iss` is not a string",
    );
    // Not configured: any issuer.
    assert!(
        check(
            &hs_verifier(),
            &hs(&json!({"exp": NOW + 60, "iss": "anyone"}))
        )
        .is_ok()
    );
}

#[test]
fn audience_is_checked_when_configured() {
    let v = hs_verifier().audience("orders");
    assert!(check(&v, &hs(&json!({"exp": NOW + 60, "aud": "orders"}))).is_ok());
    assert!(
        check(
            &v,
            &hs(&json!({"exp": NOW + 60, "aud": ["billing", "orders"]}))
        )
        .is_ok()
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60, "aud": "billing"}))),
        "`aud` does not name this receiver",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60, "aud": ["billing"]}))),
        "`aud` does not name",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60}))),
        "`aud` is missing",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60, "aud": []}))),
        "`aud` is missing",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60, "aud": ["orders", 1]}))),
        "`aud` is not a string",
    );
    // A token for some audience is refused by a receiver that has none configured.
    assert_invalid(
        check(
            &hs_verifier(),
            &hs(&json!({"exp": NOW + 60, "aud": "orders"})),
        ),
        "none is configured",
    );
}

#[test]
fn sub_and_jti_must_be_strings() {
    let v = hs_verifier();
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60, "sub": 7}))),
        "`sub` is not a string",
    );
    assert_invalid(
        check(&v, &hs(&json!({"exp": NOW + 60, "jti": {"a": 1}}))),
        "`jti` is not a string",
    );
}

// ---------------------------------------------------------------- key ids and JWKS

#[test]
fn static_keys_are_selected_by_kid() {
    let a = Secret::from_text("key-a-secret, long enough for hs256").unwrap();
    let b = Secret::from_text("key-b-secret, long enough for hs256").unwrap();
    let v = JwtBearer::new([
        JwtKey::hmac(a.clone()).unwrap().with_id("a"),
        JwtKey::hmac(b.clone()).unwrap().with_id("b"),
    ])
    .unwrap()
    .clock(clock());
    let sign = |key: &Secret, kid: Option<&str>| {
        let mut signer = JwtSigner::hmac(key.clone()).unwrap().clock(clock());
        if let Some(kid) = kid {
            signer = signer.key_id(kid);
        }
        let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
        headers.get("authorization").unwrap()[7..].to_owned()
    };
    assert_eq!(check(&v, &sign(&b, Some("b"))).unwrap().key_id(), Some("b"));
    assert_invalid(check(&v, &sign(&b, Some("a"))), "signature");
    assert_invalid(check(&v, &sign(&b, Some("c"))), "`kid` names no known key");
    // Without kid every key is tried; the proof names the one that verified.
    assert_eq!(check(&v, &sign(&b, None)).unwrap().key_id(), Some("b"));
    assert_eq!(check(&v, &sign(&a, None)).unwrap().key_id(), Some("a"));
}

#[test]
fn a_token_is_checked_against_at_most_eight_keys() {
    let secret = |i: usize| {
        Secret::from_text(&format!("key {i:02}, a secret long enough for hs256")).unwrap()
    };
    let key = |i: usize| JwtKey::hmac(secret(i)).unwrap();
    let sign = |i: usize, kid: Option<&str>| {
        let mut signer = JwtSigner::hmac(secret(i)).unwrap().clock(clock());
        if let Some(kid) = kid {
            signer = signer.key_id(kid);
        }
        let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
        headers.get("authorization").unwrap()[7..].to_owned()
    };
    // Eight keys that allow HS256: a token without `kid` is checked against each.
    let eight = JwtBearer::new((0..8).map(|i| key(i).with_id(format!("k{i}"))))
        .unwrap()
        .clock(clock());
    assert_eq!(check(&eight, &sign(7, None)).unwrap().key_id(), Some("k7"));
    // Nine: a token without `kid` must name its key; the refusal does not count the keys.
    let nine = JwtBearer::new((0..9).map(|i| key(i).with_id(format!("k{i}"))))
        .unwrap()
        .clock(clock());
    let error = assert_invalid(check(&nine, &sign(8, None)), "must name its key with `kid`");
    assert_eq!(error.status(), 401);
    assert!(!error.to_string().contains('9'), "{error}");
    // Named, it is checked against that key only: `k0`'s secret under `kid` k8 fails.
    assert_eq!(
        check(&nine, &sign(8, Some("k8"))).unwrap().key_id(),
        Some("k8")
    );
    assert_invalid(
        check(&nine, &sign(0, Some("k8"))),
        "signature does not verify",
    );
    // Keys without an id are candidates for every token: at most eight of them per `alg`.
    assert!(JwtBearer::new((0..8).map(key)).is_ok());
    let error = JwtBearer::new((0..9).map(key)).err().unwrap();
    assert!(
        error
            .to_string()
            .contains("9 keys without an id that allow HS256"),
        "{error}"
    );
    // A token naming its key meets the keys of its id and those without one: a set in which
    // that could be more than eight is refused when it is made, not at every token.
    let error = JwtBearer::new((0..8).map(key).chain([key(8).with_id("a")]))
        .err()
        .unwrap();
    assert!(error.to_string().contains("naming key `a`"), "{error}");
    let error = JwtBearer::new((0..9).map(|i| key(i).with_id("same")))
        .err()
        .unwrap();
    assert!(error.to_string().contains("naming key `same`"), "{error}");
    let seven_and_a = JwtBearer::new((0..7).map(key).chain([key(7).with_id("a")]))
        .unwrap()
        .clock(clock());
    assert_eq!(
        check(&seven_and_a, &sign(7, Some("a"))).unwrap().key_id(),
        Some("a")
    );
    assert_eq!(
        check(&seven_and_a, &sign(3, Some("a"))).unwrap().key_id(),
        None
    );
    // Keys that do not allow the token's `alg` do not count.
    let long = |i: usize| {
        Secret::from_text(&format!(
            "key {i:02}, a secret long enough for hs384 as well as hs256"
        ))
        .unwrap()
    };
    let hs384 = |i: usize| {
        JwtKey::hmac(long(i))
            .unwrap()
            .with_algorithms([JwtAlgorithm::Hs384])
            .unwrap()
    };
    let mixed = JwtBearer::new(
        (0..8)
            .map(|i| key(i).with_id(format!("k{i}")))
            .chain((8..16).map(|i| hs384(i).with_id(format!("k{i}")))),
    )
    .unwrap()
    .clock(clock());
    assert_eq!(check(&mixed, &sign(3, None)).unwrap().key_id(), Some("k3"));
    // Eight keys without an id for each of two algorithms: no token meets more than eight.
    assert!(JwtBearer::new((0..8).map(key).chain((8..16).map(hs384))).is_ok());
    assert_eq!(check(&mixed, &sign(3, None)).unwrap().key_id(), Some("k3"));
}

fn jwk(private_pem: &[u8], alg: Algorithm, kid: &str, ed: bool) -> Value {
    let key = if ed {
        EncodingKey::from_ed_pem(private_pem).unwrap()
    } else if alg == Algorithm::ES256 {
        EncodingKey::from_ec_pem(private_pem).unwrap()
    } else {
        EncodingKey::from_rsa_pem(private_pem).unwrap()
    };
    let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(&jwk).unwrap()
}

fn jwks() -> String {
    let mut rsa_no_alg = jwk(RSA2_PRIVATE, Algorithm::RS256, "rsa-2", false);
    rsa_no_alg.as_object_mut().unwrap().remove("alg");
    let mut enc = jwk(RSA_PRIVATE, Algorithm::RS256, "enc-1", false);
    enc["use"] = json!("enc");
    // No `use`, but `key_ops` that do not include verifying.
    let mut ops_enc = jwk(RSA_PRIVATE, Algorithm::RS256, "ops-enc", false);
    ops_enc.as_object_mut().unwrap().remove("use");
    ops_enc["key_ops"] = json!(["encrypt"]);
    json!({"keys": [
        jwk(RSA_PRIVATE, Algorithm::RS256, "rsa-1", false),
        rsa_no_alg,
        jwk(EC_PRIVATE, Algorithm::ES256, "ec-1", false),
        jwk(ED_PRIVATE, Algorithm::EdDSA, "ed-1", true),
        enc,
        ops_enc,
        {"kty": "oct", "kid": "sym", "k": b64(HS_SECRET.as_bytes()), "alg": "HS256"},
        {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
        {"kty": "RSA", "kid": "junk", "n": "AQAB", "e": "AQAB"},
    ]})
    .to_string()
}

fn sign_with(signer: JwtSigner, kid: Option<&str>) -> String {
    let signer = match kid {
        Some(kid) => signer.key_id(kid),
        None => signer,
    };
    let headers = signer.clock(clock()).sign(&Outgoing::new(b"{}")).unwrap();
    headers.get("authorization").unwrap()[7..].to_owned()
}

#[test]
fn jwks_keys_are_selected_by_kid() {
    let keys = JwtKey::from_jwks(&jwks()).unwrap();
    let ids: Vec<_> = keys.iter().map(|k| k.id().unwrap()).collect();
    // Encryption (by `use` or `key_ops`), symmetric, unsupported-curve and malformed keys
    // are skipped.
    assert_eq!(ids, ["rsa-1", "rsa-2", "ec-1", "ed-1"]);
    assert_eq!(keys[0].algorithms(), [JwtAlgorithm::Rs256]);
    assert_eq!(
        keys[1].algorithms().len(),
        6,
        "no `alg`: the whole RSA family"
    );

    let v = JwtBearer::from_jwks(&jwks()).unwrap().clock(clock());
    let rsa1 = || JwtSigner::rsa_pem(RSA_PRIVATE).unwrap();
    let rsa2 = || JwtSigner::rsa_pem(RSA2_PRIVATE).unwrap();
    assert_eq!(
        check(&v, &sign_with(rsa1(), Some("rsa-1")))
            .unwrap()
            .key_id(),
        Some("rsa-1")
    );
    assert_eq!(
        check(&v, &sign_with(rsa2(), Some("rsa-2")))
            .unwrap()
            .key_id(),
        Some("rsa-2")
    );
    assert_eq!(
        check(
            &v,
            &sign_with(JwtSigner::ec_pem(EC_PRIVATE).unwrap(), Some("ec-1"))
        )
        .unwrap()
        .key_id(),
        Some("ec-1")
    );
    assert!(
        check(
            &v,
            &sign_with(JwtSigner::ed25519_pem(ED_PRIVATE).unwrap(), Some("ed-1"))
        )
        .is_ok()
    );
    // The right key under the wrong kid, an unknown kid, a skipped key's kid.
    assert_invalid(check(&v, &sign_with(rsa1(), Some("rsa-2"))), "signature");
    assert_invalid(
        check(&v, &sign_with(rsa1(), Some("nope"))),
        "`kid` names no known key",
    );
    assert_invalid(
        check(&v, &sign_with(rsa1(), Some("enc-1"))),
        "`kid` names no known key",
    );
    assert_invalid(
        check(&v, &sign_with(rsa1(), Some("ops-enc"))),
        "`kid` names no known key",
    );
    // rsa-1 allows RS256 only.
    let ps = rsa1().algorithm(JwtAlgorithm::Ps256).unwrap();
    assert_invalid(check(&v, &sign_with(ps, Some("rsa-1"))), "not allowed");
    // The symmetric key of the set is never used: an HS256 token naming it is refused.
    let hs_token = sign_with(JwtSigner::hmac(secret()).unwrap(), Some("sym"));
    assert_invalid(check(&v, &hs_token), "`kid` names no known key");
    // Without kid, every key allowing the token's alg is tried.
    assert_eq!(
        check(&v, &sign_with(rsa2(), None)).unwrap().key_id(),
        Some("rsa-2")
    );
}

#[test]
fn jwks_config_errors() {
    assert!(JwtKey::from_jwks("not json").is_err());
    assert!(JwtKey::from_jwks(r#"{"keys": []}"#).is_err());
    let only_symmetric = json!({"keys": [{"kty": "oct", "k": b64(b"hunter2-jwks")}]}).to_string();
    let err = JwtKey::from_jwks(&only_symmetric).unwrap_err();
    assert!(err.to_string().contains("no usable"), "{err}");
    // The parser's complaint does not echo the document.
    let err = JwtKey::from_jwks(r#"{"keys": "hunter2-jwks"}"#).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let huge = format!(r#"{{"keys": [], "pad": "{}"}}"#, "x".repeat(300 * 1024));
    assert!(JwtKey::from_jwks(&huge).is_err());
}

// ---------------------------------------------------------------- body binding

#[test]
fn body_digest_binds_the_token_to_the_body() {
    let v = hs_verifier().body_digest_claim("body_sha256");
    let signer = JwtSigner::hmac(secret())
        .unwrap()
        .body_digest_claim("body_sha256")
        .clock(clock());
    let body = br#"{"amount":100}"#;
    let headers = signer.sign(&Outgoing::new(body)).unwrap();
    assert!(v.verify(&headers.apply(WebhookRequest::new(body))).is_ok());
    assert_invalid(
        v.verify(&headers.apply(WebhookRequest::new(br#"{"amount":900}"#))),
        "`body_sha256` does not match the body",
    );
    assert_invalid(
        v.verify(&headers.apply(WebhookRequest::new(b""))),
        "does not match",
    );

    let digest = Sha256::digest(body);
    let with = |value: Value| hs(&json!({"exp": NOW + 60, "body_sha256": value}));
    assert!(check_body(&v, &with(json!(b64(&digest))), body).is_ok());
    // Only unpadded base64url is accepted: not hex, not padded, not the standard alphabet.
    let padded = format!("{}=", b64(&digest));
    let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest);
    for wrong in [json!(hex::encode(digest)), json!(padded), json!(standard)] {
        if wrong == json!(b64(&digest)) {
            continue; // the digest happened to need no url-safe characters
        }
        assert_invalid(check_body(&v, &with(wrong), body), "does not match");
    }
    assert_invalid(
        check_body(&v, &with(json!(digest.to_vec())), body),
        "`body_sha256` is not a string",
    );
    assert_invalid(
        check_body(&v, &hs(&json!({"exp": NOW + 60})), body),
        "`body_sha256` is missing",
    );
}

// ---------------------------------------------------------------- malformed requests

#[test]
fn missing_or_foreign_authorization_is_missing_credentials() {
    let v = hs_verifier();
    for request in [
        WebhookRequest::new(b"{}"),
        WebhookRequest::new(b"{}").with_header("Authorization", "Basic dTpw"),
        WebhookRequest::new(b"{}").with_header("Authorization", "eyJhbGciOi.x.y"),
        WebhookRequest::new(b"{}").with_header("X-Token", "Bearer a.b.c"),
    ] {
        let err = v.verify(&request).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::MissingCredentials);
        assert_eq!(err.status(), 401);
        assert_eq!(err.www_authenticate(), Some(BEARER_CHALLENGE));
    }
    let custom = hs_verifier().realm("orders");
    assert_eq!(
        custom
            .verify(&WebhookRequest::new(b"{}"))
            .unwrap_err()
            .www_authenticate(),
        Some(r#"Bearer realm="orders""#)
    );
}

#[test]
fn malformed_tokens_are_invalid_never_a_panic() {
    let v = hs_verifier();
    let good = hs(&json!({"exp": NOW + 60}));
    let parts: Vec<&str> = good.split('.').collect();
    let huge = format!("{}.{}.{}", parts[0], "A".repeat(9000), parts[2]);
    let cases: Vec<Vec<u8>> = vec![
        b"Bearer".to_vec(),
        b"Bearer ".to_vec(),
        b"Bearer a".to_vec(),
        b"Bearer a.b".to_vec(),
        b"Bearer ..".to_vec(),
        b"Bearer a.b.c".to_vec(),
        b"Bearer a.b.c.d.e".to_vec(),
        b"Bearer !!!.###.$$$".to_vec(),
        b"Bearer \xff\xfe.\xfd.x".to_vec(),
        format!("Bearer {good} extra").into_bytes(),
        format!("Bearer {}.{}.{}", parts[0], parts[1], "").into_bytes(),
        format!("Bearer {}.{}==.{}", parts[0], parts[1], parts[2]).into_bytes(),
        format!("Bearer {}.{}.{}", parts[0], b64(b"[1,2]"), parts[2]).into_bytes(),
        format!("Bearer {}.{}", parts[0], parts[1]).into_bytes(),
        format!("Bearer {huge}").into_bytes(),
        // A valid signature over a payload that is not a JSON object.
        format!(
            "Bearer {}",
            craft(r#"{"alg":"HS256"}"#, "[1]", HS_SECRET.as_bytes())
        )
        .into_bytes(),
        format!(
            "Bearer {}",
            craft(r#"{"alg":"HS256"}"#, "null", HS_SECRET.as_bytes())
        )
        .into_bytes(),
        format!("Bearer {}", craft("[]", "{}", HS_SECRET.as_bytes())).into_bytes(),
    ];
    for value in &cases {
        let request = WebhookRequest::new(b"{}").with_header("authorization", value);
        let err = v.verify(&request).unwrap_err();
        assert_eq!(
            err.kind(),
            VerifyErrorKind::InvalidCredentials,
            "{}",
            String::from_utf8_lossy(value)
        );
        assert_eq!(err.www_authenticate(), Some(BEARER_INVALID));
    }
    // The valid token itself passes, lower-case scheme word included.
    let value = format!("bearer {good}");
    assert!(
        v.verify(&WebhookRequest::new(b"{}").with_header("authorization", &value))
            .is_ok()
    );
    let twice = WebhookRequest::new(b"{}")
        .with_header("authorization", &value)
        .with_header("authorization", &value);
    assert_invalid(v.verify(&twice), "repeated");
}

#[test]
fn tampered_payload_is_refused() {
    let v = hs_verifier();
    let good = hs(&json!({"exp": NOW + 60, "sub": "user"}));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(json!({"exp": NOW + 60, "sub": "admin"})
            .to_string()
            .as_bytes()),
        parts[2]
    );
    assert_invalid(check(&v, &forged), "signature");
}

// ---------------------------------------------------------------- leakage

#[test]
fn nothing_secret_in_debug_display_or_json() {
    let hmac_key = JwtKey::hmac(secret()).unwrap();
    let v = hs_verifier()
        .issuer("https://issuer.example")
        .audience("aud-1");
    let signer = JwtSigner::hmac(secret()).unwrap().clock(clock());
    let rsa_signer = JwtSigner::rsa_pem(RSA_PRIVATE).unwrap();
    let mut texts = vec![
        format!("{hmac_key:?}"),
        format!("{v:?}"),
        format!("{signer:?}"),
        format!("{rsa_signer:?}"),
        format!("{:?}", signer.sign(&Outgoing::new(b"{}")).unwrap()),
    ];
    let claim_value = "claim-value-hunter2";
    let tokens = [
        hs(&json!({"exp": NOW - 1000, "sub": claim_value})),
        hs(&json!({"exp": NOW + 60, "iss": claim_value})),
        hs(&json!({"exp": NOW + 60, "aud": claim_value})),
        hs(&json!({"exp": claim_value})),
        hs(&json!({"exp": NOW + 60, "sub": [claim_value]})),
        craft(r#"{"alg":"HS256"}"#, claim_value, HS_SECRET.as_bytes()),
        format!(
            "{}.{}.x",
            b64(b"{\"alg\":\"none\"}"),
            b64(claim_value.as_bytes())
        ),
    ];
    for token in &tokens {
        let err = check(&v, token).unwrap_err();
        texts.push(format!("{err:?}"));
        texts.push(err.to_string());
        texts.push(err.to_json());
        texts.push(format!("{:?}", std::error::Error::source(&err)));
        for text in &texts {
            assert!(!text.contains(token.as_str()), "token leaked in {text}");
            let payload = token.split('.').nth(1).unwrap();
            assert!(!text.contains(payload), "payload leaked in {text}");
        }
    }
    let pem_body = std::str::from_utf8(RSA_PRIVATE)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap();
    for text in &texts {
        assert!(
            !text.contains("hunter2"),
            "secret or claim leaked in {text}"
        );
        assert!(!text.contains(pem_body), "private key leaked in {text}");
    }
    assert!(texts.iter().any(|t| t.contains("JwtBearer")));
    assert!(texts.iter().any(|t| t.contains("invalid_credentials")));
}

/// The proof names the key that verified, never the `kid` a token claims: a holder of an
/// id-less key must not be able to pass as another key's holder.
#[test]
fn proof_key_id_is_the_matched_keys_own_id() {
    let a = JwtKey::hmac(Secret::from_text("tenant-a secret, long enough for hs256").unwrap())
        .unwrap()
        .with_id("tenant-a");
    let b =
        JwtKey::hmac(Secret::from_text("tenant-b secret, long enough for hs256").unwrap()).unwrap();
    let verifier = JwtBearer::new([a, b]).unwrap().clock(clock());
    let forged =
        JwtSigner::hmac(Secret::from_text("tenant-b secret, long enough for hs256").unwrap())
            .unwrap()
            .key_id("tenant-a")
            .clock(clock())
            .sign(&Outgoing::new(b"{}").timestamp_secs(NOW))
            .unwrap();
    let proof = verifier
        .verify(&forged.apply(WebhookRequest::new(b"{}")))
        .unwrap();
    assert_eq!(proof.key_id(), None);
    let genuine =
        JwtSigner::hmac(Secret::from_text("tenant-a secret, long enough for hs256").unwrap())
            .unwrap()
            .key_id("tenant-a")
            .clock(clock())
            .sign(&Outgoing::new(b"{}").timestamp_secs(NOW))
            .unwrap();
    let proof = verifier
        .verify(&genuine.apply(WebhookRequest::new(b"{}")))
        .unwrap();
    assert_eq!(proof.key_id(), Some("tenant-a"));
}

/// A small-order Ed25519 key (the identity point) would accept one forged signature for
/// every message: a JWKS holding only such a key is refused at start-up.
#[test]
fn weak_ed25519_keys_in_a_jwks_are_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let jwks =
        json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "kid": "weak", "x": b64(&identity) }] });
    assert!(JwtBearer::from_jwks(&jwks.to_string()).is_err());
}

/// Through the pipeline: a token without `jti` replayed on the same body is a duplicate; the
/// same token on another body (a sender reusing its token) is a delivery of its own.
#[tokio::test]
async fn a_replayed_token_without_jti_is_a_duplicate_and_a_reused_one_is_not() {
    let receiver = webhook_core::Receiver::builder()
        .verifier(hs_verifier())
        .clock(clock())
        .build()
        .unwrap();
    let value = format!("Bearer {}", hs(&json!({"exp": NOW + 60, "iat": NOW})));
    let deliver = async |body: &[u8]| deliver(&receiver, &value, body).await;
    assert!(deliver(br#"{"n":1}"#).await);
    assert!(!deliver(br#"{"n":1}"#).await, "the replay is a duplicate");
    assert!(
        deliver(br#"{"n":2}"#).await,
        "another body is another delivery"
    );
}

// ---------------------------------------------------------------- required claims

const PUSH_ACCOUNT: &str = "push-invoker@victim-project.iam.gserviceaccount.com";
const GOOGLE: &str = "https://accounts.google.com";
const PUSH_AUDIENCE: &str = "https://victim.example/webhooks/pubsub";

/// A Google-issued Pub/Sub push token's claims, for the account `email`.
fn pubsub_claims(email: &str) -> Value {
    json!({
        "iss": GOOGLE,
        "aud": PUSH_AUDIENCE,
        "azp": "118000000000000000001",
        "sub": "118000000000000000001",
        "email": email,
        "email_verified": true,
        "iat": NOW,
        "exp": NOW + 3600,
    })
}

/// Under a shared issuer every account's tokens verify; a required `email` (and
/// `email_verified`) is what limits the verifier to one sender.
#[test]
fn a_shared_issuer_admits_only_the_required_sender() {
    let open = hs_verifier().issuer(GOOGLE).audience(PUSH_AUDIENCE);
    let attacker = pubsub_claims("attacker@evil-project.iam.gserviceaccount.com");
    // Issuer, audience and signature alone: anyone's token for the victim's audience passes.
    assert!(check(&open, &hs(&attacker)).is_ok());

    let pinned = open
        .claim("email", [PUSH_ACCOUNT])
        .unwrap()
        .claim_true("email_verified")
        .unwrap();
    assert!(check(&pinned, &hs(&pubsub_claims(PUSH_ACCOUNT))).is_ok());
    let error = assert_invalid(
        check(&pinned, &hs(&attacker)),
        "claim `email` is not an accepted value",
    );
    for text in [error.to_string(), format!("{error:?}"), error.to_json()] {
        assert!(!text.contains("attacker"), "claim value leaked in {text}");
        assert!(
            !text.contains(PUSH_ACCOUNT),
            "accepted value leaked in {text}"
        );
    }
    assert!(!format!("{pinned:?}").contains(PUSH_ACCOUNT));
    assert!(format!("{pinned:?}").contains("email_verified"));

    // Exact comparison: case and padding matter.
    for other in [PUSH_ACCOUNT.to_uppercase(), format!("{PUSH_ACCOUNT} ")] {
        assert_invalid(
            check(&pinned, &hs(&pubsub_claims(&other))),
            "claim `email` is not an accepted value",
        );
    }
    // Absent, or not a string: refused, naming the claim.
    let mut claims = pubsub_claims(PUSH_ACCOUNT);
    claims.as_object_mut().unwrap().remove("email");
    assert_invalid(check(&pinned, &hs(&claims)), "claim `email` is missing");
    for bad in [
        json!([PUSH_ACCOUNT]),
        json!(null),
        json!(1),
        json!({"a": PUSH_ACCOUNT}),
    ] {
        let mut claims = pubsub_claims(PUSH_ACCOUNT);
        claims["email"] = bad;
        assert_invalid(
            check(&pinned, &hs(&claims)),
            "claim `email` is not a string",
        );
    }
    // `email_verified` must be the boolean true.
    for bad in [json!(false), json!("true"), json!(1), json!(null)] {
        let mut claims = pubsub_claims(PUSH_ACCOUNT);
        claims["email_verified"] = bad;
        assert_invalid(
            check(&pinned, &hs(&claims)),
            "claim `email_verified` is not `true`",
        );
    }
    let mut claims = pubsub_claims(PUSH_ACCOUNT);
    claims.as_object_mut().unwrap().remove("email_verified");
    assert_invalid(
        check(&pinned, &hs(&claims)),
        "claim `email_verified` is missing",
    );
}

#[test]
fn required_subject_and_claims_accept_any_of_their_values() {
    let v = hs_verifier().subject(["billing", "refunds"]).unwrap();
    let with = |claims: Value| {
        let mut all = json!({"exp": NOW + 60});
        all.as_object_mut()
            .unwrap()
            .extend(claims.as_object().unwrap().clone());
        hs(&all)
    };
    for sub in ["billing", "refunds"] {
        assert_eq!(
            check(&v, &with(json!({"sub": sub}))).unwrap().subject(),
            Some(sub)
        );
    }
    assert_invalid(
        check(&v, &with(json!({"sub": "shipping"}))),
        "claim `sub` is not an accepted value",
    );
    assert_invalid(check(&v, &with(json!({}))), "claim `sub` is missing");
    assert_invalid(
        check(&v, &with(json!({"sub": 7}))),
        "claim `sub` is not a string",
    );

    // Called again, the same claim accepts more values; another claim is required as well.
    let v = hs_verifier()
        .subject(["a"])
        .unwrap()
        .subject(["b".to_owned()])
        .unwrap()
        .claim("azp", ["client-1"])
        .unwrap()
        .claim("azp", ["client-2"])
        .unwrap();
    assert!(check(&v, &with(json!({"sub": "b", "azp": "client-2"}))).is_ok());
    assert!(check(&v, &with(json!({"sub": "a", "azp": "client-1"}))).is_ok());
    assert_invalid(
        check(&v, &with(json!({"sub": "a"}))),
        "claim `azp` is missing",
    );
    assert_invalid(
        check(&v, &with(json!({"sub": "c", "azp": "client-1"}))),
        "claim `sub` is not an accepted value",
    );
}

#[test]
fn required_claim_config_errors() {
    let no_values: [&str; 0] = [];
    let error = hs_verifier().claim("email", no_values).err().unwrap();
    assert!(error.to_string().contains("no accepted value"), "{error}");
    assert!(hs_verifier().subject(no_values).is_err());
    for name in ["iss", "aud", "exp", "nbf", "iat"] {
        let error = hs_verifier().claim(name, ["x"]).err().unwrap();
        assert!(error.to_string().contains(&format!("`{name}`")), "{error}");
        assert!(hs_verifier().claim_true(name).is_err(), "{name}");
    }
    // A claim cannot be required both as a string and as `true`.
    assert!(
        hs_verifier()
            .claim("email_verified", ["yes"])
            .unwrap()
            .claim_true("email_verified")
            .is_err()
    );
    assert!(
        hs_verifier()
            .claim_true("email_verified")
            .unwrap()
            .claim("email_verified", ["yes"])
            .is_err()
    );
    assert!(
        hs_verifier()
            .claim_true("email_verified")
            .unwrap()
            .claim_true("email_verified")
            .is_ok()
    );
}

/// The signer twin writes the claims the verifier can require, and never lets them replace
/// the ones it writes itself.
#[test]
fn signer_writes_required_claims() {
    let signer = JwtSigner::hmac(secret())
        .unwrap()
        .issuer(GOOGLE)
        .audience(PUSH_AUDIENCE)
        .claim("email", PUSH_ACCOUNT)
        .claim_true("email_verified")
        .claim("exp", "never")
        .claim("iss", "https://evil.example")
        .clock(clock());
    assert!(!format!("{signer:?}").contains(PUSH_ACCOUNT));
    let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    let token = &headers.get("authorization").unwrap()[7..];
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["email"], json!(PUSH_ACCOUNT));
    assert_eq!(claims["email_verified"], json!(true));
    assert_eq!(claims["exp"], json!(NOW + 300));
    assert_eq!(claims["iss"], json!(GOOGLE));
    let v = hs_verifier()
        .issuer(GOOGLE)
        .audience(PUSH_AUDIENCE)
        .claim("email", [PUSH_ACCOUNT])
        .unwrap()
        .claim_true("email_verified")
        .unwrap();
    assert!(check(&v, token).is_ok());
}

// ---------------------------------------------------------------- `jti` and deduplication

/// Delivers `body` to `receiver` with `value` as the `Authorization` header: whether the
/// delivery was fresh (not a duplicate).
async fn deliver(receiver: &webhook_core::Receiver, value: &str, body: &[u8]) -> bool {
    let request = WebhookRequest::new(body).with_header("authorization", value);
    let mut delivery = receiver.delivery();
    delivery.admit(&request, false).unwrap();
    delivery.authenticate(&request).unwrap();
    let fresh = delivery.claim(None).await.unwrap();
    if fresh {
        delivery.finish(true).await;
    }
    fresh
}

/// An OAuth 2 access token (RFC 9068 ones always carry `jti`) reused for many deliveries:
/// `jti` names the token, so each body is a delivery of its own; the same token on the same
/// body is still a duplicate.
#[tokio::test]
async fn a_reused_token_with_jti_is_a_delivery_per_body() {
    let receiver = webhook_core::Receiver::builder()
        .verifier(hs_verifier())
        .clock(clock())
        .build()
        .unwrap();
    let token = hs(&json!({"exp": NOW + 60, "iat": NOW, "jti": "at-1"}));
    let value = format!("Bearer {token}");
    assert_eq!(check(&hs_verifier(), &token).unwrap().message_id(), None);
    assert!(deliver(&receiver, &value, br#"{"n":1}"#).await);
    assert!(
        !deliver(&receiver, &value, br#"{"n":1}"#).await,
        "the replay is a duplicate"
    );
    assert!(
        deliver(&receiver, &value, br#"{"n":2}"#).await,
        "another body under the same token is another delivery"
    );
    assert!(deliver(&receiver, &value, br#"{"n":3}"#).await);
}

/// Bound to its body, a token carries one delivery: its `jti` is the message id, so another
/// token with the same `jti` (re-minted by the sender for a retry) is a duplicate.
#[tokio::test]
async fn a_body_bound_token_is_deduplicated_by_jti() {
    let verifier = || hs_verifier().body_digest_claim("body_sha256");
    let receiver = webhook_core::Receiver::builder()
        .verifier(verifier())
        .clock(clock())
        .build()
        .unwrap();
    let body = br#"{"n":1}"#;
    let token = |jti: &str, iat: i64| {
        let claims = json!({
            "exp": NOW + 60,
            "iat": iat,
            "jti": jti,
            "body_sha256": b64(&Sha256::digest(body)),
        });
        format!("Bearer {}", hs(&claims))
    };
    let first = token("msg-1", NOW);
    assert_eq!(
        check_body(&verifier(), &first[7..], body)
            .unwrap()
            .message_id(),
        Some("msg-1")
    );
    assert!(deliver(&receiver, &first, body).await);
    assert!(!deliver(&receiver, &first, body).await, "the replay");
    // Another token (its digest differs), the same `jti`: the same delivery.
    assert!(!deliver(&receiver, &token("msg-1", NOW - 1), body).await);
    assert!(deliver(&receiver, &token("msg-2", NOW), body).await);
}

// ---------------------------------------------------------------- public keys as HMAC secrets

/// The DER inside a PEM document.
fn pem_der(pem: &[u8]) -> Vec<u8> {
    let text: String = std::str::from_utf8(pem)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

#[test]
fn an_hmac_secret_that_is_a_public_key_is_refused() {
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePublicKey as _;

    let pem = std::str::from_utf8(RSA_PUBLIC).unwrap();
    assert!(pem.ends_with('\n'), "the fixture has a trailing newline");
    let spki = pem_der(RSA_PUBLIC);
    let pkcs1 = rsa::RsaPublicKey::from_public_key_der(&spki)
        .unwrap()
        .to_pkcs1_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    let public_jwk = jwk(RSA_PRIVATE, Algorithm::RS256, "rsa-1", false).to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("pem", RSA_PUBLIC.to_vec(), "pem document"),
        (
            "pem without newline",
            pem.trim_end().as_bytes().to_vec(),
            "pem document",
        ),
        (
            "pem with spaces around",
            format!("\n  {pem}\r\n").into_bytes(),
            "pem document",
        ),
        (
            "pem after openssl's bag attributes",
            format!("Bag Attributes\n    localKeyID: 01 02\nsubject=/CN=issuer\n{pem}")
                .into_bytes(),
            "pem document",
        ),
        ("ec pem", EC_PUBLIC.to_vec(), "pem document"),
        ("ed25519 pem", ED_PUBLIC.to_vec(), "pem document"),
        ("jwk", public_jwk.clone().into_bytes(), "jwk or jwks"),
        ("jwks", jwks().into_bytes(), "jwk or jwks"),
        (
            "oct jwk",
            json!({"kty": "oct", "k": b64(HS_SECRET.as_bytes())})
                .to_string()
                .into_bytes(),
            "jwk or jwks",
        ),
        ("spki der", spki.clone(), "der-encoded public key"),
        ("ec spki der", pem_der(EC_PUBLIC), "der-encoded public key"),
        (
            "ed25519 spki der",
            pem_der(ED_PUBLIC),
            "der-encoded public key",
        ),
        ("pkcs1 der", pkcs1.clone(), "der-encoded public key"),
        (
            "spki der in base64",
            base64::engine::general_purpose::STANDARD
                .encode(&spki)
                .into_bytes(),
            "der-encoded public key",
        ),
        (
            "pkcs1 der in base64url",
            b64(&pkcs1).into_bytes(),
            "der-encoded public key",
        ),
    ];
    let pem_body = pem.lines().nth(1).unwrap();
    for (name, bytes, mentions) in &cases {
        let secret = Secret::from_bytes(bytes.clone()).unwrap();
        let error = JwtKey::hmac(secret.clone()).err().unwrap();
        assert!(error.to_string().contains(mentions), "{name}: {error}");
        assert!(
            error.to_string().contains("not a shared secret"),
            "{name}: {error}"
        );
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains(pem_body), "{name}: key leaked in {text}");
        }
        assert!(JwtBearer::hmac(secret.clone()).is_err(), "{name}");
        assert!(JwtSigner::hmac(secret).is_err(), "{name}");
    }
    // Real secrets pass, JSON-looking and base64 ones included.
    for fine in [
        HS_SECRET.to_owned(),
        r#"{"not": "a jwk", "padding": "to 32 bytes"}"#.to_owned(),
        b64(&[7u8; 48]),
        "----- not a pem, but long enough for hs256".to_owned(),
    ] {
        let secret = Secret::from_text(&fine).unwrap();
        assert!(JwtKey::hmac(secret.clone()).is_ok(), "{fine}");
        assert!(JwtSigner::hmac(secret).is_ok(), "{fine}");
    }
    assert!(JwtKey::hmac(Secret::random(32)).is_ok());
}

// ---------------------------------------------------------------- key expiry

/// An HS256 token signed with `key`, naming `kid` when given, issued at `now` (seconds).
fn hs_with(key: &str, kid: Option<&str>, now: i64) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &json!({"exp": now + 60, "iat": now}),
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

#[test]
fn an_expired_jwt_key_is_never_tried() {
    const OLD: &str = "the old key, a secret long enough for hs256";
    const NEW: &str = "the new key, a secret long enough for hs256";
    let cutover = NOW + 100;
    let expires = UNIX_EPOCH + Duration::from_secs(cutover.try_into().unwrap());
    let clock = clock();
    let old = JwtKey::hmac(Secret::from_text(OLD).unwrap())
        .unwrap()
        .with_id("old")
        .expires_at(expires);
    assert!(format!("{old:?}").contains(&format!("{}", cutover * 1000)));
    let v = JwtBearer::new([
        old.clone(),
        JwtKey::hmac(Secret::from_text(NEW).unwrap())
            .unwrap()
            .with_id("new"),
    ])
    .unwrap()
    .clock(clock.clone());

    // Up to the last millisecond before the cutover, the old key verifies.
    clock.set_ms(cutover * 1000 - 1);
    let now = cutover - 1;
    assert_eq!(
        check(&v, &hs_with(OLD, None, now)).unwrap().key_id(),
        Some("old")
    );
    assert_eq!(
        check(&v, &hs_with(OLD, Some("old"), now)).unwrap().key_id(),
        Some("old")
    );
    // From the cutover on, it is not tried; the new key still verifies.
    clock.set_ms(cutover * 1000);
    let now = cutover;
    assert_invalid(
        check(&v, &hs_with(OLD, None, now)),
        "signature does not verify",
    );
    assert_invalid(
        check(&v, &hs_with(OLD, Some("old"), now)),
        "`kid` names a key that has expired",
    );
    assert_eq!(
        check(&v, &hs_with(NEW, None, now)).unwrap().key_id(),
        Some("new")
    );

    // A verifier whose every key has expired is misconfigured: 500, as for a key ring.
    let only_old = JwtBearer::new([old]).unwrap().clock(clock.clone());
    clock.set_ms(cutover * 1000 - 1);
    assert!(check(&only_old, &hs_with(OLD, None, cutover - 1)).is_ok());
    clock.set_ms(cutover * 1000);
    for token in [hs_with(OLD, None, now), hs_with(NEW, Some("new"), now)] {
        let error = check(&only_old, &token).unwrap_err();
        assert_eq!(error.kind(), VerifyErrorKind::NotConfigured);
        assert_eq!(error.status(), 500);
    }
    // A request without a token is still the sender's to fix.
    let error = only_old.verify(&WebhookRequest::new(b"{}")).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::MissingCredentials);

    // A time before the epoch is taken as the epoch: expired for any clock after it.
    let past = JwtKey::hmac(secret())
        .unwrap()
        .expires_at(UNIX_EPOCH - Duration::from_secs(1));
    let v = JwtBearer::new([past]).unwrap().clock(clock.clone());
    assert_eq!(
        check(&v, &hs(&json!({"exp": now + 60})))
            .unwrap_err()
            .status(),
        500
    );
}

/// RSA keys verify from 2048 to 4096 bits (the `rsa` crate verifies with none larger): a
/// larger one is refused at start-up with a message saying so, and is no usable key in a key
/// set.
#[test]
fn rsa_keys_larger_than_4096_bits_are_refused_saying_why() {
    use rsa::BigUint;
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    let n = BigUint::from_bytes_be(&[0xff; 1025]);
    let big = rsa::RsaPublicKey::new_with_max_size(n, BigUint::from(65_537u32), 16_384).unwrap();
    let pem = big.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
    let error = JwtKey::rsa_pem(pem.as_bytes()).err().unwrap();
    assert!(error.to_string().contains("2048 to 4096 bits"), "{error}");

    let big_jwk = json!({
        "kty": "RSA",
        "kid": "big",
        "n": URL_SAFE_NO_PAD.encode([0xff; 1025]),
        "e": "AQAB",
    });
    let document = json!({ "keys": [big_jwk] }).to_string();
    assert!(JwtKey::from_jwks(&document).is_err());

    // A signer is held to the same bounds: no verifier could accept its tokens.
    let big_private = include_bytes!("../fixtures/auth/rsa8192-private.pem");
    let error = JwtSigner::rsa_pem(big_private).err().unwrap();
    assert!(error.to_string().contains("2048 to 4096 bits"), "{error}");
    assert!(JwtSigner::rsa_pem(RSA_PRIVATE).is_ok());
}

/// The body's digest cannot be carried in a registered claim: under `jti` two deliveries of
/// one body (two `{}` pings) would share a message id, and one would be dropped as a
/// duplicate; under the others every token would be refused. The receiver refuses it.
#[test]
fn the_body_digest_claim_cannot_be_a_registered_claim() {
    use webhook_core::Verifier as _;
    for name in ["jti", "iat", "exp", "nbf", "iss", "sub", "aud"] {
        let verifier = JwtBearer::hmac(secret()).unwrap().body_digest_claim(name);
        let error = verifier.check_config().unwrap_err();
        assert!(error.to_string().contains(&format!("`{name}`")), "{error}");
        let built = webhook_core::Receiver::builder().verifier(verifier).build();
        assert!(built.is_err(), "{name}");
    }
    let verifier = JwtBearer::hmac(secret())
        .unwrap()
        .body_digest_claim("body_sha256");
    assert!(verifier.check_config().is_ok());
    assert!(
        webhook_core::Receiver::builder()
            .verifier(verifier)
            .build()
            .is_ok()
    );
}
