//! Every connector against the channel simulators, with every fault knob: nothing is lost.
//!
//! For each connector (Order Time once per transport: its Custom Store endpoint, the default, from
//! `stores_toml()`, and its REST API from `rest_stores_toml()`) and each knob the test starts a
//! simulator, connects through `orderport::connect` with the simulator's own stores file, walks a
//! two-day window (two to three pages, a DST change inside, some invalid orders), and checks that
//! every order the simulator shows in the window was either imported or rejected, once per
//! external id.
//!
//! - 429, 500 and 503 are retried by the connector itself: the walk succeeds at once.
//! - An HTML page with 200 and a truncated reply are protocol errors: the walk fails, and the
//!   test retries the whole window as a sync engine would, keeping what every attempt returned
//!   (an upsert by external id), until one attempt completes.
//! - `shift_during_walk`: see [`custom_store_shift_loses_one_order_in_a_walk_and_an_overlapping_walk_recovers_it`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use futures::TryStreamExt;
use orderport::{
    connect, pages, CanonicalStatus, ChannelError, FetchOutcome, Order, OrderRef, SellingChannel,
    ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem, StoresFile, TimeWindow,
};
use orderport_sim::chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, Tz};

/// 2026-03-09 12:00 UTC: the two-day window holds Chicago's and Denver's spring-forward.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 12, 0, 0).unwrap()
}

/// A connector and how it reaches its simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    SparkShipping,
    ListingMirror,
    /// Order Time's default transport: the Custom Store endpoint, e-mail and API key.
    OrderTimeCustomStore,
    /// Order Time's REST API: the password as well.
    OrderTimeRest,
}

impl Target {
    fn flavor(self) -> Flavor {
        match self {
            Target::SparkShipping => Flavor::SparkShipping,
            Target::ListingMirror => Flavor::ListingMirror,
            Target::OrderTimeCustomStore | Target::OrderTimeRest => Flavor::OrderTime,
        }
    }

    /// The stores file the simulator writes for this transport.
    fn stores_toml(self, sim: &ChannelSim) -> String {
        match self {
            Target::OrderTimeRest => sim.rest_stores_toml(),
            _ => sim.stores_toml(),
        }
    }

    /// Custom Store exports list the newest first; Order Time's REST list is sorted by `DocNo`.
    fn newest_first(self) -> bool {
        self != Target::OrderTimeRest
    }
}

fn zone(flavor: Flavor) -> Tz {
    match flavor {
        Flavor::SparkShipping => Tz::America__Chicago,
        Flavor::ListingMirror => Tz::UTC,
        Flavor::OrderTime => Tz::America__Denver,
    }
}

fn generator(flavor: Flavor) -> GeneratorConfig {
    GeneratorConfig {
        seed: 2026,
        days: 3,
        orders_per_day: 80,
        timezone: zone(flavor),
        invalid_share: 0.08,
        ..GeneratorConfig::default()
    }
}

/// Whether this build's `orderport::connect` knows the flavour's channel.
fn connectable(flavor: Flavor) -> bool {
    let known = orderport::channels()
        .iter()
        .any(|s| s.id == flavor.channel_id());
    if !known {
        eprintln!(
            "skipped: this build has no {} connector",
            flavor.channel_id()
        );
    }
    known
}

struct Harness {
    sim: ChannelSim,
    clock: SimClock,
    channel: Box<dyn SellingChannel>,
    store_id: String,
}

