//! Registrations and badge jobs in SQLite.
//!
//! Durability: WAL with `synchronous=FULL`, so a committed transaction is on
//! disk. Throughput: one writer thread takes every write that is waiting and
//! commits them in one transaction (group commit), so many concurrent
//! sign-ups share one fsync; each write runs in its own savepoint so one
//! failing write never undoes another. Reads go to a pool of read-only
//! connections and never wait for the writer.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use lanyard_domain::{
    BadgeInfo, BadgeStatus, BadgeToken, CompanyName, ConferenceId, ListQuery, Page, PhoneNumber,
    Registration, RegistrationKey, RegistrationStore, StoreError, UserId, UserName,
};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, Row};
use tokio::sync::oneshot;

/// Most writes committed together in one transaction.
const MAX_GROUP: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS registrations (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    phone_number  TEXT NOT NULL,
    company_name  TEXT,
    created_at    TEXT NOT NULL,
    badge_status  TEXT,
    badge_token   TEXT UNIQUE,
    badge_error   TEXT,
    ticket_code   TEXT,
    UNIQUE (user_id, type)
);
CREATE TABLE IF NOT EXISTS badge_jobs (
    user_id     TEXT NOT NULL,
    type        TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL DEFAULT 0,
    claimed     INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    PRIMARY KEY (user_id, type)
);
CREATE INDEX IF NOT EXISTS badge_jobs_due ON badge_jobs (claimed, run_after);
";

/// The schema version this build writes; a database from a newer build is refused.
const SCHEMA_VERSION: i64 = 1;

const COLUMNS: &str =
    "seq, user_id, type, user_name, phone_number, company_name, created_at, badge_status, badge_token, badge_error, ticket_code";

/// A write: runs inside the group transaction and returns how to answer its
/// caller once the commit's outcome is known.
type WriteJob = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A badge job claimed by a worker.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub key: RegistrationKey,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// Holds the data directory for one process: a second `lanyard serve` on the
/// same directory is refused instead of corrupting the job queue.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("lanyard.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "{} is in use by another lanyard process",
                data_dir.display()
            )
        })?;
        Ok(DataDirLock { _file: file })
    }
}

