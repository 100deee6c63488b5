//! Every decode error: its kind, status and exact client-safe message.

use serde::Deserialize;
use webhook::{DecodeErrorKind, VerifyError, WebhookEvent, WebhookPayload, WebhookRequest};

#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
pub struct Link {
    #[webhook(url)]
    pub href: String,
}

#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data")]
pub enum Strict {
    #[webhook(rename = "a")]
    A {
        id: u32,
        #[webhook(email)]
        to: String,
        #[webhook(nested)]
        links: Vec<Link>,
    },
    #[webhook(rename = "ping")]
    Ping,
}

fn decode(body: &str) -> Result<Strict, webhook::DecodeError> {
    Strict::decode(&WebhookRequest::new(body.as_bytes()))
}

fn fails(body: &str, kind: DecodeErrorKind, status: u16, message: &str) {
    let err = decode(body).unwrap_err();
    assert_eq!(err.kind(), kind, "{body}");
    assert_eq!(err.to_string(), message, "{body}");
    assert_eq!(VerifyError::from(err).status(), status, "{body}");
}

#[test]
fn malformed_json_is_400() {
    for body in [
        "",
        "{",
        "{\"type\":\"a\",}",
        "nul",
        "{\"type\":\"a\"} trailing",
        "\u{feff}{}",
    ] {
        fails(
            body,
            DecodeErrorKind::MalformedBody,
            400,
            "body is not valid json",
        );
    }
}

/// Tagged by a header, with a payload that ignores members it does not declare.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag_header = "X-Event")]
pub enum LooseByHeader {
    #[webhook(rename = "count")]
    Count { n: u32 },
}

/// JSON is UTF-8: bytes that are not are refused wherever they stand, in a member no field
/// reads as in one a field reads, for every tagging and for a payload decoded alone.
#[test]
fn a_body_that_is_not_utf8_is_400_wherever_the_bytes_are() {
    type Decode = fn(&[u8]) -> Result<(), webhook::DecodeError>;
    // Each body decodes as it is; the test then swaps the two bytes of its `é` for 0xff.
    let bodies: [(&str, Decode); 6] = [
        // a top-level member no field reads (adjacent tagging)
        (r#"{"type":"ping","x":"é"}"#, |b| {
            Strict::decode(&WebhookRequest::new(b)).map(drop)
        }),
        // a member inside the content no field reads
        (
            r#"{"type":"a","data":{"id":1,"to":"a@example.com","links":[],"x":"é"}}"#,
            |b| Strict::decode(&WebhookRequest::new(b)).map(drop),
        ),
        // a member name no field reads
        (
            r#"{"type":"a","data":{"id":1,"to":"a@example.com","links":[],"é":0}}"#,
            |b| Strict::decode(&WebhookRequest::new(b)).map(drop),
        ),
        // tagged inside the body
        (
            r#"{"type":"account","owner":"o","limits":{},"x":"é"}"#,
            |b| KeyedInternally::decode(&WebhookRequest::new(b)).map(drop),
        ),
        // tagged by a header
        (r#"{"n":1,"x":["é"]}"#, |b| {
            let request = WebhookRequest::new(b).with_header("X-Event", "count");
            LooseByHeader::decode(&request).map(drop)
        }),
        // a payload decoded on its own
        (r#"{"href":"https://ok.example","x":"é"}"#, |b| {
            Link::from_json(b).map(drop)
        }),
    ];
    for (valid, decode) in bodies {
        assert!(decode(valid.as_bytes()).is_ok(), "{valid}");
        let bytes: Vec<u8> = valid
            .replace('é', "\u{1}")
            .bytes()
            .map(|b| if b == 1 { 0xff } else { b })
            .collect();
        assert!(std::str::from_utf8(&bytes).is_err(), "{valid}");
        let err = decode(&bytes).unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::MalformedBody, "{valid}");
        assert_eq!(err.to_string(), "body is not valid json", "{valid}");
        assert_eq!(VerifyError::from(err).status(), 400, "{valid}");
    }
}

#[test]
fn unknown_type_without_catch_all_is_422() {
    fails(
        r#"{"type":"b","data":{}}"#,
        DecodeErrorKind::UnknownEventType,
        422,
        "type: unknown event type",
    );
}

