//! The connector's fixtures, described in Rust: `fixtures/acme-market/<scenario>/` holds exactly
//! what this file describes (run with `UPDATE_FIXTURES=1` to rewrite it, then read the diff).
//! The conformance suite (`tests/conformance.rs`) replays them; the snapshots
//! (`outcomes.snap`) it writes are read by hand before they are accepted.
//!
//! Every required scenario is here, and three of Acme's own: a read-only token, a shipment
//! without the order's id, and the connection check.

use std::path::{Path, PathBuf};

use orderport_core::{
    CanonicalStatus, OrderRef, ReasonCode, ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem,
};
use orderport_testkit::fixture::{
    self, RequestFixture, ResponseFixture, ScenarioFixture, StoreFixture,
};
use orderport_testkit::scenario::{Expect, ExpectedOrder, ResultKind};
use serde_json::{json, Value};

const CHANNEL: &str = "acme-market";
const TOKEN: &str = "fixture-acme-market-token";
/// The window most scenarios fetch, and the bounds Acme is sent for it: one second wider on
/// each side, since its bounds are strictly exclusive.
const WINDOW: (&str, &str) = ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
const BOUNDS: (&str, &str) = ("2026-02-28T23:59:59", "2026-03-02T00:00:01");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(CHANNEL)
}

fn store() -> StoreFixture {
    StoreFixture::new("acme-market-fixture", "Acme Fixture Store", CHANNEL, "/api")
        .secret("access_token", TOKEN)
        .set("timezone", "America/Chicago")
}

fn fetch(name: &str, description: &str) -> ScenarioFixture {
    ScenarioFixture::fetch(name, description, WINDOW.0, WINDOW.1).store(store())
}

/// The orders request for page `page` of the window `bounds`.
fn orders_request(bounds: (&str, &str), page: u32) -> RequestFixture {
    RequestFixture::get("/api/v1/orders")
        .query("updated_after", bounds.0)
        .query("updated_before", bounds.1)
        .query("page", page)
        .header("authorization", &bearer())
}

/// A page of orders, `total` pages in all.
fn orders_reply(file: &str, orders: &[Value], total: u32) -> ResponseFixture {
    ResponseFixture::json(200, file, &orders).header("x-total-pages", &total.to_string())
}

/// A valid paid order, `overrides` replacing its fields.
fn order(number: u32, overrides: Value) -> Value {
    let mut order = json!({
        "id": format!("A-{number}"),
        "number": number.to_string(),
        "state": "paid",
        "created_at": "2026-03-01T02:00:00",
        "updated_at_gmt": "2026-03-01T08:05:00",
        "total": "19.50",
        "currency": "usd",
        "customer": {"email": "ada@example.com", "phone": "312-555-0120"},
        "shipping_address": {
            "name": "Ada Fixture", "address1": "100 Example Street", "city": "Chicago",
            "state": "IL", "postal_code": "60601", "country": "US"
        },
        "lines": [{"id": "L1", "sku": "ACME-1", "title": "Anvil", "quantity": 1, "price": "19.50"}]
    });
    if let (Some(order), Some(overrides)) = (order.as_object_mut(), overrides.as_object()) {
        for (key, value) in overrides {
            order.insert(key.clone(), value.clone());
        }
    }
    order
}

fn shipment(scope: ShipmentScope, external_id: Option<&str>) -> ShipmentUpdate {
    ShipmentUpdate {
        order: OrderRef {
            external_id: external_id.map(str::to_owned),
            order_number: "1001".into(),
        },
        carrier: "UPS".into(),
        service: Some("Ground".into()),
        tracking_number: "1Z0000000000001001".into(),
        ship_date: "2026-03-02".parse().unwrap(),
        label_created_at: Some("2026-03-02T14:30:00Z".parse().unwrap()),
        shipping_cost: Some("7.45".parse().unwrap()),
        notes_to_buyer: Some("Thank you!".into()),
        notify_customer: true,
        scope,
        kind: ShipmentKind::Label,
    }
}

fn line(quantity: u32) -> ShippedItem {
    ShippedItem {
        line_id: Some("L1".into()),
        sku: "ACME-1".into(),
        name: Some("Anvil".into()),
        quantity,
    }
}

/// The fulfillment Acme must receive for `update`: its own field names, the lines as listed.
fn fulfillment(update: &ShipmentUpdate) -> Value {
    json!({
        "carrier": update.carrier,
        "service": update.service,
        "tracking_number": update.tracking_number,
        "shipped_on": "2026-03-02",
        "notify_customer": true,
        "lines": update.items().iter().map(|item| json!({
            "line_id": item.line_id, "sku": item.sku, "name": item.name, "quantity": item.quantity,
        })).collect::<Vec<_>>(),
    })
}

