//! Who is asking: the client's address, and the host and scheme it asked
//! for, believing `X-Forwarded-*` headers only from the proxies in
//! `gateway.trusted_proxies`.
//!
//! The site layer calls [`Proxies::resolve`] first thing: it records the
//! client's address as a [`ClientAddr`] extension and rewrites the request
//! so nothing after it can be fooled: the forwarded headers are removed,
//! except that a trusted proxy's `X-Forwarded-Host` becomes the `Host` and
//! its `X-Forwarded-Proto` stays (as `http` or `https`). A `Host` that is
//! not a host name (or `[v6]`) with an optional port is dropped.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderValue, header};
use ipnet::IpNet;

/// `X-Forwarded-For` hops examined at most (right to left).
const MAX_HOPS: usize = 32;

/// The client's address as the site layer resolved it (`None` without a
/// peer address, e.g. in unit tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// The address as text (empty when unknown), as logged.
    pub fn text(self) -> String {
        self.0.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

/// The trusted proxies, parsed once.
#[derive(Debug, Clone, Default)]
pub struct Proxies(Vec<IpNet>);

/// An IPv4-mapped IPv6 address as its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One `X-Forwarded-For` hop: an address, perhaps with a port
/// (`1.2.3.4:5678`, `[::1]:5678`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// A `Host` value we are willing to repeat in links: a DNS name or IPv4
/// address, or a bracketed IPv6 address, with an optional port
/// (`platform::security::Authority`).
pub fn valid_host(host: &str) -> bool {
    platform::security::Authority::parse(host).is_some()
}

impl Proxies {
    /// From `gateway.trusted_proxies` (validated by the config crate;
    /// anything unparsable is skipped).
    pub fn new(entries: &[String]) -> Self {
        Self(
            entries
                .iter()
                .filter_map(|e| config::parse_net(e))
                .collect(),
        )
    }

    /// `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy;
    /// then the rightmost `X-Forwarded-For` hop that is not a trusted proxy
    /// (an unreadable hop stops the walk at the last trusted one).
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
        let mut ip = canonical(peer?);
        if !self.trusts(ip) {
            return Some(ip);
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for hop in hops.iter().rev().take(MAX_HOPS) {
            let Some(hop) = parse_hop(hop) else { break };
            ip = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        Some(ip)
    }

    /// Resolves the client of a request from `peer` and rewrites `headers`
    /// as the module documentation says.
    pub fn resolve(&self, headers: &mut HeaderMap, peer: Option<IpAddr>) -> ClientAddr {
        let ip = self.client_ip(headers, peer);
        let trusted_peer = peer.is_some_and(|p| self.trusts(p));
        if trusted_peer {
            let forwarded_host = headers
                .get("x-forwarded-host")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|h| valid_host(h))
                .and_then(|h| HeaderValue::from_str(h).ok());
            if let Some(host) = forwarded_host {
                headers.insert(header::HOST, host);
            }
            let https = headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
            headers.insert(
                "x-forwarded-proto",
                HeaderValue::from_static(if https { "https" } else { "http" }),
            );
        } else {
            headers.remove("x-forwarded-proto");
        }
        headers.remove("x-forwarded-host");
        headers.remove("x-forwarded-for");
        headers.remove(header::FORWARDED);
        let host_ok = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_none_or(valid_host);
        if !host_ok {
            headers.remove(header::HOST);
        }
        ClientAddr(ip)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> Proxies {
        Proxies::new(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let none = proxies(&[]);
        let h = xff(&["127.0.0.1"]);
        assert_eq!(none.client_ip(&h, ip("203.0.113.9")), ip("203.0.113.9"));
        let ingress = proxies(&["10.0.0.0/8"]);
        assert_eq!(ingress.client_ip(&h, ip("203.0.113.9")), ip("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.7"]);
        // The client wrote "1.1.1.1" itself; the ingress appended its peer.
        let h = xff(&["1.1.1.1, 198.51.100.4", "192.0.2.7"]);
        assert_eq!(p.client_ip(&h, ip("10.1.2.3")), ip("198.51.100.4"));
        // Every hop trusted: the leftmost.
        let h = xff(&["10.9.9.9, 192.0.2.7"]);
        assert_eq!(p.client_ip(&h, ip("10.1.2.3")), ip("10.9.9.9"));
        // Garbage stops the walk at the last trusted hop.
        let h = xff(&["198.51.100.4, not-an-ip, 192.0.2.7"]);
        assert_eq!(p.client_ip(&h, ip("10.1.2.3")), ip("192.0.2.7"));
        // Ports and mapped addresses.
        let h = xff(&["[2001:db8::1]:443, 198.51.100.5:1234"]);
        assert_eq!(p.client_ip(&h, ip("::ffff:10.0.0.1")), ip("198.51.100.5"));
        // No header: the proxy itself.
        assert_eq!(
            p.client_ip(&HeaderMap::new(), ip("10.0.0.1")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_host_and_proto_only_from_trusted_proxies() {
        let p = proxies(&["127.0.0.1"]);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "sms.example".parse().unwrap());
        h.insert("x-forwarded-host", "evil.example".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        let mut untrusted = h.clone();
        p.resolve(&mut untrusted, ip("203.0.113.9"));
        assert_eq!(untrusted.get(header::HOST).unwrap(), "sms.example");
        assert!(untrusted.get("x-forwarded-proto").is_none());
        assert!(untrusted.get("x-forwarded-host").is_none());
        let mut trusted = h.clone();
        p.resolve(&mut trusted, ip("127.0.0.1"));
        assert_eq!(trusted.get(header::HOST).unwrap(), "evil.example");
        assert_eq!(trusted.get("x-forwarded-proto").unwrap(), "https");
    }

    #[test]
    fn hosts_that_are_not_host_names_are_dropped() {
        for good in [
            "sms.example",
            "sms.example:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "[::1]",
            "localhost",
        ] {
            assert!(valid_host(good), "{good}");
        }
        for bad in [
            "",
            "a b",
            "evil.example/path",
            "x\"onload",
            "[::1",
            "host:port",
            ".x",
            "a@b",
            "[zz]",
            "sms.example:99999",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "x<script>".parse().unwrap());
        proxies(&[]).resolve(&mut h, ip("203.0.113.9"));
        assert!(h.get(header::HOST).is_none());
    }
}
