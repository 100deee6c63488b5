//! JWT bearer tokens ([`JwtBearer`]) and their signer twin ([`JwtSigner`]), on `jsonwebtoken`.
//!
//! `jsonwebtoken` checks the signature; every claim (`exp`, `nbf`, `iat`, `iss`, `aud`, the
//! body digest) is checked here, against the injected clock, with arithmetic that cannot
//! overflow.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey, Header, Validation};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::clock::{self, SharedClock};
use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::request::WebhookRequest;
use crate::scheme::token::{DEFAULT_REALM, authorization_credentials, quoted};
use crate::secret::{Secret, decode_base64_key, every_key_expired};
use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::verify::{Proof, Verifier};
#[cfg(feature = "fetch")]
use crate::{fetch::HttpsFetcher, scheme::jwks::JwksCache};

/// Longest `Authorization` header accepted for a bearer token, in bytes. An RS512 token with a
/// generous set of claims stays well under it.
const MAX_TOKEN_HEADER: usize = 8 * 1024;
/// Most keys one verifier holds.
const MAX_KEYS: usize = 64;
/// Most keys one token's signature is checked against. A token without `kid` is checked
/// against every key that allows its `alg`; with no bound, one forged token would cost a
/// signature check per configured key (an RSA check is tens of microseconds).
const MAX_TRIED: usize = 8;
/// Largest JWKS document accepted, in bytes.
pub(crate) const MAX_JWKS: usize = 256 * 1024;

/// A JWS signature algorithm. `none` does not exist here, by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256.
    Hs256,
    /// HMAC with SHA-384.
    Hs384,
    /// HMAC with SHA-512.
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// EdDSA on Ed25519.
    EdDsa,
}

/// What kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

impl Family {
    fn algorithms(self) -> &'static [JwtAlgorithm] {
        use JwtAlgorithm as A;
        match self {
            Self::Hmac => &[A::Hs256, A::Hs384, A::Hs512],
            Self::Rsa => &[A::Rs256, A::Rs384, A::Rs512, A::Ps256, A::Ps384, A::Ps512],
            Self::Ec => &[A::Es256],
            Self::Ed => &[A::EdDsa],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Hmac => "hmac",
            Self::Rsa => "rsa",
            Self::Ec => "ec p-256",
            Self::Ed => "ed25519",
        }
    }
}

impl JwtAlgorithm {
    /// The name used in a JWS header, e.g. `RS256`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    fn family(self) -> Family {
        match self {
            Self::Hs256 | Self::Hs384 | Self::Hs512 => Family::Hmac,
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                Family::Rsa
            }
            Self::Es256 => Family::Ec,
            Self::EdDsa => Family::Ed,
        }
    }

    fn to_jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Hs384 => Algorithm::HS384,
            Self::Hs512 => Algorithm::HS512,
            Self::Rs256 => Algorithm::RS256,
            Self::Rs384 => Algorithm::RS384,
            Self::Rs512 => Algorithm::RS512,
            Self::Ps256 => Algorithm::PS256,
            Self::Ps384 => Algorithm::PS384,
            Self::Ps512 => Algorithm::PS512,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The algorithm of a token header; `None` for ones this crate does not accept (ES384).
    fn from_jwt(alg: Algorithm) -> Option<Self> {
        Some(match alg {
            Algorithm::HS256 => Self::Hs256,
            Algorithm::HS384 => Self::Hs384,
            Algorithm::HS512 => Self::Hs512,
            Algorithm::RS256 => Self::Rs256,
            Algorithm::RS384 => Self::Rs384,
            Algorithm::RS512 => Self::Rs512,
            Algorithm::PS256 => Self::Ps256,
            Algorithm::PS384 => Self::Ps384,
            Algorithm::PS512 => Self::Ps512,
            Algorithm::ES256 => Self::Es256,
            Algorithm::EdDSA => Self::EdDsa,
            _ => return None,
        })
    }

    fn from_jwk(alg: KeyAlgorithm) -> Option<Self> {
        Some(match alg {
            KeyAlgorithm::HS256 => Self::Hs256,
            KeyAlgorithm::HS384 => Self::Hs384,
            KeyAlgorithm::HS512 => Self::Hs512,
            KeyAlgorithm::RS256 => Self::Rs256,
            KeyAlgorithm::RS384 => Self::Rs384,
            KeyAlgorithm::RS512 => Self::Rs512,
            KeyAlgorithm::PS256 => Self::Ps256,
            KeyAlgorithm::PS384 => Self::Ps384,
            KeyAlgorithm::PS512 => Self::Ps512,
            KeyAlgorithm::ES256 => Self::Es256,
            KeyAlgorithm::EdDSA => Self::EdDsa,
            _ => return None,
        })
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// Longest RSA modulus accepted, for a signer as for a verifier (the `rsa` crate's limit
/// for public keys).
const MAX_RSA_BITS: usize = 4096;

/// The shortest HMAC key `alg` may be used with: its hash's size (RFC 7518 §3.2), so that a
/// captured token cannot be brute-forced back to the key.
fn min_hmac_key_len(alg: JwtAlgorithm) -> usize {
    match alg {
        JwtAlgorithm::Hs384 => 48,
        JwtAlgorithm::Hs512 => 64,
        _ => 32,
    }
}

/// Refuses an HMAC key of `len` bytes for `alg` when it is shorter than the hash.
fn hmac_key_fits(len: usize, alg: JwtAlgorithm) -> Result<(), ConfigError> {
    let min = min_hmac_key_len(alg);
    if len < min {
        return Err(ConfigError::new(format!(
            "jwt hmac key is {len} bytes; {alg} needs at least {min} (RFC 7518 §3.2)"
        )));
    }
    Ok(())
}

/// Refuses as an HMAC secret what is in fact a key meant to be public: a PEM document (or
/// anything holding a PEM block), a JWK or JWKS, or a DER public key (a SubjectPublicKeyInfo of any algorithm, or a PKCS#1 RSA
/// key), raw or in base64. Whoever has the public key could mint tokens with such a secret:
/// the HS256/RS256 key confusion, made at configuration time.
fn hmac_secret_is_not_public(secret: &[u8]) -> Result<(), ConfigError> {
    let text = secret.trim_ascii();
    let refused = |what: &str, instead: &str| {
        Err(ConfigError::new(format!(
            "jwt hmac secret is {what}, which is not a shared secret: {instead}"
        )))
    };
    // Anywhere in it: OpenSSL writes `Bag Attributes` and other text before a PEM block.
    if text.windows(10).any(|w| w == b"-----BEGIN") {
        return refused(
            "a pem document",
            "load public keys with `JwtKey::rsa_pem`, `ec_pem` or `ed25519_pem`",
        );
    }
    if text.first() == Some(&b'{')
        && let Ok(object) = serde_json::from_slice::<Map<String, Value>>(text)
        && (object.contains_key("kty") || object.get("keys").is_some_and(Value::is_array))
    {
        return refused(
            "a jwk or jwks document",
            "load published keys with `JwtKey::from_jwks`, and pass an `oct` key's decoded \
             `k` as bytes",
        );
    }
    let base64 = std::str::from_utf8(text).ok().and_then(decode_base64_key);
    if is_public_key_der(secret) || base64.is_some_and(|der| is_public_key_der(&der)) {
        return refused(
            "a der-encoded public key",
            "load public keys with `JwtKey::rsa_pem`, `ec_pem`, `ed25519_pem` or `from_jwks`",
        );
    }
    Ok(())
}

/// Whether `der` is a DER public key: a SubjectPublicKeyInfo (any algorithm) or a PKCS#1
/// RSA public key, the whole input.
fn is_public_key_der(der: &[u8]) -> bool {
    SubjectPublicKeyInfoRef::try_from(der).is_ok() || RsaPublicKey::from_pkcs1_der(der).is_ok()
}

/// Unix milliseconds of `at`, as [`Key::expires_at`](crate::Key::expires_at) reads it: before
/// the epoch is the epoch, beyond `i64` is `i64::MAX`.
fn unix_ms(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Whether `key` can verify `alg` signatures: checked once at start-up, so a key of the wrong
/// shape is a configuration error rather than a rejection of every delivery.
fn decoding_key_fits(key: &DecodingKey, alg: JwtAlgorithm) -> bool {
    match alg.family() {
        // jsonwebtoken parses RSA keys only when verifying: parse here, and refuse short ones.
        Family::Rsa => {
            let public = match key.kind() {
                DecodingKeyKind::SecretOrDer(der) => RsaPublicKey::from_pkcs1_der(der).ok(),
                DecodingKeyKind::RsaModulusExponent { n, e } => {
                    RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)).ok()
                }
            };
            public.is_some_and(|k| k.n().bits() >= MIN_RSA_BITS)
        }
        // Its Ed25519 verifier slices the first 32 bytes without checking the length.
        // Small-order ("weak") keys are refused: jsonwebtoken's non-strict Ed25519 check
        // would accept a forged signature for every message under one.
        Family::Ed => {
            key.try_get_as_bytes().is_ok_and(|b| {
                <[u8; 32]>::try_from(b).ok().is_some_and(|bytes| {
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes).is_ok_and(|k| !k.is_weak())
                })
            }) && jsonwebtoken::crypto::verify("", b"", key, alg.to_jwt()).is_ok()
        }
        // With an empty signature the only error path is building the verifier from the key.
        Family::Hmac | Family::Ec => {
            jsonwebtoken::crypto::verify("", b"", key, alg.to_jwt()).is_ok()
        }
    }
}

/// One key a [`JwtBearer`] accepts signatures of: the key material, bound to its algorithm
/// family, an optional key id (matched against the token's `kid`), and the algorithms
/// allowed with it.
///
/// The allowlist defaults to every algorithm of the key's family (HMAC: HS256/384/512; RSA:
/// RS256/384/512 and PS256/384/512; P-256: ES256; Ed25519: EdDSA) and can only be narrowed
/// within it, so a public RSA key can never be used as an HMAC secret: an RSA key only ever
/// verifies RSA signatures, and [`hmac`](Self::hmac) refuses a secret that is itself a public
/// key (PEM, JWK, DER).
///
/// A key may expire ([`expires_at`](Self::expires_at)), for rotation: the verifier never
/// tries it from then on, by its own clock.
///
/// `Debug` shows the id, family, algorithms and expiry, never key material.
#[derive(Clone)]
pub struct JwtKey {
    id: Option<String>,
    family: Family,
    key: DecodingKey,
    algorithms: Vec<JwtAlgorithm>,
    expires_at_ms: Option<i64>,
}

