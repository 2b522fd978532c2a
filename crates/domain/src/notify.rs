//! Notices: the e-mails attendees get (confirmation, their badge link
//! again, seat offers) and the webhooks organizers' systems get
//! (`registration.*`, `checkin.*`).
//!
//! A notice is written to the store's outbox, the confirmation in the same
//! transaction as its registration, and delivered from there by each
//! backend's carrier (the embedded notice worker, the AWS sweep), retried
//! with backoff until delivered or out of attempts. A notice holds
//! identifiers, never personal data: the mail is composed when it is sent,
//! from the registration as it is then, so an e-mail address changed or a
//! registration deleted meanwhile is respected. Notices have stable ids and
//! a mail's Message-ID is made from its notice's: a delivery repeated after
//! a crash is the same message, which mail services and readers show once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::conference::Conference;
use crate::registration::{Registration, RegistrationKey};
use crate::seats::SeatStatus;

/// One notice waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Stable: the same event gives the same id, and the outbox keeps one
    /// notice per id.
    pub id: String,
    pub body: NoticeBody,
}

/// What a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeBody {
    /// An e-mail to a registration's address.
    Mail {
        user_id: String,
        #[serde(rename = "type")]
        conference: String,
        mail: MailKind,
    },
    /// An event posted to an organizer's endpoint.
    Webhook {
        url: String,
        event: String,
        user_id: String,
        #[serde(rename = "type")]
        conference: String,
        /// When the event happened (RFC 3339).
        at: String,
    },
}

/// Which e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mail", rename_all = "snake_case")]
pub enum MailKind {
    /// After sign-up: the badge link, the check-in QR code, the dates.
    Confirmation,
    /// The badge link again, asked for by address.
    BadgeLink,
    /// A seat is held for someone who waited.
    SeatOffered,
    /// The held seat was not taken in time.
    OfferExpired,
    /// The organizers' own message (`{name}` and `{link}` filled in).
    Message { subject: String, body: String },
}

impl MailKind {
    fn name(&self) -> &'static str {
        match self {
            MailKind::Confirmation => "confirmation",
            MailKind::BadgeLink => "badge-link",
            MailKind::SeatOffered => "seat-offered",
            MailKind::OfferExpired => "offer-expired",
            MailKind::Message { .. } => "message",
        }
    }
}

impl Notice {
    /// An e-mail about a registration; `occasion` tells one e-mail of a kind
    /// from another (the registration's creation time, an offer's end).
    pub fn mail(key: &RegistrationKey, mail: MailKind, occasion: &str) -> Notice {
        let id = notice_id(
            mail.name(),
            &[key.conference.as_str(), key.user_id.as_str(), occasion],
        );
        Notice {
            id,
            body: NoticeBody::Mail {
                user_id: key.user_id.as_str().to_owned(),
                conference: key.conference.as_str().to_owned(),
                mail,
            },
        }
    }

    /// A webhook event about a registration, for one endpoint.
    pub fn webhook(url: &str, event: &str, key: &RegistrationKey, at: &str) -> Notice {
        let id = notice_id(
            "webhook",
            &[
                url,
                event,
                key.conference.as_str(),
                key.user_id.as_str(),
                at,
            ],
        );
        Notice {
            id,
            body: NoticeBody::Webhook {
                url: url.to_owned(),
                event: event.to_owned(),
                user_id: key.user_id.as_str().to_owned(),
                conference: key.conference.as_str().to_owned(),
                at: at.to_owned(),
            },
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.body).expect("a notice serialises")
    }

    /// A notice as an outbox holds it; `None` for text no build wrote.
    pub fn from_json(id: &str, body: &str) -> Option<Notice> {
        Some(Notice {
            id: id.to_owned(),
            body: serde_json::from_str(body).ok()?,
        })
    }
}

/// `kind-` and 32 hex digits of a hash of the parts: safe in a Message-ID,
/// a file name or a key, and the same for the same parts.
fn notice_id(kind: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!("{kind}-{}", &hex::encode(hash.finalize())[..32])
}

/// A notice claimed from the outbox for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNotice {
    pub notice: Notice,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// How often a notice is tried, and how long between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticePolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long a claimed notice is held by its carrier; one whose outcome
    /// was never recorded (the carrier stopped) is delivered again then.
    pub lease: Duration,
}

