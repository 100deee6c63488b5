//! Public keys (for verifiers) and private keys (for signers) of the asymmetric block.

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rand_core::{OsRng, RngCore as _};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use rsa::traits::PublicKeyParts as _;
use zeroize::Zeroizing;

use crate::error::{ConfigError, VerifyError};

/// Smallest RSA modulus parsed, in bits. 1024 is weak by today's standards but is what
/// legacy senders (Postal's CI and older installations) use; anything smaller is refused. A
/// scheme accepts it only when told to
/// ([`allow_rsa_1024`](crate::AsymmetricScheme::allow_rsa_1024)).
pub(crate) const MIN_RSA_BITS: usize = 1024;
/// Smallest RSA modulus a scheme accepts by default, in bits.
pub(crate) const DEFAULT_MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (bounds the cost of one verification).
pub(crate) const MAX_RSA_BITS: usize = 4096;

/// The key material of a public key.
#[derive(Clone)]
pub(crate) enum PublicMaterial {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
}

/// The family of a key, for matching keys to algorithms and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Ed25519,
    P256,
    Rsa,
}

impl KeyKind {
    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::Ed25519 => "an Ed25519",
            Self::P256 => "a P-256",
            Self::Rsa => "an RSA",
        }
    }
}

impl PublicMaterial {
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            Self::Ed25519(_) => KeyKind::Ed25519,
            Self::P256(_) => KeyKind::P256,
            Self::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// The modulus size of an RSA key.
    pub(crate) fn rsa_bits(&self) -> Option<usize> {
        match self {
            Self::Rsa(key) => Some(key.n().bits()),
            Self::Ed25519(_) | Self::P256(_) => None,
        }
    }
}

fn decode_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    crate::secret::decode_base64_key(text)
}

fn ed25519_public(bytes: &[u8]) -> Result<PublicMaterial, ConfigError> {
    let bytes: &[u8; 32] = bytes
        .try_into()
        .map_err(|_| ConfigError::new("an Ed25519 public key must be 32 bytes"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
        .map_err(|_| ConfigError::new("public key is not a valid Ed25519 point"))?;
    checked_ed25519(key)
}

fn checked_ed25519(key: ed25519_dalek::VerifyingKey) -> Result<PublicMaterial, ConfigError> {
    if key.is_weak() {
        return Err(ConfigError::new(
            "public key is a weak (small-order) Ed25519 point",
        ));
    }
    Ok(PublicMaterial::Ed25519(key))
}

fn checked_rsa(key: rsa::RsaPublicKey) -> Result<PublicMaterial, ConfigError> {
    let bits = key.n().bits();
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(ConfigError::new(format!(
            "RSA public key has {bits} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted"
        )));
    }
    Ok(PublicMaterial::Rsa(key))
}

fn spki_der(der: &[u8]) -> Result<PublicMaterial, ConfigError> {
    if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
        return checked_ed25519(key);
    }
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
        return Ok(PublicMaterial::P256(key));
    }
    if let Ok(key) = rsa::RsaPublicKey::from_public_key_der(der) {
        return checked_rsa(key);
    }
    if let Ok(key) = rsa::RsaPublicKey::from_pkcs1_der(der) {
        return checked_rsa(key);
    }
    Err(ConfigError::new(
        "public key is not a DER SubjectPublicKeyInfo of an Ed25519, P-256 or RSA key",
    ))
}

fn public_pem(pem: &str) -> Result<PublicMaterial, ConfigError> {
    let pem = pem.trim();
    if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
        return checked_ed25519(key);
    }
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
        return Ok(PublicMaterial::P256(key));
    }
    if let Ok(key) = rsa::RsaPublicKey::from_public_key_pem(pem) {
        return checked_rsa(key);
    }
    if let Ok(key) = rsa::RsaPublicKey::from_pkcs1_pem(pem) {
        return checked_rsa(key);
    }
    Err(ConfigError::new(
        "public key is not a PEM `PUBLIC KEY` (SPKI) of an Ed25519, P-256 or RSA key, nor a PEM \
         `RSA PUBLIC KEY`",
    ))
}

