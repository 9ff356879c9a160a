//! The example connector against a wiremock server: paging, mapping and rejections, errors,
//! retries, and shipments.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use orderport_connector_example::{connect, SPEC};
use orderport_core::{
    pages, CanonicalStatus, ChannelError, FetchOutcome, OrderRef, Page, ReasonCode, SellingChannel,
    ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem, StoreConfig, StoresFile, TimeWindow,
};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "fixture-acme-key";

fn store(url: &str, extra: &str) -> StoreConfig {
    let text = format!(
        "[[store]]\nid = \"acme-test\"\nname = \"Acme Test\"\nchannel = \"acme-market\"\n\
         url = \"{url}\"\napi_key = \"{KEY}\"\nretry_base_delay_ms = 10\n{extra}"
    );
    StoresFile::parse(&text, &|_| None)
        .unwrap()
        .stores
        .remove(0)
}

fn window() -> TimeWindow {
    TimeWindow::new(
        "2026-03-01T00:00:00Z".parse().unwrap(),
        "2026-03-02T00:00:00Z".parse().unwrap(),
    )
    .unwrap()
}

fn order(number: &str, overrides: Value) -> Value {
    let mut order = json!({
        "id": format!("A-{number}"),
        "number": number,
        "state": "paid",
        "created_at": "2026-03-01T08:00:00Z",
        "updated_at": "2026-03-01T08:05:00Z",
        "total": "19.50",
        "currency": "usd",
        "email": "ada@example.com",
        "phone": "312-555-0120",
        "shipping_service": "Next day",
        "shipping_address": {
            "name": "Ada Fixture", "street1": "100 Example Street", "city": "Chicago",
            "region": "IL", "postal_code": "60601", "country": "US"
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

async fn serve_page(server: &MockServer, page: u32, orders: Vec<Value>, next: Option<u32>) {
    Mock::given(method("GET"))
        .and(path("/v1/orders"))
        .and(query_param("updated_from", "2026-03-01T00:00:00Z"))
        .and(query_param("updated_to", "2026-03-02T00:00:00Z"))
        .and(query_param("page", page.to_string()))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"orders": orders, "next_page": next})),
        )
        .expect(1)
        .mount(server)
        .await;
}

async fn walk(channel: &dyn SellingChannel) -> Result<Vec<Page>, ChannelError> {
    pages(channel, window()).try_collect().await
}

