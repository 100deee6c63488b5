//! Zoom: `x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}` (HMAC-SHA256)
//! with the app's secret token, plus the `endpoint.url_validation` challenge.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    Encoding, HmacAlgorithm, HmacScheme, Part, Secret, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("zoom", HmacAlgorithm::Sha256, "x-zm-signature")
        .format(SignatureFormat::prefixed("v0="))
        .encoding(Encoding::Hex)
        .content([
            Part::lit("v0:"),
            Part::Timestamp,
            Part::lit(":"),
            Part::Body,
        ])
        .timestamp(TimestampSource::Header(
            "x-zm-request-timestamp".into(),
            TimeFormat::UnixSeconds,
        ))
}

hmac_preset!("Zoom");

/// The answer to Zoom's `endpoint.url_validation` challenge, or `None` when `body` is not
/// one: `{"plainToken": p, "encryptedToken": hex(HMAC-SHA256(secret, p))}`.
///
/// Zoom sends the challenge signed like any event: verify the request first, then answer.
/// The answer is an HMAC under the app's secret, so only a `plainToken` of the form Zoom
/// sends is answered — 1 to 128 letters, digits, `-` or `_` — never text that could be
/// signed content (`v0:{timestamp}:{body}` always holds `:`): even called on a request
/// that was not verified, this cannot sign a forged delivery.
///
/// ```
/// use webhook_core::{Secret, provider::zoom};
/// let secret = Secret::from_text("zoom_secret_token_example")?;
/// let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
/// let answer = zoom::url_validation_response(&secret, body).expect("a challenge");
/// assert!(answer.contains("ab6193e5fc2172ba4a29511700f0cbf2aeabefa44064ef9bf89732e27aa58708"));
/// // Text that is not a token is not answered.
/// let forged = br#"{"payload":{"plainToken":"v0:1654503849:{\"event\":\"meeting.deleted\"}"},"event":"endpoint.url_validation"}"#;
/// assert!(zoom::url_validation_response(&secret, forged).is_none());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[must_use]
pub fn url_validation_response(secret: &Secret, body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("event")?.as_str()? != "endpoint.url_validation" {
        return None;
    }
    let plain = value.get("payload")?.get("plainToken")?.as_str()?;
    let token_shaped = (1..=128).contains(&plain.len())
        && plain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !token_shaped {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret()).ok()?;
    mac.update(plain.as_bytes());
    let token = hex::encode(mac.finalize().into_bytes());
    Some(serde_json::json!({ "plainToken": plain, "encryptedToken": token }).to_string())
}
