//! The organizer token never reaches the logs, however verbose they are.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_admin_token_is_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&first).contains('\n') {
        stdout.read_exact(&mut byte).unwrap();
        first.push(byte[0]);
    }
    let line = String::from_utf8(first).unwrap();
    let address = line
        .trim()
        .strip_prefix("lanyard listening on ")
        .unwrap()
        .to_owned();
    let token_file = dir.path().join("admin-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(token.len(), 22, "a generated token is 128 random bits");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the token file is readable by its owner only");
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let wrong = format!("{token}-wrong");
        for auth in [token.as_str(), wrong.as_str()] {
            let _ = client
                .get(format!("{address}/api/registrations?q={auth}"))
                .bearer_auth(auth)
                .send()
                .await
                .unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    // SIGTERM (graceful), then read everything the process wrote.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful stop on SIGTERM");
    let mut out = String::new();
    stdout.read_to_string(&mut out).unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let logs = format!("{line}{out}{err}");
    assert!(logs.contains("response"), "request logs were written");
    // The query string is not logged either: only method and route.
    assert!(
        !logs.contains(token.as_str()),
        "the token appears in the logs:\n{logs}"
    );
}
