//! The HTTP client of nara's own subcommands (`nara healthcheck`, `nara rollout wait`,
//! `nara peers`), which talk to a running nara: hyper's HTTP/1 client over TCP, or over
//! TLS for `https://` (rustls with the system's certificates, as the broker connection
//! uses; `SSL_CERT_FILE` names others). One connection is kept and reused while it
//! lasts, and every answer's body is read up to a limit the caller sets. The event
//! hooks' webhooks POST through it too; a URL's `user:password@` becomes a Basic
//! `Authorization` header and is never part of a message.

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

/// Where a running nara answers: its scheme, host and port, and the path it is served
/// under (empty at the root; `/nara` behind a proxy that serves it there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    https: bool,
    host: String,
    port: u16,
    /// `host:port` as given (without any `user:password@`), for the `Host` header and
    /// messages.
    authority: String,
    /// `user:password` from the URL, sent as Basic authorization.
    userinfo: Option<String>,
    /// The URL's path without a trailing `/`.
    path: String,
    /// The URL's query, if it has one.
    query: Option<String>,
}

impl Endpoint {
    /// `url` (`http://HOST[:PORT][/PATH]` or `https://…`), or a one-line reason it is
    /// not one nara can reach.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("{url:?}: expected an http:// or https:// URL")),
        };
        let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let given = uri.authority().map_or_else(|| host.clone(), |a| a.as_str().to_string());
        let (userinfo, authority) = match given.rsplit_once('@') {
            Some((userinfo, authority)) => (Some(userinfo.to_string()), authority.to_string()),
            None => (None, given),
        };
        Ok(Endpoint {
            https,
            host,
            port,
            authority,
            userinfo,
            path: uri.path().trim_end_matches('/').to_string(),
            query: uri.query().map(String::from),
        })
    }

    /// `host:port` as the URL gave it.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// `scheme://host[:port]`: all a log line may show of a URL whose path, query or
    /// user may hold a secret.
    pub(crate) fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }

    /// The request target of `route` (`/api/rollout?version=…`) under this endpoint's
    /// path; the empty route is the URL itself, its query included.
    fn target(&self, route: &str) -> String {
        match (route, &self.query) {
            ("", Some(query)) => format!("{}?{query}", self.path),
            ("", None) if self.path.is_empty() => "/".to_string(),
            _ => format!("{}{route}", self.path),
        }
    }

    /// The URL `route` has here, for messages.
    pub(crate) fn url(&self, route: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority, self.target(route))
    }
}

/// An answer: its status and its body, read whole within the limit.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

/// A request to send: a GET of a route, or a POST of JSON to the URL itself.
enum Outgoing {
    Get,
    PostJson(Bytes),
}

/// A client of one nara, keeping its connection between requests.
pub(crate) struct Client {
    endpoint: Endpoint,
    user_agent: &'static str,
    tls: Option<TlsConnector>,
    connection: Option<SendRequest<Full<Bytes>>>,
}

/// The TLS set-up for `https://`: the system's certificates, ring's cryptography.
fn tls_connector() -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err("https:// needs CA certificates, and none were found (set SSL_CERT_FILE)".into());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

impl Client {
    /// A client of the nara at `endpoint`, introducing itself as `user_agent`. Nothing
    /// is connected yet.
    pub(crate) fn new(endpoint: Endpoint, user_agent: &'static str) -> Result<Client, String> {
        let tls = if endpoint.https { Some(tls_connector()?) } else { None };
        Ok(Client {
            endpoint,
            user_agent,
            tls,
            connection: None,
        })
    }

