//! Mailgun's `multipart/form-data` posts (a route's `forward()` of a message with
//! attachments): `timestamp`, `token` and `signature` are read from the form's parts, in
//! place and strictly; attachments and other fields are skipped; the form is refused when it
//! is not multipart (400), when a field is missing, given twice or given as a file (401), and when the
//! `Content-Type` names no usable boundary (401).

use std::sync::LazyLock;

use hmac::{Hmac, Mac as _};
use proptest::prelude::*;
use webhook_core::provider::mailgun::{self, Mailgun};
use webhook_core::{FixedClock, Freshness, Secret, Verifier, VerifyErrorKind, WebhookRequest};

const NOW: i64 = 1_700_000_000;
const KEY: &str = "mailgun-signing-key";
const BOUNDARY: &str = "7b3c2f0e9a1d4e6b";
const CONTENT_TYPE: &str = "multipart/form-data; boundary=7b3c2f0e9a1d4e6b";

fn fresh() -> Freshness {
    Freshness::default().with_clock(FixedClock::at_secs(NOW))
}

/// A verifier and a genuine `(timestamp, token, signature)` triple for it.
struct Fixture {
    verifier: Mailgun,
    timestamp: String,
    token: String,
    signature: String,
}

impl Fixture {
    fn new() -> Self {
        let secret = Secret::from_text(KEY).unwrap();
        let block = mailgun::signature_block(&secret, NOW);
        let text = |field: &str| block[field].as_str().unwrap().to_owned();
        Self {
            verifier: mailgun::verifier(secret).unwrap().freshness(fresh()),
            timestamp: text("timestamp"),
            token: text("token"),
            signature: text("signature"),
        }
    }

    /// The three fields as form-data parts, in Mailgun's order.
    fn fields(&self) -> Vec<Vec<u8>> {
        vec![
            field("timestamp", &self.timestamp),
            field("token", &self.token),
            field("signature", &self.signature),
        ]
    }

    /// A multipart body of `parts` under `content_type`, verified: the proof's message id, or
    /// the error's kind (its status and code checked against the kind's).
    fn check(&self, content_type: &str, body: &[u8]) -> Result<Option<String>, VerifyErrorKind> {
        let request = WebhookRequest::new(body).with_header("content-type", content_type);
        match self.verifier.verify(&request) {
            Ok(proof) => Ok(proof.message_id().map(str::to_owned)),
            Err(error) => {
                assert_eq!(error.status(), error.kind().status());
                Err(error.kind())
            }
        }
    }

    /// `parts` as a multipart body, refused 401 `missing_credentials` (`step` says which
    /// case): the error's text.
    fn missing_credentials(&self, parts: &[Vec<u8>], step: &str) -> String {
        let body = multipart(BOUNDARY, parts);
        let request = WebhookRequest::new(&body).with_header("content-type", CONTENT_TYPE);
        let error = self.verifier.verify(&request).unwrap_err();
        assert_eq!(
            (error.status(), error.code()),
            (401, "missing_credentials"),
            "{step}"
        );
        error.to_string()
    }

    fn genuine(&self) -> Result<Option<String>, VerifyErrorKind> {
        Ok(Some(self.token.clone()))
    }
}

/// A text field: its headers, the blank line and its value.
fn field(name: &str, value: &str) -> Vec<u8> {
    field_bytes(name, value.as_bytes())
}

fn field_bytes(name: &str, value: &[u8]) -> Vec<u8> {
    let mut part = format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").into_bytes();
    part.extend_from_slice(value);
    part
}

