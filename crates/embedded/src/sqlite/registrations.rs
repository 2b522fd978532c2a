//! The registration store port on SQLite.

use async_trait::async_trait;
use lanyard_domain::fields::search_fold;
use lanyard_domain::{
    BadgeInfo, BadgeStatus, BadgeToken, Capacity, ConferenceId, Desk, DeskName, Email, ListQuery,
    Notice, Page, QueuedNotice, Registration, RegistrationKey, RegistrationStore, Scan,
    ScanOutcome, Seat, SeatChange, SeatQueue, SeatStatus, Seating, StoreError, Tally, UserId,
};
use rusqlite::{params, OptionalExtension};

use super::outbox::insert_notices;
use super::queue::upsert_job;
use super::rows::{
    answers_json, collect, decode_cursor, encode_cursor, key_strings, row_to_registration,
    stored_key, COLUMNS,
};
use super::{unavailable, SqliteStore};

#[async_trait]
impl RegistrationStore for SqliteStore {
    async fn insert_noting(&self, r: &Registration, notices: &[Notice]) -> Result<(), StoreError> {
        let (r, notices) = (r.clone(), notices.to_vec());
        self.write(move |conn| {
            insert_row(conn, &r, r.seat.status)?;
            insert_notices(conn, &notices).map_err(unavailable)
        })
        .await
    }

    async fn insert_seated_noting(
        &self,
        r: &Registration,
        capacity: Capacity,
        notices: &[Notice],
    ) -> Result<Seating, StoreError> {
        let (r, notices) = (r.clone(), notices.to_vec());
        self.write(move |conn| {
            // The writer runs one write at a time: the count and the
            // insert are one step.
            let held = held_seats(conn, r.conference.as_str())?;
            let (status, seating) = if held < u64::from(capacity.seats) {
                (SeatStatus::Confirmed, Seating::Confirmed)
            } else if capacity.waitlist {
                (SeatStatus::Waitlisted, Seating::Waitlisted)
            } else {
                return Ok(Seating::Full);
            };
            insert_row(conn, &r, status)?;
            insert_notices(conn, &notices).map_err(unavailable)?;
            Ok(seating)
        })
        .await
    }

