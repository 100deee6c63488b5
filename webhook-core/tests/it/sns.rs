//! Amazon SNS (and SES through it): the real AWS-signed vector, every signed field, the topic
//! allowlist, the certificate URL, freshness, malformed envelopes, the signer twin, and the
//! pipeline's deduplication by `MessageId`.

use serde_json::Value;
use webhook_core::provider::sns;
use webhook_core::{
    FixedClock, Freshness, PrivateKey, PublicKey, PublicKeyRing, Receiver, Verifier, VerifyError,
    VerifyErrorKind, WebhookRequest,
};

const TOPIC: &str = "arn:aws:sns:us-east-1:810605503585:just_testing";
/// The vector's `Timestamp`, 2015-09-20T01:22:14.001Z.
const VECTOR_MS: i64 = 1_442_712_134_001;
const CERT_URL: &str = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";
const OUR_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:ses-events";

fn fixture(path: &str) -> String {
    let path = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn aws_certificate() -> PublicKey {
    PublicKey::from_certificate_pem(&fixture("sns/certificate.pem")).unwrap()
}

fn vector() -> Value {
    serde_json::from_str(&fixture("sns/message.json")).unwrap()
}

/// The verifier of the vector's topic, its clock a minute after the message.
fn vector_verifier() -> sns::SnsVerifier {
    sns::verifier(aws_certificate(), [TOPIC])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(VECTOR_MS + 60_000)))
}

fn verify(verifier: &impl Verifier, body: &str) -> Result<webhook_core::Proof, VerifyError> {
    verifier.verify(&WebhookRequest::new(body.as_bytes()))
}

fn kind(result: Result<webhook_core::Proof, VerifyError>) -> VerifyErrorKind {
    result.expect_err("must be refused").kind()
}

fn with(mut value: Value, field: &str, new: Value) -> String {
    value[field] = new;
    value.to_string()
}

fn without(mut value: Value, field: &str) -> String {
    value.as_object_mut().unwrap().remove(field);
    value.to_string()
}

fn rsa_private() -> PrivateKey {
    PrivateKey::from_pem(&fixture("asym/rsa2048-private.pem")).unwrap()
}

fn our_verifier(at_ms: i64) -> sns::SnsVerifier {
    sns::verifier(rsa_private().public_key(), [OUR_TOPIC])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(at_ms)))
}

const NOW_MS: i64 = 1_764_000_000_000;

fn our_signer() -> sns::SnsSigner {
    sns::signer(rsa_private(), CERT_URL).unwrap()
}

// ---------------------------------------------------------------------------------------------
// the real vector

#[test]
fn the_aws_signed_vector_verifies_with_its_certificate() {
    let body = fixture("sns/message.json");
    let request =
        WebhookRequest::new(body.as_bytes()).with_header("x-amz-sns-message-type", "Notification");
    let proof = vector_verifier().verify(&request).unwrap();
    assert_eq!(proof.scheme(), "sns");
    assert_eq!(
        proof.message_id(),
        Some("d39649d4-bf5b-5b80-af75-07acb3dd9b4a")
    );
    assert_eq!(proof.timestamp_ms(), Some(VECTOR_MS));
    // The certificate's key is named by its fingerprint.
    let key_id = proof.key_id().unwrap();
    assert!(key_id.starts_with("x509-sha256:"), "{key_id}");
    assert_eq!(key_id.len(), "x509-sha256:".len() + 16);
    assert!(proof.replay_token().is_some());
}

