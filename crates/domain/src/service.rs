//! The use cases: register, get, list, delete, re-render, and rendering a
//! badge for a worker. The HTTP layer and the badge workers call only these.

use std::sync::Arc;

use lanyard_badge::{Badge, BadgeSet, Format, Payload, Preset};

use crate::conference::{Conferences, PayloadKind};
use crate::fields::{
    random_code, BadgeToken, CompanyName, FieldError, PhoneNumber, UserId, UserName,
};
use crate::ports::{BadgeJobs, ListQuery, ObjectStore, Page, RegistrationStore, StoreError};
use crate::registration::{
    now_rfc3339, BadgeInfo, BadgeStatus, NewRegistration, Registration, RegistrationKey,
};

/// Default and largest page size of the organizer list.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum LanyardError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("this user is already registered for this conference")]
    AlreadyRegistered,
    #[error("not found")]
    NotFound,
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

/// What a badge job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadgeOutcome {
    /// Files written and the badge marked ready.
    Rendered,
    /// The registration was deleted or given a new badge meanwhile: nothing to do.
    Gone,
    /// The badge is already ready or failed: a repeated job does no work.
    AlreadyDone,
}

fn required<'a>(value: &'a Option<String>, field: &'static str) -> Result<&'a str, FieldError> {
    value
        .as_deref()
        .ok_or_else(|| FieldError::new(field, "is required"))
}

/// The application: use cases over the ports.
#[derive(Clone)]
pub struct Lanyard {
    store: Arc<dyn RegistrationStore>,
    objects: Arc<dyn ObjectStore>,
    jobs: Arc<dyn BadgeJobs>,
    conferences: Conferences,
}

