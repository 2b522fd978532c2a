//! Registrations in DynamoDB, in the original table's shape: partition key
//! `user_id`, sort key `type`, and its five attributes, plus the badge fields.
//!
//! Three sparse global secondary indexes serve the rest: `badge-token` finds a
//! registration from its badge URL, `checkin-code` from its check-in code,
//! and `pending-badges` (on `pending_shard` and `badge_queued_at`, present
//! only while a badge waits, with the badge token projected) lets the
//! sweeper find badge jobs whose announcement was lost. A badge failed for a
//! reason that may pass waits in the same index under its own shards
//! (`retry-0`…), `badge_queued_at` then being its retry time.
//!
//! Desks and the nonces of desks' scans live in the same table under
//! partition keys that begin with `#`, which no user id may contain: desks
//! in the `#desk` partition (sort key: the name), each nonce in its own
//! partition with a TTL attribute `expires_at`, the check-in counters in
//! the `#tally` partition (`tally` says how they are kept), and the forms
//! organizers set in the `#form` partition (sort key: the conference). The
//! `#erased` partition holds the anonymous counts of registrations erased
//! before the counters. Lists skip them all.
//!
//! Seats: a conference with a capacity has a counter item in the `#seats`
//! partition (sort key: the conference) holding how many of its
//! registrations hold a seat; a sign-up and the counter's increment are one
//! transaction, conditional on the count being under capacity. A fourth
//! sparse index, `seat-queue` (on `type` and `seat_queue`), holds those
//! waiting (`w#<listed_at>#<user_id>`, longest waiting first) and the
//! offers (`o#<offer_expires_at>`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lanyard_domain::fields::{search_fold, BadgeToken, ConferenceId};
use lanyard_domain::{
    Answers, BadgeInfo, BadgeStatus, Capacity, CheckinCode, CheckinResult, Desk, DeskName, Details,
    Email, FirstCheckin, ListQuery, Notice, Page, Person, QueuedNotice, Registration,
    RegistrationKey, RegistrationStore, Scan, ScanOutcome, ScanTarget, Seat, SeatChange, SeatQueue,
    SeatStatus, Seating, StoreError, Tally, UserId,
};
use serde::{Deserialize, Serialize};

mod tally;

/// The index from badge token to registration key.
pub const TOKEN_INDEX: &str = "badge-token";
/// The index from check-in code to registration key.
pub const CODE_INDEX: &str = "checkin-code";
/// The index of one conference's registrations, newest first.
pub const LIST_INDEX: &str = "conference-list";
/// The `listed_at` of a registration without a creation time (the
/// original system's): before every other.
pub const LISTED_BEFORE_LANYARD: &str = "0";
/// The partition of desks.
const DESK_PARTITION: &str = "#desk";
/// The partition of anonymous counts left by erased registrations: one
/// item per conference, check-in minute and desk.
const ERASED_PARTITION: &str = "#erased";
/// The partition of the forms organizers set, one item per conference.
const FORM_PARTITION: &str = "#form";
/// The partition of seat counters, one item per conference with a capacity.
const SEATS_PARTITION: &str = "#seats";
/// Notices waiting for delivery: partitions `#outbox#0` … `#outbox#7`
/// (spread so a burst of sign-ups does not meet on one partition), sort
/// key the notice's id.
const OUTBOX_PARTITION: &str = "#outbox#";
const OUTBOX_SHARDS: u32 = 8;
/// Registrations by e-mail address (`email_key`, the address as lookups
/// compare it), for lost badge links.
pub const EMAIL_INDEX: &str = "email";
/// The index of one conference's waiting list and offers.
pub const SEAT_INDEX: &str = "seat-queue";
/// Tries of a seat transaction that DynamoDB cancels for a conflict (many
/// sign-ups at once meet on the conference's counter).
const SEAT_TRIES: u32 = 60;

/// The index of badges waiting for a worker.
pub const PENDING_INDEX: &str = "pending-badges";
/// Pending badges are spread over this many index partitions so that no
/// single partition takes every sign-up's writes.
pub const PENDING_SHARDS: u32 = 8;
/// Reads for one searched page of the organizer list before a shorter
/// page is returned with a cursor to go on from.
const MAX_SCAN_PAGES: usize = 20;
/// Items one read of a search takes in: 2 500 registrations of the usual
/// size (about 330 bytes, `examples/list_round_trips.rs` measures it) are
/// under DynamoDB's 1 MB a read, so the page is the same on the emulator
/// (which has no such cap) as on AWS; larger items make AWS's pages
/// shorter, never wrong. Search is the organizer's, and rare: fewer round
/// trips matter more than the read units.
const SEARCH_PAGE: i32 = 2500;

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB registration store. Cheap to clone; the client is shared.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Conferences whose seat counter is known to exist.
    counted: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::unavailable(DisplayErrorContext(e).to_string())
}

/// The outcome of a conditional write: `None` when its condition did not hold.
fn conditional<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn key_item(key: &RegistrationKey) -> Item {
    HashMap::from([
        ("user_id".to_owned(), s(key.user_id.as_str())),
        ("type".to_owned(), s(key.conference.as_str())),
    ])
}

fn shard_of(token: &BadgeToken) -> String {
    let sum: u32 = token.as_str().bytes().map(u32::from).sum();
    (sum % PENDING_SHARDS).to_string()
}

/// The index partition of a failed badge waiting for its retry time.
fn retry_shard_of(token: &BadgeToken) -> String {
    format!("retry-{}", shard_of(token))
}

