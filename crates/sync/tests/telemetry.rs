//! The engine's telemetry as a host sees it: the `sync.run` and `sync.page` spans with their
//! fields, and the run's counts through the metrics facade.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use orderport_core::{SellingChannel, StoreZone};
use orderport_sync::telemetry::{EVENTS_RECORDED, ORDERS, RUNS, WATERMARK_LAG};
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
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let labels: BTreeMap<&str, &str> =
            key.key().labels().map(|l| (l.key(), l.value())).collect();
        match (key.key().name(), value) {
            (WATERMARK_LAG, DebugValue::Gauge(v)) => {
                assert_eq!(labels["store"], ch.store().id.as_str());
                lag = Some(v.into_inner());
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
}
