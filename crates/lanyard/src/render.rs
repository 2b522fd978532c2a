//! `lanyard render`: badges from flags or from a CSV file, no server needed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context};
use lanyard_badge::{Format, Preset, PrintOptions, PrintRun, Sheet};
use lanyard_domain::import::{yes_no, ANSWER_PREFIX};
use lanyard_domain::{CheckinCode, Conferences, Person, UserId};

/// What every badge of one run shares.
pub struct RenderOptions<'a> {
    pub conferences: &'a Conferences,
    pub preset: Preset,
    pub format: Format,
    pub dpi: Option<u32>,
}

/// One attendee, validated with the same rules as the API.
pub struct Attendee {
    pub user_id: Option<UserId>,
    pub conference: String,
    pub person: Person,
    /// The attendee agreed to their contact card in the QR.
    pub contact_on_badge: bool,
    /// The registration's check-in code (a CSV's `checkin_code` column):
    /// the badge then checks its person in once the list is imported, and
    /// renders the same bytes every time. A fresh code when `None`.
    pub checkin_code: Option<CheckinCode>,
    /// A category of the conference: its band is printed.
    pub category: Option<String>,
    /// The answers printed on the badge's line.
    pub details: Option<String>,
}

impl Attendee {
    /// The code for the badge's QR.
    fn code(&self) -> CheckinCode {
        self.checkin_code
            .clone()
            .unwrap_or_else(CheckinCode::generate)
    }
}

pub fn render_one(options: &RenderOptions<'_>, attendee: &Attendee) -> anyhow::Result<Vec<u8>> {
    let conference = options
        .conferences
        .get(&attendee.conference)
        .with_context(|| {
            format!(
                "type: {:?} is not a configured conference",
                attendee.conference
            )
        })?;
    let payload = conference.payload(
        &attendee.person,
        &attendee.code(),
        attendee.contact_on_badge,
    );
    let badge = lanyard_badge::Badge {
        details: attendee.details.as_deref(),
        ..attendee.person.badge(&payload)
    };
    Ok(conference
        .renderer_for(attendee.category.as_deref())
        .render(&badge, options.preset, options.format, options.dpi)?)
}

/// Writes `bytes` to `path` via a temporary file and a rename. Errors name
/// `path`, the file the user asked for.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

#[derive(Debug, serde::Deserialize)]
struct CsvRow {
    user_id: String,
    #[serde(rename = "type")]
    conference: String,
    user_name: String,
    phone_number: String,
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    contact_on_badge: String,
    #[serde(default)]
    checkin_code: String,
}

/// A file name for a badge: the user id and the conference, readable in any
/// script (letters and digits are kept, `홍길동` stays `홍길동`), with
/// anything else replaced by `_`, so no row can name a path elsewhere.
pub fn file_stem(user_id: &UserId, conference: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{}--{}",
        clean(user_id.as_str()).trim_start_matches('.'),
        clean(conference)
    )
}

/// A row's category and the line of answers its badge prints, checked
/// with the conference's form as an import checks them.
fn form_of(
    conferences: &Conferences,
    form: &lanyard_domain::Form,
    extra: &[(String, String)],
) -> Result<(Option<String>, Option<String>), String> {
    let category = extra
        .iter()
        .find(|(h, _)| h == "category")
        .map(|(_, v)| v.as_str());
    let category = form
        .parse_category(category, true)
        .map_err(|e| e.to_string())?;
    let answers = extra
        .iter()
        .filter_map(|(h, v)| {
            let id = h.strip_prefix(ANSWER_PREFIX)?;
            Some((id.to_owned(), lanyard_domain::Answer::Text(v.clone())))
        })
        .collect();
    let answers = form.parse_answers(&answers).map_err(|e| e.to_string())?;
    let line = form.badge_line(&answers);
    if let Some(line) = &line {
        conferences
            .check_text("answers", line)
            .map_err(|e| e.to_string())?;
    }
    Ok((category, line))
}

