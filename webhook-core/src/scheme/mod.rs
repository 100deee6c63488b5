//! Scheme building blocks.

pub(crate) mod hmac;
pub(crate) mod standard;
