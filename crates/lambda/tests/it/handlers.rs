//! The Lambda handlers, driven by API Gateway (HTTP API v2), SQS and
//! EventBridge events as AWS documents them (fixtures), against DynamoDB, S3,
//! SNS and SQS on an AWS emulator. The SQS events given to the badge handler
//! are built from the messages the emulator's topic actually delivered to
//! the badge queue.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{Context, LambdaEvent};
use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::{create_resources, Created};
use lanyard_aws::{AwsBackend, AwsClients, AwsResources, MetricsSink, SweepPolicy};
use lanyard_domain::{BadgeJobPolicy, JobOutcome};
use lanyard_http::AdminToken;
use lanyard_lambda::{
    api_router, handle_badge_event, json_logs, load_conferences, BadgeInvocation,
};
use serde_json::{json, Value};
use tower::ServiceExt;

pub(crate) const TOKEN: &str = "lambda-organizer-token-0123456789";
pub(crate) const CONFERENCE: &str = "Serverless web project";

/// A queue batch's invocation in which no job is to be retried.
fn jobs(outcomes: Vec<JobOutcome>) -> BadgeInvocation {
    BadgeInvocation::Jobs {
        outcomes,
        retry: Vec::new(),
    }
}

pub(crate) fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The SQS record Lambda's event source mapping would hand the function for
/// `message`, received from the queue `queue_arn`, with the receive count
/// when the message carries it.
pub(crate) fn sqs_record(message: &aws_sdk_sqs::types::Message, queue_arn: &str) -> Value {
    let mut record = fixture("sqs-event.json")["Records"][0].clone();
    record["messageId"] = json!(message.message_id().unwrap());
    record["receiptHandle"] = json!(message.receipt_handle().unwrap());
    record["body"] = json!(message.body().unwrap());
    record["eventSourceARN"] = json!(queue_arn);
    record["awsRegion"] = json!("us-east-1");
    if let Some(count) = message.attributes().and_then(|a| {
        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
    }) {
        record["attributes"]["ApproximateReceiveCount"] = json!(count);
    }
    record
}

