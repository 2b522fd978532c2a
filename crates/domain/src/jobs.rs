//! A badge job's life, the same on every backend: render the badge; when that
//! fails for a reason that may pass (storage) and attempts remain, try again
//! later; otherwise mark the badge failed. A badge failed for a reason that
//! may pass keeps a retry time, and [`Lanyard::retry_failed_badges`] (run
//! periodically by each backend's sweeper) queues it again then, so a disk
//! that stayed full for an hour does not leave badges failed for good. The
//! adapters (the SQLite queue, an SQS queue, SNS to Lambda) only carry jobs
//! to [`Lanyard::run_badge_job`] and do what its [`JobOutcome`] says.

use std::time::{Duration, Instant};

use lanyard_badge::Format;

use crate::ports::StoreError;
use crate::registration::{
    now_rfc3339, rfc3339, BadgeInfo, BadgeStatus, Registration, RegistrationKey,
};
use crate::service::{object_key, Lanyard, LanyardError};

/// How often a badge job is tried, and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadgeJobPolicy {
    /// Attempts (or, where deliveries are not counted, re-announcements by the
    /// sweeper) before a badge is marked failed.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long a badge failed for a reason that may pass stays failed
    /// before it is queued again, with all its attempts.
    pub retry_failed_after: Duration,
}

impl Default for BadgeJobPolicy {
    /// Ten attempts over about a quarter of an hour (2 s, 4 s … 5 min apart):
    /// long enough for an operator to free a full disk or for a storage
    /// service to recover before a badge is marked failed. A badge failed
    /// that way is queued again every half hour until it is made.
    fn default() -> Self {
        BadgeJobPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
            retry_failed_after: Duration::from_secs(30 * 60),
        }
    }
}

impl BadgeJobPolicy {
    /// Exponential backoff after `attempts_made` attempts: base, 2×base,
    /// 4×base… capped at `max_delay`.
    pub fn delay(&self, attempts_made: u32) -> Duration {
        self.base_delay
            .saturating_mul(1 << attempts_made.saturating_sub(1).min(16))
            .min(self.max_delay)
    }

    /// The longest a job keeps being retried before its last attempt: the
    /// sum of the delays between its attempts. A sweep that re-announces
    /// jobs must wait longer than this, or it doubles jobs still in retry.
    pub fn retry_span(&self) -> Duration {
        (1..self.max_attempts).map(|n| self.delay(n)).sum()
    }
}

/// What a badge job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadgeOutcome {
    /// Files written and the badge marked ready.
    Rendered,
    /// The registration was deleted or given a new badge meanwhile: nothing to do.
    Gone,
    /// The badge is already ready or failed: a repeated job does no work.
    AlreadyDone,
}

/// What became of one run of a badge job, and so what the carrier does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Files written and the badge marked ready.
    Rendered,
    /// Nothing to do: no such registration, a newer badge, or already done.
    Skipped(&'static str),
    /// Run the job again after `delay`: the render failed for a reason that
    /// may pass, or its failure could not be recorded.
    Retry { delay: Duration, error: String },
    /// The badge is recorded as failed with this error; the job is over.
    Failed(String),
}

impl Lanyard {
    /// Runs one badge job. `attempt` counts this delivery from 1; `None` where
    /// the carrier does not count deliveries (SNS to Lambda): then a retryable
    /// failure is always retried, and the sweeper is what gives up. A job may
    /// arrive more than once: a badge no longer pending is left alone, and a
    /// repeated render writes the same bytes.
    pub async fn run_badge_job(&self, key: &RegistrationKey, attempt: Option<u32>) -> JobOutcome {
        self.refresh_forms_quietly().await;
        self.run_badge_jobs(&[(key.clone(), attempt)])
            .await
            .pop()
            .expect("one outcome per job")
    }