/// The key of an X.509 certificate, named `x509-sha256:` and the first 16 hex digits of the
/// certificate's SHA-256 fingerprint. The certificate is not validated (issuer, validity,
/// usage): a pinned certificate is trusted as its key is.
fn certificate_key(certificate: &x509_cert::Certificate) -> Result<PublicKey, ConfigError> {
    use sha2::Digest as _;
    use x509_cert::der::Encode as _;
    let unencodable = |_| ConfigError::new("certificate cannot be encoded again");
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(unencodable)?;
    let fingerprint = sha2::Sha256::digest(certificate.to_der().map_err(unencodable)?);
    let prefix: String = hex::encode(fingerprint).chars().take(16).collect();
    let id = format!("x509-sha256:{prefix}");
    Ok(PublicKey::from_spki_der(&spki)?.with_id(id))
}

/// The key of the first certificate of a PEM document fetched from a signing certificate's
/// address (a chain's leaf comes first), if the certificate is valid at `now_ms`, and the end
/// of its validity, in ms. The key itself carries no expiry: the cache that holds it checks
/// the validity each time it hands the key out, on its own clock, so that a verifier on
/// another clock cannot find it expired a moment later and blame its configuration (500)
/// where the certificate is merely due for a fetch (503).
#[cfg(feature = "fetch")]
pub(crate) fn fetched_certificate_key(
    pem: &[u8],
    now_ms: i64,
) -> Result<(PublicKey, i64), ConfigError> {
    use x509_cert::der::DecodePem as _;
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let start = find(pem, BEGIN).ok_or_else(|| ConfigError::new("no PEM certificate"))?;
    let rest = pem.get(start..).unwrap_or_default();
    let end = find(rest, END).ok_or_else(|| ConfigError::new("unterminated PEM certificate"))?;
    let block = rest.get(..end + END.len()).unwrap_or_default();
    let certificate = x509_cert::Certificate::from_pem(block)
        .map_err(|_| ConfigError::new("not a PEM X.509 `CERTIFICATE`"))?;
    let validity = &certificate.tbs_certificate.validity;
    let ms = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX)
    };
    let (not_before, not_after) = (ms(validity.not_before), ms(validity.not_after));
    if now_ms < not_before {
        return Err(ConfigError::new("the certificate is not valid yet"));
    }
    if now_ms >= not_after {
        return Err(ConfigError::new("the certificate has expired"));
    }
    Ok((certificate_key(&certificate)?, not_after))
}

/// A public key that verifies signatures: Ed25519, ECDSA P-256 or RSA, with an id (reported
/// in the [`Proof`](crate::Proof) when it matches) and an optional expiry.
///
/// Load it in the format the provider hands out: PEM, base64 DER SubjectPublicKeyInfo
/// (SendGrid, Postal's DNS record), raw hex (Discord) or `whpk_` (Standard Webhooks). Input
/// that does not decode to a key is a [`ConfigError`] at start-up. The id defaults to
/// `default`; name keys with [`with_id`](Self::with_id) when a ring holds several.
///
/// `Debug` shows the id and the key type, never the key itself.
///
/// # Examples
///
/// ```
/// use webhook_core::PublicKey;
///
/// // Discord's application public key (hex of a 32-byte Ed25519 key).
/// let discord =
///     PublicKey::ed25519_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?
///         .with_id("app-1");
/// assert_eq!(discord.id(), "app-1");
///
/// // SendGrid's verification key (base64 DER SubjectPublicKeyInfo of a P-256 key).
/// let sendgrid = PublicKey::from_spki_base64(
///     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
/// )?;
/// assert!(!format!("{sendgrid:?}").contains("MFkw"));
///
/// assert!(PublicKey::ed25519_hex("not hex").is_err());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct PublicKey {
    id: Cow<'static, str>,
    material: PublicMaterial,
    expires_at_ms: Option<i64>,
}

