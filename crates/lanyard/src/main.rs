use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use lanyard::app::{conferences_for, load_conferences, shutdown_signal};
use lanyard::render::{
    render_csv, render_csv_sheet, render_one, write_file, Attendee, RenderOptions,
};
use lanyard::{Application, ConnectionLimits, MailOptions, ServeSettings, TlsOptions};
use lanyard_badge::{Format, Preset, PrintOptions, MAX_DPI, MIN_DPI};
use lanyard_domain::{Person, PrintRequest};
use lanyard_http::Limits;

/// Conference registration with QR-code badges.
#[derive(Parser)]
#[command(name = "lanyard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web page, the API and the badge workers on this machine.
    Serve(ServeArgs),
    /// Render badges without a server: one from flags, or many from a CSV file.
    Render(RenderArgs),
    /// Print the stored badges onto label or card stock, as one PDF.
    Print(PrintArgs),
    /// Import registrations from a CSV file (each row checked like a sign-up).
    Import(ImportArgs),
    /// Export the registrations, with badge and check-in state, as CSV or Excel.
    Export(ExportArgs),
    /// Copy the database of a data directory, consistently, even while a server runs.
    Backup(BackupArgs),
    /// Check-in desks: create one (its token is shown once), list them, revoke one.
    #[command(subcommand)]
    Desk(DeskCommand),
    /// Ask a running server whether it is healthy (exit 0) or not (1): a
    /// container's health check.
    Health(HealthArgs),
    /// Create the table, bucket, topic and queue for `serve --backend aws` on
    /// an AWS emulator or a sandbox account (production uses deploy/template.yaml).
    AwsSetup(AwsSetupArgs),
}

#[derive(Subcommand)]
enum DeskCommand {
    /// Create a desk and print its token (shown this once).
    Create {
        /// The desk's name, "Door A" say.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the desks (names and creation times, never tokens).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a desk's token: refused from the next request on.
    Revoke {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Which store a command works on: a data directory, or `--backend aws`.
#[derive(Args)]
struct StoreArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    #[arg(long, env = "LANYARD_BACKEND", value_enum, default_value = "embedded")]
    backend: Backend,
    /// The DynamoDB table of registrations (`--backend aws`).
    #[cfg(feature = "aws")]
    #[arg(long, env = "LANYARD_TABLE")]
    table: Option<String>,
    /// The SNS topic of badge jobs (`--backend aws`): imported and newly
    /// coded registrations are announced on it, so their badges are made at
    /// once; without it the deployment's sweeper finds them within minutes.
    #[cfg(feature = "aws")]
    #[arg(long, env = "LANYARD_TOPIC_ARN")]
    topic_arn: Option<String>,
}

#[derive(Args)]
struct PrintArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    config: ConfigArg,
    /// Only this conference.
    #[arg(long = "type")]
    conference: Option<String>,
    /// Only names or companies with this text.
    #[arg(long)]
    search: Option<String>,
    /// Only those checked in (true) or not yet (false).
    #[arg(long)]
    checked_in: Option<bool>,
    #[command(flatten)]
    sheet: SheetArgs,
    /// List the sheets (built-in and configured) and stop.
    #[arg(long)]
    list_sheets: bool,
    /// The PDF to write.
    #[arg(short = 'o', long = "output", required_unless_present = "list_sheets")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ImportArgs {
    /// The CSV file (UTF-8 with or without BOM, or CP949/EUC-KR; comma,
    /// semicolon or tab). Columns: user_id, type, user_name, phone_number,
    /// company_name, contact_on_badge, checkin_code, email, category, and
    /// answer:<question id> per question.
    file: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    config: ConfigArg,
    /// Check and report every row; store nothing.
    #[arg(long)]
    dry_run: bool,
    /// utf-8 or cp949 (EUC-KR); detected when absent.
    #[arg(long)]
    encoding: Option<String>,
    /// Other headers to fields: 'Name=user_name,Phone=phone_number';
    /// 'Notes=-' ignores a column.
    #[arg(long)]
    map: Option<String>,
    /// The conference of rows without a type (the file may then have no
    /// type column).
    #[arg(long = "type", value_name = "CONFERENCE")]
    conference: Option<String>,
    /// Rows a second stored at most; 0: as fast as the store takes them.
    /// Default: 250 on DynamoDB, unpaced on SQLite.
    #[arg(long, env = "LANYARD_IMPORT_RATE")]
    import_rate: Option<u32>,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    config: ConfigArg,
    #[arg(long, default_value = "csv", value_parser = ["csv", "xlsx"])]
    format: String,
    /// Only this conference.
    #[arg(long = "type")]
    conference: Option<String>,
    /// Only names or companies with this text.
    #[arg(long)]
    search: Option<String>,
    /// The file to write (standard output when absent).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
}

/// Which stock a print run uses, and how.
#[derive(Args)]
struct SheetArgs {
    /// A sheet name (`lanyard print --list-sheets`); `card` is one badge per page.
    #[arg(long)]
    sheet: Option<String>,
    /// Labels already used on the first sheet.
    #[arg(long, default_value_t = 0, requires = "sheet")]
    skip: u32,
    /// Draw cut marks in the margins.
    #[arg(long, requires = "sheet")]
    cut_marks: bool,
    /// Move everything right by this many mm (the printer's offset).
    #[arg(
        long,
        default_value_t = 0.0,
        allow_negative_numbers = true,
        requires = "sheet"
    )]
    offset_x: f32,
    /// Move everything down by this many mm.
    #[arg(
        long,
        default_value_t = 0.0,
        allow_negative_numbers = true,
        requires = "sheet"
    )]
    offset_y: f32,
}

