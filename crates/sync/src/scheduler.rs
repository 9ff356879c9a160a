//! Runs many stores on their intervals, with bounded concurrency and graceful shutdown: on
//! cancellation, runs stop at once (the engine abandons a request, retry or pacer wait in
//! flight), commit nothing more and release their leases.
//!
//! Pacing is not the scheduler's: it belongs to the HTTP client each channel sends through, so
//! that it covers every request (`orderport::layer::PaceLayer` paces the stores sharing a
//! credential together).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use orderport_core::{SellingChannel, StoreProfile};
use rand::RngExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::engine::SyncEngine;
use crate::error::SyncError;
use crate::report::RunReport;
use crate::settings::StoreSync;

/// One store the scheduler keeps current.
pub struct ScheduledStore {
    /// The connected channel (paced by its HTTP client, where a pacing layer built it).
    pub channel: Arc<dyn SellingChannel>,
    /// Its resolved settings and fingerprint.
    pub sync: StoreSync,
}

/// How the scheduler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// Stores synced at the same time, at most. Default [`DEFAULT_MAX_CONCURRENT`]: a store
    /// waits on the network and its channel's pacing, not on the CPU.
    pub max_concurrent: usize,
}

/// Stores synced at the same time by default.
pub const DEFAULT_MAX_CONCURRENT: usize = 64;

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            max_concurrent: DEFAULT_MAX_CONCURRENT,
        }
    }
}

/// Runs stores on their intervals until cancelled.
pub struct Scheduler {
    engine: Arc<SyncEngine>,
    stores: Vec<(Arc<dyn SellingChannel>, StoreSync)>,
    options: SchedulerOptions,
}

impl Scheduler {
    /// A scheduler for `stores`.
    pub fn new(
        engine: Arc<SyncEngine>,
        stores: Vec<ScheduledStore>,
        options: SchedulerOptions,
    ) -> Self {
        Self {
            engine,
            stores: stores.into_iter().map(|s| (s.channel, s.sync)).collect(),
            options,
        }
    }

    /// Runs every store once, at most `max_concurrent` at a time, and returns each result in
    /// the stores' order. Cancellation stops each run promptly: a request in flight, a retry
    /// wait or a pacer wait is abandoned, the pages committed stay, and the lease is released.
    /// A store still waiting for its turn when cancellation fires is not started: its report
    /// has `cancelled` set and nothing else.
    pub async fn run_once(&self, cancel: &CancellationToken) -> Vec<Result<RunReport, SyncError>> {
        let semaphore = Semaphore::new(self.options.max_concurrent.max(1));
        let runs = self.stores.iter().map(|(channel, sync)| {
            let semaphore = &semaphore;
            async move {
                let permit = tokio::select! {
                    biased;
                    () = cancel.cancelled() => None,
                    p = semaphore.acquire() => Some(p),
                };
                match permit {
                    Some(_permit) => self.engine.run_store(channel.as_ref(), sync, cancel).await,
                    None => Ok(not_started(channel.store())),
                }
            }
        });
        futures::future::join_all(runs).await
    }

    /// Runs every store every `interval` (plus a random delay up to `jitter`, also before the
    /// first run) until `cancel` fires; each result goes to `on_report`. On cancellation, runs in
    /// progress commit their current page and stop, and this returns.
    ///
    /// Several workers (processes) may run schedulers over the same stores and a shared state:
    /// a store is due `interval` after the start of its last run by any worker (read from its
    /// cursor), its lease decides which worker runs it, and a worker that finds it held
    /// ([`SyncError::Busy`], not reported) tries again when that lease lapses, so a dead
    /// worker's stores are taken over within the lease's time to live.
    pub async fn run(
        &self,
        cancel: &CancellationToken,
        on_report: &(dyn Fn(Result<RunReport, SyncError>) + Send + Sync),
    ) {
        let semaphore = Semaphore::new(self.options.max_concurrent.max(1));
        let loops = self.stores.iter().map(|(channel, sync)| {
            let semaphore = &semaphore;
            async move {
                let interval = sync
                    .settings
                    .interval
                    .to_std()
                    .unwrap_or(StdDuration::from_secs(1800));
                let store_id = channel.store().id.clone();
                let mut due = Instant::now() + jitter(sync);
                loop {
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => {}
                        () = cancel.cancelled() => return,
                    }
                    let permit = tokio::select! {
                        p = semaphore.acquire() => p,
                        () = cancel.cancelled() => return,
                    };
                    // Another worker sharing the state may have run it since, even while this
                    // one waited for a slot: wait for the interval from that run. (Checked
                    // with the slot in hand, so a store another worker synced during the wait
                    // is not run again.)
                    if let Some(wait) = self.not_due_for(sync, &store_id).await {
                        drop(permit);
                        due = Instant::now() + wait + jitter(sync);
                        continue;
                    }
                    let result = self.engine.run_store(channel.as_ref(), sync, cancel).await;
                    drop(permit);
                    due = Instant::now() + interval + jitter(sync);
                    match result {
                        // Another worker holds it: try again when its lease lapses (it is
                        // taken over then if that worker died), and report nothing.
                        Err(SyncError::Busy { owner, until, .. }) => {
                            let lapse = (until - self.engine.now())
                                .to_std()
                                .unwrap_or(StdDuration::ZERO)
                                + BUSY_MARGIN;
                            tracing::debug!(store = %store_id, %owner, "another worker is syncing this store");
                            due = Instant::now() + lapse.min(interval) + jitter(sync);
                        }
                        other => on_report(other),
                    }
                    if cancel.is_cancelled() {
                        return;
                    }
                }
            }
        });
        futures::future::join_all(loops).await;
    }
}

/// How long after another worker's lease lapses a worker tries to take the store over.
const BUSY_MARGIN: StdDuration = StdDuration::from_millis(200);

impl Scheduler {
    /// How long until `store_id` is due on its interval from its last run by any worker;
    /// `None` when it is due now (or its state cannot be read: the run reports that).
    async fn not_due_for(&self, sync: &StoreSync, store_id: &str) -> Option<StdDuration> {
        let due = self.engine.next_due(sync, store_id).await.ok()??;
        (due - self.engine.now())
            .to_std()
            .ok()
            .filter(|wait| !wait.is_zero())
    }
}

/// The report of a store whose run was cancelled before it started.
fn not_started(store: &StoreProfile) -> RunReport {
    RunReport {
        store_id: store.id.clone(),
        store_name: store.name.clone(),
        cancelled: true,
        ..RunReport::default()
    }
}

fn jitter(sync: &StoreSync) -> StdDuration {
    let max = sync.settings.jitter.num_milliseconds().max(0) as u64;
    if max == 0 {
        return StdDuration::ZERO;
    }
    StdDuration::from_millis(rand::rng().random_range(0..=max))
}