fn push(name: &str, description: &str, update: &ShipmentUpdate) -> ScenarioFixture {
    ScenarioFixture::push_shipment(name, description, update.clone()).store(store())
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn fulfillment_request(update: &ShipmentUpdate) -> RequestFixture {
    RequestFixture::post("/api/v1/orders/A-1001/fulfillments")
        .header("authorization", &bearer())
        .json("fulfillment.json", &fulfillment(update))
        .unwrap()
}

/// The required scenarios of fetching.
fn fetches() -> Vec<ScenarioFixture> {
    let bad_credentials = fetch("bad-credentials", "A revoked token: Acme answers 401")
        .expect(Expect::result(ResultKind::Authentication))
        .exchange(
            orders_request(BOUNDS, 1),
            ResponseFixture::json(401, "unauthorized.json", &json!({"error": "invalid token"})),
        );
    let first = orders_reply("page-1.json", &[order(1001, json!({}))], 2);
    let second = [
        order(1002, json!({"state": "fulfilled"})),
        order(1003, json!({"shipping_address": null})),
    ];
    let second = orders_reply("page-2.json", &second, 2);
    let description = "Two pages; the second has an order without an address";
    let expect = Expect::ok().counts(2, 2, 1);
    let multi_page = fetch("multi-page", description)
        .expect(expect.rejection("1003", "ship_to", ReasonCode::Missing))
        .exchange(orders_request(BOUNDS, 1), first)
        .exchange(orders_request(BOUNDS, 2), second);
    let empty_window = fetch("empty-window", "A window without orders")
        .expect(Expect::ok().counts(1, 0, 0))
        .exchange(
            orders_request(BOUNDS, 1),
            orders_reply("page-1.json", &[], 0),
        );
    let unmapped = [
        order(1021, json!({})),
        order(1022, json!({"state": "disputed"})),
    ];
    let unmapped_status = fetch("unmapped-status", "An order in a state no list maps")
        .expect(
            Expect::ok()
                .counts(1, 1, 1)
                .unmapped("1022", "disputed", CanonicalStatus::OnHold),
        )
        .exchange(
            orders_request(BOUNDS, 1),
            orders_reply("page-1.json", &unmapped, 1),
        );
    vec![
        bad_credentials,
        multi_page,
        empty_window,
        invalid_orders(),
        unmapped_status,
        dst_window(),
    ]
}

fn invalid_orders() -> ScenarioFixture {
    let free =
        json!([{"id": "L1", "sku": "ACME-1", "title": "Anvil", "quantity": 1, "price": "free"}]);
    let nowhere = json!({
        "name": "Bo Fixture", "address1": "1 Example Road", "city": "Springfield",
        "country": "United States of Nowhere"
    });
    let page = [
        order(1010, json!({})),
        order(1011, json!({"total": "12,50", "currency": "dollars"})),
        order(1012, json!({"created_at": "yesterday", "lines": free})),
        order(1013, json!({"shipping_address": nowhere})),
        json!({"id": "A-1014", "number": "1014", "lines": "not a list"}),
    ];
    let expect = Expect::ok()
        .counts(1, 1, 4)
        .rejection("1011", "order_total", ReasonCode::InvalidNumber)
        .rejection("1011", "currency", ReasonCode::InvalidValue)
        .rejection("1012", "ordered_at", ReasonCode::InvalidDate)
        .rejection("1012", "items[0].unit_price", ReasonCode::InvalidNumber)
        .rejection("1013", "ship_to.country", ReasonCode::InvalidCountryCode)
        .rejection("1014", "order", ReasonCode::InvalidValue);
    fetch(
        "invalid-orders",
        "Bad orders beside a good one, each rejected with every reason",
    )
    .expect(expect)
    .exchange(
        orders_request(BOUNDS, 1),
        orders_reply("page-1.json", &page, 1),
    )
}

/// Chicago starts daylight saving time at 08:00Z on 2026-03-08; `created_at` is in the store's
/// clock, `updated_at_gmt` in UTC.
fn dst_window() -> ScenarioFixture {
    let at = |text: &str| text.parse().unwrap();
    let page = [
        // 21:56 CST on the 7th is 03:56 UTC on the 8th: another calendar day.
        order(
            2001,
            json!({"created_at": "2026-03-07T21:56:00", "updated_at_gmt": "2026-03-08T07:30:00"}),
        ),
        // 03:30 is after the skipped hour: CDT, so 08:30 UTC.
        order(
            2002,
            json!({"created_at": "2026-03-08T03:30:00", "updated_at_gmt": "2026-03-08T09:15:00"}),
        ),
    ];
    let expect = Expect::ok()
        .counts(1, 2, 0)
        .order(
            ExpectedOrder::number("2001")
                .times(at("2026-03-08T03:56:00Z"), at("2026-03-08T07:30:00Z")),
        )
        .order(
            ExpectedOrder::number("2002")
                .times(at("2026-03-08T08:30:00Z"), at("2026-03-08T09:15:00Z")),
        );
    let description = "A Chicago store across the start of daylight saving time";
    ScenarioFixture::fetch(
        "dst-window",
        description,
        "2026-03-08T06:00:00Z",
        "2026-03-08T10:00:00Z",
    )
    .store(store())
    .expect(expect)
    .exchange(
        orders_request(("2026-03-08T05:59:59", "2026-03-08T10:00:01"), 1),
        orders_reply("page-1.json", &page, 1),
    )
}

/// The required scenarios of shipments.
fn shipments() -> Vec<ScenarioFixture> {
    let complete = shipment(ShipmentScope::Complete(vec![line(2)]), Some("A-1001"));
    let partial = shipment(ShipmentScope::Partial(vec![line(1)]), Some("A-1001"));
    vec![
        push(
            "shipment-full",
            "A complete shipment setting every optional field",
            &complete,
        )
        .exchange(fulfillment_request(&complete), ResponseFixture::status(201)),
        push(
            "shipment-partial",
            "A partial shipment: one of two units",
            &partial,
        )
        .exchange(fulfillment_request(&partial), ResponseFixture::status(201)),
    ]
}

/// The required scenarios of failures.
fn failures() -> Vec<ScenarioFixture> {
    let slow_down = json!({"error": "slow down"});
    let maintenance = "<html><body><h1>Down for maintenance</h1></body></html>\n";
    vec![
        fetch("rate-limited", "Acme asks to wait a second, then answers")
            .expect(Expect::ok().counts(1, 1, 0))
            .exchange(
                orders_request(BOUNDS, 1),
                ResponseFixture::json(429, "too-many.json", &slow_down).header("retry-after", "1"),
            )
            .exchange(
                orders_request(BOUNDS, 1),
                orders_reply("page-1.json", &[order(1031, json!({}))], 1),
            ),
        fetch("unavailable", "Acme is briefly unavailable, then answers")
            .expect(Expect::ok().counts(1, 1, 0))
            .exchange(orders_request(BOUNDS, 1), ResponseFixture::status(503))
            .exchange(
                orders_request(BOUNDS, 1),
                orders_reply("page-1.json", &[order(1041, json!({}))], 1),
            ),
        fetch("html-error", "A maintenance page served with HTTP 200")
            .expect(Expect::result(ResultKind::Protocol))
            .exchange(
                orders_request(BOUNDS, 1),
                ResponseFixture::text(200, "error-page.html", "text/html", maintenance),
            ),
    ]
}

/// Acme's own scenarios.
fn own_scenarios() -> Vec<ScenarioFixture> {
    let complete = shipment(ShipmentScope::Complete(vec![line(2)]), Some("A-1001"));
    let unknown = shipment(ShipmentScope::Complete(vec![line(2)]), None);
    let read_only = json!({"error": "this token may only read"});
    let ping = RequestFixture::get("/api/v1/ping").header("authorization", &bearer());
    vec![
        push(
            "read-only-token",
            "Acme answers a read-only token's fulfillment with 401",
            &complete,
        )
        .expect(Expect::result(ResultKind::Permission))
        .exchange(
            fulfillment_request(&complete),
            ResponseFixture::json(401, "forbidden.json", &read_only),
        ),
        push(
            "missing-external-id",
            "A shipment without the order's id: nothing sent",
            &unknown,
        )
        .expect(Expect::result(ResultKind::InvalidShipment)),
        ScenarioFixture::check_connection("check-connection", "The connection check pings Acme")
            .store(store())
            .exchange(
                ping,
                ResponseFixture::json(200, "pong.json", &json!({"ok": true})),
            ),
    ]
}

fn scenarios() -> Vec<ScenarioFixture> {
    [fetches(), shipments(), failures(), own_scenarios()].concat()
}

#[test]
fn the_fixtures_are_what_this_file_describes() {
    if let Err(report) = fixture::sync(&fixtures(), &scenarios()) {
        panic!("{report}");
    }
}
