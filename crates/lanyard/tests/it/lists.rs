//! Print runs, imports and exports (SPEC §11, §12) against the real server
//! and the real CLI on a real data directory. PDFs are rastered by poppler's
//! `pdftoppm` at 300 dpi and every QR code is read back with rqrr.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app_with_config, TestApp, TOKEN};

fn lanyard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lanyard"))
}

const CONFIG: &str = r#"
[[conference]]
id = "Serverless web project"
title = "Serverless web project"

[[conference]]
id = "About cloud computing"
title = "About cloud computing"
subtitle = "Busan · 2026-12-02"

[[sheet]]
name = "club-cards"
description = "Our club's 3 × 3 card sheet"
page_width = 297
page_height = 210
columns = 3
rows = 3
cell_width = 90
cell_height = 60
margin_left = 13.5
margin_top = 15
gap_x = 0
gap_y = 0
"#;

/// A data directory and a configuration file with a custom sheet.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lanyard.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    (dir, config)
}

/// Every QR code on every page of a PDF, rastered at 300 dpi, and the
/// number of pages.
fn decode_pdf(pdf: &[u8]) -> (Vec<String>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.pdf");
    std::fs::write(&file, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-png"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .status()
        .expect("pdftoppm runs (poppler-utils is installed by scripts/test)");
    assert!(status.success());
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    let mut payloads = Vec::new();
    for page in &pages {
        let img = image::open(page).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
            img.width() as usize,
            img.height() as usize,
            |x, y| img.get_pixel(x as u32, y as u32).0[0],
        );
        for grid in prepared.detect_grids() {
            let mut out = Vec::new();
            grid.decode_to(&mut out).expect("every QR code decodes");
            payloads.push(String::from_utf8(out).unwrap());
        }
    }
    (payloads, pages.len())
}

