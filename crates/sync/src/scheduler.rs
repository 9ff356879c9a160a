//! Runs many stores on their intervals, with bounded concurrency, per-credential pacing and
//! graceful shutdown: on cancellation, runs stop at once (the engine abandons a request, retry
//! or pacer wait in flight), commit nothing more and release their leases.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use orderport_core::{
    CanonicalStatus, ChannelError, ChannelSpec, Page, PageToken, RejectionReason, SellingChannel,
    ShipmentUpdate, StoreConfig, StoreProfile, TimeWindow,
};
use rand::Rng;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::engine::SyncEngine;
use crate::error::SyncError;
use crate::report::RunReport;
use crate::settings::StoreSync;

/// One store the scheduler keeps current.
pub struct ScheduledStore {
    /// The connected channel.
    pub channel: Arc<dyn SellingChannel>,
    /// Its resolved settings and fingerprint.
    pub sync: StoreSync,
    /// The credential it uses ([`credential_key`]); stores sharing one are paced together.
    pub credential: String,
}

/// The credential a store's requests count against: its URL and user name.
pub fn credential_key(config: &StoreConfig) -> String {
    format!(
        "{}|{}",
        config.url.trim_end_matches('/'),
        config.username.as_deref().unwrap_or("")
    )
}

/// How the scheduler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// Stores synced at the same time, at most. Default 4.
    pub max_concurrent: usize,
    /// The least time between two requests on one credential. Default 250 ms.
    pub credential_gap: StdDuration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            max_concurrent: 4,
            credential_gap: StdDuration::from_millis(250),
        }
    }
}

/// Spaces requests on one credential by at least a gap.
#[derive(Debug)]
struct Pacer {
    gap: StdDuration,
    last: Mutex<Option<Instant>>,
}

impl Pacer {
    async fn wait(&self) {
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + self.gap).await;
        }
        *last = Some(Instant::now());
    }
}

/// A channel whose requests wait for their credential's pacer.
struct Paced {
    inner: Arc<dyn SellingChannel>,
    pacer: Arc<Pacer>,
}

#[async_trait]
impl SellingChannel for Paced {
    fn spec(&self) -> &'static ChannelSpec {
        self.inner.spec()
    }
    fn store(&self) -> &StoreProfile {
        self.inner.store()
    }
    async fn check_connection(&self) -> Result<(), ChannelError> {
        self.pacer.wait().await;
        self.inner.check_connection().await
    }
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        self.pacer.wait().await;
        self.inner.fetch_page(window, page).await
    }
    fn map_status(&self, raw: &str) -> Result<CanonicalStatus, RejectionReason> {
        self.inner.map_status(raw)
    }
    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        self.pacer.wait().await;
        self.inner.push_shipment(update).await
    }
}

/// Runs stores on their intervals until cancelled.
pub struct Scheduler {
    engine: Arc<SyncEngine>,
    stores: Vec<(Arc<Paced>, StoreSync)>,
    options: SchedulerOptions,
}

impl Scheduler {
    /// A scheduler for `stores`, pacing stores that share a credential together.
    pub fn new(
        engine: Arc<SyncEngine>,
        stores: Vec<ScheduledStore>,
        options: SchedulerOptions,
    ) -> Self {
        let mut pacers: HashMap<String, Arc<Pacer>> = HashMap::new();
        let stores = stores
            .into_iter()
            .map(|s| {
                let pacer = Arc::clone(pacers.entry(s.credential).or_insert_with(|| {
                    Arc::new(Pacer {
                        gap: options.credential_gap,
                        last: Mutex::new(None),
                    })
                }));
                (
                    Arc::new(Paced {
                        inner: s.channel,
                        pacer,
                    }),
                    s.sync,
                )
            })
            .collect();
        Self {
            engine,
            stores,
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
