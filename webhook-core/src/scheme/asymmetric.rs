//! The asymmetric building block: Ed25519, ECDSA P-256 and RSA PKCS#1 v1.5 signatures over
//! the same configurable signed content as the HMAC block.

mod keys;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
use rsa::Pkcs1v15Sign;
use sha2::{Digest as _, Sha256};

#[cfg(feature = "fetch")]
pub(crate) use keys::fetched_certificate_key;
use keys::{KeyKind, PrivateMaterial, PublicMaterial};
pub use keys::{PrivateKey, PublicKey, PublicKeyRing};

use crate::clock::{self, SharedClock};
use crate::error::{ConfigError, VerifyError};
use crate::freshness::Freshness;
use crate::request::WebhookRequest;
use crate::scheme::hmac::{
    ContentError, Encoding, Layout, Part, SignatureFormat, TimestampSource,
    for_each_signature_entry,
};
use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::verify::{Proof, Verifier};

/// `DigestInfo` prefix of SHA-1 for PKCS#1 v1.5 signatures (RFC 8017 §9.2, note 1). The
/// `rsa` crate builds it from the digest's OID, which `sha1` only provides behind a feature
/// this workspace does not enable; the Postal vector pins these bytes.
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];
/// Longest DER ECDSA P-256 signature: `SEQUENCE { INTEGER (33), INTEGER (33) }`.
const MAX_P256_DER: usize = 72;
/// Longest RSA signature accepted (a 4096-bit modulus).
const MAX_RSA_SIGNATURE: usize = keys::MAX_RSA_BITS / 8;

/// The signature algorithm of an [`AsymmetricScheme`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AsymmetricAlgorithm {
    /// Ed25519 (RFC 8032), pure, over the whole signed content (Discord, Standard Webhooks
    /// `v1a`). Verified strictly: non-canonical signatures are rejected.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, signatures in ASN.1 DER only (SendGrid). The raw
    /// fixed-size `r ‖ s` form is rejected.
    ///
    /// High-S signatures are **accepted**: SendGrid does not normalise S (one of its two
    /// published vectors is high-S). ECDSA signatures are malleable in S, so the replay token
    /// of the proof is computed from the low-S form: both forms of one signature count as the
    /// same delivery.
    EcdsaP256Sha256,
    /// RSA PKCS#1 v1.5 with SHA-256 (Postal's `X-Postal-Signature-256`).
    RsaPkcs1v15Sha256,
    /// RSA PKCS#1 v1.5 with SHA-1. Only for verifying legacy senders (Postal's
    /// `X-Postal-Signature`): SHA-1 is not collision resistant.
    RsaPkcs1v15Sha1,
}

impl AsymmetricAlgorithm {
    const fn key_kind(self) -> KeyKind {
        match self {
            Self::Ed25519 => KeyKind::Ed25519,
            Self::EcdsaP256Sha256 => KeyKind::P256,
            Self::RsaPkcs1v15Sha256 | Self::RsaPkcs1v15Sha1 => KeyKind::Rsa,
        }
    }

    const fn label(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::EcdsaP256Sha256 => "ECDSA P-256",
            Self::RsaPkcs1v15Sha256 | Self::RsaPkcs1v15Sha1 => "RSA",
        }
    }
}

