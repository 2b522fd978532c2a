//! What clients send, as it appears on the wire: field names (the original's
//! `type`), the OpenAPI schema and its patterns. Each becomes a plain domain
//! request, which the domain parses.

use std::collections::BTreeMap;

use lanyard_domain::{
    Answer, CheckinRequest, DeskName, FieldError, ListRequest, NewRegistration, Nonce, OwnChanges,
    PageSize, SeatAction,
};
use serde::Deserialize;

/// The body of a sign-up as the original page posted it. Unknown fields are
/// refused so a typo never silently drops data.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewRegistration)]
pub struct SignUpBody {
    /// Conference id (the original's `type`).
    #[serde(rename = "type")]
    #[schema(rename = "type", value_type = String, required = true, example = "Serverless web project")]
    pub conference: Option<String>,
    /// 1–64 letters, digits and `.` `_` `-` `@` `+`; not `*`, not only dots.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, example = "gildong.hong")]
    pub user_id: Option<String>,
    /// 1–100 characters once white space is trimmed from both ends (and
    /// the text is in Unicode NFC), any script; no control character and no
    /// text-direction override anywhere; at least one visible character;
    /// every character printable by the badge fonts (`GET /api/printable`).
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069](?:[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]{0,98}[^\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069])?[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$", example = "홍길동")]
    pub user_name: Option<String>,
    /// An optional leading `+`, then digits with spaces, `-`, `(`, `)`; 4–20 digits.
    #[schema(value_type = String, required = true, min_length = 4, max_length = 60, pattern = r"^\s*\+?[ ()-]*(?:[0-9][ ()-]*){4,20}\s*$", example = "+82 10-1234-5678")]
    pub phone_number: Option<String>,
    /// Up to 100 characters once white space is trimmed from both ends (in
    /// NFC); otherwise as `user_name`.
    #[schema(value_type = Option<String>, pattern = r"^[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:[^\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069](?:[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]{0,98}[^\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069])?)?[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$", example = "Example Corp")]
    pub company_name: Option<String>,
    /// Put the contact card (name, company, phone) in the badge's QR code.
    /// `false` (the default): the QR holds the check-in code and nothing else.
    #[schema(value_type = Option<bool>, example = false)]
    pub contact_on_badge: Option<bool>,
    /// An e-mail address, as the conference's `email` setting asks
    /// (`GET /api/conferences`): refused when it is `off`, needed when `required`.
    #[schema(value_type = Option<String>, max_length = 254, example = "gildong@example.org")]
    pub email: Option<String>,
    /// A category id the conference offers on its sign-up (`public`);
    /// its default when absent.
    #[schema(value_type = Option<String>, max_length = 40, example = "student")]
    pub category: Option<String>,
    /// Answers to the conference's questions, by question id: text for
    /// `text`, `choice` and `email`, a list of choices for `multi`, `true`
    /// or `false` for `bool`.
    #[schema(value_type = Option<std::collections::BTreeMap<String, Answer>>)]
    pub answers: Option<BTreeMap<String, Answer>>,
}

impl From<SignUpBody> for NewRegistration {
    fn from(body: SignUpBody) -> Self {
        NewRegistration {
            conference: body.conference,
            user_id: body.user_id,
            user_name: body.user_name,
            phone_number: body.phone_number,
            company_name: body.company_name,
            contact_on_badge: body.contact_on_badge,
            email: body.email,
            category: body.category,
            answers: body.answers.unwrap_or_default(),
            by_organizer: false,
            walk_in: false,
        }
    }
}

/// A desk's scan: `code` (the code, or a badge QR's whole text as a scanner
/// sends it), or `user_id` and `type` (a person found by name search).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinBody {
    #[schema(example = "7QX4-M2KD-9HZ1-C8TA", max_length = 1000)]
    pub code: Option<String>,
    pub user_id: Option<String>,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub conference: Option<String>,
    /// The desk's name. A desk token always checks in as its own desk; the
    /// organizer token may name one (default `organizer`).
    #[schema(min_length = 1, max_length = 40, example = "Door A")]
    pub desk: Option<String>,
    /// Chosen by the desk for this scan (a UUID, say): a replay with the
    /// same nonce gets the first answer and counts once.
    #[schema(
        example = "0f7c9e6a-5d1b-4c2e-9a57-3f0e2b1c4d5e",
        min_length = 1,
        max_length = 64
    )]
    pub nonce: Option<String>,
    /// When the desk took the scan (RFC 3339), for scans it kept while the
    /// server could not be reached: the check-in is dated then. Kept
    /// between 30 days ago and the server's now; absent means now.
    #[schema(example = "2026-12-06T09:30:00.000Z", max_length = 40, format = DateTime)]
    pub scanned_at: Option<String>,
}

