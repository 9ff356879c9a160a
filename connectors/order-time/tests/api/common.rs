//! Helpers: a store pointing at the mock server, ship doc bodies, and a page walk.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use orderport_core::{
    pages, ChannelError, FetchOutcome, Order, Rejection, SellingChannel, StoreConfig, StoresFile,
    TimeWindow,
};
use serde_json::{json, Value};
use wiremock::MockServer;

pub const EMAIL: &str = "api@example.com";
pub const API_KEY: &str = "fixture-api-key";
pub const PASSWORD: &str = "fixture-password";
pub const DEV_KEY: &str = "fixture-dev-key";

/// A store on the mock server with fast retries; `extra` is more TOML lines.
pub fn store(server: &MockServer, extra: &str) -> StoreConfig {
    let text = format!(
        "[[store]]\nid = \"ot-test\"\nname = \"Order Time Test\"\nchannel = \"order-time\"\n\
         url = \"{}/api\"\nusername = \"{EMAIL}\"\napi_key = \"{API_KEY}\"\n\
         password = \"{PASSWORD}\"\nretry_base_delay_ms = 1\nretry_max_delay_ms = 5000\n{extra}\n",
        server.uri()
    );
    let file = StoresFile::parse(&text, &|_| None).expect("valid store");
    file.stores.into_iter().next().expect("one store")
}

pub fn channel(server: &MockServer, extra: &str) -> Box<dyn SellingChannel> {
    orderport_order_time::connect(&store(server, extra)).expect("connects")
}

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339")
}

pub fn window(from: &str, to: &str) -> TimeWindow {
    TimeWindow::new(at(from), at(to)).expect("ordered")
}

/// A complete ship doc modified at `modified` (as Order Time writes it).
pub fn ship_doc(doc_no: u32, modified: &str) -> Value {
    json!({
        "DocNo": doc_no,
        "DocDate": "2026-10-30T09:00:00",
        "CustomerRef": {"Id": 1, "Name": "Fixture Outfitters"},
        "StatusRef": {"Id": 2, "Name": "paid"},
        "RecordInfo": {"ModifiedDate": modified},
        "ShipAddress": {
            "Contact": "Ada Fixture", "Addr1": "100 Example Street", "City": "Denver",
            "State": "CO", "Zip": "80202", "Country": "US", "Email": "ada@example.com"
        },
        "LineItems": [{"Id": doc_no * 10, "LineNo": 1, "ItemRef": {"Name": "SKU-1"},
                       "Description": "Widget", "Quantity": 1, "Price": 10}]
    })
}

/// A list row with only summary columns: no lines, no addresses.
pub fn summary(doc_no: u32, modified: &str) -> Value {
    json!({"DocNo": doc_no, "RecordInfo": {"ModifiedDate": modified}, "StatusRef": {"Name": "paid"}})
}

/// Every page of the window.
pub async fn walk(
    channel: &dyn SellingChannel,
    window: TimeWindow,
) -> Result<Vec<orderport_core::Page>, ChannelError> {
    pages(channel, window).try_collect().await
}

pub fn accepted(pages: &[orderport_core::Page]) -> Vec<&Order> {
    pages
        .iter()
        .flat_map(|p| &p.outcomes)
        .filter_map(|o| match o {
            FetchOutcome::Accepted(order) => Some(order.as_ref()),
            FetchOutcome::Rejected(_) => None,
        })
        .collect()
}

pub fn rejected(pages: &[orderport_core::Page]) -> Vec<&Rejection> {
    pages
        .iter()
        .flat_map(|p| &p.outcomes)
        .filter_map(|o| match o {
            FetchOutcome::Rejected(r) => Some(r),
            FetchOutcome::Accepted(_) => None,
        })
        .collect()
}

pub fn numbers(orders: &[&Order]) -> Vec<String> {
    orders.iter().map(|o| o.order_number.clone()).collect()
}
