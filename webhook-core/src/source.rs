//! Where a delivery came from: the client address (through trusted proxies only), the address
//! allowlist and the HTTPS requirement.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use ipnet::{IpNet, Ipv4Net};

use crate::error::{ConfigError, VerifyError, VerifyErrorKind};
use crate::request::WebhookRequest;

/// At most this many forwarding hops are examined: a longer chain of trusted hops gives the
/// last one examined.
const MAX_HOPS: usize = 32;

/// Reads the address of one element of a forwarding header.
type NodeParser = fn(&[u8]) -> Option<IpAddr>;

/// At most this many parameters in one `Forwarded` element (RFC 7239 defines four).
const MAX_PARAMS: usize = 16;

/// Parse a list of addresses or CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).
///
/// IPv4-mapped IPv6 blocks (`::ffff:10.0.0.0/104`) become their IPv4 equivalent, because
/// addresses are compared in canonical form.
pub(crate) fn parse_nets<I, S>(what: &str, items: I) -> Result<Vec<IpNet>, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut nets = Vec::new();
    for item in items {
        let text = item.as_ref().trim();
        if text.is_empty() {
            continue;
        }
        let net = parse_net(text).ok_or_else(|| {
            ConfigError::new(format!(
                "{what}: `{text}` is not an IP address or CIDR block"
            ))
        })?;
        if net != net.trunc() {
            return Err(ConfigError::new(format!(
                "{what}: `{text}` has bits set after its prefix: write `{}`, or the address \
                 alone for one host",
                net.trunc()
            )));
        }
        if let IpNet::V6(v6) = net
            && (1..96).contains(&v6.prefix_len())
            && v6.contains(&std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0))
        {
            // Clients in IPv4-mapped form are compared as IPv4: such a block would match no
            // IPv4 client, though it looks as if it covered some.
            return Err(ConfigError::new(format!(
                "{what}: `{text}` covers the IPv4-mapped addresses (::ffff:0:0/96), which are \
                 compared as IPv4: write IPv4 blocks for IPv4 clients"
            )));
        }
        nets.push(canonical_net(net));
    }
    Ok(nets)
}

/// `address` or `address/prefix`, the address read by the standard library's parser: it
/// refuses octets with leading zeros (`010.0.0.0`), which tools built on `inet_aton` read as
/// octal (8.0.0.0), so such a block means different networks to different readers.
fn parse_net(text: &str) -> Option<IpNet> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address = address.parse::<IpAddr>().ok()?;
    let Some(prefix) = prefix else {
        return Some(IpNet::from(address));
    };
    // Decimal digits only (no sign, no spaces), at most three.
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    IpNet::new(address, prefix.parse().ok()?).ok()
}

fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(v4net) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4net.trunc());
    }
    net.trunc()
}

/// Which header the trusted proxies write. Only that header is ever read: proxies pass the
/// other one through from the client untouched, so reading it would let a client choose its
/// own address or protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` for the client address and `X-Forwarded-Proto` for the protocol
    /// (nginx, AWS ALB, Traefik, most load balancers). The default.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=…;proto=…`.
    Forwarded,
}

/// The source rules of a receiver.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourcePolicy {
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) forwarded_header: ForwardedHeader,
    pub(crate) allow: Vec<IpNet>,
    pub(crate) require_https: bool,
    /// Every peer is a proxy that appends one hop, and only that hop is believed
    /// ([`ReceiverBuilder::trust_every_peer_as_proxy`](crate::ReceiverBuilder::trust_every_peer_as_proxy)).
    pub(crate) every_peer: bool,
}

