//! Running badge jobs from AWS messages: one job from an SNS notification (the
//! badge Lambda), or a loop over an SQS queue subscribed to the topic
//! (`lanyard serve --backend aws`).

use std::time::{Duration, Instant};

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lanyard_domain::{BadgeOutcome, Lanyard, LanyardError};
use tokio::sync::watch;

use crate::metrics::{BadgeMetrics, MetricsSink};
use crate::sns::BadgeJob;

/// Deliveries of one job before its badge is marked failed.
pub const MAX_ATTEMPTS: u32 = 5;

/// What became of a job that needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobDone {
    Rendered,
    /// Nothing to do: no such registration, a newer badge, or already done.
    Skipped(&'static str),
    /// The badge is recorded as failed with this error.
    Failed(String),
}

/// Runs one badge job, delivered for the `attempt`-th time (from 1).
///
/// `Err` means "try again later" (the message is left for redelivery, or the
/// Lambda invocation fails so Lambda retries it); everything else is final.
/// A job may arrive more than once: a badge that is no longer pending is left
/// alone, and a render writes the same bytes again.
pub async fn run_job(
    lanyard: &Lanyard,
    job: &BadgeJob,
    attempt: u32,
    max_attempts: u32,
    metrics: &MetricsSink,
) -> Result<JobDone, LanyardError> {
    let Ok(key) = lanyard.key(&job.user_id, &job.conference) else {
        tracing::warn!(user_id = %job.user_id, r#type = %job.conference, "badge job for no valid registration; dropped");
        return Ok(JobDone::Skipped("no such registration"));
    };
    let started = Instant::now();
    let result = lanyard.render_badge(&key).await;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(BadgeOutcome::Rendered) => {
            tracing::info!(user_id = %key.user_id, r#type = %key.conference, ms, "badge rendered");
            metrics.emit(&BadgeMetrics {
                rendered: 1,
                render_ms: ms,
                ..Default::default()
            });
            Ok(JobDone::Rendered)
        }
        Ok(BadgeOutcome::Gone) => Ok(JobDone::Skipped("registration deleted or badge replaced")),
        Ok(BadgeOutcome::AlreadyDone) => Ok(JobDone::Skipped("badge already done")),
        Err(e) if e.is_retryable() && attempt < max_attempts => {
            tracing::warn!(user_id = %key.user_id, r#type = %key.conference, error = %e, attempt, "badge job failed; it will be retried");
            metrics.emit(&BadgeMetrics {
                retried: 1,
                render_ms: ms,
                ..Default::default()
            });
            Err(e)
        }
        Err(e) => {
            let error = e.to_string();
            tracing::error!(user_id = %key.user_id, r#type = %key.conference, error = %error, attempt, "badge failed");
            lanyard.fail_badge(&key, &error).await?;
            metrics.emit(&BadgeMetrics {
                failed: 1,
                render_ms: ms,
                ..Default::default()
            });
            Ok(JobDone::Failed(error))
        }
    }
}

/// Settings of the SQS badge worker.
#[derive(Debug, Clone)]
pub struct QueueWorkerSettings {
    pub queue_url: String,
    /// Jobs in flight at once.
    pub concurrency: usize,
    /// Long-poll wait of one receive, seconds (0–20).
    pub wait_seconds: i32,
    pub max_attempts: u32,
}

/// Consumes the badge queue until `stop` turns true, finishing the jobs in hand.
pub async fn run_queue_worker(
    lanyard: Lanyard,
    sqs: aws_sdk_sqs::Client,
    settings: QueueWorkerSettings,
    metrics: MetricsSink,
    mut stop: watch::Receiver<bool>,
) {
    let batch = settings.concurrency.clamp(1, 10) as i32;
    while !*stop.borrow() {
        let receive = sqs
            .receive_message()
            .queue_url(&settings.queue_url)
            .max_number_of_messages(batch)
            .wait_time_seconds(settings.wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send();
        let received = tokio::select! {
            r = receive => r,
            _ = stop.changed() => break,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %DisplayErrorContext(e), "could not receive badge jobs");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        };
        let mut in_hand = tokio::task::JoinSet::new();
        for message in messages {
            let (lanyard, sqs, settings, metrics) = (
                lanyard.clone(),
                sqs.clone(),
                settings.clone(),
                metrics.clone(),
            );
            in_hand.spawn(async move {
                handle_message(&lanyard, &sqs, &settings, &metrics, message).await
            });
        }
        while in_hand.join_next().await.is_some() {}
    }
}

async fn handle_message(
    lanyard: &Lanyard,
    sqs: &aws_sdk_sqs::Client,
    settings: &QueueWorkerSettings,
    metrics: &MetricsSink,
    message: aws_sdk_sqs::types::Message,
) {
    let attempt = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let done = match message.body().and_then(BadgeJob::from_sqs_body) {
        Some(job) => run_job(lanyard, &job, attempt, settings.max_attempts, metrics).await,
        None => {
            tracing::warn!(body = ?message.body(), "unreadable badge job; dropped");
            Ok(JobDone::Skipped("unreadable message"))
        }
    };
    // A job to retry stays on the queue and comes back after its visibility
    // timeout; anything final is removed.
    if done.is_ok() {
        if let Some(handle) = message.receipt_handle() {
            if let Err(e) = sqs
                .delete_message()
                .queue_url(&settings.queue_url)
                .receipt_handle(handle)
                .send()
                .await
            {
                tracing::warn!(error = %DisplayErrorContext(e), "could not delete a finished badge job; it will run again and change nothing");
            }
        }
    }
}
