//! Nothing acknowledged is lost: crashes, races and backups, against the real
//! binary and the real server.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{decode_qr, race_duplicates, registration, spawn_app_in, TOKEN};
use reqwest::Method;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_give_one_201_and_the_winner_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let (created, conflicts) = race_duplicates(&app.client, app.url("/api/registrations")).await;
    assert_eq!((created.len(), conflicts), (1, 49));
    let stored: Value = app
        .organizer(
            Method::GET,
            "/api/registrations/racer/Serverless%20web%20project",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stored["user_name"], created[0]["user_name"],
        "the stored data is the winner's"
    );
    app.stop().await;
}

struct Server {
    child: Child,
    url: String,
}

fn start_server(data_dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--rate-limit",
            "0",
            "--admin-token",
            TOKEN,
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lanyard starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("lanyard prints its address").unwrap();
        if let Some(url) = line.strip_prefix("lanyard listening on ") {
            break url.to_owned();
        }
    };
    Server { child, url }
}

/// Sign-ups keep arriving from several clients until the process dies under them.
async fn post_until_killed(
    url: &str,
    round: usize,
    acked: Arc<Mutex<HashMap<String, String>>>,
    failed: Arc<Mutex<HashSet<String>>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let client = client.clone();
        let url = format!("{url}/api/registrations");
        let (acked, failed) = (acked.clone(), failed.clone());
        tasks.spawn(async move {
            for n in 0.. {
                let id = format!("r{round}w{worker}n{n}");
                let name = format!("크래시 {round}-{worker}-{n}");
                match client
                    .post(&url)
                    .json(&registration(&id, &name))
                    .send()
                    .await
                {
                    Ok(res) if res.status() == 201 => {
                        acked.lock().unwrap().insert(id, name);
                    }
                    Ok(res) => panic!("unexpected {} for {id}", res.status()),
                    Err(_) => {
                        failed.lock().unwrap().insert(id);
                        return;
                    }
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_five_times_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let acked = Arc::new(Mutex::new(HashMap::new()));
    let failed = Arc::new(Mutex::new(HashSet::new()));
    for round in 0..5 {
        let mut server = start_server(dir.path());
        let load = tokio::spawn({
            let url = server.url.clone();
            let (acked, failed) = (acked.clone(), failed.clone());
            async move { post_until_killed(&url, round, acked, failed).await }
        });
        tokio::time::sleep(Duration::from_millis(200 + 50 * round as u64)).await;
        server.child.kill().unwrap(); // SIGKILL: no chance to clean up
        server.child.wait().unwrap();
        load.await.unwrap();
    }

    let server = start_server(dir.path());
    let client = reqwest::Client::new();
    let acked = acked.lock().unwrap().clone();
    let failed = failed.lock().unwrap().clone();
    assert!(
        acked.len() > 50,
        "the load got through before each kill ({} acknowledged)",
        acked.len()
    );

    // Every registration, page by page.
    let mut stored: HashMap<String, Value> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        stored.clear();
        let mut cursor = String::new();
        loop {
            let page: Value = client
                .get(format!(
                    "{}/api/registrations?limit=100{cursor}",
                    server.url
                ))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for r in page["items"].as_array().unwrap() {
                stored.insert(r["user_id"].as_str().unwrap().to_owned(), r.clone());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        let pending = stored
            .values()
            .filter(|r| r["badge"]["status"] != "ready")
            .count();
        if pending == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for (id, name) in &acked {
        let r = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged {id} is missing"));
        assert_eq!(r["user_name"], name.as_str(), "{id} intact");
        assert_eq!(r["phone_number"], "+82 10-1234-5678");
        assert_eq!(r["badge"]["status"], "ready", "{id} reached a ready badge");
    }
    let mut unacked_present = 0;
    for (id, r) in &stored {
        if acked.contains_key(id) {
            continue;
        }
        // Sent but never answered: either absent or complete, never half-written.
        assert!(failed.contains(id), "{id} was never sent");
        assert_eq!(r["badge"]["status"], "ready");
        unacked_present += 1;
    }
    // Every badge file is whole: each PNG decodes fully, every tenth QR is read back.
    for (i, r) in stored.values().enumerate() {
        let url = r["badge"]["url"].as_str().unwrap();
        let png = client
            .get(format!("{}{url}.png", server.url))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        image::load_from_memory(&png).expect("a whole PNG");
        if i % 10 == 0 {
            // Without consent, the QR is the registration's check-in code.
            assert_eq!(decode_qr(&png), r["checkin_code"].as_str().unwrap());
        }
        for ext in ["svg", "pdf"] {
            let res = client
                .get(format!("{}{url}.{ext}", server.url))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let bytes = res.bytes().await.unwrap();
            let whole = if ext == "svg" {
                bytes.ends_with(b"</svg>\n") || bytes.ends_with(b"</svg>")
            } else {
                bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n")
            };
            assert!(whole, "{url}.{ext} is complete");
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("objects/badges"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files remain");
    println!(
        "crash test: 5 SIGKILLs; {} acknowledged, all present and ready; {} sent without answer, {} of them stored whole; {} badges checked",
        acked.len(),
        failed.len(),
        unacked_present,
        stored.len()
    );
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_every_earlier_registration() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path(), 1).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writer = tokio::spawn({
        let (client, url, stop, acked) = (
            app.client.clone(),
            app.url("/api/registrations"),
            stop.clone(),
            acked.clone(),
        );
        async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("b{n}");
                let res = client
                    .post(&url)
                    .json(&registration(&id, &format!("Backup {n}")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                acked.lock().unwrap().push(id);
                n += 1;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before: Vec<String> = acked.lock().unwrap().clone();
    let copy = dir.path().join("backup.sqlite");
    let status = tokio::task::spawn_blocking({
        let (data_dir, copy) = (app.data_dir.clone(), copy.clone());
        move || {
            Command::new(env!("CARGO_BIN_EXE_lanyard"))
                .arg("backup")
                .arg("--data-dir")
                .arg(&data_dir)
                .arg(&copy)
                .status()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    app.stop().await;
    assert!(before.len() > 10, "writes were flowing ({})", before.len());

    // Restore as the README says: the copy becomes lanyard.sqlite of a data directory.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored.path().join("lanyard.sqlite")).unwrap();
    let app = spawn_app_in(restored.path(), 0).await;
    let mut ids = HashSet::new();
    let mut cursor = String::new();
    loop {
        let page: Value = app
            .organizer(
                Method::GET,
                &format!("/api/registrations?limit=100{cursor}"),
            )
            .await
            .json()
            .await
            .unwrap();
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["user_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    for id in &before {
        assert!(
            ids.contains(id),
            "{id}, acknowledged before the backup, is in it"
        );
    }
    app.stop().await;
    // A backup never overwrites an existing file.
    let again = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .arg("backup")
        .arg("--data-dir")
        .arg(restored.path())
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success());
}
