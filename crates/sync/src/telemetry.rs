//! What the sync engine reports to a host's telemetry: `tracing` spans for each store run, page
//! and delivery, and metrics through the [`metrics`] facade (a host installs its own recorder;
//! without one they cost a check).
//!
//! | metric | kind | labels | meaning |
//! |---|---|---|---|
//! | [`RUNS`] | counter | `channel`, `result` (`ok`, `cancelled`, `busy`, `failed`) | store runs |
//! | [`ORDERS`] | counter | `channel`, `outcome` (`fetched`, `new`, `updated`, `unchanged`, `stale`, `quarantined`) | orders a run saw, by what became of them |
//! | [`EVENTS_RECORDED`] | counter | `channel` | status events written to the outbox |
//! | [`DELIVERIES`] | counter | `sink`, `outcome` (`delivered`, `skipped`, `refused`, `failed`) | outbox events handed to a sink, by verdict |
//! | [`WATERMARK_LAG`] | gauge | `store` | seconds between a run's end and the store's watermark |
//! | [`LEASE_TAKEOVERS`] | counter | none | leases taken over after another worker's lapsed (a worker died or stalled; orderport's backends count them) |
//! | [`RUN_SECONDS`] | histogram | `channel`, `result` (`ok`, `cancelled`) | wall time of each store run that returned a report (a run that failed or found the store busy has none) |
//! | [`STATE_SECONDS`] | histogram | `operation` (the [`State`] method: `commit_page`, `lookup`, `renew_lease`, …) | wall time of every call into the state, error or not ([`TimedState`], which [`SyncEngine::new`](crate::SyncEngine::new) puts around every state) |
//!
//! The share of a run spent waiting on the state is the sum of [`STATE_SECONDS`] over the sum
//! of [`RUN_SECONDS`] (docs/performance.md).
//!
//! Spans: `sync.run` (`channel`, `store`, `run_id`: the lease's fencing token, unique per run
//! of a store), `sync.page` (`page`, `window`) inside it, and `sync.delivery` (`sink`). The HTTP
//! layer's `http.request` spans nest inside `sync.page`.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use orderport_core::{Order, OrderRef, ShipmentUpdate};

use crate::delivery::DeliveryOutcome;
use crate::error::{StateError, SyncError};
use crate::event::{DeliveryMark, OutboxEvent};
use crate::report::RunReport;
use crate::state::{
    Cursor, Known, Lease, LeaseGrant, MarkedOrder, OrderLookup, PageCommit, PlatformWrite, Refetch,
    ShipmentRecord, State, WalkRecord,
};

/// Counter of store runs.
pub const RUNS: &str = "orderport_sync_runs_total";
/// Counter of orders by outcome.
pub const ORDERS: &str = "orderport_sync_orders_total";
/// Counter of status events written.
pub const EVENTS_RECORDED: &str = "orderport_sync_events_recorded_total";
/// Counter of delivery verdicts.
pub const DELIVERIES: &str = "orderport_sync_deliveries_total";
/// Gauge of the watermark's lag behind the end of the store's last run, in seconds.
pub const WATERMARK_LAG: &str = "orderport_sync_watermark_lag_seconds";
/// Histogram of store runs' wall time, in seconds.
pub const RUN_SECONDS: &str = "orderport_sync_run_seconds";
/// Histogram of calls into the state, by operation, in seconds.
pub const STATE_SECONDS: &str = "orderport_sync_state_seconds";

/// Counter of store leases taken over from another worker whose lease had lapsed.
pub const LEASE_TAKEOVERS: &str = "orderport_sync_lease_takeovers_total";

/// Records that `owner` took the lease of `store` over from `previous`, whose lease lapsed.
pub(crate) fn record_takeover(store: &str, owner: &str, previous: &str) {
    metrics::counter!(LEASE_TAKEOVERS).increment(1);
    tracing::info!(
        store,
        owner,
        previous,
        "lease taken over from a worker whose lease lapsed"
    );
}

/// Records a finished run of a store of `channel`.
pub(crate) fn record_run(
    channel: &'static str,
    store: &str,
    result: &Result<RunReport, SyncError>,
    now: DateTime<Utc>,
) {
    let outcome = match result {
        Ok(report) if report.cancelled => "cancelled",
        Ok(_) => "ok",
        Err(SyncError::Busy { .. }) => "busy",
        Err(_) => "failed",
    };
    metrics::counter!(RUNS, "channel" => channel, "result" => outcome).increment(1);
    let Ok(report) = result else {
        return;
    };
    let run_result = if report.cancelled { "cancelled" } else { "ok" };
    metrics::histogram!(RUN_SECONDS, "channel" => channel, "result" => run_result)
        .record(report.duration_ms as f64 / 1000.0);
    for (outcome, count) in [
        ("fetched", report.fetched),
        ("new", report.new),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("stale", report.stale),
        ("quarantined", report.rejected),
    ] {
        metrics::counter!(ORDERS, "channel" => channel, "outcome" => outcome).increment(count);
    }
    metrics::counter!(EVENTS_RECORDED, "channel" => channel).increment(report.events);
    if let Some(watermark) = report.watermark_after {
        let lag = (now - watermark).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::gauge!(WATERMARK_LAG, "store" => store.to_owned()).set(lag);
    }
}

