//! Creates the table, bucket, topic and queue on an AWS emulator (or a
//! sandbox account) the way `deploy/template.yaml` defines them, for tests
//! and for running `lanyard serve --backend aws` locally; adopts a table
//! the original system made (keys only) by adding the indexes lanyard
//! needs; and checks at start that a table has them.

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

/// The indexes lanyard's queries need, each with the attributes its keys
/// use: see [`crate::dynamo`].
fn indexes() -> Vec<(GlobalSecondaryIndex, Vec<&'static str>)> {
    vec![
        (
            index(TOKEN_INDEX, vec![key("badge_token", KeyType::Hash)], &[]),
            vec!["badge_token"],
        ),
        (
            index(CODE_INDEX, vec![key("ticket_code", KeyType::Hash)], &[]),
            vec!["ticket_code"],
        ),
        (
            index(
                PENDING_INDEX,
                vec![
                    key("pending_shard", KeyType::Hash),
                    key("badge_queued_at", KeyType::Range),
                ],
                &["badge_token"],
            ),
            vec!["pending_shard", "badge_queued_at"],
        ),
    ]
}

/// The names of the indexes lanyard needs.
pub fn required_indexes() -> Vec<String> {
    indexes()
        .into_iter()
        .map(|(index, _)| index.index_name)
        .collect()
}

/// The table's description, as DynamoDB gives it now.
async fn describe(
    clients: &AwsClients,
    table: &str,
) -> anyhow::Result<aws_sdk_dynamodb::types::TableDescription> {
    let out = clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(failed(format!("table {table}")))?;
    out.table
        .ok_or_else(|| anyhow::anyhow!("table {table}: DynamoDB described nothing"))
}

/// Checks that `table` exists and has every index lanyard needs, active;
/// the error names what is missing and the command that adds it.
pub async fn check_table(clients: &AwsClients, table: &str) -> anyhow::Result<()> {
    let present = describe(clients, table)
        .await?
        .global_secondary_indexes
        .unwrap_or_default();
    let mut missing = Vec::new();
    let mut building = Vec::new();
    for name in required_indexes() {
        match present
            .iter()
            .find(|i| i.index_name() == Some(name.as_str()))
        {
            None => missing.push(name),
            Some(i) if i.index_status().is_some_and(|s| s.as_str() != "ACTIVE") => {
                building.push(name)
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "table {table} has no index {}, which lanyard needs (a table made by the \
             original system has only its keys). Add the indexes, keeping every item, with: \
             lanyard aws-setup --table {table}",
            missing.join(", ")
        );
    }
    if !building.is_empty() {
        anyhow::bail!(
            "table {table}: index {} is still being built; start again once it is active",
            building.join(", ")
        );
    }
    Ok(())
}

/// Adopts an existing table (the original system's, say): adds each index
/// lanyard needs that it lacks, one at a time as DynamoDB requires, waiting
/// until each is active, and turns on the expiry of desks' nonces. The
/// items are left as they are. Returns the indexes added.
pub async fn adopt_table(clients: &AwsClients, table: &str) -> anyhow::Result<Vec<String>> {
    use aws_sdk_dynamodb::types::{
        CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, ProvisionedThroughput,
    };
    let mut added = Vec::new();
    for (wanted, attributes) in indexes() {
        let description = describe(clients, table).await?;
        if description
            .global_secondary_indexes()
            .iter()
            .any(|i| i.index_name() == Some(wanted.index_name()))
        {
            continue;
        }
        let mut create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(wanted.index_name())
            .set_key_schema(Some(wanted.key_schema().to_vec()))
            .set_projection(wanted.projection().cloned());
        // A provisioned table (on-demand ones report no capacity) gives its
        // index capacity of its own: the table's.
        if let Some(capacity) = description
            .provisioned_throughput()
            .filter(|p| p.read_capacity_units().unwrap_or(0) > 0)
        {
            create = create.provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(capacity.read_capacity_units().unwrap_or(5))
                    .write_capacity_units(capacity.write_capacity_units().unwrap_or(5))
                    .build()
                    .expect("complete throughput"),
            );
        }
        let mut update = clients.dynamodb.update_table().table_name(table);
        for a in attributes {
            update = update.attribute_definitions(attribute(a));
        }
        update
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .create(create.build().expect("complete index action"))
                    .build(),
            )
            .send()
            .await
            .map_err(failed(format!(
                "adding index {} to table {table}",
                wanted.index_name()
            )))?;
        wait_until_active(clients, table, wanted.index_name()).await?;
        added.push(wanted.index_name().to_owned());
    }
    enable_nonce_expiry(clients, table).await?;
    Ok(added)
}

/// Waits (up to an hour: a large table's index takes a while) until the
/// index and the table are active.
async fn wait_until_active(clients: &AwsClients, table: &str, index: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let t = describe(clients, table).await?;
        let index_active = t.global_secondary_indexes().iter().any(|i| {
            i.index_name() == Some(index)
                && i.index_status().is_some_and(|s| s.as_str() == "ACTIVE")
        });
        let table_active = t.table_status().is_some_and(|s| s.as_str() == "ACTIVE");
        if index_active && table_active {
            return Ok(());
        }
        if started.elapsed() > std::time::Duration::from_secs(3600) {
            anyhow::bail!("index {index} of table {table} was not active after an hour");
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Desks' nonces expire on their own (the `expires_at` attribute).
async fn enable_nonce_expiry(clients: &AwsClients, table: &str) -> anyhow::Result<()> {
    let current = clients
        .dynamodb
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(failed(format!("reading the expiry of table {table}")))?;
    let enabled = current.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some("expires_at")
            && d.time_to_live_status()
                .is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING"))
    });
    if enabled {
        return Ok(());
    }
    clients
        .dynamodb
        .update_time_to_live()
        .table_name(table)
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
    Ok(())
}

/// Creates every resource, named from `prefix`, and subscribes the queue to the topic.
pub async fn create_resources(clients: &AwsClients, prefix: &str) -> anyhow::Result<Created> {
    let table = format!("{prefix}-registrations");
    let mut create = clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("user_id"))
        .attribute_definitions(attribute("type"))
        .key_schema(key("user_id", KeyType::Hash))
        .key_schema(key("type", KeyType::Range));
    for (index, attributes) in indexes() {
        for a in attributes {
            create = create.attribute_definitions(attribute(a));
        }
        create = create.global_secondary_indexes(index);
    }
    create
        .send()
        .await
        .map_err(failed(format!("creating table {table}")))?;
    enable_nonce_expiry(clients, &table).await?;

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
