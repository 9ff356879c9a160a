//! Listing Mirror-specific behaviour: the declaration, the default and overridden statuses, the
//! ship-to rule, the e-mail that is never imported, and speed categories kept verbatim.

use chrono::{TimeZone, Utc};
use orderport_core::{
    CanonicalStatus, ChannelError, FetchOutcome, Order, OrderRef, ReasonCode, Requirement,
    ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem, StoreConfig, StoresFile, TimeWindow,
};
use wiremock::matchers::{method, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn store(url: &str, extra: &str) -> StoreConfig {
    let text = format!(
        "[[store]]\nid = \"lm-main\"\nname = \"Listing Mirror main\"\nchannel = \"listing-mirror\"\n\
         url = \"{url}\"\nusername = \"lm-generated-user\"\npassword_env = \"LM_PW\"\n\
         retry_max_attempts = 1\n{extra}"
    );
    StoresFile::parse(&text, &|_| Some("lm-generated-password".to_owned()))
        .unwrap()
        .stores
        .remove(0)
}

fn order(number: &str, status: &str, method: &str, customer: &str) -> String {
    format!(
        "<Order><OrderID>LM-{number}</OrderID><OrderNumber>{number}</OrderNumber>\
         <OrderDate>03/07/2026 21:56</OrderDate><OrderStatus>{status}</OrderStatus>\
         <LastModified>03/07/2026 21:58</LastModified><ShippingMethod>{method}</ShippingMethod>\
         <OrderTotal>10.00</OrderTotal>\
         <Customer><CustomerCode>C-{number}</CustomerCode>{customer}</Customer>\
         <Items><Item><SKU>A</SKU><Name>Mug</Name><Quantity>1</Quantity>\
         <UnitPrice>10.00</UnitPrice></Item></Items></Order>"
    )
}

const BILL_TO: &str = "<BillTo><Name>Pat Fixture</Name><Phone>312-555-0102</Phone>\
    <Email>pat@example.com</Email></BillTo>";

const SHIP_TO: &str = "<ShipTo><Name>Pat Fixture</Name><Address1>1 Example Street</Address1>\
    <City>Chicago</City><State>IL</State><PostalCode>60601</PostalCode><Country>US</Country>\
    <Phone>312-555-0102</Phone><Email>pat@example.com</Email></ShipTo>";

fn reply(orders: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Orders pages=\"1\">{orders}</Orders>"
    ))
}

fn window() -> TimeWindow {
    TimeWindow::new(
        Utc.with_ymd_and_hms(2026, 3, 7, 21, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 7, 23, 0, 0).unwrap(),
    )
    .unwrap()
}

/// Serves `orders` on one export page and returns what the channel made of them.
async fn fetch(orders: &str, extra: &str) -> Vec<FetchOutcome> {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("action", "export"))
        .and(query_param("SS-UserName", "lm-generated-user"))
        .respond_with(reply(orders))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), extra)).unwrap();
    let page = channel.fetch_page(&window(), None).await.unwrap();
    assert_eq!(page.next, None);
    page.outcomes
}

fn accepted(outcomes: &[FetchOutcome]) -> Vec<&Order> {
    outcomes
        .iter()
        .map(|o| match o {
            FetchOutcome::Accepted(order) => order.as_ref(),
            FetchOutcome::Rejected(r) => panic!("rejected: {r:?}"),
        })
        .collect()
}

#[test]
fn the_declaration_matches_the_channel() {
    assert_eq!((SPEC.id, SPEC.name), ("listing-mirror", "Listing Mirror"));
    assert_eq!(
        SPEC.requirements,
        [
            Requirement::ShipToAddress,
            Requirement::IsoCountryCode,
            Requirement::IsoStateCode
        ]
    );
    assert!(!SPEC.capabilities.customer_email);
    assert!(SPEC.capabilities.partial_shipments);
    assert!(SPEC.capabilities.custom_statuses);
    assert_eq!(SPEC.modified_precision, chrono::Duration::minutes(1));
    assert_eq!(SETTINGS, orderport_custom_store::SETTINGS);
}

