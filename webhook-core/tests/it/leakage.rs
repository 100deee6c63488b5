//! No secret, signature or body byte appears in the `Debug` or `Display` of any public type
//! or error.

use webhook_core::provider::{github, hubspot, linear, mailgun, stripe, twilio};
use webhook_core::{
    FixedClock, Freshness, Key, KeyRing, Outgoing, Secret, Signer, StandardWebhooks,
    StandardWebhooksSigner, Verifier, WebhookRequest,
};

const SECRET_TEXT: &str = "SECRETSECRETSECRET";
const BODY: &[u8] = b"{\"card\":\"PAYLOADPAYLOAD\"}";

/// The first bytes of `bytes` as a derived `Debug` of bytes writes them: `83, 69, 67, 82`.
fn as_byte_list(bytes: &[u8]) -> String {
    let list = format!("{:?}", &bytes[..bytes.len().min(6)]);
    list.trim_matches(['[', ']']).to_owned()
}

fn assert_clean(what: &str, text: &str, signature: &str) {
    // As text, and as the byte lists a derived `Debug` of the bytes would write.
    for (leak, form) in [
        ("the secret", SECRET_TEXT.to_owned()),
        ("the secret", as_byte_list(SECRET_TEXT.as_bytes())),
        ("the body", "PAYLOADPAYLOAD".to_owned()),
        ("the body", as_byte_list(BODY)),
    ] {
        assert!(!text.contains(&form), "{what} leaks {leak}: {text}");
    }
    if signature.len() > 8 {
        assert!(
            !text.contains(signature),
            "{what} leaks the signature: {text}"
        );
        let raw = hex::decode(signature).unwrap();
        assert!(
            !text.contains(&as_byte_list(&raw)),
            "{what} leaks the signature's bytes: {text}"
        );
    }
}

#[test]
fn debug_and_display_leak_nothing() {
    let secret = Secret::from_text(SECRET_TEXT).unwrap();
    let ring = KeyRing::new().with(Key::new("k1", secret.clone()));
    let signer = github::signer(secret.clone());
    let headers = signer.sign(&Outgoing::new(BODY)).unwrap();
    let sig = headers.get("x-hub-signature-256").unwrap().to_owned();
    let sig_hex = sig.trim_start_matches("sha256=").to_owned();

    let verifier = github::verifier(ring.clone()).unwrap();
    let request = headers.apply(WebhookRequest::new(BODY));
    let proof = verifier.verify(&request).unwrap();

    let wrong = headers.apply(WebhookRequest::new(b"{\"card\":\"PAYLOADPAYLOAX\"}"));
    let err = verifier.verify(&wrong).unwrap_err();

    let sw = StandardWebhooks::new(Secret::from_bytes(SECRET_TEXT.as_bytes().to_vec()).unwrap())
        .unwrap()
        .freshness(Freshness::default().with_clock(FixedClock::at_secs(1)));
    let sw_signer = StandardWebhooksSigner::new(secret.clone());

    let texts = [
        ("secret", format!("{secret:?}")),
        ("ring", format!("{ring:?}")),
        ("signer", format!("{signer:?}")),
        ("sw signer", format!("{sw_signer:?}")),
        ("headers", format!("{headers:?}")),
        ("verifier", format!("{verifier:?}")),
        ("sw", format!("{sw:?}")),
        ("request", format!("{request:?}")),
        ("proof", format!("{proof:?}")),
        ("outgoing", format!("{:?}", Outgoing::new(BODY))),
        ("error debug", format!("{err:?}")),
        ("error display", err.to_string()),
        ("error json", err.to_json()),
        (
            "stripe",
            format!("{:?}", stripe::verifier(secret.clone()).unwrap()),
        ),
        (
            "twilio",
            format!("{:?}", twilio::verifier(secret.clone()).unwrap()),
        ),
        (
            "twilio signer",
            format!("{:?}", twilio::signer(secret.clone())),
        ),
        (
            "mailgun",
            format!("{:?}", mailgun::verifier(secret.clone()).unwrap()),
        ),
        (
            "linear",
            format!("{:?}", linear::verifier(secret.clone()).unwrap()),
        ),
        (
            "hubspot",
            format!(
                "{:?}",
                hubspot::legacy_signer(hubspot::Legacy::V1, secret.clone())
            ),
        ),
    ];
    for (what, text) in &texts {
        assert_clean(what, text, &sig_hex);
    }
    // The proof names the key that matched.
    assert_eq!(proof.key_id(), Some("k1"));
    // What the redacting `Debug`s print, exactly.
    assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    assert!(
        format!("{request:?}").ends_with(&format!("body_len: {} }}", BODY.len())),
        "{request:?}"
    );
}

#[test]
fn config_errors_name_the_source_not_the_value() {
    let err = Secret::from_base64("not base64 SECRETSECRETSECRET!").unwrap_err();
    assert!(!err.to_string().contains(SECRET_TEXT));
    assert!(!format!("{err:?}").contains(SECRET_TEXT));
}
