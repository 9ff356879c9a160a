//! The demo's second act, the seed's central story: order statuses synced to Klaviyo. A first
//! sync of the simulated stores into a SQLite state in the demo's directory; a hold put in the
//! shipping platform and a label pushed back; the events delivered to the Klaviyo simulator,
//! counted by its five metrics; and reconcile's per-day table for the last seven days in one
//! store's zone.

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context};
use chrono::{Duration, Utc};
use orderport::{CanonicalStatus, Order, OrderRef, StoreConfig};
use orderport_klaviyo::{
    METRIC_AWAITING_PAYMENT, METRIC_AWAITING_SHIPMENT, METRIC_CANCELLED, METRIC_ON_HOLD,
    METRIC_SHIPPED,
};
use orderport_sim::{ChannelSim, Faults, KlaviyoSim};
use orderport_sync::{
    split_sync_settings, EventSink, PlatformAction, RunReport, Scheduler, SchedulerOptions,
    StateRead, StateStore, SyncEngine, DEFAULT_MAX_CONCURRENT,
};
use serde::Serialize;

use crate::exit::{Failure, CHANNEL_FAILED};
use crate::progress::Progress;
use crate::reconcile::Table;
use crate::shutdown::Shutdown;

/// The five metrics, in the order the seed lists the statuses.
const METRICS: [&str; 5] = [
    METRIC_AWAITING_PAYMENT,
    METRIC_AWAITING_SHIPMENT,
    METRIC_ON_HOLD,
    METRIC_SHIPPED,
    METRIC_CANCELLED,
];

/// Days reconcile shows.
const RECONCILE_DAYS: i64 = 7;

/// How long the demo's hold lasts.
const HOLD_DAYS: i64 = 3;

/// What the second act did.
#[derive(Debug, Serialize)]
pub(super) struct StatusSync {
    /// The state database (removed with the demo's directory unless `--dir` keeps it).
    state_db: PathBuf,
    /// Each store's first sync.
    runs: Vec<RunReport>,
    /// The order put on hold in the platform.
    hold: PlatformStep,
    /// The order shipped with a label.
    label: PlatformStep,
    /// Events delivered to the Klaviyo simulator by the first sync and after the two actions.
    delivered: Deliveries,
    /// Each metric the Klaviyo simulator received: (name, events, of which backfill).
    metrics: Vec<MetricCount>,
    /// Reconcile's store and zone, and its table.
    reconcile_store: String,
    reconcile_zone: String,
    reconcile: Table,
    seconds: f64,
}

/// One action taken on a stored order.
#[derive(Debug, Serialize)]
struct PlatformStep {
    store: String,
    order_number: String,
    /// What happened, in words.
    detail: String,
    /// The status event it wrote, if any.
    event: Option<i64>,
}

/// Delivery verdicts, summed over the sinks.
#[derive(Debug, Default, Serialize)]
struct Deliveries {
    delivered: u64,
    skipped: BTreeMap<String, u64>,
    failed: u64,
}

/// Events of one Klaviyo metric.
#[derive(Debug, Serialize)]
struct MetricCount {
    metric: &'static str,
    events: usize,
    backfill: usize,
}

