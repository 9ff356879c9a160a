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
//!
//! Spans: `sync.run` (`channel`, `store`, `run_id`: the lease's fencing token, unique per run
//! of a store), `sync.page` (`page`, `window`) inside it, and `sync.delivery` (`sink`). The HTTP
//! layer's `http.request` spans nest inside `sync.page`.

use chrono::{DateTime, Utc};

use crate::delivery::DeliveryOutcome;
use crate::error::SyncError;
use crate::report::RunReport;

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
