//! The outbox delivered to event sinks: per-sink verdicts, failed events kept pending (after a
//! restart too), backfill flags, and "shipped means a label".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use common::*;
use orderport_core::{CanonicalStatus, OrderRef, ShipmentKind, ShipmentUpdate, StoreZone};
use orderport_sync::{
    deliver_pending, deliver_pending_until, CancellationToken, DeliveryMark, EventSink, LeaseGrant,
    ManualClock, OutboxEvent, SinkReport, Skip, SqliteState, State, StateError, SyncEngine,
};

/// A sink that skips shipped-without-label events, fails the ids in `fail`, refuses for good
/// the ids in `refuse`, forgets to mention the ids in `forget`, and delivers the rest; it
/// records every batch.
#[derive(Default)]
struct FakeSink {
    name: String,
    fail: Mutex<HashSet<i64>>,
    refuse: Mutex<HashSet<i64>>,
    forget: Mutex<HashSet<i64>>,
    batches: Mutex<Vec<Vec<OutboxEvent>>>,
}

impl FakeSink {
    fn named(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
    fn seen(&self) -> Vec<i64> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .map(OutboxEvent::id)
            .collect()
    }
}

#[async_trait]
impl EventSink for FakeSink {
    fn name(&self) -> &str {
        &self.name
    }
    async fn deliver(&self, batch: &[OutboxEvent]) -> SinkReport {
        self.batches.lock().unwrap().push(batch.to_vec());
        let fail = self.fail.lock().unwrap().clone();
        let refuse = self.refuse.lock().unwrap().clone();
        let forget = self.forget.lock().unwrap().clone();
        let mut report = SinkReport::default();
        for e in batch {
            if forget.contains(&e.id()) {
                continue;
            }
            if fail.contains(&e.id()) {
                report.failed.push((e.id(), "HTTP 503".into()));
            } else if refuse.contains(&e.id()) {
                report
                    .refused
                    .push((e.id(), format!("HTTP 400: event {} is invalid", e.id())));
            } else if e.event.to == CanonicalStatus::Shipped && !e.event.label {
                report.skipped.push(Skip {
                    id: e.id(),
                    code: "not_a_label".into(),
                    detail: "marked shipped".into(),
                });
            } else {
                report.delivered.push(e.id());
            }
        }
        report
    }
}

#[tokio::test]
async fn first_sync_events_are_backfill_and_later_ones_are_not() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 3);
    for i in 0..5 {
        ch.put(FakeOrder::new(
            format!("old{i}"),
            "paid",
            now - Duration::days(10 + i),
        ));
    }
    let sync = store_sync(&SPEC_SECONDS);
    h.run(&ch, &sync).await;
    h.clock.advance(Duration::minutes(30));
    ch.put(FakeOrder::new("new", "paid", now + Duration::minutes(5)));
    ch.put(FakeOrder::new(
        "old0",
        "cancelled",
        now + Duration::minutes(6),
    ));
    h.run(&ch, &sync).await;
    let events = h.events().await;
    assert_eq!(events.len(), 7);
    let backfill: BTreeMap<(String, String), bool> = events
        .iter()
        .map(|e| {
            (
                (e.key.external_id.clone(), e.to.as_str().to_owned()),
                e.backfill,
            )
        })
        .collect();
    for i in 0..5 {
        assert!(backfill[&(format!("old{i}"), "awaiting_shipment".into())]);
    }
    assert!(!backfill[&("new".into(), "awaiting_shipment".into())]);
    assert!(!backfill[&("old0".into(), "cancelled".into())]);
    // The sink sees the same flags.
    let sink = FakeSink::named("s");
    h.engine.deliver_pending(&[&sink], None, 0).await;
    let seen = sink.batches.lock().unwrap().concat();
    assert_eq!(seen.iter().filter(|e| e.event.backfill).count(), 5);
}

#[tokio::test]
async fn a_first_sync_cut_short_stays_backfill_when_resumed() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 2);
    for i in 0..6 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            now - Duration::days(5 * i + 1),
        ));
    }
    // Stop the first run part-way (after 30 of its ~90 day slices).
    let sync = store_sync(&SPEC_SECONDS);
    let cancel = orderport_sync::CancellationToken::new();
    let stop = cancel.clone();
    *ch.on_page.lock().unwrap() = Some(Box::new(move |n, _| {
        if n == 30 {
            stop.cancel();
        }
    }));
    let r = h.engine.run_store(&ch, &sync, &cancel).await.unwrap();
    assert!(r.cancelled);
    assert!(r.watermark_after.is_some());
    assert!(h.events().await.len() < 6);
    h.clock.advance(Duration::minutes(30));
    h.run(&ch, &sync).await;
    let events = h.events().await;
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|e| e.backfill), "{events:?}");
}

