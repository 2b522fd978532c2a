//! E-mail and webhooks through the real server: a real SMTP server
//! (aiosmtpd) receives the messages, an independent MIME parser and QR
//! decoder read them; a local HTTP endpoint receives the webhooks.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{decode_qr, spawn_app_with, SmtpSink, TestApp, TOKEN};

const CONFIG: &str = r##"
[[conference]]
id = "devfest"
title = "DevFest Seoul"
accent = "#1f6feb"
starts = "2026-12-19"
ends = "2026-12-20"
email = "required"
payload = "ticket"
[conference.mail]
location = "COEX, Seoul; Hall C"
reply_to = "DevFest Team <team@devfest.example>"

[[conference.category]]
id = "attendee"
label = "Attendee"
default = true

[[conference.category]]
id = "speaker"
label = "Speaker"

[[conference]]
id = "seoul"
title = "서울 컨퍼런스"
email = "optional"
[conference.mail]
language = "ko"

[[conference]]
id = "custom"
title = "Custom Conf"
email = "optional"
[conference.mail]
subject = "Welcome, {name}!"
text = "Dear {name},\n\nsee you at {conference}. Badge: {link}\nCode: {code}\n"

[[conference]]
id = "small"
title = "Small Workshop"
email = "required"
capacity = 1
waitlist = true
offer_hours = 2

[[conference]]
id = "quiet"
title = "Quiet Conf"
email = "optional"
[conference.mail]
enabled = false
"##;

const PUBLIC_URL: &str = "https://reg.example.org";

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("lanyard.toml");
    std::fs::write(&path, format!("{CONFIG}\n{extra}")).unwrap();
    path
}

async fn app_with_mail(dir: &Path, sink: &SmtpSink, extra: &str) -> TestApp {
    let config = write_config(dir, extra);
    let url = sink.url();
    spawn_app_with(&dir.join("data"), Some(&config), move |s| {
        s.mail = Some(lanyard::MailOptions {
            smtp_url: url,
            from: "DevFest <reg@devfest.example>".into(),
            public_url: format!("{PUBLIC_URL}/"),
        });
        s.notice_policy = lanyard_domain::NoticePolicy {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_millis(500),
            ..Default::default()
        };
        // The sweep (offers' expiry among its work) runs this often.
        s.job_policy.retry_failed_after = Duration::from_millis(200);
    })
    .await
}

fn sign_up(conference: &str, user: &str, email: Option<&str>) -> Value {
    let mut body = json!({
        "type": conference,
        "user_id": user,
        "user_name": format!("Kim {user}"),
        "phone_number": "+82 10-1234-5678",
    });
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    body
}

