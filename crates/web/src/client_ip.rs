//! Which address a request came from. The socket peer, unless the peer is one of the
//! operator's trusted proxies: then the forwarding header the operator named is read
//! from the right (the entries trusted proxies appended), skipping trusted hops, and
//! the first untrusted address is the client. Nothing is read from headers by default,
//! and an entry that does not parse stops the walk at the last trusted hop, so a client
//! cannot choose the address its throttles and audit entries are filed under.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::AppState;

/// The header a trusted proxy sets; only that one is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …`
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`
    Forwarded,
}

#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    pub networks: Vec<IpNet>,
    pub header: Option<ForwardedHeader>,
}

/// The client's address as resolved for this request (an extension set by the layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|n| n.contains(&ip))
    }

    /// The client address for a request from `peer` with `headers`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        let Some(header) = self.header else { return peer };
        if !self.trusts(peer) {
            return peer;
        }
        let hops = hops(header, headers);
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => client = *ip,
                Some(ip) => return *ip,
                // Unparseable or hidden: nothing left of it can be believed.
                None => return client,
            }
        }
        client
    }
}

/// The forwarding entries, left to right, across all lines of the header.
fn hops(header: ForwardedHeader, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    for value in headers.get_all(name) {
        let Ok(value) = value.to_str() else {
            out.push(None);
            continue;
        };
        for element in value.split(',') {
            out.push(match header {
                ForwardedHeader::XForwardedFor => parse_node(element.trim()),
                ForwardedHeader::Forwarded => element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_node(v.trim().trim_matches('"'))),
            });
        }
    }
    out
}

/// `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`, `[2001:db8::1]:8080`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    node.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .and_then(|n| n.parse::<IpAddr>().ok())
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Resolves the client address once per request, for every handler and extractor.
pub async fn resolve_client_ip(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = state.config.trusted_proxies.resolve(peer.ip(), request.headers());
        request.extensions_mut().insert(ClientIp(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies {
            networks: vec!["10.0.0.0/8".parse().unwrap(), "2001:db8:1::/48".parse().unwrap()],
            header: Some(header),
        }
    }

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name, HeaderValue::from_static(v));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_are_ignored_unless_the_peer_is_a_trusted_proxy() {
        let spoof = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(
            TrustedProxies::default().resolve(ip("10.1.1.1"), &spoof),
            ip("10.1.1.1")
        );
        let p = proxies(ForwardedHeader::XForwardedFor);
        assert_eq!(p.resolve(ip("198.51.100.7"), &spoof), ip("198.51.100.7"));
        assert_eq!(p.resolve(ip("10.1.1.1"), &spoof), ip("203.0.113.9"));
    }

    #[test]
    fn the_walk_starts_at_the_right_and_stops_at_the_first_untrusted_hop() {
        let p = proxies(ForwardedHeader::XForwardedFor);
        // The client put a fake address first; the proxy appended the real one.
        let h = headers("x-forwarded-for", &["1.2.3.4, 198.51.100.7"]);
        assert_eq!(p.resolve(ip("10.1.1.1"), &h), ip("198.51.100.7"));
        // Two trusted proxies in a row, on two header lines.
        let h = headers("x-forwarded-for", &["198.51.100.7, 10.2.2.2", "10.3.3.3"]);
        assert_eq!(p.resolve(ip("10.1.1.1"), &h), ip("198.51.100.7"));
        // Garbage from the client stops the walk at the last trusted hop.
        let h = headers("x-forwarded-for", &["not-an-ip, 10.2.2.2"]);
        assert_eq!(p.resolve(ip("10.1.1.1"), &h), ip("10.2.2.2"));
        // Only trusted hops: the leftmost of them.
        let h = headers("x-forwarded-for", &["10.9.9.9, 10.2.2.2"]);
        assert_eq!(p.resolve(ip("10.1.1.1"), &h), ip("10.9.9.9"));
        // The other header is not read.
        let h = headers("forwarded", &["for=203.0.113.9"]);
        assert_eq!(p.resolve(ip("10.1.1.1"), &h), ip("10.1.1.1"));
    }

    #[test]
    fn rfc_7239_forms_and_ipv6_are_understood() {
        let p = proxies(ForwardedHeader::Forwarded);
        let h = headers(
            "forwarded",
            &["for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.2.2.2;by=10.1.1.1"],
        );
        assert_eq!(p.resolve(ip("10.1.1.1"), &h), ip("2001:db8:cafe::17"));
        let hidden = headers("forwarded", &["for=_hidden, for=10.2.2.2"]);
        assert_eq!(p.resolve(ip("10.1.1.1"), &hidden), ip("10.2.2.2"));
        // An IPv4-mapped peer is the IPv4 proxy it is.
        let h = headers("forwarded", &["for=198.51.100.7"]);
        assert_eq!(p.resolve(ip("::ffff:10.1.1.1"), &h), ip("198.51.100.7"));
        assert_eq!(p.resolve(ip("2001:db8:1::5"), &h), ip("198.51.100.7"));
    }
}