impl SheetArgs {
    fn options(&self) -> PrintOptions {
        PrintOptions {
            skip: self.skip,
            cut_marks: self.cut_marks,
            offset_x: self.offset_x,
            offset_y: self.offset_y,
        }
    }
}

#[derive(Args)]
struct AwsSetupArgs {
    /// Prefix of the resource names.
    #[arg(long, default_value = "lanyard")]
    prefix: String,
    /// Adopt this existing table (the original system's, say) instead of
    /// creating resources: add the indexes lanyard needs, keeping every item.
    #[arg(long, conflicts_with = "prefix")]
    table: Option<String>,
}

/// Where the embedded backend keeps its database, badge files and token.
#[derive(Args)]
struct DataDirArg {
    #[arg(
        long = "data-dir",
        env = "LANYARD_DATA_DIR",
        default_value = "./lanyard-data"
    )]
    path: PathBuf,
}

/// The conferences.
#[derive(Args)]
struct ConfigArg {
    /// Conferences (TOML). When absent: for `serve` and `render`, the
    /// original two; for commands beside a server (`import`, `print`,
    /// `export`), the file that server started with (noted in its data
    /// directory), else the original two.
    #[arg(id = "config", long = "config", env = "LANYARD_CONFIG")]
    path: Option<PathBuf>,
}

