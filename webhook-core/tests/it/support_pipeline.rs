//! Shared set-up of the pipeline, store and source tests.

use std::net::SocketAddr;
use std::sync::Arc;

use webhook_core::{
    FixedClock, Freshness, Outgoing, Receiver, ReceiverBuilder, Secret, SharedClock, Signer,
    StandardWebhooks, StandardWebhooksSigner, WebhookRequest,
};

pub(crate) const NOW: i64 = 1_700_000_000;

pub(crate) struct Rig {
    pub(crate) clock: FixedClock,
    pub(crate) secret: Secret,
}

impl Rig {
    pub(crate) fn new() -> Self {
        Self {
            clock: FixedClock::at_secs(NOW),
            secret: Secret::from_bytes(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap(),
        }
    }

    pub(crate) fn shared(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }

    pub(crate) fn builder(&self) -> ReceiverBuilder {
        let verifier = StandardWebhooks::new(self.secret.clone())
            .unwrap()
            .freshness(Freshness::default().with_shared_clock(self.shared()));
        Receiver::builder()
            .route("test")
            .verifier(verifier)
            .clock(self.shared())
    }

    /// Signed headers for `body` with message id `id`.
    pub(crate) fn sign(&self, id: &str, body: &[u8]) -> Vec<(String, String)> {
        StandardWebhooksSigner::new(self.secret.clone())
            .clock(self.shared())
            .sign(&Outgoing::new(body).id(id))
            .unwrap()
            .into_vec()
    }
}

pub(crate) fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40_000)
}

pub(crate) fn request<'a>(
    headers: &'a [(String, String)],
    body: &'a [u8],
    from: SocketAddr,
) -> WebhookRequest<'a> {
    WebhookRequest::new(body)
        .with_headers(headers)
        .with_header("content-type", "application/json")
        .with_peer(from)
}
