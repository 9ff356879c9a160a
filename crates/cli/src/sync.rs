//! `orderport sync`: keep every store of a stores file current in the state database.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use anyhow::Context;
use clap::Args;
use orderport::layer::{connect_layered, PaceLayer};
use orderport_sync::{
    parse_duration, shown_db, split_sync_settings, RunReport, ScheduledStore, Scheduler,
    SchedulerOptions, StateStore, SyncEngine, SyncError, DEFAULT_DB, DEFAULT_MAX_CONCURRENT,
};

use crate::exit::{Failure, CHANNEL_FAILED};
use crate::shutdown::Shutdown;
use crate::sinks::Undelivered;

/// The least time between two requests on one credential (the store's URL and user name).
const CREDENTIAL_GAP: std::time::Duration = std::time::Duration::from_millis(250);

/// The shortest lease: renewing every third of it must leave time for a slow database.
const MIN_LEASE_TTL: StdDuration = StdDuration::from_secs(3);

fn lease_ttl(text: &str) -> Result<StdDuration, String> {
    let ttl = parse_duration(text)
        .and_then(|d| d.to_std().ok())
        .ok_or_else(|| format!("{text:?} is not a duration such as 30s or 2m"))?;
    if ttl < MIN_LEASE_TTL {
        return Err(format!("at least {}s", MIN_LEASE_TTL.as_secs()));
    }
    Ok(ttl)
}

/// Arguments of `orderport sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The stores file.
    #[arg(long, env = "ORDERPORT_CONFIG")]
    config: PathBuf,
    /// The state database: a SQLite file, or a PostgreSQL URL
    /// (`postgres://user@host:port/db`, password in the URL or PGPASSWORD) that several
    /// workers share.
    #[arg(long, env = "ORDERPORT_DB", hide_env_values = true, default_value = DEFAULT_DB)]
    db: String,
    /// Run every store once and exit (the default).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep running: each store every `sync_interval` (30 minutes by default) until SIGTERM or
    /// Ctrl-C.
    #[arg(long)]
    watch: bool,
    /// Only these stores (repeatable); all stores by default.
    #[arg(long = "store")]
    stores: Vec<String>,
    /// Stores synced at the same time, at most. Stores wait on the network and on pacing, not
    /// on the CPU, so many run at once.
    #[arg(long, default_value_t = DEFAULT_MAX_CONCURRENT)]
    max_concurrent: usize,
    /// How long a store's lease lasts without renewal (renewed on a heartbeat every third of
    /// it): another worker takes a killed worker's stores over this long after it stopped.
    #[arg(long, default_value = "60s", value_parser = lease_ttl)]
    lease_ttl: StdDuration,
}

/// Whether each store's latest finished run failed. A run cut short by a signal finished
/// nothing, so it leaves the store's previous verdict.
#[derive(Default)]
struct Verdicts(Mutex<BTreeMap<String, bool>>);

impl Verdicts {
    fn record(&self, result: &Result<RunReport, SyncError>) {
        let (store, failed) = match result {
            Ok(r) if r.cancelled => return,
            Ok(r) => (r.store_id.clone(), false),
            Err(e) => (e.store().to_owned(), true),
        };
        if let Ok(mut map) = self.0.lock() {
            map.insert(store, failed);
        }
    }

    fn failed(&self) -> usize {
        self.0
            .lock()
            .map_or(0, |map| map.values().filter(|f| **f).count())
    }
}

