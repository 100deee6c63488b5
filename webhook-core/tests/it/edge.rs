//! Edge cases: inputs that must never be accepted, and inputs that must not break verification.

use webhook_core::provider::{github, stripe};
use webhook_core::{
    FixedClock, Freshness, Key, KeyRing, Outgoing, Secret, Signer, StandardWebhooks,
    StandardWebhooksSigner, Verifier, VerifyErrorKind, WebhookRequest,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_614_265_330;

fn sw() -> StandardWebhooks {
    StandardWebhooks::new(Secret::from_whsec(SECRET).unwrap())
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)))
}

fn signed(body: &[u8]) -> Vec<(String, String)> {
    StandardWebhooksSigner::new(Secret::from_whsec(SECRET).unwrap())
        .sign(&Outgoing::new(body).id("msg_1").timestamp_secs(NOW))
        .unwrap()
        .into_vec()
}

fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            if n == name {
                (n.clone(), value.to_owned())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect()
}

fn kind(body: &[u8], headers: &[(String, String)]) -> Result<(), VerifyErrorKind> {
    sw().verify(&WebhookRequest::new(body).with_headers(headers))
        .map(|_| ())
        .map_err(|e| e.kind())
}

#[test]
fn empty_body_round_trips_and_is_bound() {
    let headers = signed(b"");
    assert_eq!(kind(b"", &headers), Ok(()));
    assert_eq!(kind(b" ", &headers), Err(VerifyErrorKind::InvalidSignature));
}

#[test]
fn non_utf8_body_is_verified_as_bytes() {
    let body = [0xff, 0xfe, 0x00, 0x80, b'{'];
    let headers = signed(&body);
    assert_eq!(kind(&body, &headers), Ok(()));
}

#[test]
fn one_mebibyte_body() {
    let body = vec![b'a'; 1 << 20];
    let headers = signed(&body);
    assert_eq!(kind(&body, &headers), Ok(()));
    let mut tampered = body.clone();
    tampered[(1 << 20) - 1] = b'b';
    assert_eq!(
        kind(&tampered, &headers),
        Err(VerifyErrorKind::InvalidSignature)
    );
}

#[test]
fn empty_secret_and_unpadded_secret() {
    assert!(Secret::from_text("").is_err());
    assert!(Secret::from_whsec("whsec_").is_err());
    assert!(Secret::from_bytes(Vec::new()).is_err());
    // The same key, padded and not.
    let padded = Secret::from_whsec("whsec_dGVzdA==").unwrap();
    let unpadded = Secret::from_whsec("whsec_dGVzdA").unwrap();
    assert_eq!(padded.expose_secret(), unpadded.expose_secret());
}

/// Stripe keys its HMAC with the whole `whsec_…` text: a secret decoded the Standard
/// Webhooks way could never verify a real delivery, so the preset refuses it, also as one key
/// of a ring (and the twin signer would have hidden the mistake from a round-trip test).
#[test]
fn stripe_refuses_a_whsec_decoded_secret() {
    const TEXT: &str = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
    assert!(stripe::verifier(Secret::from_text(TEXT).unwrap()).is_ok());
    let err = stripe::verifier(Secret::from_whsec(TEXT).unwrap()).unwrap_err();
    assert!(err.to_string().contains("Secret::from_text"), "{err}");
    let ring = KeyRing::new()
        .with(Key::new("new", Secret::from_text(TEXT).unwrap()))
        .with(Key::new("old", Secret::from_whsec(TEXT).unwrap()));
    assert!(stripe::verifier(ring).is_err());
    // The same secret is what Standard Webhooks wants.
    assert!(StandardWebhooks::new(Secret::from_whsec(TEXT).unwrap()).is_ok());
}

