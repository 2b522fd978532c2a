//! The `/api` handlers of the event day: desks, check-ins and their
//! statistics (SPEC §10), and the attendee's own page behind a badge link
//! (SPEC §9).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use lanyard_domain::{CheckinStats, DeskName};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, JsonBody, Organizer, Staff};
use crate::paths;
use crate::requests::{
    BadgeFileParams, CheckinBatchBody, CheckinBody, DeskBody, EnrolBody, EnrolmentBody,
    OwnChangesBody, SearchParams, SeatBody, SignUpBody, StatsParams,
};
use crate::views::{
    CheckinBatchItem, CheckinBatchView, CheckinView, DeskList, DeskRegistrationList, DeskSelf,
    DeskView, EnrolmentView, NewDeskView, RegistrationView,
};
use crate::AppState;

#[utoipa::path(post, path = paths::DESKS, tag = "organizer",
    request_body(content = DeskBody, content_type = "application/json"),
    security(("organizer" = [])),
    responses(
        (status = 201, description = "The desk, with its token shown this once", body = NewDeskView),
        (status = 400, description = "An invalid name", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
        (status = 409, description = "A desk of this name exists", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn create_desk(
    _: Organizer,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<DeskBody>,
) -> Result<(StatusCode, Json<NewDeskView>), ApiError> {
    let (desk, token) = state.lanyard.create_desk(&body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewDeskView {
            name: desk.name.as_str().to_owned(),
            token,
            created_at: desk.created_at,
        }),
    ))
}

#[utoipa::path(get, path = paths::DESKS, tag = "organizer",
    security(("organizer" = [])),
    responses(
        (status = 200, description = "Every desk, by name (never their tokens)", body = DeskList),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
    ))]
pub async fn desks(
    _: Organizer,
    State(state): State<AppState>,
) -> Result<Json<DeskList>, ApiError> {
    let items = state.lanyard.desks().await?;
    Ok(Json(DeskList {
        items: items.into_iter().map(DeskView::from).collect(),
    }))
}

#[utoipa::path(delete, path = paths::DESK, tag = "organizer",
    params(("name" = String, Path, description = "The desk's name")),
    security(("organizer" = [])),
    responses(
        (status = 204, description = "Revoked: its token is refused from now on"),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
        (status = 404, description = "No such desk", body = ErrorBody),
    ))]
