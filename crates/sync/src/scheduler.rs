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
use rand::Rng;
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
    /// Stores synced at the same time, at most. Default 4.
    pub max_concurrent: usize,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self { max_concurrent: 4 }
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
    pub async fn run(
        &self,
        cancel: &CancellationToken,
        on_report: &(dyn Fn(Result<RunReport, SyncError>) + Send + Sync),
    ) {
        let semaphore = Semaphore::new(self.options.max_concurrent.max(1));
        let loops = self.stores.iter().map(|(channel, sync)| {
            let semaphore = &semaphore;
            async move {
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
                    let result = self.engine.run_store(channel.as_ref(), sync, cancel).await;
                    drop(permit);
                    on_report(result);
                    if cancel.is_cancelled() {
                        return;
                    }
                    let interval = sync
                        .settings
                        .interval
                        .to_std()
                        .unwrap_or(StdDuration::from_secs(1800));
                    due = Instant::now() + interval + jitter(sync);
                }
            }
        });
        futures::future::join_all(loops).await;
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
    StdDuration::from_millis(rand::thread_rng().gen_range(0..=max))
}
