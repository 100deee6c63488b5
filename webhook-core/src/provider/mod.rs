//! Presets: named configurations of the building blocks for real providers, each proven
//! against the provider's published vectors where one exists.
//!
//! Every module has a `verifier(…)` and a `signer(…)` twin, except [`mailgun`], whose
//! signature travels in the body (its twins are [`mailgun::signature_block`] and, for a
//! subaccount's events, [`mailgun::subaccount_signature_block`]), and
//! [`unsigned`]. Providers that sign nothing (Postmark, Mailjet, SparkPost, Brevo, Okta,
//! classic GitLab) are served by [`BasicAuth`](crate::BasicAuth) or
//! [`ApiKey`](crate::ApiKey): see [`unsigned`].

/// Generates `verifier` and `signer` for a preset whose `scheme()` is a plain [`HmacScheme`].
///
/// [`HmacScheme`]: crate::HmacScheme
macro_rules! hmac_preset {
    ($provider:literal) => {
        #[doc = concat!("A verifier for ", $provider, " deliveries, accepting any active key of `keys`.")]
        ///
        /// # Errors
        ///
        /// An empty key ring.
        pub fn verifier(
            keys: impl Into<$crate::KeyRing>,
        ) -> Result<$crate::HmacVerifier, $crate::ConfigError> {
            scheme().verifier(keys)
        }

        #[doc = concat!("A signer producing the headers ", $provider, " sends.")]
        #[must_use]
        pub fn signer(secret: $crate::Secret) -> $crate::HmacSigner {
            scheme().signer(secret)
        }
    };
}

pub mod bitbucket;
pub mod calendly;
pub mod discord;
pub mod github;
pub mod hubspot;
pub mod intercom;
pub mod linear;
pub mod mailersend;
pub mod mailgun;
pub mod mailtrap;
pub mod mandrill;
pub mod paddle;
pub mod paddle_classic;
pub mod paypal;
pub mod postal;
pub mod sendgrid;
pub mod sentry;
pub mod shopify;
pub mod slack;
pub mod sns;
pub mod square;
pub mod stripe;
pub mod twilio;
pub mod twitch;
pub mod typeform;
pub mod unsigned;
pub mod vercel;
pub mod zoom;
