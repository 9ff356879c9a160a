//! `orderport reconcile`: per calendar day in a chosen zone, the orders that reached each
//! status beside the Klaviyo events delivered for them, with the days where they differ.
//!
//! Merchants compare daily counts of shipped orders with Klaviyo's "Order Shipped" counts; done
//! by hand it goes wrong when the shop, the database and Klaviyo use different time zones. Both
//! sides here come from the same outbox events, bucketed by the event's `at` in one zone.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use chrono::{Duration, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use futures::TryStreamExt;
use orderport::{CanonicalStatus, StoreZone};
use orderport_sync::StateRead;

use crate::exit::Failure;

/// Rows read from the database at a time.
const PAGE: usize = 500;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReconcileFormat {
    /// An aligned table.
    Text,
    /// CSV with a header row.
    Csv,
}

/// Arguments of `orderport reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The stores file (its klaviyo `[[sink]]` tables name the sinks compared).
    #[arg(long, env = "ORDERPORT_CONFIG")]
    config: PathBuf,
    /// The state database: a SQLite file or a PostgreSQL URL.
    #[arg(long, env = "ORDERPORT_DB", hide_env_values = true)]
    db: String,
    /// The store.
    #[arg(long)]
    store: String,
    /// The zone whose calendar days are counted, such as America/Chicago or UTC.
    #[arg(long)]
    tz: String,
    /// How many days, today (in --tz) included.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReconcileFormat::Text)]
    format: ReconcileFormat,
}

/// One (day, status) row.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// Orders that reached the status that day.
    pub reached: usize,
    /// Of those, orders whose event Klaviyo accepted.
    pub klaviyo: usize,
    /// For `shipped`: orders that reached it without a label (only marked as shipped, or
    /// shipped by a third party). The seed counts only labels as shipped, and Klaviyo gets no
    /// "Order Shipped" for them, so they are not in `reached`; shown beside it.
    pub unlabelled: usize,
}

/// Runs the comparison and prints it.
pub async fn run(args: ReconcileArgs) -> Result<(), Failure> {
    let zone = StoreZone::parse(&args.tz).map_err(|e| Failure::usage(anyhow!("--tz: {e}")))?;
    if args.days == 0 {
        return Err(Failure::usage(anyhow!("--days must be at least 1")));
    }
    let file = crate::stores::load(&args.config)?;
    crate::stores::check_selected(&file, &args.config, std::slice::from_ref(&args.store))?;
    let sinks: HashSet<String> = file
        .sinks
        .iter()
        .filter(|t| t.get("kind").and_then(|k| k.as_str()) == Some("klaviyo"))
        .map(|t| {
            t.get("id")
                .or_else(|| t.get("name"))
                .and_then(|v| v.as_str())
                .unwrap_or("klaviyo")
                .to_owned()
        })
        .collect();
    if sinks.is_empty() {
        return Err(Failure::usage(anyhow!(
            "{} has no [[sink]] with kind = \"klaviyo\"; nothing to compare with",
            args.config.display()
        )));
    }
    let state = crate::stored::open_read_only(&args.db).await?;
    let today = zone.to_wall(Utc::now()).date();
    let first = today - Duration::days(i64::from(args.days) - 1);
    let table = tally(&state, &args.store, zone, first, today, &sinks)
        .await
        .map_err(Failure::usage)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        ReconcileFormat::Csv => write_csv(&mut out, &table)?,
        ReconcileFormat::Text => write_text(&mut out, &table, &args.store, &args.tz)?,
    }
    Ok(())
}

/// The table: for every day of `[first, last]` and every status, the counts.
pub type Table = BTreeMap<NaiveDate, BTreeMap<CanonicalStatus, Row>>;

