//! Check-ins, their nonces and desks in SQLite (SPEC §10). The
//! `RegistrationStore` impl in `registrations` hands these methods on.

use lanyard_domain::{
    CheckinResult, ConferenceId, Desk, DeskName, Registration, RegistrationKey, Scan, ScanOutcome,
    ScanTarget, StoreError, Tally,
};
use rusqlite::{params, OptionalExtension};

use super::rows::{collect, key_strings, row_to_registration, COLUMNS};
use super::{unavailable, SqliteStore};

/// The one registration `condition` selects, read inside the writer's transaction.
fn row_where(
    conn: &rusqlite::Connection,
    condition: &str,
    values: impl rusqlite::Params,
) -> Result<Option<Registration>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM registrations WHERE {condition}"
        ))
        .map_err(unavailable)?;
    let rows = stmt
        .query_map(values, row_to_registration)
        .map_err(unavailable)?;
    Ok(collect(rows)?.into_iter().next().map(|(_, r)| r))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

impl SqliteStore {
    pub(super) async fn by_checkin_code(
        &self,
        code: &str,
    ) -> Result<Option<Registration>, StoreError> {
        let code = code.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations WHERE ticket_code = ?1"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([code], row_to_registration)
                .map_err(unavailable)?;
            Ok(collect(rows)?.into_iter().next().map(|(_, r)| r))
        })
        .await
    }

    /// The whole scan in one write transaction: one commit per scan, and no
    /// other write between reading the nonce and recording the answer.
    pub(super) async fn scan(&self, scan: &Scan) -> Result<Option<ScanOutcome>, StoreError> {
        let scan = scan.clone();
        self.write(move |conn| {
            let first = &scan.first;
            let remembered: Option<(String, String)> = conn
                .prepare_cached(
                    "SELECT result, code FROM checkin_nonces
                     WHERE desk = ?1 AND nonce = ?2 AND expires_at >= unixepoch()",
                )
                .and_then(|mut s| {
                    s.query_row(params![first.desk, first.nonce], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            if let Some((result, code)) = remembered {
                let result = CheckinResult::parse(&result)
                    .ok_or_else(|| unavailable(format!("stored result {result:?}")))?;
                return Ok(row_where(conn, "ticket_code = ?1", params![code])?.map(
                    |registration| ScanOutcome {
                        result,
                        registration,
                    },
                ));
            }
            let key = match &scan.target {
                ScanTarget::Key(key) => Some(key_strings(key)),
                ScanTarget::Code(code) => conn
                    .prepare_cached(
                        "SELECT user_id, type FROM registrations WHERE ticket_code = ?1",
                    )
                    .and_then(|mut s| {
                        s.query_row([code], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(unavailable)?,
            };
            let Some((user_id, conference)) = key else {
                return Ok(None);
            };
            conn.prepare_cached(
                "UPDATE registrations
                 SET checked_in_at = ?3, checked_in_desk = ?4, checked_in_nonce = ?5
                 WHERE user_id = ?1 AND type = ?2 AND checked_in_at IS NULL",
            )
            .and_then(|mut s| {
                s.execute(params![
                    user_id,
                    conference,
                    first.at,
                    first.desk,
                    first.nonce
                ])
            })
            .map_err(unavailable)?;
            conn.prepare_cached(
                "UPDATE registrations SET ticket_code = ?3
                 WHERE user_id = ?1 AND type = ?2 AND ticket_code IS NULL",
            )
            .and_then(|mut s| s.execute(params![user_id, conference, scan.fresh_code.as_str()]))
            .map_err(unavailable)?;
            let Some(registration) = row_where(
                conn,
                "user_id = ?1 AND type = ?2",
                params![user_id, conference],
            )?
            else {
                return Ok(None);
            };
            let result = CheckinResult::of(registration.checked_in.as_ref(), first);
            let code = registration
                .checkin_code
                .as_ref()
                .map_or(scan.fresh_code.as_str(), |c| c.as_str());
            conn.prepare_cached(
                "INSERT INTO checkin_nonces (desk, nonce, result, code, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    first.desk,
                    first.nonce,
                    result.as_str(),
                    code,
                    scan.expires_at
                ])
            })
            .map_err(unavailable)?;
            Ok(Some(ScanOutcome {
                result,
                registration,
            }))
        })
        .await
    }

    pub(super) async fn remove_checkin(&self, key: &RegistrationKey) -> Result<bool, StoreError> {
        let (user_id, conference) = key_strings(key);
        self.write(move |conn| {
            let updated = conn
                .execute(
                    "UPDATE registrations
                     SET checked_in_at = NULL, checked_in_desk = NULL, checked_in_nonce = NULL
                     WHERE user_id = ?1 AND type = ?2",
                    params![user_id, conference],
                )
                .map_err(unavailable)?;
            Ok(updated == 1)
        })
        .await
    }

    pub(super) async fn tallies(
        &self,
        conference: Option<&ConferenceId>,
    ) -> Result<Vec<Tally>, StoreError> {
        let conference = conference.map(|c| c.as_str().to_owned());
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT type, substr(checked_in_at, 1, 16), checked_in_desk, count(*)
                     FROM registrations WHERE (?1 IS NULL OR type = ?1)
                     GROUP BY 1, 2, 3
                     UNION ALL
                     SELECT type, NULLIF(minute, ''), desk, count
                     FROM erased_tallies WHERE (?1 IS NULL OR type = ?1)",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([conference], |r| {
                    let at: Option<String> = r.get(1)?;
                    let desk: Option<String> = r.get(2)?;
                    Ok(Tally {
                        conference: ConferenceId::from_stored(r.get(0)?),
                        checked_in: at.map(|at| (at, desk.unwrap_or_default())),
                        count: r.get::<_, i64>(3)? as u64,
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)
        })
        .await
    }

    pub(super) async fn insert_desk(&self, desk: &Desk, hash: &str) -> Result<(), StoreError> {
        let (desk, hash) = (desk.clone(), hash.to_owned());
        self.write(move |conn| {
            match conn.execute(
                "INSERT INTO desks (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
                params![desk.name.as_str(), hash, desk.created_at],
            ) {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    pub(super) async fn all_desks(&self) -> Result<Vec<Desk>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT name, created_at FROM desks ORDER BY name")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Desk {
                        name: DeskName::from_stored(r.get(0)?),
                        created_at: r.get(1)?,
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)
        })
        .await
    }

    pub(super) async fn remove_desk(&self, name: &DeskName) -> Result<bool, StoreError> {
        let name = name.as_str().to_owned();
        let removed = self
            .write(move |conn| {
                conn.execute("DELETE FROM desks WHERE name = ?1", [name])
                    .map(|n| n == 1)
                    .map_err(unavailable)
            })
            .await;
        // Committed or not, no process may go on trusting what it kept.
        self.desks.changed();
        removed
    }

    pub(super) async fn rekey_desk(
        &self,
        name: &DeskName,
        expected: Option<&str>,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let (name, expected, new_hash) = (
            name.as_str().to_owned(),
            expected.map(str::to_owned),
            new_hash.to_owned(),
        );
        let replaced = self
            .write(move |conn| {
                conn.execute(
                    "UPDATE desks SET token_hash = ?2 \
                     WHERE name = ?1 AND (?3 IS NULL OR token_hash = ?3)",
                    params![name, new_hash, expected],
                )
                .map(|n| n == 1)
                .map_err(unavailable)
            })
            .await;
        // Committed or not, no process may go on trusting what it kept.
        self.desks.changed();
        replaced
    }

    /// The desk a token hash opens: from the cache when nothing changed the
    /// desks since it was read (see `desk_cache`), else from the database.
    pub(super) async fn desk_by_hash(&self, hash: &str) -> Result<Option<Desk>, StoreError> {
        let marker = match self.desks.get(hash) {
            Ok(desk) => return Ok(Some(desk)),
            Err(marker) => marker,
        };
        let owned = hash.to_owned();
        let desk = self
            .read(move |conn| {
                conn.prepare_cached("SELECT name, created_at FROM desks WHERE token_hash = ?1")
                    .and_then(|mut s| {
                        s.query_row([owned], |r| {
                            Ok(Desk {
                                name: DeskName::from_stored(r.get(0)?),
                                created_at: r.get(1)?,
                            })
                        })
                        .optional()
                    })
                    .map_err(unavailable)
            })
            .await?;
        if let Some(desk) = &desk {
            self.desks.put(hash, desk.clone(), marker);
        }
        Ok(desk)
    }
}
