//! Receive webhooks safely.
