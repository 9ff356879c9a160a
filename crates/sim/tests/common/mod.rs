//! Shared helpers of the simulator's HTTP tests.

#![allow(dead_code)]

use orderport_sim::chrono::{DateTime, TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, SimStore, Tz};

/// 2026-03-10 12:00 UTC: two days after Chicago's spring-forward.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

pub fn generator(tz: Tz) -> GeneratorConfig {
    GeneratorConfig {
        seed: 7,
        days: 5,
        orders_per_day: 60,
        timezone: tz,
        ..GeneratorConfig::default()
    }
}

pub async fn start(
    flavor: Flavor,
    generator: GeneratorConfig,
    faults: Faults,
) -> (ChannelSim, SimClock) {
    let clock = SimClock::fixed(start_time());
    let sim = ChannelSim::start(
        flavor,
        generator,
        faults,
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    (sim, clock)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `GET {store}?action=export&…` with Basic auth.
pub async fn export(store: &SimStore, start: &str, end: &str, page: u32) -> reqwest::Response {
    client()
        .get(&store.url)
        .query(&[
            ("action", "export"),
            ("start_date", start),
            ("end_date", end),
            ("page", &page.to_string()),
        ])
        .basic_auth(&store.username, Some(&store.password))
        .send()
        .await
        .unwrap()
}

/// The `<OrderNumber>`s of an export page, in document order.
pub fn order_numbers(xml: &str) -> Vec<String> {
    xml.split("<OrderNumber><![CDATA[")
        .skip(1)
        .filter_map(|rest| rest.split_once("]]>").map(|(n, _)| n.to_owned()))
        .collect()
}

/// The `pages` attribute of an export page.
pub fn pages(xml: &str) -> u32 {
    let start = xml.find("pages=\"").unwrap() + 7;
    xml[start..].split('"').next().unwrap().parse().unwrap()
}

/// The text of the first `<name>` after `<OrderNumber>` `number`.
pub fn field(xml: &str, number: &str, name: &str) -> String {
    let order = xml
        .split("<Order>")
        .find(|o| o.contains(&format!("<OrderNumber><![CDATA[{number}]]>")))
        .unwrap();
    let open = format!("<{name}>");
    let rest = &order[order.find(&open).unwrap() + open.len()..];
    let text = &rest[..rest.find(&format!("</{name}>")).unwrap()];
    text.trim_start_matches("<![CDATA[")
        .trim_end_matches("]]>")
        .to_owned()
}

/// `POST /api/list` with the store's REST headers.
pub async fn ot_list(store: &SimStore, body: serde_json::Value) -> reqwest::Response {
    client()
        .post(format!("{}/list", store.url))
        .header("apiKey", store.api_key.as_deref().unwrap())
        .header("email", &store.username)
        .header("password", &store.password)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// A ListInfo for the wall-clock window `[from, to]`.
pub fn list_info(from: &str, to: &str, page: u32, size: u32) -> serde_json::Value {
    serde_json::json!({
        "Type": 4,
        "Filters": [
            {"PropertyName": "RecordInfo.ModifiedDate", "Operator": 4, "FilterValueArray": from},
            {"PropertyName": "RecordInfo.ModifiedDate", "Operator": 5, "FilterValueArray": to}
        ],
        "Sortation": {"PropertyName": "DocNo", "Direction": 1},
        "PageNumber": page,
        "NumberOfRecords": size
    })
}

/// An RFC 3339 instant.
pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// `GET {api}/shipstation?action=export&…`: Order Time's Custom Store endpoint, with Basic
/// e-mail:API key.
pub async fn ot_export(store: &SimStore, start: &str, end: &str, page: u32) -> reqwest::Response {
    client()
        .get(format!("{}/shipstation", store.url))
        .query(&[
            ("action", "export"),
            ("start_date", start),
            ("end_date", end),
            ("page", &page.to_string()),
        ])
        .basic_auth(&store.username, store.api_key.as_deref())
        .send()
        .await
        .unwrap()
}

/// Every `<OrderNumber>` of Order Time's Custom Store export of `[start, end]`, page by page,
/// and every page's XML.
pub async fn ot_export_walk(
    store: &SimStore,
    start: &str,
    end: &str,
) -> (Vec<String>, Vec<String>) {
    let mut numbers = Vec::new();
    let mut bodies = Vec::new();
    let mut page = 1;
    loop {
        let reply = ot_export(store, start, end, page).await;
        assert_eq!(reply.status(), 200);
        let xml = reply.text().await.unwrap();
        numbers.extend(order_numbers(&xml));
        let total = pages(&xml);
        bodies.push(xml);
        if page >= total {
            return (numbers, bodies);
        }
        page += 1;
    }
}
