//! The engine's telemetry as a host sees it: the `sync.run` and `sync.page` spans with their
//! fields, and the run's counts through the metrics facade.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use orderport_core::{Order, OrderRef, SellingChannel, ShipmentKind, ShipmentUpdate, StoreZone};
use orderport_sync::telemetry::{
    EVENTS_RECORDED, ORDERS, RUNS, RUN_SECONDS, STATE_SECONDS, WATERMARK_LAG,
};
use orderport_sync::{
    Cursor, DeliveryMark, Known, Lease, LeaseGrant, OrderLookup, OutboxEvent, PageCommit, Refetch,
    ShipmentRecord, SqliteState, State, StateError, TimedState, WalkRecord,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// A span seen: its name, its parent's name, and its fields as recorded.
type Seen = (String, Option<String>, BTreeMap<String, String>);

/// Every `sync.*` span, by id.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<BTreeMap<u64, Seen>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> Layer<S> for Spans
where
    S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let name = attrs.metadata().name();
        if name.starts_with("sync.") {
            let parent = ctx
                .span(id)
                .and_then(|span| span.parent())
                .map(|parent| parent.name().to_owned());
            let mut fields = BTreeMap::new();
            attrs.record(&mut Fields(&mut fields));
            self.0
                .lock()
                .unwrap()
                .insert(id.into_u64(), (name.to_owned(), parent, fields));
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some((_, _, fields)) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
}

#[test]
fn a_run_is_a_span_with_its_pages_inside_and_its_counts_are_metrics() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = Harness::new(now);
    let ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 4);
    for i in 0..10 {
        ch.put(FakeOrder::new(
            format!("o{i}"),
            "paid",
            now - Duration::minutes(30 + i),
        ));
    }
    let sync = store_sync(&SPEC_SECONDS);

    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let report = tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || runtime.block_on(h.run(&ch, &sync)))
    });
    assert_eq!((report.new, report.events), (10, 10));

    let spans = spans.0.lock().unwrap().clone();
    let runs: Vec<_> = spans.values().filter(|(n, _, _)| n == "sync.run").collect();
    assert_eq!(runs.len(), 1, "{spans:?}");
    let (_, _, run) = runs[0];
    assert_eq!(run["channel"], SPEC_SECONDS.id);
    assert_eq!(run["store"], ch.store().id.as_str());
    assert!(run["run_id"].parse::<i64>().unwrap() > 0, "{run:?}");
    let pages: Vec<_> = spans
        .values()
        .filter(|(n, _, _)| n == "sync.page")
        .collect();
    assert_eq!(pages.len() as u64, report.pages);
    assert!(pages
        .iter()
        .all(|(_, parent, fields)| parent.as_deref() == Some("sync.run")
            && fields.contains_key("page")
            && fields.contains_key("window")));

    let mut counters: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut lag = None;
    let mut run_seconds = Vec::new();
    let mut state_calls: BTreeMap<String, usize> = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let labels: BTreeMap<&str, &str> =
            key.key().labels().map(|l| (l.key(), l.value())).collect();
        match (key.key().name(), value) {
            (WATERMARK_LAG, DebugValue::Gauge(v)) => {
                assert_eq!(labels["store"], ch.store().id.as_str());
                lag = Some(v.into_inner());
            }
            (RUN_SECONDS, DebugValue::Histogram(v)) => {
                assert_eq!(labels["channel"], SPEC_SECONDS.id);
                assert_eq!(labels["result"], "ok");
                run_seconds.extend(v.into_iter().map(|s| s.into_inner()));
            }
            // The engine times every call into its state.
            (STATE_SECONDS, DebugValue::Histogram(v)) => {
                assert!(v.iter().all(|s| s.into_inner() >= 0.0), "{v:?}");
                state_calls.insert(labels["operation"].to_owned(), v.len());
            }
            (name, DebugValue::Counter(n)) => {
                assert_eq!(labels.get("channel"), Some(&SPEC_SECONDS.id), "{name}");
                let detail = labels
                    .get("outcome")
                    .or(labels.get("result"))
                    .map_or_else(String::new, |s| (*s).to_owned());
                counters.insert((name.to_owned(), detail), n);
            }
            other => panic!("unexpected metric {other:?}"),
        }
    }
    let get =
        |name: &str, detail: &str| counters.get(&(name.to_owned(), detail.to_owned())).copied();
    assert_eq!(get(RUNS, "ok"), Some(1));
    assert_eq!(get(ORDERS, "new"), Some(10));
    assert_eq!(get(ORDERS, "fetched"), Some(report.fetched));
    assert_eq!(get(ORDERS, "quarantined"), Some(0));
    assert_eq!(get(EVENTS_RECORDED, ""), Some(10));
    // The watermark ends a minute (the lag) before now.
    assert_eq!(lag, Some(60.0));
    assert_eq!(run_seconds, vec![report.duration_ms as f64 / 1000.0]);
    let pages = usize::try_from(report.pages).unwrap();
    assert_eq!(
        state_calls.get("commit_page"),
        Some(&pages),
        "{state_calls:?}"
    );
    assert_eq!(
        state_calls.get("acquire_lease"),
        Some(&1),
        "{state_calls:?}"
    );
    assert_eq!(
        state_calls.get("release_lease"),
        Some(&1),
        "{state_calls:?}"
    );
}

