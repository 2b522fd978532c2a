//! `lanyard serve --backend aws`, the real binary, against DynamoDB, S3, SNS
//! and SQS on an AWS emulator: sign-up → item in DynamoDB → SNS → SQS →
//! badge worker → PNG in S3 → served → QR decoded; the duplicate race; items
//! the original system wrote.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{decode_qr, race_duplicates, registration, TOKEN};
use aws_sdk_dynamodb::types::AttributeValue;
use lanyard_aws::emulator::Emulator;
use lanyard_aws::setup::create_resources;
use lanyard_aws::AwsResources;
use reqwest::Method;
use serde_json::Value;

const CONFERENCE: &str = "Serverless web project";
const CONFERENCE_PATH: &str = "Serverless%20web%20project";

struct Server {
    child: Child,
    url: String,
    client: reqwest::Client,
}

impl Server {
    fn start(
        emulator: &Emulator,
        names: &AwsResources,
        queue_url: &str,
        data_dir: &std::path::Path,
    ) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lanyard"));
        command
            .args(["serve", "--backend", "aws", "--addr", "127.0.0.1:0"])
            .args([
                "--rate-limit",
                "0",
                "--admin-token",
                TOKEN,
                "--workers",
                "2",
            ])
            .args(["--table", &names.table, "--bucket", &names.bucket])
            .args(["--topic-arn", &names.topic_arn])
            .args(["--badge-queue-url", queue_url])
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("AWS_PROFILE")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in emulator.env() {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("lanyard starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("lanyard prints its address").unwrap();
            if let Some(url) = line.strip_prefix("lanyard listening on ") {
                break url.to_owned();
            }
        };
        Server {
            child,
            url,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    async fn post(&self, body: &Value) -> (u16, Value) {
        let res = self
            .client
            .post(self.url("/api/registrations"))
            .json(body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    async fn organizer(&self, method: Method, path: &str) -> (u16, Value) {
        let res = self
            .client
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }

    async fn ready_png(&self, badge_url: &str) -> Vec<u8> {
        for _ in 0..300 {
            let body: Value = self
                .client
                .get(self.url(badge_url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match body["status"].as_str() {
                Some("ready") => {
                    let png = body["png"].as_str().unwrap();
                    let res = self.client.get(self.url(png)).send().await.unwrap();
                    assert_eq!(res.status(), 200);
                    return res.bytes().await.unwrap().to_vec();
                }
                Some("pending") => tokio::time::sleep(Duration::from_millis(100)).await,
                _ => panic!("badge {badge_url}: {body}"),
            }
        }
        panic!("badge {badge_url} stayed pending");
    }

    /// SIGTERM, as a service manager stops it; the process must exit cleanly.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "lanyard exited with {exit}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resources `lanyard aws-setup` names in the command it prints.
struct Printed {
    names: AwsResources,
    queue_url: String,
}

/// `lanyard aws-setup`, and the resources named in the command it prints.
fn aws_setup(emulator: &Emulator, prefix: &str) -> Printed {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lanyard"));
    command.args(["aws-setup", "--prefix", prefix]);
    for (name, value) in emulator.env() {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("lanyard serve --backend aws"))
        .expect("the serve command");
    let words: Vec<&str> = line.split_whitespace().collect();
    let flag = |name: &str| {
        let at = words.iter().position(|w| *w == name).unwrap();
        words[at + 1].to_owned()
    };
    Printed {
        names: AwsResources {
            table: flag("--table"),
            bucket: flag("--bucket"),
            topic_arn: flag("--topic-arn"),
        },
        queue_url: flag("--badge-queue-url"),
    }
}

fn vcard(name: &str, company: Option<&str>, code: &str) -> String {
    lanyard_badge::Payload::vcard_with_uid(
        name,
        "+82 10-1234-5678",
        company,
        &format!("urn:lanyard:checkin:{code}"),
    )
    .into_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_the_aws_backend_takes_a_sign_up_to_a_scannable_badge() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = aws_setup(&emulator, "serve");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );

    let names = [
        ("hong", "홍길동"),
        ("amira", "أميرة حداد"),
        ("zoe", "Zoë Ångström"),
    ];
    let mut badges = Vec::new();
    for (user, name) in names {
        let mut consenting = registration(user, name);
        consenting["contact_on_badge"] = serde_json::json!(true);
        let (status, body) = server.post(&consenting).await;
        assert_eq!(status, 201, "{body}");
        badges.push((
            name,
            body["badge"]["url"].as_str().unwrap().to_owned(),
            body["checkin_code"].as_str().unwrap().to_owned(),
        ));
    }
    // Each item is in DynamoDB under the original table's keys.
    let item = clients
        .dynamodb
        .get_item()
        .table_name(&resources.names.table)
        .key("user_id", AttributeValue::S("hong".into()))
        .key("type", AttributeValue::S(CONFERENCE.into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("stored in DynamoDB");
    assert_eq!(item["phone_number"].as_s().unwrap(), "+82 10-1234-5678");
    // The SQS worker renders each badge; every one decodes to its vCard.
    for (name, url, code) in &badges {
        let png = server.ready_png(url).await;
        assert_eq!(
            decode_qr(&png),
            vcard(name, Some("Example; Corp, \\ Ltd"), code)
        );
        let token = url.trim_start_matches("/api/badges/");
        let stored = clients
            .s3
            .get_object()
            .bucket(&resources.names.bucket)
            .key(format!("badges/{token}.png"))
            .send()
            .await
            .expect("the PNG is in S3");
        assert_eq!(stored.content_type(), Some("image/png"));
        assert_eq!(
            stored.body.collect().await.unwrap().into_bytes().to_vec(),
            png
        );
    }

    // Deleting removes the item and the files.
    let token = badges[0].1.trim_start_matches("/api/badges/").to_owned();
    let (status, _) = server
        .organizer(
            Method::DELETE,
            &format!("/api/registrations/hong/{CONFERENCE_PATH}"),
        )
        .await;
    assert_eq!(status, 204);
    assert!(clients
        .s3
        .get_object()
        .bucket(&resources.names.bucket)
        .key(format!("badges/{token}.png"))
        .send()
        .await
        .is_err());
    server.stop();
}

/// The event day on DynamoDB: a desk made with `lanyard desk --backend aws`,
/// scans from two desks at once with one winner, a replayed nonce, stats,
/// revocation, and an attendee erasing their own registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desks_and_checkins_on_dynamodb() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, "desk").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );
    let desk_cli = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lanyard"));
        command.arg("desk").args(args).args([
            "--backend",
            "aws",
            "--table",
            &resources.names.table,
        ]);
        for (name, value) in emulator.env() {
            command.env(name, value);
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let door_a = desk_cli(&["create", "Door A"]);
    let door_b = desk_cli(&["create", "Door B"]);
    assert!(desk_cli(&["list"]).contains("Door B"));

    let (status, created) = server.post(&registration("scanned", "Scanned")).await;
    assert_eq!(status, 201);
    let code = created["checkin_code"].as_str().unwrap().to_owned();
    let mut scans = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (client, url) = (server.client.clone(), server.url("/api/checkins"));
        let token = if i % 2 == 0 {
            door_a.clone()
        } else {
            door_b.clone()
        };
        let code = code.clone();
        scans.spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "code": code, "nonce": format!("n{i}") }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()["result"]
                .as_str()
                .unwrap()
                .to_owned()
        });
    }
    let mut results = Vec::new();
    while let Some(r) = scans.join_next().await {
        results.push(r.unwrap());
    }
    assert_eq!(
        results.iter().filter(|r| *r == "checked_in").count(),
        1,
        "{results:?}"
    );
    // A replay of a scan is answered and counts once.
    let replay = server
        .client
        .post(server.url("/api/checkins"))
        .bearer_auth(&door_a)
        .json(&serde_json::json!({ "code": code, "nonce": "n0" }))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    let (_, stats) = server.organizer(Method::GET, "/api/checkins/stats").await;
    let conference = stats["conferences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == CONFERENCE)
        .unwrap()
        .clone();
    assert_eq!(conference["registered"], 1);
    assert_eq!(conference["checked_in"], 1);
    // A desk token cannot read the list; revoked, it is refused.
    let list = server
        .client
        .get(server.url("/api/registrations"))
        .bearer_auth(&door_a)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 403);
    desk_cli(&["revoke", "Door A"]);
    let refused = server
        .client
        .get(server.url("/api/desk"))
        .bearer_auth(&door_a)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // The attendee erases their registration with its badge link.
    let url = created["badge"]["url"].as_str().unwrap();
    server.ready_png(url).await;
    let erased = server.client.delete(server.url(url)).send().await.unwrap();
    assert_eq!(erased.status(), 204);
    let token = url.trim_start_matches("/api/badges/");
    assert!(clients
        .s3
        .get_object()
        .bucket(&resources.names.bucket)
        .key(format!("badges/{token}.png"))
        .send()
        .await
        .is_err());
    let gone = server
        .client
        .post(server.url("/api/checkins"))
        .bearer_auth(&door_b)
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_on_dynamodb_give_one_201_and_the_winner_is_stored() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, "race").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );
    let (created, conflicts) =
        race_duplicates(&server.client, server.url("/api/registrations")).await;
    println!(
        "DynamoDB race: {} created, {conflicts} conflicts",
        created.len()
    );
    assert_eq!((created.len(), conflicts), (1, 49));
    let (status, stored) = server
        .organizer(
            Method::GET,
            &format!("/api/registrations/racer/{CONFERENCE_PATH}"),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        stored["user_name"], created[0]["user_name"],
        "the stored data is the winner's"
    );
    let png = server
        .ready_png(created[0]["badge"]["url"].as_str().unwrap())
        .await;
    // The winner's badge: its check-in code (no consent was given).
    assert_eq!(
        decode_qr(&png),
        created[0]["checkin_code"].as_str().unwrap()
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_the_original_system_wrote_load_and_get_a_badge_on_demand() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, "legacy").await.unwrap();
    // Exactly what the original Post function put: five attributes.
    clients
        .dynamodb
        .put_item()
        .table_name(&resources.names.table)
        .item("user_id", AttributeValue::S("legacy".into()))
        .item("type", AttributeValue::S(CONFERENCE.into()))
        .item("user_name", AttributeValue::S("김영희".into()))
        .item("phone_number", AttributeValue::S("010-9876-5432".into()))
        .item("company_name", AttributeValue::S("Old Corp".into()))
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );
    let path = format!("/api/registrations/legacy/{CONFERENCE_PATH}");
    let (status, item) = server.organizer(Method::GET, &path).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["user_name"], "김영희");
    assert_eq!(item["badge"], Value::Null, "no badge yet");
    let (status, listed) = server
        .organizer(Method::GET, "/api/registrations?limit=10")
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["user_id"], "legacy");
    let (status, rerendered) = server
        .organizer(Method::POST, &format!("{path}/badge"))
        .await;
    assert_eq!(status, 202, "{rerendered}");
    let png = server
        .ready_png(rerendered["badge"]["url"].as_str().unwrap())
        .await;
    // The original's items carry no consent: the QR is the check-in code.
    assert_eq!(
        decode_qr(&png),
        rerendered["checkin_code"]
            .as_str()
            .expect("a code was given")
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_originals_items_outside_todays_rules_list_open_render_and_delete() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, "oddities").await.unwrap();
    let put = |user_id: &str, fields: Vec<(&str, AttributeValue)>| {
        let mut request = clients
            .dynamodb
            .put_item()
            .table_name(&resources.names.table)
            .item("user_id", AttributeValue::S(user_id.into()))
            .item("type", AttributeValue::S(CONFERENCE.into()));
        for (name, value) in fields {
            request = request.item(name, value);
        }
        request.send()
    };
    // A user id with a space, a phone stored as a number, an empty company.
    put(
        "hong gildong",
        vec![
            ("user_name", AttributeValue::S("홍길동".into())),
            ("phone_number", AttributeValue::N("1012345678".into())),
            ("company_name", AttributeValue::S("".into())),
        ],
    )
    .await
    .unwrap();
    // A name longer than today's 100 characters, a phone with dots.
    put(
        "old.kim",
        vec![
            ("user_name", AttributeValue::S("김".repeat(120))),
            ("phone_number", AttributeValue::S("010.9876.5432".into())),
        ],
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );
    let (status, listed) = server
        .organizer(Method::GET, "/api/registrations?limit=1")
        .await;
    assert_eq!(status, 200, "{listed}");
    let (_, rest) = server
        .organizer(
            Method::GET,
            &format!(
                "/api/registrations?limit=1&cursor={}",
                listed["next_cursor"].as_str().expect("a second page")
            ),
        )
        .await;
    let mut ids = vec![
        listed["items"][0]["user_id"].as_str().unwrap().to_owned(),
        rest["items"][0]["user_id"].as_str().unwrap().to_owned(),
    ];
    ids.sort();
    assert_eq!(
        ids,
        ["hong gildong", "old.kim"],
        "none disappears from the list"
    );
    for (path_id, phone) in [
        ("hong%20gildong", "1012345678"),
        ("old.kim", "010.9876.5432"),
    ] {
        let path = format!("/api/registrations/{path_id}/{CONFERENCE_PATH}");
        let (status, item) = server.organizer(Method::GET, &path).await;
        assert_eq!(status, 200, "{item}");
        assert_eq!(item["phone_number"], phone);
        let (status, queued) = server
            .organizer(Method::POST, &format!("{path}/badge"))
            .await;
        assert_eq!(status, 202, "{queued}");
        let png = server
            .ready_png(queued["badge"]["url"].as_str().unwrap())
            .await;
        assert_eq!(decode_qr(&png), queued["checkin_code"].as_str().unwrap());
        let (status, _) = server.organizer(Method::DELETE, &path).await;
        assert_eq!(status, 204);
        assert_eq!(server.organizer(Method::GET, &path).await.0, 404);
    }
    server.stop();
}

