//! Response bodies written by blocking code (print runs, exports) and sent
//! as they are made, so memory stays flat however long the document.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Bytes gathered before they are handed to the connection.
const CHUNK: usize = 64 * 1024;
/// Chunks waiting for a slow client before the writer waits too.
const QUEUED: usize = 4;

/// A [`Write`] whose bytes become a response body. Its `write` may block,
/// so it is used from blocking threads only (a full chunk is sent with
/// `blocking_send`); a client that has gone makes every write fail.
pub struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl BodyWriter {
    /// A writer and the body that carries what it writes.
    pub fn new() -> (BodyWriter, Body) {
        let (tx, rx) = mpsc::channel(QUEUED);
        (
            BodyWriter {
                tx,
                buf: Vec::with_capacity(CHUNK),
            },
            Body::from_stream(ReceiverStream::new(rx)),
        )
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// A handle that can end the body with an error after the writer has
    /// been handed away; the body stays open while it lives.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            tx: self.tx.clone(),
        }
    }
}

pub struct AbortHandle {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl AbortHandle {
    /// Ends the body with an error: the client sees a cut-off transfer,
    /// never a short document that looks whole.
    pub async fn fail(self, why: String) {
        let _ = self.tx.send(Err(io::Error::other(why))).await;
    }
}

impl Write for BodyWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
