//! What `lanyard` does to its own process: the open-file limit it runs
//! with, and the modes of what it writes whatever umask it was started with.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

/// The soft and hard "Max open files" of a process, from `/proc`.
fn open_file_limits(pid: &str) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    let mut fields = line["Max open files".len()..].split_whitespace();
    (
        fields.next().unwrap().to_owned(),
        fields.next().unwrap().to_owned(),
    )
}

#[test]
fn serve_raises_its_open_file_limit_and_keeps_its_files_private() {
    let (_, hard) = open_file_limits("self");
    assert!(
        hard == "unlimited" || hard.parse::<u64>().unwrap() > 256,
        "this test needs a hard limit above 256, not {hard}"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Started as a distribution starts services: a low soft limit, and a
    // umask that leaves new files readable by everyone.
    let mut child = Command::new("sh")
        .args([
            "-c",
            r#"ulimit -Sn 256 && umask 022 && exec "$0" serve --addr 127.0.0.1:0 --data-dir "$1""#,
            env!("CARGO_BIN_EXE_lanyard"),
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while !first.ends_with(b"\n") {
        stdout.read_exact(&mut byte).unwrap();
        first.push(byte[0]);
    }
    let address = String::from_utf8(first)
        .unwrap()
        .trim()
        .strip_prefix("lanyard listening on ")
        .unwrap()
        .to_owned();
    let pid = child.id().to_string();
    let (soft, hard_now) = open_file_limits(&pid);
    assert_eq!(soft, hard_now, "the soft limit is raised to the hard one");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let res = client
            .post(format!("{address}/api/registrations"))
            .json(&crate::common::registration("umask", "Umask Person"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    });
    let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
    assert!(child.wait().unwrap().success());

    // What the command line writes is private too.
    let export = dir.path().join("list.csv");
    let out = Command::new("sh")
        .args([
            "-c",
            r#"umask 022 && exec "$0" export --data-dir "$1" -o "$2""#,
            env!("CARGO_BIN_EXE_lanyard"),
        ])
        .arg(&data)
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut checked = vec![export];
    let mut dirs = vec![data];
    while let Some(d) = dirs.pop() {
        checked.push(d.clone());
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            } else {
                checked.push(entry.path());
            }
        }
    }
    assert!(checked.len() > 4, "{checked:?}");
    for path in checked {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
    }
}