#[tokio::test]
async fn delivery_is_per_sink_failed_events_stay_pending_and_nothing_repeats() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 50);
    for i in 0..7 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            now - Duration::hours(i + 1),
        ));
    }
    h.run(&ch, &store_sync(&SPEC_SECONDS)).await;
    let ids: Vec<i64> = h.events().await.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 7);

    let a = FakeSink::named("a");
    let b = FakeSink::named("b");
    a.fail.lock().unwrap().extend([ids[1], ids[4]]);
    a.forget.lock().unwrap().insert(ids[6]);
    let out = h.engine.deliver_pending(&[&a, &b], None, 3).await;
    assert_eq!((out[0].delivered, out[0].failed), (4, 3));
    assert_eq!((out[1].delivered, out[1].failed), (7, 0));
    // Pages of at most 3, in outbox order.
    assert!(a.batches.lock().unwrap().iter().all(|b| b.len() <= 3));
    assert_eq!(a.seen(), ids);

    // Next call: only a's failures go out again; b has nothing left.
    a.fail.lock().unwrap().clear();
    a.forget.lock().unwrap().clear();
    let out = h.engine.deliver_pending(&[&a, &b], None, 3).await;
    assert_eq!((out[0].delivered, out[0].failed), (3, 0));
    assert_eq!((out[1].delivered, out[1].failed), (0, 0));
    let mut all = a.seen();
    all.sort_unstable();
    let mut expected = ids.clone();
    expected.extend([ids[1], ids[4], ids[6]]);
    expected.sort_unstable();
    assert_eq!(all, expected);
    assert_eq!(b.seen(), ids);
    // Nothing pending any more, for either.
    let out = h.engine.deliver_pending(&[&a, &b], None, 3).await;
    assert_eq!(out[0].delivered + out[1].delivered, 0);
    assert_eq!(
        h.state.deliveries_page(None, 0, 100).await.unwrap().len(),
        14
    );
}

#[tokio::test]
async fn undelivered_events_go_out_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let now = t(2026, 6, 1, 12, 0, 0);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 50);
    for i in 0..4 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            now - Duration::hours(i + 1),
        ));
    }
    {
        let state = Arc::new(SqliteState::open(&path).unwrap());
        let engine = SyncEngine::new(state.clone()).with_clock(Arc::new(ManualClock::new(now)));
        engine
            .run_store(&ch, &store_sync(&SPEC_SECONDS), &Default::default())
            .await
            .unwrap();
        let sink = FakeSink::named("k");
        let ids: Vec<i64> = state
            .events_page(None, 0, 10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.event.id)
            .collect();
        sink.fail.lock().unwrap().extend(ids);
        // Pages of 2: the first fails whole, so the pass stops there; all 4 stay pending.
        let out = engine.deliver_pending(&[&sink], None, 2).await;
        assert_eq!((out[0].delivered, out[0].failed), (0, 2));
        assert!(out[0].halted);
        assert_eq!(sink.seen().len(), 2);
        assert_eq!(
            state.pending_events("k", None, 0, 10).await.unwrap().len(),
            4
        );
    }
    let state = Arc::new(SqliteState::open(&path).unwrap());
    let engine = SyncEngine::new(state.clone());
    let sink = FakeSink::named("k");
    let out = engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!((out[0].delivered, out[0].failed), (4, 0));
    assert_eq!(sink.seen().len(), 4);
    let out = engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!(out[0].delivered, 0);
}

