//! An AWS emulator for tests: `moto_server` (pip package `moto[server]`) on a
//! free loopback port, stopped when the guard is dropped, even when the test
//! fails. When `LANYARD_EMULATOR_PIDS` names a directory, each emulator's
//! process id is written there while it runs, so a test runner can stop, by
//! id, the ones a killed test process left behind (`scripts/test` does).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;

use crate::AwsClients;

pub struct Emulator {
    child: Child,
    pub endpoint: String,
    /// Where this emulator's process id is recorded, if anywhere.
    pid_file: Option<std::path::PathBuf>,
}

pub const REGION: &str = "us-east-1";

/// moto's server with each DynamoDB write behind one lock.
const MOTO_ATOMIC: &str = include_str!("moto_atomic.py");

impl Emulator {
    /// Starts moto's server (or `$LANYARD_MOTO_SERVER`) and waits until it
    /// answers. Its DynamoDB writes are made atomic first, as DynamoDB's
    /// are (`moto_atomic.py` says why).
    pub fn start() -> Emulator {
        Emulator::start_with(&[])
    }

    /// [`Emulator::start`] with settings of moto's in its environment
    /// (request recording, say).
    pub fn start_with(settings: &[(&str, &str)]) -> Emulator {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = match std::env::var("LANYARD_MOTO_SERVER") {
            Ok(program) => Command::new(program),
            Err(_) => {
                let mut c = Command::new("python3");
                c.args(["-c", MOTO_ATOMIC]);
                c
            }
        };
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(settings.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server: install it with `pip install 'moto[server]'`");
        let pid_file = std::env::var_os("LANYARD_EMULATOR_PIDS").map(|dir| {
            let path = std::path::Path::new(&dir).join(child.id().to_string());
            let _ = std::fs::write(&path, child.id().to_string());
            path
        });
        let mut emulator = Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            pid_file,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = emulator.child.try_wait() {
                panic!("moto_server exited at start ({status}): is `moto[server]` installed for python3?");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        emulator
    }

    /// Clients for the emulator, with its test credentials.
    pub async fn clients(&self) -> AwsClients {
        self.clients_as(Credentials::new(
            "testing", "testing", None, None, "emulator",
        ))
        .await
    }

    /// Clients for the emulator with `credentials` (an assumed role's, say,
    /// where the emulator enforces IAM).
    pub async fn clients_as(&self, credentials: Credentials) -> AwsClients {
        // Several emulators start at once on two cores, and each imports a
        // service's code on its first request: more patience than the
        // SDK's default three attempts.
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(6))
            .credentials_provider(credentials)
            .load()
            .await;
        AwsClients::from_config(&config)
    }

    /// The environment that points a child process (or the standard AWS
    /// configuration chain) at the emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = &self.pid_file {
            let _ = std::fs::remove_file(path);
        }
    }
}