impl PublicKey {
    fn from_material(material: PublicMaterial) -> Self {
        Self {
            id: Cow::Borrowed("default"),
            material,
            expires_at_ms: None,
        }
    }

    /// A key in PEM: `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo of an Ed25519, P-256 or
    /// RSA key) or `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1).
    ///
    /// # Errors
    ///
    /// Not PEM, or not one of those key types; an RSA key outside 1024–4096 bits; a weak
    /// Ed25519 point.
    pub fn from_pem(pem: &str) -> Result<Self, ConfigError> {
        public_pem(pem).map(Self::from_material)
    }

    /// The public key of an X.509 certificate in PEM (`-----BEGIN CERTIFICATE-----`), such as
    /// the signing certificate Amazon SNS publishes. Only the key is taken: the certificate's
    /// issuer, validity dates and usage are not checked, because a certificate given here is
    /// pinned, trusted as its key would be. The key's id is `x509-sha256:` and the first 16
    /// hex digits of the certificate's SHA-256 fingerprint (rename it with
    /// [`with_id`](Self::with_id)); set an expiry with [`expires_at`](Self::expires_at).
    ///
    /// ```
    /// use webhook_core::PublicKey;
    ///
    /// // The certificate Amazon SNS signed with in us-east-1 in 2015.
    /// let pem = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns/certificate.pem"));
    /// let key = PublicKey::from_certificate_pem(pem)?;
    /// assert!(key.id().starts_with("x509-sha256:"));
    ///
    /// let garbage = "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----";
    /// assert!(PublicKey::from_certificate_pem(garbage).is_err());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Not a PEM certificate, or its key is none of the accepted kinds (as
    /// [`from_pem`](Self::from_pem)).
    pub fn from_certificate_pem(pem: &str) -> Result<Self, ConfigError> {
        use x509_cert::der::DecodePem as _;
        let certificate = x509_cert::Certificate::from_pem(pem.trim().as_bytes())
            .map_err(|_| ConfigError::new("not a PEM X.509 `CERTIFICATE`"))?;
        certificate_key(&certificate)
    }

    /// The public key of an X.509 certificate in DER. As
    /// [`from_certificate_pem`](Self::from_certificate_pem), nothing but the key is read.
    ///
    /// # Errors
    ///
    /// Not a DER certificate, or as [`from_spki_der`](Self::from_spki_der).
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, ConfigError> {
        use x509_cert::der::Decode as _;
        let certificate = x509_cert::Certificate::from_der(der)
            .map_err(|_| ConfigError::new("not a DER X.509 certificate"))?;
        certificate_key(&certificate)
    }

    /// A key as DER SubjectPublicKeyInfo bytes (or an RSA PKCS#1 `RSAPublicKey`).
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, ConfigError> {
        spki_der(der).map(Self::from_material)
    }

    /// A key as base64 of DER SubjectPublicKeyInfo: SendGrid's verification key, the `p=` of
    /// Postal's DNS record. Standard or URL-safe alphabet, padded or not.
    ///
    /// # Errors
    ///
    /// Not base64, or as [`from_spki_der`](Self::from_spki_der).
    pub fn from_spki_base64(text: &str) -> Result<Self, ConfigError> {
        let der = decode_base64(text.trim())
            .ok_or_else(|| ConfigError::new("public key is not valid base64"))?;
        Self::from_spki_der(&der)
    }

    /// A raw 32-byte Ed25519 key.
    ///
    /// # Errors
    ///
    /// Not 32 bytes, not a point of the curve, or a weak (small-order) point.
    pub fn ed25519(bytes: &[u8]) -> Result<Self, ConfigError> {
        ed25519_public(bytes).map(Self::from_material)
    }

