//! Registrations and badge jobs in SQLite.
//!
//! Durability: WAL with `synchronous=FULL`, so a committed transaction is on
//! disk. Throughput: one writer thread takes every write that is waiting and
//! commits them in one transaction (group commit), so many concurrent
//! sign-ups share one fsync; each write runs in its own savepoint so one
//! failing write never undoes another. Reads go to a pool of read-only
//! connections and never wait for the writer.
//!
//! | module | what |
//! |---|---|
//! | `schema` | tables and the version check |
//! | `writer` | the writer thread and its group commit |
//! | `queue` | the badge job queue (an outbox beside the registrations) |
//! | `outbox` | notices (e-mails, webhooks) waiting for delivery |
//! | `rows` | rows to registrations, and list cursors |
//! | `registrations` | the `RegistrationStore` port |
//! | `checkins` | check-ins, their nonces, desks |
//! | `desk_cache` | desks by token hash in memory, exact across processes |

mod checkins;
mod desk_cache;
mod outbox;
mod queue;
mod registrations;
mod rows;
mod schema;
mod writer;

pub use queue::ClaimedJob;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use lanyard_domain::StoreError;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use writer::{run_writer, WriteJob, MAX_GROUP};

#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::SyncSender<WriteJob>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
    desks: Arc<desk_cache::DeskCache>,
    /// Keeps the checkpoint thread running while the store is in use; a
    /// message asks it to empty the log (after an erasure).
    checkpoints: Arc<mpsc::Sender<()>>,
    log_bound: Arc<LogBound>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(e.to_string())
}

/// How often the log is copied into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// The size past which the log is started over (`RESTART`) rather than
/// only copied. SQLite starts a log over only when no reader is inside it: with
/// reads always overlapping (busy lists and exports) a log copied by
/// `PASSIVE` checkpoints alone grows without end (541 MiB in the test of
/// 30 000 sign-ups beside overlapping lists), holding old versions of
/// every row.
pub const WAL_LIMIT: u64 = 32 << 20;

/// When the log must be emptied, and by whom: the writer thread between
/// its commits (it alone can keep new writes out while readers move on to
/// the newest data), or the checkpoint thread when no write comes.
pub(super) struct LogBound {
    wal: PathBuf,
    limit: u64,
    /// Set after an erasure: the log holds old versions of erased rows.
    empty_wanted: AtomicBool,
    /// Held by whoever checkpoints: a copy by the checkpoint thread would
    /// otherwise make the writer's emptying give up as busy.
    checkpointing: std::sync::Mutex<()>,
    /// Held shared by each of the store's reads, and alone while the log is
    /// emptied. Overlapping readers would otherwise starve the checkpoint
    /// for good: SQLite can empty the log only in a moment when no reader
    /// is inside it, and a busy server's reads may leave no such moment.
    /// New reads wait while the log is emptied (tens of milliseconds).
    reading: std::sync::RwLock<()>,
}

