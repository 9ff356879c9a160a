//! Releases from quarantine: a run that finds its store's quarantine empty
//! (`State::quarantine_is_empty`) releases only the orders it quarantined itself; one that
//! finds orders quarantined releases every order of every page (docs/sync.md, "Quarantine").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;

use chrono::Duration;
use common::*;
use orderport_core::StoreZone;

/// A first sync: "odd" is quarantined on its old day's page, then (the channel changed while
/// the run walked) listed valid on a later day's page of the same run, and released there. No
/// other order of any page is sent for release: the store's quarantine was empty as the run
/// began, so only what the run quarantined can be in it.
#[tokio::test]
async fn a_run_that_found_the_quarantine_empty_releases_only_what_it_quarantined() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 4);
    ch.put(FakeOrder::new("odd", "mystery", inside(now, 80)));
    for i in 0..30 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            inside(now, 85 - 2 * i),
        ));
    }
    // Halfway through the walk, "odd" is fixed and modified: it moves to day 5 ago.
    let moved = inside(now, 5);
    *ch.on_page.lock().unwrap() = Some(Box::new(move |n, data| {
        if n == 45 {
            data.retain(|o| o.id != "odd");
            data.push(FakeOrder::new("odd", "paid", moved));
        }
    }));
    let (state, engine) = counted(&h, ActionBeforeCommit::new(h.state.clone()));
    let r = run_once(&engine, &ch).await;
    assert_eq!(r.rejected, 1, "odd was quarantined on its first page");
    assert_eq!(r.new, 31, "every order stored, odd on its later page");
    assert!(
        h.quarantine().await.is_empty(),
        "odd, listed valid later in the same run, must leave the quarantine"
    );
    assert_eq!(
        state.released.load(Ordering::SeqCst),
        1,
        "only odd is sent for release: nothing else of the store was quarantined"
    );
}

/// A run that finds orders of its store quarantined (by an earlier run) sends every order of
/// its pages for release, and the one quarantined before leaves the quarantine.
#[tokio::test]
async fn a_run_that_found_orders_quarantined_releases_every_order() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 4);
    ch.put(FakeOrder::new("odd", "mystery", now - Duration::hours(1)));
    let (state, engine) = counted(&h, ActionBeforeCommit::new(h.state.clone()));
    run_once(&engine, &ch).await;
    assert_eq!(h.quarantine().await.len(), 1);
    assert_eq!(state.released.load(Ordering::SeqCst), 0);

    h.clock.advance(Duration::minutes(30));
    ch.put(FakeOrder::new("odd", "paid", now + Duration::minutes(5)));
    ch.put(FakeOrder::new("late", "paid", now + Duration::minutes(6)));
    let r = run_once(&engine, &ch).await;
    assert_eq!(r.new, 2);
    assert!(h.quarantine().await.is_empty());
    assert_eq!(
        state.released.load(Ordering::SeqCst),
        2,
        "both orders of the page are sent for release: the run cannot know which is quarantined"
    );
}
