//! The organizer's form over HTTP: e-mail, categories with their band,
//! questions with their answers on the badge, capacity and the waiting
//! list, lists in and out with them.

use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{decode_qr, spawn_app_with_config, TestApp, TOKEN};

const FORM: &str = r##"
[[conference]]
id = "devday"
title = "Dev Day"
accent = "#ed244b"
email = "required"

[[conference.category]]
id = "attendee"
label = { en = "Attendee", ko = "참가자" }
default = true

[[conference.category]]
id = "student"
label = "Student"
public = true

[[conference.category]]
id = "speaker"
label = { en = "Speaker", ko = "연사" }
colour = "#1f6feb"
band = "SPEAKER"

[[conference.question]]
id = "job"
label = { en = "Job title", ko = "직함" }
kind = "text"
max_length = 40
on_badge = "line"

[[conference.question]]
id = "size"
label = "T-shirt"
kind = "choice"
choices = ["S", "M", "L"]
required = true

[[conference.question]]
id = "diet"
label = "Diet"
kind = "multi"
choices = ["vegan", "halal", "no nuts"]

[[conference.question]]
id = "first"
label = "First time"
kind = "bool"

[[conference.question]]
id = "home"
label = "Home address"
kind = "text"
pii = true

[[conference]]
id = "tiny"
title = "Tiny"
capacity = 2
waitlist = true
offer_hours = 1

[[conference]]
id = "closed"
title = "Closed"
closes_at = "2020-01-01T00:00:00Z"
capacity = 1
"##;

fn write_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("lanyard.toml");
    std::fs::write(&path, FORM).unwrap();
    path
}

fn sign_up(user_id: &str, conference: &str) -> Value {
    json!({
        "type": conference,
        "user_id": user_id,
        "user_name": "Kim Minji",
        "phone_number": "010-1234-5678",
        "company_name": "Example Corp",
    })
}