/// The outbox partition of a notice: from the last hex digits of its id.
fn outbox_partition(id: &str) -> String {
    let tail = id.get(id.len().saturating_sub(4)..).unwrap_or("");
    let shard = u32::from_str_radix(tail, 16).unwrap_or(0) % OUTBOX_SHARDS;
    format!("{OUTBOX_PARTITION}{shard}")
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The item a registration is stored as.
pub fn to_item(r: &Registration) -> Item {
    let mut item = key_item(&r.key());
    item.insert("user_name".into(), s(r.person.user_name.as_str()));
    item.insert("phone_number".into(), s(r.person.phone_number.as_str()));
    if let Some(company) = &r.person.company_name {
        item.insert("company_name".into(), s(company.as_str()));
    }
    if !r.created_at.is_empty() {
        item.insert("created_at".into(), s(&r.created_at));
    }
    let listed_at = if r.created_at.is_empty() {
        LISTED_BEFORE_LANYARD
    } else {
        &r.created_at
    };
    item.insert("listed_at".into(), s(listed_at));
    if let Some(code) = &r.checkin_code {
        item.insert("ticket_code".into(), s(code.as_str()));
    }
    if r.contact_on_badge {
        item.insert("contact_on_badge".into(), AttributeValue::Bool(true));
    }
    if let Some(email) = &r.details.email {
        item.insert("email".into(), s(email.as_str()));
        item.insert("email_key".into(), s(email.lookup_key()));
    }
    if let Some(category) = &r.details.category {
        item.insert("category".into(), s(category));
    }
    if !r.details.answers.is_empty() {
        item.insert("answers".into(), s(answers_json(&r.details.answers)));
    }
    item.extend(seat_attributes(&r.seat, listed_at, r.user_id.as_str()));
    if let Some(first) = &r.checked_in {
        item.insert("checked_in_at".into(), s(&first.at));
        item.insert("checked_in_desk".into(), s(&first.desk));
        item.insert("checked_in_nonce".into(), s(&first.nonce));
    }
    if let Some(badge) = &r.badge {
        item.insert("badge_status".into(), s(badge.status.as_str()));
        item.insert("badge_token".into(), s(badge.token.as_str()));
        if badge.revision > 0 {
            item.insert(
                "badge_revision".into(),
                AttributeValue::N(badge.revision.to_string()),
            );
        }
        if let Some(error) = &badge.error {
            item.insert("badge_error".into(), s(error));
        }
        if badge.status == BadgeStatus::Pending {
            item.insert("pending_shard".into(), s(shard_of(&badge.token)));
            item.insert(
                "badge_queued_at".into(),
                s(lanyard_domain::registration::now_rfc3339()),
            );
        }
        if let (BadgeStatus::Failed, Some(retry_at)) = (badge.status, &badge.retry_at) {
            item.insert("badge_retry_at".into(), s(retry_at));
            item.insert("pending_shard".into(), s(retry_shard_of(&badge.token)));
            item.insert("badge_queued_at".into(), s(retry_at));
        }
    }
    item
}

fn answers_json(answers: &Answers) -> String {
    serde_json::to_string(answers).expect("answers serialize")
}

/// A seat's attributes: its status, the offer's end, and its place in the
/// `seat-queue` index while waiting or offered.
fn seat_attributes(seat: &Seat, listed_at: &str, user_id: &str) -> Vec<(String, AttributeValue)> {
    let mut attributes = vec![("seat_status".to_owned(), s(seat.status.as_str()))];
    if let Some(at) = &seat.offer_expires_at {
        attributes.push(("offer_expires_at".to_owned(), s(at)));
    }
    if let Some(place) = seat_place(seat, listed_at, user_id) {
        attributes.push(("seat_queue".to_owned(), s(place)));
    }
    attributes
}

fn seat_place(seat: &Seat, listed_at: &str, user_id: &str) -> Option<String> {
    match seat.status {
        SeatStatus::Waitlisted => Some(format!("w#{listed_at}#{user_id}")),
        SeatStatus::Offered => Some(format!(
            "o#{}",
            seat.offer_expires_at.as_deref().unwrap_or_default()
        )),
        _ => None,
    }
}

fn seat_of(item: &Item) -> Seat {
    Seat {
        status: text(item, "seat_status")
            .and_then(SeatStatus::parse)
            .unwrap_or_default(),
        offer_expires_at: text(item, "offer_expires_at").map(str::to_owned),
    }
}

fn seats_key(conference: &str) -> Item {
    HashMap::from([
        ("user_id".to_owned(), s(SEATS_PARTITION)),
        ("type".to_owned(), s(conference)),
    ])
}

/// The codes of a cancelled transaction's reasons, in the order of its items.
fn cancellation_codes(
    e: &SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        impl std::fmt::Debug,
    >,
) -> Option<Vec<String>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

/// A pause before trying a seat transaction again: growing, with jitter.
async fn seat_backoff(attempt: u32) {
    let base = 5u64 << attempt.min(6);
    let jitter = u64::from(getrandom::u32().unwrap_or(0)) % base;
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A string or number attribute's text.
fn scalar<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name)? {
        AttributeValue::S(v) | AttributeValue::N(v) => Some(v),
        _ => None,
    }
}

/// A badge's revision: 0 for items from before revisions.
fn revision_of(item: &Item) -> u64 {
    item.get("badge_revision")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The condition that an item's badge is at `revision` (items from before
/// revisions have none, and are at 0).
fn at_revision(revision: u64) -> &'static str {
    if revision == 0 {
        "(attribute_not_exists(badge_revision) OR badge_revision = :rev)"
    } else {
        "badge_revision = :rev"
    }
}

/// Reads an item, including the original system's (five attributes, no badge).
fn from_item(item: &Item) -> Result<Registration, String> {
    let field = |name: &str| text(item, name).ok_or_else(|| format!("{name} is missing"));
    let badge = match (
        text(item, "badge_status").and_then(BadgeStatus::parse),
        text(item, "badge_token").and_then(BadgeToken::parse),
    ) {
        (Some(status), Some(token)) => Some(BadgeInfo {
            status,
            token,
            error: text(item, "badge_error").map(str::to_owned),
            retry_at: text(item, "badge_retry_at").map(str::to_owned),
            revision: revision_of(item),
        }),
        _ => None,
    };
    Ok(Registration {
        user_id: UserId::from_stored(field("user_id")?.to_owned()),
        conference: ConferenceId::from_stored(field("type")?.to_owned()),
        // Trusted as stored: the original wrote values today's sign-up
        // refuses (a number attribute, an empty company, another phone
        // format), and they must list, open, render and delete all the same.
        person: Person::from_stored(
            scalar(item, "user_name").unwrap_or_default(),
            scalar(item, "phone_number").unwrap_or_default(),
            scalar(item, "company_name"),
        ),
        created_at: text(item, "created_at").unwrap_or_default().to_owned(),
        badge,
        checkin_code: text(item, "ticket_code").map(|c| CheckinCode::from_stored(c.to_owned())),
        contact_on_badge: item
            .get("contact_on_badge")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        checked_in: text(item, "checked_in_at").map(|at| FirstCheckin {
            at: at.to_owned(),
            desk: text(item, "checked_in_desk").unwrap_or_default().to_owned(),
            nonce: text(item, "checked_in_nonce")
                .unwrap_or_default()
                .to_owned(),
        }),
        details: Details {
            email: text(item, "email").and_then(|e| Email::from_stored(e.to_owned())),
            category: text(item, "category").map(str::to_owned),
            answers: match text(item, "answers") {
                Some(json) => serde_json::from_str(json).map_err(|e| format!("answers: {e}"))?,
                None => Answers::new(),
            },
        },
        seat: seat_of(item),
    })
}