/// An attachment.
fn file(name: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let mut part = format!(
        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    part.extend_from_slice(content);
    part
}

/// `parts` between delimiters of `boundary`, closed, with CRLF line breaks.
fn multipart(boundary: &str, parts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// The hex HMAC-SHA256 of `{timestamp}{token}` under [`KEY`], for values `signature_block`
/// does not make.
fn sign(timestamp: &str, token: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// An attachment's content: binary, with line breaks, dashes and most of the boundary.
fn attachment(len: usize) -> Vec<u8> {
    // All of the boundary but its last character, then another.
    let near = format!("\r\n--{}!", &BOUNDARY[..BOUNDARY.len() - 1]);
    let mut content = Vec::with_capacity(len + near.len());
    let mut state = 0x9e37_79b9_u32;
    while content.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        content.extend_from_slice(&state.to_le_bytes());
        if state.is_multiple_of(61) {
            content.extend_from_slice(near.as_bytes());
        }
        if state.is_multiple_of(67) {
            content.extend_from_slice(b"\r\n\r\n--\r\n");
        }
    }
    content
}

#[test]
fn a_forwarded_message_with_attachments_verifies_by_its_token() {
    let f = Fixture::new();
    let headers = r#"[["Received", "by luna.mailgun.net"], ["Content-Type", "multipart/mixed; boundary=\"--x\""]]"#;
    let parts = vec![
        field("recipient", "bob@example.com"),
        field("sender", "alice@example.org"),
        field("subject", "Report --7b3c2f0e9a1d4e6b attached"),
        field(
            "body-plain",
            "Hi Bob,\r\n\r\n--\r\nsee the attachment.\r\n--7b3c2f0e9a1d4e6\r\n",
        ),
        field("message-headers", headers),
        field("attachment-count", "2"),
        file("attachment-1", "report.bin", &attachment(2 << 20)),
        f.fields().remove(0),
        f.fields().remove(1),
        f.fields().remove(2),
        file("attachment-2", "notes.txt", &attachment(64 << 10)),
        field("content-id-map", "{}"),
    ];
    let body = multipart(BOUNDARY, &parts);
    assert_eq!(f.check(CONTENT_TYPE, &body), f.genuine());
}

/// An attachment named like a signature field (Mailgun names its attachments
/// `attachment-<n>`) is refused, before or after the field: an application reading the form's
/// fields by name could read it in place of the signed one.
#[test]
fn an_attachment_named_like_a_signature_field_is_refused() {
    let f = Fixture::new();
    for name in ["timestamp", "token", "signature"] {
        for before in [true, false] {
            let mut parts = f.fields();
            let impostor = file(name, "x.txt", b"not the field");
            if before {
                parts.insert(0, impostor);
            } else {
                parts.push(impostor);
            }
            let error = f.missing_credentials(&parts, name);
            assert!(
                error.ends_with(&format!("`{name}` given as a file")),
                "{error}"
            );
        }
    }
}

#[test]
fn boundaries_are_read_quoted_or_not_under_a_parameter_name_of_any_case() {
    let f = Fixture::new();
    let long = "b".repeat(70);
    for (content_type, boundary) in [
        ("multipart/form-data; boundary=abc", "abc"),
        ("multipart/form-data; boundary=\"abc\"", "abc"),
        ("multipart/form-data; Boundary=abc", "abc"),
        ("multipart/form-data;BOUNDARY=\"abc\";", "abc"),
        ("Multipart/Form-Data; charset=utf-8; boundary=abc", "abc"),
        (
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
            "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        ),
        // Boundary characters that only a quoted-string carries.
        (
            "multipart/form-data; boundary=\"a b'()+_,-./:=?z\"",
            "a b'()+_,-./:=?z",
        ),
        (&format!("multipart/form-data; boundary={long}"), &long),
    ] {
        let body = multipart(boundary, &f.fields());
        assert_eq!(f.check(content_type, &body), f.genuine(), "{content_type}");
    }

    // No usable boundary: the header is at fault, 401 `malformed_header`.
    let body = multipart("abc", &f.fields());
    for content_type in [
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"abc",
        "multipart/form-data; boundary=\"abc \"",
        "multipart/form-data; boundary=\"a\\bc\"",
        "multipart/form-data; boundary=a<c",
        "multipart/form-data; boundary=abc; boundary=abc",
        "multipart/form-data; boundary=abc; boundary=abd",
        "multipart/form-data; boundary abc",
        "multipart/form-data; ;boundary=abc",
        &format!("multipart/form-data; boundary={long}b"),
    ] {
        assert_eq!(
            f.check(content_type, &body),
            Err(VerifyErrorKind::MalformedHeader),
            "{content_type}"
        );
    }
    let request = WebhookRequest::new(&body).with_header("content-type", "multipart/form-data");
    let error = f.verifier.verify(&request).unwrap_err();
    assert_eq!((error.status(), error.code()), (401, "malformed_header"));
    assert_eq!(
        error.to_string(),
        "malformed header `content-type`: missing boundary"
    );
    // A boundary the body does not use: the body is not multipart of that boundary.
    assert_eq!(
        f.check("multipart/form-data; boundary=abd", &body),
        Err(VerifyErrorKind::MalformedBody)
    );
}

/// RFC 2046 breaks lines with CRLF; a body broken with LF alone is not guessed at.
#[test]
fn lf_line_breaks_are_refused() {
    let f = Fixture::new();
    let crlf = multipart(BOUNDARY, &f.fields());
    let lf = String::from_utf8(crlf).unwrap().replace("\r\n", "\n");
    assert_eq!(
        f.check(CONTENT_TYPE, lf.as_bytes()),
        Err(VerifyErrorKind::MalformedBody)
    );
    // After a preamble (the first delimiter is then never at a line's start)…
    let preamble = format!("preamble\n{lf}");
    assert_eq!(
        f.check(CONTENT_TYPE, preamble.as_bytes()),
        Err(VerifyErrorKind::MalformedBody)
    );
    // …or within a part's headers only.
    let mut parts = f.fields();
    parts[1] = format!(
        "Content-Disposition: form-data; name=\"token\"\n\n{}",
        f.token
    )
    .into_bytes();
    assert_eq!(
        f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts)),
        Err(VerifyErrorKind::MalformedBody)
    );
    parts[1] = format!(
        "Content-Disposition: form-data; name=\"token\"\nX-Other: a\r\n\r\n{}",
        f.token
    )
    .into_bytes();
    assert_eq!(
        f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts)),
        Err(VerifyErrorKind::MalformedBody)
    );
}

