//! `nara healthcheck`: probes a running nara over HTTP so container images need no
//! curl. The probe runs beside the server, on loopback, so plain HTTP is the rule.

use super::client::{Client, Endpoint};
use http::StatusCode;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The default probe target for a server listening on `addr`.
pub fn default_url(addr: SocketAddr) -> String {
    format!("http://{}/healthz", local_target(addr))
}

/// Where a local client reaches a server bound to `addr` (unspecified becomes loopback).
pub fn local_target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// The most of a probe's answer read: `/healthz` says `ok`.
const ANSWER_LIMIT: usize = 64 * 1024;

/// Sends `GET url` and returns the status, or a one-line reason it could not.
pub(crate) async fn probe(url: &str, timeout: Duration) -> Result<StatusCode, String> {
    let endpoint = Endpoint::parse(url)?;
    let authority = endpoint.authority().to_string();
    let mut client = Client::new(endpoint, "nara-healthcheck")?;
    let exchange = client.get("", ANSWER_LIMIT);
    let answer = tokio::time::timeout(timeout, exchange).await.map_err(|_| {
        format!(
            "no answer from {authority} within {}",
            humantime::format_duration(timeout)
        )
    })??;
    Ok(answer.status)
}

/// Probes `url` and succeeds only on a 2xx answer; the error is one line for stderr.
pub async fn check(url: &str, timeout: Duration) -> Result<(), String> {
    match probe(url, timeout).await? {
        status if status.is_success() => Ok(()),
        status => Err(format!("{url} answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_target_turns_unspecified_into_loopback() {
        let target = |addr: &str| local_target(addr.parse().unwrap()).to_string();
        assert_eq!(target("0.0.0.0:80"), "127.0.0.1:80");
        assert_eq!(target("[::]:80"), "[::1]:80");
        assert_eq!(target("10.1.2.3:80"), "10.1.2.3:80");
    }
}
