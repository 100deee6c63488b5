//! The configurable HMAC building block that most providers are parameters of.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use crate::clock::{self, SharedClock};
use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::freshness::{Freshness, TimeFormat};
use crate::request::{WebhookRequest, header_text};
use crate::secret::{KeyRing, Secret};
use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::verify::{Proof, Verifier};

/// Longest signature header accepted, in bytes: generous for rotation lists, small enough that
/// a flood of huge headers costs nothing.
pub(crate) const MAX_SIGNATURE_HEADER: usize = 8 * 1024;
/// Most signature entries tried from one request; more is rejected as malformed.
pub(crate) const MAX_SIGNATURES: usize = 16;

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HmacAlgorithm {
    /// HMAC-SHA1 (Twilio, Intercom, Vercel, GitHub's legacy header): still sound as a MAC.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl HmacAlgorithm {
    /// Length of the tag in bytes.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// How signature bytes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Hexadecimal; lower case when signing, either case accepted.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl Encoding {
    pub(crate) fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Self::Hex => hex::decode(text).ok(),
            Self::Base64 => STANDARD.decode(text).ok(),
        }
    }

    pub(crate) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => STANDARD.encode(bytes),
        }
    }
}

/// One piece of the signed content, fed to the MAC in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The raw body bytes.
    Body,
    /// The timestamp exactly as received (its text, not a re-formatting).
    Timestamp,
    /// The message id header's value.
    MessageId,
    /// The full URL as the sender addressed it.
    Url,
    /// The full URL with the percent-escapes of these ASCII characters decoded (either case
    /// of hex digit), every other byte as received: HubSpot v3 decodes those of
    /// `:/?@!$'()*,;` before signing ([`provider::hubspot`](crate::provider::hubspot)).
    UrlDecoding(Cow<'static, str>),
    /// The method, e.g. `POST`.
    Method,
    /// The form-encoded body's parameters: names sorted, and for each name its distinct values
    /// sorted, written as `name‖value` with no separators (Twilio, Mandrill). A body of more
    /// than 1024 parameters is refused (401 `invalid_signature`) before any is read.
    SortedFormParams,
    /// Fixed text, e.g. a separator `.` or a version `v0:`.
    Literal(Cow<'static, str>),
}

impl Part {
    /// Fixed text.
    #[must_use]
    pub fn lit(text: &'static str) -> Self {
        Self::Literal(Cow::Borrowed(text))
    }
}

/// Write `url` into `sink` with each `%XX` escape of a character of `decoded` written as that
/// character (`%3A` and `%3a` as `:`), and every other byte as it is.
fn write_decoding(url: &str, decoded: &str, sink: &mut impl FnMut(&[u8])) {
    let bytes = url.as_bytes();
    let (mut start, mut i) = (0, 0);
    while let Some(&byte) = bytes.get(i) {
        let escaped = match (byte, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_value(hi)
                .zip(hex_value(lo))
                .map(|(hi, lo)| hi << 4 | lo)
                .filter(|c| c.is_ascii() && decoded.as_bytes().contains(c)),
            _ => None,
        };
        match escaped {
            Some(c) => {
                sink(bytes.get(start..i).unwrap_or_default());
                sink(&[c]);
                i += 3;
                start = i;
            }
            None => i += 1,
        }
    }
    sink(bytes.get(start..).unwrap_or_default());
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// How the signature header is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureFormat {
    /// The value is one signature after a fixed prefix, e.g. `sha256=<hex>` (GitHub) or no
    /// prefix at all (Shopify).
    Single {
        /// Text before the encoded signature; may be empty.
        prefix: Cow<'static, str>,
    },
    /// `key=value` pairs, e.g. Stripe's `t=…,v1=…,v1=…` or Paddle's `ts=…;h1=…`. Every pair
    /// with the signature key is a candidate; unknown keys are ignored.
    KeyValue {
        /// Between pairs: `,` (Stripe) or `;` (Paddle).
        separator: char,
        /// The key of signature entries: `v1` (Stripe), `h1` (Paddle).
        signature_key: Cow<'static, str>,
        /// The key of the timestamp, when the timestamp travels in this header: `t`, `ts`.
        timestamp_key: Option<Cow<'static, str>>,
    },
    /// Space-separated `version,signature` entries (Standard Webhooks `v1,…`). Entries of other
    /// versions are ignored.
    Versioned {
        /// The version accepted, e.g. `v1`.
        version: Cow<'static, str>,
    },
}

impl SignatureFormat {
    /// A single signature after `prefix`.
    #[must_use]
    pub fn prefixed(prefix: &'static str) -> Self {
        Self::Single {
            prefix: Cow::Borrowed(prefix),
        }
    }

    /// `key=value` pairs with the timestamp inside.
    #[must_use]
    pub fn key_value(
        separator: char,
        timestamp_key: &'static str,
        signature_key: &'static str,
    ) -> Self {
        Self::KeyValue {
            separator,
            signature_key: Cow::Borrowed(signature_key),
            timestamp_key: Some(Cow::Borrowed(timestamp_key)),
        }
    }

    /// Space-separated `version,signature` entries.
    #[must_use]
    pub fn versioned(version: &'static str) -> Self {
        Self::Versioned {
            version: Cow::Borrowed(version),
        }
    }
}

/// Where the timestamp comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampSource {
    /// The scheme signs no timestamp; no freshness check is possible (use a replay store).
    None,
    /// A header of its own.
    Header(Cow<'static, str>, TimeFormat),
    /// Inside the signature header ([`SignatureFormat::KeyValue`] with a timestamp key).
    SignatureHeader(TimeFormat),
}

/// A configuration of the HMAC building block: algorithm, headers, signature layout and the
/// signed content. Turn it into a [`HmacVerifier`] with keys, or a [`HmacSigner`] with a
/// secret.
///
/// # Examples
///
/// A scheme like GitHub's: `X-Hub-Signature-256: sha256=<hex of HMAC-SHA256(body)>`.
///
/// ```
/// use webhook_core::{HmacAlgorithm, HmacScheme, Encoding, Outgoing, Part, Secret,
///     SignatureFormat, Signer, Verifier, WebhookRequest};
///
/// let scheme = HmacScheme::new("github", HmacAlgorithm::Sha256, "x-hub-signature-256")
///     .format(SignatureFormat::prefixed("sha256="))
///     .encoding(Encoding::Hex)
///     .content([Part::Body]);
/// let secret = Secret::from_text("It's a Secret to Everybody")?;
///
/// let body = b"Hello, World!";
/// let headers = scheme.clone().signer(secret.clone()).sign(&Outgoing::new(body)).unwrap();
/// assert_eq!(
///     headers.get("x-hub-signature-256"),
///     Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
/// );
///
/// let verifier = scheme.verifier(secret)?;
/// let request = headers.apply(WebhookRequest::new(body));
/// assert_eq!(verifier.verify(&request).unwrap().scheme(), "github");
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct HmacScheme {
    name: Cow<'static, str>,
    algorithm: HmacAlgorithm,
    layout: Layout,
}

/// Where a signature scheme finds and signs its pieces: the signature header and its layout,
/// the encoding, the signed content, the timestamp and the message id. Shared by every
/// signature building block (HMAC and asymmetric), with the rules that make it consistent.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) signature_header: Cow<'static, str>,
    /// Another name the sender may give the signature header, read only when the request
    /// has no `signature_header`.
    pub(crate) signature_header_alias: Option<Cow<'static, str>>,
    pub(crate) format: SignatureFormat,
    pub(crate) encoding: Encoding,
    pub(crate) content: Vec<Part>,
    pub(crate) timestamp: TimestampSource,
    pub(crate) message_id_header: Option<Cow<'static, str>>,
}

