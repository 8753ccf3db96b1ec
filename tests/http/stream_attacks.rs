//! `/api/events` against the clients an attacker plays: one address that opens every
//! stream nara serves and never reads them, clients that read a byte a second, a stream
//! held past its maximum age, and a forwarded-client header from a proxy nara trusts
//! and from one it does not. Each client connects from a loopback address of its own
//! (127.0.0.2, 127.0.0.3, …), as another host would, so the streams of 127.0.0.1 are
//! someone else's.

use crate::common::{TestNara, wait_until};
use crate::event_streams::{Nara, closed_by_nara, naras, say, serve};
use nara::{ClientHeader, Kind, StreamLimits, TrustedProxies};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects to `nara` from `from`, asks for the stream and reads its status line only:
/// the status and the connection, which the caller reads or leaves unread. A
/// `receive_buffer` keeps what the client's kernel takes for it small.
async fn stream_from(nara: &Nara, from: Ipv4Addr, receive_buffer: Option<u32>) -> (u16, TcpStream) {
    stream_with(nara, from, receive_buffer, "").await
}

/// [`stream_from`] with more header lines (each ending in CRLF).
async fn stream_with(nara: &Nara, from: Ipv4Addr, receive_buffer: Option<u32>, headers: &str) -> (u16, TcpStream) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).expect("a receive buffer size");
    }
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("every 127.x.y.z is loopback");
    let mut stream = socket.connect(nara.addr).await.expect("nara accepts");
    stream
        .write_all(format!("GET /api/events HTTP/1.1\r\nHost: test\r\n{headers}\r\n").as_bytes())
        .await
        .expect("the request goes out");
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut head))
        .await
        .expect("a status line within 10 s")
        .expect("a status line");
    let status = std::str::from_utf8(&head[9..])
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("HTTP/1.1 and a status");
    (status, stream)
}

#[tokio::test]
async fn one_address_holding_every_stream_unread_leaves_streams_for_everyone_else() {
    let limits = nara::testing::http_config().streams;
    let nara = serve(limits.clone()).await;
    say(&nara.app.plaza, &naras(20), Kind::HeyThere);
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    let mut held = Vec::new();
    let mut served = 0;
    for _ in 0..limits.max_streams {
        let (status, stream) = stream_from(&nara, attacker, None).await;
        served += u64::from(status == 200);
        held.push(stream);
    }
    // Every one of the attacker's sockets is open, and none is read.
    let (status, _mine) = stream_from(&nara, Ipv4Addr::LOCALHOST, None).await;
    assert_eq!(status, 200, "127.0.0.1 gets a stream beside the idle attacker");
    let (again, _also_mine) = stream_from(&nara, Ipv4Addr::LOCALHOST, None).await;
    assert_eq!(again, 200, "and another");
    let refused = limits.max_streams as u64 - served;
    assert!(refused > 0, "the attacker was refused past its cap");
    assert_eq!(
        nara.metric(r#"nara_http_event_streams_refused_total{reason="client"}"#)
            .await,
        refused
    );
    assert_eq!(
        nara.metric(r#"nara_http_event_streams_refused_total{reason="full"}"#)
            .await,
        0
    );
    assert_eq!(nara.metric("nara_http_event_streams_open").await, served + 2);
}

#[tokio::test]
async fn clients_reading_a_byte_a_second_lose_their_streams_within_the_stall_limit() {
    let limits = StreamLimits {
        stall_after: Duration::from_secs(2),
        ..nara::testing::http_config().streams
    };
    let nara = serve(limits).await;
    // About 60 KB of snapshot: more than a 4 KiB receive buffer takes.
    say(&nara.app.plaza, &naras(200), Kind::HeyThere);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut readers = Vec::new();
    for i in 0..8 {
        let (status, mut stream) = stream_from(&nara, Ipv4Addr::new(127, 0, 0, 3 + i), Some(4096)).await;
        assert_eq!(status, 200);
        let mut stopped = stopped.clone();
        readers.push(tokio::spawn(async move {
            let mut byte = [0u8; 1];
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = interval.tick() => {}
                    _ = stopped.wait_for(|s| *s) => return stream,
                }
                if !matches!(stream.read(&mut byte).await, Ok(1)) {
                    return stream;
                }
            }
        }));
    }
    wait_until(
        "the eight slow readers closed as stalled",
        Duration::from_secs(20),
        || async {
            (nara
                .metric(r#"nara_http_event_streams_closed_total{reason="stalled"}"#)
                .await
                == 8)
                .then_some(())
        },
    )
    .await;
    stop.send_replace(true);
    for reader in readers {
        let stream = reader.await.expect("the reader stops when told");
        assert!(closed_by_nara(stream).await);
    }
    assert_eq!(nara.metric("nara_http_event_streams_open").await, 0);
}

/// A stream's client that reads everything, until nara ends the stream: the text it got.
async fn read_to_end(mut stream: TcpStream) -> String {
    let mut text = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&buffer[..n]),
            }
            // The chunked body's last chunk: the stream ended cleanly.
            if text.ends_with(b"\r\n0\r\n\r\n") {
                break;
            }
        }
    })
    .await
    .expect("nara ends the stream within 20 s");
    String::from_utf8_lossy(&text).into_owned()
}

