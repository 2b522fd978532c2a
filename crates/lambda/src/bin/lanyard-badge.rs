//! The badge function: renders the badges whose jobs the queue delivers
//! and, on a schedule, sweeps for lost jobs.

use lambda_runtime::{service_fn, LambdaEvent};
use lanyard_aws::{AwsBackend, AwsClients, MetricsSink, SweepPolicy};
use lanyard_lambda::{handle_badge_event, init_logging, load_conferences, Settings};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env().await?;
    let conferences = load_conferences(settings.config.as_deref())?;
    let backend = lanyard_lambda::with_notices(
        AwsBackend::new(&clients, &settings.resources, conferences),
        &clients,
        &settings,
    )?;
    let sweep = SweepPolicy::for_jobs(&backend.lanyard.job_policy());
    let metrics = MetricsSink::stdout("badge");
    let (backend, sqs, metrics) = (&backend, &clients.sqs, &metrics);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let outcome = handle_badge_event(backend, sqs, metrics, sweep, event.payload).await?;
        tracing::info!(?outcome, "badge invocation done");
        Ok::<_, anyhow::Error>(outcome.response())
    }))
    .await
}