#[test]
fn every_signed_field_of_the_vector_is_covered() {
    let verifier = vector_verifier();
    for (field, new) in [
        ("Message", "boo!"),
        ("MessageId", "d39649d4-bf5b-5b80-af75-07acb3dd9b4b"),
        ("Subject", "this is cooked"),
        ("Timestamp", "2015-09-20T01:22:14.002Z"),
    ] {
        let body = with(vector(), field, Value::from(new));
        assert_eq!(
            kind(verify(&verifier, &body)),
            VerifyErrorKind::InvalidSignature,
            "{field} changed"
        );
    }
    // Another topic the verifier accepts: the signature, not the allowlist, refuses it.
    let other = "arn:aws:sns:us-east-1:810605503585:other";
    let both = sns::verifier(aws_certificate(), [TOPIC, other])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(VECTOR_MS)));
    let body = with(vector(), "TopicArn", Value::from(other));
    assert_eq!(
        kind(verify(&both, &body)),
        VerifyErrorKind::InvalidSignature
    );
    // The subject is signed: dropping it (or sending it as null) breaks the signature.
    assert_eq!(
        kind(verify(&verifier, &without(vector(), "Subject"))),
        VerifyErrorKind::InvalidSignature
    );
    assert_eq!(
        kind(verify(&verifier, &with(vector(), "Subject", Value::Null))),
        VerifyErrorKind::InvalidSignature
    );
    // A signature of another message.
    let mut other_sig = vector();
    other_sig["Signature"] = Value::from(base64_of(&[7u8; 256]));
    assert_eq!(
        kind(verify(&verifier, &other_sig.to_string())),
        VerifyErrorKind::InvalidSignature
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn unsigned_fields_and_layout_do_not_matter() {
    let verifier = vector_verifier();
    let body = with(
        vector(),
        "UnsubscribeURL",
        Value::from("https://example.com/"),
    );
    assert!(verify(&verifier, &body).is_ok());
    let body = without(vector(), "MessageAttributes");
    assert!(verify(&verifier, &body).is_ok());
    // Compact JSON with the keys in another order.
    let mut object: Vec<(String, Value)> =
        vector().as_object().unwrap().clone().into_iter().collect();
    object.reverse();
    let body = serde_json::Value::Object(object.into_iter().collect()).to_string();
    assert!(verify(&verifier, &body).is_ok());
    // Lambda's spelling of the certificate field, alone or beside a null one.
    let mut value = vector();
    let url = value["SigningCertURL"].take();
    value.as_object_mut().unwrap().remove("SigningCertURL");
    value["SigningCertUrl"] = url;
    assert!(verify(&verifier, &value.to_string()).is_ok());
    value["SigningCertURL"] = Value::Null;
    assert!(verify(&verifier, &value.to_string()).is_ok());

    // Fields a type does not sign are ignored by verification, and the envelope does not
    // hand them to the handler as if they had been checked.
    let body = with(
        vector(),
        "SubscribeURL",
        Value::from("https://attacker.example/"),
    );
    let body = with(
        serde_json::from_str(&body).unwrap(),
        "Token",
        Value::from("t"),
    );
    assert!(verify(&verifier, &body).is_ok());
    let envelope = sns::Envelope::from_slice(body.as_bytes()).unwrap();
    assert_eq!(envelope.subscribe_url, None);
    assert_eq!(envelope.token, None);
    assert_eq!(envelope.subject.as_deref(), Some("this is raw"));
    let confirmation = our_signer()
        .sign(
            &sns::Message::subscription_confirmation(
                OUR_TOPIC,
                "2336412f37",
                "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
            )
            .timestamp_ms(NOW_MS),
        )
        .unwrap();
    let body = with(
        serde_json::from_str(&confirmation).unwrap(),
        "Subject",
        Value::from("unsigned"),
    );
    assert!(verify(&our_verifier(NOW_MS), &body).is_ok());
    let envelope = sns::Envelope::from_slice(body.as_bytes()).unwrap();
    assert_eq!(envelope.subject, None);
    assert_eq!(envelope.token.as_deref(), Some("2336412f37"));
}

/// The canonical string joins fields with line breaks, so a line break inside a field could
/// move text from one field to another without changing what was signed: `MessageId` could
/// swallow the `Subject` after it, or the tail of the `Message` before it, giving a signed
/// message a new id that slips past the replay store.
#[test]
fn line_breaks_cannot_move_text_between_signed_fields() {
    let sign = |message: sns::Message| -> Value {
        serde_json::from_str(&our_signer().sign(&message.timestamp_ms(NOW_MS)).unwrap()).unwrap()
    };
    let refused_for_a_line_break = |body: &Value| {
        let error = verify(&our_verifier(NOW_MS), &body.to_string()).unwrap_err();
        assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature);
        assert!(
            error.message().contains("line break"),
            "{}",
            error.message()
        );
    };

    // `MessageId` swallowing `Subject`.
    let original = sign(
        sns::Message::notification(OUR_TOPIC, "{}")
            .subject("Amazon SES Email Event Notification")
            .id("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
    );
    assert!(verify(&our_verifier(NOW_MS), &original.to_string()).is_ok());
    let id = original["MessageId"].as_str().unwrap();
    let subject = original["Subject"].as_str().unwrap();
    let mut moved = original.clone();
    moved["MessageId"] = Value::from(format!("{id}\nSubject\n{subject}"));
    moved.as_object_mut().unwrap().remove("Subject");
    refused_for_a_line_break(&moved);

    // `MessageId` taking the tail of a signed `Message` that ends in `\nMessageId\n<x>`.
    let original = sign(
        sns::Message::notification(OUR_TOPIC, "{}\nMessageId\nfresh-id")
            .id("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f1"),
    );
    assert!(verify(&our_verifier(NOW_MS), &original.to_string()).is_ok());
    let mut moved = original.clone();
    moved["Message"] = Value::from("{}");
    moved["MessageId"] = Value::from("fresh-id\nMessageId\n0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f1");
    refused_for_a_line_break(&moved);

    // A confirmation's token and URL are one line each too.
    let confirmation = sign(sns::Message::subscription_confirmation(
        OUR_TOPIC,
        "2336412f37",
        "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
    ));
    assert!(verify(&our_verifier(NOW_MS), &confirmation.to_string()).is_ok());
    for field in ["Token", "SubscribeURL", "MessageId"] {
        let mut changed = confirmation.clone();
        changed[field] = Value::from(format!("{}\r", confirmation[field].as_str().unwrap()));
        refused_for_a_line_break(&changed);
    }

    // A signer refuses to produce such a message, and says why.
    let error = our_signer()
        .sign(&sns::Message::notification(OUR_TOPIC, "x").subject("two\nlines"))
        .unwrap_err();
    assert!(error.to_string().contains("Subject"), "{error}");
}

#[test]
fn the_message_type_header_must_agree_with_the_body() {
    let body = fixture("sns/message.json");
    let request = WebhookRequest::new(body.as_bytes())
        .with_header("x-amz-sns-message-type", "SubscriptionConfirmation");
    let error = vector_verifier().verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::MalformedHeader);
    assert_eq!(error.status(), 401);
    let request = WebhookRequest::new(body.as_bytes())
        .with_header("x-amz-sns-message-type", "Notification")
        .with_header("x-amz-sns-message-type", "Notification");
    assert_eq!(
        vector_verifier().verify(&request).unwrap_err().kind(),
        VerifyErrorKind::MalformedHeader
    );
}

