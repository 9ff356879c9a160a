//! The Custom Store transport's promises in plain words: over its recorded fixtures (the seed's
//! fields, the order weight from the items, the tenant's own statuses) and against a wiremock
//! endpoint (where the requests go, with which credentials, and what is never sent).
//!
//! Every channel here is built on its own HTTP client: tests of one binary run in parallel
//! runtimes, and a pooled connection belongs to the runtime that opened it.

use futures::TryStreamExt;
use orderport_core::{
    pages, CanonicalStatus, ChannelError, ConfigError, OrderRef, SellingChannel, ShipmentKind,
    ShipmentScope, ShipmentUpdate, ShippedItem, StoreConfig, StoresFile, TimeWindow, Weight,
    WeightUnit,
};
use orderport_http::{client_builder, HttpClient};
use orderport_order_time::{OrderTimeChannel, Transport, SPEC};
use orderport_testkit::{run_scenario, workspace_fixtures, Connector, ScenarioRun};
use rust_decimal::Decimal;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EMAIL: &str = "admin@example.com";
const API_KEY: &str = "fixture-ot-api-key";
/// `admin@example.com:fixture-ot-api-key`.
const BASIC: &str = "Basic YWRtaW5AZXhhbXBsZS5jb206Zml4dHVyZS1vdC1hcGkta2V5";

fn client() -> HttpClient {
    HttpClient::from_reqwest(client_builder().build().expect("a client"))
}

fn connect_fresh(
    config: &StoreConfig,
) -> Result<Box<dyn SellingChannel>, orderport_core::ConfigError> {
    Ok(Box::new(OrderTimeChannel::with_client(config, client())?))
}

async fn run(name: &str) -> ScenarioRun {
    let connector = Connector::new(
        SPEC.id,
        connect_fresh,
        workspace_fixtures().join("order-time-custom-store"),
    );
    let scenario = connector.scenario(name).unwrap();
    let run = run_scenario(&connector, &scenario, &toml::Table::new())
        .await
        .unwrap();
    if let Err(mismatch) = &run.replay {
        panic!("{name}: {mismatch}");
    }
    run.result.as_ref().unwrap();
    run
}

fn weight(value: &str, unit: WeightUnit) -> Option<Weight> {
    Some(Weight {
        value: value.parse().unwrap(),
        unit,
    })
}

#[tokio::test]
async fn every_field_seed_004_lists_is_imported() {
    let run = run("seed-features").await;
    let (_, order) = run.accepted().next().unwrap();
    assert_eq!(order.customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(order.customer.phone.as_deref(), Some("303-555-0111"));
    assert_eq!(
        order.requested_shipping_service.as_deref(),
        Some("UPS Next Day Air")
    );
    assert_eq!(order.payment_method.as_deref(), Some("Net 30"));
    assert_eq!(order.discounts[0].code.as_deref(), Some("WELCOME10"));
    assert_eq!(order.discounts[0].amount, Decimal::new(350, 2));
    assert!(order.gift.is_gift);
    assert_eq!(
        order.gift.message.as_deref(),
        Some("Happy holidays from Fixture Outfitters")
    );
    assert!(order.internal_notes.is_some() && order.customer_notes.is_some());
    // The export's own order weight wins over the items' sum (also 27 oz here).
    assert_eq!(order.total_weight, weight("27", WeightUnit::Ounces));
    let widget = &order.items[0];
    assert_eq!(widget.weight, weight("10", WeightUnit::Ounces));
    assert_eq!(
        widget.image_url.as_deref(),
        Some("https://images.example.com/widget-blue.jpg")
    );
    let options: Vec<(&str, &str)> = widget
        .options
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(options, [("Finish", "Matte"), ("Thread", "3/4\" NPT")]);
    assert_eq!(widget.location.as_deref(), Some("Main Warehouse A-03-2"));
    assert_eq!(order.items[1].location.as_deref(), Some("East Annex B-11"));
    assert_eq!(order.requested_warehouse.as_deref(), Some("Main Warehouse"));
    assert_eq!(order.raw_status, "paid");
    assert_eq!(order.status, CanonicalStatus::AwaitingShipment);
}

#[tokio::test]
async fn an_export_without_an_order_weight_gets_its_items_total() {
    let run = run("order-weight-from-items").await;
    let totals: Vec<(&str, Option<Weight>)> = run
        .accepted()
        .map(|(_, o)| (o.order_number.as_str(), o.total_weight))
        .collect();
    // 2 × 10 oz + 1 × 0.38 lbs (6.08 oz); the second has an unweighed item.
    assert_eq!(
        totals,
        [
            ("1061", weight("26.08", WeightUnit::Ounces)),
            ("1062", None)
        ]
    );
}

#[tokio::test]
async fn a_tenants_own_statuses_are_mapped_by_its_status_map() {
    let run = run("tenant-statuses").await;
    let statuses: Vec<(&str, CanonicalStatus)> = run
        .accepted()
        .map(|(_, o)| (o.raw_status.as_str(), o.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("Ready to Pick", CanonicalStatus::AwaitingShipment),
            ("Awaiting Payment", CanonicalStatus::AwaitingPayment),
            ("Shipped", CanonicalStatus::Shipped),
        ]
    );
}

fn store(server: &MockServer, extra: &str) -> StoreConfig {
    let text = format!(
        "[[store]]\nid = \"ot-cs\"\nname = \"Order Time CS\"\nchannel = \"order-time\"\n\
         url = \"{}/api\"\nusername = \"{EMAIL}\"\napi_key = \"{API_KEY}\"\n\
         retry_max_attempts = 2\nretry_base_delay_ms = 1\n{extra}\n",
        server.uri()
    );
    StoresFile::parse(&text, &|_| None)
        .unwrap()
        .stores
        .remove(0)
}

const EMPTY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Orders pages=\"0\" />\n";

fn window() -> TimeWindow {
    TimeWindow::new(
        "2026-03-01T00:00:00Z".parse().unwrap(),
        "2026-03-02T00:00:00Z".parse().unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_seeds_two_credentials_export_from_the_endpoint_under_the_api_base() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/shipstation"))
        .and(query_param("action", "export"))
        .and(query_param("SS-UserName", EMAIL))
        .and(query_param("SS-Password", API_KEY))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY))
        .expect(2)
        .mount(&server)
        .await;
    let channel = OrderTimeChannel::with_client(&store(&server, ""), client()).unwrap();
    assert_eq!(channel.transport(), Transport::CustomStore);
    assert_eq!(
        channel.spec().modified_precision,
        chrono::Duration::minutes(1)
    );
    channel.check_connection().await.unwrap();
    let walked: Vec<_> = pages(&channel, window()).try_collect().await.unwrap();
    assert_eq!(walked.len(), 1);
    // Nothing went to the REST API.
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path() == "/api/shipstation"));
    for request in &requests {
        assert!(!request.headers.contains_key("apikey"), "{request:?}");
        assert!(!request.headers.contains_key("password"), "{request:?}");
    }
}

