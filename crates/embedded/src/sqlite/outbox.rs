//! The outbox of notices (e-mails, webhooks): a row per notice, the
//! confirmation written in its registration's transaction, claimed by the
//! notice worker for a lease, and once delivered kept a day by id alone.

use std::time::Duration;

use lanyard_domain::{Notice, QueuedNotice, StoreError};
use rusqlite::{params, Connection};

use super::{now_ms, unavailable, SqliteStore};

/// How long a delivered notice's id is remembered, so the same notice
/// enqueued again (a repeated request, a replayed scan) is not sent again.
const REMEMBERED_MS: i64 = 24 * 3600 * 1000;

impl SqliteStore {
    pub(super) async fn enqueue(&self, notices: &[Notice]) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        let notices = notices.to_vec();
        self.write(move |conn| insert_notices(conn, &notices).map_err(unavailable))
            .await
    }

    pub(super) async fn claim(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<QueuedNotice>, StoreError> {
        self.write(move |conn| {
            let now = now_ms();
            let rows = {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, body, attempts FROM outbox WHERE done = 0 AND run_after <= ?1
                         ORDER BY run_after, created_at LIMIT ?2",
                    )
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![now, limit as i64], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, u32>(2)?,
                        ))
                    })
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?
            };
            // Delivered notices are remembered a day, then forgotten.
            conn.prepare_cached("DELETE FROM outbox WHERE done = 1 AND run_after < ?1")
                .and_then(|mut stmt| stmt.execute([now - REMEMBERED_MS]))
                .map_err(unavailable)?;
            let lapses = now + lease.as_millis() as i64;
            let mut claimed = Vec::with_capacity(rows.len());
            for (id, body, attempts) in rows {
                conn.prepare_cached("UPDATE outbox SET run_after = ?2, claimed = 1 WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute(params![id, lapses]))
                    .map_err(unavailable)?;
                match Notice::from_json(&id, &body) {
                    Some(notice) => claimed.push(QueuedNotice { notice, attempts }),
                    // Written by a newer build: left for it.
                    None => {
                        tracing::warn!(%id, "a notice this build cannot read is left in the outbox")
                    }
                }
            }
            Ok(claimed)
        })
        .await
    }

    pub(super) async fn finish(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "UPDATE outbox SET done = 1, claimed = 0, body = '', last_error = NULL, run_after = ?2
                     WHERE id = ?1",
                )
                .map_err(unavailable)?;
            let now = now_ms();
            for id in &ids {
                stmt.execute(params![id, now]).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn retry(
        &self,
        id: &str,
        attempts: u32,
        delay: Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(move |conn| {
            conn.execute(
                "UPDATE outbox SET attempts = ?2, run_after = ?3, last_error = ?4, claimed = 0
                 WHERE id = ?1",
                params![id, attempts, now_ms() + delay.as_millis() as i64, error],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    pub(super) async fn waiting(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM outbox WHERE done = 0", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(unavailable)
        })
        .await
    }

    /// Milliseconds until the next notice is due (0 if now), or `None`
    /// when the outbox is empty.
    pub async fn next_notice_due_in(&self) -> Result<Option<u64>, StoreError> {
        self.read(|conn| {
            let due: Option<i64> = conn
                .query_row(
                    "SELECT MIN(run_after) FROM outbox WHERE done = 0",
                    [],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            Ok(due.map(|t| (t - now_ms()).max(0) as u64))
        })
        .await
    }
}

/// Adds notices in the caller's transaction; an id already there is kept.
pub(super) fn insert_notices(conn: &Connection, notices: &[Notice]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO outbox (id, body, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
    )?;
    let now = now_ms();
    for notice in notices {
        stmt.execute(params![notice.id, notice.to_json(), now])?;
    }
    Ok(())
}

/// Makes the notices a stopped process had claimed due at once: one
/// process holds the database, so nobody is delivering them. Those it had
/// sent but not recorded go out again, with the same Message-ID.
pub(super) fn release_claimed(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE outbox SET claimed = 0, run_after = 0 WHERE claimed = 1 AND done = 0",
        [],
    )
}