/// An API Gateway event from the recorded ones, for another method, path and body.
pub(crate) fn api_event(method: &str, path: &str, body: Option<&Value>, base64: bool) -> Value {
    let mut event = fixture(if body.is_some() {
        "apigw-v2-post-registration.json"
    } else {
        "apigw-v2-get.json"
    });
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    event["rawPath"] = json!(raw_path);
    event["rawQueryString"] = json!(query);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(raw_path);
    event["pathParameters"]["proxy"] = json!(raw_path.trim_start_matches("/api/"));
    if let Some(body) = body {
        let text = body.to_string();
        event["headers"]["content-length"] = json!(text.len().to_string());
        event["body"] = json!(if base64 { STANDARD.encode(&text) } else { text });
        event["isBase64Encoded"] = json!(base64);
    }
    event
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Value,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Passes an event through the same adapter `lambda_http::run` uses and
/// reads back the response Lambda would hand to API Gateway.
pub(crate) async fn call_api(router: &axum::Router, event: Value) -> Reply {
    let request: LambdaRequest = serde_json::from_value(event).unwrap();
    let adapter = lambda_http::Adapter::from(router.clone());
    let response = adapter
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
        .unwrap();
    let v = serde_json::to_value(response).unwrap();
    let body = match &v["body"] {
        Value::String(text) if v["isBase64Encoded"] == true => STANDARD.decode(text).unwrap(),
        Value::String(text) => text.clone().into_bytes(),
        _ => Vec::new(),
    };
    Reply {
        status: v["statusCode"].as_u64().unwrap() as u16,
        headers: v["headers"].clone(),
        body,
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

struct Setup {
    _emulator: Emulator,
    clients: AwsClients,
    resources: Created,
}

async fn setup(prefix: &str) -> Setup {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, prefix).await.unwrap();
    Setup {
        _emulator: emulator,
        clients,
        resources,
    }
}

impl Setup {
    fn backend_with_topic(&self, topic_arn: &str) -> AwsBackend {
        let names = AwsResources {
            table: self.resources.names.table.clone(),
            bucket: self.resources.names.bucket.clone(),
            topic_arn: topic_arn.to_owned(),
        };
        AwsBackend::new(&self.clients, &names, load_conferences(None).unwrap())
    }

    fn backend(&self) -> AwsBackend {
        self.backend_with_topic(&self.resources.names.topic_arn)
    }

    /// The badge jobs the topic delivered to the badge queue, each as the
    /// SQS event Lambda's event source mapping would invoke the function
    /// with. They stay in flight on the queue, as they do until Lambda
    /// deletes them (see [`Setup::lambda_finishes`]).
    async fn delivered_jobs(&self, expect: usize) -> Vec<Value> {
        let mut events = Vec::new();
        for _ in 0..10 {
            let out = self
                .clients
                .sqs
                .receive_message()
                .queue_url(&self.resources.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                )
                .send()
                .await
                .unwrap();
            for message in out.messages.unwrap_or_default() {
                assert!(
                    message.attributes().is_some(),
                    "the receive count is asked for"
                );
                events
                    .push(json!({ "Records": [sqs_record(&message, &self.resources.queue_arn)] }));
            }
            if events.len() >= expect {
                break;
            }
        }
        assert_eq!(events.len(), expect, "badge jobs delivered");
        events
    }

    /// What Lambda does with a batch once the function returns: deletes
    /// every message but those it reported as failed.
    async fn lambda_finishes(&self, event: &Value, invocation: &BadgeInvocation) {
        let failed = invocation.response()["batchItemFailures"].clone();
        for record in event["Records"].as_array().unwrap() {
            let id = &record["messageId"];
            if failed
                .as_array()
                .is_some_and(|f| f.iter().any(|f| &f["itemIdentifier"] == id))
            {
                continue;
            }
            self.clients
                .sqs
                .delete_message()
                .queue_url(&self.resources.queue_url)
                .receipt_handle(record["receiptHandle"].as_str().unwrap())
                .send()
                .await
                .unwrap();
        }
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self
            .clients
            .s3
            .get_object()
            .bucket(&self.resources.names.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(_) => None,
        }
    }
}

fn registration(user_id: &str, name: &str) -> Value {
    registration_in(CONFERENCE, user_id, name)
}

pub(crate) fn registration_in(conference: &str, user_id: &str, name: &str) -> Value {
    json!({
        "type": conference,
        "user_id": user_id,
        "user_name": name,
        "phone_number": "+82 10-1234-5678",
        "company_name": "Cloud; Corp, \\ Ltd"
    })
}

/// A sign-up through the API function, as API Gateway delivers it.
async fn sign_up(router: &axum::Router, user_id: &str, name: &str) -> Reply {
    sign_up_in(router, CONFERENCE, user_id, name).await
}

pub(crate) async fn sign_up_in(
    router: &axum::Router,
    conference: &str,
    user_id: &str,
    name: &str,
) -> Reply {
    let body = registration_in(conference, user_id, name);
    call_api(
        router,
        api_event("POST", "/api/registrations", Some(&body), false),
    )
    .await
}

fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the badge");
    let mut bytes = Vec::new();
    grids[0].decode_to(&mut bytes).expect("the QR code decodes");
    String::from_utf8(bytes).expect("UTF-8 payload")
}

pub(crate) fn token_of(badge_url: &str) -> String {
    badge_url.trim_start_matches("/api/badges/").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_goes_through_the_api_sns_and_badge_functions_to_a_scannable_badge() {
    let env = setup("e2e").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN), None);

    let conferences = call_api(&router, api_event("GET", "/api/conferences", None, false)).await;
    assert_eq!(conferences.status, 200);
    assert_eq!(conferences.json()["items"][0]["id"], CONFERENCE);
    // API Gateway's request id is the request id of the response (and the logs).
    assert_eq!(conferences.headers["x-request-id"], "JKJbHgTFvHcESHB=");
    assert_eq!(conferences.headers["x-content-type-options"], "nosniff");

    // API Gateway hands some bodies over base64-encoded.
    let mut body = registration("hong", "홍길동");
    body["contact_on_badge"] = serde_json::json!(true);
    let created = call_api(
        &router,
        api_event("POST", "/api/registrations", Some(&body), true),
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let created = created.json();
    assert_eq!(created["badge"]["status"], "pending");
    let token = token_of(created["badge"]["url"].as_str().unwrap());
    let code = created["checkin_code"].as_str().unwrap().to_owned();

    // The item is in DynamoDB, keyed as the original table was.
    let item = env
        .clients
        .dynamodb
        .get_item()
        .table_name(&env.resources.names.table)
        .key(
            "user_id",
            aws_sdk_dynamodb::types::AttributeValue::S("hong".into()),
        )
        .key(
            "type",
            aws_sdk_dynamodb::types::AttributeValue::S(CONFERENCE.into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the item is stored");
    assert_eq!(item["user_name"].as_s().unwrap(), "홍길동");
    assert_eq!(item["badge_status"].as_s().unwrap(), "pending");

    // A duplicate is refused and changes nothing.
    let again = sign_up(&router, "hong", "Impostor").await;
    assert_eq!(again.status, 409);

    // The job SNS delivered to the badge queue runs the badge function.
    let events = env.delivered_jobs(1).await;
    let envelope: Value =
        serde_json::from_str(events[0]["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Subject"], CONFERENCE);
    let metrics_out = Buffer::default();
    let metrics = MetricsSink::to_writer("badge", Arc::new(Mutex::new(metrics_out.clone())));
    let outcome = handle_badge_event(
        &backend,
        &env.clients.sqs,
        &metrics,
        SweepPolicy::default(),
        events[0].clone(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, jobs(vec![JobOutcome::Rendered]));
    assert_eq!(outcome.response(), json!({"batchItemFailures": []}));
    let png_key = format!("badges/{token}.png");
    let first = env.object(&png_key).await.expect("the PNG is in S3");
    // The SVG and the PDF are made when first asked for.
    let svg_key = format!("badges/{token}.svg");
    assert!(env.object(&svg_key).await.is_none());

    // Metrics in CloudWatch's embedded format.
    let lines = metrics_out.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["BadgesRendered"], 1);
    assert_eq!(lines[0]["Service"], "badge");
    assert!(lines[0]["RenderTime"].as_f64().unwrap() > 0.0);
    assert_eq!(
        lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "lanyard"
    );

    // The same event again (SNS and SQS deliver at least once): no work,
    // same object.
    let outcome = handle_badge_event(
        &backend,
        &env.clients.sqs,
        &metrics,
        SweepPolicy::default(),
        events[0].clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        jobs(vec![JobOutcome::Skipped("badge already done")])
    );
    assert_eq!(env.object(&png_key).await.unwrap(), first);
    assert_eq!(metrics_out.lines().len(), 1, "no second render");

    // The badge, through the API function, decodes to the attendee's vCard.
    let state = call_api(
        &router,
        api_event("GET", &format!("/api/badges/{token}"), None, false),
    )
    .await;
    assert_eq!(state.json()["status"], "ready");
    let png = call_api(
        &router,
        api_event("GET", &format!("/api/badges/{token}.png"), None, false),
    )
    .await;
    assert_eq!(png.status, 200);
    assert_eq!(png.headers["content-type"], "image/png");
    assert_eq!(png.body, first);
    assert_eq!(
        decode_qr(&png.body),
        lanyard_badge::Payload::vcard_with_uid(
            "홍길동",
            "+82 10-1234-5678",
            Some("Cloud; Corp, \\ Ltd"),
            &format!("urn:lanyard:checkin:{code}")
        )
        .as_str()
    );
    let pdf = call_api(
        &router,
        api_event("GET", &format!("/api/badges/{token}.pdf"), None, false),
    )
    .await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with(b"%PDF"));
    let svg = call_api(
        &router,
        api_event("GET", &format!("/api/badges/{token}.svg"), None, false),
    )
    .await;
    assert_eq!(svg.status, 200);
    assert_eq!(env.object(&svg_key).await.unwrap(), svg.body);

    // Organizer endpoints need the token, through Lambda as anywhere.
    let list = call_api(
        &router,
        api_event("GET", "/api/registrations?limit=10", None, false),
    )
    .await;
    assert_eq!(list.status, 401);
    let mut authorized = api_event("GET", "/api/registrations?limit=10", None, false);
    authorized["headers"]["authorization"] = json!(format!("Bearer {TOKEN}"));
    let list = call_api(&router, authorized).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["items"][0]["user_id"], "hong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_badge_function_reads_the_original_message_form() {
    let env = setup("original").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN), None);
    let created = sign_up(&router, "kim", "Kim Cheolsu").await;
    assert_eq!(created.status, 201);
    // The sign-up's own job is set aside unrun.
    let own = env.delivered_jobs(1).await;
    env.lambda_finishes(&own[0], &jobs(vec![])).await;
    // As the original published it: Message = user_id, Subject = type.
    env.clients
        .sns
        .publish()
        .topic_arn(&env.resources.names.topic_arn)
        .message("kim")
        .subject(CONFERENCE)
        .send()
        .await
        .unwrap();
    let event = env.delivered_jobs(1).await.remove(0);
    let outcome = handle_badge_event(
        &backend,
        &env.clients.sqs,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        event,
    )
    .await
    .unwrap();
    assert_eq!(outcome, jobs(vec![JobOutcome::Rendered]));
    // The fixture's own message names no badge: dropped, not retried.
    let outcome = handle_badge_event(
        &backend,
        &env.clients.sqs,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        fixture("sqs-event.json"),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        jobs(vec![JobOutcome::Skipped("unreadable message")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_publish_is_recovered_by_the_scheduled_sweep() {
    let env = setup("sweep").await;
    // The API function's publish fails: the topic does not exist.
    let broken = env.backend_with_topic("arn:aws:sns:us-east-1:123456789012:no-such-topic");
    let router = api_router(&broken, AdminToken::new(TOKEN), None);
    for user in ["lost", "doomed"] {
        let created = sign_up(&router, user, "Lost Publish").await;
        assert_eq!(created.status, 201, "the sign-up is acknowledged anyway");
    }
    env.delivered_jobs(0).await;

    // The scheduled sweep finds both pending badges and announces them again.
    let mut backend = env.backend();
    backend.lanyard = backend.lanyard.with_job_policy(BadgeJobPolicy {
        max_attempts: 1,
        ..BadgeJobPolicy::default()
    });
    let policy = SweepPolicy {
        stale_after: Duration::ZERO,
        batch: 100,
    };
    let metrics_out = Buffer::default();
    let metrics = MetricsSink::to_writer("badge", Arc::new(Mutex::new(metrics_out.clone())));
    let swept = handle_badge_event(
        &backend,
        &env.clients.sqs,
        &metrics,
        policy,
        fixture("scheduled-event.json"),
    )
    .await
    .unwrap();
    assert_eq!(
        swept,
        BadgeInvocation::Swept(lanyard_aws::SweepReport {
            reannounced: 2,
            failed: 0,
            retried: 0,
            erased: 0,
            offers_expired: 0,
            ..Default::default()
        })
    );
    let events = env.delivered_jobs(2).await;
    let user_of = |event: &Value| -> String {
        let envelope: Value =
            serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
        let job: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        job["user_id"].as_str().unwrap().to_owned()
    };
    let lost = events.iter().find(|e| user_of(e) == "lost").unwrap();
    let outcome = handle_badge_event(&backend, &env.clients.sqs, &metrics, policy, lost.clone())
        .await
        .unwrap();
    assert_eq!(outcome, jobs(vec![JobOutcome::Rendered]));
    assert_eq!(metrics_out.lines().len(), 1, "the render's metrics");

    // "doomed" never gets rendered: the next sweep past the limit marks it
    // failed, and counts it in the metric the failures alarm watches.
    let swept = handle_badge_event(
        &backend,
        &env.clients.sqs,
        &metrics,
        policy,
        fixture("scheduled-event.json"),
    )
    .await
    .unwrap();
    let lines = metrics_out.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["BadgeFailures"], 1);
    assert_eq!(lines[1]["Service"], "badge");
    assert_eq!(
        swept,
        BadgeInvocation::Swept(lanyard_aws::SweepReport {
            reannounced: 0,
            failed: 1,
            retried: 0,
            erased: 0,
            offers_expired: 0,
            ..Default::default()
        })
    );
    let get = |user: &str| {
        let mut e = api_event(
            "GET",
            &format!("/api/registrations/{user}/Serverless%20web%20project"),
            None,
            false,
        );
        e["headers"]["authorization"] = json!(format!("Bearer {TOKEN}"));
        e
    };
    let lost = call_api(&router, get("lost")).await.json();
    assert_eq!(lost["badge"]["status"], "ready");
    let doomed = call_api(&router, get("doomed")).await.json();
    assert_eq!(doomed["badge"]["status"], "failed");
    assert!(doomed["badge"]["error"]
        .as_str()
        .unwrap()
        .contains("announcements"));
    // Lost announcements may pass: the badge is queued again in half an hour.
    let retry_at = doomed["badge"]["retry_at"].as_str().unwrap();
    let in_half_an_hour = lanyard_domain::registration::rfc3339(
        time::OffsetDateTime::now_utc() + Duration::from_secs(29 * 60),
    );
    assert!(retry_at > in_half_an_hour.as_str(), "{retry_at}");
}

/// A job that failed for a reason that may pass is reported as a failed
/// batch item and made invisible for the policy's delay; the queue hands
/// it back as the next attempt, and it is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failed_by_storage_comes_back_from_the_queue_and_is_made() {
    let env = setup("retry").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN), None);
    let created = sign_up(&router, "retry", "Retry Me").await;
    assert_eq!(created.status, 201);
    let events = env.delivered_jobs(1).await;
    let id = events[0]["Records"][0]["messageId"].clone();
    // The badge worker cannot write: its bucket is gone.
    let names = AwsResources {
        table: env.resources.names.table.clone(),
        bucket: "no-such-bucket".into(),
        topic_arn: env.resources.names.topic_arn.clone(),
    };
    let cut_off = AwsBackend::new(&env.clients, &names, load_conferences(None).unwrap());
    let invocation = handle_badge_event(
        &cut_off,
        &env.clients.sqs,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        events[0].clone(),
    )
    .await
    .unwrap();
    let BadgeInvocation::Jobs { outcomes, retry } = &invocation else {
        panic!("a queue batch: {invocation:?}");
    };
    assert!(
        matches!(outcomes[..], [JobOutcome::Retry { .. }]),
        "{outcomes:?}"
    );
    assert_eq!(retry, &[id.as_str().unwrap().to_owned()]);
    assert_eq!(
        invocation.response(),
        json!({"batchItemFailures": [{"itemIdentifier": id}]})
    );
    env.lambda_finishes(&events[0], &invocation).await;

    // It comes back after the policy's first delay, as the second attempt;
    // with the bucket back, it is made and leaves the queue.
    let again = env.delivered_jobs(1).await.remove(0);
    assert_eq!(again["Records"][0]["messageId"], id);
    assert_eq!(
        again["Records"][0]["attributes"]["ApproximateReceiveCount"],
        "2"
    );
    let outcome = handle_badge_event(
        &backend,
        &env.clients.sqs,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        again.clone(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, jobs(vec![JobOutcome::Rendered]));
    env.lambda_finishes(&again, &outcome).await;
    env.delivered_jobs(0).await;
    // Events that are neither SQS nor scheduled are refused.
    assert!(handle_badge_event(
        &backend,
        &env.clients.sqs,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        json!({"hello": "world"})
    )
    .await
    .is_err());
}

/// Deployed, the API answers only what came through CloudFront, which adds
/// the origin secret: a request straight to API Gateway's address is
/// refused before it reaches any route, sign-ups included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_origin_secret_the_api_refuses_everything() {
    let env = setup("origin").await;
    let backend = env.backend();
    let secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let router = api_router(
        &backend,
        AdminToken::new(TOKEN),
        Some(lanyard_http::OriginSecret::new(secret)),
    );
    let body = registration("direct", "Direct Caller");
    for header in [None, Some("wrong"), Some(&secret[..secret.len() - 1])] {
        for mut event in [
            api_event("GET", "/api/conferences", None, false),
            api_event("POST", "/api/registrations", Some(&body), false),
        ] {
            if let Some(value) = header {
                event["headers"]["x-origin-verify"] = json!(value);
            }
            let reply = call_api(&router, event).await;
            assert_eq!(reply.status, 403, "{header:?}");
            assert_eq!(reply.json()["error"]["code"], "forbidden");
        }
    }
    env.delivered_jobs(0).await;
    let mut event = api_event("POST", "/api/registrations", Some(&body), false);
    event["headers"]["x-origin-verify"] = json!(secret);
    let reply = call_api(&router, event).await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn api_logs_are_json_lines_with_the_gateway_request_id() {
    let env = setup("logs").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN), None);
    let out = Buffer::default();
    let writer = out.clone();
    let _logging = tracing::subscriber::set_default(json_logs(move || writer.clone(), "info"));
    let mut event = api_event("GET", "/api/registrations?limit=5", None, false);
    event["headers"]["authorization"] = json!(format!("Bearer {TOKEN}"));
    let reply = call_api(&router, event).await;
    assert_eq!(reply.status, 200);
    let lines = out.lines();
    let response = lines
        .iter()
        .find(|l| l["fields"]["message"] == "response")
        .expect("a response log line");
    assert_eq!(response["span"]["request_id"], "JKJbHgTFvHcESHB=");
    assert_eq!(response["fields"]["status"], 200);
    assert_eq!(response["level"], "INFO");
    let all = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(!all.contains(TOKEN), "the organizer token is never logged");
}