#[test]
fn a_topic_not_configured_is_answered_as_a_bad_signature() {
    let verifier = sns::verifier(
        aws_certificate(),
        ["arn:aws:sns:us-east-1:810605503585:mine"],
    )
    .unwrap()
    .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(VECTOR_MS)));
    let foreign = verify(&verifier, &fixture("sns/message.json")).unwrap_err();
    assert_eq!(foreign.kind(), VerifyErrorKind::InvalidSignature);
    assert_eq!(foreign.status(), 401);
    // The same answer as a forged signature on an accepted topic: it confirms no topic.
    let forged = verify(
        &vector_verifier(),
        &with(vector(), "Message", Value::from("x")),
    );
    let forged = forged.unwrap_err();
    assert_eq!(foreign.message(), forged.message());
    assert_eq!(foreign.code(), forged.code());
}

#[test]
fn signature_version_1_can_be_refused() {
    let verifier = vector_verifier().require_signature_version_2();
    let error = verify(&verifier, &fixture("sns/message.json")).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature);
    for version in ["3", "", "01"] {
        let body = with(vector(), "SignatureVersion", Value::from(version));
        assert_eq!(
            kind(verify(&vector_verifier(), &body)),
            VerifyErrorKind::InvalidSignature
        );
    }
}

#[test]
fn freshness_bounds_the_timestamp_both_ways() {
    let at = |ms: i64| {
        sns::verifier(aws_certificate(), [TOPIC])
            .unwrap()
            .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(ms)))
    };
    let body = fixture("sns/message.json");
    assert!(verify(&at(VECTOR_MS + 64 * 60_000), &body).is_ok());
    assert_eq!(
        kind(verify(&at(VECTOR_MS + 66 * 60_000), &body)),
        VerifyErrorKind::TimestampTooOld
    );
    assert!(verify(&at(VECTOR_MS - 4 * 60_000), &body).is_ok());
    assert_eq!(
        kind(verify(&at(VECTOR_MS - 6 * 60_000), &body)),
        VerifyErrorKind::TimestampInFuture
    );
    // The window sizes the replay store's retention.
    assert_eq!(
        at(0).freshness_window(),
        Some(std::time::Duration::from_secs(70 * 60))
    );
    for bad in ["2015-09-20", "1442712134", "", "2015-09-20T01:22:14.001Z "] {
        let body = with(vector(), "Timestamp", Value::from(bad));
        let error = verify(&vector_verifier(), &body).unwrap_err();
        assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature, "{bad:?}");
        assert!(
            error.message().contains("RFC 3339"),
            "{bad:?}: {}",
            error.message()
        );
    }
}