async fn post(app: &TestApp, body: &Value) -> Value {
    let res = app.post_registration(body).await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn organizer_post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// The badge token of a registration answer (`badge.url` ends with it).
fn token_of(registration: &Value) -> String {
    registration["badge"]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

fn to_of(message: &mail_parser::Message) -> String {
    message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_confirmation_carries_the_badge_link_the_check_in_code_and_an_invitation() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), None, 0);
    let app = app_with_mail(dir.path(), &sink, "").await;
    let created = post(
        &app,
        &sign_up("devfest", "gildong", Some("Gil.Dong@Example.org")),
    )
    .await;
    let token = token_of(&created);
    let raw = sink.wait_for(1).await.remove(0);
    let message = MessageParser::default().parse(&raw).unwrap();

    assert_eq!(message.subject(), Some("Your badge for DevFest Seoul"));
    assert_eq!(to_of(&message), "Gil.Dong@example.org");
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("reg@devfest.example"));
    let reply_to = message.reply_to().unwrap().first().unwrap();
    assert_eq!(reply_to.address(), Some("team@devfest.example"));
    let message_id = message.message_id().unwrap();
    assert!(
        message_id.starts_with("confirmation-") && message_id.ends_with("@devfest.example"),
        "{message_id}"
    );

    // The link opens the attendee's own page, on the public address.
    let link = format!("{PUBLIC_URL}/me#{token}");
    let text = message.body_text(0).unwrap();
    assert!(text.contains("Hello Kim gildong"), "{text}");
    assert!(text.contains(&link), "{text}");
    assert!(text.contains("(2026-12-19 – 2026-12-20)"), "{text}");
    let html = message.body_html(0).unwrap();
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(html.contains("src=\"cid:checkin-code\""), "{html}");

    // The inline QR code is the badge's: the desk scans either.
    let qr = message
        .attachments()
        .find(|p| p.content_id() == Some("checkin-code"))
        .expect("the inline QR image");
    assert_eq!(qr.content_type().unwrap().ctype(), "image");
    let scanned = decode_qr(qr.contents());
    let (_, badge_page) = app.get_json(&format!("/api/badges/{token}")).await;
    let code = created["checkin_code"]
        .as_str()
        .or_else(|| badge_page["checkin_code"].as_str())
        .expect("the registration's check-in code")
        .to_owned();
    assert!(scanned.contains(&code), "{scanned} does not hold {code}");
    assert!(text.contains(&code), "{text}");
    let badge = app
        .wait_for_badge(created["badge"]["url"].as_str().unwrap())
        .await;
    assert_eq!(badge["status"], "ready");
    let png = app
        .get_bytes(&format!(
            "{}.png",
            created["badge"]["url"].as_str().unwrap()
        ))
        .await;
    assert_eq!(decode_qr(&png), scanned, "the e-mail's code is the badge's");

    // The calendar invitation: the conference's days, all day, its venue.
    let ics = message
        .attachments()
        .find(|p| p.attachment_name() == Some("invite.ics"))
        .expect("the invitation");
    let ics = String::from_utf8(ics.contents().to_vec()).unwrap();
    let unfolded = ics.replace("\r\n ", "");
    for line in [
        "BEGIN:VEVENT",
        "DTSTART;VALUE=DATE:20261219",
        "DTEND;VALUE=DATE:20261221",
        "SUMMARY:DevFest Seoul",
        "LOCATION:COEX\\, Seoul\\; Hall C",
        &format!("URL:{link}"),
    ] {
        assert!(unfolded.lines().any(|l| l == line), "{line} not in {ics}");
    }
    assert!(ics.lines().all(|l| l.len() <= 75), "{ics}");

    // Exactly one: the confirmation is not sent twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn texts_follow_the_conference_language_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), None, 0);
    let app = app_with_mail(dir.path(), &sink, "").await;
    post(&app, &sign_up("seoul", "ko1", Some("ko1@example.org"))).await;
    let korean = MessageParser::default()
        .parse(&sink.wait_for(1).await[0])
        .unwrap()
        .clone()
        .into_owned();
    assert_eq!(korean.subject(), Some("서울 컨퍼런스 등록 확인"));
    assert!(korean
        .body_text(0)
        .unwrap()
        .contains("Kim ko1님, 안녕하세요."));
    // No dates: no invitation.
    assert!(korean
        .attachments()
        .all(|p| p.attachment_name() != Some("invite.ics")));

    let created = post(&app, &sign_up("custom", "c1", Some("c1@example.org"))).await;
    let custom = MessageParser::default()
        .parse(&sink.wait_for(2).await[1])
        .unwrap()
        .into_owned();
    assert_eq!(custom.subject(), Some("Welcome, Kim c1!"));
    let text = custom.body_text(0).unwrap();
    assert!(text.starts_with("Dear Kim c1,"), "{text}");
    assert!(
        text.contains(&format!("Badge: {PUBLIC_URL}/me#{}", token_of(&created))),
        "{text}"
    );

    // Without an address, or in a conference whose e-mail is off: nothing.
    post(&app, &sign_up("seoul", "ko2", None)).await;
    post(&app, &sign_up("quiet", "q1", Some("q1@example.org"))).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(app.pending_notices().await, 0);

    // The page knows which conferences mail.
    let (_, list) = app.get_json("/api/conferences").await;
    let mails = |id: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["mails"]
            .clone()
    };
    assert_eq!(mails("devfest"), json!(true));
    assert_eq!(mails("quiet"), json!(false));
    app.stop().await;
}