/// Runs the second act against the demo's simulators (already serving); writes `sync.toml`
/// and `state.db` into `dir`.
pub(super) async fn run(
    sims: &[ChannelSim],
    dir: &Path,
    days: u32,
    json: bool,
    shutdown: &Shutdown,
) -> Result<StatusSync, Failure> {
    let started = Instant::now();
    let klaviyo = KlaviyoSim::start(Faults::none(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .context("starting the Klaviyo simulator")
        .map_err(Failure::usage)?;
    let config_path = dir.join("sync.toml");
    std::fs::write(&config_path, sync_config(sims, days, &klaviyo.url()))
        .with_context(|| format!("writing {}", config_path.display()))
        .map_err(Failure::usage)?;
    let file = crate::stores::load(&config_path)?;
    let sinks = crate::sinks::build(&file)?;
    // Loopback simulators set no rate limits: no pacing between requests.
    let scheduled = crate::sync::schedule(&file, &[], None)?;
    let state_db = dir.join("state.db");
    let db = state_db
        .to_str()
        .ok_or_else(|| Failure::usage(anyhow!("{} is not UTF-8", state_db.display())))?;
    let state = StateStore::open(db)
        .await
        .with_context(|| format!("opening {}", state_db.display()))
        .map_err(Failure::usage)?;
    let engine = Arc::new(SyncEngine::new(state.shared()));

    let progress = Progress::new("status sync", json);
    progress.step(format!(
        "first sync of {} stores ({days} days) into {}",
        scheduled.len(),
        state_db.display()
    ));
    let scheduler = Scheduler::new(
        engine.clone(),
        scheduled,
        SchedulerOptions {
            max_concurrent: DEFAULT_MAX_CONCURRENT,
        },
    );
    let mut runs = Vec::new();
    for result in scheduler.run_once(shutdown.token()).await {
        match result {
            Ok(report) if report.cancelled => return Err(interrupted(shutdown)),
            Ok(report) => runs.push(report),
            Err(e) => {
                progress.finish();
                return Err(Failure {
                    code: CHANNEL_FAILED,
                    error: anyhow!(e).context("the demo's first sync failed"),
                });
            }
        }
    }
    let mut delivered = Deliveries::default();
    progress.step("delivering the first sync's events to the Klaviyo simulator");
    deliver(&engine, &sinks, shutdown, &mut delivered).await?;

    progress.step("a hold and a label");
    // Both on the first store, whose days reconcile shows.
    let first = file
        .stores
        .first()
        .ok_or_else(|| Failure::usage(anyhow!("the demo has no store")))?;
    let (hold, held) = hold(&engine, &state, first).await?;
    let sim = sims
        .iter()
        .find(|sim| sim.stores().iter().any(|s| s.id == first.id))
        .ok_or_else(|| Failure::usage(anyhow!("no simulator serves store {}", first.id)))?;
    let label = label(&engine, &state, first, sim, &held).await?;
    progress.step("delivering the two new events");
    deliver(&engine, &sinks, shutdown, &mut delivered).await?;

    progress.step("reconcile");
    let zone = first.timezone;
    let today = zone.to_wall(Utc::now()).date();
    let sink_names: HashSet<String> = HashSet::from(["klaviyo".to_owned()]);
    let reconcile = crate::reconcile::tally(
        &state,
        &first.id,
        zone,
        today - Duration::days(RECONCILE_DAYS - 1),
        today,
        &sink_names,
    )
    .await
    .map_err(Failure::usage)?;
    progress.finish();

    let metrics = count_metrics(&klaviyo.events());
    klaviyo.shutdown().await;
    Ok(StatusSync {
        state_db,
        runs,
        hold,
        label,
        delivered,
        metrics,
        reconcile_store: first.id.clone(),
        reconcile_zone: zone.to_string(),
        reconcile,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The simulators' stores with a first sync of `days` in one slice each, and the Klaviyo
/// simulator as the sink.
fn sync_config(sims: &[ChannelSim], days: u32, klaviyo_url: &str) -> String {
    let history = format!("[[store]]\nsync_history = \"{days}d\"\nsync_slice = \"{days}d\"\n");
    let stores: String = sims
        .iter()
        .map(ChannelSim::stores_toml)
        .collect::<Vec<_>>()
        .join("\n")
        .replace("[[store]]\n", &history);
    format!(
        "{stores}\n[[sink]]\nkind = \"klaviyo\"\nurl = \"{klaviyo_url}\"\napi_key = \"pk_demo_not_a_real_key\"\n"
    )
}

fn interrupted(shutdown: &Shutdown) -> Failure {
    Failure {
        code: crate::exit::INTERRUPTED,
        error: anyhow!(
            "demo stopped by {}",
            shutdown.signal().unwrap_or("a signal")
        ),
    }
}

/// Delivers every pending event to the sinks and adds the verdicts to `sum`; an event that
/// failed fails the demo.
async fn deliver(
    engine: &SyncEngine,
    sinks: &[Box<dyn EventSink>],
    shutdown: &Shutdown,
    sum: &mut Deliveries,
) -> Result<(), Failure> {
    let refs: Vec<&dyn EventSink> = sinks.iter().map(|s| s.as_ref()).collect();
    let outcomes = engine
        .deliver_claimed(&refs, None, crate::sinks::BATCH, shutdown.deliveries())
        .await;
    for outcome in outcomes {
        sum.delivered += outcome.delivered;
        sum.failed += outcome.failed + outcome.unrecorded + outcome.refused;
        for (reason, n) in outcome.skipped {
            *sum.skipped.entry(reason).or_default() += n;
        }
        if let Some(error) = outcome.error {
            return Err(Failure {
                code: CHANNEL_FAILED,
                error: anyhow!("delivering to the Klaviyo simulator failed: {error}"),
            });
        }
    }
    if sum.failed > 0 {
        return Err(Failure {
            code: CHANNEL_FAILED,
            error: anyhow!(
                "{} event(s) were not delivered to the Klaviyo simulator",
                sum.failed
            ),
        });
    }
    Ok(())
}

/// The first stored order of `store` awaiting shipment, other than `except`.
async fn awaiting_shipment(
    state: &StateStore,
    store: &str,
    except: Option<&str>,
) -> Result<Order, Failure> {
    let mut after = 0;
    loop {
        let rows = state
            .orders_page(Some(store), after, 500)
            .await
            .map_err(Failure::usage)?;
        let Some(last) = rows.last() else {
            return Err(Failure::usage(anyhow!(
                "store {store} has no order awaiting shipment to show a hold and a label on; run the demo with more --days or --orders-per-day"
            )));
        };
        after = last.seq;
        for row in rows {
            if row.status == CanonicalStatus::AwaitingShipment.as_str()
                && Some(row.external_id.as_str()) != except
            {
                return serde_json::from_value(row.order)
                    .context("reading a stored order")
                    .map_err(Failure::usage);
            }
        }
    }
}

fn reference(order: &Order) -> OrderRef {
    OrderRef {
        external_id: Some(order.external_id.clone()),
        order_number: order.order_number.clone(),
    }
}

/// Puts an order of `store` on hold for [`HOLD_DAYS`], as the Hold action of a shipping
/// platform does; returns the step and the held order's external id.
async fn hold(
    engine: &SyncEngine,
    state: &StateStore,
    store: &StoreConfig,
) -> Result<(PlatformStep, String), Failure> {
    let order = awaiting_shipment(state, &store.id, None).await?;
    let until = Utc::now() + Duration::days(HOLD_DAYS);
    let outcome = engine
        .record_platform_action(
            &store.id,
            &reference(&order),
            PlatformAction::Hold { until },
        )
        .await
        .map_err(Failure::usage)?;
    let step = PlatformStep {
        store: store.id.clone(),
        order_number: order.order_number,
        detail: format!(
            "on hold until {}; it returns to awaiting shipment by itself then",
            store.timezone.to_wall(until).format("%Y-%m-%d %H:%M")
        ),
        event: outcome.event_id,
    };
    Ok((step, order.external_id))
}

/// Pushes a label for an order of `store` (not the held one) to its simulator and records
/// it: the order ships.
async fn label(
    engine: &SyncEngine,
    state: &StateStore,
    store: &StoreConfig,
    sim: &ChannelSim,
    held: &str,
) -> Result<PlatformStep, Failure> {
    let order = awaiting_shipment(state, &store.id, Some(held)).await?;
    let (for_connector, _) = split_sync_settings(store).map_err(Failure::usage)?;
    let channel = orderport::connect(&for_connector)?;
    let tracking = format!("DEMO-LABEL-{}", order.order_number);
    let update = super::label_for(&order, channel.store().zone, &tracking);
    channel.push_shipment(&update).await?;
    let received = sim
        .shipments()
        .iter()
        .any(|s| s.tracking_number == tracking);
    if !received {
        return Err(Failure {
            code: CHANNEL_FAILED,
            error: anyhow!("the {} simulator did not receive the label", store.id),
        });
    }
    let recorded = engine
        .record_shipment(&store.id, &update)
        .await
        .map_err(Failure::usage)?;
    Ok(PlatformStep {
        store: store.id.clone(),
        order_number: order.order_number,
        detail: format!("label {tracking} pushed to the simulator and recorded: shipped"),
        event: recorded.event,
    })
}

/// Counts the Klaviyo simulator's events by metric, the five in order.
fn count_metrics(events: &[serde_json::Value]) -> Vec<MetricCount> {
    METRICS
        .iter()
        .map(|metric| {
            let of_metric: Vec<&serde_json::Value> = events
                .iter()
                .filter(|e| e["attributes"]["metric"]["data"]["attributes"]["name"] == *metric)
                .collect();
            MetricCount {
                metric,
                events: of_metric.len(),
                backfill: of_metric
                    .iter()
                    .filter(|e| e["attributes"]["backfill"] == true)
                    .count(),
            }
        })
        .collect()
}

/// Prints the second act for a person.
pub(super) fn print(report: &StatusSync) -> Result<(), Failure> {
    println!(
        "Status sync to Klaviyo (state: {})",
        report.state_db.display()
    );
    for r in &report.runs {
        println!(
            "  first sync of {}: {} orders stored, {} rejected, {} status events, {} pages",
            r.store_id, r.new, r.rejected, r.events, r.pages
        );
    }
    for (what, step) in [("hold", &report.hold), ("label", &report.label)] {
        println!(
            "  {what}: order {} of {}: {}",
            step.order_number, step.store, step.detail
        );
    }
    let skipped: Vec<String> = report
        .delivered
        .skipped
        .iter()
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    println!(
        "  delivered to the Klaviyo simulator: {} events; skipped {} ({})",
        report.delivered.delivered,
        report.delivered.skipped.values().sum::<u64>(),
        if skipped.is_empty() {
            "none".to_owned()
        } else {
            skipped.join(", ")
        }
    );
    println!("  Klaviyo metrics received (first-sync events carry backfill = true, so flows ignore them):");
    for m in &report.metrics {
        println!(
            "    {:<24} {:>6}  ({} backfill, {} live)",
            m.metric,
            m.events,
            m.backfill,
            m.events - m.backfill
        );
    }
    println!();
    let stdout = std::io::stdout();
    crate::reconcile::write_text(
        &mut stdout.lock(),
        &report.reconcile,
        &report.reconcile_store,
        &report.reconcile_zone,
    )?;
    println!("  ({:.1}s)", report.seconds);
    Ok(())
}
