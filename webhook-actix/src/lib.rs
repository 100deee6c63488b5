//! actix adapter for [`webhook-core`](webhook_core); see the `webhook` crate.
