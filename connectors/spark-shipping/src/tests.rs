//! Spark-specific behaviour: the declaration, a non-UTC Spark server, and the ship-to rule.

use chrono::{TimeZone, Utc};
use orderport_core::{
    CanonicalStatus, ChannelError, FetchOutcome, ReasonCode, Requirement, StoreConfig, StoresFile,
    TimeWindow,
};
use wiremock::matchers::{method, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn store(url: &str, extra: &str) -> StoreConfig {
    let text = format!(
        "[[store]]\nid = \"spark-hq\"\nname = \"Spark HQ\"\nchannel = \"spark-shipping\"\n\
         url = \"{url}\"\nusername = \"ss-vendor\"\npassword_env = \"SPARK_PW\"\n{extra}"
    );
    StoresFile::parse(&text, &|_| Some("pw".to_owned()))
        .unwrap()
        .stores
        .remove(0)
}

fn order(ship_to: &str) -> String {
    format!(
        "<Order><OrderID>S-1</OrderID><OrderNumber>1001</OrderNumber>\
         <OrderDate>03/07/2026 21:56 PM</OrderDate><OrderStatus>paid</OrderStatus>\
         <LastModified>03/07/2026 21:56</LastModified><OrderTotal>10.00</OrderTotal>\
         <Customer><CustomerCode>pat</CustomerCode>{ship_to}</Customer>\
         <Items><Item><SKU>A</SKU><Name>Mug</Name><Quantity>1</Quantity>\
         <UnitPrice>10.00</UnitPrice></Item></Items></Order>"
    )
}

const SHIP_TO: &str = "<ShipTo><Name>Pat</Name><Address1>1 Main St</Address1>\
    <City>Chicago</City><State>IL</State><PostalCode>60601</PostalCode><Country>US</Country></ShipTo>";

fn reply(orders: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Orders pages=\"1\">{orders}</Orders>"
    ))
}

#[test]
fn the_declaration_matches_the_channel() {
    assert_eq!((SPEC.id, SPEC.name), ("spark-shipping", "Spark Shipping"));
    assert_eq!(
        SPEC.requirements,
        [
            Requirement::ShipToAddress,
            Requirement::IsoCountryCode,
            Requirement::IsoStateCode
        ]
    );
    assert!(SPEC.capabilities.partial_shipments);
    assert!(SPEC.capabilities.customer_email);
    assert!(SPEC.capabilities.custom_statuses);
    assert_eq!(SPEC.modified_precision, chrono::Duration::minutes(1));
}

#[test]
fn default_statuses_map_the_custom_store_strings() {
    let channel = connect(&store("https://spark.example", "")).unwrap();
    for (raw, want) in [
        ("unpaid", CanonicalStatus::AwaitingPayment),
        ("pending", CanonicalStatus::AwaitingPayment),
        ("paid", CanonicalStatus::AwaitingShipment),
        ("processing", CanonicalStatus::AwaitingShipment),
        ("on-hold", CanonicalStatus::OnHold),
        ("on_hold", CanonicalStatus::OnHold),
        ("shipped", CanonicalStatus::Shipped),
        ("complete", CanonicalStatus::Shipped),
        ("cancelled", CanonicalStatus::Cancelled),
        ("canceled", CanonicalStatus::Cancelled),
    ] {
        assert_eq!(channel.map_status(raw), Ok(want), "{raw}");
    }
    // Case-sensitive, as ShipStation's lists are.
    assert!(channel.map_status("Paid").is_err());
}

#[test]
fn connect_refuses_bad_configurations_by_field() {
    let err = connect(&store("https://spark.example", "retry_attempts = 3"))
        .err()
        .unwrap();
    assert_eq!(err.field, "retry_attempts");
    let err = connect(&store("ftp://spark.example", "")).err().unwrap();
    assert_eq!(err.field, "url");
    let mut other = store("https://spark.example", "");
    other.channel = "order-time".into();
    assert_eq!(connect(&other).err().unwrap().field, "channel");
    let mut nameless = store("https://spark.example", "");
    nameless.username = None;
    assert_eq!(connect(&nameless).err().unwrap().field, "username");
    let mut no_password = store("https://spark.example", "");
    no_password.secrets.password = None;
    assert_eq!(connect(&no_password).err().unwrap().field, "password");
}

#[tokio::test]
async fn a_chicago_server_gets_its_wall_clock_and_late_orders_land_on_the_next_utc_day() {
    let server = MockServer::start().await;
    // 03:00-04:00 UTC on the 8th is 21:00-22:00 CST on the 7th; widened by a minute each side.
    Mock::given(method("GET"))
        .and(query_param("action", "export"))
        .and(query_param("start_date", "03/07/2026 20:59"))
        .and(query_param("end_date", "03/07/2026 22:01"))
        .and(query_param("page", "1"))
        .respond_with(reply(&order(SHIP_TO)))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), "timezone = \"America/Chicago\"")).unwrap();
    let window = TimeWindow::new(
        Utc.with_ymd_and_hms(2026, 3, 8, 3, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 8, 4, 0, 0).unwrap(),
    )
    .unwrap();
    let page = channel.fetch_page(&window, None).await.unwrap();
    assert_eq!(page.next, None);
    let [FetchOutcome::Accepted(order)] = page.outcomes.as_slice() else {
        panic!("{:?}", page.outcomes);
    };
    assert_eq!(order.ordered_at.to_rfc3339(), "2026-03-08T03:56:00+00:00");
    assert_eq!(order.modified_at.to_rfc3339(), "2026-03-08T03:56:00+00:00");
    assert_eq!(order.channel, "spark-shipping");
    assert_eq!(order.store_name, "Spark HQ");
}

#[tokio::test]
async fn an_order_without_a_ship_to_is_rejected_for_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(reply(&order("")))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let window = TimeWindow::new(
        Utc.with_ymd_and_hms(2026, 3, 7, 21, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 7, 23, 0, 0).unwrap(),
    )
    .unwrap();
    let page = channel.fetch_page(&window, None).await.unwrap();
    let [FetchOutcome::Rejected(rejection)] = page.outcomes.as_slice() else {
        panic!("{:?}", page.outcomes);
    };
    assert_eq!(rejection.order_number.as_deref(), Some("1001"));
    assert_eq!(rejection.reasons.len(), 1);
    let reason = &rejection.reasons[0];
    assert_eq!(
        (reason.field.as_str(), reason.code),
        ("ship_to", ReasonCode::Missing)
    );
    assert!(
        reason.message.contains("Spark Shipping requires"),
        "{}",
        reason.message
    );
}

#[tokio::test]
async fn authentication_failures_surface_as_such() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let err = channel.check_connection().await.unwrap_err();
    assert!(matches!(err, ChannelError::Authentication { .. }), "{err}");
    assert!(err.to_string().contains("spark-hq"));
}