/// The original system's table: its keys and nothing else.
async fn create_original_table(clients: &lanyard_aws::AwsClients, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("user_id"))
        .attribute_definitions(attribute("type"))
        .key_schema(key("user_id", KeyType::Hash))
        .key_schema(key("type", KeyType::Range))
        .send()
        .await
        .unwrap();
}

fn run_lanyard(emulator: &Emulator, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lanyard"));
    command.args(args).env_remove("AWS_PROFILE");
    for (name, value) in emulator.env() {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_table_is_refused_at_start_then_adopted_with_its_items() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let mut resources = create_resources(&clients, "adopt").await.unwrap();
    let table = "OriginalRegistrations";
    create_original_table(&clients, table).await;
    let original_item = std::collections::HashMap::from([
        ("user_id".to_owned(), AttributeValue::S("before".into())),
        ("type".to_owned(), AttributeValue::S(CONFERENCE.into())),
        ("user_name".to_owned(), AttributeValue::S("홍길동".into())),
        (
            "phone_number".to_owned(),
            AttributeValue::S("010-1234-5678".into()),
        ),
        (
            "company_name".to_owned(),
            AttributeValue::S("Original Co".into()),
        ),
    ]);
    // And one an earlier lanyard wrote: a creation time and an e-mail
    // address, no list place and no key in the e-mail index.
    let mut earlier_item = original_item.clone();
    earlier_item.insert("user_id".to_owned(), AttributeValue::S("earlier".into()));
    earlier_item.insert(
        "email".to_owned(),
        AttributeValue::S("Earlier@Example.org".into()),
    );
    earlier_item.insert(
        "created_at".to_owned(),
        AttributeValue::S("2026-01-01T09:00:00.000Z".into()),
    );
    for item in [&original_item, &earlier_item] {
        clients
            .dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(item.clone()))
            .send()
            .await
            .unwrap();
    }

    // Serving on it is refused, naming the missing indexes and the fix.
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let refused = run_lanyard(
        &emulator,
        &[
            "serve",
            "--backend",
            "aws",
            "--addr",
            "127.0.0.1:0",
            "--admin-token",
            TOKEN,
            "--table",
            table,
            "--bucket",
            &resources.names.bucket,
            "--topic-arn",
            &resources.names.topic_arn,
            "--data-dir",
            data_dir,
        ],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for needed in [
        "badge-token",
        "checkin-code",
        "pending-badges",
        "conference-list",
    ] {
        assert!(stderr.contains(needed), "{stderr}");
    }
    assert!(
        stderr.contains(&format!("lanyard aws-setup --table {table}")),
        "{stderr}"
    );

    // Adopted: the indexes are added and active; the item keeps every
    // attribute it had and gains its place in its conference's list.
    let adopted = run_lanyard(&emulator, &["aws-setup", "--table", table]);
    let stdout = String::from_utf8_lossy(&adopted.stdout);
    assert!(
        adopted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&adopted.stderr)
    );
    assert!(
        stdout.contains("badge-token, checkin-code, pending-badges, conference-list, seat-queue"),
        "{stdout}"
    );
    let described = clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = described
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "badge-token",
            "checkin-code",
            "conference-list",
            "email",
            "pending-badges",
            "seat-queue"
        ]
    );
    let stored = clients
        .dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let mut listed_original = original_item.clone();
    listed_original.insert("listed_at".to_owned(), AttributeValue::S("0".into()));
    let mut listed_earlier = earlier_item.clone();
    listed_earlier.insert(
        "listed_at".to_owned(),
        AttributeValue::S("2026-01-01T09:00:00.000Z".into()),
    );
    listed_earlier.insert(
        "email_key".to_owned(),
        AttributeValue::S("earlier@example.org".into()),
    );
    // Both are counted into the check-in counters, once.
    for item in [&mut listed_original, &mut listed_earlier] {
        item.insert("tallied".to_owned(), AttributeValue::Bool(true));
    }
    let partition = |i: &std::collections::HashMap<String, AttributeValue>| {
        i["user_id"].as_s().unwrap().clone()
    };
    let counted: i64 = stored
        .items()
        .iter()
        .filter(|i| partition(i).starts_with("#tally#") && partition(i) != "#tally#checkin")
        .map(|i| i["tally_count"].as_n().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(counted, 2);
    let mut items: Vec<_> = stored
        .items()
        .iter()
        .filter(|i| !partition(i).starts_with('#'))
        .cloned()
        .collect();
    items.sort_by_key(partition);
    assert_eq!(items, [listed_original, listed_earlier]);
    // Again: nothing to add.
    let again = run_lanyard(&emulator, &["aws-setup", "--table", table]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already has every index"));

    // Served: the original item lists, and a new sign-up gets its badge.
    resources.names.table = table.to_owned();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );
    let (status, listed) = server
        .organizer(Method::GET, "/api/registrations?limit=10")
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed["items"][0]["user_name"], "홍길동");
    let (status, created) = server.post(&registration("after", "After Adoption")).await;
    assert_eq!(status, 201, "{created}");
    let png = server
        .ready_png(created["badge"]["url"].as_str().unwrap())
        .await;
    assert_eq!(decode_qr(&png), created["checkin_code"].as_str().unwrap());
    // The conference's list, newest first: the new sign-up, the earlier
    // lanyard's, then the original's.
    let (status, listed) = server
        .organizer(
            Method::GET,
            &format!(
                "/api/registrations?limit=10&type={}",
                CONFERENCE.replace(' ', "%20")
            ),
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let users: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["after", "earlier", "before"]);
    server.stop();
}