#[tokio::test]
async fn a_mail_server_that_refuses_for_a_while_gets_the_confirmation_later() {
    let dir = tempfile::tempdir().unwrap();
    // The first two deliveries get 451 (try again later).
    let sink = SmtpSink::start(&dir.path().join("mail"), None, 2);
    let app = app_with_mail(dir.path(), &sink, "").await;
    post(&app, &sign_up("devfest", "late", Some("late@example.org"))).await;
    let messages = sink.wait_for(1).await;
    let message = MessageParser::default().parse(&messages[0]).unwrap();
    assert_eq!(to_of(&message), "late@example.org");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sink.messages().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_sign_up_taken_while_the_mail_server_is_down_is_confirmed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::common::free_port();
    let mail_dir = dir.path().join("mail");
    std::fs::create_dir_all(&mail_dir).unwrap();
    let config = write_config(dir.path(), "");
    let settings = |s: &mut lanyard::ServeSettings| {
        s.mail = Some(lanyard::MailOptions {
            smtp_url: format!("smtp://127.0.0.1:{port}"),
            from: "reg@devfest.example".into(),
            public_url: PUBLIC_URL.into(),
        });
        s.notice_policy = lanyard_domain::NoticePolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..Default::default()
        };
    };
    // Nothing listens on the mail port: the sign-up is taken all the same.
    let app = spawn_app_with(&dir.path().join("data"), Some(&config), settings).await;
    post(
        &app,
        &sign_up("devfest", "offline", Some("offline@example.org")),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.pending_notices().await, 1);
    app.stop().await;
    // Started again with the mail server up: the confirmation goes out.
    let sink = SmtpSink::start(&mail_dir, Some(port), 0);
    let app = spawn_app_with(&dir.path().join("data"), Some(&config), settings).await;
    let messages = sink.wait_for(1).await;
    let message = MessageParser::default().parse(&messages[0]).unwrap();
    assert_eq!(to_of(&message), "offline@example.org");
    app.stop().await;
}