impl JwtKey {
    fn of(family: Family, key: DecodingKey) -> Self {
        Self {
            id: None,
            family,
            key,
            algorithms: family.algorithms().to_vec(),
            expires_at_ms: None,
        }
    }

    /// A shared HMAC secret, for HS256 and, when it is long enough, HS384 and HS512: a key is
    /// never used with an algorithm whose hash is longer than the key (RFC 7518 §3.2).
    ///
    /// # Errors
    ///
    /// A secret shorter than 32 bytes, HS256's minimum; or a "secret" that is a public key:
    /// after ASCII whitespace is trimmed, a PEM document (`-----BEGIN`…), a JSON object with
    /// `kty` (a JWK) or a `keys` array (a JWKS), or a DER public key (SubjectPublicKeyInfo
    /// or PKCS#1 RSA), raw or in base64. A public key as an HMAC secret lets anyone who has
    /// it mint tokens (the classic HS256/RS256 confusion).
    ///
    /// # Examples
    ///
    /// ```
    /// use webhook_core::{JwtKey, Secret};
    ///
    /// assert!(JwtKey::hmac(Secret::from_text("a shared secret of at least 32 bytes!")?).is_ok());
    /// let pem = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA…\n";
    /// let error = JwtKey::hmac(Secret::from_bytes(pem)?).unwrap_err();
    /// assert!(error.to_string().contains("is a pem document"));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn hmac(secret: Secret) -> Result<Self, ConfigError> {
        let len = secret.expose_secret().len();
        hmac_secret_is_not_public(secret.expose_secret())?;
        hmac_key_fits(len, JwtAlgorithm::Hs256)?;
        let mut key = Self::of(
            Family::Hmac,
            DecodingKey::from_secret(secret.expose_secret()),
        );
        key.algorithms.retain(|alg| len >= min_hmac_key_len(*alg));
        Ok(key)
    }

    /// An RSA public key in PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`), for RS256/384/512 and
    /// PS256/384/512.
    ///
    /// # Errors
    ///
    /// The PEM is not an RSA public key, or its modulus is not 2048 to 4096 bits (the `rsa`
    /// crate verifies with none larger).
    pub fn rsa_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let key = DecodingKey::from_rsa_pem(pem)
            .map_err(|_| ConfigError::new("jwt key is not an rsa public key pem"))?;
        Self::checked(
            Family::Rsa,
            key,
            "jwt key is not an rsa public key of 2048 to 4096 bits",
        )
    }

    /// An ECDSA P-256 public key in PEM (`PUBLIC KEY`), for ES256.
    ///
    /// # Errors
    ///
    /// The PEM is not a P-256 public key (other curves are refused).
    pub fn ec_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let key = DecodingKey::from_ec_pem(pem)
            .map_err(|_| ConfigError::new("jwt key is not an ec public key pem"))?;
        Self::checked(Family::Ec, key, "jwt key is not a p-256 public key pem")
    }

    /// An Ed25519 public key in PEM (`PUBLIC KEY`), for EdDSA.
    ///
    /// # Errors
    ///
    /// The PEM is not an Ed25519 public key.
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let key = DecodingKey::from_ed_pem(pem)
            .map_err(|_| ConfigError::new("jwt key is not an ed25519 public key pem"))?;
        Self::checked(Family::Ed, key, "jwt key is not an ed25519 public key pem")
    }

    fn checked(family: Family, key: DecodingKey, why: &'static str) -> Result<Self, ConfigError> {
        let fits = family
            .algorithms()
            .first()
            .is_some_and(|alg| decoding_key_fits(&key, *alg));
        if fits {
            Ok(Self::of(family, key))
        } else {
            Err(ConfigError::new(why))
        }
    }

    /// The signature keys of a JWKS document (RFC 7517), each with its `kid`.
    ///
    /// Usable keys are RSA (2048 to 4096 bits), EC P-256 and Ed25519 public keys. A key's `alg`, when present,
    /// becomes its only allowed algorithm. Keys marked for encryption (`"use": "enc"`), keys of
    /// other curves or algorithms, and symmetric (`oct`) keys, which do not belong in a
    /// published key set, are skipped.
    ///
    /// The keys are a snapshot of the document: nothing here fetches or refreshes it. When
    /// the publisher rotates its keys (Google does so regularly, publishing a new key in the
    /// set before it signs with it), tokens signed with a key this snapshot lacks are refused
    /// (401, ``bearer token `kid` names no known key``). To follow rotation, use the fetched
    /// form (feature `fetch`): `JwtBearer::from_jwks_url`, or `JwtBearer::from_jwks_cache` on
    /// a `JwksCache`, which fetch the document from its `https` address when first needed,
    /// again on a schedule and when a token names a `kid` the set lacks, by the rules here.
    /// Without it, fetch the set again on a schedule (at least as often as its
    /// `Cache-Control` says), build a new verifier and receiver from it, and swap them in for
    /// the ones the routes use (or restart). A key dropped from the set stops verifying when
    /// the new receiver takes over.
    ///
    /// # Errors
    ///
    /// The document is not a JWKS, is larger than 256 KiB, or holds no usable key.
    pub fn from_jwks(json: &str) -> Result<Vec<Self>, ConfigError> {
        if json.len() > MAX_JWKS {
            return Err(ConfigError::new("jwks document is larger than 256 KiB"));
        }
        // The parser's message may quote the document; report only the position.
        let set: JwkSet = serde_json::from_str(json).map_err(|e| {
            ConfigError::new(format!(
                "jwks document is not valid (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let keys: Vec<Self> = set.keys.iter().filter_map(Self::from_jwk).collect();
        if keys.is_empty() {
            return Err(ConfigError::new(
                "jwks document has no usable signature key",
            ));
        }
        Ok(keys)
    }

    fn from_jwk(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Self> {
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            return None;
        }
        // `key_ops`, when present, must allow verification (RFC 7517 §4.3).
        if let Some(ops) = &jwk.common.key_operations
            && !ops.contains(&jsonwebtoken::jwk::KeyOperations::Verify)
        {
            return None;
        }
        let family = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Family::Rsa,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Family::Ec,
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => Family::Ed,
            _ => return None,
        };
        let algorithms = match jwk.common.key_algorithm {
            None => family.algorithms().to_vec(),
            Some(alg) => {
                let alg = JwtAlgorithm::from_jwk(alg)?;
                if alg.family() != family {
                    return None;
                }
                vec![alg]
            }
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        if !algorithms.iter().all(|alg| decoding_key_fits(&key, *alg)) {
            return None;
        }
        Some(Self {
            id: jwk.common.key_id.clone(),
            family,
            key,
            algorithms,
            expires_at_ms: None,
        })
    }

    /// Name this key; a token whose header has a `kid` is checked only against keys of that
    /// id and keys without one. A token without `kid` is checked against every key that
    /// allows its `alg`, named or not; if more than 8 keys allow it, the token is refused
    /// (401) and must carry `kid` (see [`JwtBearer`]).
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Narrow the algorithms allowed with this key.
    ///
    /// # Errors
    ///
    /// An empty list, or an algorithm of another family than the key's (e.g. HS256 with an
    /// RSA key): that is the key-confusion mistake this type exists to prevent.
    pub fn with_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = JwtAlgorithm>,
    ) -> Result<Self, ConfigError> {
        let mut list: Vec<JwtAlgorithm> = Vec::new();
        for alg in algorithms {
            if alg.family() != self.family {
                return Err(ConfigError::new(format!(
                    "jwt algorithm {alg} cannot be used with an {} key",
                    self.family.name()
                )));
            }
            if self.family == Family::Hmac {
                hmac_key_fits(self.key.try_get_as_bytes().map_or(0, <[u8]>::len), alg)?;
            }
            if !list.contains(&alg) {
                list.push(alg);
            }
        }
        if list.is_empty() {
            return Err(ConfigError::new("jwt key has an empty algorithm list"));
        }
        self.algorithms = list;
        Ok(self)
    }

    /// Stop accepting this key from `at` on, by the verifier's clock ([`JwtBearer::clock`]),
    /// as [`Key::expires_at`](crate::Key::expires_at) does for a key ring: for rotation, the
    /// old key expires once senders sign with the new one. An expired key is never tried;
    /// when every key of a verifier has expired, it answers 500 `not_configured` (logged), as
    /// every verifier whose keys have all expired does: the receiver's configuration is at
    /// fault, not the sender's signature.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::{Duration, SystemTime};
    /// use webhook_core::{FixedClock, JwtBearer, JwtKey, JwtSigner, Outgoing, Secret, Signer,
    ///     Verifier, VerifyErrorKind, WebhookRequest};
    ///
    /// let old = Secret::from_text("the old secret, of at least 32 bytes")?;
    /// let new = Secret::from_text("the new secret, of at least 32 bytes")?;
    /// let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
    /// let cutover = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_600);
    /// let verifier = JwtBearer::new([
    ///     JwtKey::hmac(old.clone())?.with_id("old").expires_at(cutover),
    ///     JwtKey::hmac(new.clone())?.with_id("new"),
    /// ])?
    /// .clock(clock.clone());
    /// let signed_with = |secret: &Secret| {
    ///     let signer = JwtSigner::hmac(secret.clone()).unwrap().clock(clock.clone());
    ///     let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    ///     verifier.verify(&headers.apply(WebhookRequest::new(b"{}")))
    /// };
    ///
    /// assert_eq!(signed_with(&old).unwrap().key_id(), Some("old"));
    /// clock.advance(Duration::from_secs(600));
    /// // From the cutover on, the old key is not tried; the new one still verifies.
    /// assert_eq!(signed_with(&old).unwrap_err().kind(), VerifyErrorKind::InvalidCredentials);
    /// assert_eq!(signed_with(&new).unwrap().key_id(), Some("new"));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at_ms = Some(unix_ms(at));
        self
    }

    fn is_active(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|exp| now_ms < exp)
    }

    /// The key id, if any.
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The algorithms allowed with this key.
    #[must_use]
    pub fn algorithms(&self) -> &[JwtAlgorithm] {
        &self.algorithms
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("id", &self.id)
            .field("family", &self.family.name())
            .field("algorithms", &self.algorithms)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish_non_exhaustive()
    }
}

