//! The event day: check-in codes, desks and check-ins (SPEC §9, §10).
//!
//! Every registration has a check-in code, printed in its badge's QR. A desk
//! (a named, revocable token) scans it; the first check-in of a registration
//! wins and later scans are told when and where it was. Each scan carries a
//! nonce chosen by the desk, so a scan replayed after the desk was offline is
//! answered as it was the first time and counted once.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::fields::{free_text, ConferenceId, FieldError};
use crate::ports::{RegistrationStore, StoreError};
use crate::registration::now_rfc3339;
use crate::service::LanyardError;

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or
/// typed from a printout has nothing to confuse.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of a code without its dashes: 16 × 5 = 80 random bits.
const CODE_CHARS: usize = 16;

/// A registration's check-in code: 80 random bits as four groups of four
/// Crockford base32 characters, `7QX4-M2KD-9HZ1-C8TA`. Upper case letters,
/// digits and dashes only, so a QR code holds it in alphanumeric mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CheckinCode(String);

impl CheckinCode {
    /// A fresh code from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 10];
        getrandom::fill(&mut bytes).expect("the operating system's random source is available");
        // Base32 of a fixed 80 bits is five bits per character, written out
        // here rather than adding a crate for one fixed-size case.
        let bits = bytes
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        let chars: Vec<u8> = (0..CODE_CHARS)
            .map(|i| ALPHABET[((bits >> (5 * (CODE_CHARS - 1 - i))) & 31) as usize])
            .collect();
        CheckinCode(group(&chars))
    }

    /// A code as typed or scanned: case, spaces and dashes do not matter, and
    /// `O`, `I` and `L` are read as `0`, `1` and `1`. `None` if it cannot be one.
    pub fn parse(text: &str) -> Option<Self> {
        let mut chars = Vec::with_capacity(CODE_CHARS);
        for c in text.trim().chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || chars.len() == CODE_CHARS {
                return None;
            }
            chars.push(c as u8);
        }
        (chars.len() == CODE_CHARS).then(|| CheckinCode(group(&chars)))
    }

    /// A code as stored. Stored values are trusted: builds before check-in
    /// codes wrote other unguessable strings, and those still work.
    pub fn from_stored(code: String) -> Self {
        CheckinCode(code)
    }

    /// The code in the text of a scanned badge QR: a bare code, a vCard
    /// whose `UID` is `urn:lanyard:checkin:<code>`, or an older ticket badge's
    /// `LANYARD-TICKET:<code>`. Returns the text to look up.
    pub fn find_in(scanned: &str) -> Option<String> {
        let scanned = scanned.trim();
        for marker in [URN_PREFIX, TICKET_PREFIX] {
            let found = scanned
                .char_indices()
                .find(|(i, _)| {
                    scanned[*i..]
                        .get(..marker.len())
                        .is_some_and(|s| s.eq_ignore_ascii_case(marker))
                })
                .map(|(i, _)| i);
            if let Some(at) = found {
                let rest = &scanned[at + marker.len()..];
                let end = rest.find(['\r', '\n', ';']).unwrap_or(rest.len());
                let code = rest[..end].trim();
                return (!code.is_empty())
                    .then(|| CheckinCode::parse(code).map_or_else(|| code.to_owned(), |c| c.0));
            }
        }
        match CheckinCode::parse(scanned) {
            Some(code) => Some(code.0),
            // A code stored by an earlier build: unguessable text, used as is.
            None => (!scanned.is_empty()
                && scanned.len() <= 64
                && scanned
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| scanned.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a vCard names the check-in code in its `UID`.
pub const URN_PREFIX: &str = "urn:lanyard:checkin:";
const TICKET_PREFIX: &str = "LANYARD-TICKET:";

fn group(chars: &[u8]) -> String {
    chars
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join("-")
}

/// A desk's name, as organizers call it ("Door A"): 1–40 characters after
/// trimming, with the rules of every free-text field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct DeskName(String);

impl DeskName {
    pub const FIELD: &'static str = "name";
    /// The name check-ins get when the organizer token makes them without naming a desk.
    pub const ORGANIZER: &'static str = "organizer";

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = free_text(Self::FIELD, s)?;
        if !(1..=40).contains(&s.chars().count()) {
            return Err(FieldError::new(Self::FIELD, "must be 1 to 40 characters"));
        }
        Ok(DeskName(s))
    }

    pub fn from_stored(s: String) -> Self {
        DeskName(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A scan's nonce, chosen by the desk: 1–64 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    pub const FIELD: &'static str = "nonce";

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Nonce(s.to_owned()))
        } else {
            Err(FieldError::new(
                Self::FIELD,
                "must be 1 to 64 visible ASCII characters",
            ))
        }
    }

    /// A fresh nonce, for check-ins made without one.
    pub fn generate() -> Self {
        Nonce(crate::fields::random_code())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A registration's first check-in: it stays, whoever scans later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstCheckin {
    /// RFC 3339 UTC, milliseconds.
    pub at: String,
    pub desk: String,
    /// The scan's nonce, so its replay is recognised as the same scan.
    pub nonce: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckinResult {
    CheckedIn,
    AlreadyCheckedIn,
}

impl CheckinResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckinResult::CheckedIn => "checked_in",
            CheckinResult::AlreadyCheckedIn => "already_checked_in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "checked_in" => Some(CheckinResult::CheckedIn),
            "already_checked_in" => Some(CheckinResult::AlreadyCheckedIn),
            _ => None,
        }
    }
}

