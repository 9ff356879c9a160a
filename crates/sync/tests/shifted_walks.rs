//! Shifted page walks within one run (issue 11, item 1), for each paging channel (Spark
//! Shipping, Listing Mirror, Order Time), through the real connectors against the simulators.
//!
//! The simulator's `shift_served_on_walk` modifies the last order page 1 of a walk served, after
//! serving it. The walk is of a past slice, so the order leaves the slice's listing: every later
//! row moves up one place and the first row of page 2 is never served. The order's new
//! modification time lands in a **later slice of the same run**, because
//! - the store's clock runs 5 minutes behind the engine's (more than the 1-minute `sync_lag`;
//!   a 10-minute overlap covers the skew, as it must), or
//! - the server keeps minutes only (`minute_clock`) and `sync_lag` is 30 seconds: a change at
//!   12:00:45 is dated 12:00, before the run's upper bound 12:00:15.
//!
//! The run sees the order again, updated, and must fetch the shifted slice again before it
//! ends: afterwards every order the simulator shows up to the run's upper bound is stored
//! exactly once, or quarantined.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use orderport_core::{
    ChannelError, ChannelSpec, Page, PageToken, SellingChannel, ShipmentUpdate, StoreProfile,
    TimeWindow,
};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, Tz};
use orderport_sync::{
    split_sync_settings, CancellationToken, Clock, RunReport, SqliteState, StoreSync, SyncEngine,
};

/// The engine's clock: the simulator's, plus a skew (the store's clock runs behind by it).
struct Skewed {
    sim: SimClock,
    ahead: Duration,
}

impl Clock for Skewed {
    fn now(&self) -> DateTime<Utc> {
        self.sim.now() + self.ahead
    }
}

/// How the moved order lands in a later slice of the run.
#[derive(Clone, Copy, Debug)]
enum Landing {
    /// The store's clock runs 5 minutes behind the engine's.
    Skew,
    /// The store dates its changes to the minute and the lag is 30 seconds.
    MinuteClock,
    /// The clocks agree and the lag is a minute: the order lands in the next run.
    NextRun,
}

struct Setup {
    sim: ChannelSim,
    clock: SimClock,
    channel: Box<dyn SellingChannel>,
    store: StoreSync,
    state: Arc<SqliteState>,
    engine: SyncEngine,
    store_id: String,
}

fn zone(flavor: Flavor) -> Tz {
    match flavor {
        Flavor::SparkShipping => Tz::America__Chicago,
        Flavor::ListingMirror => Tz::UTC,
        Flavor::OrderTime => Tz::America__Denver,
    }
}

async fn setup(flavor: Flavor, landing: Landing, start: DateTime<Utc>, seed: u64) -> Setup {
    setup_with(flavor, landing, start, seed, |channel| channel).await
}

