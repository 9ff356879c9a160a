//! `orderport orders`, `events` and `quarantine`: what the sync engine stored, streamed from the
//! state database as JSON lines or CSV.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use futures::{Stream, TryStreamExt};
use orderport_sync::{EventRow, OrderRow, QuarantineRow, SqliteState, StateError, DEFAULT_DB};

use crate::exit::Failure;
use crate::import::write_line;

/// Rows read from the database at a time.
const PAGE: usize = 500;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// CSV with a header row (the order snapshot and reasons as JSON text).
    Csv,
}

/// Arguments shared by the three listing commands.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The state database.
    #[arg(long, default_value = DEFAULT_DB)]
    db: PathBuf,
    /// Only this store.
    #[arg(long)]
    store: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

/// What to list.
#[derive(Debug, Clone, Copy)]
pub enum Listing {
    /// Stored orders.
    Orders,
    /// Status events from the outbox.
    Events,
    /// Quarantined orders.
    Quarantine,
}

/// Streams the rows to stdout.
pub async fn run(listing: Listing, args: ListArgs) -> Result<(), Failure> {
    if !args.db.exists() {
        return Err(Failure::usage(anyhow::anyhow!(
            "no state database at {}; run `orderport sync` first or pass --db",
            args.db.display()
        )));
    }
    let state = SqliteState::open(&args.db)
        .with_context(|| format!("opening {}", args.db.display()))
        .map_err(Failure::usage)?;
    let stdout = std::io::stdout();
    let out = BufWriter::new(stdout.lock());
    let store = args.store.clone();
    match listing {
        Listing::Orders => {
            let csv = Csv {
                columns: ORDER_COLUMNS,
                row: order_csv,
            };
            emit(state.orders(store, PAGE), out, args.format, csv).await
        }
        Listing::Events => {
            let csv = Csv {
                columns: EVENT_COLUMNS,
                row: event_csv,
            };
            emit(state.events(store, PAGE), out, args.format, csv).await
        }
        Listing::Quarantine => {
            let csv = Csv {
                columns: QUARANTINE_COLUMNS,
                row: quarantine_csv,
            };
            emit(state.quarantine(store, PAGE), out, args.format, csv).await
        }
    }
}

/// How one kind of row is written as CSV.
struct Csv<T> {
    columns: &'static [&'static str],
    row: fn(&T) -> Vec<String>,
}

async fn emit<T: serde::Serialize, W: Write>(
    rows: impl Stream<Item = Result<T, StateError>>,
    out: W,
    format: Format,
    layout: Csv<T>,
) -> Result<(), Failure> {
    let mut rows = Box::pin(rows);
    let mut json_out = out;
    match format {
        Format::Json => {
            while let Some(row) = rows.try_next().await.map_err(state_failure)? {
                write_line(&mut json_out, &row)?;
            }
            json_out.flush()?;
        }
        Format::Csv => {
            let mut csv = csv::Writer::from_writer(json_out);
            csv.write_record(layout.columns).map_err(csv_failure)?;
            while let Some(row) = rows.try_next().await.map_err(state_failure)? {
                csv.write_record((layout.row)(&row)).map_err(csv_failure)?;
            }
            csv.flush()?;
        }
    }
    Ok(())
}

const ORDER_COLUMNS: &[&str] = &[
    "seq",
    "channel",
    "store_id",
    "store_name",
    "external_id",
    "order_number",
    "status",
    "modified_at",
    "first_seen",
    "updated_at",
    "order",
];

fn order_csv(r: &OrderRow) -> Vec<String> {
    vec![
        r.seq.to_string(),
        r.channel.clone(),
        r.store_id.clone(),
        r.store_name.clone(),
        r.external_id.clone(),
        r.order_number.clone(),
        r.status.clone(),
        r.modified_at.clone(),
        r.first_seen.clone(),
        r.updated_at.clone(),
        r.order.to_string(),
    ]
}

const EVENT_COLUMNS: &[&str] = &[
    "id",
    "channel",
    "store_id",
    "store_name",
    "external_id",
    "order_number",
    "from",
    "to",
    "at",
    "label",
    "recorded_at",
    "backfill",
];

fn event_csv(r: &EventRow) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.channel.clone(),
        r.store_id.clone(),
        r.store_name.clone(),
        r.external_id.clone(),
        r.order_number.clone(),
        r.from.clone().unwrap_or_default(),
        r.to.clone(),
        r.at.clone(),
        r.label.to_string(),
        r.recorded_at.clone(),
        r.backfill.to_string(),
    ]
}

const QUARANTINE_COLUMNS: &[&str] = &[
    "id",
    "store_id",
    "external_id",
    "order_number",
    "reasons",
    "window_from",
    "window_to",
    "first_seen",
    "last_seen",
];

fn quarantine_csv(r: &QuarantineRow) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.store_id.clone(),
        r.external_id.clone().unwrap_or_default(),
        r.order_number.clone().unwrap_or_default(),
        r.reasons.to_string(),
        r.window_from.clone(),
        r.window_to.clone(),
        r.first_seen.clone(),
        r.last_seen.clone(),
    ]
}

fn state_failure(e: StateError) -> Failure {
    Failure::usage(anyhow::Error::new(e).context("reading the state database"))
}

fn csv_failure(e: csv::Error) -> Failure {
    Failure::from(std::io::Error::other(e))
}
