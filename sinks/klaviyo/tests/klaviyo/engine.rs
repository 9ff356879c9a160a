//! The whole path: the Spark Shipping simulator → the sync engine's outbox (SQLite file) →
//! `deliver_pending` → `KlaviyoEventSink` → `KlaviyoSim`. Backfill, a status change, a label
//! versus a mark, 429 with Retry-After, 503, and a restart with undelivered events: every
//! outbox event ends delivered or skipped exactly once, and Klaviyo records each delivered
//! event once.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use orderport_core::{
    OrderRef, SellingChannel, ShipmentKind, ShipmentScope, ShipmentUpdate, StoreConfig,
};
use orderport_klaviyo::{KlaviyoEventSink, KlaviyoSink};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, KlaviyoSim, SimClock, Tz};
use orderport_sync::{
    split_sync_settings, CancellationToken, Clock, EventSink, SqliteState, State, StoreSync,
    SyncEngine,
};
use serde_json::Value;

use crate::common::config;

struct Shared(SimClock);

impl Clock for Shared {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

struct World {
    clock: SimClock,
    spark: ChannelSim,
    store: StoreConfig,
    channel: Box<dyn SellingChannel>,
    sync: StoreSync,
}

async fn world() -> World {
    let start = Utc
        .with_ymd_and_hms(2026, 3, 10, 15, 0, 0)
        .single()
        .expect("time");
    let clock = SimClock::fixed(start);
    let generator = GeneratorConfig {
        orders_per_day: 8,
        days: 3,
        timezone: Tz::America__Chicago,
        invalid_share: 0.0,
        ..GeneratorConfig::default()
    };
    let spark = ChannelSim::start(
        Flavor::SparkShipping,
        generator,
        Faults::none(),
        clock.clone(),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator starts");
    let file = orderport_core::StoresFile::parse(&spark.stores_toml(), &|_| None).expect("toml");
    let store = file.stores[0].clone();
    let (for_connector, setup) = split_sync_settings(&store).expect("settings");
    let channel = orderport::connect(&for_connector).expect("connect");
    let mut sync = setup.resolve(channel.spec()).expect("resolve");
    sync.settings.history = Duration::days(4);
    World {
        clock,
        spark,
        store,
        channel,
        sync,
    }
}

fn engine(world: &World, db: &Path) -> (Arc<SqliteState>, SyncEngine) {
    let state = Arc::new(SqliteState::open(db).expect("db"));
    let engine = SyncEngine::new(state.clone())
        .with_clock(Arc::new(Shared(world.clock.clone())))
        .with_owner("test");
    (state, engine)
}

fn klaviyo(url: &str) -> KlaviyoEventSink {
    let mut config = config(url);
    config.http.retry.max_attempts = 6;
    KlaviyoEventSink::new("klaviyo", KlaviyoSink::new(config).expect("sink"))
}

async fn sync_once(world: &World, engine: &SyncEngine) {
    engine
        .run_store(
            world.channel.as_ref(),
            &world.sync,
            &CancellationToken::new(),
        )
        .await
        .expect("sync run");
}

fn metric(event: &Value) -> &str {
    event["attributes"]["metric"]["data"]["attributes"]["name"]
        .as_str()
        .unwrap_or("")
}

fn number(event: &Value) -> &str {
    event["attributes"]["properties"]["OrderNumber"]
        .as_str()
        .unwrap_or("")
}

/// Every outbox event has exactly one verdict for the sink, Klaviyo recorded exactly the
/// delivered ones (unique ids never repeat), and nothing is pending.
async fn assert_exactly_once(state: &SqliteState, sim: &KlaviyoSim) {
    let events = state.events_page(None, 0, 100_000).await.expect("events");
    let verdicts = state
        .deliveries_page(None, 0, 100_000)
        .await
        .expect("deliveries");
    assert_eq!(verdicts.len(), events.len(), "one verdict per outbox event");
    let ids: HashSet<i64> = verdicts.iter().map(|d| d.event_id).collect();
    assert_eq!(ids.len(), events.len());
    assert!(state
        .pending_events("klaviyo", None, 0, 10)
        .await
        .expect("pending")
        .is_empty());
    let delivered = verdicts.iter().filter(|d| d.state == "delivered").count();
    let recorded = sim.events();
    let unique: HashSet<String> = recorded
        .iter()
        .map(|e| {
            e["attributes"]["unique_id"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(unique.len(), recorded.len(), "an event recorded twice");
    assert_eq!(
        recorded.len(),
        delivered,
        "delivered != recorded by Klaviyo"
    );
}

fn shipment(
    order: &orderport_sync::OrderRow,
    kind: ShipmentKind,
    at: DateTime<Utc>,
) -> ShipmentUpdate {
    ShipmentUpdate {
        order: OrderRef {
            external_id: Some(order.external_id.clone()),
            order_number: order.order_number.clone(),
        },
        carrier: "UPS".into(),
        service: Some("Ground".into()),
        tracking_number: format!("1Z{}", order.order_number),
        ship_date: at.date_naive(),
        label_created_at: Some(at),
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Complete(vec![]),
        kind,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_status_change_and_label_versus_mark_reach_klaviyo_once() {
    let world = world().await;
    let sim = KlaviyoSim::start(Faults::none(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let (state, engine) = engine(&world, &dir.path().join("state.db"));
    let sink = klaviyo(&sim.url());
    let sinks: [&dyn EventSink; 1] = [&sink];

    // Run 1: the backfill. Every event Klaviyo records carries backfill = true.
    sync_once(&world, &engine).await;
    let first = engine.deliver_pending(&sinks, None, 0).await;
    assert!(first[0].delivered > 0, "{first:?}");
    assert_eq!(first[0].failed, 0, "{first:?}");
    let backfilled = sim.events();
    assert!(backfilled
        .iter()
        .all(|e| e["attributes"]["backfill"] == Value::Bool(true)));
    assert_exactly_once(&state, &sim).await;

    // Two orders awaiting shipment: one gets a label, the other is only marked shipped.
    let waiting: Vec<_> = state
        .orders_page(None, 0, 10_000)
        .await
        .expect("orders")
        .into_iter()
        .filter(|o| o.status == "awaiting_shipment")
        .collect();
    assert!(waiting.len() >= 2, "the generator made too few open orders");
    let (labelled, marked) = (&waiting[0], &waiting[1]);
    world.clock.advance(Duration::minutes(5));
    let now = world.clock.now();
    for (order, kind) in [
        (labelled, ShipmentKind::Label),
        (marked, ShipmentKind::MarkedShipped),
    ] {
        let update = shipment(order, kind, now);
        world.channel.push_shipment(&update).await.expect("push");
        engine
            .record_shipment(&world.store.id, &update)
            .await
            .expect("record");
    }
    // The label shipped its order at once; the mark changed nothing yet.
    let shipped_now: HashMap<String, String> = state
        .orders_page(None, 0, 10_000)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| (o.order_number, o.status))
        .collect();
    assert_eq!(shipped_now[&labelled.order_number], "shipped");
    assert_eq!(shipped_now[&marked.order_number], "awaiting_shipment");

    // Run 2: the channel reports both shipped (and whatever else changed). The label adds no
    // second event; the mark is a stored status change with label = false.
    world.clock.advance(Duration::minutes(30));
    sync_once(&world, &engine).await;
    let events = state.events_page(None, 0, 100_000).await.expect("events");
    let to_shipped = |n: &str| {
        events
            .iter()
            .filter(|e| {
                e.event.order_number == n && e.event.to == orderport_core::CanonicalStatus::Shipped
            })
            .map(|e| (e.event.label, e.event.backfill))
            .collect::<Vec<_>>()
    };
    assert_eq!(to_shipped(&labelled.order_number), vec![(true, false)]);
    assert_eq!(to_shipped(&marked.order_number), vec![(false, false)]);

    let second = engine.deliver_pending(&sinks, None, 0).await;
    assert_eq!(second[0].failed, 0, "{second:?}");
    assert!(second[0].skipped.get("not_a_label").copied().unwrap_or(0) >= 1);
    let recorded = sim.events();
    let shipped_for = |n: &str| {
        recorded
            .iter()
            .filter(|e| number(e) == n && metric(e) == "Order Shipped")
            .count()
    };
    assert_eq!(
        shipped_for(&labelled.order_number),
        1,
        "one Order Shipped for the label"
    );
    assert_eq!(
        shipped_for(&marked.order_number),
        0,
        "no Order Shipped for a mark"
    );
    let live = &recorded[backfilled.len()..];
    assert!(!live.is_empty());
    assert!(live
        .iter()
        .all(|e| e["attributes"]["backfill"] == Value::Bool(false)));
    let label_event = live
        .iter()
        .find(|e| number(e) == labelled.order_number)
        .expect("the label's event");
    assert_eq!(
        label_event["attributes"]["properties"]["TrackingNumber"],
        Value::String(format!("1Z{}", labelled.order_number)),
        "{label_event}"
    );
    assert_exactly_once(&state, &sim).await;
    sim.shutdown().await;
    world.spark.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_with_retry_after_and_503s_still_deliver_everything_once() {
    let world = world().await;
    let sim = KlaviyoSim::start(
        Faults {
            rate_limit_every: 4,
            retry_after_secs: 1,
            error_503_every: 3,
            ..Faults::none()
        },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("dir");
    let (state, engine) = engine(&world, &dir.path().join("state.db"));
    let sink = klaviyo(&sim.url());
    sync_once(&world, &engine).await;
    // Pages of 2: Create Event requests, so many requests meet the faults; then the rest in
    // bulk jobs.
    let started = std::time::Instant::now();
    let out = engine.deliver_pending(&[&sink], None, 2).await;
    let out2 = engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!(out[0].failed + out2[0].failed, 0, "{out:?} {out2:?}");
    assert!(
        sim.request_count() > sim.payloads().len() as u64,
        "no fault was met"
    );
    // At least one Retry-After of a second was honoured.
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_exactly_once(&state, &sim).await;
    sim.shutdown().await;
    world.spark.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_events_go_out_after_a_restart_nothing_lost_or_duplicated() {
    let world = world().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("state.db");

    // Run 1: Klaviyo unreachable (a port nobody listens on). Every event fails and stays.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        format!("http://{addr}")
    };
    let pending_before = {
        let (state, engine) = engine(&world, &db);
        sync_once(&world, &engine).await;
        let mut unreachable = config(&closed);
        unreachable.http.retry.max_attempts = 1;
        let sink = KlaviyoEventSink::new("klaviyo", KlaviyoSink::new(unreachable).expect("sink"));
        let out = engine.deliver_pending(&[&sink], None, 0).await;
        assert_eq!(out[0].delivered, 0);
        assert!(out[0].failed > 0, "{out:?}");
        let pending = state
            .pending_events("klaviyo", None, 0, 100_000)
            .await
            .expect("pending");
        // The first page failed whole, so the pass stopped: the rest was not even tried.
        assert!(out[0].halted);
        assert!(pending.len() as u64 >= out[0].failed);
        pending.len()
    };

    // Run 2: a new engine on the same file (a new process, in effect) delivers them.
    let sim = KlaviyoSim::start(Faults::none(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sim");
    let (state, engine) = engine(&world, &db);
    let sink = klaviyo(&sim.url());
    let out = engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!(out[0].failed, 0, "{out:?}");
    assert_eq!(
        out[0].delivered + out[0].skipped_total(),
        pending_before as u64
    );
    let outbox = state.events_page(None, 0, 100_000).await.expect("events");
    let skipped = state
        .deliveries_page(None, 0, 100_000)
        .await
        .expect("deliveries")
        .iter()
        .filter(|d| d.state == "skipped")
        .count();
    assert_eq!(sim.events().len(), outbox.len() - skipped);
    assert_exactly_once(&state, &sim).await;
    // A third call sends nothing.
    let requests = sim.request_count();
    let again = engine.deliver_pending(&[&sink], None, 0).await;
    assert_eq!((again[0].delivered, again[0].failed), (0, 0));
    assert_eq!(sim.request_count(), requests);
    sim.shutdown().await;
    world.spark.shutdown().await;
}

/// Head-of-line blocking, end to end: Klaviyo refuses (400) the events of the outbox's first
/// page, in bulk and one by one. They are recorded `refused` with Klaviyo's reason, the events
/// behind them are delivered in the same pass (before, the pass halted on the first page and
/// the refused events were sent again on every run), and a later pass sends nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_klaviyo_refuses_are_terminal_and_do_not_hold_back_the_rest() {
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};
    let world = world().await;
    let dir = tempfile::tempdir().expect("dir");
    let (state, engine) = engine(&world, &dir.path().join("state.db"));
    sync_once(&world, &engine).await;
    let outbox = state
        .pending_events("klaviyo", None, 0, 100_000)
        .await
        .expect("pending");
    assert!(outbox.len() > 6, "{} events", outbox.len());
    // The first page (3 events): every one Klaviyo would be sent is refused.
    let sink = klaviyo("http://127.0.0.1:9");
    let bad: Vec<(i64, String)> = outbox[..3]
        .iter()
        .filter(|e| sink.sink().payload(e).is_ok())
        .map(|e| (e.id(), orderport_klaviyo::unique_id(&e.event)))
        .collect();
    assert!(!bad.is_empty());
    let server = MockServer::start().await;
    let refused_ids: Vec<String> = bad.iter().map(|(_, u)| u.clone()).collect();
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(move |request: &Request| {
            let body = String::from_utf8_lossy(&request.body);
            if refused_ids.iter().any(|u| body.contains(u.as_str())) {
                ResponseTemplate::new(400).set_body_raw(
                    serde_json::json!({"errors": [{"code": "invalid", "detail": "phone_number is invalid"}]})
                        .to_string(),
                    "application/vnd.api+json",
                )
            } else {
                ResponseTemplate::new(202)
            }
        })
        .mount(&server)
        .await;
    let sink = klaviyo(&server.uri());
    let out = engine.deliver_pending(&[&sink], None, 3).await;
    assert!(!out[0].halted, "{out:?}");
    assert_eq!(out[0].failed, 0, "{out:?}");
    assert_eq!(out[0].refused, bad.len() as u64);
    assert_eq!(
        out[0].delivered + out[0].skipped_total() + out[0].refused,
        outbox.len() as u64,
        "every event has its verdict after one pass"
    );
    let rows = state
        .deliveries_page(None, 0, 100_000)
        .await
        .expect("deliveries");
    let refused: Vec<(i64, String)> = rows
        .iter()
        .filter(|d| d.state == "refused")
        .map(|d| (d.event_id, d.reason.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        refused.iter().map(|r| r.0).collect::<Vec<_>>(),
        bad.iter().map(|b| b.0).collect::<Vec<_>>()
    );
    assert!(
        refused
            .iter()
            .all(|(_, why)| why.contains("HTTP 400") && why.contains("phone_number is invalid")),
        "{refused:?}"
    );
    assert!(!format!("{rows:?}").contains(crate::common::KEY));
    // Nothing is pending, and nothing is sent again.
    let requests = server.received_requests().await.expect("recorded").len();
    let again = engine.deliver_pending(&[&sink], None, 3).await;
    assert_eq!(
        (again[0].delivered, again[0].refused, again[0].failed),
        (0, 0, 0)
    );
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        requests
    );
    world.spark.shutdown().await;
}