#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::SyncSender<WriteJob>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    path: PathBuf,
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

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts its writer thread.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(&path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "{} was written by a newer lanyard (schema {version}, this one knows {SCHEMA_VERSION})",
                path.display()
            );
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        // Jobs claimed by a process that stopped are free again.
        conn.execute("UPDATE badge_jobs SET claimed = 0 WHERE claimed = 1", [])?;

        let manager = SqliteConnectionManager::file(&path)
            .with_init(|c| c.execute_batch("PRAGMA query_only = 1; PRAGMA busy_timeout = 5000;"));
        let readers = r2d2::Pool::builder().max_size(8).build(manager)?;

        let (writer, jobs) = mpsc::sync_channel::<WriteJob>(4 * MAX_GROUP);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(conn, jobs))?;
        Ok(SqliteStore {
            writer,
            readers,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the next group transaction; answers after the commit.
    async fn write<R: Send + 'static>(
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
        // The channel is bounded: a full queue makes callers wait here, off the runtime.
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || writer.send(job))
            .await
            .map_err(unavailable)?
            .map_err(|_| unavailable("the database writer has stopped"))?;
        rx.await
            .map_err(|_| unavailable("the database writer has stopped"))?
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(unavailable)?;
            f(&conn)
        })
        .await
        .map_err(unavailable)?
    }

    /// Takes up to `limit` due badge jobs, oldest first, so no other worker
    /// takes them. One transaction for several jobs keeps the queue's own
    /// commits from costing more than the badges.
    pub async fn claim_jobs(&self, limit: usize) -> Result<Vec<ClaimedJob>, StoreError> {
        self.write(move |conn| {
            let rows = {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT user_id, type, attempts FROM badge_jobs
                         WHERE claimed = 0 AND run_after <= ?1 ORDER BY run_after LIMIT ?2",
                    )
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![now_ms(), limit as i64], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, u32>(2)?,
                        ))
                    })
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?
            };
            let mut jobs = Vec::with_capacity(rows.len());
            for (user_id, conference, attempts) in rows {
                conn.execute(
                    "UPDATE badge_jobs SET claimed = 1 WHERE user_id = ?1 AND type = ?2",
                    params![user_id, conference],
                )
                .map_err(unavailable)?;
                jobs.push(ClaimedJob {
                    key: stored_key(user_id, conference)?,
                    attempts,
                });
            }
            Ok(jobs)
        })
        .await
    }

    /// Milliseconds until the next unclaimed job is due (0 if one is due now).
    pub async fn next_job_due_in(&self) -> Result<Option<u64>, StoreError> {
        self.read(|conn| {
            let due: Option<i64> = conn
                .query_row(
                    "SELECT MIN(run_after) FROM badge_jobs WHERE claimed = 0",
                    [],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            Ok(due.map(|t| (t - now_ms()).max(0) as u64))
        })
        .await
    }

    /// Removes a finished job.
    pub async fn complete_job(&self, key: &RegistrationKey) -> Result<(), StoreError> {
        let (user_id, conference) = key_strings(key);
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM badge_jobs WHERE user_id = ?1 AND type = ?2 AND claimed = 1",
                params![user_id, conference],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    /// Puts a job back to be tried again after `delay_ms`.
    pub async fn retry_job(
        &self,
        key: &RegistrationKey,
        attempts: u32,
        delay_ms: u64,
        error: &str,
    ) -> Result<(), StoreError> {
        let (user_id, conference) = key_strings(key);
        let error = error.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE badge_jobs SET claimed = 0, attempts = ?3, run_after = ?4, last_error = ?5
                 WHERE user_id = ?1 AND type = ?2",
                params![
                    user_id,
                    conference,
                    attempts,
                    now_ms() + delay_ms as i64,
                    error
                ],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    /// Counts of jobs waiting, for health and tests.
    pub async fn pending_jobs(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT COUNT(*) FROM badge_jobs", [], |r| r.get(0))
                .map_err(unavailable)
        })
        .await
    }
}

/// Copies a live database (one a running server is writing to) into `dest`
/// with SQLite's online backup: the copy is one consistent snapshot, taken
/// through a read-only connection, so the server is never blocked or changed.
pub fn backup_database(source: &Path, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        anyhow::bail!("{} already exists; choose a new file", dest.display());
    }
    let src = Connection::open_with_flags(
        source,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(std::time::Duration::from_secs(5))?;
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    {
        let mut target = Connection::open(&tmp)?;
        let backup = rusqlite::backup::Backup::new(&src, &mut target)?;
        // All pages in one step: the copy is of a single moment, however busy the server is.
        backup.run_to_completion(i32::MAX, std::time::Duration::from_millis(10), None)?;
    }
    // The copy is a plain database file (no WAL), ready to be opened as is.
    let copy = Connection::open(&tmp)?;
    copy.execute_batch("PRAGMA journal_mode = DELETE;")?;
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    drop(copy);
    if check != "ok" {
        anyhow::bail!("the copy failed its integrity check: {check}");
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dest)?;
    Ok(())
}

fn run_writer(conn: Connection, jobs: mpsc::Receiver<WriteJob>) {
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
    }
}

fn key_strings(key: &RegistrationKey) -> (String, String) {
    (
        key.user_id.as_str().to_owned(),
        key.conference.as_str().to_owned(),
    )
}

fn stored_key(user_id: String, conference: String) -> Result<RegistrationKey, StoreError> {
    Ok(RegistrationKey {
        user_id: UserId::parse(&user_id).map_err(unavailable)?,
        conference: ConferenceId::from_stored(conference),
    })
}