impl CheckinResult {
    /// The one rule for a scan's answer: `checked_in` if this scan (its
    /// desk and nonce) is the registration's first check-in, whenever it
    /// was recorded; `already_checked_in` otherwise.
    pub fn of(first: Option<&FirstCheckin>, scan: &FirstCheckin) -> Self {
        match first {
            Some(f) if f.nonce == scan.nonce && f.desk == scan.desk => CheckinResult::CheckedIn,
            _ => CheckinResult::AlreadyCheckedIn,
        }
    }
}

/// Whom a scan names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanTarget {
    /// A check-in code as stored (see [`CheckinCode::find_in`]).
    Code(String),
    /// A registration found by name search.
    Key(crate::registration::RegistrationKey),
}

/// A desk's scan, as a store records it (see
/// [`crate::RegistrationStore::record_scan`]).
#[derive(Debug, Clone)]
pub struct Scan {
    pub target: ScanTarget,
    /// This scan as the first check-in it would be: now, the desk, its nonce.
    pub first: FirstCheckin,
    /// Given to a registration that has no check-in code yet.
    pub fresh_code: CheckinCode,
    /// Seconds since the Unix epoch until which the scan's answer is
    /// remembered for replays.
    pub expires_at: i64,
}

/// A recorded scan: its answer and the registration as stored afterwards.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub result: CheckinResult,
    pub registration: crate::registration::Registration,
}

/// How long a scan's nonce is remembered: longer than any desk stays offline.
pub const NONCE_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// A check-in desk. Its token is shown once; only [`token_hash`] is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desk {
    pub name: DeskName,
    pub created_at: String,
}

/// The stored form of a desk token: SHA-256, hex. Desk tokens are 128 random
/// bits, so a fast hash is enough to make a stolen database useless for
/// checking people in.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A desk token: `desk_` and 128 random bits. The prefix tells tokens apart
/// from the organizer's in logs and secret scanners.
pub fn new_desk_token() -> String {
    format!("desk_{}", crate::fields::random_code())
}

/// Creates a desk in `store` and returns it with its token, shown this
/// once. The command line (which has no [`crate::Lanyard`]) and the API
/// share this.
pub async fn create_desk(
    store: &dyn RegistrationStore,
    name: &str,
) -> Result<(Desk, String), LanyardError> {
    let desk = Desk {
        name: DeskName::parse(name)?,
        created_at: now_rfc3339(),
    };
    let token = new_desk_token();
    match store.put_desk(&desk, &token_hash(&token)).await {
        Ok(()) => Ok((desk, token)),
        Err(StoreError::Duplicate) => Err(LanyardError::DeskExists),
        Err(e) => Err(e.into()),
    }
}