impl Default for NoticePolicy {
    /// Sixteen attempts over about eleven hours (10 s, 20 s … then hourly):
    /// a mail server or a webhook endpoint down for a night still gets
    /// everything in the morning.
    fn default() -> Self {
        NoticePolicy {
            max_attempts: 16,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
            lease: Duration::from_secs(5 * 60),
        }
    }
}

impl NoticePolicy {
    /// Exponential backoff after `attempts_made` attempts, capped.
    pub fn delay(&self, attempts_made: u32) -> Duration {
        self.base_delay
            .saturating_mul(1 << attempts_made.saturating_sub(1).min(16))
            .min(self.max_delay)
    }
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    Delivered,
    /// Nothing to deliver (registration gone, no address, endpoint removed).
    Skipped(String),
    /// Try again after `delay`.
    Retry {
        delay: Duration,
        error: String,
    },
    /// Out of attempts, or refused for good.
    Failed(String),
}

/// Why a delivery failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    /// Worth trying again (a connection refused, a 4xx SMTP reply, a 5xx
    /// from an endpoint) rather than refused for good (a 5xx SMTP reply
    /// for this recipient).
    pub retryable: bool,
}

impl DeliveryError {
    pub fn retry(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: true,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Hands e-mails to a mail service (SMTP, SES).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: &lettre::Message) -> Result<(), DeliveryError>;
}

/// Posts webhook bodies; the headers (signature included) are made here.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// `Ok` for a 2xx answer.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<(), DeliveryError>;
}

/// `[[webhook]]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `https://…` (or `http://` for a receiver on the same network).
    pub url: String,
    /// The key of the HMAC-SHA256 signature; at least 16 characters.
    pub secret: String,
    /// Events sent: names (`checkin.created`), families (`registration.*`)
    /// or `*`. Every event when absent.
    #[serde(default)]
    pub events: Vec<String>,
    /// Only these conferences' events; every conference when absent.
    #[serde(default)]
    pub conferences: Vec<String>,
}

/// Every event a webhook can get.
pub const EVENTS: [&str; 5] = [
    "registration.created",
    "registration.updated",
    "registration.deleted",
    "checkin.created",
    "checkin.undone",
];

impl WebhookConfig {
    /// Checks the URL, the secret and the event names.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
            return Err(format!("webhook url {url:?} is not an http(s) URL"));
        }
        if self.secret.chars().count() < 16 {
            return Err(format!(
                "webhook {url}: the secret must be at least 16 characters"
            ));
        }
        for event in &self.events {
            let known = event == "*"
                || EVENTS.contains(&event.as_str())
                || event.strip_suffix(".*").is_some_and(|family| {
                    EVENTS.iter().any(|e| e.starts_with(&format!("{family}.")))
                });
            if !known {
                return Err(format!(
                    "webhook {url}: {event:?} is not an event (one of {}, a family like registration.*, or *)",
                    EVENTS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Whether this endpoint gets `event` of `conference`.
    pub fn wants(&self, event: &str, conference: &str) -> bool {
        let event_ok = self.events.is_empty()
            || self.events.iter().any(|e| {
                e == "*"
                    || e == event
                    || e.strip_suffix('*')
                        .is_some_and(|prefix| event.starts_with(prefix))
            });
        event_ok
            && (self.conferences.is_empty() || self.conferences.iter().any(|c| c == conference))
    }
}

/// `[conference.mail]`: the conference's e-mails.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// `en` (the default) or `ko`: the language of the built-in texts.
    pub language: Option<String>,
    /// Where replies go (the organizers' address).
    pub reply_to: Option<String>,
    /// The venue, for the calendar invitation.
    pub location: Option<String>,
    /// The confirmation's subject instead of the built-in one; `{name}`,
    /// `{conference}`, `{link}`, `{code}` and `{date}` are filled in.
    pub subject: Option<String>,
    /// The confirmation's text instead of the built-in one.
    pub text: Option<String>,
    /// `false` sends the conference no e-mail at all.
    pub enabled: Option<bool>,
}

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 5] = ["name", "conference", "link", "code", "date"];

/// The language of a conference's e-mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    Ko,
}

/// A conference's e-mail settings, checked.
#[derive(Debug, Clone, Default)]
pub struct ConferenceMail {
    pub enabled: bool,
    pub language: Language,
    pub reply_to: Option<lettre::message::Mailbox>,
    pub location: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
}