#[test]
fn certificate_urls_outside_sns_are_refused() {
    for good in [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bb750dd426d95ee9390147a5624348ee.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
        "https://sns.us-gov-west-1.amazonaws.com/a/b.pem",
    ] {
        assert!(sns::is_signing_cert_url(good), "{good}");
    }
    for bad in [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com:8443/x.pem",
        "https://user@sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com/x.pem?y=1",
        "https://sns.us-east-1.amazonaws.com/x.pem#z",
        "https://sns.us-east-1.amazonaws.com/x.crt",
        "https://sns.us.amazonaws.com/x.pem",
        "https://sns..amazonaws.com/x.pem",
        "https://sns.us_east_1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com",
        "https://sns.us-east-1.amazonaws.com/a b.pem",
        "https://SNS.us-east-1.amazonaws.com/x.pem",
        "",
    ] {
        assert!(!sns::is_signing_cert_url(bad), "{bad}");
    }
    let body = with(
        vector(),
        "SigningCertURL",
        Value::from("https://sns.us-east-1.amazonaws.com.evil.example/x.pem"),
    );
    let error = verify(&vector_verifier(), &body).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature);
    assert!(
        error.message().contains("SigningCertURL"),
        "{}",
        error.message()
    );
}

#[test]
fn malformed_envelopes_get_clear_errors() {
    let verifier = vector_verifier();
    for (body, expected) in [
        ("not json".to_owned(), VerifyErrorKind::MalformedBody),
        ("[1,2]".to_owned(), VerifyErrorKind::MalformedBody),
        (String::new(), VerifyErrorKind::MalformedBody),
        (
            with(vector(), "Message", Value::from(5)),
            VerifyErrorKind::MalformedBody,
        ),
        (
            with(vector(), "Type", Value::Null),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            with(vector(), "Type", Value::from("Other")),
            VerifyErrorKind::InvalidSignature,
        ),
        (
            without(vector(), "Signature"),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            without(vector(), "SignatureVersion"),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            without(vector(), "SigningCertURL"),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            without(vector(), "MessageId"),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            without(vector(), "Message"),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            without(vector(), "Timestamp"),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            without(vector(), "TopicArn"),
            VerifyErrorKind::MissingCredentials,
        ),
        (
            with(vector(), "Signature", Value::from("%%%")),
            VerifyErrorKind::InvalidSignature,
        ),
        (
            with(vector(), "Signature", Value::from("")),
            VerifyErrorKind::InvalidSignature,
        ),
        (
            with(vector(), "Signature", Value::from("A".repeat(100_000))),
            VerifyErrorKind::InvalidSignature,
        ),
        (
            with(vector(), "MessageId", Value::from("")),
            VerifyErrorKind::InvalidSignature,
        ),
        (
            with(vector(), "MessageId", Value::from("m".repeat(300))),
            VerifyErrorKind::InvalidSignature,
        ),
        // A confirmation without its token or URL.
        (
            with(vector(), "Type", Value::from("SubscriptionConfirmation")),
            VerifyErrorKind::MissingCredentials,
        ),
    ] {
        let error = verify(&verifier, &body).unwrap_err();
        assert_eq!(error.kind(), expected, "{}", &body[..body.len().min(80)]);
        assert!(!error.message().contains("boo"), "{}", error.message());
    }
    // A key given twice is ambiguous: refused rather than one of them picked.
    let body = fixture("sns/message.json").replacen(
        "\"Message\" : \"boo\",",
        "\"Message\" : \"boo\", \"Message\" : \"other\",",
        1,
    );
    assert_eq!(
        kind(verify(&verifier, &body)),
        VerifyErrorKind::MalformedBody
    );
}

#[test]
fn configuration_is_checked_at_start_up() {
    let none: [&str; 0] = [];
    assert!(sns::verifier(aws_certificate(), none).is_err());
    for bad in [
        "just_testing",
        "arn:aws:sqs:us-east-1:810605503585:just_testing",
        "arn:aws:sns:us-east-1::just_testing",
        "arn:aws:sns:us-east-1:810605503585",
        "arn:aws:sns:us-east-1:810605503585:a:b",
        "arn:aws:sns:us-east-1:810605503585:a b",
    ] {
        let error = sns::verifier(aws_certificate(), [bad]).unwrap_err();
        assert!(!error.to_string().contains(bad), "{error}");
    }
    assert!(sns::verifier(aws_certificate(), ["arn:aws-cn:sns:cn-north-1:1:t"]).is_ok());
    let ed25519 = PrivateKey::generate_ed25519().public_key();
    assert!(sns::verifier(ed25519, [TOPIC]).is_err());
    assert!(sns::verifier(PublicKeyRing::new(), [TOPIC]).is_err());
    assert!(sns::signer(PrivateKey::generate_ed25519(), CERT_URL).is_err());
    assert!(sns::signer(rsa_private(), "https://example.com/x.pem").is_err());
    assert!(PublicKey::from_certificate_pem(&fixture("asym/rsa2048-public.pem")).is_err());
    // `parse` tells a certificate by its armour.
    let parsed = PublicKey::parse(&fixture("sns/certificate.pem")).unwrap();
    let body = fixture("sns/message.json");
    let verifier = sns::verifier(parsed, [TOPIC])
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_ms(VECTOR_MS)));
    assert!(verify(&verifier, &body).is_ok());
}