async fn harness(target: Target, faults: Faults) -> Harness {
    let flavor = target.flavor();
    let clock = SimClock::fixed(now());
    let sim = ChannelSim::start(
        flavor,
        generator(flavor),
        faults,
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let stores = StoresFile::parse(&target.stores_toml(&sim), &|_| None).unwrap();
    let config = &stores.stores[0];
    let channel = connect(config).unwrap();
    Harness {
        store_id: config.id.clone(),
        sim,
        clock,
        channel,
    }
}

fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeWindow {
    TimeWindow::new(from, to).unwrap()
}

/// What an import kept of one order.
#[derive(Debug, Clone)]
struct Seen {
    order_number: String,
    accepted: bool,
}

/// Orders by external id, as a sync engine upserts them.
type Imported = BTreeMap<String, Seen>;

/// One walk of a window; returns the outcomes in order, or the error that stopped it.
async fn walk(
    channel: &dyn SellingChannel,
    window: TimeWindow,
) -> (Vec<FetchOutcome>, Option<ChannelError>) {
    let mut outcomes = Vec::new();
    let mut stream = Box::pin(pages(channel, window));
    loop {
        match stream.try_next().await {
            Ok(Some(page)) => outcomes.extend(page.outcomes),
            Ok(None) => return (outcomes, None),
            Err(error) => return (outcomes, Some(error)),
        }
    }
}

fn key_of(outcome: &FetchOutcome) -> (String, Seen) {
    match outcome {
        FetchOutcome::Accepted(order) => (
            order.external_id.clone(),
            Seen {
                order_number: order.order_number.clone(),
                accepted: true,
            },
        ),
        FetchOutcome::Rejected(rejection) => {
            let number = rejection
                .order_number
                .clone()
                .expect("rejections name the order");
            (
                rejection
                    .external_id
                    .clone()
                    .unwrap_or_else(|| number.clone()),
                Seen {
                    order_number: number,
                    accepted: false,
                },
            )
        }
    }
}

fn absorb(imported: &mut Imported, outcomes: &[FetchOutcome]) {
    for outcome in outcomes {
        let (key, seen) = key_of(outcome);
        imported.insert(key, seen);
    }
}

/// Walks `window` until a walk completes, keeping every attempt's orders; returns them and the
/// errors of the failed attempts.
async fn sync_window(
    channel: &dyn SellingChannel,
    window: TimeWindow,
    attempts: usize,
) -> (Imported, Vec<ChannelError>) {
    let mut imported = Imported::new();
    let mut errors = Vec::new();
    for _ in 0..attempts {
        let (outcomes, error) = walk(channel, window).await;
        absorb(&mut imported, &outcomes);
        match error {
            None => return (imported, errors),
            Some(error) => errors.push(error),
        }
    }
    panic!("no attempt of {attempts} completed the window: {errors:?}");
}

/// Every order the simulator shows in `[from, to]` was imported or rejected, under one external
/// id; anything else imported lies within the connector's boundary margin.
fn assert_complete(h: &Harness, from: DateTime<Utc>, to: DateTime<Utc>, imported: &Imported) {
    let visible: BTreeSet<String> = h
        .sim
        .orders_visible(&h.store_id, from, to)
        .into_iter()
        .collect();
    let margin: BTreeSet<String> = h
        .sim
        .orders_visible(
            &h.store_id,
            from - Duration::minutes(2),
            to + Duration::minutes(2),
        )
        .into_iter()
        .collect();
    let mut by_number: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, seen) in imported {
        by_number
            .entry(seen.order_number.as_str())
            .or_default()
            .push(key.as_str());
    }
    let missing: Vec<&String> = visible
        .iter()
        .filter(|n| !by_number.contains_key(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "lost {} of {} orders: {missing:?}",
        missing.len(),
        visible.len()
    );
    for (number, keys) in &by_number {
        assert_eq!(
            keys.len(),
            1,
            "order {number} under several external ids: {keys:?}"
        );
        assert!(
            visible.contains(*number) || margin.contains(*number),
            "order {number} is not in the window"
        );
    }
    let accepted = imported.values().filter(|s| s.accepted).count();
    let rejected = imported.len() - accepted;
    eprintln!(
        "{}: {} visible, {accepted} imported, {rejected} rejected",
        h.store_id,
        visible.len()
    );
    assert!(
        visible.len() > 100,
        "the window spans pages: {}",
        visible.len()
    );
    assert!(
        accepted > 0 && rejected > 0,
        "accepted {accepted}, rejected {rejected}"
    );
}

/// The requests of one fault-free walk of the test window, measured on an identical simulator.
struct WalkRequests {
    /// All of them.
    total: u64,
    /// Which one (counted from 1) asks for the walk's last page. A Custom Store walk ends with
    /// it; an Order Time REST walk may follow it with `GET /shipdoc` calls for the rows that
    /// page listed without their details.
    last_page: u64,
}

async fn walk_requests(target: Target) -> WalkRequests {
    let h = harness(target, Faults::default()).await;
    let mut stream = Box::pin(pages(
        h.channel.as_ref(),
        window(now() - Duration::days(2), now()),
    ));
    let mut before_page = 0;
    let mut last_page = 0;
    while let Some(_page) = stream.try_next().await.unwrap() {
        last_page = before_page + 1;
        before_page = h.sim.request_count();
    }
    drop(stream);
    let total = h.sim.request_count();
    h.sim.shutdown().await;
    WalkRequests { total, last_page }
}

async fn requests_per_walk(target: Target) -> u64 {
    walk_requests(target).await.total
}

/// Imports the two-day window with `faults` and checks that nothing is lost. Returns the
/// errors of failed attempts and the requests made.
async fn import_with(target: Target, faults: Faults) -> Option<(Vec<ChannelError>, u64)> {
    import_after_checks(target, faults, 1).await
}

/// [`import_with`] after `checks` connection checks (one request each) instead of one.
async fn import_after_checks(
    target: Target,
    faults: Faults,
    checks: u64,
) -> Option<(Vec<ChannelError>, u64)> {
    if !connectable(target.flavor()) {
        return None;
    }
    let h = harness(target, faults).await;
    let (from, to) = (now() - Duration::days(2), now());
    // Requests before the walks, as a sync engine's connection check makes.
    for _ in 0..checks {
        h.channel.check_connection().await.unwrap();
    }
    let (imported, errors) = sync_window(h.channel.as_ref(), window(from, to), 4).await;
    assert_complete(&h, from, to, &imported);
    let requests = h.sim.request_count();
    h.sim.shutdown().await;
    Some((errors, requests))
}

async fn no_faults(target: Target) {
    if let Some((errors, requests)) = import_with(target, Faults::default()).await {
        assert!(errors.is_empty());
        assert_eq!(requests, requests_per_walk(target).await + 1);
    }
}

async fn latency(target: Target) {
    let faults = Faults {
        latency: StdDuration::from_millis(25),
        ..Faults::default()
    };
    let started = std::time::Instant::now();
    if let Some((errors, requests)) = import_with(target, faults).await {
        assert!(errors.is_empty());
        assert!(started.elapsed() >= StdDuration::from_millis(25) * requests as u32 / 2);
    }
}

/// 429, 500 and 503 every third request: retried by the connector, so the first walk
/// completes, with more requests than a clean walk.
async fn retried(target: Target, faults: Faults) {
    if let Some((errors, requests)) = import_with(target, faults).await {
        assert!(errors.is_empty(), "the connector retried: {errors:?}");
        assert!(
            requests > requests_per_walk(target).await + 1,
            "faults were served"
        );
    }
}

/// HTML pages and truncated replies on the request for the first walk's last page: a protocol
/// error, then a complete second walk.
async fn protocol_error(target: Target, make: fn(u32) -> Faults) {
    if !connectable(target.flavor()) {
        return;
    }
    // Every Nth request is faulted. N is the request for the first walk's last page, counted
    // after the connection checks; the next faulted one, N later, must come after the second
    // walk ends, so there are enough checks for N to exceed a walk's requests: one when the
    // walk ends with that page (Custom Store), more when `GET /shipdoc` calls follow it (Order
    // Time REST, where a detail reply cut short rejects that ship doc alone, as
    // connectors/order-time/tests/api/hostile.rs checks, instead of failing the walk).
    let walk = walk_requests(target).await;
    let checks = walk.total - walk.last_page + 1;
    let every = u32::try_from(checks + walk.last_page).unwrap();
    let (errors, _) = import_after_checks(target, make(every), checks)
        .await
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        matches!(errors[0], ChannelError::Protocol { .. }),
        "{:?}",
        errors[0]
    );
}

