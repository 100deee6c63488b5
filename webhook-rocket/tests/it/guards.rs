//! The guards: configuration, limits, source, typed decoding, rejections that reach the client.

use std::net::SocketAddr;
use std::time::Duration;

use rocket::http::{Header, Status};
use webhook_core::{
    Claim, LeaseToken, RateLimit, ReplayStore, StoreError, StoreFuture, VerifyErrorKind,
};
use webhook_rocket::{Receivers, WebhookFairing};

use crate::support::{BODY, Rig, answer, client, rocket, runs};

#[rocket::async_test]
async fn a_missing_receiver_is_500_not_configured_with_json() {
    let rig = Rig::new();
    let client = client(rocket(None, true)).await;
    let (status, body, content_type) =
        answer(rig.request(&client, "/ok", "m", BODY), "content-type").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("not_configured"))
    );
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(runs(&client), 0);
}

/// A custom rejection whose status no response can carry is answered 500, as the other
/// adapters do, rather than dropping the connection.
#[rocket::async_test]
async fn a_custom_rejection_with_an_impossible_status_is_500() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.rejection(|_| webhook_core::Reply::json(1000, "{}")));
    let client = client(rocket(Some(receiver), true)).await;
    let response = Rig::new()
        .request(&client, "/ok", "m", BODY)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::InternalServerError);
    assert_eq!(runs(&client), 0);
}

#[rocket::async_test]
async fn rejections_reach_the_client_with_their_headers_and_never_echo_secrets() {
    let rig = Rig::new();
    let client = client(rocket(Some(rig.receiver(|b| b)), true)).await;
    // Signed with another secret: the signature is well-formed and wrong.
    let request = Rig::new().request(&client, "/ok", "m", BODY);
    let signature = request
        .inner()
        .headers()
        .get_one("webhook-signature")
        .unwrap()
        .to_owned();
    let response = request.dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(
        response.content_type(),
        Some(rocket::http::ContentType::JSON)
    );
    let text = response.into_string().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        json["error"].is_string() && json["message"].is_string(),
        "{text}"
    );
    assert_eq!(json["error"], "invalid_signature");
    let secret = rig.secret.expose_base64();
    for leak in [signature.as_str(), secret.as_str(), "ping"] {
        assert!(!text.contains(leak), "{text}");
    }
    assert_eq!(runs(&client), 0);
}

#[rocket::async_test]
async fn a_handler_taking_result_still_answers_the_rejection() {
    let rig = Rig::new();
    let client = client(rocket(Some(rig.receiver(|b| b)), true)).await;
    let (status, body, _) = answer(client.post("/wrapped").body(BODY), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing_header"))
    );
}

#[rocket::async_test]
async fn the_receivers_limit_and_the_named_data_limit_are_both_honoured() {
    let rig = Rig::new();
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1_500));
    let client = client(rocket(
        Some(rig.receiver(|b| b.max_body_bytes(1_000))),
        true,
    ))
    .await;
    let (status, body, _) = answer(rig.request(&client, "/ok", "big", big.as_bytes()), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("body_too_large"))
    );
    // A body of exactly the limit is accepted.
    let exact = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1_000 - 10));
    assert_eq!(exact.len(), 1_000);
    assert_eq!(
        answer(rig.request(&client, "/ok", "exact", exact.as_bytes()), "")
            .await
            .0,
        204
    );
    // One byte more is not.
    let over = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1_000 - 9));
    assert_eq!(over.len(), 1_001);
    let (status, body, _) = answer(rig.request(&client, "/ok", "over", over.as_bytes()), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("body_too_large"))
    );
    assert_eq!(
        body["message"].as_str(),
        Some("body is larger than 1000 bytes")
    );
    assert_eq!(runs(&client), 1);

    let limited = rocket(Some(rig.receiver(|b| b)), true).configure(
        rocket::Config::figment()
            .merge(("log_level", rocket::config::LogLevel::Off))
            .merge((
                "limits",
                rocket::data::Limits::default()
                    .limit("webhook", rocket::data::ByteUnit::from(10_u64)),
            )),
    );
    let client = crate::support::client(limited).await;
    let (status, body, _) = answer(rig.request(&client, "/ok", "small", BODY), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("body_too_large"))
    );
    // The limit that stopped the read is the one stated.
    assert_eq!(
        body["message"].as_str(),
        Some("body is larger than 10 bytes")
    );
    assert_eq!(runs(&client), 0);
}