#[test]
fn the_certificate_in_der_gives_the_same_key() {
    use base64::Engine as _;
    let pem = fixture("sns/certificate.pem");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let key = PublicKey::from_certificate_der(&der).unwrap();
    let verifier = sns::verifier(key, [TOPIC])
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_ms(VECTOR_MS)));
    assert!(verify(&verifier, &fixture("sns/message.json")).is_ok());
    assert!(PublicKey::from_certificate_der(&der[..der.len() - 1]).is_err());
}

#[test]
fn a_ring_of_certificates_finds_the_signing_one() {
    let ring = PublicKeyRing::new()
        .with(rsa_private().public_key().with_id("ours"))
        .with(aws_certificate().with_id("aws-2015"));
    let verifier = sns::verifier(ring, [TOPIC])
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_ms(VECTOR_MS)));
    let proof = verify(&verifier, &fixture("sns/message.json")).unwrap();
    assert_eq!(proof.key_id(), Some("aws-2015"));
    // Without the signing certificate: refused.
    let verifier = sns::verifier(rsa_private().public_key(), [TOPIC])
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_ms(VECTOR_MS)));
    assert_eq!(
        kind(verify(&verifier, &fixture("sns/message.json"))),
        VerifyErrorKind::InvalidSignature
    );
}

// ---------------------------------------------------------------------------------------------
// the signer twin

