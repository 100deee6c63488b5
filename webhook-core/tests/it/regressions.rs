//! Regression tests for defects found in review: each test fails on the defect it names.

use sha2::{Digest, Sha256};
use webhook_core::provider::{hubspot, stripe, twilio};
use webhook_core::{
    FixedClock, Freshness, Key, KeyRing, Outgoing, Secret, Signer, Verifier, WebhookRequest,
};

const NOW: i64 = 1_700_000_000;

/// Twilio's `I-Twilio-Idempotency-Token` is not signed: it must not change the replay key,
/// or a captured request resent with fresh tokens passes the replay store every time.
#[test]
fn twilio_unsigned_idempotency_token_does_not_choose_the_replay_key() {
    let secret = Secret::from_text("12345").unwrap();
    let url = "https://example.com/sms";
    let body = b"Body=hello&From=%2B15550001";
    let headers = twilio::signer(secret.clone())
        .sign(&Outgoing::new(body).url(url))
        .unwrap()
        .into_vec();
    let verifier = twilio::verifier(secret).unwrap();
    let tokens: Vec<_> = ["idem-1", "idem-2"]
        .iter()
        .map(|token| {
            let request = WebhookRequest::new(body)
                .with_url(url)
                .with_headers(&headers)
                .with_header("I-Twilio-Idempotency-Token", token);
            let proof = verifier.verify(&request).unwrap();
            assert_eq!(proof.message_id(), None);
            proof.replay_token().unwrap()
        })
        .collect();
    assert_eq!(tokens[0], tokens[1]);
}

/// SHA-256 padding of `secret ‖ body` for a 36-byte secret, as a length-extension attack
/// appends it.
fn sha256_padding(message_len: usize) -> Vec<u8> {
    let mut pad = vec![0x80u8];
    while (message_len + pad.len()) % 64 != 56 {
        pad.push(0);
    }
    pad.extend_from_slice(&((message_len as u64) * 8).to_be_bytes());
    pad
}

/// HubSpot legacy signatures are `sha256(secret ‖ …)`, open to length extension; a body
/// carrying SHA-256 padding (a `0x80` byte, NULs) is refused whatever its signature.
#[test]
fn hubspot_legacy_refuses_length_extended_bodies() {
    let secret_text = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    let secret = Secret::from_text(secret_text).unwrap();
    let body = br#"[{"eventId":1}]"#;
    let v1 = hubspot::legacy_verifier(hubspot::Legacy::V1, secret.clone()).unwrap();
    let mut extended = body.to_vec();
    extended.extend(sha256_padding(secret_text.len() + body.len()));
    extended.extend_from_slice(br#",{"eventId":2}]"#);
    // Whatever the attacker computes for the extended body, it is refused before comparing;
    // here with the correct digest, which a length-extension attack can produce.
    let mut full = secret_text.as_bytes().to_vec();
    full.extend_from_slice(&extended);
    let forged = hex::encode(Sha256::digest(&full));
    let request = WebhookRequest::new(&extended)
        .with_header("X-HubSpot-Signature-Version", "v1")
        .with_header("X-HubSpot-Signature", &forged);
    assert!(v1.verify(&request).is_err());
    // The genuine body still verifies.
    let headers = hubspot::legacy_signer(hubspot::Legacy::V1, secret)
        .sign(&Outgoing::new(body))
        .unwrap();
    assert!(v1.verify(&headers.apply(WebhookRequest::new(body))).is_ok());
}

/// During rotation a sender signs with several keys; stripping one of the signatures must not
/// give the same delivery a new replay token.
#[test]
fn replay_token_does_not_depend_on_which_signature_matched() {
    let new = Secret::from_text("whsec_new").unwrap();
    let old = Secret::from_text("whsec_old").unwrap();
    let body = br#"{"id":"evt_1"}"#;
    let sign = |s: &Secret| {
        stripe::signer(s.clone())
            .sign(&Outgoing::new(body).timestamp_secs(NOW))
            .unwrap()
            .get("stripe-signature")
            .unwrap()
            .to_owned()
    };
    let (with_new, with_old) = (sign(&new), sign(&old));
    let v1_new = with_new.split_once(",v1=").unwrap().1;
    let both = format!("{with_old},v1={v1_new}");
    let ring = KeyRing::new()
        .with(Key::new("new", new))
        .with(Key::new("old", old));
    let verifier = stripe::verifier(ring)
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    let token = |header: &str| {
        let request = WebhookRequest::new(body).with_header("stripe-signature", header);
        verifier.verify(&request).unwrap().replay_token().unwrap()
    };
    let t_both = token(&both);
    assert_eq!(t_both, token(&with_new));
    assert_eq!(t_both, token(&with_old));
}

/// Replay retention covers the verifier's own freshness window, not only the builder's
/// default tolerance: with a 1-hour tolerance each way, 10 minutes of retention would let a
/// captured delivery be replayed from minute 10 to minute 60.
#[test]
fn retention_covers_the_verifiers_freshness_window() {
    use std::time::Duration;
    use webhook_core::{Receiver, StandardWebhooks};
    let hour = Duration::from_secs(3600);
    let verifier = || {
        StandardWebhooks::new(Secret::random(24))
            .unwrap()
            .freshness(Freshness::new(hour, hour))
    };
    let err = Receiver::builder()
        .verifier(verifier())
        .retention(Duration::from_secs(600))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("7200 s"), "{err}");
    assert!(Receiver::builder().verifier(verifier()).build().is_ok());
    assert!(
        Receiver::builder()
            .verifier(verifier())
            .retention(2 * hour)
            .build()
            .is_ok()
    );
}

