//! Stopping (SIGTERM, Ctrl-C): cancellation cuts a request in flight, a connector's internal
//! retry wait and a pacer wait short, keeps what was committed and releases the
//! lease. Time is tokio's paused clock, so "promptly" is measured in virtual time, exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Duration;
use common::*;
use orderport_core::{
    ChannelError, ChannelSpec, Page, PageToken, SellingChannel, ShipmentUpdate, StoreProfile,
    StoreZone, TimeWindow,
};
use orderport_http::{GapPacer, Pace};
use orderport_sync::{
    CancellationToken, LeaseGrant, ScheduledStore, Scheduler, SchedulerOptions, State,
};

fn cancel_after(after: StdDuration) -> CancellationToken {
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        stop.cancel();
    });
    cancel
}

/// The first page is served, the second request stalls for an hour (a long `Retry-After`
/// inside the connector): cancelling two seconds in returns at once, with the first page
/// committed, the run marked cancelled, and the lease free for another worker.
#[tokio::test(start_paused = true)]
async fn cancelling_during_a_long_back_off_returns_promptly_and_keeps_the_committed_page() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let inner = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 1);
    // Two orders in the oldest slice of the 90-day first run: two pages.
    for (i, id) in ["a", "b"].into_iter().enumerate() {
        inner.put(FakeOrder::new(
            id,
            "paid",
            now - Duration::days(90) + Duration::hours(1 + i as i64),
        ));
    }
    let channel = Stalling {
        inner,
        stall_from: 1,
        calls: AtomicUsize::new(0),
        forever: false,
    };
    let cancel = cancel_after(StdDuration::from_secs(2));
    let started = tokio::time::Instant::now();
    let report = h
        .engine
        .run_store(&channel, &store_sync(&SPEC_SECONDS), &cancel)
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited < StdDuration::from_secs(10),
        "the back-off was not cut short: {waited:?}"
    );
    assert!(report.cancelled);
    assert_eq!(report.pages, 1);
    let orders = h.orders().await;
    assert_eq!(
        orders.len(),
        1,
        "the page in hand before the stall is committed"
    );
    assert_eq!(orders[0].external_id, "a");
    // Released: another owner takes the store at once.
    let grant = h
        .state
        .acquire_lease("store-1", "someone-else", Duration::minutes(10), now)
        .await
        .unwrap();
    assert!(matches!(grant, LeaseGrant::Granted(_)), "{grant:?}");
}

/// The engine makes one attempt per page (retries are the HTTP layer's, per request): a page
/// that fails, even with a 429, fails the run at once, without waiting, and the lease is free.
#[tokio::test(start_paused = true)]
async fn a_failed_page_is_not_retried_by_the_engine() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let channel = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 10);
    channel
        .fail_next
        .lock()
        .unwrap()
        .push(ChannelError::RateLimited {
            store: "store-1".into(),
            retry_after: Some(STALL),
        });
    let started = tokio::time::Instant::now();
    let err = h
        .engine
        .run_store(
            &channel,
            &store_sync(&SPEC_SECONDS),
            &CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < StdDuration::from_secs(1));
    assert!(
        matches!(err, orderport_sync::SyncError::Channel { .. }),
        "{err}"
    );
    assert_eq!(
        channel.attempts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one attempt per page"
    );
    let grant = h
        .state
        .acquire_lease("store-1", "someone-else", Duration::minutes(10), now)
        .await
        .unwrap();
    assert!(matches!(grant, LeaseGrant::Granted(_)), "{grant:?}");
}

/// A channel whose every request first waits on a pacer shared by its credential, as
/// `orderport::layer::PaceLayer` paces an HTTP client.
struct Paced {
    inner: FakeChannel,
    pacer: Arc<GapPacer>,
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
        Ok(())
    }
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        self.pacer.wait().await;
        self.inner.fetch_page(window, page).await
    }
    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        self.inner.push_shipment(update).await
    }
}

/// Two stores share a credential paced at one request an hour: the second store's first
/// request waits in the pacer. Cancelling returns from `run_once` at once, and a store that
/// had not started yet (one at a time) is reported cancelled without being run.
#[tokio::test(start_paused = true)]
async fn cancelling_cuts_the_pacer_wait_and_skips_stores_not_started() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let engine = Arc::new(
        orderport_sync::SyncEngine::new(h.state.clone()).with_clock(Arc::new(h.clock.clone())),
    );
    let pacer = Arc::new(GapPacer::new(STALL));
    let store = |id: &str| {
        let mut channel = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 10);
        channel.profile.id = id.into();
        ScheduledStore {
            channel: Arc::new(Paced {
                inner: channel,
                pacer: pacer.clone(),
            }),
            sync: store_sync(&SPEC_SECONDS),
        }
    };
    let scheduler = Scheduler::new(
        engine,
        vec![store("s1"), store("s2"), store("s3")],
        SchedulerOptions { max_concurrent: 2 },
    );
    let cancel = cancel_after(StdDuration::from_secs(2));
    let started = tokio::time::Instant::now();
    let results = scheduler.run_once(&cancel).await;
    assert!(started.elapsed() < StdDuration::from_secs(10));
    let reports: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert!(reports.iter().all(|r| r.cancelled), "{reports:?}");
    assert_eq!(reports[2].store_id, "s3");
    assert_eq!(reports[2].pages, 0);
    // Every lease is free again.
    for id in ["s1", "s2", "s3"] {
        let grant = h
            .state
            .acquire_lease(id, "someone-else", Duration::minutes(10), now)
            .await
            .unwrap();
        assert!(matches!(grant, LeaseGrant::Granted(_)), "{id}: {grant:?}");
    }
}
