//! Clients that hold connections open: silent, slow, many from one address,
//! and a shutdown while one is half-sent. Raw TCP on loopback against the
//! real server, with short limits and bounded waits.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use lanyard::ConnectionLimits;

use crate::common::{registration, spawn_app_with_connections};

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        max_connections_per_address: 8,
        shutdown_timeout: Duration::from_secs(1),
    }
}

/// Whether the server closed the connection within `within`: a read that
/// ends (EOF or reset) rather than timing out. Whatever the server sent
/// first (an error answer, say) is read through.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_connections(dir.path(), limits()).await;
    let address = app.socket_address().to_owned();
    let silent = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        closed_within(&mut stream, Duration::from_secs(10))
    });
    assert!(silent.await.unwrap(), "a silent connection is closed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_sent_a_byte_at_a_time_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_connections(dir.path(), limits()).await;
    let address = app.socket_address().to_owned();
    let dripped = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        let request =
            b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        // Three bytes a second: the whole head would take ~20 s.
        for byte in request {
            std::thread::sleep(Duration::from_millis(330));
            if stream.write_all(&[*byte]).is_err() {
                return true; // closed while sending
            }
        }
        false // the whole head went through: the timeout did not fire
    });
    assert!(
        dripped.await.unwrap(),
        "a slow head is cut off before it completes"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_and_a_stalled_body_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_connections(
        dir.path(),
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(30),
            ..limits()
        },
    )
    .await;
    let address = app.socket_address().to_owned();
    let closed = tokio::task::spawn_blocking(move || {
        // One answered request, then nothing: the idle timeout closes it.
        let mut kept = TcpStream::connect(&address).unwrap();
        kept.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let idle_closed = closed_within(&mut kept, Duration::from_secs(10));
        // A body promised and not sent.
        let mut stalled = TcpStream::connect(&address).unwrap();
        stalled
            .write_all(
                b"POST /api/registrations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"type\":",
            )
            .unwrap();
        let stalled_closed = closed_within(&mut stalled, Duration::from_secs(10));
        (idle_closed, stalled_closed)
    });
    assert_eq!(closed.await.unwrap(), (true, true));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_connections(
        dir.path(),
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            ..limits()
        },
    )
    .await;
    let address = app.socket_address().to_owned();
    let held: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    // Accepted in order: give the server a moment to take all eight.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let extra_address = address.clone();
    let extra_closed = tokio::task::spawn_blocking(move || {
        let mut extra = TcpStream::connect(extra_address).unwrap();
        closed_within(&mut extra, Duration::from_secs(5))
    });
    assert!(
        extra_closed.await.unwrap(),
        "the ninth connection is closed"
    );
    drop(held);
    // With the eight gone, the address is served again: a sign-up goes through.
    // (The server notices the closed ones within moments.)
    let mut status = None;
    for _ in 0..50 {
        let sent = app
            .client
            .post(app.url("/api/registrations"))
            .json(&registration("after-the-flood", "After Flood"))
            .send()
            .await;
        status = sent.ok().map(|res| res.status().as_u16());
        if status == Some(201) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, Some(201));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_past_its_deadline_for_a_half_sent_request() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_connections(
        dir.path(),
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            ..limits()
        },
    )
    .await;
    let mut half = TcpStream::connect(app.socket_address()).unwrap();
    half.write_all(b"POST /api/registrations HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The deadline is 1 s; 15 s is only a bound so a hang fails the test.
    tokio::time::timeout(Duration::from_secs(15), app.stop())
        .await
        .expect("the server stops despite the half-sent request");
    drop(half);
}

/// Requests hyper refuses before any handler sees them still get the JSON
/// error shape: malformed, a URL too long, too many headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_cannot_be_parsed_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_connections(dir.path(), limits()).await;
    let address = app.socket_address().to_owned();
    let many_headers: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect();
    let cases = [
        (
            "GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".to_owned(),
            400,
            "bad_request",
        ),
        ("BLAH\r\n\r\n".to_owned(), 400, "bad_request"),
        // A URL past the ceiling on a request's line and headers.
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)),
            431,
            "headers_too_large",
        ),
        (
            format!("GET /api/health HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n"),
            431,
            "headers_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let answer = tokio::task::spawn_blocking({
            let address = address.clone();
            move || {
                let mut stream = TcpStream::connect(&address).unwrap();
                stream.write_all(request.as_bytes()).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
                String::from_utf8(answer).unwrap()
            }
        })
        .await
        .unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(json["error"]["code"], code, "{body}");
    }
    // The server goes on serving.
    let (status, _) = app.get_json("/api/health").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_block_past_its_ceiling_is_refused_with_431() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_connections(dir.path(), limits()).await;
    let address = app.socket_address().to_owned();
    let send = |header_bytes: usize| {
        let address = address.clone();
        tokio::task::spawn_blocking(move || {
            let mut stream = TcpStream::connect(address).unwrap();
            let filler = "a".repeat(header_bytes);
            // The server may answer 431 and close before the whole block
            // is written; the answer is read all the same.
            let _ = write!(
                stream,
                "GET /api/health HTTP/1.1\r\nHost: lanyard\r\nX-Filler: {filler}\r\nConnection: close\r\n\r\n"
            );
            let mut answer = String::new();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let _ = stream.read_to_string(&mut answer);
            answer
        })
    };
    // A large but ordinary header block is served...
    let ordinary = send(8 * 1024).await.unwrap();
    assert!(ordinary.starts_with("HTTP/1.1 200"), "{ordinary:.200}");
    // ...one past the ceiling (far below hyper's own 400 KiB) is not.
    let oversized = send(lanyard::server::MAX_HEADER_BYTES + 1024)
        .await
        .unwrap();
    assert!(oversized.starts_with("HTTP/1.1 431"), "{oversized:.200}");
    assert!(oversized.contains("headers_too_large"), "{oversized}");
    assert_eq!(app.get_json("/api/health").await.0, 200);
    app.stop().await;
}