#[tokio::test]
async fn a_label_ships_the_order_at_once_and_the_channel_adds_no_second_event() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 50);
    ch.put(FakeOrder::new("lab", "paid", now - Duration::hours(1)));
    let sync = store_sync(&SPEC_SECONDS);
    h.run(&ch, &sync).await;
    let label_at = now + Duration::minutes(3);
    let id = h
        .engine
        .record_shipment(
            "store-1",
            &shipment("lab", ShipmentKind::Label, Some(label_at)),
        )
        .await
        .unwrap()
        .event;
    assert!(id.is_some());
    let events = h.events().await;
    let shipped: Vec<_> = events
        .iter()
        .filter(|e| e.to == CanonicalStatus::Shipped)
        .collect();
    assert_eq!(shipped.len(), 1);
    assert!(shipped[0].label);
    assert_eq!(shipped[0].from, Some(CanonicalStatus::AwaitingShipment));
    assert_eq!(shipped[0].at, label_at);
    assert_eq!(h.orders().await[0].status, "shipped");
    // A second label for the same order: no second event.
    let again = h
        .engine
        .record_shipment(
            "store-1",
            &shipment("lab", ShipmentKind::Label, Some(label_at)),
        )
        .await
        .unwrap()
        .event;
    assert_eq!(again, None);
    // The channel reports it shipped: the order is updated, no second event.
    h.clock.advance(Duration::minutes(30));
    ch.put(FakeOrder::new(
        "lab",
        "shipped",
        now + Duration::minutes(10),
    ));
    let r = h.run(&ch, &sync).await;
    assert_eq!((r.updated, r.events), (1, 0));
    assert_eq!(h.events().await.len(), 2);
    // The sink gets the shipment with the event.
    let sink = FakeSink::named("s");
    let out = h.engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!(out[0].delivered, 2);
    let seen = sink.batches.lock().unwrap().concat();
    let note = seen[1].shipment.clone().unwrap();
    assert_eq!(
        (
            note.carrier.as_str(),
            note.tracking_number.as_str(),
            note.kind
        ),
        ("UPS", "1Z-lab", ShipmentKind::Label)
    );
}

#[tokio::test]
async fn a_mark_changes_nothing_until_the_channel_says_shipped_and_is_skipped_not_a_label() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 50);
    ch.put(FakeOrder::new("mark", "paid", now - Duration::hours(1)));
    let sync = store_sync(&SPEC_SECONDS);
    h.run(&ch, &sync).await;
    let id = h
        .engine
        .record_shipment(
            "store-1",
            &shipment("mark", ShipmentKind::MarkedShipped, Some(now)),
        )
        .await
        .unwrap()
        .event;
    assert_eq!(id, None);
    assert_eq!(h.events().await.len(), 1);
    assert_eq!(h.orders().await[0].status, "awaiting_shipment");
    h.clock.advance(Duration::minutes(30));
    ch.put(FakeOrder::new(
        "mark",
        "shipped",
        now + Duration::minutes(10),
    ));
    let r = h.run(&ch, &sync).await;
    assert_eq!(r.events, 1);
    let events = h.events().await;
    assert_eq!(events[1].to, CanonicalStatus::Shipped);
    assert!(!events[1].label);
    assert_eq!(h.orders().await[0].status, "shipped");
    let sink = FakeSink::named("s");
    let out = h.engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!(out[0].delivered, 1);
    assert_eq!(out[0].skipped.get("not_a_label"), Some(&1));
    let rows = h.state.deliveries_page(None, 0, 10).await.unwrap();
    assert_eq!(rows[1].state, "skipped");
    assert_eq!(rows[1].reason.as_deref(), Some("not_a_label"));
    // Skipped is final: not handed again.
    let out = h.engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!(out[0].skipped_total() + out[0].delivered, 0);
}

#[tokio::test]
async fn a_label_for_an_order_not_stored_yet_marks_its_later_shipped_event() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 50);
    let id = h
        .engine
        .record_shipment("store-1", &shipment("x", ShipmentKind::Label, Some(now)))
        .await
        .unwrap()
        .event;
    assert_eq!(id, None);
    ch.put(FakeOrder::new("x", "shipped", now - Duration::minutes(5)));
    h.run(&ch, &store_sync(&SPEC_SECONDS)).await;
    let events = h.events().await;
    assert_eq!(events.len(), 1);
    assert!(events[0].label);
}

/// Seven events, one per order, in a fresh harness; returns it and the event ids in outbox order.
async fn seven_events() -> (Harness, Vec<i64>) {
    let now = t(2026, 6, 1, 12, 0, 0);
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 50);
    for i in 0..7 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            now - Duration::hours(7 - i),
        ));
    }
    h.run(&ch, &store_sync(&SPEC_SECONDS)).await;
    let ids: Vec<i64> = h.events().await.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 7);
    (h, ids)
}

