//! Check-in tallies kept as counters, so the organizer's figures read a
//! few dozen items instead of the whole table.
//!
//! Counter items: per conference, how many registrations it has, spread
//! over [`SHARDS`] partitions `#tally#0`… (sort key: the conference), so
//! concurrent sign-ups seldom meet on one item in their transactions and
//! an import is not held to one partition's write rate; and per
//! conference, quarter hour and desk, how many were checked in there (the
//! `#tally#checkin` partition).
//! Erasure leaves both as they are: the counts are anonymous.
//!
//! A registration whose item carries `tallied` is in the counters; every
//! write that creates, checks in, undoes, deletes or erases one moves its
//! counters in the same transaction. Items without it (written by the
//! original system, or by a lanyard from before the counters, and the
//! `#erased` tallies of that time) are counted by a scan until
//! [`DynamoStore::count_untallied`] has counted them once; a scan that
//! finds none marks the table as counted, and reads are the counters alone
//! from then on.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use lanyard_domain::fields::ConferenceId;
use lanyard_domain::{FirstCheckin, Registration, RegistrationKey, StoreError, Tally};

use super::{
    cancellation_codes, is_bookkeeping, key_item, s, seat_backoff, text, unavailable, DynamoStore,
    Item, ERASED_PARTITION, SEAT_TRIES,
};

/// The partitions of the counters begin so.
const TALLY_PARTITION: &str = "#tally#";
/// The partition of the check-in counters.
const CHECKIN_PARTITION: &str = "#tally#checkin";
/// The item that says every registration is in the counters.
const COUNTED_PARTITION: &str = "#tallied";
/// The attribute of a registration (or an `#erased` tally) that is counted.
pub(super) const TALLIED: &str = "tallied";
/// Counters per conference for its registrations.
const SHARDS: u32 = 8;
/// Separates the parts of a counter's sort key (no conference, desk or
/// time contains it).
const SEP: char = '\u{1f}';

/// Where a registration is counted: its conference, and its check-in's
/// quarter hour (`2026-11-28T09:15`) and desk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Place {
    conference: String,
    checked_in: Option<(String, String)>,
}

impl Place {
    pub(super) fn of(registration: &Registration) -> Place {
        Place {
            conference: registration.conference.as_str().to_owned(),
            checked_in: registration
                .checked_in
                .as_ref()
                .map(|c| (quarter(&c.at), c.desk.clone())),
        }
    }

    /// A registration's place from its item, as far as the counters care.
    fn of_item(item: &Item) -> Option<Place> {
        Some(Place {
            conference: text(item, "type")?.to_owned(),
            checked_in: text(item, "checked_in_at").map(|at| {
                (
                    quarter(at),
                    text(item, "checked_in_desk").unwrap_or_default().to_owned(),
                )
            }),
        })
    }
}

/// The quarter hour a check-in time falls in, cut as a minute is
/// (`2026-11-28T09:15`): the figures count by quarter hour, no finer.
fn quarter(at: &str) -> String {
    match lanyard_domain::checkin::quarter_hour(at) {
        Some(q) => q.trim_end_matches('Z').to_owned(),
        None => at.chars().take(16).collect(),
    }
}

/// The shard of a registration's counter: from its key, so its removal
/// moves the counter its creation moved.
fn shard(key: &RegistrationKey) -> u32 {
    let sum: u32 = key
        .user_id
        .as_str()
        .bytes()
        .chain(key.conference.as_str().bytes())
        .map(u32::from)
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(b));
    sum % SHARDS
}

fn counter_key(partition: String, sort: String) -> Item {
    HashMap::from([
        ("user_id".to_owned(), s(partition)),
        ("type".to_owned(), s(sort)),
    ])
}

fn counted_key() -> Item {
    HashMap::from([
        ("user_id".to_owned(), s(COUNTED_PARTITION)),
        ("type".to_owned(), s("all")),
    ])
}

