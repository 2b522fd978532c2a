//! `lanyard render` as a user runs it: the real binary, real files.

use std::process::Command;

use crate::common::decode_qr;

fn lanyard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lanyard"))
}

#[test]
fn renders_one_badge_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for (format, magic) in [
        ("png", &b"\x89PNG"[..]),
        ("jpg", &b"\xff\xd8\xff"[..]),
        ("svg", &b"<svg"[..]),
        ("pdf", &b"%PDF-"[..]),
    ] {
        let out = dir.path().join(format!("badge.{format}"));
        let status = lanyard()
            .args([
                "render",
                "--user-name",
                "Zoë O'Brien; \\ Jr.",
                "--phone",
                "+1 (555) 010-9999",
            ])
            .args(["--company", "Ünïcode, Inc.", "--contact-on-badge"])
            .args(["--format", format, "-o"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "{format}");
        let bytes = std::fs::read(&out).unwrap();
        assert!(
            bytes.starts_with(magic),
            "{format} output starts with its magic bytes"
        );
        if format == "png" {
            let card = decode_qr(&bytes);
            let code = card
                .strip_prefix(
                    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Zoë O'Brien\\; \\\\ Jr.;;;;\r\nFN:Zoë O'Brien\\; \\\\ Jr.\r\n\
                     ORG:Ünïcode\\, Inc.\r\nTEL;TYPE=CELL:+1 (555) 010-9999\r\nUID:urn:lanyard:checkin:",
                )
                .and_then(|rest| rest.strip_suffix("\r\nEND:VCARD\r\n"))
                .unwrap_or_else(|| panic!("{card:?}"));
            assert!(lanyard_domain::CheckinCode::parse(code).is_some(), "{code}");
        }
    }
    // The original preset at its original size, and a chosen dpi.
    let out = dir.path().join("original.png");
    assert!(lanyard()
        .args([
            "render",
            "--user-name",
            "홍길동",
            "--phone",
            "010-1234-5678",
            "--preset",
            "original",
            "-o"
        ])
        .arg(&out)
        .status()
        .unwrap()
        .success());
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (400, 250));
    let out = dir.path().join("150.png");
    assert!(lanyard()
        .args([
            "render",
            "--user-name",
            "홍길동",
            "--phone",
            "010-1234-5678",
            "--dpi",
            "150",
            "-o"
        ])
        .arg(&out)
        .status()
        .unwrap()
        .success());
    assert_eq!(image::open(&out).unwrap().width(), 506);
}

#[test]
fn refuses_invalid_input_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    let result = lanyard()
        .args(["render", "--user-name", "Ann", "--phone", "12", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("phone_number"));
    assert!(!out.exists());
    let result = lanyard()
        .args([
            "render",
            "--user-name",
            "Ann",
            "--phone",
            "1234",
            "--type",
            "nope",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("type"));
}

#[test]
fn renders_a_csv_on_one_thread_and_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "user_id,type,user_name,phone_number,company_name,contact_on_badge\n\
         kim,Serverless web project,김철수,010-1111-2222,ACME,yes\n\
         lee,About cloud computing,\"Lee, Young-hee\",010-3333-4444,,\n\
         ../evil,Serverless web project,Evil,010-5555-6666,X,\n\
         park,Serverless web project,박지성,12,Y,\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let result = lanyard()
        .args(["render", "--from"])
        .arg(&csv)
        .arg("--out-dir")
        .arg(&out)
        .args(["--jobs", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "bad rows make the run fail");
    assert!(
        stderr.contains("line 4") && stderr.contains("user_id"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 5") && stderr.contains("phone_number"),
        "{stderr}"
    );
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "kim--Serverless_web_project.png",
            "lee--About_cloud_computing.png"
        ]
    );
    let png = std::fs::read(out.join("kim--Serverless_web_project.png")).unwrap();
    assert!(decode_qr(&png).contains("FN:김철수\r\n"), "kim agreed");
    let png = std::fs::read(out.join("lee--About_cloud_computing.png")).unwrap();
    let code = decode_qr(&png);
    assert!(
        lanyard_domain::CheckinCode::parse(&code).is_some(),
        "lee did not: {code}"
    );
    assert!(!dir.path().join("evil.png").exists());
}