fn rate_limited() -> Faults {
    Faults {
        rate_limit_every: 3,
        retry_after_secs: 1,
        ..Faults::default()
    }
}

fn error_500() -> Faults {
    Faults {
        error_500_every: 3,
        ..Faults::default()
    }
}

fn error_503() -> Faults {
    Faults {
        error_503_every: 3,
        ..Faults::default()
    }
}

fn html(every: u32) -> Faults {
    Faults {
        html_200_every: every,
        ..Faults::default()
    }
}

fn truncated(every: u32) -> Faults {
    Faults {
        truncate_every: every,
        ..Faults::default()
    }
}

macro_rules! every_knob {
    ($module:ident, $target:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn no_faults() {
                super::no_faults($target).await;
            }

            #[tokio::test]
            async fn latency() {
                super::latency($target).await;
            }

            #[tokio::test]
            async fn rate_limited_429() {
                retried($target, rate_limited()).await;
            }

            #[tokio::test]
            async fn error_500() {
                retried($target, super::error_500()).await;
            }

            #[tokio::test]
            async fn error_503() {
                retried($target, super::error_503()).await;
            }

            #[tokio::test]
            async fn html_200() {
                protocol_error($target, html).await;
            }

            #[tokio::test]
            async fn truncated() {
                protocol_error($target, super::truncated).await;
            }

            #[tokio::test]
            async fn shift_during_walk() {
                shift($target).await;
            }

            #[tokio::test]
            async fn shipments_are_received() {
                shipment($target).await;
            }
        }
    };
}