impl SourcePolicy {
    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.every_peer || self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client address: the peer, or — when the peer is a trusted proxy — the rightmost
    /// untrusted hop of the configured forwarding header (never the other one).
    ///
    /// A hop that cannot be parsed (malformed, or an obfuscated node such as `unknown`) makes
    /// the client unknown (`None`): neither the client nor a trusted proxy's own address,
    /// which a client could otherwise borrow by sending a header that breaks the proxy's
    /// element. An allowlist then refuses the request. Hops are parsed only as far as the
    /// walk goes, from the right.
    ///
    /// So does a trusted peer that sends no forwarding header at all. A proxy configured to
    /// write the header always writes it; it is absent when the value cannot be seen, and
    /// header values that are not UTF-8 are left out of every request view (rocket drops
    /// them itself). A client that sends `X-Forwarded-For: \xFF` through nginx's
    /// `$proxy_add_x_forwarded_for` would otherwise pass as the proxy.
    pub(crate) fn client_ip(&self, request: &WebhookRequest<'_>) -> Option<IpAddr> {
        let peer = request.peer()?.ip().to_canonical();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let (hops, parse): (_, NodeParser) = match self.forwarded_header {
            ForwardedHeader::XForwardedFor => {
                (last_elements(request, "x-forwarded-for", false), xff_node)
            }
            ForwardedHeader::Forwarded => {
                (last_elements(request, "forwarded", true), forwarded_node)
            }
        };
        if hops.is_empty() {
            return None;
        }
        let mut candidate = peer;
        for hop in hops.iter().rev() {
            match parse(hop) {
                // With every peer a proxy, the one hop it appended is the client: anything
                // further left may be the client's own writing.
                Some(ip) if !self.every_peer && self.is_trusted(ip) => candidate = ip,
                Some(ip) => return Some(ip),
                None => return None,
            }
        }
        Some(candidate)
    }

    /// Whether the request arrived over HTTPS: on the connection itself, or — when the peer is
    /// a trusted proxy — as the rightmost element of the configured header reports it
    /// (`X-Forwarded-Proto`, or `proto=` of the last `Forwarded` element; an element without
    /// `proto=` is not HTTPS). Only the proxy's own, rightmost, entry counts.
    fn is_https(&self, request: &WebhookRequest<'_>, connection_https: bool) -> bool {
        if connection_https {
            return true;
        }
        let Some(peer) = request.peer() else {
            return false;
        };
        if !self.is_trusted(peer.ip().to_canonical()) {
            return false;
        }
        let proto = match self.forwarded_header {
            ForwardedHeader::Forwarded => last_elements(request, "forwarded", true)
                .back()
                .and_then(|element| forwarded_element(element))
                .and_then(|element| element.proto),
            ForwardedHeader::XForwardedFor => last_elements(request, "x-forwarded-proto", false)
                .back()
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(|v| v.trim().to_owned()),
        };
        proto.is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }

    /// Apply the allowlist and the HTTPS requirement; returns the client address.
    ///
    /// # Errors
    ///
    /// `SourceNotAllowed` (403) when an allowlist is set and the client is not on it (or is
    /// unknown); `HttpsRequired` (403) when HTTPS is required and not proven.
    pub(crate) fn check(
        &self,
        request: &WebhookRequest<'_>,
        connection_https: bool,
    ) -> Result<Option<IpAddr>, VerifyError> {
        let client = self.client_ip(request);
        if !self.allow.is_empty() {
            let allowed = client.is_some_and(|ip| self.allow.iter().any(|net| net.contains(&ip)));
            if !allowed {
                return Err(VerifyError::new(VerifyErrorKind::SourceNotAllowed));
            }
        }
        if self.require_https && !self.is_https(request, connection_https) {
            return Err(VerifyError::new(VerifyErrorKind::HttpsRequired));
        }
        Ok(client)
    }
}

