//! Print runs from the store (SPEC §11): every matching registration's
//! badge, in list order, on one sheet, streamed to a writer page by page.

use std::io::Write;

use lanyard_badge::{BadgeError, PrintOptions, PrintRun, Sheet};

use crate::fields::FieldError;
use crate::ports::{ListQuery, StoreError};
use crate::registration::Registration;
use crate::service::{Lanyard, LanyardError, ListRequest};

/// An organizer's print request as it arrives; [`Lanyard::prepare_print`]
/// checks it before a byte is written.
#[derive(Debug, Clone, Default)]
pub struct PrintRequest {
    /// The list's filters: conference and text.
    pub list: ListRequest,
    /// Only those checked in (`true`) or not yet (`false`).
    pub checked_in: Option<bool>,
    /// A sheet name; `card` when absent.
    pub sheet: Option<String>,
    pub options: PrintOptions,
}

/// A checked print request, ready to write.
#[derive(Debug, Clone)]
pub struct PreparedPrint {
    query: ListQuery,
    checked_in: Option<bool>,
    pub sheet: Sheet,
    options: PrintOptions,
}

/// Registrations fetched per store page while printing.
const PAGE: usize = 100;

impl Lanyard {
    /// Checks the filters, the sheet and the options.
    pub fn prepare_print(&self, request: PrintRequest) -> Result<PreparedPrint, LanyardError> {
        let mut query = self.list_query(request.list)?;
        query.limit = PAGE;
        let name = request.sheet.as_deref().unwrap_or("card");
        let sheet = self.conferences().sheet(name).cloned().ok_or_else(|| {
            FieldError::new(
                "sheet",
                "is not a sheet this server knows (GET /api/sheets lists them)",
            )
        })?;
        let options = request.options;
        if options.skip >= sheet.cells_per_page() {
            return Err(FieldError::new(
                "skip",
                format!(
                    "must be less than the {} labels of a {} sheet",
                    sheet.cells_per_page(),
                    sheet.name
                ),
            )
            .into());
        }
        for (field, value) in [
            ("offset_x", options.offset_x),
            ("offset_y", options.offset_y),
        ] {
            if !value.is_finite() || value.abs() > PrintOptions::MAX_OFFSET_MM {
                return Err(FieldError::new(
                    field,
                    format!(
                        "must be between -{max} and {max} mm",
                        max = PrintOptions::MAX_OFFSET_MM
                    ),
                )
                .into());
            }
        }
        Ok(PreparedPrint {
            query,
            checked_in: request.checked_in,
            sheet,
            options: request.options,
        })
    }

    /// Writes the print run to `out`, a store page at a time, and returns the
    /// writer and the number of badges. A registration the original system
    /// wrote that has no check-in code yet is given one (and its badge
    /// queued again) so the printed code checks in.
    pub async fn print_badges<W: Write + Send + 'static>(
        &self,
        print: PreparedPrint,
        out: W,
    ) -> Result<(W, u64), LanyardError> {
        self.refresh_forms_quietly().await;
        let fonts = self.conferences().fonts().clone();
        let run = PrintRun::new(out, &fonts, &print.sheet, print.options).map_err(print_error)?;
        let mut run = Some(run);
        let mut query = print.query.clone();
        loop {
            let page = self.store_page(&query).await?;
            let mut batch: Vec<Registration> = Vec::with_capacity(page.items.len());
            for r in page.items {
                if print
                    .checked_in
                    .is_some_and(|wanted| wanted != r.checked_in.is_some())
                {
                    continue;
                }
                if r.checkin_code.is_none() {
                    batch.push(self.rerender(&r.key()).await?);
                } else {
                    batch.push(r);
                }
            }
            let this = self.clone();
            let mut current = run.take().expect("the run is put back after each page");
            let placed = crate::blocking::spawn_blocking(move || {
                for r in &batch {
                    this.with_badge(r, |renderer, badge| current.add(renderer, badge))
                        .map_err(|e| match e {
                            // The writer failed, not the badge.
                            LanyardError::Render(_) if current.failed_writing() => {
                                LanyardError::Storage(StoreError::unavailable(
                                    "the print run's output stopped taking bytes",
                                ))
                            }
                            other => other,
                        })?;
                }
                Ok::<_, LanyardError>(current)
            })
            .await
            .map_err(|e| LanyardError::Render(format!("the renderer stopped: {e}")))??;
            run = Some(placed);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        let run = run.expect("the run is put back after each page");
        let count = run.badges();
        let out = crate::blocking::spawn_blocking(move || run.finish())
            .await
            .map_err(|e| LanyardError::Render(format!("the renderer stopped: {e}")))?
            .map_err(print_error)?;
        Ok((out, count))
    }
}

/// A failed write is the output's fault (a full disk, a client gone), not
/// the badge's.
fn print_error(e: BadgeError) -> LanyardError {
    match e {
        BadgeError::Io(io) => LanyardError::Storage(StoreError::unavailable(io)),
        other => LanyardError::Render(other.to_string()),
    }
}
