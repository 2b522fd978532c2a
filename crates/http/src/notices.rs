//! E-mail on request: a lost badge link (public), an organizer's message
//! to part of a list.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{JsonBody, Organizer};
use crate::paths;
use crate::requests::{LookupBody, MessageBody};
use crate::views::{LookupView, MessageView};
use crate::AppState;

#[utoipa::path(post, path = paths::BADGE_LOOKUP, tag = "public",
    request_body = LookupBody,
    responses(
        (status = 202, description = "Taken. If the address is registered (whether it is is never said), each of its registrations is mailed its badge link, at most once a quarter hour", body = LookupView),
        (status = 400, description = "Not an e-mail address", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    ))]
pub async fn lookup(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LookupBody>,
) -> Result<(StatusCode, Json<LookupView>), ApiError> {
    state.lanyard.send_badge_links(&body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(LookupView {
            message: "If this address is registered, its badge links are on their way.",
        }),
    ))
}

#[utoipa::path(post, path = paths::MESSAGES, tag = "organizer",
    request_body = MessageBody,
    security(("organizer" = [])),
    responses(
        (status = 200, description = "Counted only (`dry_run`)", body = MessageView),
        (status = 202, description = "Queued: one e-mail per recipient", body = MessageView),
        (status = 400, description = "A field is invalid, or this server sends no e-mail", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 413, description = "Body larger than 128 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn message(
    _: Organizer,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<MessageBody>,
) -> Result<(StatusCode, Json<MessageView>), ApiError> {
    let dry_run = body.dry_run;
    let report = state.lanyard.message(body.into(), dry_run).await?;
    let status = if dry_run {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        Json(MessageView {
            recipients: report.recipients,
            without_email: report.without_email,
            dry_run,
        }),
    ))
}
