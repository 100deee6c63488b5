//! The one adapter routine: build the core request view, buffer the body under both limits,
//! and run the pipeline's admission and authentication.

use std::net::SocketAddr;

use axum::body::{Body, HttpBody as _};
use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, OriginalUri};
use bytes::Bytes;
use http::request::Parts;
use http_body_util::{BodyExt as _, LengthLimitError};
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

/// The peer address as axum's `ConnectInfo<SocketAddr>` extractor finds it: the server's
/// (`into_make_service_with_connect_info`), else a test's `MockConnectInfo` layer. Both are
/// put in the request by the application, never by the client.
pub(crate) fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
        .or_else(|| {
            parts
                .extensions
                .get::<MockConnectInfo<SocketAddr>>()
                .map(|MockConnectInfo(addr)| *addr)
        })
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
    let bytes: Bytes;
    let url: Option<String>;
    let plaintext: Option<Vec<u8>>;
    {
        let mut head = view(parts, b"", None);
        if let Err(error) = delivery.admit(&head, https) {
            return Err(fail(&delivery, error));
        }
        let limit = delivery.body_limit();
        bytes = match read_body(body, limit).await {
            Ok(bytes) => bytes,
            Err(error) => return Err(reject(&mut delivery, error)),
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

/// Read `body` whole, at most `limit` bytes (inclusive: exactly `limit` is read; one byte
/// more is 413 with the receiver's message); trailers are skipped.
///
/// Each frame is dropped as soon as it is read: a frame's `Bytes` may keep a whole read
/// buffer of the server alive (hyper's, at least 8 KiB, for what may be one byte of body),
/// so holding every frame until the end, as `collect()` does, would let a sender of tiny
/// frames pin many times the limit in memory before authentication. The bytes are copied
/// into one buffer that grows, at most to the limit, by doubling.
///
/// A body that arrives as one data frame (the usual small delivery) is handed on as that
/// frame, with no copy and no allocation; the copy starts with a second data frame.
///
/// # Errors
///
/// 413 when the body exceeds `limit` or axum's `DefaultBodyLimit` (its error inside the body,
/// at a limit this code cannot read); 400 (`unreadable_body`) for any other body error.
pub(crate) async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, VerifyError> {
    // The first data frame, kept as it is until a second one arrives.
    let mut first: Option<Bytes> = None;
    // From the second data frame on: everything read so far.
    let mut buffer: Option<Vec<u8>> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| body_error(&error))?;
        let Ok(data) = frame.into_data() else {
            // Trailers: not part of what the sender signed.
            continue;
        };
        if data.is_empty() {
            continue;
        }
        let read = buffer
            .as_ref()
            .map_or_else(|| first.as_ref().map_or(0, Bytes::len), Vec::len);
        if data.len() > limit.saturating_sub(read) {
            return Err(VerifyError::body_too_large(limit));
        }
        if let Some(buffer) = &mut buffer {
            grow(buffer, data.len(), limit);
            buffer.extend_from_slice(&data);
        } else if let Some(kept) = first.take() {
            let rest = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
            let mut copy = Vec::with_capacity(first_capacity(read + data.len(), rest, limit));
            copy.extend_from_slice(&kept);
            copy.extend_from_slice(&data);
            buffer = Some(copy);
        } else {
            first = Some(data);
        }
        // `data` (and `kept`) end here: nothing of the frame outlives its copy.
    }
    Ok(match (buffer, first) {
        (Some(buffer), _) => Bytes::from(buffer),
        (None, Some(first)) => first,
        (None, None) => Bytes::new(),
    })
}

/// How far ahead of what has arrived the copy is sized from a declared length: a sender that
/// declares the limit and then stalls after two small frames holds this much, not the limit.
const DECLARED_AHEAD: usize = 64 * 1024;

/// The copy's first capacity, once `read` bytes have arrived and `rest` more are declared
/// (hyper's size hint: what is still to come of the declared length): the whole body when it
/// is declared and no further ahead of what arrived than [`DECLARED_AHEAD`] or what arrived
/// (whichever is more), else that far ahead (growth doubles from there); never beyond the
/// limit.
fn first_capacity(read: usize, rest: usize, limit: usize) -> usize {
    read.saturating_add(rest.min(DECLARED_AHEAD.max(read)))
        .min(limit)
}

/// Make room in `buffer` for `more` bytes: double its capacity (amortised growth), but never
/// past `limit` (`len + more` is within it).
fn grow(buffer: &mut Vec<u8>, more: usize, limit: usize) {
    let needed = buffer.len() + more;
    if needed > buffer.capacity() {
        let target = buffer.capacity().saturating_mul(2).max(needed).min(limit);
        buffer.reserve_exact(target - buffer.len());
    }
}

