//! `orderport orders`, `events` and `quarantine`: what the sync engine stored, streamed from the
//! state database (opened read-only) as JSON lines, CSV or text.

use std::io::{BufWriter, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use futures::{Stream, TryStreamExt};
use orderport_sync::{
    is_postgres_url, shown_db, EventListing, OrderRow, QuarantineRow, StateError, StateRead,
    StateStore, DEFAULT_DB,
};

use crate::exit::Failure;
use crate::import::write_line;

/// Rows read from the database at a time.
const PAGE: usize = 500;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Json,
    /// CSV with a header row (the order snapshot, reasons and delivery verdicts as JSON text).
    Csv,
    /// One line per row, for people.
    Text,
}

/// Arguments shared by the three listing commands.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The state database: a SQLite file or a PostgreSQL URL.
    #[arg(long, env = "ORDERPORT_DB", hide_env_values = true, default_value = DEFAULT_DB)]
    db: String,
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

/// Opens the state database for reading only: nothing is written (no schema change, no
/// journal file created where SQLite cannot), so a database on read-only media can be read.
/// A PostgreSQL database is connected to without creating or migrating anything.
pub async fn open_read_only(db: &str) -> Result<StateStore, Failure> {
    if !is_postgres_url(db) && !std::path::Path::new(db).exists() {
        return Err(Failure::usage(anyhow::anyhow!(
            "no state database at {db}; run `orderport sync` first or pass --db"
        )));
    }
    StateStore::open_read_only(db)
        .await
        .with_context(|| format!("opening {} read-only", shown_db(db)))
        .map_err(Failure::usage)
}

/// Streams the rows to stdout.
pub async fn run(listing: Listing, args: ListArgs) -> Result<(), Failure> {
    let state = open_read_only(&args.db).await?;
    let stdout = std::io::stdout();
    let out = BufWriter::new(stdout.lock());
    let store = args.store.clone();
    match listing {
        Listing::Orders => {
            let csv = Csv {
                columns: ORDER_COLUMNS,
                row: order_csv,
                text: order_text,
            };
            emit(state.orders_stream(store, PAGE), out, args.format, csv).await
        }
        Listing::Events => {
            let csv = Csv {
                columns: EVENT_COLUMNS,
                row: event_csv,
                text: event_text,
            };
            emit(state.events_stream(store, PAGE), out, args.format, csv).await
        }
        Listing::Quarantine => {
            let csv = Csv {
                columns: QUARANTINE_COLUMNS,
                row: quarantine_csv,
                text: quarantine_text,
            };
            emit(state.quarantine_stream(store, PAGE), out, args.format, csv).await
        }
    }
}

/// How one kind of row is written as CSV and as text.
struct Csv<T> {
    columns: &'static [&'static str],
    row: fn(&T) -> Vec<String>,
    text: fn(&T) -> String,
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
        Format::Text => {
            while let Some(row) = rows.try_next().await.map_err(state_failure)? {
                writeln!(json_out, "{}", (layout.text)(&row))?;
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
    "raw_status",
    "at",
    "label",
    "recorded_at",
    "backfill",
    "deliveries",
];

fn event_csv(listing: &EventListing) -> Vec<String> {
    let r = &listing.event;
    vec![
        r.id.to_string(),
        r.key.channel.clone(),
        r.key.store_id.clone(),
        r.store_name.clone(),
        r.key.external_id.clone(),
        r.order_number.clone(),
        r.from.map(|f| f.as_str().to_owned()).unwrap_or_default(),
        r.to.as_str().to_owned(),
        r.raw_status.clone(),
        r.at.to_rfc3339(),
        r.label.to_string(),
        r.recorded_at.to_rfc3339(),
        r.backfill.to_string(),
        serde_json::to_string(&listing.deliveries).unwrap_or_default(),
    ]
}

fn order_text(r: &OrderRow) -> String {
    format!(
        "{} {} order {} ({}): {}, modified {}",
        r.seq, r.store_id, r.order_number, r.external_id, r.status, r.modified_at
    )
}

/// One event and each sink's verdict; an event with no verdict for a sink is pending there.
fn event_text(listing: &EventListing) -> String {
    let r = &listing.event;
    let mut flags = Vec::new();
    if r.label {
        flags.push("label");
    }
    if r.backfill {
        flags.push("backfill");
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", flags.join(", "))
    };
    let verdicts = if listing.deliveries.is_empty() {
        "no verdict yet (pending)".to_owned()
    } else {
        listing
            .deliveries
            .iter()
            .map(|d| match &d.reason {
                Some(reason) => format!("{} {} ({reason})", d.sink, d.state),
                None => format!("{} {}", d.sink, d.state),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "{} {} order {}: {} -> {} at {}{flags}: {verdicts}",
        r.id,
        r.key.store_id,
        r.order_number,
        r.from.map_or("(new)", |f| f.as_str()),
        r.to.as_str(),
        r.at.to_rfc3339()
    )
}

fn quarantine_text(r: &QuarantineRow) -> String {
    let reasons = r
        .reasons
        .as_array()
        .map(|all| {
            all.iter()
                .map(|x| {
                    format!(
                        "{}: {}",
                        x["field"].as_str().unwrap_or("?"),
                        x["message"].as_str().unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_else(|| r.reasons.to_string());
    format!(
        "{} {} order {}: {reasons}",
        r.id,
        r.store_id,
        r.order_number
            .as_deref()
            .or(r.external_id.as_deref())
            .unwrap_or("(unknown)")
    )
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
