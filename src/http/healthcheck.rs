//! `nara healthcheck`: probes a running nara over HTTP so container images need no
//! curl. Plain HTTP only: the probe runs beside the server, on loopback.

use http::{Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpStream;

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

/// Sends `GET url` and returns the status, or a one-line reason it could not.
pub(crate) async fn probe(url: &str, timeout: Duration) -> Result<StatusCode, String> {
    let uri: Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{url:?}: only http:// URLs can be probed"));
    }
    let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host).to_string();

    let exchange = async {
        let stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {authority} failed: {e}"))?;
        tokio::spawn(connection);
        let request = Request::get(path)
            .header(http::header::HOST, &authority)
            .header(http::header::USER_AGENT, "nara-healthcheck")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| format!("cannot build a request for {url:?}: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{authority} did not answer: {e}"))?;
        Ok(response.status())
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| {
        format!(
            "no answer from {authority} within {}",
            humantime::format_duration(timeout)
        )
    })?
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
