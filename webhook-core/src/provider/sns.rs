//! Amazon SNS, and Amazon SES notifications delivered through it.
//!
//! SES publishes bounces, complaints, deliveries and the other sending events to an SNS topic;
//! an HTTPS subscription of that topic POSTs each one to your endpoint as an SNS envelope. The
//! signature travels in the body, not in a header:
//!
//! | envelope field | content |
//! | --- | --- |
//! | `Type` | `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation` (also sent as the `x-amz-sns-message-type` header) |
//! | `MessageId`, `TopicArn`, `Timestamp` | the message's id, its topic, when SNS published it (RFC 3339) |
//! | `Message` | the payload: for SES, the event's JSON as a string |
//! | `SignatureVersion` | `1` (RSA PKCS#1 v1.5 with SHA-1, the default of a topic) or `2` (with SHA-256) |
//! | `Signature` | base64 of the signature over the canonical string below |
//! | `SigningCertURL` | the X.509 certificate whose key signed it, on `sns.<region>.amazonaws.com` |
//!
//! The canonical string is `Name\nValue\n` for each signed field present, in this order:
//! `Message`, `MessageId`, `Subject` (a notification's, when it is not null), `SubscribeURL`
//! and `Token` (confirmations), `Timestamp`, `TopicArn`, `Type`. `MessageAttributes`,
//! `UnsubscribeURL` and the signature fields are not signed.
//!
//! # What the verifier checks
//!
//! 1. The body is a JSON object with the fields of its `Type`: 400 when it is not JSON, holds
//!    a field twice or a field that is not a string; 401 when a field is missing. A
//!    `x-amz-sns-message-type` header, when sent, names the same type (401).
//! 2. `SigningCertURL` is an `https` URL on `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`)
//!    whose path ends in `.pem`, the shape AWS's own validators require (401); when
//!    certificates are fetched, exactly the shape of SNS's certificates
//!    ([`is_fetchable_cert_url`]).
//! 3. `TopicArn` is one of the topics the verifier was built with: SNS signs the messages
//!    of every topic of every AWS account with the same certificates, and anyone can
//!    subscribe your endpoint to a topic of their own, so a valid signature alone does not
//!    make a message yours. Another topic is answered as a bad signature is (401
//!    `invalid_signature`), whatever else the message holds: the topic is checked after
//!    every check whose answer names a field, so that the answer does not confirm a guessed
//!    topic ARN. With fetched certificates one difference remains: only a message of an
//!    accepted topic causes a fetch, so the first message naming a genuine certificate not
//!    held yet is answered 401 (fetched, then refused) for an accepted topic and 503 for
//!    another, once per certificate; and a message naming an address not held is answered
//!    after a fetch's round trip for an accepted topic, at once for another. A topic ARN is
//!    no secret (it is in every message), so this hides nothing that matters.
//! 4. The signature verifies (401 otherwise) with the key of one of two kinds of certificate:
//!    - **fetched** ([`verifier_fetching`], feature `fetch`): the certificate `SigningCertURL`
//!      names, fetched over HTTPS the first time that address is seen and kept in a
//!      [`CertificateCache`](crate::CertificateCache), so AWS's rotations need nothing of
//!      you. Only a message of an accepted topic causes a fetch; the certificate must be
//!      valid now. While it cannot be fetched, the message is answered 503
//!      `key_unavailable` with `Retry-After`, which SNS retries.
//!    - **pinned** ([`verifier`]): download the certificate each of your regions uses (the
//!      `SigningCertURL` of a message it sent) and load it with
//!      [`PublicKey::from_certificate_pem`]. When AWS rotates it, messages fail with 401
//!      until the new certificate is added; a ring can hold the old and the new one at once.
//!      SNS retries only deliveries answered with a 5xx or timed out, never a 4xx: a message
//!      refused while a rotated certificate is missing is not sent again, so watch the
//!      route's 401s.
//!
//!    The proof's key id names the certificate that matched (`x509-sha256:` and the start of
//!    its fingerprint), so the logs show which one is in use.
//! 5. `Timestamp` is at most 65 minutes old and 5 minutes ahead ([`default_freshness`]): SNS
//!    stops retrying an HTTPS delivery after at most an hour, so an older message is a replay.
//!
//! The proof's message id is `MessageId`, so the receiver's replay store deduplicates SNS's
//! retries. SNS treats every 4xx as final, so two answers would lose a genuine message: 429
//! `rate_limited` and 409 `in_flight` (a retry that arrives while the first delivery's
//! handler still runs, should that handler then fail). Build an SNS receiver with
//! [`ReceiverBuilder::retryable_as_503`](crate::ReceiverBuilder::retryable_as_503), which
//! answers both 503, which SNS retries:
//! - **429**: the RSA check costs about 0.2 ms of CPU and the topic ARN is no secret (it is
//!   in every message), so a per-source rate limit is worth having; set SNS's own throttle
//!   (the subscription's delivery policy, `throttlePolicy.maxReceivesPerSecond`) and the
//!   receiver's limit well above it, so that only a flood meets the limit;
//! - **409**: keep an SNS handler well inside SNS's delivery timeout (15 seconds), e.g. by
//!   queueing the message and answering, so a retry rarely finds it still running.
//!
//! Basic auth in the subscription URL, combined with [`AllOf`](crate::AllOf), does not keep
//! unauthenticated requests from starting certificate fetches: each member's fetch runs
//! before any member verifies. The cache's fetch budget bounds them. SNS sends
//! `Content-Type: text/plain; charset=UTF-8` unless the subscription's delivery policy says
//! otherwise: a route that checks the content type must accept it.
//!
//! A `SubscriptionConfirmation` is verified like a notification; the subscription becomes
//! active when your application visits its `SubscribeURL` (see [`Envelope`]). *Raw message
//! delivery* must stay off: with it SNS sends the bare message, with nothing to verify (such
//! a request, marked by `x-amz-sns-rawdelivery: true`, is refused with 401 and a message
//! that says so).
//!
//! # Examples
//!
//! A real message signed by AWS (from the AWS SDK for Java's tests), verified with the
//! certificate it names:
//!
//! ```
//! use webhook_core::provider::sns;
//! use webhook_core::{FixedClock, PublicKey, Verifier, WebhookRequest};
//!
//! let pem = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns/certificate.pem"));
//! let certificate = PublicKey::from_certificate_pem(pem)?;
//! let verifier = sns::verifier(certificate, ["arn:aws:sns:us-east-1:810605503585:just_testing"])?
//!     // the message is from 2015: read the clock of that day
//!     .freshness(sns::default_freshness().with_clock(FixedClock::at_secs(1_442_712_200)));
//!
//! let body = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns/message.json"));
//! let request = WebhookRequest::new(body.as_bytes())
//!     .with_header("x-amz-sns-message-type", "Notification");
//! let proof = verifier.verify(&request).unwrap();
//! assert_eq!(proof.message_id(), Some("d39649d4-bf5b-5b80-af75-07acb3dd9b4a"));
//!
//! // The envelope, for the handler: the SES event is the JSON string in `Message`, which
//! // `Envelope::decode_message` reads into a `#[derive(WebhookEvent)]` set, validated.
//! let envelope = sns::Envelope::from_slice(body.as_bytes()).unwrap();
//! assert_eq!(envelope.message_type, sns::MessageType::Notification);
//! assert_eq!(envelope.message, "boo");
//!
//! // Another topic's message, even correctly signed, is refused.
//! let other = sns::verifier(
//!     PublicKey::from_certificate_pem(pem)?,
//!     ["arn:aws:sns:us-east-1:123456789012:mine"],
//! )?;
//! assert_eq!(other.verify(&request).unwrap_err().status(), 401);
//! # Ok::<(), webhook_core::ConfigError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

