//! HubSpot request signatures.
//!
//! - **v3** (current): `X-HubSpot-Signature-v3: <base64>` of HMAC-SHA256 with the app's client
//!   secret over `{method}{uri}{body}{timestamp}`, `X-HubSpot-Request-Timestamp` in Unix
//!   **milliseconds**, refused when older than 5 minutes.
//! - **v1** / **v2** (legacy): `X-HubSpot-Signature: <hex>` of a plain SHA-256 (not an HMAC)
//!   over `{client secret}{body}` (v1) or `{client secret}{method}{uri}{body}` (v2). No timestamp
//!   is signed: pair them with a replay store, and prefer v3.
//!
//! The URI is the full URL HubSpot called: give the request view the public URL. v1 and v2
//! sign it exactly as called; v3 first decodes the percent-escapes of `:`, `/`, `?`, `@`, `!`,
//! `$`, `'`, `(`, `)`, `*`, `,` and `;` ([`V3_DECODED`]; `%3A` and `%3a` alike), and
//! leaves every other escape as it is. That is the table of HubSpot's request-validation
//! guide, as two independent implementations quote it; HubSpot publishes no vector with an
//! escape, so it is tested against signatures computed over the decoded URL.
//!
//! # Security
//!
//! v1 and v2 are plain hashes of `secret ‖ message`, which SHA-256's length extension lets
//! anyone who saw one delivery extend into a forged one (`body ‖ padding ‖ anything`) without
//! the secret. The padding always puts a `0x80` byte right after the body's last character
//! and NUL bytes in the length field, so [`HubSpotLegacy`] refuses any body that is not UTF-8
//! or contains NUL: HubSpot's bodies are JSON and never do. Prefer v3, a real HMAC.

use std::borrow::Cow;
use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::{
    ConfigError, Encoding, Freshness, HmacAlgorithm, HmacScheme, KeyRing, Part, Proof, Secret,
    SignatureFormat, TimeFormat, TimestampSource, Verifier, VerifyError, VerifyErrorKind,
    WebhookRequest,
};

/// The characters whose percent-escapes v3 decodes in the URL before signing it.
pub const V3_DECODED: &str = ":/?@!$'()*,;";

/// The v3 scheme.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new(
        "hubspot-v3",
        HmacAlgorithm::Sha256,
        "x-hubspot-signature-v3",
    )
    .format(SignatureFormat::prefixed(""))
    .encoding(Encoding::Base64)
    .content([
        Part::Method,
        Part::UrlDecoding(Cow::Borrowed(V3_DECODED)),
        Part::Body,
        Part::Timestamp,
    ])
    .timestamp(TimestampSource::Header(
        "x-hubspot-request-timestamp".into(),
        TimeFormat::UnixMillis,
    ))
}

hmac_preset!("HubSpot (v3)");

/// Which legacy signature version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Legacy {
    /// `sha256(secret ‖ body)`.
    V1,
    /// `sha256(secret ‖ method ‖ uri ‖ body)`.
    V2,
}

/// Verifies HubSpot's legacy v1/v2 signatures.
#[derive(Clone)]
pub struct HubSpotLegacy {
    version: Legacy,
    keys: KeyRing,
    clock: Freshness,
}

impl fmt::Debug for HubSpotLegacy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubSpotLegacy")
            .field("version", &self.version)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// A verifier for the legacy v1 or v2 signature.
///
/// ```
/// use webhook_core::{Secret, Verifier, WebhookRequest, provider::hubspot};
/// // HubSpot's SDK test vector (v2).
/// let v = hubspot::legacy_verifier(hubspot::Legacy::V2, Secret::from_text("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy")?)?;
/// let request = WebhookRequest::new(b"{'example_field':'example_value'}")
///     .with_url("https://www.example.com/webhook_uri")
///     .with_header("X-HubSpot-Signature-Version", "v2")
///     .with_header("X-HubSpot-Signature", "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383");
/// assert!(v.verify(&request).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Errors
///
/// An empty key ring.
pub fn legacy_verifier(
    version: Legacy,
    keys: impl Into<KeyRing>,
) -> Result<HubSpotLegacy, ConfigError> {
    let keys = keys.into();
    keys.ensure_not_empty()?;
    Ok(HubSpotLegacy {
        version,
        keys,
        clock: Freshness::default(),
    })
}

