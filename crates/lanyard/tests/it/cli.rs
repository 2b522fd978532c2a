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
            .args(["--company", "Ünïcode, Inc.", "--format", format, "-o"])
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
            assert_eq!(
                decode_qr(&bytes),
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Zoë O'Brien\\; \\\\ Jr.;;;;\r\nFN:Zoë O'Brien\\; \\\\ Jr.\r\n\
                 ORG:Ünïcode\\, Inc.\r\nTEL;TYPE=CELL:+1 (555) 010-9999\r\nEND:VCARD\r\n"
            );
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
        "user_id,type,user_name,phone_number,company_name\n\
         kim,Serverless web project,김철수,010-1111-2222,ACME\n\
         lee,About cloud computing,\"Lee, Young-hee\",010-3333-4444,\n\
         ../evil,Serverless web project,Evil,010-5555-6666,X\n\
         park,Serverless web project,박지성,12,Y\n",
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
    assert!(decode_qr(&png).contains("FN:김철수\r\n"));
    assert!(!dir.path().join("evil.png").exists());
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