/// Verifies a JWT sent as `Authorization: Bearer <token>` (RFC 7519, RFC 6750).
///
/// In order: the token's header `alg` must be allowed for the key that verifies it (`none`
/// never is; a key is bound to its family, so an HS256 token is never checked with an RSA
/// public key); the signature is checked by `jsonwebtoken`; then the claims, here, against the
/// injected clock:
///
/// - `exp` is required and must be a number (integer or not); the token is refused from
///   `exp + leeway` on.
/// - `nbf`, when present, must be a number, and the token is refused before `nbf - leeway`.
/// - `iat`, when present, must be a number no later than `now + leeway`, and later than
///   `now - max_age - leeway` ([`max_age`](Self::max_age), default 1 hour). A token without
///   `iat` must expire within `max_age` (plus leeway) of now. Either way no token is accepted
///   for longer than `max_age + 2 × leeway` after it was first seen, and that is the
///   verifier's [freshness window](crate::Verifier::freshness_window), which the receiver's
///   replay store keeps deliveries for: a captured delivery cannot outlive its record.
/// - `iss` must be one of the configured issuers, when any is configured.
/// - `aud` (a string or an array of strings) must name a configured audience, when any is
///   configured. A token naming an audience is refused when none is configured
///   (RFC 7519 §4.1.3).
/// - `sub` and `jti`, when present, must be strings; no claim may appear twice.
/// - each required claim ([`subject`](Self::subject), [`claim`](Self::claim),
///   [`claim_true`](Self::claim_true)) must be present and hold an accepted value: this is
///   what pins the sender under a shared issuer (see below).
/// - the body-digest claim, when configured ([`body_digest_claim`](Self::body_digest_claim)),
///   must equal the unpadded base64url SHA-256 of the raw body, compared in constant time.
///
/// Leeway defaults to 60 s. Time arithmetic is done in 128-bit milliseconds with huge and
/// fractional values clamped, so no claim can overflow it; non-numeric time claims are
/// refused. Header fields `jwk`, `jku`, `x5u` and `x5c` are ignored (keys come only from the
/// configuration) and a `crit` header is refused, as no extension is understood.
///
/// Key selection: keys that have expired ([`JwtKey::expires_at`]) are never tried, and when
/// every key has expired the verifier answers 500 `NotConfigured` (logged) instead of blaming
/// the sender. A token with a `kid` is checked against the keys of that id plus keys
/// configured without an id; a `kid` that names no key is refused when every key has an id.
/// A token without `kid` is checked against every key whose allowlist holds its `alg`; the
/// first that verifies wins. A token is checked against at most 8 keys, so that a forged
/// token costs at most 8 signature checks: a verifier holds at most 64 keys, and
/// [`new`](Self::new) refuses a set in which a token naming its key could meet more than 8;
/// a token without `kid` whose `alg` more than 8 keys allow is refused (401) and must name
/// its key. So with more than 8 keys of one algorithm, senders must send `kid`.
///
/// Outcomes:
/// - Succeeds with a [`Proof`] of scheme `jwt`: key id the matched key's configured id (never
///   the token's own `kid`), subject `sub`, timestamp `iat`, and message id `jti` only when
///   the token is bound to the body ([`body_digest_claim`](Self::body_digest_claim)); see
///   replay protection below.
/// - Rejects with 401 `MissingCredentials` when there is no `Authorization` header or it names
///   another scheme, with `WWW-Authenticate: Bearer realm="webhook"`.
/// - Rejects with 401 `TimestampTooOld` for a token past `exp` or older than the maximum age,
///   and `TimestampInFuture` for one before `nbf` or with `iat` ahead (the codes every scheme
///   uses for stale and future timestamps); with 401 `InvalidCredentials` for any other bad
///   token, a required claim that is missing or not accepted included. All three with
///   `WWW-Authenticate: Bearer realm="webhook", error="invalid_token"`.
/// - Fails with 500 `NotConfigured` when every key has expired.
/// - With keys fetched from a JWKS address (`from_jwks_url`, `from_jwks_cache`, feature
///   `fetch`): fails with 503 `KeyUnavailable` and `Retry-After` while no key set is held
///   (none fetched yet, or the one held grew older than the cache's `max_stale`), and for a
///   token of an asymmetric `alg` whose `kid` names no key of the set held (after the
///   refetch it may cause), with `Retry-After` the time until the cache may fetch again: the
///   issuer may have just rotated, so the sender retries rather than gives up.
///
/// Errors name the failed check (``claim `exp` ``, ``claim `email` ``…), never the token or a
/// claim's value.
///
/// Issuers and audiences apply to every key: with keys of several issuers, whoever holds one
/// of them can mint tokens naming any configured issuer. Check the proof's
/// [`key_id`](Proof::key_id) (the matched key's configured id) in the handler, or give each
/// issuer a receiver of its own.
///
/// Replay protection: a token's `jti` names the token, not the delivery. An OAuth 2 sender
/// reuses one access token (RFC 9068 tokens always carry `jti`) for every delivery until it
/// expires, and Pub/Sub reuses its ID token for up to an hour. So `jti` is the delivery's
/// message id only when the token is bound to the body
/// ([`body_digest_claim`](Self::body_digest_claim)), one token then carrying one delivery.
/// Otherwise, with `jti` or without, the delivery's key is the event's own id when its type
/// declares one, else a digest of the token's signed part and the body: the same token on the
/// same body is a duplicate, the same token on another body another delivery. The token's
/// signature is not part of the digest, as an ECDSA signature can be altered into another
/// valid one.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use webhook_core::{FixedClock, JwtBearer, JwtSigner, Outgoing, Secret, Signer, Verifier,
///     VerifyErrorKind, WebhookRequest};
///
/// let secret = Secret::from_text("a shared secret of at least 32 bytes!")?;
/// let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
/// let verifier = JwtBearer::hmac(secret.clone())?
///     .issuer("https://sender.example")
///     .audience("orders-webhook")
///     .body_digest_claim("body_sha256")
///     .clock(clock.clone());
///
/// // The sender's side: a token bound to this body, valid for 5 minutes.
/// let signer = JwtSigner::hmac(secret.clone())?
///     .issuer("https://sender.example")
///     .audience("orders-webhook")
///     .body_digest_claim("body_sha256")
///     .ttl(Duration::from_secs(300))
///     .clock(clock.clone());
/// let body = br#"{"order":42}"#;
/// let headers = signer.sign(&Outgoing::new(body).id("msg_1")).unwrap();
///
/// let proof = verifier.verify(&headers.apply(WebhookRequest::new(body))).unwrap();
/// assert_eq!((proof.scheme(), proof.message_id()), ("jwt", Some("msg_1")));
///
/// // Another body: the token does not cover it.
/// let tampered = headers.apply(WebhookRequest::new(br#"{"order":43}"#));
/// assert_eq!(verifier.verify(&tampered).unwrap_err().kind(), VerifyErrorKind::InvalidCredentials);
///
/// // Ten minutes later the token has expired.
/// clock.advance(Duration::from_secs(600));
/// let err = verifier.verify(&headers.apply(WebhookRequest::new(body))).unwrap_err();
/// assert_eq!(err.www_authenticate(), Some(r#"Bearer realm="webhook", error="invalid_token""#));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Security
///
/// A shared issuer needs a required claim. A valid signature, `iss` and `aud` prove that
/// the issuer vouches for the token, not that it comes from the sender this endpoint
/// expects; an issuer that signs for many principals with one key set vouches for all of
/// them. Google signs the ID tokens of every service account under `iss`
/// `https://accounts.google.com` with one key set
/// (`https://www.googleapis.com/oauth2/v3/certs`), and anyone with a Google Cloud project can
/// have one minted for a service account of their own, naming any audience, this endpoint's
/// included. So for Google Pub/Sub push, issuer and audience are not enough: require the
/// push subscription's service account with [`claim`](Self::claim)`("email", [account])` and
/// [`claim_true`](Self::claim_true)`("email_verified")`, as Google's own guidance does (or
/// [`subject`](Self::subject) with the account's unique numeric id, its `sub`). Keep the
/// default one-hour [`max_age`](Self::max_age): Pub/Sub reuses a token for up to that long.
///
/// ```
/// use webhook_core::{ConfigError, JwtBearer};
///
/// /// `jwks`: Google's key set, fetched from https://www.googleapis.com/oauth2/v3/certs.
/// fn pubsub_push(jwks: &str) -> Result<JwtBearer, ConfigError> {
///     JwtBearer::from_jwks(jwks)?
///         .issuer("https://accounts.google.com")
///         .audience("https://example.com/webhooks/pubsub")
///         .claim("email", ["push-invoker@my-project.iam.gserviceaccount.com"])?
///         .claim_true("email_verified")
/// }
/// # let _ = pubsub_push;
/// ```
///
/// That snapshot stops verifying when Google rotates its keys; with the feature `fetch`,
/// `JwtBearer::from_jwks_url("https://www.googleapis.com/oauth2/v3/certs")` in its place
/// fetches the set and follows the rotations.
#[derive(Clone)]
pub struct JwtBearer {
    keys: KeySource,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    max_age: Duration,
    clock: SharedClock,
    body_digest_claim: Option<Cow<'static, str>>,
    required: Vec<Required>,
    realm: String,
}

/// Where a [`JwtBearer`]'s keys come from.
#[derive(Clone)]
enum KeySource {
    /// Configured once ([`JwtBearer::new`], [`JwtBearer::from_jwks`]).
    Static(Vec<JwtKey>),
    /// Fetched from a JWKS address and kept fresh.
    #[cfg(feature = "fetch")]
    Fetched(JwksCache),
}

/// A claim [`JwtBearer`] requires, by name.
#[derive(Clone)]
struct Required {
    name: String,
    expected: Expected,
}