impl MailConfig {
    pub fn build(&self) -> Result<ConferenceMail, String> {
        let language = match self.language.as_deref().map(str::trim) {
            None | Some("en") => Language::En,
            Some("ko") => Language::Ko,
            Some(other) => return Err(format!("mail language {other:?} is not en or ko")),
        };
        let reply_to = self
            .reply_to
            .as_deref()
            .map(|a| {
                a.parse()
                    .map_err(|_| format!("mail reply_to {a:?} is not an e-mail address"))
            })
            .transpose()?;
        for (name, template) in [("subject", &self.subject), ("text", &self.text)] {
            if let Some(template) = template {
                check_template(template).map_err(|e| format!("mail {name}: {e}"))?;
            }
        }
        if self
            .subject
            .as_deref()
            .is_some_and(|s| s.contains(['\r', '\n']))
        {
            return Err("mail subject must be one line".into());
        }
        Ok(ConferenceMail {
            enabled: self.enabled.unwrap_or(true),
            language,
            reply_to,
            location: self.location.clone().filter(|l| !l.trim().is_empty()),
            subject: self.subject.clone(),
            text: self.text.clone(),
        })
    }
}

/// Refuses a `{placeholder}` that is not one of [`PLACEHOLDERS`], so a
/// misspelt one is found at start, not in an attendee's inbox.
pub fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "{{{name}}} is not a placeholder (use {})",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Fills a template's placeholders; text given by people is put in as it
/// is (the HTML part escapes the result).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(&rest[..open]);
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What every e-mail needs beyond the registration: who sends, and where
/// the attendee's page is.
#[derive(Clone)]
pub struct MailSettings {
    pub mailer: Arc<dyn Mailer>,
    pub from: lettre::message::Mailbox,
    /// The address attendees open, `https://reg.example.org` (no trailing
    /// slash); badge links are made from it.
    pub public_url: String,
}

impl MailSettings {
    pub fn new(
        mailer: Arc<dyn Mailer>,
        from: &str,
        public_url: &str,
    ) -> Result<MailSettings, String> {
        let from = from.parse().map_err(|_| {
            format!("mail from {from:?} is not an address like Lanyard <reg@example.org>")
        })?;
        let public_url = public_url.trim().trim_end_matches('/').to_owned();
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err(format!(
                "public URL {public_url:?} is not an http(s) URL: badge links in e-mails are made from it"
            ));
        }
        Ok(MailSettings {
            mailer,
            from,
            public_url,
        })
    }

    fn domain(&self) -> &str {
        self.from.email.domain()
    }
}

/// The texts of one e-mail before it is built.
struct Texts {
    subject: String,
    text: String,
    /// The check-in QR code and the calendar invitation go with it.
    with_code: bool,
    with_invite: bool,
}

