//! Platform actions through the engine against a scripted channel: one event per action, none
//! for a repeat, a hold's expiry as one more, and the precedence rules for channel reports
//! that arrive later (crates/sync/src/platform.rs; docs/sync.md, "Platform actions").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use orderport_core::{CanonicalStatus, OrderRef, StoreZone};
use orderport_sync::{PlatformAction, PlatformError, PlatformMark, StatusEvent, StoreSync};

use CanonicalStatus::*;

fn by_number(id: &str) -> OrderRef {
    OrderRef {
        external_id: None,
        order_number: format!("#{id}"),
    }
}

/// (from, to) of the events of `id`, in outbox order.
fn changes(events: &[StatusEvent], id: &str) -> Vec<(Option<CanonicalStatus>, CanonicalStatus)> {
    events
        .iter()
        .filter(|e| e.key.external_id == id)
        .map(|e| (e.from, e.to))
        .collect()
}

/// A store whose channel has order `a` with `raw` status, after its first sync.
async fn synced(raw: &str) -> (Harness, FakeChannel, StoreSync) {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 5);
    let sync = store_sync(&SPEC_SECONDS);
    ch.put(FakeOrder::new("a", raw, now - Duration::hours(1)));
    h.run(&ch, &sync).await;
    (h, ch, sync)
}

async fn stored_status(h: &Harness, id: &str) -> String {
    h.orders()
        .await
        .into_iter()
        .find(|o| o.external_id == id)
        .unwrap()
        .status
}

/// A channel change of `id` to `raw` a few minutes before the next run.
fn report(h: &Harness, ch: &FakeChannel, id: &str, raw: &str, note: &str) {
    use orderport_sync::Clock;
    h.clock.advance(Duration::minutes(30));
    let mut o = FakeOrder::new(id, raw, h.clock.now() - Duration::minutes(5));
    o.note = note.into();
    ch.put(o);
}

#[tokio::test]
async fn a_hold_gives_one_event_holds_against_the_channel_and_its_expiry_gives_one_more() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let (h, ch, sync) = synced("paid").await;

    let until = now + Duration::days(2);
    let held = h
        .engine
        .record_platform_action("store-1", &by_number("a"), PlatformAction::Hold { until })
        .await
        .unwrap();
    assert_eq!((held.from, held.to), (AwaitingShipment, OnHold));
    assert!(held.event_id.is_some());
    // The same hold again, to a later date: no second event, the end moves.
    let later = until + Duration::days(1);
    let again = h
        .engine
        .record_platform_action(
            "store-1",
            &by_number("a"),
            PlatformAction::Hold { until: later },
        )
        .await
        .unwrap();
    assert_eq!(again.event_id, None);
    assert_eq!(again.mark, Some(PlatformMark::Hold { until: later }));

    // The channel, which knows nothing of the hold, reports a change still "paid": stored,
    // no event, still on hold.
    report(&h, &ch, "a", "paid", "gift note added");
    let r = h.run(&ch, &sync).await;
    assert_eq!((r.updated, r.events, r.holds_expired), (1, 0, 0));
    assert_eq!(stored_status(&h, "a").await, "on_hold");

    // Past the first end but not the second: still held.
    h.clock.set(until + Duration::hours(1));
    let r = h.run(&ch, &sync).await;
    assert_eq!(r.holds_expired, 0);
    // Past the end: back to awaiting shipment, one event at the hold's end.
    h.clock.set(later + Duration::minutes(1));
    let r = h.run(&ch, &sync).await;
    assert_eq!((r.holds_expired, r.events), (1, 1));
    let r = h.run(&ch, &sync).await;
    assert_eq!(r.holds_expired, 0, "a hold expires once");
    let events = h.events().await;
    assert_eq!(
        changes(&events, "a"),
        [
            (None, AwaitingShipment),
            (Some(AwaitingShipment), OnHold),
            (Some(OnHold), AwaitingShipment)
        ]
    );
    assert_eq!(events.last().unwrap().at, later);
    assert_eq!(stored_status(&h, "a").await, "awaiting_shipment");
}

#[tokio::test]
async fn the_channel_shipping_or_cancelling_a_held_order_ends_the_hold() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let (h, ch, sync) = synced("paid").await;
    let until = now + Duration::days(1);
    h.engine
        .record_platform_action("store-1", &by_number("a"), PlatformAction::Hold { until })
        .await
        .unwrap();
    report(&h, &ch, "a", "shipped", "");
    let r = h.run(&ch, &sync).await;
    assert_eq!(r.events, 1);
    h.clock.set(until + Duration::hours(1));
    let r = h.run(&ch, &sync).await;
    assert_eq!(
        (r.holds_expired, r.events),
        (0, 0),
        "no expiry after the channel shipped"
    );
    assert_eq!(
        changes(&h.events().await, "a"),
        [
            (None, AwaitingShipment),
            (Some(AwaitingShipment), OnHold),
            (Some(OnHold), Shipped)
        ]
    );
}

#[tokio::test]
async fn mark_paid_gives_one_event_and_a_lagging_channel_does_not_roll_it_back() {
    let (h, ch, sync) = synced("unpaid").await;
    let paid = h
        .engine
        .record_platform_action("store-1", &by_number("a"), PlatformAction::MarkPaid)
        .await
        .unwrap();
    assert!(paid.event_id.is_some());
    let twice = h
        .engine
        .record_platform_action("store-1", &by_number("a"), PlatformAction::MarkPaid)
        .await
        .unwrap();
    assert_eq!(
        twice.event_id, None,
        "a duplicate mark-paid writes no event"
    );
    // The channel still says unpaid: no rollback, no event.
    report(&h, &ch, "a", "unpaid", "address fixed");
    let r = h.run(&ch, &sync).await;
    assert_eq!((r.updated, r.events), (1, 0));
    assert_eq!(stored_status(&h, "a").await, "awaiting_shipment");
    // The channel catches up: no event, the mark is done.
    report(&h, &ch, "a", "paid", "");
    assert_eq!(h.run(&ch, &sync).await.events, 0);
    assert_eq!(
        changes(&h.events().await, "a"),
        [
            (None, AwaitingPayment),
            (Some(AwaitingPayment), AwaitingShipment)
        ]
    );
}