/// What a required claim must hold.
#[derive(Clone)]
enum Expected {
    /// A string, one of these.
    OneOf(Vec<String>),
    /// The JSON boolean `true`.
    True,
}

/// Claims [`JwtBearer::claim`] and [`JwtBearer::claim_true`] refuse, each with the setter that
/// checks it: they are not plain strings, or are checked already.
const CHECKED_CLAIMS: [(&str, &str); 5] = [
    ("iss", "`issuer`"),
    ("aud", "`audience` (it may be an array)"),
    ("exp", "the verifier, a number against its clock"),
    ("nbf", "the verifier, a number against its clock"),
    ("iat", "the verifier, a number against its clock"),
];

/// Default [`JwtBearer::leeway`].
const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Largest [`JwtBearer::leeway`]: more would quietly switch the time checks off.
const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default [`JwtBearer::max_age`]: the life of a Google-issued ID token, which Pub/Sub
/// reuses for up to that long.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3_600);
/// Largest [`JwtBearer::max_age`]: the replay store keeps every delivery this long.
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3_600);

/// Whether the refusal of a key set may quote a key's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyIds {
    /// Keys configured: the ids are the operator's own, and name the key to fix.
    Quote,
    /// A fetched set: its ids are whatever the issuer's document holds, and the refusal
    /// reaches logs and [`JwksCache::refresh`]'s error, which never quote the document.
    #[cfg(feature = "fetch")]
    Withhold,
}

/// Refuses a key set a verifier cannot use: no key, more than [`MAX_KEYS`], or one that fails
/// [`check_candidates`]. The same rules hold for configured keys and fetched ones.
fn check_key_set(keys: &[JwtKey], ids: KeyIds) -> Result<(), ConfigError> {
    if keys.is_empty() {
        return Err(ConfigError::new("jwt verifier has no key"));
    }
    if keys.len() > MAX_KEYS {
        return Err(ConfigError::new("jwt verifier has more than 64 keys"));
    }
    check_candidates(keys, ids)
}

/// The keys of a fetched JWKS document ([`JwksCache`]), by the rules of
/// [`JwtBearer::from_jwks`]: only public signature keys, `alg`, `use` and `key_ops`
/// respected, symmetric keys skipped, at most 64, and no set in which a token naming its key
/// could meet more than 8. No error quotes the document, a key's id included.
#[cfg(feature = "fetch")]
pub(crate) fn fetched_key_set(json: &str) -> Result<Vec<JwtKey>, ConfigError> {
    let keys = JwtKey::from_jwks(json)?;
    check_key_set(&keys, KeyIds::Withhold)?;
    Ok(keys)
}

/// Whether `keys` hold a key a token naming `kid` is checked against, by the selection of
/// [`JwtBearer::verify`]: a key of that id, or a key without one (it verifies tokens of any
/// `kid`). A token without `kid` may be checked against any key.
#[cfg(feature = "fetch")]
pub(crate) fn names_a_key(keys: &[JwtKey], kid: Option<&str>) -> bool {
    kid.is_none() || keys.iter().any(|key| serves_kid(key, kid))
}

/// Whether a token naming `kid` (or none) is checked against `key`: a key of that id, or a
/// key without one; a token without `kid`, against any key.
fn serves_kid(key: &JwtKey, kid: Option<&str>) -> bool {
    match (kid, key.id.as_deref()) {
        (Some(kid), Some(id)) => kid == id,
        _ => true,
    }
}

/// Refuses a key set in which a token that names its key could still be checked against more
/// than [`MAX_TRIED`] keys: those of its `kid` plus those without an id, that allow its `alg`.
/// Then only a token without `kid` can meet more candidates than that, and it is refused
/// with a request to name its key (the sender's to fix).
fn check_candidates(keys: &[JwtKey], ids: KeyIds) -> Result<(), ConfigError> {
    let mut algorithms: Vec<JwtAlgorithm> = keys
        .iter()
        .flat_map(|k| k.algorithms.iter().copied())
        .collect();
    algorithms.sort_by_key(|a| a.as_str());
    algorithms.dedup();
    for alg in algorithms {
        let allows = |k: &&JwtKey| k.algorithms.contains(&alg);
        let unnamed = keys
            .iter()
            .filter(allows)
            .filter(|k| k.id.is_none())
            .count();
        if unnamed > MAX_TRIED {
            return Err(ConfigError::new(format!(
                "jwt verifier has {unnamed} keys without an id that allow {alg}; at most \
                 {MAX_TRIED} (every {alg} token is checked against each of them): give them ids"
            )));
        }
        for id in keys.iter().filter(allows).filter_map(|k| k.id.as_deref()) {
            let named = keys
                .iter()
                .filter(allows)
                .filter(|k| k.id.as_deref() == Some(id))
                .count();
            if named + unnamed > MAX_TRIED {
                let key = match ids {
                    KeyIds::Quote => format!("key `{id}`"),
                    #[cfg(feature = "fetch")]
                    KeyIds::Withhold => "one of its keys".to_owned(),
                };
                return Err(ConfigError::new(format!(
                    "jwt verifier: an {alg} token naming {key} would be checked against {} \
                     keys (those of that id and those without one); at most {MAX_TRIED}",
                    named + unnamed
                )));
            }
        }
    }
    Ok(())
}

/// `name`, unless it is a claim the verifier checks by other means ([`CHECKED_CLAIMS`]).
fn checkable_claim(name: String) -> Result<String, ConfigError> {
    match CHECKED_CLAIMS.iter().find(|(checked, _)| *checked == name) {
        Some((_, by)) => Err(ConfigError::new(format!(
            "jwt claim `{name}` cannot be required as a value: it is checked by {by}"
        ))),
        None => Ok(name),
    }
}

impl JwtBearer {
    /// Accept tokens signed by any of `keys`.
    ///
    /// # Errors
    ///
    /// No key, more than 64, or a set in which a token could be checked against more than
    /// 8 keys although it names its key: more than 8 keys without an id that allow one
    /// algorithm, or, for one algorithm, more than 8 keys of one id and without an id.
    pub fn new(keys: impl IntoIterator<Item = JwtKey>) -> Result<Self, ConfigError> {
        let keys: Vec<JwtKey> = keys.into_iter().collect();
        check_key_set(&keys, KeyIds::Quote)?;
        Ok(Self::of(KeySource::Static(keys)))
    }

    fn of(keys: KeySource) -> Self {
        Self {
            keys,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            max_age: DEFAULT_MAX_AGE,
            clock: clock::system(),
            body_digest_claim: None,
            required: Vec::new(),
            realm: quoted(DEFAULT_REALM),
        }
    }

    /// Accept HS256 (and HS384/HS512, for a secret long enough: see [`JwtKey::hmac`]) tokens
    /// signed with a shared `secret`.
    ///
    /// # Errors
    ///
    /// As [`JwtKey::hmac`]: a secret shorter than 32 bytes, or one that is a public key.
    pub fn hmac(secret: Secret) -> Result<Self, ConfigError> {
        Self::new([JwtKey::hmac(secret)?])
    }

    /// Accept tokens signed by the keys of a JWKS document; see [`JwtKey::from_jwks`]. The
    /// keys are a snapshot: to follow the publisher's rotation, use the fetched form
    /// (`from_jwks_url` or `from_jwks_cache`, feature `fetch`), or build a new verifier (and
    /// receiver) from a freshly fetched document, as [`JwtKey::from_jwks`] explains.
    ///
    /// # Errors
    ///
    /// As [`JwtKey::from_jwks`], or as [`new`](Self::new): more than 64 usable keys, or a set
    /// in which a token naming its key could be checked against more than 8.
    pub fn from_jwks(json: &str) -> Result<Self, ConfigError> {
        Self::new(JwtKey::from_jwks(json)?)
    }

    /// Accept tokens signed by the keys of the JWKS document at `url`, fetched over HTTPS
    /// with an [`HttpsFetcher`] when a delivery first needs them and kept fresh by a
    /// [`JwksCache`] with its default limits (feature `fetch`): fetched again every hour, and
    /// when a token names a `kid` the set lacks (at most once in 5 minutes); a failed fetch
    /// keeps the keys held for up to a day. Every other setting of the verifier (issuer,
    /// audience, required claims, leeway, maximum age, body digest) applies unchanged.
    ///
    /// Build the [`JwksCache`] yourself, and pass it to
    /// [`from_jwks_cache`](Self::from_jwks_cache), to change its limits, fetch through a
    /// client of your own, fetch the keys at start-up ([`JwksCache::refresh`]), watch the
    /// set's age ([`JwksCache::fetched_ago`]), or share it: each call of `from_jwks_url` makes
    /// a cache of its own, with its own limits, so verifiers (routes, tenants) that accept
    /// one issuer's tokens should share one cache, cloned into each `from_jwks_cache`.
    ///
    /// # Examples
    ///
    /// Google Pub/Sub push, whose tokens Google signs with keys it rotates:
    ///
    /// ```
    /// use webhook_core::{JwtBearer, Receiver};
    ///
    /// let verifier = JwtBearer::from_jwks_url("https://www.googleapis.com/oauth2/v3/certs")?
    ///     .issuer("https://accounts.google.com")
    ///     .audience("https://example.com/webhooks/pubsub")
    ///     .claim("email", ["push-invoker@my-project.iam.gserviceaccount.com"])?
    ///     .claim_true("email_verified")?;
    /// let receiver = Receiver::builder().verifier(verifier).build()?;
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `url` is not an `https` address (or carries a user name or password), or the HTTPS
    /// client cannot be built ([`HttpsFetcher::new`]).
    #[cfg(feature = "fetch")]
    pub fn from_jwks_url(url: &str) -> Result<Self, ConfigError> {
        Ok(Self::from_jwks_cache(JwksCache::new(
            url,
            HttpsFetcher::new()?,
        )?))
    }