    /// The nara this client talks to.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `GET route` (a path and query under the endpoint), its body read up to `limit`
    /// bytes. A kept connection the server has closed meanwhile is replaced once. The
    /// caller bounds the time it takes.
    pub(crate) async fn get(&mut self, route: &str, limit: usize) -> Result<Answer, String> {
        let reused = self.connection.take();
        let was_reused = reused.is_some();
        let mut sender = match reused {
            Some(sender) => sender,
            None => self.connect().await?,
        };
        let response = match self.send(&mut sender, &Outgoing::Get, route).await {
            Ok(response) => response,
            Err(_) if was_reused => {
                sender = self.connect().await?;
                self.send(&mut sender, &Outgoing::Get, route).await?
            }
            Err(e) => return Err(e),
        };
        let status = response.status();
        let authority = &self.endpoint.authority;
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                Some(_) => format!("{authority} answered more than {limit} bytes"),
                None => format!("{authority} broke off its answer: {e}"),
            })?
            .to_bytes();
        self.connection = Some(sender);
        Ok(Answer { status, body })
    }

    /// `POST` of `body` (JSON) to the endpoint's URL itself, on a connection of its own
    /// (never retried: the server may have taken it): the answer's status. Its body is
    /// read up to `limit` bytes and no further, whatever its length.
    pub(crate) async fn post_json(&mut self, body: Bytes, limit: usize) -> Result<StatusCode, String> {
        let mut sender = self.connect().await?;
        let response = self.send(&mut sender, &Outgoing::PostJson(body), "").await?;
        let status = response.status();
        let _ = Limited::new(response.into_body(), limit).collect().await;
        Ok(status)
    }

    async fn send(
        &self,
        sender: &mut SendRequest<Full<Bytes>>,
        outgoing: &Outgoing,
        route: &str,
    ) -> Result<http::Response<hyper::body::Incoming>, String> {
        let authority = &self.endpoint.authority;
        sender
            .ready()
            .await
            .map_err(|e| format!("{authority} closed the connection: {e}"))?;
        let (builder, body) = match outgoing {
            Outgoing::Get => (Request::get(self.endpoint.target(route)), Bytes::new()),
            Outgoing::PostJson(body) => (
                Request::post(self.endpoint.target(route)).header(http::header::CONTENT_TYPE, "application/json"),
                body.clone(),
            ),
        };
        let mut builder = builder
            .header(http::header::HOST, authority)
            .header(http::header::USER_AGENT, self.user_agent);
        if let Some(userinfo) = &self.endpoint.userinfo {
            let decoded = percent_encoding::percent_decode_str(userinfo).collect::<Vec<u8>>();
            let basic = base64::engine::general_purpose::STANDARD.encode(decoded);
            builder = builder.header(http::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        // The message names only the host: the path and query may hold a secret.
        let request = builder
            .body(Full::new(body))
            .map_err(|e| format!("cannot build a request for {authority}: {e}"))?;
        sender
            .send_request(request)
            .await
            .map_err(|e| format!("{authority} did not answer: {e}"))
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let Endpoint {
            host, port, authority, ..
        } = &self.endpoint;
        let stream = TcpStream::connect((host.as_str(), *port))
            .await
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        match &self.tls {
            None => handshake(stream, authority).await,
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("{host:?} is not a name TLS can check: {e}"))?;
                let stream = tls
                    .connect(name, stream)
                    .await
                    .map_err(|e| format!("TLS with {authority} failed: {e}"))?;
                handshake(stream, authority).await
            }
        }
    }
}

/// HTTP/1 over `stream`, its connection driven by a task of its own.
async fn handshake<S>(stream: S, authority: &str) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {authority} failed: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_keeps_the_path_a_proxy_serves_nara_under() {
        let endpoint = Endpoint::parse("https://example.org/nara/").unwrap();
        assert_eq!((endpoint.host.as_str(), endpoint.port), ("example.org", 443));
        assert_eq!(endpoint.target("/api/rollout"), "/nara/api/rollout");
        assert_eq!(endpoint.url("/api/peers"), "https://example.org/nara/api/peers");
        let endpoint = Endpoint::parse("http://[::1]:8080").unwrap();
        assert_eq!((endpoint.host.as_str(), endpoint.port), ("::1", 8080));
        assert_eq!(endpoint.target("/healthz"), "/healthz");
        assert_eq!(endpoint.target(""), "/");
        let endpoint = Endpoint::parse("http://x/healthz?probe=1").unwrap();
        assert_eq!(endpoint.target(""), "/healthz?probe=1");
    }

    #[tokio::test]
    async fn a_post_is_judged_by_its_status_however_long_the_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0; 4096];
            while !request.ends_with(b"{\"a\":1}") {
                let read = socket.read(&mut buf).await.unwrap();
                assert!(read > 0, "the request ended early");
                request.extend_from_slice(&buf[..read]);
            }
            let body = "x".repeat(64 * 1024);
            let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            let _ = socket.write_all(answer.as_bytes()).await;
            String::from_utf8_lossy(&request).into_owned()
        });
        let endpoint = Endpoint::parse(&format!("http://{addr}/hook?k=v")).unwrap();
        let mut client = Client::new(endpoint, "test").unwrap();
        let status = client.post_json(Bytes::from_static(b"{\"a\":1}"), 1024).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /hook?k=v HTTP/1.1\r\n"), "{request}");
        assert!(
            request.to_ascii_lowercase().contains("content-type: application/json"),
            "{request}"
        );
        assert!(request.ends_with("{\"a\":1}"), "{request}");
    }

    #[test]
    fn a_urls_user_and_password_are_sent_as_basic_authorization_and_never_shown() {
        let endpoint = Endpoint::parse("https://hook:s%40cret@example.org:8443/in/T0?token=t").unwrap();
        assert_eq!(endpoint.authority(), "example.org:8443");
        assert_eq!(endpoint.userinfo.as_deref(), Some("hook:s%40cret"));
        assert_eq!(endpoint.origin(), "https://example.org:8443");
        assert_eq!(endpoint.target(""), "/in/T0?token=t");
    }

    #[test]
    fn what_is_not_an_http_url_is_named() {
        assert!(Endpoint::parse("ftp://x").is_err_and(|e| e.contains("http:// or https://")));
        assert!(Endpoint::parse("localhost:8080").is_err());
        assert!(Endpoint::parse("not a url").is_err_and(|e| e.contains("not a URL")));
    }

    #[tokio::test]
    async fn an_answer_past_the_limit_is_an_error_naming_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0; 1024];
            let _ = socket.read(&mut request).await;
            let body = "x".repeat(2048);
            let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
            let _ = socket.write_all(answer.as_bytes()).await;
        });
        let endpoint = Endpoint::parse(&format!("http://{addr}")).unwrap();
        let mut client = Client::new(endpoint, "test").unwrap();
        let err = client.get("/", 1024).await.unwrap_err();
        assert!(err.contains("more than 1024 bytes"), "{err}");
    }
}