/// A check-in's time: when the desk says it took the scan, kept between
/// [`NONCE_TTL_SECONDS`] ago (how long a desk's queue is answered for) and
/// `now`, so a desk clock running ahead cannot date a check-in in the
/// future; `now` when the desk does not say.
pub fn scanned_at(given: Option<&str>, now: time::OffsetDateTime) -> Result<String, FieldError> {
    let Some(given) = given else {
        return Ok(crate::registration::rfc3339(now));
    };
    let at = time::OffsetDateTime::parse(given, &time::format_description::well_known::Rfc3339)
        .map_err(|_| {
            FieldError::new(
                "scanned_at",
                "must be a time like 2026-12-06T09:30:00Z (RFC 3339)",
            )
        })?;
    let earliest = now - time::Duration::seconds(NONCE_TTL_SECONDS);
    let at = at.to_offset(time::UtcOffset::UTC).clamp(earliest, now);
    Ok(crate::registration::rfc3339(at))
}

/// [`scanned_at`] as of now.
pub fn scanned_at_now(given: Option<&str>) -> Result<String, FieldError> {
    scanned_at(given, time::OffsetDateTime::now_utc())
}

/// How long a desk's sign-in code may wait to be scanned.
pub const ENROLMENT_MINUTES: i64 = 10;

/// A one-time code that signs a phone in as a desk: shown as a QR code on
/// the organizer's screen, scanned by the phone, exchanged once for the
/// desk's token ([`redeem_enrolment`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub desk: DeskName,
    /// `enrol_`, its expiry (Unix seconds), `_` and 128 random bits.
    pub code: String,
    pub expires_at: String,
}

/// Makes a sign-in code for a desk; it stands in for the desk's token until
/// it is exchanged, so the desk's current token (and any earlier code) is
/// refused from now on. [`LanyardError::NotFound`] if there is no such desk.
pub async fn enrol_desk(
    store: &dyn RegistrationStore,
    name: &str,
) -> Result<Enrolment, LanyardError> {
    let desk = DeskName::parse(name).map_err(|_| LanyardError::NotFound)?;
    let expires = time::OffsetDateTime::now_utc() + time::Duration::minutes(ENROLMENT_MINUTES);
    let code = format!(
        "enrol_{}_{}",
        expires.unix_timestamp(),
        crate::fields::random_code()
    );
    if !store
        .replace_desk_token(&desk, None, &token_hash(&code))
        .await?
    {
        return Err(LanyardError::NotFound);
    }
    Ok(Enrolment {
        desk,
        code,
        expires_at: crate::registration::rfc3339(expires),
    })
}

/// Exchanges a sign-in code for a new desk token, once: a code that is
/// used, expired, replaced or made up is [`LanyardError::EnrolmentRefused`].
pub async fn redeem_enrolment(
    store: &dyn RegistrationStore,
    code: &str,
) -> Result<(Desk, String), LanyardError> {
    let mut parts = code.splitn(3, '_');
    let (Some("enrol"), Some(expiry), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(LanyardError::EnrolmentRefused);
    };
    let expired = expiry.parse::<i64>().map_or(true, |at| {
        at < time::OffsetDateTime::now_utc().unix_timestamp()
    });
    if expired || code.len() > 80 {
        return Err(LanyardError::EnrolmentRefused);
    }
    let hash = token_hash(code);
    let desk = store
        .desk_by_token_hash(&hash)
        .await?
        .ok_or(LanyardError::EnrolmentRefused)?;
    let token = new_desk_token();
    if store
        .replace_desk_token(&desk.name, Some(&hash), &token_hash(&token))
        .await?
    {
        Ok((desk, token))
    } else {
        // Another phone exchanged it first.
        Err(LanyardError::EnrolmentRefused)
    }
}

