//! Limits under load: rate limit, load shedding, request timeouts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{registration, spawn_app_with_limits};
use lanyard_http::Limits;
use serde_json::Value;

fn limits(rate: u32, concurrent: usize, timeout_secs: u64) -> Limits {
    Limits {
        registrations_per_second: rate,
        max_concurrent_requests: concurrent,
        request_timeout: Duration::from_secs(timeout_secs),
        ..Limits::DEFAULT
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signups_over_the_per_address_rate_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    // 1 per second allows a burst of 10.
    let app = spawn_app_with_limits(dir.path(), limits(1, 64, 30)).await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..15 {
        let res = app
            .post_registration(&registration(&format!("rate{i}"), "Rate Limited"))
            .await;
        let status = res.status().as_u16();
        if status == 429 {
            retry_after = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            assert_eq!(
                res.json::<Value>().await.unwrap()["error"]["code"],
                "rate_limited"
            );
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        5,
        "{statuses:?}"
    );
    assert!(retry_after.is_some_and(|s| s >= 1));
    // Reads are not limited.
    assert_eq!(app.get_json("/api/conferences").await.0, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_up_limit_counts_exactly_its_routes_and_nothing_a_desk_or_organizer_sends() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_limits(dir.path(), limits(1, 64, 30)).await;
    let client = reqwest::Client::new();
    let post = |path: &str| {
        client
            .post(app.url(path))
            .json(&serde_json::json!({}))
            .send()
    };
    // The routes share one allowance per address (a burst of ten at one
    // per second): refused bodies count too.
    let limited = lanyard_http::paths::SIGN_UP_LIMITED;
    for i in 0..9 {
        let path = limited[i % limited.len()];
        assert_ne!(post(path).await.unwrap().status(), 429, "{path}");
    }
    let last = post(lanyard_http::paths::REGISTRATIONS).await.unwrap();
    assert_ne!(last.status(), 429);
    for path in lanyard_http::paths::SIGN_UP_LIMITED {
        let res = post(path).await.unwrap();
        assert_eq!(res.status(), 429, "{path}");
        assert!(res.headers().contains_key("retry-after"), "{path}");
    }
    // What desks and organizers send from the same address is not counted.
    let organizer = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        client
            .request(method, app.url(path))
            .bearer_auth(crate::common::TOKEN)
            .json(&body)
            .send()
    };
    let desk = organizer(
        reqwest::Method::POST,
        "/api/desks",
        serde_json::json!({"name": "Door A"}),
    )
    .await
    .unwrap();
    assert_eq!(desk.status(), 201);
    for _ in 0..20 {
        let scan = organizer(
            reqwest::Method::POST,
            "/api/checkins",
            serde_json::json!({"code": "nope", "nonce": "limit-nonce-01"}),
        )
        .await
        .unwrap();
        assert_ne!(scan.status(), 429);
        let list = organizer(
            reqwest::Method::GET,
            "/api/registrations",
            serde_json::json!({}),
        )
        .await
        .unwrap();
        assert_eq!(list.status(), 200);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_rate_limit_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_limits(dir.path(), limits(0, 64, 30)).await;
    for i in 0..60 {
        assert_eq!(
            app.post_registration(&registration(&format!("free{i}"), "Unlimited"))
                .await
                .status(),
            201
        );
    }
    app.stop().await;
}

/// A client that sends headers and half a body, then stalls.
fn slow_client(address: &str) -> TcpStream {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /api/registrations HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"type\":"
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_concurrency_cap_requests_are_shed_with_503() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_limits(dir.path(), limits(0, 1, 30)).await;
    let mut stalled = slow_client(&app.address);
    stalled.set_nonblocking(true).unwrap();
    // Wait until the stalled request holds the only slot (on a busy machine
    // its headers can take a while to be read). If it arrived while a probe
    // held the slot, it was the one shed: the server has answered it, so a
    // new one is sent.
    let mut shed = None;
    for _ in 0..500 {
        let mut answered = [0u8; 1];
        if matches!(stalled.peek(&mut answered), Ok(n) if n > 0) {
            stalled = slow_client(&app.address);
            stalled.set_nonblocking(true).unwrap();
        }
        let res = app.client.get(app.url("/api/health")).send().await.unwrap();
        if res.status() == 503 {
            shed = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let res = shed.expect("a request past the cap is shed");
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "overloaded"
    );
    drop(stalled);
    // Once the slot is free again, requests are served.
    let mut ok = false;
    for _ in 0..100 {
        if app
            .client
            .get(app.url("/api/health"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "served again after the stalled client left");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_with_408() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_with_limits(dir.path(), limits(0, 64, 1)).await;
    let response = tokio::task::spawn_blocking({
        let address = app.address.clone();
        move || {
            let mut stalled = slow_client(&address);
            stalled
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut buf = vec![0u8; 4096];
            let n = stalled.read(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("request_timeout"));
    // The server is still there for everyone else.
    assert_eq!(app.get_json("/api/health").await.0, 200);
    app.stop().await;
}

/// A request from `from` (a loopback address of its own) that sends its
/// headers and one byte of a 100-byte body, then stalls; resolves to what
/// the server answered, or `None` if nothing came within `wait`.
async fn trickled_request(
    from: std::net::IpAddr,
    server: std::net::SocketAddr,
    wait: Duration,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    stream
        .write_all(
            b"POST /api/registrations HTTP/1.1\r\nHost: lanyard\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    match tokio::time::timeout(wait, stream.read(&mut answer)).await {
        Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&answer[..n]).into_owned()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_bodies_from_a_few_addresses_leave_room_for_everyone_else() {
    let dir = tempfile::tempdir().unwrap();
    // 32 slots, 8 per address; bodies at 1 KiB/s after 3 s. The request
    // timeout is far off, so only the body rate can end the trickles soon.
    let app = spawn_app_with_limits(
        dir.path(),
        Limits {
            registrations_per_second: 0,
            max_concurrent_requests: 32,
            max_concurrent_per_address: 8,
            min_body_bytes_per_second: 1024,
            body_grace: Duration::from_secs(3),
            request_timeout: Duration::from_secs(600),
        },
    )
    .await;
    let server: std::net::SocketAddr = app.socket_address().parse().unwrap();
    // Three addresses, twelve trickled requests each: more than the whole
    // server's slots if nothing told them apart.
    let (answers, mut arriving) = tokio::sync::mpsc::unbounded_channel();
    for host in 2..=4u8 {
        for _ in 0..12 {
            let answers = answers.clone();
            tokio::spawn(async move {
                let from = std::net::IpAddr::from([127, 0, 0, host]);
                let answer = trickled_request(from, server, Duration::from_secs(60)).await;
                let _ = answers.send(answer);
            });
        }
    }
    drop(answers);
    // Each address's requests past its share are refused at once.
    let mut got = Vec::new();
    while got
        .iter()
        .filter(|a: &&Option<String>| a.as_deref().is_some_and(|a| a.starts_with("HTTP/1.1 429")))
        .count()
        < 12
    {
        match tokio::time::timeout(Duration::from_secs(20), arriving.recv()).await {
            Ok(Some(answer)) => got.push(answer),
            _ => panic!("the requests past each address's share were not refused: {got:?}"),
        }
    }
    // While the others trickle, a client from another address is served.
    for _ in 0..10 {
        let (status, body) = app.get_json("/api/health").await;
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And the trickles themselves end long before the request timeout:
    // 408 once their bodies fall behind the minimum rate.
    while let Some(answer) = arriving.recv().await {
        got.push(answer);
    }
    let statuses: Vec<&str> = got
        .iter()
        .map(|a| a.as_deref().map_or("no answer", |a| &a[9..12]))
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "429").count(),
        12,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == "408").count(),
        24,
        "{statuses:?}"
    );
    assert!(got.iter().flatten().any(|a| a.contains("request_timeout")));
    app.stop().await;
}