    /// Accept tokens signed by the keys `cache` fetches and keeps fresh (feature `fetch`);
    /// see [`JwksCache`] for when it fetches. The keys obey the rules of
    /// [`from_jwks`](Self::from_jwks): public signature keys only (a symmetric `oct` key in
    /// the document is never used), each key's `alg`, `use` and `key_ops` respected. Every
    /// other setting of the verifier applies unchanged; its [`clock`](Self::clock) judges the
    /// tokens, the cache's own clock its intervals.
    ///
    /// Until the cache holds a key set (the first fetch has not succeeded), deliveries are
    /// answered 503 `key_unavailable` with `Retry-After`, so that the sender retries them.
    /// So is a token whose `kid` the set held does not name (after the refetch it may
    /// cause), with `Retry-After` the time until the cache may refetch.
    ///
    /// Give one cache (cloned) to every verifier that accepts the same issuer's tokens: they
    /// then share its keys, its fetches and its limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webhook_core::{CertificateFetcher, FetchError, FetchFuture, FixedClock, JwksCache,
    ///     JwtBearer, JwtSigner, Outgoing, Signer, Verifier, WebhookRequest};
    ///
    /// // The sender's published key set: one Ed25519 key, `k1`.
    /// let jwks = concat!(
    ///     r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","use":"sig","#,
    ///     r#""x":"4QcGEGW0YEwThwP0M-R-REGirujxFqQyu70lIvu6-RE"}]}"#
    /// );
    /// # let private_pem = concat!(
    /// #     "-----BEGIN PRIVATE KEY-----\n",
    /// #     "MC4CAQAwBQYDK2VwBCIEIA6YmmzdtAeQHUxki7lbmPGw+9EFHhNdvDHUreMKv4I2\n",
    /// #     "-----END PRIVATE KEY-----\n");
    /// /// Serves the sender's key set (in tests; `HttpsFetcher` in production).
    /// #[derive(Debug)]
    /// struct Published(&'static str);
    ///
    /// impl CertificateFetcher for Published {
    ///     fn fetch(&self, _url: &str) -> FetchFuture {
    ///         let document = self.0.as_bytes().to_vec();
    ///         Box::pin(async move { Ok::<_, FetchError>(document) })
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
    /// let keys = JwksCache::builder("https://sender.example/jwks.json", Published(jwks))
    ///     .clock(clock.clone())
    ///     .build()?;
    /// let verifier = JwtBearer::from_jwks_cache(keys.clone())
    ///     .issuer("https://sender.example")
    ///     .clock(clock.clone());
    ///
    /// let signer = JwtSigner::ed25519_pem(private_pem.as_bytes())?
    ///     .key_id("k1")
    ///     .issuer("https://sender.example")
    ///     .clock(clock);
    /// let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    /// let request = headers.apply(WebhookRequest::new(b"{}"));
    ///
    /// // Nothing fetched yet: 503, which the sender retries. The pipeline awaits the fetch
    /// // (`Delivery::fetch_keys`) before it verifies.
    /// assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
    /// verifier.fetch_keys(&request).expect("the first fetch").await;
    /// assert_eq!(verifier.verify(&request).unwrap().key_id(), Some("k1"));
    /// assert!(verifier.fetch_keys(&request).is_none()); // held now
    /// assert_eq!(keys.len(), 1);
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// # }).unwrap();
    /// ```
    #[cfg(feature = "fetch")]
    #[must_use]
    pub fn from_jwks_cache(cache: JwksCache) -> Self {
        Self::of(KeySource::Fetched(cache))
    }