impl Layout {
    /// The body alone, one bare signature of `encoding` in `signature_header`.
    pub(crate) fn new(signature_header: Cow<'static, str>, encoding: Encoding) -> Self {
        Self {
            signature_header,
            signature_header_alias: None,
            format: SignatureFormat::prefixed(""),
            encoding,
            content: vec![Part::Body],
            timestamp: TimestampSource::None,
            message_id_header: None,
        }
    }

    /// Refuse layouts that cannot work or cannot be trusted: nothing signed, a signed
    /// timestamp or id with no source, a timestamp or message id read but not signed (a
    /// sender could then change it at will: a replayed delivery would look fresh and new), a
    /// timestamp key in the signature header without a timestamp source or the other way
    /// round.
    pub(crate) fn check(&self, name: &str) -> Result<(), ConfigError> {
        if self.content.is_empty() {
            return Err(ConfigError::new(format!("scheme `{name}` signs nothing")));
        }
        if self.content.contains(&Part::Timestamp)
            && matches!(self.timestamp, TimestampSource::None)
        {
            return Err(ConfigError::new(format!(
                "scheme `{name}` signs a timestamp but has no timestamp source"
            )));
        }
        if self.content.contains(&Part::MessageId) && self.message_id_header.is_none() {
            return Err(ConfigError::new(format!(
                "scheme `{name}` signs a message id but has no message id header"
            )));
        }
        if self.has_timestamp() && !self.content.contains(&Part::Timestamp) {
            return Err(ConfigError::new(format!(
                "scheme `{name}` reads a timestamp it does not sign: anyone could set it, so it \
                 cannot prove freshness; sign it (`Part::Timestamp`) or drop the timestamp source"
            )));
        }
        if let Some(header) = &self.message_id_header
            && !self.content.contains(&Part::MessageId)
        {
            return Err(ConfigError::new(format!(
                "scheme `{name}` reads the message id header `{header}` but does not sign it: \
                 anyone could change it, and deliveries are deduplicated by it; sign it \
                 (`Part::MessageId`) or drop the header (deliveries are then deduplicated by \
                 their signature)"
            )));
        }
        let ts_in_sig = matches!(self.timestamp, TimestampSource::SignatureHeader(_));
        let format_has_ts = matches!(
            &self.format,
            SignatureFormat::KeyValue {
                timestamp_key: Some(_),
                ..
            }
        );
        if ts_in_sig != format_has_ts {
            return Err(ConfigError::new(format!(
                "scheme `{name}`: a timestamp in the signature header needs a key-value format \
                 with a timestamp key, and only then"
            )));
        }
        Ok(())
    }

