//! The `orderport` command. See docs/cli.md for every command, its output and its exit codes.

mod check;
mod demo;
mod exit;
mod fresh_dir;
mod import;
mod new_connector;
mod platform;
mod progress;
mod push_shipment;
mod reconcile;
mod record;
mod shutdown;
mod simulate;
mod sinks;
mod stored;
mod stores;
mod sync;
mod walk;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::exit::Failure;

/// Import orders from selling channels, and send shipments back.
#[derive(Debug, Parser)]
#[command(name = "orderport", version, about)]
struct Cli {
    /// Machine-readable output: JSON instead of text and progress bars.
    #[arg(long, global = true)]
    json: bool,
    /// More log detail on stderr: -v debug, -vv trace (RUST_LOG, when set, wins).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Less log detail on stderr: -q warnings and errors only, -qq errors only.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    quiet: u8,
    /// How logs are written on stderr: text for people, json (one object per line) for a log
    /// collector.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Serve the metrics for Prometheus at this address (`GET /metrics`), such as
    /// 127.0.0.1:9898, for as long as the command runs.
    #[arg(long, global = true, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write every order modified in a window as one JSON line each to stdout.
    Import(import::ImportArgs),
    /// Send one shipment update to a store's channel.
    PushShipment(push_shipment::PushShipmentArgs),
    /// Put a stored order on hold in the platform, until a date or for some days.
    Hold(platform::HoldArgs),
    /// Mark a stored order awaiting payment as paid in the platform.
    MarkPaid(platform::OrderArgs),
    /// Cancel a stored order in the platform.
    Cancel(platform::OrderArgs),
    /// Test the connection and credentials of every store and every event sink.
    Check(check::CheckArgs),
    /// See the whole job: import 90 days from simulated channels and push shipments back.
    Demo(demo::DemoArgs),
    /// Serve the channel simulators on loopback until interrupted.
    Simulate(simulate::SimulateArgs),
    /// Keep every store current in the state database: once, or every interval with --watch.
    Sync(sync::SyncArgs),
    /// List the orders the sync stored.
    Orders(stored::ListArgs),
    /// List the status events in the outbox.
    Events(stored::ListArgs),
    /// List the quarantined (rejected) orders and their reasons.
    Quarantine(stored::ListArgs),
    /// Per day in a zone: orders that reached each status beside the events Klaviyo accepted.
    Reconcile(reconcile::ReconcileArgs),
    /// Record one walk of a store's window as a test-kit fixture, credentials and personal
    /// data replaced.
    Record(record::RecordArgs),
    /// Write a new connector crate (the guide's example, renamed) that builds and conforms.
    NewConnector(new_connector::NewConnectorArgs),
    /// Print a shell completion script to stdout (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, message, fields, spans).
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "orderport",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    init_logging(cli.verbose, cli.quiet, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::CHANNEL_FAILED);
        }
    };
    if let Some(addr) = cli.metrics_addr {
        let _entered = runtime.enter();
        if let Err(e) = metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
        {
            eprintln!(
                "error: cannot serve the metrics at {addr}: {e}; choose another --metrics-addr"
            );
            return ExitCode::from(exit::USAGE);
        }
    }
    let json = cli.json;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Import(args) => import::run(args, json).await,
            Command::PushShipment(args) => push_shipment::run(args, json).await,
            Command::Check(args) => check::run(args, json).await,
            Command::Hold(args) => platform::run(platform::Action::Hold(args), json).await,
            Command::MarkPaid(args) => platform::run(platform::Action::MarkPaid(args), json).await,
            Command::Cancel(args) => platform::run(platform::Action::Cancel(args), json).await,
            Command::Demo(args) => demo::run(args, json).await,
            Command::Simulate(args) => simulate::run(args, json).await,
            Command::Sync(args) => sync::run(args, json).await,
            Command::Orders(args) => stored::run(stored::Listing::Orders, args).await,
            Command::Events(args) => stored::run(stored::Listing::Events, args).await,
            Command::Quarantine(args) => stored::run(stored::Listing::Quarantine, args).await,
            Command::Reconcile(args) => reconcile::run(args).await,
            Command::Record(args) => record::run(args, json).await,
            Command::NewConnector(args) => new_connector::run(args, json).await,
            // Answered before the runtime started.
            Command::Completions { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, error }) => {
            eprintln!("error: {error:#}");
            ExitCode::from(code)
        }
    }
}

/// Logs go to stderr, at `info` unless `-v`/`-q` or `RUST_LOG` say otherwise, as text or JSON
/// lines.
fn init_logging(verbose: u8, quiet: u8, format: LogFormat) {
    let level = match (verbose, quiet) {
        (0, 0) => "info",
        (1, _) => "debug",
        (v, _) if v >= 2 => "trace",
        (_, 1) => "warn",
        _ => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
}