    /// Accept this issuer (`iss`); call again to accept several. Once one is set, `iss` is
    /// required.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accept this audience (`aud`); call again to accept several. Once one is set, `aud` is
    /// required and must name one of them.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 60 s, at most 5 minutes: a
    /// larger value is taken as 5 minutes, since it would switch the time checks off).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// The oldest token accepted, by its `iat` (default 1 hour, at least 1 second and at
    /// most 24 hours: values outside are taken as the nearest bound). A token without `iat`
    /// must expire within this of now. The receiver keeps each delivery's record for this
    /// (plus twice the leeway), so set it no longer than the sender needs: a sender minting a
    /// token per delivery needs minutes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::{JwtBearer, Secret, Verifier};
    /// let verifier = JwtBearer::hmac(Secret::from_text("a shared secret of at least 32 bytes!")?)?
    ///     .max_age(Duration::from_secs(300));
    /// // 5 minutes, plus 60 s of leeway each way.
    /// assert_eq!(verifier.freshness_window(), Some(Duration::from_secs(420)));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age.clamp(Duration::from_secs(1), MAX_MAX_AGE);
        self
    }

    /// Read "now" from this clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Require the claim `name` to hold the SHA-256 of the raw body, encoded as unpadded
    /// base64url (43 characters), binding the token to this one body. Nothing else (hex,
    /// padding, the standard alphabet) is accepted. A registered claim (`iss`, `sub`, `aud`,
    /// `exp`, `nbf`, `iat`, `jti`) cannot be the one: the receiver's `build` refuses it.
    #[must_use]
    pub fn body_digest_claim(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.body_digest_claim = Some(name.into());
        self
    }

    /// Require the subject (`sub`) to be one of `subjects`; call again to accept more. Same as
    /// [`claim`](Self::claim)`("sub", subjects)`. A token without `sub`, or with another,
    /// is refused (401 ``claim `sub` …``). Under a shared issuer, this or another required
    /// claim is what limits the verifier to one sender (see the [security](Self#security)
    /// notes).
    ///
    /// # Errors
    ///
    /// No subject given.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webhook_core::{FixedClock, JwtBearer, JwtSigner, Outgoing, Secret, Signer, Verifier,
    ///     WebhookRequest};
    ///
    /// let secret = Secret::from_text("a secret the issuer shares, 32 bytes+")?;
    /// let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
    /// let verifier = JwtBearer::hmac(secret.clone())?.subject(["billing"])?.clock(clock.clone());
    /// let from = |subject: &str| {
    ///     let signer = JwtSigner::hmac(secret.clone()).unwrap();
    ///     let signer = signer.subject(subject).clock(clock.clone());
    ///     let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    ///     verifier.verify(&headers.apply(WebhookRequest::new(b"{}")))
    /// };
    /// assert_eq!(from("billing").unwrap().subject(), Some("billing"));
    /// let error = from("shipping").unwrap_err();
    /// assert_eq!(error.message(), "claim `sub` is not an accepted value");
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn subject<I>(self, subjects: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.claim("sub", subjects)
    }

    /// Require the top-level claim `name` to be a string equal to one of `values` (exact,
    /// case-sensitive comparison); call again with the same name to accept more values, with
    /// other names to require several claims. A token without the claim, or where it is not
    /// a string (a number, an array…), or another string, is refused with 401
    /// `InvalidCredentials` and a message naming the claim, never its value. Checked with the
    /// other claims, after the signature and before the delivery is claimed in the replay
    /// store.
    ///
    /// Use it to pin the sender when the issuer signs for many: `email` (and
    /// [`claim_true`](Self::claim_true)`("email_verified")`) for Google Pub/Sub push, or
    /// `azp`, the client a token was issued to. See the [security](Self#security) notes.
    ///
    /// # Errors
    ///
    /// No value given; a claim this verifier checks otherwise (`iss`: use
    /// [`issuer`](Self::issuer); `aud`: use [`audience`](Self::audience); `exp`, `nbf`,
    /// `iat`: numbers checked against the clock); or a claim already required to be `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webhook_core::{FixedClock, JwtBearer, JwtSigner, Outgoing, Secret, Signer, Verifier,
    ///     WebhookRequest};
    ///
    /// // A shared issuer signs for every account: only the push account is accepted.
    /// let push = "push@my-project.iam.gserviceaccount.com";
    /// let issuer_key = Secret::from_text("the issuer's key, at least 32 bytes long")?;
    /// let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
    /// let verifier = JwtBearer::hmac(issuer_key.clone())?
    ///     .audience("https://example.com/push")
    ///     .claim("email", [push])?
    ///     .claim_true("email_verified")?
    ///     .clock(clock.clone());
    /// let from = |email: &str| {
    ///     let signer = JwtSigner::hmac(issuer_key.clone()).unwrap()
    ///         .audience("https://example.com/push")
    ///         .claim("email", email)
    ///         .claim_true("email_verified")
    ///         .clock(clock.clone());
    ///     let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    ///     verifier.verify(&headers.apply(WebhookRequest::new(b"{}")))
    /// };
    /// assert!(from(push).is_ok());
    /// let error = from("attacker@evil.iam.gserviceaccount.com").unwrap_err();
    /// assert_eq!(error.status(), 401);
    /// assert_eq!(error.message(), "claim `email` is not an accepted value");
    /// assert!(!error.to_string().contains("attacker"));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn claim<I>(mut self, name: impl Into<String>, values: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let name = checkable_claim(name.into())?;
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        if values.is_empty() {
            return Err(ConfigError::new(format!(
                "jwt claim `{name}` is required with no accepted value"
            )));
        }
        match self.required.iter_mut().find(|r| r.name == name) {
            None => self.required.push(Required {
                name,
                expected: Expected::OneOf(values),
            }),
            Some(Required {
                expected: Expected::OneOf(accepted),
                ..
            }) => accepted.extend(values),
            Some(Required {
                expected: Expected::True,
                ..
            }) => {
                return Err(ConfigError::new(format!(
                    "jwt claim `{name}` is required both to be `true` and to be a string"
                )));
            }
        }
        Ok(self)
    }

    /// Require the top-level claim `name` to be the JSON boolean `true`, e.g.
    /// `email_verified` next to [`claim`](Self::claim)`("email", …)`. A token without the
    /// claim, or with anything else there (`false`, the string `"true"`, `1`), is refused
    /// with 401 `InvalidCredentials` naming the claim.
    ///
    /// # Errors
    ///
    /// A claim this verifier checks otherwise (`iss`, `aud`, `exp`, `nbf`, `iat`), or one
    /// already required to be a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webhook_core::{FixedClock, JwtBearer, JwtSigner, Outgoing, Secret, Signer, Verifier,
    ///     WebhookRequest};
    ///
    /// let secret = Secret::from_text("a shared secret of at least 32 bytes!")?;
    /// let clock = Arc::new(FixedClock::at_secs(1_700_000_000));
    /// let verifier = JwtBearer::hmac(secret.clone())?
    ///     .claim_true("email_verified")?
    ///     .clock(clock.clone());
    /// let signer = JwtSigner::hmac(secret)?.clock(clock);
    /// let unverified = signer.sign(&Outgoing::new(b"{}")).unwrap();
    /// let error = verifier.verify(&unverified.apply(WebhookRequest::new(b"{}"))).unwrap_err();
    /// assert_eq!(error.message(), "claim `email_verified` is missing");
    /// let verified = signer.claim_true("email_verified").sign(&Outgoing::new(b"{}")).unwrap();
    /// assert!(verifier.verify(&verified.apply(WebhookRequest::new(b"{}"))).is_ok());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    pub fn claim_true(mut self, name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = checkable_claim(name.into())?;
        match self.required.iter().find(|r| r.name == name) {
            None => self.required.push(Required {
                name,
                expected: Expected::True,
            }),
            Some(Required {
                expected: Expected::True,
                ..
            }) => {}
            Some(Required {
                expected: Expected::OneOf(_),
                ..
            }) => {
                return Err(ConfigError::new(format!(
                    "jwt claim `{name}` is required both to be a string and to be `true`"
                )));
            }
        }
        Ok(self)
    }

    /// The realm named in `WWW-Authenticate` challenges (default `webhook`).
    #[must_use]
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = quoted(realm);
        self
    }

    fn missing(&self) -> VerifyError {
        VerifyError::new(VerifyErrorKind::MissingCredentials)
            .with_message("missing bearer token in header `authorization`")
            .with_www_authenticate(format!("Bearer realm={}", self.realm))
    }

    fn invalid(&self, why: impl Into<Cow<'static, str>>) -> VerifyError {
        self.refused(VerifyErrorKind::InvalidCredentials, why)
    }

    /// A token refused for its time claims: the same kinds (and codes) as a stale or
    /// future timestamp of any other scheme, with the bearer challenge.
    fn refused(&self, kind: VerifyErrorKind, why: impl Into<Cow<'static, str>>) -> VerifyError {
        VerifyError::new(kind)
            .with_message(why)
            .with_www_authenticate(format!(
                "Bearer realm={}, error=\"invalid_token\"",
                self.realm
            ))
    }

    /// The token text, or why there is none.
    fn token<'a>(&self, request: &WebhookRequest<'a>) -> Result<&'a str, VerifyError> {
        let raw = match authorization_credentials(request, "Bearer", MAX_TOKEN_HEADER) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Err(self.missing()),
            Err(why) => return Err(self.invalid(why)),
        };
        if raw.is_empty() {
            return Err(self.invalid("empty bearer token"));
        }
        // A JWS compact serialization: three base64url segments.
        let well_formed = raw
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && raw.iter().filter(|b| **b == b'.').count() == 2;
        if !well_formed {
            return Err(self.invalid("bearer token is not a jwt"));
        }
        std::str::from_utf8(raw).map_err(|_| self.invalid("bearer token is not a jwt"))
    }

    /// Check the claims of a token whose signature verified.
    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Checked, VerifyError> {
        let now = i128::from(now_ms);
        let leeway = i128::try_from(self.leeway.as_millis()).unwrap_or(i128::MAX);

        let exp = self
            .time_claim(claims, "exp")?
            .ok_or_else(|| self.invalid("claim `exp` is missing"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(self.refused(VerifyErrorKind::TimestampTooOld, "bearer token has expired"));
        }
        if let Some(nbf) = self.time_claim(claims, "nbf")?
            && now < nbf.saturating_sub(leeway)
        {
            return Err(self.refused(
                VerifyErrorKind::TimestampInFuture,
                "bearer token is not valid yet (`nbf`)",
            ));
        }
        let max_age = i128::try_from(self.max_age.as_millis()).unwrap_or(i128::MAX);
        let iat = match self.time_claim(claims, "iat")? {
            Some(iat) => {
                if iat > now.saturating_add(leeway) {
                    return Err(self.refused(
                        VerifyErrorKind::TimestampInFuture,
                        "claim `iat` is in the future",
                    ));
                }
                // Strictly younger than `max_age + leeway`, so that no token outlives the
                // freshness window (first seen at `iat + leeway` at the latest).
                if iat <= now.saturating_sub(max_age).saturating_sub(leeway) {
                    return Err(self.refused(
                        VerifyErrorKind::TimestampTooOld,
                        "bearer token is older than the maximum age (`iat`)",
                    ));
                }
                Some(i64::try_from(iat).map_err(|_| self.invalid("claim `iat` is out of range"))?)
            }
            // Without `iat` the token's age is unknown: it must not outlive the maximum age.
            None if exp > now.saturating_add(max_age).saturating_add(leeway) => {
                return Err(self.invalid(
                    "bearer token has no `iat` and expires later than the maximum age allows",
                ));
            }
            None => None,
        };

        if !self.issuers.is_empty() {
            let iss = self
                .string_claim(claims, "iss")?
                .ok_or_else(|| self.invalid("claim `iss` is missing"))?;
            if !self.issuers.iter().any(|i| i == iss) {
                return Err(self.invalid("claim `iss` is not an accepted issuer"));
            }
        }

        self.check_audience(claims)?;
        self.check_required(claims)?;

        if let Some(name) = &self.body_digest_claim {
            let claimed = match claims.get(name.as_ref()) {
                None => return Err(self.invalid(format!("claim `{name}` is missing"))),
                Some(Value::String(s)) => s.as_bytes(),
                Some(_) => return Err(self.invalid(format!("claim `{name}` is not a string"))),
            };
            let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(body));
            if !bool::from(claimed.ct_eq(expected.as_bytes())) {
                return Err(self.invalid(format!("claim `{name}` does not match the body")));
            }
        }

        Ok(Checked {
            iat_ms: iat,
            subject: self.string_claim(claims, "sub")?.map(str::to_owned),
            jti: self.string_claim(claims, "jti")?.map(str::to_owned),
        })
    }

    /// The claims [`subject`](Self::subject), [`claim`](Self::claim) and
    /// [`claim_true`](Self::claim_true) require. Messages name the claim, never its value.
    fn check_required(&self, claims: &Map<String, Value>) -> Result<(), VerifyError> {
        for Required { name, expected } in &self.required {
            let Some(value) = claims.get(name) else {
                return Err(self.invalid(format!("claim `{name}` is missing")));
            };
            match (expected, value) {
                (Expected::OneOf(accepted), Value::String(value)) => {
                    if !accepted.iter().any(|a| a == value) {
                        return Err(
                            self.invalid(format!("claim `{name}` is not an accepted value"))
                        );
                    }
                }
                (Expected::OneOf(_), _) => {
                    return Err(self.invalid(format!("claim `{name}` is not a string")));
                }
                (Expected::True, Value::Bool(true)) => {}
                (Expected::True, _) => {
                    return Err(self.invalid(format!("claim `{name}` is not `true`")));
                }
            }
        }
        Ok(())
    }

    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), VerifyError> {
        let named: Vec<&str> = match claims.get("aud") {
            None => Vec::new(),
            Some(Value::String(aud)) => vec![aud.as_str()],
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| v.as_str())
                .collect::<Option<Vec<&str>>>()
                .ok_or_else(|| self.invalid("claim `aud` is not a string or string array"))?,
            Some(_) => {
                return Err(self.invalid("claim `aud` is not a string or string array"));
            }
        };
        if self.audiences.is_empty() {
            if named.is_empty() {
                return Ok(());
            }
            return Err(self.invalid("claim `aud` names an audience but none is configured"));
        }
        if named.is_empty() {
            return Err(self.invalid("claim `aud` is missing"));
        }
        if named
            .iter()
            .any(|aud| self.audiences.iter().any(|a| a == aud))
        {
            Ok(())
        } else {
            Err(self.invalid("claim `aud` does not name this receiver"))
        }
    }

    fn string_claim<'c>(
        &self,
        claims: &'c Map<String, Value>,
        name: &'static str,
    ) -> Result<Option<&'c str>, VerifyError> {
        match claims.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(format!("claim `{name}` is not a string"))),
        }
    }

    /// A NumericDate claim in Unix milliseconds, if present.
    fn time_claim(
        &self,
        claims: &Map<String, Value>,
        name: &'static str,
    ) -> Result<Option<i128>, VerifyError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => numeric_date_ms(value)
                .map(Some)
                .ok_or_else(|| self.invalid(format!("claim `{name}` is not a number"))),
        }
    }
}

/// The replay token's source for a delivery not keyed by `jti`: SHA-256 over the token's
/// signed part (header and claims, without the signature, which an ECDSA signer or anyone
/// holding the token could re-form into another valid one) and the body, each
/// length-prefixed.
fn replay_digest(token: &str, body: &[u8]) -> [u8; 32] {
    let signed = token.rsplit_once('.').map_or(token, |(signed, _)| signed);
    let mut hash = Sha256::new();
    hash.update((signed.len() as u64).to_be_bytes());
    hash.update(signed.as_bytes());
    hash.update((body.len() as u64).to_be_bytes());
    hash.update(body);
    hash.finalize().into()
}

/// The claims object, refusing a repeated claim name: parsers disagree on which copy wins,
/// so a token that repeats `exp` or `aud` is ambiguous and refused rather than guessed at.
struct Claims(Map<String, Value>);

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Unique;
        impl<'de> Visitor<'de> for Unique {
            type Value = Claims;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Claims, A::Error> {
                let mut map = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&name) {
                        return Err(de::Error::custom("repeated claim"));
                    }
                    map.insert(name, value);
                }
                Ok(Claims(map))
            }
        }
        deserializer.deserialize_map(Unique)
    }
}

/// What the claims proved.
struct Checked {
    iat_ms: Option<i64>,
    subject: Option<String>,
    jti: Option<String>,
}

/// Bound of fractional NumericDates, in milliseconds (10^30 s).
const CLAMP_MS: f64 = 1e33;

/// A JSON number of seconds as milliseconds, without overflow: integers are exact, fractions
/// are floored to the millisecond, and anything beyond ±10^30 s is clamped there (far outside
/// any real date, well inside `i128`). Not a number, or not finite: `None`.
fn numeric_date_ms(value: &Value) -> Option<i128> {
    let Value::Number(n) = value else {
        return None;
    };
    if let Some(secs) = n.as_i64() {
        return Some(i128::from(secs).saturating_mul(1000));
    }
    if let Some(secs) = n.as_u64() {
        return Some(i128::from(secs).saturating_mul(1000));
    }
    let secs = n.as_f64()?;
    if !secs.is_finite() {
        return None;
    }
    let ms = (secs * 1000.0).clamp(-CLAMP_MS, CLAMP_MS).floor();
    // In range by the clamp; `as` from a float saturates and cannot panic.
    #[allow(clippy::cast_possible_truncation)]
    Some(ms as i128)
}