pub(crate) async fn tally(
    state: &dyn StateRead,
    store: &str,
    zone: StoreZone,
    first: NaiveDate,
    last: NaiveDate,
    sinks: &HashSet<String>,
) -> anyhow::Result<Table> {
    let mut delivered: HashSet<i64> = HashSet::new();
    let mut after = 0;
    loop {
        let page = state.deliveries_page(Some(store), after, PAGE).await?;
        let Some(last_row) = page.last() else { break };
        after = last_row.event_id;
        delivered.extend(
            page.iter()
                .filter(|d| d.state == "delivered" && sinks.contains(&d.sink))
                .map(|d| d.event_id),
        );
    }
    let mut table = Table::new();
    let mut day = first;
    while day <= last {
        table.insert(
            day,
            CanonicalStatus::ALL
                .iter()
                .map(|s| (*s, Row::default()))
                .collect(),
        );
        day += Duration::days(1);
    }
    let mut reached: HashSet<(NaiveDate, CanonicalStatus, String)> = HashSet::new();
    let mut sent: HashSet<(NaiveDate, CanonicalStatus, String)> = HashSet::new();
    let mut unlabelled: HashSet<(NaiveDate, CanonicalStatus, String)> = HashSet::new();
    let mut events = std::pin::pin!(state.events_stream(Some(store.to_owned()), PAGE));
    while let Some(listing) = events.try_next().await? {
        let e = &listing.event;
        let day = zone.to_wall(e.at).date();
        let status = e.to;
        let Some(row) = table.get_mut(&day).and_then(|d| d.get_mut(&status)) else {
            continue;
        };
        let key = (day, status, e.key.external_id.clone());
        if status == CanonicalStatus::Shipped && !e.label {
            if unlabelled.insert(key) {
                row.unlabelled += 1;
            }
            continue;
        }
        if reached.insert(key.clone()) {
            row.reached += 1;
        }
        if delivered.contains(&e.id) && sent.insert(key) {
            row.klaviyo += 1;
        }
    }
    Ok(table)
}

fn differs(day: &BTreeMap<CanonicalStatus, Row>) -> bool {
    day.values().any(|r| r.reached != r.klaviyo)
}

fn write_csv(out: &mut impl Write, table: &Table) -> Result<(), Failure> {
    writeln!(out, "day,status,reached,klaviyo,differs,unlabelled")?;
    for (day, statuses) in table {
        let flag = differs(statuses);
        for (status, row) in statuses {
            writeln!(
                out,
                "{day},{},{},{},{flag},{}",
                status.as_str(),
                row.reached,
                row.klaviyo,
                row.unlabelled
            )?;
        }
    }
    Ok(())
}

pub(crate) fn write_text(
    out: &mut impl Write,
    table: &Table,
    store: &str,
    tz: &str,
) -> Result<(), Failure> {
    writeln!(
        out,
        "store {store}, days in {tz}: orders that reached each status vs events Klaviyo accepted"
    )?;
    writeln!(
        out,
        "{:<10}  {:<17}  {:>7}  {:>7}  differs",
        "day", "status", "reached", "klaviyo"
    )?;
    let mut flagged = 0;
    for (day, statuses) in table {
        let flag = differs(statuses);
        flagged += usize::from(flag);
        for (status, row) in statuses {
            let mark = if row.reached != row.klaviyo {
                "DIFFERS"
            } else if flag {
                "(day differs)"
            } else {
                ""
            };
            let unlabelled = if row.unlabelled > 0 {
                format!(
                    "  (+{} shipped without a label, not counted)",
                    row.unlabelled
                )
            } else {
                String::new()
            };
            writeln!(
                out,
                "{day}  {:<17}  {:>7}  {:>7}  {mark}{unlabelled}",
                status.as_str(),
                row.reached,
                row.klaviyo
            )?;
        }
    }
    writeln!(out, "{flagged} of {} day(s) differ", table.len())?;
    let unlabelled: usize = table
        .values()
        .filter_map(|day| day.get(&CanonicalStatus::Shipped))
        .map(|row| row.unlabelled)
        .sum();
    if unlabelled > 0 {
        writeln!(
            out,
            "shipped counts labels only: {unlabelled} order(s) shipped without a label (marked as shipped) are left out, as Klaviyo gets no \"Order Shipped\" for them"
        )?;
    }
    Ok(())
}
