//! Rows to registrations and back, and the list's cursors.

use base64::Engine as _;
use lanyard_domain::{
    Answers, BadgeInfo, BadgeStatus, BadgeToken, CheckinCode, ConferenceId, Details, Email,
    FirstCheckin, Person, Registration, RegistrationKey, Seat, SeatStatus, StoreError, UserId,
};
use rusqlite::Row;

use super::unavailable;

/// The columns [`row_to_registration`] reads, in its order.
pub(super) const COLUMNS: &str =
    "seq, user_id, type, user_name, phone_number, company_name, created_at, badge_status, badge_token, badge_error, ticket_code, contact_on_badge, checked_in_at, checked_in_desk, checked_in_nonce, badge_retry_at, badge_revision, email, category, answers, seat_status, offer_expires_at";

/// Answers as the `answers` column holds them: a JSON object, or NULL when none.
pub(super) fn answers_json(answers: &Answers) -> Option<String> {
    (!answers.is_empty()).then(|| serde_json::to_string(answers).expect("answers serialize"))
}

pub(super) fn key_strings(key: &RegistrationKey) -> (String, String) {
    (
        key.user_id.as_str().to_owned(),
        key.conference.as_str().to_owned(),
    )
}

pub(super) fn stored_key(
    user_id: String,
    conference: String,
) -> Result<RegistrationKey, StoreError> {
    Ok(RegistrationKey {
        user_id: UserId::from_stored(user_id),
        conference: ConferenceId::from_stored(conference),
    })
}

pub(super) fn row_to_registration(
    row: &Row<'_>,
) -> rusqlite::Result<(i64, Result<Registration, String>)> {
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
    let checkin_code: Option<String> = row.get(10)?;
    let contact_on_badge: bool = row.get(11)?;
    let checked_in_at: Option<String> = row.get(12)?;
    let checked_in_desk: Option<String> = row.get(13)?;
    let checked_in_nonce: Option<String> = row.get(14)?;
    let retry_at: Option<String> = row.get(15)?;
    let revision: i64 = row.get(16)?;
    let email: Option<String> = row.get(17)?;
    let category: Option<String> = row.get(18)?;
    let answers: Option<String> = row.get(19)?;
    let seat_status: String = row.get(20)?;
    let offer_expires_at: Option<String> = row.get(21)?;
    let answers = match answers.as_deref() {
        Some(json) => match serde_json::from_str::<Answers>(json) {
            Ok(a) => a,
            Err(e) => return Ok((seq, Err(format!("answers: {e}")))),
        },
        None => Answers::new(),
    };
    let badge = match (
        status.as_deref().and_then(BadgeStatus::parse),
        token.as_deref().and_then(BadgeToken::parse),
    ) {
        (Some(status), Some(token)) => Some(BadgeInfo {
            status,
            token,
            error,
            retry_at,
            revision: u64::try_from(revision).unwrap_or(0),
        }),
        _ => None,
    };
    let parsed = Ok(Registration {
        user_id: UserId::from_stored(user_id),
        conference: ConferenceId::from_stored(conference),
        // Trusted as stored, not checked again against today's rules.
        person: Person::from_stored(&user_name, &phone, company.as_deref()),
        created_at,
        badge,
        checkin_code: checkin_code.map(CheckinCode::from_stored),
        contact_on_badge,
        checked_in: checked_in_at.map(|at| FirstCheckin {
            at,
            desk: checked_in_desk.unwrap_or_default(),
            nonce: checked_in_nonce.unwrap_or_default(),
        }),
        details: Details {
            email: email.and_then(Email::from_stored),
            category,
            answers,
        },
        seat: Seat {
            status: SeatStatus::parse(&seat_status).unwrap_or_default(),
            offer_expires_at,
        },
    });
    Ok((seq, parsed))
}

pub(super) fn collect(
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

pub(super) fn encode_cursor(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

pub(super) fn decode_cursor(cursor: &str) -> Result<i64, StoreError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.strip_prefix("seq:"))
        .and_then(|n| n.parse().ok())
        .ok_or(StoreError::InvalidCursor)
}
