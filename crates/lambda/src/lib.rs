//! lanyard on AWS Lambda: the API function (the same axum router as
//! `lanyard serve`, behind API Gateway) and the badge function (badge jobs
//! from the SQS queue subscribed to the topic, and the scheduled sweep that
//! re-announces lost ones).
//!
//! The handlers are plain functions over AWS's event types, so tests pass
//! them recorded events and check what Lambda would get back.

use std::path::{Path, PathBuf};

use anyhow::Context;
use lambda_http::RequestExt;
use lanyard_aws::{
    delay_retries, run_queue_messages, AwsBackend, AwsClients, AwsResourceArgs, AwsResources,
    MetricsSink, QueueMessage, SweepPolicy,
};
use lanyard_domain::{Conferences, JobOutcome};
use lanyard_http::{
    AdminToken, AppState, Limits, OrganizerToken, OriginSecret, DEFAULT_LOG_FILTER,
};
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
    /// The secret CloudFront adds to the requests it forwards (the API
    /// function): requests without it are refused.
    #[arg(long, env = "LANYARD_ORIGIN_SECRET", hide_env_values = true)]
    origin_secret: Option<String>,
    /// The sender of attendees' e-mails (an address or domain verified in
    /// SES); no e-mail without it.
    #[arg(long, env = "LANYARD_MAIL_FROM")]
    mail_from: Option<String>,
    /// The address attendees open; badge links in e-mails are made from it.
    #[arg(long, env = "LANYARD_PUBLIC_URL")]
    public_url: Option<String>,
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
    /// Where set, the API answers only requests that carry it.
    pub origin_secret: Option<OriginSecret>,
    /// The sender of e-mails and the public address, when e-mail is on.
    pub mail: Option<(String, String)>,
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
            origin_secret: nonempty(env.origin_secret).map(OriginSecret::new),
            mail: match (nonempty(env.mail_from), nonempty(env.public_url)) {
                (Some(from), Some(url)) => Some((from, url)),
                (Some(_), None) => anyhow::bail!("LANYARD_MAIL_FROM needs LANYARD_PUBLIC_URL"),
                (None, _) => None,
            },
        })
    }
}