/// Shopify names its signature header `Shopify-Hmac-Sha256` on some deliveries: it is read
/// when `X-Shopify-Hmac-Sha256` is absent, and only then.
#[test]
fn shopify_signature_header_without_the_x_prefix_is_read() {
    let secret = Secret::from_text("hush").unwrap();
    let body = br#"{"id":820982911946154508}"#;
    let signed = webhook_core::provider::shopify::signer(secret.clone())
        .sign(&Outgoing::new(body))
        .unwrap();
    let signature = signed.get("x-shopify-hmac-sha256").unwrap();
    let verifier = webhook_core::provider::shopify::verifier(secret).unwrap();
    let renamed = WebhookRequest::new(body).with_header("Shopify-Hmac-Sha256", signature);
    assert_eq!(verifier.verify(&renamed).unwrap().scheme(), "shopify");
    // The main name wins when both are there: a wrong one is not rescued by the other.
    let both = WebhookRequest::new(body)
        .with_header("X-Shopify-Hmac-Sha256", "AAAA")
        .with_header("Shopify-Hmac-Sha256", signature);
    assert!(verifier.verify(&both).is_err());
    // Neither: the error names the main header.
    let error = verifier.verify(&WebhookRequest::new(body)).unwrap_err();
    assert!(
        error.to_string().contains("x-shopify-hmac-sha256"),
        "{error}"
    );
    // A tampered body fails under the other name too.
    let tampered = WebhookRequest::new(br#"{"id":820982911946154509}"#)
        .with_header("Shopify-Hmac-Sha256", signature);
    assert!(verifier.verify(&tampered).is_err());
}

/// Twitch asks receivers to accept messages up to 10 minutes old: the preset's default
/// freshness does, and refuses older ones.
#[test]
fn twitch_preset_accepts_ten_minutes() {
    use webhook_core::Clock as _;
    use webhook_core::provider::twitch;
    let secret = Secret::from_text("potaytoes-and-more").unwrap();
    let body = br#"{"subscription":{"type":"channel.follow"}}"#;
    let now = webhook_core::SystemClock.now_ms();
    let verifier = twitch::verifier(secret.clone()).unwrap();
    let sent_ago = |minutes: i64| {
        twitch::signer(secret.clone())
            .sign(
                &Outgoing::new(body)
                    .id(format!("msg-{minutes}"))
                    .timestamp_ms(now - minutes * 60_000),
            )
            .unwrap()
    };
    let eight = sent_ago(8);
    assert!(
        verifier
            .verify(&eight.apply(WebhookRequest::new(body)))
            .is_ok()
    );
    let eleven = sent_ago(11);
    let stale = verifier
        .verify(&eleven.apply(WebhookRequest::new(body)))
        .unwrap_err();
    assert_eq!(stale.kind(), webhook_core::VerifyErrorKind::TimestampTooOld);
    assert_eq!(twitch::freshness().past().as_secs(), 600);
}

/// A `whsec_` secret whose rest is not base64 is refused by the verifier; the signer must not
/// sign with its text instead, producing deliveries no verifier accepts.
#[test]
fn standard_webhooks_signer_refuses_an_undecodable_whsec_secret() {
    use webhook_core::{StandardWebhooks, StandardWebhooksSigner};
    let bad = Secret::from_text("whsec_!!!").unwrap();
    assert!(StandardWebhooks::new(bad.clone()).is_err());
    for signer in [
        StandardWebhooksSigner::new(bad.clone()),
        StandardWebhooksSigner::svix(bad),
    ] {
        let error = signer.sign(&Outgoing::new(b"{}")).unwrap_err();
        assert!(error.to_string().contains("not base64"), "{error}");
    }
    let good = Secret::from_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let headers = StandardWebhooksSigner::new(good.clone())
        .sign(&Outgoing::new(b"{}").id("msg_1"))
        .unwrap();
    let verifier = StandardWebhooks::new(good).unwrap();
    assert!(
        verifier
            .verify(&headers.apply(WebhookRequest::new(b"{}")))
            .is_ok()
    );
}