#[tokio::test]
async fn a_lost_badge_link_is_mailed_to_its_address_and_nobody_learns_who_is_registered() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), None, 0);
    let app = app_with_mail(dir.path(), &sink, "").await;
    let a = post(&app, &sign_up("devfest", "kim", Some("kim@example.org"))).await;
    let b = post(&app, &sign_up("custom", "kim", Some("Kim@Example.org"))).await;
    sink.wait_for(2).await;

    let lookup = |email: &str| {
        let request = app
            .client
            .post(app.url("/api/badges/lookup"))
            .json(&json!({ "email": email }));
        async move {
            let res = request.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // Registered or not, the same answer.
    let (unknown_status, unknown) = lookup("nobody@example.org").await;
    let (known_status, known) = lookup("KIM@example.org").await;
    assert_eq!((unknown_status, known_status), (202, 202));
    assert_eq!(unknown, known);
    let messages = sink.wait_for(4).await;
    let links: Vec<_> = messages[2..]
        .iter()
        .map(|raw| MessageParser::default().parse(raw).unwrap().into_owned())
        .collect();
    let mut tokens: Vec<String> = links
        .iter()
        .map(|m| {
            let text = m.body_text(0).unwrap().into_owned();
            text.split(&format!("{PUBLIC_URL}/me#"))
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    tokens.sort();
    let mut expected = vec![token_of(&a), token_of(&b)];
    expected.sort();
    assert_eq!(tokens, expected);
    assert!(links
        .iter()
        .any(|m| m.subject() == Some("Your badge link for DevFest Seoul")));

    // Asked again at once: not mailed again (one per quarter hour).
    assert_eq!(lookup("kim@example.org").await.0, 202);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sink.messages().len(), 4);

    // Not an address at all: a clear 400; no body: 415 or 422 as JSON.
    let (status, body) = lookup("not-an-address").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "email");
    app.stop().await;
}

#[tokio::test]
async fn the_waiting_list_is_told_of_its_place_its_offer_and_the_offers_end() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), None, 0);
    let app = app_with_mail(dir.path(), &sink, "").await;
    let first = post(&app, &sign_up("small", "first", Some("first@example.org"))).await;
    let second = post(
        &app,
        &sign_up("small", "second", Some("second@example.org")),
    )
    .await;
    assert_eq!(second["status"], "waitlisted");
    let messages = sink.wait_for(2).await;
    let waiting = messages
        .iter()
        .map(|raw| MessageParser::default().parse(raw).unwrap().into_owned())
        .find(|m| to_of(m) == "second@example.org")
        .unwrap();
    assert_eq!(
        waiting.subject(),
        Some("You are on the waiting list for Small Workshop")
    );
    // A waiting person has no seat yet: no check-in code in the e-mail.
    assert!(waiting
        .attachments()
        .all(|p| p.content_id() != Some("checkin-code")));

    // The seat holder withdraws: the seat is offered, and said so.
    let res = app
        .client
        .post(app.url(&format!("/api/badges/{}/seat", token_of(&first))))
        .json(&json!({"action": "withdraw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let messages = sink.wait_for(3).await;
    let offer = MessageParser::default().parse(&messages[2]).unwrap();
    assert_eq!(to_of(&offer), "second@example.org");
    assert_eq!(
        offer.subject(),
        Some("A seat is free for you at Small Workshop")
    );
    let (_, now) = app
        .get_json(&format!("/api/badges/{}", token_of(&second)))
        .await;
    let until = now["registration"]["offer_expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(offer.body_text(0).unwrap().contains(&until));

    // The offer runs out (moved back in the store, then swept): its end
    // is told too.
    let key = lanyard_domain::RegistrationKey {
        user_id: lanyard_domain::UserId::parse("second").unwrap(),
        conference: lanyard_domain::ConferenceId::from_stored("small".into()),
    };
    use lanyard_domain::RegistrationStore;
    let past = lanyard_domain::Seat {
        status: lanyard_domain::SeatStatus::Offered,
        offer_expires_at: Some("2000-01-01T00:00:00.000Z".into()),
    };
    app.store()
        .change_seat(&key, &[lanyard_domain::SeatStatus::Offered], &past, Some(1))
        .await
        .unwrap();
    // The sweep runs every 200 ms here (see `app_with_mail`).
    let messages = sink.wait_for(4).await;
    let expired = MessageParser::default().parse(&messages[3]).unwrap();
    assert_eq!(to_of(&expired), "second@example.org");
    assert_eq!(
        expired.subject(),
        Some("Your held seat at Small Workshop has expired")
    );
    app.stop().await;
}

#[tokio::test]
async fn organizers_message_part_of_a_list_after_counting_it() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), None, 0);
    let app = app_with_mail(dir.path(), &sink, "").await;
    for user in ["a1", "a2", "s1"] {
        post(
            &app,
            &sign_up("devfest", user, Some(&format!("{user}@example.org"))),
        )
        .await;
    }
    // The organizers make s1 a speaker.
    let res = app
        .client
        .patch(app.url("/api/registrations/s1/devfest"))
        .bearer_auth(TOKEN)
        .json(&json!({"category": "speaker"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    sink.wait_for(3).await;

    // Counted first: nothing is sent.
    let (status, count) = organizer_post(
        &app,
        "/api/messages",
        &json!({"type": "devfest", "category": "speaker", "dry_run": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        count,
        json!({"recipients": 1, "without_email": 0, "dry_run": true})
    );
    let (_, everyone) = organizer_post(
        &app,
        "/api/messages",
        &json!({"type": "devfest", "dry_run": true}),
    )
    .await;
    assert_eq!(everyone["recipients"], 3);
    // The longest body the API documents (20 000 characters, here Korean:
    // 60 000 bytes) is taken.
    let (status, long) = organizer_post(
        &app,
        "/api/messages",
        &json!({"type": "devfest", "subject": "안내", "body": "가".repeat(20_000), "dry_run": true}),
    )
    .await;
    assert_eq!(status, 200, "{long}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.messages().len(), 3);

    // Sent: each speaker gets their own, with their name and link.
    let (status, sent) = organizer_post(
        &app,
        "/api/messages",
        &json!({
            "type": "devfest",
            "category": "speaker",
            "subject": "Speakers' room, {name}",
            "body": "Hello {name},\n\nthe speakers' room is B2. Your badge: {link}",
        }),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(sent["recipients"], 1);
    let messages = sink.wait_for(4).await;
    let message = MessageParser::default().parse(&messages[3]).unwrap();
    assert_eq!(to_of(&message), "s1@example.org");
    assert_eq!(message.subject(), Some("Speakers' room, Kim s1"));
    assert!(message
        .body_text(0)
        .unwrap()
        .contains(&format!("{PUBLIC_URL}/me#")));

    // Bad requests change nothing and say which field.
    for (body, field) in [
        (
            json!({"type": "devfest", "subject": "", "body": "x"}),
            "subject",
        ),
        (
            json!({"type": "devfest", "subject": "a\nb", "body": "x"}),
            "subject",
        ),
        (
            json!({"type": "devfest", "subject": "s", "body": "{nmae}"}),
            "body",
        ),
        (
            json!({"type": "devfest", "seat": "seated", "dry_run": true}),
            "seat",
        ),
        (
            json!({"type": "devfest", "category": "vip", "dry_run": true}),
            "category",
        ),
        (json!({"type": "nope", "dry_run": true}), "type"),
    ] {
        let (status, answer) = organizer_post(&app, "/api/messages", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    // Organizers only.
    let res = app
        .client
        .post(app.url("/api/messages"))
        .json(&json!({"type": "devfest", "dry_run": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.messages().len(), 4);
    app.stop().await;
}

/// What a webhook endpoint received: event header, signature, body.
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A local endpoint that answers 500 to its first `fail_first` requests.
async fn webhook_endpoint(fail_first: usize) -> (String, Received) {
    use axum::http::{HeaderMap, StatusCode};
    let received: Received = Arc::default();
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(fail_first));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let received = received.clone();
            move |headers: HeaderMap, body: axum::body::Bytes| {
                let received = received.clone();
                let failures = failures.clone();
                async move {
                    use std::sync::atomic::Ordering;
                    if failures
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .map(|v| v.to_str().unwrap().to_owned())
                            .unwrap_or_default()
                    };
                    received.lock().unwrap().push((
                        header("lanyard-event"),
                        header("lanyard-signature"),
                        body.to_vec(),
                    ));
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// Checks a `Lanyard-Signature` as a receiver would.
fn signature_holds(secret: &str, header: &str, body: &[u8]) -> bool {
    use hmac::{KeyInit, Mac};
    let mut parts = header.split(',');
    let (Some(t), Some(v1)) = (
        parts.next().and_then(|p| p.strip_prefix("t=")),
        parts.next().and_then(|p| p.strip_prefix("v1=")),
    ) else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(v1).unwrap_or_default())
        .is_ok()
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"), None, 0);
    // The endpoint fails its first two deliveries.
    let (url, received) = webhook_endpoint(2).await;
    let (checkins_url, checkins) = webhook_endpoint(0).await;
    let secret = "whsec-0123456789abcdef";
    let hooks = format!(
        r#"
[[webhook]]
url = "{url}"
secret = "{secret}"
conferences = ["devfest"]

[[webhook]]
url = "{checkins_url}"
secret = "another-secret-0123456789"
events = ["checkin.*"]
"#
    );
    let app = app_with_mail(dir.path(), &sink, &hooks).await;
    post(&app, &sign_up("devfest", "hooked", Some("h@example.org"))).await;
    post(&app, &sign_up("seoul", "elsewhere", None)).await;

    // Check in and undo, then delete.
    let res = app
        .client
        .post(app.url("/api/checkins"))
        .bearer_auth(TOKEN)
        .json(&json!({"user_id": "hooked", "type": "devfest", "nonce": "n-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    // The check-in's event carries the registration's state at delivery.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while checkins.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first: Value = serde_json::from_slice(&checkins.lock().unwrap()[0].2).unwrap();
    assert_eq!(first["event"], "checkin.created");
    assert!(
        first["registration"]["checked_in_at"].is_string(),
        "{first}"
    );
    assert_eq!(first["registration"]["seat"], "confirmed");
    let path = "/api/registrations/hooked/devfest";
    assert_eq!(
        app.organizer(Method::DELETE, &format!("{path}/checkin"))
            .await
            .status(),
        204
    );
    assert_eq!(app.organizer(Method::DELETE, path).await.status(), 204);

    while received.lock().unwrap().len() < 4 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = received.lock().unwrap().clone();
    let mut events: Vec<&str> = got.iter().map(|(e, _, _)| e.as_str()).collect();
    events.sort();
    assert_eq!(
        events,
        [
            "checkin.created",
            "checkin.undone",
            "registration.created",
            "registration.deleted"
        ],
        "only devfest's events, each once though two deliveries failed"
    );
    for (event, signature, body) in &got {
        assert!(
            signature_holds(secret, signature, body),
            "{event}: {signature}"
        );
        assert!(!signature_holds("whsec-wrong-secret", signature, body));
        let body: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(body["event"], *event);
        assert_eq!(body["user_id"], "hooked");
        assert_eq!(body["type"], "devfest");
        // Identifiers and state only: no name, phone or e-mail.
        let text = body.to_string();
        assert!(
            !text.contains("Kim") && !text.contains("h@example.org") && !text.contains("1234"),
            "{text}"
        );
    }
    let deleted: Value = serde_json::from_slice(
        &got.iter()
            .find(|(e, _, _)| e == "registration.deleted")
            .unwrap()
            .2,
    )
    .unwrap();
    assert!(deleted["registration"].is_null());

    // The check-in endpoint got check-ins only, of every conference.
    while checkins.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = checkins.lock().unwrap().clone();
    let events: Vec<&str> = got.iter().map(|(e, _, _)| e.as_str()).collect();
    assert_eq!(events, ["checkin.created", "checkin.undone"]);
    assert!(got.iter().all(|(_, sig, body)| signature_holds(
        "another-secret-0123456789",
        sig,
        body
    )));
    app.stop().await;
}