    /// The name of the signature header this request carries: the alias only when the
    /// request has no header of the main name (a missing header is reported by the main name).
    pub(crate) fn signature_header_in(&self, request: &WebhookRequest<'_>) -> &str {
        match &self.signature_header_alias {
            Some(alias)
                if request.header(&self.signature_header).is_none()
                    && request.header(alias).is_some() =>
            {
                alias
            }
            _ => &self.signature_header,
        }
    }

    /// Whether the layout signs a timestamp (so freshness applies).
    pub(crate) fn has_timestamp(&self) -> bool {
        !matches!(self.timestamp, TimestampSource::None)
    }

    /// The timestamp's text and value, from the request (`from_sig`: the text found in the
    /// signature header).
    pub(crate) fn read_timestamp<'r>(
        &self,
        request: &WebhookRequest<'r>,
        from_sig: Option<&'r str>,
    ) -> Result<Option<(&'r str, i64)>, VerifyError> {
        match &self.timestamp {
            TimestampSource::None => Ok(None),
            TimestampSource::Header(name, format) => {
                let text = request.require_single(name)?;
                Ok(Some((text, format.parse_ms(name, text)?)))
            }
            TimestampSource::SignatureHeader(format) => {
                let text = from_sig.ok_or_else(|| {
                    VerifyError::malformed_header(&self.signature_header, "no timestamp")
                })?;
                Ok(Some((text, format.parse_ms(&self.signature_header, text)?)))
            }
        }
    }

    /// The message id, when the layout has one.
    pub(crate) fn read_message_id<'r>(
        &self,
        request: &WebhookRequest<'r>,
    ) -> Result<Option<&'r str>, VerifyError> {
        match &self.message_id_header {
            Some(name) => Ok(Some(request.require_single(name)?)),
            None => Ok(None),
        }
    }

    /// Whether the signed content includes the URL.
    pub(crate) fn signs_url(&self) -> bool {
        self.content
            .iter()
            .any(|part| matches!(part, Part::Url | Part::UrlDecoding(_)))
    }

    /// Whether a verifier of this layout is safe only with a replay store: it signs no
    /// timestamp (nothing else would ever refuse a copy), or it does not sign the raw body
    /// (`Part::SortedFormParams` binds it loosely; without either, not at all), so a captured
    /// signature can carry another body while it is fresh, and only the claim on its key
    /// refuses it.
    pub(crate) fn needs_replay_store(&self) -> bool {
        !self.has_timestamp() || !self.signs_body()
    }

    /// Whether the signed content holds the raw body.
    pub(crate) fn signs_body(&self) -> bool {
        self.content.iter().any(|part| matches!(part, Part::Body))
    }

    /// What the signed content is built from.
    pub(crate) fn content<'c>(
        &self,
        body: &'c [u8],
        method: &'c str,
        url: Option<&'c str>,
        timestamp: Option<&'c str>,
        message_id: Option<&'c str>,
    ) -> Result<Content<'c>, ContentError> {
        if self.signs_url() && url.is_none() {
            return Err(ContentError::NoUrl);
        }
        let form = if self.content.contains(&Part::SortedFormParams) {
            Some(sorted_form_params(body).ok_or(ContentError::TooManyFormParams)?)
        } else {
            None
        };
        Ok(Content {
            body,
            method,
            url,
            timestamp,
            message_id,
            form,
        })
    }

    /// Write the signed content, part by part, into `sink` (a MAC, or a buffer).
    pub(crate) fn write(&self, input: &Content<'_>, mut sink: impl FnMut(&[u8])) {
        for part in &self.content {
            match part {
                Part::Body => sink(input.body),
                Part::Timestamp => sink(input.timestamp.unwrap_or_default().as_bytes()),
                Part::MessageId => sink(input.message_id.unwrap_or_default().as_bytes()),
                Part::Url => sink(input.url.unwrap_or_default().as_bytes()),
                Part::UrlDecoding(decoded) => {
                    write_decoding(input.url.unwrap_or_default(), decoded, &mut sink);
                }
                Part::Method => sink(input.method.as_bytes()),
                Part::SortedFormParams => {
                    for (k, v) in input.form.iter().flatten() {
                        sink(k.as_bytes());
                        sink(v.as_bytes());
                    }
                }
                Part::Literal(text) => sink(text.as_bytes()),
            }
        }
    }

    /// The headers a sender sends for `message`: the id (the message's, or a random one) and the
    /// timestamp (the message's, or `now_ms`) where the layout has them, then the signature
    /// `sign(timestamp text, id)` laid out in the signature header.
    pub(crate) fn signed_headers(
        &self,
        message: &Outgoing<'_>,
        now_ms: i64,
        sign: impl FnOnce(Option<&str>, Option<&str>) -> Result<String, SignError>,
    ) -> Result<SignedHeaders, SignError> {
        let ts_ms = message.timestamp().unwrap_or(now_ms);
        let timestamp = match &self.timestamp {
            TimestampSource::None => None,
            TimestampSource::Header(_, format) | TimestampSource::SignatureHeader(format) => {
                let text = format.format_ms(ts_ms);
                // What the verifier cannot read back (a time before 1970) is refused here,
                // rather than signed into a delivery no verifier accepts.
                if format.parse_ms("timestamp", &text).is_err() {
                    return Err(SignError::new(
                        "the timestamp cannot be written in the scheme's format (before 1970?)",
                    ));
                }
                Some(text)
            }
        };
        let id = match &self.message_id_header {
            Some(name) => {
                let id = message.id_or_random();
                // The verifier reads the id as visible ASCII and trims it: an id it would
                // read differently is refused.
                if crate::request::header_text(name, id.as_bytes()).ok() != Some(&*id) {
                    return Err(SignError::new(
                        "the message id must be visible ASCII without surrounding spaces",
                    ));
                }
                Some(id)
            }
            None => None,
        };
        let sig = sign(timestamp.as_deref(), id.as_deref())?;
        let mut headers = SignedHeaders::new();
        if let (Some(name), Some(id)) = (self.message_id_header.as_deref(), &id) {
            headers.push(name, id.to_string());
        }
        if let (TimestampSource::Header(name, _), Some(ts)) = (&self.timestamp, &timestamp) {
            headers.push(name.to_string(), ts.clone());
        }
        let value = match &self.format {
            SignatureFormat::Single { prefix } => format!("{prefix}{sig}"),
            SignatureFormat::KeyValue {
                separator,
                signature_key,
                timestamp_key,
            } => match (timestamp_key, &timestamp) {
                (Some(tk), Some(ts)) => format!("{tk}={ts}{separator}{signature_key}={sig}"),
                _ => format!("{signature_key}={sig}"),
            },
            SignatureFormat::Versioned { version } => format!("{version},{sig}"),
        };
        headers.push(self.signature_header.to_string(), value);
        Ok(headers)
    }
}

