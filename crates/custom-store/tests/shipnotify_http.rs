//! Shipnotify over HTTP: the query, the headers, the exact body, and the errors.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use orderport_core::{
    shipment::InvalidShipment, ChannelError, OrderRef, SellingChannel, ShipmentKind, ShipmentScope,
    ShipmentUpdate, ShippedItem,
};
use rust_decimal::Decimal;
use wiremock::matchers::{basic_auth, body_string, header, method, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn item(line: &str, sku: &str, quantity: u32) -> ShippedItem {
    ShippedItem {
        line_id: Some(line.into()),
        sku: sku.into(),
        name: Some(format!("{sku} name")),
        quantity,
    }
}

fn update() -> ShipmentUpdate {
    ShipmentUpdate {
        order: OrderRef {
            external_id: Some("id-1001".into()),
            order_number: "1001".into(),
        },
        carrier: "UPS".into(),
        service: Some("Ground".into()),
        tracking_number: "1Z999".into(),
        ship_date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        label_created_at: Some(Utc.with_ymd_and_hms(2026, 3, 8, 15, 4, 0).unwrap()),
        shipping_cost: Some(Decimal::new(1234, 2)),
        notes_to_buyer: Some("Split shipment: the rest follows".into()),
        notify_customer: false,
        // Spark splits orders by vendor: only the shipped line is listed.
        scope: ShipmentScope::Partial(vec![item("L2", "SKU-2", 1)]),
        kind: ShipmentKind::Label,
    }
}

const EXPECTED_BODY: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    "<ShipNotice>",
    "<OrderID><![CDATA[id-1001]]></OrderID>",
    "<OrderNumber><![CDATA[1001]]></OrderNumber>",
    "<NotesToCustomer><![CDATA[Split shipment: the rest follows]]></NotesToCustomer>",
    "<NotifyCustomer>false</NotifyCustomer>",
    "<LabelCreateDate>03/08/2026 15:04</LabelCreateDate>",
    "<ShipDate>03/08/2026</ShipDate>",
    "<Carrier><![CDATA[UPS]]></Carrier>",
    "<Service><![CDATA[Ground]]></Service>",
    "<TrackingNumber><![CDATA[1Z999]]></TrackingNumber>",
    "<ShippingCost>12.34</ShippingCost>",
    "<Items><Item><SKU><![CDATA[SKU-2]]></SKU><Name><![CDATA[SKU-2 name]]></Name>",
    "<Quantity>1</Quantity><LineItemID><![CDATA[L2]]></LineItemID></Item></Items>",
    "</ShipNotice>",
);

#[tokio::test]
async fn shipnotify_posts_the_exact_notice_with_both_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(query_param("action", "shipnotify"))
        .and(query_param("order_number", "1001"))
        .and(query_param("carrier", "UPS"))
        .and(query_param("service", "Ground"))
        .and(query_param("tracking_number", "1Z999"))
        .and(query_param("SS-UserName", USERNAME))
        .and(query_param("SS-Password", PASSWORD))
        .and(basic_auth(USERNAME, PASSWORD))
        .and(header("Content-Type", "application/xml; charset=utf-8"))
        .and(body_string(EXPECTED_BODY))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "");
    channel.push_shipment(&update()).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let query = requests[0].url.query().unwrap().to_owned();
    let names: Vec<&str> = query
        .split('&')
        .map(|p| p.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "action",
            "order_number",
            "carrier",
            "service",
            "tracking_number",
            "SS-UserName",
            "SS-Password"
        ]
    );
}

#[tokio::test]
async fn the_label_date_is_written_in_the_store_wall_clock() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "timezone = \"America/Chicago\"");
    channel.push_shipment(&update()).await.unwrap();
    let body =
        String::from_utf8(server.received_requests().await.unwrap()[0].body.clone()).unwrap();
    // Chicago sprang forward at 08:00 UTC that day, so 15:04 UTC is 10:04 CDT, not 09:04 CST.
    assert!(
        body.contains("<LabelCreateDate>03/08/2026 10:04</LabelCreateDate>"),
        "{body}"
    );
}

#[tokio::test]
async fn any_non_2xx_reply_is_an_error_and_only_a_429_is_retried() {
    // A shipnotify sent twice may notify the buyer twice: only a 429 (refused before it was
    // processed) is retried, never a 5xx, which may come after the store processed it.
    for (status, retried) in [
        (404, false),
        (400, false),
        (401, false),
        (500, false),
        (429, true),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Retry-After", "0")
                    .set_body_string("unknown order"),
            )
            .expect(if retried { 3 } else { 1 })
            .mount(&server)
            .await;
        let channel = channel_at(&server.uri(), FAST_RETRIES);
        let err = channel.push_shipment(&update()).await.unwrap_err();
        match status {
            404 | 400 => assert!(
                matches!(&err, ChannelError::Refused { operation, .. } if operation == "shipnotify"),
                "{err}"
            ),
            401 => assert!(matches!(err, ChannelError::Authentication { .. }), "{err}"),
            429 => assert!(matches!(err, ChannelError::RateLimited { .. }), "{err}"),
            _ => assert!(matches!(err, ChannelError::Transient { .. }), "{err}"),
        }
    }
}

#[tokio::test]
async fn a_partial_shipment_is_refused_unsent_when_the_channel_takes_none() {
    static WHOLE_ONLY: orderport_core::ChannelSpec = orderport_core::ChannelSpec {
        capabilities: SPEC.capabilities.with_partial_shipments(false),
        ..SPEC
    };
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let text = format!(
        "[[store]]\nid = \"hq\"\nname = \"HQ\"\nchannel = \"test-store\"\nurl = \"{}\"\n\
         username = \"{USERNAME}\"\npassword = \"pw\"\n",
        server.uri()
    );
    let file = orderport_core::StoresFile::parse(&text, &|_| None).unwrap();
    let channel =
        orderport_custom_store::CustomStoreChannel::new(&WHOLE_ONLY, &file.stores[0]).unwrap();
    let err = channel.push_shipment(&update()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            ChannelError::InvalidShipment {
                reason: InvalidShipment::PartialNotSupported { .. },
                ..
            }
        ) && err.to_string().contains("partial"),
        "{err}"
    );
    // The same update, complete, is sent.
    let mut complete = update();
    complete.scope = ShipmentScope::Complete(vec![item("L2", "SKU-2", 1)]);
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    channel.push_shipment(&complete).await.unwrap();
}

#[tokio::test]
async fn an_invalid_update_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "");
    let mut partial_without_items = update();
    partial_without_items.scope = ShipmentScope::Partial(vec![]);
    let mut no_tracking = update();
    no_tracking.tracking_number = " ".into();
    let mut zero = update();
    zero.scope = ShipmentScope::Complete(vec![item("L1", "SKU-1", 0)]);
    for bad in [partial_without_items, no_tracking, zero] {
        let err = channel.push_shipment(&bad).await.unwrap_err();
        assert!(
            matches!(&err, ChannelError::InvalidShipment { store, .. } if store == "hq")
                && err.to_string().contains("not sent"),
            "{err}"
        );
        assert!(!err.is_retryable());
    }
}
