//! `lanyard serve`: the embedded backend, the badge workers and the HTTP
//! server, built from settings and run until a shutdown signal.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lanyard_aws::{
    run_queue_worker, AwsBackend, AwsClients, AwsResources, MetricsSink, QueueWorkerSettings,
    SweepPolicy,
};
use lanyard_badge::Fonts;
use lanyard_domain::{Conferences, Lanyard};
use lanyard_embedded::{
    BadgeWorkers, DataDirLock, FileObjectStore, LocalBadgeJobs, RetryPolicy, SqliteStore,
};
use lanyard_http::{AdminToken, AppState, Limits};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub addr: String,
    pub data_dir: PathBuf,
    pub config: Option<PathBuf>,
    pub admin_token: Option<String>,
    /// Badge workers; one per core when `None`.
    pub workers: Option<usize>,
    pub retry: RetryPolicy,
    pub limits: Limits,
    /// Run on DynamoDB, S3 and SNS instead of SQLite and local files.
    pub aws: Option<AwsSettings>,
}

/// `--backend aws`: the resources, and the badge queue this process consumes.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub resources: AwsResources,
    /// An SQS queue subscribed to the topic. Without one this process serves
    /// the API only, and badges are rendered elsewhere (the badge Lambda).
    pub badge_queue_url: Option<String>,
    /// Long-poll wait of the queue worker, seconds.
    pub queue_wait_seconds: i32,
    pub sweep: SweepPolicy,
    /// How often pending badges are swept for lost jobs.
    pub sweep_every: Duration,
}

impl AwsSettings {
    pub fn new(resources: AwsResources, badge_queue_url: Option<String>) -> Self {
        AwsSettings {
            resources,
            badge_queue_url,
            queue_wait_seconds: 20,
            sweep: SweepPolicy::default(),
            sweep_every: Duration::from_secs(60),
        }
    }
}

impl ServeSettings {
    pub fn new(addr: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        ServeSettings {
            addr: addr.into(),
            data_dir: data_dir.into(),
            config: None,
            admin_token: None,
            workers: None,
            retry: RetryPolicy::default(),
            limits: Limits::default(),
            aws: None,
        }
    }
}

/// Loads the conferences: the `--config` file, or the built-in two.
pub fn load_conferences(config: Option<&Path>, fonts: &Fonts) -> anyhow::Result<Conferences> {
    Conferences::load(config, fonts).map_err(anyhow::Error::msg)
}

