//! Lists in and out over HTTP (SPEC §12): a CSV import with a report per
//! row, and the registrations as CSV or Excel, streamed.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanyard_domain::{Encoding, ExportFormat, ImportOptions, ListRequest, RowOutcome};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{media_type_is, read_body, ApiQuery, Organizer};
use crate::paths;
use crate::requests::{ExportParams, ImportParams};
use crate::stream::BodyWriter;
use crate::views::{ImportReportView, ImportRowView, RegistrationList, RegistrationView};
use crate::AppState;

/// Largest CSV an import takes: 10 000 rows of long names in Hangul fit.
pub const IMPORT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// How long one import request stores rows; the rest of the file waits
/// for the next request (`from_line`). Within the API Lambda's 15 seconds
/// and API Gateway's 29, with room for reading and answering.
pub const IMPORT_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// A CSV body: 415 unless a CSV (or plain text) content type, 413 over the
/// import limit.
pub struct CsvBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Browsers on Windows send a .csv file as Excel's type.
        let is_csv = media_type_is(&req, |mime| {
            matches!(
                mime,
                "text/csv" | "application/csv" | "text/plain" | "application/vnd.ms-excel"
            )
        });
        if !is_csv {
            return Err(ApiError::UnsupportedMediaType);
        }
        // A declared length over the limit is refused before a byte is read.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > IMPORT_BODY_LIMIT as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let bytes = read_body(req, state).await?;
        Ok(CsvBody(bytes))
    }
}

#[utoipa::path(post, path = paths::IMPORT, tag = "organizer",
    params(ImportParams),
    request_body(content = String, content_type = "text/csv",
        description = "A CSV file with a header line (UTF-8 with or without BOM, or CP949/EUC-KR; comma, semicolon or tab). Columns: user_id, type (or the `type` parameter), user_name, phone_number, company_name, contact_on_badge, checkin_code, email, category, and answer:<question id> per question (several choices separated by `;`); an export's other columns are ignored."),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "What became of each row; with `next_line` when the request's time (10 s) ran out before the rest were stored", body = ImportReportView),
        (status = 400, description = "A file that cannot be read as a whole (encoding, header, unknown columns, too many rows); nothing stored", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
        (status = 413, description = "Body over 8 MiB", body = ErrorBody),
        (status = 415, description = "Body is not CSV", body = ErrorBody),
        (status = 503, description = "Storage cannot take rows now; rows reported before are stored, importing the file again finishes it", body = ErrorBody),
    ))]
pub async fn import(
    _: Organizer,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ImportParams>,
    CsvBody(body): CsvBody,
) -> Result<Json<ImportReportView>, ApiError> {
    let options = ImportOptions {
        dry_run: flag("dry_run", params.dry_run.as_deref())?,
        encoding: match params
            .encoding
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            Some(e) => Some(e.parse::<Encoding>().map_err(|message| ApiError::Invalid {
                field: Some("encoding".into()),
                message: format!("encoding: {message}"),
            })?),
            None => None,
        },
        map: match params.map.as_deref() {
            Some(m) => ImportOptions::parse_map(m).map_err(|message| ApiError::Invalid {
                field: Some("map".into()),
                message: format!("map: {message}"),
            })?,
            None => Vec::new(),
        },
        conference: params
            .conference
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
        from_line: match params.from_line.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(n) => n
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 1_000_000_000)
                .ok_or_else(|| ApiError::Invalid {
                    field: Some("from_line".into()),
                    message: "from_line: must be a line number (an answer's next_line)".into(),
                })?,
        },
        budget: Some(IMPORT_BUDGET),
    };
    let report = state
        .lanyard
        .import_csv(&body, &options)
        .await?
        .map_err(|e| ApiError::Invalid {
            field: Some("file".into()),
            message: e.0,
        })?;
    Ok(Json(ImportReportView {
        dry_run: report.dry_run,
        created: report.created,
        already_registered: report.already_registered,
        invalid: report.invalid,
        conflicts: report.conflicts,
        next_line: report.next_line,
        rows: report
            .rows
            .into_iter()
            .map(|r| {
                let (status, field, reason) = match r.outcome {
                    RowOutcome::Created => ("created", None, None),
                    RowOutcome::AlreadyRegistered => ("already_registered", None, None),
                    RowOutcome::Invalid { field, reason } => ("invalid", field, Some(reason)),
                    RowOutcome::Conflict { field, reason } => {
                        ("conflict", Some(field), Some(reason))
                    }
                };
                ImportRowView {
                    line: r.line,
                    user_id: r.user_id,
                    conference: r.conference,
                    status,
                    field,
                    reason,
                }
            })
            .collect(),
    }))
}