#[derive(Args)]
struct HealthArgs {
    /// The server's address, as `serve --addr` took it.
    #[arg(long, env = "LANYARD_ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

#[derive(Args)]
struct BackupArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// Where to write the copy (must not exist yet).
    file: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Embedded,
    Aws,
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, env = "LANYARD_ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    #[command(flatten)]
    data_dir: DataDirArg,
    #[command(flatten)]
    config: ConfigArg,
    /// Organizer token; generated and kept in the data directory when absent.
    #[arg(long, env = "LANYARD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    #[arg(long, env = "LANYARD_BACKEND", value_enum, default_value = "embedded")]
    backend: Backend,
    /// Badge workers (default: one per core).
    #[arg(long, env = "LANYARD_WORKERS")]
    workers: Option<usize>,
    /// Rows a second an import stores at most; 0: as fast as the store
    /// takes them. Default: 250 on DynamoDB (one index partition's write
    /// rate, shared), unpaced on SQLite.
    #[arg(long, env = "LANYARD_IMPORT_RATE")]
    import_rate: Option<u32>,
    /// Sign-ups per second per client address; 0 turns the limit off.
    #[arg(long, env = "LANYARD_RATE_LIMIT", default_value_t = Limits::DEFAULT.registrations_per_second)]
    rate_limit: u32,
    /// Requests handled at once; more get 503 with Retry-After.
    #[arg(long, env = "LANYARD_MAX_CONCURRENT_REQUESTS", default_value_t = Limits::DEFAULT.max_concurrent_requests)]
    max_concurrent_requests: usize,
    /// Of those, how many one client address may hold; more get 429.
    #[arg(long, env = "LANYARD_MAX_CONCURRENT_PER_ADDRESS", default_value_t = Limits::DEFAULT.max_concurrent_per_address)]
    max_concurrent_per_address: usize,
    /// Bytes per second a request body must average once it has taken
    /// longer than --body-grace seconds; slower ones get 408. 0 turns it off.
    #[arg(long, env = "LANYARD_MIN_BODY_RATE", default_value_t = Limits::DEFAULT.min_body_bytes_per_second)]
    min_body_rate: u32,
    /// Seconds a request body may take before its rate counts.
    #[arg(long, env = "LANYARD_BODY_GRACE", default_value_t = Limits::DEFAULT.body_grace.as_secs())]
    body_grace: u64,
    /// Seconds a request may take, its body included.
    #[arg(long, env = "LANYARD_REQUEST_TIMEOUT", default_value_t = Limits::DEFAULT.request_timeout.as_secs())]
    request_timeout: u64,
    /// Seconds a client has to send a request's headers (also how long an
    /// idle keep-alive connection stays open).
    #[arg(long, env = "LANYARD_HEADER_READ_TIMEOUT", default_value_t = ConnectionLimits::DEFAULT.header_read_timeout.as_secs())]
    header_read_timeout: u64,
    /// Seconds without a byte either way before a connection is closed.
    #[arg(long, env = "LANYARD_IDLE_TIMEOUT", default_value_t = ConnectionLimits::DEFAULT.idle_timeout.as_secs())]
    idle_timeout: u64,
    /// Connections open at once from one client address.
    #[arg(long, env = "LANYARD_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = ConnectionLimits::DEFAULT.max_connections_per_address)]
    max_connections_per_address: usize,
    /// Seconds a shutdown waits for open requests before closing connections.
    #[arg(long, env = "LANYARD_SHUTDOWN_TIMEOUT", default_value_t = ConnectionLimits::DEFAULT.shutdown_timeout.as_secs())]
    shutdown_timeout: u64,
    /// Sends attendees e-mail (confirmations, lost badge links, seat
    /// offers, organizer messages) through this SMTP server:
    /// `smtp://localhost:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`. No e-mail without it.
    #[arg(long, env = "LANYARD_SMTP_URL", hide_env_values = true, requires_all = ["mail_from", "public_url"])]
    smtp_url: Option<String>,
    /// The sender of e-mails: `Conference Team <reg@example.org>`.
    #[arg(long, env = "LANYARD_MAIL_FROM")]
    mail_from: Option<String>,
    /// The address attendees open (`https://reg.example.org`); badge links
    /// in e-mails are made from it.
    #[arg(long, env = "LANYARD_PUBLIC_URL")]
    public_url: Option<String>,
    /// HTTPS with a certificate of the event's own: `lan` makes a local CA
    /// in the data directory (once) and a certificate for this machine's
    /// addresses (each start); phones trust the CA once, as `/tls` shows.
    #[arg(long, env = "LANYARD_TLS", value_enum, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls: Option<TlsMode>,
    /// More names or addresses for `--tls lan`'s certificate (repeat it):
    /// `--tls-name lanyard.lan`.
    #[arg(
        long = "tls-name",
        env = "LANYARD_TLS_NAMES",
        value_delimiter = ',',
        requires = "tls"
    )]
    tls_names: Vec<String>,
    /// HTTPS with this certificate chain (PEM, the server's first).
    #[arg(long, env = "LANYARD_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "LANYARD_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[cfg(feature = "aws")]
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TlsMode {
    /// A local CA and a certificate for the LAN addresses.
    Lan,
}

/// The resources of `--backend aws`.
#[cfg(feature = "aws")]
#[derive(Args)]
struct AwsArgs {
    #[command(flatten)]
    resources: lanyard_aws::AwsResourceArgs,
    /// An SQS queue subscribed to the topic, for this process's badge worker.
    #[arg(long, env = "LANYARD_BADGE_QUEUE_URL")]
    badge_queue_url: Option<String>,
}

