//! The engine against the Spark Shipping simulator, through the real connector: a Chicago
//! store synced every 30 minutes across the spring-forward DST change, with orders modified
//! during page walks and 503s, ends with every visible order stored or quarantined, once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, Tz};
use orderport_sync::{split_sync_settings, CancellationToken, Clock, SqliteState, SyncEngine};

struct Shared(SimClock);

impl Clock for Shared {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_chicago_store_across_dst_loses_nothing_and_duplicates_nothing() {
    let start = Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap();
    let clock = SimClock::fixed(start);
    let generator = GeneratorConfig {
        orders_per_day: 120,
        days: 3,
        timezone: Tz::America__Chicago,
        ..GeneratorConfig::default()
    };
    let faults = Faults {
        shift_during_walk: true,
        error_503_every: 9,
        ..Faults::none()
    };
    let sim = ChannelSim::start(
        Flavor::SparkShipping,
        generator,
        faults,
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let file = orderport_core::StoresFile::parse(&sim.stores_toml(), &|_| None).unwrap();
    let config = &file.stores[0];
    let (for_connector, setup) = split_sync_settings(config).unwrap();
    let channel = orderport::connect(&for_connector).unwrap();
    let mut store = setup.resolve(channel.spec()).unwrap();
    store.settings.history = Duration::days(5);
    let state = Arc::new(SqliteState::in_memory().unwrap());
    let engine = SyncEngine::new(state.clone()).with_clock(Arc::new(Shared(clock.clone())));
    let cancel = CancellationToken::new();
    let end = start + Duration::hours(48);
    while clock.now() <= end {
        engine
            .run_store(channel.as_ref(), &store, &cancel)
            .await
            .unwrap();
        clock.advance(Duration::minutes(30));
    }
    clock.advance(Duration::minutes(-30));
    // The last run's upper bound: everything modified up to it must be in.
    let upper = clock.now() - store.settings.lag;
    let visible: HashSet<String> = sim
        .orders_visible(&config.id, start - Duration::days(6), upper)
        .into_iter()
        .collect();
    let orders = state.orders_page(None, 0, 1_000_000).await.unwrap();
    let quarantine = state.quarantine_page(None, 0, 1_000_000).await.unwrap();
    let stored: HashSet<String> = orders.iter().map(|o| o.order_number.clone()).collect();
    assert_eq!(stored.len(), orders.len(), "an order stored twice");
    let rejected: HashSet<String> = quarantine
        .iter()
        .filter_map(|q| q.order_number.clone())
        .collect();
    let missing: Vec<_> = visible
        .iter()
        .filter(|n| !stored.contains(*n) && !rejected.contains(*n))
        .collect();
    assert!(missing.is_empty(), "orders never imported: {missing:?}");
    assert!(visible.len() > 300, "{}", visible.len());
    // Each stored order is at its latest state (minute precision).
    for o in &orders {
        let Some(last) = sim.last_modified(&config.id, &o.order_number) else {
            continue;
        };
        if last > upper {
            continue;
        }
        let stored_at = DateTime::parse_from_rfc3339(&o.modified_at).unwrap();
        assert!(
            (stored_at.with_timezone(&Utc) - last).num_seconds().abs() < 60,
            "order {} stored at {stored_at}, last modified {last}",
            o.order_number
        );
    }
    // Every event chain is unbroken and has no duplicate.
    let events = state.events_page(None, 0, 1_000_000).await.unwrap();
    let mut seen = HashSet::new();
    let mut last = std::collections::HashMap::new();
    for e in &events {
        let e = &e.event;
        assert!(seen.insert((e.key.external_id.clone(), e.to, e.at)));
        assert_eq!(e.from.as_ref(), last.get(&e.key.external_id));
        last.insert(e.key.external_id.clone(), e.to);
    }
    sim.shutdown().await;
}
