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

/// Twilio's form scheme signs `URL‖name‖value…` without separators: a captured post whose
/// bytes are moved between names and values still verifies. Its key is the signature, so a
/// replay store answers such a copy as a duplicate; a receiver without one is refused.
#[test]
fn a_reshaped_twilio_form_is_a_duplicate_and_the_store_is_required() {
    let secret = Secret::from_text("12345").unwrap();
    let url = "https://example.com/sms";
    let headers = twilio::signer(secret.clone())
        .sign(&Outgoing::new(b"Body=hi&From=%2B1").url(url))
        .unwrap()
        .into_vec();
    let verifier = twilio::verifier(secret.clone()).unwrap();
    let form = |body: &'static [u8]| {
        WebhookRequest::new(body)
            .with_url(url)
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_headers(&headers)
    };
    let original = verifier.verify(&form(b"Body=hi&From=%2B1")).unwrap();
    // One parameter where there were two: the same signed text, `BodyhiFrom+1`.
    let reshaped = verifier.verify(&form(b"Body=hiFrom%2B1")).unwrap();
    assert_eq!(original.replay_token(), reshaped.replay_token());

    let error = webhook_core::Receiver::builder()
        .verifier(twilio::verifier(secret).unwrap())
        .without_replay_protection()
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("replay store"), "{error}");
}

/// A Twilio signature header longer than one tag is refused before it is decoded.
#[test]
fn an_oversized_twilio_signature_is_refused_unread() {
    let secret = Secret::from_text("12345").unwrap();
    let verifier = twilio::verifier(secret).unwrap();
    let long = "A".repeat(8 * 1024);
    for signature in [long.as_str(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="] {
        let request = WebhookRequest::new(b"Body=hi")
            .with_url("https://example.com/sms")
            .with_header("X-Twilio-Signature", signature);
        let error = verifier.verify(&request).unwrap_err();
        assert_eq!(
            error.kind(),
            webhook_core::VerifyErrorKind::InvalidSignature
        );
    }
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

/// Some providers send the signature header under a second name: Shopify's
/// `Shopify-Hmac-Sha256`, MailerSend's `X-MailerSend-Signature`, Mandrill's
/// `X-Mailchimp-Signature`. The second name is read when the first is absent, and only then.
#[test]
fn signature_headers_under_their_second_names_are_read() {
    use webhook_core::provider::{mailersend, mandrill, shopify};
    let secret = Secret::from_text("hush").unwrap();
    let url = "https://hooks.example.com/mandrill";
    let form = b"mandrill_events=%5B%5D";
    let json = br#"{"id":820982911946154508}"#;
    /// Main header, second name, scheme, verifier, signer, body.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Box<dyn Verifier>,
        Box<dyn Signer>,
        &'static [u8],
    );
    let cases: [Case; 3] = [
        (
            "x-shopify-hmac-sha256",
            "Shopify-Hmac-Sha256",
            "shopify",
            Box::new(shopify::verifier(secret.clone()).unwrap()),
            Box::new(shopify::signer(secret.clone())),
            json,
        ),
        (
            "signature",
            "X-MailerSend-Signature",
            "mailersend",
            Box::new(mailersend::verifier(secret.clone()).unwrap()),
            Box::new(mailersend::signer(secret.clone())),
            json,
        ),
        (
            "x-mandrill-signature",
            "X-Mailchimp-Signature",
            "mandrill",
            Box::new(mandrill::verifier(secret.clone()).unwrap()),
            Box::new(mandrill::signer(secret.clone())),
            form,
        ),
    ];
    for (main, alias, scheme, verifier, signer, body) in cases {
        let signed = signer.sign(&Outgoing::new(body).url(url)).unwrap();
        let signature = signed.get(main).unwrap();
        let view = |body: &'static [u8]| {
            WebhookRequest::new(body)
                .with_url(url)
                .with_header("content-type", "application/x-www-form-urlencoded")
        };
        let renamed = view(body).with_header(alias, signature);
        assert_eq!(verifier.verify(&renamed).unwrap().scheme(), scheme);
        // The main name wins when both are there: a wrong one is not rescued by the other.
        let both = view(body)
            .with_header(main, "AAAA")
            .with_header(alias, signature);
        assert!(verifier.verify(&both).is_err(), "{scheme}");
        // Neither: the error names the main header.
        let error = verifier.verify(&view(body)).unwrap_err();
        assert!(error.to_string().contains(main), "{error}");
        // A tampered body fails under the second name too.
        let tampered = view(b"mandrill_events=%5B1%5D").with_header(alias, signature);
        assert!(verifier.verify(&tampered).is_err(), "{scheme}");
    }
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

/// A signer twin signs only what its verifier can read back: an id with surrounding spaces or
/// outside visible ASCII, or a timestamp before 1970, is refused instead of producing a
/// delivery no verifier accepts.
#[test]
fn signers_refuse_ids_and_timestamps_their_verifiers_cannot_read() {
    use webhook_core::StandardWebhooksSigner;
    let signer = StandardWebhooksSigner::new(
        Secret::from_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
    );
    for id in [" msg_1", "msg_1 ", "msg_é", "msg\n1", ""] {
        let error = signer.sign(&Outgoing::new(b"{}").id(id)).unwrap_err();
        assert!(error.to_string().contains("message id"), "{id:?}: {error}");
    }
    let error = signer
        .sign(&Outgoing::new(b"{}").id("msg_1").timestamp_secs(-5))
        .unwrap_err();
    assert!(error.to_string().contains("timestamp"), "{error}");
    assert!(
        signer
            .sign(&Outgoing::new(b"{}").id("msg 1").timestamp_secs(5))
            .is_ok()
    );
}

/// HubSpot v3 signs the URL with the escapes of `:/?@!$'()*,;` decoded and every other escape
/// as sent. The expected signature here is computed from the decoded URL written out by hand,
/// not by the crate's signer.
#[test]
fn hubspot_v3_signs_the_url_with_the_listed_escapes_decoded() {
    use base64::Engine as _;
    use hmac::{Hmac, Mac as _};

    let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    let received =
        "https://example.com/hooks/hub%3Aspot%2fv3?next=%2Fa%3Fb%40c&q=%2A%28x%29&e=%20%25%3D%2B";
    let decoded = "https://example.com/hooks/hub:spot/v3?next=/a?b@c&q=*(x)&e=%20%25%3D%2B";
    let body = br#"{"eventId":1}"#;
    let ts = (NOW * 1000).to_string();
    let sign = |url: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"POST");
        mac.update(url.as_bytes());
        mac.update(body);
        mac.update(ts.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    let verifier = hubspot::verifier(Secret::from_text(secret).unwrap())
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    let request = |url: &'static str, signature: &str| {
        verifier.verify(
            &WebhookRequest::new(body)
                .with_url(url)
                .with_header("X-HubSpot-Signature-v3", signature)
                .with_header("X-HubSpot-Request-Timestamp", ts.as_str()),
        )
    };
    assert_eq!(
        request(received, &sign(decoded)).unwrap().scheme(),
        "hubspot-v3"
    );
    // Signed over the URL as received, or with every escape decoded: refused.
    assert!(request(received, &sign(received)).is_err());
    let all_decoded = "https://example.com/hooks/hub:spot/v3?next=/a?b@c&q=*(x)&e= %=+";
    assert!(request(received, &sign(all_decoded)).is_err());
    // The signer twin signs the decoded URL too.
    let headers = hubspot::signer(Secret::from_text(secret).unwrap())
        .sign(&Outgoing::new(body).url(received).timestamp_ms(NOW * 1000))
        .unwrap();
    let signature = headers.get("x-hubspot-signature-v3").unwrap();
    assert_eq!(signature, sign(decoded));
}