impl HmacScheme {
    /// A scheme named `name` (reported in proofs), signing the body alone with a bare hex
    /// signature in `signature_header` until told otherwise.
    #[must_use]
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        algorithm: HmacAlgorithm,
        signature_header: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            name: name.into(),
            algorithm,
            layout: Layout::new(signature_header.into(), Encoding::Hex),
        }
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

    /// Another name the sender may give the signature header (Shopify sends
    /// `shopify-hmac-sha256` on some deliveries, `x-shopify-hmac-sha256` on others). It is
    /// read only when the request has no header of the main name; nothing else about the
    /// signature changes.
    #[must_use]
    pub fn signature_header_alias(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.layout.signature_header_alias = Some(name.into());
        self
    }

    /// The scheme's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A verifier accepting signatures by any active key of `keys`, with the default
    /// [`Freshness`] (5 minutes either way).
    ///
    /// # Errors
    ///
    /// An empty key ring, or an inconsistent scheme (a signed timestamp with no source…).
    pub fn verifier(self, keys: impl Into<KeyRing>) -> Result<HmacVerifier, ConfigError> {
        self.layout.check(&self.name)?;
        let keys = keys.into();
        keys.ensure_not_empty()?;
        Ok(HmacVerifier {
            scheme: Arc::new(self),
            keys,
            freshness: Freshness::default(),
        })
    }

    /// A signer using `secret`, reading the system clock for unset timestamps.
    ///
    /// A scheme that no verifier can be built for (a signed timestamp with no source…) makes
    /// every [`sign`](Signer::sign) fail, saying why, rather than sign what nothing accepts.
    #[must_use]
    pub fn signer(self, secret: Secret) -> HmacSigner {
        let inconsistent = self
            .layout
            .check(&self.name)
            .err()
            .map(|error| error.to_string());
        HmacSigner {
            scheme: Arc::new(self),
            secret,
            clock: clock::system(),
            inconsistent,
        }
    }

    /// The candidate signatures (decoded, of the right length) and the timestamp text found in
    /// the signature header.
    fn read_signatures<'r>(
        &self,
        request: &WebhookRequest<'r>,
        candidates: &mut Candidates,
    ) -> Result<Option<&'r str>, VerifyError> {
        let expected_len = self.algorithm.output_len();
        let layout = &self.layout;
        let header = layout.signature_header_in(request);
        for_each_signature_entry(&layout.format, header, request, |text| {
            candidates.push_decoded(layout.encoding, text, expected_len);
        })
    }
}