#[tokio::test]
async fn cancel_gives_one_event_and_the_channel_cannot_revive_the_order() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 5);
    let sync = store_sync(&SPEC_SECONDS);
    ch.put(FakeOrder::new("a", "paid", now - Duration::hours(1)));
    ch.put(FakeOrder::new("s", "shipped", now - Duration::hours(1)));
    h.run(&ch, &sync).await;
    let cancelled = h
        .engine
        .record_platform_action("store-1", &by_number("a"), PlatformAction::Cancel)
        .await
        .unwrap();
    assert_eq!(cancelled.to, Cancelled);
    let twice = h
        .engine
        .record_platform_action("store-1", &by_number("a"), PlatformAction::Cancel)
        .await
        .unwrap();
    assert_eq!(twice.event_id, None);
    report(&h, &ch, "a", "paid", "late edit");
    let r = h.run(&ch, &sync).await;
    assert_eq!((r.updated, r.events), (1, 0));
    assert_eq!(stored_status(&h, "a").await, "cancelled");
    assert_eq!(
        changes(&h.events().await, "a"),
        [
            (None, AwaitingShipment),
            (Some(AwaitingShipment), Cancelled)
        ]
    );

    // Refusals write nothing: a shipped order cannot be cancelled, an unknown one is named.
    let before = h.events().await.len();
    let refused = h
        .engine
        .record_platform_action("store-1", &by_number("s"), PlatformAction::Cancel)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PlatformError::Refused { .. }),
        "{refused}"
    );
    let text = refused.to_string();
    assert!(
        text.contains("store-1") && text.contains("#s") && text.contains("shipped"),
        "{text}"
    );
    let missing = h
        .engine
        .record_platform_action("store-1", &by_number("nope"), PlatformAction::MarkPaid)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, PlatformError::NotFound { .. }),
        "{missing}"
    );
    assert!(missing.to_string().contains("#nope"), "{missing}");
    assert_eq!(h.events().await.len(), before);
    assert_eq!(stored_status(&h, "s").await, "shipped");
}

#[tokio::test]
async fn a_label_on_a_held_order_ships_it_and_no_expiry_follows() {
    use orderport_core::ShipmentKind;
    let now = t(2026, 6, 1, 12, 0, 0);
    let (h, ch, sync) = synced("paid").await;
    let until = now + Duration::days(1);
    h.engine
        .record_platform_action("store-1", &by_number("a"), PlatformAction::Hold { until })
        .await
        .unwrap();
    let update = shipment("a", ShipmentKind::Label, None);
    h.engine.record_shipment("store-1", &update).await.unwrap();
    h.clock.set(until + Duration::hours(1));
    let r = h.run(&ch, &sync).await;
    assert_eq!(r.holds_expired, 0);
    assert_eq!(
        changes(&h.events().await, "a"),
        [
            (None, AwaitingShipment),
            (Some(AwaitingShipment), OnHold),
            (Some(OnHold), Shipped)
        ]
    );
}

/// A hold that lands after the engine looked the page's orders up and before it commits: the
/// page, decided on the order's old status, is refused whole (no rollback of the hold, no
/// event from the page), and the next run stores the report under the hold.
#[tokio::test]
async fn a_page_decided_before_a_concurrent_hold_is_refused_and_the_hold_stands() {
    use orderport_sync::{
        Clock, NewEvent, PlatformWrite, State, StateError, SyncEngine, SyncError,
    };
    use std::sync::{Arc, Mutex};
    let (h, ch, sync) = synced("paid").await;
    let order = h
        .state
        .find_order("store-1", &by_number("a"))
        .await
        .unwrap()
        .unwrap();
    let until = h.clock.now() + Duration::days(2);
    let hold = PlatformWrite {
        store_id: "store-1".into(),
        key: order.key(),
        expect: (AwaitingShipment, None),
        status: OnHold,
        platform: Some(PlatformMark::Hold { until }),
        event: Some(NewEvent::change(
            &order,
            Some(AwaitingShipment),
            OnHold,
            h.clock.now(),
            false,
        )),
        at: h.clock.now(),
    };
    let racing = SyncEngine::new(Arc::new(ActionBeforeCommit {
        pending: Mutex::new(Some(hold)),
        ..ActionBeforeCommit::new(h.state.clone())
    }))
    .with_clock(Arc::new(h.clock.clone()));
    report(&h, &ch, "a", "paid", "edited in the channel");
    let failed = racing
        .run_store(&ch, &sync, &orderport_sync::CancellationToken::new())
        .await;
    assert!(
        matches!(failed, Err(SyncError::State(StateError::Conflict { .. }))),
        "{failed:?}"
    );
    assert_eq!(stored_status(&h, "a").await, "on_hold");
    assert_eq!(
        changes(&h.events().await, "a"),
        [(None, AwaitingShipment), (Some(AwaitingShipment), OnHold)]
    );
    // The next run decides again, under the hold: the edit is stored, no event.
    let r = h.run(&ch, &sync).await;
    assert_eq!((r.updated, r.events), (1, 0));
    assert_eq!(stored_status(&h, "a").await, "on_hold");
}
