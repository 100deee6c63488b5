//! The one adapter routine: build the core request view, buffer the body under both limits,
//! and run the pipeline's admission and authentication.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Says once per process that requests carry no peer address although the receiver's checks
/// read it: the rate limit then counts every client as one unknown source, and an allowlist
/// admits none (it fails closed).
fn warn_without_peer() {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        tracing::error!(
            "webhook receiver with a rate limit, an allowlist or trusted proxies, but requests \
             carry no ConnectInfo: serve the router with \
             `into_make_service_with_connect_info::<SocketAddr>()`; until then every client is \
             one unknown source"
        );
    }
}

/// UTF-8: ASCII (nearly every value; a word at a time), else checked as UTF-8.
fn is_text(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
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
        // Values that are not UTF-8 are left out, as rocket leaves them out of its requests:
        // every adapter's checks see the same headers.
        if is_text(value.as_bytes()) {
            request.push_header(name.as_str(), value.as_bytes());
        }
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
    if receiver.reads_peer() && peer(parts).is_none() {
        warn_without_peer();
    }
    let bytes: Bytes;
    let url: Option<String>;
    let plaintext: Option<Vec<u8>>;
    {
        let mut head = view(parts, b"", None);
        if let Err(error) = delivery.admit(&head, https) {
            return Err(fail(&delivery, error));
        }
        let limit = delivery.body_limit();
        bytes = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                // The receiver's limit stops the read here (the error itself); axum's
                // `DefaultBodyLimit` stops it inside the body (a source further down), at a
                // limit this layer cannot read.
                let too_large = std::iter::successors(
                    Some(&*error as &(dyn std::error::Error + 'static)),
                    |e| e.source(),
                )
                .any(|e| e.is::<LengthLimitError>());
                let error = if error.is::<LengthLimitError>() {
                    VerifyError::body_too_large(limit)
                } else if too_large {
                    VerifyError::new(VerifyErrorKind::BodyTooLarge)
                        .with_message("body is larger than the route's body limit")
                } else {
                    VerifyError::unreadable_body()
                };
                return Err(reject(&mut delivery, error));
            }
        };
        url = match request_url(receiver, parts, https) {
            Ok(url) => url,
            Err(error) => return Err(reject(&mut delivery, error)),
        };
        head.set_body(&bytes);
        head.set_url(url.as_deref());
        while let Some(fetch) = delivery.fetch_keys(&head) {
            fetch.await;
        }
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

/// The URL the sender addressed, when the verifier signs one: the receiver's public base URL,
/// else this server's scheme and the first `Host` that is text (HTTP/2: else the request's
/// `:authority`), with the original path and query. A request naming no usable host is
/// refused (401), as in every adapter.
fn request_url(
    receiver: &Receiver,
    parts: &Parts,
    https: bool,
) -> Result<Option<String>, VerifyError> {
    if !receiver.signs_url() {
        return Ok(None);
    }
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |OriginalUri(uri)| uri);
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let host = parts
        .headers
        .get_all(http::header::HOST)
        .iter()
        .find_map(|h| std::str::from_utf8(h.as_bytes()).ok())
        .or_else(|| {
            (parts.version == http::Version::HTTP_2)
                .then(|| uri.authority().map(http::uri::Authority::as_str))
                .flatten()
        });
    receiver.signed_url(https, host, path_and_query)
}