#[test]
fn the_signer_round_trips_both_versions_and_every_type() {
    let other_topic = "arn:aws:sns:eu-west-1:123456789012:other";
    let verifier = sns::verifier(rsa_private().public_key(), [OUR_TOPIC, other_topic])
        .unwrap()
        .freshness(sns::default_freshness().with_clock(FixedClock::at_ms(NOW_MS)));
    let url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336";
    for version in [sns::SignatureVersion::V1, sns::SignatureVersion::V2] {
        let signer = our_signer().signature_version(version).unwrap();
        let messages = [
            sns::Message::notification(OUR_TOPIC, r#"{"eventType":"Bounce"}"#)
                .id("11111111-2222-3333-4444-555555555555")
                .timestamp_ms(NOW_MS),
            sns::Message::notification(OUR_TOPIC, "with a subject\nand two lines")
                .subject("Amazon SES Email Event Notification")
                .timestamp_ms(NOW_MS + 123),
            sns::Message::subscription_confirmation(OUR_TOPIC, "2336412f37fb687f5d51e6e2425f", url)
                .timestamp_ms(NOW_MS),
            sns::Message::unsubscribe_confirmation(OUR_TOPIC, "2336412f37fb687f5d51e6e2425f", url)
                .timestamp_ms(NOW_MS),
        ];
        for message in &messages {
            let body = signer.sign(message).unwrap();
            let envelope = sns::Envelope::from_slice(body.as_bytes()).unwrap();
            let request = WebhookRequest::new(body.as_bytes())
                .with_header("x-amz-sns-message-type", envelope.message_type.as_str());
            let proof = verifier.verify(&request).unwrap();
            assert_eq!(proof.message_id(), Some(envelope.message_id.as_str()));
            assert_eq!(proof.timestamp_ms().unwrap() / 1000, NOW_MS / 1000);
            let value: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(value["SignatureVersion"], version.as_str());
            // Each signed field is covered: changed to a value every other check accepts,
            // only the signature refuses it.
            let mut changes = vec![
                ("Message", "{}"),
                ("MessageId", "another-id"),
                ("Timestamp", "2025-11-24T15:59:00.000Z"),
                ("TopicArn", other_topic),
            ];
            if envelope.message_type == sns::MessageType::Notification {
                changes.push(("Subject", "another subject"));
            } else {
                changes.extend([("Token", "another-token"), ("SubscribeURL", "https://x/")]);
                assert_eq!(envelope.subscribe_url.as_deref(), Some(url));
            }
            for (field, new) in changes {
                let body = with(value.clone(), field, Value::from(new));
                assert_eq!(
                    kind(verify(&verifier, &body)),
                    VerifyErrorKind::InvalidSignature,
                    "{field} of {:?}",
                    envelope.message_type
                );
            }
        }
    }
    // A signer without a timestamp reads its clock.
    let body = our_signer()
        .clock(std::sync::Arc::new(FixedClock::at_ms(NOW_MS + 7)))
        .sign(&sns::Message::notification(OUR_TOPIC, "x"))
        .unwrap();
    let envelope = sns::Envelope::from_slice(body.as_bytes()).unwrap();
    assert_eq!(envelope.timestamp, "2025-11-24T16:00:00.007Z");
    assert!(envelope.message_id.starts_with("msg_"));
    // Times outside what RFC 3339 can write are an error, not a panic.
    for ms in [i64::MIN, i64::MIN + 1, i64::MAX] {
        let message = sns::Message::notification(OUR_TOPIC, "x").timestamp_ms(ms);
        assert!(our_signer().sign(&message).is_err(), "{ms}");
    }
    // `Debug` of a message shows neither its payload nor a token.
    let message = sns::Message::subscription_confirmation(OUR_TOPIC, "secret-token", url);
    let shown = format!("{message:?}");
    assert!(
        !shown.contains("secret-token") && !shown.contains("subscribe"),
        "{shown}"
    );
}

#[test]
fn the_envelope_reads_an_ses_event() {
    let event = serde_json::json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent"},
        "mail": {"messageId": "0100018c-ses"},
    });
    let body = our_signer()
        .sign(
            &sns::Message::notification(OUR_TOPIC, event.to_string())
                .id("6a2b9c10-0000-4000-8000-000000000001")
                .timestamp_ms(NOW_MS),
        )
        .unwrap();
    assert!(
        our_verifier(NOW_MS)
            .verify(&WebhookRequest::new(body.as_bytes()))
            .is_ok()
    );
    let envelope = sns::Envelope::from_slice(body.as_bytes()).unwrap();
    assert_eq!(envelope.topic_arn, OUR_TOPIC);
    let decoded: Value = envelope.message_json().unwrap();
    assert_eq!(decoded, event);
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        #[serde(rename = "eventType")]
        event_type: u32,
    }
    assert_eq!(
        envelope.message_json::<Strict>().unwrap_err().kind(),
        VerifyErrorKind::MalformedBody
    );
    assert_eq!(
        sns::Envelope::from_slice(b"{}").unwrap_err().kind(),
        VerifyErrorKind::MalformedBody
    );
}

