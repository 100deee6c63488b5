//! Static credentials: `ApiKey` and `BasicAuth`, their signers, and what their errors show.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use webhook_core::{
    AnyOf, ApiKey, ApiKeySigner, BasicAuth, BasicAuthSigner, FixedClock, Key, KeyRing, Outgoing,
    Proof, Secret, Signer, Verifier, VerifyError, VerifyErrorKind, WebhookRequest,
};

const BASIC_CHALLENGE: &str = r#"Basic realm="webhook", charset="UTF-8""#;
const BEARER_CHALLENGE: &str = r#"Bearer realm="webhook""#;
const BEARER_INVALID: &str = r#"Bearer realm="webhook", error="invalid_token""#;

fn secret(text: &str) -> Secret {
    Secret::from_text(text).unwrap()
}

fn with_header(verifier: &dyn Verifier, name: &str, value: &[u8]) -> Result<Proof, VerifyError> {
    verifier.verify(&WebhookRequest::new(b"{}").with_header(name, value))
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn assert_rejected(
    result: Result<Proof, VerifyError>,
    kind: VerifyErrorKind,
    challenge: Option<&str>,
) -> VerifyError {
    let err = result.unwrap_err();
    assert_eq!(err.kind(), kind, "{err:?}");
    assert_eq!(err.status(), 401);
    assert_eq!(err.www_authenticate(), challenge, "{err:?}");
    err
}

// ---------------------------------------------------------------- api key

fn two_keys() -> ApiKey {
    ApiKey::new(
        "X-Api-Key",
        [secret("key-new-2026"), secret("key-old-2025")],
    )
    .unwrap()
}

#[test]
fn api_key_accepts_every_key_of_a_rotation() {
    let v = two_keys();
    let proof = with_header(&v, "x-api-key", b"key-new-2026").unwrap();
    assert_eq!(proof.scheme(), "api-key");
    assert_eq!(proof.key_id(), Some("key-0"));
    let proof = with_header(&v, "X-API-KEY", b"key-old-2025").unwrap();
    assert_eq!(proof.key_id(), Some("key-1"));
    // Surrounding whitespace is not part of the key.
    assert!(with_header(&v, "x-api-key", b"  key-old-2025 ").is_ok());
    // A static key is not a per-message signature: no replay token.
    assert_eq!(proof.replay_token(), None);
}

#[test]
fn api_key_rejects_wrong_near_and_empty_keys() {
    let v = two_keys();
    for value in [
        &b"key-new-2025"[..],
        b"key-new-202",
        b"key-new-20266",
        b"KEY-NEW-2026",
        b"key-new-2026key-old-2025",
        b"   ",
        b"\xff\xfe",
    ] {
        let err = assert_rejected(
            with_header(&v, "x-api-key", value),
            VerifyErrorKind::InvalidCredentials,
            None,
        );
        assert_eq!(err.code(), "invalid_credentials");
    }
}

#[test]
fn api_key_missing_repeated_and_huge_headers() {
    let v = two_keys();
    let err = assert_rejected(
        v.verify(&WebhookRequest::new(b"{}")),
        VerifyErrorKind::MissingCredentials,
        None,
    );
    assert!(err.to_string().contains("x-api-key") || err.to_string().contains("X-Api-Key"));
    // The key sent under another header name is not the key.
    assert_rejected(
        with_header(&v, "x-api-token", b"key-new-2026"),
        VerifyErrorKind::MissingCredentials,
        None,
    );
    let twice = WebhookRequest::new(b"{}")
        .with_header("x-api-key", "key-new-2026")
        .with_header("x-api-key", "key-old-2025");
    assert_rejected(v.verify(&twice), VerifyErrorKind::InvalidCredentials, None);
    let huge = format!("key-new-2026{}", " ".repeat(5000));
    assert_rejected(
        with_header(&v, "x-api-key", huge.as_bytes()),
        VerifyErrorKind::InvalidCredentials,
        None,
    );
}

#[test]
fn api_key_ring_reports_ids_and_refuses_expired_keys() {
    let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    let ring = KeyRing::new()
        .with(Key::new("2026-11", secret("fresh-key")))
        .with(Key::new("2026-05", secret("stale-key")).expires_at(at(1_000)));
    let clock = FixedClock::at_secs(999);
    let v = ApiKey::with_key_ring("x-api-key", ring)
        .unwrap()
        .clock(Arc::new(clock.clone()));
    assert_eq!(
        with_header(&v, "x-api-key", b"stale-key").unwrap().key_id(),
        Some("2026-05")
    );
    clock.advance(Duration::from_secs(1));
    assert_rejected(
        with_header(&v, "x-api-key", b"stale-key"),
        VerifyErrorKind::InvalidCredentials,
        None,
    );
    // A ring whose every key has expired is a configuration fault: 500, not 401.
    let only_stale = ApiKey::with_key_ring(
        "x-api-key",
        KeyRing::new().with(Key::new("2026-05", secret("stale-key")).expires_at(at(1_000))),
    )
    .unwrap()
    .clock(Arc::new(clock.clone()));
    let err = with_header(&only_stale, "x-api-key", b"stale-key").unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::NotConfigured);
    assert_eq!(err.status(), 500);
    assert_eq!(
        with_header(&v, "x-api-key", b"fresh-key").unwrap().key_id(),
        Some("2026-11")
    );
}