/// The organizer token is read from Parameter Store on the first request
/// that presents a token, not at start, and then kept: a burst of cold
/// starts makes no Parameter Store call until someone signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizer_token_is_read_from_ssm_when_first_needed_and_kept() {
    let env = setup("ssm").await;
    let backend = env.backend();
    let parameter = "/lanyard-test/admin-token";
    let settings = lanyard_lambda::Settings {
        resources: env.resources.names.clone(),
        config: None,
        admin_token: lanyard_lambda::AdminTokenSource::Parameter(parameter.into()),
        origin_secret: None,
        mail: None,
    };
    // The parameter does not exist yet: the function still starts and
    // serves everything that needs no token.
    let router = api_router(
        &backend,
        lanyard_lambda::admin_token(&env.clients, &settings).unwrap(),
        None,
    );
    let conferences = call_api(&router, api_event("GET", "/api/conferences", None, false)).await;
    assert_eq!(conferences.status, 200);
    let organizer = || {
        let mut event = api_event("GET", "/api/registrations?limit=10", None, false);
        event["headers"]["authorization"] = json!(format!("Bearer {TOKEN}"));
        event
    };
    // A request with a token: the read fails, the answer is a 503 (not a
    // 401 for a right token), and the next request tries again.
    let unreadable = call_api(&router, organizer()).await;
    assert_eq!(unreadable.status, 503);
    assert_eq!(unreadable.json()["error"]["code"], "storage_unavailable");
    env.clients
        .ssm
        .put_parameter()
        .name(parameter)
        .value(TOKEN)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    assert_eq!(call_api(&router, organizer()).await.status, 200);
    // Kept: a changed parameter is not read again by this instance.
    env.clients
        .ssm
        .put_parameter()
        .name(parameter)
        .value("another-token-0123456789")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    assert_eq!(call_api(&router, organizer()).await.status, 200);
    let mut wrong = organizer();
    wrong["headers"]["authorization"] = json!("Bearer another-token-0123456789");
    assert_eq!(call_api(&router, wrong).await.status, 401);
}

/// The original page's requests, through API Gateway to the API function:
/// its sign-up (a JSON string labelled as a form) is taken, its History tab
/// is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_pages_route_works_behind_api_gateway() {
    let env = setup("jquery").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN), None);
    let mut event = api_event(
        "POST",
        "/conference",
        Some(&registration("jquery", "Original Page")),
        false,
    );
    event["headers"]["content-type"] = json!("application/x-www-form-urlencoded; charset=UTF-8");
    event["headers"]["origin"] = json!("https://d111111abcdef8.cloudfront.net");
    let created = call_api(&router, event).await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.headers["access-control-allow-origin"], "*");
    assert_eq!(created.json()["user_id"], "jquery");
    let history = call_api(&router, api_event("GET", "/conference", None, false)).await;
    assert_eq!(history.status, 401);
    assert_eq!(history.json()["error"]["code"], "unauthorized");
}
