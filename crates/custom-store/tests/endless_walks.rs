//! A hostile export server cannot make a walk run forever: a page count above the store's
//! `max_pages_per_window` fails at once, the same page served again and again is "no
//! progress", a page without orders ends the walk whatever the count says, and a count that
//! keeps growing stops at the limit. Each failure is a protocol error naming the store, the
//! window and what to do.

mod common;

use common::*;
use futures::TryStreamExt;
use orderport_core::{pages, ChannelError, Page};
use wiremock::matchers::{method, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn xml(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "application/xml")
}

/// Ten orders, all in the test window.
fn ten_orders(first: u32) -> Vec<String> {
    (first..first + 10)
        .map(|n| order(&n.to_string(), "03/07/2026 20:30"))
        .collect()
}

async fn serve(server: &MockServer, responder: impl Respond + 'static) {
    Mock::given(method("GET"))
        .and(query_param("action", "export"))
        .respond_with(responder)
        .mount(server)
        .await;
}

async fn walk(extra: &str, server: &MockServer) -> Result<Vec<Page>, ChannelError> {
    let channel = channel_at(&server.uri(), extra);
    pages(&channel, window()).try_collect().await
}

fn export_requests(requests: &[Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.url.query().is_some_and(|q| q.contains("action=export")))
        .count()
}

fn protocol_text(error: ChannelError) -> String {
    assert!(matches!(error, ChannelError::Protocol { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("store hq"), "{text}");
    assert!(
        text.contains("2026-03-07T20:00:00+00:00"),
        "names the window: {text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
    text
}

#[tokio::test]
async fn pages_999999999_with_the_same_page_forever_fails_at_once() {
    let server = MockServer::start().await;
    serve(&server, xml(page(Some("999999999"), &ten_orders(1)))).await;
    let text = protocol_text(walk("", &server).await.unwrap_err());
    assert!(text.contains("pages=\"999999999\""), "{text}");
    assert!(text.contains("max_pages_per_window = 10000"), "{text}");
    assert!(text.contains("raise max_pages_per_window"), "{text}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(export_requests(&requests), 1, "failed on page 1");
}

#[tokio::test]
async fn the_same_page_forever_under_the_limit_is_no_progress() {
    let server = MockServer::start().await;
    serve(&server, xml(page(Some("5000"), &ten_orders(1)))).await;
    let text = protocol_text(walk("", &server).await.unwrap_err());
    assert!(text.contains("makes no progress"), "{text}");
    assert!(text.contains("repeats the 10 orders of page 1"), "{text}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(export_requests(&requests), 2);
}

/// Fresh orders on every page and a count that grows by one each page: the walk stops at the
/// store's limit.
struct Growing;

impl Respond for Growing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n: u32 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        xml(page(Some(&(n + 1).to_string()), &ten_orders(n * 10)))
    }
}

#[tokio::test]
async fn a_count_that_keeps_growing_stops_at_the_store_limit() {
    let server = MockServer::start().await;
    serve(&server, Growing).await;
    let text = protocol_text(
        walk("max_pages_per_window = 7\n", &server)
            .await
            .unwrap_err(),
    );
    assert!(text.contains("max_pages_per_window = 7"), "{text}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(export_requests(&requests), 7);
}

/// Page 1 is full and claims 9000 pages; page 2 has no orders: the walk ends there.
struct EmptyAfterFirst;

impl Respond for EmptyAfterFirst {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let first = request
            .url
            .query_pairs()
            .any(|(k, v)| k == "page" && v == "1");
        if first {
            xml(page(Some("9000"), &ten_orders(1)))
        } else {
            xml(page(Some("9000"), &[]))
        }
    }
}

#[tokio::test]
async fn a_page_without_orders_ends_the_walk_whatever_the_count() {
    let server = MockServer::start().await;
    serve(&server, EmptyAfterFirst).await;
    let walked = walk("", &server).await.unwrap();
    assert_eq!(walked.len(), 2);
    assert_eq!(numbers(&walked[0]).len(), 10);
    assert!(walked[1].outcomes.is_empty() && walked[1].next.is_none());
}
