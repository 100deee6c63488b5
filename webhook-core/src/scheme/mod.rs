//! Scheme building blocks.

pub(crate) mod hmac;
pub(crate) mod standard;
pub(crate) mod asymmetric;
pub(crate) mod standard_v1a;
pub(crate) mod token;
pub(crate) mod jwt;
