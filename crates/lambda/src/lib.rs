//! lanyard on AWS Lambda: the API function (the same axum router as
//! `lanyard serve`, behind API Gateway) and the badge function (SNS badge
//! jobs, and the scheduled sweep that re-announces lost ones).
//!
//! The handlers are plain functions over AWS's event types, so tests pass
//! them recorded events and check what Lambda would get back.

use std::path::{Path, PathBuf};

use anyhow::Context;
use lambda_http::RequestExt;
use lanyard_aws::{
    run_job, AwsBackend, AwsClients, AwsResourceArgs, AwsResources, BadgeJob, MetricsSink,
    SweepPolicy,
};
use lanyard_domain::{Conferences, JobOutcome};
use lanyard_http::{AdminToken, AppState, Limits, OrganizerToken, DEFAULT_LOG_FILTER};
use serde_json::Value;

/// What the functions read from their environment (set by the template),
/// declared once with clap as `lanyard serve`'s flags are.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "lanyard-lambda", no_binary_name = true)]
struct Environment {
    #[command(flatten)]
    resources: AwsResourceArgs,
    /// A TOML conference file packaged with the function.
    #[arg(long, env = "LANYARD_CONFIG")]
    config: Option<PathBuf>,
    /// The SSM parameter holding the organizer token (the API function).
    #[arg(long, env = "LANYARD_ADMIN_TOKEN_PARAMETER")]
    admin_token_parameter: Option<String>,
    /// The organizer token itself, where no parameter is used (tests, emulators).
    #[arg(long, env = "LANYARD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// Every environment variable the functions read: the settings above, and
/// the log level (`AWS_LAMBDA_LOG_LEVEL` is Lambda's own, `RUST_LOG` ours).
pub fn environment_variables() -> Vec<String> {
    use clap::CommandFactory;
    let mut names: Vec<String> = Environment::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    names.extend(["AWS_LAMBDA_LOG_LEVEL".into(), "RUST_LOG".into()]);
    names
}

/// What both functions are configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub resources: AwsResources,
    /// A TOML conference file packaged with the function; the built-in two otherwise.
    pub config: Option<PathBuf>,
    pub admin_token: AdminTokenSource,
}

/// Where the organizer token comes from. `Debug` never shows a token
/// (`AdminToken` prints a placeholder).
#[derive(Clone, Debug)]
pub enum AdminTokenSource {
    /// An SSM Parameter Store parameter (a SecureString), by name.
    Parameter(String),
    Given(AdminToken),
    /// Neither is set: the badge function needs none.
    Missing,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        use clap::Parser;
        let env = Environment::try_parse_from(std::iter::empty::<String>())?;
        let nonempty = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Ok(Settings {
            resources: env.resources.resolve()?,
            config: env.config.filter(|p| !p.as_os_str().is_empty()),
            admin_token: match (
                nonempty(env.admin_token_parameter),
                nonempty(env.admin_token),
            ) {
                (Some(name), _) => AdminTokenSource::Parameter(name),
                (None, Some(token)) => AdminTokenSource::Given(AdminToken::new(token)),
                (None, None) => AdminTokenSource::Missing,
            },
        })
    }
}

pub fn load_conferences(config: Option<&Path>) -> anyhow::Result<Conferences> {
    Ok(Conferences::load(config)?)
}

/// JSON log lines on standard output (CloudWatch Logs), each with the
/// Lambda request id of the invocation (the runtime's span) and, for the
/// API, API Gateway's request id (the `request` span).
pub fn init_logging() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into());
    tracing::subscriber::set_global_default(json_logs(std::io::stdout, &filter))
        .expect("logging is set up once");
}

/// The JSON log subscriber, writing to `writer`, at levels from `filter`
/// (`RUST_LOG` syntax).
pub fn json_logs<W>(writer: W, filter: &str) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(writer)
        .finish()
}

/// The API router for Lambda. API Gateway's request id becomes the request
/// id of the logs and the `x-request-id` response header; rate limiting by
/// client address is left to API Gateway's throttling.
pub fn api_router(backend: &AwsBackend, admin_token: impl Into<OrganizerToken>) -> axum::Router {
    let limits = Limits {
        registrations_per_second: 0,
        ..Limits::default()
    };
    lanyard_http::router(
        AppState {
            lanyard: backend.lanyard.clone(),
            admin_token: admin_token.into(),
        },
        limits,
    )
    .layer(axum::middleware::map_request(gateway_request_id))
}

async fn gateway_request_id<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let id = match request.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    if let Some(value) = id.and_then(|id| axum::http::HeaderValue::from_str(&id).ok()) {
        request.headers_mut().insert("x-request-id", value);
    }
    request
}

/// The organizer token: read from SSM Parameter Store when a parameter is
/// named (on the first request that presents a token, not at start), else
/// the one given.
pub fn admin_token(clients: &AwsClients, settings: &Settings) -> anyhow::Result<OrganizerToken> {
    match &settings.admin_token {
        AdminTokenSource::Parameter(name) => {
            let (ssm, name) = (clients.ssm.clone(), name.clone());
            Ok(OrganizerToken::fetched(move || {
                let (ssm, name) = (ssm.clone(), name.clone());
                async move {
                    lanyard_aws::admin_token_from_ssm(&ssm, &name)
                        .await
                        .map(AdminToken::new)
                        .map_err(|e| format!("{e:#}"))
                }
            }))
        }
        AdminTokenSource::Given(token) => Ok(token.clone().into()),
        AdminTokenSource::Missing => anyhow::bail!(
            "set LANYARD_ADMIN_TOKEN_PARAMETER to the SSM parameter holding the organizer token"
        ),
    }
}

/// What the badge function does with one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadgeInvocation {
    /// SNS badge jobs, with what became of each.
    Jobs(Vec<JobOutcome>),
    /// A scheduled sweep.
    Swept(lanyard_aws::SweepReport),
}

/// The badge function's handler. SNS records are badge jobs; an EventBridge
/// scheduled event runs the sweep. An `Err` makes Lambda retry the whole
/// invocation (and after its retries, send it to the dead-letter queue);
/// jobs already done are skipped on the retry.
pub async fn handle_badge_event(
    backend: &AwsBackend,
    metrics: &MetricsSink,
    sweep_policy: SweepPolicy,
    event: Value,
) -> anyhow::Result<BadgeInvocation> {
    if event.get("Records").is_some() {
        let sns: aws_lambda_events::event::sns::SnsEvent =
            serde_json::from_value(event).context("reading the SNS event")?;
        let mut done = Vec::new();
        let mut retry = None;
        for record in &sns.records {
            let message = &record.sns.message;
            let Some(job) = BadgeJob::from_sns(message, record.sns.subject.as_deref()) else {
                tracing::warn!(message = %message, "unreadable badge job; dropped");
                done.push(JobOutcome::Skipped("unreadable message"));
                continue;
            };
            // Lambda does not say which retry this is; a badge that keeps
            // failing is marked failed by the sweep instead.
            match run_job(&backend.lanyard, &job, None, metrics).await {
                JobOutcome::Retry { error, .. } => retry = Some(error),
                outcome => done.push(outcome),
            }
        }
        return match retry {
            Some(error) => Err(anyhow::anyhow!(error).context("a badge job will be retried")),
            None => Ok(BadgeInvocation::Jobs(done)),
        };
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let report = backend.sweep(sweep_policy).await?;
        return Ok(BadgeInvocation::Swept(report));
    }
    anyhow::bail!("not an SNS or scheduled event")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks of the settings.
    #[test]
    fn the_settings_are_consistent() {
        super::Environment::command().debug_assert();
    }
}