/// Revokes a desk's token in `store`: refused from the next request on.
pub async fn revoke_desk(store: &dyn RegistrationStore, name: &str) -> Result<(), LanyardError> {
    let name = DeskName::parse(name).map_err(|_| LanyardError::NotFound)?;
    if store.delete_desk(&name).await? {
        Ok(())
    } else {
        Err(LanyardError::NotFound)
    }
}

/// One line of a store's check-in tally: how many registrations of a
/// conference share a check-in state (`None`: not checked in), with the
/// check-in time cut to the minute (or to its quarter hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub conference: ConferenceId,
    pub checked_in: Option<(String, String)>,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CheckinStats {
    pub conferences: Vec<ConferenceStats>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConferenceStats {
    #[serde(rename = "type")]
    pub conference: String,
    pub registered: u64,
    pub checked_in: u64,
    pub per_desk: Vec<DeskCount>,
    pub per_quarter_hour: Vec<QuarterCount>,
    /// Seats held (confirmed and offered) of the conference's capacity,
    /// when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats: Option<SeatCount>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeatCount {
    pub held: u64,
    pub capacity: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeskCount {
    pub desk: String,
    pub checked_in: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuarterCount {
    /// The quarter hour's start, `2026-11-28T09:15Z`.
    pub start: String,
    pub checked_in: u64,
}

/// The quarter hour an RFC 3339 UTC time falls in, `2026-11-28T09:15Z`.
pub fn quarter_hour(at: &str) -> Option<String> {
    let hour = at.get(..13)?;
    let minute: u32 = at.get(14..16)?.parse().ok()?;
    Some(format!("{hour}:{:02}Z", minute / 15 * 15))
}

/// Adds up a store's tallies per conference, desk and quarter hour, in
/// the order of `conferences` (unknown conferences after, by name).
pub fn stats(tallies: Vec<Tally>, conferences: &[&str]) -> CheckinStats {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Acc {
        registered: u64,
        checked_in: u64,
        desks: BTreeMap<String, u64>,
        quarters: BTreeMap<String, u64>,
    }
    let mut by: BTreeMap<String, Acc> = conferences
        .iter()
        .map(|c| ((*c).to_owned(), Acc::default()))
        .collect();
    for t in tallies {
        let acc = by.entry(t.conference.as_str().to_owned()).or_default();
        acc.registered += t.count;
        if let Some((at, desk)) = t.checked_in {
            acc.checked_in += t.count;
            *acc.desks.entry(desk).or_default() += t.count;
            if let Some(q) = quarter_hour(&at) {
                *acc.quarters.entry(q).or_default() += t.count;
            }
        }
    }
    let position = |c: &str| {
        conferences
            .iter()
            .position(|x| *x == c)
            .unwrap_or(usize::MAX)
    };
    let mut out: Vec<ConferenceStats> = by
        .into_iter()
        .map(|(conference, acc)| ConferenceStats {
            seats: None,
            conference,
            registered: acc.registered,
            checked_in: acc.checked_in,
            per_desk: acc
                .desks
                .into_iter()
                .map(|(desk, checked_in)| DeskCount { desk, checked_in })
                .collect(),
            per_quarter_hour: acc
                .quarters
                .into_iter()
                .map(|(start, checked_in)| QuarterCount { start, checked_in })
                .collect(),
        })
        .collect();
    out.sort_by_key(|c| position(&c.conference));
    CheckinStats { conferences: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_have_the_documented_shape_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let code = CheckinCode::generate();
            let s = code.as_str();
            assert_eq!(s.len(), 19, "{s}");
            assert!(s.split('-').all(|g| g.len() == 4), "{s}");
            assert_eq!(CheckinCode::parse(s), Some(code.clone()));
            assert_eq!(
                CheckinCode::parse(&s.to_lowercase().replace('-', " ")),
                Some(code.clone())
            );
            assert!(seen.insert(code));
        }
    }

    #[test]
    fn typing_mistakes_are_forgiven_and_garbage_is_not() {
        assert_eq!(
            CheckinCode::parse("o1il-abcd-efgh-jkmn").unwrap().as_str(),
            "0111-ABCD-EFGH-JKMN"
        );
        for bad in [
            "",
            "ABCD",
            "ABCD-EFGH-JKMN-PQRSX",
            "ABCD-EFGH-JKMN-PQRU",
            "ÄBCD-EFGH-JKMN-PQRS",
        ] {
            assert_eq!(CheckinCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_code_is_found_in_every_badge_payload() {
        let code = CheckinCode::generate();
        let card = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nUID:urn:lanyard:checkin:{}\r\nEND:VCARD\r\n",
            code.as_str()
        );
        for text in [
            code.as_str().to_owned(),
            format!("  {}\n", code.as_str().to_lowercase()),
            card,
            format!("LANYARD-TICKET:{}", code.as_str()),
        ] {
            assert_eq!(
                CheckinCode::find_in(&text).as_deref(),
                Some(code.as_str()),
                "{text:?}"
            );
        }
        assert_eq!(
            CheckinCode::find_in("LANYARD-TICKET:AbC_123-xyz").as_deref(),
            Some("AbC_123-xyz")
        );
        for nothing in [
            "",
            "tel:+821012345678",
            "<script>",
            "BEGIN:VCARD\r\nFN:x\r\nEND:VCARD",
        ] {
            assert_eq!(CheckinCode::find_in(nothing), None, "{nothing:?}");
        }
    }

    #[test]
    fn stats_add_up_per_desk_and_quarter_hour() {
        let a = ConferenceId::from_stored("A".into());
        let t = |at: Option<(&str, &str)>, count| Tally {
            conference: a.clone(),
            checked_in: at.map(|(x, y)| (x.to_owned(), y.to_owned())),
            count,
        };
        let s = stats(
            vec![
                t(None, 5),
                t(Some(("2026-11-28T09:14", "Door A")), 2),
                t(Some(("2026-11-28T09:15", "Door B")), 1),
                t(Some(("2026-11-28T09:29", "Door A")), 1),
            ],
            &["A", "B"],
        );
        let a = &s.conferences[0];
        assert_eq!((a.registered, a.checked_in), (9, 4));
        assert_eq!(a.per_desk[0].desk, "Door A");
        assert_eq!(a.per_desk[0].checked_in, 3);
        assert_eq!(a.per_quarter_hour[0].start, "2026-11-28T09:00Z");
        assert_eq!(a.per_quarter_hour[1].checked_in, 2);
        assert_eq!(s.conferences[1].conference, "B");
        assert_eq!(s.conferences[1].registered, 0);
    }

    #[test]
    fn a_scan_is_dated_when_the_desk_took_it_within_bounds() {
        let now = time::macros::datetime!(2026-12-06 10:00:00 UTC);
        let at = |given| scanned_at(given, now);
        assert_eq!(at(None).unwrap(), "2026-12-06T10:00:00.000Z");
        // Taken offline a while ago, in the desk's own time zone.
        assert_eq!(
            at(Some("2026-12-06T18:42:10.5+09:00")).unwrap(),
            "2026-12-06T09:42:10.500Z"
        );
        // A desk clock running ahead cannot date a check-in in the future.
        assert_eq!(
            at(Some("2026-12-06T10:07:00Z")).unwrap(),
            "2026-12-06T10:00:00.000Z"
        );
        // Nothing older than a desk's queue is answered for.
        assert_eq!(
            at(Some("2020-01-01T00:00:00Z")).unwrap(),
            "2026-11-06T10:00:00.000Z"
        );
        for bad in ["yesterday", "2026-12-06", "2026-12-06T10:00:00", ""] {
            assert_eq!(at(Some(bad)).unwrap_err().field, "scanned_at", "{bad}");
        }
    }
}