impl LogBound {
    /// Empties the log if it is wanted or the log is past its limit,
    /// waiting at most `wait` for readers to move on to the newest data.
    /// Returns whether anything was left to do (the log was busy).
    pub(super) fn enforce(&self, conn: &Connection, wait: std::time::Duration) -> bool {
        let wanted = self.empty_wanted.load(Ordering::Acquire);
        let oversized = std::fs::metadata(&self.wal).is_ok_and(|m| m.len() > self.limit);
        if !wanted && !oversized {
            return false;
        }
        let _alone = self.checkpointing.lock().unwrap_or_else(|e| e.into_inner());
        let _no_reads = self.reading.write().unwrap_or_else(|e| e.into_inner());
        // An erasure empties the file; a log past its size is started over
        // from its beginning (the file is then cut to the limit by
        // `journal_size_limit`), which spares an fsync of the log.
        let mode = if wanted { "TRUNCATE" } else { "RESTART" };
        let emptied = conn
            .busy_timeout(wait)
            .and_then(|()| {
                conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .map(|busy| busy == 0);
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
        match emptied {
            Ok(true) => {
                if wanted {
                    self.empty_wanted.store(false, Ordering::Release);
                }
                false
            }
            Ok(false) => true,
            Err(e) => {
                tracing::warn!(error = %e, "emptying the database log failed");
                true
            }
        }
    }
}

/// How long emptying the log waits for readers (reads in this process are
/// held back meanwhile; a reader in another process may hold on longer).
pub(super) const EMPTY_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// How long a connection waits for a lock before it answers busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts the thread that checkpoints the log every [`CHECKPOINT_EVERY`]
/// (`PASSIVE`: it never blocks a write or a read), and empties it when
/// asked to (after an erasure) as soon as it is asked. It stops when the
/// returned handle's last clone is dropped.
fn start_checkpoints(path: &Path, bound: Arc<LogBound>) -> anyhow::Result<Arc<mpsc::Sender<()>>> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let (requests, asked) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) =
                asked.recv_timeout(CHECKPOINT_EVERY)
            {
                while asked.try_recv().is_ok() {}
                if bound.empty_wanted.load(Ordering::Acquire) {
                    // Tried again next round while a reader holds on.
                    bound.enforce(&conn, EMPTY_WAIT);
                    continue;
                }
                let _alone = bound
                    .checkpointing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "checkpointing the database log failed");
                }
            }
        })?;
    Ok(Arc::new(requests))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts its
    /// writer thread. Badge jobs a stopped server had claimed are released:
    /// only the server's own store may be opened so.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        Self::open_with(path.as_ref(), true)
    }

    /// Opens the database of a data directory a server may be running on
    /// (for the command line's desk commands, say), leaving the server's
    /// claimed badge jobs alone. SQLite's own locking keeps the two apart.
    pub fn open_beside_server(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        Self::open_with(path.as_ref(), false)
    }

    fn open_with(path: &Path, release_claims: bool) -> anyhow::Result<Self> {
        let path = path.to_path_buf();
        if let Some(dir) = path.parent() {
            crate::private::create_dir(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        // SQLite gives its log and shared-memory files the database file's
        // mode: made private here, they are private too.
        crate::private::file_options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    &file,
                    std::fs::Permissions::from_mode(crate::private::FILE_MODE),
                )
                .with_context(|| format!("making {} private", file.display()))?;
            }
        }
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        schema::prepare(&conn, &path).with_context(|| format!("preparing {}", path.display()))?;
        schema::add_functions(&conn)?;
        if release_claims {
            queue::release_claimed(&conn)?;
            outbox::release_claimed(&conn)?;
        }
        // Checkpoints run on their own thread, not inside a commit: a
        // write never waits for the log to be copied into the database.
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_LIMIT};"
        ))?;
        let bound = Arc::new(LogBound {
            wal: PathBuf::from(format!("{}-wal", path.display())),
            limit: WAL_LIMIT,
            empty_wanted: AtomicBool::new(false),
            checkpointing: std::sync::Mutex::new(()),
            reading: std::sync::RwLock::new(()),
        });
        let checkpoints = start_checkpoints(&path, bound.clone())?;

        let manager = SqliteConnectionManager::file(&path).with_init(|c| {
            c.execute_batch("PRAGMA query_only = 1; PRAGMA busy_timeout = 5000;")?;
            schema::add_functions(c)
        });
        let readers = r2d2::Pool::builder().max_size(8).build(manager)?;

        let desks = desk_cache::DeskCache::beside(&path);
        if !desks.marked() {
            // A database from before the marker: start one.
            desks.changed();
        }

        let (writer, jobs) = mpsc::sync_channel::<WriteJob>(4 * MAX_GROUP);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn({
                let bound = bound.clone();
                move || run_writer(conn, jobs, &bound)
            })?;
        Ok(SqliteStore {
            writer,
            readers,
            path,
            desks: Arc::new(desks),
            checkpoints,
            log_bound: bound,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Asks for the log to be emptied soon: a row was erased, and its old
    /// versions must not stay in the log until the server stops.
    fn empty_log_soon(&self) {
        self.log_bound.empty_wanted.store(true, Ordering::Release);
        let _ = self.checkpoints.send(());
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let pool = self.readers.clone();
        let bound = self.log_bound.clone();
        lanyard_domain::blocking::spawn_blocking(move || {
            let conn = pool.get().map_err(unavailable)?;
            let _reading = bound.reading.read().unwrap_or_else(|e| e.into_inner());
            f(&conn)
        })
        .await
        .map_err(unavailable)?
    }
}