/// The last [`MAX_HOPS`] comma-separated elements of every value of header `name`, left to
/// right. With `quoted`, commas inside RFC 7239 quoted strings do not separate elements.
///
/// One pass over the bytes, keeping only the last elements' positions: however long a
/// client makes the header (a proxy appends to what the client sent), the work is linear in
/// its length and nothing is allocated per element.
fn last_elements<'r>(request: &WebhookRequest<'r>, name: &str, quoted: bool) -> VecDeque<&'r [u8]> {
    let mut last = VecDeque::with_capacity(MAX_HOPS);
    let mut keep = |element: &'r [u8]| {
        if last.len() == MAX_HOPS {
            last.pop_front();
        }
        last.push_back(element);
    };
    for value in request.header_values(name) {
        let (mut start, mut in_quotes, mut escaped) = (0, false, false);
        for (i, &byte) in value.iter().enumerate() {
            if in_quotes {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_quotes = false;
                }
            } else if quoted && byte == b'"' {
                in_quotes = true;
            } else if byte == b',' {
                keep(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
        }
        keep(value.get(start..).unwrap_or_default());
    }
    last
}

/// The address of one `X-Forwarded-For` hop, if it is one.
fn xff_node(hop: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(hop)
        .ok()
        .and_then(|h| parse_node(h.trim()))
}

/// The `for=` address of one `Forwarded` element, if the element is well-formed and has one.
fn forwarded_node(element: &[u8]) -> Option<IpAddr> {
    forwarded_element(element)
        .and_then(|e| e.node)
        .and_then(|node| parse_node(&node))
}

/// The parameters of one `Forwarded` element that matter here, unquoted.
#[derive(Debug, Default, PartialEq, Eq)]
struct ForwardedElement {
    node: Option<String>,
    proto: Option<String>,
}

/// Parse one `Forwarded` element: `;`-separated `token=value` pairs, each value a token or a
/// quoted string (RFC 7239 §4). `None` when the element is malformed — a pair without `=`,
/// a bad token, an unterminated quoted string, text after one, a parameter given twice, more
/// than [`MAX_PARAMS`] parameters — so that text a client smuggled into a quoted value can
/// never read as a parameter. Unquoted values may also hold `:`, `[` and `]` (proxies write
/// `for=192.0.2.1:80` and bare IPv6 unquoted, against the RFC); none of those can end a
/// value or start a parameter.
fn forwarded_element(element: &[u8]) -> Option<ForwardedElement> {
    let text = std::str::from_utf8(element).ok()?;
    let mut parsed = ForwardedElement::default();
    let mut seen: Vec<String> = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Some(parsed);
        }
        if let Some(after) = rest.strip_prefix(';') {
            rest = after;
            continue;
        }
        let (key, after_key) = rest.split_once('=')?;
        let key = key.trim_end_matches([' ', '\t']);
        if key.is_empty() || !key.bytes().all(is_tchar) {
            return None;
        }
        let (value, after_value) = if let Some(quoted) = after_key.strip_prefix('"') {
            unquote(quoted)?
        } else {
            let end = after_key.find(';').unwrap_or(after_key.len());
            let (value, after) = after_key.split_at(end);
            let value = value.trim_end_matches([' ', '\t']);
            let value_char = |b: u8| is_tchar(b) || matches!(b, b':' | b'[' | b']');
            if value.is_empty() || !value.bytes().all(value_char) {
                return None;
            }
            (value.to_owned(), after)
        };
        // After a value: optional whitespace, then `;` or the end.
        let after_value = after_value.trim_start_matches([' ', '\t']);
        if !(after_value.is_empty() || after_value.starts_with(';')) {
            return None;
        }
        let key = key.to_ascii_lowercase();
        if seen.contains(&key) || seen.len() == MAX_PARAMS {
            return None;
        }
        match key.as_str() {
            "for" => parsed.node = Some(value),
            "proto" => parsed.proto = Some(value),
            _ => {}
        }
        seen.push(key);
        rest = after_value;
    }
}

/// The content of a quoted string whose opening quote is already consumed, unescaped, and
/// the text after its closing quote; `None` when it is not terminated.
fn unquote(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, text.get(i + 1..).unwrap_or_default())),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

