//! Sample data for this crate's unit tests.

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;

use crate::order::*;
use crate::status::CanonicalStatus;

/// A complete, valid order shipping to California.
pub fn sample_order() -> Order {
    Order {
        channel: "spark-shipping".into(),
        store_id: "spark-hq".into(),
        store_name: "Spark HQ".into(),
        external_id: "A-1".into(),
        order_number: "1001".into(),
        status: CanonicalStatus::AwaitingShipment,
        raw_status: "paid".into(),
        ordered_at: Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap(),
        modified_at: Utc.with_ymd_and_hms(2026, 3, 7, 12, 5, 0).unwrap(),
        paid_at: None,
        customer: Customer {
            code: Some("buyer@example.com".into()),
            email: Some("buyer@example.com".into()),
            phone: None,
        },
        bill_to: None,
        ship_to: Some(Address {
            name: Some("Pat Example".into()),
            address1: Some("1 Main St".into()),
            city: Some("Springfield".into()),
            state: Some("CA".into()),
            postal_code: Some("90001".into()),
            country: Some("US".into()),
            ..Address::default()
        }),
        items: vec![LineItem {
            line_id: Some("L1".into()),
            sku: "SKU-1".into(),
            name: "Widget".into(),
            quantity: 2,
            unit_price: Decimal::new(1250, 2),
            weight: None,
            image_url: None,
            options: vec![],
            location: None,
            upc: None,
        }],
        discounts: vec![],
        currency: CurrencyCode::parse("USD"),
        order_total: Decimal::new(2500, 2),
        tax_amount: None,
        shipping_amount: None,
        requested_shipping_service: None,
        payment_method: None,
        gift: Gift::default(),
        customer_notes: None,
        internal_notes: None,
        total_weight: None,
        custom_fields: CustomFields::default(),
        source: None,
        requested_warehouse: None,
    }
}
