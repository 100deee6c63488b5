//! Scheme building blocks.

pub(crate) mod asymmetric;
pub(crate) mod hmac;
#[cfg(feature = "fetch")]
pub(crate) mod jwks;
pub(crate) mod jwt;
pub(crate) mod standard;
pub(crate) mod standard_v1a;
pub(crate) mod token;
