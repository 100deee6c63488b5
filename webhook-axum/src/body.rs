//! The one adapter routine: build the core request view, buffer the body under both limits,
//! and run the pipeline's admission and authentication.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri};
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

/// What admission and authentication produced: the buffered body (its plaintext, when the
/// receiver decrypts), the URL the verifier checked (when it signs one), and the delivery
/// holding the proof.
pub(crate) struct Authenticated {
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
    request.reserve_headers(parts.headers.len());
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
/// `DefaultBodyLimit` and the receiver's limit (413), authentication (401), then decryption
/// when the receiver decrypts (400). One request
/// view serves both steps: built from the head, then given the body (and the URL, only when
/// the verifier signs it).
///
/// Takes the head by reference and the body (already limited by
/// [`with_limited_body`](axum::RequestExt::with_limited_body)), so the future stays small.
pub(crate) async fn authenticate(
    receiver: &Receiver,
    parts: &Parts,
    body: Body,
) -> Result<Authenticated, WebhookRejection> {
    let mut delivery = receiver.delivery();
    // Never the request URI's scheme: a client chooses it (an absolute-form target, an h2c
    // `:scheme`). Only a server that terminates TLS itself can say so, with the marker.
    let https = parts.extensions.get::<HttpsConnection>().is_some();
    let bytes: Bytes;
    let url: Option<String>;
    let plaintext: Option<Vec<u8>>;
    {
        let mut head = view(parts, b"", None);
        if let Err(error) = delivery.admit(&head, https) {
            return Err(fail(&delivery, error));
        }
        bytes = match Limited::new(body, delivery.body_limit()).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                let too_large = std::iter::successors(
                    Some(&*error as &(dyn std::error::Error + 'static)),
                    |e| e.source(),
                )
                .any(|e| e.is::<LengthLimitError>());
                let error = if too_large {
                    VerifyError::new(VerifyErrorKind::BodyTooLarge)
                } else {
                    VerifyError::unreadable_body()
                };
                return Err(reject(&mut delivery, error));
            }
        };
        url = if receiver.signs_url() {
            request_url(receiver, parts, https)
        } else {
            None
        };
        head.set_body(&bytes);
        head.set_url(url.as_deref());
        if let Err(error) = delivery.authenticate(&head) {
            return Err(fail(&delivery, error));
        }
        plaintext = match delivery.decrypt(&head) {
            Ok(plaintext) => plaintext,
            Err(error) => return Err(fail(&delivery, error)),
        };
    }
    Ok(Authenticated {
        // From here on, the body is the plaintext when the receiver decrypts.
        body: plaintext.map_or(bytes, Bytes::from),
        url,
        delivery,
    })
}

/// The URL the sender addressed: the receiver's public base URL, else this server's scheme
/// and `Host`, with the original path and query.
fn request_url(receiver: &Receiver, parts: &Parts, https: bool) -> Option<String> {
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
    receiver.request_url(https, host, path_and_query)
}