/// [`setup`], with the connector wrapped by `wrap`.
async fn setup_with(
    flavor: Flavor,
    landing: Landing,
    start: DateTime<Utc>,
    seed: u64,
    wrap: impl FnOnce(Box<dyn SellingChannel>) -> Box<dyn SellingChannel>,
) -> Setup {
    let clock = SimClock::fixed(start);
    let faults = Faults {
        shift_served_on_walk: 1,
        minute_clock: matches!(landing, Landing::MinuteClock),
        ..Faults::none()
    };
    let generator = GeneratorConfig {
        seed,
        days: 6,
        orders_per_day: 300,
        timezone: zone(flavor),
        // Rejected orders on a slice boundary cost a re-fetch of the earlier slice (a rejection
        // has no modification time), which would also repair the shifted walk by chance: the
        // next-run case has none, so that only the rule under test can repair it.
        invalid_share: if matches!(landing, Landing::NextRun) {
            0.0
        } else {
            0.05
        },
        ..GeneratorConfig::default()
    };
    let sim = ChannelSim::start(
        flavor,
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
    let channel = wrap(orderport::connect(&for_connector).unwrap());
    let mut store = setup.resolve(channel.spec()).unwrap();
    store.settings.history = Duration::days(3);
    store.settings.slice = Duration::days(1);
    let ahead = match landing {
        Landing::Skew => {
            // The overlap must cover the skew, or changes made just after a run are missed.
            store.settings.overlap = Duration::minutes(10);
            Duration::minutes(5)
        }
        Landing::MinuteClock => {
            store.settings.lag = Duration::seconds(30);
            Duration::zero()
        }
        Landing::NextRun => Duration::zero(),
    };
    let state = Arc::new(SqliteState::in_memory().unwrap());
    let engine = SyncEngine::new(state.clone()).with_clock(Arc::new(Skewed {
        sim: clock.clone(),
        ahead,
    }));
    Setup {
        store_id: config.id.clone(),
        sim,
        clock,
        channel,
        store,
        state,
        engine,
    }
}

impl Setup {
    async fn run(&self) -> RunReport {
        self.engine
            .run_store(
                self.channel.as_ref(),
                &self.store,
                &CancellationToken::new(),
            )
            .await
            .unwrap()
    }

    /// The order the fault moved: the one whose last modification is the server's change
    /// time (nothing else is modified exactly then).
    fn moved(&self, landing: Landing) -> String {
        let now = self.clock.now();
        let at = match landing {
            Landing::Skew | Landing::NextRun => now,
            Landing::MinuteClock => now.duration_trunc(Duration::minutes(1)).unwrap(),
        };
        let moved = self.sim.orders_visible(&self.store_id, at, at);
        assert_eq!(moved.len(), 1, "the fault fired once: {moved:?}");
        moved[0].clone()
    }

    /// Every order the simulator shows modified in `[from, upper]` is stored exactly once or
    /// quarantined, and nothing is stored twice.
    async fn assert_complete(&self, from: DateTime<Utc>, upper: DateTime<Utc>) -> usize {
        let visible: HashSet<String> = self
            .sim
            .orders_visible(&self.store_id, from, upper)
            .into_iter()
            .collect();
        let orders = self.state.orders_page(None, 0, 1_000_000).await.unwrap();
        let quarantine = self
            .state
            .quarantine_page(None, 0, 1_000_000)
            .await
            .unwrap();
        let stored: HashSet<String> = orders.iter().map(|o| o.order_number.clone()).collect();
        assert_eq!(stored.len(), orders.len(), "an order stored twice");
        let rejected: HashSet<String> = quarantine
            .iter()
            .filter_map(|q| q.order_number.clone())
            .collect();
        let mut missing: Vec<&String> = visible
            .iter()
            .filter(|n| !stored.contains(*n) && !rejected.contains(*n))
            .collect();
        missing.sort();
        assert!(
            missing.is_empty(),
            "{} of {} visible orders never imported: {missing:?}",
            missing.len(),
            visible.len()
        );
        visible.len()
    }

    /// The moved order is stored at its new modification time, found in the run's last slice.
    async fn assert_moved_is_current(&self, moved: &str, last_slice_from: DateTime<Utc>) {
        let modified = self.sim.last_modified(&self.store_id, moved).unwrap();
        assert!(
            modified >= last_slice_from,
            "{moved} lands in the run's last slice ({modified} >= {last_slice_from})"
        );
        let orders = self.state.orders_page(None, 0, 1_000_000).await.unwrap();
        if let Some(row) = orders.iter().find(|o| o.order_number == moved) {
            let stored = DateTime::parse_from_rfc3339(&row.modified_at)
                .unwrap()
                .to_utc();
            assert!(
                (stored - modified).num_seconds().abs() < 60,
                "{moved} stored at {stored}, modified at {modified}"
            );
        }
    }
}

/// A first sync of three daily slices; the walk of slice 1 is shifted and the moved order lands
/// in slice 3.
async fn first_sync(flavor: Flavor, landing: Landing, start: DateTime<Utc>) {
    let s = setup(flavor, landing, start, 11).await;
    let report = s.run().await;
    let upper = report.upper.unwrap();
    let lower = upper - s.store.settings.history;
    assert_eq!(report.slices, 3, "{report:?}");
    let moved = s.moved(landing);
    s.assert_moved_is_current(&moved, upper - Duration::days(1))
        .await;
    let visible = s.assert_complete(lower, upper).await;
    assert!(visible > 500, "{visible}");
    assert!(
        report.refetch_slices >= 1,
        "the shifted slice was fetched again: {report:?}"
    );
    s.sim.shutdown().await;
}

/// A channel whose pages come back out of order: each page request is served by the real
/// connector (so the server sees the requests in the order sent), then, except a walk's first
/// page, held back until a page asked for after it has completed, so fetched-ahead pages
/// complete before the page the engine waits for. The latest request so far is never held
/// (nothing asked after it could release it), so every page is released in turn, latest
/// first, with no timer: the order does not depend on how busy the machine is.
struct OutOfOrder {
    inner: Box<dyn SellingChannel>,
    seen: Arc<Completions>,
}

/// What [`OutOfOrder`] saw.
#[derive(Default)]
struct Completions {
    requested: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    completed: Mutex<Vec<usize>>,
    /// 1 + the latest request number completed so far (0: none).
    highest_done: AtomicUsize,
    done: tokio::sync::Notify,
}

impl Completions {
    /// Whether some request completed before one sent earlier.
    fn completed_out_of_order(&self) -> bool {
        self.completed
            .lock()
            .unwrap()
            .windows(2)
            .any(|pair| pair[1] < pair[0])
    }
}

#[async_trait]
impl SellingChannel for OutOfOrder {
    fn spec(&self) -> &'static ChannelSpec {
        self.inner.spec()
    }
    fn store(&self) -> &StoreProfile {
        self.inner.store()
    }
    async fn check_connection(&self) -> Result<(), ChannelError> {
        self.inner.check_connection().await
    }
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        token: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        let seen = &self.seen;
        let n = seen.requested.fetch_add(1, Ordering::SeqCst);
        let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let page = self.inner.fetch_page(window, token).await;
        if token.is_some() {
            loop {
                let notified = seen.done.notified();
                let later_done = seen.highest_done.load(Ordering::SeqCst) > n + 1;
                let latest = seen.requested.load(Ordering::SeqCst) == n + 1;
                if later_done || latest {
                    break;
                }
                notified.await;
            }
        }
        seen.completed.lock().unwrap().push(n);
        seen.highest_done.fetch_max(n + 1, Ordering::SeqCst);
        seen.done.notify_waiters();
        seen.in_flight.fetch_sub(1, Ordering::SeqCst);
        page
    }
    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        self.inner.push_shipment(update).await
    }
}