every_knob!(spark_shipping, Target::SparkShipping);
every_knob!(listing_mirror, Target::ListingMirror);
every_knob!(order_time_custom_store, Target::OrderTimeCustomStore);
every_knob!(order_time, Target::OrderTimeRest);

/// `shift_during_walk`. After page 1 of the walk is served, the simulator modifies the order on
/// the walk's last row (`LastModified` = now, which is the window's end).
///
/// - Custom Store exports (Order Time's included) sort by `LastModified` descending, so the
///   order jumps to page 1,
///   which the walk has read: **the walk misses it** (and page 2 repeats page 1's last row,
///   which the upsert by external id absorbs). The next incremental window overlaps the end of
///   this one and starts at or before the order's new `LastModified`, so it brings the order
///   back: after both walks nothing is lost.
/// - Order Time's REST list is sorted by `DocNo`, so the modified ship doc keeps its place and
///   the walk reads it in its new state: nothing is lost even in one walk.
async fn shift(target: Target) {
    if !connectable(target.flavor()) {
        return;
    }
    let faults = Faults {
        shift_during_walk: true,
        ..Faults::default()
    };
    let h = harness(target, faults).await;
    let (from, to) = (now() - Duration::days(2), now());
    let (outcomes, error) = walk(h.channel.as_ref(), window(from, to)).await;
    assert!(error.is_none(), "{error:?}");
    let mut imported = Imported::new();
    absorb(&mut imported, &outcomes);
    let numbers: BTreeSet<&str> = imported.values().map(|s| s.order_number.as_str()).collect();
    // The modified order: its new LastModified is the clock's time, the window's end.
    let modified = h.sim.orders_visible(&h.store_id, to, to);
    assert_eq!(modified.len(), 1, "{modified:?}");
    let victim = modified[0].as_str();
    if target.newest_first() {
        assert!(
            !numbers.contains(victim),
            "one walk loses the modified order"
        );
        let visible = h.sim.orders_visible(&h.store_id, from, to);
        let lost: Vec<&String> = visible
            .iter()
            .filter(|n| !numbers.contains(n.as_str()))
            .collect();
        assert_eq!(lost, [victim], "and only that one");
        assert!(
            outcomes.len() > imported.len(),
            "and reads another one twice"
        );
        // The next incremental window, overlapping the last one by ten minutes.
        h.clock.advance(Duration::minutes(15));
        let next = window(to - Duration::minutes(10), h.clock.now());
        let (outcomes, error) = walk(h.channel.as_ref(), next).await;
        assert!(error.is_none(), "{error:?}");
        absorb(&mut imported, &outcomes);
        assert!(
            imported.values().any(|s| s.order_number == victim),
            "the overlapping walk recovers it"
        );
        assert_complete(&h, from, h.clock.now(), &imported);
    } else {
        assert!(
            numbers.contains(victim),
            "read in its new state, in its place"
        );
        assert_eq!(outcomes.len(), imported.len(), "no row read twice");
        assert_complete(&h, from, to, &imported);
    }
    h.sim.shutdown().await;
}