/// Decoded `whsec_` bytes that themselves start with `whsec_` are the key as they stand:
/// neither the verifier nor the signer decodes them a second time (checked against the
/// `standardwebhooks` crate, which decodes once).
#[test]
fn decoded_bytes_starting_with_whsec_are_not_decoded_again() {
    use base64::Engine as _;
    let inner = "whsec_QUJDREVGR0hJSktM";
    let text = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(inner)
    );
    let body = br#"{"type":"ping"}"#;
    let reference = standardwebhooks::Webhook::new(&text)
        .unwrap()
        .sign("msg_1", NOW, body)
        .unwrap();
    let ours = StandardWebhooksSigner::new(Secret::from_whsec(&text).unwrap())
        .sign(&Outgoing::new(body).id("msg_1").timestamp_secs(NOW))
        .unwrap();
    assert_eq!(ours.get("webhook-signature"), Some(reference.as_str()));
    let verifier = StandardWebhooks::new(Secret::from_whsec(&text).unwrap())
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    let timestamp = NOW.to_string();
    let request = WebhookRequest::new(body)
        .with_header("webhook-id", "msg_1")
        .with_header("webhook-timestamp", &timestamp)
        .with_header("webhook-signature", &reference);
    assert!(verifier.verify(&request).is_ok());
    // The `whsec_…` text itself is still decoded, once.
    let from_text = StandardWebhooks::new(Secret::from_text(&text).unwrap())
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    assert!(from_text.verify(&request).is_ok());
}

#[test]
fn garbage_before_a_valid_signature_is_tolerated() {
    let headers = signed(b"{}");
    let sig = headers
        .iter()
        .find(|(n, _)| n == "webhook-signature")
        .unwrap()
        .1
        .clone();
    let noisy = format!("v1,!!!notbase64 v2,abc v1, v1a,xyz v1,AAAA {sig}");
    assert_eq!(
        kind(b"{}", &with(&headers, "webhook-signature", &noisy)),
        Ok(())
    );
}

#[test]
fn empty_signature_entries_are_never_accepted() {
    let headers = signed(b"{}");
    for bad in [
        "v1,",
        "v1, ",
        "v1",
        ",",
        "v1,=",
        "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ] {
        let got = kind(b"{}", &with(&headers, "webhook-signature", bad));
        assert!(got.is_err(), "{bad:?} accepted");
    }
}

#[test]
fn duplicated_headers() {
    let headers = signed(b"{}");
    // A second timestamp or id is ambiguous: refuse.
    for name in ["webhook-timestamp", "webhook-id"] {
        let mut dup = headers.clone();
        let value = headers.iter().find(|(n, _)| n == name).unwrap().1.clone();
        dup.push((name.to_owned(), value));
        assert_eq!(
            kind(b"{}", &dup),
            Err(VerifyErrorKind::MalformedHeader),
            "{name}"
        );
    }
    // A repeated signature header is a list of candidates: the valid one still counts, a
    // wrong one alone does not.
    let mut dup = headers.clone();
    dup.insert(0, ("webhook-signature".into(), "v1,AAAA".into()));
    assert_eq!(kind(b"{}", &dup), Ok(()));
}

