//! Conferences: configured, not hard-coded (SPEC §3).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lanyard_badge::{
    BadgeRenderer, Band, FontSources, Fonts, Logo, Payload, Rgb, Sheet, Theme, DEFAULT_ACCENT,
};
use serde::{Deserialize, Serialize};

use crate::checkin::{CheckinCode, URN_PREFIX};
use crate::fields::{CompanyName, ConferenceId, FieldError, UserName};
use crate::form::{CategoryConfig, EmailPolicy, Form, QuestionConfig};
use crate::notify::{ConferenceMail, MailConfig, WebhookConfig};
use crate::registration::Person;
use crate::seats::Capacity;

/// What a badge's QR code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayloadKind {
    /// A vCard 3.0: scanning offers "add contact".
    #[default]
    Vcard,
    /// The phone number as a `tel:` URI (what the original encoded).
    Tel,
    /// An unguessable check-in code and nothing personal.
    Ticket,
}

/// Why the conference configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Sheet(String),
    #[error("fonts: {0}")]
    Fonts(#[source] lanyard_badge::BadgeError),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("the configuration has no conference")]
    NoConference,
    #[error("conference id {0:?} must be 1–100 characters without '/' or control characters")]
    InvalidId(String),
    #[error("conference id {0:?} appears twice")]
    DuplicateId(String),
    #[error("conference {id:?}: {message}")]
    Dates { id: String, message: String },
    #[error("conference {id:?}: {message}")]
    Form { id: String, message: String },
    #[error("conference {id:?}: accent: {message}")]
    Accent { id: String, message: String },
    #[error("conference {id:?}: logo {path}: {source}")]
    Logo {
        id: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("conference {id:?}: {message}")]
    Mail { id: String, message: String },
    #[error("{0}")]
    Webhook(String),
    #[error("conference {id:?}: {source}")]
    Badge {
        id: String,
        #[source]
        source: lanyard_badge::BadgeError,
    },
}

/// `lanyard.toml`: a list of `[[conference]]` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConferencesConfig {
    #[serde(rename = "conference")]
    pub conferences: Vec<ConferenceConfig>,
    /// Label or card stock beside the built-in sheets (`[[sheet]]`).
    #[serde(rename = "sheet", default)]
    pub sheets: Vec<SheetConfig>,
    /// Fonts beyond the bundled ones (`[fonts]`).
    #[serde(default)]
    pub fonts: FontsConfig,
    /// Endpoints that get events (`[[webhook]]`).
    #[serde(rename = "webhook", default)]
    pub webhooks: Vec<WebhookConfig>,
}

/// `[fonts]`: font files tried after the bundled faces (relative to the
/// configuration file), and whether the fonts installed on the system are
/// tried last (the default).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FontsConfig {
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default = "yes")]
    pub installed: bool,
}

fn yes() -> bool {
    true
}

impl Default for FontsConfig {
    fn default() -> Self {
        FontsConfig {
            files: Vec::new(),
            installed: true,
        }
    }
}

impl FontsConfig {
    fn sources(&self, base_dir: &Path) -> FontSources {
        FontSources {
            files: self.files.iter().map(|f| base_dir.join(f)).collect(),
            installed: self.installed,
        }
    }
}

/// A custom sheet: every length in millimetres from the page's top-left.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetConfig {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub page_width: f32,
    pub page_height: f32,
    pub columns: u32,
    pub rows: u32,
    pub cell_width: f32,
    pub cell_height: f32,
    #[serde(default)]
    pub margin_left: f32,
    #[serde(default)]
    pub margin_top: f32,
    #[serde(default)]
    pub gap_x: f32,
    #[serde(default)]
    pub gap_y: f32,
}

