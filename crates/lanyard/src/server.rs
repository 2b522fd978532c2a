//! The HTTP server loop: the router on hyper HTTP/1.1 connections, with what
//! a public server needs against clients that hold connections open: a
//! deadline for a request's headers, an idle timeout, a cap on connections
//! from one address, and a deadline on graceful shutdown.
//!
//! Written here rather than with `axum::serve` because that one offers none
//! of these limits (hyper's header-read timeout needs a timer it does not
//! set, and it has no per-address cap or shutdown deadline).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The most a request's line and headers may take (and so what one
/// connection may hold of them): beyond it, `431`. A browser's request to
/// lanyard is well under 2 KiB; hyper's default would let each connection
/// hold about 400 KiB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Limits on connections, as opposed to requests (see `lanyard_http::Limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a client has to send a request's headers, counted from when the
    /// connection opens or the previous response was sent; so an idle
    /// keep-alive connection is also closed after it.
    pub header_read_timeout: Duration,
    /// A connection with no bytes read or written for this long is closed
    /// (a client that stalls mid-body, or stops reading its answer).
    pub idle_timeout: Duration,
    /// Connections open at once from one client address; more are closed at
    /// once. Many attendees behind one conference NAT share an address, so
    /// this is generous; it stops one client from taking every file descriptor.
    pub max_connections_per_address: usize,
    /// How long a graceful shutdown waits for open requests before closing
    /// the connections that remain.
    pub shutdown_timeout: Duration,
}

impl ConnectionLimits {
    /// The defaults, and the one place they are written (`lanyard serve`'s
    /// flags take theirs from here).
    pub const DEFAULT: ConnectionLimits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections_per_address: 128,
        shutdown_timeout: Duration::from_secs(20),
    };
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits::DEFAULT
    }
}

/// Open connections per client address.
#[derive(Clone, Default)]
struct PerAddress(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place in [`PerAddress`], given back when dropped.
struct Slot {
    table: PerAddress,
    address: IpAddr,
}

impl PerAddress {
    fn take(&self, address: IpAddr, max: usize) -> Option<Slot> {
        let mut table = self.0.lock().expect("the connection table");
        let open = table.entry(address).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(Slot {
            table: self.clone(),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().expect("the connection table");
        if let Some(open) = table.get_mut(&self.address) {
            *open -= 1;
            if *open == 0 {
                table.remove(&self.address);
            }
        }
    }
}

/// A connection's stream (TCP, or TLS over TCP, as hyper reads it) that
/// notes when it last moved a byte.
struct Tracked<S> {
    inner: S,
    started: Instant,
    /// Milliseconds after `started` of the last read or write.
    last_activity: Arc<AtomicU64>,
    /// An answer that replaced what hyper wrote, still to be sent.
    pending: Vec<u8>,
}

impl<S> Tracked<S> {
    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_activity.store(now, Ordering::Relaxed);
    }
}

impl<S: AsyncWrite + Unpin> Tracked<S> {
    /// Sends what is left of a replaced answer first.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.pending.is_empty() {
            let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
            self.touch();
        }
        Poll::Ready(Ok(()))
    }
}

/// hyper answers a request it cannot parse on its own, before any handler
/// sees it: `400` (malformed), `414` (URL too long) or `431` (headers too
/// large), with an empty body. That answer is recognised by its exact head
/// (hyper's own: `connection: close` then `content-length: 0`; every answer
/// of the router has a body) and replaced by the same status with the JSON
/// error every other answer has. hyper offers no hook for these answers,
/// hence this.
fn json_parse_error(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let (status, rest) = text.strip_prefix("HTTP/1.1 ")?.split_once("\r\n")?;
    let date = rest
        .strip_prefix("connection: close\r\ncontent-length: 0\r\n")?
        .strip_suffix("\r\n\r\n")?;
    if !date.starts_with("date: ") || date.contains("\r\n") {
        return None;
    }
    let (code, message) = match status.split(' ').next()? {
        "400" => (
            "bad_request",
            "the request could not be read as HTTP/1.1".to_owned(),
        ),
        "414" => ("uri_too_long", "the request's URL is too long".to_owned()),
        "431" => (
            "headers_too_large",
            format!(
                "the request's line and headers are too large ({} KiB at most)",
                MAX_HEADER_BYTES / 1024
            ),
        ),
        _ => return None,
    };
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n{date}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::task::ready!(self.poll_pending(cx))?;
        if let Some(answer) = json_parse_error(buf) {
            self.pending = answer;
            return Poll::Ready(Ok(buf.len()));
        }
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        std::task::ready!(self.poll_pending(cx))?;
        let mut parts = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(head), None) = (parts.next(), parts.next()) {
            if let Some(answer) = json_parse_error(head) {
                self.pending = answer;
                return Poll::Ready(Ok(head.len()));
            }
        }
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown`
/// completes; then stops accepting, lets open requests finish for up to
/// `shutdown_timeout`, and closes whatever is still open.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let per_address = PerAddress::default();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Finished connections leave the set as they go.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait for some to close.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = per_address.take(peer.ip(), limits.max_connections_per_address) else {
            tracing::warn!(client = %peer.ip(), "connection closed: too many open from this address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let _slot = slot;
            match acceptor {
                None => serve_connection(stream, peer, router, limits, watcher).await,
                Some(acceptor) => {
                    // The handshake has the time the request's headers have.
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
                    match handshake.await {
                        Ok(Ok(tls)) => serve_connection(tls, peer, router, limits, watcher).await,
                        Ok(Err(e)) => {
                            tracing::debug!(client = %peer.ip(), error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            tracing::debug!(client = %peer.ip(), "TLS handshake timed out");
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "shutdown deadline reached: closing the connections still open"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// One connection: HTTP/1.1 on `stream` until it ends, is idle too long, or
/// the server shuts down.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    router: axum::Router,
    limits: ConnectionLimits,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let last_activity = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let io = TokioIo::new(Tracked {
        inner: stream,
        started,
        last_activity: last_activity.clone(),
        pending: Vec::new(),
    });
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request
            .extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(peer));
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(io, service);
    let connection = watcher.watch(connection);
    tokio::pin!(connection);
    loop {
        let idle = started
            .elapsed()
            .saturating_sub(Duration::from_millis(last_activity.load(Ordering::Relaxed)));
        let Some(left) = limits
            .idle_timeout
            .checked_sub(idle)
            .filter(|d| !d.is_zero())
        else {
            // Dropping the connection closes it.
            tracing::debug!(client = %peer.ip(), "idle connection closed");
            return;
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = tokio::time::sleep(left) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_own_empty_parse_error_answers_are_replaced() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sat, 28 Nov 2026 08:49:42 GMT\r\n\r\n";
        let answer = String::from_utf8(json_parse_error(head).unwrap()).unwrap();
        let (head_out, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head_out.starts_with(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        ));
        assert!(head_out.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "headers_too_large");
        // An answer of the router (a body, other headers) is left alone.
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 10\r\ndate: x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\nextra",
        ] {
            assert!(json_parse_error(other).is_none());
        }
    }

    #[test]
    fn the_per_address_cap_counts_open_connections_and_frees_closed_ones() {
        let table = PerAddress::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = table.take(a, 2).unwrap();
        let _second = table.take(a, 2).unwrap();
        assert!(table.take(a, 2).is_none(), "a third from one address");
        assert!(
            table.take(b, 2).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(
            table.take(a, 2).is_some(),
            "a closed connection frees its place"
        );
    }
}