#[cfg(doc)]
use crate::PublicKey;
use crate::{
    AsymmetricAlgorithm, AsymmetricScheme, AsymmetricSigner, AsymmetricVerifier, ConfigError,
    Freshness, PrivateKey, Proof, PublicKeyRing, SharedClock, SignError, SystemClock, TimeFormat,
    Verifier, VerifyError, VerifyErrorKind, WebhookRequest,
};

/// The header naming the message's type.
pub const MESSAGE_TYPE_HEADER: &str = "x-amz-sns-message-type";
/// The header SNS sets to `true` when the subscription has raw message delivery on.
pub const RAW_DELIVERY_HEADER: &str = "x-amz-sns-rawdelivery";

/// The answer to a message sent with raw message delivery on.
const RAW_DELIVERY: &str = "SNS raw message delivery is on: the message carries no signature; \
                            turn raw message delivery off on the subscription";

/// Longest `MessageId` accepted (SNS's are 36-character UUIDs).
const MAX_MESSAGE_ID: usize = 256;
/// Most topics one verifier accepts.
const MAX_TOPICS: usize = 1024;

/// The freshness policy of [`verifier`]: 65 minutes in the past (SNS retries an HTTPS delivery
/// for at most an hour), 5 minutes in the future, the system clock.
#[must_use]
pub fn default_freshness() -> Freshness {
    Freshness::new(Duration::from_secs(65 * 60), Duration::from_secs(5 * 60))
}

/// The type of an SNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[non_exhaustive]
pub enum MessageType {
    /// A message published to the topic (for SES, one sending event).
    Notification,
    /// Sent once when the subscription is made: visit its `SubscribeURL` to confirm it.
    SubscriptionConfirmation,
    /// Sent when the subscription is deleted.
    UnsubscribeConfirmation,
}

impl MessageType {
    /// The name SNS uses, in `Type` and in the `x-amz-sns-message-type` header.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "Notification" => Some(Self::Notification),
            "SubscriptionConfirmation" => Some(Self::SubscriptionConfirmation),
            "UnsubscribeConfirmation" => Some(Self::UnsubscribeConfirmation),
            _ => None,
        }
    }
}