    /// A raw Ed25519 key in hex (Discord's application public key).
    ///
    /// # Errors
    ///
    /// Not hex, or as [`ed25519`](Self::ed25519).
    pub fn ed25519_hex(text: &str) -> Result<Self, ConfigError> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| ConfigError::new("Ed25519 public key is not valid hex"))?;
        Self::ed25519(&bytes)
    }

    /// A Standard Webhooks public key: `whpk_` (optional) then base64 of the raw 32-byte
    /// Ed25519 key.
    ///
    /// ```
    /// use webhook_core::PublicKey;
    /// let key = PublicKey::from_whpk("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")?;
    /// assert_eq!(key.to_whpk().as_deref(), Some("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="));
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Not base64, or as [`ed25519`](Self::ed25519).
    pub fn from_whpk(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let body = text.strip_prefix("whpk_").unwrap_or(text);
        let bytes = decode_base64(body)
            .ok_or_else(|| ConfigError::new("public key is not a valid `whpk_` base64 key"))?;
        Self::ed25519(&bytes)
    }

    /// Any of the textual forms above, told apart by their shape: PEM armour (a certificate,
    /// whose key is taken without validating the certificate, as
    /// [`from_certificate_pem`](Self::from_certificate_pem); or a key), a `whpk_` prefix, 64
    /// hex digits (raw Ed25519), else base64 DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    ///
    /// The text matches none of the forms.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN CERTIFICATE-----") {
            Self::from_certificate_pem(text)
        } else if text.starts_with("-----BEGIN") {
            Self::from_pem(text)
        } else if text.starts_with("whpk_") {
            Self::from_whpk(text)
        } else if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::ed25519_hex(text)
        } else {
            Self::from_spki_base64(text)
        }
    }

    /// A key read from an environment variable, decoded by `decode` (e.g.
    /// [`PublicKey::from_spki_base64`]).
    ///
    /// # Errors
    ///
    /// The variable is unset or not Unicode, or `decode` fails; the message names the
    /// variable.
    pub fn from_env_with(
        var: &str,
        decode: impl FnOnce(&str) -> Result<Self, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let value = crate::secret::env_var(var)?;
        decode(&value).map_err(|e| ConfigError::new(format!("environment variable `{var}`: {e}")))
    }

    /// Name the key (reported in proofs; never secret).
    #[must_use]
    pub fn with_id(mut self, id: impl Into<Cow<'static, str>>) -> Self {
        self.id = id.into();
        self
    }

    /// Stop accepting this key from `at` on.
    #[must_use]
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        let ms = match at.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(_) => 0,
        };
        self.expires_at_ms = Some(ms);
        self
    }

    /// The key id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as a Standard Webhooks `whpk_` string, when it is an Ed25519 key.
    #[must_use]
    pub fn to_whpk(&self) -> Option<String> {
        match &self.material {
            PublicMaterial::Ed25519(key) => {
                Some(format!("whpk_{}", STANDARD.encode(key.as_bytes())))
            }
            PublicMaterial::P256(_) | PublicMaterial::Rsa(_) => None,
        }
    }

    pub(crate) fn material(&self) -> &PublicMaterial {
        &self.material
    }

    pub(crate) fn is_active(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|exp| now_ms < exp)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("id", &self.id)
            .field("kind", &self.material.kind())
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// Several public keys accepted at once, for rotation: add the new key, let the sender move
/// over, then let the old one expire. Every active key is tried against every signature.
///
/// # Examples
///
/// ```
/// use webhook_core::{PublicKey, PublicKeyRing};
///
/// let ring = PublicKeyRing::new()
///     .with(PublicKey::from_whpk("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")?.with_id("new"))
///     .with(PublicKey::ed25519_hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")?.with_id("old"));
/// assert_eq!(ring.len(), 2);
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PublicKeyRing {
    keys: Vec<PublicKey>,
}

