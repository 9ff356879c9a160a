//! Sample orders, events and configurations.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use orderport_core::{
    Address, CanonicalStatus, CurrencyCode, CustomFields, Customer, Gift, LineItem, Order,
    OrderRef, RetryPolicy, ShipmentKind, ShipmentScope, ShipmentUpdate,
};
use orderport_klaviyo::KlaviyoConfig;
use orderport_sync::{OutboxEvent, StatusEvent};
use rust_decimal::Decimal;
use secrecy::SecretString;

/// The API key used everywhere; tests check it never leaks.
pub const KEY: &str = "pk_test_DO_NOT_LEAK_7f3a9c";

pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 7, h, m, 0)
        .single()
        .expect("valid time")
}

/// A complete order shipping to California, bought by buyer@example.com.
pub fn order(number: &str) -> Order {
    Order {
        channel: "spark-shipping".into(),
        store_id: "spark-hq".into(),
        store_name: "Spark HQ".into(),
        external_id: format!("A-{number}"),
        order_number: number.into(),
        status: CanonicalStatus::AwaitingShipment,
        raw_status: "paid".into(),
        ordered_at: at(12, 0),
        modified_at: at(12, 5),
        paid_at: None,
        customer: Customer {
            code: Some("cust-42".into()),
            email: Some("buyer@example.com".into()),
            phone: Some("(500) 555-0006".into()),
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
        order_total: Decimal::new(2550, 2),
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

/// The outbox event `id` for `order` moving `from` → `to` at `when`, with the raw status a
/// store would send, not a backfill, no shipment.
pub fn change(
    id: i64,
    order: &Order,
    from: Option<CanonicalStatus>,
    to: CanonicalStatus,
    when: DateTime<Utc>,
    label: bool,
) -> OutboxEvent {
    let raw_status = match to {
        CanonicalStatus::AwaitingPayment => "unpaid",
        CanonicalStatus::AwaitingShipment => "paid",
        CanonicalStatus::OnHold => "on-hold",
        CanonicalStatus::Shipped => "Shipped",
        CanonicalStatus::Cancelled => "cancelled",
    };
    let mut order = order.clone();
    order.status = to;
    order.raw_status = raw_status.into();
    order.modified_at = when;
    OutboxEvent {
        event: StatusEvent {
            id,
            key: order.key(),
            order_number: order.order_number.clone(),
            store_name: order.store_name.clone(),
            from,
            to,
            raw_status: raw_status.into(),
            at: when,
            label,
            backfill: false,
            recorded_at: when,
        },
        order,
        shipment: None,
    }
}

/// An outbox event: `order` moving to `to` at 12:30, not a backfill, no shipment.
pub fn sink_event(id: i64, order: &Order, to: CanonicalStatus) -> OutboxEvent {
    change(
        id,
        order,
        Some(CanonicalStatus::AwaitingPayment),
        to,
        at(12, 30),
        to == CanonicalStatus::Shipped,
    )
}

/// `n` events for `n` distinct orders (and buyers), awaiting shipment.
pub fn many(n: usize) -> Vec<OutboxEvent> {
    (0..n)
        .map(|i| {
            let mut o = order(&format!("{}", 1000 + i));
            o.customer.email = Some(format!("buyer{}@example.com", i % 7));
            sink_event(i as i64 + 1, &o, CanonicalStatus::AwaitingShipment)
        })
        .collect()
}

/// A UPS label shipment of order 1001.
pub fn ups() -> ShipmentUpdate {
    ShipmentUpdate {
        order: OrderRef {
            external_id: Some("A-1001".into()),
            order_number: "1001".into(),
        },
        carrier: "UPS".into(),
        service: Some("Ground".into()),
        tracking_number: "1Z999AA10123456784".into(),
        ship_date: at(12, 30).date_naive(),
        label_created_at: Some(at(12, 30)),
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Complete(vec![]),
        kind: ShipmentKind::Label,
    }
}

/// A configuration for `url` with fast retries (backoff of milliseconds, Retry-After up to 5 s).
pub fn config(url: &str) -> KlaviyoConfig {
    let mut config = KlaviyoConfig::new(SecretString::from(KEY.to_owned()));
    config.url = url.to_owned();
    config.http.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
    };
    config.http.request_timeout = Duration::from_secs(10);
    config
}