#[rocket::async_test]
async fn the_peer_is_the_socket_not_x_real_ip() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.allow_sources(["198.51.100.0/24"]));
    let client = client(rocket(Some(receiver), true)).await;
    let spoofed = rig
        .request(&client, "/ok", "s1", BODY)
        .remote(SocketAddr::from(([203, 0, 113, 9], 5000)))
        .header(Header::new("x-real-ip", "198.51.100.7"))
        .header(Header::new("x-forwarded-for", "198.51.100.7"));
    let (status, body, _) = answer(spoofed, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("source_not_allowed"))
    );
    let allowed = rig
        .request(&client, "/ok", "s2", BODY)
        .remote(SocketAddr::from(([198, 51, 100, 7], 5000)));
    assert_eq!(answer(allowed, "").await.0, 204);
    assert_eq!(runs(&client), 1);
}

/// Rocket drops header values that are not UTF-8 from its requests: a trusted proxy's
/// request whose forwarding header is gone (or was never written) comes from an unknown
/// client, which the allowlist refuses, never from the proxy itself.
#[rocket::async_test]
async fn a_trusted_proxy_without_its_header_is_an_unknown_client() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| {
        b.trusted_proxies(["10.0.0.0/8"])
            .allow_sources(["10.0.0.0/8", "198.51.100.0/24"])
    });
    let client = client(rocket(Some(receiver), true)).await;
    let proxy = SocketAddr::from(([10, 0, 0, 7], 5000));
    let bare = rig.request(&client, "/ok", "p1", BODY).remote(proxy);
    let (status, body, _) = answer(bare, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("source_not_allowed"))
    );
    let named = rig
        .request(&client, "/ok", "p2", BODY)
        .remote(proxy)
        .header(Header::new("x-forwarded-for", "198.51.100.7"));
    assert_eq!(answer(named, "").await.0, 204);
    assert_eq!(runs(&client), 1);
}

#[rocket::async_test]
async fn https_is_required_without_tls() {
    let rig = Rig::new();
    let client = client(rocket(Some(rig.receiver(|b| b.require_https(true))), true)).await;
    let (status, body, _) = answer(rig.request(&client, "/ok", "h", BODY), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("https_required"))
    );
}

#[rocket::async_test]
async fn rate_limit_answers_429_with_retry_after_then_recovers() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b.rate_limit(RateLimit::per_minute(1)));
    let client = client(rocket(Some(receiver), true)).await;
    assert_eq!(
        answer(rig.request(&client, "/ok", "a", BODY), "").await.0,
        204
    );
    let (status, body, retry_after) =
        answer(rig.request(&client, "/ok", "b", BODY), "retry-after").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    assert_eq!(retry_after.as_deref(), Some("60"));
    rig.clock.advance(Duration::from_secs(60));
    assert_eq!(
        answer(rig.request(&client, "/ok", "c", BODY), "").await.0,
        204
    );
}

#[derive(Debug)]
struct DownStore;

impl ReplayStore for DownStore {
    fn claim<'a>(&'a self, _: &'a str, _: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(async {
            Err(StoreError::new("connection refused").with_retry_after(Duration::from_secs(5)))
        })
    }
    fn complete<'a>(&'a self, _: &'a str, _: LeaseToken, _: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn release(&self, _: &str, _: LeaseToken) {}
}

#[rocket::async_test]
async fn an_unavailable_store_fails_closed_with_503() {
    let rig = Rig::new();
    let client = client(rocket(
        Some(rig.receiver(|b| b.route("down").replay(DownStore))),
        true,
    ))
    .await;
    let (status, body, retry_after) =
        answer(rig.request(&client, "/ok", "d", BODY), "retry-after").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("store_unavailable"))
    );
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(!body.to_string().contains("connection refused"));
    assert_eq!(runs(&client), 0);
}

