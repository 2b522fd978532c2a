//! The event day over HTTP (SPEC §9, §10), against the real server, real
//! SQLite and real badge workers: desks, check-ins, the privacy of badge QR
//! codes and the attendee's own page.

use std::collections::HashSet;

use crate::common::{decode_qr, registration, spawn_app_in, TestApp, TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

impl TestApp {
    async fn send_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn create_desk(&self, name: &str) -> String {
        let (status, body) = self
            .send_as(
                TOKEN,
                Method::POST,
                "/api/desks",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["name"], name);
        body["token"].as_str().unwrap().to_owned()
    }

    async fn check_in(&self, token: &str, body: Value) -> (u16, Value) {
        self.send_as(token, Method::POST, "/api/checkins", Some(body))
            .await
    }

    /// Signs up and returns the 201 body.
    async fn sign_up(&self, body: Value) -> Value {
        let res = self.post_registration(&body).await;
        assert_eq!(res.status(), 201);
        res.json().await.unwrap()
    }
}

fn code_of(registration: &Value) -> String {
    registration["checkin_code"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_scans_from_two_desks_check_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let door_a = app.create_desk("Door A").await;
    let door_b = app.create_desk("Door B").await;
    let code = code_of(&app.sign_up(registration("racer", "Racer")).await);

    let mut scans = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (client, url) = (app.client.clone(), app.url("/api/checkins"));
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
                .json(&json!({ "code": code, "nonce": format!("scan-{i}") }))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        });
    }
    let mut results = Vec::new();
    let mut firsts = HashSet::new();
    while let Some(done) = scans.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        results.push(body["result"].as_str().unwrap().to_owned());
        firsts.insert(body["first"].to_string());
        assert_eq!(body["registration"]["user_name"], "Racer");
    }
    assert_eq!(
        results.iter().filter(|r| *r == "checked_in").count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| *r == "already_checked_in")
            .count(),
        49
    );
    assert_eq!(firsts.len(), 1, "everyone is told the same first check-in");
    let (_, stats) = app
        .send_as(TOKEN, Method::GET, "/api/checkins/stats", None)
        .await;
    let conference = &stats["conferences"][0];
    assert_eq!(conference["registered"], 1);
    assert_eq!(conference["checked_in"], 1);
    assert_eq!(conference["per_desk"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_nonce_gets_the_first_answer_and_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let desk = app.create_desk("Door A").await;
    let code = code_of(&app.sign_up(registration("ada", "Ada")).await);
    let scan = json!({ "code": code, "nonce": "n-1" });
    let (status, first) = app.check_in(&desk, scan.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(first["result"], "checked_in");
    assert_eq!(first["first"]["desk"], "Door A");
    // The same scan again (a desk's offline replay): the same answer.
    let (_, again) = app.check_in(&desk, scan.clone()).await;
    assert_eq!(again["result"], "checked_in");
    assert_eq!(again["first"], first["first"]);
    // Another scan of the same badge: already.
    let (_, other) = app
        .check_in(&desk, json!({ "code": code, "nonce": "n-2" }))
        .await;
    assert_eq!(other["result"], "already_checked_in");
    // Undone by an organizer, then the first scan replayed: still its first
    // answer, and nothing is counted again.
    let path = "/api/registrations/ada/Serverless%20web%20project/checkin";
    let (status, _) = app.send_as(TOKEN, Method::DELETE, path, None).await;
    assert_eq!(status, 204);
    let (_, replay) = app.check_in(&desk, scan).await;
    assert_eq!(replay["result"], "checked_in");
    assert_eq!(replay["registration"]["checked_in"], Value::Null);
    let (_, replay_other) = app
        .check_in(&desk, json!({ "code": code, "nonce": "n-2" }))
        .await;
    assert_eq!(replay_other["result"], "already_checked_in");
    let (_, stats) = app
        .send_as(TOKEN, Method::GET, "/api/checkins/stats", None)
        .await;
    assert_eq!(stats["conferences"][0]["checked_in"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_found_in_any_badge_text_and_unknown_ones_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let desk = app.create_desk("Door A").await;
    let mut consenting = registration("card", "Card Holder");
    consenting["contact_on_badge"] = json!(true);
    let a = app.sign_up(consenting).await;
    let b = app.sign_up(registration("plain", "Plain")).await;
    let vcard = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Card Holder\r\nUID:urn:lanyard:checkin:{}\r\nEND:VCARD\r\n",
        code_of(&a)
    );
    let (status, body) = app.check_in(&desk, json!({ "code": vcard })).await;
    assert_eq!((status, &body["result"]), (200, &json!("checked_in")));
    // Typed in lower case with spaces: the same code.
    let typed = code_of(&b).to_lowercase().replace('-', " ");
    let (status, body) = app.check_in(&desk, json!({ "code": typed })).await;
    assert_eq!(
        (status, &body["registration"]["user_id"]),
        (200, &json!("plain"))
    );
    // By name search's key.
    let (status, body) = app
        .check_in(
            &desk,
            json!({ "user_id": "plain", "type": "Serverless web project" }),
        )
        .await;
    assert_eq!(
        (status, &body["result"]),
        (200, &json!("already_checked_in"))
    );
    for unknown in [
        json!({ "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ" }),
        json!({ "code": "<img src=x onerror=alert(1)>" }),
        json!({ "code": "tel:+821012345678" }),
        json!({ "user_id": "nobody", "type": "Serverless web project" }),
        json!({ "user_id": "plain", "type": "No such conference" }),
    ] {
        let (status, body) = app.check_in(&desk, unknown.clone()).await;
        assert_eq!(status, 404, "{unknown}: {body}");
        assert_eq!(body["error"]["code"], "unknown_code");
    }
    for bad in [
        json!({}),
        json!({ "code": "x".repeat(5000) }),
        json!({ "code": 7 }),
        json!({ "code": "ABCD", "user_id": "plain", "type": "Serverless web project" }),
        json!({ "code": code_of(&b), "nonce": "" }),
        json!({ "code": code_of(&b), "nonce": "é" }),
        json!({ "code": code_of(&b), "extra": 1 }),
    ] {
        let (status, body) = app.check_in(&desk, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_never_holds_a_badge_link_and_prints_by_its_own_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let desk = app.create_desk("Door A").await;
    let kim = app.sign_up(registration("kim", "Kim")).await;
    let link = kim["badge"]["url"].as_str().unwrap().to_owned();
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert_eq!(app.wait_for_badge(&link).await["status"], "ready");
    let no_link = |answer: &Value| {
        let text = answer.to_string();
        assert!(
            !text.contains(&token),
            "a badge token reached a desk: {text}"
        );
        assert!(!text.contains("/api/badges/"), "{text}");
    };

    // Search, check-in, a batch and a walk-in: names and states, no link.
    let (status, found) = app
        .send_as(&desk, Method::GET, "/api/checkins/search?q=kim", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["items"][0]["badge"]["status"], "ready");
    no_link(&found);
    let (status, answer) = app.check_in(&desk, json!({ "code": code_of(&kim) })).await;
    assert_eq!((status, &answer["result"]), (200, &json!("checked_in")));
    no_link(&answer);
    let (status, batch) = app
        .send_as(
            &desk,
            Method::POST,
            "/api/checkins/batch",
            Some(json!({ "scans": [{ "code": code_of(&kim), "nonce": "n-1" }] })),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    no_link(&batch);
    let (status, walk_in) = app
        .send_as(
            &desk,
            Method::POST,
            "/api/checkins/walk-ins",
            Some(registration("lee", "Lee")),
        )
        .await;
    assert_eq!(status, 201, "{walk_in}");
    assert_eq!(walk_in["result"], "checked_in");
    assert_eq!(walk_in["first"]["desk"], "Door A");
    assert_eq!(walk_in["registration"]["user_name"], "Lee");
    assert!(walk_in["registration"].get("phone_number").is_none());
    use lanyard_domain::RegistrationStore;
    let lee = app
        .store()
        .get(&lanyard_domain::RegistrationKey {
            user_id: lanyard_domain::UserId::parse("lee").unwrap(),
            conference: lanyard_domain::ConferenceId::from_stored("Serverless web project".into()),
        })
        .await
        .unwrap()
        .unwrap();
    let lee_token = lee.badge.unwrap().token;
    assert!(
        !walk_in.to_string().contains(lee_token.as_str()),
        "{walk_in}"
    );
    let (status, again) = app
        .send_as(
            &desk,
            Method::POST,
            "/api/checkins/walk-ins",
            Some(registration("lee", "Lee")),
        )
        .await;
    assert_eq!(
        (status, &again["error"]["code"]),
        (409, &json!("already_registered"))
    );

    // The desk prints by the registration's key, with its own token; the
    // file is the badge the attendee has.
    let path = "/api/registrations/kim/Serverless%20web%20project/badge";
    let printed = app
        .client
        .get(app.url(path))
        .bearer_auth(&desk)
        .send()
        .await
        .unwrap();
    assert_eq!(printed.status(), 200);
    assert_eq!(printed.headers()["content-type"], "image/png");
    let png = printed.bytes().await.unwrap();
    assert_eq!(png.as_ref(), app.get_bytes(&format!("{link}.png")).await);
    assert_eq!(decode_qr(&png), code_of(&kim));
    let pdf = app
        .client
        .get(app.url(&format!("{path}?format=pdf")))
        .bearer_auth(&desk)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    for (who, query, expected) in [
        (None, "", 401),
        (Some("desk_wrong"), "", 401),
        (Some(desk.as_str()), "?format=gif", 400),
    ] {
        let mut req = app.client.get(app.url(&format!("{path}{query}")));
        if let Some(t) = who {
            req = req.bearer_auth(t);
        }
        assert_eq!(
            req.send().await.unwrap().status(),
            expected,
            "{who:?} {query}"
        );
    }
    let (status, _) = app
        .send_as(
            &desk,
            Method::GET,
            "/api/registrations/nobody/Serverless%20web%20project/badge",
            None,
        )
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_tokens_check_in_and_do_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let desk = app.create_desk("Door A").await;
    assert!(desk.starts_with("desk_"));
    app.sign_up(registration("kim", "Kim")).await;

    // What a desk sees never has the phone number.
    let (status, found) = app
        .send_as(&desk, Method::GET, "/api/checkins/search?q=kim", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["items"][0]["user_name"], "Kim");
    assert!(!found.to_string().contains("1234-5678"), "{found}");
    let (_, answer) = app
        .check_in(
            &desk,
            json!({ "user_id": "kim", "type": "Serverless web project", "desk": "Door Z" }),
        )
        .await;
    assert!(!answer.to_string().contains("1234-5678"), "{answer}");
    assert_eq!(
        answer["first"]["desk"], "Door A",
        "a desk cannot check in as another"
    );
    let (_, me) = app.send_as(&desk, Method::GET, "/api/desk", None).await;
    assert_eq!(me["name"], "Door A");

    // Organizer routes: 403 for a desk token.
    for (method, path) in [
        (Method::GET, "/api/registrations"),
        (Method::GET, "/api/registrations/kim"),
        (
            Method::GET,
            "/api/registrations/kim/Serverless%20web%20project",
        ),
        (
            Method::DELETE,
            "/api/registrations/kim/Serverless%20web%20project",
        ),
        (
            Method::POST,
            "/api/registrations/kim/Serverless%20web%20project/badge",
        ),
        (
            Method::DELETE,
            "/api/registrations/kim/Serverless%20web%20project/checkin",
        ),
        (Method::GET, "/api/desks"),
        (Method::POST, "/api/desks"),
        (Method::DELETE, "/api/desks/Door%20A"),
        (Method::GET, "/api/checkins/stats"),
    ] {
        let body = (method == Method::POST).then(|| json!({ "name": "Door X" }));
        let (status, answer) = app.send_as(&desk, method.clone(), path, body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }
    // The registration is untouched and no desk was made.
    let (_, one) = app
        .send_as(
            TOKEN,
            Method::GET,
            "/api/registrations/kim/Serverless%20web%20project",
            None,
        )
        .await;
    assert_eq!(one["phone_number"], "+82 10-1234-5678");
    let (_, desks) = app.send_as(TOKEN, Method::GET, "/api/desks", None).await;
    assert_eq!(desks["items"].as_array().unwrap().len(), 1);
    assert!(
        !desks.to_string().contains(&desk),
        "tokens are never listed"
    );

    // Revoked: 401 from the next request on, everywhere.
    let (status, _) = app
        .send_as(TOKEN, Method::DELETE, "/api/desks/Door%20A", None)
        .await;
    assert_eq!(status, 204);
    for (method, path) in [
        (Method::POST, "/api/checkins"),
        (Method::GET, "/api/checkins/search?q=kim"),
        (Method::GET, "/api/desk"),
        (Method::GET, "/api/registrations"),
    ] {
        let body = (method == Method::POST).then(|| json!({ "code": "ABCD-ABCD-ABCD-ABCD" }));
        let (status, answer) = app.send_as(&desk, method.clone(), path, body).await;
        assert_eq!(status, 401, "{method} {path}: {answer}");
    }
    // Names are unique; bad names are refused.
    app.create_desk("Door B").await;
    let (status, body) = app
        .send_as(
            TOKEN,
            Method::POST,
            "/api/desks",
            Some(json!({ "name": "Door B" })),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("desk_exists"))
    );
    for name in ["", "   ", &"x".repeat(41), "a\u{202E}b"] {
        let (status, _) = app
            .send_as(
                TOKEN,
                Method::POST,
                "/api/desks",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 400, "{name:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badge_qr_codes_hold_personal_data_only_with_consent() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("conferences.toml");
    std::fs::write(
        &config,
        "[[conference]]\nid = \"v\"\ntitle = \"Vcard Conf\"\npayload = \"vcard\"\n\n\
         [[conference]]\nid = \"t\"\ntitle = \"Tel Conf\"\npayload = \"tel\"\n\n\
         [[conference]]\nid = \"k\"\ntitle = \"Ticket Conf\"\npayload = \"ticket\"\n",
    )
    .unwrap();
    let app = crate::common::spawn_app_with_config(&dir.path().join("data"), &config).await;
    for (conference, consent, expected) in [
        ("v", false, None),
        ("t", false, None),
        ("k", false, None),
        ("k", true, None),
        ("v", true, Some("vcard")),
        ("t", true, Some("tel:+821012345678")),
    ] {
        let user = format!("{conference}-{consent}");
        let body = json!({
            "type": conference, "user_id": user, "user_name": "Q R",
            "phone_number": "+82 10-1234-5678", "company_name": "Co",
            "contact_on_badge": consent,
        });
        let r = app.sign_up(body).await;
        assert_eq!(r["contact_on_badge"], consent);
        let code = code_of(&r);
        let badge = app
            .wait_for_badge(r["badge"]["url"].as_str().unwrap())
            .await;
        let text = decode_qr(&app.get_bytes(badge["png"].as_str().unwrap()).await);
        match expected {
            None => assert_eq!(text, code, "{user}: the check-in code and nothing else"),
            Some("vcard") => assert_eq!(
                text,
                format!(
                    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Q R;;;;\r\nFN:Q R\r\nORG:Co\r\n\
                     TEL;TYPE=CELL:+82 10-1234-5678\r\nUID:urn:lanyard:checkin:{code}\r\nEND:VCARD\r\n"
                )
            ),
            Some(tel) => assert_eq!(text, tel),
        }
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_badge_link_is_the_attendees_own_page() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let mut body = registration("own", "Typo Nmae");
    body["contact_on_badge"] = json!(true);
    let r = app.sign_up(body).await;
    let url = r["badge"]["url"].as_str().unwrap().to_owned();
    let code = code_of(&r);
    let ready = app.wait_for_badge(&url).await;
    assert_eq!(ready["registration"]["phone_number"], "+82 10-1234-5678");
    assert!(
        decode_qr(&app.get_bytes(ready["png"].as_str().unwrap()).await).starts_with("BEGIN:VCARD")
    );

    // Fix the name and withdraw consent: same link, same code, new badge.
    let res = app
        .client
        .patch(app.url(&url))
        .json(&json!({ "user_name": "Typo Name", "contact_on_badge": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["user_name"], "Typo Name");
    assert_eq!(changed["contact_on_badge"], false);
    assert_eq!(changed["checkin_code"], code.as_str());
    let ready = app.wait_for_badge(&url).await;
    assert_eq!(ready["registration"]["user_name"], "Typo Name");
    assert_eq!(
        decode_qr(&app.get_bytes(ready["png"].as_str().unwrap()).await),
        code
    );
    for bad in [
        json!({ "user_name": "" }),
        json!({ "phone_number": "1" }),
        json!({ "contact_on_badge": "yes" }),
    ] {
        let res = app
            .client
            .patch(app.url(&url))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }

    // Checked in, then erased: row, check-in and files gone.
    let desk = app.create_desk("Door A").await;
    app.check_in(&desk, json!({ "code": code })).await;
    let png = ready["png"].as_str().unwrap().to_owned();
    let res = app.client.delete(app.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get_json(&url).await.0, 404);
    assert_eq!(app.get_json(&png).await.0, 404);
    let (status, _) = app.check_in(&desk, json!({ "code": code })).await;
    assert_eq!(status, 404);
    let (_, stats) = app
        .send_as(TOKEN, Method::GET, "/api/checkins/stats", None)
        .await;
    assert_eq!(stats["conferences"][0]["registered"], 0);
    let objects = dir.path().join("objects");
    let left: Vec<_> = walk(&objects);
    assert!(left.is_empty(), "files left behind: {left:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_badge_outlives_the_version_it_was_rendered_from() {
    use lanyard_domain::RegistrationStore;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 2).await;
    let people: Vec<(String, Value)> = (0..16)
        .map(|i| {
            let mut body = registration(&format!("racer{i}"), &format!("Racer {i}"));
            body["contact_on_badge"] = json!(true);
            (format!("racer{i}"), body)
        })
        .collect();
    // Consent withdrawn the moment the sign-up is answered: while the
    // badge workers render the first version.
    let mut links = Vec::new();
    for (_, body) in &people {
        let r = app.sign_up(body.clone()).await;
        let link = r["badge"]["url"].as_str().unwrap().to_owned();
        let res = app
            .client
            .patch(app.url(&link))
            .json(&json!({ "contact_on_badge": false }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        links.push((link, code_of(&r)));
    }
    for (link, code) in &links {
        let ready = app.wait_for_badge(link).await;
        assert_eq!(ready["status"], "ready");
        let png = app.get_bytes(ready["png"].as_str().unwrap()).await;
        assert_eq!(
            &decode_qr(&png),
            code,
            "{link}: the phone outlived the consent"
        );
    }
    // First downloads of the SVG and PDF at the moment the name changes,
    // several at once: each file kept is of the registration as it is.
    for (i, (link, _)) in links.iter().enumerate() {
        let name = format!("Renamed {i}");
        let downloads = ["svg", "pdf", "svg", "pdf"].map(|ext| {
            let url = app.url(&format!("{link}.{ext}"));
            let client = app.client.clone();
            tokio::spawn(async move { client.get(url).send().await.unwrap().status().as_u16() })
        });
        let res = app
            .client
            .patch(app.url(link))
            .json(&json!({ "user_name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        for download in downloads {
            // Served from the version before the change, or not yet there.
            let status = download.await.unwrap();
            assert!(status == 200 || status == 404, "{status}");
        }
    }
    for (link, _) in &links {
        assert_eq!(app.wait_for_badge(link).await["status"], "ready");
        for ext in ["svg", "pdf"] {
            let res = app
                .client
                .get(app.url(&format!("{link}.{ext}")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{link}.{ext}");
        }
    }
    // On the disk: each badge's files are of its current revision only.
    let files: Vec<String> = walk(&dir.path().join("objects"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for (link, _) in &links {
        let token = link.rsplit('/').next().unwrap();
        let stored = app
            .store()
            .find_by_badge_token(&lanyard_domain::BadgeToken::parse(token).unwrap())
            .await
            .unwrap()
            .unwrap();
        let revision = stored.badge.unwrap().revision;
        assert_eq!(
            stored.person.user_name.as_str().split(' ').next(),
            Some("Renamed")
        );
        let mut kept: Vec<&String> = files.iter().filter(|f| f.starts_with(token)).collect();
        kept.sort();
        let expected: Vec<String> = ["pdf", "png", "svg"]
            .iter()
            .map(|ext| format!("{token}.r{revision}.{ext}"))
            .collect();
        assert_eq!(
            kept,
            expected.iter().collect::<Vec<_>>(),
            "revision {revision}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_downloads_of_a_badge_file_all_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let r = app.sign_up(registration("popular", "Popular Person")).await;
    let link = r["badge"]["url"].as_str().unwrap().to_owned();
    app.wait_for_badge(&link).await;
    for ext in ["pdf", "svg"] {
        let downloads: Vec<_> = (0..12)
            .map(|_| {
                let url = app.url(&format!("{link}.{ext}"));
                let client = app.client.clone();
                tokio::spawn(async move {
                    let res = client.get(url).send().await.unwrap();
                    (res.status().as_u16(), res.bytes().await.unwrap())
                })
            })
            .collect();
        let mut bodies = Vec::new();
        for download in downloads {
            let (status, body) = download.await.unwrap();
            assert_eq!(status, 200, "{ext}: {}", String::from_utf8_lossy(&body));
            bodies.push(body);
        }
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "{ext}: one file for all"
        );
    }
    let temporary: Vec<_> = walk(&dir.path().join("objects"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temporary.is_empty(), "{temporary:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_leaves_no_byte_on_the_disk_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let people = [
        ("erase.own", "Ottilie Erasmusdottir", "+82 10-7777-3141"),
        ("erase.org", "Bartholomew Quennell", "+82 10-5555-2718"),
    ];
    let mut links = Vec::new();
    for (user_id, name, phone) in people {
        let mut body = registration(user_id, name);
        body["phone_number"] = json!(phone);
        body["contact_on_badge"] = json!(true);
        let r = app.sign_up(body).await;
        let link = r["badge"]["url"].as_str().unwrap().to_owned();
        app.wait_for_badge(&link).await;
        links.push(link);
    }
    // Some traffic after the sign-ups, as on a running server.
    for i in 0..20 {
        app.sign_up(registration(&format!("other{i}"), "Someone Else"))
            .await;
    }
    for (_, name, phone) in people {
        assert!(!files_holding(dir.path(), name.as_bytes()).is_empty());
        assert!(!files_holding(dir.path(), phone.as_bytes()).is_empty());
    }
    // One erases herself; the organizer deletes the other.
    let res = app.client.delete(app.url(&links[0])).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let (status, _) = app
        .send_as(
            TOKEN,
            Method::DELETE,
            "/api/registrations/erase.org/Serverless%20web%20project",
            None,
        )
        .await;
    assert_eq!(status, 204);
    // The log is emptied soon after, with the server still running.
    let mut left = Vec::new();
    for _ in 0..100 {
        left = people
            .iter()
            .flat_map(|(_, name, phone)| {
                let mut found = files_holding(dir.path(), name.as_bytes());
                found.extend(files_holding(dir.path(), phone.as_bytes()));
                found
            })
            .collect();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(left.is_empty(), "erased data still on the disk in {left:?}");
    assert_eq!(app.get_json("/api/health").await.0, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_for_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let modes = |root: &std::path::Path| {
        let mut found = vec![(
            root.to_path_buf(),
            std::fs::metadata(root).unwrap().permissions().mode() & 0o777,
        )];
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                let meta = entry.metadata().unwrap();
                if meta.is_dir() {
                    stack.push(entry.path());
                }
                found.push((entry.path(), meta.permissions().mode() & 0o777));
            }
        }
        found
    };
    let open_to_others = |root: &std::path::Path| -> Vec<(std::path::PathBuf, u32)> {
        modes(root)
            .into_iter()
            .filter(|(_, mode)| mode & 0o077 != 0)
            .collect()
    };
    let app = spawn_app_in(&data, 1).await;
    let r = app.sign_up(registration("private", "Private Person")).await;
    let link = r["badge"]["url"].as_str().unwrap().to_owned();
    app.wait_for_badge(&link).await;
    app.get_bytes(&format!("{link}.pdf")).await;
    app.create_desk("Door A").await;
    let files = modes(&data);
    for name in [
        "lanyard.sqlite",
        "lanyard.sqlite-wal",
        "lanyard.sqlite-shm",
        "lanyard.lock",
    ] {
        assert!(
            files.iter().any(|(p, _)| p.ends_with(name)),
            "{name} in {files:?}"
        );
    }
    assert!(
        files
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "pdf")),
        "{files:?}"
    );
    assert_eq!(open_to_others(&data), vec![]);
    app.stop().await;

    // A data directory an earlier version left open is closed at start.
    for (path, _) in modes(&data) {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let app = spawn_app_in(&data, 1).await;
    assert_eq!(open_to_others(&data), vec![]);
    app.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_offline_scans_is_answered_scan_by_scan_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let desk = app.create_desk("Door A").await;
    let a = code_of(&app.sign_up(registration("batch.a", "Batch A")).await);
    let b = code_of(&app.sign_up(registration("batch.b", "Batch B")).await);
    let scans = json!({ "scans": [
        { "code": a, "nonce": "1" },
        { "code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "nonce": "2" },
        { "code": a, "nonce": "3" },
        { "code": b, "nonce": "4", "desk": "Elsewhere" },
        { "user_id": "batch.a", "type": "Nowhere", "nonce": "5" },
    ]});
    let (status, body) = app
        .send_as(
            &desk,
            Method::POST,
            "/api/checkins/batch",
            Some(scans.clone()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    let statuses: Vec<_> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 404, 200, 200, 404]);
    assert_eq!(results[0]["checkin"]["result"], "checked_in");
    assert_eq!(results[1]["error"]["code"], "unknown_code");
    assert_eq!(results[2]["checkin"]["result"], "already_checked_in");
    assert_eq!(results[3]["checkin"]["first"]["desk"], "Door A");
    assert_eq!(results[4]["error"]["code"], "unknown_code");
    // Sent again, every answer is the same and nothing is counted twice.
    let (_, again) = app
        .send_as(&desk, Method::POST, "/api/checkins/batch", Some(scans))
        .await;
    assert_eq!(again["results"][0]["checkin"]["result"], "checked_in");
    assert_eq!(
        again["results"][2]["checkin"]["result"],
        "already_checked_in"
    );
    let (_, stats) = app
        .send_as(TOKEN, Method::GET, "/api/checkins/stats", None)
        .await;
    assert_eq!(stats["conferences"][0]["checked_in"], 2);
    // Empty, too long, or without a token.
    let many: Vec<Value> = (0..101)
        .map(|i| json!({ "code": "A", "nonce": i.to_string() }))
        .collect();
    for bad in [
        json!({ "scans": [] }),
        json!({ "scans": many }),
        json!({ "scans": "x" }),
    ] {
        let (status, body) = app
            .send_as(&desk, Method::POST, "/api/checkins/batch", Some(bad))
            .await;
        assert!(status == 400 || status == 413, "{status} {body}");
    }
    let (status, _) = app
        .send_as(
            "desk_wrong",
            Method::POST,
            "/api/checkins/batch",
            Some(json!({ "scans": [{ "code": a }] })),
        )
        .await;
    assert_eq!(status, 401);
    app.stop().await;
}

/// Every file of a data directory that holds `needle`, byte for byte.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| {
            std::fs::read(p).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_retention_a_conference_keeps_only_anonymous_counts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("conferences.toml");
    let conference = "[[conference]]\nid = \"Serverless web project\"\ntitle = \"Serverless\"\n";
    std::fs::write(&config, conference).unwrap();
    let app = crate::common::spawn_app_with_config(dir.path(), &config).await;
    let desk = app.create_desk("Door A").await;
    let mut urls = Vec::new();
    for (user, name) in [("zelda", "Zelda Erasable"), ("yannick", "Yannick Erasable")] {
        let created = app.sign_up(registration(user, name)).await;
        let url = created["badge"]["url"].as_str().unwrap().to_owned();
        assert_eq!(app.wait_for_badge(&url).await["status"], "ready");
        urls.push((user, url, code_of(&created)));
    }
    let (status, _) = app
        .check_in(&desk, json!({ "code": urls[0].2, "nonce": "r-1" }))
        .await;
    assert_eq!(status, 200);
    let (_, before) = app
        .send_as(TOKEN, Method::GET, "/api/checkins/stats", None)
        .await;
    app.stop().await;
    assert!(!files_holding(dir.path(), b"Erasable").is_empty());

    // The same conference, ended long ago and kept for a day.
    std::fs::write(
        &config,
        format!("{conference}ends = \"2020-01-01\"\nretention_days = 1\n"),
    )
    .unwrap();
    let app = crate::common::spawn_app_with_config(dir.path(), &config).await;
    let mut left = usize::MAX;
    for _ in 0..200 {
        let (_, list) = app
            .send_as(TOKEN, Method::GET, "/api/registrations", None)
            .await;
        left = list["items"].as_array().map_or(usize::MAX, Vec::len);
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the sweep at start erases them");
    for (user, url, code) in &urls {
        let path = format!("/api/registrations/{user}/Serverless%20web%20project");
        assert_eq!(app.send_as(TOKEN, Method::GET, &path, None).await.0, 404);
        assert_eq!(app.get_json(url).await.0, 404);
        let (status, _) = app
            .check_in(
                &desk,
                json!({ "code": code, "nonce": format!("after-{user}") }),
            )
            .await;
        assert_eq!(status, 404, "an erased code is unknown");
    }
    // The counts stay, by desk and quarter hour, with no one behind them.
    let (_, after) = app
        .send_as(TOKEN, Method::GET, "/api/checkins/stats", None)
        .await;
    assert_eq!(after, before);
    assert_eq!(after["conferences"][0]["registered"], 2);
    assert_eq!(after["conferences"][0]["checked_in"], 1);
    // No badge file, and no byte of a name, is left in the data directory.
    let badges = walk(&dir.path().join("objects"));
    assert!(badges.is_empty(), "{badges:?}");
    assert_eq!(
        files_holding(dir.path(), b"Erasable"),
        Vec::<std::path::PathBuf>::new()
    );
    // It takes no new sign-ups, and says why.
    let res = app
        .post_registration(&registration("late", "Too Late"))
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["field"], "type", "{body}");
    let (_, conferences) = app
        .send_as(TOKEN, Method::GET, "/api/conferences", None)
        .await;
    assert_eq!(
        conferences["items"][0]["erased_from"],
        "2020-01-03T00:00:00.000Z"
    );
    app.stop().await;
}

/// The text of a QR code drawn as the enrolment's SVG draws it: one
/// `M{x} {y}h{n}v1h-{n}z` run of dark modules each, read back with an
/// independent decoder.
fn decode_svg_qr(svg: &str) -> String {
    let side: u32 = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let d = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    const PX: u32 = 6;
    let mut image = image::GrayImage::from_pixel(side * PX, side * PX, image::Luma([255]));
    for run in d.split('z').filter(|r| !r.is_empty()) {
        let rest = run.strip_prefix('M').unwrap();
        let (x, rest) = rest.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let n = rest.split('v').next().unwrap();
        let (x, y, n): (u32, u32, u32) =
            (x.parse().unwrap(), y.parse().unwrap(), n.parse().unwrap());
        for mx in x..x + n {
            for px in 0..PX {
                for py in 0..PX {
                    image.put_pixel(mx * PX + px, y * PX + py, image::Luma([0]));
                }
            }
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_signs_in_as_a_desk_by_scanning_a_one_time_code() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let typed = app.create_desk("Door E").await;
    let (status, _) = app.send_as(&typed, Method::GET, "/api/desk", None).await;
    assert_eq!(status, 200);

    // The organizer's screen shows a QR code of a link to the desk page.
    let origin = "https://192.168.1.20:8443";
    let (status, enrolment) = app
        .send_as(
            TOKEN,
            Method::POST,
            "/api/desks/Door%20E/enrolment",
            Some(json!({ "origin": origin })),
        )
        .await;
    assert_eq!(status, 201, "{enrolment}");
    assert_eq!(enrolment["name"], "Door E");
    let url = enrolment["url"].as_str().unwrap();
    let code = url
        .strip_prefix(&format!("{origin}/desk#enrol="))
        .unwrap_or_else(|| panic!("a desk link in the fragment: {url}"));
    assert_eq!(decode_svg_qr(enrolment["qr_svg"].as_str().unwrap()), url);
    assert!(enrolment["expires_at"].as_str().unwrap() > "2026");
    // The typed token is refused from now on; so is the code as a token.
    for token in [typed.as_str(), code] {
        let (status, _) = app.send_as(token, Method::GET, "/api/desk", None).await;
        assert_eq!(status, 401, "{token}");
    }

    // Two phones scan it at once: one is signed in, the other told why not.
    let redeem = || {
        app.client
            .post(app.url("/api/desk/enrol"))
            .json(&json!({ "code": code }))
            .send()
    };
    let (a, b) = tokio::join!(redeem(), redeem());
    let mut answers = Vec::new();
    for res in [a.unwrap(), b.unwrap()] {
        answers.push((res.status().as_u16(), res.json::<Value>().await.unwrap()));
    }
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert_eq!(answers[1].0, 401, "{answers:?}");
    assert_eq!(answers[1].1["error"]["code"], "enrolment_refused");
    let signed_in = &answers[0].1;
    assert_eq!(signed_in["name"], "Door E");
    let token = signed_in["token"].as_str().unwrap();
    assert!(token.starts_with("desk_"));
    let (status, desk) = app.send_as(token, Method::GET, "/api/desk", None).await;
    assert_eq!((status, desk["name"].as_str()), (200, Some("Door E")));
    // Used once: used up.
    let again = redeem().await.unwrap();
    assert_eq!(again.status(), 401);
    let (status, _) = app.send_as(token, Method::GET, "/api/desk", None).await;
    assert_eq!(status, 200, "a refused code changes nothing");

    // Codes made up, expired or of another shape; what is not a desk.
    for bad in [
        "enrol_1_AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        format!("enrol_{}_AAAAAAAAAAAAAAAAAAAAAA", 4_000_000_000u64),
        "desk_AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        String::new(),
        "x".repeat(5000),
    ] {
        let res = app
            .client
            .post(app.url("/api/desk/enrol"))
            .json(&json!({ "code": bad }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{bad}");
    }
    let (status, _) = app
        .send_as(
            TOKEN,
            Method::POST,
            "/api/desks/Door%20Z/enrolment",
            Some(json!({ "origin": origin })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .send_as(
            token,
            Method::POST,
            "/api/desks/Door%20E/enrolment",
            Some(json!({ "origin": origin })),
        )
        .await;
    assert_eq!(status, 403, "a desk cannot make codes");
    for origin in [
        "javascript:alert(1)",
        "https://192.168.1.20:8443/desk",
        "https://user@192.168.1.20",
        "ftp://192.168.1.20",
        "192.168.1.20",
    ] {
        let (status, body) = app
            .send_as(
                TOKEN,
                Method::POST,
                "/api/desks/Door%20E/enrolment",
                Some(json!({ "origin": origin })),
            )
            .await;
        assert_eq!(status, 400, "{origin}: {body}");
        assert_eq!(body["error"]["field"], "origin");
    }
    let (status, _) = app.send_as(token, Method::GET, "/api/desk", None).await;
    assert_eq!(status, 200, "a refused request changes nothing");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_kept_offline_is_dated_when_it_was_taken() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let desk = app.create_desk("Door T").await;
    let early = app.sign_up(registration("dated.1", "Dated One")).await;
    let later = app.sign_up(registration("dated.2", "Dated Two")).await;
    let future = app.sign_up(registration("dated.3", "Dated Three")).await;
    let now = time::OffsetDateTime::now_utc();
    let format = &time::format_description::well_known::Rfc3339;
    let taken = (now - time::Duration::minutes(40))
        .replace_nanosecond(0)
        .unwrap();
    let ahead = (now + time::Duration::hours(2)).format(format).unwrap();

    // Sent later, from the desk's queue: each dated when it was taken.
    let (status, answer) = app
        .send_as(
            &desk,
            Method::POST,
            "/api/checkins/batch",
            Some(json!({"scans": [
                {"code": code_of(&early), "nonce": "dated-nonce-01", "scanned_at": taken.format(format).unwrap()},
                {"code": code_of(&future), "nonce": "dated-nonce-03", "scanned_at": ahead},
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], 200);
    assert_eq!(results[1]["status"], 200);
    // A time that is no time is refused, and changes nothing.
    let (status, refused) = app
        .check_in(
            &desk,
            json!({"code": code_of(&later), "nonce": "dated-nonce-02", "scanned_at": "not a time"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["field"], "scanned_at");
    let at_of = |r: &Value| {
        time::OffsetDateTime::parse(r["checked_in"]["at"].as_str().unwrap(), format).unwrap()
    };
    let (_, one) = app
        .send_as(
            TOKEN,
            Method::GET,
            "/api/registrations/dated.1/Serverless%20web%20project",
            None,
        )
        .await;
    assert_eq!(at_of(&one), taken, "{one}");
    let (_, two) = app
        .send_as(
            TOKEN,
            Method::GET,
            "/api/registrations/dated.2/Serverless%20web%20project",
            None,
        )
        .await;
    assert!(
        two["checked_in"].is_null(),
        "a refused scan changes nothing"
    );
    // A clock running ahead dates nothing in the future.
    let (_, three) = app
        .send_as(
            TOKEN,
            Method::GET,
            "/api/registrations/dated.3/Serverless%20web%20project",
            None,
        )
        .await;
    let three_at = at_of(&three);
    assert!(
        three_at <= time::OffsetDateTime::now_utc() && three_at >= now - time::Duration::seconds(5)
    );
    // The statistics count it in its own quarter hour.
    let (_, stats) = app
        .send_as(TOKEN, Method::GET, "/api/checkins/stats", None)
        .await;
    let quarters = stats["conferences"][0]["per_quarter_hour"]
        .as_array()
        .unwrap();
    let minute = taken.minute() / 15 * 15;
    let quarter = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        taken.year(),
        u8::from(taken.month()),
        taken.day(),
        taken.hour(),
        minute
    );
    assert!(
        quarters.iter().any(|q| q["start"] == format!("{quarter}Z")),
        "{quarter} in {quarters:?}"
    );
    app.stop().await;
}