/// The organizer token: given, or kept in the data directory (made on first start,
/// readable by its owner only).
fn admin_token(
    given: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<(AdminToken, Option<PathBuf>)> {
    if let Some(token) = given.filter(|t| !t.trim().is_empty()) {
        return Ok((AdminToken::new(token.trim()), None));
    }
    let path = data_dir.join("admin-token");
    match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => {
            return Ok((AdminToken::new(token.trim()), Some(path)))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let token = lanyard_domain::fields::random_code();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    Ok((AdminToken::new(token), Some(path)))
}

/// What runs beside the HTTP server.
enum Backend {
    Embedded {
        workers: BadgeWorkers,
        store: SqliteStore,
        _lock: DataDirLock,
    },
    Aws {
        stop: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
    },
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    backend: Backend,
    admin_token: AdminToken,
    admin_token_file: Option<PathBuf>,
}

impl Application {
    pub async fn build(settings: ServeSettings) -> anyhow::Result<Application> {
        let fonts = Fonts::bundled();
        let conferences = load_conferences(settings.config.as_deref(), &fonts)?;
        let (lanyard, backend) = match &settings.aws {
            None => Self::embedded(&settings, conferences)?,
            Some(aws) => Self::aws(&settings, aws, conferences).await?,
        };
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
        let (admin_token, admin_token_file) =
            admin_token(settings.admin_token.as_deref(), &settings.data_dir)?;

        let listener = TcpListener::bind(&settings.addr)
            .await
            .with_context(|| format!("listening on {}", settings.addr))?;
        let router = lanyard_http::router(
            AppState {
                lanyard,
                admin_token: Arc::new(admin_token.clone()),
            },
            settings.limits,
        );
        Ok(Application {
            listener,
            router,
            backend,
            admin_token,
            admin_token_file,
        })
    }

    fn worker_count(settings: &ServeSettings) -> usize {
        settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        })
    }

    fn embedded(
        settings: &ServeSettings,
        conferences: Conferences,
    ) -> anyhow::Result<(Lanyard, Backend)> {
        let lock = DataDirLock::acquire(&settings.data_dir)?;
        let store = SqliteStore::open(settings.data_dir.join("lanyard.sqlite"))
            .context("opening the database")?;
        let objects = FileObjectStore::open(settings.data_dir.join("objects"))?;
        objects.recover();
        let jobs = LocalBadgeJobs::new();
        let lanyard = Lanyard::new(
            Arc::new(store.clone()),
            Arc::new(objects),
            jobs.clone(),
            conferences,
        );
        // Pending jobs from an earlier run are picked up by the first claim.
        let workers = BadgeWorkers::start(
            lanyard.clone(),
            store.clone(),
            jobs,
            Self::worker_count(settings),
            settings.retry,
        );
        Ok((
            lanyard,
            Backend::Embedded {
                workers,
                store,
                _lock: lock,
            },
        ))
    }

    async fn aws(
        settings: &ServeSettings,
        aws: &AwsSettings,
        conferences: Conferences,
    ) -> anyhow::Result<(Lanyard, Backend)> {
        let clients = AwsClients::from_env().await?;
        // Fail at start, with the name, rather than on the first sign-up.
        lanyard_aws::check_resources(&clients, &aws.resources).await?;
        let backend = AwsBackend::new(&clients, &aws.resources, conferences);
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        match &aws.badge_queue_url {
            Some(queue_url) => {
                let worker = QueueWorkerSettings {
                    queue_url: queue_url.clone(),
                    concurrency: Self::worker_count(settings).max(1),
                    wait_seconds: aws.queue_wait_seconds,
                    max_attempts: settings.retry.max_attempts,
                };
                tasks.push(tokio::spawn(run_queue_worker(
                    backend.lanyard.clone(),
                    clients.sqs.clone(),
                    worker,
                    MetricsSink::discard("serve"),
                    stopped.clone(),
                )));
            }
            None => tracing::info!(
                "no --badge-queue-url: badges are rendered by another worker (the badge Lambda)"
            ),
        }
        let sweeper = backend.clone();
        let (policy, every) = (aws.sweep, aws.sweep_every);
        let mut sweep_stopped = stopped;
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = sweep_stopped.changed() => return,
                }
                if let Err(e) = sweeper.sweep(policy).await {
                    tracing::warn!(error = %e, "sweep of pending badges failed");
                }
            }
        }));
        Ok((backend.lanyard, Backend::Aws { stop, tasks }))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn admin_token(&self) -> &AdminToken {
        &self.admin_token
    }

    /// Where the generated organizer token is kept, if it was not given.
    pub fn admin_token_file(&self) -> Option<&Path> {
        self.admin_token_file.as_deref()
    }

    /// The SQLite store of the embedded backend.
    pub fn store(&self) -> Option<&SqliteStore> {
        match &self.backend {
            Backend::Embedded { store, .. } => Some(store),
            Backend::Aws { .. } => None,
        }
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight
    /// requests finish, lets workers finish the badge in hand, and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            router,
            backend,
            ..
        } = self;
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        match backend {
            Backend::Embedded { workers, .. } => workers.shutdown().await,
            Backend::Aws { stop, tasks } => {
                let _ = stop.send(true);
                for task in tasks {
                    let _ = task.await;
                }
            }
        }
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests and the badges in hand");
}