/// A scheme without a message id is deduplicated by its replay token, so the token must not
/// depend on the key ring: a captured GitHub delivery sent again after a key was added in
/// front of the ring, or after the ring's first key expired, must map to the same token.
#[test]
fn replay_tokens_do_not_change_with_the_key_ring() {
    use std::time::{Duration, SystemTime};
    use webhook_core::provider::github;
    let (a, b) = (
        Secret::from_text("key-a").unwrap(),
        Secret::from_text("key-b").unwrap(),
    );
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let headers = github::signer(a.clone())
        .sign(&Outgoing::new(body))
        .unwrap()
        .into_vec();
    let request = WebhookRequest::new(body).with_headers(&headers);
    let token = |verifier: &dyn Verifier| verifier.verify(&request).unwrap().replay_token();
    let alone = token(&github::verifier(a.clone()).unwrap());
    assert!(alone.is_some());
    let rotated = KeyRing::new()
        .with(Key::new("b", b.clone()))
        .with(Key::new("a", a.clone()));
    assert_eq!(token(&github::verifier(rotated).unwrap()), alone);
    // The ring's first key expires between two copies of a delivery signed with the second.
    let headers = github::signer(b.clone())
        .sign(&Outgoing::new(body))
        .unwrap()
        .into_vec();
    let request = WebhookRequest::new(body).with_headers(&headers);
    let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW as u64);
    let ring = KeyRing::new()
        .with(Key::new("a", a).expires_at(expiry))
        .with(Key::new("b", b));
    let at = |secs: i64| {
        github::verifier(ring.clone())
            .unwrap()
            .freshness(Freshness::default().with_clock(FixedClock::at_secs(secs)))
            .verify(&request)
            .unwrap()
            .replay_token()
    };
    assert_eq!(at(NOW - 1), at(NOW + 1));
    assert_eq!(at(NOW - 1), alone);
}