/// Head-of-line blocking: a first page the destination refuses for good no longer halts the
/// pass. The refusals are stored with their reason (and shown with the event), the events
/// behind them are delivered in the same pass, and nothing refused is handed again later.
#[tokio::test]
async fn a_refused_first_page_does_not_hold_back_the_events_behind_it() {
    let (h, ids) = seven_events().await;
    let sink = FakeSink::named("k");
    sink.refuse.lock().unwrap().extend([ids[0], ids[1], ids[2]]);
    let out = h.engine.deliver_pending(&[&sink], None, 3).await;
    assert_eq!((out[0].refused, out[0].delivered, out[0].failed), (3, 4, 0));
    assert!(!out[0].halted, "{out:?}");
    assert!(out[0].finished());
    assert_eq!(
        out[0].refusals[0],
        (ids[0], format!("HTTP 400: event {} is invalid", ids[0]))
    );
    assert_eq!(sink.seen(), ids, "every event handed once, in outbox order");

    let rows = h.state.deliveries_page(None, 0, 100).await.unwrap();
    let refused: Vec<i64> = rows
        .iter()
        .filter(|r| r.state == "refused")
        .map(|r| r.event_id)
        .collect();
    assert_eq!(refused, ids[..3]);
    let events = h.state.events_page(None, 0, 100).await.unwrap();
    assert_eq!(events[1].deliveries.len(), 1);
    assert_eq!(events[1].deliveries[0].state, "refused");
    assert_eq!(
        events[1].deliveries[0].reason.as_deref(),
        Some(format!("HTTP 400: event {} is invalid", ids[1]).as_str())
    );
    assert_eq!(events[5].deliveries[0].state, "delivered");

    // The next run hands nothing again: refused is terminal.
    sink.refuse.lock().unwrap().clear();
    let out = h.engine.deliver_pending(&[&sink], None, 3).await;
    assert_eq!((out[0].refused, out[0].delivered, out[0].failed), (0, 0, 0));
    assert_eq!(sink.seen().len(), 7);
}

