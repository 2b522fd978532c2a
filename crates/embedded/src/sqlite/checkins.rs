//! Check-ins, their nonces and desks in SQLite (SPEC §10). The
//! `RegistrationStore` impl in `registrations` hands these methods on.

use lanyard_domain::{
    CheckinCode, CheckinResult, ConferenceId, Desk, DeskName, FirstCheckin, Nonce, NonceRecord,
    Registration, RegistrationKey, StoreError, Tally,
};
use rusqlite::{params, OptionalExtension};

use super::rows::{collect, key_strings, row_to_registration, COLUMNS};
use super::{unavailable, SqliteStore};

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

    pub(super) async fn record_checkin(
        &self,
        key: &RegistrationKey,
        first: &FirstCheckin,
        code: &CheckinCode,
    ) -> Result<Option<Registration>, StoreError> {
        let (user_id, conference) = key_strings(key);
        let (first, code) = (first.clone(), code.as_str().to_owned());
        // One writer thread runs these statements back to back: the
        // condition and the write cannot interleave with another check-in.
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE registrations
                 SET checked_in_at = ?3, checked_in_desk = ?4, checked_in_nonce = ?5,
                     ticket_code = coalesce(ticket_code, ?6)
                 WHERE user_id = ?1 AND type = ?2 AND checked_in_at IS NULL",
            )
            .and_then(|mut s| {
                s.execute(params![
                    user_id,
                    conference,
                    first.at,
                    first.desk,
                    first.nonce,
                    code
                ])
            })
            .map_err(unavailable)?;
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

    pub(super) async fn nonce(
        &self,
        desk: &DeskName,
        nonce: &Nonce,
    ) -> Result<Option<NonceRecord>, StoreError> {
        let (desk, nonce) = (desk.as_str().to_owned(), nonce.as_str().to_owned());
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT result, code, expires_at FROM checkin_nonces
                 WHERE desk = ?1 AND nonce = ?2 AND expires_at >= unixepoch()",
            )
            .and_then(|mut s| {
                s.query_row(params![desk, nonce], |r| {
                    Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(unavailable)?
            .map(|(result, code, expires_at)| {
                Ok(NonceRecord {
                    result: CheckinResult::parse(&result)
                        .ok_or_else(|| unavailable(format!("stored result {result:?}")))?,
                    code,
                    expires_at,
                })
            })
            .transpose()
        })
        .await
    }

    pub(super) async fn put_nonce(
        &self,
        desk: &DeskName,
        nonce: &Nonce,
        record: &NonceRecord,
    ) -> Result<(), StoreError> {
        let (desk, nonce, record) = (
            desk.as_str().to_owned(),
            nonce.as_str().to_owned(),
            record.clone(),
        );
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO checkin_nonces (desk, nonce, result, code, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    desk,
                    nonce,
                    record.result.as_str(),
                    record.code,
                    record.expires_at
                ])
            })
            .map_err(unavailable)?;
            Ok(())
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
                     GROUP BY 1, 2, 3",
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
        self.write(move |conn| {
            conn.execute("DELETE FROM desks WHERE name = ?1", [name])
                .map(|n| n == 1)
                .map_err(unavailable)
        })
        .await
    }

    pub(super) async fn desk_by_hash(&self, hash: &str) -> Result<Option<Desk>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT name, created_at FROM desks WHERE token_hash = ?1")
                .and_then(|mut s| {
                    s.query_row([hash], |r| {
                        Ok(Desk {
                            name: DeskName::from_stored(r.get(0)?),
                            created_at: r.get(1)?,
                        })
                    })
                    .optional()
                })
                .map_err(unavailable)
        })
        .await
    }
}
