//! `lanyard serve`: the embedded backend, the badge workers and the HTTP
//! server, built from settings and run until a shutdown signal.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use lanyard_domain::{BadgeJobPolicy, Conferences, Lanyard, MailSettings, NoticePolicy};
use lanyard_embedded::{
    refuse_lost_database, BadgeWorkers, DataDirLock, FileObjectStore, LocalBadgeJobs, SqliteStore,
};
use lanyard_http::{AdminToken, AppState, Limits};
use tokio::net::TcpListener;

use crate::server::ConnectionLimits;

#[cfg(feature = "aws")]
pub use crate::aws::AwsSettings;

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub addr: String,
    pub data_dir: PathBuf,
    pub config: Option<PathBuf>,
    pub admin_token: Option<String>,
    /// Badge workers; one per core when `None`.
    pub workers: Option<usize>,
    pub job_policy: BadgeJobPolicy,
    pub limits: Limits,
    pub connections: ConnectionLimits,
    /// E-mail to attendees; none is sent without it.
    pub mail: Option<MailOptions>,
    pub notice_policy: NoticePolicy,
    /// Rows a second an import stores at most: `Some(0)` unpaced, `None`
    /// the backend's own (DynamoDB's `lanyard_aws::IMPORT_RATE`, SQLite
    /// unpaced).
    pub import_rate: Option<u32>,
    /// HTTPS; plain HTTP without it.
    pub tls: Option<TlsOptions>,
    /// Run on DynamoDB, S3 and SNS instead of SQLite and local files.
    #[cfg(feature = "aws")]
    pub aws: Option<AwsSettings>,
}

impl ServeSettings {
    pub fn new(addr: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        ServeSettings {
            addr: addr.into(),
            data_dir: data_dir.into(),
            config: None,
            admin_token: None,
            workers: None,
            job_policy: BadgeJobPolicy::default(),
            limits: Limits::default(),
            connections: ConnectionLimits::default(),
            mail: None,
            notice_policy: NoticePolicy::default(),
            import_rate: None,
            tls: None,
            #[cfg(feature = "aws")]
            aws: None,
        }
    }
}

/// Where the server's certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsOptions {
    /// PEM files: the certificate chain and its key.
    Files { cert: PathBuf, key: PathBuf },
    /// A CA of the event's own in the data directory, and a certificate it
    /// signs for this machine's addresses and these extra names.
    Lan { extra_names: Vec<String> },
}

/// How e-mail leaves the server.
#[derive(Debug, Clone)]
pub struct MailOptions {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`.
    pub smtp_url: String,
    /// `Conference Team <reg@example.org>`.
    pub from: String,
    /// The address attendees open (`https://reg.example.org`): badge links
    /// in e-mails are made from it.
    pub public_url: String,
}

/// The application with its notices set up: webhooks always (sent only
/// where the configuration has `[[webhook]]`), e-mail when asked for.
pub(crate) fn with_notices(lanyard: Lanyard, settings: &ServeSettings) -> anyhow::Result<Lanyard> {
    let mut lanyard = lanyard
        .with_notice_policy(settings.notice_policy)
        .with_webhook_sender(Arc::new(
            lanyard_notify::HttpWebhooks::new().map_err(|e| anyhow::anyhow!(e))?,
        ));
    if let Some(mail) = &settings.mail {
        let mailer =
            lanyard_notify::SmtpMailer::from_url(&mail.smtp_url).map_err(|e| anyhow::anyhow!(e))?;
        let settings = MailSettings::new(Arc::new(mailer), &mail.from, &mail.public_url)
            .map_err(|e| anyhow::anyhow!(e))?;
        lanyard = lanyard.with_mail(settings);
    }
    Ok(lanyard)
}

/// Loads the conferences: the `--config` file, or the built-in two.
pub fn load_conferences(config: Option<&Path>) -> anyhow::Result<Conferences> {
    Ok(Conferences::load(config)?)
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

/// Where the data directory notes the configuration its server runs with,
/// so the command line (`import`, `print`, `export`) uses the same without
/// `--config`.
pub const CONFIG_NOTE: &str = "config-path";

/// Notes the configuration file's absolute path in the data directory (or
/// that there is none: the built-in conferences).
fn remember_config(data_dir: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    let note = data_dir.join(CONFIG_NOTE);
    match config {
        None => match std::fs::remove_file(&note) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", note.display()))
            }
            _ => Ok(()),
        },
        Some(path) => {
            let path = std::fs::canonicalize(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let text = path
                .to_str()
                .with_context(|| format!("{} is not UTF-8", path.display()))?;
            let temporary = data_dir.join(format!("{CONFIG_NOTE}.new"));
            std::fs::write(&temporary, text)
                .and_then(|_| std::fs::rename(&temporary, &note))
                .with_context(|| format!("writing {}", note.display()))
        }
    }
}

