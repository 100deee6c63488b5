//! What applications rely on to share the library's types, checked when this file compiles:
//! a receiver, its verifiers, stores and keys go into framework state (`Send + Sync + Clone`,
//! `'static`), and errors cross tasks and threads (`Send + Sync`, `std::error::Error`). A
//! change that loses one of these fails the build here, not in an application.

use webhook_core::{
    AllOf, AnyOf, ApiKey, BasicAuth, ConfigError, Delivery, FixedClock, Freshness, HmacScheme,
    HmacVerifier, JwtBearer, Key, KeyRing, MemoryStore, Proof, RateLimit, Receiver, Secret,
    SharedClock, SignError, SignedHeaders, StandardWebhooks, StoreError, Tenants, VerifyError,
    provider::{mailgun, twilio},
};

fn shared<T: Send + Sync + Clone + 'static>() {}
fn sent<T: Send + Sync + 'static>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn shared_types_are_send_sync_clone_and_static() {
    shared::<Receiver>();
    shared::<MemoryStore>();
    shared::<Tenants>();
    shared::<KeyRing>();
    shared::<Key>();
    shared::<Secret>();
    shared::<Freshness>();
    shared::<RateLimit>();
    shared::<FixedClock>();
    shared::<SharedClock>();
    shared::<StandardWebhooks>();
    shared::<HmacScheme>();
    shared::<HmacVerifier>();
    shared::<JwtBearer>();
    shared::<ApiKey>();
    shared::<BasicAuth>();
    shared::<Proof>();
    shared::<SignedHeaders>();
    sent::<AnyOf>();
    sent::<AllOf>();
    sent::<Delivery>();
    sent::<mailgun::Mailgun>();
    sent::<twilio::Twilio>();
    #[cfg(feature = "redis")]
    shared::<webhook_core::RedisStore>();
    #[cfg(feature = "fetch")]
    {
        shared::<webhook_core::CertificateCache>();
        shared::<webhook_core::JwksCache>();
    }
}

#[test]
fn errors_are_send_sync_errors() {
    error::<VerifyError>();
    error::<ConfigError>();
    error::<StoreError>();
    error::<SignError>();
}