/// A configuration of the asymmetric building block: algorithm, headers, signature layout and
/// the signed content, described with the same [`Part`], [`Encoding`], [`SignatureFormat`] and
/// [`TimestampSource`] as an [`HmacScheme`](crate::HmacScheme). Turn it into an
/// [`AsymmetricVerifier`] with public keys, or an [`AsymmetricSigner`] with a private key.
///
/// # Examples
///
/// A scheme like Discord's: `X-Signature-Ed25519: <hex of Ed25519(timestamp ‖ body)>`.
///
/// ```
/// use webhook_core::{AsymmetricAlgorithm, AsymmetricScheme, Encoding, FixedClock, Freshness,
///     Outgoing, Part, PrivateKey, Signer, TimeFormat, TimestampSource, Verifier, WebhookRequest};
///
/// let scheme = AsymmetricScheme::new("discord", AsymmetricAlgorithm::Ed25519, "x-signature-ed25519")
///     .encoding(Encoding::Hex)
///     .timestamp(TimestampSource::Header("x-signature-timestamp".into(), TimeFormat::UnixSeconds))
///     .content([Part::Timestamp, Part::Body]);
///
/// let private = PrivateKey::generate_ed25519();
/// let signer = scheme.clone().signer(private.clone())?;
/// let verifier = scheme
///     .verifier(private.public_key())?
///     .freshness(Freshness::default().with_clock(FixedClock::at_secs(1_700_000_000)));
///
/// let body = br#"{"type":1}"#;
/// let headers = signer.sign(&Outgoing::new(body).timestamp_secs(1_700_000_000)).unwrap();
/// let proof = verifier.verify(&headers.apply(WebhookRequest::new(body))).unwrap();
/// assert_eq!(proof.scheme(), "discord");
/// assert!(verifier.verify(&headers.apply(WebhookRequest::new(b"{}"))).is_err());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AsymmetricScheme {
    name: Cow<'static, str>,
    algorithm: AsymmetricAlgorithm,
    layout: Layout,
    min_rsa_bits: usize,
}