/// The built-in texts, in the conference's language.
fn texts(
    kind: &MailKind,
    registration: &Registration,
    conference: &Conference,
    values: &[(&str, &str)],
) -> Texts {
    let mail = &conference.mail;
    let ko = mail.language == Language::Ko;
    let seat = registration.seat.status;
    let confirmed = seat == SeatStatus::Confirmed;
    let (subject, text, with_code, with_invite) = match kind {
        MailKind::Confirmation if seat == SeatStatus::Waitlisted => {
            if ko {
                ("{conference} 대기자 명단 등록", "{name}님, 안녕하세요.\n\n{conference} 좌석이 모두 찼습니다. 대기자 명단에 등록되었으며, 자리가 나면 이메일로 알려 드립니다.\n\n내 등록 페이지: {link}\n".to_owned(), false, false)
            } else {
                ("You are on the waiting list for {conference}", "Hello {name},\n\n{conference} is full. You are on its waiting list, and we will e-mail you as soon as a seat is free for you.\n\nYour registration: {link}\n".to_owned(), false, false)
            }
        }
        MailKind::Confirmation => {
            let default_text = if ko {
                "{name}님, 안녕하세요.\n\n{conference}{date}에 등록되었습니다. 배지와 체크인 코드는 아래 링크에서 볼 수 있습니다.\n{link}\n\n입장할 때 아래 QR 코드(또는 인쇄한 배지)를 체크인 데스크에 보여 주세요. 체크인 코드: {code}\n"
            } else {
                "Hello {name},\n\nYou are registered for {conference}{date}. Your badge and check-in code are on your page:\n{link}\n\nShow the QR code below (or your printed badge) at the check-in desk. Your check-in code is {code}.\n"
            };
            let subject = mail.subject.as_deref().unwrap_or(if ko {
                "{conference} 등록 확인"
            } else {
                "Your badge for {conference}"
            });
            (
                subject,
                mail.text.clone().unwrap_or_else(|| default_text.to_owned()),
                confirmed,
                confirmed,
            )
        }
        MailKind::BadgeLink => {
            if ko {
                ("{conference} 배지 링크", "{name}님, 안녕하세요.\n\n요청하신 {conference} 배지 링크입니다.\n{link}\n\n요청하지 않으셨다면 이 메일을 무시하세요.\n".to_owned(), confirmed, false)
            } else {
                ("Your badge link for {conference}", "Hello {name},\n\nHere is the link to your badge for {conference}, as asked for:\n{link}\n\nIf you did not ask for it, you can ignore this e-mail.\n".to_owned(), confirmed, false)
            }
        }
        MailKind::SeatOffered => {
            if ko {
                ("{conference} 좌석이 났습니다", "{name}님, 안녕하세요.\n\n{conference}에 자리가 났습니다. {until}까지 아래 링크에서 좌석을 확정해 주세요.\n{link}\n".to_owned(), false, false)
            } else {
                ("A seat is free for you at {conference}", "Hello {name},\n\nA seat is free for you at {conference}. It is held for you until {until}; take it on your page:\n{link}\n".to_owned(), false, false)
            }
        }
        MailKind::OfferExpired => {
            if ko {
                ("{conference} 좌석 제안이 만료되었습니다", "{name}님, 안녕하세요.\n\n제안된 {conference} 좌석이 기한 안에 확정되지 않아 다음 대기자에게 넘어갔습니다.\n{link}\n".to_owned(), false, false)
            } else {
                ("Your held seat at {conference} has expired", "Hello {name},\n\nThe seat held for you at {conference} was not taken in time and has gone to the next person waiting.\n{link}\n".to_owned(), false, false)
            }
        }
        MailKind::Message { subject, body } => {
            return Texts {
                subject: fill(subject, values),
                text: fill(body, values),
                with_code: false,
                with_invite: false,
            }
        }
    };
    let until = registration
        .seat
        .offer_expires_at
        .clone()
        .unwrap_or_default();
    let mut all = values.to_vec();
    all.push(("until", until.as_str()));
    Texts {
        subject: fill(subject, &all),
        text: fill(&text, &all),
        with_code,
        with_invite,
    }
}

/// The e-mail a notice stands for, as it is sent now; `None` when there is
/// nothing to send (no address).
pub fn compose(
    kind: &MailKind,
    notice_id: &str,
    registration: &Registration,
    conference: &Conference,
    settings: &MailSettings,
) -> Result<Option<lettre::Message>, String> {
    use lettre::message::{header, Attachment, MultiPart, SinglePart};
    let Some(email) = registration.details.email.as_ref() else {
        return Ok(None);
    };
    let to: lettre::message::Mailbox = format!("<{}>", email.as_str())
        .parse::<lettre::message::Mailbox>()
        .map(|m| {
            lettre::message::Mailbox::new(
                Some(registration.person.user_name.as_str().to_owned()),
                m.email,
            )
        })
        .map_err(|e| format!("the address cannot be written in a message: {e}"))?;
    let link = match &registration.badge {
        Some(badge) => format!("{}/me#{}", settings.public_url, badge.token.as_str()),
        None => settings.public_url.clone(),
    };
    let code = registration
        .checkin_code
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .unwrap_or_default();
    let date = date_line(conference);
    let values = [
        ("name", registration.person.user_name.as_str()),
        ("conference", conference.title.as_str()),
        ("link", link.as_str()),
        ("code", code.as_str()),
        ("date", date.as_str()),
    ];
    let texts = texts(kind, registration, conference, &values);
    let qr = match (&registration.checkin_code, texts.with_code) {
        (Some(checkin_code), true) => {
            let payload = conference.payload(
                &registration.person,
                checkin_code,
                registration.contact_on_badge,
            );
            Some(
                lanyard_badge::qr_png(payload.as_str(), 8)
                    .map_err(|e| format!("the QR code: {e}"))?,
            )
        }
        _ => None,
    };
    let html = html_body(&texts.text, &link, conference, qr.is_some(), &code);
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(texts.text.clone()))
        .multipart({
            let related = MultiPart::related().singlepart(SinglePart::html(html));
            match &qr {
                Some(png) => related.singlepart(Attachment::new_inline(QR_CID.to_owned()).body(
                    png.clone(),
                    header::ContentType::parse("image/png").expect("a MIME type"),
                )),
                None => related,
            }
        });
    let mut body = MultiPart::mixed().multipart(alternative);
    if texts.with_invite {
        if let Some(ics) = invitation(notice_id, registration, conference, &link, settings) {
            body = body.singlepart(
                Attachment::new("invite.ics".to_owned()).body(
                    ics,
                    header::ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                        .expect("a MIME type"),
                ),
            );
        }
    }
    let mut builder = lettre::Message::builder()
        .from(settings.from.clone())
        .to(to)
        .subject(texts.subject)
        .message_id(Some(format!("<{notice_id}@{}>", settings.domain())));
    if let Some(reply_to) = &conference.mail.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    builder
        .multipart(body)
        .map(Some)
        .map_err(|e| format!("the message: {e}"))
}