/// An SNS envelope, for handlers: read it from the verified body with
/// [`Envelope::from_slice`]. It holds the signed fields of its type only, the ones
/// verification checked: a `Subject` on a confirmation, or a `SubscribeURL` or `Token` on a
/// notification, is not signed and reads as `None`; `UnsubscribeURL` and `MessageAttributes`
/// are not signed and not kept.
///
/// `Debug` shows the type, id and topic, not the message.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Envelope {
    /// `Type`.
    #[serde(rename = "Type")]
    pub message_type: MessageType,
    /// `MessageId`.
    pub message_id: String,
    /// `TopicArn`.
    pub topic_arn: String,
    /// `Message`: for SES, the event as a JSON string.
    pub message: String,
    /// `Timestamp`, RFC 3339.
    pub timestamp: String,
    /// `Subject` of a notification, when one was set (`None` on a confirmation).
    #[serde(default)]
    pub subject: Option<String>,
    /// `SubscribeURL` of a confirmation: a `SubscriptionConfirmation` is confirmed by an HTTP
    /// GET of it (`None` on a notification).
    #[serde(rename = "SubscribeURL", default)]
    pub subscribe_url: Option<String>,
    /// `Token` of a confirmation (`None` on a notification).
    #[serde(default)]
    pub token: Option<String>,
}

impl Envelope {
    /// The envelope of a body (after verification).
    ///
    /// # Errors
    ///
    /// `MalformedBody` (400) when the body is not an SNS envelope.
    pub fn from_slice(body: &[u8]) -> Result<Self, VerifyError> {
        let mut envelope: Self = serde_json::from_slice(body).map_err(|_| {
            VerifyError::new(VerifyErrorKind::MalformedBody)
                .with_message("body is not an SNS message")
        })?;
        if envelope.message_type == MessageType::Notification {
            envelope.subscribe_url = None;
            envelope.token = None;
        } else {
            envelope.subject = None;
        }
        Ok(envelope)
    }

    /// `Message` decoded as JSON: an SES notification's event.
    ///
    /// # Errors
    ///
    /// `MalformedBody` (400) when `Message` is not JSON of the type `T`.
    pub fn message_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, VerifyError> {
        serde_json::from_str(&self.message).map_err(|_| {
            VerifyError::new(VerifyErrorKind::MalformedBody)
                .with_message("`Message` is not the JSON expected")
        })
    }
}

impl Envelope {
    /// `Message` decoded as an event set (`#[derive(WebhookEvent)]`): dispatched on its tag,
    /// deserialized and validated as the body of a direct delivery would be, so an SES event
    /// arrives typed, with the same 400 and 422 answers. The set must read its tag from the
    /// body: the message has no headers of its own.
    ///
    /// # Errors
    ///
    /// The event set's [`DecodeError`](crate::DecodeError): `Message` is not JSON (400), of an
    /// unknown type without a catch-all, or fails a rule (422).
    pub fn decode_message<E: crate::WebhookEvent>(&self) -> Result<E, crate::DecodeError> {
        E::decode(&WebhookRequest::new(self.message.as_bytes()))
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("message_type", &self.message_type)
            .field("message_id", &self.message_id)
            .field("topic_arn", &self.topic_arn)
            .finish_non_exhaustive()
    }
}

/// The fields verification reads, borrowed from the body where they hold no escapes.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Fields<'a> {
    #[serde(rename = "Type", borrow, default)]
    message_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subject: Option<Cow<'a, str>>,
    #[serde(rename = "SubscribeURL", borrow, default)]
    subscribe_url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    token: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    topic_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    signature_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    signature: Option<Cow<'a, str>>,
    #[serde(rename = "SigningCertURL", borrow, default)]
    signing_cert_url: Option<Cow<'a, str>>,
    /// The spelling of SNS messages relayed by AWS Lambda.
    #[serde(rename = "SigningCertUrl", borrow, default)]
    signing_cert_url_lambda: Option<Cow<'a, str>>,
}

fn missing(field: &'static str) -> VerifyError {
    VerifyError::new(VerifyErrorKind::MissingCredentials)
        .with_message(format!("missing SNS field `{field}`"))
}

fn required<'f>(
    value: Option<&'f Cow<'_, str>>,
    field: &'static str,
) -> Result<&'f str, VerifyError> {
    value.map(|v| &**v).ok_or_else(|| missing(field))
}