async fn organizer_json(app: &TestApp, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, body: &Value) -> (u16, Value) {
    let res = app.post_registration(body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Each page of a PDF as a PNG at 300 dpi, in colour (poppler).
fn raster_pages(pdf: &[u8]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.pdf"), pdf).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png"])
        .arg(dir.path().join("run.pdf"))
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
    pages.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.pdf"), pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(dir.path().join("run.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The colour of the PNG's pixel at (`x_mm`, `y_mm`) from its top-left.
fn pixel_at(png: &[u8], x_mm: f32, y_mm: f32) -> [u8; 3] {
    let img = image::load_from_memory(png).unwrap().to_rgb8();
    let per_mm = img.width() as f32 / 85.6;
    img.get_pixel((x_mm * per_mm) as u32, (y_mm * per_mm) as u32)
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conference_asks_its_questions_and_prints_its_answers_and_category() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let app = spawn_app_with_config(&dir.path().join("data"), &config).await;

    // The page learns the form from the conference list.
    let (_, conferences) = app.get_json("/api/conferences").await;
    let devday = &conferences["items"][0];
    assert_eq!(devday["email"], "required");
    assert_eq!(devday["default_category"], "attendee");
    assert_eq!(devday["categories"][2]["band"], "SPEAKER");
    assert_eq!(devday["categories"][2]["colour"], "#1f6feb");
    assert_eq!(devday["categories"][0]["label"]["ko"], "참가자");
    assert_eq!(devday["questions"][1]["choices"], json!(["S", "M", "L"]));
    assert_eq!(devday["questions"][4]["pii"], true);
    assert_eq!(conferences["items"][1]["capacity"], 2);
    assert_eq!(conferences["items"][2]["closed"], true);

    // Each rule refuses with the field at fault, and stores nothing.
    let mut body = sign_up("minji", "devday");
    body["answers"] = json!({"size": "M"});
    for (change, field, says) in [
        (json!({}), "email", "is required"),
        (json!({"email": "minji@"}), "email", "not an e-mail address"),
        (
            json!({"email": "m@example.org", "answers": {}}),
            "answers",
            "size: is required",
        ),
        (
            json!({"email": "m@example.org", "answers": {"size": "XL"}}),
            "answers",
            "must be one of S, M, L",
        ),
        (
            json!({"email": "m@example.org", "answers": {"size": "M", "shoe": "42"}}),
            "answers",
            "shoe: is not a question",
        ),
        (
            json!({"email": "m@example.org", "answers": {"size": "M", "diet": ["fish"]}}),
            "answers",
            "diet: may hold only vegan, halal, no nuts",
        ),
        (
            json!({"email": "m@example.org", "answers": {"size": "M", "diet": true}}),
            "answers",
            "diet: must be a list of choices",
        ),
        (
            json!({"email": "m@example.org", "answers": {"size": "M", "first": "maybe"}}),
            "answers",
            "first: must be yes or no",
        ),
        (
            json!({"email": "m@example.org", "answers": {"size": "M", "job": "x".repeat(41)}}),
            "answers",
            "at most 40 characters",
        ),
        // An answer printed on the badge must be printable.
        (
            json!({"email": "m@example.org", "answers": {"size": "M", "job": "Chief 🫠 Officer"}}),
            "answers",
            "no badge font can print",
        ),
        (
            json!({"email": "m@example.org", "category": "speaker"}),
            "category",
            "given by the organizers",
        ),
        (
            json!({"email": "m@example.org", "category": "vip"}),
            "category",
            "not a category",
        ),
    ] {
        let mut attempt = body.clone();
        for (k, v) in change.as_object().unwrap() {
            attempt[k] = v.clone();
        }
        let (status, error) = post(&app, &attempt).await;
        assert_eq!(status, 400, "{change}: {error}");
        assert_eq!(error["error"]["field"], field, "{change}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{change}: {message}");
    }
    let (_, page) = app
        .get_json_query("/api/registrations", &[("type", "devday")])
        .await;
    assert_eq!(page["error"]["code"], "unauthorized");
    let listed = app
        .organizer(Method::GET, "/api/registrations?type=devday")
        .await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "nothing refused was stored");

    // A valid sign-up: answers kept as given (choices in their order), the
    // default category, the address's domain in lower case.
    body["email"] = json!("Minji@Example.ORG");
    body["answers"] = json!({"size": "M", "diet": ["no nuts", "vegan"], "first": true,
        "job": "Staff Engineer", "home": "Seoul"});
    let (status, created) = post(&app, &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["email"], "Minji@example.org");
    assert_eq!(created["category"], "attendee");
    assert_eq!(created["status"], "confirmed");
    assert_eq!(
        created["answers"],
        json!({"size": "M", "diet": ["vegan", "no nuts"], "first": true,
            "job": "Staff Engineer", "home": "Seoul"})
    );
    let badge_url = created["badge"]["url"].as_str().unwrap().to_owned();
    let badge = app.wait_for_badge(&badge_url).await;
    assert_eq!(badge["status"], "ready", "{badge}");
    let png = app.get_bytes(&format!("{badge_url}.png")).await;
    let svg = String::from_utf8(app.get_bytes(&format!("{badge_url}.svg")).await).unwrap();
    let code = created["checkin_code"].as_str().unwrap().to_owned();
    assert_eq!(decode_qr(&png), code, "the code scans");
    // The answer printed on the badge is its line (glyph outlines in the SVG).
    assert!(svg.contains(r#"<g id="details""#), "{svg}");
    assert!(!svg.contains(r#"<g id="band""#));
    // Without a category band, the badge's foot is white above the accent.
    assert_eq!(pixel_at(&png, 84.0, 49.0), [255, 255, 255]);

    // A desk sees the category and the seat, never an answer or an address.
    let desk: Value = app
        .client
        .post(app.url("/api/desks"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Door A"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found: Value = app
        .client
        .get(app.url("/api/checkins/search?q=Minji"))
        .bearer_auth(desk["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen = &found["items"][0];
    assert_eq!(seen["category"], "attendee");
    assert_eq!(seen["status"], "confirmed");
    assert!(
        seen.get("answers").is_none() && seen.get("email").is_none(),
        "{seen}"
    );
    // A walk-in at the door may leave the form's required fields for later;
    // what is given is still checked.
    let walk_in = |body: Value| {
        let app = &app;
        let token = desk["token"].as_str().unwrap().to_owned();
        async move {
            let res = app
                .client
                .post(app.url("/api/checkins/walk-ins"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, checked) = walk_in(sign_up("door", "devday")).await;
    assert_eq!(status, 201, "{checked}");
    assert_eq!(checked["result"], "checked_in");
    let mut bad = sign_up("door2", "devday");
    bad["answers"] = json!({"size": "XXL"});
    let (status, error) = walk_in(bad).await;
    assert_eq!(status, 400, "{error}");
    // The public sign-up still needs them.
    let (status, _) = post(&app, &sign_up("door3", "devday")).await;
    assert_eq!(status, 400);
    let res = app
        .organizer(Method::DELETE, "/api/registrations/door/devday")
        .await;
    assert_eq!(res.status(), 204);

    // The organizer makes her a speaker: the badge gets the band.
    let path = "/api/registrations/minji/devday";
    let (status, changed) =
        organizer_json(&app, Method::PATCH, path, &json!({"category": "speaker"})).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["category"], "speaker");
    assert_eq!(changed["badge"]["url"], badge_url.as_str(), "the same link");
    let badge = app.wait_for_badge(&badge_url).await;
    assert_eq!(badge["status"], "ready");
    let png = app.get_bytes(&format!("{badge_url}.png")).await;
    let svg = String::from_utf8(app.get_bytes(&format!("{badge_url}.svg")).await).unwrap();
    assert!(svg.contains(r#"<g id="band""#));
    assert_eq!(
        pixel_at(&png, 84.0, 49.0),
        [0x1f, 0x6f, 0xeb],
        "the speaker band"
    );
    assert_eq!(decode_qr(&png), code, "the code scans above the band");
    // An organizer's change is checked like a sign-up.
    let (status, error) = organizer_json(
        &app,
        Method::PATCH,
        path,
        &json!({"answers": {"diet": ["vegan"]}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["message"], "answers: size: is required");

    // The attendee changes her answers at her own link, but cannot make
    // herself staff.
    let own = |body: Value| {
        let app = &app;
        let url = app.url(&badge_url);
        async move {
            let res = app.client.patch(url).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, _) = own(json!({"category": "attendee", "answers": {"size": "L"}})).await;
    assert_eq!(
        status, 400,
        "speaker is hers to keep only by the organizers"
    );
    let (status, mine) = own(json!({"answers": {"size": "L", "job": "CTO"}})).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["answers"], json!({"size": "L", "job": "CTO"}));
    assert_eq!(mine["category"], "speaker", "kept");

    // The export carries e-mail, category, seat and each answer; an import
    // of it into another conference reads them back.
    let csv = app
        .organizer(Method::GET, "/api/registrations.csv?type=devday")
        .await
        .text()
        .await
        .unwrap();
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(
            "email,category,status,offer_expires_at,answer:job,answer:size,answer:diet,answer:first,answer:home"
        ),
        "{header}"
    );
    let row = lines.next().unwrap();
    assert!(
        row.ends_with("Minji@example.org,speaker,confirmed,,CTO,L,,,"),
        "{row}"
    );

    // An import with its own headers, mapped to fields and answers, into a
    // default conference.
    let file = "Name,Login,Phone,Mail,Shirt,Food\n\
                Lee Jun,jun,010-2222-3333,jun@example.org,S,vegan; halal\n\
                Park Sora,sora,010-4444-5555,,M,\n";
    let res = app
        .client
        .post(app.url("/api/registrations/import"))
        .bearer_auth(TOKEN)
        .query(&[
            ("type", "devday"),
            (
                "map",
                "Name=user_name,Login=user_id,Phone=phone_number,Mail=email,Shirt=answer:size,Food=answer:diet",
            ),
        ])
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["invalid"], 1, "{report}");
    assert_eq!(report["rows"][1]["field"], "email", "{report}");
    let (_, jun) = organizer_json(
        &app,
        Method::GET,
        "/api/registrations/jun/devday",
        &json!({}),
    )
    .await;
    assert_eq!(
        jun["answers"],
        json!({"size": "S", "diet": ["vegan", "halal"]})
    );
    assert_eq!(jun["category"], "attendee");

    // The list, print runs and exports filter by category.
    let speakers: Value = app
        .organizer(
            Method::GET,
            "/api/registrations?type=devday&category=speaker",
        )
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = speakers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["minji"]);
    let pdf = app
        .organizer(
            Method::GET,
            "/api/badges.pdf?type=devday&sheet=card&category=speaker",
        )
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(raster_pages(&pdf).len(), 1);
    let res = app
        .organizer(Method::GET, "/api/registrations?type=devday&category=vip")
        .await;
    assert_eq!(res.status(), 400);

    // The organizer deletes a registration.
    let res = app
        .organizer(Method::DELETE, "/api/registrations/jun/devday")
        .await;
    assert_eq!(res.status(), 204);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_conference_waitlists_and_offers_freed_seats_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let app = spawn_app_with_config(&dir.path().join("data"), &config).await;

    // Sign-up has closed for the public; an organizer's import still adds.
    let (status, error) = post(&app, &sign_up("late", "closed")).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sign-up has closed"));

    let mut tokens = Vec::new();
    for (i, want) in ["confirmed", "confirmed", "waitlisted", "waitlisted"]
        .iter()
        .enumerate()
    {
        let (status, r) = post(&app, &sign_up(&format!("p{i}"), "tiny")).await;
        assert_eq!(status, 201, "{r}");
        assert_eq!(r["status"], *want, "p{i}");
        tokens.push(r["badge"]["url"].as_str().unwrap().to_owned());
    }
    let seat = |url: &str, action: &str| {
        let app = &app;
        let url = app.url(&format!("{url}/seat"));
        let body = json!({ "action": action });
        async move {
            let res = app.client.post(url).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // A waiting person cannot take a seat nobody offered.
    let (status, error) = seat(&tokens[2], "confirm").await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"]["code"], "seat_state");
    // Nor give an organizer a seat past capacity.
    let (status, error) = organizer_json(
        &app,
        Method::POST,
        "/api/registrations/p3/tiny/seat",
        &json!({"action": "confirm"}),
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (409, Some("full"))
    );

    // A desk turns away those without a seat.
    let (status, error) = organizer_json(
        &app,
        Method::POST,
        "/api/checkins",
        &json!({"user_id": "p2", "type": "tiny"}),
    )
    .await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"]["code"], "not_confirmed");

    // p1 withdraws: the longest waiting (p2) is offered the seat, not p3.
    let (status, withdrawn) = seat(&tokens[1], "withdraw").await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["status"], "withdrawn");
    let (_, p2) = organizer_json(&app, Method::GET, "/api/registrations/p2/tiny", &json!({})).await;
    assert_eq!(p2["status"], "offered", "{p2}");
    let until = time::OffsetDateTime::parse(
        p2["offer_expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let hours = (until - time::OffsetDateTime::now_utc()).as_seconds_f64() / 3600.0;
    assert!((0.9..=1.0).contains(&hours), "offer_hours = 1: {hours}");
    let (_, p3) = organizer_json(&app, Method::GET, "/api/registrations/p3/tiny", &json!({})).await;
    assert_eq!(p3["status"], "waitlisted");
    // p2 takes it.
    let (status, taken) = seat(&tokens[2], "confirm").await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["status"], "confirmed");
    // A withdrawal cannot be taken back into a seat by the attendee.
    let (status, _) = seat(&tokens[1], "confirm").await;
    assert_eq!(status, 409);
    // Deleting a seat holder offers the seat on too.
    let res = app
        .organizer(Method::DELETE, "/api/registrations/p0/tiny")
        .await;
    assert_eq!(res.status(), 204);
    let (_, p3) = organizer_json(&app, Method::GET, "/api/registrations/p3/tiny", &json!({})).await;
    assert_eq!(p3["status"], "offered");
    // The organizers' counts say how many seats are taken.
    let (_, stats) = organizer_json(
        &app,
        Method::GET,
        "/api/checkins/stats?type=tiny",
        &json!({}),
    )
    .await;
    assert_eq!(
        stats["conferences"][0]["seats"],
        json!({"held": 2, "capacity": 2})
    );
    app.stop().await;
}

/// 5 000 sign-ups at once for 500 seats: exactly 500 confirmed, every other
/// one waiting, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_concurrent_sign_ups_fill_five_hundred_seats_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lanyard.toml");
    std::fs::write(
        &config,
        "[[conference]]\nid = \"big\"\ntitle = \"Big\"\ncapacity = 500\nwaitlist = true\n",
    )
    .unwrap();
    let app = spawn_app_with_config(&dir.path().join("data"), &config).await;
    let client = app.client.clone();
    let url = app.url("/api/registrations");
    // Under the per-address share of request slots.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(48));
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..5000 {
        let (client, url, slots) = (client.clone(), url.clone(), slots.clone());
        posts.spawn(async move {
            let _slot = slots.acquire_owned().await.unwrap();
            let res = client
                .post(url)
                .json(&sign_up(&format!("u{i}"), "big"))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            assert_eq!(status, 201, "{body}");
            body["status"].as_str().unwrap().to_owned()
        });
    }
    let mut confirmed = 0;
    let mut waitlisted = 0;
    while let Some(status) = posts.join_next().await {
        match status.unwrap().as_str() {
            "confirmed" => confirmed += 1,
            "waitlisted" => waitlisted += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((confirmed, waitlisted), (500, 4500));
    // What is stored agrees with what was answered.
    let csv = app
        .organizer(Method::GET, "/api/registrations.csv?type=big")
        .await
        .text()
        .await
        .unwrap();
    let stored_confirmed = csv.lines().filter(|l| l.contains(",confirmed,")).count();
    assert_eq!(csv.lines().count(), 5001);
    assert_eq!(stored_confirmed, 500);
    app.stop().await;
}

/// `render --from` prints a row's category band and line of answers, and
/// refuses a row whose answers the form refuses.
#[test]
fn badges_rendered_from_a_list_carry_category_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "user_id,type,user_name,phone_number,company_name,category,answer:job,answer:size\n\
         ann,devday,Ann Lee,010-1111-2222,Acme,speaker,CTO,M\n\
         bob,devday,Bob Park,010-3333-4444,Acme,,,XXL\n",
    )
    .unwrap();
    let out = dir.path().join("run.pdf");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["render", "--from"])
        .arg(&csv)
        .args(["--sheet", "card", "-o"])
        .arg(&out)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains("line 3") && said.contains("size: must be one of S, M, L"),
        "{said}"
    );
    let pdf = std::fs::read(&out).unwrap();
    let pages = raster_pages(&pdf);
    assert_eq!(pages.len(), 1, "the refused row is left out");
    assert_eq!(pixel_at(&pages[0], 84.0, 49.0), [0x1f, 0x6f, 0xeb]);
    assert!(pdf_text(&pdf).contains("CTO"));
}

/// Organizers change a conference's form while the server runs: it is
/// checked, in force at once, kept across a restart, and a form that does
/// not check changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizers_edit_a_form_and_it_holds_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let data = dir.path().join("data");
    let app = spawn_app_with_config(&data, &config).await;
    let path = "/api/conferences/tiny/form";
    let (status, form) = organizer_json(&app, Method::GET, path, &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(form["form"], "email = \"optional\"\n");
    // Only organizers.
    let res = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let text = "email = \"required\"\n\n[[category]]\nid = \"staff\"\nlabel = \"Staff\"\nband = \"STAFF\"\ncolour = \"#0b7261\"\n\n[[question]]\nid = \"team\"\nlabel = { en = \"Team\", ko = \"팀\" }\nkind = \"text\"\nrequired = true\non_badge = \"line\"\n";
    for (bad, says) in [
        ("email = \"sometimes\"\n", "unknown variant"),
        (
            "[[question]]\nid = \"x\"\nlabel = \"X\"\nkind = \"choice\"\n",
            "choices are for kinds",
        ),
        (
            "[[category]]\nid = \"a\"\nlabel = \"A\"\nband = \"🫠\"\n",
            "no badge font can print",
        ),
        (
            "[[question]]\nid = \"x y\"\nlabel = \"X\"\nkind = \"text\"\n",
            "must be 1–40 letters",
        ),
        ("nonsense = 1\n", "unknown field"),
    ] {
        let (status, error) =
            organizer_json(&app, Method::PUT, path, &json!({ "form": bad })).await;
        assert_eq!(status, 400, "{bad}: {error}");
        assert_eq!(error["error"]["field"], "form");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{bad}: {message}");
    }
    let (_, conferences) = app.get_json("/api/conferences").await;
    assert_eq!(
        conferences["items"][1]["email"], "optional",
        "nothing changed"
    );

    let (status, view) = organizer_json(&app, Method::PUT, path, &json!({ "form": text })).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["email"], "required");
    assert_eq!(view["questions"][0]["id"], "team");
    // The sign-up asks it at once.
    let (status, error) = post(&app, &sign_up("t1", "tiny")).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "email");
    let mut body = sign_up("t1", "tiny");
    body["email"] = json!("t1@example.org");
    body["answers"] = json!({"team": "Registration desk"});
    let (status, created) = post(&app, &body).await;
    assert_eq!(status, 201, "{created}");
    app.stop().await;

    // After a restart the organizers' form is the one in force, and a
    // badge of its banded category is drawn with the band.
    let app = spawn_app_with_config(&data, &config).await;
    let (_, form) = organizer_json(&app, Method::GET, path, &json!({})).await;
    assert_eq!(form["form"], text);
    let (status, staff) = organizer_json(
        &app,
        Method::PATCH,
        "/api/registrations/t1/tiny",
        &json!({"category": "staff"}),
    )
    .await;
    assert_eq!(status, 200, "{staff}");
    let badge_url = staff["badge"]["url"].as_str().unwrap().to_owned();
    assert_eq!(app.wait_for_badge(&badge_url).await["status"], "ready");
    let png = app.get_bytes(&format!("{badge_url}.png")).await;
    assert_eq!(pixel_at(&png, 84.0, 49.0), [0x0b, 0x72, 0x61]);
    app.stop().await;
}

/// An offer that runs out expires at the next sweep, and its seat is
/// offered to the next person waiting; an attendee cannot take an offer
/// that ran out even before the sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_that_runs_out_expires_and_the_seat_is_offered_on() {
    use lanyard_domain::{RegistrationStore, Seat, SeatStatus};
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let data = dir.path().join("data");
    let app = spawn_app_with_config(&data, &config).await;
    let mut links = Vec::new();
    for i in 0..4 {
        let (status, r) = post(&app, &sign_up(&format!("q{i}"), "tiny")).await;
        assert_eq!(status, 201, "{r}");
        links.push(r["badge"]["url"].as_str().unwrap().to_owned());
    }
    // q0 withdraws: q2 (the longest waiting) is offered the seat.
    let res = app
        .client
        .post(app.url(&format!("{}/seat", links[0])))
        .json(&json!({"action": "withdraw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The offer's time runs out (set in the past, as an hour passing would).
    let store: std::sync::Arc<dyn RegistrationStore> = std::sync::Arc::new(app.store().clone());
    let lanyard = lanyard_domain::Lanyard::new(
        store.clone(),
        std::sync::Arc::new(lanyard_embedded::FileObjectStore::open(data.join("objects")).unwrap()),
        lanyard_embedded::LocalBadgeJobs::new(),
        lanyard_domain::Conferences::load(Some(&config)).unwrap(),
    );
    let q2 = lanyard.key("q2", "tiny").unwrap();
    let past = Seat {
        status: SeatStatus::Offered,
        offer_expires_at: Some("2020-01-01T00:00:00.000Z".into()),
    };
    store
        .change_seat(&q2, &[SeatStatus::Offered], &past, Some(2))
        .await
        .unwrap();
    let res = app
        .client
        .post(app.url(&format!("{}/seat", links[2])))
        .json(&json!({"action": "confirm"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "an offer that ran out is not taken");
    assert_eq!(lanyard.sweep_seats().await.unwrap(), 1);
    let status = |user: &'static str| {
        let lanyard = lanyard.clone();
        async move {
            let key = lanyard.key(user, "tiny").unwrap();
            lanyard.get(&key).await.unwrap().seat.status
        }
    };
    assert_eq!(status("q2").await, SeatStatus::Expired);
    assert_eq!(status("q3").await, SeatStatus::Offered);
    assert_eq!(status("q1").await, SeatStatus::Confirmed);
    // A sweep with nothing due changes nothing.
    assert_eq!(lanyard.sweep_seats().await.unwrap(), 0);
    assert_eq!(status("q3").await, SeatStatus::Offered);
    app.stop().await;
}