impl SheetConfig {
    fn to_sheet(&self) -> Sheet {
        Sheet {
            name: self.name.clone(),
            description: if self.description.is_empty() {
                format!("Custom sheet, {} × {} badges", self.columns, self.rows)
            } else {
                self.description.clone()
            },
            page_width: self.page_width,
            page_height: self.page_height,
            columns: self.columns,
            rows: self.rows,
            cell_width: self.cell_width,
            cell_height: self.cell_height,
            margin_left: self.margin_left,
            margin_top: self.margin_top,
            gap_x: self.gap_x,
            gap_y: self.gap_y,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConferenceConfig {
    pub id: String,
    pub title: String,
    /// `#rrggbb`; the original's red when absent.
    pub accent: Option<String>,
    /// A PNG or SVG file, relative to the configuration file.
    pub logo: Option<String>,
    /// A date or venue line under the title.
    pub subtitle: Option<String>,
    #[serde(default)]
    pub payload: PayloadKind,
    /// The first day, `YYYY-MM-DD`.
    pub starts: Option<String>,
    /// The last day, `YYYY-MM-DD`.
    pub ends: Option<String>,
    /// Days after `ends` to keep personal data; then it is erased, keeping
    /// anonymous counts (SPEC §9). Needs `ends`.
    pub retention_days: Option<u32>,
    /// Whether the sign-up asks for an e-mail address.
    #[serde(default)]
    pub email: EmailPolicy,
    /// `[[conference.category]]`: speaker, staff, sponsor…
    #[serde(rename = "category", default)]
    pub categories: Vec<CategoryConfig>,
    /// `[[conference.question]]`: the conference's own questions.
    #[serde(rename = "question", default)]
    pub questions: Vec<QuestionConfig>,
    /// Seats; no limit when absent.
    pub capacity: Option<u32>,
    /// Sign-ups past capacity wait for a seat (else they are refused).
    #[serde(default)]
    pub waitlist: bool,
    /// When the public sign-up closes, RFC 3339 (`2026-11-30T23:59:00+09:00`).
    pub closes_at: Option<String>,
    /// Hours an offered seat is held for (default 48).
    pub offer_hours: Option<u32>,
    /// `[conference.mail]`: language and texts of its e-mails.
    #[serde(default)]
    pub mail: MailConfig,
}

impl ConferencesConfig {
    /// The original system's two conferences, with their original ids.
    pub fn builtin() -> Self {
        let conference = |id: &str| ConferenceConfig {
            id: id.into(),
            title: id.into(),
            accent: None,
            logo: None,
            subtitle: None,
            payload: PayloadKind::Vcard,
            starts: None,
            ends: None,
            retention_days: None,
            email: EmailPolicy::default(),
            categories: Vec::new(),
            questions: Vec::new(),
            capacity: None,
            waitlist: false,
            closes_at: None,
            offer_hours: None,
            mail: MailConfig::default(),
        };
        ConferencesConfig {
            conferences: vec![
                conference("Serverless web project"),
                conference("About cloud computing"),
            ],
            sheets: Vec::new(),
            fonts: FontsConfig::default(),
            webhooks: Vec::new(),
        }
    }

    /// Parses the text of a configuration file; the error says what and where.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// The longest retention a configuration may ask for: ten years.
const MAX_RETENTION_DAYS: u32 = 3650;

/// A conference's dates, checked, and when its personal data is erased.
#[allow(clippy::type_complexity)]
fn dates(
    c: &ConferenceConfig,
) -> Result<
    (
        Option<time::Date>,
        Option<time::Date>,
        Option<time::OffsetDateTime>,
    ),
    String,
> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| {
                time::Date::parse(v.trim(), &format)
                    .map_err(|_| format!("{name} {v:?} is not a date like 2026-11-28"))
            })
            .transpose()
    };
    let starts = date("starts", &c.starts)?;
    let ends = date("ends", &c.ends)?;
    if let (Some(s), Some(e)) = (starts, ends) {
        if e < s {
            return Err(format!("ends ({e}) is before starts ({s})"));
        }
    }
    let erase_from = match (c.retention_days, ends) {
        (None, _) => None,
        (Some(_), None) => {
            return Err("retention_days needs ends, the conference's last day".into())
        }
        (Some(days), _) if days > MAX_RETENTION_DAYS => {
            return Err(format!(
                "retention_days {days} is more than {MAX_RETENTION_DAYS} (ten years)"
            ))
        }
        (Some(days), Some(ends)) => {
            let day = ends
                .checked_add(time::Duration::days(i64::from(days) + 1))
                .ok_or_else(|| "ends + retention_days is past the year 9999".to_string())?;
            Some(day.midnight().assume_utc())
        }
    };
    Ok((starts, ends, erase_from))
}

/// One configured conference with its badge renderer, prepared once.
#[derive(Debug)]
pub struct Conference {
    pub id: ConferenceId,
    pub title: String,
    pub accent: Rgb,
    pub subtitle: Option<String>,
    pub payload: PayloadKind,
    pub renderer: Arc<BadgeRenderer>,
    pub starts: Option<time::Date>,
    pub ends: Option<time::Date>,
    /// From when its registrations' personal data is erased: midnight UTC
    /// after the day `retention_days` after `ends`.
    pub erase_from: Option<time::OffsetDateTime>,
    /// E-mail policy, categories and questions, with the renderers of
    /// the categories' bands: from the configuration, or as organizers
    /// last set them (swapped whole, seen by every clone at once).
    form: Arc<std::sync::RwLock<Arc<FormSet>>>,
    /// The badge's look without a band, for the bands' renderers.
    theme: Theme,
    /// Seats and whether a waiting list is kept; no limit when `None`.
    pub capacity: Option<Capacity>,
    /// When the public sign-up closes.
    pub closes_at: Option<time::OffsetDateTime>,
    /// How long an offered seat is held.
    pub offer_hours: u32,
    /// Its e-mails' language and texts.
    pub mail: ConferenceMail,
}

/// A conference's form as it stands: its text, parsed and checked, and
/// a renderer for each category with a band.
#[derive(Debug)]
pub struct FormSet {
    pub form: Form,
    /// The form as `[[category]]`/`[[question]]` TOML, as organizers edit it.
    pub text: String,
    pub band_renderers: BTreeMap<String, Arc<BadgeRenderer>>,
}

impl FormSet {
    /// Checks a form and prepares its bands' renderers.
    pub fn build(
        config: FormConfig,
        text: String,
        theme: &Theme,
        fonts: &Fonts,
    ) -> Result<FormSet, String> {
        let form = Form::build(
            config.email,
            config.categories,
            config.questions,
            theme.accent,
        )?;
        let mut band_renderers = BTreeMap::new();
        for category in &form.categories {
            let Some(band) = &category.band else { continue };
            if let Some(message) = unprintable_message(&fonts.missing(band)) {
                return Err(format!("category {:?}: band {message}", category.id));
            }
            let look = Theme {
                band: Some(Band {
                    text: band.clone(),
                    colour: category.colour,
                }),
                ..theme.clone()
            };
            let renderer = BadgeRenderer::new(fonts, look).map_err(|e| e.to_string())?;
            band_renderers.insert(category.id.clone(), Arc::new(renderer));
        }
        Ok(FormSet {
            form,
            text,
            band_renderers,
        })
    }
}

/// A form as TOML: `email = "…"`, `[[category]]` and `[[question]]`
/// tables, as a conference's in the configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormConfig {
    #[serde(default)]
    pub email: EmailPolicy,
    #[serde(rename = "category", default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategoryConfig>,
    #[serde(rename = "question", default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<QuestionConfig>,
}