    /// Runs several badge jobs as [`Lanyard::run_badge_job`] runs one, and
    /// makes their files and outcomes durable together: one directory sync
    /// and one commit for the lot instead of one each, which is most of a
    /// badge's cost once the render itself is fast. One outcome per job, in
    /// order.
    pub async fn run_badge_jobs(&self, jobs: &[(RegistrationKey, Option<u32>)]) -> Vec<JobOutcome> {
        self.refresh_forms_quietly().await;
        let started = Instant::now();
        let keys: Vec<RegistrationKey> = jobs.iter().map(|(key, _)| key.clone()).collect();
        let results = self.render_badges(&keys).await;
        let ms = started.elapsed().as_secs_f64() * 1e3 / jobs.len().max(1) as f64;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for ((key, attempt), result) in jobs.iter().zip(results) {
            outcomes.push(self.job_outcome(key, *attempt, result, ms).await);
        }
        outcomes
    }

    /// What a render's result means for its job: done, retry, or failed.
    async fn job_outcome(
        &self,
        key: &RegistrationKey,
        attempt: Option<u32>,
        result: Result<BadgeOutcome, LanyardError>,
        ms: f64,
    ) -> JobOutcome {
        let policy = self.job_policy();
        let (user_id, conference) = (&key.user_id, &key.conference);
        let error = match result {
            Ok(BadgeOutcome::Rendered) => {
                tracing::info!(%user_id, %conference, ms, "badge rendered");
                return JobOutcome::Rendered;
            }
            Ok(BadgeOutcome::Gone) => {
                return JobOutcome::Skipped("registration deleted or badge replaced")
            }
            Ok(BadgeOutcome::AlreadyDone) => return JobOutcome::Skipped("badge already done"),
            Err(e) => e,
        };
        let attempts_left = attempt.is_none_or(|n| n < policy.max_attempts);
        let delay = policy.delay(attempt.unwrap_or(1));
        let retryable = error.is_retryable();
        if retryable && attempts_left {
            tracing::warn!(%user_id, %conference, %error, ?attempt,
                retry_in_ms = delay.as_millis() as u64, "badge job failed; it will be retried");
            return JobOutcome::Retry {
                delay,
                error: error.to_string(),
            };
        }
        let error = error.to_string();
        tracing::error!(%user_id, %conference, %error, ?attempt, retry_later = retryable, "badge failed");
        match self.fail_badge(key, &error, retryable).await {
            Ok(()) => JobOutcome::Failed(error),
            Err(e) => {
                tracing::error!(%user_id, %conference, error = %e, "could not record a failed badge");
                JobOutcome::Retry {
                    delay,
                    error: e.to_string(),
                }
            }
        }
    }

