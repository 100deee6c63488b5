//! Twilio: `X-Twilio-Signature: <base64>` of HMAC-SHA1 with the account's auth token over
//!
//! - form posts: the full URL followed by every form parameter, names sorted, as `name‖value`
//!   (at most 1024 parameters: a form with more is refused, 401 `invalid_signature`, before
//!   any is copied);
//! - JSON posts: the full URL alone, which carries a `bodySHA256=<hex>` query parameter that
//!   must equal the SHA-256 of the raw body.
//!
//! The URL is the one Twilio requested, exactly (scheme, host, port, path, query): configure
//! the public URL rather than trusting `Host` behind a proxy. As Twilio's own SDKs do, the URL
//! is also tried with its default port added or removed (`:443` for https, `:80` for http).
//!
//! # Security
//!
//! Twilio signs no timestamp, and the form scheme's signed text has no separators: whoever
//! captured one signed post can move bytes between a parameter's name and its value or
//! between parameters (`Body=hi&From=+1`, signed as `BodyhiFrom+1`, verifies as the single
//! parameter `Body=hiFrom+1`). The delivery's key is its signature, so with a replay store
//! such a copy is a duplicate of the original and never reaches the handler while the store
//! retains that key: 10 minutes by default, so set
//! [`retention`](crate::ReceiverBuilder::retention) to as long as a captured post must be
//! refused (days). The verifier is refused on a receiver built
//! [`without_replay_protection`](crate::ReceiverBuilder::without_replay_protection)
//! ([`Verifier::requires_replay_store`]).

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::scheme::hmac::{MacState, TOO_MANY_FORM_PARAMS, sorted_form_params};
use crate::sign::{Outgoing, SignError, SignedHeaders, Signer};
use crate::{
    ConfigError, Freshness, HmacAlgorithm, KeyRing, Proof, Secret, Verifier, VerifyError,
    VerifyErrorKind, WebhookRequest,
};

const SIGNATURE: &str = "x-twilio-signature";
const BODY_PARAM: &str = "bodySHA256";

/// Verifies Twilio requests against one or more auth tokens (primary and secondary).
#[derive(Clone)]
pub struct Twilio {
    keys: KeyRing,
    clock: Freshness,
}

impl fmt::Debug for Twilio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twilio")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// A verifier for Twilio requests.
///
/// # Examples
///
/// ```
/// use webhook_core::{Secret, Verifier, WebhookRequest, provider::twilio};
///
/// // Twilio's own SDK test vector.
/// let verifier = twilio::verifier(Secret::from_text("12345")?)?;
/// let body = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
/// let request = WebhookRequest::new(body)
///     .with_url("https://mycompany.com/myapp.php?foo=1&bar=2")
///     .with_header("Content-Type", "application/x-www-form-urlencoded")
///     .with_header("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
/// assert!(verifier.verify(&request).is_ok());
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Errors
///
/// An empty key ring.
pub fn verifier(keys: impl Into<KeyRing>) -> Result<Twilio, ConfigError> {
    let keys = keys.into();
    keys.ensure_not_empty()?;
    Ok(Twilio {
        keys,
        clock: Freshness::default(),
    })
}

impl Twilio {
    /// Use this clock for key expiry (Twilio signs no timestamp).
    #[must_use]
    pub fn freshness(mut self, freshness: Freshness) -> Self {
        self.clock = freshness;
        self
    }
}

/// The value of `bodySHA256` in the URL's query, if any.
fn body_param(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == BODY_PARAM)
        .map(|(_, v)| v.into_owned())
}

/// `url` with its default port toggled: added when absent, removed when present.
fn port_variant(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    // A port follows the last `:` unless that `:` is inside an IPv6 literal `[…]`.
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => (name, Some(port)),
        _ => (host, None),
    };
    let host = match port {
        Some(p) if p == default => name.to_owned(),
        Some(_) => return None,
        None => format!("{host}:{default}"),
    };
    let authority = match userinfo {
        Some(u) => format!("{u}@{host}"),
        None => host,
    };
    Some(format!("{scheme}://{authority}{tail}"))
}

