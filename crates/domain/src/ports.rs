//! The ports: what the domain needs from storage and messaging. The embedded
//! (SQLite, files, in-process queue) and AWS (DynamoDB, S3, SNS) adapters
//! implement them, and one contract test suite holds them to the same rules.

use async_trait::async_trait;

use crate::checkin::{Desk, DeskName, Scan, ScanOutcome, Tally};
use crate::fields::{BadgeToken, ConferenceId, UserId};
use crate::notify::{Notice, QueuedNotice};
use crate::registration::{BadgeInfo, Registration, RegistrationKey};
use crate::seats::{Capacity, Seat, SeatChange, SeatQueue, SeatStatus, Seating};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A registration for this `(user_id, type)`, or a desk of this name, exists.
    #[error("it already exists")]
    Duplicate,
    #[error("the cursor is not one this server issued")]
    InvalidCursor,
    /// Another registration has this check-in code (codes are unique).
    #[error("another registration has this check-in code")]
    CodeTaken,
    #[error("storage is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Unavailable(e.into())
    }
}

/// A page request for the organizer list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub conference: Option<ConferenceId>,
    /// Case-insensitive text found in the name or the company.
    pub search: Option<String>,
    /// Only registrations of this category.
    pub category: Option<String>,
    /// 1 to 100.
    pub limit: usize,
    /// Opaque, from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Registration>,
    /// `None` on the last page. Following cursors returns every item exactly once.
    pub next_cursor: Option<String>,
}