/// The inline QR image's Content-ID.
const QR_CID: &str = "checkin-code";

/// ` (2026-12-05)` or ` (2026-12-05 – 2026-12-06)`, or nothing without dates.
fn date_line(conference: &Conference) -> String {
    match (conference.starts, conference.ends) {
        (Some(s), Some(e)) if s != e => format!(" ({s} – {e})"),
        (Some(s), _) => format!(" ({s})"),
        _ => String::new(),
    }
}

/// The HTML part: the text, escaped, with the link as a button and the QR
/// code inline.
fn html_body(text: &str, link: &str, conference: &Conference, qr: bool, code: &str) -> String {
    let hex = |c: lanyard_badge::Rgb| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2);
    let (accent, ink) = (hex(conference.accent), hex(conference.accent.ink()));
    let paragraphs: String = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let escaped = escape_html(p.trim()).replace('\n', "<br>");
            format!("<p style=\"margin:0 0 16px\">{escaped}</p>")
        })
        .collect();
    let image = if qr {
        format!(
            "<p style=\"margin:0 0 16px\"><img src=\"cid:{QR_CID}\" width=\"240\" height=\"240\" alt=\"Check-in QR code {code}\" style=\"image-rendering:pixelated\"></p>",
            code = escape_html(code)
        )
    } else {
        String::new()
    };
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#222;max-width:560px;margin:0 auto;padding:16px\">\
<h1 style=\"font-size:20px;border-bottom:4px solid {accent};padding-bottom:8px\">{title}</h1>{paragraphs}{image}\
<p><a href=\"{href}\" style=\"display:inline-block;background:{accent};color:{ink};padding:10px 18px;border-radius:6px;text-decoration:none\">{button}</a></p>\
</body></html>",
        title = escape_html(&conference.title),
        href = escape_html(link),
        button = if conference.mail.language == Language::Ko { "내 배지 보기" } else { "Open my badge" },
    )
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A calendar invitation (RFC 5545) for the conference's days, when it has
/// dates. Written here: it has six properties, and the iCalendar crates
/// would bring a date library beside `time` for them.
fn invitation(
    notice_id: &str,
    registration: &Registration,
    conference: &Conference,
    link: &str,
    settings: &MailSettings,
) -> Option<Vec<u8>> {
    let starts = conference.starts?;
    let ends = conference.ends.unwrap_or(starts).next_day()?;
    let day = |d: time::Date| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
    let stamp = {
        let t = time::OffsetDateTime::parse(
            &registration.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .to_offset(time::UtcOffset::UTC);
        format!(
            "{}T{:02}{:02}{:02}Z",
            day(t.date()),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//lanyard//registration//EN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{notice_id}@{}", settings.domain()),
        format!("DTSTAMP:{stamp}"),
        format!("DTSTART;VALUE=DATE:{}", day(starts)),
        format!("DTEND;VALUE=DATE:{}", day(ends)),
        format!("SUMMARY:{}", ics_text(&conference.title)),
        format!("URL:{}", ics_text(link)),
        format!("DESCRIPTION:{}", ics_text(link)),
    ];
    if let Some(location) = &conference.mail.location {
        lines.push(format!("LOCATION:{}", ics_text(location)));
    }
    lines.extend(["END:VEVENT".to_owned(), "END:VCALENDAR".to_owned()]);
    let mut out = String::new();
    for line in lines {
        out.push_str(&fold(&line));
        out.push_str("\r\n");
    }
    Some(out.into_bytes())
}

/// RFC 5545 §3.3.11 TEXT: backslash, semicolon, comma and newlines escaped.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace(['\n', '\r'], "\\n")
}

/// RFC 5545 §3.1: lines longer than 75 octets folded, never inside a
/// character.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

/// A webhook's body: identifiers and state, no personal data (the
/// receiver reads the registration through the API with its token, as
/// it is then).
pub fn webhook_body(
    notice_id: &str,
    event: &str,
    at: &str,
    key: (&str, &str),
    registration: Option<&Registration>,
) -> Vec<u8> {
    let state = registration.map(|r| {
        serde_json::json!({
            "seat": r.seat.status.as_str(),
            "badge_status": r.badge.as_ref().map(|b| b.status.as_str()),
            "checked_in_at": r.checked_in.as_ref().map(|c| c.at.as_str()),
            "category": r.details.category,
        })
    });
    serde_json::to_vec(&serde_json::json!({
        "id": notice_id,
        "event": event,
        "created_at": at,
        "user_id": key.0,
        "type": key.1,
        "registration": state,
    }))
    .expect("JSON serialises")
}

/// The `Lanyard-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256
/// of "<t>.<body>" keyed with the secret>`. Receivers recompute it and
/// refuse old timestamps, as with the common webhook schemes.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_placeholders_and_leave_other_braces() {
        let filled = fill(
            "Hi {name}, {x} {link}{",
            &[("name", "Kim"), ("link", "https://e/me#t")],
        );
        assert_eq!(filled, "Hi Kim, {x} https://e/me#t{");
        assert!(check_template("Hi {name} {link}").is_ok());
        assert!(check_template("Hi {nmae}").unwrap_err().contains("{nmae}"));
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let key = RegistrationKey {
            user_id: crate::UserId::parse("kim").unwrap(),
            conference: crate::ConferenceId::configured("c".into()),
        };
        let a = Notice::mail(&key, MailKind::Confirmation, "t1");
        assert_eq!(a, Notice::mail(&key, MailKind::Confirmation, "t1"));
        assert_ne!(a.id, Notice::mail(&key, MailKind::Confirmation, "t2").id);
        assert_ne!(a.id, Notice::mail(&key, MailKind::BadgeLink, "t1").id);
        assert!(a.id.starts_with("confirmation-") && a.id.len() == "confirmation-".len() + 32);
        assert_eq!(Notice::from_json(&a.id, &a.to_json()), Some(a));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_and_body() {
        // Known answer: HMAC-SHA256(key "0123456789abcdef", "1700000000.{}").
        let sig = webhook_signature("0123456789abcdef", 1_700_000_000, b"{}");
        let expected = {
            use hmac::{KeyInit, Mac};
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(b"0123456789abcdef").unwrap();
            mac.update(b"1700000000.{}");
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(sig, format!("t=1700000000,v1={expected}"));
        assert_ne!(
            sig,
            webhook_signature("0123456789abcdeX", 1_700_000_000, b"{}")
        );
    }

    #[test]
    fn webhook_filters() {
        let hook = WebhookConfig {
            url: "https://example.org/h".into(),
            secret: "0123456789abcdef".into(),
            events: vec!["checkin.*".into(), "registration.deleted".into()],
            conferences: vec![],
        };
        assert!(hook.validate().is_ok());
        assert!(hook.wants("checkin.created", "c"));
        assert!(hook.wants("registration.deleted", "c"));
        assert!(!hook.wants("registration.created", "c"));
        let bad = WebhookConfig {
            events: vec!["checkin.made".into()],
            ..hook.clone()
        };
        assert!(bad.validate().unwrap_err().contains("checkin.made"));
        let short = WebhookConfig {
            secret: "short".into(),
            ..hook
        };
        assert!(short.validate().is_err());
    }

    #[test]
    fn long_calendar_lines_fold_between_characters() {
        let line = format!("SUMMARY:{}", "한".repeat(40));
        let folded = fold(&line);
        for part in folded.split("\r\n") {
            assert!(part.len() <= 75, "{part:?}");
        }
        assert_eq!(folded.replace("\r\n ", ""), line);
        assert_eq!(ics_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
