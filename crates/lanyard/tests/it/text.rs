//! Every name prints, legibly (issue: hostile clients; SPEC §5), against
//! the real server and badge workers: names in many scripts get badges,
//! names the fonts cannot print are refused before anything is stored and
//! the page can ask first, and a name too long even for three lines says
//! so in the badge's answer.

use crate::common::{decode_qr, spawn_app_in, spawn_app_with_config, TestApp};
use serde_json::{json, Value};

/// Installed by scripts/test (Debian's fonts-symbola): pictographs that no
/// bundled face has.
const SYMBOLA: &str = "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf";

fn sign_up_body(user_id: &str, name: &str, company: &str) -> Value {
    json!({
        "type": "Serverless web project",
        "user_id": user_id,
        "user_name": name,
        "phone_number": "+82 10-1234-5678",
        "company_name": company,
    })
}

async fn registered(app: &TestApp, user_id: &str) -> u16 {
    app.organizer(
        reqwest::Method::GET,
        &format!("/api/registrations/{user_id}/Serverless%20web%20project"),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_in_many_scripts_get_badges_that_scan() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    for (i, (name, company)) in [
        ("สมชาย ใจดี", "राम शर्मा · 学会张伟刘辺"),
        ("محمد Ali 123", "മലയാളം தமிழ் Ltd"),
        ("አበበ በቂላ", "ស្រី សុខា"),
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .post_registration(&sign_up_body(&format!("s{i}"), name, company))
            .await;
        assert_eq!(res.status(), 201, "{name}");
        let body: Value = res.json().await.unwrap();
        let badge = app
            .wait_for_badge(body["badge"]["url"].as_str().unwrap())
            .await;
        assert_eq!(badge["status"], "ready", "{name}: {badge}");
        assert_eq!(badge["shortened"], json!([]));
        let png = app.get_bytes(badge["png"].as_str().unwrap()).await;
        assert_eq!(decode_qr(&png), body["checkin_code"].as_str().unwrap());
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_no_font_can_print_is_refused_by_name_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 0).await;
    // U+1FAE0 (2021): no bundled face has it, nor Symbola.
    for (user, name, company, field) in [
        ("u1", "Ann 🫠", "Co", "user_name"),
        ("u2", "Ann", "Melting 🫠 Face Inc", "company_name"),
    ] {
        let res = app
            .post_registration(&sign_up_body(user, name, company))
            .await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid", "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("🫠 (U+1FAE0)"), "{message}");
        assert_eq!(registered(&app, user).await, 404, "nothing stored");
    }

    // The page asks first.
    let ask = |text: String| {
        let app = &app;
        async move {
            app.get_json_query("/api/printable", &[("text", text.as_str())])
                .await
        }
    };
    let (status, body) = ask("Ann 🫠 🫠 x".into()).await;
    assert_eq!(status, 200);
    assert_eq!(body["printable"], false);
    assert_eq!(body["missing"], json!(["🫠"]));
    assert!(body["message"].as_str().unwrap().contains("U+1FAE0"));
    let (status, body) = ask("สมชาย 学会".into()).await;
    assert_eq!((status, body["printable"].clone()), (200, json!(true)));
    assert_eq!(body["message"], Value::Null);
    let (status, body) = ask("a".repeat(201)).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app.get_json("/api/printable").await;
    assert_eq!(status, 400, "text is required");

    // An attendee's own fix is held to the same rule, and changes nothing.
    let res = app
        .post_registration(&sign_up_body("u3", "Ann", "Co"))
        .await;
    let body: Value = res.json().await.unwrap();
    let url = body["badge"]["url"].as_str().unwrap().to_owned();
    let res = app
        .client
        .patch(app.url(&url))
        .json(&json!({ "user_name": "Ann 🫠" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (_, now) = app.get_json(&url).await;
    assert_eq!(now["registration"]["user_name"], "Ann");
    app.stop().await;
}

/// Signs up and waits for the badge: its answer once no longer pending.
async fn signed_up_badge(app: &TestApp, body: &Value) -> Value {
    let res = app.post_registration(body).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    app.wait_for_badge(body["badge"]["url"].as_str().unwrap())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_too_long_for_three_lines_is_printed_cut_and_the_badge_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let long = "뷁".repeat(100);
    let badge = signed_up_badge(&app, &sign_up_body("long", &long, &long)).await;
    assert_eq!(badge["status"], "ready");
    assert_eq!(badge["shortened"], json!(["user_name", "company_name"]));
    // Small files whatever the text (it was 1.1 MB of SVG, 411 KB of PDF).
    for link in ["png", "svg", "pdf"] {
        let bytes = app.get_bytes(badge[link].as_str().unwrap()).await;
        assert!(bytes.len() < 80_000, "{link}: {} bytes", bytes.len());
    }
    // The costliest text there is: 100 distinct complex ideographs in each
    // field (every glyph defined once, so its outline counts once) stays
    // far below the 1 MiB ceiling a badge file may reach.
    let dense = |from: u32| -> String {
        (0..100)
            .filter_map(|i| char::from_u32(from + i * 7 % 160))
            .collect()
    };
    let badge = signed_up_badge(&app, &sign_up_body("dense", &dense(0x9F00), &dense(0x9E00))).await;
    assert_eq!(badge["status"], "ready", "{badge}");
    for link in ["png", "svg", "pdf"] {
        let bytes = app.get_bytes(badge[link].as_str().unwrap()).await;
        assert!(bytes.len() < (1 << 20) / 8, "{link}: {} bytes", bytes.len());
    }

    // A name that wraps onto two lines is not cut.
    let res = app
        .post_registration(&sign_up_body(
            "wraps",
            "Maria Fernanda de los Santos Rodríguez",
            "Co",
        ))
        .await;
    let body: Value = res.json().await.unwrap();
    let badge = app
        .wait_for_badge(body["badge"]["url"].as_str().unwrap())
        .await;
    assert_eq!(badge["shortened"], json!([]));
    app.stop().await;
}

/// `[fonts]` in the configuration: without the installed fonts a pictograph
/// only Symbola has is refused; with Symbola named as a file it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_font_files_join_the_chain() {
    assert!(
        std::path::Path::new(SYMBOLA).exists(),
        "{SYMBOLA} is missing: apt-get install fonts-symbola (scripts/test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let conference =
        "[[conference]]\nid = \"Serverless web project\"\ntitle = \"Serverless web project\"\n";
    for (fonts, expected) in [
        ("[fonts]\ninstalled = false\n", 400),
        (
            &*format!("[fonts]\ninstalled = false\nfiles = [\"{SYMBOLA}\"]\n"),
            201,
        ),
    ] {
        let config = dir.path().join(format!("lanyard-{expected}.toml"));
        std::fs::write(&config, format!("{fonts}\n{conference}")).unwrap();
        let data = dir.path().join(format!("data-{expected}"));
        let app = spawn_app_with_config(&data, &config).await;
        let res = app
            .post_registration(&sign_up_body("uni", "Ann 🦄", "Co"))
            .await;
        assert_eq!(res.status(), expected, "{fonts}");
        app.stop().await;
    }
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!("[fonts]\nfiles = [\"no-such-font.ttf\"]\n{conference}"),
    )
    .unwrap();
    let err = lanyard_domain::Conferences::load(Some(&bad)).unwrap_err();
    assert!(err.to_string().contains("no-such-font.ttf"), "{err}");
}
