//! `orderport sync`: keep every store of a stores file current in the state database.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use orderport::StoresFile;
use orderport_sync::{
    credential_key, split_sync_settings, CancellationToken, RunReport, ScheduledStore, Scheduler,
    SchedulerOptions, SqliteState, SyncEngine, SyncError, DEFAULT_DB,
};

use crate::exit::{Failure, CHANNEL_FAILED};

/// Arguments of `orderport sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The stores file.
    #[arg(long)]
    config: PathBuf,
    /// The state database (SQLite, one file).
    #[arg(long, default_value = DEFAULT_DB)]
    db: PathBuf,
    /// Run every store once and exit (the default).
    #[arg(long, conflicts_with = "watch")]
    once: bool,
    /// Keep running: each store every `sync_interval` (30 minutes by default) until Ctrl-C.
    #[arg(long)]
    watch: bool,
    /// Only these stores (repeatable); all stores by default.
    #[arg(long = "store")]
    stores: Vec<String>,
    /// Stores synced at the same time, at most.
    #[arg(long, default_value_t = 4)]
    max_concurrent: usize,
}

/// Runs the sync. Exits 0 when every store's run succeeded.
pub async fn run(args: SyncArgs, json: bool) -> Result<(), Failure> {
    let file = StoresFile::load(&args.config).map_err(Failure::usage)?;
    let sinks = Arc::new(crate::sinks::build(&file)?);
    let mut scheduled = Vec::new();
    for store in &file.stores {
        if !args.stores.is_empty() && !args.stores.contains(&store.id) {
            continue;
        }
        let (for_connector, setup) = split_sync_settings(store).map_err(Failure::usage)?;
        let channel: Arc<dyn orderport::SellingChannel> =
            Arc::from(orderport::connect(&for_connector)?);
        let sync = setup.resolve(channel.spec()).map_err(Failure::usage)?;
        scheduled.push(ScheduledStore {
            channel,
            sync,
            credential: credential_key(&for_connector),
        });
    }
    let state = SqliteState::open(&args.db)
        .with_context(|| format!("opening the state database {}", args.db.display()))
        .map_err(Failure::usage)?;
    let engine = Arc::new(SyncEngine::new(Arc::new(state)));
    let options = SchedulerOptions {
        max_concurrent: args.max_concurrent.max(1),
        ..SchedulerOptions::default()
    };
    let scheduler = Scheduler::new(engine.clone(), scheduled, options);
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: finishing the current pages, then stopping");
            on_signal.cancel();
        }
    });
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let undelivered = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Deliveries run after store runs: after the round with --once; with --watch, after each
    // store run (a task woken by the report callback), and once more when stopping.
    let ran = Arc::new(tokio::sync::Notify::new());
    // With --store, only those stores' events are delivered.
    let only: Arc<Vec<String>> = Arc::new(args.stores.clone());
    let report = {
        let (failed, ran) = (failed.clone(), ran.clone());
        move |result: Result<RunReport, SyncError>| {
            if result.is_err() {
                failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            print_run(&result, json);
            ran.notify_one();
        }
    };
    if args.watch {
        let deliveries = {
            let (engine, sinks, cancel, ran, undelivered, only) = (
                engine.clone(),
                sinks.clone(),
                cancel.clone(),
                ran.clone(),
                undelivered.clone(),
                only.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = ran.notified() => {}
                        () = cancel.cancelled() => break,
                    }
                    let n = deliver_selected(&engine, &sinks, &only, json).await;
                    undelivered.store(n, std::sync::atomic::Ordering::SeqCst);
                }
            })
        };
        scheduler.run(&cancel, &report).await;
        cancel.cancel();
        let _ = deliveries.await;
        let n = deliver_selected(&engine, &sinks, &only, json).await;
        undelivered.store(n, std::sync::atomic::Ordering::SeqCst);
    } else {
        for result in scheduler.run_once(&cancel).await {
            report(result);
        }
        let n = deliver_selected(&engine, &sinks, &only, json).await;
        undelivered.store(n, std::sync::atomic::Ordering::SeqCst);
    }
    let undelivered = undelivered.load(std::sync::atomic::Ordering::SeqCst);
    match failed.load(std::sync::atomic::Ordering::SeqCst) {
        0 if undelivered == 0 => Ok(()),
        0 => Err(Failure {
            code: CHANNEL_FAILED,
            error: anyhow::anyhow!(
                "{undelivered} event(s) were not delivered; they stay in the outbox and go out on the next run"
            ),
        }),
        n => Err(Failure {
            code: CHANNEL_FAILED,
            error: anyhow::anyhow!(
                "{n} store run(s) failed; they resume from their cursor on the next run"
            ),
        }),
    }
}

/// Delivers the events of the selected stores (all when none is selected); returns how many
/// failed.
async fn deliver_selected(
    engine: &SyncEngine,
    sinks: &[Box<dyn orderport_sync::EventSink>],
    only: &[String],
    json: bool,
) -> u64 {
    if only.is_empty() {
        return crate::sinks::deliver(engine, sinks, None, json).await;
    }
    let mut failed = 0;
    for store in only {
        failed += crate::sinks::deliver(engine, sinks, Some(store), json).await;
    }
    failed
}

fn print_run(result: &Result<RunReport, SyncError>, json: bool) {
    match (result, json) {
        (Ok(r), true) => println!("{}", serde_json::json!({ "ok": true, "report": r })),
        (Err(e), true) => println!(
            "{}",
            serde_json::json!({ "ok": false, "store": e.store(), "error": e.to_string() })
        ),
        (Ok(r), false) => println!(
            "{}: fetched {}, new {}, updated {}, unchanged {}, rejected {}, events {}, pages {}, retries {}, {:.1}s",
            r.store_id,
            r.fetched,
            r.new,
            r.updated,
            r.unchanged,
            r.rejected,
            r.events,
            r.pages,
            r.retries,
            r.duration_ms as f64 / 1000.0
        ),
        (Err(e), false) => eprintln!("error: {e}"),
    }
}