    async fn change_seat(
        &self,
        key: &RegistrationKey,
        from: &[SeatStatus],
        to: &Seat,
        capacity: Option<u32>,
    ) -> Result<SeatChange, StoreError> {
        let (user_id, conference) = key_strings(key);
        let from = from.to_vec();
        let to = to.clone();
        self.write(move |conn| {
            let current: Option<String> = conn
                .query_row(
                    "SELECT seat_status FROM registrations WHERE user_id = ?1 AND type = ?2",
                    params![user_id, conference],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let Some(current) = current
                .as_deref()
                .map(|c| SeatStatus::parse(c).unwrap_or_default())
            else {
                return Ok(SeatChange::Moved);
            };
            if !from.contains(&current) {
                return Ok(SeatChange::Moved);
            }
            if to.status.holds_seat() && !current.holds_seat() {
                if let Some(seats) = capacity {
                    if held_seats(conn, &conference)? >= u64::from(seats) {
                        return Ok(SeatChange::Full);
                    }
                }
            }
            conn.execute(
                "UPDATE registrations SET seat_status = ?3, offer_expires_at = ?4
                 WHERE user_id = ?1 AND type = ?2",
                params![user_id, conference, to.status.as_str(), to.offer_expires_at],
            )
            .map_err(unavailable)?;
            Ok(SeatChange::Done)
        })
        .await
    }

    async fn seat_queue(
        &self,
        conference: &ConferenceId,
        queue: &SeatQueue,
        limit: usize,
    ) -> Result<Vec<Registration>, StoreError> {
        let conference = conference.as_str().to_owned();
        let queue = queue.clone();
        self.read(move |conn| {
            let (status, before) = match &queue {
                SeatQueue::Waiting => ("waitlisted", None),
                SeatQueue::OffersExpiredBefore(now) => ("offered", Some(now.clone())),
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations
                     WHERE type = ?1 AND seat_status = ?2
                       AND (?3 IS NULL OR offer_expires_at < ?3)
                     ORDER BY created_at, seq LIMIT ?4"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(
                    params![conference, status, before, limit as i64],
                    row_to_registration,
                )
                .map_err(unavailable)?;
            Ok(collect(rows)?.into_iter().map(|(_, r)| r).collect())
        })
        .await
    }

    async fn seats_held(&self, conference: &ConferenceId) -> Result<u64, StoreError> {
        let conference = conference.as_str().to_owned();
        self.read(move |conn| held_seats(conn, &conference)).await
    }

    async fn put_form(&self, conference: &ConferenceId, text: &str) -> Result<(), StoreError> {
        let (conference, text) = (conference.as_str().to_owned(), text.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO forms (type, body, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (type) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                params![conference, text, lanyard_domain::registration::now_rfc3339()],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn forms(&self) -> Result<Vec<(ConferenceId, String)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT type, body FROM forms ORDER BY type")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(unavailable)?;
            rows.map(|r| {
                r.map(|(c, body)| (ConferenceId::from_stored(c), body))
                    .map_err(unavailable)
            })
            .collect()
        })
        .await
    }

    async fn enqueue_notices(&self, notices: &[Notice]) -> Result<(), StoreError> {
        self.enqueue(notices).await
    }

    async fn claim_notices(
        &self,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<QueuedNotice>, StoreError> {
        self.claim(limit, lease).await
    }

    async fn finish_notices(&self, ids: &[String]) -> Result<(), StoreError> {
        self.finish(ids).await
    }

    async fn retry_notice(
        &self,
        id: &str,
        attempts: u32,
        delay: std::time::Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        self.retry(id, attempts, delay, error).await
    }

    async fn notices_waiting(&self) -> Result<u64, StoreError> {
        self.waiting().await
    }

    async fn find_by_email(
        &self,
        email: &Email,
        limit: usize,
    ) -> Result<Vec<Registration>, StoreError> {
        let email = email.lookup_key();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations WHERE lower(email) = ?1 ORDER BY seq LIMIT ?2"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![email, limit as i64], row_to_registration)
                .map_err(unavailable)?;
            Ok(collect(rows)?.into_iter().map(|(_, r)| r).collect())
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
        let search = query.search.as_deref().map(search_fold);
        let limit = query.limit.max(1);
        let category = query.category.clone();
        self.read(move |conn| {
            // Newest first, keyed on the insertion sequence: stable under
            // concurrent inserts and deletes, so no item is skipped or repeated.
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM registrations
                     WHERE (?1 IS NULL OR type = ?1)
                       AND (?2 IS NULL OR instr(lanyard_fold(user_name), ?2) > 0
                                       OR instr(lanyard_fold(coalesce(company_name, '')), ?2) > 0)
                       AND (?3 IS NULL OR seq < ?3)
                       AND (?5 IS NULL OR category = ?5)
                     ORDER BY seq DESC LIMIT ?4"
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(
                    params![conference, search, before, limit as i64 + 1, category],
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
        let removed = self.write(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!("DELETE FROM registrations WHERE user_id = ?1 AND type = ?2 RETURNING {COLUMNS}"))
                .map_err(unavailable)?;
            let rows = stmt.query_map(params![user_id, conference], row_to_registration).map_err(unavailable)?;
            let removed = collect(rows)?.into_iter().next().map(|(_, r)| r);
            conn.execute("DELETE FROM badge_jobs WHERE user_id = ?1 AND type = ?2", params![user_id, conference])
                .map_err(unavailable)?;
            Ok(removed)
        })
        .await;
        if matches!(removed, Ok(Some(_))) {
            self.empty_log_soon();
        }
        removed
    }

    async fn erase_keeping_count(
        &self,
        key: &RegistrationKey,
    ) -> Result<Option<Registration>, StoreError> {
        let (user_id, conference) = key_strings(key);
        let removed = self
            .write(move |conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                    "DELETE FROM registrations WHERE user_id = ?1 AND type = ?2 RETURNING {COLUMNS}"
                ))
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![user_id, conference], row_to_registration)
                    .map_err(unavailable)?;
                let Some((_, removed)) = collect(rows)?.into_iter().next() else {
                    return Ok(None);
                };
                conn.execute(
                    "DELETE FROM badge_jobs WHERE user_id = ?1 AND type = ?2",
                    params![user_id, conference],
                )
                .map_err(unavailable)?;
                let (minute, desk) = match &removed.checked_in {
                    Some(first) => (
                        first.at.chars().take(16).collect::<String>(),
                        first.desk.clone(),
                    ),
                    None => (String::new(), String::new()),
                };
                conn.execute(
                    "INSERT INTO erased_tallies (type, minute, desk, count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (type, minute, desk) DO UPDATE SET count = count + 1",
                    params![conference, minute, desk],
                )
                .map_err(unavailable)?;
                Ok(Some(removed))
            })
            .await;
        if matches!(removed, Ok(Some(_))) {
            self.empty_log_soon();
        }
        removed
    }

    async fn reset_badge(&self, r: &Registration) -> Result<Option<u64>, StoreError> {
        let r = r.clone();
        self.write(move |conn| {
            let badge = r
                .badge
                .as_ref()
                .ok_or_else(|| unavailable("reset_badge needs a badge"))?;
            // The writer runs one write at a time: read and update are one step.
            let previous: Option<i64> = conn
                .query_row(
                    "SELECT badge_revision FROM registrations WHERE user_id = ?1 AND type = ?2",
                    params![r.user_id.as_str(), r.conference.as_str()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            let Some(previous) = previous else {
                return Ok(None);
            };
            let updated = conn
                .execute(
                    "UPDATE registrations SET badge_status = ?3, badge_token = ?4, badge_error = ?5,
                        ticket_code = ?6, user_name = ?7, company_name = ?8, contact_on_badge = ?9,
                        phone_number = ?10, email = ?11, category = ?12, answers = ?13,
                        badge_retry_at = NULL, badge_revision = badge_revision + 1
                     WHERE user_id = ?1 AND type = ?2",
                    params![
                        r.user_id.as_str(),
                        r.conference.as_str(),
                        badge.status.as_str(),
                        badge.token.as_str(),
                        badge.error,
                        r.checkin_code.as_ref().map(|c| c.as_str()),
                        r.person.user_name.as_str(),
                        r.person.company(),
                        r.contact_on_badge,
                        r.person.phone_number.as_str(),
                        r.details.email.as_ref().map(|e| e.as_str()),
                        r.details.category,
                        answers_json(&r.details.answers),
                    ],
                )
                .map_err(unavailable)?;
            if updated == 0 {
                return Ok(None);
            }
            upsert_job(conn, r.user_id.as_str(), r.conference.as_str()).map_err(unavailable)?;
            Ok(Some(u64::try_from(previous).unwrap_or(0)))
        })
        .await
    }

    async fn finish_badge(
        &self,
        key: &RegistrationKey,
        badge: &BadgeInfo,
    ) -> Result<bool, StoreError> {
        let mut recorded = self.finish_badges(&[(key.clone(), badge.clone())]).await?;
        Ok(recorded.pop() == Some(true))
    }

    /// One commit for all the badges: a worker's batch costs one fsync.
    async fn finish_badges(
        &self,
        badges: &[(RegistrationKey, BadgeInfo)],
    ) -> Result<Vec<bool>, StoreError> {
        let badges = badges.to_vec();
        self.write(move |conn| {
            badges
                .iter()
                .map(|(key, badge)| finish_one(conn, key, badge))
                .collect()
        })
        .await
    }

    async fn failed_badges_due(
        &self,
        now: &str,
        limit: usize,
    ) -> Result<Vec<(RegistrationKey, BadgeToken)>, StoreError> {
        let now = now.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT user_id, type, badge_token FROM registrations
                     WHERE badge_retry_at IS NOT NULL AND badge_retry_at <= ?1
                       AND badge_status = 'failed'
                     LIMIT ?2",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![now, limit as i64], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(unavailable)?;
            let mut due = Vec::new();
            for row in rows {
                let (user_id, conference, token) = row.map_err(unavailable)?;
                let token = BadgeToken::parse(&token)
                    .ok_or_else(|| unavailable("a stored badge token is invalid"))?;
                due.push((stored_key(user_id, conference)?, token));
            }
            Ok(due)
        })
        .await
    }

    async fn requeue_failed_badge(
        &self,
        key: &RegistrationKey,
        token: &BadgeToken,
    ) -> Result<bool, StoreError> {
        let (user_id, conference) = key_strings(key);
        let token = token.as_str().to_owned();
        self.write(move |conn| {
            let updated = conn
                .execute(
                    "UPDATE registrations
                     SET badge_status = 'pending', badge_error = NULL, badge_retry_at = NULL
                     WHERE user_id = ?1 AND type = ?2 AND badge_token = ?3
                       AND badge_status = 'failed' AND badge_retry_at IS NOT NULL",
                    params![user_id, conference, token],
                )
                .map_err(unavailable)?;
            if updated == 0 {
                return Ok(false);
            }
            upsert_job(conn, &user_id, &conference).map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn find_by_checkin_code(&self, code: &str) -> Result<Option<Registration>, StoreError> {
        self.by_checkin_code(code).await
    }

    async fn record_scan(&self, scan: &Scan) -> Result<Option<ScanOutcome>, StoreError> {
        self.scan(scan).await
    }

    async fn undo_checkin(&self, key: &RegistrationKey) -> Result<bool, StoreError> {
        self.remove_checkin(key).await
    }

    async fn checkin_tallies(
        &self,
        conference: Option<&ConferenceId>,
    ) -> Result<Vec<Tally>, StoreError> {
        self.tallies(conference).await
    }

    async fn put_desk(&self, desk: &Desk, token_hash: &str) -> Result<(), StoreError> {
        self.insert_desk(desk, token_hash).await
    }

    async fn desks(&self) -> Result<Vec<Desk>, StoreError> {
        self.all_desks().await
    }

    async fn delete_desk(&self, name: &DeskName) -> Result<bool, StoreError> {
        self.remove_desk(name).await
    }

    async fn desk_by_token_hash(&self, hash: &str) -> Result<Option<Desk>, StoreError> {
        self.desk_by_hash(hash).await
    }

    async fn replace_desk_token(
        &self,
        name: &DeskName,
        expected: Option<&str>,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        self.rekey_desk(name, expected, new_hash).await
    }
}

/// Records a render's outcome while the badge has that token; the outcome
/// and the end of the claimed job commit together. A job queued again
/// meanwhile (a re-render) is unclaimed and stays.
fn finish_one(
    conn: &rusqlite::Connection,
    key: &RegistrationKey,
    badge: &BadgeInfo,
) -> Result<bool, StoreError> {
    let (user_id, conference) = key_strings(key);
    let updated = conn
        .prepare_cached(
            "UPDATE registrations SET badge_status = ?3, badge_error = ?4, badge_retry_at = ?6
             WHERE user_id = ?1 AND type = ?2 AND badge_token = ?5 AND badge_revision = ?7",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                user_id,
                conference,
                badge.status.as_str(),
                badge.error,
                badge.token.as_str(),
                badge.retry_at,
                badge.revision as i64,
            ])
        })
        .map_err(unavailable)?;
    if updated == 1 && badge.status != BadgeStatus::Pending {
        conn.prepare_cached(
            "DELETE FROM badge_jobs WHERE user_id = ?1 AND type = ?2 AND claimed = 1",
        )
        .and_then(|mut stmt| stmt.execute(params![user_id, conference]))
        .map_err(unavailable)?;
    }
    Ok(updated == 1)
}

