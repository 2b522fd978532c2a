//! A registration and its badge.

use serde::{Deserialize, Serialize};

use crate::fields::{BadgeToken, CompanyName, ConferenceId, PhoneNumber, UserId, UserName};

/// What identifies a registration: one person at one conference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationKey {
    pub user_id: UserId,
    pub conference: ConferenceId,
}

/// The body of a sign-up as the original page posted it. Unknown fields are
/// refused so a typo never silently drops data.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistration {
    /// Conference id (the original's `type`).
    #[serde(rename = "type")]
    #[schema(rename = "type", value_type = String, required = true, example = "Serverless web project")]
    pub conference: Option<String>,
    /// 1–64 letters, digits and `.` `_` `-` `@` `+`; not `*`, not only dots.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, example = "gildong.hong")]
    pub user_id: Option<String>,
    /// 1–100 characters after trimming, any script, no control characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F]*$", example = "홍길동")]
    pub user_name: Option<String>,
    /// An optional leading `+`, then digits with spaces, `-`, `(`, `)`; 4–20 digits.
    #[schema(value_type = String, required = true, min_length = 4, max_length = 60, pattern = r"^\s*\+?[ ()-]*(?:[0-9][ ()-]*){4,20}\s*$", example = "+82 10-1234-5678")]
    pub phone_number: Option<String>,
    /// Up to 100 characters, no control characters.
    #[schema(value_type = Option<String>, max_length = 100, pattern = r"^[^\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F]*$", example = "Example Corp")]
    pub company_name: Option<String>,
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
}

impl BadgeInfo {
    pub fn pending() -> Self {
        BadgeInfo {
            status: BadgeStatus::Pending,
            token: BadgeToken::generate(),
            error: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub user_id: UserId,
    pub conference: ConferenceId,
    pub user_name: UserName,
    pub phone_number: PhoneNumber,
    pub company_name: Option<CompanyName>,
    /// RFC 3339, UTC, set by the server. Empty for items the original system wrote.
    pub created_at: String,
    /// `None` for items the original system wrote: no badge yet, one can be rendered on demand.
    pub badge: Option<BadgeInfo>,
    /// Check-in code for the `ticket` QR payload: unguessable and nothing personal.
    pub ticket_code: Option<String>,
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