/// A state whose every call first waits [`SLOW`]: what [`TimedState`] records must include it.
struct Slow(SqliteState);

const SLOW: std::time::Duration = std::time::Duration::from_millis(15);

#[async_trait::async_trait]
impl State for Slow {
    async fn acquire_lease(
        &self,
        store_id: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.acquire_lease(store_id, owner, ttl, now).await
    }
    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.renew_lease(lease, ttl, now).await
    }
    async fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.release_lease(lease).await
    }
    async fn cursor(&self, store_id: &str) -> Result<Cursor, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.cursor(store_id).await
    }
    async fn lookup(
        &self,
        channel: &str,
        store_id: &str,
        orders: &[OrderLookup],
    ) -> Result<Vec<Known>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.lookup(channel, store_id, orders).await
    }
    async fn commit_page(&self, lease: &Lease, commit: PageCommit) -> Result<(), StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.commit_page(lease, commit).await
    }
    async fn refetches(&self, store_id: &str) -> Result<Vec<Refetch>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.refetches(store_id).await
    }
    async fn walks(
        &self,
        store_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<WalkRecord>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.walks(store_id, since).await
    }
    async fn requeue_quarantine(
        &self,
        lease: &Lease,
        fingerprint: &str,
    ) -> Result<usize, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.requeue_quarantine(lease, fingerprint).await
    }
    async fn find_order(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<Order>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.find_order(store_id, order).await
    }
    async fn label_shipments(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Vec<ShipmentUpdate>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.label_shipments(store_id, order).await
    }

    async fn find_marked(
        &self,
        store_id: &str,
        order: &OrderRef,
    ) -> Result<Option<orderport_sync::MarkedOrder>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.find_marked(store_id, order).await
    }
    async fn record_platform(
        &self,
        write: orderport_sync::PlatformWrite,
    ) -> Result<Option<i64>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.record_platform(write).await
    }
    async fn lapsed_holds(
        &self,
        store_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<orderport_sync::MarkedOrder>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.lapsed_holds(store_id, now).await
    }
    async fn record_shipment(
        &self,
        shipment: ShipmentRecord<'_>,
    ) -> Result<Option<i64>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.record_shipment(shipment).await
    }
    async fn pending_events(
        &self,
        sink: &str,
        store: Option<&str>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.pending_events(sink, store, after, limit).await
    }
    async fn record_deliveries(
        &self,
        sink: &str,
        marks: &[DeliveryMark],
    ) -> Result<(), StateError> {
        tokio::time::sleep(SLOW).await;
        self.0.record_deliveries(sink, marks).await
    }
}

