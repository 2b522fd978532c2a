//! The one writer thread and its group commit: every write waiting is run in
//! one transaction, each in its own savepoint, and answered after the commit.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use lanyard_domain::StoreError;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{unavailable, SqliteStore};

/// Most writes committed together in one transaction.
pub(super) const MAX_GROUP: usize = 512;

/// A write: runs inside the group transaction and returns how to answer its
/// caller once the commit's outcome is known.
pub(super) type WriteJob = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;
pub(super) type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

impl SqliteStore {
    /// Runs `f` in the next group transaction; answers after the commit.
    pub(super) async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
        let job: WriteJob = Box::new(move |conn| {
            let result = f(conn);
            let succeeded = result.is_ok();
            let reply: Reply = Box::new(move |committed| {
                let answer = match (result, committed) {
                    (Ok(r), Ok(())) => Ok(r),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(StoreError::unavailable(e)),
                };
                let _ = tx.send(answer);
            });
            (succeeded, reply)
        });
        // The channel is bounded. Most writes find room and are handed over
        // at once; when it is full the caller waits for room off the runtime.
        match self.writer.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(job)) => {
                let writer = self.writer.clone();
                lanyard_domain::blocking::spawn_blocking(move || writer.send(job))
                    .await
                    .map_err(unavailable)?
                    .map_err(|_| unavailable("the database writer has stopped"))?;
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(unavailable("the database writer has stopped"));
            }
        }
        rx.await
            .map_err(|_| unavailable("the database writer has stopped"))?
    }
}

pub(super) fn run_writer(
    conn: Connection,
    jobs: mpsc::Receiver<WriteJob>,
    bound: &super::LogBound,
) {
    let mut retry_at: Option<Instant> = None;
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(group.len());
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Dropping the writes answers their callers with an error.
            tracing::error!(error = %e, "could not begin a write transaction");
            continue;
        }
        for job in group {
            if let Err(e) = conn.execute_batch("SAVEPOINT write") {
                tracing::error!(error = %e, "savepoint failed");
            }
            // Each write answers for itself: a failed or panicking write's
            // changes are rolled back to its savepoint, the others' are kept.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn)));
            let succeeded = matches!(outcome, Ok((true, _)));
            if !succeeded {
                let _ = conn.execute_batch("ROLLBACK TO write");
            }
            let _ = conn.execute_batch("RELEASE write");
            if let Ok((_, reply)) = outcome {
                replies.push(reply);
            }
        }
        let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(committed.clone());
        }
        // Between commits, with the answers sent: the log is emptied here
        // when it must be, while no write can start. Writes wait at most a
        // quarter second for readers to let go, and a busy log is tried
        // again a second later, so writing never stalls for long.
        if retry_at.is_none_or(|at| Instant::now() >= at) {
            retry_at = bound
                .enforce(&conn, super::EMPTY_WAIT)
                .then(|| Instant::now() + Duration::from_secs(1));
        }
    }
}