/// A Korean CSV: every row gets its own readable file; two rows that would
/// write one file are an error, and the run says so in its exit status.
#[test]
fn csv_rows_get_unique_readable_file_names_and_collisions_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    let names = ["홍길동", "김철수", "이영희", "박지성", "최민수", "정수진"];
    let mut text = String::from("user_id,type,user_name,phone_number,company_name\n");
    for name in names {
        text.push_str(&format!(
            "{name},Serverless web project,{name},010-1234-5678,\n"
        ));
    }
    // The same user and conference twice: the second would overwrite the first.
    text.push_str("홍길동,Serverless web project,홍길동 2,010-1234-5678,\n");
    std::fs::write(&csv, text).unwrap();
    let out = dir.path().join("out");
    let result = lanyard()
        .args(["render", "--from"])
        .arg(&csv)
        .arg("--out-dir")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(!result.status.success(), "a collision fails the run");
    assert!(
        stderr.contains("line 8") && stderr.contains("line 2"),
        "{stderr}"
    );
    assert!(stdout.starts_with("6 badges"), "{stdout}");
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut expected: Vec<String> = names
        .iter()
        .map(|n| format!("{n}--Serverless_web_project.png"))
        .collect();
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn a_bad_dpi_is_refused_up_front_and_a_bad_output_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.png");
    for dpi in ["0", "29", "1201"] {
        let result = lanyard()
            .args([
                "render",
                "--user-name",
                "Ann",
                "--phone",
                "1234",
                "--dpi",
                dpi,
                "-o",
            ])
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "--dpi {dpi}");
        assert!(
            stderr.contains("--dpi") && stderr.contains("30..=1200"),
            "{stderr}"
        );
        assert_eq!(stderr.matches("error").count(), 1, "said once: {stderr}");
    }
    assert!(!out.exists());
    let nowhere = dir.path().join("nodir/x.png");
    let result = lanyard()
        .args(["render", "--user-name", "Ann", "--phone", "1234", "-o"])
        .arg(&nowhere)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(stderr.contains(&nowhere.display().to_string()), "{stderr}");
}

/// Built without the `aws` feature (the README's run command), asking for
/// the AWS backend says how to get it, whatever AWS flags come with it.
#[cfg(not(feature = "aws"))]
#[test]
fn without_the_aws_feature_the_aws_commands_say_how_to_get_them() {
    let data = tempfile::tempdir().unwrap();
    for args in [
        vec!["serve", "--backend", "aws"],
        vec!["serve", "--backend=aws", "--table", "t", "--bucket", "b"],
        vec!["aws-setup"],
        vec!["aws-setup", "--prefix", "demo"],
    ] {
        let out = lanyard()
            .args(&args)
            .env("LANYARD_DATA_DIR", data.path())
            .env_remove("LANYARD_BACKEND")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains("built without") && stderr.contains("--features aws"),
            "{args:?}: {stderr}"
        );
    }
}

/// `lanyard desk` beside a running server, on its data directory: the
/// token it prints opens a desk at once, and a revoked one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_commands_work_beside_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::common::spawn_app_in(dir.path(), 1).await;
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let out = lanyard()
            .arg("desk")
            .args(args)
            .args(["--data-dir", &data_dir])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (ok, token, stderr) = run(&["create", "Door A"]);
    assert!(ok, "{stderr}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("desk_"), "{token}");
    assert!(stderr.contains("shown this once"), "{stderr}");
    let desk = |token: String| {
        let client = app.client.clone();
        let url = app.url("/api/desk");
        async move {
            let res = client.get(url).bearer_auth(token).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, body) = desk(token.clone()).await;
    assert_eq!(status, 200);
    assert!(body.contains("Door A"), "{body}");

    let (ok, _, stderr) = run(&["create", "Door A"]);
    assert!(!ok);
    assert!(stderr.contains("already exists"), "{stderr}");
    let (ok, _, stderr) = run(&["create", ""]);
    assert!(!ok);
    assert!(stderr.contains("name"), "{stderr}");
    let (ok, listed, _) = run(&["list"]);
    assert!(ok);
    assert!(listed.starts_with("Door A\t"), "{listed}");
    assert!(!listed.contains(&token), "tokens are never listed");

    // A check-in first, so the server has the token in memory when the
    // command line revokes it beside the running server.
    let checkin = |token: String| {
        let client = app.client.clone();
        let url = app.url("/api/checkins");
        async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "code": "AAAA-BBBB-CCCC-DDDD" }))
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }
    };
    assert_eq!(
        checkin(token.clone()).await,
        404,
        "an unknown code, from a valid desk"
    );
    let (ok, _, stderr) = run(&["revoke", "Door A"]);
    assert!(ok, "{stderr}");
    assert_eq!(checkin(token.clone()).await, 401);
    assert_eq!(desk(token).await.0, 401);
    let (ok, _, stderr) = run(&["revoke", "Door A"]);
    assert!(!ok);
    assert!(stderr.contains("no desk"), "{stderr}");
    // The server's own badge work went on undisturbed.
    let res = app
        .post_registration(&crate::common::registration("after", "After Desk"))
        .await;
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = res.json().await.unwrap();
    let badge = app
        .wait_for_badge(body["badge"]["url"].as_str().unwrap())
        .await;
    assert_eq!(badge["status"], "ready");
    app.stop().await;
}