impl fmt::Debug for JwtBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("JwtBearer");
        match &self.keys {
            KeySource::Static(keys) => debug.field("keys", keys),
            // Its address, how many keys it holds and its limits.
            #[cfg(feature = "fetch")]
            KeySource::Fetched(cache) => debug.field("jwks", cache),
        };
        debug
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("max_age", &self.max_age)
            .field("body_digest_claim", &self.body_digest_claim)
            // The names only: an accepted value (an account's email) is not for logs.
            .field(
                "required_claims",
                &self
                    .required
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Claims the verifier reads for themselves (RFC 7519 §4.1): none can also hold the body's
/// digest.
const REGISTERED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

impl Verifier for JwtBearer {
    fn signs_url(&self) -> bool {
        false
    }

    /// Only with a body-digest claim: otherwise the token says nothing of the body.
    fn signs_body(&self) -> bool {
        self.body_digest_claim.is_some()
    }

    /// The body-digest claim cannot be a registered claim: under `jti` every delivery of one
    /// body would share a message id (two `{}` pings would be one delivery); under the
    /// others every token would be refused.
    fn check_config(&self) -> Result<(), ConfigError> {
        match &self.body_digest_claim {
            Some(name) if REGISTERED_CLAIMS.contains(&name.as_ref()) => {
                Err(ConfigError::new(format!(
                    "jwt: the body digest cannot be carried in the registered claim `{name}`: \
                     name a claim of its own (e.g. `body_sha256`)"
                )))
            }
            _ => Ok(()),
        }
    }

    /// `max_age` and the leeway on each side: no token is accepted for longer than this
    /// after it is first seen.
    fn freshness_window(&self) -> Option<Duration> {
        Some(
            self.max_age
                .saturating_add(self.leeway)
                .saturating_add(self.leeway),
        )
    }

    /// With keys fetched from a JWKS address: the fetch to await before
    /// [`verify`](Verifier::verify) can judge this token, when the keys held cannot (none yet,
    /// or none of the token's `kid`) or are older than the cache's refresh interval. Only a
    /// token that could verify with a fetched key causes one: an `Authorization: Bearer`
    /// JWT whose header parses, without `crit`, with an asymmetric `alg`. See [`JwksCache`]
    /// for the limits on refetches.
    #[cfg(feature = "fetch")]
    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<crate::KeyFetch> {
        let KeySource::Fetched(cache) = &self.keys else {
            return None;
        };
        let header = jsonwebtoken::decode_header(self.token(request).ok()?).ok()?;
        let alg = JwtAlgorithm::from_jwt(header.alg)?;
        if header.crit.is_some() || alg.family() == Family::Hmac {
            return None;
        }
        cache.prefetch(header.kid.as_deref())
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let token = self.token(request)?;
        let unknown = || self.invalid("bearer token `kid` names no known key");
        match &self.keys {
            KeySource::Static(keys) => self.verify_with(keys, token, request, |_| unknown()),
            // The keys held now; none at all is 503 `KeyUnavailable`, as for a signing
            // certificate that could not be fetched, and so is a `kid` the set lacks when a
            // fetched key could verify the token (the issuer may have just rotated: the
            // sender retries once the cache may refetch). No fetched key is an HMAC key.
            #[cfg(feature = "fetch")]
            KeySource::Fetched(cache) => self.verify_with(&cache.keys()?, token, request, |alg| {
                if alg.family() == Family::Hmac {
                    unknown()
                } else {
                    cache.unknown_kid()
                }
            }),
        }
    }
}

impl JwtBearer {
    /// Verify `token`, the request's bearer token, with `keys`; `unknown_kid` is the
    /// rejection of a token of this `alg` whose `kid` names none of them.
    fn verify_with(
        &self,
        keys: &[JwtKey],
        token: &str,
        request: &WebhookRequest<'_>,
        unknown_kid: impl FnOnce(JwtAlgorithm) -> VerifyError,
    ) -> Result<Proof, VerifyError> {
        let now_ms = self.clock.now_ms();
        if !keys.iter().any(|key| key.is_active(now_ms)) {
            return Err(every_key_expired(keys.len(), now_ms));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            self.invalid("bearer token header is malformed or its `alg` unsupported")
        })?;
        if header.crit.is_some() {
            return Err(self.invalid("bearer token has a `crit` header, which is not supported"));
        }
        let alg = JwtAlgorithm::from_jwt(header.alg)
            .ok_or_else(|| self.invalid("bearer token `alg` is not supported"))?;
        let kid = header.kid.as_deref();

        let by_id: Vec<&JwtKey> = keys
            .iter()
            .filter(|key| key.is_active(now_ms))
            .filter(|key| serves_kid(key, kid))
            .collect();
        if by_id.is_empty() {
            let expired = keys
                .iter()
                .any(|key| kid.is_some() && key.id.as_deref() == kid);
            return Err(if expired {
                self.invalid("bearer token `kid` names a key that has expired")
            } else {
                unknown_kid(alg)
            });
        }
        let candidates: Vec<&JwtKey> = by_id
            .into_iter()
            .filter(|key| key.algorithms.contains(&alg))
            .collect();
        if candidates.is_empty() {
            return Err(self.invalid(format!(
                "bearer token `alg` {alg} is not allowed for its key"
            )));
        }
        if candidates.len() > MAX_TRIED {
            // Only a token without `kid` gets here (`check_candidates`). No count: it would
            // tell an unauthenticated client how many keys are configured.
            return Err(self.invalid(
                "bearer token has no `kid`, and too many keys allow its `alg`: it must name \
                 its key with `kid`",
            ));
        }

        // Signature only: every claim is checked below, against the injected clock.
        let mut validation = Validation::new(alg.to_jwt());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;

        let mut bad_signature = false;
        let mut verified = None;
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => {
                    verified = Some((key, data.claims.0));
                    break;
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    match e.kind() {
                        ErrorKind::InvalidSignature => bad_signature = true,
                        // The token itself is malformed (or its claims are, once a key
                        // verified it): no other key changes that.
                        ErrorKind::InvalidToken
                        | ErrorKind::Base64(_)
                        | ErrorKind::Json(_)
                        | ErrorKind::Utf8(_) => {
                            bad_signature = false;
                            break;
                        }
                        // A key that cannot be used: try the next.
                        _ => {}
                    }
                }
            }
        }
        let Some((key, claims)) = verified else {
            return Err(self.invalid(if bad_signature {
                "bearer token signature does not verify"
            } else {
                "bearer token is malformed"
            }));
        };

        let checked = self.check_claims(&claims, request.body(), now_ms)?;
        let mut proof = Proof::new("jwt");
        // Only the matched key's configured id: the token's `kid` is chosen by whoever signed
        // it, and a key without an id verifies tokens of any `kid`.
        if let Some(id) = key.id.as_deref() {
            proof = proof.with_key_id(id);
        }
        if let Some(subject) = checked.subject {
            proof = proof.with_subject(subject);
        }
        // `jti` names the token, which a sender may reuse for many deliveries (an OAuth 2
        // access token until it expires): it names one delivery only when the token is
        // bound to the body. Otherwise the replay token below tells deliveries apart.
        if let Some(jti) = checked.jti
            && self.body_digest_claim.is_some()
        {
            proof = proof.with_message_id(jti);
        }
        if let Some(iat) = checked.iat_ms {
            proof = proof.with_timestamp_ms(iat);
        }
        Ok(proof.with_signature(&replay_digest(token, request.body())))
    }
}

/// Mints a JWT per delivery and sends it as `Authorization: Bearer <token>`, the way a real
/// sender does. The twin of [`JwtBearer`].
///
/// Claims: `iat` (the message's timestamp, or the clock's now), `exp = iat + ttl` (default
/// 5 minutes), `jti` (the message id, random when unset), and `iss`, `aud`, `sub`, the
/// body-digest claim and further claims ([`claim`](Self::claim),
/// [`claim_true`](Self::claim_true)) when configured. The header carries `kid` when set.
///
/// # Examples
///
/// ```
/// use webhook_core::{JwtBearer, JwtSigner, Outgoing, Secret, Signer, Verifier, WebhookRequest};
///
/// let secret = Secret::from_text("a shared secret of at least 32 bytes!")?;
/// let headers = JwtSigner::hmac(secret.clone())?.subject("billing").sign(&Outgoing::new(b"{}")).unwrap();
/// assert!(headers.get("authorization").is_some_and(|v| v.starts_with("Bearer ey")));
///
/// let proof = JwtBearer::hmac(secret.clone())?.verify(&headers.apply(WebhookRequest::new(b"{}"))).unwrap();
/// assert_eq!(proof.subject(), Some("billing"));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct JwtSigner {
    key: EncodingKey,
    algorithm: JwtAlgorithm,
    key_id: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    subject: Option<String>,
    ttl: Duration,
    clock: SharedClock,
    body_digest_claim: Option<Cow<'static, str>>,
    claims: Vec<(String, Value)>,
}

impl JwtSigner {
    fn of(key: EncodingKey, algorithm: JwtAlgorithm) -> Self {
        Self {
            key,
            algorithm,
            key_id: None,
            issuer: None,
            audience: None,
            subject: None,
            ttl: Duration::from_secs(300),
            clock: clock::system(),
            body_digest_claim: None,
            claims: Vec::new(),
        }
    }

    /// Sign HS256 tokens with a shared `secret` (HS384 and HS512 through
    /// [`algorithm`](Self::algorithm), when the secret is long enough).
    ///
    /// # Errors
    ///
    /// A secret shorter than 32 bytes, HS256's minimum (RFC 7518 §3.2), or one that is a
    /// public key (PEM, JWK, DER): the verifier, [`JwtKey::hmac`], refuses the same secrets.
    pub fn hmac(secret: Secret) -> Result<Self, ConfigError> {
        hmac_secret_is_not_public(secret.expose_secret())?;
        hmac_key_fits(secret.expose_secret().len(), JwtAlgorithm::Hs256)?;
        let key = EncodingKey::from_secret(secret.expose_secret());
        Ok(Self::of(key, JwtAlgorithm::Hs256))
    }

