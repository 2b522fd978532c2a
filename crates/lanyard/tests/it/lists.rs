//! Print runs, imports and exports (SPEC §11, §12) against the real server
//! and the real CLI on a real data directory. PDFs are rastered by poppler's
//! `pdftoppm` at 300 dpi and every QR code is read back with rqrr.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use lanyard_badge::Sheet;

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

/// Every QR code on every page of a PDF on `sheet`, rastered at 300 dpi
/// and read cell by cell, and the number of pages.
pub(crate) fn decode_pdf(pdf: &[u8], sheet: &Sheet) -> (Vec<String>, usize) {
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
    let px = |mm: f32| (mm / 25.4 * 300.0) as u32;
    let mut payloads = Vec::new();
    for page in &pages {
        let img = image::open(page).unwrap().to_luma8();
        for cell in 0..sheet.cells_per_page() {
            let (x, y) = sheet.cell_origin(cell);
            let (x0, y0) = (px(x), px(y));
            let w = px(sheet.cell_width).min(img.width() - x0);
            let h = px(sheet.cell_height).min(img.height() - y0);
            let mut prepared =
                rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |cx, cy| {
                    img.get_pixel(x0 + cx as u32, y0 + cy as u32).0[0]
                });
            let grids = prepared.detect_grids();
            assert!(grids.len() <= 1, "cell {cell}: {} codes", grids.len());
            for grid in grids {
                let mut out = Vec::new();
                grid.decode_to(&mut out).expect("every QR code decodes");
                payloads.push(String::from_utf8(out).unwrap());
            }
        }
    }
    (payloads, pages.len())
}

pub(crate) fn sheet(name: &str) -> Sheet {
    if name == "club-cards" {
        return Sheet {
            name: name.into(),
            description: String::new(),
            page_width: 297.0,
            page_height: 210.0,
            columns: 3,
            rows: 3,
            cell_width: 90.0,
            cell_height: 60.0,
            margin_left: 13.5,
            margin_top: 15.0,
            gap_x: 0.0,
            gap_y: 0.0,
        };
    }
    Sheet::builtin()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
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
    let (payloads, pages) = decode_pdf(&pdf, &sheet("club-cards"));
    assert_eq!(pages, 2);
    assert_eq!(payloads.len(), 11);
    let all: Vec<&Value> = registrations.iter().collect();
    assert_eq!(codes_in(&payloads), expected_codes(&all));
    // Consent decides what the QR holds, as on the single badge.
    assert_eq!(
        payloads
            .iter()
            .filter(|p| p.starts_with("BEGIN:VCARD"))
            .count(),
        registrations
            .iter()
            .filter(|r| r["contact_on_badge"] == true)
            .count()
    );

    // Filters: those not yet checked in, one conference, a name.
    let res = app
        .as_token(TOKEN, Method::GET, "/api/badges.pdf?checked_in=false")
        .await;
    let (payloads, pages) = decode_pdf(&res.bytes().await.unwrap(), &sheet("card"));
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
    let (payloads, _) = decode_pdf(&res.bytes().await.unwrap(), &sheet("a4-cut"));
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
        "print",
        "--data-dir",
        data_arg,
        "--sheet",
        "avery-5395",
        "-o",
        out_arg,
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("5 badges"), "{stdout}");
    let (payloads, pages) = decode_pdf(&std::fs::read(&out).unwrap(), &sheet("avery-5395"));
    assert_eq!(pages, 1);
    let all: Vec<&Value> = registrations.iter().collect();
    assert_eq!(codes_in(&payloads), expected_codes(&all));
    assert!(!Path::new(&format!("{out_arg}.partial")).exists());

    let (ok, stdout, _) = run(&["print", "--list-sheets"]);
    assert!(ok);
    assert!(
        stdout.contains("club-cards") && stdout.contains("avery-l7165"),
        "{stdout}"
    );

    let (ok, _, stderr) = run(&[
        "print",
        "--data-dir",
        data_arg,
        "--sheet",
        "nope",
        "-o",
        out_arg,
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("card") && stderr.contains("club-cards"),
        "{stderr}"
    );

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
    assert!(
        stderr.contains("line 4") && stderr.contains("user_name"),
        "{stderr}"
    );
    assert!(stdout.contains("3 badges"), "{stdout}");
    let (payloads, pages) = decode_pdf(&std::fs::read(&pdf).unwrap(), &sheet("a4-cut"));
    assert_eq!((payloads.len(), pages), (3, 1));
    // Without consent each QR is a fresh check-in code.
    assert!(
        payloads.iter().all(|p| p.len() == 19 && p.contains('-')),
        "{payloads:?}"
    );
    app.stop().await;
}