/// Badges rendered from a list without a store, then the same list
/// imported: each badge's QR holds its row's `checkin_code`, so it checks
/// its person in; and the same row renders the same bytes every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badges_rendered_from_a_list_scan_once_it_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "user_id,type,user_name,phone_number,company_name,contact_on_badge,checkin_code\n\
         kim,Serverless web project,김철수,010-1111-2222,ACME,yes,7QX4-M2KD-9HZ1-C8TA\n\
         lee,Serverless web project,Lee Young-hee,010-3333-4444,,,k3vw m8np 2rtx 6yzb\n\
         bad,Serverless web project,Bad Code,010-5555-6666,,,not-a-code\n",
    )
    .unwrap();
    let render = |out: &std::path::Path| {
        lanyard()
            .args(["render", "--from"])
            .arg(&csv)
            .arg("--out-dir")
            .arg(out)
            .output()
            .unwrap()
    };
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let result = render(&first);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("line 4") && stderr.contains("checkin_code"),
        "{stderr}"
    );
    render(&second);
    let kim_png = std::fs::read(first.join("kim--Serverless_web_project.png")).unwrap();
    let lee_png = std::fs::read(first.join("lee--Serverless_web_project.png")).unwrap();
    for (file, png) in [("kim", &kim_png), ("lee", &lee_png)] {
        let again =
            std::fs::read(second.join(format!("{file}--Serverless_web_project.png"))).unwrap();
        assert!(&again == png, "{file}: the same bytes twice");
    }
    let kim = decode_qr(&kim_png);
    assert!(
        kim.contains("UID:urn:lanyard:checkin:7QX4-M2KD-9HZ1-C8TA\r\n"),
        "{kim}"
    );
    assert_eq!(decode_qr(&lee_png), "K3VW-M8NP-2RTX-6YZB");

    // The same list imported: the badges check their people in.
    let data = dir.path().join("data");
    let imported = lanyard()
        .arg("import")
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&imported.stdout).contains("2 created"),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let app = crate::common::spawn_app_in(&data, 1).await;
    for (scanned, user_id) in [(kim, "kim"), (decode_qr(&lee_png), "lee")] {
        let res = app
            .client
            .post(app.url("/api/checkins"))
            .bearer_auth(crate::common::TOKEN)
            .json(&serde_json::json!({ "code": scanned }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["result"], "checked_in");
        assert_eq!(body["registration"]["user_id"], user_id);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_for_a_running_server_and_fails_for_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let app = crate::common::spawn_app_in(dir.path(), 1).await;
    let health = |addr: String| {
        tokio::task::spawn_blocking(move || {
            lanyard()
                .args(["health", "--addr", &addr, "--timeout", "3"])
                .env_remove("LANYARD_ADDR")
                .output()
                .unwrap()
        })
    };
    let served = app.socket_address().to_owned();
    let ok = health(served.clone()).await.unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // Listening on every address: asked on this machine's own.
    let port = served.rsplit(':').next().unwrap();
    let any = health(format!("0.0.0.0:{port}")).await.unwrap();
    assert!(
        any.status.success(),
        "{}",
        String::from_utf8_lossy(&any.stderr)
    );

    // Nothing listening.
    let free = crate::common::free_port();
    let down = health(format!("127.0.0.1:{free}")).await.unwrap();
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).starts_with("unhealthy: "));
    // Something else listening, answering 503.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other_addr = other.local_addr().unwrap().to_string();
    let answering = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = other.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    let busy = health(other_addr).await.unwrap();
    answering.join().unwrap();
    assert_eq!(busy.status.code(), Some(1));
    let said = String::from_utf8_lossy(&busy.stderr);
    assert!(said.contains("503"), "{said}");
    app.stop().await;
}

