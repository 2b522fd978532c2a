//! The JSON the API answers with.

use std::collections::BTreeMap;

use lanyard_domain::form::{Category, EmailPolicy, Question};
use lanyard_domain::{
    Answer, BadgeStatus, Checkin, CheckinResult, Conference, Desk, FirstCheckin, PayloadKind,
    Registration, SeatStatus,
};
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
    /// The conference's own logo (PNG or SVG), when it has one.
    #[schema(example = "/api/conferences/devfest/logo")]
    pub logo_url: Option<String>,
    pub payload: PayloadKind,
    /// The first day, `YYYY-MM-DD`, when configured.
    #[schema(example = "2026-12-01")]
    pub starts: Option<String>,
    /// The last day, `YYYY-MM-DD`, when configured.
    #[schema(example = "2026-12-02")]
    pub ends: Option<String>,
    /// From when registrations' personal data is erased (RFC 3339), when
    /// the conference sets `retention_days`.
    #[schema(example = "2027-01-02T00:00:00.000Z")]
    pub erased_from: Option<String>,
    /// Whether the sign-up asks for an e-mail address.
    pub email: EmailPolicy,
    /// Categories; those `public` are offered on the sign-up, the first
    /// `default` one preselected.
    pub categories: Vec<Category>,
    /// The category a sign-up naming none gets.
    pub default_category: Option<String>,
    /// The conference's own questions, in order.
    pub questions: Vec<Question>,
    /// Seats, when limited.
    pub capacity: Option<u32>,
    /// Sign-ups past capacity wait for a seat.
    pub waitlist: bool,
    /// When the public sign-up closes (RFC 3339).
    pub closes_at: Option<String>,
    /// The public sign-up has closed.
    pub closed: bool,
    /// Hours an offered seat is held.
    pub offer_hours: u32,
    /// Attendees get e-mail (a confirmation; their badge link again on
    /// request at `POST /api/badges/lookup`).
    pub mails: bool,
}

impl ConferenceView {
    /// The conference as the page shows it; `mails` when this server sends
    /// its attendees e-mail.
    pub fn of(c: &Conference, mails: bool) -> Self {
        ConferenceView {
            mails,
            ..ConferenceView::from(c)
        }
    }
}

impl From<&Conference> for ConferenceView {
    fn from(c: &Conference) -> Self {
        let form = c.form();
        ConferenceView {
            id: c.id.to_string(),
            title: c.title.clone(),
            accent: c.accent.to_string(),
            subtitle: c.subtitle.clone(),
            logo_url: c
                .renderer
                .theme()
                .logo
                .is_some()
                .then(|| crate::paths::conference_logo(c.id.as_str())),
            payload: c.payload,
            starts: c.starts.map(|d| d.to_string()),
            ends: c.ends.map(|d| d.to_string()),
            erased_from: c.erase_from.map(lanyard_domain::registration::rfc3339),
            email: form.email,
            categories: form.categories,
            default_category: form.default_category,
            questions: form.questions,
            capacity: c.capacity.map(|k| k.seats),
            waitlist: c.capacity.is_some_and(|k| k.waitlist),
            closes_at: c.closes_at.map(lanyard_domain::registration::rfc3339),
            closed: c.closed(lanyard_domain::registration::now()),
            offer_hours: c.offer_hours,
            mails: false,
        }
    }
}

/// A conference's form as TOML: `email = "required"`, then `[[category]]`
/// and `[[question]]` tables as in the configuration file's conferences.
#[derive(Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormView {
    #[schema(
        example = "email = \"required\"\n\n[[question]]\nid = \"size\"\nlabel = \"T-shirt\"\nkind = \"choice\"\nchoices = [\"S\", \"M\", \"L\"]\n",
        max_length = 16000
    )]
    pub form: String,
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
    /// When a badge that failed for a reason that may pass (storage) is
    /// queued again by itself, RFC 3339 (organizer views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-11-28T09:42:03.120Z")]
    pub retry_at: Option<String>,
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
    /// The attendee agreed to their contact card in the badge's QR.
    pub contact_on_badge: bool,
    /// The code in the badge's QR, for typing at a desk.
    #[schema(example = "7QX4-M2KD-9HZ1-C8TA")]
    pub checkin_code: Option<String>,
    /// The first check-in; `null` until there is one.
    pub checked_in: Option<CheckinRef>,
    #[schema(example = "gildong@example.org")]
    pub email: Option<String>,
    /// A category id of the conference.
    #[schema(example = "speaker")]
    pub category: Option<String>,
    /// Answers to the conference's questions, by question id.
    pub answers: BTreeMap<String, Answer>,
    /// The seat: `confirmed`, or `waitlisted`, `offered` (until
    /// `offer_expires_at`), `expired`, `withdrawn`.
    pub status: SeatStatus,
    pub offer_expires_at: Option<String>,
}

