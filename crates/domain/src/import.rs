//! Lists in (SPEC §12): a spreadsheet's CSV into the store, each row
//! validated exactly like a sign-up and stored whole (registration and badge
//! job together) or not at all.
//!
//! Files come as spreadsheet programs write them: UTF-8 with or without a
//! byte-order mark, or CP949/EUC-KR (Korean Excel's "CSV"); comma,
//! semicolon or tab between fields; CRLF line ends; quoted fields with
//! newlines inside. The `csv` crate reads the fields and `encoding_rs`
//! decodes CP949; what is decided here is which encoding and which
//! delimiter a file uses, and which column is which.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::checkin::CheckinCode;
use crate::fields::FieldError;
use crate::ports::StoreError;
use crate::registration::{NewRegistration, Registration, RegistrationKey};
use crate::service::{Lanyard, LanyardError};

/// The most rows one import takes.
pub const MAX_ROWS: usize = 20_000;
/// The longest cell taken; the longest valid value is far shorter.
pub const MAX_CELL_CHARS: usize = 1_000;
/// Sign-ups stored at once: enough for the store's group commit to batch.
const IN_FLIGHT: usize = 64;

/// The columns an import understands, beside one `answer:<question id>`
/// per question; any other column must be mapped to one of these, or to
/// `-` (ignored).
pub const FIELDS: [&str; 9] = [
    "user_id",
    "type",
    "user_name",
    "phone_number",
    "company_name",
    "contact_on_badge",
    "checkin_code",
    "email",
    "category",
];

/// The prefix of a column holding the answers to one question.
pub const ANSWER_PREFIX: &str = "answer:";

/// Columns that an export writes and an import ignores (state, not input).
pub const EXPORT_ONLY: [&str; 7] = [
    "created_at",
    "badge_status",
    "checked_in_at",
    "checked_in_desk",
    "badge_url",
    "status",
    "offer_expires_at",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Windows code page 949, a superset of EUC-KR.
    Cp949,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "cp949" | "euc-kr" | "euckr" | "windows-949" | "ks-c-5601-1987" => Ok(Encoding::Cp949),
            other => Err(format!(
                "unknown encoding {other:?} (expected utf-8 or cp949)"
            )),
        }
    }
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Check every row and report, storing nothing.
    pub dry_run: bool,
    /// `None`: UTF-8 when the bytes are valid UTF-8, else CP949.
    pub encoding: Option<Encoding>,
    /// The file's header → a field of [`FIELDS`], `answer:<question id>`,
    /// or `-` to ignore it.
    pub map: Vec<(String, String)>,
    /// The conference of rows without a `type` (or without the column).
    pub conference: Option<String>,
    /// Rows on earlier lines were imported by an earlier request (its
    /// [`ImportReport::next_line`]): they are read, so a key repeated from
    /// them is still found, but neither stored nor reported again.
    pub from_line: u64,
    /// How long the rows may take to store; those not started by then are
    /// left for a request `from_line` [`ImportReport::next_line`]. `None`:
    /// as long as they take.
    pub budget: Option<std::time::Duration>,
}

impl ImportOptions {
    /// Parses `--map 'Name=user_name,Phone=phone_number'`.
    pub fn parse_map(spec: &str) -> Result<Vec<(String, String)>, String> {
        spec.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (from, to) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("{pair:?} is not HEADER=field"))?;
                Ok((from.trim().to_owned(), to.trim().to_owned()))
            })
            .collect()
    }
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Stored with its badge job (or, in a dry run, would be).
    Created,
    /// This user is already registered for this conference: nothing changed.
    AlreadyRegistered,
    /// Refused: which field and why.
    Invalid {
        field: Option<String>,
        reason: String,
    },
    /// Refused because it clashes with another registration: its check-in
    /// code is taken (an HTTP `409` for this row alone).
    Conflict { field: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct RowReport {
    /// The line the row starts on (the header is line 1).
    pub line: u64,
    pub user_id: Option<String>,
    pub conference: Option<String>,
    pub outcome: RowOutcome,
}

#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: usize,
    pub already_registered: usize,
    pub invalid: usize,
    /// Rows refused for clashing with another registration.
    pub conflicts: usize,
    pub rows: Vec<RowReport>,
    /// The budget ran out: rows from this line on were neither stored nor
    /// reported. The same file imported `from_line` this goes on.
    pub next_line: Option<u64>,
}

/// Why a whole file was refused (nothing was stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// One row's cells by field, or why the row cannot be read.
type Cells = Result<BTreeMap<String, String>, String>;