#[test]
fn serve_with_the_aws_backend_names_what_is_missing() {
    let out = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["serve", "--backend", "aws", "--addr", "127.0.0.1:0"])
        .env_remove("LANYARD_TABLE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--table"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["serve", "--backend", "aws", "--addr", "127.0.0.1:0"])
        .args([
            "--table",
            "t",
            "--bucket",
            "b",
            "--topic-arn",
            "arn:aws:sns:us-east-1:1:t",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no AWS region"), "{stderr}");
}

/// Lists in and out on DynamoDB, with the CLI beside a running server: an
/// import (a bad row reported, the same file again creating nothing), an
/// export, and a print run in which an item the original system wrote gets
/// its check-in code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_export_and_print_on_dynamodb() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = create_resources(&clients, "lists").await.unwrap();
    clients
        .dynamodb
        .put_item()
        .table_name(&resources.names.table)
        .item("user_id", AttributeValue::S("legacy".into()))
        .item("type", AttributeValue::S(CONFERENCE.into()))
        .item("user_name", AttributeValue::S("김영희".into()))
        .item("phone_number", AttributeValue::S("010-9876-5432".into()))
        .item("company_name", AttributeValue::S("Old Corp".into()))
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );
    let cli = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lanyard"));
        command
            .args(args)
            .args(["--backend", "aws", "--table", &resources.names.table])
            .env_remove("AWS_PROFILE");
        for (name, value) in emulator.env() {
            command.env(name, value);
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "user_id,type,user_name,phone_number,company_name\n\
         ada,Serverless web project,Ada Lovelace,010-1111-2222,Engines\n\
         grace,Serverless web project,Grace Hopper,010-3333-4444,\n\
         nobody,Serverless web project,,010-5555-6666,\n",
    )
    .unwrap();
    let csv_arg = csv.to_str().unwrap();
    let topic = resources.names.topic_arn.as_str();
    let (ok, stdout, stderr) = cli(&["import", csv_arg, "--topic-arn", topic]);
    assert!(!ok, "a bad row makes the exit status non-zero");
    assert!(
        stdout.contains("2 created, 0 already registered, 1 invalid"),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("line 4") && stderr.contains("user_name"),
        "{stderr}"
    );
    let (_, stdout, _) = cli(&["import", csv_arg]);
    assert!(
        stdout.contains("0 created, 2 already registered"),
        "{stdout}"
    );
    // Imported badges are made by the running server's workers.
    let (status, ada) = server
        .organizer(
            Method::GET,
            &format!("/api/registrations/ada/{CONFERENCE_PATH}"),
        )
        .await;
    assert_eq!(status, 200);
    let png = server
        .ready_png(ada["badge"]["url"].as_str().unwrap())
        .await;
    assert_eq!(decode_qr(&png), ada["checkin_code"].as_str().unwrap());

    let out = dir.path().join("out.csv");
    let (ok, _, stderr) = cli(&["export", "-o", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let exported = std::fs::read_to_string(&out).unwrap();
    assert_eq!(exported.lines().count(), 1 + 3, "{exported}");
    assert!(exported.contains("ada,Serverless web project,Ada Lovelace,010-1111-2222,Engines"));

    let pdf = dir.path().join("out.pdf");
    let (ok, stdout, stderr) = cli(&["print", "--sheet", "a4-cut", "-o", pdf.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("3 badges"), "{stdout}");
    let (payloads, pages) = crate::lists::decode_pdf(
        &std::fs::read(&pdf).unwrap(),
        &crate::lists::sheet("a4-cut"),
    );
    assert_eq!((payloads.len(), pages), (3, 1));
    let (_, legacy) = server
        .organizer(
            Method::GET,
            &format!("/api/registrations/legacy/{CONFERENCE_PATH}"),
        )
        .await;
    let code = legacy["checkin_code"]
        .as_str()
        .expect("printing gave it a code");
    assert!(payloads.iter().any(|p| p == code), "{payloads:?} {code}");
    server.stop();
}

/// After a `204`, no object of the registration is left in S3 once the work
/// in flight ends: `DELETE`s racing the SQS badge worker, and racing the SVG
/// and PDF rendered on request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_delete_on_the_aws_backend_no_object_remains() {
    let emulator = Emulator::start();
    let clients = emulator.clients().await;
    let resources = aws_setup(&emulator, "gone");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &emulator,
        &resources.names,
        &resources.queue_url,
        dir.path(),
    );
    let mut tokens = Vec::new();
    for i in 0..12 {
        let user = format!("gone{i}");
        let (status, body) = server.post(&registration(&user, "Gone Soon")).await;
        assert_eq!(status, 201, "{body}");
        let url = body["badge"]["url"].as_str().unwrap().to_owned();
        let path = format!("/api/registrations/{user}/{CONFERENCE_PATH}");
        if i % 2 == 0 {
            // While the worker renders (the job is on the queue already).
            let (status, _) = server.organizer(Method::DELETE, &path).await;
            assert_eq!(status, 204);
        } else {
            // While the SVG and the PDF are rendered on request.
            server.ready_png(&url).await;
            let (pdf, svg, (status, _)) = tokio::join!(
                server.client.get(server.url(&format!("{url}.pdf"))).send(),
                server.client.get(server.url(&format!("{url}.svg"))).send(),
                server.organizer(Method::DELETE, &path),
            );
            assert_eq!(status, 204);
            for res in [pdf.unwrap(), svg.unwrap()] {
                assert!(
                    matches!(res.status().as_u16(), 200 | 404),
                    "{}",
                    res.status()
                );
            }
        }
        tokens.push(url.trim_start_matches("/api/badges/").to_owned());
    }
    // The objects of these registrations still in the bucket.
    let left_over = || async {
        let listed = clients
            .s3
            .list_objects_v2()
            .bucket(&resources.names.bucket)
            .prefix("badges/")
            .send()
            .await
            .unwrap();
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .filter(|k| tokens.iter().any(|t| k.contains(t.as_str())))
            .collect::<Vec<String>>()
    };
    // Work in flight ends within a few seconds (the queue drains, renders
    // finish); then nothing of any of them may be in the bucket.
    let mut left = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = left_over().await;
        if left.is_empty() {
            break;
        }
    }
    // And it stays so: a late render must not bring a file back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    left.extend(left_over().await);
    assert_eq!(
        left,
        Vec::<String>::new(),
        "objects of deleted registrations"
    );
    server.stop();
}