#[derive(Args)]
struct RenderArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[arg(long, required_unless_present = "from", conflicts_with = "from")]
    user_name: Option<String>,
    #[arg(long, required_unless_present = "from", conflicts_with = "from")]
    phone: Option<String>,
    #[arg(long, conflicts_with = "from")]
    company: Option<String>,
    /// Put the contact card in the QR (the attendee agreed); without it the
    /// QR holds a fresh check-in code and nothing personal.
    #[arg(long, conflicts_with = "from")]
    contact_on_badge: bool,
    /// The check-in code for the QR (a registration's, from `lanyard
    /// export`, say), so the badge checks its person in; a fresh one otherwise.
    #[arg(long, conflicts_with = "from")]
    checkin_code: Option<String>,
    /// Conference id (default: the first configured).
    #[arg(long = "type", conflicts_with = "from")]
    conference: Option<String>,
    #[arg(long, default_value = "id1", value_parser = ["id1", "original"])]
    preset: String,
    #[arg(long, default_value = "png", value_parser = ["png", "svg", "pdf", "jpg", "jpeg"])]
    format: String,
    /// Raster resolution (default 300 for id1, 113 — 400 × 250 px — for original).
    #[arg(long, value_parser = clap::value_parser!(u32).range(MIN_DPI as i64..=MAX_DPI as i64))]
    dpi: Option<u32>,
    /// Output file (with `--from` and `--sheet`, the PDF of the whole list).
    #[arg(
        short = 'o',
        long = "output",
        required_unless_present = "from",
        conflicts_with = "out_dir"
    )]
    output: Option<PathBuf>,
    /// CSV with the header user_id,type,user_name,phone_number,company_name
    /// and, optionally, contact_on_badge (true/false, yes/no, 1/0).
    #[arg(long)]
    from: Option<PathBuf>,
    /// Where `--from` writes one file per badge.
    #[arg(long, requires = "from", conflicts_with = "sheet")]
    out_dir: Option<PathBuf>,
    #[command(flatten)]
    sheet: SheetArgs,
    /// Render threads (default: one per core).
    #[arg(long, requires = "from")]
    jobs: Option<usize>,
}

/// Whether the command line asks for the AWS backend, which a build without
/// the `aws` feature does not know the flags of.
#[cfg(not(feature = "aws"))]
fn asks_for_aws(args: &[String]) -> Option<&'static str> {
    let backend_aws = args
        .windows(2)
        .any(|w| w[0] == "--backend" && w[1] == "aws")
        || args.iter().any(|a| a == "--backend=aws")
        || std::env::var("LANYARD_BACKEND").is_ok_and(|b| b == "aws");
    if args.get(1).is_some_and(|a| a == "aws-setup") {
        Some("aws-setup")
    } else if backend_aws {
        Some("serve --backend aws")
    } else {
        None
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            #[cfg(not(feature = "aws"))]
            if e.use_stderr() {
                let args: Vec<String> = std::env::args().collect();
                if let Some(what) = asks_for_aws(&args) {
                    eprintln!("lanyard: {:#}", without_aws(what));
                    return ExitCode::FAILURE;
                }
            }
            e.exit()
        }
    };
    // Whatever lanyard writes (its data directory, exports, backups,
    // badges) holds personal data: for its owner only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Render(args) => render(args),
        Command::Print(args) => print(args),
        Command::Import(args) => import(args),
        Command::Export(args) => export(args),
        Command::Backup(args) => backup(args),
        Command::Health(args) => health(args),
        Command::AwsSetup(args) => aws_setup(args),
        Command::Desk(command) => desk(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lanyard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(lanyard::DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Logs go to stderr; stdout carries only what the command prints for the user.
        .with_writer(std::io::stderr)
        .init();
}

/// What a build without the `aws` feature says when asked for the AWS backend.
#[cfg(not(feature = "aws"))]
fn without_aws(what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} needs the AWS backend, which this lanyard was built without; \
         install it with `cargo install --path crates/lanyard --features aws`, \
         or run `cargo run --release --features aws -- {what}`"
    )
}

#[cfg(feature = "aws")]
fn aws_settings(
    backend: Backend,
    args: AwsArgs,
) -> anyhow::Result<Option<lanyard::app::AwsSettings>> {
    if backend == Backend::Embedded {
        return Ok(None);
    }
    Ok(Some(lanyard::app::AwsSettings::new(
        args.resources.resolve()?,
        args.badge_queue_url.filter(|v| !v.is_empty()),
    )))
}