fn object_key(token: &BadgeToken, format: Format) -> String {
    format!("badges/{}.{}", token.as_str(), format.extension())
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
        }
    }

    pub fn conferences(&self) -> &Conferences {
        &self.conferences
    }

    /// Parses a sign-up, stores it with a pending badge and announces the badge job.
    pub async fn register(&self, input: NewRegistration) -> Result<Registration, LanyardError> {
        let conference = self
            .conferences
            .parse_id(required(&input.conference, "type")?)?;
        let user_id = UserId::parse(required(&input.user_id, UserId::FIELD)?)?;
        let user_name = UserName::parse(required(&input.user_name, UserName::FIELD)?)?;
        let phone_number = PhoneNumber::parse(required(&input.phone_number, PhoneNumber::FIELD)?)?;
        let company_name = CompanyName::parse(input.company_name.as_deref().unwrap_or(""))?;
        let registration = Registration {
            user_id,
            conference,
            user_name,
            phone_number,
            company_name,
            created_at: now_rfc3339(),
            badge: Some(BadgeInfo::pending()),
            ticket_code: Some(random_code()),
        };
        self.store.insert(&registration).await?;
        self.announce(&registration.key()).await;
        Ok(registration)
    }

    async fn announce(&self, key: &RegistrationKey) {
        if let Err(e) = self.jobs.announce(key).await {
            // The job is durable in the store; the worker's sweep will find it.
            tracing::warn!(error = %e, "badge job announcement failed; it will be picked up later");
        }
    }

    /// Parses a key from path segments; anything that cannot exist is simply not found.
    pub fn key(&self, user_id: &str, conference: &str) -> Result<RegistrationKey, LanyardError> {
        Ok(RegistrationKey {
            user_id: UserId::parse(user_id).map_err(|_| LanyardError::NotFound)?,
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
        match UserId::parse(user_id) {
            Ok(id) => Ok(self.store.list_by_user(&id).await?),
            Err(_) => Ok(Vec::new()),
        }
    }

    pub async fn list(
        &self,
        conference: Option<&str>,
        search: Option<&str>,
        limit: Option<usize>,
        cursor: Option<String>,
    ) -> Result<Page, LanyardError> {
        let conference = match conference.filter(|c| !c.is_empty()) {
            Some(c) => Some(self.conferences.parse_id(c)?),
            None => None,
        };
        let search = search
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
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(
                FieldError::new("limit", format!("must be between 1 and {MAX_PAGE}")).into(),
            );
        }
        let query = ListQuery {
            conference,
            search,
            limit,
            cursor: cursor.filter(|c| !c.is_empty()),
        };
        Ok(self.store.list(&query).await?)
    }

    /// Deletes a registration and its badge files.
    pub async fn delete(&self, key: &RegistrationKey) -> Result<(), LanyardError> {
        let removed = self
            .store
            .delete(key)
            .await?
            .ok_or(LanyardError::NotFound)?;
        if let Some(badge) = removed.badge {
            self.delete_files(&badge.token).await?;
        }
        Ok(())
    }

    async fn delete_files(&self, token: &BadgeToken) -> Result<(), LanyardError> {
        for format in [Format::Png, Format::Svg, Format::Pdf] {
            self.objects.delete(&object_key(token, format)).await?;
        }
        Ok(())
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
        });
        registration.ticket_code.get_or_insert_with(random_code);
        if !self.store.reset_badge(&registration).await? {
            return Err(LanyardError::NotFound);
        }
        self.announce(key).await;
        Ok(registration)
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

    /// A ready badge's file. The PDF is rendered on its first request and kept.
    pub async fn badge_file(&self, token: &str, format: Format) -> Result<Vec<u8>, LanyardError> {
        let registration = self.badge(token).await?;
        let badge = registration
            .badge
            .clone()
            .filter(|b| b.status == BadgeStatus::Ready)
            .ok_or(LanyardError::NotFound)?;
        let key = object_key(&badge.token, format);
        if let Some(bytes) = self.objects.get(&key).await? {
            return Ok(bytes);
        }
        if format != Format::Pdf {
            return Err(LanyardError::NotFound);
        }
        let this = self.clone();
        let pdf = tokio::task::spawn_blocking(move || this.render_one(&registration, Format::Pdf))
            .await
            .map_err(|e| LanyardError::Render(format!("the renderer stopped: {e}")))??;
        self.objects
            .put(&key, pdf.clone(), Format::Pdf.content_type())
            .await?;
        Ok(pdf)
    }

    fn badge_content<'a>(
        &self,
        registration: &'a Registration,
    ) -> Result<(&crate::conference::Conference, Payload, Option<&'a str>), LanyardError> {
        let conference = self
            .conferences
            .get(registration.conference.as_str())
            .ok_or_else(|| {
                LanyardError::Render(format!(
                    "conference {:?} is no longer configured",
                    registration.conference.as_str()
                ))
            })?;
        let company = registration.company_name.as_ref().map(|c| c.as_str());
        let payload = match conference.payload {
            PayloadKind::Vcard => Payload::vcard(
                registration.user_name.as_str(),
                registration.phone_number.as_str(),
                company,
            ),
            PayloadKind::Tel => Payload::tel(registration.phone_number.as_str()),
            PayloadKind::Ticket => {
                Payload::ticket(registration.ticket_code.as_deref().unwrap_or_default())
            }
        };
        Ok((conference, payload, company))
    }

    /// Renders a registration's badge with its conference's renderer.
    fn with_badge<T>(
        &self,
        registration: &Registration,
        render: impl FnOnce(
            &lanyard_badge::BadgeRenderer,
            &Badge<'_>,
        ) -> Result<T, lanyard_badge::BadgeError>,
    ) -> Result<T, LanyardError> {
        let (conference, payload, company) = self.badge_content(registration)?;
        let badge = Badge {
            name: registration.user_name.as_str(),
            company,
            payload: &payload,
        };
        render(&conference.renderer, &badge).map_err(|e| LanyardError::Render(e.to_string()))
    }

    /// One file of a registration's badge, rendered in memory.
    pub fn render_one(
        &self,
        registration: &Registration,
        format: Format,
    ) -> Result<Vec<u8>, LanyardError> {
        self.with_badge(registration, |renderer, badge| {
            renderer.render(badge, Preset::Id1, format, None)
        })
    }

    /// Renders the PNG and SVG of one registration's badge in memory.
    pub fn render_files(&self, registration: &Registration) -> Result<BadgeSet, LanyardError> {
        self.with_badge(registration, |renderer, badge| {
            renderer.render_set(badge, Preset::Id1)
        })
    }

    /// A badge worker's job: render the registration's pending badge (PNG and
    /// SVG), write its files durably and mark it ready. Running it twice gives
    /// the same files.
    pub async fn render_badge(&self, key: &RegistrationKey) -> Result<BadgeOutcome, LanyardError> {
        let Some(registration) = self.store.get(key).await? else {
            return Ok(BadgeOutcome::Gone);
        };
        let Some(badge) = registration.badge.clone() else {
            return Ok(BadgeOutcome::Gone);
        };
        if badge.status != BadgeStatus::Pending {
            return Ok(BadgeOutcome::AlreadyDone);
        }
        let this = self.clone();
        let files = tokio::task::spawn_blocking(move || this.render_files(&registration))
            .await
            .map_err(|e| LanyardError::Render(format!("the renderer stopped: {e}")))??;
        // A PDF from an earlier render may be stale; it is made again on request.
        self.objects
            .delete(&object_key(&badge.token, Format::Pdf))
            .await?;
        self.objects
            .put_all(vec![
                (
                    object_key(&badge.token, Format::Svg),
                    files.svg,
                    Format::Svg.content_type(),
                ),
                (
                    object_key(&badge.token, Format::Png),
                    files.png,
                    Format::Png.content_type(),
                ),
            ])
            .await?;
        let ready = BadgeInfo {
            status: BadgeStatus::Ready,
            token: badge.token,
            error: None,
        };
        if self.store.finish_badge(key, &ready).await? {
            Ok(BadgeOutcome::Rendered)
        } else {
            Ok(BadgeOutcome::Gone)
        }
    }

    /// Records that a badge could not be rendered, after its worker gave up.
    pub async fn fail_badge(&self, key: &RegistrationKey, error: &str) -> Result<(), LanyardError> {
        if let Some(Registration {
            badge: Some(badge), ..
        }) = self.store.get(key).await?
        {
            let failed = BadgeInfo {
                status: BadgeStatus::Failed,
                token: badge.token,
                error: Some(error.to_owned()),
            };
            self.store.finish_badge(key, &failed).await?;
        }
        Ok(())
    }
}