/// `GET /api/registrations/import`: the registrations of the user whose id
/// is `import` (the import route's path shadows the by-user list's).
#[utoipa::path(get, path = paths::IMPORT, tag = "organizer",
    security(("organizer" = [])),
    responses(
        (status = 200, description = "The registrations of the user whose id is `import` (as `GET /api/registrations/{user_id}`)", body = RegistrationList),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
    ))]
pub async fn list_user_named_import(
    _: Organizer,
    State(state): State<AppState>,
) -> Result<Json<RegistrationList>, ApiError> {
    let items = state.lanyard.list_by_user("import").await?;
    Ok(Json(RegistrationList {
        items: items
            .into_iter()
            .map(RegistrationView::for_organizer)
            .collect(),
    }))
}

#[utoipa::path(get, path = paths::EXPORT_CSV, tag = "organizer",
    params(ExportParams),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "The registrations as CSV (UTF-8 with BOM, CRLF), streamed; formula-looking cells start with '", content_type = "text/csv"),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
    ))]
pub async fn export_csv(
    organizer: Organizer,
    state: State<AppState>,
    params: ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export(organizer, state, params, ExportFormat::Csv).await
}

#[utoipa::path(get, path = paths::EXPORT_XLSX, tag = "organizer",
    params(ExportParams),
    security(("organizer" = [])),
    responses(
        (status = 200, description = "The registrations as an Excel workbook, every cell text", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "Missing or wrong organizer token", body = ErrorBody),
        (status = 403, description = "A desk token", body = ErrorBody),
    ))]
pub async fn export_xlsx(
    organizer: Organizer,
    state: State<AppState>,
    params: ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    export(organizer, state, params, ExportFormat::Xlsx).await
}

async fn export(
    _: Organizer,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ExportParams>,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let list = ListRequest {
        conference: params.conference,
        search: params.q,
        limit: None,
        cursor: None,
        category: params.category,
    };
    // The filters are checked before the answer starts.
    state.lanyard.list_query(list.clone())?;
    let (writer, body) = BodyWriter::new();
    let abort = writer.abort_handle();
    let lanyard = state.lanyard.clone();
    tokio::spawn(async move {
        let written = match format {
            ExportFormat::Csv => lanyard.export_csv(list, writer).await,
            ExportFormat::Xlsx => lanyard.export_xlsx(list, writer).await,
        };
        match written {
            Ok((mut writer, rows)) => {
                let flushed =
                    tokio::task::spawn_blocking(move || std::io::Write::flush(&mut writer)).await;
                if !matches!(flushed, Ok(Ok(()))) {
                    abort.fail("the client went away".into()).await;
                }
                tracing::info!(rows, format = format.extension(), "export written");
            }
            Err(e) => {
                tracing::warn!(error = %e, "export stopped");
                abort.fail(e.to_string()).await;
            }
        }
    });
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let disposition = format!(
        "attachment; filename=\"registrations.{}\"",
        format.extension()
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn flag(field: &'static str, v: Option<&str>) -> Result<bool, ApiError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(ApiError::Invalid {
            field: Some(field.into()),
            message: format!("{field}: must be true or false"),
        }),
    }
}