/// Raises the soft limit on open files to the hard one: every connection
/// is a file, and distributions start processes at 1 024, which a venue's
/// phones and a few hostile clients reach long before the server's own caps.
fn raise_open_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return;
    }
    let before = limit.current;
    limit.current = limit.maximum;
    match setrlimit(Resource::Nofile, limit) {
        Ok(()) => tracing::info!(from = ?before, to = ?limit.maximum, "open-file limit raised"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "aws")]
    let aws = aws_settings(args.backend, args.aws)?;
    #[cfg(not(feature = "aws"))]
    if args.backend == Backend::Aws {
        return Err(without_aws("serve --backend aws"));
    }
    init_tracing();
    raise_open_file_limit();
    // Blocking work (SQLite calls, file writes, renders) runs on a bounded pool:
    // past a few dozen threads more only costs memory.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(32)
        .build()?;
    runtime.block_on(async move {
        let settings = ServeSettings {
            addr: args.addr,
            data_dir: args.data_dir.path,
            config: args.config.path,
            admin_token: args.admin_token,
            workers: args.workers,
            job_policy: Default::default(),
            import_rate: args.import_rate,
            limits: Limits {
                request_timeout: Duration::from_secs(args.request_timeout.max(1)),
                max_concurrent_requests: args.max_concurrent_requests.max(1),
                max_concurrent_per_address: args.max_concurrent_per_address.max(1),
                min_body_bytes_per_second: args.min_body_rate,
                body_grace: Duration::from_secs(args.body_grace),
                registrations_per_second: args.rate_limit,
            },
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(args.header_read_timeout.max(1)),
                idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
                max_connections_per_address: args.max_connections_per_address.max(1),
                shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
            },
            mail: args.smtp_url.map(|smtp_url| MailOptions {
                smtp_url,
                from: args.mail_from.unwrap_or_default(),
                public_url: args.public_url.unwrap_or_default(),
            }),
            notice_policy: Default::default(),
            tls: match (args.tls, args.tls_cert, args.tls_key) {
                (Some(TlsMode::Lan), _, _) => Some(TlsOptions::Lan {
                    extra_names: args.tls_names,
                }),
                (None, Some(cert), Some(key)) => Some(TlsOptions::Files { cert, key }),
                _ => None,
            },
            #[cfg(feature = "aws")]
            aws,
        };
        let app = Application::build(settings).await?;
        println!(
            "lanyard listening on {}://{}",
            app.scheme(),
            app.local_addr()
        );
        if let Some(ca) = app.lan_ca() {
            for origin in lanyard::tls::lan_origins(&ca.names, app.port()) {
                println!("phones: {origin}/tls to trust this server once, then /desk");
            }
            println!("LAN CA fingerprint (SHA-256): {}", ca.fingerprint);
        }
        if let Some(path) = app.admin_token_file() {
            println!(
                "organizer token: in {} (readable by you only)",
                path.display()
            );
        }
        app.run_until(shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "aws"))]
fn aws_setup(_: AwsSetupArgs) -> anyhow::Result<ExitCode> {
    Err(without_aws("aws-setup"))
}

#[cfg(feature = "aws")]
fn aws_setup(args: AwsSetupArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(table) = args.table.filter(|t| !t.trim().is_empty()) {
        let added = runtime.block_on(async {
            let clients = lanyard_aws::AwsClients::from_env().await?;
            let added = lanyard_aws::setup::adopt_table(&clients, &table).await?;
            lanyard_aws::setup::check_table(&clients, &table).await?;
            anyhow::Ok(added)
        })?;
        if added.is_empty() {
            println!("table {table} already has every index lanyard needs");
        } else {
            println!(
                "table {table}: added and built index {}; its items keep every attribute they had",
                added.join(", ")
            );
        }
        println!("serve with: lanyard serve --backend aws --table {table} --bucket BUCKET");
        return Ok(ExitCode::SUCCESS);
    }
    let made = runtime.block_on(async {
        let clients = lanyard_aws::AwsClients::from_env().await?;
        lanyard_aws::setup::create_resources(&clients, &args.prefix).await
    })?;
    println!("created; serve with:");
    println!(
        "lanyard serve --backend aws --table {} --bucket {} --topic-arn {} --badge-queue-url {}",
        made.names.table, made.names.bucket, made.names.topic_arn, made.queue_url
    );
    Ok(ExitCode::SUCCESS)
}

