//! The functions' code under the template's own IAM policies, enforced by
//! the emulator. Each function runs with credentials of a role that
//! carries exactly its policy from `deploy/template.yaml` (the
//! intrinsic functions resolved to the emulator's resources), obtained
//! with `sts assume-role`; from then on moto refuses every request its
//! policies do not allow (`/moto-api/reset-auth`, as
//! `INITIAL_NO_AUTH_ACTION_COUNT=0` would at start). Every request is
//! recorded, so the test also lists what each function used and checks
//! that its policy grants nothing beyond that and the few uses named below.
//!
//! What moto checks: the action always; the resource for S3 (bucket and
//! key) and SQS (the queue's ARN). For DynamoDB, SNS and SSM moto checks
//! the action against the resource `*`, so those statements are given
//! `Resource: "*"` here, and their resources are checked by comparing the
//! template's ARNs with the resources the code names (below).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use aws_sdk_dynamodb::config::Credentials;
use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::{create_resources, TEMPLATE};
use lanyard_aws::{AwsBackend, MetricsSink, SweepPolicy};
use lanyard_domain::JobOutcome;
use lanyard_lambda::{api_router, handle_badge_event, BadgeInvocation};
use serde_json::{json, Value};
use serde_norway::Value as Yaml;

use super::handlers::{
    api_event, call_api, fixture, registration_in, sign_up_in, sqs_record, token_of, Reply, TOKEN,
};

const CONFERENCE: &str = "serverless-web";
/// A conference that ended long ago, keeping personal data no day after.
const PAST: &str = "past-meetup";

fn registration(user_id: &str, name: &str) -> Value {
    registration_in(CONFERENCE, user_id, name)
}

async fn sign_up(router: &axum::Router, user_id: &str, name: &str) -> Reply {
    sign_up_in(router, CONFERENCE, user_id, name).await
}

const ACCOUNT: &str = "123456789012";
const PARAMETER: &str = "/lanyard-iam/admin-token";

/// The template's value with `!Ref`, `!GetAtt` and `!Sub` resolved from `refs`.
fn resolve(value: &Yaml, refs: &BTreeMap<&str, String>) -> Value {
    let lookup = |name: &str| -> String {
        refs.get(name)
            .unwrap_or_else(|| panic!("the test resolves no {name}"))
            .clone()
    };
    match value {
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            match tag.trim_start_matches('!') {
                "Ref" | "GetAtt" => json!(lookup(tagged.value.as_str().expect("a name"))),
                // The stack as deployed here: it makes its own table.
                "If" => {
                    let args = tagged.value.as_sequence().expect("[condition, then, else]");
                    let condition = args[0].as_str().unwrap();
                    assert_eq!(
                        condition, "HasExistingTable",
                        "the test evaluates no {condition}"
                    );
                    resolve(&args[2], refs)
                }
                "Sub" => {
                    // `!Sub "text"`, or `!Sub ["text", {name: value}]`.
                    let (text, own) = match &tagged.value {
                        Yaml::String(text) => (text.as_str(), BTreeMap::new()),
                        Yaml::Sequence(args) => {
                            let own: BTreeMap<String, String> = args[1]
                                .as_mapping()
                                .unwrap()
                                .iter()
                                .map(|(k, v)| {
                                    let value = resolve(v, refs);
                                    (
                                        k.as_str().unwrap().to_owned(),
                                        value.as_str().unwrap().to_owned(),
                                    )
                                })
                                .collect();
                            (args[0].as_str().unwrap(), own)
                        }
                        other => panic!("a !Sub argument: {other:?}"),
                    };
                    let mut out = String::new();
                    let mut rest = text;
                    while let Some(start) = rest.find("${") {
                        let end = rest[start..].find('}').unwrap() + start;
                        let name = &rest[start + 2..end];
                        out.push_str(&rest[..start]);
                        out.push_str(&own.get(name).cloned().unwrap_or_else(|| lookup(name)));
                        rest = &rest[end + 1..];
                    }
                    out.push_str(rest);
                    json!(out)
                }
                other => panic!("no resolution of !{other}"),
            }
        }
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_owned(), resolve(v, refs)))
                .collect(),
        ),
        Yaml::Sequence(items) => Value::Array(items.iter().map(|v| resolve(v, refs)).collect()),
        Yaml::String(s) => json!(s),
        Yaml::Bool(b) => json!(b),
        Yaml::Number(n) => json!(n.as_f64()),
        Yaml::Null => Value::Null,
    }
}

