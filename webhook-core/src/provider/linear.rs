//! Linear: `Linear-Signature: <hex>` over the raw body (HMAC-SHA256). The timestamp is not in
//! a signed header but in the signed body (`webhookTimestamp`, Unix milliseconds); Linear's SDK
//! refuses deliveries more than 60 seconds away from now.

use std::fmt;
use std::time::Duration;

use crate::{
    ConfigError, Encoding, Freshness, HmacAlgorithm, HmacScheme, HmacSigner, HmacVerifier, KeyRing,
    Part, Proof, Secret, SignatureFormat, Verifier, VerifyError, WebhookRequest,
};

/// The scheme (the body signature alone).
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("linear", HmacAlgorithm::Sha256, "linear-signature")
        .format(SignatureFormat::prefixed(""))
        .encoding(Encoding::Hex)
        .content([Part::Body])
}

/// Verifies Linear deliveries: the body signature, then the freshness of the signed body's
/// `webhookTimestamp` (60 s either way by default, as Linear's SDK does). A signed body
/// without the field is refused as `missing_credentials`, one whose field is not a
/// non-negative integer as `malformed_header` (both 401); a body that is not JSON is
/// `malformed_body` (400).
#[derive(Clone)]
pub struct Linear {
    inner: HmacVerifier,
    freshness: Freshness,
}

impl fmt::Debug for Linear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linear")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Linear {
    /// Use this freshness policy for `webhookTimestamp`.
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.inner = self.inner.freshness(freshness.clone());
        self.freshness = freshness;
        self
    }
}

impl Verifier for Linear {
    fn signs_url(&self) -> bool {
        false
    }

    /// The HMAC is over the body.
    fn signs_body(&self) -> bool {
        true
    }

    fn freshness_window(&self) -> Option<std::time::Duration> {
        Some(self.freshness.window())
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let proof = self.inner.verify(request)?;
        let body: serde_json::Value = serde_json::from_slice(request.body()).map_err(|_| {
            VerifyError::new(crate::VerifyErrorKind::MalformedBody).with_message("body is not json")
        })?;
        // The signed timestamp is part of the proof, as a header is in other schemes: absent
        // or unreadable, the delivery is unauthenticated (401), as Mailgun's body fields are.
        let ts = match body.get("webhookTimestamp") {
            None | Some(serde_json::Value::Null) => {
                return Err(VerifyError::new(crate::VerifyErrorKind::MissingCredentials)
                    .with_message("missing field `webhookTimestamp`"));
            }
            Some(value) => value.as_i64().filter(|ts| *ts >= 0).ok_or_else(|| {
                VerifyError::new(crate::VerifyErrorKind::MalformedHeader)
                    .with_message("signed field `webhookTimestamp` is not a valid timestamp")
            })?,
        };
        self.freshness.check_ms(ts)?;
        Ok(proof.with_timestamp_ms(ts))
    }
}

/// A verifier for Linear deliveries.
///
/// # Errors
///
/// An empty key ring.
pub fn verifier(keys: impl Into<KeyRing>) -> Result<Linear, ConfigError> {
    let one_minute = Duration::from_secs(60);
    Ok(Linear {
        inner: scheme().verifier(keys)?,
        freshness: Freshness::new(one_minute, one_minute),
    })
}

/// A signer producing the `Linear-Signature` header (the body must carry `webhookTimestamp`).
#[must_use]
pub fn signer(secret: Secret) -> HmacSigner {
    scheme().signer(secret)
}