/// Desks and nonces: items that are not registrations.
fn is_bookkeeping(item: &Item) -> bool {
    text(item, "user_id").is_some_and(|u| u.starts_with('#'))
}

/// Items that cannot be read as a registration (edited by hand, say) are
/// logged and left out of lists rather than failing the whole page. Desks
/// and nonces are left out without a word.
fn readable(item: &Item) -> Option<Registration> {
    if is_bookkeeping(item) {
        return None;
    }
    match from_item(item) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(
                user_id = text(item, "user_id").unwrap_or("?"),
                conference = text(item, "type").unwrap_or("?"),
                error = %e,
                "skipping an item that is not a valid registration"
            );
            None
        }
    }
}

fn required(item: &Item) -> Result<Registration, StoreError> {
    from_item(item).map_err(|e| StoreError::unavailable(format!("unreadable item: {e}")))
}

/// The organizer-list cursor: the key of the last item returned.
#[derive(Serialize, Deserialize)]
struct Cursor {
    u: String,
    t: String,
    /// In a list of one conference (its index), the last item's `listed_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<String>,
}

/// `of_index`: the cursor of one conference's list, which goes on in its
/// index and so carries the index key.
fn encode_cursor(item: &Item, of_index: bool) -> Option<String> {
    let cursor = Cursor {
        u: text(item, "user_id")?.to_owned(),
        t: text(item, "type")?.to_owned(),
        l: if of_index {
            Some(text(item, "listed_at")?.to_owned())
        } else {
            None
        },
    };
    let json = serde_json::to_vec(&cursor).ok()?;
    Some(URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(cursor: &str) -> Result<Item, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if UserId::for_lookup(&c.u).is_err()
        || c.t.is_empty()
        || c.t.len() > 200
        || c.l.as_ref().is_some_and(|l| l.is_empty() || l.len() > 64)
    {
        return Err(StoreError::InvalidCursor);
    }
    let mut key = HashMap::from([("user_id".to_owned(), s(c.u)), ("type".to_owned(), s(c.t))]);
    if let Some(listed_at) = c.l {
        key.insert("listed_at".to_owned(), s(listed_at));
    }
    Ok(key)
}

fn matches_search(r: &Registration, search: Option<&str>) -> bool {
    let Some(q) = search else { return true };
    let q = search_fold(q);
    search_fold(r.person.user_name.as_str()).contains(&q)
        || r.person
            .company_name
            .as_ref()
            .is_some_and(|c| search_fold(c.as_str()).contains(&q))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            counted: Default::default(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Badges still pending whose job was last announced before `cutoff`
    /// (RFC 3339), with their tokens: the sweeper's work list.
    pub async fn stale_pending(
        &self,
        cutoff: &str,
        limit: usize,
    ) -> Result<Vec<(RegistrationKey, BadgeToken)>, StoreError> {
        let shards = (0..PENDING_SHARDS).map(|n| n.to_string());
        self.queued_before(shards, "<", cutoff, limit).await
    }

    /// The `pending-badges` index's entries in `shards` whose
    /// `badge_queued_at` compares to `time` by `op`, `limit` at most.
    async fn queued_before(
        &self,
        shards: impl Iterator<Item = String>,
        op: &str,
        time: &str,
        limit: usize,
    ) -> Result<Vec<(RegistrationKey, BadgeToken)>, StoreError> {
        let mut found = Vec::new();
        for shard in shards {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(PENDING_INDEX)
                    .key_condition_expression(format!(
                        "pending_shard = :p AND badge_queued_at {op} :c"
                    ))
                    .expression_attribute_values(":p", s(shard.as_str()))
                    .expression_attribute_values(":c", s(time))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out.items() {
                    let (Some(u), Some(t), Some(token)) = (
                        text(item, "user_id").map(|u| UserId::from_stored(u.to_owned())),
                        text(item, "type"),
                        text(item, "badge_token").and_then(BadgeToken::parse),
                    ) else {
                        continue;
                    };
                    found.push((
                        RegistrationKey {
                            user_id: u,
                            conference: ConferenceId::from_stored(t.to_owned()),
                        },
                        token,
                    ));
                    if found.len() >= limit {
                        return Ok(found);
                    }
                }
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Marks a pending badge's job as announced again now, counting the
    /// re-announcements. `None` if the badge is no longer pending with that token.
    pub async fn note_reannounced(
        &self,
        key: &RegistrationKey,
        token: &BadgeToken,
    ) -> Result<Option<u32>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .update_expression("SET badge_queued_at = :now ADD badge_sweeps :one")
            .condition_expression("badge_token = :t AND badge_status = :pending")
            .expression_attribute_values(":now", s(lanyard_domain::registration::now_rfc3339()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":t", s(token.as_str()))
            .expression_attribute_values(":pending", s(BadgeStatus::Pending.as_str()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        Ok(conditional(result)?.map(|out| {
            out.attributes()
                .and_then(|a| a.get("badge_sweeps"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1)
        }))
    }

    /// The puts of notices for the outbox, to go in a transaction.
    fn notice_items(
        &self,
        notices: &[Notice],
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        notices
            .iter()
            .map(|notice| {
                Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .put(self.notice_put(notice)?)
                    .build())
            })
            .collect()
    }

    /// A notice's outbox item, due now.
    fn notice_item(notice: &Notice) -> Item {
        Item::from([
            ("user_id".into(), s(outbox_partition(&notice.id))),
            ("type".into(), s(&notice.id)),
            ("body".into(), s(notice.to_json())),
            ("attempts".into(), AttributeValue::N("0".into())),
            ("run_after".into(), AttributeValue::N("0".into())),
            ("created_at".into(), AttributeValue::N(now_ms().to_string())),
        ])
    }

    /// The put of a notice in a transaction.
    fn notice_put(&self, notice: &Notice) -> Result<aws_sdk_dynamodb::types::Put, StoreError> {
        aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(Self::notice_item(notice)))
            .build()
            .map_err(StoreError::unavailable)
    }

    /// Writes `item` unless an item with its key exists; `false` then.
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(user_id)")
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    /// A conference's seat counter, when it has one.
    async fn seat_counter(&self, conference: &str) -> Result<Option<u64>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(seats_key(conference)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item.map(|item| {
            item.get("seats_held")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .map_or(0, |n| u64::try_from(n).unwrap_or(0))
        }))
    }

    /// Counts a conference's registrations that hold a seat, from its list
    /// index (items from before seats count as confirmed).
    async fn count_held(&self, conference: &str) -> Result<u64, StoreError> {
        let mut held = 0u64;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(LIST_INDEX)
                .key_condition_expression("#type = :c")
                .filter_expression(
                    "attribute_not_exists(seat_status) OR seat_status IN (:confirmed, :offered)",
                )
                .expression_attribute_names("#type", "type")
                .expression_attribute_values(":c", s(conference))
                .expression_attribute_values(":confirmed", s(SeatStatus::Confirmed.as_str()))
                .expression_attribute_values(":offered", s(SeatStatus::Offered.as_str()))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            held += u64::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(held);
            }
        }
    }

    /// Creates a conference's seat counter from the registrations it
    /// already has, unless it exists. A conference given a capacity after
    /// sign-ups opened is counted once, here; from then on every seat
    /// change moves the counter in the same transaction.
    async fn ensure_seat_counter(&self, conference: &str) -> Result<(), StoreError> {
        if self
            .counted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(conference)
        {
            return Ok(());
        }
        if self.seat_counter(conference).await?.is_none() {
            let held = self.count_held(conference).await?;
            let mut item = seats_key(conference);
            item.insert("seats_held".into(), AttributeValue::N(held.to_string()));
            // Another process may have created it meanwhile: theirs stands.
            self.put_new(item).await?;
        }
        self.counted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conference.to_owned());
        Ok(())
    }

    async fn get_item(&self, key: &RegistrationKey) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }
}