/// Opens the store `args` name.
async fn open_store(
    args: StoreArgs,
) -> anyhow::Result<std::sync::Arc<dyn lanyard_domain::RegistrationStore>> {
    Ok(open_backend(args).await?.0)
}

/// The store `args` name, and how badge jobs are announced on it: on a
/// data directory the running server's workers find them; on AWS they are
/// published to `--topic-arn` when it is given.
async fn open_backend(
    args: StoreArgs,
) -> anyhow::Result<(
    std::sync::Arc<dyn lanyard_domain::RegistrationStore>,
    Option<std::sync::Arc<dyn lanyard_domain::BadgeJobs>>,
)> {
    if args.backend == Backend::Aws {
        #[cfg(feature = "aws")]
        {
            let table = args
                .table
                .filter(|t| !t.trim().is_empty())
                .context("the AWS backend needs --table (LANYARD_TABLE)")?;
            let clients = lanyard_aws::AwsClients::from_env().await?;
            let jobs = args
                .topic_arn
                .filter(|t| !t.trim().is_empty())
                .map(|topic| {
                    std::sync::Arc::new(lanyard_aws::SnsBadgeJobs::new(clients.sns.clone(), topic))
                        as std::sync::Arc<dyn lanyard_domain::BadgeJobs>
                });
            return Ok((
                std::sync::Arc::new(lanyard_aws::DynamoStore::new(clients.dynamodb, table)),
                jobs,
            ));
        }
        #[cfg(not(feature = "aws"))]
        return Err(without_aws("--backend aws"));
    }
    let dir = &args.data_dir.path;
    lanyard_embedded::refuse_lost_database(dir)?;
    let store = lanyard_embedded::SqliteStore::open_beside_server(dir.join("lanyard.sqlite"))?;
    Ok((std::sync::Arc::new(store), None))
}

