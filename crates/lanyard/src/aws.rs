//! `lanyard serve --backend aws` (the `aws` feature): the same server on
//! DynamoDB, S3 and SNS, with a badge worker on an SQS queue and the sweeper.

use std::time::Duration;

use lanyard_aws::{
    run_queue_worker, AwsBackend, AwsClients, AwsResources, MetricsSink, QueueWorkerSettings,
    SweepPolicy,
};
use lanyard_domain::{Conferences, Lanyard};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ServeSettings;

/// `--backend aws`: the resources, and the badge queue this process consumes.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub resources: AwsResources,
    /// An SQS queue subscribed to the topic. Without one this process serves
    /// the API only, and badges are rendered elsewhere (the badge Lambda).
    pub badge_queue_url: Option<String>,
    /// Long-poll wait of the queue worker, seconds.
    pub queue_wait_seconds: i32,
    /// How often pending badges are swept for lost jobs.
    pub sweep_every: Duration,
}

impl AwsSettings {
    pub fn new(resources: AwsResources, badge_queue_url: Option<String>) -> Self {
        AwsSettings {
            resources,
            badge_queue_url,
            queue_wait_seconds: 20,
            sweep_every: Duration::from_secs(60),
        }
    }
}

/// The queue worker and the sweeper, running beside the HTTP server.
pub(crate) struct AwsTasks {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl AwsTasks {
    /// Lets the jobs in hand finish, then stops.
    pub(crate) async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

pub(crate) async fn start(
    aws: &AwsSettings,
    settings: &ServeSettings,
    conferences: Conferences,
    workers: usize,
) -> anyhow::Result<(Lanyard, AwsTasks)> {
    let clients = AwsClients::from_env().await?;
    // Fail at start, with the name, rather than on the first sign-up.
    lanyard_aws::check_resources(&clients, &aws.resources).await?;
    let mut backend = AwsBackend::new(&clients, &aws.resources, conferences);
    backend.lanyard = crate::app::with_notices(
        backend
            .lanyard
            .with_job_policy(settings.job_policy)
            .with_import_rate(settings.import_rate.or(Some(lanyard_aws::IMPORT_RATE))),
        settings,
    )?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    match &aws.badge_queue_url {
        Some(queue_url) => {
            // Each worker takes up to ten jobs at a time, as one batch.
            let worker = QueueWorkerSettings {
                queue_url: queue_url.clone(),
                batch: 10,
                wait_seconds: aws.queue_wait_seconds,
            };
            for _ in 0..workers.max(1) {
                tasks.push(tokio::spawn(run_queue_worker(
                    backend.lanyard.clone(),
                    clients.sqs.clone(),
                    worker.clone(),
                    MetricsSink::discard("serve"),
                    stopped.clone(),
                )));
            }
        }
        None => tracing::info!(
            "no --badge-queue-url: badges are rendered by another worker (the badge Lambda)"
        ),
    }
    let sweeper = backend.clone();
    let (policy, every) = (SweepPolicy::for_jobs(&settings.job_policy), aws.sweep_every);
    let metrics = MetricsSink::discard("serve");
    let mut sweep_stopped = stopped;
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = sweep_stopped.changed() => return,
            }
            if let Err(e) = sweeper.sweep(policy, &metrics).await {
                tracing::warn!(error = %e, "sweep of pending badges failed");
            }
        }
    }));
    Ok((backend.lanyard, AwsTasks { stop, tasks }))
}