impl AsymmetricScheme {
    /// A scheme named `name` (reported in proofs), signing the body alone with a bare base64
    /// signature in `signature_header` until told otherwise.
    #[must_use]
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        algorithm: AsymmetricAlgorithm,
        signature_header: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            name: name.into(),
            algorithm,
            layout: Layout::new(signature_header.into(), Encoding::Base64),
            min_rsa_bits: keys::DEFAULT_MIN_RSA_BITS,
        }
    }

    /// Accept RSA keys of 1024 bits and up; a scheme accepts 2048 and up otherwise. Only for
    /// a legacy sender that signs with such keys (Postal's preset calls it): a 1024-bit key
    /// is within reach of a well-funded attacker.
    #[must_use]
    pub fn allow_rsa_1024(mut self) -> Self {
        self.min_rsa_bits = keys::MIN_RSA_BITS;
        self
    }

    /// The signature header's layout.
    #[must_use]
    pub fn format(mut self, format: SignatureFormat) -> Self {
        self.layout.format = format;
        self
    }

    /// How signature bytes are written.
    #[must_use]
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.layout.encoding = encoding;
        self
    }

    /// The signed content, in order.
    #[must_use]
    pub fn content(mut self, parts: impl IntoIterator<Item = Part>) -> Self {
        self.layout.content = parts.into_iter().collect();
        self
    }

    /// Where the timestamp comes from.
    #[must_use]
    pub fn timestamp(mut self, source: TimestampSource) -> Self {
        self.layout.timestamp = source;
        self
    }

    /// The header carrying the sender's message id.
    #[must_use]
    pub fn message_id_header(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.layout.message_id_header = Some(name.into());
        self
    }

    /// The scheme's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature algorithm.
    #[must_use]
    pub fn algorithm(&self) -> AsymmetricAlgorithm {
        self.algorithm
    }

    fn check_key(&self, id: &str, kind: KeyKind) -> Result<(), ConfigError> {
        if kind == self.algorithm.key_kind() {
            Ok(())
        } else {
            Err(ConfigError::new(format!(
                "scheme `{}` uses {} but key `{id}` is {} key",
                self.name,
                self.algorithm.label(),
                kind.label()
            )))
        }
    }

    /// A verifier accepting signatures by any active key of `keys`, with the default
    /// [`Freshness`] (5 minutes either way).
    ///
    /// # Errors
    ///
    /// An empty ring, a key of another type than the algorithm's, an RSA key of fewer than
    /// 2048 bits (1024 with [`allow_rsa_1024`](Self::allow_rsa_1024)), or an inconsistent
    /// scheme (a signed timestamp with no source…).
    pub fn verifier(
        self,
        keys: impl Into<PublicKeyRing>,
    ) -> Result<AsymmetricVerifier, ConfigError> {
        self.layout.check(&self.name)?;
        let keys = keys.into();
        if keys.is_empty() {
            return Err(ConfigError::new("public key ring is empty"));
        }
        for key in keys.keys() {
            self.check_key(key.id(), key.material().kind())?;
            self.check_rsa_bits(key.id(), key.material().rsa_bits())?;
        }
        Ok(AsymmetricVerifier {
            scheme: Arc::new(self),
            keys,
            freshness: Freshness::default(),
        })
    }

    /// Refuse an RSA key shorter than the scheme accepts.
    fn check_rsa_bits(&self, id: &str, bits: Option<usize>) -> Result<(), ConfigError> {
        match bits {
            Some(bits) if bits < self.min_rsa_bits => Err(ConfigError::new(format!(
                "scheme `{}`: RSA key `{id}` has {bits} bits; at least {} are accepted \
                 (`allow_rsa_1024` admits 1024-bit keys of a legacy sender)",
                self.name, self.min_rsa_bits
            ))),
            _ => Ok(()),
        }
    }

    /// A signer using `key`, reading the system clock for unset timestamps.
    ///
    /// # Errors
    ///
    /// A key of another type than the algorithm's, an RSA key shorter than the scheme's
    /// verifier accepts (2048 bits, 1024 with [`allow_rsa_1024`](Self::allow_rsa_1024)), or an
    /// inconsistent scheme.
    pub fn signer(self, key: PrivateKey) -> Result<AsymmetricSigner, ConfigError> {
        self.layout.check(&self.name)?;
        self.check_key("signing", key.kind())?;
        self.check_rsa_bits("signing", key.public_key().material().rsa_bits())?;
        Ok(AsymmetricSigner {
            scheme: Arc::new(self),
            key,
            clock: clock::system(),
        })
    }

    /// The encoded signature texts of the request and the timestamp text found in the
    /// signature header (bounded by the shared entry parser).
    fn read_entries<'r>(
        &self,
        request: &WebhookRequest<'r>,
    ) -> Result<(Vec<&'r str>, Option<&'r str>), VerifyError> {
        let mut entries = Vec::new();
        let timestamp = for_each_signature_entry(
            &self.layout.format,
            &self.layout.signature_header,
            request,
            |text| entries.push(text),
        )?;
        Ok((entries, timestamp))
    }

    /// Decode the entries into signatures of this algorithm; undecodable ones are skipped,
    /// a signature repeated is kept once, and entries after the first [`MAX_CANDIDATES`]
    /// distinct signatures are not read.
    fn decode_entries(&self, entries: &[&str]) -> Vec<Candidate> {
        let mut candidates: Vec<Candidate> = Vec::new();
        for text in entries {
            if candidates.len() == MAX_CANDIDATES {
                break;
            }
            let Some(candidate) = self
                .layout
                .encoding
                .decode(text)
                .and_then(|bytes| Candidate::parse(self.algorithm, bytes))
            else {
                continue;
            };
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
        candidates
    }

    /// The signed content, as one buffer (the asymmetric algorithms sign a whole message).
    fn signed_content(
        &self,
        body: &[u8],
        method: &str,
        url: Option<&str>,
        timestamp: Option<&str>,
        message_id: Option<&str>,
    ) -> Result<Vec<u8>, ContentError> {
        let content = self
            .layout
            .content(body, method, url, timestamp, message_id)?;
        let mut out = Vec::with_capacity(body.len().saturating_add(64));
        self.layout
            .write(&content, |bytes| out.extend_from_slice(bytes));
        Ok(out)
    }
}