#[test]
fn extreme_timestamps() {
    let headers = signed(b"{}");
    // Not a timestamp at all: malformed, whatever the signature. A number of seconds that
    // is a timestamp but not the signed one: the signature does not match.
    let got: Vec<_> = [
        "9223372036854775807",
        "-9223372036854775808",
        "-1",
        "0",
        "99999999999999999999",
        "1e9",
        "",
    ]
    .into_iter()
    .map(|ts| (ts, kind(b"{}", &with(&headers, "webhook-timestamp", ts))))
    .collect();
    use VerifyErrorKind::{InvalidSignature, MalformedHeader};
    assert_eq!(
        got,
        vec![
            // Seconds whose milliseconds overflow, negative times, digits beyond i64,
            // exponents and nothing: not a timestamp.
            ("9223372036854775807", Err(MalformedHeader)),
            ("-9223372036854775808", Err(MalformedHeader)),
            ("-1", Err(MalformedHeader)),
            ("0", Err(InvalidSignature)),
            ("99999999999999999999", Err(MalformedHeader)),
            ("1e9", Err(MalformedHeader)),
            ("", Err(MalformedHeader)),
        ]
    );
    // Signed by the sender, so the signature is right, but the time is not.
    for (ts, want) in [
        (0_i64, VerifyErrorKind::TimestampTooOld),
        (i64::MAX / 1000, VerifyErrorKind::TimestampInFuture),
        (NOW - 301, VerifyErrorKind::TimestampTooOld),
        (NOW + 301, VerifyErrorKind::TimestampInFuture),
    ] {
        let headers = StandardWebhooksSigner::new(Secret::from_whsec(SECRET).unwrap())
            .sign(&Outgoing::new(b"{}").id("msg_1").timestamp_secs(ts))
            .unwrap()
            .into_vec();
        assert_eq!(kind(b"{}", &headers), Err(want), "ts {ts}");
    }
}

#[test]
fn missing_and_malformed_headers_have_the_right_kind() {
    let headers = signed(b"{}");
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let without: Vec<_> = headers.iter().filter(|(n, _)| n != name).cloned().collect();
        assert_eq!(
            kind(b"{}", &without),
            Err(VerifyErrorKind::MissingHeader),
            "{name}"
        );
    }
    let huge = "v1,".to_owned() + &"A".repeat(10_000);
    assert_eq!(
        kind(b"{}", &with(&headers, "webhook-signature", &huge)),
        Err(VerifyErrorKind::MalformedHeader)
    );
    let many = vec!["v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; 20].join(" ");
    assert_eq!(
        kind(b"{}", &with(&headers, "webhook-signature", &many)),
        Err(VerifyErrorKind::MalformedHeader)
    );
}

#[test]
fn stripe_conflicting_timestamps_are_refused() {
    let secret = Secret::from_text("whsec_test").unwrap();
    let headers = stripe::signer(secret.clone())
        .sign(&Outgoing::new(b"{}").timestamp_secs(NOW))
        .unwrap();
    let value = headers.get("stripe-signature").unwrap();
    let conflicting = format!("t=1,{value}");
    let v = stripe::verifier(secret)
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    let req = WebhookRequest::new(b"{}").with_header("stripe-signature", &conflicting);
    assert_eq!(
        v.verify(&req).unwrap_err().kind(),
        VerifyErrorKind::MalformedHeader
    );
}

#[test]
fn github_requires_its_prefix_and_accepts_upper_case_hex() {
    let secret = Secret::from_text("It's a Secret to Everybody").unwrap();
    let v = github::verifier(secret).unwrap();
    let sig = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let ok = WebhookRequest::new(b"Hello, World!").with_header(
        "X-Hub-Signature-256",
        "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
    );
    assert!(v.verify(&ok).is_ok());
    let no_prefix = WebhookRequest::new(b"Hello, World!").with_header("X-Hub-Signature-256", sig);
    assert_eq!(
        v.verify(&no_prefix).unwrap_err().kind(),
        VerifyErrorKind::MalformedHeader
    );
    let short =
        WebhookRequest::new(b"Hello, World!").with_header("X-Hub-Signature-256", "sha256=7571");
    assert_eq!(
        v.verify(&short).unwrap_err().kind(),
        VerifyErrorKind::InvalidSignature
    );
}

