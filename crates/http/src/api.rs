//! The `/api` handlers. Each parses its input, calls one use case and shapes
//! the answer; no storage code lives here.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanyard_badge::Format;
use lanyard_domain::{unprintable_message, BadgeStatus, FieldError, ListRequest};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, JsonBody, Organizer, OriginalBody};
use crate::paths;
use crate::requests::{ChangesBody, ListParams, PrintableParams, SeatBody, SignUpBody};
use crate::views::{
    BadgeView, ConferenceList, ConferenceView, FormView, Health, PrintableView, RegistrationList,
    RegistrationPage, RegistrationView,
};
use crate::AppState;

#[utoipa::path(get, path = paths::HEALTH, tag = "public",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[utoipa::path(get, path = paths::PRINTABLE, tag = "public",
    params(PrintableParams),
    responses(
        (status = 200, description = "Whether the badge fonts can print the text, and what they cannot", body = PrintableView),
        (status = 400, description = "No text, or more than 200 characters", body = ErrorBody),
    ))]
pub async fn printable(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PrintableParams>,
) -> Result<Json<PrintableView>, ApiError> {
    if params.text.chars().count() > 200 {
        return Err(FieldError::new("text", "must be at most 200 characters").into());
    }
    let missing = state.lanyard.conferences().fonts().missing(&params.text);
    Ok(Json(PrintableView {
        printable: missing.is_empty(),
        message: unprintable_message(&missing),
        missing: missing.iter().map(char::to_string).collect(),
    }))
}

#[utoipa::path(get, path = paths::CONFERENCES, tag = "public",
    responses((status = 200, description = "Configured conferences", body = ConferenceList)))]
pub async fn conferences(State(state): State<AppState>) -> Json<ConferenceList> {
    state.lanyard.refresh_forms_quietly().await;
    Json(ConferenceList {
        items: state
            .lanyard
            .conferences()
            .iter()
            .map(|c| ConferenceView::of(c, state.lanyard.mails(c.id.as_str())))
            .collect(),
    })
}

#[utoipa::path(get, path = paths::CONFERENCE_LOGO, tag = "public",
    params(("type" = String, Path, description = "The conference id")),
    responses(
        (status = 200, description = "The conference's logo",
            content((Vec<u8> = "image/png"), (String = "image/svg+xml"))),
        (status = 404, description = "No such conference, or it has no logo of its own", body = ErrorBody),
    ))]
pub async fn conference_logo(
    State(state): State<AppState>,
    ApiPath(conference): ApiPath<String>,
) -> Result<Response, ApiError> {
    use lanyard_badge::Logo;
    let id = state
        .lanyard
        .conferences()
        .parse_id(&conference)
        .map_err(|_| ApiError::NotFound)?;
    let c = state
        .lanyard
        .conferences()
        .get(id.as_str())
        .ok_or(ApiError::NotFound)?;
    let (content_type, bytes) = match &c.renderer.theme().logo {
        Some(Logo::Png(bytes)) => ("image/png", bytes.clone()),
        Some(Logo::Svg(bytes)) => ("image/svg+xml", bytes.clone()),
        None => return Err(ApiError::NotFound),
    };
    // An SVG opened on its own runs nothing and reaches nothing.
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
            ),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = paths::CONFERENCE_FORM, tag = "organizer",
    params(("type" = String, Path, description = "The conference id")),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "The conference's form as TOML, as organizers edit it", body = FormView),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 404, description = "No such conference", body = ErrorBody),
    ))]
pub async fn form(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath(conference): ApiPath<String>,
) -> Result<Json<FormView>, ApiError> {
    state.lanyard.refresh_forms_quietly().await;
    let conference = state
        .lanyard
        .conferences()
        .get(&conference)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(FormView {
        form: conference.form_set().text.clone(),
    }))
}

