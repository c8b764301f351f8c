//! Who the client is: the address that per-client limits, allow-lists and logs use.
//!
//! A connection's address is its TCP/QUIC peer, or the source a PROXY protocol header gave
//! (`crate::proxy_protocol`). Per request, when that address is one of `server.trusted_proxies`,
//! the client is taken from `Forwarded` (RFC 7239 `for=`) or, without it, `X-Forwarded-For`:
//! the right-most hop that is not itself a trusted proxy (every proxy appends the address it
//! received from, so only the hops added by trusted proxies can be believed). From any other
//! peer those headers are ignored.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// Resolves client addresses with the configured trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct ClientResolver {
    trusted: Vec<IpNet>,
}

impl ClientResolver {
    /// A resolver believing forwarding headers from `trusted` peers only.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// Whether a PROXY protocol header from `peer` is believed: from every peer when no
    /// trusted proxies are configured (the operator made the listener PROXY-only, reachable
    /// through the balancer alone), otherwise from trusted proxies only.
    pub fn trusts_proxy_header(&self, peer: IpAddr) -> bool {
        self.trusted.is_empty() || self.is_trusted(peer)
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops = match forwarded_for(headers) {
            Some(h) => h,
            None => x_forwarded_for(headers),
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = canonical(*ip);
                    if !self.is_trusted(client) {
                        return client;
                    }
                }
                // An unknown or obfuscated hop: nothing left of it can be believed.
                None => return client,
            }
        }
        client
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, as dual-stack sockets report IPv4 peers) as
/// plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The key per-client limits count under: an IPv4 address, or an IPv6 address's /64 (one
/// subscriber typically holds a whole /64, so counting single IPv6 addresses would let one
/// client be 2^64 clients).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Parses a CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`/32` or `/128`); the
/// error says what is wrong, for a message that names the field.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| format!("`{s}` is not a CIDR like 10.0.0.0/8 or an IP address"))
}

/// `for=` hops of every `Forwarded` header, in order (`None` for `unknown`, obfuscated or
/// unparsable ones); `None` when there is no `Forwarded` header with a `for=`.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut any = false;
    for v in headers.get_all(http::header::FORWARDED) {
        let Ok(v) = v.to_str() else {
            hops.push(None);
            any = true;
            continue;
        };
        for element in v.split(',') {
            for pair in element.split(';') {
                let Some((k, val)) = pair.split_once('=') else {
                    continue;
                };
                if k.trim().eq_ignore_ascii_case("for") {
                    any = true;
                    hops.push(parse_node(val.trim().trim_matches('"')));
                }
            }
        }
    }
    any.then_some(hops)
}

/// Hops of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => s.split(',').map(|h| parse_node(h.trim())).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:8080`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn resolver() -> ClientResolver {
        ClientResolver::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8:ffff::/48".parse().unwrap(),
        ])
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            resolver().resolve(ip("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn right_most_untrusted_hop_wins() {
        let r = resolver();
        // a client-supplied (spoofed) first hop is skipped: the proxy appended the real one
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(r.resolve(ip("10.0.0.5"), &h), ip("203.0.113.9"));
        // several headers are one list
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.10"),
        ]);
        assert_eq!(r.resolve(ip("10.0.0.5"), &h), ip("203.0.113.10"));
        // every hop trusted: the left-most
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
        assert_eq!(r.resolve(ip("10.0.0.5"), &h), ip("10.9.9.9"));
        // no header: the proxy itself
        assert_eq!(r.resolve(ip("10.0.0.5"), &HeaderMap::new()), ip("10.0.0.5"));
        // garbage stops the walk at the last believable address
        let h = headers(&[("x-forwarded-for", "203.0.113.9, nonsense, 10.1.1.1")]);
        assert_eq!(r.resolve(ip("10.0.0.5"), &h), ip("10.1.1.1"));
    }

    #[test]
    fn forwarded_takes_precedence() {
        let r = resolver();
        let h = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "203.0.113.200"),
        ]);
        assert_eq!(r.resolve(ip("10.0.0.5"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "For=\"192.0.2.61:8080\", for=10.2.2.2")]);
        assert_eq!(r.resolve(ip("10.0.0.5"), &h), ip("192.0.2.61"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(r.resolve(ip("10.0.0.5"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn mapped_addresses_and_v6_keys() {
        assert_eq!(canonical(ip("::ffff:10.0.0.5")), ip("10.0.0.5"));
        assert!(resolver().is_trusted(ip("::ffff:10.0.0.5")));
        assert_eq!(client_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
