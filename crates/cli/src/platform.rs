//! `orderport hold`, `mark-paid` and `cancel`: status changes made in the shipping platform
//! itself, recorded in the state database with their one status event each (the rules are
//! `orderport_sync::platform`'s). The events go to the sinks on the next `orderport sync`.

use std::str::FromStr;

use anyhow::{anyhow, Context};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;
use orderport::OrderRef;
use orderport_sync::{
    shown_db, PlatformAction, PlatformError, PlatformOutcome, StateStore, SyncEngine, DEFAULT_DB,
};

use crate::exit::{Failure, CHANNEL_FAILED};

/// The order an action concerns, and where its state is.
#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The state database (the one `orderport sync` writes): a SQLite file or a PostgreSQL URL.
    #[arg(long, env = "ORDERPORT_DB", hide_env_values = true, default_value = DEFAULT_DB)]
    db: String,
    /// The store's id.
    #[arg(long)]
    store: String,
    /// The order number (the latest stored order with it, unless --order-id is given).
    #[arg(long)]
    order_number: String,
    /// The channel's own id for the order, where the number is not unique.
    #[arg(long)]
    order_id: Option<String>,
}

/// Arguments of `orderport hold`.
#[derive(Debug, Args)]
pub struct HoldArgs {
    #[command(flatten)]
    order: OrderArgs,
    /// Hold until this instant (RFC 3339) or day (YYYY-MM-DD, from midnight UTC).
    #[arg(long, required_unless_present = "days", conflicts_with = "days")]
    until: Option<Until>,
    /// Hold for this many days from now.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: Option<u32>,
}

/// `--until`: an instant, or a day from midnight UTC.
#[derive(Debug, Clone, Copy)]
pub struct Until(DateTime<Utc>);

impl FromStr for Until {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(at) = DateTime::parse_from_rfc3339(s) {
            return Ok(Self(at.with_timezone(&Utc)));
        }
        let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            anyhow!("{s:?} is neither an RFC 3339 time (2026-12-03T09:00:00-06:00) nor a day (2026-12-03)")
        })?;
        Ok(Self(day.and_time(chrono::NaiveTime::MIN).and_utc()))
    }
}

/// Which action a command records.
#[derive(Debug)]
pub enum Action {
    /// `hold`.
    Hold(HoldArgs),
    /// `mark-paid`.
    MarkPaid(OrderArgs),
    /// `cancel`.
    Cancel(OrderArgs),
}

/// Records the action and prints what it did.
pub async fn run(action: Action, json: bool) -> Result<(), Failure> {
    let now = Utc::now();
    let (args, action) = match action {
        Action::Hold(hold) => {
            let until = match (hold.until, hold.days) {
                (Some(Until(until)), _) => until,
                (None, Some(days)) => now + Duration::days(i64::from(days)),
                (None, None) => return Err(Failure::usage(anyhow!("give --until or --days"))),
            };
            if until <= now {
                return Err(Failure::usage(anyhow!(
                    "--until {until} is not in the future; a hold must end later than now"
                )));
            }
            (hold.order, PlatformAction::Hold { until })
        }
        Action::MarkPaid(args) => (args, PlatformAction::MarkPaid),
        Action::Cancel(args) => (args, PlatformAction::Cancel),
    };
    let state = StateStore::open(&args.db)
        .await
        .with_context(|| format!("opening the state database {}", shown_db(&args.db)))
        .map_err(Failure::usage)?;
    let engine = SyncEngine::new(state.shared());
    let order = OrderRef {
        external_id: args.order_id,
        order_number: args.order_number,
    };
    let outcome = engine
        .record_platform_action(&args.store, &order, action)
        .await
        .map_err(|e| match e {
            PlatformError::State(_) => Failure {
                code: CHANNEL_FAILED,
                error: anyhow::Error::new(e),
            },
            other => Failure::usage(other),
        })?;
    print(&args.store, action, &outcome, json);
    Ok(())
}

fn print(store: &str, action: PlatformAction, outcome: &PlatformOutcome, json: bool) {
    if json {
        let report = serde_json::json!({
            "store": store, "action": action, "outcome": outcome,
        });
        println!("{report}");
        return;
    }
    let order = &outcome.order_number;
    match (outcome.event_id, action) {
        (Some(id), PlatformAction::Hold { until }) => println!(
            "order {order} (store {store}): {} → on_hold until {until} (event {id})",
            outcome.from
        ),
        (Some(id), _) => println!(
            "order {order} (store {store}): {} → {} (event {id})",
            outcome.from, outcome.to
        ),
        (None, PlatformAction::Hold { until }) => println!(
            "order {order} (store {store}): already on hold; it now ends {until} (no new event)"
        ),
        (None, _) => println!(
            "order {order} (store {store}): already {} (no new event)",
            outcome.to
        ),
    }
}
