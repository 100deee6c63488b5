//! Framework plumbing: find the receiver, build the core request view, read the body under
//! the receiver's limit, and run admission and authentication.

use actix_web::HttpRequest;
use actix_web::body::{BodyStream, SizedStream, to_bytes_limited};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, Data};
use webhook_core::{Delivery, Receiver, Reply, VerifyError, VerifyErrorKind, WebhookRequest};

use crate::WebhookRejection;

/// A request that passed admission and authentication.
pub(crate) struct Authenticated {
    pub(crate) body: Bytes,
    pub(crate) url: Option<String>,
    pub(crate) delivery: Delivery,
}

/// The receiver registered with `app_data`: a `web::Data<Receiver>` at any level first, else
/// a bare `Receiver` (each the closest registration of its kind).
pub(crate) fn receiver(request: &HttpRequest) -> Result<Receiver, WebhookRejection> {
    if let Some(data) = request.app_data::<Data<Receiver>>() {
        return Ok(Receiver::clone(data));
    }
    if let Some(receiver) = request.app_data::<Receiver>() {
        return Ok(receiver.clone());
    }
    tracing::error!(
        route = request.match_pattern().as_deref().unwrap_or("(no route)"),
        "webhook extractor on a route without a Receiver: register one with \
         `app_data(web::Data::new(receiver))` or wrap the route in `VerifyWebhook`"
    );
    Err(not_configured())
}

/// 500 `not_configured`, answered without a receiver (so with the standard JSON).
pub(crate) fn not_configured() -> WebhookRejection {
    // The client gets core's standard message, the same in every adapter; callers log what
    // is missing.
    let error = VerifyError::new(VerifyErrorKind::NotConfigured);
    WebhookRejection::error(Reply::from_error(&error), error)
}

/// UTF-8: ASCII (nearly every value; a word at a time), else checked as UTF-8.
fn is_text(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}

/// The core view of `request` with `body`. The peer is the socket's address, never a
/// forwarded header: core decides which forwarded hops to believe.
pub(crate) fn view<'a>(
    request: &'a HttpRequest,
    body: &'a [u8],
    url: Option<&'a str>,
) -> WebhookRequest<'a> {
    let mut view = WebhookRequest::new(body).with_method(request.method().as_str());
    if let Some(url) = url {
        view = view.with_url(url);
    }
    if let Some(peer) = request.peer_addr() {
        view = view.with_peer(peer);
    }
    view.reserve_headers(request.headers().len());
    for (name, value) in request.headers() {
        // Values that are not UTF-8 are left out, as rocket leaves them out of its requests:
        // every adapter's checks see the same headers.
        if is_text(value.as_bytes()) {
            view.push_header(name.as_str(), value.as_bytes());
        }
    }
    view
}

/// A rejection for an error the delivery has already recorded.
pub(crate) fn fail(delivery: &Delivery, error: VerifyError) -> WebhookRejection {
    WebhookRejection::error(delivery.reply_for(&error), error)
}

/// A rejection for an error found outside the pipeline: recorded, then answered.
pub(crate) fn reject(delivery: &mut Delivery, error: VerifyError) -> WebhookRejection {
    let error = delivery.reject(error);
    fail(delivery, error)
}

/// Admission (413 by declared length, 415, 403, 429), the body read under the receiver's
/// limit (413, the stream stops at the limit), authentication (401), then decryption when the
/// receiver decrypts (400; the body handed on is the plaintext). One request view
/// serves both steps; the URL is built only when the verifier signs it.
///
/// HTTPS is the connection's own scheme (`AppConfig::secure`), not actix's
/// `connection_info()`, which believes forwarded headers from anyone: core believes them
/// only from trusted proxies.
pub(crate) async fn authenticate(
    receiver: &Receiver,
    request: &HttpRequest,
    payload: Payload,
) -> Result<Authenticated, WebhookRejection> {
    let mut delivery = receiver.delivery();
    let https = request.app_config().secure();
    let body: Bytes;
    let mut head = view(request, b"", None);
    if let Err(error) = delivery.admit(&head, https) {
        return Err(fail(&delivery, error));
    }
    let limit = delivery.body_limit();
    // A declared length (already checked against the limit) sizes the buffer; the stream is
    // still cut at the limit whatever it declared.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .filter(|&length| length > 0);
    let read = match declared {
        Some(length) => to_bytes_limited(SizedStream::new(length, payload), limit).await,
        None => to_bytes_limited(BodyStream::new(payload), limit).await,
    };
    body = match read {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            let error = VerifyError::unreadable_body();
            return Err(reject(&mut delivery, error));
        }
        Err(_) => {
            let error = VerifyError::body_too_large(limit);
            return Err(reject(&mut delivery, error));
        }
    };
    // Only for schemes that sign it. The host: the `Host`, else (HTTP/2) the request's
    // `:authority`. A request naming no usable host, or more than one `Host`, is refused
    // (401), as in every adapter. (Over HTTP/1.1, actix-http itself answers a request
    // without exactly one `Host` with a 400 of its own first.)
    let url = if receiver.signs_url() {
        let host = match Receiver::host_field(
            request
                .headers()
                .get_all(header::HOST)
                .filter_map(|h| std::str::from_utf8(h.as_bytes()).ok()),
        ) {
            Ok(host) => host.or_else(|| {
                (request.version() == actix_web::http::Version::HTTP_2)
                    .then(|| request.uri().authority().map(|a| a.as_str()))
                    .flatten()
            }),
            Err(error) => return Err(reject(&mut delivery, error)),
        };
        let path_and_query = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
        match receiver.signed_url(https, host, path_and_query) {
            Ok(url) => url,
            Err(error) => return Err(reject(&mut delivery, error)),
        }
    } else {
        None
    };
    head.set_body(&body);
    head.set_url(url.as_deref());
    while let Some(fetch) = delivery.fetch_keys(&head) {
        fetch.await;
    }
    if let Err(error) = delivery.authenticate(&head) {
        return Err(fail(&delivery, error));
    }
    let plaintext = match delivery.decrypt(&head) {
        Ok(plaintext) => plaintext,
        Err(error) => return Err(fail(&delivery, error)),
    };
    drop(head);
    Ok(Authenticated {
        // From here on, the body is the plaintext when the receiver decrypts.
        body: plaintext.map_or(body, Bytes::from),
        url,
        delivery,
    })
}
