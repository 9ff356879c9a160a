//! Split labels through the engine: an order ships when labels cover every unit, once, with
//! the label that covers the last unit; parts, repeats, misfits, marked-only shipments and a
//! label recorded concurrently by another process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use chrono::Duration;
use common::*;
use orderport_core::{
    CanonicalStatus, FulfilmentError, OrderRef, ShipmentKind, ShipmentScope, ShipmentUpdate,
    ShippedItem, StoreZone,
};
use orderport_sync::{Clock, SyncEngine, SyncError};

/// A label for some items of order `id`, with its own tracking number.
fn part(
    id: &str,
    tracking: &str,
    items: &[(&str, u32)],
    at: chrono::DateTime<chrono::Utc>,
) -> ShipmentUpdate {
    ShipmentUpdate {
        tracking_number: tracking.into(),
        scope: ShipmentScope::Partial(
            items
                .iter()
                .map(|(sku, quantity)| ShippedItem {
                    line_id: None,
                    sku: (*sku).into(),
                    name: None,
                    quantity: *quantity,
                })
                .collect(),
        ),
        ..shipment(id, ShipmentKind::Label, Some(at))
    }
}

/// Order `a` (2 MUG, 1 TEE) synced and awaiting shipment.
async fn synced() -> (Harness, FakeChannel) {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 5);
    ch.put(
        FakeOrder::new("a", "paid", now - Duration::hours(1)).with_items(&[("MUG", 2), ("TEE", 1)]),
    );
    h.run(&ch, &store_sync(&SPEC_SECONDS)).await;
    (h, ch)
}

fn shipped_events(events: &[orderport_sync::StatusEvent]) -> Vec<&orderport_sync::StatusEvent> {
    events
        .iter()
        .filter(|e| e.to == CanonicalStatus::Shipped)
        .collect()
}

#[tokio::test]
async fn the_label_covering_the_last_unit_ships_the_order_once() {
    let (h, ch) = synced().await;
    let now = h.clock.now();
    let first = h
        .engine
        .record_shipment("store-1", &part("a", "1Z-1", &[("MUG", 1)], now))
        .await
        .unwrap();
    assert_eq!(first.event, None, "a part ships nothing");
    assert_eq!(first.fulfilment.as_ref().map(|f| f.units()), Some((1, 3)));
    assert_eq!(h.orders().await[0].status, "awaiting_shipment");
    assert!(shipped_events(&h.events().await).is_empty());

    let last_at = now + Duration::minutes(20);
    let second = h
        .engine
        .record_shipment(
            "store-1",
            &part("a", "1Z-2", &[("TEE", 1), ("MUG", 1)], last_at),
        )
        .await
        .unwrap();
    assert!(second.event.is_some(), "the last part ships the order");
    let f = second.fulfilment.unwrap();
    assert!(f.is_complete());
    assert_eq!((f.units(), f.labels()), ((3, 3), 2));
    assert_eq!(h.orders().await[0].status, "shipped");
    let events = h.events().await;
    let shipped = shipped_events(&events);
    assert_eq!(shipped.len(), 1);
    assert!(shipped[0].label, "labels shipped it: Order Shipped is sent");
    assert_eq!(shipped[0].at, last_at, "dated at the last part's label");

    // The channel then reports it shipped: no second event.
    h.clock.advance(Duration::minutes(30));
    ch.put(
        FakeOrder::new("a", "shipped", now + Duration::minutes(25))
            .with_items(&[("MUG", 2), ("TEE", 1)]),
    );
    h.run(&ch, &store_sync(&SPEC_SECONDS)).await;
    assert_eq!(shipped_events(&h.events().await).len(), 1);
}

#[tokio::test]
async fn a_repeated_part_counts_once_and_does_not_ship_the_order() {
    let (h, _ch) = synced().await;
    let now = h.clock.now();
    let label = part("a", "1Z-1", &[("MUG", 2)], now);
    h.engine.record_shipment("store-1", &label).await.unwrap();
    let again = h.engine.record_shipment("store-1", &label).await.unwrap();
    assert_eq!(again.event, None);
    assert_eq!(again.fulfilment.map(|f| f.units()), Some((2, 3)));
    assert_eq!(h.orders().await[0].status, "awaiting_shipment");
}

