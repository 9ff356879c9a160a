//! Shared fixtures for the HTTP tests: a channel spec, a store pointed at a mock server, and
//! export bodies.

#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use orderport_core::{
    CanonicalStatus, Capabilities, ChannelSpec, FetchOutcome, Page, Requirement, StoresFile,
    TimeWindow,
};
use orderport_custom_store::CustomStoreChannel;

pub static SPEC: ChannelSpec = ChannelSpec {
    id: "test-store",
    name: "Test Store",
    requirements: &[
        Requirement::ShipToAddress,
        Requirement::IsoCountryCode,
        Requirement::IsoStateCode,
    ],
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["unpaid"]),
        (CanonicalStatus::AwaitingShipment, &["paid"]),
        (CanonicalStatus::Shipped, &["shipped"]),
    ],
    capabilities: Capabilities::NONE
        .with_partial_shipments(true)
        .with_customer_email(true)
        .with_custom_statuses(true),
    modified_precision: Duration::minutes(1),
};

pub const USERNAME: &str = "vendor";
/// Characters that need encoding in a query string, so every spelling is exercised.
pub const PASSWORD: &str = "hunter2 S3cr&t=/+x";

/// Fast retries so that tests do not wait.
pub const FAST_RETRIES: &str =
    "retry_max_attempts = 3\nretry_base_delay_ms = 5\nretry_max_delay_ms = 20\n";

/// A channel for a store at `url`, with `extra` settings lines.
pub fn channel_at(url: &str, extra: &str) -> CustomStoreChannel {
    let text = format!(
        "[[store]]\nid = \"hq\"\nname = \"HQ\"\nchannel = \"test-store\"\nurl = \"{url}\"\n\
         username = \"{USERNAME}\"\npassword_env = \"PW\"\n{extra}"
    );
    let file = StoresFile::parse(&text, &|_| Some(PASSWORD.to_owned())).unwrap();
    CustomStoreChannel::new(&SPEC, &file.stores[0]).unwrap()
}

pub fn utc(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0).unwrap()
}

/// 2026-03-07 20:00 to 22:00 UTC; sent as 03/07/2026 19:59 to 03/07/2026 22:01 from a UTC store.
pub fn window() -> TimeWindow {
    TimeWindow::new(utc(7, 20, 0), utc(7, 22, 0)).unwrap()
}

/// A valid order modified at `modified` (store wall clock, `MM/dd/yyyy HH:mm`).
pub fn order(number: &str, modified: &str) -> String {
    format!(
        "<Order><OrderID>id-{number}</OrderID><OrderNumber><![CDATA[{number}]]></OrderNumber>\
         <OrderDate>03/07/2026 20:15</OrderDate><OrderStatus>paid</OrderStatus>\
         <LastModified>{modified}</LastModified><OrderTotal>25.00</OrderTotal>\
         <Customer><CustomerCode>pat</CustomerCode><ShipTo><Name>Pat</Name>\
         <Address1>1 Main St</Address1><City>Austin</City><State>TX</State>\
         <PostalCode>78701</PostalCode><Country>US</Country></ShipTo></Customer>\
         <Items><Item><SKU>SKU-1</SKU><Name>Widget</Name><Quantity>2</Quantity>\
         <UnitPrice>12.50</UnitPrice></Item></Items></Order>"
    )
}

/// An export page; `pages` is the attribute's text, or none.
pub fn page(pages: Option<&str>, orders: &[String]) -> String {
    let attribute = pages.map(|p| format!(" pages=\"{p}\"")).unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Orders{attribute}>{}</Orders>",
        orders.concat()
    )
}

/// The order numbers of a page's outcomes, accepted or rejected.
pub fn numbers(page: &Page) -> Vec<String> {
    page.outcomes
        .iter()
        .map(|o| match o {
            FetchOutcome::Accepted(order) => order.order_number.clone(),
            FetchOutcome::Rejected(r) => r.order_number.clone().unwrap_or_default(),
        })
        .collect()
}
