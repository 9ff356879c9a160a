use chrono::TimeZone;
use orderport_core::StoresFile;
use serde_json::{json, Value};

use super::*;

fn profile(timezone: &str) -> StoreProfile {
    let text = format!(
        "[[store]]\nid = \"ot\"\nname = \"Order Time Denver\"\nchannel = \"order-time\"\n\
         url = \"https://services.ordertime.com/api\"\ntimezone = \"{timezone}\"\n"
    );
    let file = StoresFile::parse(&text, &|_| None).unwrap();
    StoreProfile::new(&file.stores[0], &crate::REST_SPEC).unwrap()
}

fn doc() -> Value {
    json!({
        "DocNo": 1042,
        "SONo": "SO-77",
        "DocDate": "2026-10-31T18:00:00",
        "CustomerRef": {"Id": 5, "Name": "Fixture Outfitters"},
        "CustomerPO": "PO-9",
        "StatusRef": {"Id": 2, "Name": "paid"},
        "ShipMethodRef": {"Name": "UPS Ground"},
        "TermRef": {"Name": "Net 30"},
        "LocationRef": {"Name": "Main Warehouse"},
        "CurrencyRef": {"Name": "USD"},
        "DiscountRef": {"Name": "FALL10"},
        "DiscountAmount": -2.5,
        "ShipAmount": 7.25,
        "Tax": "1.10",
        "TotalAmount": 30.85,
        "Memo": "Leave at the back door",
        "InternalNotes": "Fragile",
        "RecordInfo": {"CreatedDate": "2026-10-31T18:00:00", "ModifiedDate": "2026-11-01T01:30:00"},
        "ShipAddress": {
            "Contact": "Ada Fixture", "Addr1": "100 Example Street", "Addr2": "Suite 5",
            "Addr3": "Building B", "Addr4": "Dock 2", "City": "Denver", "State": "CO",
            "Zip": "80202", "Country": "US", "Phone": "303-555-0142", "Email": "ada@example.com"
        },
        "BillAddress": {"Contact": "Accounts", "Addr1": "1 Billing Way", "City": "Denver",
                        "State": "CO", "Zip": "80203", "Country": "US"},
        "LineItems": [
            {"Id": 9001, "LineNo": 1, "ItemRef": {"Name": "SKU-1"}, "Description": "Widget",
             "Quantity": 2.0, "Price": 12.5},
            {"LineNo": 2, "ItemRef": {"Name": "SKU-2"}, "Quantity": "1", "Price": "0"}
        ]
    })
}

fn outcome(value: Value, zone: &str) -> FetchOutcome {
    normalize(
        &Record::parse(value),
        "RecordInfo.ModifiedDate",
        &profile(zone),
    )
}

fn accepted(value: Value) -> Order {
    match outcome(value, "America/Denver") {
        FetchOutcome::Accepted(order) => *order,
        FetchOutcome::Rejected(r) => panic!("rejected: {r}"),
    }
}

fn rejected(value: Value) -> Rejection {
    match outcome(value, "America/Denver") {
        FetchOutcome::Rejected(r) => r,
        FetchOutcome::Accepted(order) => panic!("accepted: {order:?}"),
    }
}

