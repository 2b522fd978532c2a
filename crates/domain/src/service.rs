//! The use cases: register, get, list, delete, re-render, and rendering a
//! badge for a worker. The HTTP layer and the badge workers call only these.

use std::collections::HashMap;
use std::sync::Arc;

use lanyard_badge::{Badge, Format, Preset};

use crate::checkin::{
    self, CheckinCode, CheckinResult, CheckinStats, Desk, DeskName, FirstCheckin, Nonce, Scan,
    ScanTarget,
};
use crate::conference::Conferences;
use crate::fields::{
    BadgeToken, CompanyName, ConferenceId, FieldError, PageSize, PhoneNumber, UserId, UserName,
};
use crate::form::{Answer, Details, Form};
use crate::jobs::BadgeJobPolicy;
use crate::ports::{BadgeJobs, ListQuery, ObjectStore, Page, RegistrationStore, StoreError};
use crate::registration::{
    now_rfc3339, BadgeInfo, BadgeStatus, NewRegistration, Person, Registration, RegistrationKey,
};
use crate::seats::{Seat, SeatChange, SeatQueue, SeatStatus, Seating};

/// An organizer's list request as it arrives; [`Lanyard::list`] parses it.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Only this conference.
    pub conference: Option<String>,
    /// Text in the name or the company.
    pub search: Option<String>,
    /// Only this category (a category id).
    pub category: Option<String>,
    /// [`PageSize::DEFAULT`] when absent.
    pub limit: Option<PageSize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A desk's scan as it arrives: a code (or a badge QR's whole text), or a
/// registration's key; and the desk's nonce for this scan.
#[derive(Debug, Clone, Default)]
pub struct CheckinRequest {
    pub code: Option<String>,
    pub user_id: Option<String>,
    pub conference: Option<String>,
    pub nonce: Option<String>,
    /// When the desk took the scan (RFC 3339), for a scan it kept while
    /// offline: the check-in's time, within [`checkin::scanned_at`]'s bounds.
    pub scanned_at: Option<String>,
}

impl CheckinRequest {
    /// The longest scanned text taken: a contact card with the longest name
    /// and company lanyard prints is well under it.
    pub const MAX_CODE_CHARS: usize = 1000;
}

/// The answer to a scan.
#[derive(Debug, Clone)]
pub struct Checkin {
    pub result: CheckinResult,
    pub registration: Registration,
}

/// What an attendee may change on their own registration (SPEC §9);
/// `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct OwnChanges {
    pub user_name: Option<String>,
    pub company_name: Option<String>,
    pub contact_on_badge: Option<bool>,
    pub email: Option<String>,
    /// A public category (any, for an organizer).
    pub category: Option<String>,
    /// Replaces every answer.
    pub answers: Option<std::collections::BTreeMap<String, Answer>>,
    /// Organizers only.
    pub phone_number: Option<String>,
}

/// A change of seat asked by an attendee or an organizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatAction {
    /// Give up the seat or the place on the waiting list.
    Withdraw,
    /// Take an offered seat (the attendee), or give a waiting or offered
    /// person a seat (an organizer; never past capacity).
    Confirm,
}

#[derive(Debug, thiserror::Error)]
pub enum LanyardError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("this user is already registered for this conference")]
    AlreadyRegistered,
    #[error("not found")]
    NotFound,
    /// A scanned or typed check-in code that belongs to no registration.
    #[error("no registration has this check-in code")]
    UnknownCode,
    #[error("a desk with this name already exists")]
    DeskExists,
    /// A desk sign-in code that is used, expired, replaced or unknown.
    #[error("this sign-in code is used, expired or unknown; ask the organizer for a new one")]
    EnrolmentRefused,
    /// The conference has no seat left and keeps no waiting list.
    #[error("the conference is full")]
    Full,
    /// The registration's seat is not in a state this step starts from.
    #[error("the registration is {}", .0.as_str())]
    Seat(SeatStatus),
    /// A desk scanned someone without a confirmed seat.
    #[error("the registration is {}, not confirmed", .0.seat.status.as_str())]
    NotConfirmed(Box<Registration>),
    /// A render that cannot succeed however often it is tried.
    #[error("the badge cannot be rendered: {0}")]
    Render(String),
    #[error(transparent)]
    Storage(StoreError),
}

impl From<StoreError> for LanyardError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate => LanyardError::AlreadyRegistered,
            StoreError::CodeTaken => LanyardError::Invalid(FieldError::new(
                "checkin_code",
                "belongs to another registration",
            )),
            StoreError::InvalidCursor => LanyardError::Invalid(FieldError::new(
                "cursor",
                "is not a cursor this server issued",
            )),
            other => LanyardError::Storage(other),
        }
    }
}

impl LanyardError {
    /// Worth trying again later (storage hiccups), as opposed to permanent failures.
    pub fn is_retryable(&self) -> bool {
        matches!(self, LanyardError::Storage(_))
    }
}

/// The most bytes one badge file may take: 1 MiB for the attendee's part,
/// beside the conference's logo (embedded in SVG as base64, and in PDF).
/// Text cannot come near it: a badge prints at most three lines of name and
/// two of company, each glyph defined once; 200 distinct complex CJK
/// ideographs make a 100 KB SVG.
pub fn badge_file_ceiling(theme: &lanyard_badge::Theme) -> usize {
    let logo = match &theme.logo {
        Some(lanyard_badge::Logo::Png(b) | lanyard_badge::Logo::Svg(b)) => b.len(),
        None => 0,
    };
    (1 << 20) + 2 * logo
}

