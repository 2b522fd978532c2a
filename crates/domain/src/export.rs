//! Lists out (SPEC §12): the registrations as CSV or as an Excel workbook,
//! with badge and check-in state, paged through the store and written as
//! they are read, so memory stays flat however long the list.
//!
//! An export's columns are an import's: exporting, editing and importing
//! into another lanyard gives the same registrations, check-in codes
//! included (the state columns are ignored on the way in).

use std::io::Write;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::ports::{ListQuery, StoreError};
use crate::registration::Registration;
use crate::service::{Lanyard, LanyardError, ListRequest};

/// The columns every export has, in order; one `answer:<question id>`
/// column per question of the conferences exported follows them.
pub const COLUMNS: [&str; 15] = [
    "user_id",
    "type",
    "user_name",
    "phone_number",
    "company_name",
    "contact_on_badge",
    "checkin_code",
    "created_at",
    "badge_status",
    "checked_in_at",
    "checked_in_desk",
    "email",
    "category",
    "status",
    "offer_expires_at",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            other => Err(format!("unknown format {other:?} (expected csv or xlsx)")),
        }
    }
}

/// Registrations per store page while exporting.
const PAGE: usize = 100;

/// A cell a spreadsheet program would run as a formula (OWASP's CSV
/// injection): one that starts with `=`, `+`, `-`, `@`, a tab or a CR.
pub fn looks_like_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// One registration's cells, in [`COLUMNS`] order, then its answers to
/// `questions` (a `multi` answer's choices joined with `; `).
fn cells(r: &Registration, questions: &[String]) -> Vec<String> {
    let (at, desk) = match &r.checked_in {
        Some(first) => (first.at.clone(), first.desk.as_str().to_owned()),
        None => (String::new(), String::new()),
    };
    [
        r.user_id.as_str().to_owned(),
        r.conference.as_str().to_owned(),
        r.person.user_name.as_str().to_owned(),
        r.person.phone_number.as_str().to_owned(),
        r.person.company().unwrap_or_default().to_owned(),
        r.contact_on_badge.to_string(),
        r.checkin_code
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        r.created_at.clone(),
        r.badge
            .as_ref()
            .map(|b| b.status.as_str().to_owned())
            .unwrap_or_default(),
        at,
        desk,
        r.details
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        r.details.category.clone().unwrap_or_default(),
        r.seat.status.as_str().to_owned(),
        r.seat.offer_expires_at.clone().unwrap_or_default(),
    ]
    .into_iter()
    .chain(questions.iter().map(|q| {
        r.details
            .answers
            .get(q)
            .map(crate::form::Answer::to_text)
            .unwrap_or_default()
    }))
    .collect()
}

/// Where rows go: a CSV writer or a worksheet.
trait Rows: Send {
    fn row(&mut self, cells: &[String]) -> Result<(), LanyardError>;
}

struct CsvRows<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write + Send> Rows for CsvRows<W> {
    fn row(&mut self, cells: &[String]) -> Result<(), LanyardError> {
        // Neutralised with a leading `'`, which an import takes off again.
        let cells = cells.iter().map(|c| {
            if looks_like_formula(c) {
                format!("'{c}")
            } else {
                c.clone()
            }
        });
        self.writer.write_record(cells).map_err(write_error)
    }
}

struct XlsxRows {
    workbook: Workbook,
    next_row: u32,
    quoted: Format,
}

impl Rows for XlsxRows {
    fn row(&mut self, cells: &[String]) -> Result<(), LanyardError> {
        let row = self.next_row;
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        for (col, cell) in cells.iter().enumerate() {
            // Every cell is a string cell (a phone number stays text, never a
            // number or a formula); a formula-looking one also gets Excel's
            // quote prefix, so re-saving it as CSV keeps it text.
            if looks_like_formula(cell) {
                sheet.write_string_with_format(row, col as u16, cell, &self.quoted)
            } else {
                sheet.write_string(row, col as u16, cell)
            }
            .map_err(xlsx_error)?;
        }
        self.next_row += 1;
        Ok(())
    }
}

fn write_error(e: impl std::fmt::Display) -> LanyardError {
    LanyardError::Storage(StoreError::unavailable(format!(
        "the export's output stopped taking bytes: {e}"
    )))
}

fn xlsx_error(e: XlsxError) -> LanyardError {
    match e {
        XlsxError::IoError(io) => write_error(io),
        other => LanyardError::Render(format!("the workbook cannot be written: {other}")),
    }
}

