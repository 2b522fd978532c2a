//! HTTPS: `--tls lan` (a CA of the event's own in the data directory and a
//! certificate it signs for this machine's addresses) and
//! `--tls-cert/--tls-key`, checked by a client that trusts only the CA it
//! is given.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use lanyard::TlsOptions;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;

use crate::common::{spawn_app_with, TestApp};

/// A client that trusts `ca_pem` and nothing else, reaching `name` at the
/// app's address.
fn client_trusting(ca_pem: &[u8], name: &str, app: &TestApp) -> reqwest::Client {
    let addr: std::net::SocketAddr = app.address.trim_start_matches("https://").parse().unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .resolve(name, addr)
        .build()
        .unwrap()
}

fn port_of(app: &TestApp) -> u16 {
    app.address.rsplit(':').next().unwrap().parse().unwrap()
}

async fn lan_app(data: &std::path::Path, extra: &[&str]) -> TestApp {
    let extra_names = extra.iter().map(|s| s.to_string()).collect();
    spawn_app_with(data, None, |s| {
        s.tls = Some(TlsOptions::Lan { extra_names });
    })
    .await
}

#[tokio::test]
async fn a_lan_ca_is_made_once_and_vouches_for_local_names_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = lan_app(dir.path(), &["lanyard.lan"]).await;
    assert!(app.address.starts_with("https://"), "{}", app.address);
    let ca_path = dir.path().join("tls/ca.pem");
    let ca_pem = std::fs::read(&ca_path).unwrap();
    let key_mode = std::fs::metadata(dir.path().join("tls/ca-key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600, "the CA's key is its owner's only");

    // The server's certificate is the CA's, for loopback, localhost and the
    // name given.
    let port = port_of(&app);
    for name in ["127.0.0.1", "localhost", "lanyard.lan"] {
        let client = client_trusting(&ca_pem, name, &app);
        let res = client
            .get(format!("https://{name}:{port}/api/health"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(res.status(), 200, "{name}");
    }
    // Not for a name it was not given.
    let client = client_trusting(&ca_pem, "other.lan", &app);
    assert!(client
        .get(format!("https://other.lan:{port}/api/health"))
        .send()
        .await
        .is_err());
    // A client that does not trust the CA is refused.
    assert!(reqwest::Client::new()
        .get(format!("{}/api/health", app.address))
        .send()
        .await
        .is_err());
    // Plain HTTP on the port gets no page.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/health"))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    // The trust page, the CA as phones install it (DER), and its fingerprint.
    let client = client_trusting(&ca_pem, "localhost", &app);
    let der = client
        .get(format!("https://localhost:{port}/tls/ca.crt"))
        .send()
        .await
        .unwrap();
    assert_eq!(der.status(), 200);
    assert_eq!(der.headers()["content-type"], "application/x-x509-ca-cert");
    let der = der.bytes().await.unwrap();
    let from_pem = CertificateDer::from_pem_slice(&ca_pem).unwrap();
    assert_eq!(der.as_ref(), from_pem.as_ref());
    let about: serde_json::Value = client
        .get(format!("https://localhost:{port}/api/tls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fingerprint = about["fingerprint_sha256"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint, sha256_colons(&der));
    let page = client
        .get(format!("https://localhost:{port}/tls"))
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    let page = page.text().await.unwrap();
    assert!(page.contains(&fingerprint), "{page}");
    assert!(page.contains("Certificate Trust Settings"));
    assert!(page.contains("Install a certificate"));
    app.stop().await;

    // Started again, even asked for a public name: the same CA (phones
    // trust it once), which will not vouch for a name on the internet.
    let app = lan_app(dir.path(), &["lanyard.lan", "www.example.com"]).await;
    assert_eq!(std::fs::read(&ca_path).unwrap(), ca_pem);
    let port = port_of(&app);
    let client = client_trusting(&ca_pem, "lanyard.lan", &app);
    assert_eq!(
        client
            .get(format!("https://lanyard.lan:{port}/api/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let client = client_trusting(&ca_pem, "www.example.com", &app);
    assert!(client
        .get(format!("https://www.example.com:{port}/api/health"))
        .send()
        .await
        .is_err());
    app.stop().await;
}

fn sha256_colons(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `serve` with the flags: reads its first line, the address.
fn start_serve(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while !first.ends_with(b"\n") {
        if stdout.read(&mut byte).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("serve ended: {err}");
        }
        first.push(byte[0]);
    }
    let address = String::from_utf8(first)
        .unwrap()
        .trim()
        .strip_prefix("lanyard listening on ")
        .unwrap()
        .to_owned();
    // The rest is read, so the server's later lines have somewhere to go.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, address)
}

#[tokio::test]
async fn serve_takes_a_certificate_and_key_and_refuses_ones_that_do_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let (mut child, address) = start_serve(&[
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ]);
    assert!(address.starts_with("https://127.0.0.1:"), "{address}");
    let addr: std::net::SocketAddr = address.trim_start_matches("https://").parse().unwrap();
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let res = client
        .post(format!(
            "https://localhost:{}/api/registrations",
            addr.port()
        ))
        .json(&crate::common::registration("tls", "Over HTTPS"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // No trust page without --tls lan.
    let res = client
        .get(format!("https://localhost:{}/tls/ca.crt", addr.port()))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    assert!(child.wait().unwrap().success());

    // Refused at start, naming what is wrong.
    let refused = || {
        let out = Command::new(env!("CARGO_BIN_EXE_lanyard"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .arg("--tls-cert")
            .arg(&cert_path)
            .arg("--tls-key")
            .arg(&key_path)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // A key of another certificate.
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key_path, other.serialize_pem()).unwrap();
    let stderr = refused();
    assert!(stderr.contains("do not go together"), "{stderr}");
    // A file that is not a certificate.
    std::fs::write(&cert_path, "not a certificate").unwrap();
    let stderr = refused();
    assert!(stderr.contains("cert.pem"), "{stderr}");
}
