//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}` (HMAC-SHA256). The secret is the whole `whsec_…` text (use [`Secret::from_text`](crate::Secret::from_text)); every `v1` entry is tried (rotation), `v0` entries are ignored.

use crate::{
    Encoding, HmacAlgorithm, HmacScheme, Part, SignatureFormat, TimeFormat, TimestampSource,
};

/// The scheme: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `{t}.{body}` (HMAC-SHA256). The secret is the whole `whsec_…` text (use [`Secret::from_text`](crate::Secret::from_text)); every `v1` entry is tried (rotation), `v0` entries are ignored.
#[must_use]
pub fn scheme() -> HmacScheme {
    HmacScheme::new("stripe", HmacAlgorithm::Sha256, "stripe-signature")
        .format(SignatureFormat::key_value(',', "t", "v1"))
        .encoding(Encoding::Hex)
        .content([Part::Timestamp, Part::lit("."), Part::Body])
        .timestamp(TimestampSource::SignatureHeader(TimeFormat::UnixSeconds))
}

/// A verifier for Stripe deliveries, accepting any active key of `keys`.
///
/// Stripe keys its HMAC with the whole `whsec_…` text, not with the base64 after the prefix
/// (Standard Webhooks' rule): build each secret with [`Secret::from_text`](crate::Secret::from_text)
/// or [`Secret::from_env`](crate::Secret::from_env). A secret made by
/// [`Secret::from_whsec`](crate::Secret::from_whsec) could verify no delivery, so it is
/// refused here.
///
/// Timestamps are checked both ways, 5 minutes by default: Stripe's own libraries refuse
/// only old ones, so a receiver whose clock runs more than 5 minutes slow refuses Stripe's
/// deliveries here (401 `timestamp_in_future`) where they would pass. Keep the clock
/// synchronised, or widen the future side with
/// [`HmacVerifier::freshness`](crate::HmacVerifier::freshness) and
/// [`Freshness::new`](crate::Freshness::new).
///
/// ```
/// use webhook_core::Secret;
/// use webhook_core::provider::stripe;
///
/// let text = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
/// assert!(stripe::verifier(Secret::from_text(text)?).is_ok());
/// let refused = stripe::verifier(Secret::from_whsec(text)?).unwrap_err();
/// assert!(refused.to_string().contains("Secret::from_text"));
/// # Ok::<(), webhook_core::ConfigError>(())
/// ```
///
/// # Errors
///
/// An empty key ring, or a key made by `Secret::from_whsec`.
pub fn verifier(
    keys: impl Into<crate::KeyRing>,
) -> Result<crate::HmacVerifier, crate::ConfigError> {
    let keys = keys.into();
    if keys.keys().any(|key| key.secret().is_whsec_decoded()) {
        return Err(crate::ConfigError::new(
            "a Stripe secret is the whole `whsec_…` text: build it with `Secret::from_text` \
             (or `Secret::from_env`), not `Secret::from_whsec`, which decodes the base64 after \
             the prefix (Standard Webhooks' rule) and could verify no Stripe delivery",
        ));
    }
    scheme().verifier(keys)
}

/// A signer producing the headers Stripe sends. Its secret is the whole `whsec_…` text, as
/// for [`verifier`].
#[must_use]
pub fn signer(secret: crate::Secret) -> crate::HmacSigner {
    scheme().signer(secret)
}
