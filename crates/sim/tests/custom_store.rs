//! The Custom Store flavours over HTTP: export paging and windows, credentials, shipnotify,
//! and the schema.

mod common;

use common::*;
use orderport_sim::chrono::{Duration, TimeZone, Utc};
use orderport_sim::{Faults, Flavor, GeneratorConfig, Tz, PAGE_SIZE};
use orderport_testkit::workspace_fixtures;
use orderport_testkit::xsd::XsdSchema;

/// Every order number of an export window, page by page, and the pages count.
async fn walk(store: &orderport_sim::SimStore, start: &str, end: &str) -> (Vec<String>, u32) {
    let first = export(store, start, end, 1).await.text().await.unwrap();
    let total = pages(&first);
    let mut numbers = order_numbers(&first);
    for page in 2..=total {
        let xml = export(store, start, end, page).await.text().await.unwrap();
        assert_eq!(pages(&xml), total);
        numbers.extend(order_numbers(&xml));
    }
    (numbers, total)
}

#[tokio::test]
async fn exports_are_windows_in_the_store_wall_clock_newest_first_100_a_page() {
    let (sim, _clock) = start(
        Flavor::SparkShipping,
        generator(Tz::America__Chicago),
        Faults::default(),
    )
    .await;
    let store = &sim.stores()[0];
    // 18:00 CDT on the 9th to 06:00 CDT on the 10th is 23:00Z to 11:00Z.
    let (numbers, total) = walk(store, "03/09/2026 18:00", "03/10/2026 06:00").await;
    let from = Utc.with_ymd_and_hms(2026, 3, 9, 23, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap();
    let mut expected = sim.orders_visible(&store.id, from, to);
    expected.reverse();
    assert_eq!(numbers, expected);
    assert_eq!(total as usize, expected.len().div_ceil(PAGE_SIZE));
    assert!(total >= 1);

    // The whole history is several pages, newest first.
    let (all, total) = walk(store, "01/01/2026 00:00", "12/31/2026 23:59").await;
    assert!(total >= 3, "{total}");
    let modified: Vec<_> = all
        .iter()
        .map(|n| sim.last_modified(&store.id, n).unwrap())
        .collect();
    assert!(
        modified.windows(2).all(|w| w[0] >= w[1]),
        "sorted by LastModified descending"
    );
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no order twice");

    // A page past the end is empty but well-formed.
    let past = export(store, "01/01/2026 00:00", "12/31/2026 23:59", total + 1)
        .await
        .text()
        .await
        .unwrap();
    assert!(order_numbers(&past).is_empty());
    assert!(
        past.contains(&format!("<Orders pages=\"{total}\">")),
        "{past}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn windows_across_the_spring_forward_gap_match_utc() {
    let (sim, _clock) = start(
        Flavor::SparkShipping,
        generator(Tz::America__Chicago),
        Faults::default(),
    )
    .await;
    let store = &sim.stores()[0];
    // On 2026-03-08, 02:00-02:59 does not exist in Chicago: 01:00 CST is 07:00Z, 04:00 CDT 09:00Z.
    let (numbers, _) = walk(store, "03/08/2026 01:00", "03/08/2026 04:00").await;
    let from = Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 3, 8, 9, 0, 0).unwrap();
    let mut expected = sim.orders_visible(&store.id, from, to);
    expected.reverse();
    assert_eq!(numbers, expected);
    assert!(
        !numbers.is_empty(),
        "the generator puts orders around DST changes"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn dates_are_written_in_the_store_wall_clock() {
    let (sim, _clock) = start(
        Flavor::SparkShipping,
        generator(Tz::America__Chicago),
        Faults::default(),
    )
    .await;
    let store = &sim.stores()[0];
    let xml = export(store, "03/10/2026 00:00", "03/10/2026 07:00", 1)
        .await
        .text()
        .await
        .unwrap();
    let number = order_numbers(&xml).remove(0);
    let modified = sim.last_modified(&store.id, &number).unwrap();
    let wall = modified
        .with_timezone(&Tz::America__Chicago)
        .format("%m/%d/%Y %H:%M")
        .to_string();
    assert_eq!(field(&xml, &number, "LastModified"), wall);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    assert!(xml.contains("<OrderStatus><![CDATA["), "free text is CDATA");
    sim.shutdown().await;
}

#[tokio::test]
async fn credentials_go_as_basic_or_in_the_query_and_bad_ones_get_an_empty_401() {
    let (sim, _clock) = start(Flavor::SparkShipping, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    let window = [
        ("action", "export"),
        ("start_date", "03/09/2026 00:00"),
        ("end_date", "03/10/2026 00:00"),
    ];
    let in_query = client()
        .get(&store.url)
        .query(&window)
        .query(&[
            ("SS-UserName", &store.username),
            ("SS-Password", &store.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 200);
    let basic = client()
        .get(&store.url)
        .query(&window)
        .basic_auth(&store.username, Some(&store.password))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    for request in [
        client().get(&store.url).query(&window),
        client()
            .get(&store.url)
            .query(&window)
            .basic_auth(&store.username, Some("wrong")),
        client().get(&store.url).query(&window).query(&[
            ("SS-UserName", store.username.as_str()),
            ("SS-Password", "wrong"),
        ]),
    ] {
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), 401);
        assert_eq!(reply.text().await.unwrap(), "");
    }
    let unknown = client()
        .get(format!("{}/nowhere", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    sim.shutdown().await;
}

fn ship_notice(order_number: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><ShipNotice><OrderNumber><![CDATA[{order_number}]]></OrderNumber>\
         <Carrier><![CDATA[USPS]]></Carrier><TrackingNumber><![CDATA[9400111]]></TrackingNumber></ShipNotice>"
    )
}

#[tokio::test]
async fn shipnotify_is_recorded_ships_the_order_and_unknown_orders_are_404() {
    let (sim, clock) = start(Flavor::SparkShipping, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    let now = clock.now();
    let number = sim
        .orders_visible(&store.id, now - Duration::days(2), now)
        .pop()
        .unwrap();
    let send = |number: String| {
        client()
            .post(&store.url)
            .query(&[
                ("action", "shipnotify"),
                ("order_number", number.as_str()),
                ("carrier", "USPS"),
                ("service", "Priority Mail"),
                ("tracking_number", "9400111"),
            ])
            .basic_auth(&store.username, Some(&store.password))
            .header("content-type", "application/xml; charset=utf-8")
            .body(ship_notice(&number))
            .send()
    };
    clock.advance(Duration::minutes(5));
    let reply = send(number.clone()).await.unwrap();
    assert_eq!(reply.status(), 200);
    let shipments = sim.shipments();
    assert_eq!(shipments.len(), 1);
    let shipment = &shipments[0];
    assert_eq!(shipment.store_id, store.id);
    assert_eq!(shipment.order_number, number);
    assert_eq!(shipment.carrier, "USPS");
    assert_eq!(shipment.service.as_deref(), Some("Priority Mail"));
    assert_eq!(shipment.tracking_number, "9400111");
    assert!(shipment.body.contains("<ShipNotice>"));
    assert_eq!(shipment.received_at, clock.now());
    // The store marks it shipped, now.
    assert_eq!(sim.last_modified(&store.id, &number), Some(clock.now()));
    let xml = export(store, "03/10/2026 12:00", "03/10/2026 12:10", 1)
        .await
        .text()
        .await
        .unwrap();
    // The window holds what the store modified in it, newest first: the shipped order leads
    // (other orders of the seed may also change between 12:00 and the shipment).
    let numbers = order_numbers(&xml);
    let mut expected = sim.orders_visible(
        &store.id,
        start_time(),
        start_time() + Duration::minutes(10),
    );
    expected.reverse();
    assert_eq!(numbers, expected);
    assert_eq!(numbers.first(), Some(&number));
    assert!(["shipped", "complete"].contains(&field(&xml, &number, "OrderStatus").as_str()));

    let unknown = send("999999999".into()).await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(sim.shipments().len(), 1);
    // An order placed after the clock's time does not exist yet.
    let future = sim.order_numbers(&store.id).pop().unwrap();
    assert_eq!(send(future).await.unwrap().status(), 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn valid_orders_follow_the_published_schema() {
    let schema =
        XsdSchema::load(&workspace_fixtures().join("custom-store/schema/orders.xsd")).unwrap();
    for flavor in [Flavor::SparkShipping, Flavor::ListingMirror] {
        let config = GeneratorConfig {
            invalid_share: 0.0,
            ..generator(Tz::America__Los_Angeles)
        };
        let (sim, _clock) = start(flavor, config, Faults::default()).await;
        let store = &sim.stores()[0];
        let (_, total) = walk(store, "01/01/2026 00:00", "12/31/2026 23:59").await;
        for page in 1..=total {
            let xml = export(store, "01/01/2026 00:00", "12/31/2026 23:59", page)
                .await
                .text()
                .await
                .unwrap();
            schema
                .validate(xml.as_bytes())
                .unwrap_or_else(|e| panic!("{flavor} page {page}: {e}"));
            assert!(!xml.contains("CurrencyCode"));
        }
        let empty = export(store, "01/01/2020 00:00", "01/02/2020 00:00", 1)
            .await
            .text()
            .await
            .unwrap();
        assert!(empty.contains("<Orders pages=\"0\">"));
        schema.validate(empty.as_bytes()).unwrap();
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn orders_without_a_ship_to_are_the_only_ones_off_the_schema() {
    let schema =
        XsdSchema::load(&workspace_fixtures().join("custom-store/schema/orders.xsd")).unwrap();
    let config = GeneratorConfig {
        invalid_share: 1.0,
        ..generator(Tz::UTC)
    };
    let (sim, _clock) = start(Flavor::SparkShipping, config, Faults::default()).await;
    let store = &sim.stores()[0];
    let xml = export(store, "01/01/2026 00:00", "12/31/2026 23:59", 1)
        .await
        .text()
        .await
        .unwrap();
    let orders: Vec<&str> = xml.split("<Order>").skip(1).collect();
    let (without, with): (Vec<&str>, Vec<&str>) =
        orders.iter().partition(|o| !o.contains("<ShipTo>"));
    assert!(!without.is_empty() && !with.is_empty());
    let document = |bodies: &[&str]| {
        let inner: String = bodies
            .iter()
            .map(|o| format!("<Order>{}", o.split("</Order>").next().unwrap()) + "</Order>")
            .collect();
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Orders pages=\"1\">{inner}</Orders>")
    };
    schema.validate(document(&with).as_bytes()).unwrap();
    assert!(schema.validate(document(&without).as_bytes()).is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn listing_mirror_sends_speed_categories_and_its_statuses() {
    let (sim, _clock) = start(Flavor::ListingMirror, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    assert!(store.url.contains("/shipstation/integration/1"));
    let (numbers, _) = walk(store, "01/01/2026 00:00", "12/31/2026 23:59").await;
    let mut methods = std::collections::BTreeSet::new();
    let mut statuses = std::collections::BTreeSet::new();
    for page in 1..=3 {
        let xml = export(store, "01/01/2026 00:00", "12/31/2026 23:59", page)
            .await
            .text()
            .await
            .unwrap();
        for number in order_numbers(&xml) {
            methods.insert(field(&xml, &number, "ShippingMethod"));
            statuses.insert(field(&xml, &number, "OrderStatus"));
        }
    }
    assert!(
        methods
            .iter()
            .all(|m| ["Standard", "Expedited", "Priority"].contains(&m.as_str())),
        "{methods:?}"
    );
    let known = [
        "Unpaid",
        "Pending",
        "Accepted",
        "Shipped",
        "Cancelled",
        "Canceled",
        "Backordered",
    ];
    assert!(
        statuses.iter().all(|s| known.contains(&s.as_str())),
        "{statuses:?}"
    );
    assert!(statuses.contains("Accepted") && statuses.contains("Shipped"));
    // Marketplace order numbers such as 111-0000123-4567890.
    assert!(
        numbers
            .iter()
            .all(|n| n.len() == 19 && n.matches('-').count() == 2),
        "{:?}",
        &numbers[..3]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn several_stores_have_their_own_urls_credentials_and_orders() {
    let config = GeneratorConfig {
        stores: 2,
        ..generator(Tz::UTC)
    };
    let (sim, _clock) = start(Flavor::SparkShipping, config, Faults::default()).await;
    let stores = sim.stores();
    assert_eq!(stores.len(), 2);
    assert_ne!(stores[0].url, stores[1].url);
    assert_ne!(stores[0].password, stores[1].password);
    let a = sim.order_numbers(&stores[0].id);
    let b = sim.order_numbers(&stores[1].id);
    assert!(a.iter().all(|n| !b.contains(n)));
    // One store's credentials do not open the other.
    let reply = client()
        .get(&stores[1].url)
        .query(&[
            ("action", "export"),
            ("start_date", "03/09/2026 00:00"),
            ("end_date", "03/10/2026 00:00"),
        ])
        .basic_auth(&stores[0].username, Some(&stores[0].password))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
    let toml = sim.stores_toml();
    assert_eq!(toml.matches("[[store]]").count(), 2);
    assert!(toml.contains(&format!("password = \"{}\"", stores[1].password)));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_simulator_listens_on_loopback_only() {
    let clock = orderport_sim::SimClock::fixed(start_time());
    let err = orderport_sim::ChannelSim::start(
        Flavor::SparkShipping,
        generator(Tz::UTC),
        Faults::default(),
        clock,
        "0.0.0.0:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn advancing_the_clock_reveals_new_orders_and_new_states() {
    let (sim, clock) = start(Flavor::SparkShipping, generator(Tz::UTC), Faults::default()).await;
    let store = &sim.stores()[0];
    let t0 = clock.now();
    let history = "01/01/2026 00:00";
    let (before, _) = walk(store, history, "12/31/2026 23:59").await;
    // Orders placed later exist in the generator but not yet in the store.
    let all = sim.order_numbers(&store.id);
    let future: Vec<&String> = all.iter().filter(|n| !before.contains(n)).collect();
    assert!(!future.is_empty());
    assert!(sim
        .orders_visible(&store.id, t0, t0 + Duration::days(30))
        .is_empty());

    clock.advance(Duration::hours(6));
    // The incremental window since t0: new orders, and old orders in a new state.
    let (changed, _) = walk(store, "03/10/2026 12:00", "03/10/2026 18:00").await;
    let new_orders = changed.iter().filter(|n| !before.contains(n)).count();
    let moved_on = changed.iter().filter(|n| before.contains(n)).count();
    assert!(
        new_orders > 0 && moved_on > 0,
        "{new_orders} new, {moved_on} moved on"
    );
    for number in &changed {
        let modified = sim.last_modified(&store.id, number).unwrap();
        assert!(modified >= t0 && modified <= clock.now());
    }
    // Setting the clock back hides them again.
    clock.set(t0);
    let (again, _) = walk(store, history, "12/31/2026 23:59").await;
    assert_eq!(again, before);
    sim.shutdown().await;
}