/// When and where a person was first checked in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckinRef {
    #[schema(example = "2026-11-28T09:12:03.120Z")]
    pub at: String,
    #[schema(example = "Door A")]
    pub desk: String,
}

impl From<FirstCheckin> for CheckinRef {
    fn from(f: FirstCheckin) -> Self {
        CheckinRef {
            at: f.at,
            desk: f.desk,
        }
    }
}

/// What a desk sees of a registration: never the phone number.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeskRegistrationView {
    #[serde(rename = "type")]
    #[schema(rename = "type", example = "Serverless web project")]
    pub conference: String,
    pub user_id: String,
    pub user_name: String,
    pub company_name: Option<String>,
    /// The badge's state, never its link: the link is the attendee's own
    /// page. Desks print with `GET /api/registrations/{user_id}/{type}/badge`.
    pub badge: Option<DeskBadgeRef>,
    pub checked_in: Option<CheckinRef>,
    /// A category id of the conference (speaker, staff…).
    pub category: Option<String>,
    /// Only `confirmed` registrations check in.
    pub status: SeatStatus,
}

/// What a desk knows of a badge: whether it can be printed yet.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeskBadgeRef {
    pub status: BadgeStatus,
}

impl From<Registration> for DeskRegistrationView {
    fn from(r: Registration) -> Self {
        DeskRegistrationView {
            conference: r.conference.to_string(),
            user_id: r.user_id.to_string(),
            user_name: r.person.user_name.to_string(),
            company_name: r.person.company_name.map(|c| c.to_string()),
            badge: r.badge.map(|b| DeskBadgeRef { status: b.status }),
            checked_in: r.checked_in.map(CheckinRef::from),
            category: r.details.category,
            status: r.seat.status,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeskRegistrationList {
    pub items: Vec<DeskRegistrationView>,
}

/// The answer to a scan.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckinView {
    pub result: CheckinResult,
    pub registration: DeskRegistrationView,
    /// The registration's first check-in (this one, for `checked_in`).
    pub first: Option<CheckinRef>,
}

impl From<Checkin> for CheckinView {
    fn from(c: Checkin) -> Self {
        let first = c.registration.checked_in.clone().map(CheckinRef::from);
        CheckinView {
            result: c.result,
            registration: c.registration.into(),
            first,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeskView {
    #[schema(example = "Door A")]
    pub name: String,
    pub created_at: String,
}

impl From<Desk> for DeskView {
    fn from(d: Desk) -> Self {
        DeskView {
            name: d.name.as_str().to_owned(),
            created_at: d.created_at,
        }
    }
}

/// A desk's one-time sign-in link, and its QR code for a phone to scan.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EnrolmentView {
    #[schema(example = "Door A")]
    pub name: String,
    /// Opens the desk page signed in as this desk, once, until `expires_at`.
    #[schema(
        example = "https://192.168.1.20:8443/desk#enrol=enrol_1796000000_Q2hMZ3V4cmVzZ2VkYWJj"
    )]
    pub url: String,
    /// `url` as a QR code, an SVG document.
    pub qr_svg: String,
    pub expires_at: String,
}

/// A new desk with its token, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewDeskView {
    #[schema(example = "Door A")]
    pub name: String,
    /// Give it to the desk's staff; it is not shown again.
    #[schema(example = "desk_Q2hMZ3V4cmVzZ2VkYWJj")]
    pub token: String,
    pub created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeskList {
    pub items: Vec<DeskView>,
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
                retry_at: if with_error { b.retry_at } else { None },
            }),
            contact_on_badge: r.contact_on_badge,
            checkin_code: r.checkin_code.map(|c| c.as_str().to_owned()),
            checked_in: r.checked_in.map(CheckinRef::from),
            email: r.details.email.map(|e| e.as_str().to_owned()),
            category: r.details.category,
            answers: r.details.answers,
            status: r.seat.status,
            offer_expires_at: r.seat.offer_expires_at,
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
    /// Fields too long for the badge even on several lines at the smallest
    /// legible size, and so cut with an ellipsis: `user_name`,
    /// `company_name`.
    #[schema(example = json!([]))]
    pub shortened: Vec<&'static str>,
    /// Everything stored about the registration: the badge link is its
    /// attendee's own page (SPEC §9).
    pub registration: RegistrationView,
}

