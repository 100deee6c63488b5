//! Source checks through the pipeline: trusted proxies, allowlists over IPv4, IPv6 and
//! IPv4-mapped IPv6, HTTPS, and the rate limit with its recovery.

use std::time::Duration;

use webhook_core::{ForwardedHeader, RateLimit, Receiver, VerifyErrorKind, WebhookRequest};

use crate::support_pipeline::{Rig, peer};

fn admit(
    receiver: &Receiver,
    request: &WebhookRequest<'_>,
    https: bool,
) -> Result<(), VerifyErrorKind> {
    let mut delivery = receiver.delivery();
    delivery.admit(request, https).map_err(|e| e.kind())
}

#[test]
fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .trusted_proxies(["10.0.0.0/8"])
        .allow_sources(["198.51.100.0/24"])
        .build()
        .unwrap();
    // The attacker claims to be an allowed address; it is not a trusted proxy.
    let spoofed = WebhookRequest::new(b"")
        .with_peer(peer("203.0.113.66"))
        .with_header("x-forwarded-for", "198.51.100.7")
        .with_header("forwarded", "for=198.51.100.7");
    assert_eq!(
        admit(&receiver, &spoofed, false),
        Err(VerifyErrorKind::SourceNotAllowed)
    );
    // Through the trusted proxy, the rightmost untrusted hop is the client; a hop the client
    // prepended itself is ignored.
    let proxied = WebhookRequest::new(b"")
        .with_peer(peer("10.1.2.3"))
        .with_header("x-forwarded-for", "203.0.113.66, 198.51.100.7");
    assert_eq!(admit(&receiver, &proxied, false), Ok(()));
    let prepended = WebhookRequest::new(b"")
        .with_peer(peer("10.1.2.3"))
        .with_header("x-forwarded-for", "198.51.100.7, 203.0.113.66");
    assert_eq!(
        admit(&receiver, &prepended, false),
        Err(VerifyErrorKind::SourceNotAllowed)
    );
}

/// The builder's `forwarded_header(Forwarded)` reaches the source check: behind a trusted
/// proxy the client and the protocol come from `Forwarded`, and `X-Forwarded-*` (which such
/// a proxy passes through from the client untouched) is ignored. A proxy reached over IPv6
/// as an IPv4-mapped address is the same proxy.
#[test]
fn the_forwarded_header_chosen_at_build_is_the_one_read() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .trusted_proxies(["10.0.0.0/8"])
        .forwarded_header(ForwardedHeader::Forwarded)
        .allow_sources(["198.51.100.0/24"])
        .require_https(true)
        .build()
        .unwrap();
    for proxy in ["10.1.2.3", "::ffff:10.1.2.3"] {
        let through = WebhookRequest::new(b"")
            .with_peer(peer(proxy))
            .with_header("forwarded", "for=198.51.100.7;proto=https");
        assert_eq!(admit(&receiver, &through, false), Ok(()), "{proxy}");
        // The client's own X-Forwarded-For and X-Forwarded-Proto are not believed.
        let spoofed_for = WebhookRequest::new(b"")
            .with_peer(peer(proxy))
            .with_header("forwarded", "for=203.0.113.66;proto=https")
            .with_header("x-forwarded-for", "198.51.100.7");
        assert_eq!(
            admit(&receiver, &spoofed_for, false),
            Err(VerifyErrorKind::SourceNotAllowed),
            "{proxy}"
        );
        let spoofed_proto = WebhookRequest::new(b"")
            .with_peer(peer(proxy))
            .with_header("forwarded", "for=198.51.100.7;proto=http")
            .with_header("x-forwarded-proto", "https");
        assert_eq!(
            admit(&receiver, &spoofed_proto, false),
            Err(VerifyErrorKind::HttpsRequired),
            "{proxy}"
        );
    }
    // With the default (X-Forwarded-For), the same `Forwarded` header is not read.
    let default = rig
        .builder()
        .trusted_proxies(["10.0.0.0/8"])
        .allow_sources(["198.51.100.0/24"])
        .build()
        .unwrap();
    let only_forwarded = WebhookRequest::new(b"")
        .with_peer(peer("10.1.2.3"))
        .with_header("forwarded", "for=198.51.100.7");
    assert_eq!(
        admit(&default, &only_forwarded, false),
        Err(VerifyErrorKind::SourceNotAllowed)
    );
}

