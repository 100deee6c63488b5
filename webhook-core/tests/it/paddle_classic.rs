//! Paddle Classic: the third-party vector, a body made by PHP itself, every field covered, the
//! strict form reading, the replay key, the signer twin, and garbage.

use proptest::prelude::*;
use serde_json::Value;
use webhook_core::provider::paddle_classic;
use webhook_core::{
    PrivateKey, Proof, PublicKey, PublicKeyRing, Verifier, VerifyError, VerifyErrorKind,
    WebhookRequest,
};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/paddle_classic/{name}",
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

/// The vector's fields, in the order its source lists them (not sorted).
fn vector_fields() -> Vec<(String, String)> {
    fixture("vector.json")["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `fields` as a form body, in their order, with `p_signature` last.
fn form(fields: &[(String, String)], signature: &str) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        form.append_pair(name, value);
    }
    form.append_pair("p_signature", signature);
    form.finish()
}

fn signature(n: u8) -> String {
    fixture("vector.json")[format!("signature_{n}")]
        .as_str()
        .unwrap()
        .to_owned()
}

fn key(n: u8) -> PublicKey {
    PublicKey::from_pem(
        fixture("vector.json")[format!("public_key_{n}")]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

fn verifier(n: u8) -> paddle_classic::PaddleClassic {
    paddle_classic::verifier(key(n)).unwrap()
}

fn verify(verifier: &impl Verifier, body: &str) -> Result<Proof, VerifyError> {
    verifier.verify(
        &WebhookRequest::new(body.as_bytes())
            .with_header("content-type", "application/x-www-form-urlencoded"),
    )
}

#[test]
fn the_vector_verifies_under_each_of_its_keys() {
    for n in [1u8, 2] {
        let body = form(&vector_fields(), &signature(n));
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
    // A ring holding both keys finds the one that signed.
    let ring = PublicKeyRing::new()
        .with(key(1).with_id("one"))
        .with(key(2).with_id("two"));
    let both = paddle_classic::verifier(ring).unwrap();
    for (n, id) in [(1u8, "one"), (2, "two")] {
        let proof = verify(&both, &form(&vector_fields(), &signature(n))).unwrap();
        assert_eq!(proof.key_id(), Some(id));
    }
}

/// A body PHP made and signed itself: its own `http_build_query` (`+` for spaces), `ksort`
/// (`_` first), and byte lengths of non-ASCII text.
#[test]
fn a_body_made_by_php_verifies() {
    let body = fixture("php.json")["body"].as_str().unwrap().to_owned();
    let verifier = paddle_classic::verifier(rsa_private().public_key()).unwrap();
    let proof = verify(&verifier, &body).unwrap();
    assert_eq!(proof.message_id(), Some("987654321"));
    assert!(verify(&verifier, &body.replace("zo%C3%AB", "zo%C3%AC")).is_err());
}

#[test]
fn every_field_is_covered_and_none_can_be_added_or_dropped() {
    let signature = signature(1);
    let verifier = verifier(1);
    let original = vector_fields();
    for i in 0..original.len() {
        let mut fields = original.clone();
        fields[i].1.push('x');
        assert!(
            verify(&verifier, &form(&fields, &signature)).is_err(),
            "{} changed",
            original[i].0
        );
        let mut fields = original.clone();
        fields.remove(i);
        assert!(
            verify(&verifier, &form(&fields, &signature)).is_err(),
            "{} dropped",
            original[i].0
        );
    }
    let mut fields = original.clone();
    fields.push(("coupon".to_owned(), "FREE".to_owned()));
    assert!(verify(&verifier, &form(&fields, &signature)).is_err());
}

#[test]
fn the_form_s_order_and_encoding_do_not_matter_nor_change_the_replay_key() {
    let verifier = verifier(1);
    let signed = verify(&verifier, &form(&vector_fields(), &signature(1))).unwrap();
    let mut reversed = vector_fields();
    reversed.reverse();
    let body = form(&reversed, &signature(1));
    assert!(body.starts_with("update_url="), "{body:.40}");
    let again = verify(&verifier, &body).unwrap();
    assert_eq!(again.replay_token(), signed.replay_token());
    // The same fields, encoded otherwise: `%61` for `a`, `%20` for `+`, empty pairs.
    let body = format!(
        "&&{}&",
        form(&vector_fields(), &signature(1))
            .replacen("alert_id", "%61lert_id", 1)
            .replace('+', "%20")
    );
    let again = verify(&verifier, &body).unwrap();
    assert_eq!(again.replay_token(), signed.replay_token());
    assert_eq!(again.message_id(), Some("1534261303"));
}

#[test]
fn names_php_would_read_differently_are_refused_as_such() {
    let body = form(&vector_fields(), &signature(1));
    let verifier = verifier(1);
    for (extra, why) in [
        ("items%5B%5D=1", "field name"),
        ("123=x", "field name"),
        ("Email=x", "field name"),
        ("e-mail=x", "field name"),
        ("=x", "field name"),
        ("%FF=x", "not UTF-8"),
        ("note=%FF", "not UTF-8"),
        ("alert_id=1534261303", "repeated"),
    ] {
        let error = verify(&verifier, &format!("{body}&{extra}")).unwrap_err();
        // A form that does not decode is a malformed body; the others cannot be verified.
        let (kind, status) = if why == "not UTF-8" {
            (VerifyErrorKind::MalformedBody, 400)
        } else {
            (VerifyErrorKind::InvalidSignature, 401)
        };
        assert_eq!(error.kind(), kind, "{extra}");
        assert_eq!(error.status(), status);
        assert!(
            error.message().contains(why),
            "{extra}: {}",
            error.message()
        );
        assert!(!error.message().contains("FF"), "{}", error.message());
    }
}

#[test]
fn a_missing_or_malformed_signature_is_refused() {
    let verifier = verifier(1);
    let mut no_signature = form_urlencoded::Serializer::new(String::new());
    for (name, value) in vector_fields() {
        no_signature.append_pair(&name, &value);
    }
    let error = verify(&verifier, &no_signature.finish()).unwrap_err();
    assert_eq!(error.kind(), VerifyErrorKind::MissingCredentials);
    for signature in ["%%%", "", "QUJD", &"A".repeat(5000)] {
        let error = verify(&verifier, &form(&vector_fields(), signature)).unwrap_err();
        assert_eq!(
            error.kind(),
            VerifyErrorKind::InvalidSignature,
            "{signature:.10}"
        );
    }
}

#[test]
fn alert_id_is_the_message_id_only_when_it_is_usable() {
    let key = rsa_private();
    let signer = paddle_classic::signer(key.clone()).unwrap();
    let verifier = paddle_classic::verifier(key.public_key()).unwrap();
    let long = "9".repeat(129);
    for (alert_id, expected) in [("42", Some("42")), ("", None), (long.as_str(), None)] {
        let body = signer
            .sign(&[("alert_id", alert_id), ("alert_name", "x")])
            .unwrap();
        let proof = verify(&verifier, &body).unwrap();
        assert_eq!(proof.message_id(), expected, "{alert_id:.10}");
        assert!(proof.replay_token().is_some());
    }
}

#[test]
fn the_signer_round_trips_any_text_and_refuses_what_the_verifier_would() {
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
    assert!(verify(&verifier, &body.replace("zo%C3%AB", "zoe")).is_err());
    assert!(signer.sign(&[("Bad", "x")]).is_err());
    assert!(signer.sign(&[("p_signature", "x")]).is_err());
    assert!(signer.sign(&[("a", "x"), ("a", "y")]).is_err());
    // As many fields as the verifier reads, and no more.
    let names: Vec<String> = (0..256).map(|i| format!("f{i}")).collect();
    let fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let body = signer.sign(&fields[..255]).unwrap();
    assert!(verify(&verifier, &body).is_ok());
    assert!(signer.sign(&fields).is_err());
    // Keys: RSA only.
    assert!(paddle_classic::verifier(PrivateKey::generate_ed25519().public_key()).is_err());
    assert!(paddle_classic::signer(PrivateKey::generate_p256()).is_err());
    assert!(!format!("{signer:?}").contains("PRIVATE"));
    assert!(format!("{verifier:?}").contains("keys"));
}

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,12}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any allowed names with any text round-trip, and the replay key does not depend on the
    /// order the fields are given in.
    #[test]
    fn any_fields_round_trip(
        fields in proptest::collection::btree_map(name(), "\\PC{0,30}", 0..12),
    ) {
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .filter(|(n, _)| n != "p_signature")
            .collect();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let key = rsa_private();
        let signer = paddle_classic::signer(key.clone()).unwrap();
        let verifier = paddle_classic::verifier(key.public_key()).unwrap();
        let body = signer.sign(&pairs).unwrap();
        let proof = verify(&verifier, &body).unwrap();
        let mut reversed = pairs.clone();
        reversed.reverse();
        let body = signer.sign(&reversed).unwrap();
        prop_assert_eq!(verify(&verifier, &body).unwrap().replay_token(), proof.replay_token());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Garbage never panics and is never accepted, with or without a well-formed signature.
    #[test]
    fn arbitrary_bodies_are_refused(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        signature in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        use base64::Engine as _;
        let verifier = paddle_classic::verifier(rsa_private().public_key()).unwrap();
        prop_assert!(verifier.verify(&WebhookRequest::new(&body)).is_err());
        let mut signed = form_urlencoded::Serializer::new(String::new());
        signed.append_pair("alert_id", &String::from_utf8_lossy(&body));
        signed.append_pair(
            "p_signature",
            &base64::engine::general_purpose::STANDARD.encode(&signature),
        );
        prop_assert!(verify(&verifier, &signed.finish()).is_err());
    }

    /// Any value changed by one character is refused.
    #[test]
    fn one_character_changed_is_refused(index: usize, to in prop::char::range(' ', '~')) {
        let mut fields = vector_fields();
        let field = index % fields.len();
        let old: Vec<char> = fields[field].1.chars().collect();
        let changed: String = if old.is_empty() {
            to.to_string()
        } else {
            let mut new = old.clone();
            let i = (index / fields.len()) % old.len();
            if new[i] == to {
                return Ok(());
            }
            new[i] = to;
            new.into_iter().collect()
        };
        fields[field].1 = changed;
        let body = form(&fields, &signature(1));
        prop_assert!(verify(&verifier(1), &body).is_err(), "{} changed", fields[field].0);
    }
}