/// Whether the badge fonts can print a text.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PrintableView {
    pub printable: bool,
    /// Each character no badge font can print, once, in order.
    #[schema(example = json!(["🫠"]))]
    pub missing: Vec<String>,
    /// What a sign-up with this text would be told; `null` when printable.
    pub message: Option<String>,
}

/// Who a desk token (or the organizer token) is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeskSelf {
    /// The desk's name; `organizer` for the organizer token.
    #[schema(example = "Door A")]
    pub name: String,
    pub organizer: bool,
}

/// One scan's answer in a batch: `status` is what `POST /api/checkins`
/// would have answered, with its body in `checkin` (200) or `error`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckinBatchItem {
    #[schema(example = 200)]
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkin: Option<CheckinView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorDetail>,
}

/// The answers to a batch, in the order of its scans.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckinBatchView {
    pub results: Vec<CheckinBatchItem>,
}

/// A sheet of label or card stock a print run can use; lengths in mm from
/// the page's top-left corner.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SheetView {
    #[schema(example = "avery-5395")]
    pub name: String,
    pub description: String,
    pub page_width_mm: f32,
    pub page_height_mm: f32,
    pub columns: u32,
    pub rows: u32,
    pub cell_width_mm: f32,
    pub cell_height_mm: f32,
    pub margin_left_mm: f32,
    pub margin_top_mm: f32,
    pub gap_x_mm: f32,
    pub gap_y_mm: f32,
    /// Badges per page.
    pub per_page: u32,
}

impl From<&lanyard_badge::Sheet> for SheetView {
    fn from(s: &lanyard_badge::Sheet) -> Self {
        // Hundredths of a millimetre: what vendors publish, without the
        // float noise of inch conversions.
        let mm = |v: f32| (v * 100.0).round() / 100.0;
        SheetView {
            name: s.name.clone(),
            description: s.description.clone(),
            page_width_mm: mm(s.page_width),
            page_height_mm: mm(s.page_height),
            columns: s.columns,
            rows: s.rows,
            cell_width_mm: mm(s.cell_width),
            cell_height_mm: mm(s.cell_height),
            margin_left_mm: mm(s.margin_left),
            margin_top_mm: mm(s.margin_top),
            gap_x_mm: mm(s.gap_x),
            gap_y_mm: mm(s.gap_y),
            per_page: s.cells_per_page(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SheetList {
    pub sheets: Vec<SheetView>,
}

/// What became of one imported row.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportRowView {
    /// The line the row starts on; the header is line 1.
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub conference: Option<String>,
    /// `created`, `already_registered`, `invalid`, or `conflict` (the
    /// row's check-in code belongs to another registration: a `409` for
    /// this row alone).
    #[schema(example = "created")]
    pub status: &'static str,
    /// The field an invalid row failed on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An import's report: counts, and every row in file order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportReportView {
    /// Nothing was stored: `created` counts the rows that would be.
    pub dry_run: bool,
    pub created: usize,
    pub already_registered: usize,
    pub invalid: usize,
    /// Rows whose check-in code belongs to another registration.
    pub conflicts: usize,
    pub rows: Vec<ImportRowView>,
    /// Present when the request's time ran out: rows from this line on
    /// were neither stored nor reported. Send the same file again with
    /// `from_line` set to this to go on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_line: Option<u64>,
}

/// A lost-link request, taken.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LookupView {
    #[schema(example = "If this address is registered, its badge links are on their way.")]
    pub message: &'static str,
}

/// What an organizer's message reaches.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MessageView {
    /// Registrations matched that have an e-mail address: one e-mail each.
    pub recipients: usize,
    /// Registrations matched without an address (not reached).
    pub without_email: usize,
    /// Only counted: nothing was sent.
    pub dry_run: bool,
}
