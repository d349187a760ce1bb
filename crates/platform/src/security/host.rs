//! Host names as requests carry them: the one parser of `Host` and
//! `X-Forwarded-Host` values ([`Authority`]) and of `Origin` headers and
//! configured base URLs ([`Origin`]). Hosts come out in lower case, IPv6
//! addresses without their brackets; anything else (a path, user info,
//! spaces, quotes, a port past 65535) is refused, so what passes is safe to
//! repeat in a link or compare.

use std::net::Ipv6Addr;

/// Longest `host[:port]` accepted.
const MAX_AUTHORITY_LEN: usize = 260;
/// Longest DNS name.
const MAX_NAME_LEN: usize = 253;

/// A host and optional port: a `Host` or `X-Forwarded-Host` value, or the
/// authority of a URL. A DNS name or IPv4 address (`sms.example`,
/// `127.0.0.1:8080`) or a bracketed IPv6 address (`[::1]:8080`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The host, lower case; an IPv6 address without brackets (`::1`).
    pub host: String,
    /// The port, when one is written (`host:` names none).
    pub port: Option<u16>,
}

impl Authority {
    /// Parses `host[:port]` or `[v6][:port]`; `None` when it is anything else.
    pub fn parse(value: &str) -> Option<Self> {
        if value.is_empty() || value.len() > MAX_AUTHORITY_LEN {
            return None;
        }
        let (host, port) = if let Some(rest) = value.strip_prefix('[') {
            let (v6, after) = rest.split_once(']')?;
            v6.parse::<Ipv6Addr>().ok()?;
            let port = if after.is_empty() {
                ""
            } else {
                after.strip_prefix(':')?
            };
            (v6, port)
        } else {
            let (name, port) = value.rsplit_once(':').unwrap_or((value, ""));
            let name_ok = !name.is_empty()
                && name.len() <= MAX_NAME_LEN
                && !name.starts_with(['.', '-'])
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !name_ok {
                return None;
            }
            (name, port)
        };
        Some(Self {
            host: host.to_ascii_lowercase(),
            port: parse_port(port)?,
        })
    }
}

/// `*DIGIT` as a port: `Some(None)` when empty, `None` when not a port.
fn parse_port(port: &str) -> Option<Option<u16>> {
    if port.is_empty() {
        return Some(None);
    }
    if port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse().ok().map(Some)
}

/// The origin of a page or site: scheme and authority, as an `Origin`
/// header sends it (`https://sms.example`) or as an absolute URL begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The scheme, lower case.
    pub scheme: String,
    /// Host and port.
    pub authority: Authority,
}

impl Origin {
    /// An `Origin` header value: `scheme://host[:port]` and nothing after
    /// it (`null`, or one with a path, is `None`).
    pub fn parse(value: &str) -> Option<Self> {
        let (scheme, authority) = value.split_once("://")?;
        Self::from_parts(scheme, authority)
    }

    /// The origin of the absolute URL `url` (`https://sms.example/sms`):
    /// its path, query and fragment are ignored.
    pub fn of_url(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Self::from_parts(scheme, &rest[..end])
    }

    fn from_parts(scheme: &str, authority: &str) -> Option<Self> {
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return None;
        }
        Some(Self {
            scheme: scheme.to_ascii_lowercase(),
            authority: Authority::parse(authority)?,
        })
    }

    /// The host, lower case, IPv6 without brackets.
    pub fn host(&self) -> &str {
        &self.authority.host
    }

    /// The port, or the scheme's default (80 for `http`, 443 for `https`);
    /// `None` for another scheme without one.
    pub fn port(&self) -> Option<u16> {
        self.authority.port.or(match self.scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })
    }

    /// The same origin as `other`: scheme, host and port (defaults filled
    /// in) all equal; never for an origin whose port is unknown.
    pub fn same_as(&self, other: &Origin) -> bool {
        self.port().is_some()
            && self.scheme == other.scheme
            && self.host() == other.host()
            && self.port() == other.port()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn host_port(value: &str) -> Option<(String, Option<u16>)> {
        Authority::parse(value).map(|a| (a.host, a.port))
    }

    fn some(host: &str, port: Option<u16>) -> Option<(String, Option<u16>)> {
        Some((host.to_owned(), port))
    }

    #[test]
    fn authorities_give_a_lower_case_host_and_port() {
        assert_eq!(host_port("sms.example"), some("sms.example", None));
        assert_eq!(
            host_port("SMS.Example:8080"),
            some("sms.example", Some(8080))
        );
        assert_eq!(host_port("127.0.0.1:1"), some("127.0.0.1", Some(1)));
        assert_eq!(host_port("localhost"), some("localhost", None));
        assert_eq!(host_port("sms.example:"), some("sms.example", None));
        assert_eq!(host_port("x:65535"), some("x", Some(65535)));
    }

    #[test]
    fn ipv6_addresses_are_bracketed_with_or_without_a_port() {
        assert_eq!(host_port("[::1]"), some("::1", None));
        assert_eq!(host_port("[::1]:8080"), some("::1", Some(8080)));
        assert_eq!(
            host_port("[2001:DB8::A]:443"),
            some("2001:db8::a", Some(443))
        );
        // `[::1]:` names no port, like `host:`.
        assert_eq!(host_port("[::1]:"), some("::1", None));
        for bad in [
            "::1",
            "[::1",
            "[::1]8080",
            "[::1]:x",
            "[zz]",
            "[]",
            "[::1]:99999",
        ] {
            assert_eq!(host_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn garbage_is_not_an_authority() {
        for bad in [
            "",
            "a b",
            "evil.example/path",
            "x\"onload",
            "host:port",
            ".x",
            "-x",
            "a@b",
            "x<script>",
            "x:123456",
            "x:65536",
            "x:-1",
            ":80",
            &"a".repeat(261),
            &format!("{}:1", "a".repeat(254)),
        ] {
            assert_eq!(host_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        let origin = |v: &str| Origin::parse(v).unwrap();
        assert!(origin("HTTPS://Sms.Example").same_as(&origin("https://sms.example:443")));
        assert!(origin("http://[::1]").same_as(&origin("http://[::1]:80")));
        assert!(!origin("https://sms.example").same_as(&origin("http://sms.example")));
        assert!(!origin("http://sms.example:8080").same_as(&origin("http://sms.example")));
        assert!(!origin("ftp://sms.example").same_as(&origin("ftp://sms.example")));
        assert_eq!(origin("http://[::1]:8082").host(), "::1");
        assert_eq!(origin("HTTPS://Example.ORG:8443").host(), "example.org");
    }

    #[test]
    fn an_origin_header_is_a_bare_origin() {
        for bad in [
            "null",
            "https://sms.example/",
            "https://sms.example?x",
            "sms.example",
            "https://",
            "://sms.example",
            "1http://sms.example",
            "https://user@sms.example",
            "",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_url_gives_its_origin() {
        let url = Origin::of_url("https://SMS.example:8443/sms/?a#b").unwrap();
        assert_eq!((url.scheme.as_str(), url.host()), ("https", "sms.example"));
        assert_eq!(url.port(), Some(8443));
        assert_eq!(Origin::of_url("https://[::1]/x").unwrap().host(), "::1");
        assert_eq!(Origin::of_url("sms.example/x"), None);
    }
}
