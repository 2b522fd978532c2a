//! The sweeper: an acknowledged registration gets its badge even when the SNS
//! publish after it failed, or every delivery of the job was lost.
//!
//! A pending badge carries `badge_queued_at`, the time its job was last
//! announced. The sweeper finds pending badges older than
//! [`SweepPolicy::stale_after`] and announces them again; after the badge job
//! policy's `max_attempts` re-announcements (see [`Lanyard::job_policy`]) the
//! badge is marked failed, so a badge that can never be rendered does not
//! loop forever. Lost announcements are a cause that may pass, so such a
//! badge keeps a retry time; each sweep also queues again the failed badges
//! whose retry time has come ([`Lanyard::retry_failed_badges`]) and erases
//! the personal data of conferences past their retention
//! ([`Lanyard::erase_expired`]).

use std::time::Duration;

use lanyard_domain::registration::rfc3339;
use lanyard_domain::{BadgeJobPolicy, BadgeJobs, Lanyard, LanyardError};

use crate::dynamo::DynamoStore;
use crate::metrics::{BadgeMetrics, MetricsSink};
use crate::worker::BADGE_QUEUE_VISIBILITY;

#[derive(Debug, Clone, Copy)]
pub struct SweepPolicy {
    pub stale_after: Duration,
    /// Badges handled by one sweep at most.
    pub batch: usize,
}

impl SweepPolicy {
    /// A sweep that leaves alone the jobs still in their retries: a badge
    /// is stale once every retry `jobs` allows, and one more queue
    /// visibility timeout (a delivery lost with its consumer), has passed
    /// since its job was announced.
    pub fn for_jobs(jobs: &BadgeJobPolicy) -> Self {
        SweepPolicy {
            stale_after: jobs.retry_span() + BADGE_QUEUE_VISIBILITY,
            batch: 500,
        }
    }
}

impl Default for SweepPolicy {
    /// [`SweepPolicy::for_jobs`] of the default badge job policy: about 20
    /// minutes.
    fn default() -> Self {
        SweepPolicy::for_jobs(&BadgeJobPolicy::default())
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub reannounced: usize,
    pub failed: usize,
    /// Failed badges queued again at their retry time.
    pub retried: usize,
    /// Registrations erased after their conference's retention.
    pub erased: usize,
    /// Offered seats that ran out (their seats offered on).
    pub offers_expired: usize,
    /// Notices (e-mails, webhooks) delivered from the outbox.
    pub notices_delivered: usize,
    /// Notices that will be tried again.
    pub notices_retried: usize,
}

/// One sweep over the pending badges. Badges it marks failed are counted
/// in the `BadgeFailures` metric, as the workers' failures are.
pub async fn sweep(
    store: &DynamoStore,
    jobs: &dyn BadgeJobs,
    lanyard: &Lanyard,
    policy: SweepPolicy,
    metrics: &MetricsSink,
) -> Result<SweepReport, LanyardError> {
    let cutoff = rfc3339(time::OffsetDateTime::now_utc() - policy.stale_after);
    let max_announcements = lanyard.job_policy().max_attempts;
    let mut report = SweepReport::default();
    for (key, token) in store.stale_pending(&cutoff, policy.batch).await? {
        let Some(count) = store.note_reannounced(&key, &token).await? else {
            continue; // finished meanwhile
        };
        if count > max_announcements {
            let error = format!("no badge worker finished this badge after {count} announcements");
            tracing::error!(user_id = %key.user_id, conference = %key.conference, "{error}");
            lanyard.fail_badge(&key, &error, true).await?;
            report.failed += 1;
            metrics.emit(&BadgeMetrics {
                failed: 1,
                ..Default::default()
            });
            continue;
        }
        match jobs.announce(&key).await {
            Ok(()) => report.reannounced += 1,
            // Counted already; the next sweep tries again.
            Err(e) => {
                tracing::warn!(user_id = %key.user_id, error = %e, "re-announcing a badge job failed")
            }
        }
    }
    report.retried = lanyard.retry_failed_badges(policy.batch).await?;
    report.erased = lanyard.erase_expired(policy.batch).await?;
    report.offers_expired = lanyard.sweep_seats().await?;
    // Notices due, until the outbox has none due or the batch is used.
    while report.notices_delivered + report.notices_retried < policy.batch {
        let round = lanyard
            .deliver_due_notices(lanyard_domain::delivery::NOTICE_BATCH)
            .await?;
        report.notices_delivered += round.delivered + round.skipped;
        report.notices_retried += round.retried + round.failed;
        if round.claimed() == 0 {
            break;
        }
    }
    if report != SweepReport::default() {
        tracing::info!(
            reannounced = report.reannounced,
            failed = report.failed,
            retried = report.retried,
            erased = report.erased,
            offers_expired = report.offers_expired,
            notices_delivered = report.notices_delivered,
            notices_retried = report.notices_retried,
            "sweep of pending badges"
        );
    }
    Ok(report)
}