#[test]
fn default_statuses_map_the_strings_listing_mirror_is_seen_to_use() {
    let channel = connect(&store("https://lm.example", "")).unwrap();
    for (raw, want) in [
        ("Unpaid", CanonicalStatus::AwaitingPayment),
        ("Pending", CanonicalStatus::AwaitingPayment),
        ("Accepted", CanonicalStatus::AwaitingShipment),
        ("Shipped", CanonicalStatus::Shipped),
        ("Cancelled", CanonicalStatus::Cancelled),
        ("Canceled", CanonicalStatus::Cancelled),
    ] {
        assert_eq!(channel.map_status(raw), Ok(want), "{raw}");
    }
    // Case-sensitive by default, as Listing Mirror's own mappings are.
    let reason = channel.map_status("accepted").unwrap_err();
    assert_eq!(reason.code, ReasonCode::UnmappedStatus);
    // Nothing is on hold by default: an unknown status is rejected, not guessed.
    assert!(channel.map_status("On Hold").is_err());
}

#[test]
fn a_store_overrides_the_default_statuses_and_their_case() {
    let channel = connect(&store(
        "https://lm.example",
        "status_match = \"case_insensitive\"\n[store.status_map]\n\
         awaiting_shipment = [\"Accepted\", \"Unshipped\"]\non_hold = [\"Pending\"]",
    ))
    .unwrap();
    assert_eq!(
        channel.map_status("unshipped"),
        Ok(CanonicalStatus::AwaitingShipment)
    );
    assert_eq!(channel.map_status("PENDING"), Ok(CanonicalStatus::OnHold));
    // The store's map replaces the default one entirely.
    assert!(channel.map_status("Unpaid").is_err());
}

#[test]
fn connect_refuses_bad_configurations_by_field() {
    let err = connect(&store("https://lm.example", "page_size = 3"))
        .err()
        .unwrap();
    assert_eq!(err.field, "page_size");
    let err = connect(&store("ftp://lm.example", "")).err().unwrap();
    assert_eq!(err.field, "url");
    let mut other = store("https://lm.example", "");
    other.channel = "spark-shipping".into();
    assert_eq!(connect(&other).err().unwrap().field, "channel");
    let mut nameless = store("https://lm.example", "");
    nameless.username = None;
    assert_eq!(connect(&nameless).err().unwrap().field, "username");
    let mut no_password = store("https://lm.example", "");
    no_password.secrets.password = None;
    assert_eq!(connect(&no_password).err().unwrap().field, "password");
}

#[test]
fn errors_never_show_the_generated_password() {
    let mut nameless = store("https://lm.example", "");
    nameless.username = None;
    let err = connect(&nameless).err().unwrap();
    assert!(!err.to_string().contains("lm-generated-password"), "{err}");
    assert!(!format!("{nameless:?}").contains("lm-generated-password"));
}

#[tokio::test]
async fn the_buyers_email_is_dropped_from_customer_bill_to_and_ship_to() {
    let outcomes = fetch(
        &order(
            "1001",
            "Accepted",
            "Standard",
            &format!("{BILL_TO}{SHIP_TO}"),
        ),
        "",
    )
    .await;
    let [order] = accepted(&outcomes)[..] else {
        panic!("{outcomes:?}");
    };
    assert_eq!(order.customer.email, None);
    let bill_to = order.bill_to.as_ref().unwrap();
    let ship_to = order.ship_to.as_ref().unwrap();
    assert_eq!(
        (bill_to.email.as_deref(), ship_to.email.as_deref()),
        (None, None)
    );
    // Everything else the export carries is kept, the phone included.
    assert_eq!(order.customer.phone.as_deref(), Some("312-555-0102"));
    assert_eq!(order.customer.code.as_deref(), Some("C-1001"));
    assert_eq!(bill_to.name.as_deref(), Some("Pat Fixture"));
    assert_eq!(order.channel, "listing-mirror");
    assert_eq!(order.store_name, "Listing Mirror main");
}

#[tokio::test]
async fn a_bill_to_with_only_an_email_is_no_address_at_all() {
    let only_email = "<BillTo><Email>pat@example.com</Email></BillTo>";
    let outcomes = fetch(
        &order(
            "1002",
            "Accepted",
            "Standard",
            &format!("{only_email}{SHIP_TO}"),
        ),
        "",
    )
    .await;
    let [order] = accepted(&outcomes)[..] else {
        panic!("{outcomes:?}");
    };
    assert_eq!(order.bill_to, None);
    assert_eq!(order.customer.email, None);
}