/// A page with refusals and transient failures but no delivery still halts the pass (the
/// destination may be failing); what was refused is recorded all the same.
#[tokio::test]
async fn refusals_are_recorded_even_when_the_page_halts_the_pass() {
    let (h, ids) = seven_events().await;
    let sink = FakeSink::named("k");
    sink.refuse.lock().unwrap().insert(ids[0]);
    sink.fail.lock().unwrap().extend([ids[1], ids[2]]);
    let out = h.engine.deliver_pending(&[&sink], None, 3).await;
    assert!(out[0].halted);
    assert_eq!((out[0].refused, out[0].failed, out[0].delivered), (1, 2, 0));
    assert_eq!(sink.seen(), ids[..3]);
    let pending: Vec<i64> = h
        .state
        .pending_events("k", None, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(OutboxEvent::id)
        .collect();
    assert_eq!(pending, ids[1..]);
}

/// A refusal's reason is stored bounded, whatever the destination sent.
#[tokio::test]
async fn a_long_refusal_reason_is_stored_bounded() {
    struct Verbose;
    #[async_trait]
    impl EventSink for Verbose {
        fn name(&self) -> &str {
            "v"
        }
        async fn deliver(&self, batch: &[OutboxEvent]) -> SinkReport {
            SinkReport {
                refused: batch
                    .iter()
                    .map(|e| (e.id(), "é".repeat(100_000)))
                    .collect(),
                ..SinkReport::default()
            }
        }
    }
    let (h, _) = seven_events().await;
    let out = h.engine.deliver_pending(&[&Verbose], None, 0).await;
    assert_eq!(out[0].refused, 7);
    for row in h.state.deliveries_page(None, 0, 100).await.unwrap() {
        let reason = row.reason.unwrap();
        assert!(reason.chars().count() <= orderport_sync::delivery::MAX_REASON_CHARS + 1);
    }
}

/// A state whose `record_deliveries` fails (a full disk), delegating everything else.
struct DiskFull(Arc<SqliteState>);

#[async_trait]
impl State for DiskFull {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        self.0.acquire_lease(store_id, owner, ttl, now).await
    }
    async fn renew_lease(
        &self,
        lease: &orderport_sync::Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<orderport_sync::Lease, StateError> {
        self.0.renew_lease(lease, ttl, now).await
    }
    async fn release_lease(&self, lease: &orderport_sync::Lease) -> Result<(), StateError> {
        self.0.release_lease(lease).await
    }
    async fn cursor(&self, store_id: &str) -> Result<orderport_sync::Cursor, StateError> {
        self.0.cursor(store_id).await
    }
    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[orderport_sync::OrderLookup],
    ) -> Result<Vec<orderport_sync::Known>, StateError> {
        self.0.lookup(channel, store_id, orders).await
    }
    async fn commit_page(
        &self,
        lease: &orderport_sync::Lease,
        commit: orderport_sync::PageCommit,
    ) -> Result<(), StateError> {
        self.0.commit_page(lease, commit).await
    }
    async fn refetches(&self, store_id: &str) -> Result<Vec<orderport_sync::Refetch>, StateError> {
        self.0.refetches(store_id).await
    }
    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<orderport_sync::WalkRecord>, StateError> {
        self.0.walks(store_id, since).await
    }
    async fn requeue_quarantine(
        &self,
        lease: &orderport_sync::Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError> {
        self.0.requeue_quarantine(lease, fingerprint).await
    }
    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<orderport_core::Order>, StateError> {
        self.0.find_order(store_id, order).await
    }
    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError> {
        self.0.label_shipments(store_id, order).await
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<orderport_sync::MarkedOrder>, StateError> {
        self.0.find_marked(store_id, order).await
    }
    async fn record_platform(
        &self,
        write: orderport_sync::PlatformWrite,
    ) -> Result<Option<i64>, StateError> {
        self.0.record_platform(write).await
    }
    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<orderport_sync::MarkedOrder>, StateError> {
        self.0.lapsed_holds(store_id, now).await
    }
    async fn record_shipment(
        &self,
        shipment: orderport_sync::ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        self.0.record_shipment(shipment).await
    }
    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError> {
        self.0.pending_events(sink, store, after, limit).await
    }
    async fn record_deliveries(
        &self,
        _sink: &str,
        _marks: &[DeliveryMark],
    ) -> Result<(), StateError> {
        Err(StateError::Backend {
            store: "*".into(),
            operation: "record deliveries",
            detail: "database or disk is full".into(),
        })
    }
}

/// When the verdicts cannot be stored (disk full), nothing is counted as delivered: the
/// outcome says the page's events stay pending, and they do (handed again once the state
/// works).
#[tokio::test]
async fn verdicts_are_counted_only_once_they_are_stored() {
    let (h, ids) = seven_events().await;
    let full = DiskFull(h.state.clone());
    let sink = FakeSink::named("k");
    sink.refuse.lock().unwrap().insert(ids[0]);
    let out = deliver_pending(&full, &[&sink], None, 3).await;
    assert_eq!(
        (out[0].delivered, out[0].refused, out[0].skipped_total()),
        (0, 0, 0),
        "{out:?}"
    );
    assert_eq!(out[0].unrecorded, 3);
    assert!(!out[0].finished());
    let error = out[0].error.clone().unwrap();
    assert!(
        error.contains("disk is full")
            && error.contains("3 event(s)")
            && error.contains("stay pending"),
        "{error}"
    );
    assert_eq!(
        sink.seen(),
        ids[..3],
        "the pass stopped at the failed write"
    );
    assert_eq!(
        h.state
            .pending_events("k", None, 0, 100)
            .await
            .unwrap()
            .len(),
        7
    );
    // With a working state, the same events go out and are recorded.
    let out = h.engine.deliver_pending(&[&sink], None, 3).await;
    assert_eq!(
        (out[0].delivered, out[0].refused, out[0].unrecorded),
        (6, 1, 0)
    );
}

/// A sink that never answers.
struct Hanging;

#[async_trait]
impl EventSink for Hanging {
    fn name(&self) -> &str {
        "hang"
    }
    async fn deliver(&self, _batch: &[OutboxEvent]) -> SinkReport {
        std::future::pending().await
    }
}

/// Cancellation (a shutdown) abandons the page in hand: the pass returns, records nothing of
/// that page, and every event stays pending. A later sink in the list is not started.
#[tokio::test]
async fn a_cancelled_delivery_returns_and_leaves_the_page_pending() {
    let (h, _) = seven_events().await;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        stop.cancel();
    });
    let later = FakeSink::named("later");
    let out = deliver_pending_until(h.state.as_ref(), &[&Hanging, &later], None, 3, &cancel).await;
    assert!(out[0].cancelled && out[1].cancelled, "{out:?}");
    assert!(!out[0].finished());
    assert_eq!(out[0].delivered + out[1].delivered, 0);
    assert!(later.seen().is_empty());
    assert_eq!(
        h.state
            .pending_events("hang", None, 0, 100)
            .await
            .unwrap()
            .len(),
        7
    );
    assert!(h
        .state
        .deliveries_page(None, 0, 100)
        .await
        .unwrap()
        .is_empty());
    // A sink with nothing pending is not "cut short" by a cancelled token.
    let done = FakeSink::named("done");
    h.engine.deliver_pending(&[&done], None, 0).await;
    let out = deliver_pending_until(h.state.as_ref(), &[&done], None, 3, &cancel).await;
    assert!(!out[0].cancelled && out[0].finished(), "{out:?}");
}