impl FormConfig {
    pub fn from_toml(text: &str) -> Result<FormConfig, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

/// The default hours an offered seat is held.
pub const DEFAULT_OFFER_HOURS: u32 = 48;

impl Conference {
    /// The renderer of a category's badges: with its band, if it has one.
    pub fn renderer_for(&self, category: Option<&str>) -> Arc<BadgeRenderer> {
        let set = self.form_set();
        category
            .and_then(|c| set.band_renderers.get(c))
            .unwrap_or(&self.renderer)
            .clone()
    }

    /// The form as it stands now.
    pub fn form(&self) -> Form {
        self.form_set().form.clone()
    }

    pub fn form_set(&self) -> Arc<FormSet> {
        self.form.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Builds a new form for this conference from its TOML text; it takes
    /// effect with [`Conference::use_form`].
    pub fn build_form(&self, text: &str, fonts: &Fonts) -> Result<FormSet, String> {
        let config = FormConfig::from_toml(text)?;
        FormSet::build(config, text.to_owned(), &self.theme, fonts)
    }

    /// Puts a built form in force for every holder of these conferences.
    pub fn use_form(&self, set: FormSet) {
        *self.form.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
    }

    /// Whether the public sign-up has closed.
    pub fn closed(&self, now: time::OffsetDateTime) -> bool {
        self.closes_at.is_some_and(|at| now >= at)
    }

    /// What this conference's badges encode (SPEC §9): without the
    /// attendee's consent, the check-in code and nothing else; with it, a
    /// `vcard` conference's contact card carrying the code in its `UID`, or
    /// a `tel` conference's phone number as the original made it.
    pub fn payload(&self, person: &Person, code: &CheckinCode, consent: bool) -> Payload {
        match (self.payload, consent) {
            (PayloadKind::Vcard, true) => Payload::vcard_with_uid(
                person.user_name.as_str(),
                person.phone_number.as_str(),
                person.company(),
                &format!("{URN_PREFIX}{}", code.as_str()),
            ),
            (PayloadKind::Tel, true) => Payload::tel(person.phone_number.as_str()),
            _ => Payload::ticket(code.as_str()),
        }
    }
}

/// The configured conferences, in configuration order.
#[derive(Debug, Clone)]
pub struct Conferences {
    list: Arc<Vec<Conference>>,
    by_id: Arc<BTreeMap<String, usize>>,
    /// The built-in sheets, then the configured ones.
    sheets: Arc<Vec<Sheet>>,
    fonts: Fonts,
    webhooks: Arc<Vec<WebhookConfig>>,
}

impl Conferences {
    /// Loads the conferences of a TOML file (logos and fonts relative to
    /// it), or the built-in two when `config` is `None`, with the font chain
    /// the file asks for (by default the bundled fonts, then the installed).
    pub fn load(config: Option<&Path>) -> Result<Self, ConfigError> {
        let (cfg, base) = match config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let cfg =
                    ConferencesConfig::from_toml(&text).map_err(|message| ConfigError::Syntax {
                        path: path.to_owned(),
                        message,
                    })?;
                (cfg, path.parent().unwrap_or(Path::new("")))
            }
            None => (ConferencesConfig::builtin(), Path::new(".")),
        };
        let fonts = Fonts::load(&cfg.fonts.sources(base)).map_err(ConfigError::Fonts)?;
        Conferences::build(cfg, base, &fonts)
    }