/// [`first_sync`] with pages fetched ahead (the store's default `pages_ahead`) and completing
/// out of order: the pages are committed in page order, the shifted walk is still detected and
/// fetched again, and nothing is lost or stored twice.
async fn first_sync_out_of_order(flavor: Flavor) {
    let seen = Arc::new(Completions::default());
    let wrap = {
        let seen = seen.clone();
        move |inner: Box<dyn SellingChannel>| -> Box<dyn SellingChannel> {
            Box::new(OutOfOrder { inner, seen })
        }
    };
    let s = setup_with(flavor, Landing::Skew, on_the_minute(), 11, wrap).await;
    assert!(s.channel.store().pages_ahead >= 2, "fetching ahead is on");
    let report = s.run().await;
    assert!(
        seen.most_in_flight.load(Ordering::SeqCst) >= 2,
        "pages were fetched ahead"
    );
    assert!(
        seen.completed_out_of_order(),
        "some page completed before one asked for earlier"
    );
    let upper = report.upper.unwrap();
    let lower = upper - s.store.settings.history;
    let moved = s.moved(Landing::Skew);
    s.assert_moved_is_current(&moved, upper - Duration::days(1))
        .await;
    let visible = s.assert_complete(lower, upper).await;
    assert!(visible > 500, "{visible}");
    assert!(report.refetch_slices >= 1, "{report:?}");
    s.sim.shutdown().await;
}

/// A first sync of one hour (one page), then three days of downtime: the catch-up run walks
/// four slices; the walk of its slice 1 is shifted and the moved order lands in its last slice.
async fn catch_up(flavor: Flavor, landing: Landing, start: DateTime<Utc>) {
    let mut s = setup(flavor, landing, start, 11).await;
    let history = s.store.settings.history;
    s.store.settings.history = Duration::hours(1);
    let first = s.run().await;
    assert_eq!(first.slices, 1);
    assert_eq!(
        first.pages, 1,
        "no multi-page walk before the catch-up: {first:?}"
    );
    let first_lower = first.upper.unwrap() - Duration::hours(1);
    s.store.settings.history = history;

    s.clock.advance(Duration::days(3));
    let report = s.run().await;
    let upper = report.upper.unwrap();
    assert!(report.slices >= 4, "{report:?}");
    let moved = s.moved(landing);
    s.assert_moved_is_current(&moved, upper - Duration::days(1))
        .await;
    let visible = s.assert_complete(first_lower, upper).await;
    assert!(visible > 500, "{visible}");
    assert!(report.refetch_slices >= 1, "{report:?}");
    s.sim.shutdown().await;
}