pub async fn revoke_desk(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.lanyard.revoke_desk(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = paths::DESK_ENROLMENT, tag = "organizer",
    params(("name" = String, Path, description = "The desk's name")),
    request_body(content = EnrolmentBody, content_type = "application/json"),
    security(("organizer" = [])),
    responses(
        (status = 201, description = "A one-time sign-in link for a phone, with its QR code; the desk's current token is refused from now on", body = EnrolmentView),
        (status = 400, description = "An origin that is not scheme, host and port", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
        (status = 404, description = "No such desk", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn enrol_desk(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    JsonBody(body): JsonBody<EnrolmentBody>,
) -> Result<(StatusCode, Json<EnrolmentView>), ApiError> {
    let origin = page_origin(&body.origin)?;
    let enrolment = state.lanyard.enrol_desk(&name).await?;
    // The code rides in the fragment: browsers send it to no server, log
    // or Referer; the desk page reads it and exchanges it.
    let url = format!("{origin}/desk#enrol={}", enrolment.code);
    let qr_svg = lanyard_badge::qr_svg(&url).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentView {
            name: enrolment.desk.as_str().to_owned(),
            url,
            qr_svg,
            expires_at: enrolment.expires_at,
        }),
    ))
}

/// `origin` as `scheme://host[:port]`, http or https, nothing else.
fn page_origin(origin: &str) -> Result<String, ApiError> {
    let refused = || ApiError::Invalid {
        field: Some("origin".into()),
        message:
            "origin: must be the address the desk's phone opens, like https://192.168.1.20:8443"
                .into(),
    };
    if origin.len() > 200 {
        return Err(refused());
    }
    let uri: axum::http::Uri = origin.parse().map_err(|_| refused())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
    match uri.authority() {
        Some(authority) if scheme_ok && bare && !authority.as_str().contains('@') => Ok(format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            authority
        )),
        _ => Err(refused()),
    }
}

#[utoipa::path(post, path = paths::DESK_ENROL, tag = "desk",
    request_body(content = EnrolBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The desk, with its new token: the phone is signed in", body = NewDeskView),
        (status = 400, description = "A body without a code", body = ErrorBody),
        (status = 401, description = "A code that is used, expired or unknown", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 429, description = "Too many requests from this address (limited as sign-ups are)", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn redeem_enrolment(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EnrolBody>,
) -> Result<Json<NewDeskView>, ApiError> {
    let (desk, token) = state.lanyard.redeem_enrolment(&body.code).await?;
    Ok(Json(NewDeskView {
        name: desk.name.as_str().to_owned(),
        token,
        created_at: desk.created_at,
    }))
}

impl Staff {
    /// The desk a scan is recorded at: a desk token's own, whatever the
    /// body says; the organizer's choice (default `organizer`).
    fn desk_for(&self, asked: Option<&str>) -> Result<DeskName, ApiError> {
        match self {
            Staff::Desk(name) => Ok(name.clone()),
            Staff::Organizer => {
                DeskName::parse(asked.unwrap_or(DeskName::ORGANIZER)).map_err(|e| {
                    ApiError::Invalid {
                        field: Some("desk".into()),
                        message: format!("desk: {}", e.message),
                    }
                })
            }
        }
    }
}

#[utoipa::path(get, path = paths::DESK_SELF, tag = "desk",
    security(("organizer" = []), ("desk" = [])),
    responses(
        (status = 200, description = "The desk this token opens", body = DeskSelf),
        (status = 401, description = "Missing, wrong or revoked token", body = ErrorBody),
    ))]
pub async fn desk_self(staff: Staff) -> Json<DeskSelf> {
    Json(match staff {
        Staff::Desk(name) => DeskSelf {
            name: name.as_str().to_owned(),
            organizer: false,
        },
        Staff::Organizer => DeskSelf {
            name: DeskName::ORGANIZER.to_owned(),
            organizer: true,
        },
    })
}

#[utoipa::path(post, path = paths::CHECKINS, tag = "desk",
    request_body(content = CheckinBody, content_type = "application/json"),
    security(("organizer" = []), ("desk" = [])),
    responses(
        (status = 200, description = "Checked in now, or already (then `first` says when and where)", body = CheckinView),
        (status = 400, description = "Neither a code nor user_id and type; a malformed nonce", body = ErrorBody),
        (status = 401, description = "Missing, wrong or revoked token", body = ErrorBody),
        (status = 404, description = "`unknown_code`: no registration has this code", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn check_in(
    staff: Staff,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CheckinBody>,
) -> Result<Json<CheckinView>, ApiError> {
    body.check_shape()?;
    let desk = staff.desk_for(body.desk.as_deref())?;
    let checkin = state.lanyard.check_in(&desk, body.into()).await?;
    Ok(Json(checkin.into()))
}

#[utoipa::path(post, path = paths::CHECKIN_BATCH, tag = "desk",
    request_body(content = CheckinBatchBody, content_type = "application/json"),
    security(("organizer" = []), ("desk" = [])),
    responses(
        (status = 200, description = "Each scan's answer, in order, as POST /api/checkins would give it; a scan answered 503 was not recorded and may be sent again", body = CheckinBatchView),
        (status = 400, description = "Not 1 to 100 scans; a malformed body", body = ErrorBody),
        (status = 401, description = "Missing, wrong or revoked token", body = ErrorBody),
        (status = 413, description = "Body over 2 MiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn check_in_batch(
    staff: Staff,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CheckinBatchBody>,
) -> Result<Json<CheckinBatchView>, ApiError> {
    if body.scans.is_empty() || body.scans.len() > CheckinBatchBody::MAX {
        return Err(ApiError::Invalid {
            field: Some("scans".into()),
            message: format!("scans: must hold 1 to {} scans", CheckinBatchBody::MAX),
        });
    }
    // A malformed scan refuses the whole batch, like a malformed body; each
    // scan's own answer is for what the store says (unknown, already...).
    for (i, scan) in body.scans.iter().enumerate() {
        scan.check_shape().map_err(|e| match e {
            ApiError::Invalid { field, message } => ApiError::Invalid {
                field: field.map(|f| format!("scans[{i}].{f}")),
                message: format!("scans[{i}]: {message}"),
            },
            other => other,
        })?;
    }
    // Scans of different people are recorded concurrently, so the store
    // commits them together; scans of one person go in batch order, so the
    // first of them is the one told "checked in".
    let count = body.scans.len();
    let mut people: Vec<(String, Vec<(usize, CheckinBody)>)> = Vec::new();
    for (i, scan) in body.scans.into_iter().enumerate() {
        let person = match (&scan.code, &scan.user_id, &scan.conference) {
            (Some(code), _, _) => lanyard_domain::CheckinCode::find_in(code)
                .unwrap_or_else(|| code.trim().to_ascii_uppercase()),
            (None, user_id, conference) => format!(
                "{}\u{0}{}",
                user_id.as_deref().unwrap_or_default(),
                conference.as_deref().unwrap_or_default()
            ),
        };
        match people.iter_mut().find(|(p, _)| *p == person) {
            Some((_, scans)) => scans.push((i, scan)),
            None => people.push((person, vec![(i, scan)])),
        }
    }
    let mut scans = tokio::task::JoinSet::new();
    for (_, in_order) in people {
        let staff = staff.clone();
        let lanyard = state.lanyard.clone();
        scans.spawn(async move {
            let mut answers = Vec::with_capacity(in_order.len());
            for (i, scan) in in_order {
                let answer = match staff.desk_for(scan.desk.as_deref()) {
                    Ok(desk) => lanyard
                        .check_in(&desk, scan.into())
                        .await
                        .map_err(ApiError::from),
                    Err(e) => Err(e),
                };
                answers.push((i, answer));
            }
            answers
        });
    }
    let mut results: Vec<Option<CheckinBatchItem>> = Vec::new();
    results.resize_with(count, || None);
    while let Some(done) = scans.join_next().await {
        let answers = done.map_err(|e| ApiError::Internal(format!("a scan stopped: {e}")))?;
        for (i, answer) in answers {
            results[i] = Some(match answer {
                Ok(checkin) => CheckinBatchItem {
                    status: 200,
                    checkin: Some(checkin.into()),
                    error: None,
                },
                Err(e) => {
                    let described = e.describe();
                    CheckinBatchItem {
                        status: described.status.as_u16(),
                        checkin: None,
                        error: Some(described.detail),
                    }
                }
            });
        }
    }
    Ok(Json(CheckinBatchView {
        results: results.into_iter().flatten().collect(),
    }))
}

#[utoipa::path(post, path = paths::CHECKIN_WALK_INS, tag = "desk",
    request_body(content = SignUpBody, content_type = "application/json"),
    security(("organizer" = []), ("desk" = [])),
    responses(
        (status = 201, description = "Registered and checked in at this desk; no badge link (that is the attendee's own)", body = CheckinView),
        (status = 400, description = "An invalid or unknown field", body = ErrorBody),
        (status = 401, description = "Missing, wrong or revoked token", body = ErrorBody),
        (status = 409, description = "Already registered for this conference", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 503, description = "Storage cannot take it now: see Retry-After", body = ErrorBody),
    ))]
pub async fn walk_in(
    staff: Staff,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignUpBody>,
) -> Result<(StatusCode, Json<CheckinView>), ApiError> {
    let desk = staff.desk_for(None)?;
    let mut input = lanyard_domain::NewRegistration::from(body);
    // Staff register walk-ins: the public sign-up's closing time does not
    // apply, any category may be given, and the form's required fields
    // may wait (the person can add them at their own page).
    input.by_organizer = true;
    input.walk_in = true;
    let checkin = state.lanyard.register_walk_in(&desk, input).await?;
    Ok((StatusCode::CREATED, Json(checkin.into())))
}

#[utoipa::path(get, path = paths::REGISTRATION_BADGE, tag = "desk",
    params(("user_id" = String, Path, description = "The user id"), ("type" = String, Path, description = "The conference id"), BadgeFileParams),
    security(("organizer" = []), ("desk" = [])),
    responses(
        (status = 200, description = "The badge file, to print",
            content(
                (Vec<u8> = "image/png"),
                (String = "image/svg+xml"),
                (Vec<u8> = "application/pdf"),
            )),
        (status = 400, description = "An unknown format", body = ErrorBody),
        (status = 401, description = "Missing, wrong or revoked token", body = ErrorBody),
        (status = 404, description = "No such registration, or its badge is not ready yet", body = ErrorBody),
    ))]
