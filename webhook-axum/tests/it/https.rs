//! HTTPS is proven by the server that terminates TLS (the `HttpsConnection` marker) or by a
//! trusted proxy, never by the request URI a client writes.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router};
use tower::ServiceExt as _;
use webhook_axum::{HttpsConnection, Verified, VerifyWebhookLayer};
use webhook_core::{Receiver, Secret, StandardWebhooks};

fn app() -> Router {
    let receiver = Receiver::builder()
        .verifier(StandardWebhooks::new(Secret::random(24)).unwrap())
        .require_https(true)
        .build()
        .unwrap();
    Router::new()
        .route(
            "/hook",
            post(|_: Verified| async { StatusCode::NO_CONTENT }),
        )
        .route_layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver)
}

async fn status(app: Router, uri: &str) -> StatusCode {
    let request = Request::post(uri).body(Body::from("{}")).unwrap();
    app.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn an_absolute_https_uri_from_the_client_proves_nothing() {
    assert_eq!(status(app(), "/hook").await, StatusCode::FORBIDDEN);
    assert_eq!(
        status(app(), "https://anything/hook").await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_tls_listeners_marker_proves_https() {
    let app = app().layer(Extension(HttpsConnection));
    // Past the HTTPS check, stopped at authentication (no signature headers).
    assert_eq!(status(app, "/hook").await, StatusCode::UNAUTHORIZED);
}

/// A verifier that signs the URL (Twilio's) on a receiver without a public base URL: the URL
/// is built from the `Host` that is text; a request without a usable host, or with two, is
/// refused as the sender's fault (401), not the receiver's (500); and a header value that is
/// not UTF-8 is not seen at all, as in rocket, which drops such values.
#[tokio::test]
async fn the_signed_url_comes_from_the_host_and_needs_one() {
    use axum::http::HeaderValue;
    use webhook_core::provider::twilio;
    use webhook_core::{Outgoing, Signer as _};
    let secret = Secret::from_text("twilio-auth-token").unwrap();
    let receiver = Receiver::builder()
        .verifier(twilio::verifier(secret.clone()).unwrap())
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/hook",
            post(|_: Verified| async { StatusCode::NO_CONTENT }),
        )
        .route_layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver);
    let form = "Body=hello&From=%2B15550001111";
    let signed = twilio::signer(secret)
        .sign(&Outgoing::new(form.as_bytes()).url("http://hooks.example/hook?a=1"))
        .unwrap();
    let send = async |hosts: &[&[u8]], extra: Option<&[u8]>| {
        let mut request = Request::post("/hook?a=1")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        for (name, value) in signed.iter() {
            request.headers_mut().append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        for host in hosts {
            request
                .headers_mut()
                .append("host", HeaderValue::from_bytes(host).unwrap());
        }
        if let Some(extra) = extra {
            request.headers_mut().append(
                "x-twilio-signature",
                HeaderValue::from_bytes(extra).unwrap(),
            );
        }
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        (status, json["error"].as_str().map(str::to_owned))
    };
    assert_eq!(
        send(&[b"hooks.example"], None).await,
        (StatusCode::NO_CONTENT, None)
    );
    // Verified again: a duplicate of the first (Twilio needs a replay store).
    assert_eq!(
        send(&[b"\xffbad", b"hooks.example"], None).await,
        (StatusCode::OK, None)
    );
    assert_eq!(
        send(&[], None).await,
        (StatusCode::UNAUTHORIZED, Some("missing_header".into()))
    );
    assert_eq!(
        send(&[b"hooks example"], None).await,
        (StatusCode::UNAUTHORIZED, Some("malformed_header".into()))
    );
    // Two hosts, even the same one twice: HTTP/1.1 forbids it, and the URL is ambiguous.
    let same: &[u8] = b"hooks.example";
    for hosts in [&[same, b"other.example"], &[same, same]] {
        assert_eq!(
            send(hosts, None).await,
            (StatusCode::UNAUTHORIZED, Some("malformed_header".into()))
        );
    }
    // A second signature header: refused as repeated when it is text, unseen when not.
    assert_eq!(
        send(&[b"hooks.example"], Some(b"AAAA")).await,
        (StatusCode::UNAUTHORIZED, Some("malformed_header".into()))
    );
    assert_eq!(
        send(&[b"hooks.example"], Some(b"\xff\xfe")).await,
        (StatusCode::OK, None)
    );
}
