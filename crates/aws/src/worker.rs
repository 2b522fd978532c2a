//! Running badge jobs from AWS messages. SNS announces each job to an SQS
//! queue; the badge Lambda (an event source mapping with partial batch
//! failures) and `lanyard serve --backend aws` (a polling loop) both hand a
//! batch of the queue's messages to [`run_queue_messages`], so a job's
//! attempts are counted, and its retries spaced, the same way on both.

use std::time::{Duration, Instant};

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lanyard_domain::{JobOutcome, Lanyard};
use tokio::sync::watch;

use crate::metrics::{BadgeMetrics, MetricsSink};
use crate::sns::BadgeJob;

/// How long a received badge job stays invisible to other consumers: the
/// queue's `VisibilityTimeout` in `deploy/template.yaml`, six times the badge
/// function's timeout as Lambda advises for a queue it polls (a test holds
/// the two together).
pub const BADGE_QUEUE_VISIBILITY: Duration = Duration::from_secs(360);

/// Carries one badge job to [`Lanyard::run_badge_job`], delivered for the
/// `attempt`-th time (from 1; `None` where deliveries are not counted), and
/// reports what became of it as metrics.
pub async fn run_job(
    lanyard: &Lanyard,
    job: &BadgeJob,
    attempt: Option<u32>,
    metrics: &MetricsSink,
) -> JobOutcome {
    run_jobs(lanyard, &[(Some(job.clone()), attempt)], metrics)
        .await
        .pop()
        .expect("one outcome per job")
}