/// Where registrations live.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// Stores a new registration together with the record of its pending badge
    /// job, atomically and durably (an outbox): once this returns `Ok`, the
    /// registration and its badge job survive a crash. Never overwrites: an
    /// existing `(user_id, type)` gives [`StoreError::Duplicate`].
    async fn insert(&self, registration: &Registration) -> Result<(), StoreError> {
        self.insert_noting(registration, &[]).await
    }

    /// [`RegistrationStore::insert`] with notices for the outbox, written
    /// in the same atomic step: stored with the registration or not at all
    /// (a notice whose id is in the outbox already is kept as it is).
    async fn insert_noting(
        &self,
        registration: &Registration,
        notices: &[Notice],
    ) -> Result<(), StoreError>;

    /// [`RegistrationStore::insert`] for a conference with `capacity`:
    /// atomically, the registration is stored `confirmed` while fewer
    /// than `capacity.seats` of its conference hold a seat (confirmed or
    /// offered), else `waitlisted` if the conference keeps a waiting list,
    /// else not at all ([`Seating::Full`]). Its own `seat` is ignored.
    /// However many insert at once, no more than `capacity.seats` hold a seat.
    async fn insert_seated(
        &self,
        registration: &Registration,
        capacity: Capacity,
    ) -> Result<Seating, StoreError> {
        self.insert_seated_noting(registration, capacity, &[]).await
    }

    /// [`RegistrationStore::insert_seated`] with notices written in the same
    /// atomic step as the registration ([`Seating::Full`] writes none).
    async fn insert_seated_noting(
        &self,
        registration: &Registration,
        capacity: Capacity,
        notices: &[Notice],
    ) -> Result<Seating, StoreError>;

    /// Adds notices to the outbox, durably; a notice whose id is there
    /// already (waiting, being delivered, or delivered in the last day) is
    /// kept as it is.
    async fn enqueue_notices(&self, notices: &[Notice]) -> Result<(), StoreError>;

    /// Takes up to `limit` notices that are due, so no other carrier takes
    /// them for `lease`; a notice whose lease ran out (its carrier stopped)
    /// is due again.
    async fn claim_notices(
        &self,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<QueuedNotice>, StoreError>;

    /// Marks notices delivered (or given up): they are never claimed again,
    /// and their ids alone are remembered for a day.
    async fn finish_notices(&self, ids: &[String]) -> Result<(), StoreError>;

    /// Makes a claimed notice due again after `delay`, with `attempts` made.
    async fn retry_notice(
        &self,
        id: &str,
        attempts: u32,
        delay: std::time::Duration,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Notices waiting in the outbox (for health and tests).
    async fn notices_waiting(&self) -> Result<u64, StoreError>;

    /// Registrations with this e-mail address (compared as
    /// [`crate::Email`] stores it, case of the domain folded), `limit` at
    /// most.
    async fn find_by_email(
        &self,
        email: &crate::Email,
        limit: usize,
    ) -> Result<Vec<Registration>, StoreError>;

    /// Moves a registration's seat to `to`, atomically, if its status is
    /// one of `from`. A move that takes a seat (to confirmed or offered
    /// from a state without one) needs one free of `capacity` (no limit
    /// when `None`). Deleting a registration gives its seat back.
    async fn change_seat(
        &self,
        key: &RegistrationKey,
        from: &[SeatStatus],
        to: &Seat,
        capacity: Option<u32>,
    ) -> Result<SeatChange, StoreError>;

    /// Up to `limit` registrations of a conference in a seat queue:
    /// waiting, longest first; or offers that ran out.
    async fn seat_queue(
        &self,
        conference: &ConferenceId,
        queue: &SeatQueue,
        limit: usize,
    ) -> Result<Vec<Registration>, StoreError>;

    /// How many of a conference's registrations hold a seat.
    async fn seats_held(&self, conference: &ConferenceId) -> Result<u64, StoreError>;

    /// Keeps a conference's form as organizers set it (its TOML text),
    /// replacing the one kept before.
    async fn put_form(&self, conference: &ConferenceId, text: &str) -> Result<(), StoreError>;

    /// Every form organizers set, by conference.
    async fn forms(&self) -> Result<Vec<(ConferenceId, String)>, StoreError>;

    async fn get(&self, key: &RegistrationKey) -> Result<Option<Registration>, StoreError>;

    /// All registrations of one user, ordered by conference id.
    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Registration>, StoreError>;

    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;

    async fn find_by_badge_token(
        &self,
        token: &BadgeToken,
    ) -> Result<Option<Registration>, StoreError>;

    /// Removes a registration (and any badge job of it), returning what was removed.
    async fn delete(&self, key: &RegistrationKey) -> Result<Option<Registration>, StoreError>;

    /// Replaces the badge of an existing registration with a pending one and
    /// records its badge job, atomically, writing what the registration
    /// says with it (name, company, phone, consent, check-in code, e-mail,
    /// category, answers; never the key, creation time, seat or check-in). The badge's revision is the stored one
    /// plus one, whatever `registration` says, counted atomically; the
    /// revision it replaced is returned. `None` if there is no such
    /// registration.
    async fn reset_badge(&self, registration: &Registration) -> Result<Option<u64>, StoreError>;

    /// The registration with this check-in code, as stored.
    async fn find_by_checkin_code(&self, code: &str) -> Result<Option<Registration>, StoreError>;

    /// Records a desk's scan atomically. A scan whose desk and nonce were
    /// recorded before (and not yet expired) gets the result recorded then,
    /// with the registration as it is now. Otherwise the registration's
    /// first check-in becomes `scan.first` unless it has one (a conditional
    /// write: of two desks scanning at once, one wins), it gets
    /// `scan.fresh_code` if it has no check-in code, the result follows
    /// [`crate::CheckinResult::of`], and the result and the registration's
    /// code (never a name) are remembered under the desk and nonce until
    /// `scan.expires_at`. `None` when no registration matches; then
    /// nothing is written.
    async fn record_scan(&self, scan: &Scan) -> Result<Option<ScanOutcome>, StoreError>;

    /// Erases a registration whose conference's retention has passed (SPEC
    /// §9): atomically removes it (and any badge job of it) and adds it to
    /// the anonymous counts [`RegistrationStore::checkin_tallies`] keeps
    /// returning (conference, check-in minute and desk; nothing of the
    /// person). Returns what was removed; `None`, counting nothing, if it
    /// was gone already.
    async fn erase_keeping_count(
        &self,
        key: &RegistrationKey,
    ) -> Result<Option<Registration>, StoreError>;

    /// Removes a registration's check-in. `false` if there is no such registration.
    async fn undo_checkin(&self, key: &RegistrationKey) -> Result<bool, StoreError>;

    /// Registrations counted by conference and check-in (time cut to the
    /// minute, `2026-11-28T09:17`, or coarser to the start of its quarter
    /// hour, which is all the figures count by; and desk), optionally of
    /// one conference; those erased by
    /// [`RegistrationStore::erase_keeping_count`] included.
    async fn checkin_tallies(
        &self,
        conference: Option<&ConferenceId>,
    ) -> Result<Vec<Tally>, StoreError>;

    /// Adds a desk with its token's hash; [`StoreError::Duplicate`] if the name is taken.
    async fn put_desk(&self, desk: &Desk, token_hash: &str) -> Result<(), StoreError>;

    /// Every desk, by name.
    async fn desks(&self) -> Result<Vec<Desk>, StoreError>;

    /// Revokes a desk's token. `false` if there is no such desk.
    async fn delete_desk(&self, name: &DeskName) -> Result<bool, StoreError>;

    async fn desk_by_token_hash(&self, hash: &str) -> Result<Option<Desk>, StoreError>;

    /// Gives a desk a new token hash, the old token refused from then on:
    /// only while its hash is `expected` when given (so a one-time code is
    /// exchanged once, whoever races it). `false` if there is no such desk,
    /// or its hash is not `expected`.
    async fn replace_desk_token(
        &self,
        name: &DeskName,
        expected: Option<&str>,
        new_hash: &str,
    ) -> Result<bool, StoreError>;

    /// Records the outcome of a render (`ready` or `failed`, with its error
    /// and retry time), but only while the registration still has a badge
    /// with that token at that revision; `false` otherwise.
    async fn finish_badge(
        &self,
        key: &RegistrationKey,
        badge: &BadgeInfo,
    ) -> Result<bool, StoreError>;

    /// [`RegistrationStore::finish_badge`] for several badges, one answer
    /// each, in order. Adapters may make them durable together (one
    /// commit for all, say); each is recorded or not on its own.
    async fn finish_badges(
        &self,
        badges: &[(RegistrationKey, BadgeInfo)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut recorded = Vec::with_capacity(badges.len());
        for (key, badge) in badges {
            recorded.push(self.finish_badge(key, badge).await?);
        }
        Ok(recorded)
    }

    /// Failed badges whose `retry_at` is at or before `now` (RFC 3339), with
    /// their tokens; `limit` at most, in no promised order.
    async fn failed_badges_due(
        &self,
        now: &str,
        limit: usize,
    ) -> Result<Vec<(RegistrationKey, BadgeToken)>, StoreError>;

    /// Queues a failed badge again, atomically: while the registration's
    /// badge is failed with this token and has a retry time, it becomes
    /// pending (error and retry time cleared) and its badge job is recorded,
    /// as [`RegistrationStore::reset_badge`] does. `false` otherwise (deleted,
    /// re-rendered, or already queued by another sweep).
    async fn requeue_failed_badge(
        &self,
        key: &RegistrationKey,
        token: &BadgeToken,
    ) -> Result<bool, StoreError>;
}

/// Where badge files live (local files, S3).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Writes the whole object or nothing.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    /// Writes several objects; each is whole or absent. Adapters may make them
    /// durable together (one directory sync for all, say).
    async fn put_all(
        &self,
        objects: Vec<(String, Vec<u8>, &'static str)>,
    ) -> Result<(), StoreError> {
        for (key, bytes, content_type) in objects {
            self.put(&key, bytes, content_type).await?;
        }
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes several objects (as [`ObjectStore::delete`] does each).
    /// Adapters may do it in one go.
    async fn delete_all(&self, keys: Vec<String>) -> Result<(), StoreError> {
        for key in keys {
            self.delete(&key).await?;
        }
        Ok(())
    }
}

/// How badge workers hear of new jobs (an in-process wake-up, an SNS publish).
///
/// The job itself is already durable in the store (see
/// [`RegistrationStore::insert`]), so a lost announcement delays a badge and
/// never loses it.
#[async_trait]
pub trait BadgeJobs: Send + Sync {
    async fn announce(&self, key: &RegistrationKey) -> Result<(), StoreError>;

    /// Tells the notice carrier that notices wait in the outbox. They are
    /// durable there already; without this the carrier finds them on its
    /// next round.
    async fn announce_notices(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
