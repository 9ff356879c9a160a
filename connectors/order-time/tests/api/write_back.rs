//! Shipments: shipnotify with HTTP Basic and a ShipNotice body, and the optional StatusRef PUT.

use chrono::NaiveDate;
use orderport_core::{
    ChannelError, OrderRef, ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem,
};
use rust_decimal::Decimal;
use serde_json::json;
use wiremock::matchers::{basic_auth, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn update(scope: ShipmentScope) -> ShipmentUpdate {
    ShipmentUpdate {
        order: OrderRef {
            external_id: Some("1042".into()),
            order_number: "1042".into(),
        },
        carrier: "UPS".into(),
        service: Some("Ground".into()),
        tracking_number: "1Z999AA10123456784".into(),
        ship_date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        label_created_at: Some(at("2026-11-02T15:04:00Z")),
        shipping_cost: Some(Decimal::new(1234, 2)),
        notes_to_buyer: Some("Thanks!".into()),
        notify_customer: true,
        scope,
        kind: ShipmentKind::Label,
    }
}

fn item() -> ShippedItem {
    ShippedItem {
        line_id: Some("10420".into()),
        sku: "SKU-1".into(),
        name: Some("Widget".into()),
        quantity: 1,
    }
}

async fn shipnotify(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/api/shipstation"))
        .and(query_param("action", "shipnotify"))
        .and(query_param("order_number", "1042"))
        .and(query_param("carrier", "UPS"))
        .and(query_param("service", "Ground"))
        .and(query_param("tracking_number", "1Z999AA10123456784"))
        .and(basic_auth(EMAIL, API_KEY))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn shipnotify_sends_the_ship_notice_with_basic_auth_and_nothing_else_by_default() {
    let server = MockServer::start().await;
    shipnotify(&server, ResponseTemplate::new(200)).await;
    channel(&server, "")
        .push_shipment(&update(ShipmentScope::Complete(vec![item()])))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "no status update unless configured");
    let request = &requests[0];
    assert!(
        request.headers.get("apikey").is_none(),
        "REST headers on shipnotify"
    );
    assert!(request
        .headers
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("application/xml")));
    let body = String::from_utf8(request.body.clone()).unwrap();
    for part in [
        "<ShipNotice>",
        "<OrderID><![CDATA[1042]]></OrderID>",
        "<OrderNumber><![CDATA[1042]]></OrderNumber>",
        "<NotesToCustomer><![CDATA[Thanks!]]></NotesToCustomer>",
        "<NotifyCustomer>true</NotifyCustomer>",
        // The Custom Store dates are UTC.
        "<LabelCreateDate>11/02/2026 15:04</LabelCreateDate>",
        "<ShipDate>11/02/2026</ShipDate>",
        "<Carrier><![CDATA[UPS]]></Carrier>",
        "<Service><![CDATA[Ground]]></Service>",
        "<TrackingNumber><![CDATA[1Z999AA10123456784]]></TrackingNumber>",
        "<ShippingCost>12.34</ShippingCost>",
        "<SKU><![CDATA[SKU-1]]></SKU>",
        "<LineItemID><![CDATA[10420]]></LineItemID>",
    ] {
        assert!(body.contains(part), "{part} not in {body}");
    }
}

#[tokio::test]
async fn a_configured_status_is_put_on_the_ship_doc_after_shipnotify() {
    let server = MockServer::start().await;
    shipnotify(&server, ResponseTemplate::new(200)).await;
    let mut record = ship_doc(1042, "2026-11-02T08:00:00");
    record["TrackingNo"] = json!("1Z999AA10123456784");
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "1042"))
        .and(header("apiKey", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(record))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/shipdoc"))
        .and(header("apiKey", API_KEY))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "DocNo": 1042,
            "StatusRef": {"Id": 9, "Name": "Shipped"},
            "TrackingNo": "1Z999AA10123456784",
            "LineItems": [{"$type": "AOLib7.ShipDocLineItem, AOLib7", "ItemRef": {"Name": "SKU-1"}}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"DocNo": 1042})))
        .expect(1)
        .mount(&server)
        .await;
    channel(
        &server,
        "shipped_status_ref = \"Shipped\"\nshipped_status_ref_id = 9",
    )
    .push_shipment(&update(ShipmentScope::Complete(vec![])))
    .await
    .unwrap();
    let requests = server.received_requests().await.unwrap();
    let order: Vec<_> = requests.iter().map(|r| r.method.to_string()).collect();
    assert_eq!(order, ["POST", "GET", "PUT"]);
}

#[tokio::test]
async fn a_409_on_the_status_update_names_the_doc_and_a_403_names_the_call() {
    let server = MockServer::start().await;
    shipnotify(&server, ResponseTemplate::new(200)).await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(ship_doc(1042, "2026-11-02T08:00:00")),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/shipdoc"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!([
            {"PropertyName": "StatusRef", "Message": "Status not allowed"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let err = channel(&server, "shipped_status_ref = \"Shipped\"")
        .push_shipment(&update(ShipmentScope::Complete(vec![])))
        .await
        .unwrap_err();
    let ChannelError::Refused {
        operation,
        status,
        detail,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (operation.as_str(), *status),
        ("update ship doc 1042 status", 409)
    );
    assert!(detail.contains("StatusRef: Status not allowed"), "{detail}");
    assert!(err.to_string().contains("ship doc 1042"), "{err}");

    let server = MockServer::start().await;
    shipnotify(&server, ResponseTemplate::new(403)).await;
    let err = channel(&server, "")
        .push_shipment(&update(ShipmentScope::Complete(vec![])))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Permission { operation, .. } if operation == "shipnotify for ship doc 1042"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_partial_shipment_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let err = channel(&server, "")
        .push_shipment(&update(ShipmentScope::Partial(vec![item()])))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChannelError::InvalidShipment { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("Order Time does not accept partial shipments"),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