    /// Badge workers' work: render each registration's pending badge as the
    /// PNG the page shows and prints, write them durably and mark them
    /// ready. The SVG and the PDF are rendered when first asked for (see
    /// [`Lanyard::badge_file`]). Running it twice gives the same files.
    async fn render_badges(
        &self,
        keys: &[RegistrationKey],
    ) -> Vec<Result<BadgeOutcome, LanyardError>> {
        let mut results: Vec<Option<Result<BadgeOutcome, LanyardError>>> =
            (0..keys.len()).map(|_| None).collect();
        // The registrations whose badge waits, by their place in `keys`.
        let mut waiting = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match self.store.get(key).await {
                Ok(Some(registration)) => match registration.badge.clone() {
                    Some(badge) if badge.status == BadgeStatus::Pending => {
                        waiting.push((i, registration, badge))
                    }
                    Some(_) => results[i] = Some(Ok(BadgeOutcome::AlreadyDone)),
                    None => results[i] = Some(Ok(BadgeOutcome::Gone)),
                },
                Ok(None) => results[i] = Some(Ok(BadgeOutcome::Gone)),
                Err(e) => results[i] = Some(Err(e.into())),
            }
        }
        let registrations: Vec<Registration> = waiting.iter().map(|(_, r, _)| r.clone()).collect();
        let this = self.clone();
        let rendered = crate::blocking::spawn_blocking(move || {
            registrations
                .iter()
                .map(|r| this.render_one(r, Format::Png))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| {
            (0..waiting.len())
                .map(|_| Err(LanyardError::Render(format!("the renderer stopped: {e}"))))
                .collect()
        });
        let mut files = Vec::new();
        let mut made = Vec::new();
        for ((i, _, badge), png) in waiting.into_iter().zip(rendered) {
            match png {
                Ok(png) => {
                    let key = object_key(&badge, Format::Png);
                    files.push((key, png, Format::Png.content_type()));
                    made.push((i, badge));
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        if !files.is_empty() {
            if let Err(e) = self.objects.put_all(files).await {
                for (i, _) in made {
                    results[i] = Some(Err(each(&e)));
                }
                return results.into_iter().map(Option::unwrap).collect();
            }
        }
        let finished: Vec<(RegistrationKey, BadgeInfo)> = made
            .iter()
            .map(|(i, badge)| {
                let ready = BadgeInfo {
                    status: BadgeStatus::Ready,
                    error: None,
                    retry_at: None,
                    ..badge.clone()
                };
                (keys[*i].clone(), ready)
            })
            .collect();
        match self.store.finish_badges(&finished).await {
            Ok(recorded) => {
                for ((i, badge), recorded) in made.into_iter().zip(recorded) {
                    results[i] = Some(if recorded {
                        // The revision before this one, if its files are
                        // still there (its reset could not delete them).
                        if let Some(revision) = badge.revision.checked_sub(1) {
                            let replaced = BadgeInfo {
                                revision,
                                ..badge.clone()
                            };
                            if let Err(e) = self.delete_files(&replaced).await {
                                tracing::warn!(error = %e, "could not delete the files of a replaced badge yet");
                            }
                        }
                        Ok(BadgeOutcome::Rendered)
                    } else {
                        // Deleted, changed or given a new badge while this
                        // render ran: what it wrote shows a version that is
                        // gone, and must not outlive it. Its files are its
                        // revision's own, so no newer render's are touched.
                        self.delete_files(&badge).await.map(|()| BadgeOutcome::Gone)
                    });
                }
            }
            Err(e) => {
                for (i, _) in made {
                    results[i] = Some(Err(each(&e)));
                }
            }
        }
        results.into_iter().map(Option::unwrap).collect()
    }

    /// Records that a badge could not be rendered, after its worker (or the
    /// sweeper) gave up. With `retry_later`, the cause may pass: the badge
    /// keeps a retry time, [`BadgeJobPolicy::retry_failed_after`] from now.
    pub async fn fail_badge(
        &self,
        key: &RegistrationKey,
        error: &str,
        retry_later: bool,
    ) -> Result<(), LanyardError> {
        if let Some(Registration {
            badge: Some(badge), ..
        }) = self.store.get(key).await?
        {
            let retry_at = retry_later.then(|| {
                rfc3339(time::OffsetDateTime::now_utc() + self.job_policy().retry_failed_after)
            });
            let failed = BadgeInfo {
                status: BadgeStatus::Failed,
                error: Some(error.to_owned()),
                retry_at,
                ..badge
            };
            self.store.finish_badge(key, &failed).await?;
        }
        Ok(())
    }

    /// Queues again the failed badges whose retry time has come, at most
    /// `limit`, and announces each; returns how many were queued. Each
    /// backend's sweeper calls it periodically. A badge deleted, re-rendered
    /// or queued by another sweep meanwhile is left alone.
    pub async fn retry_failed_badges(&self, limit: usize) -> Result<usize, LanyardError> {
        let due = self.store.failed_badges_due(&now_rfc3339(), limit).await?;
        let mut queued = 0;
        for (key, token) in due {
            if !self.store.requeue_failed_badge(&key, &token).await? {
                continue;
            }
            tracing::info!(user_id = %key.user_id, conference = %key.conference,
                "a badge that failed for a reason that may pass is queued again");
            self.announce(&key).await;
            queued += 1;
        }
        Ok(queued)
    }
}

/// A storage error that failed a whole batch, as each of its jobs' error.
fn each(e: &StoreError) -> LanyardError {
    LanyardError::Storage(match e {
        StoreError::Unavailable(inner) => StoreError::unavailable(inner.to_string()),
        other => StoreError::unavailable(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let policy = BadgeJobPolicy::default();
        let delays: Vec<u64> = (1..=10).map(|n| policy.delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        // Retries span minutes before the last attempt, not seconds.
        let waited: u64 = delays[..policy.max_attempts as usize - 1].iter().sum();
        assert!(waited >= 10 * 60, "{waited} s");
        assert_eq!(policy.delay(u32::MAX), policy.max_delay);
    }
}