#[test]
fn a_preamble_and_an_epilogue_are_ignored() {
    let f = Fixture::new();
    let other = Fixture::new();
    // The boundary in the preamble, but not at a line's start: text.
    let preamble = format!(
        "This is a multi-part message in MIME format. --{BOUNDARY}\r\n\
         -- x--{BOUNDARY}--\r\n"
    );
    let mut body = preamble.clone().into_bytes();
    body.extend(multipart(BOUNDARY, &f.fields()));
    // The epilogue holds a whole second form, with another triple: unread.
    body.extend(multipart(BOUNDARY, &other.fields()));
    body.extend_from_slice(b"trailing words");
    assert_eq!(f.check(CONTENT_TYPE, &body), f.genuine());
    // At a line's start, the boundary opens a delimiter, whatever follows it (RFC 2046
    // § 5.1.1): followed by other text, the body is not multipart.
    let mut body = format!("{preamble}--{BOUNDARY}x\r\n").into_bytes();
    body.extend(multipart(BOUNDARY, &f.fields()));
    assert_eq!(
        f.check(CONTENT_TYPE, &body),
        Err(VerifyErrorKind::MalformedBody)
    );

    // Transport padding after delimiters, and a body that ends with the close delimiter.
    let mut body = Vec::new();
    for part in f.fields() {
        body.extend_from_slice(format!("--{BOUNDARY} \t\r\n").as_bytes());
        body.extend(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}-- ").as_bytes());
    assert_eq!(f.check(CONTENT_TYPE, &body), f.genuine());
}

#[test]
fn each_field_changed_is_an_invalid_signature() {
    let f = Fixture::new();
    for at in 0..3 {
        let mut values = [f.timestamp.clone(), f.token.clone(), f.signature.clone()];
        let value = &mut values[at];
        // Another digit keeps the timestamp a timestamp and the signature hex.
        let last = if value.ends_with('1') { '2' } else { '1' };
        value.pop();
        value.push(last);
        let [timestamp, token, signature] = &values;
        let body = multipart(
            BOUNDARY,
            &[
                field("timestamp", timestamp),
                field("token", token),
                field("signature", signature),
            ],
        );
        assert_eq!(
            f.check(CONTENT_TYPE, &body),
            Err(VerifyErrorKind::InvalidSignature),
            "field {at} changed"
        );
    }
    // Another key's triple.
    let secret = Secret::from_text("another-key").unwrap();
    let other = mailgun::signature_block(&secret, NOW);
    let body = multipart(
        BOUNDARY,
        &["timestamp", "token", "signature"].map(|name| field(name, other[name].as_str().unwrap())),
    );
    assert_eq!(
        f.check(CONTENT_TYPE, &body),
        Err(VerifyErrorKind::InvalidSignature)
    );
    // Freshness applies as to any delivery.
    let stale = mailgun::signature_block(&Secret::from_text(KEY).unwrap(), NOW - 3_600);
    let body = multipart(
        BOUNDARY,
        &["timestamp", "token", "signature"].map(|name| field(name, stale[name].as_str().unwrap())),
    );
    assert_eq!(
        f.check(CONTENT_TYPE, &body),
        Err(VerifyErrorKind::TimestampTooOld)
    );
}

#[test]
fn a_missing_field_is_missing_credentials() {
    let f = Fixture::new();
    for (at, name) in ["timestamp", "token", "signature"].into_iter().enumerate() {
        let mut parts = f.fields();
        parts.remove(at);
        parts.push(field("recipient", "bob@example.com"));
        assert_eq!(
            f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts)),
            Err(VerifyErrorKind::MissingCredentials),
            "{name} missing"
        );
        // Given as an attachment only: refused as such.
        parts.push(file(name, "f.txt", f.fields()[at].as_slice()));
        let error = f.missing_credentials(&parts, name);
        assert_eq!(error, format!("field `{name}` given as a file"));
    }
    // Named in another case: another field.
    let mut parts = f.fields();
    parts[1] = field("Token", &f.token);
    assert_eq!(
        f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts)),
        Err(VerifyErrorKind::MissingCredentials)
    );
    // What the stopgap refused with 415 is read now: this form has a timestamp only.
    let body = multipart("X", &[field("timestamp", &f.timestamp)]);
    assert_eq!(
        f.check("multipart/form-data; boundary=X", &body),
        Err(VerifyErrorKind::MissingCredentials)
    );
}