impl CheckinBody {
    /// The shape the schema documents, checked before anything is looked
    /// up: the code's length, the nonce's form, the desk name's.
    pub fn check_shape(&self) -> Result<(), crate::ApiError> {
        if let Some(code) = &self.code {
            if code.chars().count() > CheckinRequest::MAX_CODE_CHARS {
                return Err(FieldError::new(
                    "code",
                    format!(
                        "must be at most {} characters",
                        CheckinRequest::MAX_CODE_CHARS
                    ),
                )
                .into());
            }
        }
        if let Some(nonce) = &self.nonce {
            Nonce::parse(nonce)?;
        }
        if let Some(desk) = &self.desk {
            DeskName::parse(desk).map_err(|e| FieldError::new("desk", e.message))?;
        }
        if let Some(at) = &self.scanned_at {
            lanyard_domain::checkin::scanned_at_now(Some(at))?;
        }
        Ok(())
    }
}

impl From<CheckinBody> for CheckinRequest {
    fn from(body: CheckinBody) -> Self {
        CheckinRequest {
            code: body.code,
            user_id: body.user_id,
            conference: body.conference,
            nonce: body.nonce,
            scanned_at: body.scanned_at,
        }
    }
}

/// Scans a desk kept while the server could not be reached, sent together.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinBatchBody {
    /// 1 to 100 scans, each as `POST /api/checkins` takes it (with its nonce).
    #[schema(min_items = 1, max_items = 100)]
    pub scans: Vec<CheckinBody>,
}

impl CheckinBatchBody {
    pub const MAX: usize = 100;
}

/// A new desk.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskBody {
    /// 1–40 characters.
    #[schema(example = "Door A", min_length = 1, max_length = 40)]
    pub name: String,
}

/// Where the phone that scans a desk's sign-in code should open the desk.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentBody {
    /// The address the desk's phone reaches this server at: scheme, host
    /// and port only (the organizer's page sends a LAN address when it is
    /// itself opened on localhost).
    #[schema(example = "https://192.168.1.20:8443", max_length = 200)]
    pub origin: String,
}

/// A desk's one-time sign-in code, as scanned from the organizer's screen.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    #[schema(example = "enrol_1796000000_Q2hMZ3V4cmVzZ2VkYWJj", max_length = 80)]
    pub code: String,
}

/// An attendee's change to their own registration; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnChangesBody {
    #[schema(min_length = 1, max_length = 100)]
    pub user_name: Option<String>,
    /// Empty removes the company.
    #[schema(max_length = 100)]
    pub company_name: Option<String>,
    pub contact_on_badge: Option<bool>,
    /// Empty removes the address (unless the conference needs one).
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// A category the conference offers on its sign-up.
    #[schema(max_length = 40)]
    pub category: Option<String>,
    /// Replaces every answer.
    #[schema(value_type = Option<std::collections::BTreeMap<String, Answer>>)]
    pub answers: Option<BTreeMap<String, Answer>>,
}

impl From<OwnChangesBody> for OwnChanges {
    fn from(body: OwnChangesBody) -> Self {
        OwnChanges {
            user_name: body.user_name,
            company_name: body.company_name,
            contact_on_badge: body.contact_on_badge,
            email: body.email,
            category: body.category,
            answers: body.answers,
            phone_number: None,
        }
    }
}

/// An organizer's change to a registration; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesBody {
    #[schema(min_length = 1, max_length = 100)]
    pub user_name: Option<String>,
    /// Empty removes the company.
    #[schema(max_length = 100)]
    pub company_name: Option<String>,
    #[schema(min_length = 4, max_length = 60)]
    pub phone_number: Option<String>,
    pub contact_on_badge: Option<bool>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Any category of the conference; empty gives its default.
    #[schema(max_length = 40)]
    pub category: Option<String>,
    /// Replaces every answer.
    #[schema(value_type = Option<std::collections::BTreeMap<String, Answer>>)]
    pub answers: Option<BTreeMap<String, Answer>>,
}

impl From<ChangesBody> for OwnChanges {
    fn from(body: ChangesBody) -> Self {
        OwnChanges {
            user_name: body.user_name,
            company_name: body.company_name,
            contact_on_badge: body.contact_on_badge,
            email: body.email,
            category: body.category,
            answers: body.answers,
            phone_number: body.phone_number,
        }
    }
}

/// A seat step: `withdraw` gives up the seat (or the place on the waiting
/// list); `confirm` takes an offered seat, or (an organizer) gives a seat
/// to someone waiting while one is free.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatBody {
    pub action: SeatActionBody,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SeatActionBody {
    Withdraw,
    Confirm,
}

impl From<SeatActionBody> for SeatAction {
    fn from(a: SeatActionBody) -> SeatAction {
        match a {
            SeatActionBody::Withdraw => SeatAction::Withdraw,
            SeatActionBody::Confirm => SeatAction::Confirm,
        }
    }
}

/// A desk's search for a person.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A check-in code, or text in the name or company.
    pub q: Option<String>,
    /// Only this conference.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub conference: Option<String>,
}

/// The check-in statistics' query string.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Only this conference.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub conference: Option<String>,
}