/// Imports, ships the first order awaiting shipment, and finds the shipment in the simulator;
/// an unknown order is refused with 404.
async fn shipment(target: Target) {
    if !connectable(target.flavor()) {
        return;
    }
    let h = harness(target, Faults::default()).await;
    let (outcomes, error) =
        walk(h.channel.as_ref(), window(now() - Duration::days(2), now())).await;
    assert!(error.is_none());
    let order: Order = outcomes
        .into_iter()
        .find_map(|o| match o {
            FetchOutcome::Accepted(order) if order.status == CanonicalStatus::AwaitingShipment => {
                Some(*order)
            }
            _ => None,
        })
        .expect("an order awaits shipment");
    let update = |order_ref: OrderRef| ShipmentUpdate {
        order: order_ref,
        carrier: "UPS".into(),
        service: Some("UPS Ground".into()),
        tracking_number: format!("1ZSIM{}", order.order_number.replace('-', "")),
        ship_date: now().date_naive(),
        label_created_at: Some(now()),
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Complete(
            order
                .items
                .iter()
                .map(|item| ShippedItem {
                    line_id: item.line_id.clone(),
                    sku: item.sku.clone(),
                    name: Some(item.name.clone()),
                    quantity: item.quantity,
                })
                .collect(),
        ),
        kind: ShipmentKind::Label,
    };
    let shipped = update(OrderRef {
        external_id: Some(order.external_id.clone()),
        order_number: order.order_number.clone(),
    });
    h.channel.push_shipment(&shipped).await.unwrap();
    let received = h.sim.shipments();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].order_number, order.order_number);
    assert_eq!(received[0].tracking_number, shipped.tracking_number);
    assert_eq!(received[0].carrier, "UPS");
    assert!(received[0].body.contains(&shipped.tracking_number));
    // The store now shows it shipped, modified now.
    assert_eq!(
        h.sim.last_modified(&h.store_id, &order.order_number),
        Some(now())
    );

    let unknown = h
        .channel
        .push_shipment(&update(OrderRef {
            external_id: Some("999999999".into()),
            order_number: "999999999".into(),
        }))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, ChannelError::Refused { status: 404, .. }),
        "{unknown:?}"
    );
    assert_eq!(h.sim.shipments().len(), 1);
    h.sim.shutdown().await;
}

