//! Servers that never stop paging, and settings that once overflowed the calendar: the run
//! ends with a clear error (or no work), the lease is released and the watermark stays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use chrono::Duration;
use common::*;
use orderport_core::{
    ChannelError, ChannelSpec, Page, PageToken, SellingChannel, ShipmentUpdate, StoreProfile,
    StoreZone, TimeWindow,
};
use orderport_sync::{CancellationToken, LeaseGrant, State, SyncError};

/// An Order Time-like channel gone wrong: every page is full, so every page points to the next
/// one, and the rows are those of `rows(page)`.
struct Looping {
    inner: FakeChannel,
    rows: fn(u32) -> std::ops::Range<u32>,
    requests: AtomicU32,
}

impl Looping {
    fn new(rows: fn(u32) -> std::ops::Range<u32>, max_pages: u32) -> Self {
        let mut inner = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 3);
        inner.profile.max_pages_per_window = max_pages;
        Self {
            inner,
            rows,
            requests: AtomicU32::new(0),
        }
    }
}

#[async_trait]
impl SellingChannel for Looping {
    fn spec(&self) -> &'static ChannelSpec {
        self.inner.spec
    }
    fn store(&self) -> &StoreProfile {
        &self.inner.profile
    }
    async fn check_connection(&self) -> Result<(), ChannelError> {
        Ok(())
    }
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let n: u32 = page.map_or(1, |t| t.as_str().parse().unwrap());
        let outcomes = (self.rows)(n)
            .map(|i| {
                self.inner
                    .order(&FakeOrder::new(format!("o{i}"), "paid", window.from()))
            })
            .collect();
        Ok(Page::new(
            outcomes,
            Some(PageToken::new((n + 1).to_string())),
        ))
    }
    async fn push_shipment(&self, _update: &ShipmentUpdate) -> Result<(), ChannelError> {
        Ok(())
    }
}

/// Runs `channel` once after a good first run; returns the error, and checks the watermark did
/// not move and the lease can be taken at once by another worker.
async fn fails_and_releases(channel: &Looping) -> String {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let sync = store_sync(&SPEC_SECONDS);
    let good = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 3);
    good.put(FakeOrder::new("a", "paid", now - Duration::hours(1)));
    h.run(&good, &sync).await;
    let before = h.state.cursors().await.unwrap()[0].watermark.clone();

    h.clock.advance(Duration::minutes(30));
    let error = h
        .engine
        .run_store(channel, &sync, &CancellationToken::new())
        .await
        .unwrap_err();
    let SyncError::Channel { source, .. } = &error else {
        panic!("expected a channel error, got {error:?}");
    };
    assert!(
        matches!(**source, ChannelError::Protocol { .. }),
        "{source:?}"
    );
    assert_eq!(
        h.state.cursors().await.unwrap()[0].watermark,
        before,
        "the watermark did not move"
    );
    let taken = h
        .state
        .acquire_lease(
            "store-1",
            "another-worker",
            Duration::minutes(10),
            now + Duration::minutes(31),
        )
        .await
        .unwrap();
    assert!(
        matches!(taken, LeaseGrant::Granted(_)),
        "the lease was released: {taken:?}"
    );
    let text = error.to_string();
    assert!(text.contains("store-1"), "{text}");
    text
}

#[tokio::test]
async fn the_same_full_page_forever_fails_the_run_and_releases_the_lease() {
    let channel = Looping::new(|_| 0..3, 10_000);
    let text = fails_and_releases(&channel).await;
    assert!(text.contains("makes no progress"), "{text}");
    assert!(text.contains("repeats the 3 orders of page 1"), "{text}");
    assert_eq!(channel.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_walk_past_the_page_limit_fails_the_run_and_releases_the_lease() {
    let channel = Looping::new(|n| n * 3..n * 3 + 3, 40);
    let text = fails_and_releases(&channel).await;
    assert!(
        text.contains("needs more than max_pages_per_window = 40 pages"),
        "{text}"
    );
    assert!(text.contains("raise max_pages_per_window"), "{text}");
    assert_eq!(channel.requests.load(Ordering::SeqCst), 40);
}

/// Issue 11, item 11: `sync_overlap = "99999999999999s"` passed the first run and panicked in
/// every later one (`watermark - overlap`); a history of 999999999 days panicked at once.
/// `resolve` now refuses both, and the engine's own arithmetic is checked even for settings
/// built by hand: the window simply starts at the calendar's first instant.
#[tokio::test]
async fn absurd_settings_built_by_hand_do_not_panic() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 5);
    ch.put(FakeOrder::new("a", "paid", now - Duration::hours(1)));
    let mut sync = store_sync(&SPEC_SECONDS);
    sync.settings.history = Duration::days(999_999_999);
    sync.settings.slice = Duration::MAX;
    let first = h.run(&ch, &sync).await;
    assert_eq!(first.new, 1);
    sync.settings.history = Duration::days(90);
    sync.settings.overlap = Duration::seconds(99_999_999_999_999);
    for _ in 0..2 {
        h.clock.advance(Duration::minutes(30));
        ch.put(FakeOrder::new(
            "a",
            "shipped",
            h_now(&h) - Duration::minutes(5),
        ));
        let r = h.run(&ch, &sync).await;
        assert_eq!(r.updated, 1, "{r:?}");
    }
    // A lag that puts the upper bound before the calendar: nothing to fetch, no panic.
    sync.settings.lag = Duration::MAX;
    let r = h.run(&ch, &sync).await;
    assert_eq!((r.upper, r.slices), (None, 0));
}

fn h_now(h: &Harness) -> chrono::DateTime<chrono::Utc> {
    use orderport_sync::Clock;
    h.clock.now()
}
