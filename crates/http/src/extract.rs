//! Extractors whose rejections use the API's error shape.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::AppState;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Largest batch of offline scans accepted (a desk's, behind its token):
/// room for the most scans a batch may hold at the longest a code may be,
/// so a batch that is too long is told so rather than cut off.
pub const BATCH_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The most an organizer's message request may be: its text (20 000
/// characters) written as JSON escapes at worst.
pub const MESSAGE_BODY_LIMIT: usize = 128 * 1024;

/// A JSON body: 415 unless `application/json`, 413 over the limit, 400 naming
/// the field for unknown, missing-typed or malformed fields.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = media_type_is(&req, |mime| {
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        Ok(JsonBody(json_object(&bytes)?))
    }
}

/// The body the original system's page sends: a JSON object, labelled as
/// jQuery labels a string it posts (`application/x-www-form-urlencoded`),
/// or as `text/plain` or JSON. Whatever the label, the body must parse as
/// the JSON object or it is a `400`, exactly as [`JsonBody`] answers.
pub struct OriginalBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OriginalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let accepted = media_type_is(&req, |mime| {
            matches!(
                mime,
                "application/x-www-form-urlencoded" | "text/plain" | "application/json"
            )
        });
        if !accepted {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        Ok(OriginalBody(json_object(&bytes)?))
    }
}

/// Parses a JSON object (never an array or a scalar), naming the field at fault.
fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Serde would also read a struct from an array; the API takes objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Invalid {
            field: None,
            message: "the body must be a JSON object".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|e| ApiError::Invalid {
        field: None,
        message: format!("invalid JSON: {e}"),
    })?;
    Ok(value)
}

/// Whether the request's media type (lower case, parameters dropped)
/// passes `accepted`; a request without one does not.
pub(crate) fn media_type_is(req: &Request, accepted: impl FnOnce(&str) -> bool) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| accepted(&mime.trim().to_ascii_lowercase()))
}

/// The whole body, within the route's limit: 413 past it.
pub(crate) async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else if crate::limits::is_body_too_slow(&e) {
                ApiError::Timeout
            } else {
                ApiError::Invalid {
                    field: None,
                    message: "the request body could not be read".into(),
                }
            }
        })
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    let message = inner.to_string();
    for (prefix, problem) in [
        ("unknown field `", "unknown field"),
        ("duplicate field `", "appears more than once"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let field = rest.split('`').next().unwrap_or_default().to_owned();
            return ApiError::Invalid {
                message: format!("{field}: {problem}"),
                field: Some(field),
            };
        }
    }
    let path = e.path().to_string();
    let field = (path != "." && !path.is_empty()).then_some(path);
    let message = match (&field, inner.classify()) {
        (Some(f), serde_json::error::Category::Data) if message.contains("expected a boolean") => {
            format!("{f}: must be true or false")
        }
        (Some(f), serde_json::error::Category::Data) => format!("{f}: must be a string"),
        (_, serde_json::error::Category::Data) => "the body must be a JSON object".to_owned(),
        _ => format!("invalid JSON: {message}"),
    };
    ApiError::Invalid { field, message }
}

/// Query parameters with JSON errors.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| ApiError::Invalid {
                field: None,
                message: e.body_text(),
            })
    }
}

/// Path parameters; a path that cannot name anything is simply not found.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|_: PathRejection| ApiError::NotFound)
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme name is
/// case-insensitive (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn presented_token(parts: &Parts) -> &str {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .unwrap_or_default()
}

async fn is_organizer(presented: &str, state: &AppState) -> Result<bool, ApiError> {
    if presented.is_empty() {
        return Ok(false);
    }
    let token = state.admin_token.get().await?;
    // Constant-time: how much of a guess matched is never observable.
    Ok(bool::from(presented.as_bytes().ct_eq(token.as_bytes())))
}

/// Proof that the request carries the organizer token. A desk token gets
/// `403`: it is valid, and not for this.
pub struct Organizer;

/// Who may work a check-in desk: the organizer, or a desk by its token.
#[derive(Clone)]
pub enum Staff {
    Organizer,
    Desk(lanyard_domain::DeskName),
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = presented_token(parts);
        if is_organizer(presented, state).await? {
            return Ok(Staff::Organizer);
        }
        match state.lanyard.desk_for_token(presented).await? {
            Some(desk) => Ok(Staff::Desk(desk.name)),
            None => Err(ApiError::Unauthorized),
        }
    }
}

impl FromRequestParts<AppState> for Organizer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = presented_token(parts);
        if is_organizer(presented, state).await? {
            Ok(Organizer)
        } else if state.lanyard.desk_for_token(presented).await?.is_some() {
            Err(ApiError::Forbidden)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "  bEaReR   abc  "] {
            assert_eq!(bearer_token(value), Some("abc"), "{value:?}");
        }
        for value in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "abc"] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