/// The string SNS signs for `fields` of type `kind`.
///
/// Fields are joined by line breaks, so every field but `Message` (the first) must be one
/// line: otherwise text could move between fields without changing the signed string (a
/// `MessageId` that swallows the `Subject` after it would give a signed message a new id).
/// Read from its end, a string whose other fields are one line each has a single parse. SNS
/// puts no control character in those fields.
fn canonical(kind: MessageType, fields: &Fields<'_>) -> Result<Vec<u8>, VerifyError> {
    let confirmation = kind != MessageType::Notification;
    let mut signed: Vec<(&'static str, &str)> = Vec::with_capacity(7);
    signed.push(("Message", required(fields.message.as_ref(), "Message")?));
    signed.push((
        "MessageId",
        required(fields.message_id.as_ref(), "MessageId")?,
    ));
    if let (false, Some(subject)) = (confirmation, &fields.subject) {
        signed.push(("Subject", subject));
    }
    if confirmation {
        let url = required(fields.subscribe_url.as_ref(), "SubscribeURL")?;
        signed.push(("SubscribeURL", url));
    }
    signed.push((
        "Timestamp",
        required(fields.timestamp.as_ref(), "Timestamp")?,
    ));
    if confirmation {
        signed.push(("Token", required(fields.token.as_ref(), "Token")?));
    }
    signed.push(("TopicArn", required(fields.topic_arn.as_ref(), "TopicArn")?));
    signed.push(("Type", kind.as_str()));

    let mut out = Vec::with_capacity(signed.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (name, value) in signed {
        if name != "Message" && value.chars().any(char::is_control) {
            return Err(VerifyError::invalid_signature().with_message(format!(
                "SNS field `{name}` holds a line break or control character"
            )));
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// Whether `url` has the shape of an SNS signing certificate's address: `https://`, a host
/// `sns.<region>.amazonaws.com` or `sns.<region>.amazonaws.com.cn` (region: at least three
/// ASCII letters, digits or `-`), no port, user or query, a path ending in `.pem`.
#[must_use]
pub fn is_signing_cert_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    let region = host
        .strip_prefix("sns.")
        .and_then(|h| {
            h.strip_suffix(".amazonaws.com")
                .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
        })
        .unwrap_or("");
    region.len() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && path.ends_with(".pem")
        && !path.contains(['?', '#', '\\'])
        && path.bytes().all(|b| b.is_ascii_graphic())
}

/// Longest region name [`is_fetchable_cert_url`] reads.
const MAX_REGION: usize = 32;

/// Whether `url` is an address [`verifier_fetching`] fetches: [`is_signing_cert_url`], a
/// region as AWS names them (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-north-1`:
/// two letters, words, a number), and the path `/SimpleNotificationService-<32 hex digits>.pem`
/// of SNS's certificates. Nothing else on those hosts is fetched, nor any other spelling of
/// the same address.
#[must_use]
pub fn is_fetchable_cert_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    let Some(region) = host.strip_prefix("sns.").and_then(|h| {
        h.strip_suffix(".amazonaws.com")
            .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
    }) else {
        return false;
    };
    // AWS's longest region names have about fifteen letters: a longer one (in an
    // unauthenticated message) is refused before it is split.
    if region.len() > MAX_REGION {
        return false;
    }
    let words: Vec<&str> = region.split('-').collect();
    let region_ok = match words.as_slice() {
        [area, middle @ .., number] => {
            area.len() == 2
                && area.bytes().all(|b| b.is_ascii_lowercase())
                && !middle.is_empty()
                && middle
                    .iter()
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
                && (1..=2).contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    let name = path
        .strip_prefix("SimpleNotificationService-")
        .and_then(|p| p.strip_suffix(".pem"))
        .unwrap_or("");
    region_ok && name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `arn` looks like a topic ARN: `arn:<partition>:sns:<region>:<account>:<name>`.
fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "sns", region, account, name]
            if partition.starts_with("aws")
                && ![region, account, name].iter().any(|p| p.is_empty())
    ) && arn.bytes().all(|b| b.is_ascii_graphic())
}

/// The RSA scheme of one signature version (the header name is unused: the signature is in
/// the body).
fn scheme(version: SignatureVersion) -> AsymmetricScheme {
    let algorithm = match version {
        SignatureVersion::V1 => AsymmetricAlgorithm::RsaPkcs1v15Sha1,
        SignatureVersion::V2 => AsymmetricAlgorithm::RsaPkcs1v15Sha256,
    };
    AsymmetricScheme::new("sns", algorithm, "signature")
}

/// An SNS `SignatureVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureVersion {
    /// `1`: RSA PKCS#1 v1.5 with SHA-1, what a topic uses unless set otherwise.
    V1,
    /// `2`: RSA PKCS#1 v1.5 with SHA-256.
    V2,
}

impl SignatureVersion {
    /// The value of `SignatureVersion`: `1` or `2`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "1",
            Self::V2 => "2",
        }
    }
}

/// Verifies Amazon SNS messages (and so SES notifications) against pinned or fetched signing
/// certificates and an allowlist of topics. Made by [`verifier`] or [`verifier_fetching`];
/// see the [module](self) for what it checks.
///
/// `Debug` shows the number of pinned certificates (or the cache) and topics and the
/// freshness policy.
#[derive(Clone)]
pub struct SnsVerifier {
    keys: Keys,
    topics: Vec<String>,
    freshness: Freshness,
    allow_v1: bool,
}

/// Where the verifier's keys come from.
#[derive(Clone)]
enum Keys {
    /// Pinned: the ring, once for each signature version.
    Pinned {
        sha1: AsymmetricVerifier,
        sha256: AsymmetricVerifier,
        count: usize,
    },
    /// Fetched from the message's `SigningCertURL`.
    #[cfg(feature = "fetch")]
    Fetched(crate::CertificateCache),
}