/// Records one sink's delivery pass.
pub(crate) fn record_delivery(outcome: &DeliveryOutcome) {
    let sink = outcome.sink.clone();
    let skipped: u64 = outcome.skipped.values().sum();
    for (verdict, count) in [
        ("delivered", outcome.delivered),
        ("skipped", skipped),
        ("refused", outcome.refused),
        ("failed", outcome.failed),
    ] {
        metrics::counter!(DELIVERIES, "sink" => sink.clone(), "outcome" => verdict)
            .increment(count);
    }
}

/// A [`State`] that times every call into the state it wraps: the wall time of each call,
/// error or not, goes to the [`STATE_SECONDS`] histogram labelled with the method's name
/// (`operation`). Everything else is the wrapped state's.
///
/// [`SyncEngine::new`](crate::SyncEngine::new) wraps the state it is given, so every backend
/// is measured; wrap a state yourself only for calls made outside an engine.
#[derive(Clone)]
pub struct TimedState {
    inner: Arc<dyn State>,
}

impl TimedState {
    /// Times the calls into `inner`.
    pub fn new(inner: Arc<dyn State>) -> Self {
        Self { inner }
    }

    /// The state it times.
    pub fn inner(&self) -> &Arc<dyn State> {
        &self.inner
    }
}

impl std::fmt::Debug for TimedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedState").finish_non_exhaustive()
    }
}

/// Awaits `call` and records its wall time under `operation`.
async fn timed<T>(operation: &'static str, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = call.await;
    metrics::histogram!(STATE_SECONDS, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    out
}

#[async_trait]
impl State for TimedState {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        timed(
            "acquire_lease",
            self.inner.acquire_lease(store_id, owner, ttl, now),
        )
        .await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, StateError> {
        timed("renew_lease", self.inner.renew_lease(lease, ttl, now)).await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        timed("release_lease", self.inner.release_lease(lease)).await
    }

    async fn cursor(&self, store_id: &str) -> Result<Cursor, StateError> {
        timed("cursor", self.inner.cursor(store_id)).await
    }

    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[OrderLookup],
    ) -> Result<Vec<Known>, StateError> {
        timed("lookup", self.inner.lookup(channel, store_id, orders)).await
    }

    async fn commit_page(&self, lease: &Lease, commit: PageCommit) -> Result<(), StateError> {
        timed("commit_page", self.inner.commit_page(lease, commit)).await
    }

    async fn is_blank(&self, store_id: &str) -> Result<bool, StateError> {
        timed("is_blank", self.inner.is_blank(store_id)).await
    }

    async fn quarantine_is_empty(&self, store_id: &str) -> Result<bool, StateError> {
        timed(
            "quarantine_is_empty",
            self.inner.quarantine_is_empty(store_id),
        )
        .await
    }

    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError> {
        timed("refetches", self.inner.refetches(store_id)).await
    }

    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<WalkRecord>, StateError> {
        timed("walks", self.inner.walks(store_id, since)).await
    }

    async fn requeue_quarantine(
        &self,
        lease: &Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError> {
        timed(
            "requeue_quarantine",
            self.inner.requeue_quarantine(lease, fingerprint),
        )
        .await
    }

    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, StateError> {
        timed("find_order", self.inner.find_order(store_id, order)).await
    }

    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        timed("record_shipment", self.inner.record_shipment(shipment)).await
    }

    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError> {
        timed(
            "label_shipments",
            self.inner.label_shipments(store_id, order),
        )
        .await
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<MarkedOrder>, StateError> {
        timed("find_marked", self.inner.find_marked(store_id, order)).await
    }

    async fn record_platform(&self, write: PlatformWrite) -> Result<Option<i64>, StateError> {
        timed("record_platform", self.inner.record_platform(write)).await
    }

    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MarkedOrder>, StateError> {
        timed("lapsed_holds", self.inner.lapsed_holds(store_id, now)).await
    }

    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError> {
        timed(
            "pending_events",
            self.inner.pending_events(sink, store, after, limit),
        )
        .await
    }

    async fn record_deliveries(
        &self,
        sink: &str,
        marks: &[DeliveryMark],
    ) -> Result<(), StateError> {
        timed(
            "record_deliveries",
            self.inner.record_deliveries(sink, marks),
        )
        .await
    }
}
