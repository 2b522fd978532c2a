//! The resources as `deploy/template.yaml` defines them, read from the
//! template itself (compiled in), so the code, the tests and a deployment
//! cannot disagree: [`create_resources`] makes the table, bucket, topic and
//! queues on an AWS emulator (or a sandbox account) for tests and for
//! `lanyard serve --backend aws`; [`adopt_table`] adds the template's
//! indexes to a table the original system made (keys only); and
//! [`check_table`] checks at start that a table has them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde::Deserialize;

use crate::{AwsClients, AwsResources};

/// `deploy/template.yaml`.
pub const TEMPLATE: &str = include_str!("../../../deploy/template.yaml");

/// What [`create_resources`] made: the resources lanyard uses, and the
/// badge queue subscribed to the topic (the badge function's, or `serve
/// --backend aws`'s worker's).
#[derive(Debug, Clone)]
pub struct Created {
    pub names: AwsResources,
    pub queue_url: String,
    pub queue_arn: String,
    pub dead_letter_queue_url: String,
}

/// The parts of the template read here. CloudFormation's short-form tags
/// (`!Ref`, `!GetAtt`) stay in the values not read.
#[derive(Deserialize)]
struct Template {
    #[serde(rename = "Resources")]
    resources: BTreeMap<String, Resource>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Properties", default)]
    properties: serde_norway::Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    pub global_secondary_indexes: Vec<IndexDef>,
    pub time_to_live_specification: Option<TtlDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDefinition {
    pub visibility_timeout: Option<u32>,
    pub message_retention_period: Option<u32>,
    pub redrive_policy: Option<RedriveDef>,
}

#[derive(Debug, Deserialize)]
pub struct RedriveDef {
    #[serde(rename = "maxReceiveCount")]
    pub max_receive_count: u32,
}

/// The template, parsed once. It is compiled in, and a test parses it,
/// so a failure here is a build that no test passed.
static PARSED: LazyLock<Template> = LazyLock::new(|| {
    serde_norway::from_str(TEMPLATE).expect("deploy/template.yaml parses (tested)")
});

/// The properties of the template's resource `name`, read as `T`.
pub fn resource<T: serde::de::DeserializeOwned>(name: &str) -> anyhow::Result<T> {
    let resource = PARSED
        .resources
        .get(name)
        .ok_or_else(|| anyhow::anyhow!("deploy/template.yaml has no resource {name}"))?;
    serde_norway::from_value(resource.properties.clone())
        .map_err(|e| anyhow::anyhow!("deploy/template.yaml, {name} ({}): {e}", resource.kind))
}

/// The registrations table as the template defines it.
pub fn table_definition() -> &'static TableDefinition {
    static TABLE: LazyLock<TableDefinition> = LazyLock::new(|| {
        resource("RegistrationsTable").expect("the template's table reads (tested)")
    });
    &TABLE
}

fn key(def: &KeyDef) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(&def.attribute_name)
        .key_type(KeyType::from(def.key_type.as_str()))
        .build()
        .expect("complete key schema element")
}

/// The definition of `name` among the table's attributes.
fn attribute(table: &TableDefinition, name: &str) -> AttributeDefinition {
    let kind = table
        .attribute_definitions
        .iter()
        .find(|a| a.attribute_name == name)
        .map_or("S", |a| a.attribute_type.as_str());
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::from(kind))
        .build()
        .expect("complete attribute definition")
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

/// The indexes lanyard's queries need (see [`crate::dynamo`]), as the
/// template defines them, each with the attributes its keys use.
fn indexes() -> Vec<(GlobalSecondaryIndex, Vec<AttributeDefinition>)> {
    let table = table_definition();
    table
        .global_secondary_indexes
        .iter()
        .map(|def| {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(
                    def.projection.projection_type.as_str(),
                ))
                .set_non_key_attributes(
                    (!def.projection.non_key_attributes.is_empty())
                        .then(|| def.projection.non_key_attributes.clone()),
                )
                .build();
            let index = GlobalSecondaryIndex::builder()
                .index_name(&def.index_name)
                .set_key_schema(Some(def.key_schema.iter().map(key).collect()))
                .projection(projection)
                .build()
                .expect("complete index");
            let attributes = def
                .key_schema
                .iter()
                .map(|k| attribute(table, &k.attribute_name))
                .collect();
            (index, attributes)
        })
        .collect()
}