impl fmt::Debug for SnsVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("SnsVerifier");
        match &self.keys {
            Keys::Pinned { count, .. } => debug.field("certificates", count),
            #[cfg(feature = "fetch")]
            Keys::Fetched(cache) => debug.field("fetched", cache),
        };
        debug
            .field("topics", &self.topics.len())
            .field("allow_signature_version_1", &self.allow_v1)
            .field("freshness", &self.freshness)
            .finish_non_exhaustive()
    }
}

/// The topics of a verifier, checked.
fn topics<T: Into<String>>(
    topic_arns: impl IntoIterator<Item = T>,
) -> Result<Vec<String>, ConfigError> {
    let topics: Vec<String> = topic_arns.into_iter().map(Into::into).collect();
    if topics.is_empty() {
        return Err(ConfigError::new(
            "an SNS verifier needs the ARN of at least one topic: any AWS account can subscribe \
             an endpoint to its own topics, which SNS signs with the same certificates",
        ));
    }
    if topics.len() > MAX_TOPICS {
        return Err(ConfigError::new(format!(
            "an SNS verifier accepts at most {MAX_TOPICS} topics"
        )));
    }
    if let Some(bad) = topics.iter().position(|t| !is_topic_arn(t)) {
        return Err(ConfigError::new(format!(
            "topic {} of the SNS verifier is not an SNS topic ARN \
             (`arn:aws:sns:<region>:<account>:<name>`)",
            bad + 1
        )));
    }
    Ok(topics)
}

/// A verifier for SNS messages of the topics `topic_arns`, signed by any active key of
/// `certificates` (the RSA keys of SNS's signing certificates, loaded with
/// [`PublicKey::from_certificate_pem`](crate::PublicKey::from_certificate_pem)), with
/// [`default_freshness`]. Signature versions 1 and 2 are both accepted until
/// [`SnsVerifier::require_signature_version_2`].
///
/// # Errors
///
/// An empty ring, a key that is not RSA of 2048 to 4096 bits, no topic, more than 1024
/// topics, or a topic that is not an SNS topic ARN (`arn:aws:sns:<region>:<account>:<name>`).
pub fn verifier<T: Into<String>>(
    certificates: impl Into<PublicKeyRing>,
    topic_arns: impl IntoIterator<Item = T>,
) -> Result<SnsVerifier, ConfigError> {
    let certificates = certificates.into();
    let topics = topics(topic_arns)?;
    Ok(SnsVerifier {
        keys: Keys::Pinned {
            count: certificates.len(),
            // Their own clocks are unused: `verify` passes them the time it read.
            sha1: scheme(SignatureVersion::V1).verifier(certificates.clone())?,
            sha256: scheme(SignatureVersion::V2).verifier(certificates)?,
        },
        topics,
        freshness: default_freshness(),
        allow_v1: true,
    })
}

/// A verifier for SNS messages of the topics `topic_arns`, signed by the key of the
/// certificate each message names in `SigningCertURL`, fetched into `certificates` the first
/// time an address is seen (feature `fetch`; see [`CertificateCache`](crate::CertificateCache)
/// for the limits). Only a message of an accepted topic, with an address of SNS's shape,
/// causes a fetch; while its certificate cannot be fetched it is answered 503
/// `key_unavailable`, which SNS retries. Otherwise as [`verifier`].
///
/// # Examples
///
/// ```
/// use webhook_core::provider::sns;
/// use webhook_core::{CertificateCache, CertificateFetcher, FetchFuture, FixedClock, Receiver};
/// use webhook_core::{Verifier, WebhookRequest};
///
/// // What an HTTPS GET of the message's `SigningCertURL` returns (`HttpsFetcher` in an
/// // application).
/// #[derive(Debug)]
/// struct Fixture;
/// impl CertificateFetcher for Fixture {
///     fn fetch(&self, _url: &str) -> FetchFuture {
///         let pem = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns/certificate.pem"));
///         Box::pin(async move { Ok(pem.to_vec()) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The message is from 2015: read the clock of that day, for the certificate too.
/// let day = FixedClock::at_secs(1_442_712_200);
/// let cache = CertificateCache::builder(Fixture).clock(std::sync::Arc::new(day.clone())).build();
/// let verifier = sns::verifier_fetching(cache.clone(), ["arn:aws:sns:us-east-1:810605503585:just_testing"])?
///     .freshness(sns::default_freshness().with_clock(day));
///
/// let body = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sns/message.json"));
/// let request = WebhookRequest::new(body.as_bytes());
/// // Before the fetch, the key is unavailable (503); the pipeline awaits the fetch first.
/// assert_eq!(verifier.verify(&request).unwrap_err().status(), 503);
/// verifier.fetch_keys(&request).expect("a fetch").await;
/// assert_eq!(cache.len(), 1);
/// assert!(verifier.verify(&request).is_ok());
/// assert!(verifier.fetch_keys(&request).is_none()); // held now
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As [`verifier`], for the topics.
#[cfg(feature = "fetch")]
pub fn verifier_fetching<T: Into<String>>(
    certificates: crate::CertificateCache,
    topic_arns: impl IntoIterator<Item = T>,
) -> Result<SnsVerifier, ConfigError> {
    Ok(SnsVerifier {
        keys: Keys::Fetched(certificates),
        topics: topics(topic_arns)?,
        freshness: default_freshness(),
        allow_v1: true,
    })
}