/// A function's policy document from the template, resolved: its own
/// `Policies`, or those of the role it names.
fn policy(function: &str, refs: &BTreeMap<&str, String>) -> Value {
    let template: Yaml = serde_norway::from_str(TEMPLATE).unwrap();
    let properties = &template["Resources"][function]["Properties"];
    let documents = match properties.get("Role") {
        Some(role) => {
            let Yaml::Tagged(tagged) = role else {
                panic!("{function}: a role of the template's own")
            };
            let name = tagged.value.as_str().unwrap().trim_end_matches(".Arn");
            let policies = template["Resources"][name]["Properties"]["Policies"]
                .as_sequence()
                .expect("a list of policies");
            assert_eq!(policies.len(), 1, "{name}: one inline policy");
            vec![policies[0]["PolicyDocument"].clone()]
        }
        None => properties["Policies"]
            .as_sequence()
            .expect("a list of policies")
            .clone(),
    };
    assert_eq!(documents.len(), 1, "{function}: one inline policy document");
    resolve(&documents[0], refs)
}

/// The actions a policy document grants.
fn granted(policy: &Value) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        match &statement["Action"] {
            Value::String(a) => {
                actions.insert(a.clone());
            }
            Value::Array(list) => {
                actions.extend(list.iter().map(|a| a.as_str().unwrap().to_owned()))
            }
            other => panic!("an action: {other}"),
        }
    }
    actions
}

/// The policy as moto can enforce it: `Resource: "*"` for the services it
/// checks against `*` only.
fn as_moto_checks(policy: &Value) -> Value {
    let mut policy = policy.clone();
    for statement in policy["Statement"].as_array_mut().unwrap() {
        let first = match &statement["Action"] {
            Value::String(a) => a.clone(),
            Value::Array(list) => list[0].as_str().unwrap().to_owned(),
            _ => unreachable!(),
        };
        if ["dynamodb:", "sns:", "ssm:", "ses:"]
            .iter()
            .any(|s| first.starts_with(s))
        {
            statement["Resource"] = json!("*");
        }
        // AWS authorises each item of a transaction by its own action
        // (PutItem, UpdateItem, DeleteItem); moto checks the whole request
        // as `TransactWriteItems`, which is no IAM action. A statement that
        // grants an item's write grants moto the transaction.
        let actions = match &statement["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
            _ => unreachable!(),
        };
        if actions.iter().any(|a| {
            [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ]
            .contains(&a.as_str())
        }) {
            let mut with = actions;
            with.push("dynamodb:TransactWriteItems".into());
            statement["Action"] = json!(with);
        }
    }
    policy
}

/// Makes a role per function with its policy and assumes it, makes an
/// administrator for the test's own requests, then turns IAM on.
/// Returns each identity's credentials by name.
fn enforce_iam(endpoint: &str, policies: &BTreeMap<&str, Value>) -> BTreeMap<String, Value> {
    let script = r#"
import json, sys, urllib.request
import boto3
endpoint, policies = sys.argv[1], json.loads(sys.argv[2])
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="testing", aws_secret_access_key="testing")
iam, sts = boto3.client("iam", **kw), boto3.client("sts", **kw)
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
         "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
out = {}
for name, document in policies.items():
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=name, PolicyName=name, PolicyDocument=json.dumps(document))
    c = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=name)["Credentials"]
    out[name] = {"key": c["AccessKeyId"], "secret": c["SecretAccessKey"], "token": c["SessionToken"]}
iam.create_user(UserName="test-harness")
iam.put_user_policy(UserName="test-harness", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
k = iam.create_access_key(UserName="test-harness")["AccessKey"]
out["harness"] = {"key": k["AccessKeyId"], "secret": k["SecretAccessKey"], "token": None}
urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}))
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            endpoint,
            &serde_json::to_string(policies).unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<BTreeMap<String, Value>>(&out.stdout).unwrap()
}

fn credentials(c: &Value) -> Credentials {
    Credentials::new(
        c["key"].as_str().unwrap(),
        c["secret"].as_str().unwrap(),
        c["token"].as_str().map(str::to_owned),
        None,
        "assumed",
    )
}

/// The IAM action of each recorded request, by the access key that signed it.
/// Requests in `skip` (by their place in the recording) are left out.
/// The sender the functions' e-mails come from.
const MAIL_FROM: &str = "Lanyard <reg@example.org>";