/// A file decoded and split into rows (with their line numbers), before
/// any row is checked.
struct Table {
    rows: Vec<(u64, Cells)>,
}

/// Decodes the bytes: a UTF-8 byte-order mark is dropped; without an
/// encoding given, a file that is UTF-8 is read as UTF-8, and one with no
/// UTF-8 text at all as CP949. A file that mixes them (UTF-8 lines beside a
/// line in another encoding, such as a row pasted from a Latin-1 file) is
/// refused, naming the line: read as CP949 it would decode without error
/// into text nobody wrote. Errors name the first line at fault.
pub fn decode(bytes: &[u8], encoding: Option<Encoding>) -> Result<String, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let encoding = match encoding {
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => Encoding::Utf8,
        None => {
            // Neither encoding writes a newline byte inside a character,
            // so lines can be told apart before they are decoded.
            let lines = || bytes.split(|&b| b == b'\n').enumerate();
            let utf8_text =
                lines().find(|(_, line)| !line.is_ascii() && std::str::from_utf8(line).is_ok());
            if let Some((utf8_line, _)) = utf8_text {
                let (other, _) = lines()
                    .find(|(_, line)| std::str::from_utf8(line).is_err())
                    .expect("the file is not UTF-8");
                return Err(FileError(format!(
                    "line {} is not UTF-8, while line {} is: the file mixes encodings \
                     (a row pasted from another file, say); save the whole file as CSV UTF-8",
                    other + 1,
                    utf8_line + 1
                )));
            }
            Encoding::Cp949
        }
    };
    match encoding {
        Encoding::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            FileError(format!(
                "line {} is not UTF-8; give the file's encoding (e.g. cp949), or save it as CSV UTF-8",
                line_of(bytes, at)
            ))
        }),
        Encoding::Cp949 => {
            let (text, had_errors) = encoding_rs::EUC_KR.decode_without_bom_handling(bytes);
            if had_errors {
                let line = bytes
                    .split(|&b| b == b'\n')
                    .position(|line| {
                        encoding_rs::EUC_KR
                            .decode_without_bom_handling(line)
                            .1
                    })
                    .map_or(1, |i| i + 1);
                return Err(FileError(format!(
                    "line {line} is neither UTF-8 nor CP949/EUC-KR; save the file as CSV UTF-8"
                )));
            }
            Ok(text.into_owned())
        }
    }
}

/// The line (from 1) of a byte offset.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of a quote that opens a field and is never closed, if any.
/// The `csv` reader takes such a field to the end of the file without a
/// word, so every row after it would silently vanish into one cell. A quote
/// opens a field only at the field's start (elsewhere it is a character,
/// as in `5'11"`); inside, `""` is a quote character.
fn unclosed_quote(text: &str, delimiter: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut opened_at = None;
    let mut at_field_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match opened_at {
            Some(_) if b == b'"' && bytes.get(i + 1) == Some(&b'"') => i += 1,
            Some(_) if b == b'"' => {
                opened_at = None;
                at_field_start = false;
            }
            Some(_) => {}
            None if b == b'"' && at_field_start => opened_at = Some(i),
            None => at_field_start = b == delimiter || b == b'\n' || b == b'\r',
        }
        i += 1;
    }
    opened_at.map(|at| line_of(bytes, at))
}