/// How many of a conference's registrations hold a seat.
fn held_seats(conn: &rusqlite::Connection, conference: &str) -> Result<u64, StoreError> {
    conn.prepare_cached(
        "SELECT count(*) FROM registrations
         WHERE type = ?1 AND seat_status IN ('confirmed', 'offered')",
    )
    .and_then(|mut stmt| stmt.query_row([conference], |row| row.get::<_, i64>(0)))
    .map(|n| u64::try_from(n).unwrap_or(0))
    .map_err(unavailable)
}

/// Inserts a new registration with its seat status, and its badge job in
/// the same transaction (the outbox).
fn insert_row(
    conn: &rusqlite::Connection,
    r: &Registration,
    status: SeatStatus,
) -> Result<(), StoreError> {
    let badge = r.badge.as_ref();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO registrations
               (user_id, type, user_name, phone_number, company_name, created_at, badge_status, badge_token, badge_error, ticket_code,
                contact_on_badge, checked_in_at, checked_in_desk, checked_in_nonce, badge_retry_at, badge_revision,
                email, category, answers, seat_status, offer_expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
             ON CONFLICT (user_id, type) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                r.user_id.as_str(),
                r.conference.as_str(),
                r.person.user_name.as_str(),
                r.person.phone_number.as_str(),
                r.person.company(),
                r.created_at,
                badge.map(|b| b.status.as_str()),
                badge.map(|b| b.token.as_str()),
                badge.and_then(|b| b.error.as_deref()),
                r.checkin_code.as_ref().map(|c| c.as_str()),
                r.contact_on_badge,
                r.checked_in.as_ref().map(|f| f.at.as_str()),
                r.checked_in.as_ref().map(|f| f.desk.as_str()),
                r.checked_in.as_ref().map(|f| f.nonce.as_str()),
                badge.and_then(|b| b.retry_at.as_deref()),
                badge.map_or(0, |b| b.revision as i64),
                r.details.email.as_ref().map(|e| e.as_str()),
                r.details.category,
                answers_json(&r.details.answers),
                status.as_str(),
                r.seat.offer_expires_at,
            ])
        })
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, Some(message))
                if f.code == rusqlite::ErrorCode::ConstraintViolation
                    && message.contains("ticket_code") =>
            {
                StoreError::CodeTaken
            }
            other => unavailable(other),
        })?;
    if inserted == 0 {
        return Err(StoreError::Duplicate);
    }
    // The outbox: the badge job commits with the registration or not at all.
    if badge.is_some_and(|b| b.status == BadgeStatus::Pending) {
        upsert_job(conn, r.user_id.as_str(), r.conference.as_str()).map_err(unavailable)?;
    }
    Ok(())
}