#[utoipa::path(put, path = paths::CONFERENCE_FORM, tag = "organizer",
    params(("type" = String, Path, description = "The conference id")),
    request_body(content = FormView, content_type = "application/json"),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "In force from the next request; the conference as the page now sees it", body = ConferenceView),
        (status = 400, description = "A form that does not parse or check, naming why (field `form`); nothing changed", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 404, description = "No such conference", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn set_form(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath(conference): ApiPath<String>,
    JsonBody(body): JsonBody<FormView>,
) -> Result<Json<ConferenceView>, ApiError> {
    let configured = state
        .lanyard
        .conferences()
        .get(&conference)
        .ok_or(ApiError::NotFound)?;
    state.lanyard.set_form(&conference, &body.form).await?;
    Ok(Json(ConferenceView::of(
        configured,
        state.lanyard.mails(&conference),
    )))
}

#[utoipa::path(post, path = paths::REGISTRATIONS, tag = "public",
    request_body(content = SignUpBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered; the badge is being rendered", body = RegistrationView,
            headers(("Location" = String, description = "The registration's URL"))),
        (status = 400, description = "An invalid or unknown field", body = ErrorBody),
        (status = 409, description = "Already registered for this conference (`already_registered`), or full without a waiting list (`full`)", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 503, description = "Storage cannot take it now (a full disk, say): nothing stored; see Retry-After", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<SignUpBody>,
) -> Result<Response, ApiError> {
    let registration = state.lanyard.register(input.into()).await?;
    let location = paths::registration(
        registration.user_id.as_str(),
        registration.conference.as_str(),
    );
    let mut response = (
        StatusCode::CREATED,
        Json(RegistrationView::for_attendee(registration)),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The original system's sign-up route (`POST …/conference`), for a
/// deployment still serving the original page: the same rules and the same
/// answers as `POST /api/registrations`, from the body jQuery sends. Kept
/// out of the OpenAPI document: new clients use `/api/registrations`.
pub async fn register_original(
    state: State<AppState>,
    OriginalBody(input): OriginalBody<SignUpBody>,
) -> Result<Response, ApiError> {
    register(state, JsonBody(input)).await
}

/// The original page's History tab (`GET …/conference`) listed everyone's
/// phone numbers to anyone. Refused by design: organizers list
/// registrations with their token at `/api/registrations`.
pub async fn original_history() -> ApiError {
    ApiError::Unauthorized
}

#[utoipa::path(get, path = paths::REGISTRATIONS, tag = "organizer",
    params(ListParams),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "One page of registrations, newest first", body = RegistrationPage),
        (status = 400, description = "An invalid parameter", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
    ))]
pub async fn list(
    _: Organizer,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<RegistrationPage>, ApiError> {
    let request = ListRequest::try_from(params)?;
    let page = state.lanyard.list(request).await?;
    Ok(Json(RegistrationPage {
        items: page
            .items
            .into_iter()
            .map(RegistrationView::for_organizer)
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = paths::USER_REGISTRATIONS, tag = "organizer",
    params(("user_id" = String, Path, description = "The user id")),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "That user's registrations", body = RegistrationList),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
    ))]
pub async fn list_by_user(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath<String>,
) -> Result<Json<RegistrationList>, ApiError> {
    let items = state.lanyard.list_by_user(&user_id).await?;
    Ok(Json(RegistrationList {
        items: items
            .into_iter()
            .map(RegistrationView::for_organizer)
            .collect(),
    }))
}

#[utoipa::path(get, path = paths::REGISTRATION, tag = "organizer",
    params(("user_id" = String, Path, description = "The user id"), ("type" = String, Path, description = "The conference id")),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "The registration", body = RegistrationView),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 404, description = "No such registration", body = ErrorBody),
    ))]
pub async fn get_one(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath((user_id, conference)): ApiPath<(String, String)>,
) -> Result<Json<RegistrationView>, ApiError> {
    let key = state.lanyard.key(&user_id, &conference)?;
    Ok(Json(RegistrationView::for_organizer(
        state.lanyard.get(&key).await?,
    )))
}

#[utoipa::path(delete, path = paths::REGISTRATION, tag = "organizer",
    params(("user_id" = String, Path, description = "The user id"), ("type" = String, Path, description = "The conference id")),
    security(("organizer" = [])),
    responses(
        (status = 204, description = "Deleted, with its badge files"),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 404, description = "No such registration", body = ErrorBody),
    ))]