/// The header: [`COLUMNS`], then one answer column per question.
fn header(questions: &[String]) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|c| (*c).to_owned())
        .chain(
            questions
                .iter()
                .map(|q| format!("{}{q}", crate::import::ANSWER_PREFIX)),
        )
        .collect()
}

impl Lanyard {
    /// The question ids of the conferences an export holds, each once, in
    /// configuration order.
    fn exported_questions(&self, query: &ListQuery) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for c in self.conferences().iter() {
            if query.conference.as_ref().is_some_and(|want| *want != c.id) {
                continue;
            }
            for q in &c.form().questions {
                if !ids.contains(&q.id) {
                    ids.push(q.id.clone());
                }
            }
        }
        ids
    }

    /// Writes every registration the filters match as CSV (UTF-8 with a
    /// byte-order mark, which spreadsheet programs need to read Hangul) and
    /// returns the writer and the number of rows.
    pub async fn export_csv<W: Write + Send + 'static>(
        &self,
        list: ListRequest,
        mut out: W,
    ) -> Result<(W, u64), LanyardError> {
        self.refresh_forms_quietly().await;
        let query = self.list_query(list)?;
        // Only buffered here; the bytes reach `out` on the blocking threads.
        out.write_all(b"\xEF\xBB\xBF").map_err(write_error)?;
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(64 * 1024)
            .from_writer(out);
        let questions = self.exported_questions(&query);
        writer
            .write_record(header(&questions))
            .map_err(write_error)?;
        let (rows, count) = self
            .export_rows(query, CsvRows { writer }, questions)
            .await?;
        let out = crate::blocking::spawn_blocking(move || {
            rows.writer.into_inner().map_err(|e| write_error(e.error()))
        })
        .await
        .map_err(|e| LanyardError::Render(format!("the export stopped: {e}")))??;
        Ok((out, count))
    }

    /// Writes every registration the filters match as an Excel workbook.
    /// Rows go to a temporary file as they are read (the workbook's
    /// constant-memory mode) and the workbook is written at the end.
    pub async fn export_xlsx<W: Write + Send + 'static>(
        &self,
        list: ListRequest,
        out: W,
    ) -> Result<(W, u64), LanyardError> {
        self.refresh_forms_quietly().await;
        let query = self.list_query(list)?;
        let questions = self.exported_questions(&query);
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        {
            let sheet = workbook
                .add_worksheet_with_constant_memory()
                .map_err(xlsx_error)?;
            sheet.set_name("Registrations").map_err(xlsx_error)?;
            for (col, name) in header(&questions).iter().enumerate() {
                sheet
                    .write_string_with_format(0, col as u16, name, &bold)
                    .map_err(xlsx_error)?;
                let width = match name.as_str() {
                    "user_name" | "company_name" | "created_at" | "checked_in_at" | "email" => 24.0,
                    "phone_number" | "checkin_code" | "type" => 20.0,
                    _ => 14.0,
                };
                sheet
                    .set_column_width(col as u16, width)
                    .map_err(xlsx_error)?;
            }
            sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        }
        let rows = XlsxRows {
            workbook,
            next_row: 1,
            quoted: Format::new().set_quote_prefix(),
        };
        let (mut rows, count) = self.export_rows(query, rows, questions).await?;
        let out = crate::blocking::spawn_blocking(move || {
            let mut out = out;
            rows.workbook.save_to_writer(&mut out).map_err(xlsx_error)?;
            out.flush().map_err(write_error)?;
            Ok::<_, LanyardError>(out)
        })
        .await
        .map_err(|e| LanyardError::Render(format!("the export stopped: {e}")))??;
        Ok((out, count))
    }

    /// Pages through the store, writing each page's rows off the runtime.
    async fn export_rows<R: Rows + 'static>(
        &self,
        mut query: ListQuery,
        rows: R,
        questions: Vec<String>,
    ) -> Result<(R, u64), LanyardError> {
        let questions = std::sync::Arc::new(questions);
        query.limit = PAGE;
        let mut rows = Some(rows);
        let mut count = 0;
        loop {
            let page = self.store_page(&query).await?;
            let mut current = rows.take().expect("put back after each page");
            let items = page.items;
            count += items.len() as u64;
            let questions = questions.clone();
            let written = crate::blocking::spawn_blocking(move || {
                for r in &items {
                    current.row(&cells(r, &questions))?;
                }
                Ok::<_, LanyardError>(current)
            })
            .await
            .map_err(|e| LanyardError::Render(format!("the export stopped: {e}")))??;
            rows = Some(written);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        Ok((rows.expect("put back after each page"), count))
    }
}