fn legacy_digest(version: Legacy, secret: &[u8], method: &str, url: &str, body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(secret);
    if version == Legacy::V2 {
        hash.update(method.as_bytes());
        hash.update(url.as_bytes());
    }
    hash.update(body);
    hash.finalize().into()
}

impl HubSpotLegacy {
    /// Use this clock for key expiry.
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.clock = freshness;
        self
    }
}

impl Verifier for HubSpotLegacy {
    fn signs_url(&self) -> bool {
        matches!(self.version, Legacy::V2)
    }

    /// Both versions hash the body (with the length extension that `verify` guards against).
    fn signs_body(&self) -> bool {
        true
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let expected_version = match self.version {
            Legacy::V1 => "v1",
            Legacy::V2 => "v2",
        };
        if let Some(v) = request.optional_single("x-hubspot-signature-version")?
            && !v.eq_ignore_ascii_case(expected_version)
        {
            return Err(VerifyError::malformed_header(
                "x-hubspot-signature-version",
                "unexpected version",
            ));
        }
        let header = request.require_single("x-hubspot-signature")?;
        // Length-extension forgeries carry SHA-256 padding: `0x80` after the body and NULs.
        let body = request.body();
        if std::str::from_utf8(body).is_err() || body.contains(&0) {
            return Err(VerifyError::invalid_signature());
        }
        let signature = hex::decode(header)
            .ok()
            .filter(|s| s.len() == 32)
            .ok_or_else(VerifyError::invalid_signature)?;
        let url = match self.version {
            Legacy::V1 => "",
            Legacy::V2 => request.url().ok_or_else(|| {
                VerifyError::new(VerifyErrorKind::NotConfigured)
                    .with_message("the public url of this endpoint is not configured")
            })?,
        };
        let now = self.clock.now_ms();
        let mut matched = None;
        for key in self.keys.active(now)? {
            let digest = legacy_digest(
                self.version,
                key.secret().expose_secret(),
                request.method(),
                url,
                request.body(),
            );
            if bool::from(digest.ct_eq(signature.as_slice())) {
                matched = Some(key);
            }
        }
        let key = matched.ok_or_else(VerifyError::invalid_signature)?;
        Ok(Proof::new(format!("hubspot-{expected_version}"))
            .with_key_id(key.id())
            .with_signature(&signature))
    }
}

/// Signs like HubSpot's legacy v1/v2.
#[derive(Clone)]
pub struct HubSpotLegacySigner {
    version: Legacy,
    secret: Secret,
}

impl fmt::Debug for HubSpotLegacySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubSpotLegacySigner")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A signer for the legacy v1 or v2 signature.
#[must_use]
pub fn legacy_signer(version: Legacy, secret: Secret) -> HubSpotLegacySigner {
    HubSpotLegacySigner { version, secret }
}

impl Signer for HubSpotLegacySigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        let url = match self.version {
            Legacy::V1 => "",
            Legacy::V2 => message
                .url_str()
                .ok_or_else(|| SignError::new("hubspot v2 signs the url: set it"))?,
        };
        let digest = legacy_digest(
            self.version,
            self.secret.expose_secret(),
            message.method_str(),
            url,
            message.body(),
        );
        let mut headers = SignedHeaders::new();
        headers.push(
            "X-HubSpot-Signature-Version",
            if self.version == Legacy::V1 {
                "v1"
            } else {
                "v2"
            },
        );
        headers.push("X-HubSpot-Signature", hex::encode(digest));
        Ok(headers)
    }
}