pub async fn delete(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath((user_id, conference)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = state.lanyard.key(&user_id, &conference)?;
    state.lanyard.delete(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(patch, path = paths::REGISTRATION, tag = "organizer",
    params(("user_id" = String, Path, description = "The user id"), ("type" = String, Path, description = "The conference id")),
    request_body(content = ChangesBody, content_type = "application/json"),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "Changed; the badge is rendered again at the same link", body = RegistrationView),
        (status = 400, description = "An invalid or unknown field", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 404, description = "No such registration", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn update(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath((user_id, conference)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<ChangesBody>,
) -> Result<Json<RegistrationView>, ApiError> {
    let key = state.lanyard.key(&user_id, &conference)?;
    let registration = state.lanyard.update(&key, body.into()).await?;
    Ok(Json(RegistrationView::for_organizer(registration)))
}

#[utoipa::path(post, path = paths::REGISTRATION_SEAT, tag = "organizer",
    params(("user_id" = String, Path, description = "The user id"), ("type" = String, Path, description = "The conference id")),
    request_body(content = SeatBody, content_type = "application/json"),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "The seat moved; a seat given up is offered to the next waiting", body = RegistrationView),
        (status = 400, description = "An invalid or unknown field", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 404, description = "No such registration", body = ErrorBody),
        (status = 409, description = "No seat is free (`full`), or the registration is not in a state this step starts from (`seat_state`)", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
    ))]
pub async fn seat(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath((user_id, conference)): ApiPath<(String, String)>,
    JsonBody(body): JsonBody<SeatBody>,
) -> Result<Json<RegistrationView>, ApiError> {
    let key = state.lanyard.key(&user_id, &conference)?;
    let registration = state.lanyard.seat(&key, body.action.into()).await?;
    Ok(Json(RegistrationView::for_organizer(registration)))
}

#[utoipa::path(post, path = paths::REGISTRATION_BADGE, tag = "organizer",
    params(("user_id" = String, Path, description = "The user id"), ("type" = String, Path, description = "The conference id")),
    security(("organizer" = [])),
    responses(
        (status = 202, description = "The badge will be rendered again", body = RegistrationView),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 404, description = "No such registration", body = ErrorBody),
    ))]
pub async fn rerender(
    _: Organizer,
    State(state): State<AppState>,
    ApiPath((user_id, conference)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<RegistrationView>), ApiError> {
    let key = state.lanyard.key(&user_id, &conference)?;
    let registration = state.lanyard.rerender(&key).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegistrationView::for_organizer(registration)),
    ))
}

/// `GET /api/badges/{token}` and `/api/badges/{token}.{png,svg,pdf}` share one route.
#[utoipa::path(get, path = paths::BADGE, tag = "public",
    params(("token" = String, Path, description = "The badge token from `badge.url`; add `.png`, `.svg` or `.pdf` for the image")),
    responses(
        (status = 200, description = "The badge's state and, once ready, its image links; or the image itself",
            content(
                (BadgeView = "application/json"),
                (Vec<u8> = "image/png"),
                (String = "image/svg+xml"),
                (Vec<u8> = "application/pdf"),
            )),
        (status = 404, description = "Unknown token, or the image is not ready yet", body = ErrorBody),
    ))]
pub async fn badge(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (token, format) = match name.rsplit_once('.') {
        Some((token, ext)) => {
            let format = match ext {
                "png" => Format::Png,
                "svg" => Format::Svg,
                "pdf" => Format::Pdf,
                _ => return Err(ApiError::NotFound),
            };
            (token, Some(format))
        }
        None => (name.as_str(), None),
    };
    let Some(format) = format else {
        let registration = state.lanyard.badge(token).await?;
        let badge = registration.badge.clone().ok_or(ApiError::NotFound)?;
        let link = |ext: &str| {
            (badge.status == BadgeStatus::Ready)
                .then(|| format!("{}.{ext}", paths::badge(&badge.token)))
        };
        let view = BadgeView {
            status: badge.status,
            png: link("png"),
            svg: link("svg"),
            pdf: link("pdf"),
            shortened: state.lanyard.shortened(&registration),
            registration: RegistrationView::for_attendee(registration),
        };
        let mut response = Json(view).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(response);
    };
    let bytes = state.lanyard.badge_file(token, format).await?;
    Ok(badge_file_response(format, bytes))
}

/// A badge file as it is served: its type, `inline`, and for an SVG a
/// policy that lets it run nothing when opened directly.
pub(crate) fn badge_file_response(format: Format, bytes: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    // A re-render keeps the URL, so caches must check back.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    let disposition = format!("inline; filename=\"badge.{}\"", format.extension());
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).expect("ascii"),
    );
    if format == Format::Svg {
        // Opened directly, a badge SVG may not run anything.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
            ),
        );
    }
    (headers, bytes).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