/// The names of the indexes lanyard needs.
pub fn required_indexes() -> Vec<String> {
    table_definition()
        .global_secondary_indexes
        .iter()
        .map(|i| i.index_name.clone())
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
/// until each is active; turns on the expiry of desks' nonces; and gives
/// each registration without one a `listed_at` (before every lanyard
/// sign-up), so it has its place in its conference's list; and counts
/// each registration not yet counted into the check-in counters (`tallied`
/// marks it). The original's attributes are left as they are. Returns the
/// indexes added.
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
            update = update.attribute_definitions(a);
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
    list_unlisted(clients, table).await?;
    // Its registrations go into the check-in counters, so the organizer's
    // figures read those instead of the table.
    crate::DynamoStore::new(clients.dynamodb.clone(), table)
        .count_untallied()
        .await
        .map_err(|e| anyhow::anyhow!("counting the registrations of table {table}: {e}"))?;
    Ok(added)
}

/// Gives every registration without a `listed_at` its place in its
/// conference's list: its `created_at` (an item an earlier lanyard wrote),
/// or before every lanyard sign-up (the original system's, which have
/// none); and every one with an `email` but no `email_key` its key in the
/// `email` index, so a lost badge link is found for it too. Returns how
/// many were changed. Run again, it finds none (or only those written
/// meanwhile by the original system).
pub async fn list_unlisted(clients: &AwsClients, table: &str) -> anyhow::Result<usize> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut start = None;
    let mut listed = 0;
    loop {
        let out = clients
            .dynamodb
            .scan()
            .table_name(table)
            .projection_expression("user_id, #type, created_at, listed_at, email, email_key")
            .filter_expression(
                "(attribute_not_exists(listed_at) OR (attribute_exists(email) AND \
                 attribute_not_exists(email_key))) AND NOT begins_with(user_id, :book)",
            )
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":book", AttributeValue::S("#".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(failed(format!("reading table {table}")))?;
        for item in out.items() {
            let (Some(user_id), Some(conference)) = (item.get("user_id"), item.get("type")) else {
                continue;
            };
            let mut sets = Vec::new();
            let mut conditions = vec!["attribute_exists(user_id)"];
            let mut update = clients
                .dynamodb
                .update_item()
                .table_name(table)
                .key("user_id", user_id.clone())
                .key("type", conference.clone());
            if !item.contains_key("listed_at") {
                sets.push("listed_at = :at");
                conditions.push("attribute_not_exists(listed_at)");
                update = update.expression_attribute_values(
                    ":at",
                    match item.get("created_at") {
                        Some(AttributeValue::S(at)) if !at.is_empty() => {
                            AttributeValue::S(at.clone())
                        }
                        _ => AttributeValue::S(crate::dynamo::LISTED_BEFORE_LANYARD.into()),
                    },
                );
            }
            if let (Some(AttributeValue::S(email)), None) =
                (item.get("email"), item.get("email_key"))
            {
                let key = email.trim().to_ascii_lowercase();
                if !key.is_empty() {
                    sets.push("email_key = :key");
                    conditions.push("attribute_not_exists(email_key)");
                    update = update.expression_attribute_values(":key", AttributeValue::S(key));
                }
            }
            if sets.is_empty() {
                continue;
            }
            let result = update
                .update_expression(format!("SET {}", sets.join(", ")))
                .condition_expression(conditions.join(" AND "))
                .send()
                .await;
            match result {
                Ok(_) => listed += 1,
                // Deleted or listed meanwhile.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(e) => {
                    return Err(failed(format!("listing an item of table {table}"))(e));
                }
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(listed);
        }
    }
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

/// Desks' nonces expire on their own: the template's time-to-live attribute.
async fn enable_nonce_expiry(clients: &AwsClients, table: &str) -> anyhow::Result<()> {
    let Some(ttl) = table_definition()
        .time_to_live_specification
        .as_ref()
        .filter(|t| t.enabled)
    else {
        return Ok(());
    };
    let attribute = ttl.attribute_name.as_str();
    let current = clients
        .dynamodb
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(failed(format!("reading the expiry of table {table}")))?;
    let enabled = current.time_to_live_description().is_some_and(|d| {
        d.attribute_name() == Some(attribute)
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
                .attribute_name(attribute)
                .enabled(true)
                .build()
                .expect("complete TTL specification"),
        )
        .send()
        .await
        .map_err(failed(format!("enabling expiry on table {table}")))?;
    Ok(())
}

/// Creates the template's table, bucket, badge topic, badge queue (with
/// its dead-letter queue) and the queue's subscription to the topic, named
/// from `prefix`.
pub async fn create_resources(clients: &AwsClients, prefix: &str) -> anyhow::Result<Created> {
    let definition = table_definition();
    let table = format!("{prefix}-registrations");
    let mut create = clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::from(definition.billing_mode.as_str()));
    let mut defined = std::collections::BTreeSet::new();
    for k in &definition.key_schema {
        create = create.key_schema(key(k));
        defined.insert(k.attribute_name.clone());
        create = create.attribute_definitions(attribute(definition, &k.attribute_name));
    }
    for (index, attributes) in indexes() {
        for a in attributes {
            if defined.insert(a.attribute_name().to_owned()) {
                create = create.attribute_definitions(a);
            }
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
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Versioning {
        status: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct BucketDefinition {
        versioning_configuration: Option<Versioning>,
    }
    let bucket_definition: BucketDefinition = resource("Bucket")?;
    if let Some(versioning) = bucket_definition.versioning_configuration {
        clients
            .s3
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::from(
                        versioning.status.as_str(),
                    ))
                    .build(),
            )
            .send()
            .await
            .map_err(failed(format!("versioning bucket {bucket}")))?;
    }

    let topic_arn = clients
        .sns
        .create_topic()
        .name(format!("{prefix}-badge-jobs"))
        .send()
        .await
        .map_err(failed("creating the topic".into()))?
        .topic_arn
        .ok_or_else(|| anyhow::anyhow!("no topic ARN returned"))?;

    let dead_letters: QueueDefinition = resource("BadgeDeadLetterQueue")?;
    let (dead_letter_queue_url, dead_letter_arn) = create_queue(
        clients,
        &format!("{prefix}-badge-dead-letters"),
        &dead_letters,
        None,
    )
    .await?;
    let queue: QueueDefinition = resource("BadgeQueue")?;
    let (queue_url, queue_arn) = create_queue(
        clients,
        &format!("{prefix}-badge-jobs"),
        &queue,
        Some(&dead_letter_arn),
    )
    .await?;
    clients
        .sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
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
        queue_arn,
        dead_letter_queue_url,
    })
}

