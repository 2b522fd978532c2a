use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use lanyard::app::AwsSettings;
use lanyard::app::{load_conferences, shutdown_signal};
use lanyard::render::{render_csv, render_one, write_file, Attendee, RenderOptions};
use lanyard::{Application, ServeSettings};
use lanyard_aws::AwsResources;
use lanyard_badge::{Fonts, Format, Preset};
use lanyard_domain::{CompanyName, PhoneNumber, UserName};

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
    /// Copy the database of a data directory, consistently, even while a server runs.
    Backup(BackupArgs),
    /// Create the table, bucket, topic and queue for `serve --backend aws` on
    /// an AWS emulator or a sandbox account (production uses deploy/template.yaml).
    AwsSetup(AwsSetupArgs),
}

#[derive(Args)]
struct AwsSetupArgs {
    /// Prefix of the resource names.
    #[arg(long, default_value = "lanyard")]
    prefix: String,
}

#[derive(Args)]
struct BackupArgs {
    #[arg(long, env = "LANYARD_DATA_DIR", default_value = "./lanyard-data")]
    data_dir: PathBuf,
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
    #[arg(long, env = "LANYARD_DATA_DIR", default_value = "./lanyard-data")]
    data_dir: PathBuf,
    /// Conferences (TOML); the original two when absent.
    #[arg(long, env = "LANYARD_CONFIG")]
    config: Option<PathBuf>,
    /// Organizer token; generated and kept in the data directory when absent.
    #[arg(long, env = "LANYARD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    #[arg(long, env = "LANYARD_BACKEND", value_enum, default_value = "embedded")]
    backend: Backend,
    /// Badge workers (default: one per core).
    #[arg(long, env = "LANYARD_WORKERS")]
    workers: Option<usize>,
    /// Sign-ups per second per client address; 0 turns the limit off.
    #[arg(long, env = "LANYARD_RATE_LIMIT", default_value_t = 20)]
    rate_limit: u32,
    /// Requests handled at once; more get 503 with Retry-After.
    #[arg(long, env = "LANYARD_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    max_concurrent_requests: usize,
    /// Seconds a request may take, its body included.
    #[arg(long, env = "LANYARD_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    #[arg(long, env = "LANYARD_TABLE")]
    table: Option<String>,
    #[arg(long, env = "LANYARD_BUCKET")]
    bucket: Option<String>,
    #[arg(long, env = "LANYARD_TOPIC_ARN")]
    topic_arn: Option<String>,
    #[arg(long, env = "LANYARD_BADGE_QUEUE_URL")]
    badge_queue_url: Option<String>,
}

#[derive(Args)]
struct RenderArgs {
    /// Conferences (TOML); the original two when absent.
    #[arg(long, env = "LANYARD_CONFIG")]
    config: Option<PathBuf>,
    #[arg(long, required_unless_present = "from", conflicts_with = "from")]
    user_name: Option<String>,
    #[arg(long, required_unless_present = "from", conflicts_with = "from")]
    phone: Option<String>,
    #[arg(long, conflicts_with = "from")]
    company: Option<String>,
    /// Conference id (default: the first configured).
    #[arg(long = "type", conflicts_with = "from")]
    conference: Option<String>,
    #[arg(long, default_value = "id1", value_parser = ["id1", "original"])]
    preset: String,
    #[arg(long, default_value = "png", value_parser = ["png", "svg", "pdf", "jpg", "jpeg"])]
    format: String,
    /// Raster resolution (default 300 for id1, 113 — 400 × 250 px — for original).
    #[arg(long)]
    dpi: Option<u32>,
    /// Output file.
    #[arg(
        short = 'o',
        long = "output",
        required_unless_present = "from",
        conflicts_with = "from"
    )]
    output: Option<PathBuf>,
    /// CSV with the header user_id,type,user_name,phone_number,company_name.
    #[arg(long, requires = "out_dir")]
    from: Option<PathBuf>,
    #[arg(long, requires = "from")]
    out_dir: Option<PathBuf>,
    /// Render threads (default: one per core).
    #[arg(long, requires = "from")]
    jobs: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Render(args) => render(args),
        Command::Backup(args) => backup(args),
        Command::AwsSetup(args) => aws_setup(args),
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

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    let aws = match args.backend {
        Backend::Embedded => None,
        Backend::Aws => {
            let need = |value: Option<String>, flag: &str| {
                value
                    .filter(|v| !v.is_empty())
                    .with_context(|| format!("--backend aws needs {flag}"))
            };
            Some(AwsSettings::new(
                AwsResources {
                    table: need(args.table, "--table (LANYARD_TABLE)")?,
                    bucket: need(args.bucket, "--bucket (LANYARD_BUCKET)")?,
                    topic_arn: need(args.topic_arn, "--topic-arn (LANYARD_TOPIC_ARN)")?,
                },
                args.badge_queue_url.filter(|v| !v.is_empty()),
            ))
        }
    };
    // Blocking work (SQLite calls, file writes, renders) runs on a bounded pool:
    // past a few dozen threads more only costs memory.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(32)
        .build()?;
    runtime.block_on(async move {
        let settings = ServeSettings {
            addr: args.addr,
            data_dir: args.data_dir,
            config: args.config,
            admin_token: args.admin_token,
            workers: args.workers,
            retry: Default::default(),
            limits: lanyard_http::Limits {
                request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
                max_concurrent_requests: args.max_concurrent_requests.max(1),
                registrations_per_second: args.rate_limit,
            },
            aws,
        };
        let app = Application::build(settings).await?;
        println!("lanyard listening on http://{}", app.local_addr());
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

fn aws_setup(args: AwsSetupArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let made = runtime.block_on(async {
        let clients = lanyard_aws::AwsClients::from_env().await?;
        lanyard_aws::setup::create_resources(&clients, &args.prefix).await
    })?;
    println!("created; serve with:");
    println!(
        "lanyard serve --backend aws --table {} --bucket {} --topic-arn {} --badge-queue-url {}",
        made.table, made.bucket, made.topic_arn, made.queue_url
    );
    Ok(ExitCode::SUCCESS)
}

fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let db = args.data_dir.join("lanyard.sqlite");
    if !db.exists() {
        anyhow::bail!("{} has no lanyard database", args.data_dir.display());
    }
    lanyard_embedded::backup_database(&db, &args.file)?;
    println!("backed up {} to {}", db.display(), args.file.display());
    Ok(ExitCode::SUCCESS)
}

fn render(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let fonts = Fonts::bundled();
    let conferences = load_conferences(args.config.as_deref(), &fonts)?;
    let preset: Preset = args.preset.parse().map_err(anyhow::Error::msg)?;
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let options = RenderOptions {
        conferences: &conferences,
        preset,
        format,
        dpi: args.dpi,
    };

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
    let attendee = Attendee {
        user_id: None,
        conference,
        name: UserName::parse(args.user_name.as_deref().unwrap_or_default())?,
        phone: PhoneNumber::parse(args.phone.as_deref().unwrap_or_default())?,
        company: CompanyName::parse(args.company.as_deref().unwrap_or_default())?,
    };
    let bytes = render_one(&options, &attendee)?;
    let output = args.output.context("-o FILE is required")?;
    write_file(&output, &bytes)?;
    Ok(ExitCode::SUCCESS)
}