pub async fn badge_to_print(
    _: Staff,
    State(state): State<AppState>,
    ApiPath((user_id, conference)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<BadgeFileParams>,
) -> Result<Response, ApiError> {
    let key = state.lanyard.key(&user_id, &conference)?;
    let format = params.format.into();
    let bytes = state.lanyard.badge_file_of(&key, format).await?;
    Ok(crate::api::badge_file_response(format, bytes))
}

#[utoipa::path(get, path = paths::CHECKIN_SEARCH, tag = "desk",
    params(SearchParams),
    security(("organizer" = []), ("desk" = [])),
    responses(
        (status = 200, description = "The person with this check-in code, or up to 20 whose name or company contains `q` (no phone numbers)", body = DeskRegistrationList),
        (status = 400, description = "No `q`", body = ErrorBody),
        (status = 401, description = "Missing, wrong or revoked token", body = ErrorBody),
    ))]
pub async fn search(
    _: Staff,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<DeskRegistrationList>, ApiError> {
    let found = state
        .lanyard
        .lookup(params.q.as_deref().unwrap_or_default(), params.conference)
        .await?;
    Ok(Json(DeskRegistrationList {
        items: found.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = paths::CHECKIN_STATS, tag = "organizer",
    params(StatsParams),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "Registered and checked in per conference, per desk and per quarter hour (UTC)", body = CheckinStats),
        (status = 400, description = "An unknown conference", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
    ))]
pub async fn stats(
    _: Organizer,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> Result<Json<CheckinStats>, ApiError> {
    Ok(Json(
        state
            .lanyard
            .checkin_stats(params.conference.as_deref())
            .await?,
    ))
}

#[utoipa::path(delete, path = paths::REGISTRATION_CHECKIN, tag = "organizer",
    params(("user_id" = String, Path, description = "The user id"), ("type" = String, Path, description = "The conference id")),
    security(("organizer" = [])),
    responses(
        (status = 204, description = "The check-in is undone"),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
        (status = 404, description = "No such registration", body = ErrorBody),
    ))]
pub async fn undo_checkin(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath((user_id, conference)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = state.lanyard.key(&user_id, &conference)?;
    state.lanyard.undo_checkin(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(patch, path = paths::BADGE, tag = "attendee",
    params(("token" = String, Path, description = "The badge token: whoever has the badge link")),
    request_body(content = OwnChangesBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed; the badge is rendered again at the same link", body = RegistrationView),
        (status = 400, description = "An invalid or unknown field", body = ErrorBody),
        (status = 404, description = "Unknown token", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn update_own(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    JsonBody(body): JsonBody<OwnChangesBody>,
) -> Result<Json<RegistrationView>, ApiError> {
    let registration = state.lanyard.update_own(&token, body.into()).await?;
    Ok(Json(RegistrationView::for_attendee(registration)))
}

#[utoipa::path(post, path = paths::BADGE_SEAT, tag = "attendee",
    params(("token" = String, Path, description = "The badge token: whoever has the badge link")),
    request_body(content = SeatBody, content_type = "application/json"),
    responses(
        (status = 200, description = "`withdraw`: the seat (or the place on the waiting list) is given up; `confirm`: the offered seat is taken", body = RegistrationView),
        (status = 400, description = "An invalid or unknown field", body = ErrorBody),
        (status = 404, description = "Unknown token", body = ErrorBody),
        (status = 409, description = "Not in a state this step starts from (an offer that ran out, say)", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn seat_own(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    JsonBody(body): JsonBody<SeatBody>,
) -> Result<Json<RegistrationView>, ApiError> {
    let registration = state.lanyard.seat_own(&token, body.action.into()).await?;
    Ok(Json(RegistrationView::for_attendee(registration)))
}

#[utoipa::path(delete, path = paths::BADGE, tag = "attendee",
    params(("token" = String, Path, description = "The badge token: whoever has the badge link")),
    responses(
        (status = 204, description = "Erased: the registration, its check-in and its badge files"),
        (status = 404, description = "Unknown token", body = ErrorBody),
    ))]
pub async fn erase_own(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.lanyard.erase_own(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}