#[async_trait]
impl RegistrationStore for DynamoStore {
    async fn insert_noting(
        &self,
        registration: &Registration,
        notices: &[Notice],
    ) -> Result<(), StoreError> {
        // The item is the outbox of its badge: a pending badge is its own
        // job record, found by the sweeper if the announcement that
        // follows is lost. Notices are written with it in one transaction.
        match self
            .put_counted(registration, self.notice_items(notices)?)
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::Duplicate),
        }
    }

    async fn insert_seated_noting(
        &self,
        registration: &Registration,
        capacity: Capacity,
        notices: &[Notice],
    ) -> Result<Seating, StoreError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
        let conference = registration.conference.as_str();
        self.ensure_seat_counter(conference).await?;
        let mut confirmed = registration.clone();
        confirmed.seat = Seat::confirmed();
        for attempt in 0..SEAT_TRIES {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(tally::counted_item(&confirmed)))
                .condition_expression("attribute_not_exists(user_id)")
                .build()
                .map_err(StoreError::unavailable)?;
            let count = Update::builder()
                .table_name(&self.table)
                .set_key(Some(seats_key(conference)))
                .update_expression("ADD seats_held :one")
                .condition_expression("seats_held < :cap")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":cap", AttributeValue::N(capacity.seats.to_string()))
                .build()
                .map_err(StoreError::unavailable)?;
            let mut transaction = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(TransactWriteItem::builder().update(count).build());
            for counter in
                self.count_registration(&confirmed.key(), &tally::Place::of(&confirmed), 1)?
            {
                transaction = transaction.transact_items(counter);
            }
            for notice in notices {
                transaction = transaction.transact_items(
                    TransactWriteItem::builder()
                        .put(self.notice_put(notice)?)
                        .build(),
                );
            }
            let result = transaction.send().await;
            let codes = match result {
                Ok(_) => return Ok(Seating::Confirmed),
                Err(e) => match cancellation_codes(&e) {
                    Some(codes) => codes,
                    None => return Err(unavailable(e)),
                },
            };
            let failed =
                |i: usize| codes.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
            if failed(0) {
                return Err(StoreError::Duplicate);
            }
            if failed(1) {
                if !capacity.waitlist {
                    return Ok(Seating::Full);
                }
                let mut waiting = registration.clone();
                waiting.seat = Seat {
                    status: SeatStatus::Waitlisted,
                    offer_expires_at: None,
                };
                return match self
                    .put_counted(&waiting, self.notice_items(notices)?)
                    .await?
                {
                    true => Ok(Seating::Waitlisted),
                    false => Err(StoreError::Duplicate),
                };
            }
            // Cancelled for a conflict with another transaction on the counter.
            seat_backoff(attempt).await;
        }
        Err(StoreError::unavailable(
            "the conference's seat count was too busy; try again",
        ))
    }

    async fn change_seat(
        &self,
        key: &RegistrationKey,
        from: &[SeatStatus],
        to: &Seat,
        capacity: Option<u32>,
    ) -> Result<SeatChange, StoreError> {
        use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
        for attempt in 0..SEAT_TRIES {
            let Some(item) = self.get_item(key).await? else {
                return Ok(SeatChange::Moved);
            };
            let current = seat_of(&item);
            if !from.contains(&current.status) {
                return Ok(SeatChange::Moved);
            }
            let delta = i32::from(to.status.holds_seat()) - i32::from(current.status.holds_seat());
            let listed_at = text(&item, "listed_at").unwrap_or(LISTED_BEFORE_LANYARD);
            let mut set = vec!["seat_status = :to".to_owned()];
            let mut remove = Vec::new();
            let mut values = vec![
                (":to".to_owned(), s(to.status.as_str())),
                (":cur".to_owned(), s(current.status.as_str())),
            ];
            match &to.offer_expires_at {
                Some(at) => {
                    set.push("offer_expires_at = :until".into());
                    values.push((":until".into(), s(at)));
                }
                None => remove.push("offer_expires_at"),
            }
            match seat_place(to, listed_at, key.user_id.as_str()) {
                Some(place) => {
                    set.push("seat_queue = :place".into());
                    values.push((":place".into(), s(place)));
                }
                None => remove.push("seat_queue"),
            }
            let mut expression = format!("SET {}", set.join(", "));
            if !remove.is_empty() {
                expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
            }
            // Items from before seats have no status, and are confirmed.
            let condition = if current.status == SeatStatus::Confirmed {
                "attribute_exists(user_id) AND (attribute_not_exists(seat_status) OR seat_status = :cur)"
            } else {
                "seat_status = :cur"
            };
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(key)))
                .update_expression(expression)
                .condition_expression(condition);
            for (name, value) in values {
                update = update.expression_attribute_values(name, value);
            }
            let mut transaction = self.client.transact_write_items().transact_items(
                TransactWriteItem::builder()
                    .update(update.build().map_err(StoreError::unavailable)?)
                    .build(),
            );
            if let (Some(seats), true) = (capacity, delta != 0) {
                self.ensure_seat_counter(key.conference.as_str()).await?;
                let mut count = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(seats_key(key.conference.as_str())))
                    .update_expression("ADD seats_held :delta")
                    .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()));
                if delta > 0 {
                    count = count
                        .condition_expression("seats_held < :cap")
                        .expression_attribute_values(":cap", AttributeValue::N(seats.to_string()));
                }
                transaction = transaction.transact_items(
                    TransactWriteItem::builder()
                        .update(count.build().map_err(StoreError::unavailable)?)
                        .build(),
                );
            }
            let codes = match transaction.send().await {
                Ok(_) => return Ok(SeatChange::Done),
                Err(e) => match cancellation_codes(&e) {
                    Some(codes) => codes,
                    None => return Err(unavailable(e)),
                },
            };
            let failed =
                |i: usize| codes.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
            if failed(0) {
                // Changed since it was read: read it again.
                continue;
            }
            if failed(1) {
                return Ok(SeatChange::Full);
            }
            seat_backoff(attempt).await;
        }
        Err(StoreError::unavailable(
            "the conference's seat count was too busy; try again",
        ))
    }

    async fn seat_queue(
        &self,
        conference: &ConferenceId,
        queue: &SeatQueue,
        limit: usize,
    ) -> Result<Vec<Registration>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(SEAT_INDEX)
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":c", s(conference.as_str()));
        let want = match queue {
            SeatQueue::Waiting => {
                query = query
                    .key_condition_expression("#type = :c AND begins_with(seat_queue, :w)")
                    .expression_attribute_values(":w", s("w#"));
                SeatStatus::Waitlisted
            }
            SeatQueue::OffersExpiredBefore(now) => {
                query = query
                    .key_condition_expression("#type = :c AND seat_queue BETWEEN :o AND :now")
                    .expression_attribute_values(":o", s("o#"))
                    .expression_attribute_values(":now", s(format!("o#{now}")));
                SeatStatus::Offered
            }
        };
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = query
                .clone()
                .limit(limit.max(1) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for keys in out.items() {
                let Some(key) = item_key(keys) else { continue };
                // The index is eventually consistent: confirm on the item itself.
                if let Some(r) = self.get(&key).await? {
                    let expired = match (queue, &r.seat.offer_expires_at) {
                        (SeatQueue::OffersExpiredBefore(now), Some(at)) => at < now,
                        (SeatQueue::OffersExpiredBefore(_), None) => false,
                        (SeatQueue::Waiting, _) => true,
                    };
                    if r.seat.status == want && expired {
                        found.push(r);
                        if found.len() >= limit {
                            return Ok(found);
                        }
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn put_form(&self, conference: &ConferenceId, text: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("user_id", s(FORM_PARTITION))
            .item("type", s(conference.as_str()))
            .item("form", s(text))
            .item("updated_at", s(lanyard_domain::registration::now_rfc3339()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn forms(&self) -> Result<Vec<(ConferenceId, String)>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("user_id = :f")
                .expression_attribute_values(":f", s(FORM_PARTITION))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                if let (Some(c), Some(text)) = (text(item, "type"), text(item, "form")) {
                    found.push((ConferenceId::from_stored(c.to_owned()), text.to_owned()));
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    async fn enqueue_notices(&self, notices: &[Notice]) -> Result<(), StoreError> {
        use futures_util::StreamExt;
        let items: Vec<Item> = notices.iter().map(Self::notice_item).collect();
        let results: Vec<Result<bool, StoreError>> =
            futures_util::stream::iter(items.into_iter().map(|item| self.put_new(item)))
                .buffer_unordered(16)
                .collect()
                .await;
        for result in results {
            result?;
        }
        Ok(())
    }

    async fn claim_notices(
        &self,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<QueuedNotice>, StoreError> {
        let now = now_ms();
        let lapses = now + lease.as_millis() as i64;
        let mut claimed = Vec::new();
        for shard in 0..OUTBOX_SHARDS {
            if claimed.len() >= limit {
                break;
            }
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("user_id = :p")
                .filter_expression("run_after <= :now AND attribute_not_exists(done)")
                .expression_attribute_values(":p", s(format!("{OUTBOX_PARTITION}{shard}")))
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                if claimed.len() >= limit {
                    break;
                }
                let (Some(partition), Some(id), Some(body), Some(seen)) = (
                    text(item, "user_id"),
                    text(item, "type"),
                    text(item, "body"),
                    item.get("run_after").and_then(|v| v.as_n().ok()),
                ) else {
                    continue;
                };
                let attempts = item
                    .get("attempts")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                // Taken only if nobody took it since it was read.
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key("user_id", s(partition))
                    .key("type", s(id))
                    .update_expression("SET run_after = :lapses")
                    .condition_expression("run_after = :seen")
                    .expression_attribute_values(":lapses", AttributeValue::N(lapses.to_string()))
                    .expression_attribute_values(":seen", AttributeValue::N(seen.clone()))
                    .send()
                    .await;
                if conditional(result)?.is_none() {
                    continue;
                }
                match Notice::from_json(id, body) {
                    Some(notice) => claimed.push(QueuedNotice { notice, attempts }),
                    None => {
                        tracing::warn!(%id, "a notice this build cannot read is left in the outbox")
                    }
                }
            }
        }
        Ok(claimed)
    }

    async fn finish_notices(&self, ids: &[String]) -> Result<(), StoreError> {
        // Kept by id for a day (the table's time to live), body removed:
        // the same notice enqueued again is not sent again.
        let forget_at = time::OffsetDateTime::now_utc().unix_timestamp() + 24 * 3600;
        for id in ids {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("user_id", s(outbox_partition(id)))
                .key("type", s(id))
                .update_expression("SET done = :t, expires_at = :forget REMOVE body, last_error")
                .condition_expression("attribute_exists(user_id)")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":forget", AttributeValue::N(forget_at.to_string()))
                .send()
                .await;
            conditional(result)?;
        }
        Ok(())
    }

    async fn retry_notice(
        &self,
        id: &str,
        attempts: u32,
        delay: std::time::Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        let partition = outbox_partition(id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("user_id", s(partition))
            .key("type", s(id))
            .update_expression("SET attempts = :a, run_after = :r, last_error = :e")
            .condition_expression("attribute_exists(user_id)")
            .expression_attribute_values(":a", AttributeValue::N(attempts.to_string()))
            .expression_attribute_values(
                ":r",
                AttributeValue::N((now_ms() + delay.as_millis() as i64).to_string()),
            )
            .expression_attribute_values(":e", s(error.chars().take(1000).collect::<String>()))
            .send()
            .await;
        conditional(result)?;
        Ok(())
    }

    async fn notices_waiting(&self) -> Result<u64, StoreError> {
        let mut count = 0u64;
        for shard in 0..OUTBOX_SHARDS {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("user_id = :p")
                    .filter_expression("attribute_not_exists(done)")
                    .expression_attribute_values(":p", s(format!("{OUTBOX_PARTITION}{shard}")))
                    .select(aws_sdk_dynamodb::types::Select::Count)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable)?;
                count += out.count() as u64;
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(count)
    }

    async fn find_by_email(
        &self,
        email: &Email,
        limit: usize,
    ) -> Result<Vec<Registration>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(EMAIL_INDEX)
            .key_condition_expression("email_key = :e")
            .expression_attribute_values(":e", s(email.lookup_key()))
            .limit(limit as i32)
            .send()
            .await
            .map_err(unavailable)?;
        let mut found = Vec::new();
        for item in out.items() {
            if let Some(key) = item_key(item) {
                if let Some(r) = self.get(&key).await? {
                    found.push(r);
                }
            }
        }
        Ok(found)
    }

    async fn seats_held(&self, conference: &ConferenceId) -> Result<u64, StoreError> {
        match self.seat_counter(conference.as_str()).await? {
            Some(held) => Ok(held),
            None => self.count_held(conference.as_str()).await,
        }
    }

    async fn get(&self, key: &RegistrationKey) -> Result<Option<Registration>, StoreError> {
        match self.get_item(key).await? {
            Some(item) => required(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn list_by_user(&self, user_id: &UserId) -> Result<Vec<Registration>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("user_id = :u")
                .expression_attribute_values(":u", s(user_id.as_str()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            found.extend(out.items().iter().filter_map(readable));
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// One conference's registrations come from its index, newest first;
    /// every registration from a scan of the table. A search reads on
    /// (in pages of at least 100) until the page is full, for at most
    /// [`MAX_SCAN_PAGES`] reads.
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let mut start = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let of_index = query.conference.is_some();
        // A cursor belongs to the kind of list that made it.
        if let Some(start) = &start {
            let same_conference = query
                .conference
                .as_ref()
                .is_none_or(|c| text(start, "type") == Some(c.as_str()));
            if start.contains_key("listed_at") != of_index || !same_conference {
                return Err(StoreError::InvalidCursor);
            }
        }
        let mut items = Vec::new();
        for _ in 0..MAX_SCAN_PAGES {
            let want = query.limit - items.len();
            let limit = if query.search.is_some() || query.category.is_some() {
                SEARCH_PAGE
            } else {
                want as i32
            };
            let (page_items, last_key) = match &query.conference {
                Some(conference) => {
                    let out = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .index_name(LIST_INDEX)
                        .key_condition_expression("#type = :c")
                        .expression_attribute_names("#type", "type")
                        .expression_attribute_values(":c", s(conference.as_str()))
                        .scan_index_forward(false)
                        .limit(limit)
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(unavailable)?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
                None => {
                    let out = self
                        .client
                        .scan()
                        .table_name(&self.table)
                        .limit(limit)
                        .set_exclusive_start_key(start.take())
                        .send()
                        .await
                        .map_err(unavailable)?;
                    (out.items.unwrap_or_default(), out.last_evaluated_key)
                }
            };
            for (i, item) in page_items.iter().enumerate() {
                let Some(r) = readable(item) else { continue };
                if !matches_search(&r, query.search.as_deref()) {
                    continue;
                }
                if query
                    .category
                    .as_ref()
                    .is_some_and(|c| r.details.category.as_ref() != Some(c))
                {
                    continue;
                }
                items.push(r);
                if items.len() == query.limit {
                    let rest_of_page = i + 1 < page_items.len();
                    let next_cursor = if rest_of_page {
                        encode_cursor(item, of_index)
                    } else {
                        last_key.as_ref().and_then(|k| encode_cursor(k, of_index))
                    };
                    return Ok(Page { items, next_cursor });
                }
            }
            match last_key {
                Some(key) => start = Some(key),
                None => {
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    })
                }
            }
        }
        // A sparse search: hand back what was found and where to go on.
        Ok(Page {
            items,
            next_cursor: start.as_ref().and_then(|k| encode_cursor(k, of_index)),
        })
    }

    async fn find_by_badge_token(
        &self,
        token: &BadgeToken,
    ) -> Result<Option<Registration>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TOKEN_INDEX)
            .key_condition_expression("badge_token = :t")
            .expression_attribute_values(":t", s(token.as_str()))
            .send()
            .await
            .map_err(unavailable)?;
        for found in out.items() {
            let (Some(u), Some(t)) = (text(found, "user_id"), text(found, "type")) else {
                continue;
            };
            let user_id = UserId::from_stored(u.to_owned());
            let key = RegistrationKey {
                user_id,
                conference: ConferenceId::from_stored(t.to_owned()),
            };
            // The index is eventually consistent: confirm on the item itself.
            if let Some(r) = self.get(&key).await? {
                if r.badge.as_ref().is_some_and(|b| &b.token == token) {
                    return Ok(Some(r));
                }
            }
        }
        Ok(None)
    }

    async fn delete(&self, key: &RegistrationKey) -> Result<Option<Registration>, StoreError> {
        let Some(removed) = self.delete_counted(key, false).await? else {
            return Ok(None);
        };
        if removed.seat.status.holds_seat() {
            // Its seat is given back. A failure here (or a crash first)
            // leaves the seat counted: the conference stays under its
            // capacity, one seat short, never over.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(seats_key(removed.conference.as_str())))
                .update_expression("ADD seats_held :minus")
                .condition_expression("attribute_exists(seats_held)")
                .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
                .send()
                .await;
            if let Err(e) = conditional(result) {
                tracing::warn!(error = %e, "a deleted registration's seat stays counted");
            }
        }
        Ok(Some(removed))
    }

    async fn reset_badge(&self, registration: &Registration) -> Result<Option<u64>, StoreError> {
        let Some(badge) = &registration.badge else {
            return Err(StoreError::unavailable("a reset badge needs a token"));
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&registration.key())))
            .condition_expression("attribute_exists(user_id)")
            .expression_attribute_values(":s", s(badge.status.as_str()))
            .expression_attribute_values(":t", s(badge.token.as_str()))
            .expression_attribute_values(":p", s(shard_of(&badge.token)))
            .expression_attribute_values(":now", s(lanyard_domain::registration::now_rfc3339()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedOld);
        update = update
            .expression_attribute_values(":name", s(registration.person.user_name.as_str()))
            .expression_attribute_values(":phone", s(registration.person.phone_number.as_str()))
            .expression_attribute_values(
                ":consent",
                AttributeValue::Bool(registration.contact_on_badge),
            );
        let mut set = String::from(
            "SET badge_status = :s, badge_token = :t, pending_shard = :p, \
             badge_queued_at = :now, badge_sweeps = :zero, user_name = :name, \
             phone_number = :phone, contact_on_badge = :consent",
        );
        let mut remove = String::from(" REMOVE badge_error, badge_retry_at");
        let details = &registration.details;
        for (name, value) in [
            (
                "email",
                details.email.as_ref().map(|e| e.as_str().to_owned()),
            ),
            ("category", details.category.clone()),
            (
                "answers",
                (!details.answers.is_empty()).then(|| answers_json(&details.answers)),
            ),
        ] {
            match value {
                Some(value) => {
                    set.push_str(&format!(", {name} = :{name}"));
                    update = update.expression_attribute_values(format!(":{name}"), s(value));
                }
                None => remove.push_str(&format!(", {name}")),
            }
        }
        match &details.email {
            Some(email) => {
                set.push_str(", email_key = :email_key");
                update = update.expression_attribute_values(":email_key", s(email.lookup_key()));
            }
            None => remove.push_str(", email_key"),
        }
        match registration.person.company() {
            Some(company) => {
                set.push_str(", company_name = :co");
                update = update.expression_attribute_values(":co", s(company));
            }
            None => remove.push_str(", company_name"),
        }
        if let Some(code) = &registration.checkin_code {
            set.push_str(", ticket_code = :c");
            update = update.expression_attribute_values(":c", s(code.as_str()));
        }
        // ADD counts the revision atomically; an item without one was at 0.
        let result = update
            .update_expression(format!("{set}{remove} ADD badge_revision :one"))
            .send()
            .await;
        Ok(conditional(result)?.map(|out| out.attributes.as_ref().map_or(0, revision_of)))
    }

    async fn finish_badge(
        &self,
        key: &RegistrationKey,
        badge: &BadgeInfo,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .condition_expression(format!(
                "badge_token = :t AND {}",
                at_revision(badge.revision)
            ))
            .expression_attribute_values(":t", s(badge.token.as_str()))
            .expression_attribute_values(":rev", AttributeValue::N(badge.revision.to_string()))
            .expression_attribute_values(":s", s(badge.status.as_str()));
        let expression = match (&badge.error, &badge.retry_at) {
            (Some(error), Some(retry_at)) => {
                update = update
                    .expression_attribute_values(":e", s(error))
                    .expression_attribute_values(":r", s(retry_at))
                    .expression_attribute_values(":rs", s(retry_shard_of(&badge.token)));
                "SET badge_status = :s, badge_error = :e, badge_retry_at = :r, \
                 pending_shard = :rs, badge_queued_at = :r"
            }
            (Some(error), None) => {
                update = update.expression_attribute_values(":e", s(error));
                "SET badge_status = :s, badge_error = :e \
                 REMOVE pending_shard, badge_queued_at, badge_retry_at"
            }
            (None, _) => {
                "SET badge_status = :s \
                 REMOVE badge_error, pending_shard, badge_queued_at, badge_retry_at"
            }
        };
        Ok(conditional(update.update_expression(expression).send().await)?.is_some())
    }

    async fn failed_badges_due(
        &self,
        now: &str,
        limit: usize,
    ) -> Result<Vec<(RegistrationKey, BadgeToken)>, StoreError> {
        let shards = (0..PENDING_SHARDS).map(|n| format!("retry-{n}"));
        self.queued_before(shards, "<=", now, limit).await
    }

    async fn requeue_failed_badge(
        &self,
        key: &RegistrationKey,
        token: &BadgeToken,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .update_expression(
                "SET badge_status = :pending, pending_shard = :p, badge_queued_at = :now, \
                 badge_sweeps = :zero REMOVE badge_error, badge_retry_at",
            )
            .condition_expression(
                "badge_token = :t AND badge_status = :failed AND attribute_exists(badge_retry_at)",
            )
            .expression_attribute_values(":pending", s(BadgeStatus::Pending.as_str()))
            .expression_attribute_values(":failed", s(BadgeStatus::Failed.as_str()))
            .expression_attribute_values(":p", s(shard_of(token)))
            .expression_attribute_values(":now", s(lanyard_domain::registration::now_rfc3339()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":t", s(token.as_str()))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    async fn find_by_checkin_code(&self, code: &str) -> Result<Option<Registration>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(CODE_INDEX)
            .key_condition_expression("ticket_code = :c")
            .expression_attribute_values(":c", s(code))
            .send()
            .await
            .map_err(unavailable)?;
        for found in out.items() {
            let Some(key) = item_key(found) else { continue };
            // The index is eventually consistent: confirm on the item itself.
            if let Some(r) = self.get(&key).await? {
                if r.checkin_code.as_ref().is_some_and(|c| c.as_str() == code) {
                    return Ok(Some(r));
                }
            }
        }
        Ok(None)
    }

    async fn record_scan(&self, scan: &Scan) -> Result<Option<ScanOutcome>, StoreError> {
        // DynamoDB has no transaction spanning these reads and the
        // conditional write; each step is safe to repeat instead: a scan
        // racing its own replay finds its nonce in the first check-in.
        let first = &scan.first;
        if let Some((result, code)) = self.remembered(first).await? {
            return Ok(self
                .find_by_checkin_code(&code)
                .await?
                .map(|registration| ScanOutcome {
                    result,
                    registration,
                }));
        }
        let key = match &scan.target {
            ScanTarget::Key(key) => key.clone(),
            ScanTarget::Code(code) => match self.find_by_checkin_code(code).await? {
                Some(r) => r.key(),
                None => return Ok(None),
            },
        };
        let registration = match self
            .first_checkin(&key, first, scan.fresh_code.as_str())
            .await?
        {
            Some(r) => r,
            // Checked in already (or no such registration).
            None => match self.get(&key).await? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        let result = CheckinResult::of(registration.checked_in.as_ref(), first);
        let code = registration
            .checkin_code
            .as_ref()
            .map_or(scan.fresh_code.as_str(), |c| c.as_str());
        let mut item = nonce_key(&first.desk, &first.nonce);
        item.insert("result".into(), s(result.as_str()));
        item.insert("code".into(), s(code));
        item.insert(
            "expires_at".into(),
            AttributeValue::N(scan.expires_at.to_string()),
        );
        // A replay racing this scan may have remembered it first; either holds.
        self.put_new(item).await?;
        Ok(Some(ScanOutcome {
            result,
            registration,
        }))
    }

    async fn undo_checkin(&self, key: &RegistrationKey) -> Result<bool, StoreError> {
        self.undo_counted(key).await
    }

    async fn erase_keeping_count(
        &self,
        key: &RegistrationKey,
    ) -> Result<Option<Registration>, StoreError> {
        // The counts are anonymous and stay; one not counted yet is counted
        // as it is erased.
        self.delete_counted(key, true).await
    }

    async fn checkin_tallies(
        &self,
        conference: Option<&ConferenceId>,
    ) -> Result<Vec<Tally>, StoreError> {
        self.tallies(conference).await
    }

    async fn put_desk(&self, desk: &Desk, token_hash: &str) -> Result<(), StoreError> {
        let item = HashMap::from([
            ("user_id".to_owned(), s(DESK_PARTITION)),
            ("type".to_owned(), s(desk.name.as_str())),
            ("token_hash".to_owned(), s(token_hash)),
            ("created_at".to_owned(), s(&desk.created_at)),
        ]);
        match self.put_new(item).await? {
            true => Ok(()),
            false => Err(StoreError::Duplicate),
        }
    }

    async fn desks(&self) -> Result<Vec<Desk>, StoreError> {
        Ok(self
            .desk_items()
            .await?
            .into_iter()
            .map(|(desk, _)| desk)
            .collect())
    }

    async fn delete_desk(&self, name: &DeskName) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("user_id", s(DESK_PARTITION))
            .key("type", s(name.as_str()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn replace_desk_token(
        &self,
        name: &DeskName,
        expected: Option<&str>,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("user_id", s(DESK_PARTITION))
            .key("type", s(name.as_str()))
            .update_expression("SET token_hash = :new")
            .expression_attribute_values(":new", s(new_hash));
        update = match expected {
            Some(old) => update
                .condition_expression("token_hash = :old")
                .expression_attribute_values(":old", s(old)),
            None => update.condition_expression("attribute_exists(token_hash)"),
        };
        Ok(conditional(update.send().await)?.is_some())
    }

    async fn desk_by_token_hash(&self, hash: &str) -> Result<Option<Desk>, StoreError> {
        // A few dozen desks at most: one strongly consistent query of their
        // partition, so a revoked token is refused from the next request on.
        Ok(self
            .desk_items()
            .await?
            .into_iter()
            .find(|(_, h)| h == hash)
            .map(|(desk, _)| desk))
    }
}

fn item_key(item: &Item) -> Option<RegistrationKey> {
    let (u, t) = (text(item, "user_id")?, text(item, "type")?);
    Some(RegistrationKey {
        user_id: UserId::from_stored(u.to_owned()),
        conference: ConferenceId::from_stored(t.to_owned()),
    })
}

fn nonce_key(desk: &str, nonce: &str) -> Item {
    HashMap::from([
        ("user_id".to_owned(), s(format!("#nonce#{desk}#{nonce}"))),
        ("type".to_owned(), s("#")),
    ])
}

impl DynamoStore {
    /// The answer a scan (its desk and nonce) got, while remembered.
    async fn remembered(
        &self,
        first: &FirstCheckin,
    ) -> Result<Option<(CheckinResult, String)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(nonce_key(&first.desk, &first.nonce)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let expires_at = item
            .get("expires_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0);
        // DynamoDB deletes expired items lazily; an expired one is gone already.
        if expires_at < time::OffsetDateTime::now_utc().unix_timestamp() {
            return Ok(None);
        }
        match (
            text(&item, "result").and_then(CheckinResult::parse),
            text(&item, "code"),
        ) {
            (Some(result), Some(code)) => Ok(Some((result, code.to_owned()))),
            _ => Err(StoreError::unavailable("unreadable nonce item")),
        }
    }

    /// Every desk with its token hash, by name.
    async fn desk_items(&self) -> Result<Vec<(Desk, String)>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("user_id = :d")
                .expression_attribute_values(":d", s(DESK_PARTITION))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                if let (Some(name), Some(hash)) = (text(item, "type"), text(item, "token_hash")) {
                    found.push((
                        Desk {
                            name: DeskName::from_stored(name.to_owned()),
                            created_at: text(item, "created_at").unwrap_or_default().to_owned(),
                        },
                        hash.to_owned(),
                    ));
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let item = key_item(&RegistrationKey {
            user_id: UserId::parse("ada").unwrap(),
            conference: ConferenceId::from_stored("About cloud computing".into()),
        });
        let cursor = encode_cursor(&item, false).unwrap();
        assert_eq!(decode_cursor(&cursor).unwrap(), item);
        let mut listed = item.clone();
        listed.insert("listed_at".into(), s("2026-11-28T10:00:00.000Z"));
        let cursor = encode_cursor(&listed, true).unwrap();
        assert_eq!(decode_cursor(&cursor).unwrap(), listed);
        assert_eq!(
            encode_cursor(&item, true),
            None,
            "an index cursor needs its key"
        );
        for bad in [
            &URL_SAFE_NO_PAD.encode(r#"{"u":"ada","t":"a","l":""}"#),
            "x",
            "eyJ4IjoxfQ",
            "%%%",
            &URL_SAFE_NO_PAD.encode(r##"{"u":"#desk","t":"a"}"##),
            &URL_SAFE_NO_PAD.encode(r#"{"u":"a\u0000b","t":"a"}"#),
            &URL_SAFE_NO_PAD.encode(r#"{"u":"ada","t":""}"#),
        ] {
            assert!(matches!(decode_cursor(bad), Err(StoreError::InvalidCursor)));
        }
    }

    #[test]
    fn items_of_the_original_system_load_without_a_badge() {
        let item: Item = HashMap::from([
            ("user_id".to_owned(), s("hong")),
            ("type".to_owned(), s("Serverless web project")),
            ("user_name".to_owned(), s("홍길동")),
            ("phone_number".to_owned(), s("010-1234-5678")),
            ("company_name".to_owned(), s("")),
        ]);
        let r = from_item(&item).unwrap();
        assert_eq!(r.person.user_name.as_str(), "홍길동");
        assert_eq!(r.badge, None);
        assert_eq!(r.person.company_name, None);
        assert_eq!(r.created_at, "");
    }

    #[test]
    fn pending_items_carry_their_index_attributes_and_others_do_not() {
        let mut r = lanyard_domain::contract::sample("a", "Serverless web project", "A", None);
        let item = to_item(&r);
        assert!(item.contains_key("pending_shard") && item.contains_key("badge_queued_at"));
        r.badge.as_mut().unwrap().status = BadgeStatus::Ready;
        let item = to_item(&r);
        assert!(!item.contains_key("pending_shard") && !item.contains_key("badge_queued_at"));
        assert_eq!(from_item(&item).unwrap(), r);
        // A failure that may pass waits in a retry shard until its retry time.
        let badge = r.badge.as_mut().unwrap();
        badge.status = BadgeStatus::Failed;
        badge.error = Some("storage is unavailable".into());
        badge.retry_at = Some("2026-11-28T12:00:00.000Z".into());
        let item = to_item(&r);
        assert!(text(&item, "pending_shard").unwrap().starts_with("retry-"));
        assert_eq!(
            text(&item, "badge_queued_at"),
            Some("2026-11-28T12:00:00.000Z")
        );
        assert_eq!(from_item(&item).unwrap(), r);
    }
}
