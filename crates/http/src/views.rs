//! The JSON the API answers with.

use lanyard_domain::{BadgeStatus, Conference, PayloadKind, Registration};
use serde::Serialize;

use crate::paths;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConferenceView {
    #[schema(example = "Serverless web project")]
    pub id: String,
    #[schema(example = "Serverless web project")]
    pub title: String,
    /// `#rrggbb`.
    #[schema(example = "#ed244b")]
    pub accent: String,
    pub subtitle: Option<String>,
    pub payload: PayloadKind,
}

impl From<&Conference> for ConferenceView {
    fn from(c: &Conference) -> Self {
        ConferenceView {
            id: c.id.to_string(),
            title: c.title.clone(),
            accent: c.accent.to_string(),
            subtitle: c.subtitle.clone(),
            payload: c.payload,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConferenceList {
    pub items: Vec<ConferenceView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BadgeRef {
    pub status: BadgeStatus,
    /// Where to follow the badge: `GET` it for its state and image links.
    #[schema(example = "/api/badges/6cJ3p1xq0uKqL2m8eVn4bA")]
    pub url: String,
    /// Why rendering failed, when `status` is `failed` (organizer views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    #[serde(rename = "type")]
    #[schema(rename = "type", example = "Serverless web project")]
    pub conference: String,
    #[schema(example = "gildong.hong")]
    pub user_id: String,
    #[schema(example = "홍길동")]
    pub user_name: String,
    #[schema(example = "+82 10-1234-5678")]
    pub phone_number: String,
    pub company_name: Option<String>,
    /// RFC 3339, UTC; empty for registrations the original system wrote.
    #[schema(example = "2026-11-26T06:00:00.000Z")]
    pub created_at: String,
    /// `null` when no badge was ever rendered (registrations from the original system).
    pub badge: Option<BadgeRef>,
}

impl RegistrationView {
    /// What the person who signed up is shown: no render errors.
    pub fn for_attendee(r: Registration) -> Self {
        Self::new(r, false)
    }

    /// What organizers see, with why a badge failed.
    pub fn for_organizer(r: Registration) -> Self {
        Self::new(r, true)
    }

    fn new(r: Registration, with_error: bool) -> Self {
        RegistrationView {
            conference: r.conference.to_string(),
            user_id: r.user_id.to_string(),
            user_name: r.person.user_name.to_string(),
            phone_number: r.person.phone_number.to_string(),
            company_name: r.person.company_name.map(|c| c.to_string()),
            created_at: r.created_at,
            badge: r.badge.map(|b| BadgeRef {
                status: b.status,
                url: paths::badge(&b.token),
                error: if with_error { b.error } else { None },
            }),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistrationList {
    pub items: Vec<RegistrationView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegistrationPage {
    pub items: Vec<RegistrationView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BadgeView {
    pub status: BadgeStatus,
    /// Image links, once `status` is `ready`.
    pub png: Option<String>,
    pub svg: Option<String>,
    pub pdf: Option<String>,
}