/// Creates a queue as `definition` says, its dead letters going to
/// `dead_letters`; returns its URL and ARN.
async fn create_queue(
    clients: &AwsClients,
    name: &str,
    definition: &QueueDefinition,
    dead_letters: Option<&str>,
) -> anyhow::Result<(String, String)> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let mut create = clients.sqs.create_queue().queue_name(name);
    if let Some(seconds) = definition.visibility_timeout {
        create = create.attributes(QueueAttributeName::VisibilityTimeout, seconds.to_string());
    }
    if let Some(seconds) = definition.message_retention_period {
        create = create.attributes(
            QueueAttributeName::MessageRetentionPeriod,
            seconds.to_string(),
        );
    }
    if let (Some(redrive), Some(arn)) = (&definition.redrive_policy, dead_letters) {
        create = create.attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({
                "deadLetterTargetArn": arn,
                "maxReceiveCount": redrive.max_receive_count,
            })
            .to_string(),
        );
    }
    let url = create
        .send()
        .await
        .map_err(failed(format!("creating queue {name}")))?
        .queue_url
        .ok_or_else(|| anyhow::anyhow!("no URL returned for queue {name}"))?;
    let arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(failed(format!("reading the ARN of queue {name}")))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| anyhow::anyhow!("no ARN returned for queue {name}"))?;
    Ok((url, arn))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lanyard_domain::BadgeJobPolicy;
    use serde::Deserialize;

    use super::*;
    use crate::dynamo::{CODE_INDEX, PENDING_INDEX, TOKEN_INDEX};
    use crate::{SweepPolicy, BADGE_QUEUE_VISIBILITY};

    #[test]
    fn the_template_defines_every_index_the_queries_use() {
        let names = required_indexes();
        for index in [TOKEN_INDEX, CODE_INDEX, PENDING_INDEX] {
            assert!(names.iter().any(|n| n == index), "{index} in {names:?}");
        }
        // Every key attribute of every index is defined, as DynamoDB requires.
        for (index, attributes) in indexes() {
            assert_eq!(attributes.len(), index.key_schema().len());
        }
        let table = table_definition();
        let keys: Vec<&str> = table
            .key_schema
            .iter()
            .map(|k| k.attribute_name.as_str())
            .collect();
        assert_eq!(keys, ["user_id", "type"], "the original table's keys");
        let ttl = table.time_to_live_specification.as_ref().unwrap();
        assert_eq!(ttl.attribute_name, "expires_at");
    }

    /// Every resource of the template is either made on the emulator from
    /// its definition by [`create_resources`], or named here with what
    /// checks it instead; a resource added to the template fails this test
    /// until it is one or the other.
    #[test]
    fn every_resource_is_made_on_the_emulator_or_named_with_its_check() {
        let made_on_the_emulator = [
            "RegistrationsTable",
            "Bucket",
            "BadgeTopic",
            "BadgeQueue",
            "BadgeDeadLetterQueue",
            "BadgeSubscription",
        ];
        // moto enforces no bucket or queue policy, and does not run the
        // rest; each is checked as said.
        let checked_otherwise = [
            // Their policies: tests/it/iam.rs in lanyard-lambda (enforced);
            // their environment: tests/it/template.rs; their events and
            // timeouts: queue_function_job_policy_and_sweep_agree below.
            ("ApiFunction", "AWS::Serverless::Function"),
            ("BadgeFunction", "AWS::Serverless::Function"),
            // The badge function's policy, enforced the same way.
            ("BadgeFunctionRole", "AWS::IAM::Role"),
            // cfn-lint and `sam validate --lint` only (scripts/lint-template).
            ("HttpApi", "AWS::Serverless::HttpApi"),
            ("BucketPolicy", "AWS::S3::BucketPolicy"),
            ("BadgeQueuePolicy", "AWS::SQS::QueuePolicy"),
            ("ApiAccessLogGroup", "AWS::Logs::LogGroup"),
            ("ApiLogGroup", "AWS::Logs::LogGroup"),
            ("BadgeLogGroup", "AWS::Logs::LogGroup"),
            (
                "OriginAccessControl",
                "AWS::CloudFront::OriginAccessControl",
            ),
            ("SecurityHeaders", "AWS::CloudFront::ResponseHeadersPolicy"),
            ("ApiCachePolicy", "AWS::CloudFront::CachePolicy"),
            ("Distribution", "AWS::CloudFront::Distribution"),
            // Evaluated against requests in lanyard-lambda's tests/it/template.rs.
            ("WebAcl", "AWS::WAFv2::WebACL"),
            ("WebAclAllowlist", "AWS::WAFv2::IPSet"),
            ("AlarmTopic", "AWS::SNS::Topic"),
            ("AlarmEmailSubscription", "AWS::SNS::Subscription"),
        ];
        let mut named: std::collections::BTreeSet<&str> = made_on_the_emulator.into();
        for (name, kind) in checked_otherwise {
            assert_eq!(PARSED.resources[name].kind, kind, "{name}");
            named.insert(name);
        }
        for (name, resource) in &PARSED.resources {
            let alarm = resource.kind == "AWS::CloudWatch::Alarm";
            assert!(
                alarm || named.contains(name.as_str()),
                "{name} ({}) is neither made on the emulator nor checked otherwise",
                resource.kind
            );
        }
        assert_eq!(
            named.len() + 9,
            PARSED.resources.len(),
            "nine alarms besides"
        );
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Function {
        timeout: u64,
        event_invoke_config: InvokeConfig,
        events: BTreeMap<String, Event>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct InvokeConfig {
        maximum_event_age_in_seconds: u64,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Event {
        #[serde(rename = "Type")]
        kind: String,
        properties: EventProperties,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "PascalCase")]
    struct EventProperties {
        schedule: Option<String>,
        #[serde(default)]
        function_response_types: Vec<String>,
        scaling_config: Option<serde_norway::Value>,
    }

    /// `rate(N minutes)` as a duration.
    fn rate(schedule: &str) -> Duration {
        let minutes: u64 = schedule
            .strip_prefix("rate(")
            .and_then(|s| s.strip_suffix(" minutes)"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a rate in minutes: {schedule}"));
        Duration::from_secs(minutes * 60)
    }

    /// The badge queue, the badge function, the job policy and the sweep
    /// agree: a job's retries run their course before SQS gives its message
    /// up, and before the sweep takes the badge for lost.
    #[test]
    fn queue_function_job_policy_and_sweep_agree() {
        let queue: QueueDefinition = resource("BadgeQueue").unwrap();
        let function: Function = resource("BadgeFunction").unwrap();
        let jobs = BadgeJobPolicy::default();
        let sweep = SweepPolicy::default();

        let visibility = Duration::from_secs(queue.visibility_timeout.unwrap().into());
        assert_eq!(visibility, BADGE_QUEUE_VISIBILITY, "the code's copy");
        assert!(
            visibility >= Duration::from_secs(6 * function.timeout),
            "Lambda wants a queue's visibility timeout at six times the function's"
        );
        let receives = queue.redrive_policy.unwrap().max_receive_count;
        assert!(
            receives > jobs.max_attempts,
            "the job policy's last attempt records the failure before SQS dead-letters the job"
        );
        assert!(
            sweep.stale_after >= jobs.retry_span() + visibility,
            "the sweep leaves jobs in retry alone"
        );
        let retention = Duration::from_secs(queue.message_retention_period.unwrap().into());
        assert!(retention > sweep.stale_after * (jobs.max_attempts + 1));

        let jobs_event = &function.events["Jobs"];
        assert_eq!(jobs_event.kind, "SQS");
        assert_eq!(
            jobs_event.properties.function_response_types,
            ["ReportBatchItemFailures"]
        );
        assert!(jobs_event.properties.scaling_config.is_some());
        let every = rate(
            function.events["Sweep"]
                .properties
                .schedule
                .as_ref()
                .unwrap(),
        );
        assert!(
            every <= sweep.stale_after,
            "the sweep runs before a badge is stale twice"
        );
        assert!(
            Duration::from_secs(function.event_invoke_config.maximum_event_age_in_seconds) <= every,
            "a sweep waiting past the next one is dropped"
        );
    }
}