/// The backend with its notices set up: webhooks always (sent where the
/// configuration has `[[webhook]]`), e-mail through SES when a sender is set.
pub fn with_notices(
    mut backend: AwsBackend,
    clients: &AwsClients,
    settings: &Settings,
) -> anyhow::Result<AwsBackend> {
    let mut lanyard = backend.lanyard.with_webhook_sender(std::sync::Arc::new(
        lanyard_notify::HttpWebhooks::new().map_err(|e| anyhow::anyhow!(e))?,
    ));
    if let Some((from, public_url)) = &settings.mail {
        let mailer = lanyard_aws::SesMailer::new(clients.ses.clone());
        lanyard = lanyard.with_mail(
            lanyard_domain::MailSettings::new(std::sync::Arc::new(mailer), from, public_url)
                .map_err(|e| anyhow::anyhow!(e))?,
        );
    }
    backend.lanyard = lanyard;
    Ok(backend)
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
/// client address is left to API Gateway's throttling and the web ACL.
/// With an origin secret, requests that did not come through CloudFront
/// are refused.
pub fn api_router(
    backend: &AwsBackend,
    admin_token: impl Into<OrganizerToken>,
    origin_secret: Option<OriginSecret>,
) -> axum::Router {
    let limits = Limits {
        registrations_per_second: 0,
        ..Limits::default()
    };
    let router = lanyard_http::router(
        AppState {
            lanyard: backend.lanyard.clone(),
            admin_token: admin_token.into(),
        },
        limits,
    );
    let router = match origin_secret {
        Some(secret) => lanyard_http::require_origin_secret(router, secret),
        None => router,
    };
    router.layer(axum::middleware::map_request(gateway_request_id))
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
    /// Badge jobs from the queue, with what became of each, in order, and
    /// the messages to deliver again (jobs to retry).
    Jobs {
        outcomes: Vec<JobOutcome>,
        retry: Vec<String>,
    },
    /// A scheduled sweep.
    Swept(lanyard_aws::SweepReport),
}

impl BadgeInvocation {
    /// What the function returns to Lambda: for a queue batch, the messages
    /// that failed (`ReportBatchItemFailures`), which Lambda leaves on the
    /// queue while it deletes the rest.
    pub fn response(&self) -> Value {
        match self {
            BadgeInvocation::Jobs { retry, .. } => serde_json::json!({
                "batchItemFailures": retry
                    .iter()
                    .map(|id| serde_json::json!({"itemIdentifier": id}))
                    .collect::<Vec<_>>()
            }),
            BadgeInvocation::Swept(_) => serde_json::json!({}),
        }
    }
}

/// The badge function's handler. SQS records are badge jobs (SNS
/// notifications the queue subscribed to the topic received); an
/// EventBridge scheduled event runs the sweep. A job to retry is reported
/// as a failed batch item: SQS delivers it again after the delay the badge
/// job policy gives, counting the attempt, and the policy's last attempt
/// records the failure. Jobs already done are skipped when delivered again.
pub async fn handle_badge_event(
    backend: &AwsBackend,
    sqs: &aws_sdk_sqs::Client,
    metrics: &MetricsSink,
    sweep_policy: SweepPolicy,
    event: Value,
) -> anyhow::Result<BadgeInvocation> {
    if event.get("Records").is_some() {
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(event).context("reading the SQS event")?;
        let Some(queue_arn) = event
            .records
            .first()
            .and_then(|r| r.event_source_arn.clone())
        else {
            return Ok(BadgeInvocation::Jobs {
                outcomes: Vec::new(),
                retry: Vec::new(),
            });
        };
        let messages: Vec<QueueMessage> = event
            .records
            .into_iter()
            .map(|r| QueueMessage {
                attempt: r
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
                message_id: r.message_id.unwrap_or_default(),
                receipt_handle: r.receipt_handle.unwrap_or_default(),
                body: r.body.unwrap_or_default(),
            })
            .collect();
        let outcomes = run_queue_messages(&backend.lanyard, &messages, metrics).await;
        lanyard_aws::worker::deliver_notices(&backend.lanyard, lanyard_aws::worker::NOTICE_ROUNDS)
            .await;
        if outcomes
            .iter()
            .any(|o| matches!(o, JobOutcome::Retry { .. }))
        {
            match queue_url(&queue_arn) {
                Ok(url) => delay_retries(sqs, &url, &messages, &outcomes).await,
                // The retries come back after the queue's visibility timeout.
                Err(e) => tracing::warn!(error = %e, "could not delay the retries"),
            }
        }
        let retry = messages
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, JobOutcome::Retry { .. }))
            .map(|(m, _)| m.message_id.clone())
            .collect();
        return Ok(BadgeInvocation::Jobs { outcomes, retry });
    }
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let report = backend.sweep(sweep_policy, metrics).await?;
        return Ok(BadgeInvocation::Swept(report));
    }
    anyhow::bail!("not an SQS or scheduled event")
}

/// The URL of the queue an event came from, from its ARN
/// (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`), without a request: SQS
/// takes the URL as the queue's name, and the client sends the request to
/// its own endpoint.
fn queue_url(arn: &str) -> anyhow::Result<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, partition, "sqs", region, account, name] = parts[..] else {
        anyhow::bail!("not a queue ARN: {arn}");
    };
    let domain = match partition {
        "aws-cn" => "amazonaws.com.cn",
        _ => "amazonaws.com",
    };
    Ok(format!("https://sqs.{region}.{domain}/{account}/{name}"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks of the settings.
    #[test]
    fn a_queue_url_is_made_from_its_arn() {
        assert_eq!(
            super::queue_url("arn:aws:sqs:eu-west-1:123456789012:lanyard-BadgeQueue-X1").unwrap(),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/lanyard-BadgeQueue-X1"
        );
        assert!(super::queue_url("arn:aws:sns:eu-west-1:123456789012:topic").is_err());
        assert!(super::queue_url("queue").is_err());
    }

    #[test]
    fn the_settings_are_consistent() {
        super::Environment::command().debug_assert();
    }
}
