//! Peak memory and time of a 90-day first sync of about 100,000 orders from the Spark Shipping
//! simulator, through the real connector, into a SQLite file.
//!
//! `cargo bench -p orderport-sync --bench backfill_memory` prints the figures; set
//! `BACKFILL_ORDERS_PER_DAY` to change the volume (default 1112/day × 90 days ≈ 100,000).
//! Peak memory is the process's VmHWM from /proc/self/status (Linux), which includes the
//! simulator serving the orders in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use orderport_sim::chrono::{TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, Tz};
use orderport_sync::{split_sync_settings, CancellationToken, SqliteState, SyncEngine};

fn vm_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // as a smoke test of a small backfill.
    let measuring = std::env::args().any(|a| a == "--bench");
    let per_day: u32 = std::env::var("BACKFILL_ORDERS_PER_DAY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 1112 } else { 20 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let clock = SimClock::fixed(now);
        let generator = GeneratorConfig {
            orders_per_day: per_day,
            days: 90,
            timezone: Tz::America__Chicago,
            ..GeneratorConfig::default()
        };
        let sim = ChannelSim::start(
            Flavor::SparkShipping,
            generator,
            Faults::default(),
            clock,
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let hwm_sim = vm_kib("VmHWM:");
        let file = orderport_core::StoresFile::parse(&sim.stores_toml(), &|_| None).unwrap();
        let (for_connector, setup) = split_sync_settings(&file.stores[0]).unwrap();
        let channel = orderport::connect(&for_connector).unwrap();
        let store = setup.resolve(channel.spec()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(SqliteState::open(dir.path().join("orderport.db")).unwrap());
        let engine = SyncEngine::new(state.clone())
            .with_clock(Arc::new(orderport_sync::ManualClock::new(now)));
        let started = Instant::now();
        let report = engine
            .run_store(channel.as_ref(), &store, &CancellationToken::new())
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let hwm_end = vm_kib("VmHWM:");
        println!(
            "backfill_memory: fetched {} (new {}, rejected {}), {} pages, {} events in {:.1}s",
            report.fetched,
            report.new,
            report.rejected,
            report.pages,
            report.events,
            elapsed.as_secs_f64()
        );
        println!(
            "backfill_memory: VmHWM after simulator start {hwm_sim} KiB, after the backfill {hwm_end} KiB (+{} KiB for the sync)",
            hwm_end.saturating_sub(hwm_sim)
        );
        sim.shutdown().await;
    });
}
