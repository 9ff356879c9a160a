//! Sample data for this crate's unit tests.

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;

use crate::channel::{Capabilities, ChannelSpec, StoreProfile, TimeWindow};
use crate::order::*;
use crate::status::{CanonicalStatus, StatusMapping, StatusMatch, UnmappedPolicy};
use crate::store_time::StoreZone;

/// The channel of [`sample_order`], with no requirements.
pub static SAMPLE_SPEC: ChannelSpec = ChannelSpec {
    id: "spark-shipping",
    name: "Spark",
    requirements: &[],
    default_statuses: &[],
    capabilities: Capabilities::NONE
        .with_partial_shipments(false)
        .with_customer_email(true)
        .with_custom_statuses(false),
    modified_precision: chrono::Duration::seconds(1),
};

/// The store of [`sample_order`], in UTC, with no status mapping, whose walks may take
/// `max_pages` pages.
pub fn sample_store(max_pages: u32) -> StoreProfile {
    StoreProfile {
        id: "spark-hq".into(),
        name: "Spark HQ".into(),
        zone: StoreZone::UTC,
        statuses: StatusMapping::new(
            std::iter::empty::<(CanonicalStatus, Vec<&str>)>(),
            StatusMatch::default(),
            UnmappedPolicy::Reject,
        )
        .unwrap(),
        max_pages_per_window: max_pages,
        pages_ahead: 0,
    }
}

/// 2026-03-07, 00:00 to 12:00 UTC.
pub fn sample_window() -> TimeWindow {
    let at = |h| Utc.with_ymd_and_hms(2026, 3, 7, h, 0, 0).unwrap();
    TimeWindow::new(at(0), at(12)).unwrap()
}

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