fn desk(command: DeskCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command {
            DeskCommand::Create { name, store } => {
                let store = open_store(store).await?;
                let (desk, token) = lanyard_domain::checkin::create_desk(store.as_ref(), &name)
                    .await
                    .map_err(desk_error)?;
                eprintln!(
                    "desk {:?} created; its token (shown this once) is on the next line:",
                    desk.name.as_str()
                );
                println!("{token}");
            }
            DeskCommand::List { store } => {
                let store = open_store(store).await?;
                let desks = store.desks().await?;
                if desks.is_empty() {
                    eprintln!("no desks yet; create one with `lanyard desk create NAME`");
                }
                for desk in desks {
                    println!("{}\t{}", desk.name.as_str(), desk.created_at);
                }
            }
            DeskCommand::Revoke { name, store } => {
                let store = open_store(store).await?;
                lanyard_domain::checkin::revoke_desk(store.as_ref(), &name)
                    .await
                    .map_err(desk_error)?;
                eprintln!("desk {name:?} revoked");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn desk_error(e: lanyard_domain::LanyardError) -> anyhow::Error {
    match e {
        lanyard_domain::LanyardError::NotFound => anyhow::anyhow!("there is no desk of that name"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn health(args: HealthArgs) -> anyhow::Result<ExitCode> {
    match lanyard::health::check(&args.addr, Duration::from_secs(args.timeout.max(1))) {
        Ok(()) => {
            println!("healthy");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            eprintln!("unhealthy: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let db = args.data_dir.path.join("lanyard.sqlite");
    if !db.exists() {
        anyhow::bail!("{} has no lanyard database", args.data_dir.path.display());
    }
    lanyard_embedded::backup_database(&db, &args.file)?;
    println!("backed up {} to {}", db.display(), args.file.display());
    Ok(ExitCode::SUCCESS)
}

fn render(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let conferences = load_conferences(args.config.path.as_deref())?;
    let preset: Preset = args.preset.parse().map_err(anyhow::Error::msg)?;
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let options = RenderOptions {
        conferences: &conferences,
        preset,
        format,
        dpi: args.dpi,
    };

    if let (Some(csv), Some(sheet)) = (&args.from, &args.sheet.sheet) {
        let output = args
            .output
            .as_deref()
            .context("--from with --sheet writes one PDF: give it with -o FILE.pdf")?;
        let sheet = find_sheet(&conferences, sheet)?;
        let report = render_csv_sheet(&conferences, csv, sheet, args.sheet.options(), output)?;
        for failure in &report.failed {
            eprintln!("skipped {failure}");
        }
        println!(
            "{} badges on {} in {:.3} s into {}",
            report.rendered,
            sheet.name,
            report.seconds,
            output.display()
        );
        return Ok(if report.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if args.from.is_some() && args.out_dir.is_none() {
        anyhow::bail!(
            "--from needs --out-dir DIR (one file per badge) or --sheet NAME -o FILE.pdf"
        );
    }
    if let (Some(csv), Some(out_dir)) = (&args.from, &args.out_dir) {
        let jobs = args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
        });
        let report = render_csv(&options, csv, out_dir, jobs)?;
        for failure in &report.failed {
            eprintln!("skipped {failure}");
        }
        println!(
            "{} badges in {:.3} s ({:.1} badges/s) into {}",
            report.rendered,
            report.seconds,
            report.rendered as f64 / report.seconds.max(1e-9),
            out_dir.display()
        );
        return Ok(if report.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }

    let conference = match args.conference {
        Some(c) => c,
        None => conferences
            .iter()
            .next()
            .context("no conference configured")?
            .id
            .to_string(),
    };
    let person = Person::parse(
        args.user_name.as_deref().unwrap_or_default(),
        args.phone.as_deref().unwrap_or_default(),
        args.company.as_deref(),
    )?;
    options.conferences.check_printable(&person)?;
    let checkin_code = match args.checkin_code.as_deref() {
        Some(code) => Some(lanyard_domain::CheckinCode::parse(code).with_context(|| {
            format!("--checkin-code {code:?} is not a check-in code (XXXX-XXXX-XXXX-XXXX)")
        })?),
        None => None,
    };
    let attendee = Attendee {
        user_id: None,
        conference,
        person,
        contact_on_badge: args.contact_on_badge,
        checkin_code,
        category: None,
        details: None,
    };
    let bytes = render_one(&options, &attendee)?;
    let output = args.output.context("-o FILE is required")?;
    write_file(&output, &bytes)?;
    Ok(ExitCode::SUCCESS)
}

fn find_sheet<'a>(
    conferences: &'a lanyard_domain::Conferences,
    name: &str,
) -> anyhow::Result<&'a lanyard_badge::Sheet> {
    conferences.sheet(name).with_context(|| {
        let names: Vec<&str> = conferences
            .sheets()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        format!(
            "there is no sheet {name:?}; the sheets are {}",
            names.join(", ")
        )
    })
}

fn print(args: PrintArgs) -> anyhow::Result<ExitCode> {
    let conferences = conferences_for(args.config.path.as_deref(), &args.store.data_dir.path)?;
    if args.list_sheets {
        println!("name\tpage (mm)\tgrid\tcell (mm)\tdescription");
        for s in conferences.sheets() {
            println!(
                "{}\t{:.1} × {:.1}\t{} × {}\t{:.1} × {:.1}\t{}",
                s.name,
                s.page_width,
                s.page_height,
                s.columns,
                s.rows,
                s.cell_width,
                s.cell_height,
                s.description
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let output = args.output.context("-o FILE.pdf is required")?;
    find_sheet(&conferences, args.sheet.sheet.as_deref().unwrap_or("card"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (count, sheet) = runtime.block_on(async {
        let (store, jobs) = open_backend(args.store).await?;
        let lanyard = lanyard::offline::lanyard(store, jobs, conferences);
        let print = lanyard
            .prepare_print(PrintRequest {
                list: lanyard_domain::ListRequest {
                    conference: args.conference,
                    search: args.search,
                    limit: None,
                    cursor: None,
                    category: None,
                },
                checked_in: args.checked_in,
                sheet: args.sheet.sheet.clone(),
                options: args.sheet.options(),
            })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sheet = print.sheet.name.clone();
        let mut tmp = output.as_os_str().to_owned();
        tmp.push(".partial");
        let tmp = PathBuf::from(tmp);
        let file = std::io::BufWriter::with_capacity(256 * 1024, std::fs::File::create(&tmp)?);
        let written = lanyard.print_badges(print, file).await;
        let finished = written
            .map_err(|e| anyhow::anyhow!("{e}"))
            .and_then(|(file, count)| {
                file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                std::fs::rename(&tmp, &output)?;
                Ok(count)
            });
        if finished.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        let count = finished.with_context(|| format!("writing {}", output.display()))?;
        anyhow::Ok((count, sheet))
    })?;
    println!("{count} badges on {sheet} into {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// The largest file `lanyard import` reads.
const MAX_IMPORT_FILE: u64 = 64 * 1024 * 1024;

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let conferences = conferences_for(args.config.path.as_deref(), &args.store.data_dir.path)?;
    let options = lanyard_domain::ImportOptions {
        dry_run: args.dry_run,
        encoding: args
            .encoding
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        map: args
            .map
            .as_deref()
            .map(lanyard_domain::ImportOptions::parse_map)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--map: {e}"))?
            .unwrap_or_default(),
        conference: args.conference,
        from_line: 0,
        // Here, without a request's time limit: every row, at the pace.
        budget: None,
    };
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?
        .len();
    if size > MAX_IMPORT_FILE {
        anyhow::bail!(
            "{} is {size} bytes; an import takes at most {MAX_IMPORT_FILE}: split it",
            args.file.display()
        );
    }
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rate = match (args.import_rate, &args.store.backend) {
        (Some(rate), _) => Some(rate),
        #[cfg(feature = "aws")]
        (None, Backend::Aws) => Some(lanyard_aws::IMPORT_RATE),
        (None, _) => None,
    };
    let report = runtime.block_on(async {
        let (store, jobs) = open_backend(args.store).await?;
        let lanyard = lanyard::offline::lanyard(store, jobs, conferences).with_import_rate(rate);
        let report = lanyard
            .import_csv(&bytes, &options)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
        anyhow::Ok(report)
    })?;
    for row in &report.rows {
        match &row.outcome {
            lanyard_domain::RowOutcome::Invalid { reason, .. } => {
                eprintln!("line {}: invalid: {reason}", row.line)
            }
            lanyard_domain::RowOutcome::Conflict { reason, .. } => {
                eprintln!("line {}: conflict: {reason}", row.line)
            }
            lanyard_domain::RowOutcome::AlreadyRegistered => eprintln!(
                "line {}: already registered: {} for {}",
                row.line,
                row.user_id.as_deref().unwrap_or_default(),
                row.conference.as_deref().unwrap_or_default()
            ),
            lanyard_domain::RowOutcome::Created => {}
        }
    }
    println!(
        "{}{} created, {} already registered, {} invalid, {} in conflict",
        if report.dry_run {
            "dry run (nothing stored): "
        } else {
            ""
        },
        report.created,
        report.already_registered,
        report.invalid,
        report.conflicts
    );
    Ok(if report.invalid == 0 && report.conflicts == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let conferences = conferences_for(args.config.path.as_deref(), &args.store.data_dir.path)?;
    let format: lanyard_domain::ExportFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let list = lanyard_domain::ListRequest {
        conference: args.conference,
        search: args.search,
        limit: None,
        cursor: None,
        category: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = runtime.block_on(async {
        let (store, jobs) = open_backend(args.store).await?;
        let lanyard = lanyard::offline::lanyard(store, jobs, conferences);
        lanyard
            .list_query(list.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let write = |out: Box<dyn std::io::Write + Send>| {
            let lanyard = lanyard.clone();
            let list = list.clone();
            async move {
                match format {
                    lanyard_domain::ExportFormat::Csv => lanyard.export_csv(list, out).await,
                    lanyard_domain::ExportFormat::Xlsx => lanyard.export_xlsx(list, out).await,
                }
                .map_err(|e| anyhow::anyhow!("{e}"))
            }
        };
        match &args.output {
            None => {
                let (mut out, rows) = write(Box::new(std::io::stdout())).await?;
                out.flush()?;
                anyhow::Ok(rows)
            }
            Some(path) => {
                let mut tmp = path.as_os_str().to_owned();
                tmp.push(".partial");
                let tmp = PathBuf::from(tmp);
                let file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                let written = write(Box::new(file)).await.and_then(|(mut out, rows)| {
                    out.flush()?;
                    drop(out);
                    std::fs::rename(&tmp, path)?;
                    Ok(rows)
                });
                if written.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                written.with_context(|| format!("writing {}", path.display()))
            }
        }
    })?;
    eprintln!("{rows} registrations exported");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks of every subcommand and flag.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
