//! The one adapter routine: build the core request view, buffer the body under both limits,
//! and run the pipeline's admission and authentication.

use std::net::SocketAddr;

use axum::RequestExt as _;
use axum::extract::{ConnectInfo, OriginalUri, Request};
use bytes::Bytes;
use http::request::Parts;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use webhook_core::{Delivery, Receiver, VerifyError, VerifyErrorKind, WebhookRequest};

use crate::WebhookRejection;

/// Marks a request as received over TLS by this server: insert it from the TLS-terminating
/// listener (e.g. `Router::layer(Extension(HttpsConnection))` on the router served over
/// TLS only). Without it the connection counts as plain HTTP, and HTTPS can only be proven
/// by a trusted proxy's forwarding header — never by anything the client sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpsConnection;

/// A request that passed admission and authentication.
pub(crate) struct Authenticated {
    pub(crate) parts: Parts,
    pub(crate) body: Bytes,
    pub(crate) url: Option<String>,
    pub(crate) delivery: Delivery,
}

pub(crate) fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

/// The core view of `parts` with `body`.
pub(crate) fn view<'a>(
    parts: &'a Parts,
    body: &'a [u8],
    url: Option<&'a str>,
) -> WebhookRequest<'a> {
    let mut request = WebhookRequest::new(body).with_method(parts.method.as_str());
    if let Some(url) = url {
        request = request.with_url(url);
    }
    if let Some(peer) = peer(parts) {
        request = request.with_peer(peer);
    }
    for (name, value) in &parts.headers {
        request.push_header(name.as_str(), value.as_bytes());
    }
    request
}

pub(crate) fn reject(delivery: &mut Delivery, error: VerifyError) -> WebhookRejection {
    let error = delivery.reject(error);
    WebhookRejection::error(delivery.reply_for(&error), error)
}

pub(crate) fn fail(delivery: &Delivery, error: VerifyError) -> WebhookRejection {
    WebhookRejection::error(delivery.reply_for(&error), error)
}

/// Admission (413 by declared length, 415, 403, 429), buffering under the smaller of axum's
/// `DefaultBodyLimit` and the receiver's limit (413), then authentication (401).
pub(crate) async fn authenticate(
    receiver: &Receiver,
    request: Request,
) -> Result<Authenticated, WebhookRejection> {
    let mut delivery = receiver.delivery();
    let request = request.with_limited_body();
    let (parts, body) = request.into_parts();
    // Never the request URI's scheme: a client chooses it (an absolute-form target, an h2c
    // `:scheme`). Only a server that terminates TLS itself can say so, with the marker.
    let https = parts.extensions.get::<HttpsConnection>().is_some();
    if let Err(error) = delivery.admit(&view(&parts, b"", None), https) {
        return Err(fail(&delivery, error));
    }
    let body = match Limited::new(body, delivery.body_limit()).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let too_large =
                std::iter::successors(Some(&*error as &(dyn std::error::Error + 'static)), |e| {
                    e.source()
                })
                .any(|e| e.is::<LengthLimitError>());
            let error = if too_large {
                VerifyError::new(VerifyErrorKind::BodyTooLarge)
            } else {
                VerifyError::new(VerifyErrorKind::MalformedBody)
                    .with_message("the body could not be read")
            };
            return Err(reject(&mut delivery, error));
        }
    };
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |OriginalUri(uri)| uri);
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str));
    let url = receiver.request_url(https, host, path_and_query);
    if let Err(error) = delivery.authenticate(&view(&parts, &body, url.as_deref())) {
        return Err(fail(&delivery, error));
    }
    Ok(Authenticated {
        parts,
        body,
        url,
        delivery,
    })
}