/// A `token` character (RFC 9110 §5.6.2).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// An address as a proxy writes it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`. Anything else (`unknown`, `_hidden`) is `None`.
fn parse_node(text: &str) -> Option<IpAddr> {
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    let ip = if let Ok(ip) = text.parse::<IpAddr>() {
        ip
    } else if let Ok(sock) = text.parse::<SocketAddr>() {
        sock.ip()
    } else {
        let inner = text.strip_prefix('[')?.strip_suffix(']')?;
        inner.parse::<IpAddr>().ok()?
    };
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(trusted: &[&str]) -> SourcePolicy {
        SourcePolicy {
            trusted_proxies: parse_nets("trusted", trusted).unwrap(),
            ..SourcePolicy::default()
        }
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 4000)
    }

    #[test]
    fn parses_nodes() {
        for (text, want) in [
            ("192.0.2.1", Some("192.0.2.1")),
            ("192.0.2.1:80", Some("192.0.2.1")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("[2001:db8::1]", Some("2001:db8::1")),
            ("[2001:db8::1]:443", Some("2001:db8::1")),
            ("::ffff:10.1.2.3", Some("10.1.2.3")),
            ("unknown", None),
            ("_hidden", None),
            ("", None),
            ("[::1", None),
        ] {
            assert_eq!(parse_node(text), want.map(|w| w.parse().unwrap()), "{text}");
        }
    }

    #[test]
    fn untrusted_peer_ignores_forwarding_headers() {
        let p = policy(&["10.0.0.0/8"]);
        let req = WebhookRequest::new(b"")
            .with_peer(peer("203.0.113.9"))
            .with_header("x-forwarded-for", "1.2.3.4");
        assert_eq!(p.client_ip(&req), Some("203.0.113.9".parse().unwrap()));
    }

    /// A trusted proxy always writes its header: without one (a value left out of the view
    /// because it is not UTF-8, say), the client is unknown, never the proxy itself.
    #[test]
    fn a_trusted_peer_without_the_header_is_an_unknown_client() {
        for header in [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded] {
            let mut p = policy(&["10.0.0.0/8"]);
            p.forwarded_header = header;
            p.allow = parse_nets("allowed", ["10.0.0.0/8", "198.51.100.0/24"]).unwrap();
            let bare = WebhookRequest::new(b"").with_peer(peer("10.0.0.1"));
            assert_eq!(p.client_ip(&bare), None, "{header:?}");
            assert_eq!(
                p.check(&bare, false).map_err(|e| e.kind()),
                Err(VerifyErrorKind::SourceNotAllowed),
                "{header:?}"
            );
            // The other header, which such a proxy passes through from the client, changes
            // nothing.
            let other = match header {
                ForwardedHeader::XForwardedFor => ("forwarded", "for=198.51.100.7"),
                ForwardedHeader::Forwarded => ("x-forwarded-for", "198.51.100.7"),
            };
            let spoofed = WebhookRequest::new(b"")
                .with_peer(peer("10.0.0.1"))
                .with_header(other.0, other.1);
            assert_eq!(p.client_ip(&spoofed), None, "{header:?}");
        }
        // An untrusted peer without the header is itself the client.
        let p = policy(&["10.0.0.0/8"]);
        let direct = WebhookRequest::new(b"").with_peer(peer("198.51.100.7"));
        assert_eq!(p.client_ip(&direct), Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn rightmost_untrusted_hop_wins() {
        let p = policy(&["10.0.0.0/8"]);
        let req = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("x-forwarded-for", "6.6.6.6, 198.51.100.7")
            .with_header("x-forwarded-for", "10.0.0.2");
        assert_eq!(p.client_ip(&req), Some("198.51.100.7".parse().unwrap()));
    }

    /// Proxies that write `X-Forwarded-For` pass a client's own `Forwarded` header through:
    /// it must not choose the client address nor the protocol.
    #[test]
    fn only_the_configured_header_is_read() {
        let mut p = policy(&["10.0.0.0/8"]);
        p.require_https = true;
        let spoof = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("forwarded", "for=192.0.2.10;proto=https")
            .with_header("x-forwarded-for", "203.0.113.66")
            .with_header("x-forwarded-proto", "http");
        assert_eq!(p.client_ip(&spoof), Some("203.0.113.66".parse().unwrap()));
        assert!(!p.is_https(&spoof, false));
        // Configured for `Forwarded`, the X-Forwarded-* headers are the client's.
        p.forwarded_header = ForwardedHeader::Forwarded;
        let spoof = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("x-forwarded-for", "192.0.2.10")
            .with_header("x-forwarded-proto", "https")
            .with_header("forwarded", "for=203.0.113.66;proto=http");
        assert_eq!(p.client_ip(&spoof), Some("203.0.113.66".parse().unwrap()));
        assert!(!p.is_https(&spoof, false));
    }

    /// Only the rightmost `Forwarded` element (the trusted proxy's own) says the protocol.
    #[test]
    fn proto_comes_from_the_rightmost_element_only() {
        let mut p = policy(&["10.0.0.0/8"]);
        p.forwarded_header = ForwardedHeader::Forwarded;
        let req = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("forwarded", "for=1.2.3.4;proto=https, for=203.0.113.66");
        assert!(!p.is_https(&req, false));
        let mut p = policy(&["10.0.0.0/8"]);
        p.forwarded_header = ForwardedHeader::XForwardedFor;
        let req = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("x-forwarded-proto", "https, http");
        assert!(!p.is_https(&req, false));
    }

    #[test]
    fn forwarded_header_when_configured_and_unparsable_stops() {
        let mut p = policy(&["10.0.0.0/8"]);
        p.forwarded_header = ForwardedHeader::Forwarded;
        let req = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("x-forwarded-for", "9.9.9.9")
            .with_header(
                "forwarded",
                r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711";proto=https"#,
            );
        assert_eq!(
            p.client_ip(&req),
            Some("2001:db8:cafe::17".parse().unwrap())
        );
        assert!(p.is_https(&req, false));
        // An obfuscated or unparsable hop: the client is unknown, not the proxy.
        let req = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("forwarded", "for=192.0.2.60, for=unknown");
        assert_eq!(p.client_ip(&req), None);
        // Proxies that write addresses unquoted, against the RFC, are still read.
        for (element, want) in [
            ("for=192.0.2.61:4711", "192.0.2.61"),
            ("for=2001:db8::61", "2001:db8::61"),
            ("for=[2001:db8::62]:80;proto=https", "2001:db8::62"),
        ] {
            let req = WebhookRequest::new(b"")
                .with_peer(peer("10.0.0.1"))
                .with_header("forwarded", element);
            assert_eq!(p.client_ip(&req), Some(want.parse().unwrap()), "{element}");
        }
    }

    /// RFC 7239 values may be quoted strings, which can hold `,`, `;` and `=`: a proxy that
    /// quotes text the client chose (its `Host`, say) must not let that text read as `for=`
    /// or `proto=`.
    #[test]
    fn quoted_values_cannot_smuggle_parameters() {
        let mut p = policy(&["10.0.0.0/8"]);
        p.forwarded_header = ForwardedHeader::Forwarded;
        let smuggled = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header(
                "forwarded",
                r#"for=203.0.113.5;host="x,for=9.9.9.9;proto=https;y";proto=http"#,
            );
        assert_eq!(p.client_ip(&smuggled), Some("203.0.113.5".parse().unwrap()));
        assert!(!p.is_https(&smuggled, false));
        // Escaped quotes stay inside the value.
        let escaped = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header(
                "forwarded",
                r#"for=203.0.113.6;host="a\",for=9.9.9.9";proto=https"#,
            );
        assert_eq!(p.client_ip(&escaped), Some("203.0.113.6".parse().unwrap()));
        assert!(p.is_https(&escaped, false));
    }

    /// Malformed elements are unparsable hops: the client is unknown (never the trusted
    /// proxy's own address), and such an element never proves HTTPS.
    #[test]
    fn malformed_forwarded_elements_make_the_client_unknown() {
        let mut p = policy(&["10.0.0.0/8"]);
        p.forwarded_header = ForwardedHeader::Forwarded;
        for element in [
            r#"for="203.0.113.7"#,                 // unterminated quote
            "for=203.0.113.7;for=9.9.9.9",         // a parameter twice
            "for=203.0.113.7;proto",               // a pair without `=`
            r#"for="203.0.113.7"x;proto=https"#,   // text after a quoted string
            "for=203.0.113.7 9.9.9.9;proto=https", // a value that is not a token
            "f@r=203.0.113.7;proto=https",         // a key that is not a token
        ] {
            let req = WebhookRequest::new(b"")
                .with_peer(peer("10.0.0.1"))
                .with_header("forwarded", element);
            assert_eq!(p.client_ip(&req), None, "{element}");
            assert!(!p.is_https(&req, false), "{element}");
        }
        // More parameters than any proxy writes: malformed.
        let many: Vec<String> = (0..MAX_PARAMS).map(|i| format!("p{i}=x")).collect();
        let element = format!("for=203.0.113.7;{}", many.join(";"));
        assert_eq!(forwarded_element(element.as_bytes()), None);
        // A client that opens a quote and never closes it swallows the proxy's element
        // appended to the same value: the client is then unknown, not the proxy.
        let mut p = policy(&["10.0.0.0/8"]);
        p.forwarded_header = ForwardedHeader::Forwarded;
        p.allow = parse_nets("allow", ["10.0.0.0/8"]).unwrap();
        let swallowed = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header(
                "forwarded",
                r#"for=1.2.3.4;x=", for=203.0.113.9;proto=https"#,
            );
        assert_eq!(p.client_ip(&swallowed), None);
        assert_eq!(
            p.check(&swallowed, false).unwrap_err().kind(),
            VerifyErrorKind::SourceNotAllowed,
            "a client cannot pass an allowlist of the proxies' own network"
        );
        assert_eq!(
            forwarded_element(br#" For="[2001:db8::1]:80" ; PROTO=https ;; by=_proxy"#),
            Some(ForwardedElement {
                node: Some("[2001:db8::1]:80".to_owned()),
                proto: Some("https".to_owned()),
            })
        );
    }

    /// However long the chain a client sends, only the last hops are kept and examined.
    #[test]
    fn long_chains_keep_only_the_last_hops() {
        let p = policy(&["10.0.0.0/8"]);
        let client_part = format!("{}6.6.6.6", ",".repeat(200_000));
        let req = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("x-forwarded-for", &client_part)
            .with_header("x-forwarded-for", "198.51.100.7, 10.0.0.3");
        assert_eq!(
            last_elements(&req, "x-forwarded-for", false).len(),
            MAX_HOPS
        );
        assert_eq!(p.client_ip(&req), Some("198.51.100.7".parse().unwrap()));
        // A chain of trusted hops longer than the limit stops at the last one examined.
        let trusted: Vec<String> = (1..=40).map(|i| format!("10.0.1.{i}")).collect();
        let trusted = trusted.join(", ");
        let req = WebhookRequest::new(b"")
            .with_peer(peer("10.0.0.1"))
            .with_header("x-forwarded-for", &trusted);
        assert_eq!(p.client_ip(&req), Some("10.0.1.9".parse().unwrap()));
    }

    #[test]
    fn mapped_networks_are_canonical() {
        let nets = parse_nets("allow", ["::ffff:10.0.0.0/104", "2001:db8::/32"]).unwrap();
        assert_eq!(nets[0], "10.0.0.0/8".parse::<IpNet>().unwrap());
        assert!(parse_nets("allow", ["10.0.0.0/33"]).is_err());
        assert!(parse_nets("allow", ["nonsense"]).is_err());
        // A typo for one address (`/32`) must not silently become a whole network.
        let typo = parse_nets("allow", ["192.0.2.10/8"])
            .unwrap_err()
            .to_string();
        assert!(typo.contains("`192.0.0.0/8`"), "{typo}");
        assert!(parse_nets("allow", ["2001:db8::1/32"]).is_err());
        // Blocks covering the mapped range, which no client (compared as IPv4) could be in.
        for covering in ["::fffe:0:0/95", "::/64", "::/80"] {
            let error = parse_nets("allow", [covering]).unwrap_err().to_string();
            assert!(error.contains("IPv4-mapped"), "{covering}: {error}");
        }
        assert!(parse_nets("allow", ["::/0", "2001:db8::/32", "::ffff:0:0/96"]).is_ok());
        assert!(parse_nets("allow", ["::ffff:10.0.0.0/104", "192.0.2.10"]).is_ok());
    }

    /// Octets with leading zeros read as octal to `inet_aton`-based tools (`010` is 8): such a
    /// block is refused, as such an address is; prefixes are plain decimal.
    #[test]
    fn ambiguous_blocks_are_refused() {
        for text in [
            "010.0.0.0/8",
            "10.0.0.00/32",
            "010.0.0.1",
            "10.0.0.0/+8",
            "10.0.0.0/ 8",
            "10.0.0.0/",
            "10.0.0.0/0008",
            "/8",
            "2001:db8::/-1",
            "2001:db8::/129",
            "0x0a.0.0.0/8",
        ] {
            let error = parse_nets("allow", [text]).unwrap_err().to_string();
            assert!(
                error.contains("not an IP address or CIDR block"),
                "{text}: {error}"
            );
        }
        for (text, want) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.0.0.0/08", "10.0.0.0/8"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("192.0.2.7", "192.0.2.7/32"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
        ] {
            let nets = parse_nets("allow", [text]).unwrap();
            assert_eq!(nets, vec![want.parse::<IpNet>().unwrap()], "{text}");
        }
    }

    /// With every peer taken for a proxy, only the hop it appended is believed: a client
    /// that writes an allowlisted address further left is still itself.
    #[test]
    fn every_peer_a_proxy_believes_one_hop() {
        let p = SourcePolicy {
            every_peer: true,
            allow: parse_nets("allow", ["192.0.2.0/24"]).unwrap(),
            require_https: true,
            ..SourcePolicy::default()
        };
        fn via_balancer(xff: &'static str, proto: &'static str) -> WebhookRequest<'static> {
            WebhookRequest::new(b"")
                .with_peer(peer("10.1.2.3"))
                .with_header("x-forwarded-for", xff)
                .with_header("x-forwarded-proto", proto)
        }
        let forged = via_balancer("192.0.2.7, 203.0.113.9", "https");
        assert_eq!(p.client_ip(&forged), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(
            p.check(&forged, false).unwrap_err().kind(),
            VerifyErrorKind::SourceNotAllowed
        );
        let genuine = via_balancer("203.0.113.9, 192.0.2.7", "http, https");
        assert_eq!(
            p.check(&genuine, false).unwrap(),
            Some("192.0.2.7".parse().unwrap())
        );
        // The proxy's own entry says how the request came: the last one.
        let plain = via_balancer("192.0.2.7", "https, http");
        assert_eq!(
            p.check(&plain, false).unwrap_err().kind(),
            VerifyErrorKind::HttpsRequired
        );
        // No hop at all: unknown, never the balancer's own address.
        let bare = WebhookRequest::new(b"").with_peer(peer("10.1.2.3"));
        assert_eq!(p.client_ip(&bare), None);
    }

    #[test]
    fn https_only_from_trusted_proxy() {
        let p = SourcePolicy {
            require_https: true,
            ..policy(&["10.0.0.0/8"])
        };
        let spoofed = WebhookRequest::new(b"")
            .with_peer(peer("203.0.113.9"))
            .with_header("x-forwarded-proto", "https");
        assert_eq!(
            p.check(&spoofed, false).unwrap_err().kind(),
            VerifyErrorKind::HttpsRequired
        );
        let proxied = WebhookRequest::new(b"")
            .with_peer(peer("10.1.1.1"))
            .with_header("x-forwarded-proto", "https");
        assert!(p.check(&proxied, false).is_ok());
        assert!(p.check(&spoofed, true).is_ok());
    }
}