impl PublicKeyRing {
    /// An empty ring; a verifier refuses to build with one.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a key.
    #[must_use]
    pub fn with(mut self, key: PublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// The keys of every certificate of a PEM bundle (several `-----BEGIN CERTIFICATE-----`
    /// blocks one after the other, as in a file of the signing certificates of several
    /// regions), each named as [`PublicKey::from_certificate_pem`] names it.
    ///
    /// ```
    /// use webhook_core::PublicKeyRing;
    /// let pem = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns/certificate.pem"));
    /// let ring = PublicKeyRing::from_certificates_pem(&format!("{pem}\n{pem}"))?;
    /// assert_eq!(ring.len(), 2);
    /// assert!(PublicKeyRing::from_certificates_pem("").is_err());
    /// assert!(PublicKeyRing::from_certificates_pem(&format!("{pem}\nnot a certificate")).is_err());
    /// # Ok::<(), webhook_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// No certificate, a block that is not one, or a key as
    /// [`from_certificate_pem`](PublicKey::from_certificate_pem) refuses it; the message
    /// gives the certificate's position.
    pub fn from_certificates_pem(pem: &str) -> Result<Self, ConfigError> {
        // x509-cert's `load_pem_chain` panics on an empty input: split the blocks here.
        const END: &str = "-----END CERTIFICATE-----";
        let mut ring = Self::new();
        let blocks = pem.split_inclusive(END).filter(|b| !b.trim().is_empty());
        for (n, block) in blocks.enumerate() {
            let key = PublicKey::from_certificate_pem(block)
                .map_err(|e| ConfigError::new(format!("certificate {}: {e}", n + 1)))?;
            ring.push(key);
        }
        if ring.is_empty() {
            return Err(ConfigError::new("the PEM bundle holds no certificate"));
        }
        Ok(ring)
    }

    /// Add a key in place.
    pub fn push(&mut self, key: PublicKey) {
        self.keys.push(key);
    }

    /// Number of keys, active or not.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every key, active or not.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter()
    }

    /// The keys still active at `now_ms`; every one expired is a configuration fault (500).
    pub(crate) fn active(
        &self,
        now_ms: i64,
    ) -> Result<impl Iterator<Item = &PublicKey>, VerifyError> {
        if !self.keys.iter().any(|k| k.is_active(now_ms)) {
            return Err(crate::secret::every_key_expired(self.keys.len(), now_ms));
        }
        Ok(self.keys.iter().filter(move |k| k.is_active(now_ms)))
    }
}

impl From<PublicKey> for PublicKeyRing {
    fn from(key: PublicKey) -> Self {
        Self::new().with(key)
    }
}

impl FromIterator<PublicKey> for PublicKeyRing {
    fn from_iter<I: IntoIterator<Item = PublicKey>>(iter: I) -> Self {
        Self {
            keys: iter.into_iter().collect(),
        }
    }
}

impl<const N: usize> From<[PublicKey; N]> for PublicKeyRing {
    fn from(keys: [PublicKey; N]) -> Self {
        keys.into_iter().collect()
    }
}

impl From<Vec<PublicKey>> for PublicKeyRing {
    fn from(keys: Vec<PublicKey>) -> Self {
        Self { keys }
    }
}

/// The key material of a private key (each type zeroizes itself on drop).
#[derive(Clone)]
pub(crate) enum PrivateMaterial {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    Rsa(rsa::RsaPrivateKey),
}

/// A private key for a signer: Ed25519, ECDSA P-256 or RSA.
///
/// Signers exist so applications can test their own handlers the way a real sender signs;
/// a `PrivateKey` never prints (`Debug` shows only its type) and its bytes are zeroized on
/// drop.
///
/// # Examples
///
/// ```
/// use webhook_core::PrivateKey;
///
/// let key = PrivateKey::generate_ed25519();
/// let public = key.public_key();
/// assert!(public.to_whpk().is_some());
/// assert_eq!(format!("{key:?}"), "PrivateKey { kind: Ed25519, .. }");
///
/// // SendGrid's published test key (SEC1 DER, base64).
/// let sendgrid = PrivateKey::from_der_base64(
///     "MHcCAQEEIEQmZgBEh9DcU9zMl34czK3xov4AYvm9P3r7rNB2dNXtoAoGCCqGSM49AwEHoUQDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
/// )?;
/// # let _ = sendgrid;
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Security
///
/// RSA signing uses the `rsa` crate, whose private-key operations are not constant-time
/// (RUSTSEC-2023-0071). Sign with RSA in tests, not on a server an attacker can time.
/// Verification uses only the public key and is unaffected.
#[derive(Clone)]
pub struct PrivateKey {
    material: PrivateMaterial,
}