impl DynamoStore {
    /// The counter updates that add `by` (1 or -1, or an `#erased`
    /// tally's count) registrations at `place`.
    /// `shard`: the counter of registrations to move, if any; the
    /// check-in's counter moves when `place` has one.
    pub(super) fn count(
        &self,
        shard: Option<u32>,
        place: &Place,
        by: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut counters = Vec::new();
        if let Some(shard) = shard {
            counters.push((
                format!("{TALLY_PARTITION}{shard}"),
                place.conference.clone(),
                String::new(),
                String::new(),
            ));
        }
        if let Some((quarter, desk)) = &place.checked_in {
            counters.push((
                CHECKIN_PARTITION.to_owned(),
                format!("{}{SEP}{quarter}{SEP}{desk}", place.conference),
                quarter.clone(),
                desk.clone(),
            ));
        }
        counters
            .into_iter()
            .map(|(partition, sort, quarter, desk)| {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(counter_key(partition, sort)))
                    .update_expression(
                        "SET tally_type = :c, tally_quarter = :q, tally_desk = :d \
                         ADD tally_count :n",
                    )
                    .expression_attribute_values(":c", s(&place.conference))
                    .expression_attribute_values(":q", s(quarter))
                    .expression_attribute_values(":d", s(desk))
                    .expression_attribute_values(":n", AttributeValue::N(by.to_string()))
                    .build()
                    .map_err(StoreError::unavailable)?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    /// The counter updates for a registration at `place`.
    pub(super) fn count_registration(
        &self,
        key: &RegistrationKey,
        place: &Place,
        by: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        self.count(Some(shard(key)), place, by)
    }

    /// Runs a transaction, again (with a pause) while it is cancelled only
    /// by conflicts with others on the same counters. `Ok(Err(codes))`
    /// when a condition did not hold: the codes of its items, in order.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<String>>, StoreError> {
        for attempt in 0..SEAT_TRIES {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Ok(())),
                Err(e) => match cancellation_codes(&e) {
                    Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => {
                        return Ok(Err(codes))
                    }
                    // Nothing that passes by trying again.
                    Some(codes) if codes.iter().any(|c| c == "ValidationError") => {
                        return Err(unavailable(e))
                    }
                    // Conflicts with another transaction, or throttling.
                    Some(_) => seat_backoff(attempt).await,
                    None => return Err(unavailable(e)),
                },
            }
        }
        Err(StoreError::unavailable(
            "the check-in counts were too busy; try again",
        ))
    }

    /// A condition on a registration item: it is counted (or not), and its
    /// check-in is as `place` says.
    pub(super) fn as_read(
        place: &Place,
        at: Option<&str>,
        tallied: bool,
    ) -> (String, Vec<(&'static str, AttributeValue)>) {
        let counted = if tallied {
            format!("attribute_exists({TALLIED})")
        } else {
            format!("attribute_exists(user_id) AND attribute_not_exists({TALLIED})")
        };
        match (&place.checked_in, at) {
            (Some(_), Some(at)) => (
                format!("{counted} AND checked_in_at = :was_at"),
                vec![(":was_at", s(at))],
            ),
            _ => (
                format!("{counted} AND attribute_not_exists(checked_in_at)"),
                vec![],
            ),
        }
    }

    /// Deletes a registration and moves its counters, as one transaction;
    /// `None` if it is gone. `keep_counted`: an erasure, which leaves the
    /// counts as they are (and counts a registration not yet counted).
    pub(super) async fn delete_counted(
        &self,
        key: &RegistrationKey,
        keep_counted: bool,
    ) -> Result<Option<Registration>, StoreError> {
        for _ in 0..SEAT_TRIES {
            let Some(item) = self.get_item(key).await? else {
                return Ok(None);
            };
            // From the attributes themselves: an item that no longer reads
            // as a registration (edited by hand) is removed all the same.
            let Some(place) = Place::of_item(&item) else {
                return Ok(None);
            };
            let tallied = item.contains_key(TALLIED);
            let at = text(&item, "checked_in_at");
            let (condition, values) = Self::as_read(&place, at, tallied);
            let mut delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(key)))
                .condition_expression(condition);
            for (name, value) in values {
                delete = delete.expression_attribute_values(name, value);
            }
            let mut items = vec![TransactWriteItem::builder()
                .delete(delete.build().map_err(StoreError::unavailable)?)
                .build()];
            match (tallied, keep_counted) {
                (true, false) => items.extend(self.count_registration(key, &place, -1)?),
                (false, true) => items.extend(self.count_registration(key, &place, 1)?),
                _ => {}
            }
            match self.transact(items).await? {
                Ok(()) => return super::required(&item).map(Some),
                // Changed (or gone) since it was read: read it again.
                Err(_) => continue,
            }
        }
        Err(StoreError::unavailable(
            "the registration kept changing while it was being removed",
        ))
    }

    /// The counters, and whether they hold every registration.
    async fn counters(&self) -> Result<(Vec<Tally>, bool), StoreError> {
        let mut registered: HashMap<String, i64> = HashMap::new();
        let mut checked: HashMap<(String, String, String), i64> = HashMap::new();
        let partitions = (0..SHARDS)
            .map(|n| format!("{TALLY_PARTITION}{n}"))
            .chain([CHECKIN_PARTITION.to_owned()]);
        for partition in partitions {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("user_id = :p")
                    .expression_attribute_values(":p", s(&partition))
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out.items() {
                    let (Some(conference), Some(quarter), Some(desk), Some(n)) = (
                        text(item, "tally_type"),
                        text(item, "tally_quarter"),
                        text(item, "tally_desk"),
                        item.get("tally_count")
                            .and_then(|v| v.as_n().ok())
                            .and_then(|n| n.parse::<i64>().ok()),
                    ) else {
                        continue;
                    };
                    if quarter.is_empty() {
                        *registered.entry(conference.to_owned()).or_default() += n;
                    } else {
                        *checked
                            .entry((conference.to_owned(), quarter.to_owned(), desk.to_owned()))
                            .or_default() += n;
                    }
                }
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        let mut tallies = Vec::new();
        for ((conference, quarter, desk), n) in checked {
            *registered.entry(conference.clone()).or_default() -= n;
            if n > 0 {
                tallies.push(Tally {
                    conference: ConferenceId::from_stored(conference),
                    checked_in: Some((quarter, desk)),
                    count: n as u64,
                });
            }
        }
        for (conference, n) in registered {
            if n > 0 {
                tallies.push(Tally {
                    conference: ConferenceId::from_stored(conference),
                    checked_in: None,
                    count: n as u64,
                });
            }
        }
        let marker = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(counted_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok((tallies, marker.item.is_some()))
    }

    /// Every item not yet in the counters: registrations, and the
    /// `#erased` tallies of before the counters (with their count).
    async fn untallied(&self) -> Result<Vec<(Item, u64)>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(format!(
                    "attribute_not_exists({TALLIED}) AND \
                     (NOT begins_with(user_id, :book) OR user_id = :erased)"
                ))
                .expression_attribute_values(":book", s("#"))
                .expression_attribute_values(":erased", s(ERASED_PARTITION))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in out.items() {
                if text(item, "user_id") == Some(ERASED_PARTITION)
                    || (!is_bookkeeping(item) && text(item, "type").is_some())
                {
                    found.push((item.clone(), registrations_in(item)));
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// The tallies: the counters, and while some registrations are not in
    /// them yet, those too (read by a scan). A scan that finds every one
    /// counted marks the table so, and is not made again.
    pub(super) async fn tallies(
        &self,
        conference: Option<&ConferenceId>,
    ) -> Result<Vec<Tally>, StoreError> {
        let (mut tallies, complete) = self.counters().await?;
        if !complete {
            let untallied = self.untallied().await?;
            if untallied.is_empty() {
                let put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(counted_key()))
                    .send()
                    .await;
                if let Err(e) = put {
                    tracing::warn!(error = %unavailable(e), "the counted mark was not written");
                }
            }
            for (item, n) in untallied {
                let Some(place) = place_of_untallied(&item) else {
                    continue;
                };
                tallies.push(Tally {
                    conference: ConferenceId::from_stored(place.conference),
                    checked_in: place.checked_in,
                    count: n,
                });
            }
        }
        if let Some(c) = conference {
            tallies.retain(|t| &t.conference == c);
        }
        Ok(tallies)
    }

    /// Puts every registration (and `#erased` tally) not yet in the
    /// counters into them, each in a transaction conditional on it being
    /// as it was read, so writes meanwhile are counted once. Returns how
    /// many items were counted; run again, it counts none.
    pub async fn count_untallied(&self) -> Result<usize, StoreError> {
        let mut counted = 0;
        for (mut item, mut n) in self.untallied().await? {
            for _ in 0..SEAT_TRIES {
                let Some(place) = place_of_untallied(&item) else {
                    break;
                };
                let key: Item = ["user_id", "type"]
                    .iter()
                    .filter_map(|k| Some(((*k).to_owned(), item.get(*k)?.clone())))
                    .collect();
                let erased = text(&item, "user_id") == Some(ERASED_PARTITION);
                let mut mark = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key.clone()))
                    .update_expression(format!("SET {TALLIED} = :yes"))
                    .expression_attribute_values(":yes", AttributeValue::Bool(true));
                let counters = if erased {
                    mark = mark
                        .condition_expression(format!(
                            "attribute_not_exists({TALLIED}) AND erased_count = :n"
                        ))
                        .expression_attribute_values(":n", AttributeValue::N(n.to_string()));
                    self.count(Some(0), &place, n as i64)?
                } else {
                    let at = text(&item, "checked_in_at");
                    let (condition, values) = Self::as_read(&place, at, false);
                    mark = mark.condition_expression(condition);
                    for (name, value) in values {
                        mark = mark.expression_attribute_values(name, value);
                    }
                    let Some(registration_key) = super::item_key(&item) else {
                        break;
                    };
                    self.count_registration(&registration_key, &place, 1)?
                };
                let mut items = vec![TransactWriteItem::builder()
                    .update(mark.build().map_err(StoreError::unavailable)?)
                    .build()];
                items.extend(counters);
                match self.transact(items).await? {
                    Ok(()) => {
                        counted += 1;
                        break;
                    }
                    // Changed since it was read: read it again.
                    Err(_) => {
                        let out = self
                            .client
                            .get_item()
                            .table_name(&self.table)
                            .set_key(Some(key))
                            .consistent_read(true)
                            .send()
                            .await
                            .map_err(unavailable)?;
                        match out.item {
                            Some(fresh) if !fresh.contains_key(TALLIED) => {
                                n = registrations_in(&fresh);
                                item = fresh;
                            }
                            // Gone, or counted by another.
                            _ => break,
                        }
                    }
                }
            }
        }
        Ok(counted)
    }

    /// Sets a registration's first check-in unless it has one, and its
    /// check-in code unless it has one, moving the check-in's counter in
    /// the same transaction. The registration as it is then; `None` if it
    /// was checked in already or is gone.
    pub(super) async fn first_checkin(
        &self,
        key: &RegistrationKey,
        first: &FirstCheckin,
        fresh_code: &str,
    ) -> Result<Option<Registration>, StoreError> {
        let set = "SET checked_in_at = :at, checked_in_desk = :d, checked_in_nonce = :n, \
                   ticket_code = if_not_exists(ticket_code, :c)";
        let place = Place {
            conference: key.conference.as_str().to_owned(),
            checked_in: Some((quarter(&first.at), first.desk.clone())),
        };
        for _ in 0..SEAT_TRIES {
            let counted = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(key)))
                .update_expression(set)
                .condition_expression(format!(
                    "attribute_exists({TALLIED}) AND attribute_not_exists(checked_in_at)"
                ))
                .expression_attribute_values(":at", s(&first.at))
                .expression_attribute_values(":d", s(&first.desk))
                .expression_attribute_values(":n", s(&first.nonce))
                .expression_attribute_values(":c", s(fresh_code))
                .build()
                .map_err(StoreError::unavailable)?;
            let mut items = vec![TransactWriteItem::builder().update(counted).build()];
            items.extend(self.count(None, &place, 1)?);
            if self.transact(items).await?.is_ok() {
                return super::RegistrationStore::get(self, key).await;
            }
            // Not counted yet (written before the counters): the scan that
            // counts it will count its check-in.
            let plain = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_item(key)))
                .update_expression(set)
                .condition_expression(format!(
                    "attribute_exists(user_id) AND attribute_not_exists({TALLIED}) \
                     AND attribute_not_exists(checked_in_at)"
                ))
                .expression_attribute_values(":at", s(&first.at))
                .expression_attribute_values(":d", s(&first.desk))
                .expression_attribute_values(":n", s(&first.nonce))
                .expression_attribute_values(":c", s(fresh_code))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            if let Some(item) = super::conditional(plain)?.and_then(|out| out.attributes) {
                return super::required(&item).map(Some);
            }
            match self.get_item(key).await? {
                // Counted between the two tries: try again.
                Some(item) if !item.contains_key("checked_in_at") => continue,
                _ => return Ok(None),
            }
        }
        Err(StoreError::unavailable(
            "the registration kept changing while it was being checked in",
        ))
    }

    /// Removes a registration's check-in, moving its counter in the same
    /// transaction. `false` if there is no such registration.
    pub(super) async fn undo_counted(&self, key: &RegistrationKey) -> Result<bool, StoreError> {
        for _ in 0..SEAT_TRIES {
            let Some(item) = self.get_item(key).await? else {
                return Ok(false);
            };
            let Some(at) = text(&item, "checked_in_at").map(str::to_owned) else {
                return Ok(true);
            };
            let tallied = item.contains_key(TALLIED);
            let Some(place) = Place::of_item(&item) else {
                return Ok(false);
            };
            let (condition, values) = Self::as_read(&place, Some(&at), tallied);
            let mut update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key_item(key)))
                .update_expression("REMOVE checked_in_at, checked_in_desk, checked_in_nonce")
                .condition_expression(condition);
            for (name, value) in values {
                update = update.expression_attribute_values(name, value);
            }
            let mut items = vec![TransactWriteItem::builder()
                .update(update.build().map_err(StoreError::unavailable)?)
                .build()];
            if tallied {
                items.extend(self.count(None, &place, -1)?);
            }
            if self.transact(items).await?.is_ok() {
                return Ok(true);
            }
        }
        Err(StoreError::unavailable(
            "the registration kept changing while its check-in was being undone",
        ))
    }

    /// A registration put with its counter moved, in one transaction with
    /// `more` (notices, say). `false` if its key is taken.
    pub(super) async fn put_counted(
        &self,
        registration: &Registration,
        more: Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        let item = counted_item(registration);
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(user_id)")
            .build()
            .map_err(StoreError::unavailable)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.count_registration(&registration.key(), &Place::of(registration), 1)?);
        items.extend(more);
        match self.transact(items).await? {
            Ok(()) => Ok(true),
            Err(codes) if codes.first().map(String::as_str) == Some("ConditionalCheckFailed") => {
                Ok(false)
            }
            Err(codes) => Err(StoreError::unavailable(format!(
                "a registration's write was refused: {codes:?}"
            ))),
        }
    }
}

/// The item a new registration is stored as: counted.
pub(super) fn counted_item(registration: &Registration) -> Item {
    let mut item = super::to_item(registration);
    item.insert(TALLIED.into(), AttributeValue::Bool(true));
    item
}

/// How many registrations an item not yet counted stands for: one, or an
/// `#erased` tally's count.
fn registrations_in(item: &Item) -> u64 {
    if text(item, "user_id") != Some(ERASED_PARTITION) {
        return 1;
    }
    item.get("erased_count")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The place an untallied item is counted at: a registration's, or an
/// `#erased` tally's (its minute is cut to the quarter hour).
fn place_of_untallied(item: &Item) -> Option<Place> {
    if text(item, "user_id") == Some(ERASED_PARTITION) {
        let minute = text(item, "erased_minute")?;
        Some(Place {
            conference: text(item, "erased_type")?.to_owned(),
            checked_in: (!minute.is_empty()).then(|| {
                (
                    quarter(minute),
                    text(item, "erased_desk").unwrap_or_default().to_owned(),
                )
            }),
        })
    } else {
        Place::of_item(item)
    }
}
