//! The badge job queue: a row per pending badge, written in the same
//! transaction as its registration (an outbox), claimed by the workers.

use lanyard_domain::{RegistrationKey, StoreError};
use rusqlite::{params, Connection};

use super::rows::{key_strings, stored_key};
use super::{now_ms, unavailable, SqliteStore};

/// A badge job claimed by a worker.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub key: RegistrationKey,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How long a claim holds a job. A claimed job's `run_after` is when its
/// claim lapses: a job whose outcome could not be recorded (a full disk, say)
/// is taken again by the running server then, not only after a restart. A
/// render takes milliseconds, so a lapse never catches a job in progress;
/// if one did, rendering twice writes the same file.
const CLAIM_LEASE_MS: i64 = 10 * 60 * 1000;

impl SqliteStore {
    /// Takes up to `limit` due badge jobs, oldest first, so no other worker
    /// takes them; a claim that lapsed is taken again. One transaction for
    /// several jobs keeps the queue's own commits from costing more than the
    /// badges.
    pub async fn claim_jobs(&self, limit: usize) -> Result<Vec<ClaimedJob>, StoreError> {
        self.write(move |conn| {
            let rows = {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT user_id, type, attempts FROM badge_jobs
                         WHERE claimed IN (0, 1) AND run_after <= ?1 ORDER BY run_after LIMIT ?2",
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
            let lapses = now_ms() + CLAIM_LEASE_MS;
            for (user_id, conference, attempts) in rows {
                conn.execute(
                    "UPDATE badge_jobs SET claimed = 1, run_after = ?3 WHERE user_id = ?1 AND type = ?2",
                    params![user_id, conference, lapses],
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

    /// Milliseconds until the next job is due, or a claim lapses (0 if now).
    pub async fn next_job_due_in(&self) -> Result<Option<u64>, StoreError> {
        self.read(|conn| {
            let due: Option<i64> = conn
                .query_row("SELECT MIN(run_after) FROM badge_jobs", [], |r| r.get(0))
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

/// Frees the jobs claimed by a process that stopped, due at once.
pub(super) fn release_claimed(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE badge_jobs SET claimed = 0, run_after = 0 WHERE claimed = 1",
        [],
    )
}

/// Queues (or queues again, from the start) the badge job of a registration.
pub(super) fn upsert_job(
    conn: &Connection,
    user_id: &str,
    conference: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO badge_jobs (user_id, type) VALUES (?1, ?2)
         ON CONFLICT (user_id, type) DO UPDATE SET attempts = 0, run_after = 0, claimed = 0, last_error = NULL",
        params![user_id, conference],
    )
}