/// How many messages the emulator's SES accepted (its send quota's count).
fn ses_sent(endpoint: &str, harness: &Value) -> u64 {
    let script = r#"
import sys, boto3
c = boto3.client("ses", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
print(int(c.get_send_quota()["SentLast24Hours"]))
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            endpoint,
            harness["key"].as_str().unwrap(),
            harness["secret"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// What each access key used: its IAM actions, and for DynamoDB each
/// action with the resource it named (the table's ARN, or an index's).
#[derive(Default)]
struct Used {
    actions: BTreeMap<String, BTreeSet<String>>,
    dynamodb: BTreeMap<String, BTreeSet<(String, String)>>,
}

fn actions_by_key(
    recording: &std::path::Path,
    skip: std::ops::Range<usize>,
    dynamodb_arn: impl Fn(&str) -> String,
) -> Used {
    use base64::Engine;
    let mut uses = Used::default();
    let by_key = &mut uses.actions;
    let text = std::fs::read_to_string(recording).unwrap_or_default();
    for (i, line) in text.lines().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let entry: Value = serde_json::from_str(line).unwrap();
        let headers = &entry["headers"];
        // Credential=KEY/DATE/REGION/SERVICE/aws4_request
        let Some(scope) = headers["Authorization"]
            .as_str()
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split(',').next())
        else {
            continue;
        };
        let scope: Vec<&str> = scope.split('/').collect();
        let (key, service) = (scope[0], scope[3]);
        let body = entry["body"].as_str().unwrap_or("");
        let body = if entry["body_encoded"] == true {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_default()
        } else {
            body.as_bytes().to_vec()
        };
        let body = String::from_utf8_lossy(&body);
        let operation = if let Some(target) = headers["X-Amz-Target"].as_str() {
            target.split_once('.').unwrap().1.to_owned()
        } else if service == "s3" {
            // S3's IAM action, by method: HEAD and GET need GetObject, a
            // batch delete (POST ?delete) DeleteObject.
            let method = entry["method"].as_str().unwrap();
            let url = entry["url"].as_str().unwrap_or("");
            let on_bucket = url
                .split('?')
                .next()
                .unwrap()
                .trim_end_matches('/')
                .matches('/')
                .count()
                <= 3;
            match method {
                "GET" if on_bucket => "ListBucket",
                "GET" | "HEAD" => "GetObject",
                "PUT" => "PutObject",
                "DELETE" => "DeleteObject",
                "POST" if url.contains("?delete") => "DeleteObject",
                other => panic!("an S3 request: {other} {url}"),
            }
            .to_owned()
        } else if service == "ses" && entry["url"].as_str().unwrap_or("").contains("/v2/email/") {
            // SES v2 is REST: its action by path.
            let url = entry["url"].as_str().unwrap();
            if url.contains("/v2/email/outbound-emails") {
                "SendEmail".to_owned()
            } else if url.contains("/v2/email/identities") {
                "CreateEmailIdentity".to_owned()
            } else {
                panic!("an SES request: {url}")
            }
        } else {
            body.split('&')
                .find_map(|p| p.strip_prefix("Action="))
                .unwrap_or_else(|| panic!("an action in {body}"))
                .to_owned()
        };
        let used = by_key.entry(key.to_owned()).or_default();
        let on_resources = uses.dynamodb.entry(key.to_owned()).or_default();
        if operation == "TransactWriteItems" {
            // The actions AWS authorises a transaction's items by.
            let request: Value = serde_json::from_str(&body).unwrap();
            for item in request["TransactItems"].as_array().unwrap() {
                for (kind, write) in item.as_object().unwrap() {
                    let action = match kind.as_str() {
                        "ConditionCheck" => "ConditionCheckItem".to_owned(),
                        other => format!("{other}Item"),
                    };
                    let table = write["TableName"].as_str().unwrap();
                    on_resources.insert((format!("dynamodb:{action}"), dynamodb_arn(table)));
                    used.insert(format!("dynamodb:{action}"));
                }
            }
        } else {
            let action = format!("{service}:{operation}");
            if service == "dynamodb" {
                let request: Value = serde_json::from_str(&body).unwrap();
                if let Some(table) = request["TableName"].as_str() {
                    let mut resource = dynamodb_arn(table);
                    if let Some(index) = request["IndexName"].as_str() {
                        resource = format!("{resource}/index/{index}");
                    }
                    on_resources.insert((action.clone(), resource));
                }
            }
            used.insert(action);
        }
    }
    uses
}

/// Whether a policy document allows `action` on `resource` (an ARN, or
/// one ending in `*` that covers what starts with the rest).
fn allows(policy: &Value, action: &str, resource: &str) -> bool {
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().unwrap().to_owned())
                .collect(),
            other => panic!("a string or a list: {other}"),
        }
    };
    policy["Statement"].as_array().unwrap().iter().any(|s| {
        s["Effect"] == "Allow"
            && list(&s["Action"]).iter().any(|a| a == action)
            && list(&s["Resource"])
                .iter()
                .any(|r| match r.strip_suffix('*') {
                    Some(prefix) => resource.starts_with(prefix),
                    None => r == resource,
                })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_run_under_exactly_the_templates_policies() {
    let recording = tempfile::NamedTempFile::new().unwrap();
    let recording_path = recording.path().to_str().unwrap().to_owned();
    let emulator = Emulator::start_with(&[
        ("MOTO_ENABLE_RECORDING", "True"),
        ("MOTO_RECORDER_FILEPATH", &recording_path),
    ]);
    let admin = emulator.clients().await;
    let made = create_resources(&admin, "iam").await.unwrap();
    admin
        .ssm
        .put_parameter()
        .name(PARAMETER)
        .value(TOKEN)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();

    let table_arn = format!(
        "arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{}",
        made.names.table
    );
    let refs: BTreeMap<&str, String> = [
        ("RegistrationsTable.Arn", table_arn.clone()),
        ("RegistrationsTable", made.names.table.clone()),
        ("Bucket.Arn", format!("arn:aws:s3:::{}", made.names.bucket)),
        ("BadgeTopic", made.names.topic_arn.clone()),
        ("BadgeQueue.Arn", made.queue_arn.clone()),
        ("AWS::Partition", "aws".into()),
        ("AWS::Region", "us-east-1".into()),
        ("AWS::AccountId", ACCOUNT.into()),
        ("AdminTokenParameterName", PARAMETER.into()),
        ("AWS::StackName", "iam".into()),
    ]
    .into_iter()
    .collect();
    let template_policies: BTreeMap<&str, Value> = ["ApiFunction", "BadgeFunction"]
        .into_iter()
        .map(|f| (f, policy(f, &refs)))
        .collect();
    // The resources the template names for DynamoDB, SNS and SSM are the
    // ones the code uses (moto cannot check these).
    for document in template_policies.values() {
        for statement in document["Statement"].as_array().unwrap() {
            let resources: Vec<String> = match &statement["Resource"] {
                Value::String(r) => vec![r.clone()],
                Value::Array(list) => list.iter().map(|r| r.as_str().unwrap().into()).collect(),
                other => panic!("a resource: {other}"),
            };
            for r in resources {
                assert!(
                    r == table_arn
                        || r.starts_with(&format!("{table_arn}/index/"))
                        || r.starts_with(&format!("arn:aws:s3:::{}", made.names.bucket))
                        || r == made.names.topic_arn
                        || r == made.queue_arn
                        || r == format!("arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{PARAMETER}")
                        || r == format!("arn:aws:ses:us-east-1:{ACCOUNT}:identity/*")
                        || r == format!(
                            "arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/iam-badge:*"
                        )
                        || (r == "*" && statement["Sid"] == "Traces"),
                    "a resource of lanyard's: {r}"
                );
            }
        }
    }
    let enforced: BTreeMap<&str, Value> = template_policies
        .iter()
        .map(|(f, p)| (*f, as_moto_checks(p)))
        .collect();
    let identities = enforce_iam(&emulator.endpoint, &enforced);
    let api_clients = emulator
        .clients_as(credentials(&identities["ApiFunction"]))
        .await;
    let badge_clients = emulator
        .clients_as(credentials(&identities["BadgeFunction"]))
        .await;
    let harness = emulator
        .clients_as(credentials(&identities["harness"]))
        .await;

    // IAM is on: the emulator's default credentials are refused, and a
    // role is refused what its policy does not grant. (These requests are
    // left out of what the function used.)
    let recorded = || {
        std::fs::read_to_string(&recording_path)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let probes_from = recorded();
    assert!(admin
        .dynamodb
        .describe_table()
        .table_name(&made.names.table)
        .send()
        .await
        .is_err());
    assert!(badge_clients
        .dynamodb
        .batch_write_item()
        .request_items(
            &made.names.table,
            vec![aws_sdk_dynamodb::types::WriteRequest::builder()
                .delete_request(
                    aws_sdk_dynamodb::types::DeleteRequest::builder()
                        .key(
                            "user_id",
                            aws_sdk_dynamodb::types::AttributeValue::S("x".into())
                        )
                        .key(
                            "type",
                            aws_sdk_dynamodb::types::AttributeValue::S("y".into())
                        )
                        .build()
                        .unwrap(),
                )
                .build()],
        )
        .send()
        .await
        .is_err());
    let probes = probes_from..recorded();

    // The API function, as the template sets it up: the organizer token from SSM.
    let settings = lanyard_lambda::Settings {
        resources: made.names.clone(),
        config: None,
        admin_token: lanyard_lambda::AdminTokenSource::Parameter(PARAMETER.into()),
        origin_secret: None,
        // E-mail through SES: sent by the badge function from the outbox.
        mail: Some((MAIL_FROM.into(), "https://reg.example.org".into())),
    };
    // `erasing`: whether the past conference's retention has run out (the
    // API function signs up to it before; the badge function's sweep
    // erases it after).
    let conferences = |erasing: bool| {
        // moto checks the signature of a query-protocol request (SNS's)
        // against the body as it re-encodes it, and gets a space in the
        // subject (the conference id) wrong: an id without one here.
        let mut config = lanyard_domain::ConferencesConfig::builtin();
        config.conferences[0].id = CONFERENCE.into();
        // Two seats and a waiting list: seat decisions, offers and the
        // sweep's expiry run under the policies too.
        config.conferences[0].capacity = Some(2);
        config.conferences[0].waitlist = true;
        // A conference that ended: past its retention, the sweep erases
        // its attendees.
        let mut past = config.conferences[1].clone();
        past.id = PAST.into();
        past.ends = Some("2020-01-31".into());
        past.retention_days = erasing.then_some(0);
        config.conferences[1] = past;
        lanyard_domain::Conferences::build(
            config,
            std::path::Path::new("."),
            &lanyard_badge::Fonts::bundled(),
        )
        .unwrap()
    };
    let api_backend = lanyard_lambda::with_notices(
        AwsBackend::new(&api_clients, &made.names, conferences(false)),
        &api_clients,
        &settings,
    )
    .unwrap();
    let router = api_router(
        &api_backend,
        lanyard_lambda::admin_token(&api_clients, &settings).unwrap(),
        None,
    );
    let organizer = |method: &str, path: &str, body: Option<&Value>| {
        let mut event = api_event(method, path, body, false);
        event["headers"]["authorization"] = json!(format!("Bearer {TOKEN}"));
        event
    };
    let created = sign_up(&router, "iam1", "Policy Kim").await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let created = created.json();
    let token = token_of(created["badge"]["url"].as_str().unwrap());
    assert_eq!(sign_up(&router, "iam1", "Again").await.status, 409);
    assert_eq!(sign_up(&router, "iam2", "Policy Lee").await.status, 201);

    // The badge function renders from the queue and spaces a retry.
    let badge_backend = lanyard_lambda::with_notices(
        AwsBackend::new(&badge_clients, &made.names, conferences(true)),
        &badge_clients,
        &settings,
    )
    .unwrap();
    let metrics = MetricsSink::discard("badge");
    // Up to ten of the queue's messages, as SQS hands them to the function.
    let receive_records = || async {
        let out = harness
            .sqs
            .receive_message()
            .queue_url(&made.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        out.messages
            .unwrap_or_default()
            .iter()
            .map(|m| sqs_record(m, &made.queue_arn))
            .collect::<Vec<Value>>()
    };
    let mut rendered = 0;
    for _ in 0..10 {
        let records = receive_records().await;
        if records.is_empty() {
            continue;
        }
        let n = records.len();
        let invocation = handle_badge_event(
            &badge_backend,
            &badge_clients.sqs,
            &metrics,
            SweepPolicy::default(),
            json!({ "Records": records }),
        )
        .await
        .unwrap();
        assert_eq!(
            invocation,
            BadgeInvocation::Jobs {
                outcomes: vec![JobOutcome::Rendered; n],
                retry: vec![]
            }
        );
        rendered += n;
        if rendered == 2 {
            break;
        }
    }
    assert_eq!(rendered, 2);
    // A job to retry: the badge function cannot write to another bucket,
    // and makes the message invisible for the policy's delay.
    let elsewhere = lanyard_aws::AwsResources {
        bucket: "not-lanyards".into(),
        ..made.names.clone()
    };
    let denied = AwsBackend::new(&badge_clients, &elsewhere, conferences(true));
    let third = sign_up(&router, "iam3", "Policy Park").await;
    assert_eq!(third.status, 201);
    let message = loop {
        let out = harness
            .sqs
            .receive_message()
            .queue_url(&made.queue_url)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages.unwrap_or_default().pop() {
            break m;
        }
    };
    let record = sqs_record(&message, &made.queue_arn);
    let invocation = handle_badge_event(
        &denied,
        &badge_clients.sqs,
        &metrics,
        SweepPolicy::default(),
        json!({ "Records": [record] }),
    )
    .await
    .unwrap();
    assert!(
        matches!(&invocation, BadgeInvocation::Jobs { retry, .. } if retry.len() == 1),
        "{invocation:?}"
    );
    // The sweep, under the badge function's policy.
    let swept = handle_badge_event(
        &badge_backend,
        &badge_clients.sqs,
        &metrics,
        SweepPolicy {
            stale_after: std::time::Duration::ZERO,
            batch: 10,
        },
        fixture("scheduled-event.json"),
    )
    .await
    .unwrap();
    assert!(matches!(swept, BadgeInvocation::Swept(_)), "{swept:?}");

    // The API's reads, files on demand, desks, check-ins and deletion.
    for (path, status) in [
        (format!("/api/badges/{token}"), 200),
        (format!("/api/badges/{token}.png"), 200),
        (format!("/api/badges/{token}.svg"), 200),
        (format!("/api/badges/{token}.pdf"), 200),
    ] {
        let reply = call_api(&router, api_event("GET", &path, None, false)).await;
        assert_eq!(reply.status, status, "{path}");
    }
    let list = call_api(
        &router,
        organizer("GET", "/api/registrations?limit=10", None),
    )
    .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 3);
    let search = call_api(&router, organizer("GET", "/api/registrations?q=kim", None)).await;
    assert_eq!(search.status, 200);
    let desk = call_api(
        &router,
        organizer("POST", "/api/desks", Some(&json!({"name": "Door A"}))),
    )
    .await;
    assert_eq!(desk.status, 201, "{}", String::from_utf8_lossy(&desk.body));
    // A phone signs in as the desk with a one-time code.
    let enrolment = call_api(
        &router,
        organizer(
            "POST",
            "/api/desks/Door%20A/enrolment",
            Some(&json!({"origin": "https://reg.example.org"})),
        ),
    )
    .await;
    assert_eq!(
        enrolment.status,
        201,
        "{}",
        String::from_utf8_lossy(&enrolment.body)
    );
    let url = enrolment.json()["url"].as_str().unwrap().to_owned();
    let code = url.split("#enrol=").nth(1).unwrap();
    let enrolled = call_api(
        &router,
        api_event(
            "POST",
            "/api/desk/enrol",
            Some(&json!({ "code": code })),
            false,
        ),
    )
    .await;
    assert_eq!(
        enrolled.status,
        200,
        "{}",
        String::from_utf8_lossy(&enrolled.body)
    );
    let checkin = call_api(
        &router,
        organizer(
            "POST",
            "/api/checkins",
            Some(&json!({"code": created["checkin_code"], "nonce": "iam-nonce-0001"})),
        ),
    )
    .await;
    assert_eq!(
        checkin.status,
        200,
        "{}",
        String::from_utf8_lossy(&checkin.body)
    );
    let stats = call_api(&router, organizer("GET", "/api/checkins/stats", None)).await;
    assert_eq!(stats.status, 200);
    // The attendee changes their name: the badge moves to its next
    // revision, and the badge function, rendering it, deletes the files of
    // the one it replaced.
    let changed = call_api(
        &router,
        api_event(
            "PATCH",
            &format!("/api/badges/{token}"),
            Some(&json!({"user_name": "Policy Kim Changed"})),
            false,
        ),
    )
    .await;
    assert_eq!(
        changed.status,
        200,
        "{}",
        String::from_utf8_lossy(&changed.body)
    );
    let mut ready = false;
    for _ in 0..10 {
        let records = receive_records().await;
        if !records.is_empty() {
            handle_badge_event(
                &badge_backend,
                &badge_clients.sqs,
                &metrics,
                SweepPolicy::default(),
                json!({ "Records": records }),
            )
            .await
            .unwrap();
        }
        let badge = call_api(
            &router,
            api_event("GET", &format!("/api/badges/{token}"), None, false),
        )
        .await;
        if badge.json()["status"] == "ready" {
            ready = true;
            break;
        }
    }
    assert!(ready, "the changed badge is rendered");
    let original = {
        let mut event = api_event(
            "POST",
            "/conference",
            Some(&registration("iam4", "Old Page")),
            false,
        );
        event["headers"]["content-type"] =
            json!("application/x-www-form-urlencoded; charset=UTF-8");
        call_api(&router, event).await
    };
    assert_eq!(original.status, 201);
    let gone = call_api(
        &router,
        organizer("DELETE", "/api/registrations/iam1/serverless-web", None),
    )
    .await;
    assert_eq!(gone.status, 204);
    // Its seat is offered to the longest waiting (iam3), and the badge
    // function's sweep looks for offers that ran out and seats to offer.
    let waiting = call_api(
        &router,
        organizer("GET", "/api/registrations/iam3/serverless-web", None),
    )
    .await;
    assert_eq!(
        waiting.json()["status"],
        "offered",
        "{}",
        String::from_utf8_lossy(&waiting.body)
    );
    let swept = handle_badge_event(
        &badge_backend,
        &badge_clients.sqs,
        &metrics,
        SweepPolicy::default(),
        fixture("scheduled-event.json"),
    )
    .await
    .unwrap();
    assert!(matches!(swept, BadgeInvocation::Swept(_)), "{swept:?}");
    let after = call_api(
        &router,
        api_event("GET", &format!("/api/badges/{token}.png"), None, false),
    )
    .await;
    assert_eq!(after.status, 404);

    // A sign-up with an e-mail address: the API function writes its
    // confirmation to the outbox with it and announces it; the badge
    // function, taking the queue's messages, sends it through SES.
    harness
        .ses
        .create_email_identity()
        .email_identity("reg@example.org")
        .send()
        .await
        .unwrap();
    let mut body = registration("iam5", "Mail Choi");
    body["email"] = json!("choi@example.org");
    let mailed = call_api(
        &router,
        api_event("POST", "/api/registrations", Some(&body), false),
    )
    .await;
    assert_eq!(
        mailed.status,
        201,
        "{}",
        String::from_utf8_lossy(&mailed.body)
    );
    let mut sent = 0;
    for _ in 0..10 {
        let records = receive_records().await;
        if !records.is_empty() {
            handle_badge_event(
                &badge_backend,
                &badge_clients.sqs,
                &metrics,
                SweepPolicy::default(),
                json!({ "Records": records }),
            )
            .await
            .unwrap();
        }
        sent = ses_sent(&emulator.endpoint, &identities["harness"]);
        if sent > 0 {
            break;
        }
    }
    assert_eq!(sent, 1, "the confirmation went out through SES");
    use lanyard_domain::RegistrationStore;
    let store = lanyard_aws::DynamoStore::new(harness.dynamodb.clone(), &made.names.table);
    assert_eq!(store.notices_waiting().await.unwrap(), 0);
    // The badge function's sweep mails too: iam3 (given an address by the
    // organizers) lets its offered seat run out, and is told.
    let patched = call_api(
        &router,
        organizer(
            "PATCH",
            "/api/registrations/iam3/serverless-web",
            Some(&json!({"email": "park@example.org"})),
        ),
    )
    .await;
    assert_eq!(
        patched.status,
        200,
        "{}",
        String::from_utf8_lossy(&patched.body)
    );
    let key = lanyard_domain::RegistrationKey {
        user_id: lanyard_domain::UserId::parse("iam3").unwrap(),
        conference: lanyard_domain::ConferenceId::from_stored(CONFERENCE.into()),
    };
    let run_out = lanyard_domain::Seat {
        status: lanyard_domain::SeatStatus::Offered,
        offer_expires_at: Some("2000-01-01T00:00:00.000Z".into()),
    };
    store
        .change_seat(
            &key,
            &[lanyard_domain::SeatStatus::Offered],
            &run_out,
            Some(2),
        )
        .await
        .unwrap();
    let swept = handle_badge_event(
        &badge_backend,
        &badge_clients.sqs,
        &metrics,
        SweepPolicy::default(),
        fixture("scheduled-event.json"),
    )
    .await
    .unwrap();
    assert!(
        matches!(&swept, BadgeInvocation::Swept(r) if r.offers_expired == 1 && r.notices_delivered >= 1),
        "{swept:?}"
    );
    assert_eq!(ses_sent(&emulator.endpoint, &identities["harness"]), 2);
    assert_eq!(store.notices_waiting().await.unwrap(), 0);

    // The sweep erases the attendees of a conference past its retention,
    // their badge files first, under the badge function's policy.
    let past = sign_up_in(&router, PAST, "iam6", "Erased Han").await;
    assert_eq!(past.status, 201, "{}", String::from_utf8_lossy(&past.body));
    let past_token = token_of(past.json()["badge"]["url"].as_str().unwrap());
    let badge_files = || async {
        harness
            .s3
            .list_objects_v2()
            .bucket(&made.names.bucket)
            .prefix("badges/")
            .send()
            .await
            .unwrap()
            .contents
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| o.key)
            .filter(|k| k.contains(&past_token))
            .count()
    };
    for _ in 0..10 {
        let records = receive_records().await;
        if !records.is_empty() {
            handle_badge_event(
                &badge_backend,
                &badge_clients.sqs,
                &metrics,
                SweepPolicy::default(),
                json!({ "Records": records }),
            )
            .await
            .unwrap();
        }
        if badge_files().await > 0 {
            break;
        }
    }
    assert!(badge_files().await > 0, "the badge was rendered");
    let swept = handle_badge_event(
        &badge_backend,
        &badge_clients.sqs,
        &metrics,
        SweepPolicy::default(),
        fixture("scheduled-event.json"),
    )
    .await
    .unwrap();
    assert!(
        matches!(&swept, BadgeInvocation::Swept(r) if r.erased == 1),
        "{swept:?}"
    );
    assert_eq!(badge_files().await, 0, "the badge files are erased");
    let erased = call_api(
        &router,
        organizer("GET", &format!("/api/registrations/iam6/{PAST}"), None),
    )
    .await;
    assert_eq!(erased.status, 404);
    let badge = call_api(
        &router,
        api_event("GET", &format!("/api/badges/{past_token}"), None, false),
    )
    .await;
    assert_eq!(badge.status, 404);
    // What is left is the anonymous count; the other conference keeps its data.
    let stats = call_api(
        &router,
        organizer("GET", &format!("/api/checkins/stats?type={PAST}"), None),
    )
    .await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.json()["conferences"][0]["registered"], 1);
    let kept = call_api(
        &router,
        organizer("GET", "/api/registrations/iam2/serverless-web", None),
    )
    .await;
    assert_eq!(kept.status, 200);

    // What each function used, against what its policy grants.
    drop(emulator);
    let used = actions_by_key(recording.path(), probes, |table| {
        format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}")
    });
    let used_by = |identity: &str| -> BTreeSet<String> {
        used.actions
            .get(identities[identity]["key"].as_str().unwrap())
            .cloned()
            .unwrap_or_default()
    };
    // moto checks DynamoDB's actions only: each table and index the code
    // named is checked here against the template's resources.
    for function in ["ApiFunction", "BadgeFunction"] {
        let key = identities[function]["key"].as_str().unwrap();
        let named = used.dynamodb.get(key).cloned().unwrap_or_default();
        assert!(!named.is_empty(), "{function} used DynamoDB");
        for (action, resource) in named {
            assert!(
                allows(&template_policies[function], &action, &resource),
                "{function}'s policy does not allow {action} on {resource}"
            );
        }
    }
    for (function, unused_by_design) in [
        (
            "ApiFunction",
            // ListBucket changes S3's answer for a missing key from 403 to
            // 404; moto answers 404 without it, so it is never needed here.
            vec!["s3:ListBucket"],
        ),
        (
            "BadgeFunction",
            // SES v2 authorises a raw message as ses:SendEmail;
            // ses:SendRawEmail is granted beside it as AWS CDK's sendEmail
            // grant does, for SES's v1 checks. Lambda itself uses the rest
            // with the function's role: its poller takes the queue's
            // messages (played by the test here), and the runtime writes
            // logs and traces.
            vec![
                "ses:SendRawEmail",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
            ],
        ),
    ] {
        let used = used_by(function);
        let granted = granted(&template_policies[function]);
        let unused: BTreeSet<String> = granted.difference(&used).cloned().collect();
        let expected: BTreeSet<String> = unused_by_design.into_iter().map(str::to_owned).collect();
        assert_eq!(
            unused, expected,
            "{function}: granted {granted:?}, used {used:?}"
        );
        let ungranted: BTreeSet<String> = used.difference(&granted).cloned().collect();
        assert!(
            ungranted.is_empty(),
            "{function} used ungranted {ungranted:?}"
        );
    }
}