/// Walk the signature entries of `name` in `request` laid out as `format`, calling `entry` with
/// each encoded signature text (trimmed, not yet decoded), and return the timestamp text found
/// in the header, if the format carries one.
///
/// Bounded: the header's total length and the number of entries; a missing header, a missing
/// prefix or conflicting timestamps are errors. Shared by every signature building block.
pub(crate) fn for_each_signature_entry<'r>(
    format: &SignatureFormat,
    name: &str,
    request: &WebhookRequest<'r>,
    mut entry: impl FnMut(&'r str),
) -> Result<Option<&'r str>, VerifyError> {
    let mut values = request.header_values(name).peekable();
    if values.peek().is_none() {
        return Err(VerifyError::missing_header(name));
    }
    let mut timestamp: Option<&'r str> = None;
    let mut total = 0usize;
    let mut count = 0usize;
    let mut emit = |text: &'r str| -> Result<(), VerifyError> {
        count += 1;
        if count > MAX_SIGNATURES {
            return Err(VerifyError::malformed_header(name, "too many signatures"));
        }
        entry(text.trim());
        Ok(())
    };
    for raw in values {
        total = total.saturating_add(raw.len());
        if total > MAX_SIGNATURE_HEADER {
            return Err(VerifyError::malformed_header(name, "too long"));
        }
        let value = header_text(name, raw)?;
        match format {
            SignatureFormat::Single { prefix } => match value.strip_prefix(&**prefix) {
                Some(sig) => emit(sig)?,
                None => return Err(VerifyError::malformed_header(name, "missing prefix")),
            },
            SignatureFormat::KeyValue {
                separator,
                signature_key,
                timestamp_key,
            } => {
                for pair in value.split(*separator) {
                    let Some((k, v)) = pair.split_once('=') else {
                        continue;
                    };
                    let (k, v) = (k.trim(), v.trim());
                    if k == signature_key {
                        emit(v)?;
                    } else if timestamp_key.as_deref() == Some(k) {
                        if timestamp.is_some_and(|t| t != v) {
                            return Err(VerifyError::malformed_header(
                                name,
                                "conflicting timestamps",
                            ));
                        }
                        timestamp = Some(v);
                    }
                }
            }
            SignatureFormat::Versioned { version } => {
                for item in value.split(' ') {
                    if let Some((v, sig)) = item.split_once(',')
                        && v == version
                    {
                        emit(sig)?;
                    }
                }
            }
        }
    }
    Ok(timestamp)
}

/// Decoded candidate signatures, on the stack: at most [`MAX_SIGNATURES`] of at most 64 bytes.
pub(crate) struct Candidates {
    bytes: [[u8; 64]; MAX_SIGNATURES],
    lens: [usize; MAX_SIGNATURES],
    count: usize,
}

impl Candidates {
    pub(crate) fn new() -> Self {
        Self {
            bytes: [[0; 64]; MAX_SIGNATURES],
            lens: [0; MAX_SIGNATURES],
            count: 0,
        }
    }

    /// Decode `text`; keep it only when it decodes to exactly `len` bytes.
    fn push_decoded(&mut self, encoding: Encoding, text: &str, len: usize) {
        let (Some(slot), Some(slot_len)) = (
            self.bytes.get_mut(self.count),
            self.lens.get_mut(self.count),
        ) else {
            return;
        };
        let Some(out) = slot.get_mut(..len) else {
            return;
        };
        let ok = match encoding {
            Encoding::Hex => text.len() == len * 2 && hex::decode_to_slice(text, out).is_ok(),
            Encoding::Base64 => {
                // A 64-byte tag is 88 base64 characters: decode into a scratch buffer with room
                // for the decoder's worst case, then check the length.
                let mut scratch = [0u8; 66];
                matches!(STANDARD.decode_slice(text, &mut scratch), Ok(n) if n == len)
                    && scratch.get(..len).is_some_and(|d| {
                        out.copy_from_slice(d);
                        true
                    })
            }
        };
        if ok {
            *slot_len = len;
            self.count += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes
            .iter()
            .zip(self.lens.iter())
            .take(self.count)
            .map(|(b, l)| b.get(..*l).unwrap_or_default())
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Why the signed content could not be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentError {
    /// The scheme signs the URL and the endpoint's public URL is not configured.
    NoUrl,
    /// The form has more than [`MAX_FORM_PARAMS`] parameters.
    TooManyFormParams,
}

impl ContentError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::NoUrl => "the public url of this endpoint is not configured",
            Self::TooManyFormParams => TOO_MANY_FORM_PARAMS,
        }
    }
}

impl From<ContentError> for VerifyError {
    fn from(error: ContentError) -> Self {
        match error {
            ContentError::NoUrl => {
                VerifyError::new(VerifyErrorKind::NotConfigured).with_message(error.message())
            }
            ContentError::TooManyFormParams => {
                VerifyError::invalid_signature().with_message(error.message())
            }
        }
    }
}

/// What the signed content is built from.
pub(crate) struct Content<'c> {
    body: &'c [u8],
    method: &'c str,
    url: Option<&'c str>,
    timestamp: Option<&'c str>,
    message_id: Option<&'c str>,
    form: Option<Vec<(String, String)>>,
}

/// Most parameters a signed form may have (Twilio's have a few dozen): a body of a million
/// empty `a&` pairs would otherwise be copied and sorted, fifty times its size in memory,
/// before any signature is checked.
pub(crate) const MAX_FORM_PARAMS: usize = 1024;