#[tokio::test]
async fn speed_categories_and_raw_service_names_are_kept_verbatim() {
    let methods = [
        "Standard",
        "Expedited",
        "Priority",
        "UPS 2nd Day Air",
        "priority",
    ];
    let orders: String = methods
        .iter()
        .enumerate()
        .map(|(i, m)| order(&format!("20{i:02}"), "Accepted", m, SHIP_TO))
        .collect();
    let outcomes = fetch(&orders, "").await;
    let services: Vec<Option<&str>> = accepted(&outcomes)
        .iter()
        .map(|o| o.requested_shipping_service.as_deref())
        .collect();
    assert_eq!(services, methods.map(Some));
    let categories: Vec<Option<SpeedCategory>> =
        methods.iter().map(|m| SpeedCategory::parse(m)).collect();
    assert_eq!(
        categories,
        [
            Some(SpeedCategory::Standard),
            Some(SpeedCategory::Expedited),
            Some(SpeedCategory::Priority),
            None,
            None, // case-sensitive, as Listing Mirror's mapping is
        ]
    );
    assert_eq!(SpeedCategory::Expedited.to_string(), "Expedited");
}

#[tokio::test]
async fn an_order_without_a_ship_to_is_rejected_for_it() {
    let outcomes = fetch(&order("3001", "Accepted", "Standard", BILL_TO), "").await;
    let [FetchOutcome::Rejected(rejection)] = outcomes.as_slice() else {
        panic!("{outcomes:?}");
    };
    assert_eq!(rejection.order_number.as_deref(), Some("3001"));
    assert_eq!(rejection.store_id, "lm-main");
    assert_eq!(rejection.reasons.len(), 1);
    let reason = &rejection.reasons[0];
    assert_eq!(
        (reason.field.as_str(), reason.code),
        ("ship_to", ReasonCode::Missing)
    );
    assert!(
        reason.message.contains("Listing Mirror requires"),
        "{}",
        reason.message
    );
    // The rejection carries no e-mail either.
    assert!(!format!("{rejection:?}").contains("pat@example.com"));
}

#[tokio::test]
async fn a_state_name_instead_of_a_code_is_rejected_with_a_suggestion() {
    let ship_to = SHIP_TO.replace("<State>IL</State>", "<State>Illinois</State>");
    let outcomes = fetch(&order("3002", "Accepted", "Standard", &ship_to), "").await;
    let [FetchOutcome::Rejected(rejection)] = outcomes.as_slice() else {
        panic!("{outcomes:?}");
    };
    let reason = &rejection.reasons[0];
    assert_eq!(
        (reason.field.as_str(), reason.code),
        ("ship_to.state", ReasonCode::InvalidStateCode)
    );
    assert!(reason.message.contains("IL"), "{}", reason.message);
}

#[tokio::test]
async fn authentication_failures_surface_as_such_without_the_password() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let err = channel.check_connection().await.unwrap_err();
    assert!(matches!(err, ChannelError::Authentication { .. }), "{err}");
    assert!(err.to_string().contains("lm-main"));
    assert!(!format!("{err} {err:?}").contains("lm-generated-password"));
}

#[tokio::test]
async fn an_invalid_shipment_is_refused_before_anything_is_sent() {
    // No mock is mounted: a request would get a 404 and a different error.
    let server = MockServer::start().await;
    let channel = connect(&store(&server.uri(), "")).unwrap();
    let update = ShipmentUpdate {
        order: OrderRef {
            external_id: Some("LM-1001".into()),
            order_number: "1001".into(),
        },
        carrier: "USPS".into(),
        service: None,
        tracking_number: " ".into(),
        ship_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        label_created_at: None,
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Partial(vec![ShippedItem {
            line_id: None,
            sku: "A".into(),
            name: None,
            quantity: 1,
        }]),
        kind: ShipmentKind::Label,
    };
    let err = channel.push_shipment(&update).await.unwrap_err();
    assert!(
        matches!(&err, ChannelError::InvalidShipment { store, .. } if store == "lm-main"),
        "{err}"
    );
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}