/// The conferences for a command beside a server: `--config` when given,
/// else the configuration the server of `data_dir` last started with (and
/// says so on standard error), else the built-in two.
pub fn conferences_for(config: Option<&Path>, data_dir: &Path) -> anyhow::Result<Conferences> {
    if config.is_some() {
        return load_conferences(config);
    }
    let note = data_dir.join(CONFIG_NOTE);
    match std::fs::read_to_string(&note) {
        Ok(path) if !path.trim().is_empty() => {
            let path = PathBuf::from(path.trim());
            eprintln!(
                "using {}, the configuration the server of {} runs with (--config to use another)",
                path.display(),
                data_dir.display()
            );
            load_conferences(Some(&path)).with_context(|| {
                format!(
                    "the server of {} was started with {}",
                    data_dir.display(),
                    path.display()
                )
            })
        }
        _ => load_conferences(None),
    }
}

/// What runs beside the HTTP server.
enum Backend {
    Embedded {
        workers: BadgeWorkers,
        store: SqliteStore,
        _lock: DataDirLock,
    },
    #[cfg(feature = "aws")]
    Aws(crate::aws::AwsTasks),
}

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    tls: Option<crate::tls::Tls>,
    connections: ConnectionLimits,
    backend: Backend,
    admin_token: AdminToken,
    admin_token_file: Option<PathBuf>,
}

impl Application {
    pub async fn build(settings: ServeSettings) -> anyhow::Result<Application> {
        let conferences = load_conferences(settings.config.as_deref())?;
        #[cfg(feature = "aws")]
        let (lanyard, backend) = match &settings.aws {
            None => Self::embedded(&settings, conferences)?,
            Some(aws) => {
                let (lanyard, tasks) =
                    crate::aws::start(aws, &settings, conferences, Self::worker_count(&settings))
                        .await?;
                (lanyard, Backend::Aws(tasks))
            }
        };
        #[cfg(not(feature = "aws"))]
        let (lanyard, backend) = Self::embedded(&settings, conferences)?;
        lanyard_embedded::private::create_dir(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
        let (admin_token, admin_token_file) =
            admin_token(settings.admin_token.as_deref(), &settings.data_dir)?;
        remember_config(&settings.data_dir, settings.config.as_deref())?;

        let tls = match &settings.tls {
            None => None,
            Some(TlsOptions::Files { cert, key }) => Some(crate::tls::from_files(cert, key)?),
            Some(TlsOptions::Lan { extra_names }) => {
                Some(crate::tls::lan(&settings.data_dir, extra_names)?)
            }
        };
        let listener = TcpListener::bind(&settings.addr)
            .await
            .with_context(|| format!("listening on {}", settings.addr))?;
        let port = listener.local_addr()?.port();
        let mut router = lanyard_http::router(
            AppState {
                lanyard,
                admin_token: admin_token.clone().into(),
            },
            settings.limits,
        );
        if let Some(ca) = tls.as_ref().and_then(|t| t.lan.as_ref()) {
            router = router.merge(crate::tls::trust_routes(ca, port));
        }
        Ok(Application {
            listener,
            router,
            tls,
            connections: settings.connections,
            backend,
            admin_token,
            admin_token_file,
        })
    }

    pub(crate) fn worker_count(settings: &ServeSettings) -> usize {
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
        // Earlier versions left the data directory to the umask.
        lanyard_embedded::private::restrict_tree(&settings.data_dir)
            .with_context(|| format!("making {} private", settings.data_dir.display()))?;
        refuse_lost_database(&settings.data_dir)?;
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
        )
        .with_job_policy(settings.job_policy)
        .with_import_rate(settings.import_rate);
        let lanyard = with_notices(lanyard, settings)?;
        // Pending jobs from an earlier run are picked up by the first claim.
        let workers = BadgeWorkers::start(
            lanyard.clone(),
            store.clone(),
            jobs,
            Self::worker_count(settings),
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

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// `https` with TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// With `--tls lan`: the CA phones are to trust.
    pub fn lan_ca(&self) -> Option<&crate::tls::LanCa> {
        self.tls.as_ref().and_then(|t| t.lan.as_ref())
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
            #[cfg(feature = "aws")]
            Backend::Aws(_) => None,
        }
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight
    /// requests finish (up to the shutdown deadline), lets workers finish the
    /// badge in hand, and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            router,
            connections,
            backend,
            tls,
            ..
        } = self;
        let tls = tls.map(|t| t.config);
        crate::server::serve(listener, router, connections, tls, shutdown).await;
        match backend {
            Backend::Embedded { workers, .. } => workers.shutdown().await,
            #[cfg(feature = "aws")]
            Backend::Aws(tasks) => tasks.shutdown().await,
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