/// Why a form's parameters were not read.
pub(crate) const TOO_MANY_FORM_PARAMS: &str =
    "more form parameters than a signed form may have (1024)";

/// Form parameters sorted by name, each name's distinct values sorted (Twilio's rule);
/// `None` when the body has more than [`MAX_FORM_PARAMS`] (counted in place, as the parser
/// reads them: the non-empty runs between `&`s, before anything is copied).
pub(crate) fn sorted_form_params(body: &[u8]) -> Option<Vec<(String, String)>> {
    let params = body
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .count();
    if params > MAX_FORM_PARAMS {
        return None;
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs.dedup();
    Some(pairs)
}

/// An HMAC in progress, for whichever hash the scheme uses.
pub(crate) enum MacState {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<sha2::Sha256>),
    Sha512(Hmac<sha2::Sha512>),
}

/// A MAC under a random key nobody knows.
fn unforgeable<M: hmac::digest::KeyInit>() -> M {
    use rand_core::RngCore as _;
    let mut key = hmac::digest::Key::<M>::default();
    rand_core::OsRng.fill_bytes(&mut key);
    M::new(&key)
}

impl MacState {
    pub(crate) fn new(algorithm: HmacAlgorithm, key: &[u8]) -> Self {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here. Were it ever
        // to, the fallback is keyed with fresh random bytes: it fails closed (no signature
        // matches it) where a fixed key would let anyone sign.
        match algorithm {
            HmacAlgorithm::Sha1 => {
                Self::Sha1(Hmac::new_from_slice(key).unwrap_or_else(|_| unforgeable()))
            }
            HmacAlgorithm::Sha256 => {
                Self::Sha256(Hmac::new_from_slice(key).unwrap_or_else(|_| unforgeable()))
            }
            HmacAlgorithm::Sha512 => {
                Self::Sha512(Hmac::new_from_slice(key).unwrap_or_else(|_| unforgeable()))
            }
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(m) => m.update(data),
            Self::Sha256(m) => m.update(data),
            Self::Sha512(m) => m.update(data),
        }
    }

    /// The tag, in a fixed buffer with its length.
    pub(crate) fn finalize(self) -> Tag {
        let mut tag = Tag {
            bytes: [0u8; 64],
            len: 0,
        };
        let out: &[u8] = match self {
            Self::Sha1(m) => &m.finalize().into_bytes(),
            Self::Sha256(m) => &m.finalize().into_bytes(),
            Self::Sha512(m) => &m.finalize().into_bytes(),
        };
        tag.len = out.len().min(64);
        if let (Some(dst), Some(src)) = (tag.bytes.get_mut(..tag.len), out.get(..tag.len)) {
            dst.copy_from_slice(src);
        }
        tag
    }
}

/// A finished MAC tag.
pub(crate) struct Tag {
    bytes: [u8; 64],
    len: usize,
}

impl Tag {
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// Constant-time comparison with a candidate (lengths are public).
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        self.as_slice().ct_eq(candidate).into()
    }
}

/// Verifies requests of one [`HmacScheme`] against a [`KeyRing`].
///
/// Every active key is tried against every signature entry; comparison is constant-time.
/// The signature is checked first, then the timestamp's freshness.
#[derive(Clone)]
pub struct HmacVerifier {
    scheme: Arc<HmacScheme>,
    keys: KeyRing,
    freshness: Freshness,
}

impl fmt::Debug for HmacVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacVerifier")
            .field("scheme", &self.scheme.name)
            .field("keys", &self.keys.len())
            .field("freshness", &self.freshness)
            .finish()
    }
}

impl HmacVerifier {
    /// Use this freshness policy (tolerance and clock).
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.freshness = freshness;
        self
    }

    /// The scheme.
    #[must_use]
    pub fn scheme(&self) -> &HmacScheme {
        &self.scheme
    }
}

