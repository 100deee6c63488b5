//! Placeholder until the receiver example lands.
fn main() {}