/// Which one would the application read? Refused as JSON refuses a second `signature`.
#[test]
fn a_field_given_twice_is_refused() {
    let f = Fixture::new();
    let other = Fixture::new();
    for at in 0..3 {
        for second in [&f, &other] {
            for first_is_genuine in [true, false] {
                let mut parts = f.fields();
                let (genuine, twin) = (parts[at].clone(), second.fields()[at].clone());
                if first_is_genuine {
                    parts.push(twin);
                } else {
                    parts[at] = twin;
                    parts.push(genuine);
                }
                let error = f.missing_credentials(&parts, &format!("field {at}"));
                assert!(error.ends_with("given twice"), "{error}");
            }
        }
    }
    // An escaped name is the same name.
    let mut parts = f.fields();
    parts.push(
        format!(
            "Content-Disposition: form-data; name=\"to\\ken\"\r\n\r\n{}",
            f.token
        )
        .into_bytes(),
    );
    assert_eq!(
        f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts)),
        Err(VerifyErrorKind::MissingCredentials)
    );
}

#[test]
fn part_headers_are_read_in_any_case_with_escaped_names() {
    let f = Fixture::new();
    let parts = vec![
        format!(
            "content-disposition: FORM-DATA; NAME=\"time\\stamp\"\r\n\
             Content-Type: text/plain; charset=\"utf-8\"\r\n\r\n{}",
            f.timestamp
        )
        .into_bytes(),
        format!(
            "X-Unrelated: a; b=\"c\"\r\nCONTENT-DISPOSITION:form-data;name=token\r\n\r\n{}",
            f.token
        )
        .into_bytes(),
        format!(
            "Content-Disposition: form-data ; Name = \"signature\" ; x=\"y\\\"z\";\r\n\r\n{}",
            f.signature
        )
        .into_bytes(),
        // A part without headers other than its name, and an empty value.
        field("stripped-signature", ""),
    ];
    assert_eq!(
        f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts)),
        f.genuine()
    );
}