/// A text to check against the badge fonts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrintableParams {
    /// A name or company as typed (at most 200 characters).
    #[param(max_length = 200)]
    pub text: String,
}

/// Which of a badge's files a desk prints.
#[derive(Debug, Default, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BadgeFileFormat {
    #[default]
    Png,
    Svg,
    Pdf,
}

impl From<BadgeFileFormat> for lanyard_badge::Format {
    fn from(f: BadgeFileFormat) -> Self {
        match f {
            BadgeFileFormat::Png => lanyard_badge::Format::Png,
            BadgeFileFormat::Svg => lanyard_badge::Format::Svg,
            BadgeFileFormat::Pdf => lanyard_badge::Format::Pdf,
        }
    }
}

/// The query string of a badge a desk prints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BadgeFileParams {
    /// `png` (the default), `svg` or `pdf`.
    #[serde(default)]
    pub format: BadgeFileFormat,
}

/// A print run's query string: the list's filters, and the sheet.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrintParams {
    /// Only this conference.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub conference: Option<String>,
    /// Text in the name or company (case-insensitive).
    pub q: Option<String>,
    /// Only this category (a category id, e.g. `speaker`).
    #[param(max_length = 40)]
    pub category: Option<String>,
    /// `true`: only those checked in; `false`: only those not yet.
    pub checked_in: Option<String>,
    /// A sheet name from `GET /api/sheets` (default `card`).
    pub sheet: Option<String>,
    /// Labels already used on the first sheet.
    pub skip: Option<String>,
    /// `true` draws cut marks in the margins.
    pub cut_marks: Option<String>,
    /// Printer offset to the right, in mm (−20 to 20).
    pub offset_x: Option<String>,
    /// Printer offset downwards, in mm (−20 to 20).
    pub offset_y: Option<String>,
}

/// An import's query string.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `true`: check and report every row, store nothing.
    pub dry_run: Option<String>,
    /// `utf-8` or `cp949` (EUC-KR); detected when absent.
    pub encoding: Option<String>,
    /// Other headers to fields: `Name=user_name,Phone=phone_number`,
    /// `T-shirt=answer:size`; `Notes=-` ignores a column.
    pub map: Option<String>,
    /// The conference of rows without a `type` (the file may then have no
    /// `type` column).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub conference: Option<String>,
    /// Goes on with an import an earlier answer stopped: its `next_line`.
    /// Earlier rows are read again (a key repeated from them is still
    /// found) but neither stored nor reported.
    #[param(pattern = "^[0-9]{1,9}$")]
    pub from_line: Option<String>,
}

/// An export's query string: the list's filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Only this conference.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub conference: Option<String>,
    /// Text in the name or company (case-insensitive).
    pub q: Option<String>,
    /// Only this category (a category id, e.g. `speaker`).
    #[param(max_length = 40)]
    pub category: Option<String>,
}

/// The organizer list's query string.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this conference.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub conference: Option<String>,
    /// Text in the name or company (case-insensitive).
    pub q: Option<String>,
    /// Only this category (a category id, e.g. `speaker`).
    #[param(max_length = 40)]
    pub category: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl TryFrom<ListParams> for ListRequest {
    type Error = lanyard_domain::FieldError;

    fn try_from(params: ListParams) -> Result<Self, Self::Error> {
        Ok(ListRequest {
            conference: params.conference,
            search: params.q,
            limit: params
                .limit
                .as_deref()
                .filter(|l| !l.is_empty())
                .map(PageSize::parse)
                .transpose()?,
            cursor: params.cursor,
            category: params.category,
        })
    }
}

/// A lost badge link: the address the attendee signed up with.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupBody {
    #[schema(example = "gildong@example.org", max_length = 254)]
    pub email: String,
}

/// An organizer's e-mail to part of a conference's list. `{name}`,
/// `{conference}`, `{link}` (the attendee's badge page), `{code}` and
/// `{date}` are filled in for each.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    #[serde(rename = "type")]
    #[schema(example = "Serverless web project")]
    pub conference: String,
    /// Only this category.
    pub category: Option<String>,
    /// Only registrations whose seat is `confirmed`, `waitlisted`,
    /// `offered`, `expired` or `withdrawn`.
    pub seat: Option<String>,
    /// Only those checked in (`true`) or not yet (`false`).
    pub checked_in: Option<bool>,
    #[schema(example = "Doors open at 9:00", max_length = 200)]
    pub subject: Option<String>,
    #[schema(
        example = "Hello {name},\n\nDoors open at 9:00. Your badge: {link}",
        max_length = 20000
    )]
    pub body: Option<String>,
    /// Count the recipients only; send nothing.
    #[serde(default)]
    pub dry_run: bool,
}

impl From<MessageBody> for lanyard_domain::MessageRequest {
    fn from(b: MessageBody) -> Self {
        lanyard_domain::MessageRequest {
            conference: Some(b.conference),
            category: b.category,
            seat: b.seat,
            checked_in: b.checked_in,
            subject: b.subject,
            body: b.body,
        }
    }
}
