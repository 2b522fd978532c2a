//! `spawn_app`: the real server on a free port with its own data directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use lanyard::{Application, ServeSettings};
use lanyard_domain::BadgeJobPolicy;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-organizer-token-0123456789";

pub struct TestApp {
    pub address: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    store: lanyard_embedded::SqliteStore,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app_in(data_dir: &Path, workers: usize) -> TestApp {
    spawn(data_dir, workers, None).await
}

pub async fn spawn_app_with_config(data_dir: &Path, config: &Path) -> TestApp {
    spawn(data_dir, 1, Some(config)).await
}

pub async fn spawn_app_with_limits(data_dir: &Path, limits: lanyard_http::Limits) -> TestApp {
    let mut settings = settings(data_dir, 1, None);
    settings.limits = limits;
    start(settings).await
}

/// A server whose badges failed by storage are queued again after `retry_failed_after`.
pub async fn spawn_app_with_retry(data_dir: &Path, retry_failed_after: Duration) -> TestApp {
    let mut settings = settings(data_dir, 1, None);
    settings.job_policy.retry_failed_after = retry_failed_after;
    start(settings).await
}

pub async fn spawn_app_with_connections(
    data_dir: &Path,
    connections: lanyard::ConnectionLimits,
) -> TestApp {
    let mut settings = settings(data_dir, 1, None);
    settings.connections = connections;
    start(settings).await
}

async fn spawn(data_dir: &Path, workers: usize, config: Option<&Path>) -> TestApp {
    start(settings(data_dir, workers, config)).await
}

fn settings(data_dir: &Path, workers: usize, config: Option<&Path>) -> ServeSettings {
    let mut settings = ServeSettings::new("127.0.0.1:0", data_dir);
    // Tests send bursts from one address; the limits have their own tests.
    settings.limits.registrations_per_second = 0;
    settings.config = config.map(Path::to_path_buf);
    settings.admin_token = Some(TOKEN.into());
    settings.workers = Some(workers);
    settings.job_policy = BadgeJobPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        ..BadgeJobPolicy::default()
    };
    settings
}

async fn start(settings: ServeSettings) -> TestApp {
    let data_dir = settings.data_dir.clone();
    let app = Application::build(settings).await.expect("the app builds");
    let store = app.store().expect("embedded").clone();
    let address = format!("{}://{}", app.scheme(), app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        data_dir,
        client: reqwest::Client::new(),
        store,
        stop: Some(stop),
        server: Some(server),
    }
}

pub fn registration(user_id: &str, name: &str) -> Value {
    json!({
        "type": "Serverless web project",
        "user_id": user_id,
        "user_name": name,
        "phone_number": "+82 10-1234-5678",
        "company_name": "Example; Corp, \\ Ltd"
    })
}

/// Fifty concurrent sign-ups with one key and different names: the bodies
/// of the 201s and the number of 409s. Any other answer fails the test.
pub async fn race_duplicates(client: &reqwest::Client, url: String) -> (Vec<Value>, usize) {
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..50 {
        let client = client.clone();
        let url = url.clone();
        posts.spawn(async move {
            let body = registration("racer", &format!("Racer {i}"));
            let res = client.post(url).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        });
    }
    let mut created = Vec::new();
    let mut conflicts = 0;
    while let Some(result) = posts.join_next().await {
        match result.unwrap() {
            (201, body) => created.push(body),
            (409, _) => conflicts += 1,
            (status, body) => panic!("unexpected {status}: {body}"),
        }
    }
    (created, conflicts)
}

impl TestApp {
    pub fn store(&self) -> &lanyard_embedded::SqliteStore {
        &self.store
    }

    /// Notices (e-mails, webhooks) waiting in the outbox.
    pub async fn pending_notices(&self) -> u64 {
        use lanyard_domain::RegistrationStore;
        self.store.notices_waiting().await.unwrap()
    }

    /// `127.0.0.1:port`, for raw TCP clients.
    pub fn socket_address(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_registration(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/registrations"))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_json_query(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let res = self
            .client
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The body of a public GET (a badge image, say).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let res = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.bytes().await.unwrap().to_vec()
    }

    pub async fn organizer(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// Polls a badge URL until its status is no longer `pending`.
    pub async fn wait_for_badge(&self, badge_url: &str) -> Value {
        for _ in 0..600 {
            let (status, body) = self.get_json(badge_url).await;
            assert_eq!(status, 200, "badge url answers: {body}");
            if body["status"] != "pending" {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("badge {badge_url} stayed pending");
    }

    /// Stops the server the way SIGTERM does and waits until it has finished.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

/// Decodes the one QR code in a PNG with rqrr, an independent decoder.
pub fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the badge");
    let mut bytes = Vec::new();
    grids[0].decode_to(&mut bytes).expect("the QR code decodes");
    String::from_utf8(bytes).expect("UTF-8 payload")
}

/// A server built with `tweak` applied to the test settings.
pub async fn spawn_app_with(
    data_dir: &Path,
    config: Option<&Path>,
    tweak: impl FnOnce(&mut ServeSettings),
) -> TestApp {
    let mut settings = settings(data_dir, 1, config);
    tweak(&mut settings);
    start(settings).await
}

/// A free TCP port on loopback (free when asked; a test binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real SMTP server (aiosmtpd, `tests/support/smtp_sink.py`) keeping
/// each message it accepts as a file; stopped, by its process id, when
/// dropped.
pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    child: std::process::Child,
}

impl SmtpSink {
    /// Listens on `port` (a free one when `None`); the first
    /// `refuse_first` messages get a 451.
    pub fn start(dir: &Path, port: Option<u16>, refuse_first: u32) -> SmtpSink {
        use std::io::BufRead;
        let port = port.unwrap_or_else(free_port);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/support/smtp_sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg("--dir")
            .arg(dir)
            .arg("--port")
            .arg(port.to_string())
            .arg("--refuse-first")
            .arg(refuse_first.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the SMTP server (pip install aiosmtpd)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        SmtpSink {
            port,
            dir: dir.to_owned(),
            child,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    /// Waits (up to 30 s) until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        for _ in 0..300 {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} of {n} messages arrived", self.messages().len());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
