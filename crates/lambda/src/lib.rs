//! lanyard on AWS Lambda: the API function (the same axum router as
//! `lanyard serve`, behind API Gateway) and the badge function (SNS badge
//! jobs, and the scheduled sweep that re-announces lost ones).
//!
//! The handlers are plain functions over AWS's event types, so tests pass
//! them recorded events and check what Lambda would get back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use lambda_http::RequestExt;
use lanyard_aws::{
    run_job, AwsBackend, AwsClients, AwsResources, BadgeJob, JobDone, MetricsSink, SweepPolicy,
};
use lanyard_badge::Fonts;
use lanyard_domain::Conferences;
use lanyard_http::{AdminToken, AppState, Limits};
use serde_json::Value;

/// What both functions read from their environment (set by the template).
#[derive(Debug, Clone)]
pub struct Settings {
    pub resources: AwsResources,
    /// A TOML conference file packaged with the function; the built-in two otherwise.
    pub config: Option<PathBuf>,
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .with_context(|| format!("{name} is not set"))
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Settings> {
        Ok(Settings {
            resources: AwsResources {
                table: env("LANYARD_TABLE")?,
                bucket: env("LANYARD_BUCKET")?,
                topic_arn: env("LANYARD_TOPIC_ARN")?,
            },
            config: std::env::var_os("LANYARD_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        })
    }
}

pub fn load_conferences(config: Option<&Path>) -> anyhow::Result<Conferences> {
    Conferences::load(config, &Fonts::bundled()).map_err(anyhow::Error::msg)
}

/// JSON log lines on standard output (CloudWatch Logs), each with the
/// Lambda request id of the invocation (the runtime's span) and, for the
/// API, API Gateway's request id (the `request` span).
pub fn init_logging() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info,usvg=error,resvg=error".into());
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
pub fn api_router(backend: &AwsBackend, admin_token: AdminToken) -> axum::Router {
    let limits = Limits {
        registrations_per_second: 0,
        ..Limits::default()
    };
    lanyard_http::router(
        AppState {
            lanyard: backend.lanyard.clone(),
            admin_token: Arc::new(admin_token),
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

/// The organizer token: from SSM Parameter Store when
/// `LANYARD_ADMIN_TOKEN_PARAMETER` names a parameter, else `LANYARD_ADMIN_TOKEN`.
pub async fn admin_token(clients: &AwsClients) -> anyhow::Result<AdminToken> {
    if let Ok(name) = env("LANYARD_ADMIN_TOKEN_PARAMETER") {
        return Ok(AdminToken::new(
            lanyard_aws::admin_token_from_ssm(&clients.ssm, &name).await?,
        ));
    }
    let token = env("LANYARD_ADMIN_TOKEN").context(
        "set LANYARD_ADMIN_TOKEN_PARAMETER to the SSM parameter holding the organizer token",
    )?;
    Ok(AdminToken::new(token.trim()))
}

/// What the badge function does with one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadgeInvocation {
    /// SNS badge jobs, with what became of each.
    Jobs(Vec<JobDone>),
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
                done.push(JobDone::Skipped("unreadable message"));
                continue;
            };
            // Lambda does not say which retry this is; a badge that keeps
            // failing is marked failed by the sweep instead.
            match run_job(&backend.lanyard, &job, 1, u32::MAX, metrics).await {
                Ok(d) => done.push(d),
                Err(e) => retry = Some(e),
            }
        }
        return match retry {
            Some(e) => Err(anyhow::anyhow!(e).context("a badge job will be retried")),
            None => Ok(BadgeInvocation::Jobs(done)),
        };
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let report = backend.sweep(sweep_policy).await?;
        return Ok(BadgeInvocation::Swept(report));
    }
    anyhow::bail!("not an SNS or scheduled event")
}