impl SnsVerifier {
    /// Use this freshness policy (tolerance and clock; the clock also decides which keys
    /// have expired).
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }

    /// Refuse `SignatureVersion` 1 (SHA-1): for topics set to `SignatureVersion` 2. A message
    /// of version 1 is then `InvalidSignature` (401).
    #[must_use]
    pub fn require_signature_version_2(mut self) -> Self {
        self.allow_v1 = false;
        self
    }

    /// The signing certificate's address of a message this verifier would judge (an accepted
    /// topic, an address of SNS's shape), for the fetch.
    #[cfg(feature = "fetch")]
    fn cert_url_to_fetch<'b>(&self, fields: &'b Fields<'b>) -> Option<&'b str> {
        let topic = fields.topic_arn.as_deref()?;
        let url = fields
            .signing_cert_url
            .as_deref()
            .or(fields.signing_cert_url_lambda.as_deref())?;
        (self.topics.iter().any(|t| t == topic) && is_fetchable_cert_url(url)).then_some(url)
    }
}

impl Verifier for SnsVerifier {
    fn signs_url(&self) -> bool {
        false
    }

    fn freshness_window(&self) -> Option<Duration> {
        Some(self.freshness.window())
    }

    #[cfg(feature = "fetch")]
    fn fetch_keys(&self, request: &WebhookRequest<'_>) -> Option<crate::KeyFetch> {
        let Keys::Fetched(cache) = &self.keys else {
            return None;
        };
        let fields: Fields<'_> = serde_json::from_slice(request.body()).ok()?;
        cache.prefetch(self.cert_url_to_fetch(&fields)?)
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        if request
            .header(RAW_DELIVERY_HEADER)
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"))
        {
            return Err(
                VerifyError::new(VerifyErrorKind::MissingCredentials).with_message(RAW_DELIVERY)
            );
        }
        let fields: Fields<'_> = serde_json::from_slice(request.body()).map_err(|_| {
            VerifyError::new(VerifyErrorKind::MalformedBody)
                .with_message("body is not an SNS message (a JSON object of string fields)")
        })?;
        let kind = required(fields.message_type.as_ref(), "Type")?;
        let kind = MessageType::parse(kind).ok_or_else(|| {
            VerifyError::invalid_signature().with_message("unknown SNS message `Type`")
        })?;
        if let Some(header) = request.optional_single(MESSAGE_TYPE_HEADER)?
            && header != kind.as_str()
        {
            return Err(VerifyError::malformed_header(
                MESSAGE_TYPE_HEADER,
                "does not match the message's `Type`",
            ));
        }
        let version = match fields.signature_version.as_deref() {
            Some("1") if self.allow_v1 => SignatureVersion::V1,
            Some("2") => SignatureVersion::V2,
            Some(_) => {
                return Err(VerifyError::invalid_signature()
                    .with_message("unsupported SNS `SignatureVersion`"));
            }
            None => return Err(missing("SignatureVersion")),
        };
        let cert_url = fields
            .signing_cert_url
            .as_ref()
            .or(fields.signing_cert_url_lambda.as_ref())
            .ok_or_else(|| missing("SigningCertURL"))?;
        if !is_signing_cert_url(cert_url) {
            return Err(VerifyError::invalid_signature()
                .with_message("`SigningCertURL` is not an Amazon SNS certificate address"));
        }
        // A fetched certificate is looked up before the topic is checked, so that whether it
        // is held (or 503) says nothing about the topic.
        #[cfg(feature = "fetch")]
        let fetched = match &self.keys {
            Keys::Fetched(cache) => {
                if !is_fetchable_cert_url(cert_url) {
                    return Err(VerifyError::invalid_signature().with_message(
                        "`SigningCertURL` is not the address of an Amazon SNS signing certificate",
                    ));
                }
                Some(cache.key(cert_url)?)
            }
            Keys::Pinned { .. } => None,
        };
        let topic = required(fields.topic_arn.as_ref(), "TopicArn")?;
        let signature = required(fields.signature.as_ref(), "Signature")?;
        let message_id = required(fields.message_id.as_ref(), "MessageId")?;
        if message_id.is_empty() || message_id.len() > MAX_MESSAGE_ID {
            return Err(VerifyError::invalid_signature().with_message("invalid `MessageId`"));
        }
        let timestamp = required(fields.timestamp.as_ref(), "Timestamp")?;
        let ts_ms = TimeFormat::Rfc3339
            .parse_ms("Timestamp", timestamp)
            .map_err(|_| {
                VerifyError::invalid_signature()
                    .with_message("SNS field `Timestamp` is not an RFC 3339 time")
            })?;
        let content = canonical(kind, &fields)?;
        // The topic after every check whose answer names a field and before the signature's,
        // so that a foreign topic is answered as a bad signature is, whatever else the
        // message holds.
        if !self.topics.iter().any(|t| t == topic) {
            tracing::debug!("SNS message of a topic this verifier does not accept");
            return Err(VerifyError::invalid_signature());
        }
        let now = self.freshness.now_ms();
        let (key_id, replay) = match &self.keys {
            Keys::Pinned { sha1, sha256, .. } => {
                let verifier = match version {
                    SignatureVersion::V1 => sha1,
                    SignatureVersion::V2 => sha256,
                };
                let (key, replay) = verifier.verify_content(content, signature, now)?;
                (key.id().to_owned(), replay)
            }
            #[cfg(feature = "fetch")]
            Keys::Fetched(_) => {
                let key = fetched.ok_or_else(VerifyError::invalid_signature)?;
                let verifier = fetched_verifier(version, key)?;
                let (key, replay) = verifier.verify_content(content, signature, now)?;
                (key.id().to_owned(), replay)
            }
        };
        self.freshness.check_ms_at(ts_ms, now)?;
        // Only a delivery that passed every check keeps its certificate in use: a stale
        // copy, however genuine its signature, must not hold a certificate of its choice.
        #[cfg(feature = "fetch")]
        if let Keys::Fetched(cache) = &self.keys {
            cache.verified(cert_url);
        }
        Ok(Proof::new("sns")
            .with_key_id(key_id)
            .with_message_id(message_id)
            .with_timestamp_ms(ts_ms)
            .with_signature(&replay))
    }
}