fn required<'a>(value: &'a Option<String>, field: &'static str) -> Result<&'a str, FieldError> {
    value
        .as_deref()
        .ok_or_else(|| FieldError::new(field, "is required"))
}

/// The longest form text taken: a few hundred questions.
pub const MAX_FORM_BYTES: usize = 16_000;

/// The application: use cases over the ports.
#[derive(Clone)]
pub struct Lanyard {
    pub(crate) store: Arc<dyn RegistrationStore>,
    pub(crate) objects: Arc<dyn ObjectStore>,
    pub(crate) jobs: Arc<dyn BadgeJobs>,
    conferences: Conferences,
    /// How e-mails go out; none are sent without it.
    pub(crate) mail: Option<crate::notify::MailSettings>,
    /// How webhooks are posted; none are without it.
    pub(crate) webhook_sender: Option<Arc<dyn crate::notify::WebhookSender>>,
    pub(crate) notice_policy: crate::notify::NoticePolicy,
    job_policy: BadgeJobPolicy,
    /// Rows a second an import stores at most (`None`: as fast as the
    /// store takes them).
    pub(crate) import_rate: Option<u32>,
    renders: RenderLocks,
    /// When the forms organizers set were last read from the store
    /// (milliseconds since the Unix epoch; 0: never).
    forms_read_at: Arc<std::sync::atomic::AtomicI64>,
    /// Held while the forms are read.
    forms_reading: Arc<tokio::sync::Mutex<()>>,
}

/// How long forms read from the store are used before they are read again:
/// another process (a Lambda instance, a command beside the server) may
/// have changed one.
const FORMS_FRESH_FOR_MS: i64 = 5_000;

