//! The `orderport` command. See docs/cli.md for every command, its output and its exit codes.

mod check;
mod demo;
mod exit;
mod import;
mod new_connector;
mod progress;
mod push_shipment;
mod reconcile;
mod shutdown;
mod simulate;
mod sinks;
mod stored;
mod stores;
mod sync;
mod walk;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Failure;

/// Import orders from selling channels, and send shipments back.
#[derive(Debug, Parser)]
#[command(name = "orderport", version, about)]
struct Cli {
    /// Machine-readable output: JSON instead of text and progress bars.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write every order modified in a window as one JSON line each to stdout.
    Import(import::ImportArgs),
    /// Send one shipment update to a store's channel.
    PushShipment(push_shipment::PushShipmentArgs),
    /// Test a store's connection and credentials.
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
    /// Write a new connector crate (the guide's example, renamed) that builds and conforms.
    NewConnector(new_connector::NewConnectorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
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
    let json = cli.json;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Import(args) => import::run(args, json).await,
            Command::PushShipment(args) => push_shipment::run(args, json).await,
            Command::Check(args) => check::run(args, json).await,
            Command::Demo(args) => demo::run(args, json).await,
            Command::Simulate(args) => simulate::run(args, json).await,
            Command::Sync(args) => sync::run(args, json).await,
            Command::Orders(args) => stored::run(stored::Listing::Orders, args).await,
            Command::Events(args) => stored::run(stored::Listing::Events, args).await,
            Command::Quarantine(args) => stored::run(stored::Listing::Quarantine, args).await,
            Command::Reconcile(args) => reconcile::run(args).await,
            Command::NewConnector(args) => new_connector::run(args, json).await,
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

/// Logs go to stderr, at `info` unless `RUST_LOG` says otherwise.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