impl PrivateKey {
    fn new(material: PrivateMaterial) -> Self {
        Self { material }
    }

    /// A fresh Ed25519 key from the operating system's RNG.
    #[must_use]
    pub fn generate_ed25519() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut *seed);
        Self::new(PrivateMaterial::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(&seed),
        ))
    }

    /// A fresh ECDSA P-256 key from the operating system's RNG.
    #[must_use]
    pub fn generate_p256() -> Self {
        Self::new(PrivateMaterial::P256(p256::ecdsa::SigningKey::random(
            &mut OsRng,
        )))
    }

    /// A fresh RSA key of `bits` bits (2048 to 4096). Slow, especially in debug builds: prefer
    /// a key loaded from a test fixture.
    ///
    /// # Errors
    ///
    /// `bits` out of range, or key generation failed.
    pub fn generate_rsa(bits: usize) -> Result<Self, ConfigError> {
        if !(2048..=MAX_RSA_BITS).contains(&bits) {
            return Err(ConfigError::new(
                "RSA keys are generated with 2048 to 4096 bits",
            ));
        }
        let key = rsa::RsaPrivateKey::new(&mut OsRng, bits)
            .map_err(|e| ConfigError::new("RSA key generation failed").with_source(e))?;
        Ok(Self::new(PrivateMaterial::Rsa(key)))
    }

    /// An Ed25519 key from its 32-byte seed (RFC 8032 "private key").
    ///
    /// # Errors
    ///
    /// Not 32 bytes.
    pub fn ed25519_seed(seed: &[u8]) -> Result<Self, ConfigError> {
        let seed: &[u8; 32] = seed
            .try_into()
            .map_err(|_| ConfigError::new("an Ed25519 seed must be 32 bytes"))?;
        Ok(Self::new(PrivateMaterial::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(seed),
        )))
    }

    /// An Ed25519 key from its seed in hex.
    ///
    /// # Errors
    ///
    /// Not hex, or not 32 bytes.
    pub fn ed25519_seed_hex(text: &str) -> Result<Self, ConfigError> {
        let seed = Zeroizing::new(
            hex::decode(text.trim())
                .map_err(|_| ConfigError::new("Ed25519 seed is not valid hex"))?,
        );
        Self::ed25519_seed(&seed)
    }

    /// A Standard Webhooks secret key: `whsk_` (optional) then base64 of either the 32-byte
    /// Ed25519 seed or the 64-byte `seed ‖ public key` (libsodium's layout).
    ///
    /// The Standard Webhooks specification names `whsk_` keys but does not define their bytes;
    /// both layouts are accepted, and for the 64-byte one the public half must match the seed.
    ///
    /// # Errors
    ///
    /// Not base64, not 32 or 64 bytes, or a 64-byte key whose halves disagree.
    pub fn from_whsk(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let body = text.strip_prefix("whsk_").unwrap_or(text);
        let bytes = decode_base64(body)
            .ok_or_else(|| ConfigError::new("secret key is not a valid `whsk_` base64 key"))?;
        match bytes.len() {
            32 => Self::ed25519_seed(&bytes),
            64 => {
                let pair: &[u8; 64] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| ConfigError::new("a `whsk_` key must be 32 or 64 bytes"))?;
                let key = ed25519_dalek::SigningKey::from_keypair_bytes(pair).map_err(|_| {
                    ConfigError::new("`whsk_` key: the public half does not match the seed")
                })?;
                Ok(Self::new(PrivateMaterial::Ed25519(key)))
            }
            _ => Err(ConfigError::new("a `whsk_` key must be 32 or 64 bytes")),
        }
    }

    /// A key in PEM: `PRIVATE KEY` (PKCS#8 of an Ed25519, P-256 or RSA key),
    /// `EC PRIVATE KEY` (SEC1, P-256) or `RSA PRIVATE KEY` (PKCS#1).
    ///
    /// # Errors
    ///
    /// None of those forms, or an RSA key outside 1024–4096 bits.
    pub fn from_pem(pem: &str) -> Result<Self, ConfigError> {
        let pem = pem.trim();
        let material = if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            PrivateMaterial::Ed25519(key)
        } else if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            PrivateMaterial::P256(key)
        } else if let Ok(key) = p256::SecretKey::from_sec1_pem(pem) {
            PrivateMaterial::P256(key.into())
        } else if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            PrivateMaterial::Rsa(key)
        } else if let Ok(key) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
            PrivateMaterial::Rsa(key)
        } else {
            return Err(ConfigError::new(
                "private key is not a PEM PKCS#8, SEC1 or PKCS#1 key of a supported type",
            ));
        };
        Self::checked(material)
    }

    /// A key as DER: PKCS#8, SEC1 (P-256) or PKCS#1 (RSA).
    ///
    /// # Errors
    ///
    /// As [`from_pem`](Self::from_pem).
    pub fn from_der(der: &[u8]) -> Result<Self, ConfigError> {
        let material = if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
            PrivateMaterial::Ed25519(key)
        } else if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            PrivateMaterial::P256(key)
        } else if let Ok(key) = p256::SecretKey::from_sec1_der(der) {
            PrivateMaterial::P256(key.into())
        } else if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
            PrivateMaterial::Rsa(key)
        } else if let Ok(key) = rsa::RsaPrivateKey::from_pkcs1_der(der) {
            PrivateMaterial::Rsa(key)
        } else {
            return Err(ConfigError::new(
                "private key is not a DER PKCS#8, SEC1 or PKCS#1 key of a supported type",
            ));
        };
        Self::checked(material)
    }

    /// A key as base64 of DER (as [`from_der`](Self::from_der)).
    ///
    /// # Errors
    ///
    /// Not base64, or as [`from_der`](Self::from_der).
    pub fn from_der_base64(text: &str) -> Result<Self, ConfigError> {
        let der = decode_base64(text.trim())
            .ok_or_else(|| ConfigError::new("private key is not valid base64"))?;
        Self::from_der(&der)
    }

    fn checked(material: PrivateMaterial) -> Result<Self, ConfigError> {
        if let PrivateMaterial::Rsa(key) = &material {
            checked_rsa(key.to_public_key())?;
        }
        Ok(Self::new(material))
    }

    /// The matching public key (id `default`).
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_material(match &self.material {
            PrivateMaterial::Ed25519(key) => PublicMaterial::Ed25519(key.verifying_key()),
            PrivateMaterial::P256(key) => PublicMaterial::P256(*key.verifying_key()),
            PrivateMaterial::Rsa(key) => PublicMaterial::Rsa(key.to_public_key()),
        })
    }

    pub(crate) fn material(&self) -> &PrivateMaterial {
        &self.material
    }

    pub(crate) fn kind(&self) -> KeyKind {
        match &self.material {
            PrivateMaterial::Ed25519(_) => KeyKind::Ed25519,
            PrivateMaterial::P256(_) => KeyKind::P256,
            PrivateMaterial::Rsa(_) => KeyKind::Rsa,
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whsk_layouts() {
        // RFC 8032 §7.1 TEST 1.
        let seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
        let pair = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==";
        let a = PrivateKey::from_whsk(seed).expect("seed form").public_key();
        let b = PrivateKey::from_whsk(pair).expect("pair form").public_key();
        assert_eq!(a.to_whpk(), b.to_whpk());
        // Public half of another key: rejected.
        let bad = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A9QBfD6EOJWpK3CqdNG368nJgszy7ElozAzVXxKvRmDA==";
        assert!(PrivateKey::from_whsk(bad).is_err());
        assert!(PrivateKey::from_whsk("whsk_AAAA").is_err());
    }

    #[test]
    fn weak_ed25519_points_are_refused() {
        // The identity point (small order).
        let identity = "0100000000000000000000000000000000000000000000000000000000000000";
        assert!(PublicKey::ed25519_hex(identity).is_err());
    }
}
