//! The HTTP API against the real server, real SQLite and real badge workers.

use std::collections::HashSet;

use crate::common::{decode_qr, registration, spawn_app_in, TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_renders_a_badge_served_as_png_svg_and_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 2).await;
    let mut body = registration("gildong.hong", "홍길동");
    body["contact_on_badge"] = json!(true);
    let res = app.post_registration(&body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers()["location"],
        "/api/registrations/gildong%2Ehong/Serverless%20web%20project"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user_name"], "홍길동");
    assert_eq!(body["badge"]["status"], "pending");
    let badge_url = body["badge"]["url"].as_str().unwrap().to_owned();
    let token = badge_url.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 22, "a 128-bit token");
    let code = body["checkin_code"].as_str().unwrap().to_owned();

    let badge = app.wait_for_badge(&badge_url).await;
    assert_eq!(badge["status"], "ready");
    for (format, content_type) in [
        ("png", "image/png"),
        ("svg", "image/svg+xml"),
        ("pdf", "application/pdf"),
    ] {
        let link = badge[format].as_str().unwrap();
        assert_eq!(link, format!("{badge_url}.{format}"));
        let res = app.client.get(app.url(link)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], content_type);
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let bytes = res.bytes().await.unwrap();
        if format == "png" {
            let vcard = format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:홍길동;;;;\r\nFN:홍길동\r\nORG:Example\\; Corp\\, \\\\ Ltd\r\n\
                 TEL;TYPE=CELL:+82 10-1234-5678\r\nUID:urn:lanyard:checkin:{code}\r\nEND:VCARD\r\n"
            );
            assert_eq!(decode_qr(&bytes), vcard);
        }
        if format == "pdf" {
            assert!(bytes.starts_with(b"%PDF-"));
        }
        if format == "svg" {
            assert!(bytes.starts_with(b"<svg"));
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_is_409_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    assert_eq!(
        app.post_registration(&registration("dup", "First Person"))
            .await
            .status(),
        201
    );
    let res = app
        .post_registration(&registration("dup", "Second Person"))
        .await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "already_registered");
    let res = app
        .organizer(
            Method::GET,
            "/api/registrations/dup/Serverless%20web%20project",
        )
        .await;
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["user_name"], "First Person");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_400_with_the_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let valid = registration("valid.user", "Valid");
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (with("phone_number", json!("12")), Some("phone_number")),
        (
            with("phone_number", json!("010-1234-abcd")),
            Some("phone_number"),
        ),
        (with("user_name", json!("   ")), Some("user_name")),
        (with("user_name", json!("x".repeat(101))), Some("user_name")),
        (with("user_name", json!("bell\u{7}")), Some("user_name")),
        (with("user_id", json!("*")), Some("user_id")),
        (with("user_id", json!("../etc/passwd")), Some("user_id")),
        (with("user_id", json!(42)), Some("user_id")),
        (with("type", json!("No such conference")), Some("type")),
        (
            with("company_name", json!("c".repeat(101))),
            Some("company_name"),
        ),
        (with("admin", json!(true)), Some("admin")),
        (without("user_id"), Some("user_id")),
        (without("phone_number"), Some("phone_number")),
        (json!([1, 2]), None),
    ];
    for (body, field) in cases {
        let res = app.post_registration(&body).await;
        assert_eq!(res.status(), 400, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "invalid", "{body}");
        assert_eq!(err["error"]["field"].as_str(), field, "{body}: {err}");
        assert!(err["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // Truncated JSON, a wrong content type and an oversized body.
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/api/registrations"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let res = raw(r#"{"type": "Serverless web pro"#, "application/json")
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = raw("user_id=x", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "unsupported_media_type"
    );
    let big = with("company_name", json!("x".repeat(17 * 1024)));
    let res = app.post_registration(&big).await;
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );

    let list: Value = app
        .organizer(Method::GET, "/api/registrations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]), "nothing was stored");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizer_endpoints_need_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    assert_eq!(
        app.post_registration(&registration("someone", "Some One"))
            .await
            .status(),
        201
    );
    let endpoints = [
        (Method::GET, "/api/registrations"),
        (Method::GET, "/api/registrations/someone"),
        (
            Method::GET,
            "/api/registrations/someone/Serverless%20web%20project",
        ),
        (
            Method::DELETE,
            "/api/registrations/someone/Serverless%20web%20project",
        ),
        (
            Method::POST,
            "/api/registrations/someone/Serverless%20web%20project/badge",
        ),
    ];
    let wrong = format!("{}x", TOKEN);
    let bearer_wrong = format!("Bearer {wrong}");
    let bearer_prefix = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    let basic = format!("Basic {TOKEN}");
    let authorizations: [Option<&str>; 6] = [
        None,
        Some(&bearer_wrong),
        Some(&bearer_prefix),
        Some(&basic),
        Some("Bearer"),
        Some("Bearer "),
    ];
    for (method, path) in &endpoints {
        for auth in &authorizations {
            let mut req = app.client.request(method.clone(), app.url(path));
            if let Some(auth) = auth {
                req = req.header("authorization", *auth);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{method} {path} with {auth:?}");
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
            assert_eq!(
                res.json::<Value>().await.unwrap()["error"]["code"],
                "unauthorized"
            );
        }
    }
    // The scheme name is case-insensitive (RFC 9110).
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let res = app
            .client
            .get(app.url("/api/registrations/someone"))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{scheme}");
    }
    // Still there: none of the refused deletes went through.
    let res = app
        .organizer(Method::GET, "/api/registrations/someone")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_each_of_250_registrations_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 0).await;
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..250 {
        let client = app.client.clone();
        let url = app.url("/api/registrations");
        posts.spawn(async move {
            let body = registration(&format!("user{i:03}"), &format!("Attendee {i}"));
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        if posts.len() >= 16 {
            assert_eq!(posts.join_next().await.unwrap().unwrap(), 201);
        }
    }
    while let Some(status) = posts.join_next().await {
        assert_eq!(status.unwrap(), 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/registrations?limit=100&cursor={c}"),
            None => "/api/registrations?limit=100".to_owned(),
        };
        let page: Value = app
            .organizer(Method::GET, &path)
            .await
            .json()
            .await
            .unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 100);
        seen.extend(
            items
                .iter()
                .map(|r| r["user_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), 250, "no item repeated");
    assert_eq!(unique.len(), 250, "no item skipped");
    // Bad paging input is a 400 naming the parameter.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("cursor=bogus", "cursor"),
        ("type=nope", "type"),
    ] {
        let res = app
            .organizer(Method::GET, &format!("/api/registrations?{query}"))
            .await;
        assert_eq!(res.status(), 400, "{query}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], field);
    }
    // Search by name.
    let found: Value = app
        .organizer(Method::GET, "/api/registrations?q=attendee%20249")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything_and_finishes_pending_badges() {
    let dir = tempfile::tempdir().unwrap();
    // No workers: every badge is still pending when the server stops.
    let app = spawn_app_in(dir.path(), 0).await;
    let mut urls = Vec::new();
    for i in 0..12 {
        let res = app
            .post_registration(&registration(&format!("keep{i}"), &format!("이름 {i}")))
            .await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        urls.push(body["badge"]["url"].as_str().unwrap().to_owned());
    }
    let (_, badge) = app.get_json(&urls[0]).await;
    assert_eq!(badge["status"], "pending");
    let res = app
        .client
        .get(app.url(&format!("{}.png", urls[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "no image before it is ready");
    app.stop().await;

    let app = spawn_app_in(dir.path(), 2).await;
    for (i, url) in urls.iter().enumerate() {
        assert_eq!(app.wait_for_badge(url).await["status"], "ready");
        let res = app
            .organizer(
                Method::GET,
                &format!("/api/registrations/keep{i}/Serverless%20web%20project"),
            )
            .await;
        let stored: Value = res.json().await.unwrap();
        assert_eq!(stored["user_name"], format!("이름 {i}"));
        assert_eq!(stored["badge"]["status"], "ready");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_registration_and_its_badge() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let body: Value = app
        .post_registration(&registration("leaving", "Leaving Soon"))
        .await
        .json()
        .await
        .unwrap();
    let url = body["badge"]["url"].as_str().unwrap().to_owned();
    app.wait_for_badge(&url).await;
    assert_eq!(
        app.client
            .get(app.url(&format!("{url}.png")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let path = "/api/registrations/leaving/Serverless%20web%20project";
    assert_eq!(app.organizer(Method::DELETE, path).await.status(), 204);
    assert_eq!(app.organizer(Method::GET, path).await.status(), 404);
    assert_eq!(app.organizer(Method::DELETE, path).await.status(), 404);
    assert_eq!(app.get_json(&url).await.0, 404);
    for ext in ["png", "svg", "pdf"] {
        assert_eq!(
            app.client
                .get(app.url(&format!("{url}.{ext}")))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
    }
    let badges = std::fs::read_dir(dir.path().join("objects/badges"))
        .unwrap()
        .count();
    assert_eq!(badges, 0, "badge files are gone from disk");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerender_and_items_written_by_the_original_system() {
    let dir = tempfile::tempdir().unwrap();
    {
        // An item as the original wrote it: only its five attributes, no badge.
        let store = lanyard_embedded::SqliteStore::open(dir.path().join("lanyard.sqlite")).unwrap();
        let mut legacy = lanyard_domain::contract::sample(
            "legacy",
            "About cloud computing",
            "Old Timer",
            Some("2019 Inc"),
        );
        legacy.badge = None;
        legacy.checkin_code = None;
        legacy.created_at = String::new();
        use lanyard_domain::RegistrationStore;
        store.insert(&legacy).await.unwrap();
    }
    let app = spawn_app_in(dir.path(), 1).await;
    let path = "/api/registrations/legacy/About%20cloud%20computing";
    let stored: Value = app.organizer(Method::GET, path).await.json().await.unwrap();
    assert_eq!(stored["badge"], Value::Null, "no badge yet");
    let res = app.organizer(Method::POST, &format!("{path}/badge")).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let url = body["badge"]["url"].as_str().unwrap().to_owned();
    assert_eq!(app.wait_for_badge(&url).await["status"], "ready");
    let png = app.get_bytes(&format!("{url}.png")).await;
    // No consent was ever given: the QR is the check-in code it got now.
    let code = body["checkin_code"].as_str().expect("a code was given");
    assert_eq!(decode_qr(&png), code);
    // Rendering again keeps the URL and ends ready again.
    assert_eq!(
        app.organizer(Method::POST, &format!("{path}/badge"))
            .await
            .status(),
        202
    );
    assert_eq!(app.wait_for_badge(&url).await["status"], "ready");
    assert_eq!(
        app.organizer(
            Method::POST,
            "/api/registrations/nobody/About%20cloud%20computing/badge"
        )
        .await
        .status(),
        404
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_endpoints_openapi_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 0).await;
    assert_eq!(
        app.get_json("/api/health").await,
        (200, json!({"status": "ok"}))
    );
    let (status, conferences) = app.get_json("/api/conferences").await;
    assert_eq!(status, 200);
    let ids: Vec<_> = conferences["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["Serverless web project", "About cloud computing"]);

    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/health",
        "/api/conferences",
        "/api/registrations",
        "/api/registrations/{user_id}",
        "/api/registrations/{user_id}/{type}",
        "/api/registrations/{user_id}/{type}/badge",
        "/api/badges/{token}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    // A sign-up's `type` is one of this server's conferences.
    let sign_up = &doc["components"]["schemas"]["NewRegistration"]["properties"];
    assert_eq!(sign_up["type"]["enum"], json!(ids));
    assert!(sign_up["phone_number"]["pattern"].is_string());

    for path in [
        "/api/badges/AAAAAAAAAAAAAAAAAAAAAA",
        "/api/badges/AAAAAAAAAAAAAAAAAAAAAA.png",
        "/api/badges/..%2F..%2Fetc%2Fpasswd",
        "/api/nope",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let res = app
        .client
        .put(app.url("/api/registrations"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );

    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badges_that_cannot_be_written_are_retried_then_failed_with_the_error() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the badge directory should be: every write fails.
    std::fs::create_dir_all(dir.path().join("objects")).unwrap();
    std::fs::write(dir.path().join("objects/badges"), b"not a directory").unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let body: Value = app
        .post_registration(&registration("unlucky", "Un Lucky"))
        .await
        .json()
        .await
        .unwrap();
    let url = body["badge"]["url"].as_str().unwrap().to_owned();
    let badge = app.wait_for_badge(&url).await;
    assert_eq!(badge["status"], "failed");
    let stored: Value = app
        .organizer(
            Method::GET,
            "/api/registrations/unlucky/Serverless%20web%20project",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["badge"]["status"], "failed");
    assert!(stored["badge"]["error"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    // Storage may come back: the badge is queued again by itself later.
    assert!(stored["badge"]["retry_at"].is_string(), "{stored}");
    assert_eq!(
        app.store().pending_jobs().await.unwrap(),
        0,
        "a failed job leaves the queue"
    );
    // Fixed: rendering again succeeds.
    std::fs::remove_file(dir.path().join("objects/badges")).unwrap();
    let path = "/api/registrations/unlucky/Serverless%20web%20project/badge";
    assert_eq!(app.organizer(Method::POST, path).await.status(), 202);
    assert_eq!(app.wait_for_badge(&url).await["status"], "ready");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badge_for_a_conference_no_longer_configured_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 0).await;
    let mut body = registration("moved", "Moved On");
    body["type"] = json!("About cloud computing");
    let created: Value = app.post_registration(&body).await.json().await.unwrap();
    let url = created["badge"]["url"].as_str().unwrap().to_owned();
    app.stop().await;

    let config = dir.path().join("one.toml");
    std::fs::write(
        &config,
        "[[conference]]\nid = \"Serverless web project\"\ntitle = \"Serverless\"\n",
    )
    .unwrap();
    let app = crate::common::spawn_app_with_config(dir.path(), &config).await;
    let badge = app.wait_for_badge(&url).await;
    assert_eq!(badge["status"], "failed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_of_jobs_gives_each_badge_its_own_outcome() {
    let dir = tempfile::tempdir().unwrap();
    // Queued while no worker runs, so the next start takes them as one batch.
    let app = spawn_app_in(dir.path(), 0).await;
    let mut urls = Vec::new();
    for i in 0..6 {
        let mut body = registration(&format!("batch{i}"), "Batch Member");
        if i % 2 == 1 {
            body["type"] = json!("About cloud computing");
        }
        let created: Value = app.post_registration(&body).await.json().await.unwrap();
        urls.push(created["badge"]["url"].as_str().unwrap().to_owned());
    }
    app.stop().await;

    let config = dir.path().join("one.toml");
    std::fs::write(
        &config,
        "[[conference]]\nid = \"Serverless web project\"\ntitle = \"Serverless\"\n",
    )
    .unwrap();
    let app = crate::common::spawn_app_with_config(dir.path(), &config).await;
    for (i, url) in urls.iter().enumerate() {
        let badge = app.wait_for_badge(url).await;
        if i % 2 == 1 {
            // Its conference is gone: no retry can mend that.
            assert_eq!(badge["status"], "failed", "{i}");
            use lanyard_domain::RegistrationStore;
            let key = lanyard_domain::RegistrationKey {
                user_id: lanyard_domain::UserId::parse(&format!("batch{i}")).unwrap(),
                conference: lanyard_domain::ConferenceId::from_stored(
                    "About cloud computing".into(),
                ),
            };
            let stored = app.store().get(&key).await.unwrap().unwrap().badge.unwrap();
            assert!(
                stored.error.is_some() && stored.retry_at.is_none(),
                "{stored:?}"
            );
        } else {
            assert_eq!(badge["status"], "ready", "{i}");
            let png = app.get_bytes(&format!("{url}.png")).await;
            assert!(crate::common::decode_qr(&png).len() > 10);
        }
    }
    assert_eq!(app.store().pending_jobs().await.unwrap(), 0);
    app.stop().await;
}

/// A client's `X-Request-Id` is echoed when short and printable; anything
/// else is replaced by the server's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_request_id_is_kept_only_when_fit_for_logs() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 0).await;
    let ask = |id: String| {
        let request = app
            .client
            .get(app.url("/api/health"))
            .header("x-request-id", id);
        async move {
            let res = request.send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(ask("trace-0123.abc".into()).await, "trace-0123.abc");
    for unfit in [
        "x".repeat(65),
        "has space".into(),
        "tab\there".into(),
        String::new(),
    ] {
        let echoed = ask(unfit.clone()).await;
        assert_ne!(echoed, unfit);
        assert_eq!(echoed.len(), 22, "the server's own id: {echoed:?}");
    }
    app.stop().await;
}

/// What the original page's jQuery sends to its `ENDPOINT` (`…/conference`):
/// `$.ajax({type: "POST", url, data: JSON.stringify({...})})`, which labels
/// the JSON string as a form, from the page's own origin.
async fn original_page_post(app: &crate::common::TestApp, body: &str) -> reqwest::Response {
    app.client
        .post(app.url("/conference"))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .header("accept", "*/*")
        .header("origin", "https://d111111abcdef8.cloudfront.net")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_page_signs_up_through_its_own_route() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    // The original's five fields, in its order.
    let body = r#"{"type":"Serverless web project","user_id":"jquery","user_name":"홍길동","phone_number":"010-1234-5678","company_name":"Original Co"}"#;
    let res = original_page_post(&app, body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["user_name"], "홍길동");
    let badge = app
        .wait_for_badge(created["badge"]["url"].as_str().unwrap())
        .await;
    assert_eq!(badge["status"], "ready");
    let (status, stored) = app
        .get_json("/api/registrations/jquery/Serverless%20web%20project")
        .await;
    assert_eq!(status, 401, "{stored}");
    let stored: Value = app
        .organizer(
            Method::GET,
            "/api/registrations/jquery/Serverless%20web%20project",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["company_name"], "Original Co");

    // The same answers as /api/registrations: a duplicate, a bad field.
    let again = original_page_post(&app, body).await;
    assert_eq!(again.status(), 409);
    let bad = original_page_post(
        &app,
        r#"{"type":"Serverless web project","user_id":"jq2","user_name":"","phone_number":"010-1234-5678","company_name":""}"#,
    )
    .await;
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["field"], "user_name");
    // A real form body, or anything that is not the JSON object, is a 400.
    for body in [
        "type=Serverless+web+project&user_id=form",
        "[1,2]",
        r#""a string""#,
    ] {
        let res = original_page_post(&app, body).await;
        assert_eq!(res.status(), 400, "{body}");
        let error: Value = res.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid", "{body}");
    }
    // Other media types are refused as on /api/registrations.
    let res = app
        .client
        .post(app.url("/conference"))
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);

    // The History tab listed everyone's phone numbers: refused.
    let history = app
        .client
        .get(app.url("/conference?user_id=*"))
        .header("origin", "https://d111111abcdef8.cloudfront.net")
        .send()
        .await
        .unwrap();
    assert_eq!(history.status(), 401);
    assert_eq!(history.headers()["access-control-allow-origin"], "*");
    let text = history.text().await.unwrap();
    assert!(!text.contains("010-1234-5678"), "{text}");
    assert!(text.contains("\"unauthorized\""), "{text}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conferences_logo_is_served_for_its_sign_up_page_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let png = {
        let logo = image::RgbImage::from_pixel(8, 4, image::Rgb([0x12, 0x34, 0x56]));
        let mut bytes = Vec::new();
        logo.write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
        bytes
    };
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(1)</script><rect width="10" height="10" fill="#123456"/></svg>"##;
    std::fs::write(dir.path().join("logo.bin"), &png).unwrap();
    std::fs::write(dir.path().join("mark.svg"), svg).unwrap();
    let config = dir.path().join("logos.toml");
    std::fs::write(
        &config,
        "[[conference]]\nid = \"devfest\"\ntitle = \"DevFest\"\nlogo = \"logo.bin\"\nstarts = \"2026-12-01\"\nends = \"2026-12-02\"\n\n\
         [[conference]]\nid = \"meetup night\"\ntitle = \"Meetup\"\nlogo = \"mark.svg\"\n\n\
         [[conference]]\nid = \"plain\"\ntitle = \"Plain\"\n",
    )
    .unwrap();
    let app = crate::common::spawn_app_with_config(&dir.path().join("data"), &config).await;
    let (status, list) = app.get_json("/api/conferences").await;
    assert_eq!(status, 200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items[0]["logo_url"], "/api/conferences/devfest/logo");
    assert_eq!(items[0]["starts"], "2026-12-01");
    assert_eq!(items[1]["logo_url"], "/api/conferences/meetup%20night/logo");
    assert!(items[2]["logo_url"].is_null());

    let res = app
        .client
        .get(app.url("/api/conferences/devfest/logo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(kind, "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), png.as_slice());
    // An SVG opened on its own runs nothing.
    let res = app
        .client
        .get(app.url("/api/conferences/meetup%20night/logo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), svg.as_slice());
    for missing in [
        "/api/conferences/plain/logo",
        "/api/conferences/nobody/logo",
    ] {
        let res = app.client.get(app.url(missing)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{missing}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
    app.stop().await;
}