/// Most distinct signatures of one request checked against the keys. Each costs a public-key
/// operation per key (an Ed25519 check hashes the whole signed content again), so an
/// unauthenticated request must not choose how many: a sender signs with one key, two while
/// it rotates.
const MAX_CANDIDATES: usize = 4;

/// One decoded signature of the scheme's algorithm.
#[derive(PartialEq)]
enum Candidate {
    Ed25519(ed25519_dalek::Signature),
    P256(p256::ecdsa::Signature),
    Rsa(Vec<u8>),
}

impl Candidate {
    fn parse(algorithm: AsymmetricAlgorithm, bytes: Vec<u8>) -> Option<Self> {
        match algorithm {
            AsymmetricAlgorithm::Ed25519 => ed25519_dalek::Signature::from_slice(&bytes)
                .ok()
                .map(Self::Ed25519),
            // DER only: a raw 64-byte `r ‖ s` is not a DER sequence and fails here.
            AsymmetricAlgorithm::EcdsaP256Sha256 => (bytes.len() <= MAX_P256_DER)
                .then(|| p256::ecdsa::Signature::from_der(&bytes).ok())
                .flatten()
                .map(Self::P256),
            AsymmetricAlgorithm::RsaPkcs1v15Sha256 | AsymmetricAlgorithm::RsaPkcs1v15Sha1 => {
                (!bytes.is_empty() && bytes.len() <= MAX_RSA_SIGNATURE).then_some(Self::Rsa(bytes))
            }
        }
    }
}

/// The content in the form each algorithm verifies: the message itself for Ed25519, its
/// digest (computed once per request) for ECDSA and RSA.
enum Prepared {
    Message(Vec<u8>),
    Sha256([u8; 32]),
    Sha1([u8; 20]),
}

impl Prepared {
    /// What identifies the delivery for replay detection: the signed content (or its digest),
    /// never the signature, which differs with the key that happened to match and, for ECDSA,
    /// with the signer's randomness and S malleability.
    fn replay_bytes(&self) -> &[u8] {
        match self {
            Self::Message(m) => m,
            Self::Sha256(d) => d,
            Self::Sha1(d) => d,
        }
    }

    fn new(algorithm: AsymmetricAlgorithm, content: Vec<u8>) -> Self {
        match algorithm {
            AsymmetricAlgorithm::Ed25519 => Self::Message(content),
            AsymmetricAlgorithm::EcdsaP256Sha256 | AsymmetricAlgorithm::RsaPkcs1v15Sha256 => {
                Self::Sha256(Sha256::digest(&content).into())
            }
            AsymmetricAlgorithm::RsaPkcs1v15Sha1 => Self::Sha1(sha1::Sha1::digest(&content).into()),
        }
    }

    fn verifies(&self, key: &PublicMaterial, candidate: &Candidate) -> bool {
        match (self, key, candidate) {
            (Self::Message(msg), PublicMaterial::Ed25519(key), Candidate::Ed25519(sig)) => {
                key.verify_strict(msg, sig).is_ok()
            }
            (Self::Sha256(digest), PublicMaterial::P256(key), Candidate::P256(sig)) => {
                key.verify_prehash(digest, sig).is_ok()
            }
            (Self::Sha256(digest), PublicMaterial::Rsa(key), Candidate::Rsa(sig)) => key
                .verify(Pkcs1v15Sign::new::<Sha256>(), digest, sig)
                .is_ok(),
            (Self::Sha1(digest), PublicMaterial::Rsa(key), Candidate::Rsa(sig)) => {
                key.verify(sha1_padding(), digest, sig).is_ok()
            }
            _ => false,
        }
    }
}

fn signing_failed<E>(_: E) -> SignError {
    SignError::new("signing failed")
}

fn sha1_padding() -> Pkcs1v15Sign {
    Pkcs1v15Sign {
        hash_len: Some(20),
        prefix: Box::new(SHA1_DIGEST_INFO),
    }
}