/// The verifier of a fetched certificate's key: SNS signs with RSA of 2048 to 4096 bits.
#[cfg(feature = "fetch")]
fn fetched_verifier(
    version: SignatureVersion,
    key: crate::PublicKey,
) -> Result<AsymmetricVerifier, VerifyError> {
    scheme(version).verifier(key).map_err(|_| {
        tracing::error!(
            "the fetched SNS signing certificate's key is not RSA of 2048 to 4096 bits"
        );
        VerifyError::invalid_signature()
    })
}

/// A message to sign with an [`SnsSigner`]: its type, topic and payload, and optionally its
/// id, subject and time (a random id and the current time otherwise). `Debug` shows the type,
/// topic and id, not the payload or a confirmation's token.
#[derive(Clone)]
pub struct Message {
    kind: MessageType,
    topic_arn: String,
    message: String,
    message_id: Option<String>,
    subject: Option<String>,
    timestamp_ms: Option<i64>,
    token: String,
    subscribe_url: String,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &self.kind)
            .field("topic_arn", &self.topic_arn)
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

impl Message {
    /// A notification of `topic_arn` carrying `message` (for SES, the event's JSON).
    #[must_use]
    pub fn notification(topic_arn: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: MessageType::Notification,
            topic_arn: topic_arn.into(),
            message: message.into(),
            message_id: None,
            subject: None,
            timestamp_ms: None,
            token: String::new(),
            subscribe_url: String::new(),
        }
    }

    /// A subscription confirmation of `topic_arn`, with its token and the URL that confirms it.
    #[must_use]
    pub fn subscription_confirmation(
        topic_arn: impl Into<String>,
        token: impl Into<String>,
        subscribe_url: impl Into<String>,
    ) -> Self {
        let mut message = Self::notification(
            topic_arn,
            "You have chosen to subscribe to the topic. To confirm the subscription, visit the \
             SubscribeURL included in this message.",
        );
        message.kind = MessageType::SubscriptionConfirmation;
        message.token = token.into();
        message.subscribe_url = subscribe_url.into();
        message
    }

    /// An unsubscribe confirmation of `topic_arn`, with its token and the URL that would
    /// subscribe the endpoint again.
    #[must_use]
    pub fn unsubscribe_confirmation(
        topic_arn: impl Into<String>,
        token: impl Into<String>,
        subscribe_url: impl Into<String>,
    ) -> Self {
        let mut message = Self::subscription_confirmation(topic_arn, token, subscribe_url);
        message.kind = MessageType::UnsubscribeConfirmation;
        message.message = "You have chosen to deactivate subscription.".to_owned();
        message
    }

    /// Set the `MessageId`.
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Set the `Subject` (notifications only).
    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Set the `Timestamp`, in Unix milliseconds.
    #[must_use]
    pub fn timestamp_ms(mut self, ms: i64) -> Self {
        self.timestamp_ms = Some(ms);
        self
    }
}

