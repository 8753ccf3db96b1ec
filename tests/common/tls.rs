//! TLS for tests: a private CA and a certificate for 127.0.0.1 made by `openssl`, and a
//! TLS front that terminates HTTPS with it and passes the bytes to a plain server, as
//! a reverse proxy or a platform's edge does.

use crate::common::run_ok;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Writes `ca.crt` (a private CA) and `server.crt`/`server.key` (127.0.0.1, signed by
/// it) into `dir`.
pub fn make_certificates(dir: &Path) {
    let sh = |script: &str| run_ok(Command::new("sh").arg("-ec").arg(script).current_dir(dir));
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=nara-test-ca 2>/dev/null",
    );
    sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null");
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write the certificate's extensions");
    sh(
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null",
    );
}

/// HTTPS on a loopback port, with the certificate `make_certificates` wrote into
/// `dir`, passed through to `backend`; stops when dropped.
pub struct TlsFront {
    pub port: u16,
    task: JoinHandle<()>,
}

impl TlsFront {
    pub async fn start(dir: &Path, backend: SocketAddr) -> TlsFront {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.crt"))
            .expect("the certificate is readable")
            .collect::<Result<_, _>>()
            .expect("the certificate is PEM");
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("the key is PEM");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("the certificate and key match");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("an address").port();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let (Ok(mut tls), Ok(mut plain)) =
                        (acceptor.accept(socket).await, TcpStream::connect(backend).await)
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront { port, task }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