#[test]
fn expired_keys_are_not_accepted() {
    use std::time::{Duration, UNIX_EPOCH};
    use webhook_core::{Key, KeyRing};
    let old = Secret::from_whsec(SECRET).unwrap();
    let expired = Key::new("old", old).expires_at(UNIX_EPOCH + Duration::from_secs(NOW as u64));
    let current = Key::new("new", Secret::random(24));
    let verifier = |ring: KeyRing| {
        StandardWebhooks::new(ring)
            .unwrap()
            .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)))
    };
    let headers = signed(b"{}");
    let request = WebhookRequest::new(b"{}").with_headers(&headers);
    // Signed with a key that expired, beside a current one: the signature is not accepted.
    let err = verifier(KeyRing::new().with(expired.clone()).with(current))
        .verify(&request)
        .unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature);
    // Every key expired: the receiver's fault, answered 500 whatever the request.
    let err = verifier(KeyRing::new().with(expired.clone()))
        .verify(&request)
        .unwrap_err();
    assert_eq!(err.kind(), VerifyErrorKind::NotConfigured);
    assert_eq!(err.status(), 500);
    // Beside a verifier that can judge the request, its verdict is reported, in either order.
    let live = || verifier(KeyRing::new().with(Key::new("new", Secret::random(24))));
    let dead = || verifier(KeyRing::new().with(expired.clone()));
    for either in [
        webhook_core::AnyOf::new().or(dead()).or(live()),
        webhook_core::AnyOf::new().or(live()).or(dead()),
    ] {
        let err = either.verify(&request).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature);
    }
}

/// Each key of a ring verifies with its own secret wherever it sits in the ring and whichever
/// keys before it expired; the proof names the key that matched and carries the tag under
/// the first active key (the replay token), whichever key matched.
#[test]
fn every_key_of_a_ring_verifies_in_its_place() {
    use std::time::{Duration, UNIX_EPOCH};
    use webhook_core::{Key, KeyRing};
    let secrets: Vec<Secret> = (0..4).map(|_| Secret::random(24)).collect();
    let ring = KeyRing::new()
        .with(
            Key::new("2026-02", secrets[0].clone())
                .expires_at(UNIX_EPOCH + Duration::from_secs(NOW as u64)),
        )
        .with(Key::new("2026-05", secrets[1].clone()))
        .with(
            Key::new("2026-08", secrets[2].clone())
                .expires_at(UNIX_EPOCH + Duration::from_secs(NOW as u64 + 60)),
        )
        .with(Key::new("2026-11", secrets[3].clone()));
    let verifier = StandardWebhooks::new(ring)
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    let sign = |secret: &Secret| {
        StandardWebhooksSigner::new(secret.clone())
            .sign(&Outgoing::new(b"{}").id("msg_1").timestamp_secs(NOW))
            .unwrap()
            .into_vec()
    };
    let token = |headers: &[(String, String)]| {
        verifier
            .verify(&WebhookRequest::new(b"{}").with_headers(headers))
            .map(|proof| (proof.key_id().map(str::to_owned), proof.replay_token()))
            .map_err(|e| e.kind())
    };
    let (first_active, first_tag) = token(&sign(&secrets[1])).unwrap();
    assert_eq!(first_active.as_deref(), Some("2026-05"));
    for (secret, id) in [(&secrets[2], "2026-08"), (&secrets[3], "2026-11")] {
        let (key_id, tag) = token(&sign(secret)).unwrap();
        assert_eq!(key_id.as_deref(), Some(id));
        assert_eq!(
            tag, first_tag,
            "{id}: the replay token is the first active key's tag"
        );
    }
    // The expired key, and a key the ring does not hold.
    for secret in [&secrets[0], &Secret::random(24)] {
        assert_eq!(token(&sign(secret)), Err(VerifyErrorKind::InvalidSignature));
    }
}

