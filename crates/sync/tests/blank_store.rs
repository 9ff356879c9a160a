//! A run over a blank store (`State::is_blank`): its pages of orders it has not written are
//! committed without lookups, each commit checking that assumption, and a refused page is
//! walked again with lookups (docs/sync.md, "A first sync without lookups").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use chrono::Duration;
use common::*;
use orderport_core::{CanonicalStatus, ShipmentKind, StoreZone};
use orderport_sync::StatusEvent;

/// Each order's changes in outbox order, as (from, to).
fn changes(
    events: &[StatusEvent],
) -> BTreeMap<String, Vec<(Option<CanonicalStatus>, CanonicalStatus)>> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for e in events {
        out.entry(e.key.external_id.clone())
            .or_default()
            .push((e.from, e.to));
    }
    out
}

/// A first sync of a blank store asks no lookup: every page holds orders the run has not
/// written, and each lands (none refused), one "new" event per order.
#[tokio::test]
async fn a_blank_stores_first_sync_asks_no_lookup() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 4);
    for i in 0..40 {
        let raw = if i % 3 == 0 { "shipped" } else { "paid" };
        ch.put(FakeOrder::new(
            format!("o{i}"),
            raw,
            inside(now, 80 - 2 * i),
        ));
    }
    let (state, engine) = counted(&h, ActionBeforeCommit::new(h.state.clone()));
    let r = run_once(&engine, &ch).await;
    assert_eq!((r.new, r.events), (40, 40));
    assert_eq!(
        state.lookups.load(Ordering::SeqCst),
        0,
        "no page needed a lookup"
    );
    assert_eq!(state.refused.load(Ordering::SeqCst), 0);
    assert_eq!(h.orders().await.len(), 40);
    let changes = changes(&h.events().await);
    assert_eq!(changes.len(), 40);
    assert!(changes.values().all(|c| c.len() == 1 && c[0].0.is_none()));

    // The next run finds the store stored: every page of orders is looked up.
    h.clock.advance(Duration::minutes(30));
    ch.put(FakeOrder::new("o1", "shipped", now + Duration::minutes(5)));
    ch.put(FakeOrder::new("late", "paid", now + Duration::minutes(6)));
    let r = run_once(&engine, &ch).await;
    assert_eq!((r.new, r.updated, r.events), (1, 1, 2));
    assert!(state.lookups.load(Ordering::SeqCst) >= 1);
    let o1 = &self::changes(&h.events().await)["o1"];
    assert_eq!(
        o1,
        &[
            (None, CanonicalStatus::AwaitingShipment),
            (
                Some(CanonicalStatus::AwaitingShipment),
                CanonicalStatus::Shipped
            )
        ]
    );
}

/// An order the run wrote and lists again later in the same run (it moved to a later slice
/// during the first sync) is looked up on its page: its second event comes from the status
/// stored, and the check in the commit never had to refuse a page.
#[tokio::test]
async fn an_order_the_run_wrote_is_looked_up_when_listed_again() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 4);
    ch.put(FakeOrder::new("mover", "paid", inside(now, 85)));
    for i in 0..20 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            inside(now, 60 - 2 * i),
        ));
    }
    // Twenty slices in (past day -85, before day -10), the order ships and moves to day -10.
    let moved_to = inside(now, 10);
    *ch.on_page.lock().unwrap() = Some(Box::new(move |n, data: &mut Vec<FakeOrder>| {
        if n == 20 {
            if let Some(o) = data.iter_mut().find(|o| o.id == "mover") {
                o.raw_status = "shipped".into();
                o.modified_at = moved_to;
            }
        }
    }));
    let (state, engine) = counted(&h, ActionBeforeCommit::new(h.state.clone()));
    let r = run_once(&engine, &ch).await;
    assert_eq!((r.new, r.updated), (21, 1));
    assert_eq!(
        state.lookups.load(Ordering::SeqCst),
        1,
        "only the page listing the order again is looked up"
    );
    assert_eq!(
        state.refused.load(Ordering::SeqCst),
        0,
        "the engine knew it had written the order: no commit was refused"
    );
    assert_eq!(
        self::changes(&h.events().await)["mover"],
        [
            (None, CanonicalStatus::AwaitingShipment),
            (
                Some(CanonicalStatus::AwaitingShipment),
                CanonicalStatus::Shipped
            )
        ]
    );
    assert_eq!(h.orders().await.len(), 21);
}

/// A label recorded during a blank store's first sync for an order not imported yet: the next
/// page committed without lookups is refused whole, the run walks on from the cursor with
/// lookups, and the order's shipped event says a label was recorded. Nothing is lost or
/// stored twice, and the run succeeds.
#[tokio::test]
async fn a_label_recorded_during_a_blank_stores_first_sync_is_on_the_shipped_event() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 3);
    for i in 0..30 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            inside(now, 80 - 2 * i),
        ));
    }
    ch.put(FakeOrder::new("boxed", "shipped", inside(now, 5)));
    let label = shipment("boxed", ShipmentKind::Label, Some(inside(now, 6)));
    let (state, engine) = counted(
        &h,
        ActionBeforeCommit {
            pending_shipment: Mutex::new(Some(("store-1".into(), label))),
            ..ActionBeforeCommit::new(h.state.clone())
        },
    );
    let r = run_once(&engine, &ch).await;
    assert_eq!(
        state.refused.load(Ordering::SeqCst),
        1,
        "the first page committed without lookups after the label is refused"
    );
    assert!(state.lookups.load(Ordering::SeqCst) >= 1);
    assert_eq!(r.watermark_after, Some(now - Duration::minutes(1)));
    assert_eq!(h.orders().await.len(), 31);
    let events = h.events().await;
    let changes = changes(&events);
    assert_eq!(changes.len(), 31);
    assert!(
        changes.values().all(|c| c.len() == 1 && c[0].0.is_none()),
        "one new event per order: {changes:?}"
    );
    let boxed = events
        .iter()
        .find(|e| e.key.external_id == "boxed")
        .unwrap();
    assert_eq!(boxed.to, CanonicalStatus::Shipped);
    assert!(boxed.label, "the label recorded mid-sync is on the event");
}

/// A store with only a shipment (a label recorded before its first sync) is not blank: its
/// first sync looks every page up and no commit is refused.
#[tokio::test]
async fn a_store_with_only_a_shipment_is_looked_up() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 5);
    for i in 0..10 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            inside(now, 40 - 2 * i),
        ));
    }
    ch.put(FakeOrder::new("boxed", "shipped", inside(now, 5)));
    let (state, engine) = counted(&h, ActionBeforeCommit::new(h.state.clone()));
    engine
        .record_shipment(
            "store-1",
            &shipment("boxed", ShipmentKind::Label, Some(inside(now, 6))),
        )
        .await
        .unwrap();
    run_once(&engine, &ch).await;
    assert_eq!(
        state.lookups.load(Ordering::SeqCst),
        11,
        "one lookup per page of orders"
    );
    assert_eq!(state.refused.load(Ordering::SeqCst), 0);
    let events = h.events().await;
    assert_eq!(events.len(), 11);
    assert!(events
        .iter()
        .any(|e| e.key.external_id == "boxed" && e.label));
}