impl TestApp {
    async fn as_token(&self, token: &str, method: Method, path: &str) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// Signs up `n` people (every third one agreeing to a contact card) and
/// returns their 201 bodies.
async fn sign_up(app: &TestApp, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..n {
        let conference = if i % 2 == 0 {
            "Serverless web project"
        } else {
            "About cloud computing"
        };
        let body = json!({
            "type": conference,
            "user_id": format!("user{i:02}"),
            "user_name": format!("참가자 {i}"),
            "phone_number": "010-1234-5678",
            "company_name": "Example Corp",
            "contact_on_badge": i % 3 == 0,
        });
        let res = app.post_registration(&body).await;
        assert_eq!(res.status(), 201);
        out.push(res.json().await.unwrap());
    }
    out
}

/// What each registration's QR must read: its check-in code alone, or
/// (with consent) a contact card carrying the code in its `UID`.
fn expected_codes(registrations: &[&Value]) -> BTreeSet<String> {
    registrations
        .iter()
        .map(|r| r["checkin_code"].as_str().unwrap().to_owned())
        .collect()
}

fn codes_in(payloads: &[String]) -> BTreeSet<String> {
    payloads
        .iter()
        .map(|p| match p.find("UID:urn:lanyard:checkin:") {
            Some(at) => p[at + "UID:urn:lanyard:checkin:".len()..]
                .lines()
                .next()
                .unwrap()
                .trim()
                .to_owned(),
            None => p.clone(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_runs_over_http_hold_every_matching_badge_and_refuse_bad_requests() {
    let (dir, config) = setup();
    let app = spawn_app_with_config(&dir.path().join("data"), &config).await;
    let registrations = sign_up(&app, 11).await;

    // Three people check in at a desk.
    let (status, desk) = {
        let res = app
            .client
            .post(app.url("/api/desks"))
            .bearer_auth(TOKEN)
            .json(&json!({ "name": "Door A" }))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 201);
    let desk_token = desk["token"].as_str().unwrap().to_owned();
    for r in &registrations[..3] {
        let res = app
            .client
            .post(app.url("/api/checkins"))
            .bearer_auth(&desk_token)
            .json(&json!({ "code": r["checkin_code"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    // The sheets: built-in and the configured one.
    let res = app.as_token(TOKEN, Method::GET, "/api/sheets").await;
    assert_eq!(res.status(), 200);
    let sheets: Value = res.json().await.unwrap();
    let names: Vec<&str> = sheets["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for name in ["card", "avery-5395", "avery-l7165", "a4-cut", "club-cards"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }

    // Everyone, on the configured sheet with one label used: 11 badges in
    // 9-label pages from the second cell = 2 pages.
    let res = app
        .as_token(
            TOKEN,
            Method::GET,
            "/api/badges.pdf?sheet=club-cards&skip=1&cut_marks=true",
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.unwrap();
    let (payloads, pages) = decode_pdf(&pdf);
    assert_eq!(pages, 2);
    assert_eq!(payloads.len(), 11);
    let all: Vec<&Value> = registrations.iter().collect();
    assert_eq!(codes_in(&payloads), expected_codes(&all));
    // Consent decides what the QR holds, as on the single badge.
    assert_eq!(
        payloads.iter().filter(|p| p.starts_with("BEGIN:VCARD")).count(),
        registrations
            .iter()
            .filter(|r| r["contact_on_badge"] == true)
            .count()
    );

    // Filters: those not yet checked in, one conference, a name.
    let res = app
        .as_token(TOKEN, Method::GET, "/api/badges.pdf?checked_in=false")
        .await;
    let (payloads, pages) = decode_pdf(&res.bytes().await.unwrap());
    assert_eq!(pages, 8, "card: one badge per page");
    let waiting: Vec<&Value> = registrations[3..].iter().collect();
    assert_eq!(codes_in(&payloads), expected_codes(&waiting));
    let res = app
        .as_token(
            TOKEN,
            Method::GET,
            "/api/badges.pdf?sheet=a4-cut&type=About%20cloud%20computing&q=%EC%B0%B8%EA%B0%80%EC%9E%90%201",
        )
        .await;
    let (payloads, _) = decode_pdf(&res.bytes().await.unwrap());
    // "참가자 1" and "참가자 10"… of the odd (second) conference: 1 only
    // (10 is in the first conference).
    let wanted: Vec<&Value> = registrations
        .iter()
        .filter(|r| {
            r["type"] == "About cloud computing"
                && r["user_name"].as_str().unwrap().contains("참가자 1")
        })
        .collect();
    assert!(!wanted.is_empty());
    assert_eq!(codes_in(&payloads), expected_codes(&wanted));

    // Bad requests are JSON, name the field, and write nothing.
    for (query, field) in [
        ("sheet=letter-tiny", "sheet"),
        ("sheet=avery-5395&skip=8", "skip"),
        ("sheet=avery-5395&skip=-1", "skip"),
        ("offset_x=25", "offset_x"),
        ("offset_y=NaN", "offset_y"),
        ("checked_in=maybe", "checked_in"),
        ("type=Nope", "type"),
    ] {
        let res = app
            .as_token(TOKEN, Method::GET, &format!("/api/badges.pdf?{query}"))
            .await;
        assert_eq!(res.status(), 400, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    // Only the organizer prints.
    for path in ["/api/badges.pdf", "/api/sheets"] {
        assert_eq!(
            app.as_token(&desk_token, Method::GET, path).await.status(),
            403
        );
        assert_eq!(
            app.client.get(app.url(path)).send().await.unwrap().status(),
            401
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_and_render_from_the_command_line() {
    let (dir, config) = setup();
    let data = dir.path().join("data");
    let app = spawn_app_with_config(&data, &config).await;
    let registrations = sign_up(&app, 5).await;
    let out = dir.path().join("badges.pdf");
    let run = |args: &[&str]| {
        let out = lanyard()
            .args(args)
            .env("LANYARD_CONFIG", &config)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let data_arg = data.to_str().unwrap();
    let out_arg = out.to_str().unwrap();

    // Beside the running server, from its data directory.
    let (ok, stdout, stderr) = run(&[
        "print", "--data-dir", data_arg, "--sheet", "avery-5395", "-o", out_arg,
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("5 badges"), "{stdout}");
    let (payloads, pages) = decode_pdf(&std::fs::read(&out).unwrap());
    assert_eq!(pages, 1);
    let all: Vec<&Value> = registrations.iter().collect();
    assert_eq!(codes_in(&payloads), expected_codes(&all));
    assert!(!Path::new(&format!("{out_arg}.partial")).exists());

    let (ok, stdout, _) = run(&["print", "--list-sheets"]);
    assert!(ok);
    assert!(stdout.contains("club-cards") && stdout.contains("avery-l7165"), "{stdout}");

    let (ok, _, stderr) = run(&[
        "print", "--data-dir", data_arg, "--sheet", "nope", "-o", out_arg,
    ]);
    assert!(!ok);
    assert!(stderr.contains("card") && stderr.contains("club-cards"), "{stderr}");

    // From a CSV, nothing stored: the bad row is named, the rest printed.
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "user_id,type,user_name,phone_number,company_name\n\
         a,Serverless web project,Ada Lovelace,010-1111-2222,Engines\n\
         b,About cloud computing,홍길동,010-3333-4444,\n\
         c,Serverless web project,,010-5555-6666,No Name Ltd\n\
         d,About cloud computing,Grace Hopper,010-7777-8888,Navy\n",
    )
    .unwrap();
    let pdf = dir.path().join("csv.pdf");
    let (ok, stdout, stderr) = run(&[
        "render",
        "--from",
        csv.to_str().unwrap(),
        "--sheet",
        "a4-cut",
        "--cut-marks",
        "-o",
        pdf.to_str().unwrap(),
    ]);
    assert!(!ok, "a refused row fails the run");
    assert!(stderr.contains("line 4") && stderr.contains("user_name"), "{stderr}");
    assert!(stdout.contains("3 badges"), "{stdout}");
    let (payloads, pages) = decode_pdf(&std::fs::read(&pdf).unwrap());
    assert_eq!((payloads.len(), pages), (3, 1));
    // Without consent each QR is a fresh check-in code.
    assert!(payloads.iter().all(|p| p.len() == 19 && p.contains('-')), "{payloads:?}");
    app.stop().await;
}