/// A numeric timestamp with a leading zero is refused. HubSpot v3 signs
/// `{method}{url}{body}{timestamp}` with nothing between them: for a request without a body,
/// a zero moved from the end of the URL to the front of the timestamp leaves the signed
/// bytes as they were, and the handler would read another URL.
#[test]
fn timestamps_with_leading_zeros_are_refused() {
    let secret = Secret::from_text("hubspot-secret").unwrap();
    let ms = NOW * 1000;
    let headers = hubspot::signer(secret.clone())
        .sign(
            &Outgoing::new(b"")
                .method("GET")
                .url("https://app.example/crm-card?associatedObjectId=1000")
                .timestamp_ms(ms),
        )
        .unwrap()
        .into_vec();
    let verifier = hubspot::verifier(secret)
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(NOW)));
    let genuine = WebhookRequest::new(b"")
        .with_method("GET")
        .with_url("https://app.example/crm-card?associatedObjectId=1000")
        .with_headers(&headers);
    assert!(verifier.verify(&genuine).is_ok());
    let moved: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            if name.eq_ignore_ascii_case("x-hubspot-request-timestamp") {
                (name.clone(), format!("0{value}"))
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect();
    let forged = WebhookRequest::new(b"")
        .with_method("GET")
        .with_url("https://app.example/crm-card?associatedObjectId=100")
        .with_headers(&moved);
    let error = verifier.verify(&forged).unwrap_err();
    assert_eq!(
        error.kind(),
        webhook_core::VerifyErrorKind::MalformedHeader,
        "{error}"
    );
}

/// A signed form's parameters are copied and sorted before any signature is checked: a body
/// of a million `a&` pairs cost fifty times its size in memory per request. At most 1024
/// parameters are read (a sender's forms have a few dozen); more are refused before anything
/// is copied, by Twilio's verifier, by every scheme that signs sorted form parameters
/// (Mandrill) and by their signers.
#[test]
fn signed_forms_read_at_most_1024_parameters() {
    use webhook_core::VerifyErrorKind;
    use webhook_core::provider::mandrill;
    let secret = Secret::from_text("12345").unwrap();
    let url = "https://example.com/sms";
    let form = |pairs: usize| {
        (0..pairs)
            .map(|i| format!("p{i}=v"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    };
    type Twins = (Box<dyn Signer>, Box<dyn Verifier>);
    let signers: [(&str, Twins); 2] = [
        (
            "twilio",
            (
                Box::new(twilio::signer(secret.clone())),
                Box::new(twilio::verifier(secret.clone()).unwrap()),
            ),
        ),
        (
            "mandrill",
            (
                Box::new(mandrill::signer(secret.clone())),
                Box::new(mandrill::verifier(secret.clone()).unwrap()),
            ),
        ),
    ];
    for (name, (signer, verifier)) in signers {
        // 1024 parameters: signed and verified.
        let most = form(1024);
        let headers = signer
            .sign(&Outgoing::new(&most).url(url))
            .unwrap()
            .into_vec();
        let request = WebhookRequest::new(&most)
            .with_url(url)
            .with_headers(&headers);
        assert!(verifier.verify(&request).is_ok(), "{name}: 1024 parameters");
        // 1025: refused, with a reason, whatever the signature.
        let over = form(1025);
        let request = WebhookRequest::new(&over)
            .with_url(url)
            .with_headers(&headers);
        let error = verifier.verify(&request).unwrap_err();
        assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature, "{name}");
        assert!(error.message().contains("1024"), "{name}: {error}");
        let error = signer.sign(&Outgoing::new(&over).url(url)).unwrap_err();
        assert!(error.to_string().contains("1024"), "{name}: {error}");
        // Empty pairs are no parameters (the parser skips them): 1024 with a trailing `&`
        // and doubled separators is still 1024; a flood of `a&` is refused.
        let spaced = format!(
            "&{}&&",
            String::from_utf8(most.clone())
                .unwrap()
                .replacen('&', "&&", 1)
        )
        .into_bytes();
        let headers = signer
            .sign(&Outgoing::new(&spaced).url(url))
            .unwrap()
            .into_vec();
        let request = WebhookRequest::new(&spaced)
            .with_url(url)
            .with_headers(&headers);
        assert!(verifier.verify(&request).is_ok(), "{name}: empty pairs");
        let flood = b"a&".repeat(512 * 1024);
        let request = WebhookRequest::new(&flood)
            .with_url(url)
            .with_headers(&headers);
        let error = verifier.verify(&request).unwrap_err();
        assert!(error.message().contains("1024"), "{name}: {error}");
    }
}
