//! Scheme building blocks.

pub(crate) mod asymmetric;
pub(crate) mod hmac;
pub(crate) mod jwt;
pub(crate) mod standard;
pub(crate) mod standard_v1a;
pub(crate) mod token;
