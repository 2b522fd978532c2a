//! One error type for every API answer: JSON `{"error": {"code", "message", "field"}}`,
//! with the HTTP status decided here and nowhere else.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanyard_domain::{FieldError, LanyardError};
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    Invalid {
        field: Option<String>,
        message: String,
    },
    AlreadyRegistered,
    NotFound,
    /// A check-in code no registration has.
    UnknownCode,
    /// A desk of this name exists.
    DeskExists,
    /// A desk sign-in code that is used, expired or unknown.
    EnrolmentRefused,
    /// No seat is left and the conference keeps no waiting list.
    Full,
    /// The registration's seat is in a state the step does not start from.
    SeatState(String),
    /// A desk scanned someone without a confirmed seat.
    NotConfirmed(String),
    Unauthorized,
    /// A valid token without the right: a desk token on an organizer route.
    Forbidden,
    /// The request did not come through the site's address (CloudFront),
    /// where a deployment requires it.
    NotThroughSite,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    /// Too many sign-ups from one address; try again after this many seconds.
    RateLimited(u64),
    /// The server is at its concurrent-request cap.
    Overloaded,
    /// The request took longer than the server allows (a slow client, usually).
    Timeout,
    /// Storage cannot take the request now (a full disk, too many open
    /// files, a storage service's hiccup): nothing was stored; try again.
    StorageUnavailable(String),
    /// A failure inside the server: logged in full, told to the client in one line.
    Internal(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid`, `already_registered`, `not_found`,
    /// `unknown_code`, `desk_exists`, `enrolment_refused`, `full`, `seat_state`, `not_confirmed`, `unauthorized`, `forbidden`, `payload_too_large`, `unsupported_media_type`,
    /// `method_not_allowed`, `rate_limited`, `overloaded`, `request_timeout`,
    /// `storage_unavailable`, `internal`.
    #[schema(example = "invalid")]
    pub code: &'static str,
    #[schema(example = "phone_number: must have 4 to 20 digits")]
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "phone_number")]
    pub field: Option<String>,
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid {
            field: Some(e.field.to_owned()),
            message: e.to_string(),
        }
    }
}

impl From<LanyardError> for ApiError {
    fn from(e: LanyardError) -> Self {
        match e {
            LanyardError::Invalid(f) => f.into(),
            LanyardError::AlreadyRegistered => ApiError::AlreadyRegistered,
            LanyardError::NotFound => ApiError::NotFound,
            LanyardError::UnknownCode => ApiError::UnknownCode,
            LanyardError::DeskExists => ApiError::DeskExists,
            LanyardError::EnrolmentRefused => ApiError::EnrolmentRefused,
            LanyardError::Full => ApiError::Full,
            e @ LanyardError::Seat(_) => ApiError::SeatState(e.to_string()),
            LanyardError::NotConfirmed(r) => ApiError::NotConfirmed(format!(
                "{} is {}, not confirmed: no seat to check in to",
                r.person.user_name,
                r.seat.status.as_str()
            )),
            LanyardError::Storage(e) => ApiError::StorageUnavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// An error as the client is told it: status, body and, for answers that
/// say when to try again, the seconds for `Retry-After`.
pub(crate) struct Described {
    pub status: StatusCode,
    pub detail: ErrorDetail,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// How this error is answered. The one place that decides statuses,
    /// codes and messages; the cause of an internal or storage failure is
    /// logged here and never told.
    pub(crate) fn describe(self) -> Described {
        let (status, code, message, field) = match self {
            ApiError::Invalid { field, message } => {
                (StatusCode::BAD_REQUEST, "invalid", message, field)
            }
            ApiError::AlreadyRegistered => (
                StatusCode::CONFLICT,
                "already_registered",
                "this user_id is already registered for this conference".into(),
                None,
            ),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "not found".into(), None),
            ApiError::UnknownCode => (
                StatusCode::NOT_FOUND,
                "unknown_code",
                "no registration has this check-in code".into(),
                None,
            ),
            ApiError::Full => (
                StatusCode::CONFLICT,
                "full",
                "the conference is full and keeps no waiting list".into(),
                None,
            ),
            ApiError::SeatState(message) => (StatusCode::CONFLICT, "seat_state", message, None),
            ApiError::NotConfirmed(message) => {
                (StatusCode::CONFLICT, "not_confirmed", message, None)
            }
            ApiError::DeskExists => (
                StatusCode::CONFLICT,
                "desk_exists",
                "a desk with this name already exists; revoke it first or choose another name"
                    .into(),
                Some("name".into()),
            ),
            ApiError::EnrolmentRefused => (
                StatusCode::UNAUTHORIZED,
                "enrolment_refused",
                "this sign-in code is used, expired or unknown; ask the organizer for a new one"
                    .into(),
                Some("code".into()),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "an organizer token is required: Authorization: Bearer <token>".into(),
                None,
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "a desk token cannot do this; it needs the organizer token".into(),
                None,
            ),
            ApiError::NotThroughSite => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "this API answers requests made through the site's address".into(),
                None,
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than this endpoint takes (16 KiB; 128 KiB for a message to attendees; 2 MiB for a batch of scans; 8 MiB for an import)".into(),
                None,
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json".into(),
                None,
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed here".into(),
                None,
            ),
            ApiError::RateLimited(seconds) => {
                return Described {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    detail: ErrorDetail {
                        code: "rate_limited",
                        message: "too many sign-ups from this address; please wait a moment".into(),
                        field: None,
                    },
                    retry_after: Some(seconds.max(1)),
                }
            }
            ApiError::Overloaded => {
                return Described {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    detail: ErrorDetail {
                        code: "overloaded",
                        message: "the server is busy; please try again in a moment".into(),
                        field: None,
                    },
                    retry_after: Some(1),
                }
            }
            ApiError::StorageUnavailable(cause) => {
                tracing::warn!(%cause, "storage is unavailable; answered 503");
                return Described {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    detail: ErrorDetail { code: "storage_unavailable", message: "the server cannot store or read data right now; nothing was changed, please try again shortly".into(), field: None },
                    retry_after: Some(5),
                };
            }
            ApiError::Timeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request took too long".into(),
                None,
            ),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed inside the server");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; please try again".into(),
                    None,
                )
            }
        };
        Described {
            status,
            detail: ErrorDetail {
                code,
                message,
                field,
            },
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Described {
            status,
            detail,
            retry_after,
        } = self.describe();
        let mut response = (status, Json(ErrorBody { error: detail })).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
