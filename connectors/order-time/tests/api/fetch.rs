//! Listing: the body sent, paging, completing summary rows, and the DST window.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orderport_core::ReasonCode;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::*;

fn list_reply(rows: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(Value::Array(rows))
}

#[tokio::test]
async fn the_list_body_filters_ship_docs_by_modification_date_and_pages() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .and(body_json(json!({
            "Type": 4,
            "Filters": [
                {"PropertyName": "RecordInfo.ModifiedDate", "Operator": 4,
                 "FilterValueArray": "2026-03-01T09:59:59"},
                {"PropertyName": "RecordInfo.ModifiedDate", "Operator": 5,
                 "FilterValueArray": "2026-03-01T11:00:01"}
            ],
            "Sortation": {"PropertyName": "DocNo", "Direction": 1},
            "PageNumber": 1,
            "NumberOfRecords": 50
        })))
        .respond_with(list_reply(vec![]))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel(&server, "page_size = 50");
    let window = window("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let pages = walk(channel.as_ref(), window).await.unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].outcomes.is_empty() && pages[0].next.is_none());
}

#[tokio::test]
async fn a_multi_page_walk_returns_every_order_once() {
    let server = MockServer::start().await;
    let modified = "2026-03-01T10:30:00";
    for (page, docs) in [(1, vec![101, 102]), (2, vec![103, 104]), (3, vec![105])] {
        Mock::given(method("POST"))
            .and(path("/api/list"))
            .and(body_partial_json(
                json!({"PageNumber": page, "NumberOfRecords": 2}),
            ))
            .respond_with(list_reply(
                docs.into_iter().map(|n| ship_doc(n, modified)).collect(),
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    let channel = channel(&server, "page_size = 2");
    let window = window("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let pages = walk(channel.as_ref(), window).await.unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(
        numbers(&accepted(&pages)),
        ["101", "102", "103", "104", "105"]
    );
    // Complete rows need no detail fetch.
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path() == "/api/list"));
}

/// Serves `GET /shipdoc?docNo=N` with a per-document delay and records when each call arrived.
struct SlowShipDocs {
    calls: Arc<Mutex<Vec<(Instant, Duration)>>>,
    modified: &'static str,
}

impl Respond for SlowShipDocs {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let doc_no: u32 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "docNo")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        // The first documents are the slowest, so that completion order differs from list order.
        let delay = Duration::from_millis(100 + u64::from(9 - doc_no % 10) * 20);
        self.calls.lock().unwrap().push((Instant::now(), delay));
        ResponseTemplate::new(200)
            .set_body_json(ship_doc(doc_no, self.modified))
            .set_delay(delay)
    }
}