/// Order Time over its default transport, with seed 004's two credentials only, and over REST,
/// against one simulator: the same ship docs arrive both ways, and the Custom Store endpoint
/// also brings the seed's fields the REST ship doc lacks (item weights and the order's total,
/// bins, images, options, gifts).
#[tokio::test]
async fn order_time_transports_import_the_same_ship_docs_and_the_custom_store_the_seeds_fields() {
    if !connectable(Flavor::OrderTime) {
        return;
    }
    let h = harness(Target::OrderTimeCustomStore, Faults::default()).await;
    let config = &StoresFile::parse(&h.sim.stores_toml(), &|_| None)
        .unwrap()
        .stores[0];
    assert!(config.secrets.api_key.is_some() && config.username.is_some());
    assert!(config.secrets.password.is_none() && config.secrets.dev_key.is_none());
    let rest = connect(
        &StoresFile::parse(&h.sim.rest_stores_toml(), &|_| None)
            .unwrap()
            .stores[0],
    )
    .unwrap();
    assert_eq!(h.channel.spec().modified_precision, Duration::minutes(1));
    assert_eq!(rest.spec().modified_precision, Duration::seconds(1));
    let window = window(now() - Duration::days(2), now());
    let (over_custom_store, error) = walk(h.channel.as_ref(), window).await;
    assert!(error.is_none(), "{error:?}");
    let (over_rest, error) = walk(rest.as_ref(), window).await;
    assert!(error.is_none(), "{error:?}");

    let accepted = |outcomes: &[FetchOutcome]| -> BTreeMap<String, Order> {
        outcomes
            .iter()
            .filter_map(|o| match o {
                FetchOutcome::Accepted(order) => {
                    Some((order.external_id.clone(), (**order).clone()))
                }
                FetchOutcome::Rejected(_) => None,
            })
            .collect()
    };
    let (cs, rest) = (accepted(&over_custom_store), accepted(&over_rest));
    let rejected = |outcomes: &[FetchOutcome]| {
        outcomes
            .iter()
            .filter(|o| matches!(o, FetchOutcome::Rejected(_)))
            .count()
    };
    assert_eq!(rejected(&over_custom_store), rejected(&over_rest));
    assert_eq!(
        cs.keys().collect::<Vec<_>>(),
        rest.keys().collect::<Vec<_>>()
    );
    assert!(cs.len() > 100, "{}", cs.len());
    for (id, a) in &cs {
        let b = &rest[id];
        // A REST ship-to carries the buyer's e-mail and no company (a CustomerAddress has no
        // company field); the export's carries the company and no e-mail (it is on BillTo).
        let comparable = |ship_to: &Option<orderport::Address>| {
            ship_to.clone().map(|mut s| {
                s.email = None;
                s.company = None;
                s
            })
        };
        assert_eq!(
            (&a.order_number, a.status, &a.raw_status, a.order_total),
            (&b.order_number, b.status, &b.raw_status, b.order_total),
            "ship doc {id}"
        );
        assert_eq!(
            comparable(&a.ship_to),
            comparable(&b.ship_to),
            "ship doc {id}"
        );
        assert_eq!(a.customer.email, b.customer.email, "ship doc {id}");
        let lines = |o: &Order| -> Vec<(Option<String>, String, u32)> {
            o.items
                .iter()
                .map(|i| (i.line_id.clone(), i.sku.clone(), i.quantity))
                .collect()
        };
        assert_eq!(lines(a), lines(b), "ship doc {id}");
        // Minutes over the Custom Store endpoint, seconds over REST.
        assert_eq!(
            a.modified_at,
            b.modified_at.duration_trunc(Duration::minutes(1)).unwrap()
        );
        // Only the export weighs and bins the items.
        assert!(a
            .items
            .iter()
            .all(|i| i.weight.is_some() && i.location.is_some()));
        assert!(a.total_weight.is_some(), "ship doc {id}");
        assert!(b
            .items
            .iter()
            .all(|i| i.weight.is_none() && i.location.is_none()));
        assert!(b.total_weight.is_none());
    }
    let items = || cs.values().flat_map(|o| &o.items);
    assert!(items().any(|i| i.image_url.is_some()));
    assert!(items().any(|i| !i.options.is_empty()));
    assert!(cs
        .values()
        .any(|o| o.gift.is_gift && o.gift.message.is_some()));
    assert!(rest.values().all(|o| !o.gift.is_gift));
    h.sim.shutdown().await;
}
