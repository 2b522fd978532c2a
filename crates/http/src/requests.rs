//! What clients send, as it appears on the wire: field names (the original's
//! `type`), the OpenAPI schema and its patterns. Each becomes a plain domain
//! request, which the domain parses.

use lanyard_domain::{ListRequest, NewRegistration, PageSize};
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

impl From<SignUpBody> for NewRegistration {
    fn from(body: SignUpBody) -> Self {
        NewRegistration {
            conference: body.conference,
            user_id: body.user_id,
            user_name: body.user_name,
            phone_number: body.phone_number,
            company_name: body.company_name,
        }
    }
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
        })
    }
}