/// Values are copied only up to Mailgun's lengths; longer or not UTF-8, a value is refused as
/// the same value in JSON is.
#[test]
fn values_longer_than_mailgun_writes_are_refused() {
    let f = Fixture::new();
    let with = |at: usize, value: &[u8]| {
        let mut parts = f.fields();
        parts[at] = field_bytes(["timestamp", "token", "signature"][at], value);
        f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts))
    };
    // A signed token of 256 characters verifies; one more is refused, however signed.
    for (len, expected) in [
        (256, Ok(())),
        (257, Err(VerifyErrorKind::InvalidSignature)),
        (1 << 20, Err(VerifyErrorKind::InvalidSignature)),
    ] {
        let token = "t".repeat(len);
        let parts = [
            field("timestamp", &f.timestamp),
            field("token", &token),
            field("signature", &sign(&f.timestamp, &token)),
        ];
        assert_eq!(
            f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts))
                .map(|id| assert_eq!(id.as_deref(), Some(token.as_str()))),
            expected,
            "token of {len}"
        );
    }
    assert_eq!(
        with(1, b"\xff\xfe token"),
        Err(VerifyErrorKind::InvalidSignature)
    );
    let spaced = format!("{}{}", f.signature, " ".repeat(100));
    assert_eq!(
        with(2, spaced.as_bytes()),
        Err(VerifyErrorKind::InvalidSignature)
    );
    let long = format!("{}{}", f.signature, f.signature);
    assert_eq!(
        with(2, long.as_bytes()),
        Err(VerifyErrorKind::InvalidSignature)
    );
    assert_eq!(with(2, b"\xff"), Err(VerifyErrorKind::InvalidSignature));
    for timestamp in ["1".repeat(17), "1".repeat(33), "1".repeat(100_000)] {
        assert_eq!(
            with(0, timestamp.as_bytes()),
            Err(VerifyErrorKind::MalformedHeader)
        );
    }
    assert_eq!(with(0, b"\xff"), Err(VerifyErrorKind::MalformedHeader));
    // A value is read as it stands: a line break or a space more is another value.
    let value = format!("{}\r\n", f.token);
    assert_eq!(
        with(1, value.as_bytes()),
        Err(VerifyErrorKind::InvalidSignature)
    );
    let value = format!("{} ", f.timestamp);
    assert_eq!(
        with(0, value.as_bytes()),
        Err(VerifyErrorKind::MalformedHeader)
    );
}