#[test]
fn api_key_bearer_form() {
    let v = ApiKey::bearer([secret("tok-1"), secret("tok-2")]).unwrap();
    assert_eq!(v.header_name(), "authorization");
    let proof = with_header(&v, "Authorization", b"Bearer tok-2").unwrap();
    assert_eq!(proof.key_id(), Some("key-1"));
    assert!(with_header(&v, "authorization", b"bearer   tok-1").is_ok());
    assert!(with_header(&v, "authorization", b"BEARER tok-1").is_ok());

    assert_rejected(
        v.verify(&WebhookRequest::new(b"{}")),
        VerifyErrorKind::MissingCredentials,
        Some(BEARER_CHALLENGE),
    );
    // Another scheme carries no bearer token.
    assert_rejected(
        with_header(&v, "authorization", b"Basic tok-1"),
        VerifyErrorKind::MissingCredentials,
        Some(BEARER_CHALLENGE),
    );
    // The bare token without the scheme word is not a bearer token either.
    assert_rejected(
        with_header(&v, "authorization", b"tok-1"),
        VerifyErrorKind::MissingCredentials,
        Some(BEARER_CHALLENGE),
    );
    for bad in [&b"Bearer tok-3"[..], b"Bearer", b"Bearer tok-1 tok-2"] {
        assert_rejected(
            with_header(&v, "authorization", bad),
            VerifyErrorKind::InvalidCredentials,
            Some(BEARER_INVALID),
        );
    }
}

