//! Paddle Classic: the third-party vector, every field covered, the strict form reading, the
//! signer twin, and garbage.

use proptest::prelude::*;
use serde_json::Value;
use webhook_core::provider::paddle_classic;
use webhook_core::{PrivateKey, PublicKey, Verifier, VerifyError, VerifyErrorKind, WebhookRequest};

fn vector() -> Value {
    let path = format!(
        "{}/tests/fixtures/paddle_classic/vector.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rsa_private() -> PrivateKey {
    let path = format!(
        "{}/tests/fixtures/asym/rsa2048-private.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    PrivateKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The vector's fields as a form body, in the vector's order, with `p_signature`.
fn form(fields: &Value, signature: &str) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields.as_object().unwrap() {
        form.append_pair(name, value.as_str().unwrap());
    }
    form.append_pair("p_signature", signature);
    form.finish()
}

fn verifier(n: u8) -> paddle_classic::PaddleClassic {
    let v = vector();
    let key = PublicKey::from_pem(v[format!("public_key_{n}")].as_str().unwrap()).unwrap();
    paddle_classic::verifier(key).unwrap()
}

fn verify(verifier: &impl Verifier, body: &str) -> Result<webhook_core::Proof, VerifyError> {
    verifier.verify(
        &WebhookRequest::new(body.as_bytes())
            .with_header("content-type", "application/x-www-form-urlencoded"),
    )
}

#[test]
fn the_vector_verifies_under_each_of_its_keys() {
    let v = vector();
    for n in [1u8, 2] {
        let body = form(&v["fields"], v[format!("signature_{n}")].as_str().unwrap());
        let proof = verify(&verifier(n), &body).unwrap();
        assert_eq!(proof.scheme(), "paddle-classic");
        assert_eq!(proof.message_id(), Some("1534261303"));
        assert!(proof.replay_token().is_some());
        // The other key refuses it.
        let other = if n == 1 { 2 } else { 1 };
        assert_eq!(
            verify(&verifier(other), &body).unwrap_err().kind(),
            VerifyErrorKind::InvalidSignature
        );
    }
}

#[test]
fn every_field_is_covered_and_none_can_be_added_or_dropped() {
    let v = vector();
    let signature = v["signature_1"].as_str().unwrap();
    let verifier = verifier(1);
    for name in v["fields"].as_object().unwrap().keys() {
        let mut fields = v["fields"].clone();
        let old = fields[name].as_str().unwrap().to_owned();
        fields[name] = Value::from(format!("{old}x"));
        assert!(
            verify(&verifier, &form(&fields, signature)).is_err(),
            "{name} changed"
        );
        fields.as_object_mut().unwrap().remove(name);
        assert!(
            verify(&verifier, &form(&fields, signature)).is_err(),
            "{name} dropped"
        );
    }
    let mut fields = v["fields"].clone();
    fields["coupon"] = Value::from("FREE");
    assert!(verify(&verifier, &form(&fields, signature)).is_err());
    // Field order in the form does not matter: the fields are sorted before hashing.
    let mut reversed: Vec<(String, Value)> = v["fields"]
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    reversed.reverse();
    let reversed = Value::Object(reversed.into_iter().collect());
    assert!(verify(&verifier, &form(&reversed, signature)).is_ok());
}

#[test]
fn names_php_would_read_differently_are_refused() {
    let v = vector();
    let body = form(&v["fields"], v["signature_1"].as_str().unwrap());
    let verifier = verifier(1);
    for extra in [
        "alert_id=1534261303",
        "items%5B%5D=1",
        "123=x",
        "Email=x",
        "e-mail=x",
        "=x",
        "%FF=x",
        "note=%FF",
    ] {
        let error = verify(&verifier, &format!("{body}&{extra}")).unwrap_err();
        assert_eq!(error.kind(), VerifyErrorKind::InvalidSignature, "{extra}");
        assert_eq!(error.status(), 401);
        assert!(!error.message().contains("FF"), "{}", error.message());
    }
    assert!(
        verify(&verifier, &format!("{body}&alert_id=1"))
            .unwrap_err()
            .message()
            .contains("repeated")
    );
    // Empty pairs are nothing, as PHP reads them.
    assert!(verify(&verifier, &format!("&{body}&&")).is_ok());
}

#[test]
fn a_missing_or_malformed_signature_is_refused() {
    let v = vector();
    let verifier = verifier(1);
    let mut no_signature = form_urlencoded::Serializer::new(String::new());
    for (name, value) in v["fields"].as_object().unwrap() {
        no_signature.append_pair(name, value.as_str().unwrap());
    }
    let error = verify(&verifier, &no_signature.finish()).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::MissingCredentials);
    for signature in ["%%%", "", "QUJD", &"A".repeat(5000)] {
        let error = verify(&verifier, &form(&v["fields"], signature)).unwrap_err();
        assert_eq!(
            error.kind(),
            VerifyErrorKind::InvalidSignature,
            "{signature:.10}"
        );
    }
}

#[test]
fn the_signer_round_trips_any_text() {
    let key = rsa_private();
    let signer = paddle_classic::signer(key.clone()).unwrap();
    let verifier = paddle_classic::verifier(key.public_key()).unwrap();
    let body = signer
        .sign(&[
            ("passthrough", "{\"user\":\"a&b=c d+e\"}"),
            ("email", "zoë@example.com"),
            ("empty", ""),
        ])
        .unwrap();
    let proof = verify(&verifier, &body).unwrap();
    assert_eq!(proof.message_id(), None);
    assert!(proof.replay_token().is_some());
    assert!(verify(&verifier, &body.replace("zo%C3%AB", "zoe")).is_err());
    // Names the verifier would refuse are refused when signing.
    assert!(signer.sign(&[("Bad", "x")]).is_err());
    assert!(signer.sign(&[("p_signature", "x")]).is_err());
    assert!(signer.sign(&[("a", "x"), ("a", "y")]).is_err());
    // Keys: RSA only.
    assert!(paddle_classic::verifier(PrivateKey::generate_ed25519().public_key()).is_err());
    assert!(paddle_classic::signer(PrivateKey::generate_p256()).is_err());
    assert!(!format!("{signer:?}").contains("PRIVATE"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Garbage never panics and is never accepted.
    #[test]
    fn arbitrary_bodies_are_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let verifier = paddle_classic::verifier(rsa_private().public_key()).unwrap();
        prop_assert!(verifier.verify(&WebhookRequest::new(&body)).is_err());
    }

    /// Any value changed by one character is refused.
    #[test]
    fn one_character_changed_is_refused(index: usize, to in prop::char::range(' ', '~')) {
        let v = vector();
        let names: Vec<String> = v["fields"].as_object().unwrap().keys().cloned().collect();
        let name = &names[index % names.len()];
        let mut fields = v["fields"].clone();
        let old: Vec<char> = fields[name].as_str().unwrap().chars().collect();
        let changed: String = if old.is_empty() {
            to.to_string()
        } else {
            let mut new = old.clone();
            let i = (index / names.len()) % old.len();
            if new[i] == to {
                return Ok(());
            }
            new[i] = to;
            new.into_iter().collect()
        };
        fields[name] = Value::from(changed);
        let body = form(&fields, v["signature_1"].as_str().unwrap());
        prop_assert!(verify(&verifier(1), &body).is_err(), "{} changed", name);
    }
}
