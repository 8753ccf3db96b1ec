//! Parsing listen addresses as operators write them (`--http-addr`, `PORT`), including
//! Go's `:8080`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The accepted forms, quoted in every error about an address.
pub(crate) const ACCEPTED_FORMS: &str =
    "HOST:PORT, :PORT (all interfaces) or [IPv6]:PORT, e.g. :8080, 127.0.0.1:8080, [::1]:8080";

/// Parses `HOST:PORT`, `:PORT` or `[IPv6]:PORT`; `HOST` is an IP address or `localhost`.
pub(crate) fn parse(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Some(port) = text.strip_prefix(':') {
        return parse_port(port).map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), p));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match text.rsplit_once(':') {
        Some(("localhost", port)) => parse_port(port).map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p)),
        _ => Err(format!("expected {ACCEPTED_FORMS}")),
    }
}

/// All interfaces at `port`: what platforms that set `$PORT` expect.
pub(crate) fn all_interfaces(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
}

/// A port number, 0 to 65535 (0: any free port, as the kernel picks).
pub(crate) fn parse_port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .map_err(|_| format!("expected a port number from 0 to 65535, got {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_port_only_means_all_interfaces() {
        assert_eq!(parse(":8080").unwrap(), "0.0.0.0:8080".parse().unwrap());
    }

    #[test]
    fn ip_and_ipv6_addresses_parse() {
        assert_eq!(parse("127.0.0.1:9000").unwrap(), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(parse("[::1]:9000").unwrap(), "[::1]:9000".parse().unwrap());
        assert_eq!(parse("localhost:9000").unwrap(), "127.0.0.1:9000".parse().unwrap());
    }

    #[test]
    fn nonsense_is_refused_with_the_accepted_forms() {
        for bad in ["", "8080", "example.com:80", ":99999", ":http", "1.2.3.4"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("expected"), "{bad:?} gave {err}");
        }
    }
}
