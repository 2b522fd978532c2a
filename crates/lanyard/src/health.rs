//! `lanyard health`: asks a running server's `/api/health`, for a
//! container's health check. An image with only the lanyard binary has no
//! curl; one plain HTTP/1.1 GET over a socket is all this needs, so it is
//! written here rather than bringing an HTTP client into the binary.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Whether the server listening on `addr` (as `serve --addr` takes it)
/// answers its health check `200 {"status":"ok"}` within `timeout`.
pub fn check(addr: &str, timeout: Duration) -> Result<(), String> {
    let target = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    // A server listening on every address is asked on this machine's own.
    let target = match target.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), target.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), target.port())
        }
        _ => target,
    };
    let mut stream =
        TcpStream::connect_timeout(&target, timeout).map_err(|e| format!("{target}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /api/health HTTP/1.1\r\nHost: {target}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{target}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut answer)
        .map_err(|e| format!("{target}: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    if status.split_whitespace().nth(1) == Some("200") && body.contains(r#""status":"ok""#) {
        Ok(())
    } else {
        Err(format!("{target}: answered {status:?}"))
    }
}