/// A first sync whose slice-1 walk is shifted, with clocks that agree: the moved order is after
/// the run's upper bound, so the next run finds it, recognises the walk it shifted (a walk of an
/// earlier run, by the clocks) and fetches that walk's whole window again: the row it skipped
/// may be anywhere in it (Custom Store lists newest first, Order Time by document number).
///
/// The seed is chosen so that the skipped row is outside `[old modified_at - overlap, walk
/// end]`, the part of the walk an earlier rule fetched again; the test checks that it is (the
/// generator's random streams change with `rand`'s majors, and with them which seeds qualify).
async fn next_run(flavor: Flavor, seed: u64) {
    let s = setup(flavor, Landing::NextRun, on_the_minute(), seed).await;
    let first = s.run().await;
    let lower = first.upper.unwrap() - s.store.settings.history;
    let slice_1_end = lower + s.store.settings.slice;
    let moved = s.moved(Landing::NextRun);
    assert!(
        s.sim.last_modified(&s.store_id, &moved).unwrap() > first.upper.unwrap(),
        "after the first run's range"
    );
    // After the first run: the moved order is stored at its old time, one row is missing.
    let orders = s.state.orders_page(None, 0, 1_000_000).await.unwrap();
    let stored: HashSet<&str> = orders.iter().map(|o| o.order_number.as_str()).collect();
    let old = orders
        .iter()
        .find(|o| o.order_number == moved)
        .map(|o| {
            DateTime::parse_from_rfc3339(&o.modified_at)
                .unwrap()
                .to_utc()
        })
        .expect("the moved order was stored by slice 1, before it moved");
    let missing: Vec<String> = s
        .sim
        .orders_visible(&s.store_id, lower, first.upper.unwrap())
        .into_iter()
        .filter(|n| !stored.contains(n.as_str()))
        .collect();
    assert_eq!(missing.len(), 1, "slice 1 skipped one row: {missing:?}");
    let skipped = s.sim.last_modified(&s.store_id, &missing[0]).unwrap();
    assert!(
        skipped < old - s.store.settings.overlap || skipped > slice_1_end,
        "the skipped row ({skipped}) is in [{old} - overlap, {slice_1_end}]: pick another seed"
    );

    s.clock.advance(Duration::minutes(30));
    let report = s.run().await;
    assert!(report.refetch_slices >= 1, "{report:?}");
    let upper = report.upper.unwrap();
    s.assert_moved_is_current(&moved, upper - Duration::days(1))
        .await;
    let visible = s.assert_complete(lower, upper).await;
    assert!(visible > 500, "{visible}");
    s.sim.shutdown().await;
}

/// 2026-03-20 12:00 UTC.
fn on_the_minute() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap()
}

/// 2026-03-20 12:00:45 UTC: a change made now is dated 12:00 by a minute clock, which is before
/// the run's upper bound (12:00:15 with a 30-second lag).
fn seconds_past_the_minute() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 45).unwrap()
}

macro_rules! for_each_channel {
    ($module:ident, $flavor:expr, $next_run_seed:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn shift_in_slice_k_of_a_first_sync_lands_in_a_later_slice() {
                first_sync($flavor, Landing::Skew, on_the_minute()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn shift_in_slice_k_of_a_catch_up_run_lands_in_a_later_slice() {
                catch_up($flavor, Landing::Skew, on_the_minute()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn shift_with_minute_truncated_times_lands_in_a_later_slice() {
                first_sync($flavor, Landing::MinuteClock, seconds_past_the_minute()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn shift_with_minute_truncated_times_in_a_catch_up_run() {
                catch_up($flavor, Landing::MinuteClock, seconds_past_the_minute()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn shift_with_pages_fetched_ahead_completing_out_of_order() {
                first_sync_out_of_order($flavor).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn shift_found_by_the_next_run_refetches_the_whole_walk() {
                next_run($flavor, $next_run_seed).await;
            }
        }
    };
}

for_each_channel!(spark_shipping, Flavor::SparkShipping, 1);
for_each_channel!(listing_mirror, Flavor::ListingMirror, 11);
for_each_channel!(order_time, Flavor::OrderTime, 11);