#[test]
fn every_field_is_mapped() {
    let order = accepted(doc());
    assert_eq!(order.channel, "order-time");
    assert_eq!(order.store_id, "ot");
    assert_eq!(order.store_name, "Order Time Denver");
    assert_eq!(order.external_id, "1042");
    assert_eq!(order.order_number, "1042");
    assert_eq!(order.raw_status, "paid");
    assert_eq!(order.status, CanonicalStatus::AwaitingShipment);
    // 18:00 MDT on Oct 31 is midnight UTC.
    assert_eq!(
        order.ordered_at,
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    );
    // 01:30 on Nov 1 is ambiguous in Denver; the earlier reading (MDT) is chosen.
    assert_eq!(
        order.modified_at,
        Utc.with_ymd_and_hms(2026, 11, 1, 7, 30, 0).unwrap()
    );
    assert_eq!(order.customer.code.as_deref(), Some("Fixture Outfitters"));
    assert_eq!(order.customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(order.customer.phone.as_deref(), Some("303-555-0142"));
    let ship_to = order.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.name.as_deref(), Some("Ada Fixture"));
    assert_eq!(ship_to.address1.as_deref(), Some("100 Example Street"));
    assert_eq!(ship_to.address2.as_deref(), Some("Suite 5"));
    assert_eq!(ship_to.address3.as_deref(), Some("Building B, Dock 2"));
    assert_eq!(ship_to.city.as_deref(), Some("Denver"));
    assert_eq!(ship_to.state.as_deref(), Some("CO"));
    assert_eq!(ship_to.postal_code.as_deref(), Some("80202"));
    assert_eq!(ship_to.country.as_deref(), Some("US"));
    assert_eq!(
        order.bill_to.as_ref().unwrap().address1.as_deref(),
        Some("1 Billing Way")
    );
    assert_eq!(order.items.len(), 2);
    let first = &order.items[0];
    assert_eq!(
        (
            first.line_id.as_deref(),
            first.sku.as_str(),
            first.name.as_str()
        ),
        (Some("9001"), "SKU-1", "Widget")
    );
    assert_eq!(
        (first.quantity, first.unit_price),
        (2, Decimal::new(125, 1))
    );
    // Without an Id the line number is the line's id, and the SKU stands in for the name.
    let second = &order.items[1];
    assert_eq!(
        (
            second.line_id.as_deref(),
            second.name.as_str(),
            second.unit_price
        ),
        (Some("2"), "SKU-2", Decimal::ZERO)
    );
    assert_eq!(order.discounts.len(), 1);
    assert_eq!(order.discounts[0].code.as_deref(), Some("FALL10"));
    assert_eq!(order.discounts[0].amount, Decimal::new(25, 1));
    assert_eq!(
        order.currency.as_ref().map(CurrencyCode::as_str),
        Some("USD")
    );
    assert_eq!(order.order_total, Decimal::new(3085, 2));
    assert_eq!(order.tax_amount, Some(Decimal::new(110, 2)));
    assert_eq!(order.shipping_amount, Some(Decimal::new(725, 2)));
    assert_eq!(
        order.requested_shipping_service.as_deref(),
        Some("UPS Ground")
    );
    assert_eq!(order.payment_method.as_deref(), Some("Net 30"));
    assert_eq!(
        order.customer_notes.as_deref(),
        Some("Leave at the back door")
    );
    assert_eq!(order.internal_notes.as_deref(), Some("Fragile"));
    assert_eq!(order.custom_fields.custom_field_1.as_deref(), Some("PO-9"));
    assert_eq!(order.custom_fields.custom_field_2.as_deref(), Some("SO-77"));
    assert_eq!(order.requested_warehouse.as_deref(), Some("Main Warehouse"));
    assert!(!order.gift.is_gift);
    assert!(order.total_weight.is_none() && order.paid_at.is_none());
}

#[test]
fn dates_with_an_offset_keep_it_and_utc_stores_read_naive_dates_as_utc() {
    let mut value = doc();
    value["RecordInfo"]["ModifiedDate"] = json!("2026-11-01T01:30:00-07:00");
    value["DocDate"] = json!("2026-10-31T18:00:00.1234567Z");
    let order = accepted(value);
    assert_eq!(
        order.modified_at,
        Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0).unwrap()
    );
    assert_eq!(
        order.ordered_at.to_rfc3339(),
        "2026-10-31T18:00:00.123456700+00:00"
    );
    let FetchOutcome::Accepted(order) = outcome(doc(), "UTC") else {
        panic!()
    };
    assert_eq!(
        order.modified_at,
        Utc.with_ymd_and_hms(2026, 11, 1, 1, 30, 0).unwrap()
    );
}