#[test]
fn malformed_multipart_is_400_without_panic() {
    let f = Fixture::new();
    let genuine = multipart(BOUNDARY, &f.fields());
    let text = String::from_utf8(genuine.clone()).unwrap();
    let with_part = |part: &str| {
        let mut parts = f.fields();
        parts.insert(1, part.as_bytes().to_vec());
        multipart(BOUNDARY, &parts)
    };
    let d = format!("--{BOUNDARY}");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", b"hello, world".to_vec()),
        ("json", br#"{"signature":{}}"#.to_vec()),
        ("no part", format!("{d}--\r\n").into_bytes()),
        ("delimiter only", format!("{d}\r\n").into_bytes()),
        (
            "no close delimiter",
            text.trim_end_matches(&format!("{d}--\r\n"))
                .as_bytes()
                .to_vec(),
        ),
        (
            "no close delimiter, truncated value",
            text.as_bytes()[..text.len() - 30].to_vec(),
        ),
        (
            "no blank line after headers",
            format!("{d}\r\nContent-Disposition: form-data; name=\"token\"\r\n{d}--\r\n")
                .into_bytes(),
        ),
        (
            "headers running into the close delimiter",
            format!("{d}\r\nContent-Disposition: form-data; name=\"token\"{d}--").into_bytes(),
        ),
        (
            "text after a delimiter",
            text.replacen(&format!("{d}\r\n"), &format!("{d}x\r\n"), 1)
                .into_bytes(),
        ),
        (
            "text after the close delimiter",
            text.replace(&format!("{d}--\r\n"), &format!("{d}--x\r\n"))
                .into_bytes(),
        ),
        (
            "no content-disposition",
            with_part("Content-Type: text/plain\r\n\r\nv"),
        ),
        ("no headers", with_part("\r\nv")),
        ("empty part", with_part("")),
        (
            "not form-data",
            with_part("Content-Disposition: attachment; name=\"a\"\r\n\r\nv"),
        ),
        (
            "no name",
            with_part("Content-Disposition: form-data; filename=\"a\"\r\n\r\nv"),
        ),
        (
            "name twice",
            with_part("Content-Disposition: form-data; name=a; name=b\r\n\r\nv"),
        ),
        (
            "unterminated name",
            with_part("Content-Disposition: form-data; name=\"a\r\n\r\nv"),
        ),
        (
            "escaped quote ends nothing",
            with_part("Content-Disposition: form-data; name=\"a\\\"\r\n\r\nv"),
        ),
        (
            "text after a name",
            with_part("Content-Disposition: form-data; name=\"a\" b\r\n\r\nv"),
        ),
        (
            "empty parameter",
            with_part("Content-Disposition: form-data;; name=a\r\n\r\nv"),
        ),
        (
            "disposition twice",
            with_part(
                "Content-Disposition: form-data; name=\"a\"\r\n\
                 Content-Disposition: form-data; name=\"token\"\r\n\r\nv",
            ),
        ),
        (
            "header without a colon",
            with_part("Content-Disposition form-data; name=a\r\n\r\nv"),
        ),
        (
            "header with a space in its name",
            with_part("Content Disposition: form-data; name=a\r\n\r\nv"),
        ),
        (
            "folded header",
            with_part("Content-Disposition: form-data;\r\n name=\"a\"\r\n\r\nv"),
        ),
        (
            "bare CR in a header",
            with_part("Content-Disposition: form-data; name=a\rb\r\n\r\nv"),
        ),
    ];
    for (name, body) in cases {
        let request = WebhookRequest::new(&body).with_header("content-type", CONTENT_TYPE);
        let error = f.verifier.verify(&request).unwrap_err();
        assert_eq!(
            (error.status(), error.code()),
            (400, "malformed_body"),
            "{name}: {error}"
        );
    }
    // Every truncation of a genuine body is refused, up to the close delimiter itself.
    let complete = genuine.len() - 2;
    for len in 0..genuine.len() {
        let expected = if len < complete {
            Err(VerifyErrorKind::MalformedBody)
        } else if len == complete {
            f.genuine()
        } else {
            // `--boundary--` then a lone CR.
            Err(VerifyErrorKind::MalformedBody)
        };
        assert_eq!(
            f.check(CONTENT_TYPE, &genuine[..len]),
            expected,
            "{len} bytes"
        );
    }
    assert_eq!(f.check(CONTENT_TYPE, &genuine), f.genuine());
}