#[tokio::test]
async fn a_stream_ends_cleanly_at_its_maximum_age_and_the_client_gets_another() {
    let limits = StreamLimits {
        max_age: Duration::from_secs(1),
        ..nara::testing::http_config().streams
    };
    let nara = serve(limits).await;
    say(&nara.app.plaza, &naras(3), Kind::HeyThere);
    let (status, stream) = stream_from(&nara, Ipv4Addr::LOCALHOST, None).await;
    assert_eq!(status, 200);
    let text = read_to_end(stream).await;
    assert!(text.contains("retry: 3000"), "the reconnect delay came first: {text}");
    assert!(text.contains("event: snapshot"), "{text}");
    assert!(text.ends_with("\r\n0\r\n\r\n"), "a clean end, not a cut: {text}");
    assert_eq!(
        nara.metric(r#"nara_http_event_streams_closed_total{reason="age"}"#)
            .await,
        1
    );
    let (again, _stream) = stream_from(&nara, Ipv4Addr::LOCALHOST, None).await;
    assert_eq!(again, 200, "a reconnecting client gets a new stream");
}

/// Whether the kernel shows nara's end of the connection from `client` closed while
/// the client has read nothing: nara closed its socket, and its last bytes (and the
/// close) wait for a client whose window is shut (Linux's /proc/net/tcp).
fn closed_on_nara_side(nara: SocketAddr, client: SocketAddr) -> bool {
    // Addresses as /proc/net/tcp writes them: the IPv4 address read in host order.
    let hex = |addr: SocketAddr| match addr {
        SocketAddr::V4(v4) => format!("{:08X}:{:04X}", u32::from_ne_bytes(v4.ip().octets()), v4.port()),
        SocketAddr::V6(_) => String::new(),
    };
    let (local, remote) = (hex(nara), hex(client));
    let table = std::fs::read_to_string("/proc/net/tcp").expect("Linux lists its TCP sockets");
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // 04: FIN_WAIT1 (closed, its FIN queued); 05, 06, 0B: further along.
        fields.len() > 3 && fields[1] == local && fields[2] == remote && matches!(fields[3], "04" | "05" | "06" | "0B")
    })
}

#[tokio::test]
async fn a_client_that_does_not_take_the_end_of_an_old_stream_is_hung_up_on() {
    let limits = StreamLimits {
        max_age: Duration::from_secs(1),
        stall_after: Duration::from_secs(2),
        ..nara::testing::http_config().streams
    };
    let nara = serve(limits).await;
    // About 60 KB of snapshot, more than a 4 KiB receive buffer takes: the kernel holds
    // the rest, and the stream's end behind it.
    say(&nara.app.plaza, &naras(200), Kind::HeyThere);
    let (status, stream) = stream_from(&nara, Ipv4Addr::new(127, 0, 0, 2), Some(4096)).await;
    assert_eq!(status, 200);
    let client = stream.local_addr().expect("a connected socket");
    // The client reads nothing until nara's end of the connection is closed.
    wait_until(
        "nara's end of the old stream's connection closed",
        Duration::from_secs(20),
        || async { closed_on_nara_side(nara.addr, client).then_some(()) },
    )
    .await;
    assert_eq!(nara.metric("nara_http_event_streams_open").await, 0);
    assert!(
        closed_by_nara(stream).await,
        "what the kernel held arrives, then the end"
    );
    assert_eq!(
        nara.metric(r#"nara_http_event_streams_closed_total{reason="age"}"#)
            .await,
        1
    );
    assert_eq!(
        nara.metric(r#"nara_http_event_streams_closed_total{reason="stalled"}"#)
            .await,
        0,
        "it was closed for its age, and hung up on as it did not read the end"
    );
}

/// The status of a stream asked for from `from` with `X-Forwarded-For: {client}`; its
/// connection is kept in `held`.
async fn forwarded(nara: &Nara, from: Ipv4Addr, client: &str, held: &mut Vec<TcpStream>) -> u16 {
    let header = format!("X-Forwarded-For: {client}\r\n");
    let (status, stream) = stream_with(nara, from, None, &header).await;
    held.push(stream);
    status
}

#[tokio::test]
async fn a_listed_proxy_names_its_clients_and_an_unlisted_peer_cannot() {
    let limits = StreamLimits {
        per_client: 2,
        proxies: TrustedProxies {
            nets: vec!["127.0.0.2/32".parse().expect("a block")],
            header: ClientHeader::ForwardedFor,
        },
        ..nara::testing::http_config().streams
    };
    let nara = serve(limits).await;
    let proxy = Ipv4Addr::new(127, 0, 0, 2);
    let stranger = Ipv4Addr::new(127, 0, 0, 3);
    let mut held = Vec::new();
    // Through the proxy, three clients: each is counted as itself, by the last hop.
    for client in ["192.0.2.1", "192.0.2.2", "6.6.6.6, 192.0.2.3"] {
        assert_eq!(
            forwarded(&nara, proxy, client, &mut held).await,
            200,
            "{client} through the proxy"
        );
    }
    assert_eq!(
        forwarded(&nara, proxy, "192.0.2.1", &mut held).await,
        200,
        "192.0.2.1's second"
    );
    assert_eq!(
        forwarded(&nara, proxy, "192.0.2.1", &mut held).await,
        503,
        "192.0.2.1's third, past its cap, though the proxy has room"
    );
    // A peer nara does not list writes whatever it likes: it is counted as itself.
    for (i, client) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"].into_iter().enumerate() {
        let expected = if i < 2 { 200 } else { 503 };
        assert_eq!(
            forwarded(&nara, stranger, client, &mut held).await,
            expected,
            "{client} from 127.0.0.3"
        );
    }
    assert_eq!(
        nara.metric(r#"nara_http_event_streams_refused_total{reason="client"}"#)
            .await,
        2
    );
}