/// The error of a body that failed while read: 413 when axum's `DefaultBodyLimit` stopped it
/// (its `LengthLimitError`, somewhere in the error's sources), else unreadable (400).
fn body_error(error: &axum::Error) -> VerifyError {
    let too_large = std::iter::successors(Some(error as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .any(|e| e.is::<LengthLimitError>());
    if too_large {
        VerifyError::new(VerifyErrorKind::BodyTooLarge)
            .with_message("body is larger than the route's body limit")
    } else {
        VerifyError::unreadable_body()
    }
}

/// The URL the sender addressed, when the verifier signs one: the receiver's public base URL,
/// else this server's scheme and the `Host` (HTTP/2: else the request's `:authority`), with
/// the original path and query. A request naming no usable host, or more than one `Host`, is
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
    let host = Receiver::host_field(
        parts
            .headers
            .get_all(http::header::HOST)
            .iter()
            .filter_map(|h| std::str::from_utf8(h.as_bytes()).ok()),
    )?
    .or_else(|| {
        (parts.version == http::Version::HTTP_2)
            .then(|| uri.authority().map(http::uri::Authority::as_str))
            .flatten()
    });
    receiver.signed_url(https, host, path_and_query)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use std::convert::Infallible;

    use axum::body::Body;
    use bytes::Bytes;
    use http_body_util::BodyExt as _;
    use webhook_core::VerifyErrorKind;

    use super::read_body;

    /// A body of these frames, streamed with no declared length.
    fn framed(frames: &[&[u8]]) -> Body {
        let frames: Vec<Result<Bytes, Infallible>> = frames
            .iter()
            .map(|frame| Ok(Bytes::copy_from_slice(frame)))
            .collect();
        Body::from_stream(futures_util::stream::iter(frames))
    }

    /// The common case, one data frame, is handed on as that frame: no copy.
    #[tokio::test]
    async fn a_single_frame_is_handed_on_without_a_copy() {
        let frame = Bytes::from(br#"{"type":"ping"}"#.to_vec());
        let at = frame.as_ptr();
        let read = read_body(Body::from(frame), 1_000).await.unwrap();
        assert_eq!(read.as_ptr(), at);
        assert_eq!(&read[..], br#"{"type":"ping"}"#);
        // Empty frames around it change nothing.
        let read = read_body(framed(&[b"", b"abc", b""]), 3).await.unwrap();
        assert_eq!(&read[..], b"abc");
        assert!(read_body(Body::empty(), 0).await.unwrap().is_empty());
    }

    /// Several frames are joined; the limit is inclusive, counted over every frame.
    #[tokio::test]
    async fn frames_are_joined_under_an_inclusive_limit() {
        let parts: [&[u8]; 4] = [b"ab", b"c", b"", b"defg"];
        let read = read_body(framed(&parts), 7).await.unwrap();
        assert_eq!(&read[..], b"abcdefg");
        for (frames, limit) in [(&parts[..], 6), (&[b"abcdefgh".as_slice()][..], 7)] {
            let error = read_body(framed(frames), limit).await.unwrap_err();
            assert_eq!(error.kind(), VerifyErrorKind::BodyTooLarge);
            assert_eq!(
                error.to_string(),
                webhook_core::VerifyError::body_too_large(limit).to_string(),
                "{frames:?}"
            );
        }
    }

    /// The copy is sized from the declared length, but at most 64 KiB (or as much as has
    /// arrived) ahead of what has arrived: a sender that declares the limit and stalls after
    /// two small frames does not hold the limit's worth of memory.
    #[test]
    fn the_copy_is_sized_ahead_by_at_most_what_arrived_or_64_kib() {
        use super::first_capacity;
        const KIB: usize = 1024;
        // Declared and near: the whole body at once.
        assert_eq!(first_capacity(2, 10, 1_000), 12);
        assert_eq!(first_capacity(10 * KIB, 60 * KIB, 1024 * KIB), 70 * KIB);
        // Declared far ahead: 64 KiB ahead, or as far as what arrived.
        assert_eq!(first_capacity(2, 1024 * KIB, 1024 * KIB), 2 + 64 * KIB);
        assert_eq!(first_capacity(200 * KIB, 800 * KIB, 1024 * KIB), 400 * KIB);
        // Never beyond the limit; nothing declared, the two frames.
        assert_eq!(first_capacity(900, usize::MAX, 1_000), 1_000);
        assert_eq!(first_capacity(7, 0, 1_000), 7);
    }

    /// Trailers are not body: skipped.
    #[tokio::test]
    async fn trailers_are_skipped() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-trailer", http::HeaderValue::from_static("1"));
        let body =
            Body::new(framed(&[b"ab", b"cd"]).with_trailers(async move { Some(Ok(trailers)) }));
        assert_eq!(&read_body(body, 4).await.unwrap()[..], b"abcd");
    }
}