fn row_to_registration(row: &Row<'_>) -> rusqlite::Result<(i64, Result<Registration, String>)> {
    let seq: i64 = row.get(0)?;
    let user_id: String = row.get(1)?;
    let conference: String = row.get(2)?;
    let user_name: String = row.get(3)?;
    let phone: String = row.get(4)?;
    let company: Option<String> = row.get(5)?;
    let created_at: String = row.get(6)?;
    let status: Option<String> = row.get(7)?;
    let token: Option<String> = row.get(8)?;
    let error: Option<String> = row.get(9)?;
    let ticket_code: Option<String> = row.get(10)?;
    let parsed = (|| {
        let badge = match (
            status.as_deref().and_then(BadgeStatus::parse),
            token.as_deref().and_then(BadgeToken::parse),
        ) {
            (Some(status), Some(token)) => Some(BadgeInfo {
                status,
                token,
                error,
            }),
            _ => None,
        };
        Ok(Registration {
            user_id: UserId::parse(&user_id).map_err(|e| e.to_string())?,
            conference: ConferenceId::from_stored(conference),
            user_name: UserName::parse(&user_name).map_err(|e| e.to_string())?,
            phone_number: PhoneNumber::parse(&phone).map_err(|e| e.to_string())?,
            company_name: CompanyName::parse(company.as_deref().unwrap_or(""))
                .map_err(|e| e.to_string())?,
            created_at,
            badge,
            ticket_code,
        })
    })();
    Ok((seq, parsed))
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<(i64, Result<Registration, String>)>>,
) -> Result<Vec<(i64, Registration)>, StoreError> {
    rows.map(|r| {
        let (seq, reg) = r.map_err(unavailable)?;
        Ok((
            seq,
            reg.map_err(|e| unavailable(format!("stored registration is invalid: {e}")))?,
        ))
    })
    .collect()
}

fn encode_cursor(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, StoreError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.strip_prefix("seq:"))
        .and_then(|n| n.parse().ok())
        .ok_or(StoreError::InvalidCursor)
}

fn upsert_job(conn: &Connection, user_id: &str, conference: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO badge_jobs (user_id, type) VALUES (?1, ?2)
         ON CONFLICT (user_id, type) DO UPDATE SET attempts = 0, run_after = 0, claimed = 0, last_error = NULL",
        params![user_id, conference],
    )
}