/// Runs badge jobs as one batch ([`Lanyard::run_badge_jobs`]: one render
/// task, outcomes recorded together) and reports each as metrics. A `None`
/// job is a message that named no badge; it is skipped. One outcome per
/// job, in order.
pub async fn run_jobs(
    lanyard: &Lanyard,
    jobs: &[(Option<BadgeJob>, Option<u32>)],
    metrics: &MetricsSink,
) -> Vec<JobOutcome> {
    let mut outcomes: Vec<Option<JobOutcome>> = Vec::with_capacity(jobs.len());
    let mut runnable = Vec::new();
    let mut places = Vec::new();
    for (i, (job, attempt)) in jobs.iter().enumerate() {
        match job {
            None => outcomes.push(Some(JobOutcome::Skipped("unreadable message"))),
            Some(job) => match lanyard.key(&job.user_id, &job.conference) {
                Ok(key) => {
                    outcomes.push(None);
                    runnable.push((key, *attempt));
                    places.push(i);
                }
                Err(_) => {
                    tracing::warn!(user_id = %job.user_id, conference = %job.conference, "badge job for no valid registration; dropped");
                    outcomes.push(Some(JobOutcome::Skipped("no such registration")));
                }
            },
        }
    }
    if !runnable.is_empty() {
        let started = Instant::now();
        let ran = lanyard.run_badge_jobs(&runnable).await;
        let render_ms = started.elapsed().as_secs_f64() * 1e3 / runnable.len() as f64;
        for (i, outcome) in places.into_iter().zip(ran) {
            let counts = match &outcome {
                JobOutcome::Rendered => Some(BadgeMetrics {
                    rendered: 1,
                    ..Default::default()
                }),
                JobOutcome::Retry { .. } => Some(BadgeMetrics {
                    retried: 1,
                    ..Default::default()
                }),
                JobOutcome::Failed(_) => Some(BadgeMetrics {
                    failed: 1,
                    ..Default::default()
                }),
                JobOutcome::Skipped(_) => None,
            };
            if let Some(counts) = counts {
                metrics.emit(&BadgeMetrics {
                    render_ms,
                    ..counts
                });
            }
            outcomes[i] = Some(outcome);
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every job has an outcome"))
        .collect()
}

/// One badge job as the queue delivered it.
#[derive(Debug, Clone)]
pub struct QueueMessage {
    pub message_id: String,
    pub receipt_handle: String,
    /// The body: the SNS notification envelope (or, with raw delivery, the
    /// SNS message).
    pub body: String,
    /// Which delivery this is, from 1 (SQS's `ApproximateReceiveCount`).
    pub attempt: u32,
}

/// Runs the badge jobs of a batch of queue messages; one outcome per
/// message, in order. The caller then spaces the retries
/// ([`delay_retries`]) and removes the rest from the queue.
pub async fn run_queue_messages(
    lanyard: &Lanyard,
    messages: &[QueueMessage],
    metrics: &MetricsSink,
) -> Vec<JobOutcome> {
    let jobs: Vec<(Option<BadgeJob>, Option<u32>)> = messages
        .iter()
        .map(|m| {
            let job = BadgeJob::from_sqs_body(&m.body);
            if job.is_none() && !crate::sns::is_notices_message(&m.body) {
                tracing::warn!(body = %m.body, "unreadable badge job; dropped");
            }
            (job, Some(m.attempt))
        })
        .collect();
    run_jobs(lanyard, &jobs, metrics).await
}

/// Rounds of notice delivery after one batch of badge jobs at most (32
/// notices each).
pub const NOTICE_ROUNDS: usize = 8;

/// Delivers the notices due (e-mails, webhooks) after a batch of badge
/// jobs: a sign-up's confirmation goes out with its badge's render, and a
/// [`crate::sns::NOTICES_MESSAGE`] brings a worker here when no badge is to
/// be made. Rounds go on while notices are due, `rounds` at most; what is
/// left waits for the next batch or the sweep.
pub async fn deliver_notices(lanyard: &Lanyard, rounds: usize) {
    for _ in 0..rounds {
        match lanyard
            .deliver_due_notices(lanyard_domain::delivery::NOTICE_BATCH)
            .await
        {
            Ok(round) if round.claimed() > 0 => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not deliver notices; the sweep will");
                return;
            }
        }
    }
}

/// Makes each message whose job is to be retried invisible for the delay
/// the badge job policy gave: it comes back then, counted as the next
/// attempt. Left alone, it would come back after the queue's visibility
/// timeout.
pub async fn delay_retries(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[QueueMessage],
    outcomes: &[JobOutcome],
) {
    for (message, outcome) in messages.iter().zip(outcomes) {
        if let JobOutcome::Retry { delay, .. } = outcome {
            // SQS takes up to 12 hours; the policy's delays are minutes.
            let seconds = delay.as_secs().clamp(1, 12 * 3600) as i32;
            if let Err(e) = sqs
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(&message.receipt_handle)
                .visibility_timeout(seconds)
                .send()
                .await
            {
                tracing::warn!(error = %DisplayErrorContext(e), "could not delay a badge job's retry; it comes back after the queue's visibility timeout");
            }
        }
    }
}

/// Settings of the SQS badge worker.
#[derive(Debug, Clone)]
pub struct QueueWorkerSettings {
    pub queue_url: String,
    /// Jobs received, and run as one batch, at once: 1–10.
    pub batch: usize,
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
    let batch = settings.batch.clamp(1, 10) as i32;
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
        let messages: Vec<QueueMessage> = match received {
            Ok(out) => out
                .messages
                .unwrap_or_default()
                .into_iter()
                .filter_map(queue_message)
                .collect(),
            Err(e) => {
                tracing::warn!(error = %DisplayErrorContext(e), "could not receive badge jobs");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let outcomes = run_queue_messages(&lanyard, &messages, &metrics).await;
        delay_retries(&sqs, &settings.queue_url, &messages, &outcomes).await;
        delete_finished(&sqs, &settings.queue_url, &messages, &outcomes).await;
        deliver_notices(&lanyard, NOTICE_ROUNDS).await;
    }
}

/// A received SQS message as a [`QueueMessage`]; `None` without the
/// handle needed to acknowledge it.
fn queue_message(message: aws_sdk_sqs::types::Message) -> Option<QueueMessage> {
    let attempt = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    Some(QueueMessage {
        message_id: message.message_id?,
        receipt_handle: message.receipt_handle?,
        body: message.body.unwrap_or_default(),
        attempt,
    })
}

/// Removes from the queue every message whose job is over; a job to retry
/// stays and comes back after the delay [`run_queue_messages`] set.
async fn delete_finished(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    messages: &[QueueMessage],
    outcomes: &[JobOutcome],
) {
    use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
    let entries: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| !matches!(outcome, JobOutcome::Retry { .. }))
        .enumerate()
        .map(|(i, (m, _))| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(&m.receipt_handle)
                .build()
                .expect("complete delete entry")
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    let result = sqs
        .delete_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    let failed = match result {
        Ok(out) => out.failed.len(),
        Err(e) => {
            tracing::warn!(error = %DisplayErrorContext(e), "could not delete finished badge jobs");
            return;
        }
    };
    if failed > 0 {
        tracing::warn!(
            failed,
            "some finished badge jobs were not deleted; they will run again and change nothing"
        );
    }
}