    /// Prepares every conference: checks ids and colours, reads logos (relative
    /// to `base_dir`) and builds each badge renderer with the shared fonts.
    pub fn build(
        config: ConferencesConfig,
        base_dir: &Path,
        fonts: &Fonts,
    ) -> Result<Self, ConfigError> {
        let mut list = Vec::new();
        let mut by_id = BTreeMap::new();
        if config.conferences.is_empty() {
            return Err(ConfigError::NoConference);
        }
        for c in config.conferences {
            let id = c.id.trim().to_owned();
            if id.is_empty()
                || id.chars().count() > 100
                || id.chars().any(char::is_control)
                || id.contains('/')
            {
                return Err(ConfigError::InvalidId(c.id));
            }
            if by_id.contains_key(&id) {
                return Err(ConfigError::DuplicateId(id));
            }
            let accent = match &c.accent {
                Some(a) => a.parse().map_err(|message| ConfigError::Accent {
                    id: id.clone(),
                    message,
                })?,
                None => DEFAULT_ACCENT,
            };
            let logo = match &c.logo {
                Some(path) => {
                    let path = base_dir.join(path);
                    let bytes = std::fs::read(&path).map_err(|source| ConfigError::Logo {
                        id: id.clone(),
                        path,
                        source,
                    })?;
                    Some(Logo::from_bytes(bytes))
                }
                None => None,
            };
            let theme = Theme {
                title: c.title.clone(),
                accent,
                subtitle: c.subtitle.clone(),
                logo,
                band: None,
            };
            let form_error = |message: String| ConfigError::Form {
                id: id.clone(),
                message,
            };
            let form_config = FormConfig {
                email: c.email,
                categories: c.categories.clone(),
                questions: c.questions.clone(),
            };
            let form = FormSet::build(form_config.clone(), form_config.to_toml(), &theme, fonts)
                .map_err(form_error)?;
            let renderer =
                BadgeRenderer::new(fonts, theme.clone()).map_err(|source| ConfigError::Badge {
                    id: id.clone(),
                    source,
                })?;
            let capacity = match (c.capacity, c.waitlist) {
                (Some(seats), waitlist) => Some(Capacity { seats, waitlist }),
                (None, true) => return Err(form_error("waitlist needs capacity".into())),
                (None, false) => None,
            };
            let closes_at = c
                .closes_at
                .as_deref()
                .map(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| {
                            form_error(format!(
                                "closes_at {t:?} is not a time like 2026-11-30T23:59:00+09:00"
                            ))
                        })
                })
                .transpose()?;
            let offer_hours = c.offer_hours.unwrap_or(DEFAULT_OFFER_HOURS);
            if !(1..=24 * 60).contains(&offer_hours) {
                return Err(form_error("offer_hours must be 1 to 1440".into()));
            }
            let (starts, ends, erase_from) = dates(&c).map_err(|message| ConfigError::Dates {
                id: id.clone(),
                message,
            })?;
            let mail = c.mail.build().map_err(|message| ConfigError::Mail {
                id: id.clone(),
                message,
            })?;
            by_id.insert(id.clone(), list.len());
            list.push(Conference {
                starts,
                ends,
                erase_from,
                id: ConferenceId::configured(id),
                title: c.title,
                accent,
                subtitle: c.subtitle,
                payload: c.payload,
                renderer: Arc::new(renderer),
                form: Arc::new(std::sync::RwLock::new(Arc::new(form))),
                theme,
                capacity,
                closes_at,
                offer_hours,
                mail,
            });
        }
        let mut sheets = Sheet::builtin();
        for c in &config.sheets {
            let sheet = c.to_sheet();
            sheet
                .validate()
                .map_err(|e| ConfigError::Sheet(e.to_string()))?;
            if sheets.iter().any(|s| s.name == sheet.name) {
                return Err(ConfigError::Sheet(format!(
                    "sheet {:?} is defined twice (or is a built-in sheet)",
                    sheet.name
                )));
            }
            sheets.push(sheet);
        }
        for hook in &config.webhooks {
            hook.validate().map_err(ConfigError::Webhook)?;
            if let Some(unknown) = hook
                .conferences
                .iter()
                .find(|c| !by_id.contains_key(c.as_str()))
            {
                return Err(ConfigError::Webhook(format!(
                    "webhook {}: {unknown:?} is not a configured conference",
                    hook.url
                )));
            }
        }
        Ok(Conferences {
            webhooks: Arc::new(config.webhooks),
            list: Arc::new(list),
            by_id: Arc::new(by_id),
            sheets: Arc::new(sheets),
            fonts: fonts.clone(),
        })
    }

    /// The built-in conferences with the bundled fonts.
    pub fn builtin() -> Self {
        Self::build(
            ConferencesConfig::builtin(),
            Path::new("."),
            &Fonts::bundled(),
        )
        .expect("the built-in configuration is valid")
    }

    pub fn parse_id(&self, s: &str) -> Result<ConferenceId, FieldError> {
        self.get(s)
            .map(|c| c.id.clone())
            .ok_or_else(|| FieldError::new(ConferenceId::FIELD, "is not a configured conference"))
    }

    /// The endpoints that get events.
    pub fn webhooks(&self) -> &[WebhookConfig] {
        &self.webhooks
    }

    /// Every sheet a print run can use: built-in, then configured.
    pub fn sheets(&self) -> &[Sheet] {
        &self.sheets
    }

    pub fn sheet(&self, name: &str) -> Option<&Sheet> {
        self.sheets.iter().find(|s| s.name == name)
    }

    /// Refuses a name or company the badge fonts cannot draw.
    pub fn check_printable(&self, person: &Person) -> Result<(), FieldError> {
        self.check_text(UserName::FIELD, person.user_name.as_str())?;
        match &person.company_name {
            Some(company) => self.check_text(CompanyName::FIELD, company.as_str()),
            None => Ok(()),
        }
    }

    /// Refuses text the badge fonts cannot draw, naming each character
    /// (at most ten).
    pub fn check_text(&self, field: &'static str, text: &str) -> Result<(), FieldError> {
        match unprintable_message(&self.fonts.missing(text)) {
            None => Ok(()),
            Some(message) => Err(FieldError::new(field, message)),
        }
    }

    /// The fonts every renderer was built with.
    pub fn fonts(&self) -> &Fonts {
        &self.fonts
    }

    pub fn get(&self, id: &str) -> Option<&Conference> {
        self.by_id.get(id).map(|&i| &self.list[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Conference> {
        self.list.iter()
    }
}

/// What a sign-up is told about characters no badge font can print (at most
/// ten named); `None` when there are none.
pub fn unprintable_message(missing: &[char]) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let named: Vec<String> = missing
        .iter()
        .take(10)
        .map(|c| format!("{c} (U+{:04X})", *c as u32))
        .collect();
    let more = match missing.len() {
        n if n > 10 => format!(" and {} more", n - 10),
        _ => String::new(),
    };
    Some(format!(
        "has characters no badge font can print: {}{more}",
        named.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_original_ids() {
        let c = Conferences::builtin();
        assert!(c.parse_id("Serverless web project").is_ok());
        assert!(c.parse_id("About cloud computing").is_ok());
        assert_eq!(c.parse_id("nope").unwrap_err().field, "type");
    }

    #[test]
    fn toml_config_parses_and_rejects_bad_colour() {
        let cfg = ConferencesConfig::from_toml(
            "[[conference]]\nid = \"rustconf\"\ntitle = \"RustConf\"\naccent = \"#112233\"\npayload = \"ticket\"\n",
        )
        .unwrap();
        let fonts = Fonts::bundled();
        let c = Conferences::build(cfg, Path::new("."), &fonts).unwrap();
        assert_eq!(c.get("rustconf").unwrap().payload, PayloadKind::Ticket);
        let bad = ConferencesConfig::from_toml(
            "[[conference]]\nid = \"x\"\ntitle = \"X\"\naccent = \"red\"\n",
        )
        .unwrap();
        assert!(Conferences::build(bad, Path::new("."), &fonts).is_err());
        assert!(ConferencesConfig::from_toml(
            "[[conference]]\nid = \"x\"\ntitle = \"X\"\ncolour = \"#000000\"\n"
        )
        .is_err());
    }

    fn with_dates(extra: &str) -> Result<Conferences, ConfigError> {
        let cfg = ConferencesConfig::from_toml(&format!(
            "[[conference]]\nid = \"c\"\ntitle = \"C\"\n{extra}\n"
        ))
        .unwrap();
        Conferences::build(cfg, Path::new("."), &Fonts::bundled())
    }

    #[test]
    fn retention_erases_from_midnight_utc_after_the_kept_days() {
        let c = with_dates("starts = \"2026-12-01\"\nends = \"2026-12-02\"\nretention_days = 30")
            .unwrap();
        let c = c.get("c").unwrap();
        assert_eq!(c.ends, Some(time::macros::date!(2026 - 12 - 02)));
        // The whole last day and thirty more are kept.
        assert_eq!(
            c.erase_from,
            Some(time::macros::datetime!(2027-01-02 00:00 UTC))
        );
        let none = with_dates("ends = \"2026-12-02\"\nretention_days = 0").unwrap();
        assert_eq!(
            none.get("c").unwrap().erase_from,
            Some(time::macros::datetime!(2026-12-03 00:00 UTC))
        );
        // Dates alone erase nothing.
        let dates = with_dates("starts = \"2026-12-01\"\nends = \"2026-12-02\"").unwrap();
        assert_eq!(dates.get("c").unwrap().erase_from, None);
    }

    #[test]
    fn bad_dates_and_retention_are_refused_with_the_reason() {
        for (extra, reason) in [
            ("ends = \"2026-13-01\"", "is not a date"),
            ("starts = \"1 December\"", "is not a date"),
            (
                "starts = \"2026-12-03\"\nends = \"2026-12-02\"",
                "is before starts",
            ),
            ("retention_days = 30", "needs ends"),
            ("ends = \"2026-12-02\"\nretention_days = 4000", "ten years"),
        ] {
            let message = with_dates(extra).unwrap_err().to_string();
            assert!(message.contains(reason), "{extra}: {message}");
        }
        assert!(ConferencesConfig::from_toml(
            "[[conference]]\nid = \"c\"\ntitle = \"C\"\nretention_days = -1\n"
        )
        .is_err());
    }
}