impl Verifier for HmacVerifier {
    fn freshness_window(&self) -> Option<Duration> {
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
        let mut candidates = Candidates::new();
        let ts_in_sig = scheme.read_signatures(request, &mut candidates)?;
        let timestamp = scheme.layout.read_timestamp(request, ts_in_sig)?;
        let message_id = scheme.layout.read_message_id(request)?;
        if candidates.is_empty() {
            return Err(VerifyError::invalid_signature());
        }
        let content = scheme
            .layout
            .content(
                request.body(),
                request.method(),
                request.url(),
                timestamp.map(|(text, _)| text),
                message_id,
            )
            .map_err(VerifyError::from)?;
        let now = self.freshness.now_ms();
        let mut matched = None;
        // With a message id, the proof's token is the tag under the first active key,
        // whichever key matched (never the matched signature: a sender signing with several
        // keys may have any of them stripped).
        let mut first_tag = None;
        for key in self.keys.active(now)? {
            let mut mac = MacState::new(scheme.algorithm, key.secret().expose_secret());
            scheme.layout.write(&content, |bytes| mac.update(bytes));
            let tag = mac.finalize();
            // Compare with every candidate, without stopping early.
            let hit = candidates
                .iter()
                .fold(false, |hit, candidate| tag.matches(candidate) | hit);
            if first_tag.is_none() {
                first_tag = Some(tag);
            }
            // Every active key is tried, even after a match: how long a valid request takes
            // does not tell which key of the ring signed it.
            if hit && matched.is_none() {
                matched = Some(key);
            }
        }
        let key = matched.ok_or_else(VerifyError::invalid_signature)?;
        let mut proof = Proof::new(scheme.name.clone()).with_key_id_cow(key.id_cow());
        if let Some((_, ms)) = timestamp {
            self.freshness.check_ms_at(ms, now)?;
            proof = proof.with_timestamp_ms(ms);
        }
        if let Some(id) = message_id {
            proof = proof.with_message_id(id);
            // The message id is the delivery's key; the tag is kept as the proof's token.
            if let Some(tag) = &first_tag {
                proof = proof.with_signature(tag.as_slice());
            }
        } else {
            // Without a message id the token is the delivery's key: a digest of the signed
            // content, which no change to the key ring changes (a tag under the ring's first
            // key would: a copy sent after a key was added in front, or after the first key
            // expired, would look new).
            let mut digest = sha2::Sha256::new();
            scheme.layout.write(&content, |bytes| digest.update(bytes));
            proof = proof.with_signature(&digest.finalize());
        }
        Ok(proof)
    }
}

/// Signs deliveries for one [`HmacScheme`], producing the headers a real sender sends.
#[derive(Clone)]
pub struct HmacSigner {
    scheme: Arc<HmacScheme>,
    secret: Secret,
    clock: SharedClock,
    /// Why the scheme cannot be verified, when it cannot: every `sign` fails with it.
    inconsistent: Option<String>,
}

impl fmt::Debug for HmacSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacSigner")
            .field("scheme", &self.scheme.name)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl HmacSigner {
    /// Read unset timestamps from this clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
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
            .layout
            .content(
                message.body(),
                message.method_str(),
                message.url_str(),
                timestamp,
                message_id,
            )
            .map_err(|why| SignError::new(why.message()))?;
        let mut mac = MacState::new(scheme.algorithm, self.secret.expose_secret());
        scheme.layout.write(&content, |bytes| mac.update(bytes));
        Ok(scheme.layout.encoding.encode(mac.finalize().as_slice()))
    }
}