#[async_trait]
impl RegistrationStore for SqliteStore {
    async fn insert(&self, r: &Registration) -> Result<(), StoreError> {
        let r = r.clone();
        self.write(move |conn| {
            let badge = r.badge.as_ref();
            let inserted = conn
                .execute(
                    "INSERT INTO registrations
                       (user_id, type, user_name, phone_number, company_name, created_at, badge_status, badge_token, badge_error, ticket_code)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (user_id, type) DO NOTHING",
                    params![
                        r.user_id.as_str(),
                        r.conference.as_str(),
                        r.user_name.as_str(),
                        r.phone_number.as_str(),
                        r.company_name.as_ref().map(|c| c.as_str()),
                        r.created_at,
                        badge.map(|b| b.status.as_str()),
                        badge.map(|b| b.token.as_str()),
                        badge.and_then(|b| b.error.as_deref()),
                        r.ticket_code,
                    ],
                )
                .map_err(unavailable)?;
            if inserted == 0 {
                return Err(StoreError::Duplicate);
            }
            // The outbox: the badge job commits with the registration or not at all.
            if badge.is_some_and(|b| b.status == BadgeStatus::Pending) {
                upsert_job(conn, r.user_id.as_str(), r.conference.as_str()).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn get(&self, key: &RegistrationKey) -> Result<Option<Registration>, StoreError> {
        let (user_id, conference) = key_strings(key);
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations WHERE user_id = ?1 AND type = ?2"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![user_id, conference], row_to_registration)
                .map_err(unavailable)?;
            Ok(collect(rows)?.into_iter().next().map(|(_, r)| r))
        })
        .await
    }

    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Registration>, StoreError> {
        let user_id = user_id.as_str().to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations WHERE user_id = ?1 ORDER BY type"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([user_id], row_to_registration)
                .map_err(unavailable)?;
            Ok(collect(rows)?.into_iter().map(|(_, r)| r).collect())
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let before = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let conference = query.conference.as_ref().map(|c| c.as_str().to_owned());
        let search = query.search.clone();
        let limit = query.limit.max(1);
        self.read(move |conn| {
            // Newest first, keyed on the insertion sequence: stable under
            // concurrent inserts and deletes, so no item is skipped or repeated.
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations
                     WHERE (?1 IS NULL OR type = ?1)
                       AND (?2 IS NULL OR instr(lower(user_name), lower(?2)) > 0
                                       OR instr(lower(coalesce(company_name, '')), lower(?2)) > 0)
                       AND (?3 IS NULL OR seq < ?3)
                     ORDER BY seq DESC LIMIT ?4"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(
                    params![conference, search, before, limit as i64 + 1],
                    row_to_registration,
                )
                .map_err(unavailable)?;
            let mut items = collect(rows)?;
            let next_cursor = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|(seq, _)| encode_cursor(*seq))
            } else {
                None
            };
            Ok(Page {
                items: items.into_iter().map(|(_, r)| r).collect(),
                next_cursor,
            })
        })
        .await
    }

    async fn find_by_badge_token(
        &self,
        token: &BadgeToken,
    ) -> Result<Option<Registration>, StoreError> {
        let token = token.as_str().to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations WHERE badge_token = ?1"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([token], row_to_registration)
                .map_err(unavailable)?;
            Ok(collect(rows)?.into_iter().next().map(|(_, r)| r))
        })
        .await
    }

    async fn delete(&self, key: &RegistrationKey) -> Result<Option<Registration>, StoreError> {
        let (user_id, conference) = key_strings(key);
        self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!("DELETE FROM registrations WHERE user_id = ?1 AND type = ?2 RETURNING {COLUMNS}"))
                .map_err(unavailable)?;
            let rows = stmt.query_map(params![user_id, conference], row_to_registration).map_err(unavailable)?;
            let removed = collect(rows)?.into_iter().next().map(|(_, r)| r);
            conn.execute("DELETE FROM badge_jobs WHERE user_id = ?1 AND type = ?2", params![user_id, conference])
                .map_err(unavailable)?;
            Ok(removed)
        })
        .await
    }

    async fn reset_badge(&self, r: &Registration) -> Result<bool, StoreError> {
        let r = r.clone();
        self.write(move |conn| {
            let badge = r.badge.as_ref().ok_or_else(|| unavailable("reset_badge needs a badge"))?;
            let updated = conn
                .execute(
                    "UPDATE registrations SET badge_status = ?3, badge_token = ?4, badge_error = ?5, ticket_code = ?6
                     WHERE user_id = ?1 AND type = ?2",
                    params![
                        r.user_id.as_str(),
                        r.conference.as_str(),
                        badge.status.as_str(),
                        badge.token.as_str(),
                        badge.error,
                        r.ticket_code
                    ],
                )
                .map_err(unavailable)?;
            if updated == 0 {
                return Ok(false);
            }
            upsert_job(conn, r.user_id.as_str(), r.conference.as_str()).map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn finish_badge(
        &self,
        key: &RegistrationKey,
        badge: &BadgeInfo,
    ) -> Result<bool, StoreError> {
        let (user_id, conference) = key_strings(key);
        let badge = badge.clone();
        self.write(move |conn| {
            let updated = conn
                .execute(
                    "UPDATE registrations SET badge_status = ?3, badge_error = ?4
                     WHERE user_id = ?1 AND type = ?2 AND badge_token = ?5",
                    params![
                        user_id,
                        conference,
                        badge.status.as_str(),
                        badge.error,
                        badge.token.as_str()
                    ],
                )
                .map_err(unavailable)?;
            // The outcome and the end of the claimed job commit together. A job
            // queued again meanwhile (a re-render) is unclaimed and stays.
            if updated == 1 && badge.status != BadgeStatus::Pending {
                conn.execute(
                    "DELETE FROM badge_jobs WHERE user_id = ?1 AND type = ?2 AND claimed = 1",
                    params![user_id, conference],
                )
                .map_err(unavailable)?;
            }
            Ok(updated == 1)
        })
        .await
    }
}