/// One lock per badge file being rendered on request, held while it is
/// rendered and written, and forgotten once nobody waits for it.
#[derive(Clone, Default)]
struct RenderLocks(Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

struct RenderGuard {
    locks: RenderLocks,
    key: String,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl RenderLocks {
    async fn lock(&self, key: &str) -> RenderGuard {
        let lock = {
            let mut locks = self.0.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(key.to_owned()).or_default().clone()
        };
        RenderGuard {
            locks: self.clone(),
            key: key.to_owned(),
            held: Some(lock.lock_owned().await),
        }
    }
}

impl Drop for RenderGuard {
    fn drop(&mut self) {
        let mut locks = self.locks.0.lock().unwrap_or_else(|e| e.into_inner());
        self.held.take();
        // Only the table holds it now: nobody waits.
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

/// Where one revision's badge file is kept. Revision 0 keeps the name
/// badges had before revisions.
pub(crate) fn object_key(badge: &BadgeInfo, format: Format) -> String {
    match badge.revision {
        0 => format!("badges/{}.{}", badge.token.as_str(), format.extension()),
        n => format!(
            "badges/{}.r{n}.{}",
            badge.token.as_str(),
            format.extension()
        ),
    }
}

impl Lanyard {
    pub fn new(
        store: Arc<dyn RegistrationStore>,
        objects: Arc<dyn ObjectStore>,
        jobs: Arc<dyn BadgeJobs>,
        conferences: Conferences,
    ) -> Self {
        Lanyard {
            store,
            objects,
            jobs,
            conferences,
            job_policy: BadgeJobPolicy::default(),
            import_rate: None,
            mail: None,
            webhook_sender: None,
            notice_policy: crate::notify::NoticePolicy::default(),
            renders: RenderLocks::default(),
            forms_read_at: Arc::default(),
            forms_reading: Arc::default(),
        }
    }

    /// The same application with another badge job policy.
    pub fn with_job_policy(mut self, policy: BadgeJobPolicy) -> Self {
        self.job_policy = policy;
        self
    }

    /// Imports store at most `rate` rows a second (`None` or 0: as fast as
    /// the store takes them), where the store has a write rate to keep.
    pub fn with_import_rate(mut self, rate: Option<u32>) -> Self {
        self.import_rate = rate.filter(|r| *r > 0);
        self
    }

    pub fn job_policy(&self) -> BadgeJobPolicy {
        self.job_policy
    }

    pub fn conferences(&self) -> &Conferences {
        &self.conferences
    }

    /// The forms organizers set, read from the store unless read in the
    /// last few seconds, put in force over the configuration's. A form
    /// that no longer builds (a font removed since, say) is logged and the
    /// configuration's kept.
    pub async fn refresh_forms(&self) -> Result<(), LanyardError> {
        use std::sync::atomic::Ordering;
        let now = || time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000;
        let fresh = |last: i64| last != 0 && now() - last < FORMS_FRESH_FOR_MS;
        if fresh(self.forms_read_at.load(Ordering::Acquire)) {
            return Ok(());
        }
        // One reader at a time; the others wait for its forms (the first
        // read after a start must be in force before anything is served).
        let _reading = self.forms_reading.lock().await;
        if fresh(self.forms_read_at.load(Ordering::Acquire)) {
            return Ok(());
        }
        let read_at = now();
        let forms = self.store.forms().await?;
        for (id, text) in forms {
            let Some(conference) = self.conferences.get(id.as_str()) else {
                continue;
            };
            if conference.form_set().text == text {
                continue;
            }
            match conference.build_form(&text, self.conferences.fonts()) {
                Ok(set) => conference.use_form(set),
                Err(e) => tracing::warn!(conference = %id, error = %e,
                    "a form set by the organizers no longer builds; the configuration's is used"),
            }
        }
        self.forms_read_at.store(read_at, Ordering::Release);
        Ok(())
    }

    /// An organizer's new form for a conference, as TOML (`email`,
    /// `[[category]]`, `[[question]]`): checked, kept in the store, and in
    /// force from the next request (in every process within seconds).
    /// Registrations keep their answers; a badge shows the new bands and
    /// lines when it is next rendered.
    pub async fn set_form(&self, conference: &str, text: &str) -> Result<(), LanyardError> {
        let id = self.conferences.parse_id(conference)?;
        let configured = self
            .conferences
            .get(id.as_str())
            .expect("a parsed id is configured");
        if text.len() > MAX_FORM_BYTES {
            return Err(
                FieldError::new("form", format!("must be at most {MAX_FORM_BYTES} bytes")).into(),
            );
        }
        let set = configured
            .build_form(text, self.conferences.fonts())
            .map_err(|message| FieldError::new("form", message))?;
        // Under the readers' lock: a read of the store racing this write
        // cannot put the older form back in force.
        let _reading = self.forms_reading.lock().await;
        self.store.put_form(&id, text).await?;
        configured.use_form(set);
        Ok(())
    }

    /// Parses a sign-up, stores it with a pending badge and announces the badge job.
    pub async fn register(&self, input: NewRegistration) -> Result<Registration, LanyardError> {
        self.refresh_forms_quietly().await;
        let quiet = input.walk_in;
        let registration = self.new_registration(input)?;
        let registration = self.store_new(registration, quiet).await?;
        self.announce(&registration.key()).await;
        Ok(registration)
    }

    /// Stores a checked registration, deciding its seat when its
    /// conference has a capacity, with its notices (its confirmation
    /// e-mail unless `quiet`, webhooks) in the same atomic write.
    pub(crate) async fn store_new(
        &self,
        mut registration: Registration,
        quiet: bool,
    ) -> Result<Registration, LanyardError> {
        let capacity = self
            .conferences
            .get(registration.conference.as_str())
            .and_then(|c| c.capacity);
        let notices = self.new_registration_notices(&registration, quiet);
        match capacity {
            None => self.store.insert_noting(&registration, &notices).await?,
            Some(capacity) => match self
                .store
                .insert_seated_noting(&registration, capacity, &notices)
                .await?
            {
                Seating::Confirmed => registration.seat = Seat::confirmed(),
                Seating::Waitlisted => {
                    registration.seat = Seat {
                        status: SeatStatus::Waitlisted,
                        offer_expires_at: None,
                    }
                }
                Seating::Full => return Err(LanyardError::Full),
            },
        }
        if !notices.is_empty() {
            self.announce_notices().await;
        }
        Ok(registration)
    }

    /// A sign-up checked with its rules, with a pending badge and a fresh
    /// check-in code; not stored yet.
    pub(crate) fn new_registration(
        &self,
        input: NewRegistration,
    ) -> Result<Registration, LanyardError> {
        let conference = self
            .conferences
            .parse_id(required(&input.conference, "type")?)?;
        if self.conferences.get(conference.as_str()).is_some_and(|c| {
            c.erase_from
                .is_some_and(|from| time::OffsetDateTime::now_utc() >= from)
        }) {
            return Err(FieldError::new(
                ConferenceId::FIELD,
                "is a conference whose registrations have been erased: it takes no more",
            )
            .into());
        }
        let configured = self
            .conferences
            .get(conference.as_str())
            .expect("a parsed id is configured");
        if !input.by_organizer && configured.closed(time::OffsetDateTime::now_utc()) {
            return Err(FieldError::new(
                ConferenceId::FIELD,
                "is a conference whose sign-up has closed",
            )
            .into());
        }
        let user_id = UserId::parse(required(&input.user_id, UserId::FIELD)?)?;
        let person = Person::parse(
            required(&input.user_name, UserName::FIELD)?,
            required(&input.phone_number, PhoneNumber::FIELD)?,
            input.company_name.as_deref(),
        )?;
        self.conferences.check_printable(&person)?;
        let form = &configured.form();
        let details = Details {
            email: form.parse_email_as(input.email.as_deref(), !input.walk_in)?,
            category: form.parse_category(input.category.as_deref(), input.by_organizer)?,
            answers: form.parse_answers_as(&input.answers, !input.walk_in)?,
        };
        self.check_badge_line(form, &details)?;
        let registration = Registration {
            user_id,
            conference,
            person,
            created_at: now_rfc3339(),
            badge: Some(BadgeInfo::pending()),
            checkin_code: Some(CheckinCode::generate()),
            contact_on_badge: input.contact_on_badge.unwrap_or(false),
            checked_in: None,
            details,
            seat: Seat::confirmed(),
        };
        Ok(registration)
    }

    /// [`Lanyard::refresh_forms`], its failure logged: the forms in force
    /// serve until the store answers again.
    pub async fn refresh_forms_quietly(&self) {
        if let Err(e) = self.refresh_forms().await {
            tracing::warn!(error = %e, "could not read the organizers' forms; the ones in force serve");
        }
    }

    /// Refuses answers printed on the badge that its fonts cannot draw.
    fn check_badge_line(&self, form: &Form, details: &Details) -> Result<(), FieldError> {
        match form.badge_line(&details.answers) {
            Some(line) => self.conferences.check_text("answers", &line),
            None => Ok(()),
        }
    }

    pub(crate) async fn announce(&self, key: &RegistrationKey) {
        if let Err(e) = self.jobs.announce(key).await {
            // The job is durable in the store; the worker's sweep will find it.
            tracing::warn!(error = %e, "badge job announcement failed; it will be picked up later");
        }
    }

    /// Parses a key from path segments; anything that cannot exist is simply not found.
    pub fn key(&self, user_id: &str, conference: &str) -> Result<RegistrationKey, LanyardError> {
        Ok(RegistrationKey {
            user_id: UserId::for_lookup(user_id).map_err(|_| LanyardError::NotFound)?,
            conference: self
                .conferences
                .parse_id(conference)
                .map_err(|_| LanyardError::NotFound)?,
        })
    }

    pub async fn get(&self, key: &RegistrationKey) -> Result<Registration, LanyardError> {
        self.store.get(key).await?.ok_or(LanyardError::NotFound)
    }

    pub async fn list_by_user(&self, user_id: &str) -> Result<Vec<Registration>, LanyardError> {
        match UserId::for_lookup(user_id) {
            Ok(id) => Ok(self.store.list_by_user(&id).await?),
            Err(_) => Ok(Vec::new()),
        }
    }

    pub async fn list(&self, request: ListRequest) -> Result<Page, LanyardError> {
        let query = self.list_query(request)?;
        self.store_page(&query).await
    }

    /// One page of registrations for a checked query.
    pub(crate) async fn store_page(&self, query: &ListQuery) -> Result<Page, LanyardError> {
        Ok(self.store.list(query).await?)
    }

    /// The list's filters, checked.
    pub fn list_query(&self, request: ListRequest) -> Result<ListQuery, LanyardError> {
        let conference = match request.conference.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(self.conferences.parse_id(c)?),
            None => None,
        };
        let search = request
            .search
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        if search
            .as_ref()
            .is_some_and(|q| q.chars().count() > 100 || q.chars().any(char::is_control))
        {
            return Err(FieldError::new(
                "q",
                "must be at most 100 characters without control characters",
            )
            .into());
        }
        let category = request
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if let Some(c) = &category {
            let known = self.conferences.iter().any(|k| {
                conference.as_ref().is_none_or(|want| *want == k.id)
                    && k.form().category(c).is_some()
            });
            if !known {
                return Err(
                    FieldError::new("category", "is not a category of these conferences").into(),
                );
            }
        }
        Ok(ListQuery {
            conference,
            search,
            category,
            limit: request.limit.unwrap_or(PageSize::DEFAULT).get(),
            cursor: request.cursor.filter(|c| !c.is_empty()),
        })
    }

    /// Deletes a registration and its badge files.
    pub async fn delete(&self, key: &RegistrationKey) -> Result<(), LanyardError> {
        let removed = self
            .store
            .delete(key)
            .await?
            .ok_or(LanyardError::NotFound)?;
        if let Some(badge) = &removed.badge {
            self.delete_files(badge).await?;
        }
        if removed.seat.status.holds_seat() {
            self.fill_seats_quietly(&removed.conference).await;
        }
        self.notify_event("registration.deleted", key).await;
        Ok(())
    }

    /// Deletes a badge revision's files.
    pub(crate) async fn delete_files(&self, badge: &BadgeInfo) -> Result<(), LanyardError> {
        let keys = [Format::Png, Format::Svg, Format::Pdf].map(|format| object_key(badge, format));
        Ok(self.objects.delete_all(keys.into()).await?)
    }

    /// Resets a registration's badge to pending at its next revision (set
    /// on `registration` too) and deletes the files of the revision it
    /// replaced: they show what the registration no longer says.
    async fn reset_badge(&self, registration: &mut Registration) -> Result<(), LanyardError> {
        let previous = self
            .store
            .reset_badge(registration)
            .await?
            .ok_or(LanyardError::NotFound)?;
        if let Some(badge) = registration.badge.as_mut() {
            let replaced = BadgeInfo {
                revision: previous,
                ..badge.clone()
            };
            badge.revision = previous + 1;
            // The reset stands either way; the next render of this badge
            // deletes the files it replaced again.
            if let Err(e) = self.delete_files(&replaced).await {
                tracing::warn!(error = %e, "could not delete the files of a replaced badge yet");
            }
        }
        Ok(())
    }

    /// Erases the personal data of conferences whose retention has passed
    /// (SPEC §9): each registration's badge files, then its row, which
    /// becomes an anonymous count in the check-in statistics. At most
    /// `limit` registrations per call; returns how many were erased. Each
    /// backend's sweep calls it periodically.
    pub async fn erase_expired(&self, limit: usize) -> Result<usize, LanyardError> {
        let now = time::OffsetDateTime::now_utc();
        let mut erased = 0;
        for conference in self.conferences.iter() {
            if conference.erase_from.is_none_or(|from| now < from) {
                continue;
            }
            let before = erased;
            // Follows the list's cursor: a page may come back short or empty
            // with more to come (a DynamoDB scan reads a bounded number of
            // pages), and what is erased behind the cursor changes nothing
            // ahead of it.
            let mut cursor = None;
            while erased < limit {
                let page = self
                    .store
                    .list(&ListQuery {
                        conference: Some(conference.id.clone()),
                        search: None,
                        limit: (limit - erased).min(PageSize::MAX),
                        cursor: cursor.take(),
                        category: None,
                    })
                    .await?;
                for r in page.items {
                    // Files first: a row left by a failure here is erased
                    // by the next sweep, and its files cannot outlive it.
                    if let Some(badge) = &r.badge {
                        self.delete_files(badge).await?;
                    }
                    if self.store.erase_keeping_count(&r.key()).await?.is_some() {
                        erased += 1;
                    }
                }
                cursor = page.next_cursor;
                if cursor.is_none() {
                    break;
                }
            }
            if erased > before {
                tracing::info!(conference = %conference.id, erased = erased - before,
                    "personal data past the conference's retention erased");
            }
        }
        Ok(erased)
    }

    /// Queues the badge to be rendered again (keeping its URL), or for the
    /// first time for registrations the original system wrote.
    pub async fn rerender(&self, key: &RegistrationKey) -> Result<Registration, LanyardError> {
        let mut registration = self.get(key).await?;
        let token = registration
            .badge
            .as_ref()
            .map(|b| b.token.clone())
            .unwrap_or_else(BadgeToken::generate);
        registration.badge = Some(BadgeInfo {
            status: BadgeStatus::Pending,
            token,
            error: None,
            retry_at: None,
            // The store counts the next revision.
            revision: 0,
        });
        registration
            .checkin_code
            .get_or_insert_with(CheckinCode::generate);
        self.reset_badge(&mut registration).await?;
        self.announce(key).await;
        Ok(registration)
    }

    /// An attendee's change to their own registration, found by its badge
    /// token: name, company, consent, e-mail, a public category, answers.
    /// The badge is rendered again (same URL, same check-in code); the key,
    /// phone and check-in stay.
    pub async fn update_own(
        &self,
        token: &str,
        mut changes: OwnChanges,
    ) -> Result<Registration, LanyardError> {
        let registration = self.badge(token).await?;
        if changes.phone_number.take().is_some() {
            return Err(
                FieldError::new(PhoneNumber::FIELD, "is changed by the organizers only").into(),
            );
        }
        self.apply_changes(registration, changes, false).await
    }

    /// An organizer's change to a registration: anything but its key,
    /// creation time and check-in. The badge is rendered again.
    pub async fn update(
        &self,
        key: &RegistrationKey,
        changes: OwnChanges,
    ) -> Result<Registration, LanyardError> {
        let registration = self.get(key).await?;
        self.apply_changes(registration, changes, true).await
    }

    async fn apply_changes(
        &self,
        mut registration: Registration,
        changes: OwnChanges,
        organizer: bool,
    ) -> Result<Registration, LanyardError> {
        self.refresh_forms_quietly().await;
        let conference = self
            .conferences
            .get(registration.conference.as_str())
            .ok_or(LanyardError::NotFound)?;
        let form = &conference.form();
        if let Some(name) = changes.user_name {
            let name = UserName::parse(&name)?;
            self.conferences
                .check_text(UserName::FIELD, name.as_str())?;
            registration.person.user_name = name;
        }
        if let Some(company) = changes.company_name {
            let company = CompanyName::parse(&company)?;
            if let Some(company) = &company {
                self.conferences
                    .check_text(CompanyName::FIELD, company.as_str())?;
            }
            registration.person.company_name = company;
        }
        if let Some(phone) = changes.phone_number {
            registration.person.phone_number = PhoneNumber::parse(&phone)?;
        }
        if let Some(consent) = changes.contact_on_badge {
            registration.contact_on_badge = consent;
        }
        if let Some(email) = changes.email {
            registration.details.email = form.parse_email(Some(&email))?;
        }
        if let Some(category) = changes.category {
            let keeps = registration.details.category.as_deref() == Some(category.trim());
            if !keeps {
                // A category the organizers gave (speaker, staff) stays
                // theirs to change.
                let given = registration
                    .details
                    .category
                    .as_deref()
                    .and_then(|c| form.category(c))
                    .is_some_and(|c| !c.public);
                if given && !organizer {
                    return Err(FieldError::new(
                        "category",
                        "was given by the organizers: ask them to change it",
                    )
                    .into());
                }
                registration.details.category = form.parse_category(Some(&category), organizer)?;
            }
        }
        if let Some(answers) = changes.answers {
            registration.details.answers = form.parse_answers(&answers)?;
        }
        self.check_badge_line(form, &registration.details)?;
        if let Some(badge) = registration.badge.as_mut() {
            badge.status = BadgeStatus::Pending;
            badge.error = None;
        } else {
            registration.badge = Some(BadgeInfo::pending());
        }
        registration
            .checkin_code
            .get_or_insert_with(CheckinCode::generate);
        self.reset_badge(&mut registration).await?;
        self.announce(&registration.key()).await;
        self.notify_event("registration.updated", &registration.key())
            .await;
        Ok(registration)
    }

    /// An attendee's seat step, found by their badge token: withdraw, or
    /// take an offered seat before the offer runs out.
    pub async fn seat_own(
        &self,
        token: &str,
        action: SeatAction,
    ) -> Result<Registration, LanyardError> {
        let registration = self.badge(token).await?;
        self.change_seat(registration, action, false).await
    }

    /// An organizer's seat step: withdraw anybody; confirm someone
    /// waiting, offered or expired, while a seat is free.
    pub async fn seat(
        &self,
        key: &RegistrationKey,
        action: SeatAction,
    ) -> Result<Registration, LanyardError> {
        let registration = self.get(key).await?;
        self.change_seat(registration, action, true).await
    }

    async fn change_seat(
        &self,
        mut registration: Registration,
        action: SeatAction,
        organizer: bool,
    ) -> Result<Registration, LanyardError> {
        use SeatStatus::*;
        let capacity = self
            .conferences
            .get(registration.conference.as_str())
            .and_then(|c| c.capacity);
        let current = registration.seat.status;
        let from: &[SeatStatus] = match (action, organizer) {
            (SeatAction::Withdraw, _) => &[Confirmed, Waitlisted, Offered],
            (SeatAction::Confirm, false) => &[Offered],
            (SeatAction::Confirm, true) => &[Waitlisted, Offered, Expired, Withdrawn],
        };
        if !from.contains(&current) {
            return Err(LanyardError::Seat(current));
        }
        if action == SeatAction::Confirm
            && !organizer
            && registration
                .seat
                .offer_expires_at
                .as_deref()
                .is_some_and(|at| at <= now_rfc3339().as_str())
        {
            // Run out, though not yet swept.
            return Err(LanyardError::Seat(Expired));
        }
        let to = Seat {
            status: match action {
                SeatAction::Withdraw => Withdrawn,
                SeatAction::Confirm => Confirmed,
            },
            offer_expires_at: None,
        };
        match self
            .store
            .change_seat(
                &registration.key(),
                &[current],
                &to,
                capacity.map(|c| c.seats),
            )
            .await?
        {
            SeatChange::Done => {}
            SeatChange::Full => return Err(LanyardError::Full),
            SeatChange::Moved => {
                let now = self.get(&registration.key()).await?;
                return Err(LanyardError::Seat(now.seat.status));
            }
        }
        registration.seat = to;
        self.notify_event("registration.updated", &registration.key())
            .await;
        if current.holds_seat() && !registration.seat.status.holds_seat() {
            self.fill_seats_quietly(&registration.conference).await;
        }
        Ok(registration)
    }

    /// Offers free seats to those waiting longest; a failure is logged and
    /// left to the next sweep.
    async fn fill_seats_quietly(&self, conference: &ConferenceId) {
        if let Err(e) = self.fill_seats(conference).await {
            tracing::warn!(error = %e, conference = %conference,
                "could not offer a free seat yet; the next sweep will");
        }
    }

    /// Offers free seats of a conference to those waiting, longest waiting
    /// first, each for the conference's `offer_hours`. Returns how many
    /// offers were made.
    pub async fn fill_seats(&self, conference: &ConferenceId) -> Result<usize, LanyardError> {
        let Some(configured) = self.conferences.get(conference.as_str()) else {
            return Ok(0);
        };
        let Some(capacity) = configured.capacity else {
            return Ok(0);
        };
        let mut offered = 0;
        loop {
            let waiting = self
                .store
                .seat_queue(conference, &SeatQueue::Waiting, 20)
                .await?;
            if waiting.is_empty() {
                return Ok(offered);
            }
            for r in waiting {
                let expires = time::OffsetDateTime::now_utc()
                    + time::Duration::hours(i64::from(configured.offer_hours));
                let offer = Seat {
                    status: SeatStatus::Offered,
                    offer_expires_at: Some(crate::registration::rfc3339(expires)),
                };
                match self
                    .store
                    .change_seat(
                        &r.key(),
                        &[SeatStatus::Waitlisted],
                        &offer,
                        Some(capacity.seats),
                    )
                    .await?
                {
                    SeatChange::Done => {
                        offered += 1;
                        tracing::info!(conference = %conference, "a free seat was offered to the next on the waiting list");
                        let offered = Registration { seat: offer, ..r };
                        self.notify_seat(&offered, crate::notify::MailKind::SeatOffered)
                            .await;
                        self.notify_event("registration.updated", &offered.key())
                            .await;
                    }
                    SeatChange::Full => return Ok(offered),
                    SeatChange::Moved => {}
                }
            }
        }
    }

    /// Lets offers past their time expire and offers their seats on.
    /// Each backend's sweep calls it periodically; returns how many offers
    /// expired.
    pub async fn sweep_seats(&self) -> Result<usize, LanyardError> {
        let mut expired = 0;
        for conference in self.conferences.iter() {
            let Some(capacity) = conference.capacity else {
                continue;
            };
            let due = self
                .store
                .seat_queue(
                    &conference.id,
                    &SeatQueue::OffersExpiredBefore(now_rfc3339()),
                    100,
                )
                .await?;
            for r in due {
                let gone = Seat {
                    status: SeatStatus::Expired,
                    offer_expires_at: r.seat.offer_expires_at.clone(),
                };
                if self
                    .store
                    .change_seat(
                        &r.key(),
                        &[SeatStatus::Offered],
                        &gone,
                        Some(capacity.seats),
                    )
                    .await?
                    == SeatChange::Done
                {
                    expired += 1;
                    let gone = Registration { seat: gone, ..r };
                    self.notify_seat(&gone, crate::notify::MailKind::OfferExpired)
                        .await;
                    self.notify_event("registration.updated", &gone.key()).await;
                }
            }
            self.fill_seats(&conference.id).await?;
        }
        Ok(expired)
    }

    /// Seats held (confirmed and offered) in a conference, and its capacity.
    pub async fn seats(
        &self,
        conference: &ConferenceId,
    ) -> Result<(u64, Option<u32>), LanyardError> {
        let capacity = self
            .conferences
            .get(conference.as_str())
            .and_then(|c| c.capacity)
            .map(|c| c.seats);
        Ok((self.store.seats_held(conference).await?, capacity))
    }

    /// An attendee erasing their own registration, found by its badge
    /// token: the row, its check-in and its badge files.
    pub async fn erase_own(&self, token: &str) -> Result<(), LanyardError> {
        let registration = self.badge(token).await?;
        self.delete(&registration.key()).await
    }

    /// Checks a person in at `desk` (SPEC §10). The first check-in of a
    /// registration wins; a replayed nonce gets the answer its first
    /// request got and counts once.
    pub async fn check_in(
        &self,
        desk: &DeskName,
        request: CheckinRequest,
    ) -> Result<Checkin, LanyardError> {
        let nonce = match request.nonce.as_deref() {
            Some(n) => Nonce::parse(n)?,
            None => Nonce::generate(),
        };
        let at = checkin::scanned_at_now(request.scanned_at.as_deref())?;
        let target = match (request.code, request.user_id, request.conference) {
            (Some(code), None, None) => {
                if code.chars().count() > CheckinRequest::MAX_CODE_CHARS {
                    return Err(FieldError::new(
                        "code",
                        format!(
                            "must be at most {} characters",
                            CheckinRequest::MAX_CODE_CHARS
                        ),
                    )
                    .into());
                }
                ScanTarget::Code(CheckinCode::find_in(&code).ok_or(LanyardError::UnknownCode)?)
            }
            (None, Some(user_id), Some(conference)) => ScanTarget::Key(
                self.key(&user_id, &conference)
                    .map_err(|_| LanyardError::UnknownCode)?,
            ),
            _ => {
                return Err(FieldError::new("code", "give either code, or user_id and type").into())
            }
        };
        // A seat is checked before the scan is recorded: only confirmed
        // registrations come in.
        if self.conferences.iter().any(|c| c.capacity.is_some()) {
            let found = match &target {
                ScanTarget::Code(code) => self.store.find_by_checkin_code(code).await?,
                ScanTarget::Key(key) => self.store.get(key).await?,
            };
            if let Some(r) = found.filter(|r| r.seat.status != SeatStatus::Confirmed) {
                return Err(LanyardError::NotConfirmed(Box::new(r)));
            }
        }
        let scan = Scan {
            target,
            first: FirstCheckin {
                at,
                desk: desk.as_str().to_owned(),
                nonce: nonce.as_str().to_owned(),
            },
            fresh_code: CheckinCode::generate(),
            expires_at: time::OffsetDateTime::now_utc().unix_timestamp()
                + checkin::NONCE_TTL_SECONDS,
        };
        let outcome = self
            .store
            .record_scan(&scan)
            .await?
            .ok_or(LanyardError::UnknownCode)?;
        if outcome.result == CheckinResult::CheckedIn {
            if let Some(first) = &outcome.registration.checked_in {
                let notices =
                    self.event_notices("checkin.created", &outcome.registration.key(), &first.at);
                self.notify(notices).await;
            }
        }
        Ok(Checkin {
            result: outcome.result,
            registration: outcome.registration,
        })
    }

    /// A desk's search: the registration with this check-in code (or badge
    /// QR text), else up to 20 whose name or company contains the text.
    pub async fn lookup(
        &self,
        q: &str,
        conference: Option<String>,
    ) -> Result<Vec<Registration>, LanyardError> {
        let q = q.trim();
        if q.is_empty() {
            return Err(FieldError::new("q", "is required").into());
        }
        if q.chars().count() <= CheckinRequest::MAX_CODE_CHARS {
            if let Some(code) = CheckinCode::find_in(q) {
                if let Some(r) = self.store.find_by_checkin_code(&code).await? {
                    return Ok(vec![r]);
                }
            }
        }
        let page = self
            .list(ListRequest {
                conference,
                search: Some(q.to_owned()),
                limit: Some(PageSize::parse("20")?),
                cursor: None,
                category: None,
            })
            .await?;
        Ok(page.items)
    }

    /// A walk-in at a desk: registered as a sign-up is, then checked in
    /// there. A registration made but not checked in (storage failed in
    /// between) is checked in by the desk's next scan or search.
    pub async fn register_walk_in(
        &self,
        desk: &DeskName,
        input: NewRegistration,
    ) -> Result<Checkin, LanyardError> {
        let registration = self.register(input).await?;
        self.check_in(
            desk,
            CheckinRequest {
                user_id: Some(registration.user_id.to_string()),
                conference: Some(registration.conference.to_string()),
                ..CheckinRequest::default()
            },
        )
        .await
    }

    /// Undoes a registration's check-in (an organizer's correction).
    pub async fn undo_checkin(&self, key: &RegistrationKey) -> Result<(), LanyardError> {
        if self.store.undo_checkin(key).await? {
            self.notify_event("checkin.undone", key).await;
            Ok(())
        } else {
            Err(LanyardError::NotFound)
        }
    }

    /// Registered and checked-in counts per conference, desk and quarter hour.
    pub async fn checkin_stats(
        &self,
        conference: Option<&str>,
    ) -> Result<CheckinStats, LanyardError> {
        let conference = match conference.filter(|c| !c.is_empty()) {
            Some(c) => Some(self.conferences.parse_id(c)?),
            None => None,
        };
        let tallies = self.store.checkin_tallies(conference.as_ref()).await?;
        let ids: Vec<&str> = match &conference {
            Some(c) => vec![c.as_str()],
            None => self.conferences.iter().map(|c| c.id.as_str()).collect(),
        };
        let mut stats = checkin::stats(tallies, &ids);
        for c in &mut stats.conferences {
            let Some(capacity) = self.conferences.get(&c.conference).and_then(|k| k.capacity)
            else {
                continue;
            };
            let held = self
                .store
                .seats_held(&ConferenceId::from_stored(c.conference.clone()))
                .await?;
            c.seats = Some(checkin::SeatCount {
                held,
                capacity: capacity.seats,
            });
        }
        Ok(stats)
    }

    /// Creates a desk and returns it with its token, which is shown this once.
    pub async fn create_desk(&self, name: &str) -> Result<(Desk, String), LanyardError> {
        checkin::create_desk(self.store.as_ref(), name).await
    }

    /// A one-time code that signs a phone in as this desk (its current
    /// token is refused from now on).
    pub async fn enrol_desk(&self, name: &str) -> Result<checkin::Enrolment, LanyardError> {
        checkin::enrol_desk(self.store.as_ref(), name).await
    }

    /// Exchanges a desk's sign-in code, once, for the desk and a new token.
    pub async fn redeem_enrolment(&self, code: &str) -> Result<(Desk, String), LanyardError> {
        checkin::redeem_enrolment(self.store.as_ref(), code).await
    }

    pub async fn desks(&self) -> Result<Vec<Desk>, LanyardError> {
        Ok(self.store.desks().await?)
    }

    /// Revokes a desk's token: it is refused from the next request on.
    pub async fn revoke_desk(&self, name: &str) -> Result<(), LanyardError> {
        checkin::revoke_desk(self.store.as_ref(), name).await
    }

    /// The desk a token belongs to, if it is a desk token still in force.
    pub async fn desk_for_token(&self, token: &str) -> Result<Option<Desk>, LanyardError> {
        if !token.starts_with("desk_") || token.len() > 64 {
            return Ok(None);
        }
        Ok(self
            .store
            .desk_by_token_hash(&checkin::token_hash(token))
            .await?)
    }

    /// The registration a badge token belongs to.
    pub async fn badge(&self, token: &str) -> Result<Registration, LanyardError> {
        let token = BadgeToken::parse(token).ok_or(LanyardError::NotFound)?;
        let registration = self
            .store
            .find_by_badge_token(&token)
            .await?
            .ok_or(LanyardError::NotFound)?;
        Ok(registration)
    }

    /// A ready badge's file. The PNG is made by the badge worker; the SVG and
    /// the PDF are rendered on their first request and kept; a file that has
    /// gone missing is rendered again the same way.
    pub async fn badge_file(&self, token: &str, format: Format) -> Result<Vec<u8>, LanyardError> {
        let registration = self.badge(token).await?;
        self.ready_badge_file(registration, format).await
    }

    /// A registration's ready badge file, found by its key: what a desk
    /// prints, without ever holding the attendee's badge link.
    pub async fn badge_file_of(
        &self,
        key: &RegistrationKey,
        format: Format,
    ) -> Result<Vec<u8>, LanyardError> {
        let registration = self.get(key).await?;
        self.ready_badge_file(registration, format).await
    }

    async fn ready_badge_file(
        &self,
        registration: Registration,
        format: Format,
    ) -> Result<Vec<u8>, LanyardError> {
        self.refresh_forms_quietly().await;
        let badge = registration
            .badge
            .clone()
            .filter(|b| b.status == BadgeStatus::Ready)
            .ok_or(LanyardError::NotFound)?;
        let key = object_key(&badge, format);
        if let Some(bytes) = self.objects.get(&key).await? {
            return Ok(bytes);
        }
        // One render per file at a time in this process: concurrent first
        // downloads wait for the one render and read its file.
        let _rendering = self.renders.lock(&key).await;
        if let Some(bytes) = self.objects.get(&key).await? {
            return Ok(bytes);
        }
        let this = self.clone();
        let bytes = crate::blocking::spawn_blocking(move || this.render_one(&registration, format))
            .await
            .map_err(|e| LanyardError::Render(format!("the renderer stopped: {e}")))??;
        self.objects
            .put(&key, bytes.clone(), format.content_type())
            .await?;
        // Changed, re-rendered or deleted while it was rendered: the file
        // just written is of a version that is gone, and must not outlive it.
        let current = self
            .store
            .find_by_badge_token(&badge.token)
            .await?
            .and_then(|r| r.badge)
            .filter(|b| b.status == BadgeStatus::Ready && b.revision == badge.revision);
        if current.is_none() {
            self.objects.delete(&key).await?;
            return Err(LanyardError::NotFound);
        }
        Ok(bytes)
    }

    /// Renders a registration's badge with its conference's renderer.
    pub(crate) fn with_badge<T>(
        &self,
        registration: &Registration,
        render: impl FnOnce(
            &lanyard_badge::BadgeRenderer,
            &Badge<'_>,
        ) -> Result<T, lanyard_badge::BadgeError>,
    ) -> Result<T, LanyardError> {
        let conference = self
            .conferences
            .get(registration.conference.as_str())
            .ok_or_else(|| {
                LanyardError::Render(format!(
                    "conference {:?} is no longer configured",
                    registration.conference.as_str()
                ))
            })?;
        let code = registration.checkin_code.as_ref().ok_or_else(|| {
            LanyardError::Render("the registration has no check-in code yet".into())
        })?;
        let payload = conference.payload(&registration.person, code, registration.contact_on_badge);
        let line = conference.form().badge_line(&registration.details.answers);
        let badge = Badge {
            details: line.as_deref(),
            ..registration.person.badge(&payload)
        };
        render(
            &conference.renderer_for(registration.details.category.as_deref()),
            &badge,
        )
        .map_err(|e| LanyardError::Render(e.to_string()))
    }

    /// The fields that had to be cut to fit on the badge (each is wrapped
    /// and made smaller first, down to a legible minimum): `user_name`,
    /// `company_name`, or none.
    pub fn shortened(&self, registration: &Registration) -> Vec<&'static str> {
        let fit = self
            .with_badge(registration, |renderer, badge| {
                Ok(renderer.shortened(badge, Preset::Id1))
            })
            .unwrap_or_default();
        [
            (fit.name, UserName::FIELD),
            (fit.company, CompanyName::FIELD),
        ]
        .into_iter()
        .filter_map(|(cut, field)| cut.then_some(field))
        .collect()
    }

    /// One file of a registration's badge, rendered in memory, refused if
    /// it is larger than [`badge_file_ceiling`] allows: a registration can
    /// store at most three such files, whatever its text.
    pub fn render_one(
        &self,
        registration: &Registration,
        format: Format,
    ) -> Result<Vec<u8>, LanyardError> {
        let (bytes, ceiling) = self.with_badge(registration, |renderer, badge| {
            let bytes = renderer.render(badge, Preset::Id1, format, None)?;
            Ok((bytes, badge_file_ceiling(renderer.theme())))
        })?;
        if bytes.len() > ceiling {
            return Err(LanyardError::Render(format!(
                "the {} badge is {} bytes, over the {ceiling}-byte ceiling",
                format.extension(),
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}