#[test]
fn debug_shows_no_message_or_key() {
    let envelope = sns::Envelope::from_slice(fixture("sns/message.json").as_bytes()).unwrap();
    let shown = format!("{envelope:?}");
    assert!(
        shown.contains("Notification") && !shown.contains("boo"),
        "{shown}"
    );
    let shown = format!("{:?}", vector_verifier());
    assert!(
        !shown.contains("MIIE") && shown.contains("topics"),
        "{shown}"
    );
    let shown = format!("{:?}", our_signer());
    assert!(!shown.contains("PRIVATE"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// in a receiver

#[tokio::test]
async fn a_receiver_deduplicates_sns_retries_by_message_id() {
    let receiver = Receiver::builder()
        .verifier(our_verifier(NOW_MS))
        .content_type("text/plain")
        .memory_capacity(1024)
        .build()
        .unwrap();
    let body = our_signer()
        .sign(
            &sns::Message::notification(OUR_TOPIC, "{}")
                .id("6a2b9c10-0000-4000-8000-000000000002")
                .timestamp_ms(NOW_MS),
        )
        .unwrap();
    let request = WebhookRequest::new(body.as_bytes())
        .with_header("content-type", "text/plain; charset=UTF-8")
        .with_header("x-amz-sns-message-type", "Notification");

    let mut first = receiver.delivery();
    first.admit(&request, false).unwrap();
    let proof = first.authenticate(&request).unwrap();
    assert_eq!(
        proof.message_id(),
        Some("6a2b9c10-0000-4000-8000-000000000002")
    );
    assert!(matches!(
        first.accept_raw().await.unwrap(),
        webhook_core::Accepted::Fresh(_)
    ));
    first.finish(true).await;

    // SNS's retry of the same message: a duplicate, the handler is not run again.
    let mut retry = receiver.delivery();
    retry.admit(&request, false).unwrap();
    retry.authenticate(&request).unwrap();
    assert!(matches!(
        retry.accept_raw().await.unwrap(),
        webhook_core::Accepted::Duplicate(_)
    ));
}

// ---------------------------------------------------------------------------------------------
// properties

mod properties {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use serde_json::Value;
    use webhook_core::provider::sns;
    use webhook_core::{Verifier as _, VerifyErrorKind, WebhookRequest};

    use super::{NOW_MS, OUR_TOPIC, our_signer, our_verifier};

    const SIGNED_FIELDS: [&str; 6] = [
        "Message",
        "MessageId",
        "Subject",
        "Timestamp",
        "TopicArn",
        "Type",
    ];

    /// One signed notification with a subject, made once.
    fn signed() -> &'static Value {
        static SIGNED: OnceLock<Value> = OnceLock::new();
        SIGNED.get_or_init(|| {
            let body = our_signer()
                .sign(
                    &sns::Message::notification(OUR_TOPIC, "{\"eventType\":\"Delivery\"}")
                        .subject("Amazon SES Email Event Notification")
                        .id("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
                        .timestamp_ms(NOW_MS),
                )
                .unwrap();
            serde_json::from_str(&body).unwrap()
        })
    }

    fn change_char(text: &str, index: usize, to: char) -> Option<String> {
        let chars: Vec<char> = text.chars().collect();
        let i = index % chars.len();
        (chars[i] != to).then(|| {
            let mut out = chars;
            out[i] = to;
            out.into_iter().collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn any_notification_round_trips(
            message in "(\\PC|\n|\r|\t){0,200}",
            subject in proptest::option::of("[ -~]{1,40}"),
            id in "[a-zA-Z0-9-]{1,64}",
            version_2: bool,
            offset_ms in 0i64..3_600_000,
        ) {
            let version = [sns::SignatureVersion::V1, sns::SignatureVersion::V2][usize::from(version_2)];
            let mut outgoing = sns::Message::notification(OUR_TOPIC, message.clone())
                .id(id.clone())
                .timestamp_ms(NOW_MS - offset_ms);
            if let Some(subject) = &subject {
                outgoing = outgoing.subject(subject.clone());
            }
            let body = our_signer().signature_version(version).unwrap().sign(&outgoing).unwrap();
            let proof = our_verifier(NOW_MS).verify(&WebhookRequest::new(body.as_bytes())).unwrap();
            prop_assert_eq!(proof.message_id(), Some(id.as_str()));
            prop_assert_eq!(proof.timestamp_ms(), Some(NOW_MS - offset_ms));
            let envelope = sns::Envelope::from_slice(body.as_bytes()).unwrap();
            prop_assert_eq!(envelope.message, message);
            prop_assert_eq!(envelope.subject, subject);
        }

        #[test]
        fn one_character_of_a_signed_field_changed_is_refused(
            field in prop::sample::select(SIGNED_FIELDS.to_vec()),
            index: usize,
            to in prop::char::range(' ', '~'),
        ) {
            let mut value = signed().clone();
            let Some(changed) = change_char(value[field].as_str().unwrap(), index, to) else {
                return Ok(());
            };
            value[field] = Value::from(changed);
            let body = value.to_string();
            let result = our_verifier(NOW_MS).verify(&WebhookRequest::new(body.as_bytes()));
            prop_assert!(result.is_err(), "{} changed, still accepted", field);
        }

        #[test]
        fn one_byte_of_the_signature_changed_is_refused(index: usize, flip in 1u8..=255) {
            use base64::Engine as _;
            let engine = base64::engine::general_purpose::STANDARD;
            let mut value = signed().clone();
            let mut raw = engine.decode(value["Signature"].as_str().unwrap()).unwrap();
            let i = index % raw.len();
            raw[i] ^= flip;
            value["Signature"] = Value::from(engine.encode(&raw));
            let error = our_verifier(NOW_MS)
                .verify(&WebhookRequest::new(value.to_string().as_bytes()))
                .unwrap_err();
            prop_assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature);
        }
    }

    fn field_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,40}".prop_map(Value::from),
            prop::sample::select(vec![
                "Notification",
                "SubscriptionConfirmation",
                "1",
                "2",
                OUR_TOPIC,
                "2025-11-24T16:00:00.000Z",
                "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem",
            ])
            .prop_map(Value::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Garbage never panics and is never accepted.
        #[test]
        fn arbitrary_bodies_are_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert!(our_verifier(NOW_MS).verify(&WebhookRequest::new(&body)).is_err());
        }

        /// Envelopes made of SNS's own field names with arbitrary values: refused, no panic.
        #[test]
        fn arbitrary_envelopes_are_refused(
            fields in proptest::collection::btree_map(
                prop::sample::select(vec![
                    "Type", "Message", "MessageId", "Subject", "SubscribeURL", "Token",
                    "Timestamp", "TopicArn", "SignatureVersion", "Signature",
                    "SigningCertURL", "SigningCertUrl",
                ]),
                field_value(),
                0..12,
            ),
        ) {
            let body = Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
            let body = body.to_string();
            prop_assert!(our_verifier(NOW_MS).verify(&WebhookRequest::new(body.as_bytes())).is_err());
            let _ = sns::Envelope::from_slice(body.as_bytes());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Certificate loading refuses garbage without panicking, PEM armour or not.
        #[test]
        fn certificate_garbage_is_a_config_error(
            text in "\\PC{0,300}",
            der in proptest::collection::vec(any::<u8>(), 0..300),
            armoured: bool,
        ) {
            use webhook_core::{PublicKey, PublicKeyRing};
            let text = if armoured {
                format!("-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----")
            } else {
                text
            };
            prop_assert!(PublicKey::from_certificate_pem(&text).is_err());
            prop_assert!(PublicKeyRing::from_certificates_pem(&text).is_err());
            prop_assert!(PublicKey::from_certificate_der(&der).is_err());
        }
    }

    #[test]
    fn the_signed_fixture_verifies() {
        let body = signed().to_string();
        assert!(
            our_verifier(NOW_MS)
                .verify(&WebhookRequest::new(body.as_bytes()))
                .is_ok()
        );
    }
}

#[test]
fn no_answer_repeats_what_the_sender_wrote() {
    const MARK: &str = "MARKER-7f3a";
    let verifier = vector_verifier();
    for (field, value) in [
        ("Type", MARK.to_owned()),
        ("SignatureVersion", MARK.to_owned()),
        (
            "SigningCertURL",
            format!("https://sns.{MARK}.amazonaws.com.evil/x.pem"),
        ),
        ("Timestamp", MARK.to_owned()),
        ("MessageId", format!("{MARK}\n")),
        ("MessageId", MARK.repeat(40)),
        ("Signature", MARK.to_owned()),
        ("TopicArn", format!("arn:aws:sns:us-east-1:1:{MARK}")),
        ("Message", MARK.to_owned()),
    ] {
        let body = with(vector(), field, Value::from(value));
        let error = verify(&verifier, &body).unwrap_err();
        for shown in [
            error.message().to_owned(),
            error.to_string(),
            format!("{error:?}"),
        ] {
            assert!(!shown.contains(MARK), "{field}: {shown}");
        }
    }
    let request = WebhookRequest::new(b"{}").with_header("x-amz-sns-message-type", MARK);
    let error = verifier.verify(&request).unwrap_err();
    assert!(!format!("{error:?}").contains(MARK));
}

#[test]
fn raw_message_delivery_is_named_as_the_cause() {
    let request = WebhookRequest::new(br#"{"eventType":"Bounce"}"#)
        .with_header("x-amz-sns-rawdelivery", "true");
    let error = vector_verifier().verify(&request).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::MissingCredentials);
    assert!(
        error.message().contains("raw message delivery"),
        "{}",
        error.message()
    );
}

#[test]
fn only_standard_base64_signatures_are_read() {
    use base64::Engine as _;
    let signature = vector()["Signature"].as_str().unwrap().to_owned();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&signature)
        .unwrap();
    let url_safe = base64::engine::general_purpose::URL_SAFE.encode(&raw);
    assert_ne!(url_safe, signature);
    for changed in [
        url_safe,
        format!(" {signature}"),
        signature.trim_end_matches('=').to_owned(),
        format!("{}\n{}", &signature[..64], &signature[64..]),
    ] {
        let body = with(vector(), "Signature", Value::from(changed.clone()));
        assert_eq!(
            kind(verify(&vector_verifier(), &body)),
            VerifyErrorKind::InvalidSignature,
            "{changed:?}"
        );
    }
}

#[test]
fn expired_certificates_are_a_configuration_fault() {
    let expired = aws_certificate().expires_at(std::time::UNIX_EPOCH);
    let verifier = sns::verifier(expired, [TOPIC])
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_ms(VECTOR_MS)));
    let error = verify(&verifier, &fixture("sns/message.json")).unwrap_err();
    assert_eq!(error.status(), 500, "{error:?}");
}
