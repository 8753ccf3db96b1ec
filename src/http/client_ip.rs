//! Who a request's client is, for the event streams' cap per client: the peer that
//! connected, or, when that peer is a trusted proxy, the address its header names. A
//! header from any other peer is ignored: anyone can write one.
//!
//! Clients are counted by address, IPv6 ones by their /64: the block one home or one
//! host is given, which a single machine can otherwise fill with addresses of its own.

use crate::http::config::{ClientHeader, TrustedProxies};
use http::HeaderMap;
use http::header::HeaderValue;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The de facto header (it has no constant in `http`): each proxy appends the address
/// that connected to it.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

impl TrustedProxies {
    /// The client of a request from `peer` with these `headers`: the address the header
    /// names if `peer` is a trusted proxy and the header holds one, else `peer`.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.nets.iter().any(|net| net.contains(&peer)) {
            return peer;
        }
        let named = match &self.header {
            // Each proxy appends the address it was connected from; the last one is
            // the trusted proxy's own word, whatever the client wrote before it.
            ClientHeader::ForwardedFor => headers
                .get_all(X_FORWARDED_FOR)
                .iter()
                .next_back()
                .and_then(|value| address(value, true)),
            ClientHeader::Single(name) => headers
                .get_all(name)
                .iter()
                .next_back()
                .and_then(|value| address(value, false)),
        };
        named.map_or(peer, |ip| ip.to_canonical())
    }
}

/// The address in `value` (the last of a list, when `list`), with or without a port.
fn address(value: &HeaderValue, list: bool) -> Option<IpAddr> {
    let text = value.to_str().ok()?;
    let text = if list { text.rsplit(',').next()? } else { text }.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The key one client's streams are counted under: its IPv4 address, or its IPv6 /64.
pub(crate) fn counted_as(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderName;

    fn proxies(nets: &[&str], header: ClientHeader) -> TrustedProxies {
        TrustedProxies {
            nets: nets.iter().map(|n| n.parse().unwrap()).collect(),
            header,
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_header_counts_only_from_a_listed_peer_and_then_its_last_hop() {
        let trusted = proxies(&["10.0.0.0/8"], ClientHeader::ForwardedFor);
        let forwarded = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &forwarded), ip("203.0.113.7"));
        assert_eq!(
            trusted.client(ip("192.0.2.1"), &forwarded),
            ip("192.0.2.1"),
            "an unlisted peer's header is ignored"
        );
        let two_lines = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.2:4711")]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &two_lines), ip("198.51.100.2"));
        for junk in [headers(&[]), headers(&[("x-forwarded-for", "not an address")])] {
            assert_eq!(
                trusted.client(ip("10.1.2.3"), &junk),
                ip("10.1.2.3"),
                "without an address the proxy is the client"
            );
        }
    }

    #[test]
    fn a_single_address_header_such_as_flys_is_read_whole() {
        let fly = proxies(
            &["0.0.0.0/0"],
            ClientHeader::Single(HeaderName::from_static("fly-client-ip")),
        );
        let request = headers(&[("fly-client-ip", "2001:db8::7"), ("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(fly.client(ip("172.16.1.2"), &request), ip("2001:db8::7"));
        assert_eq!(
            fly.client(ip("::ffff:172.16.1.2"), &request),
            ip("2001:db8::7"),
            "a mapped IPv4 peer is the IPv4 address it maps"
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_ipv4_ones_by_address() {
        assert_eq!(counted_as(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(counted_as(ip("2001:db8:1:2:bbbb::9")), ip("2001:db8:1:2::"));
        assert_ne!(counted_as(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(counted_as(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(counted_as(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }
}