#[test]
fn api_key_config_errors() {
    assert!(ApiKey::new("x-api-key", Vec::<Secret>::new()).is_err());
    assert!(ApiKey::bearer(Vec::<Secret>::new()).is_err());
    assert!(ApiKey::new("x api key", [secret("k")]).is_err());
    assert!(ApiKey::new("", [secret("k")]).is_err());
    let err = ApiKey::new("x-api-key", [secret("has space-hunter2")]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(ApiKey::new("x-api-key", [Secret::from_bytes(vec![0xff, 0x00]).unwrap()]).is_err());
}

#[test]
fn api_key_signer_round_trips() {
    let key = secret("k_live_123");
    let headers = ApiKeySigner::new("X-Api-Key", key.clone())
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    assert_eq!(headers.get("x-api-key"), Some("k_live_123"));
    let v = ApiKey::new("x-api-key", [secret("other"), key.clone()]).unwrap();
    let proof = v
        .verify(&headers.apply(WebhookRequest::new(b"{}")))
        .unwrap();
    assert_eq!(proof.key_id(), Some("key-1"));

    let headers = ApiKeySigner::bearer(key.clone())
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    assert_eq!(headers.get("authorization"), Some("Bearer k_live_123"));
    let v = ApiKey::bearer([key]).unwrap();
    assert!(v.verify(&headers.apply(WebhookRequest::new(b"{}"))).is_ok());

    // A key that cannot travel in a header is a signing error, not a broken header.
    let binary = ApiKeySigner::new("x-api-key", Secret::from_bytes(vec![0xff]).unwrap());
    assert!(binary.sign(&Outgoing::new(b"{}")).is_err());
}

// ---------------------------------------------------------------- basic

fn basic_two() -> BasicAuth {
    BasicAuth::new([
        ("sender", secret("pa:ss-1")),
        ("sender-old", secret("pass-2")),
    ])
    .unwrap()
}

#[test]
fn basic_accepts_each_credential_of_a_rotation() {
    let v = basic_two();
    let proof = with_header(&v, "authorization", basic("sender", "pa:ss-1").as_bytes()).unwrap();
    assert_eq!(proof.scheme(), "basic");
    assert_eq!(proof.subject(), Some("sender"));
    let proof = with_header(
        &v,
        "Authorization",
        basic("sender-old", "pass-2").as_bytes(),
    )
    .unwrap();
    assert_eq!(proof.subject(), Some("sender-old"));
}

#[test]
fn basic_scheme_word_is_case_insensitive() {
    let v = basic_two();
    let encoded = STANDARD.encode("sender:pa:ss-1");
    for scheme in ["basic", "BASIC", "bAsIc"] {
        let value = format!("{scheme} {encoded}");
        assert!(
            with_header(&v, "authorization", value.as_bytes()).is_ok(),
            "{scheme}"
        );
    }
    let spaced = format!("Basic    {encoded}   ");
    assert!(with_header(&v, "authorization", spaced.as_bytes()).is_ok());
}

#[test]
fn basic_rejects_wrong_user_or_password_and_mixed_pairs() {
    let v = basic_two();
    for (user, password) in [
        ("sender", "pass-2"),      // password of the other user
        ("sender-old", "pa:ss-1"), // and the reverse
        ("sender", "pa:ss-"),
        ("sender", "pa:ss-1 "),
        ("Sender", "pa:ss-1"),
        ("", "pa:ss-1"),
        ("sender", ""),
    ] {
        let err = assert_rejected(
            with_header(&v, "authorization", basic(user, password).as_bytes()),
            VerifyErrorKind::InvalidCredentials,
            Some(BASIC_CHALLENGE),
        );
        assert!(!err.to_string().contains("pa:ss"), "{err}");
    }
}

#[test]
fn basic_malformed_headers_are_invalid_never_a_panic() {
    let v = basic_two();
    let no_colon = format!("Basic {}", STANDARD.encode("senderpa-ss-1"));
    let not_utf8 = format!("Basic {}", STANDARD.encode(b"sender:\xff\xfe"));
    let huge = format!("Basic {}", "QUFB".repeat(2000));
    let cases: Vec<&[u8]> = vec![
        b"Basic",
        b"Basic ",
        b"basic",
        b"Basic !!!",
        b"Basic ====",
        b"Basic c2VuZGVy",            // "sender", no colon
        b"Basic c2VuZGVyOnBhOnNzLTE", // valid text but missing padding
        b"Basic \xff\xfe\xfd",
        b"Basic c2Vu ZGVy",
        no_colon.as_bytes(),
        not_utf8.as_bytes(),
        huge.as_bytes(),
    ];
    for value in cases {
        assert_rejected(
            with_header(&v, "authorization", value),
            VerifyErrorKind::InvalidCredentials,
            Some(BASIC_CHALLENGE),
        );
    }
    let good = basic("sender", "pa:ss-1");
    let twice = WebhookRequest::new(b"{}")
        .with_header("authorization", &good)
        .with_header("authorization", &good);
    assert_rejected(
        v.verify(&twice),
        VerifyErrorKind::InvalidCredentials,
        Some(BASIC_CHALLENGE),
    );
}

#[test]
fn basic_missing_or_other_scheme_is_missing_credentials() {
    let v = basic_two();
    let err = assert_rejected(
        v.verify(&WebhookRequest::new(b"{}")),
        VerifyErrorKind::MissingCredentials,
        Some(BASIC_CHALLENGE),
    );
    assert_eq!(err.code(), "missing_credentials");
    assert_eq!(
        err.response_headers(),
        vec![("www-authenticate", BASIC_CHALLENGE.to_owned())]
    );
    for value in [&b"Bearer abc"[..], b"Basicc2VuZGVy", b"", b"\xff"] {
        assert_rejected(
            with_header(&v, "authorization", value),
            VerifyErrorKind::MissingCredentials,
            Some(BASIC_CHALLENGE),
        );
    }
}

#[test]
fn basic_realm_is_configurable_and_escaped() {
    let v = basic_two().realm("payments");
    assert_eq!(v.challenge(), r#"Basic realm="payments", charset="UTF-8""#);
    let err = with_header(&v, "authorization", b"Basic !!!").unwrap_err();
    assert_eq!(
        err.www_authenticate(),
        Some(r#"Basic realm="payments", charset="UTF-8""#)
    );
    let v = basic_two().realm("a\"b\r\nSet-Cookie: x");
    assert_eq!(
        v.challenge(),
        r#"Basic realm="a\"bSet-Cookie: x", charset="UTF-8""#
    );
    // Beyond ASCII: written `?`, so that every framework sends the challenge (rocket drops
    // a header value that is not visible ASCII).
    let v = basic_two().realm("Zahlungseingänge");
    assert_eq!(
        v.challenge(),
        r#"Basic realm="Zahlungseing?nge", charset="UTF-8""#
    );
    assert!(
        v.challenge()
            .bytes()
            .all(|b| b == b' ' || b.is_ascii_graphic())
    );
}

#[test]
fn basic_utf8_credentials() {
    let v = BasicAuth::new([("jürgen", secret("pässwörd"))]).unwrap();
    let proof = with_header(&v, "authorization", basic("jürgen", "pässwörd").as_bytes()).unwrap();
    assert_eq!(proof.subject(), Some("jürgen"));
    // Half of a credential: `Debug` says there is a subject, not which.
    let debug = format!("{proof:?}");
    assert!(
        !debug.contains("jürgen") && debug.contains("subject: true"),
        "{debug}"
    );
}

#[test]
fn basic_from_list() {
    let v = BasicAuth::from_list("alice:one, bob:t:w:o ,carol:3").unwrap();
    assert_eq!(
        with_header(&v, "authorization", basic("bob", "t:w:o").as_bytes())
            .unwrap()
            .subject(),
        Some("bob")
    );
    assert!(with_header(&v, "authorization", basic("carol", "3").as_bytes()).is_ok());
    assert!(with_header(&v, "authorization", basic("alice", "3").as_bytes()).is_err());

    for bad in [
        "",
        "alice",
        "alice:one,",
        ":hunter2pw",
        "alice:",
        "alice:one,,bob:two",
        "bob:hunter2pw,nocolon",
    ] {
        let err = BasicAuth::from_list(bad).unwrap_err();
        assert!(!err.to_string().contains("hunter2pw"), "{err}");
        assert!(err.to_string().starts_with("basic auth"), "{err}");
    }
}

#[test]
fn basic_config_errors() {
    assert!(BasicAuth::new(Vec::<(String, Secret)>::new()).is_err());
    assert!(BasicAuth::new([("", secret("pw"))]).is_err());
    assert!(BasicAuth::new([("a:b", secret("pw"))]).is_err());
    assert!(BasicAuth::new([("a\nb", secret("pw"))]).is_err());
    assert!(BasicAuth::new([("a", Secret::from_bytes(vec![0xff]).unwrap())]).is_err());
    let err = BasicAuth::from_env("WEBHOOK_AUTH_TEST_SURELY_UNSET").unwrap_err();
    assert!(err.to_string().contains("WEBHOOK_AUTH_TEST_SURELY_UNSET"));
}

#[test]
fn basic_signer_round_trips() {
    let signer = BasicAuthSigner::new("sender-old", secret("pass-2"));
    let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    assert_eq!(
        headers.get("authorization"),
        Some(basic("sender-old", "pass-2").as_str())
    );
    let proof = basic_two()
        .verify(&headers.apply(WebhookRequest::new(b"{}")))
        .unwrap();
    assert_eq!(proof.subject(), Some("sender-old"));

    let wrong = BasicAuthSigner::new("sender-old", secret("pass-1"))
        .sign(&Outgoing::new(b"{}"))
        .unwrap();
    assert!(
        basic_two()
            .verify(&wrong.apply(WebhookRequest::new(b"{}")))
            .is_err()
    );
    assert!(
        BasicAuthSigner::new("a:b", secret("pw"))
            .sign(&Outgoing::new(b"{}"))
            .is_err()
    );
}

// ---------------------------------------------------------------- together

#[test]
fn any_of_prefers_the_verifier_that_found_credentials() {
    let either = AnyOf::new()
        .or(ApiKey::new("x-api-key", [secret("key-1")]).unwrap())
        .or(basic_two());
    // Wrong Basic credentials outrank the missing API key.
    let err =
        with_header(&either, "authorization", basic("sender", "nope").as_bytes()).unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::InvalidCredentials);
    assert_eq!(err.www_authenticate(), Some(BASIC_CHALLENGE));
    assert_eq!(
        with_header(
            &either,
            "authorization",
            basic("sender", "pa:ss-1").as_bytes()
        )
        .unwrap()
        .scheme(),
        "basic"
    );
    assert_eq!(
        with_header(&either, "x-api-key", b"key-1")
            .unwrap()
            .scheme(),
        "api-key"
    );
}

/// A 401 from `AnyOf` carries the Basic challenge whatever the members' order: with no
/// credentials at all, and when a signature-like member's verdict is the one reported.
#[test]
fn any_of_answers_a_challenge_whatever_the_order() {
    let api_first = AnyOf::new()
        .or(ApiKey::new("x-api-key", [secret("key-1")]).unwrap())
        .or(basic_two());
    let basic_first = AnyOf::new()
        .or(basic_two())
        .or(ApiKey::new("x-api-key", [secret("key-1")]).unwrap());
    for either in [&api_first, &basic_first] {
        let none = either.verify(&WebhookRequest::new(b"{}")).unwrap_err();
        assert_eq!(none.status(), 401);
        assert_eq!(none.www_authenticate(), Some(BASIC_CHALLENGE));
        // A wrong API key is the verdict reported, with the challenge still offered.
        let wrong_key = with_header(either, "x-api-key", b"key-2").unwrap_err();
        assert_eq!(wrong_key.kind(), VerifyErrorKind::InvalidCredentials);
        assert_eq!(wrong_key.www_authenticate(), Some(BASIC_CHALLENGE));
    }
}

// ---------------------------------------------------------------- leakage

#[test]
fn nothing_secret_in_debug_display_or_json() {
    const SECRETS: [&str; 3] = ["hunter2-api", "hunter2-pass", "aHVudGVyMi"];
    let api = ApiKey::new("x-api-key", [secret("hunter2-api")]).unwrap();
    let bearer = ApiKey::bearer([secret("hunter2-api")]).unwrap();
    let basic_auth = BasicAuth::new([("alice", secret("hunter2-pass"))]).unwrap();
    let api_signer = ApiKeySigner::new("x-api-key", secret("hunter2-api"));
    let basic_signer = BasicAuthSigner::new("alice", secret("hunter2-pass"));
    let signed = basic_signer.sign(&Outgoing::new(b"{}")).unwrap();

    let mut texts = vec![
        format!("{api:?}"),
        format!("{bearer:?}"),
        format!("{basic_auth:?}"),
        format!("{api_signer:?}"),
        format!("{basic_signer:?}"),
        format!("{signed:?}"),
    ];
    let near_misses = [
        with_header(&api, "x-api-key", b"hunter2-apj"),
        with_header(&bearer, "authorization", b"Bearer hunter2-apj"),
        with_header(
            &basic_auth,
            "authorization",
            basic("alice", "hunter2-pasx").as_bytes(),
        ),
        with_header(&basic_auth, "authorization", b"Basic hunter2-pass"),
    ];
    for result in near_misses {
        let err = result.unwrap_err();
        texts.push(format!("{err:?}"));
        texts.push(err.to_string());
        texts.push(err.to_json());
    }
    for text in &texts {
        for needle in SECRETS {
            assert!(!text.contains(needle), "{needle} leaked in {text}");
        }
    }
    // The fixtures did produce text worth checking.
    assert!(texts.iter().any(|t| t.contains("ApiKey")));
    assert!(texts.iter().any(|t| t.contains("invalid_credentials")));
}
