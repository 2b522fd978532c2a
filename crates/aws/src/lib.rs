//! The AWS adapters: registrations in DynamoDB, badge files in S3, badge jobs
//! on SNS (consumed from Lambda or from an SQS queue), a sweeper that
//! re-announces lost jobs, and CloudWatch metrics.
//!
//! Endpoints, region and credentials come from the standard AWS configuration
//! chain, so `AWS_ENDPOINT_URL` points everything at an emulator.

pub mod dynamo;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod metrics;
pub mod s3;
pub mod ses;
pub mod setup;
pub mod sns;
pub mod sweeper;
pub mod worker;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use lanyard_domain::{Conferences, Lanyard};

pub use dynamo::DynamoStore;
pub use metrics::{BadgeMetrics, MetricsSink};
pub use s3::S3ObjectStore;
pub use ses::SesMailer;
pub use sns::{BadgeJob, SnsBadgeJobs};
pub use sweeper::{sweep, SweepPolicy, SweepReport};
pub use worker::{
    delay_retries, run_job, run_jobs, run_queue_messages, run_queue_worker, QueueMessage,
    QueueWorkerSettings, BADGE_QUEUE_VISIBILITY,
};

/// The service clients, built once at start and shared.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub ses: aws_sdk_sesv2::Client,
}

impl AwsClients {
    /// Clients from the standard AWS configuration (environment, profiles, roles).
    pub async fn from_env() -> anyhow::Result<AwsClients> {
        let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        if config.region().is_none() {
            anyhow::bail!(
                "no AWS region is configured: set AWS_REGION (or a region in the AWS profile)"
            );
        }
        Ok(AwsClients::from_config(&config))
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> AwsClients {
        // Emulators serve buckets by path, not by host name.
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sns: aws_sdk_sns::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            ses: aws_sdk_sesv2::Client::new(config),
        }
    }
}

/// Names of the resources lanyard uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    pub table: String,
    pub bucket: String,
    pub topic_arn: String,
}

/// The resource names as flags or environment variables: the one place the
/// variables are named, for `lanyard serve --backend aws` and the Lambda
/// functions alike.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsResourceArgs {
    /// The DynamoDB table of registrations.
    #[arg(long, env = "LANYARD_TABLE")]
    pub table: Option<String>,
    /// The S3 bucket of badge files.
    #[arg(long, env = "LANYARD_BUCKET")]
    pub bucket: Option<String>,
    /// The SNS topic of badge jobs.
    #[arg(long, env = "LANYARD_TOPIC_ARN")]
    pub topic_arn: Option<String>,
}

impl AwsResourceArgs {
    /// The names, or an error naming the first one missing (flag and variable).
    pub fn resolve(self) -> anyhow::Result<AwsResources> {
        fn need(value: Option<String>, flag: &str, variable: &str) -> anyhow::Result<String> {
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| anyhow::anyhow!("the AWS backend needs {flag} ({variable})"))
        }
        Ok(AwsResources {
            table: need(self.table, "--table", "LANYARD_TABLE")?,
            bucket: need(self.bucket, "--bucket", "LANYARD_BUCKET")?,
            topic_arn: need(self.topic_arn, "--topic-arn", "LANYARD_TOPIC_ARN")?,
        })
    }
}

/// Rows a second an import stores on DynamoDB. Every row of one
/// conference writes the same partition of the `conference-list` index,
/// which takes about 1 000 writes a second; a quarter of that leaves the
/// rest to sign-ups and desks meanwhile.
pub const IMPORT_RATE: u32 = 250;

/// The application over the AWS adapters.
#[derive(Clone)]
pub struct AwsBackend {
    pub lanyard: Lanyard,
    pub store: DynamoStore,
    pub jobs: Arc<SnsBadgeJobs>,
}

impl AwsBackend {
    pub fn new(clients: &AwsClients, names: &AwsResources, conferences: Conferences) -> Self {
        let store = DynamoStore::new(clients.dynamodb.clone(), &names.table);
        let objects = S3ObjectStore::new(clients.s3.clone(), &names.bucket);
        let jobs = Arc::new(SnsBadgeJobs::new(clients.sns.clone(), &names.topic_arn));
        let lanyard = Lanyard::new(
            Arc::new(store.clone()),
            Arc::new(objects),
            jobs.clone(),
            conferences,
        )
        .with_import_rate(Some(IMPORT_RATE));
        AwsBackend {
            lanyard,
            store,
            jobs,
        }
    }

    /// One sweep of pending badges (see [`sweeper`]).
    pub async fn sweep(
        &self,
        policy: SweepPolicy,
        metrics: &MetricsSink,
    ) -> Result<SweepReport, lanyard_domain::LanyardError> {
        sweeper::sweep(
            &self.store,
            self.jobs.as_ref(),
            &self.lanyard,
            policy,
            metrics,
        )
        .await
    }
}

/// Checks that the table (with the indexes lanyard needs) and the bucket
/// exist and can be reached.
pub async fn check_resources(clients: &AwsClients, names: &AwsResources) -> anyhow::Result<()> {
    setup::check_table(clients, &names.table).await?;
    clients
        .s3
        .head_bucket()
        .bucket(&names.bucket)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "bucket {}: {}",
                names.bucket,
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}

/// Reads the organizer token from SSM Parameter Store (a SecureString).
pub async fn admin_token_from_ssm(ssm: &aws_sdk_ssm::Client, name: &str) -> anyhow::Result<String> {
    let out = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "reading parameter {name}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(e)
            )
        })?;
    out.parameter
        .and_then(|p| p.value)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow::anyhow!("parameter {name} is empty"))
}