#[tokio::test]
async fn a_window_is_walked_page_by_page_and_bad_orders_are_rejected_with_reasons() {
    let server = MockServer::start().await;
    serve_page(&server, 1, vec![order("1001", json!({}))], Some(2)).await;
    serve_page(
        &server,
        2,
        vec![
            order("1002", json!({"shipping_address": null})),
            order("1003", json!({"total": "12,50", "state": "lost"})),
            json!({"id": "A-1004", "number": "1004", "lines": "not a list"}),
            order(
                "1005",
                json!({"state": "fulfilled", "created_at": "2026-03-01 02:00:00"}),
            ),
        ],
        None,
    )
    .await;
    let channel = connect(&store(&server.uri(), "timezone = \"America/Chicago\"")).unwrap();
    let pages = walk(channel.as_ref()).await.unwrap();
    assert_eq!(pages.len(), 2);
    let outcomes: Vec<&FetchOutcome> = pages.iter().flat_map(|p| &p.outcomes).collect();
    assert_eq!(outcomes.len(), 5);

    let FetchOutcome::Accepted(first) = outcomes[0] else {
        panic!("{:?}", outcomes[0]);
    };
    assert_eq!(
        (first.channel.as_str(), first.store_id.as_str()),
        ("acme-market", "acme-test")
    );
    assert_eq!(first.status, CanonicalStatus::AwaitingShipment);
    assert_eq!(first.order_total.to_string(), "19.50");
    assert_eq!(first.currency.as_ref().map(|c| c.as_str()), Some("USD"));
    assert_eq!(first.customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(first.items[0].line_id.as_deref(), Some("L1"));

    let reasons = |i: usize| match outcomes[i] {
        FetchOutcome::Rejected(r) => r
            .reasons
            .iter()
            .map(|x| (x.field.as_str(), x.code))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(reasons(1), [("ship_to", ReasonCode::Missing)]);
    assert_eq!(
        reasons(2),
        [
            ("raw_status", ReasonCode::UnmappedStatus),
            ("order_total", ReasonCode::InvalidNumber)
        ]
    );
    assert_eq!(reasons(3), [("order", ReasonCode::InvalidValue)]);
    // An offset-less time is read in the store's zone: 02:00 CST is 08:00 UTC.
    let FetchOutcome::Accepted(fifth) = outcomes[4] else {
        panic!("{:?}", outcomes[4]);
    };
    assert_eq!(fifth.ordered_at.to_rfc3339(), "2026-03-01T08:00:00+00:00");
    assert_eq!(fifth.status, CanonicalStatus::Shipped);
}

#[tokio::test]
async fn a_401_is_an_authentication_error_that_does_not_show_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string(format!("bad key {KEY}")))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let err = channel.check_connection().await.unwrap_err();
    assert!(matches!(err, ChannelError::Authentication { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains(KEY), "{err:?}");
}

#[tokio::test]
async fn a_429_is_retried_after_the_time_the_server_asks_for() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    serve_page(&server, 1, vec![order("1001", json!({}))], None).await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let started = Instant::now();
    let pages = walk(channel.as_ref()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(pages[0].outcomes.len(), 1);
}

#[tokio::test]
async fn a_200_html_page_is_a_protocol_error_not_an_empty_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><body>Maintenance</body></html>"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let err = walk(channel.as_ref()).await.unwrap_err();
    let ChannelError::Protocol { excerpt, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(excerpt.contains("Maintenance"));
}

#[tokio::test]
async fn a_partial_shipment_posts_its_lines() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/orders/A-1001%2FB/fulfillments"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "carrier": "UPS",
            "service": "Ground",
            "tracking_number": "1Z0000000000001001",
            "shipped_on": "2026-03-02",
            "notify_customer": true,
            "lines": [{"id": "L1", "sku": "ACME-1", "quantity": 1}]
        })))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let update = ShipmentUpdate {
        order: OrderRef {
            external_id: Some("A-1001/B".into()),
            order_number: "1001".into(),
        },
        carrier: "UPS".into(),
        service: Some("Ground".into()),
        tracking_number: "1Z0000000000001001".into(),
        ship_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        label_created_at: None,
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: true,
        scope: ShipmentScope::Partial(vec![ShippedItem {
            line_id: Some("L1".into()),
            sku: "ACME-1".into(),
            name: None,
            quantity: 1,
        }]),
        kind: ShipmentKind::Label,
    };
    channel.push_shipment(&update).await.unwrap();
}

#[test]
fn connect_checks_the_store_by_field() {
    let url = "https://api.acme.example";
    assert!(connect(&store(url, "")).is_ok());
    for (extra, field) in [
        ("page_size = 10", "page_size"),
        ("retry_max_attempts = 0", "retry_max_attempts"),
        ("request_timeout_secs = \"30\"", "request_timeout_secs"),
    ] {
        assert_eq!(
            connect(&store(url, extra)).err().unwrap().field,
            field,
            "{extra}"
        );
    }
    let mut keyless = store(url, "");
    keyless.secrets.api_key = None;
    assert_eq!(connect(&keyless).err().unwrap().field, "api_key");
    let mut other = store(url, "");
    other.channel = "spark-shipping".into();
    assert_eq!(connect(&other).err().unwrap().field, "channel");
    assert_eq!(
        connect(&store("ftp://acme.example", ""))
            .err()
            .unwrap()
            .field,
        "url"
    );
    assert_eq!(SPEC.id, "acme-market");
}