#[tokio::test]
async fn a_label_that_does_not_fit_the_order_is_refused_and_recorded_nowhere() {
    let (h, _ch) = synced().await;
    let now = h.clock.now();
    let stored = OrderRef {
        external_id: Some("a".into()),
        order_number: "#a".into(),
    };
    for (label, expect_sku) in [
        (part("a", "1Z-1", &[("HAT", 1)], now), "HAT"),
        (part("a", "1Z-2", &[("MUG", 3)], now), "MUG"),
    ] {
        let checked = h.engine.check_shipment("store-1", &label).await;
        assert!(
            matches!(&checked, Err(SyncError::Label { .. })),
            "{checked:?}"
        );
        let err = h
            .engine
            .record_shipment("store-1", &label)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("store-1") && text.contains("order #a") && text.contains(expect_sku),
            "the message names the store, the order and the item: {text}"
        );
        match err {
            SyncError::Label { source, .. } => assert!(matches!(
                (source, expect_sku),
                (FulfilmentError::UnknownItem { .. }, "HAT")
                    | (FulfilmentError::TooMany { .. }, "MUG")
            )),
            other => panic!("{other:?}"),
        }
    }
    assert!(h
        .engine
        .state()
        .label_shipments("store-1", &stored)
        .await
        .unwrap()
        .is_empty());
    // Checking a fitting part writes nothing either.
    let fits = h
        .engine
        .check_shipment("store-1", &part("a", "1Z-3", &[("MUG", 2)], now))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fits.units(), (2, 3));
    assert!(h
        .engine
        .state()
        .label_shipments("store-1", &stored)
        .await
        .unwrap()
        .is_empty());
}

/// Only labels ship an order: a part labelled and the rest marked as shipped (or shipped by a
/// third party) is not a label shipment when the channel reports it shipped.
#[tokio::test]
async fn a_partly_labelled_order_the_channel_reports_shipped_is_not_a_label_shipment() {
    let (h, ch) = synced().await;
    let now = h.clock.now();
    h.engine
        .record_shipment("store-1", &part("a", "1Z-1", &[("MUG", 2)], now))
        .await
        .unwrap();
    let marked = ShipmentUpdate {
        kind: ShipmentKind::MarkedShipped,
        ..part("a", "M-1", &[("TEE", 1)], now)
    };
    let outcome = h.engine.record_shipment("store-1", &marked).await.unwrap();
    assert_eq!((outcome.event, outcome.fulfilment), (None, None));
    h.clock.advance(Duration::minutes(30));
    ch.put(
        FakeOrder::new("a", "shipped", now + Duration::minutes(5))
            .with_items(&[("MUG", 2), ("TEE", 1)]),
    );
    h.run(&ch, &store_sync(&SPEC_SECONDS)).await;
    let events = h.events().await;
    let shipped = shipped_events(&events);
    assert_eq!(shipped.len(), 1);
    assert!(!shipped[0].label, "one unit had no label: no Order Shipped");
}

/// Another process records the other part between this engine's count and its write: the
/// write is refused, counted again, and the order ships exactly once.
#[tokio::test]
async fn a_part_recorded_concurrently_is_counted_and_the_order_ships_once() {
    let (h, _ch) = synced().await;
    let now = h.clock.now();
    let other = part("a", "1Z-OTHER", &[("MUG", 2)], now);
    let racing = SyncEngine::new(Arc::new(ActionBeforeCommit {
        pending_label: Mutex::new(Some(("store-1".into(), other))),
        ..ActionBeforeCommit::new(h.state.clone())
    }))
    .with_clock(Arc::new(h.clock.clone()));
    // This engine counts no labels, so it sees its TEE part as leaving 2 MUG unlabelled.
    let outcome = racing
        .record_shipment("store-1", &part("a", "1Z-MINE", &[("TEE", 1)], now))
        .await
        .unwrap();
    assert!(
        outcome.event.is_some(),
        "counted again with the other part, this one completes the order"
    );
    assert_eq!(outcome.fulfilment.map(|f| f.labels()), Some(2));
    assert_eq!(h.orders().await[0].status, "shipped");
    let events = h.events().await;
    let shipped = shipped_events(&events);
    assert_eq!(shipped.len(), 1);
    assert!(shipped[0].label);
}
