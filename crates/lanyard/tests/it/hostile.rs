//! Hostile input: every odd or malicious value is refused with a 4xx or
//! stored and rendered literally; never a 5xx, never a file out of place,
//! never markup interpreted.

use crate::common::{decode_qr, registration, spawn_app_in};
use reqwest::Method;
use serde_json::{json, Value};

fn vcard(name: &str, company: &str, code: &str) -> String {
    let esc = |v: &str| {
        v.replace('\\', "\\\\")
            .replace(',', "\\,")
            .replace(';', "\\;")
    };
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{n};;;;\r\nFN:{n}\r\nORG:{c}\r\nTEL;TYPE=CELL:+82 10-1234-5678\r\nUID:urn:lanyard:checkin:{code}\r\nEND:VCARD\r\n",
        n = esc(name),
        c = esc(company)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legal_but_hostile_values_are_stored_and_rendered_literally() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 2).await;
    let names = [
        r#"<script>alert(1)</script>"#,
        r#"<svg onload="alert(1)"><image href="file:///etc/passwd"/></svg>"#,
        r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;"#,
        "&amp;&lt;&#x41;&#65;]]>",
        "zero\u{200B}width\u{200D}joiner\u{FEFF}",
        "e\u{301}\u{301}\u{301} Zalgo\u{336}\u{334}",
        "😀 👩‍💻 🇰🇷",
        "' OR 1=1; -- DROP TABLE registrations;",
        "%00%2e%2e/..\\..\\",
    ];
    let mut urls = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let company = format!("<b>Co {i}</b> & \"quotes\"");
        let mut body = registration(&format!("hostile{i}"), name);
        body["company_name"] = json!(company);
        body["contact_on_badge"] = json!(true);
        let res = app.post_registration(&body).await;
        assert_eq!(res.status(), 201, "{name:?}");
        let created: Value = res.json().await.unwrap();
        // Stored as given, in Unicode NFC.
        assert_eq!(
            created["user_name"],
            lanyard_domain::fields::normalize(name),
            "{name:?}"
        );
        urls.push((
            created["badge"]["url"].as_str().unwrap().to_owned(),
            lanyard_domain::fields::normalize(name),
            company,
            created["checkin_code"].as_str().unwrap().to_owned(),
        ));
    }
    for (url, name, company, code) in urls {
        assert_eq!(
            app.wait_for_badge(&url).await["status"],
            "ready",
            "{name:?}"
        );
        let png = app.get_bytes(&format!("{url}.png")).await;
        assert_eq!(decode_qr(&png), vcard(&name, &company, &code), "{name:?}");
        let svg = app
            .client
            .get(app.url(&format!("{url}.svg")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for needle in [
            "<script",
            "onload",
            "passwd",
            "ENTITY",
            "<b>",
            "<image href=\"file",
        ] {
            assert!(
                !svg.contains(needle),
                "{name:?}: badge SVG contains {needle}"
            );
        }
    }
    assert_no_stray_files(dir.path());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn illegal_values_and_malformed_requests_get_4xx_never_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let long = "x".repeat(10_000);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"user_name": long}), "user_name"),
        (json!({"company_name": long}), "company_name"),
        (json!({"phone_number": long}), "phone_number"),
        (json!({"user_id": long}), "user_id"),
        (json!({"user_id": "../"}), "user_id"),
        (json!({"user_id": "../../etc/passwd"}), "user_id"),
        (json!({"user_id": "%2e%2e"}), "user_id"),
        (json!({"user_id": "/"}), "user_id"),
        (json!({"user_id": "a\u{0}b"}), "user_id"),
        (json!({"user_id": ".."}), "user_id"),
        (json!({"user_name": "nul\u{0}byte"}), "user_name"),
        (json!({"type": "../Serverless web project"}), "type"),
        (json!({"phone_number": {"nested": true}}), "phone_number"),
        (json!({"user_name": null}), "user_name"),
        // Text that prints reordered, or prints nothing.
        (json!({"user_name": "\u{202E}evil.exe"}), "user_name"),
        (
            json!({"company_name": "ACME \u{2066}isolate\u{2069}"}),
            "company_name",
        ),
        (json!({"user_name": "\u{FEFF}"}), "user_name"),
        (json!({"user_name": "\u{200B}\u{3164}"}), "user_name"),
        (json!({"user_id": "\u{3164}"}), "user_id"),
        // A phone number longer than its documented maxLength.
        (
            json!({"phone_number": format!("0101234567890{}", " ".repeat(3000))}),
            "phone_number",
        ),
    ];
    for (patch, field) in cases {
        let mut body = registration("target", "Target");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = app.post_registration(&body).await;
        assert_eq!(res.status(), 400, "{patch}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["error"]["field"],
            field,
            "{patch}"
        );
    }
    let raw = |body: Vec<u8>, content_type: Option<&'static str>| {
        let mut req = app.client.post(app.url("/api/registrations")).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    // 10 MB: refused from its Content-Length with 413. The server may close the
    // connection while the client is still sending, so the client can see the
    // 413 or a reset; either way the server stays up.
    match raw(vec![b'a'; 10 * 1024 * 1024], Some("application/json")).await {
        Ok(res) => assert_eq!(res.status(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    assert_eq!(app.get_json("/api/health").await.0, 200);
    let nested = format!("{{\"user_id\": {}{}}}", "[".repeat(8000), "]".repeat(8000));
    // A key given twice is named, not reported as a type error.
    let twice = raw(
        br#"{"type":"Serverless web project","user_id":"a","user_id":"b","user_name":"A","phone_number":"1234"}"#.to_vec(),
        Some("application/json"),
    )
    .await
    .unwrap();
    assert_eq!(twice.status(), 400);
    let error = twice.json::<Value>().await.unwrap()["error"].clone();
    assert_eq!(error["field"], "user_id");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("more than once"),
        "{error}"
    );
    let checks: Vec<(Vec<u8>, Option<&'static str>, u16)> = vec![
        (vec![b' '; 64 * 1024], Some("application/json"), 413),
        (nested.into_bytes(), Some("application/json"), 400),
        (
            br#"{"type": "Serverless web project", "user_id": "x"#.to_vec(),
            Some("application/json"),
            400,
        ),
        (b"{}".to_vec(), Some("application/json"), 400),
        (b"".to_vec(), Some("application/json"), 400),
        (b"\xff\xfe\x00{".to_vec(), Some("application/json"), 400),
        (b"null".to_vec(), Some("application/json"), 400),
        (b"{\"user_id\":\"a\"}".to_vec(), None, 415),
        (b"{\"user_id\":\"a\"}".to_vec(), Some("text/plain"), 415),
        (
            b"user_id=a".to_vec(),
            Some("application/x-www-form-urlencoded"),
            415,
        ),
        (b"<xml/>".to_vec(), Some("application/xml"), 415),
        (
            b"--b\r\n\r\n--b--".to_vec(),
            Some("multipart/form-data; boundary=b"),
            415,
        ),
    ];
    for (body, content_type, want) in checks {
        let res = raw(body, content_type).await.unwrap();
        assert_eq!(res.status().as_u16(), want, "{content_type:?}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
    for path in [
        "/api/registrations/..%2F..%2Fetc%2Fpasswd/x",
        "/api/registrations/%00/Serverless%20web%20project",
        "/api/registrations/a/b/c/d/e",
        "/api/badges/%2e%2e%2f%2e%2e%2fetc%2fpasswd.png",
        "/api/badges/....png",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e/Cargo.toml",
    ] {
        let res = app.organizer(Method::GET, path).await;
        assert!(res.status().is_client_error(), "{path}: {}", res.status());
    }
    let list: Value = app
        .organizer(Method::GET, "/api/registrations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]), "nothing was stored");
    assert_no_stray_files(dir.path());
    app.stop().await;
}

/// The data directory holds only what lanyard puts there.
fn assert_no_stray_files(data_dir: &std::path::Path) {
    for entry in std::fs::read_dir(data_dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            [
                "lanyard.sqlite",
                "lanyard.sqlite-wal",
                "lanyard.sqlite-shm",
                "lanyard.sqlite-desks",
                "lanyard.lock",
                "objects"
            ]
            .contains(&name.as_str()),
            "unexpected {name} in the data directory"
        );
    }
    if let Ok(badges) = std::fs::read_dir(data_dir.join("objects/badges")) {
        for entry in badges {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let (token, ext) = name.split_once('.').unwrap();
            assert!(
                token.len() == 22 && ["png", "svg", "pdf"].contains(&ext),
                "unexpected badge file {name}"
            );
        }
    }
}
