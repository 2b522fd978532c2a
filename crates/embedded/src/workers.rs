//! Badge workers: claim jobs from the SQLite queue and run each with
//! [`Lanyard::run_badge_job`], which decides what happens to it; the queue
//! records that (done, or due again after a delay). Beside them a sweep
//! queues again the badges that failed for a reason that may pass, once
//! their retry time has come ([`Lanyard::retry_failed_badges`]), and erases
//! what conferences past their retention keep ([`Lanyard::erase_expired`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanyard_domain::delivery::NOTICE_BATCH;
use lanyard_domain::{BadgeJobs, JobOutcome, Lanyard, RegistrationKey, StoreError};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::sqlite::{ClaimedJob, SqliteStore};

/// How long an idle worker sleeps before looking at the queue again even
/// without a wake-up (retries that came due, jobs left by a crash).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Jobs a worker claims, renders and makes durable at once: their files
/// share a directory sync and their outcomes a commit. Small enough that
/// the first badge of a batch waits for the others only milliseconds.
const CLAIM_BATCH: usize = 64;

/// How often the sweep looks for failed badges due again, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Failed badges queued again by one sweep at most.
const SWEEP_BATCH: usize = 500;

/// Wakes a badge worker (or the notice worker) in this process. The job
/// itself is already in SQLite.
#[derive(Debug, Default)]
pub struct LocalBadgeJobs {
    wake: Notify,
    notices: Notify,
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

    async fn announce_notices(&self) -> Result<(), StoreError> {
        self.notices.notify_one();
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
    ) -> BadgeWorkers {
        let (stop, stopped) = watch::channel(false);
        // `count` 0 runs no workers (nor the sweep): jobs wait in the queue
        // for a later start.
        let sweep = (count > 0).then(|| tokio::spawn(sweep(lanyard.clone(), stopped.clone())));
        let notices = (count > 0).then(|| {
            tokio::spawn(deliver_notices(
                lanyard.clone(),
                store.clone(),
                jobs.clone(),
                stopped.clone(),
            ))
        });
        let handles = (0..count)
            .map(|n| {
                let worker = Worker {
                    lanyard: lanyard.clone(),
                    store: store.clone(),
                    jobs: jobs.clone(),
                    stopped: stopped.clone(),
                };
                tokio::spawn(async move {
                    tracing::debug!(worker = n, "badge worker started");
                    worker.run().await;
                })
            })
            .chain(sweep)
            .chain(notices)
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

/// At start and then every [`SWEEP_EVERY`] (sooner when the policy's retry
/// wait is shorter): queues again the failed badges whose retry time has
/// come, erases the personal data of conferences past their retention,
/// lets offered seats past their time expire and offers free seats to
/// those waiting.
async fn sweep(lanyard: Lanyard, mut stopped: watch::Receiver<bool>) {
    let every = lanyard
        .job_policy()
        .retry_failed_after
        .clamp(Duration::from_millis(100), SWEEP_EVERY);
    while !*stopped.borrow() {
        if let Err(e) = lanyard.retry_failed_badges(SWEEP_BATCH).await {
            tracing::warn!(error = %e, "could not queue failed badges again");
        }
        // The store empties its log after each erasure by itself.
        if let Err(e) = lanyard.erase_expired(SWEEP_BATCH).await {
            tracing::warn!(error = %e, "could not erase personal data past its retention")
        }
        if let Err(e) = lanyard.sweep_seats().await {
            tracing::warn!(error = %e, "could not expire offers and offer free seats")
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => break,
        }
    }
}

/// The notice worker: delivers what the outbox holds as it comes due
/// ([`Lanyard::deliver_due_notices`]), woken when notices are written.
async fn deliver_notices(
    lanyard: Lanyard,
    store: SqliteStore,
    jobs: Arc<LocalBadgeJobs>,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        match lanyard.deliver_due_notices(NOTICE_BATCH).await {
            Ok(round) if round.claimed() > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not deliver notices"),
        }
        let due = store.next_notice_due_in().await.ok().flatten();
        let wait = due
            .map(Duration::from_millis)
            .unwrap_or(IDLE_POLL)
            .min(IDLE_POLL);
        tokio::select! {
            _ = jobs.notices.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
        }
    }
}

struct Worker {
    lanyard: Lanyard,
    store: SqliteStore,
    jobs: Arc<LocalBadgeJobs>,
    stopped: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self) {
        while !*self.stopped.borrow() {
            match self.store.claim_jobs(CLAIM_BATCH).await {
                Ok(jobs) if !jobs.is_empty() => self.process(jobs).await,
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

    async fn process(&self, claimed: Vec<ClaimedJob>) {
        let jobs: Vec<(RegistrationKey, Option<u32>)> = claimed
            .iter()
            .map(|job| (job.key.clone(), Some(job.attempts + 1)))
            .collect();
        let outcomes = self.lanyard.run_badge_jobs(&jobs).await;
        for ((key, attempt), outcome) in jobs.iter().zip(outcomes) {
            let recorded = match outcome {
                // A rendered badge's job ended with it, in `finish_badges`.
                JobOutcome::Rendered => Ok(()),
                JobOutcome::Skipped(_) | JobOutcome::Failed(_) => {
                    self.store.complete_job(key).await
                }
                JobOutcome::Retry { delay, error } => {
                    let attempt = attempt.unwrap_or(1);
                    self.store
                        .retry_job(key, attempt, delay.as_millis() as u64, &error)
                        .await
                }
            };
            if let Err(e) = recorded {
                // The job stays claimed until its claim lapses rather than
                // being run twice at once.
                tracing::error!(user_id = %key.user_id, conference = %key.conference, error = %e,
                    "could not record a badge job's outcome");
            }
        }
    }
}