fn tag(key: &[u8], url: &str, form: Option<&[(String, String)]>) -> crate::scheme::hmac::Tag {
    let mut mac = MacState::new(HmacAlgorithm::Sha1, key);
    mac.update(url.as_bytes());
    for (k, v) in form.unwrap_or_default() {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac.finalize()
}

/// The length of a base64 HMAC-SHA1 tag (20 bytes, padded).
const SIGNATURE_LEN: usize = 28;

impl Verifier for Twilio {
    fn requires_replay_store(&self) -> bool {
        true
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Proof, VerifyError> {
        let header = request.require_single(SIGNATURE)?;
        // Nothing longer than one tag is decoded.
        if header.len() != SIGNATURE_LEN {
            return Err(VerifyError::invalid_signature());
        }
        let url = request.url().ok_or_else(|| {
            VerifyError::new(VerifyErrorKind::NotConfigured)
                .with_message("the public url of this endpoint is not configured")
        })?;
        let signature = STANDARD
            .decode(header)
            .ok()
            .filter(|s| s.len() == HmacAlgorithm::Sha1.output_len())
            .ok_or_else(VerifyError::invalid_signature)?;
        let body_hash = body_param(url);
        let form = match body_hash {
            Some(_) => None,
            None => Some(sorted_form_params(request.body()).ok_or_else(|| {
                VerifyError::invalid_signature().with_message(TOO_MANY_FORM_PARAMS)
            })?),
        };
        let variant = port_variant(url);
        let urls = std::iter::once(url).chain(variant.as_deref());
        let now = self.clock.now_ms();
        let mut matched = None;
        for candidate in urls {
            for key in self.keys.active(now)? {
                if tag(key.secret().expose_secret(), candidate, form.as_deref()).matches(&signature)
                {
                    matched = Some(key);
                }
            }
            if matched.is_some() {
                break;
            }
        }
        let key = matched.ok_or_else(VerifyError::invalid_signature)?;
        if let Some(expected) = body_hash {
            let actual = hex::encode(Sha256::digest(request.body()));
            let expected = expected.to_ascii_lowercase();
            if !bool::from(actual.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(VerifyError::invalid_signature()
                    .with_message("body does not match the signed `bodySHA256`"));
            }
        }
        // `I-Twilio-Idempotency-Token` is not signed, so it must not choose the replay key: a
        // captured request resent with a new token would look new. The signature is stable
        // across Twilio's own retries (same URL, same parameters) and serves instead.
        Ok(Proof::new("twilio")
            .with_key_id(key.id())
            .with_signature(&signature))
    }
}

/// `url` with the `bodySHA256` parameter Twilio adds for a JSON `body`.
#[must_use]
pub fn json_url(url: &str, body: &[u8]) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{sep}{BODY_PARAM}={}",
        hex::encode(Sha256::digest(body))
    )
}

/// Signs requests the way Twilio does. The message must carry its URL; for a JSON body, build
/// that URL with [`json_url`].
#[derive(Clone)]
pub struct TwilioSigner {
    secret: Secret,
}

impl fmt::Debug for TwilioSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSigner").finish_non_exhaustive()
    }
}

/// A signer with this auth token.
#[must_use]
pub fn signer(secret: Secret) -> TwilioSigner {
    TwilioSigner { secret }
}

impl Signer for TwilioSigner {
    fn sign(&self, message: &Outgoing<'_>) -> Result<SignedHeaders, SignError> {
        let url = message
            .url_str()
            .ok_or_else(|| SignError::new("twilio signs the url: set it"))?;
        let form = match body_param(url) {
            Some(_) => None,
            None => Some(
                sorted_form_params(message.body())
                    .ok_or_else(|| SignError::new(TOO_MANY_FORM_PARAMS))?,
            ),
        };
        let sig = tag(self.secret.expose_secret(), url, form.as_deref());
        let mut headers = SignedHeaders::new();
        headers.push("X-Twilio-Signature", STANDARD.encode(sig.as_slice()));
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_variants() {
        assert_eq!(
            port_variant("https://a.com/x").as_deref(),
            Some("https://a.com:443/x")
        );
        assert_eq!(
            port_variant("https://a.com:443/x").as_deref(),
            Some("https://a.com/x")
        );
        assert_eq!(
            port_variant("http://a.com:80?q").as_deref(),
            Some("http://a.com?q")
        );
        assert_eq!(port_variant("http://a.com:1234/x"), None);
        assert_eq!(
            port_variant("https://u:p@a.com/x").as_deref(),
            Some("https://u:p@a.com:443/x")
        );
        assert_eq!(port_variant("ftp://a.com/x"), None);
        assert_eq!(port_variant("no scheme"), None);
    }
}