#[test]
fn shape_errors_name_the_path_and_never_the_value() {
    use DecodeErrorKind::Validation as V;
    fails(r#"{"data":{}}"#, V, 422, "type: is required");
    fails(
        r#"{"type":7,"data":{}}"#,
        V,
        422,
        "type: invalid type, expected a string",
    );
    fails(r#"[1,2]"#, V, 422, "invalid type, expected an object");
    fails(r#"{"type":"a"}"#, V, 422, "data: is required");
    fails(
        r#"{"type":"a","type":"a","data":{}}"#,
        V,
        422,
        "type: duplicate field",
    );
    fails(
        r#"{"type":"a","data":{"to":"x@y.z","links":[]}}"#,
        V,
        422,
        "data.id: is required",
    );
    fails(
        r#"{"type":"a","data":{"id":"SECRET","to":"x@y.z","links":[]}}"#,
        V,
        422,
        "data.id: invalid type, expected u32",
    );
    fails(
        r#"{"type":"a","data":{"id":-1,"to":"x@y.z","links":[]}}"#,
        V,
        422,
        "data.id: invalid value, expected u32",
    );
    fails(
        r#"{"type":"a","data":{"id":1,"to":"x@y.z","links":[{"href":"https://a.b"},{"href":5}]}}"#,
        V,
        422,
        "data.links[1].href: invalid type, expected a string",
    );
    fails(
        r#"{"type":"a","data":"SECRET"}"#,
        V,
        422,
        "data: invalid type, expected an object",
    );
    // A struct is an object: serde would read an array as its fields in order, which the
    // schema and the id reader do not.
    fails(
        r#"{"type":"a","data":[1,"x@y.z",[]]}"#,
        V,
        422,
        "data: invalid type, expected an object",
    );
    fails(
        r#"{"data":[1,"x@y.z",[]],"type":"a"}"#,
        V,
        422,
        "data: invalid type, expected an object",
    );
    fails(
        r#"{"type":"a","data":{"id":1,"to":"x@y.z","links":[{"href":"https://a.b"},["https://a.b"]]}}"#,
        V,
        422,
        "data.links[1]: invalid type, expected an object",
    );
    // A number beyond every float is valid JSON: the field that reads it refuses it (422).
    fails(
        r#"{"type":"a","data":{"id":1e400,"to":"x@y.z","links":[]}}"#,
        V,
        422,
        "data.id: number out of range",
    );
    // Unread, it is skipped as any member is.
    assert!(decode(r#"{"type":"a","data":{"id":1,"to":"x@y.z","links":[],"n":1e400}}"#).is_ok());
    // content before tag takes the buffered path: same answers
    fails(
        r#"{"data":{"id":true,"to":"x@y.z","links":[]},"type":"a"}"#,
        V,
        422,
        "data.id: invalid type, expected u32",
    );
}

/// Keyed by the sender: a map's keys and a closed payload's unknown fields are payload.
#[derive(Debug, PartialEq, Deserialize, WebhookPayload)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub owner: String,
    pub limits: std::collections::BTreeMap<String, u32>,
}

#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type", content = "data", deny_unknown_fields)]
pub enum Keyed {
    #[webhook(rename = "account")]
    Account(Account),
    /// No fields: serde's unknown-field message then lists none.
    #[webhook(rename = "empty")]
    Empty {},
}

/// A key the schema does not declare (a map's key, an unknown field) is the sender's data,
/// so the path writes it `*`; a declared name is written as such, wherever it appears.
#[test]
fn keys_the_schema_does_not_declare_are_masked() {
    use DecodeErrorKind::Validation as V;
    let keyed = |body: &str| {
        let err = Keyed::decode(&WebhookRequest::new(body.as_bytes())).unwrap_err();
        assert_eq!(err.kind(), V, "{body}");
        assert!(!format!("{err:?}").contains("SECRET"), "{err:?}");
        err.to_string()
    };
    assert_eq!(
        keyed(r#"{"type":"account","data":{"owner":"o","limits":{"SECRET-key":"x"}}}"#),
        "data.limits.*: invalid type, expected u32"
    );
    assert_eq!(
        keyed(r#"{"type":"account","data":{"owner":"o","limits":{},"SECRET":1}}"#),
        "data.*: unknown field, expected `owner` or `limits`"
    );
    // A key that happens to be a declared name reveals nothing the schema does not say.
    assert_eq!(
        keyed(r#"{"type":"account","data":{"owner":"o","limits":{"owner":-1}}}"#),
        "data.limits.owner: invalid value, expected u32"
    );
    // A type without fields: nothing the sender wrote in the key reaches the message.
    assert_eq!(
        keyed(r#"{"type":"empty","data":{"x`, expected SECRET":1}}"#),
        "data.*: unknown field"
    );
    assert_eq!(
        keyed(r#"{"type":"empty","data":{"x\n, expected `SECRET`":1}}"#),
        "data.*: unknown field"
    );
    // The payload decoded alone masks the same way.
    let err = Account::from_json(br#"{"owner":"o","limits":{"SECRET":true}}"#).unwrap_err();
    assert_eq!(err.to_string(), "limits.*: invalid type, expected u32");
    assert_eq!(VerifyError::from(err).status(), 422);
}

/// The same set tagged inside the body, and by a header.
#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag = "type")]
pub enum KeyedInternally {
    #[webhook(rename = "account")]
    Account {
        owner: String,
        limits: std::collections::BTreeMap<String, u32>,
    },
}

#[derive(Debug, PartialEq, WebhookEvent)]
#[webhook(tag_header = "X-Event")]
pub enum KeyedByHeader {
    #[webhook(rename = "account")]
    Account(Account),
}

#[test]
fn every_tagging_masks_undeclared_keys() {
    let body = br#"{"type":"account","owner":"o","limits":{"SECRET":"x"}}"#;
    let err = KeyedInternally::decode(&WebhookRequest::new(body)).unwrap_err();
    assert_eq!(err.to_string(), "limits.*: invalid type, expected u32");
    let body = br#"{"owner":"o","limits":{"SECRET":"x"}}"#;
    let request = WebhookRequest::new(body).with_header("X-Event", "account");
    let err = KeyedByHeader::decode(&request).unwrap_err();
    assert_eq!(err.to_string(), "limits.*: invalid type, expected u32");
    let body = br#"{"owner":"o","limits":{},"SECRET":1}"#;
    let request = WebhookRequest::new(body).with_header("X-Event", "account");
    let err = KeyedByHeader::decode(&request).unwrap_err();
    assert_eq!(
        err.to_string(),
        "*: unknown field, expected `owner` or `limits`"
    );
}

#[test]
fn rule_failures_are_all_reported_including_nested_ones() {
    let err = decode(
        r#"{"type":"a","data":{"id":1,"to":"nope","links":[{"href":"https://ok.example"},{"href":"SECRET"},{"href":"x"}]}}"#,
    )
    .unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Validation);
    assert_eq!(
        err.to_string(),
        "data.to: not a valid email address; data.links[1].href: not a valid url; data.links[2].href: not a valid url"
    );
    assert!(!format!("{err:?}").contains("SECRET"));
    assert_eq!(err.errors().len(), 3);
}

/// A body of many failing items: the first 100 failures are reported, the rest counted, so
/// the error stays small whatever the body's size.
#[test]
fn failures_past_the_limit_are_counted_not_kept() {
    let links = vec![r#"{"href":"x"}"#; 250].join(",");
    let body =
        format!(r#"{{"type":"a","data":{{"id":1,"to":"a@example.com","links":[{links}]}}}}"#);
    let err = decode(&body).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Validation);
    assert_eq!(err.errors().len(), webhook::ValidationErrors::MAX_KEPT);
    assert_eq!(err.errors().omitted(), 150);
    let message = err.to_string();
    assert!(
        message.starts_with("data.links[0].href: not a valid url; "),
        "{message}"
    );
    assert!(
        message.ends_with("data.links[99].href: not a valid url; and 150 more"),
        "{message}"
    );
}

#[test]
fn unit_events_ignore_their_payload() {
    assert_eq!(decode(r#"{"type":"ping"}"#).unwrap(), Strict::Ping);
    assert_eq!(
        decode(r#"{"type":"ping","data":{"anything":[1]}}"#).unwrap(),
        Strict::Ping
    );
    assert_eq!(
        decode(r#"{"data":null,"type":"ping","extra":1}"#).unwrap(),
        Strict::Ping
    );
}

#[test]
fn no_input_panics() {
    let inputs = [
        "{}",
        "{\"type\":null}",
        "{\"type\":\"a\",\"data\":[]}",
        "{\"type\":\"a\",\"data\":{\"links\":null}}",
        "\"\"",
        "0",
    ];
    for input in inputs {
        assert!(decode(input).is_err(), "{input}");
    }
}