/// The verifiers that walk their key ring themselves (rather than through the HMAC scheme)
/// skip an expired key too: a request signed with it is refused beside a current key (401),
/// and a ring of expired keys only is the receiver's fault (500).
#[test]
fn expired_keys_are_not_accepted_by_verifiers_with_rings_of_their_own() {
    use std::time::{Duration, UNIX_EPOCH};
    use webhook_core::provider::{hubspot, mailgun, twilio};
    use webhook_core::{Key, KeyRing};
    let old = Secret::from_text("an-old-signing-key").unwrap();
    let expired =
        Key::new("old", old.clone()).expires_at(UNIX_EPOCH + Duration::from_secs(NOW as u64));
    let beside = || {
        KeyRing::new()
            .with(expired.clone())
            .with(Key::new("new", Secret::random(24)))
    };
    let alone = || KeyRing::new().with(expired.clone());
    let current = || KeyRing::new().with(Key::new("old", old.clone()));
    let fresh = || Freshness::default().with_clock(FixedClock::at_secs(NOW));
    let url = "https://hooks.example.com/webhooks/in?tenant=7";

    let form = b"Body=hello&From=%2B15550001111";
    let twilio_headers = twilio::signer(old.clone())
        .sign(&Outgoing::new(form).url(url))
        .unwrap()
        .into_vec();
    let twilio_request = WebhookRequest::new(form)
        .with_url(url)
        .with_headers(&twilio_headers);
    let twilio = |ring: KeyRing| twilio::verifier(ring).unwrap().freshness(fresh());

    let mailgun_body = serde_json::json!({
        "signature": mailgun::signature_block(&old, NOW),
        "event-data": { "event": "delivered" },
    })
    .to_string();
    let mailgun_request = WebhookRequest::new(mailgun_body.as_bytes());
    let mailgun = |ring: KeyRing| mailgun::verifier(ring).unwrap().freshness(fresh());

    let hubspot_body = br#"[{"eventId":1}]"#;
    let hubspot_headers = hubspot::legacy_signer(hubspot::Legacy::V2, old.clone())
        .sign(&Outgoing::new(hubspot_body).url(url))
        .unwrap()
        .into_vec();
    let hubspot_request = WebhookRequest::new(hubspot_body)
        .with_url(url)
        .with_headers(&hubspot_headers);
    let hubspot = |ring: KeyRing| {
        hubspot::legacy_verifier(hubspot::Legacy::V2, ring)
            .unwrap()
            .freshness(fresh())
    };

    type MakeVerifier<'a> = &'a dyn Fn(KeyRing) -> Box<dyn Verifier>;
    let cases: [(&str, &WebhookRequest<'_>, MakeVerifier<'_>); 3] = [
        ("twilio", &twilio_request, &|r| Box::new(twilio(r))),
        ("mailgun", &mailgun_request, &|r| Box::new(mailgun(r))),
        ("hubspot-legacy", &hubspot_request, &|r| {
            Box::new(hubspot(r))
        }),
    ];
    for (name, request, verifier) in cases {
        // The same key, not expired: accepted (so the refusals below are the expiry's).
        assert!(verifier(current()).verify(request).is_ok(), "{name}");
        let err = verifier(beside()).verify(request).unwrap_err();
        assert_eq!(err.kind(), VerifyErrorKind::InvalidSignature, "{name}");
        let err = verifier(alone()).verify(request).unwrap_err();
        assert_eq!(
            (err.kind(), err.status()),
            (VerifyErrorKind::NotConfigured, 500),
            "{name}"
        );
    }
}

/// The `whsec_…` text itself (from `Secret::from_env` or `from_text`) works as a Standard
/// Webhooks key: it is decoded, not used as raw bytes, on both sides.
#[test]
fn whsec_text_keys_are_decoded() {
    let text = Secret::from_text(SECRET).unwrap();
    let v = StandardWebhooks::new(text.clone())
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    let body = br#"{"test": 2432232314}"#;
    let official = WebhookRequest::new(body)
        .with_header("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
        .with_header("webhook-timestamp", "1614265330")
        .with_header(
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
    assert!(v.verify(&official).is_ok());
    let headers = StandardWebhooksSigner::new(text)
        .sign(&Outgoing::new(b"{}").id("msg_1").timestamp_secs(NOW))
        .unwrap();
    assert_eq!(headers.into_vec(), signed(b"{}"));
    assert!(StandardWebhooks::new(Secret::from_text("whsec_not base64!").unwrap()).is_err());
}