/// The Dockerfile and the binary agree: each variable it sets is one
/// `serve` reads, and its health check and command are commands the
/// binary has. (No container engine runs here to build the image.)
#[test]
fn the_dockerfile_sets_only_what_the_binary_reads() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Dockerfile")).unwrap();
    let serve_help = lanyard().args(["serve", "--help"]).output().unwrap();
    let serve_help = String::from_utf8_lossy(&serve_help.stdout).into_owned();
    let mut set = Vec::new();
    let mut in_env = false;
    for line in dockerfile.lines() {
        let line = line.trim();
        let rest = match line.strip_prefix("ENV ") {
            Some(rest) => rest,
            None if in_env => line,
            None => continue,
        };
        in_env = rest.ends_with('\\');
        for pair in rest.trim_end_matches('\\').split_whitespace() {
            set.push(pair.split_once('=').unwrap().0.to_owned());
        }
    }
    assert!(set.contains(&"LANYARD_DATA_DIR".to_owned()), "{set:?}");
    for name in &set {
        assert!(
            serve_help.contains(&format!("[env: {name}")),
            "serve reads no {name}"
        );
    }
    let health = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("CMD [\"/usr/local/bin/lanyard\", "))
        .expect("a health check running the binary");
    let subcommand = health.trim_end_matches(']').trim_matches('"');
    assert_eq!(subcommand, "health");
    let help = lanyard().args([subcommand, "--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("[env: LANYARD_ADDR"));
    assert!(dockerfile.contains("CMD [\"serve\"]"));
    assert!(dockerfile.contains("VOLUME [\"/data\"]"));
}

/// What the release script puts in an archive is there: the README, the
/// security notes and every licence the binary carries (a file moved
/// would otherwise be found only at release time), and every workflow
/// target is one the script knows how to build.
#[test]
fn the_release_archive_holds_files_that_exist() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let script = std::fs::read_to_string(root.join("scripts/release")).unwrap();
    let copied: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cp ") && !l.contains("target/"))
        .flat_map(|l| l.split_whitespace().skip(1))
        .filter(|word| !word.starts_with('"'))
        .collect();
    assert!(copied.len() >= 6, "{copied:?}");
    for pattern in copied {
        let (dir, name) = pattern.rsplit_once('/').unwrap_or((".", pattern));
        let found = std::fs::read_dir(root.join(dir))
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| match name.split_once('*') {
                Some((head, tail)) => {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(head) && n.ends_with(tail)
                }
                None => e.file_name() == name,
            });
        assert!(
            found,
            "scripts/release copies {pattern}, which is not there"
        );
    }
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(root.join(licence).is_file(), "{licence}");
    }
    let help = Command::new("bash")
        .arg(root.join("scripts/release"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: scripts/release"));
    // The crates' licences, for this machine's target.
    let rustc = Command::new("rustc").arg("-vV").output().unwrap();
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    let third = Command::new("python3")
        .arg(root.join("scripts/third-party-licences"))
        .arg(&host)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    let text = String::from_utf8_lossy(&third.stdout);
    for crate_name in ["axum ", "rusqlite ", "tokio ", "qrcodegen "] {
        assert!(
            text.lines().any(|l| l.starts_with(crate_name)),
            "{crate_name}is not listed"
        );
    }
    assert!(
        text.contains("Permission is hereby granted"),
        "the MIT texts"
    );
    assert!(text.contains("Apache License"), "the Apache texts");
    let workflow = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    let targets: Vec<&str> = workflow
        .lines()
        .filter_map(|l| l.split("target: ").nth(1))
        .map(|t| t.trim_end_matches(" }").trim())
        .filter(|t| !t.starts_with('$'))
        .collect();
    assert_eq!(targets.len(), 5, "{targets:?}");
    for target in targets {
        let os_known = ["linux-musl", "apple-darwin", "windows-msvc"]
            .iter()
            .any(|k| target.ends_with(k));
        assert!(os_known, "{target}: the script builds no such kind");
    }
}