/// Runs the sync. Exits 0 when every store's latest run succeeded (or was stopped by a
/// signal) and every pending event got its verdict; 1 otherwise, signal or not.
pub async fn run(args: SyncArgs, json: bool) -> Result<(), Failure> {
    let shutdown = Shutdown::listen();
    let file = crate::stores::load(&args.config)?;
    crate::stores::check_selected(&file, &args.config, &args.stores)?;
    let sinks = Arc::new(crate::sinks::build(&file)?);
    let scheduled = schedule(&file, &args.stores, Some(CREDENTIAL_GAP))?;
    let state = StateStore::open(&args.db)
        .await
        .with_context(|| format!("opening the state database {}", shown_db(&args.db)))
        .map_err(Failure::usage)?;
    let ttl = chrono::Duration::from_std(args.lease_ttl).map_err(Failure::usage)?;
    let engine = Arc::new(SyncEngine::new(state.shared()).with_lease_ttl(ttl));
    let options = SchedulerOptions {
        max_concurrent: args.max_concurrent.max(1),
    };
    let scheduler = Scheduler::new(engine.clone(), scheduled, options);
    let cancel = shutdown.token().clone();
    let verdicts = Arc::new(Verdicts::default());
    // Deliveries run after store runs: after the round with --once; with --watch, after each
    // store run (a task woken by the report callback), and once more when stopping. After a
    // signal they get `GRACE`; what is not delivered by then stays pending.
    let ran = Arc::new(tokio::sync::Notify::new());
    // With --store, only those stores' events are delivered.
    let only: Arc<Vec<String>> = Arc::new(args.stores.clone());
    let report = {
        let (verdicts, ran) = (verdicts.clone(), ran.clone());
        move |result: Result<RunReport, SyncError>| {
            verdicts.record(&result);
            print_run(&result, json);
            ran.notify_one();
        }
    };
    let undelivered = if args.watch {
        let deliveries = {
            let (engine, sinks, shutdown, ran, only) = (
                engine.clone(),
                sinks.clone(),
                shutdown.clone(),
                ran.clone(),
                only.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = ran.notified() => {}
                        () = shutdown.token().cancelled() => break,
                    }
                    deliver_selected(&engine, &sinks, &only, json, shutdown.deliveries()).await;
                }
            })
        };
        scheduler.run(&cancel, &report).await;
        cancel.cancel();
        let _ = deliveries.await;
        // The final pass decides the exit code: what is still pending after it.
        deliver_selected(&engine, &sinks, &only, json, shutdown.deliveries()).await
    } else {
        for result in scheduler.run_once(&cancel).await {
            report(result);
        }
        deliver_selected(&engine, &sinks, &only, json, shutdown.deliveries()).await
    };
    if let Some(signal) = shutdown.signal() {
        tracing::info!("stopped by {signal}; stores resume from their cursors on the next run");
    }
    match verdicts.failed() {
        0 if undelivered.is_none() => Ok(()),
        0 => Err(Failure {
            code: CHANNEL_FAILED,
            error: anyhow::anyhow!(undelivered.describe()),
        }),
        n => Err(Failure {
            code: CHANNEL_FAILED,
            error: anyhow::anyhow!(
                "{n} store run(s) failed; they resume from their cursor on the next run"
            ),
        }),
    }
}

/// The stores of `file` to sync (all, or those in `only`), each connected through one shared
/// HTTP client with its sync settings resolved. With `gap`, every request of the stores sharing
/// a credential is paced together, at least `gap` apart.
pub(crate) fn schedule(
    file: &orderport::StoresFile,
    only: &[String],
    gap: Option<StdDuration>,
) -> Result<Vec<ScheduledStore>, Failure> {
    let client = orderport::HttpClient::new().map_err(Failure::usage)?;
    let pacing = gap.map(PaceLayer::new);
    let layers: Vec<&dyn orderport::layer::Layer> = pacing
        .iter()
        .map(|p| p as &dyn orderport::layer::Layer)
        .collect();
    let mut scheduled = Vec::new();
    for store in &file.stores {
        if !only.is_empty() && !only.contains(&store.id) {
            continue;
        }
        let (for_connector, setup) = split_sync_settings(store).map_err(Failure::usage)?;
        let channel: Arc<dyn orderport::SellingChannel> =
            Arc::from(connect_layered(&for_connector, &client, &layers)?);
        let sync = setup.resolve(channel.spec()).map_err(Failure::usage)?;
        scheduled.push(ScheduledStore { channel, sync });
    }
    Ok(scheduled)
}

/// Delivers the events of the selected stores (all when none is selected); returns what
/// stayed pending.
async fn deliver_selected(
    engine: &SyncEngine,
    sinks: &[Box<dyn orderport_sync::EventSink>],
    only: &[String],
    json: bool,
    cancel: &orderport_sync::CancellationToken,
) -> Undelivered {
    if only.is_empty() {
        return crate::sinks::deliver(engine, sinks, None, json, cancel).await;
    }
    let mut undelivered = Undelivered::default();
    for store in only {
        undelivered.add(crate::sinks::deliver(engine, sinks, Some(store), json, cancel).await);
    }
    undelivered
}

pub(crate) fn print_run(result: &Result<RunReport, SyncError>, json: bool) {
    match (result, json) {
        (Ok(r), true) => println!("{}", serde_json::json!({ "ok": true, "report": r })),
        (Err(e), true) => println!(
            "{}",
            serde_json::json!({ "ok": false, "store": e.store(), "error": e.to_string() })
        ),
        (Ok(r), false) => println!(
            "{}: fetched {}, new {}, updated {}, unchanged {}, rejected {}, events {}, pages {}, {:.1}s{}",
            r.store_id,
            r.fetched,
            r.new,
            r.updated,
            r.unchanged,
            r.rejected,
            r.events,
            r.pages,
            r.duration_ms as f64 / 1000.0,
            if r.cancelled {
                " (stopped by a signal; resumes from its cursor on the next run)"
            } else {
                ""
            }
        ),
        (Err(e), false) => eprintln!("error: {e}"),
    }
}