#[rocket::async_test]
async fn the_typed_guard_decodes_and_answers_duplicates() {
    let rig = Rig::new();
    let receiver = rig.receiver(|b| b);
    let client = client(rocket(Some(receiver.clone()), true)).await;
    assert_eq!(
        answer(rig.request(&client, "/typed", "t1", BODY), "")
            .await
            .0,
        204
    );
    let (status, body, _) = answer(rig.request(&client, "/typed", "t1", BODY), "").await;
    assert_eq!((status, body["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(
        (body["event_type"].as_str(), body["id"].as_str()),
        (None, Some("t1"))
    );
    let (status, body, _) = answer(
        rig.request(&client, "/typed", "t2", br#"{"type":"pong"}"#),
        "",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("unknown_event_type"))
    );
    let (status, body, _) = answer(rig.request(&client, "/typed", "t3", b"nope"), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_body"))
    );
    // The decode failure released the claim: a fixed retry with the same id is processed.
    assert_eq!(
        answer(rig.request(&client, "/typed", "t3", BODY), "")
            .await
            .0,
        204
    );
    assert_eq!(receiver.stats().rejected(VerifyErrorKind::MalformedBody), 1);
    assert_eq!(runs(&client), 2);
}

#[rocket::async_test]
async fn receivers_pick_the_route_and_fall_back_to_the_managed_receiver() {
    let rig = Rig::new();
    let other = Rig::new();
    let receivers = Receivers::new().route("/typed", other.receiver(|b| b.route("typed")));
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    };
    let rocket = rocket(Some(rig.receiver(|b| b)), false)
        .configure(config)
        .manage(receivers)
        .attach(WebhookFairing);
    let client = client(rocket).await;
    // `/typed` verifies with the other secret, `/ok` with the managed receiver's.
    assert_eq!(
        answer(rig.request(&client, "/typed", "r1", BODY), "")
            .await
            .0,
        401
    );
    assert_eq!(
        answer(other.request(&client, "/typed", "r1", BODY), "")
            .await
            .0,
        204
    );
    assert_eq!(
        answer(rig.request(&client, "/ok", "r2", BODY), "").await.0,
        204
    );
    assert_eq!(
        answer(other.request(&client, "/ok", "r3", BODY), "")
            .await
            .0,
        401
    );
}

/// A receiver that decrypts: both guards get the plaintext, and a body sealed for another
/// delivery is refused with 400 before the handler, its id left unclaimed.
#[rocket::async_test]
async fn the_guards_get_the_decrypted_body() {
    use webhook_core::{Aes256GcmDecryptor, Aes256GcmSealer, Envelope, Key, Secret};

    let rig = Rig::new();
    let key = Key::new("k", Secret::random(32));
    let envelope = Envelope::json("/ciphertext", "/nonce").associated_data_header("webhook-id");
    let receiver = rig
        .receiver(|b| b.decryptor(Aes256GcmDecryptor::new(key.clone(), envelope.clone()).unwrap()));
    let sealer = Aes256GcmSealer::new(key, envelope).unwrap();
    let client = client(rocket(Some(receiver.clone()), true)).await;
    let sealed = |sealed_for: &str| sealer.seal(BODY, sealed_for.as_bytes()).unwrap();

    let response = rig
        .request(&client, "/echo", "e1", &sealed("e1"))
        .dispatch()
        .await;
    assert_eq!(response.status().code, 200);
    assert_eq!(response.into_bytes().await.unwrap(), BODY);
    assert_eq!(
        answer(rig.request(&client, "/typed", "e2", &sealed("e2")), "")
            .await
            .0,
        204
    );
    let (status, body, _) = answer(rig.request(&client, "/typed", "e3", &sealed("e1")), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_body"))
    );
    assert_eq!(runs(&client), 2);
    assert_eq!(
        answer(rig.request(&client, "/typed", "e3", &sealed("e3")), "")
            .await
            .0,
        204
    );
    assert_eq!(receiver.stats().rejected(VerifyErrorKind::MalformedBody), 1);
}

/// A verifier that signs the URL (Twilio's) on a receiver without a public base URL: the URL
/// is built from `Host`, and a request without one is refused as the sender's fault (401
/// `missing_header`), one with two as `malformed_header`, as in the other adapters.
#[rocket::async_test]
async fn the_signed_url_comes_from_the_host_and_needs_one() {
    use webhook_core::provider::twilio;
    use webhook_core::{Outgoing, Secret, Signer as _};
    let secret = Secret::from_text("twilio-auth-token").unwrap();
    let receiver = webhook_core::Receiver::builder()
        .verifier(twilio::verifier(secret.clone()).unwrap())
        .build()
        .unwrap();
    let client = client(rocket(Some(receiver), true)).await;
    let form = "Body=hello&From=%2B15550001111";
    let signed = twilio::signer(secret)
        .sign(&Outgoing::new(form.as_bytes()).url("http://hooks.example/ok?a=1"))
        .unwrap();
    let send = |host: Option<&'static str>| {
        let mut request = client
            .post("/ok?a=1")
            .header(Header::new(
                "content-type",
                "application/x-www-form-urlencoded",
            ))
            .remote(SocketAddr::from(([127, 0, 0, 1], 50_000)))
            .body(form);
        for (name, value) in signed.iter() {
            request = request.header(Header::new(name.to_owned(), value.to_owned()));
        }
        if let Some(host) = host {
            request = request.header(Header::new("host", host));
        }
        answer(request, "")
    };
    assert_eq!(send(Some("hooks.example")).await.0, 204);
    let (status, body, _) = send(None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing_header"))
    );
    let (status, body, _) = send(Some("hooks example")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("malformed_header"))
    );
    // Two hosts: HTTP/1.1 forbids it, and the URL is ambiguous.
    let mut request = client
        .post("/ok?a=1")
        .header(Header::new(
            "content-type",
            "application/x-www-form-urlencoded",
        ))
        .header(Header::new("host", "hooks.example"))
        .header(Header::new("host", "other.example"))
        .remote(SocketAddr::from(([127, 0, 0, 1], 50_000)))
        .body(form);
    for (name, value) in signed.iter() {
        request = request.header(Header::new(name.to_owned(), value.to_owned()));
    }
    let (status, body, _) = answer(request, "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("malformed_header"))
    );
}
