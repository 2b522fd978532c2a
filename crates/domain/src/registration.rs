//! A registration and its badge.

use serde::{Deserialize, Serialize};

use lanyard_badge::{Badge, Payload};

use crate::checkin::{CheckinCode, FirstCheckin};
use crate::fields::{
    BadgeToken, CompanyName, ConferenceId, FieldError, PhoneNumber, UserId, UserName,
};
use crate::form::{Answer, Details};
use crate::seats::Seat;

/// What identifies a registration: one person at one conference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationKey {
    pub user_id: UserId,
    pub conference: ConferenceId,
}

/// A sign-up as it arrives, fields not yet parsed: the HTTP body, a CSV row
/// or command-line flags are turned into this, and [`crate::Lanyard::register`]
/// applies the rules. A missing required field is reported by name.
#[derive(Debug, Clone, Default)]
pub struct NewRegistration {
    pub conference: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub phone_number: Option<String>,
    pub company_name: Option<String>,
    /// The attendee agreed to their contact card in the badge's QR (SPEC §9).
    pub contact_on_badge: Option<bool>,
    pub email: Option<String>,
    /// A category id; public ones only unless an organizer registers.
    pub category: Option<String>,
    pub answers: std::collections::BTreeMap<String, Answer>,
    /// Made by an organizer (import, desk, command line): any category.
    pub by_organizer: bool,
    /// Made by staff at the door: the form's required fields (e-mail,
    /// required questions) may be left for later; what is given is checked.
    pub walk_in: bool,
}

/// Who a registration is for: what the badge prints and the contact card holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user_name: UserName,
    pub phone_number: PhoneNumber,
    /// `None` when not given (or given empty).
    pub company_name: Option<CompanyName>,
}

impl Person {
    /// Parses the three fields with the sign-up's rules.
    pub fn parse(
        user_name: &str,
        phone_number: &str,
        company_name: Option<&str>,
    ) -> Result<Person, FieldError> {
        Ok(Person {
            user_name: UserName::parse(user_name)?,
            phone_number: PhoneNumber::parse(phone_number)?,
            company_name: CompanyName::parse(company_name.unwrap_or(""))?,
        })
    }

    /// The three fields as a store holds them, trusted, not checked again
    /// against today's rules: what was accepted once (or written by the
    /// original system) lists, opens, renders and deletes.
    pub fn from_stored(user_name: &str, phone_number: &str, company_name: Option<&str>) -> Person {
        Person {
            user_name: UserName::from_stored(user_name.to_owned()),
            phone_number: PhoneNumber::from_stored(phone_number.to_owned()),
            company_name: company_name.and_then(|c| CompanyName::from_stored(c.to_owned())),
        }
    }

    pub fn company(&self) -> Option<&str> {
        self.company_name.as_ref().map(|c| c.as_str())
    }

    /// The text of this person's badge, around a QR payload.
    pub fn badge<'a>(&'a self, payload: &'a Payload) -> Badge<'a> {
        Badge {
            name: self.user_name.as_str(),
            company: self.company(),
            payload,
            details: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BadgeStatus {
    Pending,
    Ready,
    Failed,
}

impl BadgeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BadgeStatus::Pending => "pending",
            BadgeStatus::Ready => "ready",
            BadgeStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(BadgeStatus::Pending),
            "ready" => Some(BadgeStatus::Ready),
            "failed" => Some(BadgeStatus::Failed),
            _ => None,
        }
    }
}

/// A registration's badge: its state and the unguessable token in its URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeInfo {
    pub status: BadgeStatus,
    pub token: BadgeToken,
    /// Why the last render failed, when `status` is `Failed`.
    pub error: Option<String>,
    /// When a failed badge whose cause may pass (storage) is to be tried
    /// again, RFC 3339; `None` for a failure no retry can mend.
    pub retry_at: Option<String>,
    /// Counts the changes to what the badge shows (each reset adds one; 0
    /// for badges from before revisions). A render is of one revision: its
    /// files are named by it, and it is recorded only while the badge is
    /// still at it, so no render outlives the version it was made from.
    pub revision: u64,
}

impl BadgeInfo {
    pub fn pending() -> Self {
        BadgeInfo {
            status: BadgeStatus::Pending,
            token: BadgeToken::generate(),
            error: None,
            retry_at: None,
            revision: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub user_id: UserId,
    pub conference: ConferenceId,
    pub person: Person,
    /// RFC 3339, UTC, set by the server. Empty for items the original system wrote.
    pub created_at: String,
    /// `None` for items the original system wrote: no badge yet, one can be rendered on demand.
    pub badge: Option<BadgeInfo>,
    /// The check-in code in the badge's QR. `None` only for items the
    /// original system wrote until their badge is first rendered.
    pub checkin_code: Option<CheckinCode>,
    /// The attendee agreed to their contact card in the badge's QR.
    pub contact_on_badge: bool,
    /// The first check-in, once there is one.
    pub checked_in: Option<FirstCheckin>,
    /// E-mail, category and answers to the conference's questions.
    pub details: Details,
    /// Its seat: confirmed, or on the waiting list and after.
    pub seat: Seat,
}

impl Registration {
    pub fn key(&self) -> RegistrationKey {
        RegistrationKey {
            user_id: self.user_id.clone(),
            conference: self.conference.clone(),
        }
    }
}

/// Now, as RFC 3339 UTC with millisecond precision.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// A UTC time as RFC 3339 with millisecond precision: the one format stored
/// times have, so they sort as text.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format).expect("a UTC time always formats")
}

/// Now, in UTC.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
