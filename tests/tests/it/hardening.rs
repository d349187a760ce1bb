//! Slow and oversized clients cost a bounded amount of the server and never
//! starve other visitors: slowloris, slow uploads, huge headers, one address
//! opening too many connections.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cloudsms_tests::{Mode, TestApp, both_modes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const LIMITS: &str = "[http]\nheader_read_timeout_secs = 2\nrequest_timeout_secs = 2\n\
                      max_connections_per_address = 20\n";

/// A connection from `source` (any 127.0.0.0/8 address is this machine).
async fn connect_from(source: &str, url: &str) -> TcpStream {
    let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Everything the server sends until it closes, or `None` when it keeps the
/// connection open past `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

async fn huge_headers_are_refused_and_others_still_served(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, LIMITS).await;
    let huge = "a".repeat(64 * 1024);
    for (url, path) in [
        (&app.gateway_url, "/"),
        (&app.ingest_url, "/webhooks/generic"),
    ] {
        let mut stream = connect_from("127.0.0.1", url).await;
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n");
        // The server may stop reading before all of it arrived.
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .expect("the server closes after refusing the head");
        assert!(
            answer.starts_with("HTTP/1.1 431"),
            "{url}: {}",
            answer.lines().next().unwrap_or("(nothing)")
        );
    }
    let (status, _) = app.get("/").await;
    assert_eq!(status, 200);
    app.stop().await;
}
both_modes!(huge_headers_are_refused_and_others_still_served);

async fn slowloris_is_cut_off_while_the_site_keeps_serving(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, LIMITS).await;
    // 40 connections from one address, each sending its head a header line
    // at a time and never finishing it.
    let mut attackers = Vec::new();
    for _ in 0..40 {
        let mut stream = connect_from("127.0.0.2", &app.gateway_url).await;
        attackers.push(tokio::spawn(async move {
            let started = Instant::now();
            let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
            while started.elapsed() < Duration::from_secs(10) {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return Some(started.elapsed());
                }
                if read_until_closed(&mut stream, Duration::from_millis(250))
                    .await
                    .is_some()
                {
                    return Some(started.elapsed());
                }
            }
            None
        }));
    }
    // Meanwhile another visitor reads pages as usual.
    for _ in 0..20 {
        let (status, _) = app.get("/").await;
        assert_eq!(status, 200);
    }
    let mut closed_at = Vec::new();
    for attacker in attackers {
        closed_at.push(
            attacker
                .await
                .unwrap()
                .expect("a slow head is cut off within its timeout"),
        );
    }
    closed_at.sort();
    // Past 20 per address, connections are closed at once...
    assert!(closed_at[19] < Duration::from_secs(1), "{closed_at:?}");
    // ...and the others when their 2 s for the head run out, not before.
    assert!(
        closed_at[20] > Duration::from_millis(1500) && closed_at[39] < Duration::from_secs(6),
        "{closed_at:?}"
    );
    let (status, _) = app.get("/").await;
    assert_eq!(status, 200);
    app.stop().await;
}
both_modes!(slowloris_is_cut_off_while_the_site_keeps_serving);

async fn a_stalled_upload_gets_408(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, LIMITS).await;
    let mut stream = connect_from("127.0.0.1", &app.ingest_url).await;
    stream
        .write_all(
            b"POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"to\":",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(6), stream.read(&mut buf))
        .await
        .expect("answered within the request timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() > Duration::from_millis(1500));
    // Nothing half-sent was accepted, and webhooks still work.
    let number = "+447700900555";
    app.add_number(number).await;
    app.accept_sms(number, "Bank", "after the stall", "h-1")
        .await;
    app.stop().await;
}
both_modes!(a_stalled_upload_gets_408);