/// Signs SNS messages as SNS does, producing the whole JSON body: the twin of [`verifier`],
/// for testing your handlers.
///
/// ```
/// use webhook_core::provider::sns;
/// use webhook_core::{PrivateKey, Verifier, WebhookRequest};
///
/// let key = PrivateKey::from_pem(include_str!(concat!(
///     env!("CARGO_MANIFEST_DIR"),
///     "/tests/fixtures/asym/rsa2048-private.pem"
/// )))?;
/// let topic = "arn:aws:sns:eu-west-1:123456789012:ses-events";
/// let signer = sns::signer(
///     key.clone(),
///     "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem",
/// )?;
/// let verifier = sns::verifier(key.public_key(), [topic])?;
///
/// let message = sns::Message::notification(topic, r#"{"eventType":"Bounce"}"#);
/// let body = signer.sign(&message).unwrap();
/// let proof = verifier.verify(&WebhookRequest::new(body.as_bytes())).unwrap();
/// assert_eq!(proof.scheme(), "sns");
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Security
///
/// RSA signing is not constant-time in the `rsa` crate: meant for tests (see [`PrivateKey`]).
#[derive(Clone)]
pub struct SnsSigner {
    signer: AsymmetricSigner,
    key: PrivateKey,
    version: SignatureVersion,
    cert_url: String,
    clock: SharedClock,
}

impl fmt::Debug for SnsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsSigner")
            .field("version", &self.version)
            .field("cert_url", &self.cert_url)
            .finish_non_exhaustive()
    }
}

/// A signer with `key` (RSA) naming `signing_cert_url` as its certificate, signing with
/// `SignatureVersion` 2 (SHA-256) unless told otherwise.
///
/// # Errors
///
/// The key is not RSA of at least 2048 bits, or the URL is not an SNS certificate address
/// ([`is_signing_cert_url`]).
pub fn signer(key: PrivateKey, signing_cert_url: &str) -> Result<SnsSigner, ConfigError> {
    if !is_signing_cert_url(signing_cert_url) {
        return Err(ConfigError::new(
            "the signing certificate URL must be https://sns.<region>.amazonaws.com/<name>.pem",
        ));
    }
    Ok(SnsSigner {
        signer: scheme(SignatureVersion::V2).signer(key.clone())?,
        key,
        version: SignatureVersion::V2,
        cert_url: signing_cert_url.to_owned(),
        clock: Arc::new(SystemClock),
    })
}

impl SnsSigner {
    /// Sign with this `SignatureVersion`.
    ///
    /// # Errors
    ///
    /// Never for an RSA key (the signer's key was checked when it was made).
    pub fn signature_version(mut self, version: SignatureVersion) -> Result<Self, ConfigError> {
        self.signer = scheme(version).signer(self.key.clone())?;
        self.version = version;
        Ok(self)
    }

    /// Read the time of messages without a timestamp from this clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The JSON body SNS would POST for `message`.
    ///
    /// # Errors
    ///
    /// A timestamp outside the years 0–9999, or the key failed to sign.
    pub fn sign(&self, message: &Message) -> Result<String, SignError> {
        let ms = message.timestamp_ms.unwrap_or_else(|| self.clock.now_ms());
        let timestamp =
            sns_timestamp(ms).ok_or_else(|| SignError::new("timestamp out of range"))?;
        let message_id = message
            .message_id
            .clone()
            .unwrap_or_else(crate::random_message_id);
        let subject = match message.kind {
            MessageType::Notification => message.subject.as_deref(),
            _ => None,
        };
        let confirmation = message.kind != MessageType::Notification;
        let fields = Fields {
            message_type: Some(message.kind.as_str().into()),
            message: Some(message.message.as_str().into()),
            message_id: Some(message_id.as_str().into()),
            subject: subject.map(Into::into),
            subscribe_url: confirmation.then(|| message.subscribe_url.as_str().into()),
            token: confirmation.then(|| message.token.as_str().into()),
            timestamp: Some(timestamp.as_str().into()),
            topic_arn: Some(message.topic_arn.as_str().into()),
            signature_version: None,
            signature: None,
            signing_cert_url: None,
            signing_cert_url_lambda: None,
        };
        let content =
            canonical(message.kind, &fields).map_err(|e| SignError::new(e.message().to_owned()))?;
        let signature = STANDARD.encode(self.signer.raw_signature(&content)?);
        let mut body = serde_json::Map::new();
        let mut put = |name: &str, value: &str| {
            body.insert(name.to_owned(), serde_json::Value::String(value.to_owned()));
        };
        put("Type", message.kind.as_str());
        put("MessageId", &message_id);
        if confirmation {
            put("Token", &message.token);
        }
        put("TopicArn", &message.topic_arn);
        if let Some(subject) = subject {
            put("Subject", subject);
        }
        put("Message", &message.message);
        if confirmation {
            put("SubscribeURL", &message.subscribe_url);
        }
        put("Timestamp", &timestamp);
        put("SignatureVersion", self.version.as_str());
        put("Signature", &signature);
        put("SigningCertURL", &self.cert_url);
        Ok(serde_json::Value::Object(body).to_string())
    }
}

/// `ms` as SNS writes a timestamp: RFC 3339 in UTC with milliseconds.
fn sns_timestamp(ms: i64) -> Option<String> {
    let text = TimeFormat::Rfc3339.format_ms(ms.div_euclid(1000).checked_mul(1000)?);
    let seconds = text.strip_suffix('Z')?;
    Some(format!("{seconds}.{:03}Z", ms.rem_euclid(1000)))
}