/// Verifies requests of one [`AsymmetricScheme`] against a [`PublicKeyRing`].
///
/// The signature header may hold at most 16 entries in at most 8 KiB; its first 4 distinct
/// signatures are each tried against every active key (a sender signs with one key, two while
/// it rotates), and a repeated one once; entries that do not decode, or are not a signature of the algorithm, are
/// skipped. No match is `InvalidSignature` (401). The signature is checked first, then the
/// timestamp's freshness. `Debug` shows the scheme, the number of keys and the freshness
/// policy, never a key.
///
/// Build one with [`AsymmetricScheme::verifier`] or a preset (`provider::sendgrid`,
/// `provider::discord`, …).
#[derive(Clone)]
pub struct AsymmetricVerifier {
    scheme: Arc<AsymmetricScheme>,
    keys: PublicKeyRing,
    freshness: Freshness,
}

impl fmt::Debug for AsymmetricVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsymmetricVerifier")
            .field("scheme", &self.scheme.name)
            .field("algorithm", &self.scheme.algorithm)
            .field("keys", &self.keys.len())
            .field("freshness", &self.freshness)
            .finish()
    }
}

impl AsymmetricVerifier {
    /// Use this freshness policy (tolerance and clock). The clock also decides which keys
    /// have expired.
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> &AsymmetricScheme {
        &self.scheme
    }

    /// For presets that lay out the signed content themselves: the active key (at `now_ms`)
    /// whose signature over `content` is `signature` (standard, padded base64, as the SNS,
    /// PayPal and Paddle Classic presets receive it), and the bytes that identify the
    /// delivery for replay detection. A signature that does not decode, or no match, is
    /// `InvalidSignature`.
    pub(crate) fn verify_content(
        &self,
        content: Vec<u8>,
        signature: &str,
        now_ms: i64,
    ) -> Result<(&PublicKey, Vec<u8>), VerifyError> {
        use base64::Engine as _;
        // Bounded before decoding: the longest signature of any key accepted, in base64.
        if signature.len() > MAX_RSA_SIGNATURE.div_ceil(3) * 4 {
            return Err(VerifyError::invalid_signature());
        }
        let signature = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| VerifyError::invalid_signature())?;
        let candidate = Candidate::parse(self.scheme.algorithm, signature)
            .ok_or_else(VerifyError::invalid_signature)?;
        let prepared = Prepared::new(self.scheme.algorithm, content);
        let key = self
            .keys
            .active(now_ms)?
            .find(|key| prepared.verifies(key.material(), &candidate))
            .ok_or_else(VerifyError::invalid_signature)?;
        Ok((key, prepared.replay_bytes().to_vec()))
    }
}

impl Verifier for AsymmetricVerifier {
    fn freshness_window(&self) -> Option<std::time::Duration> {
        self.scheme
            .layout
            .has_timestamp()
            .then(|| self.freshness.window())
    }

    fn requires_replay_store(&self) -> bool {
        self.scheme.layout.needs_replay_store()
    }

    fn signs_body(&self) -> bool {
        self.scheme.layout.signs_body()
    }

    fn signs_url(&self) -> bool {
        self.scheme.layout.signs_url()
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let scheme = &*self.scheme;
        let (entries, ts_in_sig) = scheme.read_entries(request)?;
        let timestamp = scheme.layout.read_timestamp(request, ts_in_sig)?;
        let message_id = scheme.layout.read_message_id(request)?;
        let candidates = scheme.decode_entries(&entries);
        if candidates.is_empty() {
            return Err(VerifyError::invalid_signature());
        }
        let content = scheme
            .signed_content(
                request.body(),
                request.method(),
                request.url(),
                timestamp.map(|(text, _)| text),
                message_id,
            )
            .map_err(VerifyError::from)?;
        let prepared = Prepared::new(scheme.algorithm, content);
        let now = self.freshness.now_ms();
        let key = self
            .keys
            .active(now)?
            .find(|key| {
                candidates
                    .iter()
                    .any(|c| prepared.verifies(key.material(), c))
            })
            .ok_or_else(VerifyError::invalid_signature)?;
        let mut proof = Proof::new(scheme.name.clone()).with_key_id(key.id());
        if let Some((_, ms)) = timestamp {
            self.freshness.check_ms(ms)?;
            proof = proof.with_timestamp_ms(ms);
        }
        if let Some(id) = message_id {
            proof = proof.with_message_id(id);
        }
        Ok(proof.with_signature(prepared.replay_bytes()))
    }
}

