//! Print runs over HTTP (SPEC §11): the sheets, and every matching badge in
//! one PDF, streamed as it is made.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanyard_badge::PrintOptions;
use lanyard_domain::{FieldError, ListRequest, PrintRequest};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Organizer};
use crate::paths;
use crate::requests::PrintParams;
use crate::stream::BodyWriter;
use crate::views::{SheetList, SheetView};
use crate::AppState;

#[utoipa::path(get, path = paths::SHEETS, tag = "organizer",
    security(("organizer" = [])),
    responses(
        (status = 200, description = "The sheets a print run can use: built-in, then configured", body = SheetList),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
    ))]
pub async fn sheets(_: Organizer, State(state): State<AppState>) -> Json<SheetList> {
    Json(SheetList {
        sheets: state
            .lanyard
            .conferences()
            .sheets()
            .iter()
            .map(SheetView::from)
            .collect(),
    })
}

#[utoipa::path(get, path = paths::BADGES_PDF, tag = "organizer",
    params(PrintParams),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "Every matching badge on the sheet, in list order, as one PDF (streamed)", content_type = "application/pdf"),
        (status = 400, description = "An unknown sheet, a bad filter or option", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
    ))]
pub async fn badges_pdf(
    _: Organizer,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PrintParams>,
) -> Result<Response, ApiError> {
    let request = print_request(params)?;
    let print = state.lanyard.prepare_print(request)?;
    let filename = format!("attachment; filename=\"badges-{}.pdf\"", print.sheet.name);
    let (writer, body) = BodyWriter::new();
    let abort = writer.abort_handle();
    let lanyard = state.lanyard.clone();
    tokio::spawn(async move {
        match lanyard.print_badges(print, writer).await {
            Ok((_, count)) => tracing::info!(badges = count, "print run written"),
            Err(e) => {
                tracing::warn!(error = %e, "print run stopped");
                abort.fail(e.to_string()).await;
            }
        }
    });
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn print_request(p: PrintParams) -> Result<PrintRequest, ApiError> {
    let flag = |field: &'static str, v: Option<&str>| -> Result<Option<bool>, FieldError> {
        match v.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some("true" | "1" | "yes") => Ok(Some(true)),
            Some("false" | "0" | "no") => Ok(Some(false)),
            Some(_) => Err(FieldError::new(field, "must be true or false")),
        }
    };
    let number = |field: &'static str, v: Option<&str>| -> Result<f32, FieldError> {
        match v.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(0.0),
            Some(v) => v
                .parse::<f32>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| FieldError::new(field, "must be a number of millimetres")),
        }
    };
    let skip = match p.skip.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| FieldError::new("skip", "must be a whole number of labels"))?,
    };
    Ok(PrintRequest {
        list: ListRequest {
            conference: p.conference,
            search: p.q,
            limit: None,
            cursor: None,
            category: p.category,
        },
        checked_in: flag("checked_in", p.checked_in.as_deref())?,
        sheet: p.sheet.filter(|s| !s.is_empty()),
        options: PrintOptions {
            skip,
            cut_marks: flag("cut_marks", p.cut_marks.as_deref())?.unwrap_or(false),
            offset_x: number("offset_x", p.offset_x.as_deref())?,
            offset_y: number("offset_y", p.offset_y.as_deref())?,
        },
    })
}