async fn import(app: &TestApp, query: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("/api/registrations/import{query}")))
        .bearer_auth(TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn list_all(app: &TestApp) -> Vec<Value> {
    let (status, body) = app
        .get_json_as_organizer("/api/registrations?limit=100")
        .await;
    assert_eq!(status, 200);
    body["items"].as_array().unwrap().clone()
}

impl TestApp {
    async fn get_json_as_organizer(&self, path: &str) -> (u16, Value) {
        let res = self.as_token(TOKEN, Method::GET, path).await;
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }
}

/// The people of a file as (user_id, type, name, phone, company, consent).
fn people_of(items: &[Value]) -> BTreeSet<(String, String, String, String, String, bool)> {
    items
        .iter()
        .map(|r| {
            (
                r["user_id"].as_str().unwrap().to_owned(),
                r["type"].as_str().unwrap().to_owned(),
                r["user_name"].as_str().unwrap().to_owned(),
                r["phone_number"].as_str().unwrap().to_owned(),
                r["company_name"].as_str().unwrap_or_default().to_owned(),
                r["contact_on_badge"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_take_what_spreadsheets_write_and_report_each_row() {
    let (dir, config) = setup();
    let app = spawn_app_with_config(&dir.path().join("data"), &config).await;

    // Korean Excel's CSV: CP949, semicolons, CRLF, a quoted field with a
    // delimiter inside; a bad row and a row repeating a key.
    let text = "이름;아이디;행사;전화;회사;메모\r\n\
                김철수;kim;Serverless web project;010-1111-2222;\"서울; 본사\";VIP\r\n\
                이영희;lee;About cloud computing;+82 10-3333-4444;;\r\n\
                ;nobody;Serverless web project;010-5555-6666;;\r\n\
                박지성;kim;Serverless web project;010-7777-8888;;\r\n";
    let (cp949, _, _) = encoding_rs::EUC_KR.encode(text);
    let map = "?map=%EC%9D%B4%EB%A6%84%3Duser_name%2C%EC%95%84%EC%9D%B4%EB%94%94%3Duser_id%2C%ED%96%89%EC%82%AC%3Dtype%2C%EC%A0%84%ED%99%94%3Dphone_number%2C%ED%9A%8C%EC%82%AC%3Dcompany_name%2C%EB%A9%94%EB%AA%A8%3D-";

    // A dry run reports and stores nothing.
    let (status, report) = import(
        &app,
        &format!("{map}&dry_run=true"),
        "text/csv",
        cp949.to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(
        (report["created"].as_u64(), report["invalid"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(list_all(&app).await.is_empty(), "a dry run stores nothing");

    let (status, report) = import(&app, map, "text/csv; charset=cp949", cp949.to_vec()).await;
    assert_eq!(status, 200, "{report}");
    let rows = report["rows"].as_array().unwrap();
    let row = |line: u64| rows.iter().find(|r| r["line"] == line).unwrap().clone();
    assert_eq!(row(2)["status"], "created");
    assert_eq!(row(3)["status"], "created");
    assert_eq!(row(4)["status"], "invalid");
    assert_eq!(row(4)["field"], "user_name");
    assert_eq!(row(5)["status"], "invalid");
    assert_eq!(row(5)["field"], "user_id");
    assert!(
        row(5)["reason"].as_str().unwrap().contains("line 2"),
        "{}",
        row(5)
    );
    let stored = list_all(&app).await;
    assert_eq!(stored.len(), 2);
    let kim = stored.iter().find(|r| r["user_id"] == "kim").unwrap();
    assert_eq!(kim["user_name"], "김철수");
    assert_eq!(kim["company_name"], "서울; 본사");
    assert!(kim["checkin_code"].as_str().is_some_and(|c| c.len() == 19));

    // Imported registrations get badges like any other.
    let badge = app
        .wait_for_badge(kim["badge"]["url"].as_str().unwrap())
        .await;
    assert_eq!(badge["status"], "ready", "{badge}");

    // The same file again creates nothing.
    let (_, again) = import(&app, map, "text/csv", cp949.to_vec()).await;
    assert_eq!(again["created"], 0);
    assert_eq!(again["already_registered"], 2);
    assert_eq!(list_all(&app).await.len(), 2);

    // UTF-8 with a BOM, tabs, a quoted newline in a cell that is not
    // printed on one line: refused like a sign-up would be.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(
        "user_id\ttype\tuser_name\tphone_number\tcompany_name\tcontact_on_badge\n\
         zoe\tAbout cloud computing\tZoë Ångström\t010-9999-0000\t\"Multi\nline\"\tyes\n\
         ann\tAbout cloud computing\tAnn\t010-9999-0001\tACME\tyes\n"
            .as_bytes(),
    );
    let (status, report) = import(&app, "", "text/csv", bom).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 1);
    assert_eq!(report["rows"][0]["field"], "company_name");
    assert_eq!(report["rows"][1]["line"], 4, "the quoted newline counts");

    // Whole-file problems: 400 naming the file, nothing stored.
    let before = list_all(&app).await.len();
    for (query, body, content_type, says) in [
        (
            "",
            b"user_id,type,name,phone\n".to_vec(),
            "text/csv",
            "unknown column",
        ),
        (
            "",
            b"user_id,type,user_name\n".to_vec(),
            "text/csv",
            "phone_number",
        ),
        ("", b"".to_vec(), "text/csv", "empty"),
        ("?encoding=utf-8", cp949.to_vec(), "text/csv", "not UTF-8"),
        ("?encoding=latin1", b"x\n".to_vec(), "text/csv", "encoding"),
        (
            "?map=Name%3Dnothing",
            b"Name\n".to_vec(),
            "text/csv",
            "not a field",
        ),
    ] {
        let (status, body) = import(&app, query, content_type, body).await;
        assert_eq!(status, 400, "{says}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{says}: {body}"
        );
    }
    let (status, _) = import(&app, "", "application/json", b"{}".to_vec()).await;
    assert_eq!(status, 415);
    // A 100 MB upload is refused from its length, before it is read.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(app.socket_address())
            .await
            .unwrap();
        let head = format!(
            "POST /api/registrations/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: text/csv\r\nContent-Length: {}\r\n\r\n",
            100 * 1024 * 1024
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[b'a'; 64 * 1024]).await.unwrap();
        let mut answer = vec![0; 4096];
        let n = stream.read(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("payload_too_large"), "{answer}");
    }

    assert_eq!(list_all(&app).await.len(), before);
    app.stop().await;
}

/// The cells of the first worksheet of an `.xlsx`, row by row (inline
/// strings, as the export writes them).
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut xml,
    )
    .unwrap();
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    xml.split("<row ")
        .skip(1)
        .map(|row| {
            row.split("<t")
                .skip(1)
                .map(|t| {
                    let t = &t[t.find('>').unwrap() + 1..];
                    unescape(&t[..t.find("</t>").unwrap()])
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_round_trip_into_a_fresh_data_directory_and_defuse_formulas() {
    let (dir, config) = setup();
    let app = spawn_app_with_config(&dir.path().join("data"), &config).await;
    let mut registrations = sign_up(&app, 4).await;
    for (user_id, name, company) in [
        ("formula", "=HYPERLINK(\"http://evil\")", "@SUM(A1)"),
        ("minus", "-Minus Person", "+Plus Corp"),
    ] {
        let res = app
            .post_registration(&json!({
                "type": "Serverless web project",
                "user_id": user_id,
                "user_name": name,
                "phone_number": "+82 10-1234-5678",
                "company_name": company,
            }))
            .await;
        assert_eq!(res.status(), 201);
        registrations.push(res.json().await.unwrap());
    }
    // Every badge made first, so both exports below see the same state.
    for r in &registrations {
        app.wait_for_badge(r["badge"]["url"].as_str().unwrap())
            .await;
    }
    let before = list_all(&app).await;

    let res = app
        .as_token(TOKEN, Method::GET, "/api/registrations.csv")
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.bytes().await.unwrap().to_vec();
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "a BOM for spreadsheet programs"
    );
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("user_id,type,user_name,phone_number,company_name,contact_on_badge,checkin_code,created_at,badge_status,checked_in_at,checked_in_desk,email,category,status,offer_expires_at\r\n"));
    // No cell starts a formula: each such cell begins with a quote.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?}");
        }
    }
    assert!(
        text.contains("'=HYPERLINK") && text.contains("'+82 10-1234-5678"),
        "{text}"
    );

    // A filter, as on the list.
    let res = app
        .as_token(
            TOKEN,
            Method::GET,
            "/api/registrations.csv?type=About%20cloud%20computing",
        )
        .await;
    let filtered = res.text().await.unwrap();
    assert_eq!(filtered.lines().count(), 1 + 2, "{filtered}");
    let res = app
        .as_token(TOKEN, Method::GET, "/api/registrations.csv?type=Nope")
        .await;
    assert_eq!(res.status(), 400);

    // The workbook: the same rows, every cell text.
    let res = app
        .as_token(TOKEN, Method::GET, "/api/registrations.xlsx")
        .await;
    assert_eq!(res.status(), 200);
    let rows = xlsx_rows(&res.bytes().await.unwrap());
    assert_eq!(rows.len(), 1 + before.len());
    assert_eq!(rows[0][0], "user_id");
    let phones: BTreeSet<&str> = rows[1..].iter().map(|r| r[3].as_str()).collect();
    assert!(phones.contains("+82 10-1234-5678"), "{phones:?}");
    assert!(rows.iter().any(|r| r[2] == "=HYPERLINK(\"http://evil\")"));

    // Export → import into a fresh data directory: the same registrations,
    // check-in codes included.
    let (fresh_dir, _) = setup();
    let fresh = spawn_app_with_config(&fresh_dir.path().join("data"), &config).await;
    let (status, report) = import(&fresh, "", "text/csv", csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["created"].as_u64(),
        Some(before.len() as u64),
        "{report}"
    );
    let after = list_all(&fresh).await;
    assert_eq!(people_of(&after), people_of(&before));
    let codes = |items: &[Value]| -> BTreeSet<String> {
        items
            .iter()
            .map(|r| r["checkin_code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(codes(&after), codes(&before));
    fresh.stop().await;

    // The command line writes the same file.
    let out = dir.path().join("out.csv");
    let status = lanyard()
        .args(["export", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("-o")
        .arg(&out)
        .env("LANYARD_CONFIG", &config)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap()[3..], text);
    let fresh_data = tempfile::tempdir().unwrap();
    let imported = lanyard()
        .arg("import")
        .arg(&out)
        .arg("--data-dir")
        .arg(fresh_data.path())
        .env("LANYARD_CONFIG", &config)
        .output()
        .unwrap();
    assert!(imported.status.success());
    assert!(
        String::from_utf8_lossy(&imported.stdout).contains(&format!("{} created", before.len()))
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_code_taken_is_a_conflict_for_its_row_alone() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::common::spawn_app_in(&dir.path().join("data"), 1).await;
    let file = |rows: &[(&str, &str)]| {
        let mut csv = String::from("user_id,type,user_name,phone_number,checkin_code\n");
        for (user, code) in rows {
            csv.push_str(&format!(
                "{user},Serverless web project,{user} Name,010-1234-5678,{code}\n"
            ));
        }
        csv.into_bytes()
    };
    let (status, report) = import(
        &app,
        "",
        "text/csv",
        file(&[("anna", "ABCD-EFGH-JKMN-PQRS")]),
    )
    .await;
    assert_eq!((status, &report["created"]), (200, &json!(1)), "{report}");
    // The code again for someone else, beside a row that is fine.
    let (status, report) = import(
        &app,
        "",
        "text/csv",
        file(&[("bob", "abcd efgh jkmn pqrs"), ("carl", "")]),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"][0]["status"], "conflict", "{report}");
    assert_eq!(report["rows"][0]["field"], "checkin_code");
    assert_eq!(report["rows"][1]["status"], "created");
    assert_eq!(
        (report["conflicts"].as_u64(), report["created"].as_u64()),
        (Some(1), Some(1))
    );
    // Two imports at once, each giving one code to a different person:
    // one is created, the other is a conflict; never a failed file.
    for round in 0..6 {
        let code = format!("WXYZ-2345-6789-ABC{round}");
        let (a, b) = tokio::join!(
            import(
                &app,
                "",
                "text/csv",
                file(&[(&format!("left{round}"), &code)])
            ),
            import(
                &app,
                "",
                "text/csv",
                file(&[(&format!("right{round}"), &code)])
            ),
        );
        let mut statuses: Vec<String> = [a, b]
            .iter()
            .map(|(status, report)| {
                assert_eq!(*status, 200, "{report}");
                report["rows"][0]["status"].as_str().unwrap().to_owned()
            })
            .collect();
        statuses.sort();
        assert_eq!(statuses, ["conflict", "created"], "round {round}");
    }
    let everyone = list_all(&app).await;
    assert_eq!(everyone.len(), 2 + 6, "anna, carl and one of each pair");
    assert!(!everyone.iter().any(|r| r["user_id"] == "bob"));

    // Whole-file problems name their line and store nothing.
    let mut mixed =
        b"user_id,type,user_name,phone_number\njose,Serverless web project,Jos\xc3\xa9,010-1\n"
            .to_vec();
    mixed.extend_from_slice(b"alvaro,Serverless web project,\xc0lvaro,010-2\n");
    let (status, body) = import(&app, "", "text/csv", mixed).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 3 is not UTF-8"),
        "{body}"
    );
    let unclosed = b"user_id,type,user_name,phone_number\nzed,Serverless web project,\"Zed,010-1\nyan,Serverless web project,Yan,010-2\n".to_vec();
    let (status, body) = import(&app, "", "text/csv", unclosed).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2: a quote"),
        "{body}"
    );
    assert_eq!(list_all(&app).await.len(), 8);
    app.stop().await;
}

#[tokio::test]
async fn the_command_line_uses_the_configuration_its_server_runs_with() {
    let (dir, config) = setup();
    let data = dir.path().join("data");
    let sheets = |data: &Path| {
        let out = lanyard()
            .args(["print", "--list-sheets", "--data-dir"])
            .arg(data)
            .env_remove("LANYARD_CONFIG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let app = spawn_app_with_config(&data, &config).await;
    sign_up(&app, 2).await;
    // Without --config: the server's, said on standard error.
    let (listed, said) = sheets(&data);
    assert!(listed.contains("club-cards"), "{listed}");
    assert!(said.contains("lanyard.toml"), "{said}");
    let export = |with_config: bool| {
        let mut command = lanyard();
        command
            .args(["export", "--type", "About cloud computing", "--data-dir"])
            .arg(&data)
            .env_remove("LANYARD_CONFIG");
        if with_config {
            command.arg("--config").arg(&config);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    assert_eq!(export(false), export(true));
    app.stop().await;

    // A server started without one: the built-in conferences again.
    let app = crate::common::spawn_app_in(&data, 1).await;
    let (listed, _) = sheets(&data);
    assert!(!listed.contains("club-cards"), "{listed}");
    app.stop().await;
}

/// An import paced to 25 rows a second stores what its 10-second budget
/// allows, says where it stopped, and goes on from there when asked: every
/// line reported once, every valid row stored once, a key repeated from
/// the first part still found in the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_import_stops_at_its_budget_and_goes_on_from_the_line_it_names() {
    let (dir, config) = setup();
    let app = crate::common::spawn_app_with(&dir.path().join("data"), Some(&config), |s| {
        s.import_rate = Some(25);
    })
    .await;
    let mut csv = String::from("user_id,type,user_name,phone_number,company_name\n");
    for i in 0..400 {
        let user = if i == 390 {
            // The first row's key again, far past the first part.
            "p0".to_owned()
        } else {
            format!("p{i}")
        };
        let phone = if i == 3 {
            "not a phone"
        } else {
            "010-1234-5678"
        };
        csv.push_str(&format!(
            "{user},Serverless web project,Paced Attendee {i},{phone},Club\n"
        ));
    }
    // A line that is not a number changes nothing.
    let (status, body) = import(&app, "?from_line=abc", "text/csv", csv.clone().into_bytes()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "from_line");

    let mut reported: Vec<u64> = Vec::new();
    let (mut created, mut invalid) = (0, 0);
    let mut from_line = 0;
    let mut parts = 0;
    loop {
        parts += 1;
        assert!(parts <= 6, "the import never finished");
        let query = if from_line == 0 {
            String::new()
        } else {
            format!("?from_line={from_line}")
        };
        let (status, body) = import(&app, &query, "text/csv", csv.clone().into_bytes()).await;
        assert_eq!(status, 200, "{body}");
        let rows = body["rows"].as_array().unwrap();
        for row in rows {
            let line = row["line"].as_u64().unwrap();
            assert!(line >= from_line.max(2), "line {line} reported again");
            if row["line"] == 392 {
                assert_eq!(row["status"], "invalid", "{row}");
                assert!(row["reason"].as_str().unwrap().contains("line 2"), "{row}");
            }
            reported.push(line);
        }
        let part_created = body["created"].as_u64().unwrap();
        // 25 a second for 10 seconds, the first at once.
        assert!(part_created <= 251, "{part_created} rows in one part");
        created += part_created;
        invalid += body["invalid"].as_u64().unwrap();
        match body["next_line"].as_u64() {
            Some(next) => {
                assert!(next > from_line, "{body}");
                assert!(
                    rows.iter().all(|r| r["line"].as_u64().unwrap() < next),
                    "only rows before next_line are reported"
                );
                from_line = next;
            }
            None => {
                assert!(body.get("next_line").is_none());
                break;
            }
        }
    }
    assert!(
        parts >= 2,
        "400 rows at 25 a second take more than one part"
    );
    assert_eq!(reported, (2..=401).collect::<Vec<u64>>());
    assert_eq!((created, invalid), (398, 2));
    let (status, stats) = app
        .get_json_as_organizer("/api/checkins/stats?type=Serverless%20web%20project")
        .await;
    assert_eq!(status, 200);
    assert_eq!(stats["conferences"][0]["registered"], 398);
    app.stop().await;
}