#[test]
fn allowlists_cover_ipv4_ipv6_and_mapped_addresses() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .allow_sources(["192.0.2.0/24", "2001:db8:1::/48"])
        .build()
        .unwrap();
    for (ip, ok) in [
        ("192.0.2.10", true),
        ("192.0.3.10", false),
        ("2001:db8:1::5", true),
        ("2001:db8:2::5", false),
        ("::ffff:192.0.2.10", true),
        ("::ffff:192.0.3.10", false),
    ] {
        let req = WebhookRequest::new(b"").with_peer(peer(ip));
        assert_eq!(admit(&receiver, &req, false).is_ok(), ok, "{ip}");
    }
    // No peer address known: fail closed.
    assert_eq!(
        admit(&receiver, &WebhookRequest::new(b""), false),
        Err(VerifyErrorKind::SourceNotAllowed)
    );
}

#[test]
fn https_is_required_from_the_connection_or_a_trusted_proxy() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .require_https(true)
        .trusted_proxies(["::1"])
        .build()
        .unwrap();
    let direct = WebhookRequest::new(b"").with_peer(peer("192.0.2.1"));
    assert_eq!(
        admit(&receiver, &direct, false),
        Err(VerifyErrorKind::HttpsRequired)
    );
    assert_eq!(admit(&receiver, &direct, true), Ok(()));
    let spoofed = direct.clone().with_header("x-forwarded-proto", "https");
    assert_eq!(
        admit(&receiver, &spoofed, false),
        Err(VerifyErrorKind::HttpsRequired)
    );
    let proxied = WebhookRequest::new(b"")
        .with_peer(peer("::1"))
        .with_header("x-forwarded-proto", "https");
    assert_eq!(admit(&receiver, &proxied, false), Ok(()));
}

#[test]
fn rate_limit_answers_429_with_retry_after_then_recovers() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .rate_limit(RateLimit::per_minute(2))
        .build()
        .unwrap();
    let a = WebhookRequest::new(b"").with_peer(peer("192.0.2.1"));
    let b = WebhookRequest::new(b"").with_peer(peer("192.0.2.2"));
    assert!(admit(&receiver, &a, false).is_ok());
    assert!(admit(&receiver, &a, false).is_ok());
    let mut delivery = receiver.delivery();
    let err = delivery.admit(&a, false).unwrap_err();
    assert_eq!(err.status(), 429);
    assert_eq!(err.retry_after_secs(), Some(30));
    assert!(
        err.response_headers()
            .contains(&("retry-after", "30".to_owned()))
    );
    // Another source is unaffected.
    assert!(admit(&receiver, &b, false).is_ok());
    rig.clock.advance(Duration::from_secs(30));
    assert!(admit(&receiver, &a, false).is_ok());
    assert_eq!(
        admit(&receiver, &a, false),
        Err(VerifyErrorKind::RateLimited)
    );
}

#[test]
fn rate_limit_keys_ipv6_by_prefix_and_mapped_as_ipv4() {
    let rig = Rig::new();
    let receiver = rig
        .builder()
        .rate_limit(RateLimit::per_hour(1))
        .build()
        .unwrap();
    let v6a = WebhookRequest::new(b"").with_peer(peer("2001:db8::1"));
    let v6b = WebhookRequest::new(b"").with_peer(peer("2001:db8::ffff"));
    assert!(admit(&receiver, &v6a, false).is_ok());
    assert_eq!(
        admit(&receiver, &v6b, false),
        Err(VerifyErrorKind::RateLimited)
    );
    let v4 = WebhookRequest::new(b"").with_peer(peer("192.0.2.9"));
    let mapped = WebhookRequest::new(b"").with_peer(peer("::ffff:192.0.2.9"));
    assert!(admit(&receiver, &v4, false).is_ok());
    assert_eq!(
        admit(&receiver, &mapped, false),
        Err(VerifyErrorKind::RateLimited)
    );
    // Another IPv4 address, mapped or not, has a budget of its own; and so has another /64.
    let other_mapped = WebhookRequest::new(b"").with_peer(peer("::ffff:192.0.2.10"));
    assert!(admit(&receiver, &other_mapped, false).is_ok());
    let other_v4 = WebhookRequest::new(b"").with_peer(peer("192.0.2.10"));
    assert_eq!(
        admit(&receiver, &other_v4, false),
        Err(VerifyErrorKind::RateLimited)
    );
    let other_prefix = WebhookRequest::new(b"").with_peer(peer("2001:db8:0:1::1"));
    assert!(admit(&receiver, &other_prefix, false).is_ok());
}