/// The rows of a CSV file, each validated with the API's rules: the
/// attendee, or why the row was refused, with its line number.
pub fn read_csv(
    conferences: &Conferences,
    csv_path: &Path,
) -> anyhow::Result<Vec<(usize, Result<Attendee, String>)>> {
    let mut reader = csv::Reader::from_path(csv_path)
        .with_context(|| format!("reading {}", csv_path.display()))?;
    let headers = reader.headers()?.clone();
    for required in ["user_id", "type", "user_name", "phone_number"] {
        if !headers.iter().any(|h| h == required) {
            bail!("{}: the header must be user_id,type,user_name,phone_number,company_name (missing {required})", csv_path.display());
        }
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let row = record.map_err(|e| e.to_string()).and_then(|record| {
            let row: CsvRow = record
                .deserialize(Some(&headers))
                .map_err(|e| e.to_string())?;
            // The form's columns, as an import reads them.
            let extra: Vec<(String, String)> = headers
                .iter()
                .zip(record.iter())
                .filter(|(h, _)| *h == "category" || h.starts_with(ANSWER_PREFIX))
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect();
            Ok((row, extra))
        });
        let parsed = row.and_then(|(r, extra)| {
            let person = Person::parse(&r.user_name, &r.phone_number, Some(&r.company_name))
                .map_err(|e| e.to_string())?;
            conferences
                .check_printable(&person)
                .map_err(|e| e.to_string())?;
            let (category, details) = match conferences.get(&r.conference) {
                Some(conference) => form_of(conferences, &conference.form(), &extra)?,
                None => (None, None),
            };
            Ok(Attendee {
                category,
                details,
                user_id: Some(UserId::parse(&r.user_id).map_err(|e| e.to_string())?),
                conference: r.conference,
                person,
                contact_on_badge: yes_no(&r.contact_on_badge)
                    .map_err(|e| format!("contact_on_badge: {e}"))?,
                checkin_code: match r.checkin_code.trim() {
                    "" => None,
                    code => Some(CheckinCode::parse(code).ok_or_else(|| {
                        format!(
                            "checkin_code: {code:?} is not a check-in code (XXXX-XXXX-XXXX-XXXX)"
                        )
                    })?),
                },
            })
        });
        rows.push((line, parsed));
    }
    Ok(rows)
}

/// Renders every valid row of a CSV file onto `sheet`, as one PDF at `out`
/// (written beside it and renamed into place when whole). Nothing is
/// stored: a row without a `checkin_code` gets a fresh one.
pub fn render_csv_sheet(
    conferences: &Conferences,
    csv_path: &Path,
    sheet: &Sheet,
    options: PrintOptions,
    out: &Path,
) -> anyhow::Result<BatchReport> {
    let started = std::time::Instant::now();
    let attendees = read_csv(conferences, csv_path)?;
    let mut failed = Vec::new();
    let written = write_via_partial(out, |file| {
        let mut run = PrintRun::new(file, conferences.fonts(), sheet, options)?;
        for (line, attendee) in attendees {
            let placed = attendee.and_then(|a| {
                let conference = conferences.get(&a.conference).ok_or_else(|| {
                    format!("type: {:?} is not a configured conference", a.conference)
                })?;
                let payload = conference.payload(&a.person, &a.code(), a.contact_on_badge);
                let badge = lanyard_badge::Badge {
                    details: a.details.as_deref(),
                    ..a.person.badge(&payload)
                };
                run.add(&conference.renderer_for(a.category.as_deref()), &badge)
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = placed {
                if run.failed_writing() {
                    bail!("{e}");
                }
                failed.push(format!("line {line}: {e}"));
            }
        }
        let rendered = run.badges() as usize;
        run.finish()?;
        Ok(rendered)
    })?;
    Ok(BatchReport {
        rendered: written,
        failed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes `path` through `path.partial`, renamed into place only when
/// `write` succeeded; the partial file is removed otherwise.
pub fn write_via_partial<T>(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let result = (|| -> anyhow::Result<T> {
        let file = std::fs::File::create(&tmp)?;
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
        let value = write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

pub struct BatchReport {
    pub rendered: usize,
    pub failed: Vec<String>,
    pub seconds: f64,
}

/// Renders every row of a CSV file into `out_dir` on `jobs` threads.
pub fn render_csv(
    options: &RenderOptions<'_>,
    csv_path: &Path,
    out_dir: &Path,
    jobs: usize,
) -> anyhow::Result<BatchReport> {
    let attendees = read_csv(options.conferences, csv_path)?;
    let mut failed = Vec::new();
    let mut rows = Vec::new();
    // Each row's file name, and the line that took it: two rows may never
    // write one file.
    let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (line, parsed) in attendees {
        let named = parsed.and_then(|a| {
            let user_id = a.user_id.as_ref().expect("CSV rows have a user id");
            let name = format!(
                "{}.{}",
                file_stem(user_id, &a.conference),
                options.format.extension()
            );
            match names.get(&name) {
                Some(first) => Err(format!("its file {name} is already line {first}'s")),
                None => {
                    names.insert(name.clone(), line);
                    Ok((a, name))
                }
            }
        });
        match named {
            Ok(row) => rows.push(row),
            Err(e) => failed.push(format!("line {line}: {e}")),
        }
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let progress = indicatif::ProgressBar::new(rows.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} badges {per_sec} eta {eta}")
            .expect("valid template"),
    );
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((a, name)) = rows.get(i) else { break };
                let path: PathBuf = out_dir.join(name);
                if let Err(e) = render_one(options, a).and_then(|bytes| write_file(&path, &bytes)) {
                    let user_id = a.user_id.as_ref().expect("CSV rows have a user id");
                    errors
                        .lock()
                        .expect("errors")
                        .push(format!("{user_id}: {e:#}"));
                }
                progress.inc(1);
            });
        }
    });
    progress.finish_and_clear();
    let mut render_errors = errors.into_inner().expect("errors");
    let rendered = rows.len() - render_errors.len();
    failed.append(&mut render_errors);
    Ok(BatchReport {
        rendered,
        failed,
        seconds: started.elapsed().as_secs_f64(),
    })
}
