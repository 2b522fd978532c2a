//! Notices' life, the same on every backend: which notices an event makes,
//! and one round of delivery from the outbox (claim, send, record). The
//! carriers (the embedded notice worker, the AWS sweep) only call
//! [`Lanyard::deliver_due_notices`].

use std::sync::Arc;

use crate::fields::{Email, FieldError};
use crate::notify::{
    compose, webhook_body, webhook_signature, MailKind, MailSettings, Notice, NoticeBody,
    NoticeOutcome, NoticePolicy, QueuedNotice, WebhookSender,
};
use crate::ports::ListQuery;
use crate::registration::{now_rfc3339, Registration, RegistrationKey};
use crate::seats::SeatStatus;
use crate::service::{Lanyard, LanyardError};

/// Notices claimed and delivered at once by one round.
pub const NOTICE_BATCH: usize = 32;

/// Deliveries in flight at once within a round. Each SMTP delivery spends
/// most of its time waiting on the network (a message's body goes out in
/// several writes, each waiting for the last one's acknowledgement), so
/// throughput grows with this; the mail connection pool holds as many.
pub const IN_FLIGHT: usize = 16;

/// How long a lost-link request waits before the same registration is
/// mailed its link again: a form submitted many times sends one e-mail.
const LINK_AGAIN_AFTER_SECONDS: i64 = 15 * 60;

/// The most registrations one lost-link request mails (one address, many
/// conferences).
const LINKS_PER_REQUEST: usize = 20;

/// What a round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoticeRound {
    pub delivered: usize,
    pub skipped: usize,
    pub retried: usize,
    pub failed: usize,
}

impl NoticeRound {
    pub fn claimed(&self) -> usize {
        self.delivered + self.skipped + self.retried + self.failed
    }
}

/// An organizer's message to part of a conference's list.
#[derive(Debug, Clone, Default)]
pub struct MessageRequest {
    pub conference: Option<String>,
    pub category: Option<String>,
    /// Only registrations whose seat is in this state (`confirmed`,
    /// `waitlisted`…).
    pub seat: Option<String>,
    /// Only those not checked in yet (`Some(false)`) or checked in.
    pub checked_in: Option<bool>,
    pub subject: Option<String>,
    pub body: Option<String>,
}

/// How many a message reaches, and the notices it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageReport {
    /// Registrations that matched and have an e-mail address.
    pub recipients: usize,
    /// Matched but have no address.
    pub without_email: usize,
}

/// The longest organizer subject and body taken.
const MAX_SUBJECT_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 20_000;

impl Lanyard {
    /// E-mails go out through `mail`.
    pub fn with_mail(mut self, mail: MailSettings) -> Self {
        self.mail = Some(mail);
        self
    }

    /// Webhooks are posted through `sender`.
    pub fn with_webhook_sender(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.webhook_sender = Some(sender);
        self
    }

    pub fn with_notice_policy(mut self, policy: NoticePolicy) -> Self {
        self.notice_policy = policy;
        self
    }

    pub fn notice_policy(&self) -> NoticePolicy {
        self.notice_policy
    }

    /// Whether this conference's attendees are e-mailed.
    pub fn mails(&self, conference: &str) -> bool {
        self.mail.is_some()
            && self
                .conferences()
                .get(conference)
                .is_some_and(|c| c.mail.enabled)
    }

    /// The notices of a new registration: its confirmation (unless
    /// `quiet`) and the `registration.created` webhooks.
    pub(crate) fn new_registration_notices(
        &self,
        registration: &Registration,
        quiet: bool,
    ) -> Vec<Notice> {
        let key = registration.key();
        let mut notices = Vec::new();
        if !quiet && registration.details.email.is_some() && self.mails(key.conference.as_str()) {
            notices.push(Notice::mail(
                &key,
                MailKind::Confirmation,
                &registration.created_at,
            ));
        }
        notices.extend(self.event_notices("registration.created", &key, &registration.created_at));
        notices
    }

