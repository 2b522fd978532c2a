//! The Lambda handlers, driven by API Gateway (HTTP API v2), SNS and
//! EventBridge events as AWS documents them (fixtures), against DynamoDB, S3,
//! SNS and SQS on an AWS emulator. The SNS events given to the badge handler
//! are built from the notifications the emulator actually delivered.

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

const TOKEN: &str = "lambda-organizer-token-0123456789";
const CONFERENCE: &str = "Serverless web project";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An API Gateway event from the recorded ones, for another method, path and body.
fn api_event(method: &str, path: &str, body: Option<&Value>, base64: bool) -> Value {
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

struct Reply {
    status: u16,
    headers: Value,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Passes an event through the same adapter `lambda_http::run` uses and
/// reads back the response Lambda would hand to API Gateway.
async fn call_api(router: &axum::Router, event: Value) -> Reply {
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

    /// The notifications the emulator delivered to the queue subscribed to
    /// the topic, as the SNS events Lambda would have been invoked with.
    async fn delivered_sns_events(&self, expect: usize) -> Vec<Value> {
        let mut events = Vec::new();
        for _ in 0..10 {
            let out = self
                .clients
                .sqs
                .receive_message()
                .queue_url(&self.resources.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in out.messages.unwrap_or_default() {
                let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
                let mut event = fixture("sns-notification.json");
                let sns = &mut event["Records"][0]["Sns"];
                for field in ["Message", "MessageId", "TopicArn", "Timestamp", "Subject"] {
                    sns[field] = envelope[field].clone();
                }
                sns["MessageAttributes"] = json!({});
                events.push(event);
                self.clients
                    .sqs
                    .delete_message()
                    .queue_url(&self.resources.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            if events.len() >= expect {
                break;
            }
        }
        assert_eq!(events.len(), expect, "notifications delivered");
        events
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
    json!({
        "type": CONFERENCE,
        "user_id": user_id,
        "user_name": name,
        "phone_number": "+82 10-1234-5678",
        "company_name": "Cloud; Corp, \\ Ltd"
    })
}

/// A sign-up through the API function, as API Gateway delivers it.
async fn sign_up(router: &axum::Router, user_id: &str, name: &str) -> Reply {
    call_api(
        router,
        api_event(
            "POST",
            "/api/registrations",
            Some(&registration(user_id, name)),
            false,
        ),
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

fn token_of(badge_url: &str) -> String {
    badge_url.trim_start_matches("/api/badges/").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_goes_through_the_api_sns_and_badge_functions_to_a_scannable_badge() {
    let env = setup("e2e").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN));

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

    // The notification SNS delivered runs the badge function.
    let events = env.delivered_sns_events(1).await;
    assert_eq!(events[0]["Records"][0]["Sns"]["Subject"], CONFERENCE);
    let metrics_out = Buffer::default();
    let metrics = MetricsSink::to_writer("badge", Arc::new(Mutex::new(metrics_out.clone())));
    let outcome = handle_badge_event(
        &backend,
        &metrics,
        SweepPolicy::default(),
        events[0].clone(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, BadgeInvocation::Jobs(vec![JobOutcome::Rendered]));
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

    // The same event again (SNS delivers at least once): no work, same object.
    let outcome = handle_badge_event(
        &backend,
        &metrics,
        SweepPolicy::default(),
        events[0].clone(),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        BadgeInvocation::Jobs(vec![JobOutcome::Skipped("badge already done")])
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
    let router = api_router(&backend, AdminToken::new(TOKEN));
    let created = sign_up(&router, "kim", "Kim Cheolsu").await;
    assert_eq!(created.status, 201);
    env.delivered_sns_events(1).await;
    // As the original published it: Message = user_id, Subject = type.
    let mut event = fixture("sns-notification.json");
    event["Records"][0]["Sns"]["Message"] = json!("kim");
    event["Records"][0]["Sns"]["Subject"] = json!(CONFERENCE);
    let outcome = handle_badge_event(
        &backend,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        event,
    )
    .await
    .unwrap();
    assert_eq!(outcome, BadgeInvocation::Jobs(vec![JobOutcome::Rendered]));
    // The fixture's own message names no registration: dropped, not retried.
    let outcome = handle_badge_event(
        &backend,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        fixture("sns-notification.json"),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        BadgeInvocation::Jobs(vec![JobOutcome::Skipped("no such registration")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_publish_is_recovered_by_the_scheduled_sweep() {
    let env = setup("sweep").await;
    // The API function's publish fails: the topic does not exist.
    let broken = env.backend_with_topic("arn:aws:sns:us-east-1:123456789012:no-such-topic");
    let router = api_router(&broken, AdminToken::new(TOKEN));
    for user in ["lost", "doomed"] {
        let created = sign_up(&router, user, "Lost Publish").await;
        assert_eq!(created.status, 201, "the sign-up is acknowledged anyway");
    }
    env.delivered_sns_events(0).await;

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
    let metrics = MetricsSink::discard("badge");
    let swept = handle_badge_event(&backend, &metrics, policy, fixture("scheduled-event.json"))
        .await
        .unwrap();
    assert_eq!(
        swept,
        BadgeInvocation::Swept(lanyard_aws::SweepReport {
            reannounced: 2,
            failed: 0,
            retried: 0,
            erased: 0,
        })
    );
    let events = env.delivered_sns_events(2).await;
    let lost = events
        .iter()
        .find(|e| {
            e["Records"][0]["Sns"]["Message"]
                .as_str()
                .unwrap()
                .contains("\"lost\"")
        })
        .unwrap()
        .clone();
    let outcome = handle_badge_event(&backend, &metrics, policy, lost)
        .await
        .unwrap();
    assert_eq!(outcome, BadgeInvocation::Jobs(vec![JobOutcome::Rendered]));

    // "doomed" never gets rendered: the next sweep past the limit marks it failed.
    let swept = handle_badge_event(&backend, &metrics, policy, fixture("scheduled-event.json"))
        .await
        .unwrap();
    assert_eq!(
        swept,
        BadgeInvocation::Swept(lanyard_aws::SweepReport {
            reannounced: 0,
            failed: 1,
            retried: 0,
            erased: 0,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_errors_fail_the_invocation_so_lambda_retries_it() {
    let env = setup("retry").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN));
    let created = sign_up(&router, "retry", "Retry Me").await;
    assert_eq!(created.status, 201);
    let events = env.delivered_sns_events(1).await;
    // The badge worker cannot write: its bucket is gone.
    let names = AwsResources {
        table: env.resources.names.table.clone(),
        bucket: "no-such-bucket".into(),
        topic_arn: env.resources.names.topic_arn.clone(),
    };
    let cut_off = AwsBackend::new(&env.clients, &names, load_conferences(None).unwrap());
    let result = handle_badge_event(
        &cut_off,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        events[0].clone(),
    )
    .await;
    assert!(result.is_err(), "a retryable failure is returned to Lambda");
    // Still pending, and the retry (with the bucket back) renders it.
    let outcome = handle_badge_event(
        &backend,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        events[0].clone(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, BadgeInvocation::Jobs(vec![JobOutcome::Rendered]));
    // Events that are neither SNS nor scheduled are refused.
    assert!(handle_badge_event(
        &backend,
        &MetricsSink::discard("badge"),
        SweepPolicy::default(),
        json!({"hello": "world"})
    )
    .await
    .is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn api_logs_are_json_lines_with_the_gateway_request_id() {
    let env = setup("logs").await;
    let backend = env.backend();
    let router = api_router(&backend, AdminToken::new(TOKEN));
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
    };
    // The parameter does not exist yet: the function still starts and
    // serves everything that needs no token.
    let router = api_router(
        &backend,
        lanyard_lambda::admin_token(&env.clients, &settings).unwrap(),
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
    let router = api_router(&backend, AdminToken::new(TOKEN));
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