#[test]
fn the_state_layer_times_and_counts_every_call_by_operation_errors_included() {
    let now = t(2026, 6, 1, 12, 0, 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let timed = TimedState::new(Arc::new(Slow(SqliteState::in_memory().unwrap())));
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let ttl = Duration::seconds(60);
    let update = shipment("o1", ShipmentKind::MarkedShipped, None);
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let LeaseGrant::Granted(lease) =
                timed.acquire_lease("s1", "w1", ttl, now).await.unwrap()
            else {
                panic!("the lease of a new store is granted");
            };
            // What the wrapped state answers comes back unchanged.
            assert_eq!(timed.cursor("s1").await.unwrap(), Cursor::default());
            timed.lookup("fake", "s1", &[]).await.unwrap();
            timed
                .commit_page(&lease, PageCommit::default())
                .await
                .unwrap();
            timed.refetches("s1").await.unwrap();
            timed.walks("s1", now).await.unwrap();
            timed.requeue_quarantine(&lease, "fp").await.unwrap();
            assert_eq!(timed.find_order("s1", &update.order).await.unwrap(), None);
            assert_eq!(timed.find_marked("s1", &update.order).await.unwrap(), None);
            assert!(timed
                .label_shipments("s1", &update.order)
                .await
                .unwrap()
                .is_empty());
            assert!(timed.lapsed_holds("s1", now).await.unwrap().is_empty());
            timed
                .record_shipment(ShipmentRecord {
                    store_id: "s1",
                    update: &update,
                    at: now,
                    ship: None,
                    coverage: None,
                })
                .await
                .unwrap();
            timed.pending_events("sink", None, 0, 10).await.unwrap();
            timed.record_deliveries("sink", &[]).await.unwrap();
            let renewed = timed.renew_lease(&lease, ttl, now).await.unwrap();
            timed.release_lease(&renewed).await.unwrap();
            // A call that fails is timed too: another worker took the lease over.
            assert!(matches!(
                timed.acquire_lease("s1", "w2", ttl, now).await.unwrap(),
                LeaseGrant::Granted(_)
            ));
            assert!(matches!(
                timed.renew_lease(&lease, ttl, now).await,
                Err(StateError::LeaseLost { .. })
            ));
        });
    });

    let mut calls: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let DebugValue::Histogram(samples) = value else {
            panic!("only the state histogram: {key:?}");
        };
        assert_eq!(key.key().name(), STATE_SECONDS);
        let labels: Vec<_> = key.key().labels().collect();
        assert_eq!(labels.len(), 1, "{labels:?}");
        assert_eq!(labels[0].key(), "operation");
        calls.insert(
            labels[0].value().to_owned(),
            samples.into_iter().map(|s| s.into_inner()).collect(),
        );
    }
    let expected = [
        ("acquire_lease", 2),
        ("commit_page", 1),
        ("cursor", 1),
        ("find_marked", 1),
        ("find_order", 1),
        ("label_shipments", 1),
        ("lapsed_holds", 1),
        ("lookup", 1),
        ("pending_events", 1),
        ("record_deliveries", 1),
        ("record_shipment", 1),
        ("refetches", 1),
        ("release_lease", 1),
        ("renew_lease", 2),
        ("requeue_quarantine", 1),
        ("walks", 1),
    ];
    assert_eq!(
        calls
            .iter()
            .map(|(op, s)| (op.as_str(), s.len()))
            .collect::<Vec<_>>(),
        expected,
    );
    for (operation, samples) in &calls {
        for seconds in samples {
            assert!(
                *seconds >= SLOW.as_secs_f64() && *seconds < 5.0,
                "{operation}: {seconds} s recorded for a call that took at least {SLOW:?}"
            );
        }
    }
}
