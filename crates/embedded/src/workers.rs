//! Badge workers: claim jobs from the SQLite queue, render, write the files,
//! mark the badge ready. Retries with backoff; a badge that keeps failing is
//! marked `failed` with its error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lanyard_domain::{BadgeJobs, BadgeOutcome, Lanyard, RegistrationKey, StoreError};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::sqlite::{ClaimedJob, SqliteStore};

/// How long an idle worker sleeps before looking at the queue again even
/// without a wake-up (retries that came due, jobs left by a crash).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Jobs a worker claims at once.
const CLAIM_BATCH: usize = 4;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a badge is marked failed.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff: base, 2×base, 4×base… capped at `max_delay`.
    pub fn delay(&self, attempts_made: u32) -> Duration {
        self.base_delay
            .saturating_mul(1 << attempts_made.min(16))
            .min(self.max_delay)
    }
}

/// Wakes a badge worker in this process. The job itself is already in SQLite.
#[derive(Debug, Default)]
pub struct LocalBadgeJobs {
    wake: Notify,
}

impl LocalBadgeJobs {
    pub fn new() -> Arc<Self> {
        Arc::new(LocalBadgeJobs::default())
    }
}

#[async_trait]
impl BadgeJobs for LocalBadgeJobs {
    async fn announce(&self, _key: &RegistrationKey) -> Result<(), StoreError> {
        self.wake.notify_one();
        Ok(())
    }
}

/// The running workers.
pub struct BadgeWorkers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl BadgeWorkers {
    pub fn start(
        lanyard: Lanyard,
        store: SqliteStore,
        jobs: Arc<LocalBadgeJobs>,
        count: usize,
        policy: RetryPolicy,
    ) -> BadgeWorkers {
        let (stop, stopped) = watch::channel(false);
        // `count` 0 runs no workers: jobs wait in the queue for a later start.
        let handles = (0..count)
            .map(|n| {
                let worker = Worker {
                    lanyard: lanyard.clone(),
                    store: store.clone(),
                    jobs: jobs.clone(),
                    policy,
                    stopped: stopped.clone(),
                };
                tokio::spawn(async move {
                    tracing::debug!(worker = n, "badge worker started");
                    worker.run().await;
                })
            })
            .collect();
        BadgeWorkers { stop, handles }
    }

    /// Lets every worker finish the job in hand, then stops them. Jobs not
    /// started stay queued for the next start.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

struct Worker {
    lanyard: Lanyard,
    store: SqliteStore,
    jobs: Arc<LocalBadgeJobs>,
    policy: RetryPolicy,
    stopped: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self) {
        while !*self.stopped.borrow() {
            match self.store.claim_jobs(CLAIM_BATCH).await {
                Ok(jobs) if !jobs.is_empty() => {
                    for job in jobs {
                        // Jobs claimed but not started when stopping are freed at the next start.
                        if *self.stopped.borrow() {
                            break;
                        }
                        self.process(job).await;
                    }
                }
                Ok(_) => {
                    let due = self.store.next_job_due_in().await.ok().flatten();
                    let wait = due
                        .map(Duration::from_millis)
                        .unwrap_or(IDLE_POLL)
                        .min(IDLE_POLL);
                    tokio::select! {
                        _ = self.jobs.wake.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.stopped.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim a badge job");
                    tokio::select! {
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                        _ = self.stopped.changed() => {}
                    }
                }
            }
        }
    }

    async fn process(&self, job: ClaimedJob) {
        let started = Instant::now();
        let key = &job.key;
        let result = self.lanyard.render_badge(key).await;
        let finished = match result {
            Ok(outcome) => {
                tracing::info!(
                    user_id = %key.user_id, conference = %key.conference, ?outcome,
                    ms = started.elapsed().as_secs_f64() * 1e3, "badge rendered"
                );
                // A rendered badge's job ended with it in `finish_badge`.
                if outcome == BadgeOutcome::Rendered {
                    Ok(())
                } else {
                    self.store.complete_job(key).await
                }
            }
            Err(e) if e.is_retryable() && job.attempts + 1 < self.policy.max_attempts => {
                let delay = self.policy.delay(job.attempts);
                tracing::warn!(user_id = %key.user_id, conference = %key.conference, error = %e,
                    attempt = job.attempts + 1, retry_in_ms = delay.as_millis() as u64, "badge render failed; will retry");
                self.store
                    .retry_job(
                        key,
                        job.attempts + 1,
                        delay.as_millis() as u64,
                        &e.to_string(),
                    )
                    .await
            }
            Err(e) => {
                tracing::error!(user_id = %key.user_id, conference = %key.conference, error = %e, "badge failed");
                match self.lanyard.fail_badge(key, &e.to_string()).await {
                    Ok(()) => self.store.complete_job(key).await,
                    Err(e) => Err(StoreError::unavailable(e.to_string())),
                }
            }
        };
        if let Err(e) = finished {
            // The job stays claimed until restart rather than being run twice at once.
            tracing::error!(user_id = %key.user_id, error = %e, "could not record a badge job's outcome");
        }
    }
}