#[tokio::test]
async fn a_tenant_endpoint_elsewhere_is_used_for_export_and_shipnotify() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ss/ordertime"))
        .and(query_param("action", "export"))
        .respond_with(ResponseTemplate::new(200).set_body_string(EMPTY))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ss/ordertime"))
        .and(query_param("action", "shipnotify"))
        .and(query_param("order_number", "1042"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let extra = format!("custom_store_url = \"{}/ss/ordertime\"", server.uri());
    let channel = OrderTimeChannel::with_client(&store(&server, &extra), client()).unwrap();
    let _: Vec<_> = pages(&channel, window()).try_collect().await.unwrap();
    channel.push_shipment(&shipment()).await.unwrap();
}

fn shipment() -> ShipmentUpdate {
    ShipmentUpdate {
        order: OrderRef {
            external_id: Some("1042".into()),
            order_number: "1042".into(),
        },
        carrier: "UPS".into(),
        service: Some("UPS Ground".into()),
        tracking_number: "1Z999AA10123456784".into(),
        ship_date: "2026-11-02".parse().unwrap(),
        label_created_at: None,
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Complete(vec![ShippedItem {
            line_id: Some("10421".into()),
            sku: "WIDGET-BLUE".into(),
            name: Some("Blue widget".into()),
            quantity: 1,
        }]),
        kind: ShipmentKind::Label,
    }
}

#[tokio::test]
async fn a_shipment_is_one_shipnotify_and_nothing_else() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/shipstation"))
        .and(query_param("action", "shipnotify"))
        .and(query_param("tracking_number", "1Z999AA10123456784"))
        .and(header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .expect(1)
        .mount(&server)
        .await;
    let channel = OrderTimeChannel::with_client(&store(&server, ""), client()).unwrap();
    channel.push_shipment(&shipment()).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // A shipnotify that fails after it may have been processed is not repeated.
    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&failing)
        .await;
    let channel = OrderTimeChannel::with_client(&store(&failing, ""), client()).unwrap();
    let err = channel.push_shipment(&shipment()).await.unwrap_err();
    assert!(matches!(err, ChannelError::Transient { .. }), "{err:?}");
    assert_eq!(failing.received_requests().await.unwrap().len(), 1);
}

fn refused(lines: &str) -> ConfigError {
    let text = format!(
        "[[store]]\nid = \"ot-x\"\nname = \"X\"\nchannel = \"order-time\"\n\
         url = \"https://services.ordertime.com/api\"\nusername = \"{EMAIL}\"\n\
         api_key = \"{API_KEY}\"\n{lines}\n"
    );
    let file = StoresFile::parse(&text, &|_| None).unwrap();
    orderport_order_time::connect(&file.stores[0])
        .err()
        .expect("refused")
}

#[test]
fn contradictory_stores_are_refused_naming_the_store_and_the_field() {
    let err = refused("transport = \"custom_store\"\npassword = \"fixture-p\"");
    assert_eq!(
        (err.store.as_deref(), err.field.as_str()),
        (Some("ot-x"), "password")
    );
    let err = refused("shipped_status_ref = \"shipped\"");
    assert_eq!(err.field, "shipped_status_ref");
    assert!(err.to_string().contains("store ot-x"), "{err}");
    let err = refused("transport = \"rest\"");
    assert_eq!(err.field, "password");
    assert!(err.message.contains("remove transport"), "{err}");
    let err = refused("password = \"fixture-p\"\nmax_orders_per_page = 5");
    assert_eq!(err.field, "max_orders_per_page");
}
