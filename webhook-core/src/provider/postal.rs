//! Postal (self-hosted mail server): RSA PKCS#1 v1.5 over the raw body.
//!
//! | header | content |
//! | --- | --- |
//! | `X-Postal-Signature-256` | base64 RSA PKCS#1 v1.5 signature with SHA-256 (preferred) |
//! | `X-Postal-Signature` | base64 RSA PKCS#1 v1.5 signature with SHA-1 (legacy) |
//! | `X-Postal-Signature-KID` | JWK thumbprint of the signing key (not needed: every key of the ring is tried) |
//!
//! The key is the server's `signing.key`, published as the `p=` of the DNS-style record
//! `v=DKIM1; t=s; h=sha256; p=<base64 SPKI>` shown in Postal's UI (load it with
//! [`PublicKey::from_spki_base64`](crate::PublicKey::from_spki_base64)) or as PEM
//! ([`PublicKey::from_pem`](crate::PublicKey::from_pem)). RSA keys of 1024 to 4096 bits are
//! accepted.
//!
//! Postal signs no timestamp, so there is no freshness check: pair the verifier with a replay
//! store and a long [`retention`](crate::ReceiverBuilder::retention) (a copy is refused only
//! while its key is remembered). The proof's replay token is derived from the SHA-256 digest
//! of the body, whichever signature verified it: a delivery sent again with only its legacy
//! SHA-1 header is the same delivery.
//!
//! # Examples
//!
//! ```
//! use webhook_core::provider::postal;
//! use webhook_core::{PublicKey, Verifier, WebhookRequest};
//!
//! // Postal's public CI key; no published vector exists, this one is self-derived.
//! let key = PublicKey::from_pem(
//!     "-----BEGIN PUBLIC KEY-----
//! MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDWt+8XMJEoeOd5DW0ETcj7oklU
//! iyd39h71ZsBxlZSOSydsb+ft26C/dfJmT/1W38oxhct1iuRN6ETNHNeLtwrysxhp
//! mSiea/eU8Iv3s4WVgdTJyneTH++yuXwOyEmb1opc7igSRfbFLkeVcYm45rnzbjf/
//! 26UaFwmtZlxPI0LZrQIDAQAB
//! -----END PUBLIC KEY-----",
//! )?;
//! let verifier = postal::verifier(key)?;
//!
//! let body = br#"{"event":"MessageSent","timestamp":1700000000.0,"uuid":"00000000-0000-4000-8000-000000000001","payload":{"status":"Sent"}}"#;
//! let request = WebhookRequest::new(body).with_header(
//!     "X-Postal-Signature-256",
//!     "HTrt8mU+TaVxkwakQSukxEk330bwI9KrTf9q+7awK3JzvBsVhTkdhuVW3PM1GLikLKMu4zMTrPO/EvYONhUM63+G8BpxCZLRpkKIo9Mvb8p8ILi81r69wCf0b457CCeYP2J8VoBZBShkIStNfBbhDkGPHsMr0/KPCwiof2J16vQ=",
//! );
//! assert_eq!(verifier.verify(&request).unwrap().scheme(), "postal");
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```
//!
//! # Security
//!
//! SHA-1 is not collision resistant, and an attacker can strip the `-256` header: accepting
//! the legacy header means accepting SHA-1's strength. It is therefore off unless asked for
//! with [`PostalVerifier::allow_legacy_sha1`], for servers too old to send
//! `X-Postal-Signature-256`.

use sha2::{Digest as _, Sha256};

use crate::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, ConfigError,
    Encoding, Freshness, Outgoing, Part, PrivateKey, Proof, PublicKeyRing, SignError,
    SignedHeaders, Signer, Verifier, VerifyError, WebhookRequest,
};

/// The SHA-256 signature header.
pub const SIGNATURE_256_HEADER: &str = "x-postal-signature-256";
/// The legacy SHA-1 signature header.
pub const SIGNATURE_HEADER: &str = "x-postal-signature";

/// The scheme: `X-Postal-Signature-256: <base64>` over the body (RSA PKCS#1 v1.5, SHA-256).
#[must_use]
pub fn scheme() -> AsymmetricScheme {
    AsymmetricScheme::new(
        "postal",
        AsymmetricAlgorithm::RsaPkcs1v15Sha256,
        SIGNATURE_256_HEADER,
    )
    .encoding(Encoding::Base64)
    .content([Part::Body])
    // Postal's installations sign with 1024-bit keys.
    .allow_rsa_1024()
}

/// The legacy scheme: `X-Postal-Signature: <base64>` over the body (RSA PKCS#1 v1.5, SHA-1).
/// Prefer [`scheme`].
#[must_use]
pub fn legacy_sha1_scheme() -> AsymmetricScheme {
    AsymmetricScheme::new(
        "postal-sha1",
        AsymmetricAlgorithm::RsaPkcs1v15Sha1,
        SIGNATURE_HEADER,
    )
    .encoding(Encoding::Base64)
    .content([Part::Body])
    .allow_rsa_1024()
}

/// A verifier for Postal deliveries, accepting any active key of `keys` (RSA keys). It checks
/// `X-Postal-Signature-256` only, until told to fall back with
/// [`allow_legacy_sha1`](PostalVerifier::allow_legacy_sha1).
///
/// # Errors
///
/// An empty ring, or a key that is not RSA.
pub fn verifier(keys: impl Into<PublicKeyRing>) -> Result<PostalVerifier, ConfigError> {
    let keys = keys.into();
    Ok(PostalVerifier {
        sha256: scheme().verifier(keys.clone())?,
        sha1: legacy_sha1_scheme().verifier(keys)?,
        allow_sha1: false,
    })
}

/// A signer producing the headers Postal sends (both signatures), for testing your handlers.
///
/// # Errors
///
/// The key is not RSA.
///
/// # Security
///
/// RSA signing is not constant-time in the `rsa` crate: meant for tests (see
/// [`PrivateKey`]).
pub fn signer(key: PrivateKey) -> Result<PostalSigner, ConfigError> {
    Ok(PostalSigner {
        sha256: scheme().signer(key.clone())?,
        sha1: legacy_sha1_scheme().signer(key)?,
    })
}

/// Verifies Postal's `X-Postal-Signature-256`, and, when allowed, the legacy
/// `X-Postal-Signature` of requests that carry no `-256` header.
///
/// Rejects with 401 when the `-256` header is missing (and the legacy one is not allowed or
/// also missing), or when no key verifies the signature.
#[derive(Debug, Clone)]
pub struct PostalVerifier {
    sha256: AsymmetricVerifier,
    sha1: AsymmetricVerifier,
    allow_sha1: bool,
}

impl PostalVerifier {
    /// Also accept the SHA-1 `X-Postal-Signature` when a request has no
    /// `X-Postal-Signature-256` (servers that predate it). A request that has the `-256`
    /// header is judged on it alone.
    ///
    /// # Security
    ///
    /// The request is then only as safe as an RSA-SHA-1 signature; see the module docs.
    #[must_use]
    pub fn allow_legacy_sha1(mut self) -> Self {
        self.allow_sha1 = true;
        self
    }

    /// Use this freshness policy. Postal signs no timestamp; the clock decides which keys have
    /// expired.
    #[must_use]
    pub fn freshness(self, freshness: Freshness) -> Self {
        Self {
            sha256: self.sha256.freshness(freshness.clone()),
            sha1: self.sha1.freshness(freshness),
            allow_sha1: self.allow_sha1,
        }
    }
}

impl Verifier for PostalVerifier {
    fn signs_url(&self) -> bool {
        false
    }

    /// The RSA signature is over the body.
    fn signs_body(&self) -> bool {
        true
    }

    fn freshness_window(&self) -> Option<std::time::Duration> {
        self.sha256
            .freshness_window()
            .max(self.sha1.freshness_window())
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let legacy_only = request.header(SIGNATURE_256_HEADER).is_none()
            && request.header(SIGNATURE_HEADER).is_some();
        if legacy_only && !self.allow_sha1 {
            // Said plainly, so that the operator of an older Postal server finds the switch.
            return Err(
                VerifyError::missing_header(SIGNATURE_256_HEADER).with_message(
                    "missing header `x-postal-signature-256`: only the legacy SHA-1 \
                 `x-postal-signature` was sent (a Postal server older than its SHA-256 \
                 signature; `PostalVerifier::allow_legacy_sha1` accepts it)",
                ),
            );
        }
        if legacy_only {
            // The token of the SHA-256 path (its digest of the body), so that stripping
            // the `-256` header from a processed delivery does not make it new.
            let digest = Sha256::digest(request.body());
            self.sha1
                .verify(request)
                .map(|proof| proof.with_signature(&digest))
        } else {
            self.sha256.verify(request)
        }
    }
}

/// Signs deliveries the way Postal does: `X-Postal-Signature` (SHA-1) and
/// `X-Postal-Signature-256` (SHA-256), both over the raw body.
#[derive(Debug, Clone)]
pub struct PostalSigner {
    sha256: AsymmetricSigner,
    sha1: AsymmetricSigner,
}

impl Signer for PostalSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        let mut headers = SignedHeaders::new();
        for signer in [&self.sha1, &self.sha256] {
            for (name, value) in signer.sign(message)?.into_vec() {
                headers.push(name, value);
            }
        }
        Ok(headers)
    }
}