#[test]
fn date_falls_back_to_the_documented_date_field() {
    let mut value = doc();
    value.as_object_mut().unwrap().remove("DocDate");
    value["Date"] = json!("2026-10-30T08:00:00");
    assert_eq!(
        accepted(value).ordered_at,
        Utc.with_ymd_and_hms(2026, 10, 30, 14, 0, 0).unwrap()
    );
}

#[test]
fn without_a_total_the_total_is_computed() {
    let mut value = doc();
    value.as_object_mut().unwrap().remove("TotalAmount");
    // 2 x 12.50 + 0 + tax 1.10 + shipping 7.25 - discount 2.50
    assert_eq!(accepted(value).order_total, Decimal::new(3085, 2));
}

#[test]
fn full_state_names_and_three_letter_countries_are_rejected_with_the_code_to_use() {
    let mut value = doc();
    value["ShipAddress"]["State"] = json!("Colorado");
    let rejection = rejected(value);
    assert_eq!(rejection.order_number.as_deref(), Some("1042"));
    assert_eq!(rejection.reasons.len(), 1);
    assert_eq!(rejection.reasons[0].field, "ship_to.state");
    assert_eq!(rejection.reasons[0].code, ReasonCode::InvalidStateCode);
    assert!(
        rejection.reasons[0].message.contains("use \"CO\""),
        "{rejection}"
    );

    let mut value = doc();
    value["ShipAddress"]["Country"] = json!("USA");
    let rejection = rejected(value);
    assert_eq!(rejection.reasons[0].field, "ship_to.country");
    assert_eq!(rejection.reasons[0].code, ReasonCode::InvalidCountryCode);
    assert!(
        rejection.reasons[0].message.contains("use \"US\""),
        "{rejection}"
    );

    let mut value = doc();
    value["ShipAddress"]["Country"] = json!("United States");
    assert!(rejected(value).reasons[0].message.contains("use \"US\""));
}

#[test]
fn every_problem_is_a_reason() {
    let mut value = doc();
    value["StatusRef"] = json!({"Name": "Backordered"});
    value["LineItems"][0]["Quantity"] = json!(1.5);
    value["LineItems"][1]["ItemRef"] = Value::Null;
    value["LineItems"][1]["Price"] = json!("twelve");
    value["LineItems"][1]["Quantity"] = Value::Null;
    value["RecordInfo"]["ModifiedDate"] = json!("yesterday");
    value.as_object_mut().unwrap().remove("DocDate");
    let rejection = rejected(value);
    let fields: Vec<_> = rejection
        .reasons
        .iter()
        .map(|r| (r.field.as_str(), r.code))
        .collect();
    assert_eq!(
        fields,
        [
            ("raw_status", ReasonCode::UnmappedStatus),
            ("ordered_at", ReasonCode::Missing),
            ("modified_at", ReasonCode::InvalidDate),
            ("items[0].quantity", ReasonCode::InvalidNumber),
            ("items[1].sku", ReasonCode::Missing),
            ("items[1].unit_price", ReasonCode::InvalidNumber),
            ("items[1].quantity", ReasonCode::Missing),
        ]
    );
}

#[test]
fn a_doc_without_lines_or_address_is_rejected() {
    let mut value = doc();
    value.as_object_mut().unwrap().remove("ShipAddress");
    value["LineItems"] = json!([]);
    let rejection = rejected(value);
    let fields: Vec<_> = rejection.reasons.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(fields, ["items", "ship_to"]);
}

#[test]
fn an_unreadable_record_is_rejected_with_its_number() {
    let rejection = rejected(json!({"DocNo": 77, "LineItems": "none"}));
    assert_eq!(rejection.external_id.as_deref(), Some("77"));
    assert_eq!(rejection.reasons[0].field, "ship_doc");
    assert_eq!(rejection.reasons[0].code, ReasonCode::InvalidValue);
}