/// The delimiter of the header line: the most frequent of comma, semicolon
/// and tab outside quotes (comma on a tie).
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for c in text.bytes() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                for (d, n) in counts.iter_mut() {
                    if *d == c {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    counts
        .iter()
        .fold(
            (b',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

/// A cell an export neutralised against formula injection (`'=…`) reads
/// back as it was.
fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// The field a column fills: one of [`FIELDS`], or an answer column.
fn field_name(name: &str) -> Option<String> {
    if let Some(id) = name.strip_prefix(ANSWER_PREFIX) {
        let valid = (1..=40).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        return valid.then(|| name.to_owned());
    }
    FIELDS.iter().find(|f| **f == name).map(|f| (*f).to_owned())
}

fn read_table(
    text: &str,
    map: &[(String, String)],
    default_conference: bool,
) -> Result<Table, FileError> {
    let delimiter = sniff_delimiter(text);
    if let Some(line) = unclosed_quote(text, delimiter) {
        return Err(FileError(format!(
            "line {line}: a quote opens a field and is never closed, so the rest of the file \
             cannot be read as rows; close the quote or remove it"
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileError(format!("the header line cannot be read: {e}")))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(FileError(
            "the file is empty: the first line must name the columns".into(),
        ));
    }
    for (from, to) in map {
        if to != "-" && field_name(to).is_none() {
            return Err(FileError(format!(
                "--map {from}={to}: {to:?} is not a field (the fields are {}, and {ANSWER_PREFIX}<question id>)",
                FIELDS.join(", ")
            )));
        }
        if !headers.iter().any(|h| h.trim() == from) {
            return Err(FileError(format!(
                "--map {from}={to}: the file has no column {from:?}"
            )));
        }
    }
    let mut columns = Vec::new();
    let mut unknown = Vec::new();
    for header in headers.iter() {
        let header = header.trim();
        let mapped = map
            .iter()
            .find(|(from, _)| from == header)
            .map(|(_, to)| to.as_str())
            .unwrap_or(header);
        if mapped == "-" || EXPORT_ONLY.contains(&mapped) {
            columns.push(None);
        } else if let Some(field) = field_name(mapped) {
            if columns.contains(&Some(field.clone())) {
                return Err(FileError(format!("two columns fill {field}")));
            }
            columns.push(Some(field));
        } else {
            unknown.push(header.to_owned());
            columns.push(None);
        }
    }
    if !unknown.is_empty() {
        return Err(FileError(format!(
            "unknown column{} {}: map each to a field (e.g. --map '{}=user_name') or to - to ignore it; the fields are {}, and answer:<question id>",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", "),
            unknown[0],
            FIELDS.join(", ")
        )));
    }
    for required in ["user_id", "type", "user_name", "phone_number"] {
        if required == "type" && default_conference {
            continue;
        }
        if !columns.iter().any(|c| c.as_deref() == Some(required)) {
            return Err(FileError(format!(
                "no column for {required}: name a column {required}, or map one with --map 'YOUR HEADER={required}'"
            )));
        }
    }
    // Line numbers from byte offsets: `csv` miscounts lines after CRLF.
    let mut counted = (0usize, 1u64);
    let mut line_at = |byte: u64| {
        let mut byte = (byte as usize).min(text.len());
        // After a CRLF a record's position may be its line end's `\n`.
        while byte < text.len() && matches!(text.as_bytes()[byte], b'\r' | b'\n') {
            byte += 1;
        }
        if byte >= counted.0 {
            counted.1 += text.as_bytes()[counted.0..byte]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            counted.0 = byte;
        }
        counted.1
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() >= MAX_ROWS {
            return Err(FileError(format!(
                "more than {MAX_ROWS} rows: split the file"
            )));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_at(p.byte())).unwrap_or(0);
                rows.push((line, Err(format!("the row cannot be read: {e}"))));
                // A broken quote makes the rest unreadable: stop here.
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
                continue;
            }
        };
        let line = record.position().map(|p| line_at(p.byte())).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut values = BTreeMap::new();
        let mut problem = None;
        for (i, cell) in record.iter().enumerate() {
            match columns.get(i) {
                Some(Some(field)) => {
                    if cell.chars().count() > MAX_CELL_CHARS {
                        problem = Some(format!(
                            "{field}: a cell of more than {MAX_CELL_CHARS} characters"
                        ));
                    }
                    values.insert(field.clone(), unneutralise(cell).to_owned());
                }
                Some(None) => {}
                None if cell.trim().is_empty() => {}
                None => {
                    problem = Some(format!(
                        "more cells than the header has columns ({})",
                        columns.len()
                    ))
                }
            }
        }
        rows.push((line, problem.map_or(Ok(values), Err)));
    }
    Ok(Table { rows })
}

/// A spreadsheet's yes or no: empty is no.
pub fn yes_no(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "n" | "0" => Ok(false),
        "true" | "yes" | "y" | "1" => Ok(true),
        other => Err(format!("{other:?} is not true/false, yes/no or 1/0")),
    }
}

impl Lanyard {
    /// Imports a CSV file. Whole-file problems (encoding, header, size) are
    /// a [`FileError`] and store nothing; each row is otherwise reported on
    /// its own, and a row is stored whole (with its badge job) or not at
    /// all. Importing the same file again creates nothing.
    pub async fn import_csv(
        &self,
        bytes: &[u8],
        options: &ImportOptions,
    ) -> Result<Result<ImportReport, FileError>, LanyardError> {
        self.refresh_forms_quietly().await;
        if let Some(c) = &options.conference {
            self.conferences()
                .parse_id(c)
                .map_err(LanyardError::Invalid)?;
        }
        let table = match decode(bytes, options.encoding)
            .and_then(|t| read_table(&t, &options.map, options.conference.is_some()))
        {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        let mut report = ImportReport {
            dry_run: options.dry_run,
            ..Default::default()
        };
        // Each key's first line: a key twice in one file is a mistake.
        let mut seen: HashMap<RegistrationKey, u64> = HashMap::new();
        let mut codes: HashMap<String, u64> = HashMap::new();
        let mut to_store: Vec<(usize, Registration, bool)> = Vec::new();
        for (line, row) in table.rows {
            // Imported by an earlier request: read for the checks below.
            let earlier = line < options.from_line;
            let mut entry = RowReport {
                line,
                user_id: None,
                conference: None,
                outcome: RowOutcome::Created,
            };
            let checked = row.map_err(|reason| (None, reason)).and_then(|mut values| {
                if let Some(default) = &options.conference {
                    let cell = values.entry("type".to_owned()).or_default();
                    if cell.trim().is_empty() {
                        default.clone_into(cell);
                    }
                }
                entry.user_id = values.get("user_id").cloned();
                entry.conference = values.get("type").cloned();
                self.import_row(&values)
                    .map_err(|e| (Some(e.field.to_owned()), e.to_string()))
            });
            match checked {
                Err((field, reason)) => {
                    entry.outcome = RowOutcome::Invalid { field, reason };
                }
                Ok((registration, code_given)) => {
                    let key = registration.key();
                    let code = registration
                        .checkin_code
                        .as_ref()
                        .filter(|_| code_given)
                        .map(|c| c.as_str().to_owned());
                    if let Some(first) = seen.get(&key) {
                        entry.outcome = RowOutcome::Invalid {
                            field: Some("user_id".into()),
                            reason: format!(
                                "user_id: this user and type are already on line {first}"
                            ),
                        };
                    } else if let Some(first) = code.as_ref().and_then(|c| codes.get(c)) {
                        entry.outcome = RowOutcome::Invalid {
                            field: Some("checkin_code".into()),
                            reason: format!("checkin_code: already on line {first}"),
                        };
                    } else {
                        seen.insert(key, line);
                        if let Some(code) = code {
                            codes.insert(code, line);
                        }
                        if !earlier {
                            to_store.push((report.rows.len(), registration, code_given));
                        }
                    }
                }
            }
            if !earlier {
                report.rows.push(entry);
            }
        }
        // Store the valid rows, many at once so the store can batch them,
        // at most `import_rate` a second where one is set.
        let lanyard = Arc::new(self.clone());
        let dry_run = options.dry_run;
        let deadline = options.budget.map(|b| tokio::time::Instant::now() + b);
        let mut pace = self.import_rate.filter(|_| !dry_run).map(|rate| {
            let mut every = tokio::time::interval(std::time::Duration::from_secs_f64(
                1.0 / f64::from(rate.max(1)),
            ));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every
        });
        let mut pending = to_store.into_iter().peekable();
        let mut running = tokio::task::JoinSet::new();
        loop {
            while running.len() < IN_FLIGHT {
                if pending.peek().is_none() {
                    break;
                }
                // Rows that finish meanwhile wait in `running` to be joined.
                if let Some(every) = &mut pace {
                    every.tick().await;
                }
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    // Out of time: the rest waits for the next request.
                    let first = pending.peek().map(|(index, ..)| report.rows[*index].line);
                    report.next_line = first;
                    pending.by_ref().for_each(drop);
                    break;
                }
                let Some((index, registration, code_given)) = pending.next() else {
                    break;
                };
                let lanyard = lanyard.clone();
                running.spawn(async move {
                    let outcome = lanyard
                        .store_imported(registration, code_given, dry_run)
                        .await;
                    (index, outcome)
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (index, outcome) =
                done.map_err(|e| LanyardError::Storage(StoreError::unavailable(e.to_string())))?;
            report.rows[index].outcome = outcome?;
        }
        if let Some(next) = report.next_line {
            report.rows.retain(|row| row.line < next);
        }
        for row in &report.rows {
            match row.outcome {
                RowOutcome::Created => report.created += 1,
                RowOutcome::AlreadyRegistered => report.already_registered += 1,
                RowOutcome::Invalid { .. } => report.invalid += 1,
                RowOutcome::Conflict { .. } => report.conflicts += 1,
            }
        }
        Ok(Ok(report))
    }

    /// One row, checked with the sign-up's rules; and whether its check-in
    /// code came from the file.
    fn import_row(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<(Registration, bool), FieldError> {
        let text = |f: &str| values.get(f).cloned();
        let answers = values
            .iter()
            .filter_map(|(column, cell)| {
                let id = column.strip_prefix(ANSWER_PREFIX)?;
                Some((id.to_owned(), crate::form::Answer::Text(cell.clone())))
            })
            .collect();
        let consent = match values.get("contact_on_badge") {
            Some(v) => yes_no(v).map_err(|reason| FieldError::new("contact_on_badge", reason))?,
            None => false,
        };
        let mut registration = self
            .new_registration(NewRegistration {
                conference: text("type"),
                user_id: text("user_id"),
                user_name: text("user_name"),
                phone_number: text("phone_number"),
                company_name: text("company_name"),
                contact_on_badge: Some(consent),
                email: text("email"),
                category: text("category"),
                answers,
                by_organizer: true,
                walk_in: false,
            })
            .map_err(|e| match e {
                LanyardError::Invalid(f) => f,
                other => FieldError::new("type", other.to_string()),
            })?;
        // A code from an earlier export is kept, so printed badges still scan.
        let given = values
            .get("checkin_code")
            .map(|c| c.trim())
            .filter(|c| !c.is_empty());
        if let Some(code) = given {
            let code = CheckinCode::parse(code).ok_or_else(|| {
                FieldError::new(
                    "checkin_code",
                    "is not a check-in code (XXXX-XXXX-XXXX-XXXX)",
                )
            })?;
            registration.checkin_code = Some(code);
        }
        Ok((registration, given.is_some()))
    }

    async fn store_imported(
        &self,
        registration: Registration,
        code_given: bool,
        dry_run: bool,
    ) -> Result<RowOutcome, LanyardError> {
        let key = registration.key();
        if let Some(code) = registration.checkin_code.as_ref().filter(|_| code_given) {
            if let Some(other) = self.store.find_by_checkin_code(code.as_str()).await? {
                if other.key() == key {
                    return Ok(RowOutcome::AlreadyRegistered);
                }
                return Ok(code_taken());
            }
        }
        if dry_run {
            return Ok(match self.store.get(&key).await? {
                Some(_) => RowOutcome::AlreadyRegistered,
                None => RowOutcome::Created,
            });
        }
        // Seats are decided as for any sign-up: a full conference's rows
        // wait on its list, or are refused without one.
        match self.store_new(registration, true).await {
            Ok(_) => {
                self.announce(&key).await;
                Ok(RowOutcome::Created)
            }
            Err(LanyardError::AlreadyRegistered) => Ok(RowOutcome::AlreadyRegistered),
            // Taken meanwhile (by another import running at once, say).
            Err(LanyardError::Invalid(f)) if f.field == "checkin_code" => Ok(code_taken()),
            Err(LanyardError::Full) => Ok(RowOutcome::Conflict {
                field: "type".into(),
                reason: "type: the conference is full and keeps no waiting list".into(),
            }),
            Err(e) => Err(e),
        }
    }
}

fn code_taken() -> RowOutcome {
    RowOutcome::Conflict {
        field: "checkin_code".into(),
        reason: "checkin_code: belongs to another registration".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_the_header_lines_most_frequent_outside_quotes() {
        assert_eq!(sniff_delimiter("a,b,c\n1;2;3;4;5\n"), b',');
        assert_eq!(sniff_delimiter("a;b;\"x,y,z\"\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("single"), b',');
    }

    #[test]
    fn bytes_are_utf8_with_or_without_bom_else_cp949() {
        assert_eq!(decode("\u{feff}이름".as_bytes(), None).unwrap(), "이름");
        let (cp949, _, _) = encoding_rs::EUC_KR.encode("홍길동,서울");
        assert_eq!(decode(&cp949, None).unwrap(), "홍길동,서울");
        assert_eq!(
            decode(&cp949, Some(Encoding::Cp949)).unwrap(),
            "홍길동,서울"
        );
        assert!(decode(&cp949, Some(Encoding::Utf8)).is_err());
        // Bytes that are neither.
        assert!(decode(&[0x81, 0x20, 0xff, 0xff], None).is_err());
    }

    #[test]
    fn a_file_that_mixes_encodings_is_refused_naming_the_line() {
        // UTF-8 rows with one row pasted from a Latin-1 file: read as
        // CP949, the whole file would decode without an error.
        let mut bytes = "user_id,type,user_name\njose,A,José Ramón\n"
            .as_bytes()
            .to_vec();
        bytes.extend_from_slice(b"alvaro,A,\xc0lvaro\n");
        bytes.extend_from_slice("kim,A,Mañana\n".as_bytes());
        let (mojibake, errors) = encoding_rs::EUC_KR.decode_without_bom_handling(&bytes);
        assert!(!errors && mojibake.contains("Jos챕"), "{mojibake}");
        let e = decode(&bytes, None).unwrap_err();
        assert!(
            e.0.starts_with("line 3 is not UTF-8, while line 2 is"),
            "{e}"
        );
        // Said to be UTF-8, the line is named too.
        let e = decode(&bytes, Some(Encoding::Utf8)).unwrap_err();
        assert!(e.0.starts_with("line 3 is not UTF-8"), "{e}");
        // A CP949 file with a line that is not CP949 either.
        let (mut cp949, _, _) =
            encoding_rs::EUC_KR.encode("user_id,type,user_name\nhong,A,홍길동\n");
        let mut cp949 = cp949.to_mut().clone();
        cp949.extend_from_slice(b"bad,A,\xff\xff\n");
        let e = decode(&cp949, None).unwrap_err();
        assert!(e.0.starts_with("line 3 is neither UTF-8 nor CP949"), "{e}");
    }

    #[test]
    fn an_unclosed_quote_is_found_and_quotes_inside_fields_are_not() {
        assert_eq!(unclosed_quote("a,b\n\"x,y\nc,d\n", b','), Some(2));
        assert_eq!(unclosed_quote("a,b\n1,\"open\n2,3\n4,5", b','), Some(2));
        for closed in [
            "a,b\n\"x\ny\",z\n",
            "a,b\n\"say \"\"hi\"\"\",z\n",
            "a,b\n5'11\",z\n",
            "a;b\r\n\"x;y\";z\r\n",
            "a\tb\n\"\"\t\"\"\n",
        ] {
            let delimiter = sniff_delimiter(closed);
            assert_eq!(unclosed_quote(closed, delimiter), None, "{closed:?}");
        }
        let e = read_table(
            "user_id,type,user_name,phone_number\nkim,A,\"Kim,010-1234-5678\nlee,A,Lee,010-1\n",
            &[],
            false,
        )
        .err()
        .unwrap();
        assert!(
            e.0.starts_with("line 2: a quote opens a field and is never closed"),
            "{e}"
        );
    }

    #[test]
    fn neutralised_cells_read_back_as_they_were() {
        assert_eq!(unneutralise("'=SUM(A1)"), "=SUM(A1)");
        assert_eq!(unneutralise("'+82 10"), "+82 10");
        assert_eq!(unneutralise("'quoted'"), "'quoted'");
        assert_eq!(unneutralise("plain"), "plain");
    }

    #[test]
    fn lines_count_quoted_newlines_and_crlf() {
        let table = read_table(
            "user_id,type,user_name,phone_number\r\na,t,\"two\r\nlines\",1\r\n\r\nb,t,n,2\r\n",
            &[],
            false,
        )
        .unwrap();
        let lines: Vec<u64> = table.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 5]);
    }

    #[test]
    fn maps_name_other_headers_and_refuse_what_they_cannot_place() {
        let map = ImportOptions::parse_map("이름=user_name, Notes=-").unwrap();
        let table = read_table(
            "user_id,type,이름,phone_number,Notes\nu,t,홍길동,010,whatever\n",
            &map,
            false,
        )
        .unwrap();
        let (_, cells) = &table.rows[0];
        let cells = cells.as_ref().unwrap();
        assert_eq!(cells["user_name"], "홍길동");
        assert_eq!(cells.len(), 4, "the ignored column is dropped");
        assert!(ImportOptions::parse_map("nonsense").is_err());
        let err = read_table("user_id,type,user_name,phone_number,Extra\n", &[], false)
            .err()
            .unwrap();
        assert!(err.0.contains("\"Extra\""), "{err}");
    }

    #[test]
    fn a_huge_cell_refuses_its_row_not_the_file() {
        let big = "x".repeat(MAX_CELL_CHARS + 1);
        let table = read_table(
            &format!("user_id,type,user_name,phone_number\nu,t,{big},010\nv,t,ok,010\n"),
            &[],
            false,
        )
        .unwrap();
        assert!(table.rows[0].1.as_ref().unwrap_err().contains("user_name"));
        assert!(table.rows[1].1.is_ok());
    }
}