/// Signs deliveries for one [`AsymmetricScheme`], producing the headers a real sender sends.
///
/// Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic; ECDSA signatures here are too
/// (RFC 6979), but a real sender's are usually random: compare ECDSA signatures by verifying
/// them, never byte for byte. `Debug` never shows the key.
///
/// # Security
///
/// See [`PrivateKey`] about RSA signing: meant for tests.
#[derive(Clone)]
pub struct AsymmetricSigner {
    scheme: Arc<AsymmetricScheme>,
    key: PrivateKey,
    clock: SharedClock,
}

impl fmt::Debug for AsymmetricSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsymmetricSigner")
            .field("scheme", &self.scheme.name)
            .field("algorithm", &self.scheme.algorithm)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl AsymmetricSigner {
    /// Read unset timestamps from this clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> &AsymmetricScheme {
        &self.scheme
    }

    /// The raw signature bytes over `content`.
    pub(crate) fn raw_signature(&self, content: &[u8]) -> Result<Vec<u8>, SignError> {
        match (self.scheme.algorithm, self.key.material()) {
            (AsymmetricAlgorithm::Ed25519, PrivateMaterial::Ed25519(key)) => {
                Ok(key.sign(content).to_bytes().to_vec())
            }
            (AsymmetricAlgorithm::EcdsaP256Sha256, PrivateMaterial::P256(key)) => {
                let digest: [u8; 32] = Sha256::digest(content).into();
                let sig: p256::ecdsa::Signature =
                    key.sign_prehash(&digest).map_err(signing_failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            (AsymmetricAlgorithm::RsaPkcs1v15Sha256, PrivateMaterial::Rsa(key)) => key
                .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(content))
                .map_err(signing_failed),
            (AsymmetricAlgorithm::RsaPkcs1v15Sha1, PrivateMaterial::Rsa(key)) => key
                .sign(sha1_padding(), &sha1::Sha1::digest(content))
                .map_err(signing_failed),
            // Construction checked the key type; stay total anyway.
            _ => Err(SignError::new(
                "the key does not match the scheme's algorithm",
            )),
        }
    }

    /// The encoded signature over `message` with an explicit timestamp text and id (used by
    /// presets that lay out headers of their own).
    pub(crate) fn signature(
        &self,
        message: &Outgoing<'_>,
        timestamp: Option<&str>,
        message_id: Option<&str>,
    ) -> Result<String, SignError> {
        let scheme = &*self.scheme;
        let content = scheme
            .signed_content(
                message.body(),
                message.method_str(),
                message.url_str(),
                timestamp,
                message_id,
            )
            .map_err(|why| SignError::new(why.message()))?;
        Ok(scheme
            .layout
            .encoding
            .encode(&self.raw_signature(&content)?))
    }
}

impl Signer for AsymmetricSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        self.scheme
            .layout
            .signed_headers(message, self.clock.now_ms(), |timestamp, id| {
                self.signature(message, timestamp, id)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types_must_match_the_algorithm() {
        let ed = PrivateKey::generate_ed25519();
        let scheme = AsymmetricScheme::new("x", AsymmetricAlgorithm::EcdsaP256Sha256, "sig");
        let err = scheme
            .clone()
            .verifier(ed.public_key())
            .expect_err("wrong key type");
        assert!(err.to_string().contains("Ed25519"), "{err}");
        assert!(scheme.clone().signer(ed).is_err());
        assert!(scheme.verifier(PublicKeyRing::new()).is_err());
    }
}