/// 100 000 parts of one byte each, then the fields: read in one pass (the test would take
/// minutes if each delimiter or each part's headers were searched from the body's start).
#[test]
fn a_hundred_thousand_tiny_parts_are_read_in_linear_time() {
    let f = Fixture::new();
    let mut parts: Vec<Vec<u8>> = (0..100_000).map(|_| field("x", "a")).collect();
    parts.extend(f.fields());
    let body = multipart(BOUNDARY, &parts);
    assert!(body.len() > 4_000_000);
    assert_eq!(f.check(CONTENT_TYPE, &body), f.genuine());

    // 100 000 attachments of one byte, then a truncated body of as many parts.
    let mut parts: Vec<Vec<u8>> = (0..100_000).map(|_| file("a", "a", b"a")).collect();
    parts.extend(f.fields());
    let body = multipart(BOUNDARY, &parts);
    assert_eq!(f.check(CONTENT_TYPE, &body), f.genuine());
    assert_eq!(
        f.check(CONTENT_TYPE, &body[..body.len() - 10]),
        Err(VerifyErrorKind::MalformedBody)
    );

    // A longest boundary, and an attachment of near misses: each a CRLF, two dashes and all
    // of the boundary but its last character.
    let boundary = "q".repeat(69) + "z";
    let near = format!("\r\n--{}", "q".repeat(69)).repeat(100_000);
    let mut parts = vec![file("attachment-1", "a.bin", near.as_bytes())];
    parts.extend(f.fields());
    let body = multipart(&boundary, &parts);
    assert_eq!(
        f.check(&format!("multipart/form-data; boundary={boundary}"), &body),
        f.genuine()
    );

    // One part with 100 000 header lines.
    let mut parts = f.fields();
    parts.insert(
        0,
        format!(
            "{}Content-Disposition: form-data; name=\"x\"\r\n\r\nv",
            "X-A: b\r\n".repeat(100_000)
        )
        .into_bytes(),
    );
    assert_eq!(
        f.check(CONTENT_TYPE, &multipart(BOUNDARY, &parts)),
        f.genuine()
    );
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(Fixture::new);

/// Pieces of multipart: delimiters, line breaks, headers, names, quotes, the genuine
/// timestamp and token, and a signature made with another key, with bytes between them.
fn fragments() -> impl Strategy<Value = Vec<u8>> {
    let other = mailgun::signature_block(&Secret::from_text("another-key").unwrap(), NOW);
    let pieces: Vec<Vec<u8>> = [
        format!("--{BOUNDARY}"),
        "--".into(),
        "\r\n".into(),
        "\r".into(),
        "\n".into(),
        " ".into(),
        "\"".into(),
        "\\".into(),
        ";".into(),
        "Content-Disposition: form-data; name=\"timestamp\"\r\n\r\n".into(),
        "Content-Disposition: form-data; name=\"token\"\r\n\r\n".into(),
        "Content-Disposition: form-data; name=\"signature\"\r\n\r\n".into(),
        "Content-Disposition: form-data; name=\"".into(),
        "; filename=\"a\"".into(),
        "Content-Type: text/plain\r\n".into(),
        FIXTURE.timestamp.clone(),
        FIXTURE.token.clone(),
        other["signature"].as_str().unwrap().to_owned(),
    ]
    .map(String::into_bytes)
    .into();
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(pieces),
            1 => prop::collection::vec(any::<u8>(), 0..8),
        ],
        0..48,
    )
    .prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_verify_nor_panic(
        body in prop::collection::vec(any::<u8>(), 0..1024),
        boundary in prop_oneof![Just(BOUNDARY.to_owned()), "[ -~]{0,72}"],
    ) {
        let content_type = format!("multipart/form-data; boundary=\"{boundary}\"");
        prop_assert!(FIXTURE.check(&content_type, &body).is_err());
        prop_assert!(FIXTURE.check(CONTENT_TYPE, &body).is_err());
    }

    #[test]
    fn pieces_of_multipart_never_verify_nor_panic(body in fragments()) {
        let refused = FIXTURE.check(CONTENT_TYPE, &body);
        prop_assert!(
            matches!(
                refused,
                Err(VerifyErrorKind::MalformedBody
                    | VerifyErrorKind::MissingCredentials
                    | VerifyErrorKind::InvalidSignature
                    | VerifyErrorKind::MalformedHeader)
            ),
            "{:?}",
            refused
        );
    }

    #[test]
    fn arbitrary_content_type_parameters_never_panic(
        params in prop::collection::vec(any::<u8>(), 0..128),
        text in "[ -~]{0,128}",
    ) {
        let body = multipart(BOUNDARY, &FIXTURE.fields());
        let mut content_type = b"multipart/form-data;".to_vec();
        content_type.extend_from_slice(&params);
        let request = WebhookRequest::new(&body).with_header("content-type", &content_type);
        let _ = FIXTURE.verifier.verify(&request);
        let content_type = format!("multipart/form-data;{text}");
        let _ = FIXTURE.check(&content_type, &body);
    }
}