    /// One notice per webhook that wants this event.
    pub(crate) fn event_notices(
        &self,
        event: &str,
        key: &RegistrationKey,
        at: &str,
    ) -> Vec<Notice> {
        if self.webhook_sender.is_none() {
            return Vec::new();
        }
        self.conferences()
            .webhooks()
            .iter()
            .filter(|hook| hook.wants(event, key.conference.as_str()))
            .map(|hook| Notice::webhook(&hook.url, event, key, at))
            .collect()
    }

    /// Puts notices of an event that already happened in the outbox and
    /// wakes the carrier. The event stands either way: a failure is logged.
    pub(crate) async fn notify(&self, notices: Vec<Notice>) {
        if notices.is_empty() {
            return;
        }
        match self.store.enqueue_notices(&notices).await {
            Ok(()) => self.announce_notices().await,
            Err(e) => tracing::error!(error = %e, count = notices.len(),
                "could not put notices in the outbox; they are not sent"),
        }
    }

    /// [`Lanyard::notify`] with the webhooks of `event` now.
    pub(crate) async fn notify_event(&self, event: &str, key: &RegistrationKey) {
        let notices = self.event_notices(event, key, &now_rfc3339());
        self.notify(notices).await;
    }

    pub(crate) async fn announce_notices(&self) {
        if let Err(e) = self.jobs.announce_notices().await {
            tracing::warn!(error = %e, "could not wake the notice carrier; it finds the notices on its next round");
        }
    }

    /// An e-mail about a seat (offered, expired), if the conference mails.
    pub(crate) async fn notify_seat(&self, registration: &Registration, mail: MailKind) {
        if registration.details.email.is_none() || !self.mails(registration.conference.as_str()) {
            return;
        }
        let occasion = registration
            .seat
            .offer_expires_at
            .clone()
            .unwrap_or_default();
        self.notify(vec![Notice::mail(&registration.key(), mail, &occasion)])
            .await;
    }

    /// A lost badge link: every registration with this address is mailed
    /// its link (once per quarter hour at most). Says nothing of whether
    /// any was found.
    pub async fn send_badge_links(&self, email: &str) -> Result<(), LanyardError> {
        let Some(email) = Email::parse(email)? else {
            return Err(FieldError::new(Email::FIELD, "is required").into());
        };
        let found = self.store.find_by_email(&email, LINKS_PER_REQUEST).await?;
        let window = time::OffsetDateTime::now_utc().unix_timestamp() / LINK_AGAIN_AFTER_SECONDS;
        let notices: Vec<Notice> = found
            .iter()
            .filter(|r| self.mails(r.conference.as_str()))
            .map(|r| Notice::mail(&r.key(), MailKind::BadgeLink, &window.to_string()))
            .collect();
        tracing::info!(count = notices.len(), "badge links asked for by e-mail");
        self.notify(notices).await;
        Ok(())
    }