/// The most calls in flight at once, from each call's arrival and delay.
fn max_in_flight(calls: &[(Instant, Duration)]) -> usize {
    calls
        .iter()
        .map(|(at, _)| {
            calls
                .iter()
                .filter(|(start, delay)| start <= at && *at < *start + *delay)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn rows_without_details_are_fetched_with_bounded_concurrency_in_list_order() {
    let server = MockServer::start().await;
    let modified = "2026-03-01T10:30:00";
    let rows: Vec<Value> = (201..=208).map(|n| summary(n, modified)).collect();
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(list_reply(rows))
        .expect(1)
        .mount(&server)
        .await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .respond_with(SlowShipDocs {
            calls: calls.clone(),
            modified,
        })
        .expect(8)
        .mount(&server)
        .await;
    let channel = channel(&server, "fetch_concurrency = 3");
    let window = window("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let pages = walk(channel.as_ref(), window).await.unwrap();
    let orders = accepted(&pages);
    assert_eq!(
        numbers(&orders),
        ["201", "202", "203", "204", "205", "206", "207", "208"]
    );
    // The details came from the full record.
    assert_eq!(orders[0].items[0].sku, "SKU-1");
    assert_eq!(
        orders[0].ship_to.as_ref().unwrap().state.as_deref(),
        Some("CO")
    );
    let calls = calls.lock().unwrap();
    assert_eq!(max_in_flight(&calls), 3, "{calls:?}");
}

#[tokio::test]
async fn only_rows_the_window_may_contain_are_completed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(list_reply(vec![
            summary(301, "2026-03-01T09:00:00"),
            summary(302, "2026-03-01T10:15:00"),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "302"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(ship_doc(302, "2026-03-01T10:15:00")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel(&server, "");
    let window = window("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let pages = walk(channel.as_ref(), window).await.unwrap();
    assert_eq!(numbers(&accepted(&pages)), ["302"]);
}

#[tokio::test]
async fn a_denver_window_across_the_end_of_dst_sends_wall_clock_bounds_and_reads_dates_there() {
    let server = MockServer::start().await;
    // 07:30Z-08:30Z is 01:30 MDT to 01:30 MST: the repeated hour of 2026-11-01.
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .and(body_partial_json(json!({
            "Filters": [
                {"PropertyName": "RecordInfo.ModifiedDate", "Operator": 4,
                 "FilterValueArray": "2026-11-01T00:29:59"},
                {"PropertyName": "RecordInfo.ModifiedDate", "Operator": 5,
                 "FilterValueArray": "2026-11-01T02:30:01"}
            ]
        })))
        .respond_with(list_reply(vec![
            // 00:45 MDT = 06:45Z: before the window.
            ship_doc(401, "2026-11-01T00:45:00"),
            // 01:30, ambiguous: read as the earlier 01:30 MDT = 07:30Z.
            ship_doc(402, "2026-11-01T01:30:00"),
            // An offset is honoured: 01:15 MST = 08:15Z.
            ship_doc(403, "2026-11-01T01:15:00-07:00"),
            // 02:15 MST = 09:15Z: after the window.
            ship_doc(404, "2026-11-01T02:15:00"),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel(&server, "timezone = \"America/Denver\"");
    let window = window("2026-11-01T07:30:00Z", "2026-11-01T08:30:00Z");
    let pages = walk(channel.as_ref(), window).await.unwrap();
    let orders = accepted(&pages);
    assert_eq!(numbers(&orders), ["402", "403"]);
    assert_eq!(orders[0].modified_at, at("2026-11-01T07:30:00Z"));
    assert_eq!(orders[1].modified_at, at("2026-11-01T08:15:00Z"));
    // DocDate 2026-10-30 09:00 MDT.
    assert_eq!(orders[0].ordered_at, at("2026-10-30T15:00:00Z"));
}

#[tokio::test]
async fn full_state_names_and_three_letter_countries_are_rejected_with_suggestions() {
    let server = MockServer::start().await;
    let modified = "2026-03-01T10:30:00";
    let mut by_name = ship_doc(501, modified);
    by_name["ShipAddress"]["State"] = json!("Colorado");
    let mut alpha3 = ship_doc(502, modified);
    alpha3["ShipAddress"]["Country"] = json!("USA");
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(list_reply(vec![by_name, alpha3, ship_doc(503, modified)]))
        .mount(&server)
        .await;
    let channel = channel(&server, "");
    let window = window("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let pages = walk(channel.as_ref(), window).await.unwrap();
    assert_eq!(numbers(&accepted(&pages)), ["503"]);
    let rejections = rejected(&pages);
    assert_eq!(rejections.len(), 2);
    let state = &rejections[0].reasons[0];
    assert_eq!(rejections[0].order_number.as_deref(), Some("501"));
    assert_eq!(
        (state.field.as_str(), state.code),
        ("ship_to.state", ReasonCode::InvalidStateCode)
    );
    assert!(state.message.contains("use \"CO\""), "{}", state.message);
    let country = &rejections[1].reasons[0];
    assert_eq!(rejections[1].order_number.as_deref(), Some("502"));
    assert_eq!(
        (country.field.as_str(), country.code),
        ("ship_to.country", ReasonCode::InvalidCountryCode)
    );
    assert!(
        country.message.contains("use \"US\""),
        "{}",
        country.message
    );
}

#[tokio::test]
async fn fetch_details_always_completes_even_complete_rows() {
    let server = MockServer::start().await;
    let mut listed = ship_doc(701, "2026-03-01T10:30:00");
    listed["Memo"] = json!("from the list");
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(list_reply(vec![listed]))
        .mount(&server)
        .await;
    let mut full = ship_doc(701, "2026-03-01T10:30:00");
    full["Memo"] = json!("from the record");
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "701"))
        .respond_with(ResponseTemplate::new(200).set_body_json(full))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel(&server, "fetch_details = \"always\"");
    let window = window("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");
    let pages = walk(channel.as_ref(), window).await.unwrap();
    assert_eq!(
        accepted(&pages)[0].customer_notes.as_deref(),
        Some("from the record")
    );
}