/// Every configuration whose checks read the peer's address says so (an adapter that cannot
/// tell the address warns then); one that reads none does not.
#[test]
fn receivers_say_when_their_checks_read_the_peer() {
    let builder = || {
        webhook_core::Receiver::builder().verifier(
            webhook_core::StandardWebhooks::new(webhook_core::Secret::random(24)).unwrap(),
        )
    };
    assert!(!builder().build().unwrap().reads_peer());
    assert!(!builder().require_https(true).build().unwrap().reads_peer());
    for built in [
        builder().trust_every_peer_as_proxy().build(),
        builder().trusted_proxies(["10.0.0.0/8"]).build(),
        builder().allow_sources(["192.0.2.0/24"]).build(),
        builder()
            .rate_limit(webhook_core::RateLimit::per_second(5))
            .build(),
    ] {
        assert!(built.unwrap().reads_peer());
    }
}

/// For senders that drop a message answered 4xx (Amazon SNS): 409 and 429 answered 503, with
/// their body and `Retry-After`; every other rejection keeps its status; a custom rejection
/// is changed only where it keeps the 409 or 429. Set in code or from the environment.
#[test]
fn retryable_refusals_can_be_answered_503() {
    use std::time::Duration;
    use webhook_core::{Reply, Secret, StandardWebhooks, VerifyError};
    let verifier = || StandardWebhooks::new(Secret::random(24)).unwrap();
    let receiver = Receiver::builder()
        .verifier(verifier())
        .env_with("H", |n| {
            (n == "H_RETRYABLE_AS_503").then(|| "true".to_owned())
        })
        .build()
        .unwrap();
    for (kind, code) in [
        (VerifyErrorKind::InFlight, "in_flight"),
        (VerifyErrorKind::RateLimited, "rate_limited"),
    ] {
        let error = VerifyError::new(kind).with_retry_after(Duration::from_secs(2));
        let reply = receiver.reply_for(&error);
        assert_eq!(reply.status(), 503, "{code}");
        assert!(reply.body().contains(code), "{}", reply.body());
        assert!(
            reply
                .headers()
                .iter()
                .any(|(n, v)| n == "retry-after" && v == "2")
        );
    }
    for kind in [
        VerifyErrorKind::InvalidSignature,
        VerifyErrorKind::SourceNotAllowed,
        VerifyErrorKind::BodyTooLarge,
        VerifyErrorKind::StoreUnavailable,
    ] {
        let error = VerifyError::new(kind);
        assert_eq!(receiver.reply_for(&error).status(), error.status());
    }
    // Off by default.
    let plain = Receiver::builder().verifier(verifier()).build().unwrap();
    let limited = VerifyError::new(VerifyErrorKind::RateLimited);
    assert_eq!(plain.reply_for(&limited).status(), 429);
    // A custom rejection: changed where it keeps the status, not where it hides the route.
    for (custom, expected) in [(None, 503), (Some(404), 404)] {
        let receiver = Receiver::builder()
            .verifier(verifier())
            .retryable_as_503(true)
            .rejection(move |e| Reply::json(custom.unwrap_or(e.status()), "{}"))
            .build()
            .unwrap();
        assert_eq!(receiver.reply_for(&limited).status(), expected);
    }
    let bad = Receiver::builder()
        .verifier(verifier())
        .env_with("H", |n| {
            (n == "H_RETRYABLE_AS_503").then(|| "sometimes".to_owned())
        })
        .build()
        .unwrap_err();
    assert!(bad.to_string().contains("H_RETRYABLE_AS_503"), "{bad}");
}
