//! Running badge jobs from AWS messages: one job from an SNS notification (the
//! badge Lambda), or a loop over an SQS queue subscribed to the topic
//! (`lanyard serve --backend aws`).

use std::time::{Duration, Instant};

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lanyard_domain::{JobOutcome, Lanyard};
use tokio::sync::watch;

use crate::metrics::{BadgeMetrics, MetricsSink};
use crate::sns::BadgeJob;

/// Carries one badge job to [`Lanyard::run_badge_job`], delivered for the
/// `attempt`-th time (from 1; `None` where deliveries are not counted), and
/// reports what became of it as metrics.
pub async fn run_job(
    lanyard: &Lanyard,
    job: &BadgeJob,
    attempt: Option<u32>,
    metrics: &MetricsSink,
) -> JobOutcome {
    let Ok(key) = lanyard.key(&job.user_id, &job.conference) else {
        tracing::warn!(user_id = %job.user_id, conference = %job.conference, "badge job for no valid registration; dropped");
        return JobOutcome::Skipped("no such registration");
    };
    let started = Instant::now();
    let outcome = lanyard.run_badge_job(&key, attempt).await;
    let render_ms = started.elapsed().as_secs_f64() * 1e3;
    let counts = match &outcome {
        JobOutcome::Rendered => BadgeMetrics {
            rendered: 1,
            ..Default::default()
        },
        JobOutcome::Retry { .. } => BadgeMetrics {
            retried: 1,
            ..Default::default()
        },
        JobOutcome::Failed(_) => BadgeMetrics {
            failed: 1,
            ..Default::default()
        },
        JobOutcome::Skipped(_) => return outcome,
    };
    metrics.emit(&BadgeMetrics {
        render_ms,
        ..counts
    });
    outcome
}

/// Settings of the SQS badge worker.
#[derive(Debug, Clone)]
pub struct QueueWorkerSettings {
    pub queue_url: String,
    /// Jobs in flight at once.
    pub concurrency: usize,
    /// Long-poll wait of one receive, seconds (0–20).
    pub wait_seconds: i32,
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
    let outcome = match message.body().and_then(BadgeJob::from_sqs_body) {
        Some(job) => run_job(lanyard, &job, Some(attempt), metrics).await,
        None => {
            tracing::warn!(body = ?message.body(), "unreadable badge job; dropped");
            JobOutcome::Skipped("unreadable message")
        }
    };
    // A job to retry stays on the queue and comes back after its visibility
    // timeout; anything final is removed.
    if !matches!(outcome, JobOutcome::Retry { .. }) {
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