    /// Sign RS256 tokens with an RSA private key in PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`).
    ///
    /// # Errors
    ///
    /// The PEM is not an RSA private key, or its modulus is not 2048 to 4096 bits.
    pub fn rsa_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let key = EncodingKey::from_rsa_pem(pem)
            .map_err(|_| ConfigError::new("jwt signing key is not an rsa private key pem"))?;
        Self::checked(
            key,
            JwtAlgorithm::Rs256,
            "jwt signing key is not an rsa private key of 2048 to 4096 bits",
        )
    }

    /// Sign ES256 tokens with a P-256 private key in PKCS#8 PEM (`PRIVATE KEY`).
    ///
    /// # Errors
    ///
    /// The PEM is not a P-256 private key.
    pub fn ec_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let key = EncodingKey::from_ec_pem(pem)
            .map_err(|_| ConfigError::new("jwt signing key is not an ec private key pem"))?;
        Self::checked(
            key,
            JwtAlgorithm::Es256,
            "jwt signing key is not a p-256 private key pem",
        )
    }

    /// Sign EdDSA tokens with an Ed25519 private key in PKCS#8 PEM (`PRIVATE KEY`).
    ///
    /// # Errors
    ///
    /// The PEM is not an Ed25519 private key.
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let key = EncodingKey::from_ed_pem(pem)
            .map_err(|_| ConfigError::new("jwt signing key is not an ed25519 private key pem"))?;
        Self::checked(
            key,
            JwtAlgorithm::EdDsa,
            "jwt signing key is not an ed25519 private key pem",
        )
    }

    fn checked(
        key: EncodingKey,
        algorithm: JwtAlgorithm,
        why: &'static str,
    ) -> Result<Self, ConfigError> {
        let fits = if algorithm.family() == Family::Rsa {
            // Parse rather than sign: an RSA signature is slow in debug builds.
            RsaPrivateKey::from_pkcs1_der(key.as_bytes())
                .is_ok_and(|k| (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&k.n().bits()))
        } else {
            // Signing once proves the key fits the algorithm, at start-up rather than per
            // delivery.
            jsonwebtoken::crypto::sign(b"", &key, algorithm.to_jwt()).is_ok()
        };
        if fits {
            Ok(Self::of(key, algorithm))
        } else {
            Err(ConfigError::new(why))
        }
    }

    /// Sign with another algorithm of the key's family (e.g. HS512, PS256).
    ///
    /// # Errors
    ///
    /// The algorithm belongs to another family than the key, or is an HMAC algorithm whose
    /// hash is longer than the secret (HS384 needs 48 bytes, HS512 64).
    pub fn algorithm(mut self, algorithm: JwtAlgorithm) -> Result<Self, ConfigError> {
        if algorithm.family() != self.algorithm.family() {
            return Err(ConfigError::new(format!(
                "jwt algorithm {algorithm} cannot be used with an {} key",
                self.algorithm.family().name()
            )));
        }
        if algorithm.family() == Family::Hmac {
            hmac_key_fits(self.key.as_bytes().len(), algorithm)?;
        }
        self.algorithm = algorithm;
        Ok(self)
    }

    /// Put this `kid` in the token header.
    #[must_use]
    pub fn key_id(mut self, id: impl Into<String>) -> Self {
        self.key_id = Some(id.into());
        self
    }

    /// Set `iss`.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Set `aud`.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Set `sub`.
    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// How long a token stays valid: `exp = iat + ttl`, whole seconds, at least 1 (default
    /// 5 minutes).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Read "now" from this clock when the message has no timestamp.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Put the unpadded base64url SHA-256 of the body in the claim `name` (see
    /// [`JwtBearer::body_digest_claim`]).
    #[must_use]
    pub fn body_digest_claim(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.body_digest_claim = Some(name.into());
        self
    }

    /// Set the top-level string claim `name` (e.g. `email`, `azp`), which
    /// [`JwtBearer::claim`] can require; call again to set more. A claim the signer writes
    /// itself (`iat`, `exp`, `jti`, and `iss`, `aud`, `sub` or the body-digest claim when
    /// configured) keeps the signer's value.
    ///
    /// # Examples
    ///
    /// ```
    /// use webhook_core::{JwtBearer, JwtSigner, Outgoing, Secret, Signer, Verifier,
    ///     WebhookRequest};
    ///
    /// let secret = Secret::from_text("a shared secret of at least 32 bytes!")?;
    /// let signer = JwtSigner::hmac(secret.clone())?.claim("azp", "billing-client");
    /// let verifier = JwtBearer::hmac(secret)?.claim("azp", ["billing-client"])?;
    /// let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    /// assert!(verifier.verify(&headers.apply(WebhookRequest::new(b"{}"))).is_ok());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn claim(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name.into(), Value::String(value.into()))
    }

    /// Set the top-level claim `name` to the boolean `true` (e.g. `email_verified`), which
    /// [`JwtBearer::claim_true`] can require. As with [`claim`](Self::claim), a claim the
    /// signer writes itself keeps the signer's value.
    ///
    /// # Examples
    ///
    /// ```
    /// use webhook_core::{JwtBearer, JwtSigner, Outgoing, Secret, Signer, Verifier,
    ///     WebhookRequest};
    ///
    /// let secret = Secret::from_text("a shared secret of at least 32 bytes!")?;
    /// let signer = JwtSigner::hmac(secret.clone())?
    ///     .claim("email", "push@my-project.iam.gserviceaccount.com")
    ///     .claim_true("email_verified");
    /// let verifier = JwtBearer::hmac(secret)?
    ///     .claim("email", ["push@my-project.iam.gserviceaccount.com"])?
    ///     .claim_true("email_verified")?;
    /// let headers = signer.sign(&Outgoing::new(b"{}")).unwrap();
    /// assert!(verifier.verify(&headers.apply(WebhookRequest::new(b"{}"))).is_ok());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn claim_true(self, name: impl Into<String>) -> Self {
        self.set(name.into(), Value::Bool(true))
    }

    fn set(mut self, name: String, value: Value) -> Self {
        match self.claims.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.claims.push((name, value)),
        }
        self
    }

    /// The signed token for `message`.
    fn token(&self, message: &Outgoing<'_>) -> Result<String, SignError> {
        let now_ms = message.timestamp().unwrap_or_else(|| self.clock.now_ms());
        let iat = now_ms.div_euclid(1000);
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let mut claims: Map<String, Value> = self.claims.iter().cloned().collect();
        claims.insert("iat".to_owned(), Value::from(iat));
        claims.insert("exp".to_owned(), Value::from(iat.saturating_add(ttl)));
        claims.insert(
            "jti".to_owned(),
            Value::from(message.id_or_random().as_ref()),
        );
        for (name, value) in [
            ("iss", &self.issuer),
            ("aud", &self.audience),
            ("sub", &self.subject),
        ] {
            if let Some(value) = value {
                claims.insert(name.to_owned(), Value::from(value.as_str()));
            }
        }
        if let Some(name) = &self.body_digest_claim {
            let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(message.body()));
            claims.insert(name.to_string(), Value::from(digest));
        }
        let mut header = Header::new(self.algorithm.to_jwt());
        header.kid.clone_from(&self.key_id);
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|_| SignError::new("jwt signing failed"))
    }
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigner")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .field("body_digest_claim", &self.body_digest_claim)
            // The names only, as for the verifier.
            .field(
                "claims",
                &self
                    .claims
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Signer for JwtSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        let token = self.token(message)?;
        let mut headers = SignedHeaders::new();
        headers.push("Authorization", format!("Bearer {token}"));
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_are_exact_clamped_or_refused() {
        let cases = [
            (serde_json::json!(1), Some(1000)),
            (serde_json::json!(-1), Some(-1000)),
            (serde_json::json!(1.5), Some(1500)),
            (serde_json::json!(-0.0005), Some(-1)),
            (
                serde_json::json!(i64::MAX),
                Some(i128::from(i64::MAX) * 1000),
            ),
            (
                serde_json::json!(i64::MIN),
                Some(i128::from(i64::MIN) * 1000),
            ),
            (
                serde_json::json!(u64::MAX),
                Some(i128::from(u64::MAX) * 1000),
            ),
            (serde_json::json!(1e300), Some(CLAMP_MS as i128)),
            (serde_json::json!(-1e300), Some(-CLAMP_MS as i128)),
            (serde_json::json!("1"), None),
            (serde_json::json!(true), None),
            (serde_json::json!(null), None),
            (serde_json::json!([1]), None),
        ];
        for (value, expected) in cases {
            assert_eq!(numeric_date_ms(&value), expected, "{value}");
        }
    }

    #[test]
    fn families_bind_algorithms() {
        for family in [Family::Hmac, Family::Rsa, Family::Ec, Family::Ed] {
            for alg in family.algorithms() {
                assert_eq!(alg.family(), family);
                assert_eq!(JwtAlgorithm::from_jwt(alg.to_jwt()), Some(*alg));
            }
        }
        assert_eq!(JwtAlgorithm::from_jwt(Algorithm::ES384), None);
        // HMAC keys: at least HS256's 32 bytes, and only the algorithms their length allows.
        assert!(JwtKey::hmac(Secret::random(31)).is_err());
        let short = JwtKey::hmac(Secret::random(40)).unwrap();
        assert_eq!(short.algorithms(), [JwtAlgorithm::Hs256]);
        assert!(short.with_algorithms([JwtAlgorithm::Hs384]).is_err());
        let key = JwtKey::hmac(Secret::random(64)).unwrap();
        assert_eq!(key.algorithms().len(), 3);
        assert!(key.clone().with_algorithms([JwtAlgorithm::Rs256]).is_err());
        assert!(key.clone().with_algorithms([]).is_err());
        assert_eq!(
            key.with_algorithms([JwtAlgorithm::Hs512])
                .map(|k| k.algorithms().to_vec())
                .ok(),
            Some(vec![JwtAlgorithm::Hs512])
        );
    }
}