    /// An organizer's message to the registrations matching `request`
    /// with an e-mail address: counted only (`dry_run`), or put in the
    /// outbox, one e-mail each.
    pub async fn message(
        &self,
        request: MessageRequest,
        dry_run: bool,
    ) -> Result<MessageReport, LanyardError> {
        if self.mail.is_none() {
            return Err(FieldError::new(
                "message",
                "cannot be sent: this server has no mail service set up (see --smtp-url)",
            )
            .into());
        }
        let conference = self.conferences().parse_id(
            request
                .conference
                .as_deref()
                .ok_or_else(|| FieldError::new("type", "is required"))?,
        )?;
        if !self.mails(conference.as_str()) {
            return Err(
                FieldError::new("type", "is a conference whose e-mails are turned off").into(),
            );
        }
        let subject = request.subject.unwrap_or_default().trim().to_owned();
        let body = request.body.unwrap_or_default();
        if !dry_run {
            if subject.is_empty()
                || subject.chars().count() > MAX_SUBJECT_CHARS
                || subject.contains(['\r', '\n'])
            {
                return Err(FieldError::new(
                    "subject",
                    format!("is required: one line of at most {MAX_SUBJECT_CHARS} characters"),
                )
                .into());
            }
            if body.trim().is_empty() || body.chars().count() > MAX_BODY_CHARS {
                return Err(FieldError::new(
                    "body",
                    format!("is required, at most {MAX_BODY_CHARS} characters"),
                )
                .into());
            }
            for (field, text) in [("subject", &subject), ("body", &body)] {
                crate::notify::check_template(text).map_err(|e| FieldError::new(field, e))?;
            }
        }
        let seat = request
            .seat
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                SeatStatus::parse(s).ok_or_else(|| {
                    FieldError::new(
                        "seat",
                        "is not confirmed, waitlisted, offered, expired or withdrawn",
                    )
                })
            })
            .transpose()?;
        let category = request.category.filter(|c| !c.is_empty());
        if let Some(c) = &category {
            let conf = self.conferences().get(conference.as_str()).expect("parsed");
            if !conf.form().categories.iter().any(|k| &k.id == c) {
                return Err(
                    FieldError::new("category", "is not a category of this conference").into(),
                );
            }
        }
        let occasion = crate::fields::random_code();
        let mut report = MessageReport {
            recipients: 0,
            without_email: 0,
        };
        let mut query = ListQuery {
            conference: Some(conference.clone()),
            category,
            limit: 100,
            ..ListQuery::default()
        };
        loop {
            let page = self.store.list(&query).await?;
            let mut notices = Vec::new();
            for r in &page.items {
                if seat.is_some_and(|s| r.seat.status != s)
                    || request
                        .checked_in
                        .is_some_and(|c| c != r.checked_in.is_some())
                {
                    continue;
                }
                if r.details.email.is_none() {
                    report.without_email += 1;
                    continue;
                }
                report.recipients += 1;
                if !dry_run {
                    notices.push(Notice::mail(
                        &r.key(),
                        MailKind::Message {
                            subject: subject.clone(),
                            body: body.clone(),
                        },
                        &occasion,
                    ));
                }
            }
            if !notices.is_empty() {
                // Written before the next page is read: an error stops the
                // message where it got to, and says so.
                self.store.enqueue_notices(&notices).await?;
                self.announce_notices().await;
            }
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        if !dry_run {
            tracing::info!(conference = %conference, recipients = report.recipients, "organizer message queued");
        }
        Ok(report)
    }

    /// One round of delivery: claims up to `limit` due notices, delivers
    /// them (several at once) and records each outcome: delivered and
    /// given-up notices leave the outbox, the others are due again after
    /// their backoff.
    pub async fn deliver_due_notices(&self, limit: usize) -> Result<NoticeRound, LanyardError> {
        use futures_util::StreamExt;
        let policy = self.notice_policy;
        let claimed = self.store.claim_notices(limit, policy.lease).await?;
        let mut round = NoticeRound::default();
        if claimed.is_empty() {
            return Ok(round);
        }
        self.refresh_forms_quietly().await;
        // Each outcome is recorded as soon as it is known (the store makes
        // concurrent writes durable together): a crash repeats only the
        // deliveries whose record had not committed yet.
        let recorded: Vec<Result<NoticeOutcome, LanyardError>> =
            futures_util::stream::iter(claimed.into_iter().map(|queued| async move {
                let outcome = self.deliver(&queued).await;
                self.record_notice(&queued, &outcome).await?;
                Ok(outcome)
            }))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for result in recorded {
            match result? {
                NoticeOutcome::Delivered => round.delivered += 1,
                NoticeOutcome::Skipped(_) => round.skipped += 1,
                NoticeOutcome::Failed(_) => round.failed += 1,
                NoticeOutcome::Retry { .. } => round.retried += 1,
            }
        }
        Ok(round)
    }

    /// Records what became of a delivery: delivered, skipped and given-up
    /// notices are done; the others are due again after their backoff.
    async fn record_notice(
        &self,
        queued: &QueuedNotice,
        outcome: &NoticeOutcome,
    ) -> Result<(), LanyardError> {
        let id = &queued.notice.id;
        let attempts = queued.attempts + 1;
        match outcome {
            NoticeOutcome::Delivered => {}
            NoticeOutcome::Skipped(why) => tracing::debug!(%id, %why, "notice skipped"),
            NoticeOutcome::Failed(error) => {
                tracing::error!(%id, %error, attempts, "notice given up")
            }
            NoticeOutcome::Retry { delay, error } => {
                tracing::warn!(%id, %error, attempts, retry_in_s = delay.as_secs(),
                    "notice not delivered; it will be tried again");
                return Ok(self.store.retry_notice(id, attempts, *delay, error).await?);
            }
        }
        Ok(self.store.finish_notices(std::slice::from_ref(id)).await?)
    }

    /// Delivers one notice and says what became of it.
    async fn deliver(&self, queued: &QueuedNotice) -> NoticeOutcome {
        let result = match &queued.notice.body {
            NoticeBody::Mail {
                user_id,
                conference,
                mail,
            } => {
                self.deliver_mail(&queued.notice.id, user_id, conference, mail)
                    .await
            }
            NoticeBody::Webhook {
                url,
                event,
                user_id,
                conference,
                at,
            } => {
                self.deliver_webhook(&queued.notice.id, url, event, (user_id, conference), at)
                    .await
            }
        };
        match result {
            Ok(None) => NoticeOutcome::Delivered,
            Ok(Some(why)) => NoticeOutcome::Skipped(why),
            Err(error) => {
                let attempt = queued.attempts + 1;
                if error.retryable && attempt < self.notice_policy.max_attempts {
                    NoticeOutcome::Retry {
                        delay: self.notice_policy.delay(attempt),
                        error: error.message,
                    }
                } else {
                    NoticeOutcome::Failed(error.message)
                }
            }
        }
    }

    /// `Ok(None)` when sent, `Ok(Some(why))` when there is nothing to send.
    async fn deliver_mail(
        &self,
        id: &str,
        user_id: &str,
        conference: &str,
        kind: &MailKind,
    ) -> Result<Option<String>, crate::notify::DeliveryError> {
        use crate::notify::DeliveryError;
        let Some(settings) = &self.mail else {
            return Ok(Some("no mail service is set up".into()));
        };
        let Ok(key) = self.key(user_id, conference) else {
            return Ok(Some("no such conference".into()));
        };
        let configured = self.conferences().get(conference).expect("a parsed id");
        if !configured.mail.enabled {
            return Ok(Some("the conference's e-mails are turned off".into()));
        }
        let registration = match self.store.get(&key).await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(Some("the registration is gone".into())),
            Err(e) => return Err(DeliveryError::retry(e.to_string())),
        };
        // A seat e-mail that no longer says the truth is not sent.
        let stale = match kind {
            MailKind::SeatOffered => registration.seat.status != SeatStatus::Offered,
            MailKind::OfferExpired => registration.seat.status != SeatStatus::Expired,
            _ => false,
        };
        if stale {
            return Ok(Some("the seat moved on since".into()));
        }
        let message = match compose(kind, id, &registration, configured, settings) {
            Ok(Some(message)) => message,
            Ok(None) => return Ok(Some("the registration has no e-mail address".into())),
            Err(e) => return Err(DeliveryError::permanent(e)),
        };
        settings.mailer.send(&message).await?;
        tracing::info!(%id, user_id, conference, "e-mail sent");
        Ok(None)
    }

    async fn deliver_webhook(
        &self,
        id: &str,
        url: &str,
        event: &str,
        key: (&str, &str),
        at: &str,
    ) -> Result<Option<String>, crate::notify::DeliveryError> {
        use crate::notify::DeliveryError;
        let Some(sender) = &self.webhook_sender else {
            return Ok(Some("webhooks are not set up".into()));
        };
        let Some(hook) = self.conferences().webhooks().iter().find(|h| h.url == url) else {
            return Ok(Some("the endpoint is no longer configured".into()));
        };
        let registration = match self.key(key.0, key.1) {
            Ok(k) => self
                .store
                .get(&k)
                .await
                .map_err(|e| DeliveryError::retry(e.to_string()))?,
            Err(_) => None,
        };
        let body = webhook_body(id, event, at, key, registration.as_ref());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("lanyard-event", event.to_owned()),
            ("lanyard-delivery", id.to_owned()),
            (
                "lanyard-signature",
                webhook_signature(&hook.secret, now, &body),
            ),
        ];
        sender.post(url, &headers, body).await?;
        Ok(None)
    }
}