impl Signer for HmacSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        if let Some(why) = &self.inconsistent {
            return Err(SignError::new(format!("hmac signer: {why}")));
        }
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

    /// A scheme with a timestamp may go without a replay store only when it signs the raw
    /// body: signing the URL, the message id or the form's parameters instead lets a
    /// captured signature carry another body while it is fresh.
    #[test]
    fn a_scheme_that_does_not_sign_the_body_needs_a_store() {
        let with = |content: Vec<Part>, timestamp: bool| {
            let signs_id = content.contains(&Part::MessageId);
            let mut scheme =
                HmacScheme::new("custom", HmacAlgorithm::Sha256, "x-signature").content(content);
            if signs_id {
                scheme = scheme.message_id_header("x-id");
            }
            if timestamp {
                scheme = scheme.timestamp(TimestampSource::Header(
                    Cow::Borrowed("x-timestamp"),
                    TimeFormat::UnixSeconds,
                ));
            }
            scheme
                .verifier(crate::Secret::from_text("key").unwrap())
                .unwrap()
                .requires_replay_store()
        };
        let ts = || Part::Timestamp;
        assert!(!with(vec![ts(), Part::lit("."), Part::Body], true));
        assert!(!with(vec![Part::Method, Part::Url, Part::Body, ts()], true));
        assert!(with(vec![ts(), Part::Url], true));
        assert!(with(vec![ts(), Part::MessageId], true));
        assert!(with(vec![ts(), Part::SortedFormParams], true));
        assert!(with(vec![Part::Body], false));
    }

    fn decoding(url: &str) -> String {
        let mut out = Vec::new();
        write_decoding(url, ":/?@!$'()*,;", &mut |b: &[u8]| {
            out.extend_from_slice(b)
        });
        String::from_utf8(out).unwrap()
    }

    proptest::proptest! {
        /// The one-pass decoding equals replacing each listed escape in turn, upper and lower
        /// case, as other implementations of HubSpot v3 do (no replacement can make a new
        /// escape, since none writes a `%`).
        #[test]
        fn decoding_equals_replacing_each_escape_in_turn(url in "[%3AaFf2bB0x/?:]{0,24}") {
            let mut replaced = url.clone();
            for c in ":/?@!$'()*,;".chars() {
                let code = u32::from(c);
                replaced = replaced
                    .replace(&format!("%{code:02X}"), &c.to_string())
                    .replace(&format!("%{code:02x}"), &c.to_string());
            }
            proptest::prop_assert_eq!(decoding(&url), replaced);
        }
    }

    #[test]
    fn only_the_listed_escapes_are_decoded() {
        assert_eq!(
            decoding("https://h/a%3Ab%3ac%2F%2f%3F%40%21%24%27%28%29%2A%2C%3B"),
            "https://h/a:b:c//?@!$'()*,;"
        );
        // Other escapes, a `%` escaped itself, broken escapes and non-ASCII stay as sent.
        for kept in [
            "%20%25%3D%2B%26%23",
            "%253A",
            "%3",
            "%",
            "%zz%3",
            "%C3%A9",
            "%%3A",
            "",
        ] {
            let expected = kept.replace("%%3A", "%:");
            assert_eq!(decoding(kept), expected, "{kept}");
        }
        assert_eq!(decoding("/x?y=%3A%3A&z=%3A"), "/x?y=::&z=:");
    }
    use crate::clock::FixedClock;

    fn stripe_like() -> HmacScheme {
        HmacScheme::new("stripe", HmacAlgorithm::Sha256, "stripe-signature")
            .format(SignatureFormat::key_value(',', "t", "v1"))
            .timestamp(TimestampSource::SignatureHeader(TimeFormat::UnixSeconds))
            .content([Part::Timestamp, Part::lit("."), Part::Body])
    }

    #[test]
    fn inconsistent_schemes_are_config_errors() {
        let secret = Secret::from_text("s").unwrap();
        let no_ts = HmacScheme::new("x", HmacAlgorithm::Sha256, "sig")
            .content([Part::Timestamp, Part::Body]);
        assert!(no_ts.clone().verifier(secret.clone()).is_err());
        // Its signer signs nothing that no verifier could accept: every `sign` fails, saying why.
        let error = no_ts
            .signer(secret.clone())
            .sign(&crate::Outgoing::new(b"{}"))
            .unwrap_err();
        assert!(error.to_string().starts_with("hmac signer: "), "{error}");
        assert!(error.to_string().contains("timestamp"), "{error}");
        let good = HmacScheme::new("x", HmacAlgorithm::Sha256, "sig").content([Part::Body]);
        assert!(
            good.signer(secret.clone())
                .sign(&crate::Outgoing::new(b"{}"))
                .is_ok()
        );
        let no_id = HmacScheme::new("x", HmacAlgorithm::Sha256, "sig").content([Part::MessageId]);
        assert!(no_id.verifier(secret.clone()).is_err());
        assert!(
            HmacScheme::new("x", HmacAlgorithm::Sha256, "sig")
                .verifier(KeyRing::new())
                .is_err()
        );
    }

    /// A message id or timestamp read from a header the signature does not cover could be
    /// changed by anyone: a captured delivery replayed with a new id would be claimed afresh,
    /// one replayed with a new timestamp would look fresh. Such schemes are refused.
    #[test]
    fn unsigned_ids_and_timestamps_are_config_errors() {
        let secret = Secret::from_text("s").unwrap();
        let unsigned_id = HmacScheme::new("x", HmacAlgorithm::Sha256, "sig")
            .message_id_header("x-id")
            .content([Part::Body]);
        let error = unsigned_id.verifier(secret.clone()).unwrap_err();
        assert!(error.to_string().contains("does not sign it"), "{error}");
        let unsigned_ts = HmacScheme::new("x", HmacAlgorithm::Sha256, "sig")
            .timestamp(TimestampSource::Header(
                "x-ts".into(),
                TimeFormat::UnixSeconds,
            ))
            .content([Part::Body]);
        let error = unsigned_ts.verifier(secret.clone()).unwrap_err();
        assert!(error.to_string().contains("does not sign"), "{error}");
        // Signed, both are fine.
        let signed = HmacScheme::new("x", HmacAlgorithm::Sha256, "sig")
            .message_id_header("x-id")
            .timestamp(TimestampSource::Header(
                "x-ts".into(),
                TimeFormat::UnixSeconds,
            ))
            .content([Part::MessageId, Part::Timestamp, Part::Body]);
        assert!(signed.verifier(secret).is_ok());
    }

    #[test]
    fn rotation_and_many_signatures() {
        let clock = FixedClock::at_secs(1_700_000_000);
        let old = Secret::from_text("old").unwrap();
        let new = Secret::from_text("new").unwrap();
        let signed = stripe_like()
            .signer(old.clone())
            .sign(&Outgoing::new(b"{}").timestamp_secs(1_700_000_000))
            .unwrap();
        let header = signed.get("stripe-signature").unwrap();
        let with_garbage = format!("t=1700000000,v1=zzzz,v0=abc,v1=,{}", &header[13..]);
        let ring = KeyRing::new()
            .with(crate::Key::new("new", new))
            .with(crate::Key::new("old", old));
        let v = stripe_like()
            .verifier(ring)
            .unwrap()
            .freshness(Freshness::default().with_clock(clock));
        let req = WebhookRequest::new(b"{}").with_header("stripe-signature", &with_garbage);
        let proof = v.verify(&req).unwrap();
        assert_eq!(proof.key_id(), Some("old"));
        assert_eq!(proof.timestamp_ms(), Some(1_700_000_000_000));
    }
}
