//! Creates the table, bucket, topic and queue on an AWS emulator (or a
//! sandbox account) the way `deploy/template.yaml` defines them, for tests
//! and for running `lanyard serve --backend aws` locally.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use crate::dynamo::{CODE_INDEX, PENDING_INDEX, TOKEN_INDEX};
use crate::{AwsClients, AwsResources};

/// What [`create_resources`] made: the resources lanyard uses, and a queue
/// subscribed to the topic for `serve --backend aws`'s badge worker.
#[derive(Debug, Clone)]
pub struct Created {
    pub names: AwsResources,
    pub queue_url: String,
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("complete key schema element")
}

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("complete attribute definition")
}

/// An index holding the keys, and `include` besides.
fn index(name: &str, keys: Vec<KeySchemaElement>, include: &[&str]) -> GlobalSecondaryIndex {
    let projection = if include.is_empty() {
        Projection::builder().projection_type(ProjectionType::KeysOnly)
    } else {
        Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(include.iter().map(|a| a.to_string()).collect()))
    };
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(keys))
        .projection(projection.build())
        .build()
        .expect("complete index")
}

fn failed<E>(what: String) -> impl FnOnce(E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| {
        anyhow::anyhow!(
            "{what}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )
    }
}

/// Creates every resource, named from `prefix`, and subscribes the queue to the topic.
pub async fn create_resources(clients: &AwsClients, prefix: &str) -> anyhow::Result<Created> {
    let table = format!("{prefix}-registrations");
    clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("user_id"))
        .attribute_definitions(attribute("type"))
        .attribute_definitions(attribute("badge_token"))
        .attribute_definitions(attribute("pending_shard"))
        .attribute_definitions(attribute("badge_queued_at"))
        .attribute_definitions(attribute("ticket_code"))
        .key_schema(key("user_id", KeyType::Hash))
        .key_schema(key("type", KeyType::Range))
        .global_secondary_indexes(index(
            TOKEN_INDEX,
            vec![key("badge_token", KeyType::Hash)],
            &[],
        ))
        .global_secondary_indexes(index(
            CODE_INDEX,
            vec![key("ticket_code", KeyType::Hash)],
            &[],
        ))
        .global_secondary_indexes(index(
            PENDING_INDEX,
            vec![
                key("pending_shard", KeyType::Hash),
                key("badge_queued_at", KeyType::Range),
            ],
            &["badge_token"],
        ))
        .send()
        .await
        .map_err(failed(format!("creating table {table}")))?;
    // The nonces of desks' scans expire on their own.
    clients
        .dynamodb
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .expect("complete TTL specification"),
        )
        .send()
        .await
        .map_err(failed(format!("enabling expiry on table {table}")))?;

    let bucket = format!("{prefix}-badges");
    clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .map_err(failed(format!("creating bucket {bucket}")))?;

    let topic_arn = clients
        .sns
        .create_topic()
        .name(format!("{prefix}-badge-jobs"))
        .send()
        .await
        .map_err(failed("creating the topic".into()))?
        .topic_arn
        .ok_or_else(|| anyhow::anyhow!("no topic ARN returned"))?;

    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name(format!("{prefix}-badge-jobs"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "30",
        )
        .send()
        .await
        .map_err(failed("creating the queue".into()))?
        .queue_url
        .ok_or_else(|| anyhow::anyhow!("no queue URL returned"))?;
    let queue_arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed("reading the queue ARN".into()))?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .ok_or_else(|| anyhow::anyhow!("no queue ARN returned"))?;
    clients
        .sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .map_err(failed("subscribing the queue to the topic".into()))?;
    Ok(Created {
        names: AwsResources {
            table,
            bucket,
            topic_arn,
        },
        queue_url,
    })
}
