//! The export over HTTP: paging, credentials, the window sent, retries and the size limit.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use futures::TryStreamExt;
use orderport_core::{pages, ChannelError, PageToken, SellingChannel};
use wiremock::matchers::{basic_auth, method, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

fn export_page(n: u32) -> MockBuilder {
    Mock::given(method("GET"))
        .and(query_param("action", "export"))
        .and(query_param("start_date", "03/07/2026 19:59"))
        .and(query_param("end_date", "03/07/2026 22:01"))
        .and(query_param("page", n.to_string()))
}

fn xml(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "application/xml")
}

#[tokio::test]
async fn every_page_is_walked_and_every_order_arrives_once() {
    let server = MockServer::start().await;
    let bodies = [
        page(
            Some("3"),
            &[
                order("1", "03/07/2026 20:01"),
                order("2", "03/07/2026 20:02"),
            ],
        ),
        page(
            Some("3"),
            &[
                order("3", "03/07/2026 20:03"),
                order("4", "03/07/2026 20:04"),
            ],
        ),
        page(Some("3"), &[order("5", "03/07/2026 20:05")]),
    ];
    for (n, body) in (1..).zip(bodies) {
        export_page(n)
            .respond_with(xml(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let channel = channel_at(&server.uri(), "");
    let walked: Vec<_> = pages(&channel, window()).try_collect().await.unwrap();
    assert_eq!(walked.len(), 3);
    let all: Vec<String> = walked.iter().flat_map(numbers).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for number in &all {
        *seen.entry(number.as_str()).or_default() += 1;
    }
    assert_eq!(all, ["1", "2", "3", "4", "5"]);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    assert_eq!(walked[0].next, Some(PageToken::new("2/3")));
    assert_eq!(walked[2].next, None);
}

#[tokio::test]
async fn a_later_page_reporting_more_pages_extends_the_walk() {
    let server = MockServer::start().await;
    let counts = ["2", "3", "1"];
    for (n, count) in (1..).zip(counts) {
        let body = page(Some(count), &[order(&n.to_string(), "03/07/2026 20:01")]);
        export_page(n)
            .respond_with(xml(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let channel = channel_at(&server.uri(), "");
    let walked: Vec<_> = pages(&channel, window()).try_collect().await.unwrap();
    let all: Vec<String> = walked.iter().flat_map(numbers).collect();
    assert_eq!(all, ["1", "2", "3"]);
}

#[tokio::test]
async fn a_missing_pages_attribute_is_one_page_and_zero_pages_is_empty() {
    let server = MockServer::start().await;
    export_page(1)
        .respond_with(xml(page(None, &[order("1", "03/07/2026 20:01")])))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "");
    let walked: Vec<_> = pages(&channel, window()).try_collect().await.unwrap();
    assert_eq!(walked.len(), 1);
    assert_eq!(numbers(&walked[0]), ["1"]);

    let server = MockServer::start().await;
    export_page(1)
        .respond_with(xml(page(Some("0"), &[])))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "");
    let walked: Vec<_> = pages(&channel, window()).try_collect().await.unwrap();
    assert_eq!(walked.len(), 1);
    assert!(walked[0].outcomes.is_empty());
    assert_eq!(walked[0].next, None);
}

#[tokio::test]
async fn credentials_go_as_basic_auth_and_as_query_parameters_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(basic_auth(USERNAME, PASSWORD))
        .and(query_param("SS-UserName", USERNAME))
        .and(query_param("SS-Password", PASSWORD))
        .respond_with(xml(page(Some("1"), &[])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "");
    channel.fetch_page(&window(), None).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    let query = requests[0].url.query().unwrap().to_owned();
    let names: Vec<&str> = query
        .split('&')
        .map(|pair| pair.split('=').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "action",
            "start_date",
            "end_date",
            "page",
            "SS-UserName",
            "SS-Password"
        ]
    );
    assert!(
        query.starts_with("action=export&start_date=03%2F07%2F2026+19%3A59&end_date=03%2F07%2F2026+22%3A01&page=1&"),
        "{query}"
    );
}

#[tokio::test]
async fn the_endpoint_query_string_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("store", "7"))
        .and(query_param("action", "export"))
        .respond_with(xml(page(Some("1"), &[])))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&format!("{}/shipstation?store=7", server.uri()), "");
    channel.fetch_page(&window(), None).await.unwrap();
}

#[tokio::test]
async fn orders_outside_the_window_are_left_out_after_widening() {
    let server = MockServer::start().await;
    // The widened request returns the boundary minutes; only what may fall in the window stays.
    let body = page(
        Some("1"),
        &[
            order("early", "03/07/2026 19:59"),
            order("first-minute", "03/07/2026 20:00"),
            order("last-minute", "03/07/2026 22:00"),
            order("late", "03/07/2026 22:01"),
        ],
    );
    export_page(1)
        .respond_with(xml(body))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "");
    let page = channel.fetch_page(&window(), None).await.unwrap();
    assert_eq!(numbers(&page), ["first-minute", "last-minute"]);
}

#[tokio::test]
async fn rate_limits_honour_retry_after() {
    let server = MockServer::start().await;
    export_page(1)
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    export_page(1)
        .respond_with(xml(page(Some("1"), &[order("1", "03/07/2026 20:01")])))
        .expect(1)
        .mount(&server)
        .await;
    // The backoff alone would wait at most 20 ms; only Retry-After explains a 1 s wait.
    let channel = channel_at(
        &server.uri(),
        "retry_max_attempts = 3\nretry_base_delay_ms = 5\nretry_max_delay_ms = 5000\n",
    );
    let started = Instant::now();
    let page = channel.fetch_page(&window(), None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(numbers(&page), ["1"]);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let server = MockServer::start().await;
    export_page(1)
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    export_page(1)
        .respond_with(xml(page(Some("1"), &[order("1", "03/07/2026 20:01")])))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), FAST_RETRIES);
    let page = channel.fetch_page(&window(), None).await.unwrap();
    assert_eq!(numbers(&page), ["1"]);
}

#[tokio::test]
async fn server_errors_give_up_after_the_configured_attempts() {
    let server = MockServer::start().await;
    export_page(1)
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), FAST_RETRIES);
    let err = channel.fetch_page(&window(), None).await.unwrap_err();
    assert!(matches!(err, ChannelError::Transient { .. }), "{err}");
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let server = MockServer::start().await;
    export_page(1)
        .respond_with(ResponseTemplate::new(400).set_body_string("bad start_date"))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), FAST_RETRIES);
    let err = channel.fetch_page(&window(), None).await.unwrap_err();
    assert!(
        matches!(&err, ChannelError::Refused { status: 400, operation, detail, .. }
            if operation == "export" && detail.contains("bad start_date")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_reply_over_the_size_limit_is_a_protocol_error() {
    let server = MockServer::start().await;
    let orders: Vec<String> = (0..40)
        .map(|n| order(&n.to_string(), "03/07/2026 20:01"))
        .collect();
    let body = page(Some("1"), &orders);
    assert!(body.len() > 8192);
    export_page(1)
        .respond_with(xml(body))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel_at(
        &server.uri(),
        &format!("{FAST_RETRIES}max_response_bytes = 4096"),
    );
    let err = channel.fetch_page(&window(), None).await.unwrap_err();
    // The declared Content-Length is refused before any of the body is read.
    assert!(
        matches!(&err, ChannelError::Protocol { detail, excerpt, .. }
            if detail.contains("max_response_bytes") && excerpt.is_empty()),
        "{err}"
    );
}

/// A server that streams an endless chunked reply, without Content-Length.
async fn endless_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let opening = "<Orders pages=\"1\">";
                let _ = socket
                    .write_all(format!("{:x}\r\n{opening}\r\n", opening.len()).as_bytes())
                    .await;
                let chunk = "<Ignored>xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</Ignored>".repeat(50);
                let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
                while socket.write_all(framed.as_bytes()).await.is_ok() {}
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn the_body_is_read_chunk_by_chunk_and_abandoned_over_the_limit() {
    let url = endless_server().await;
    let channel = channel_at(&url, "retry_max_attempts = 1\nmax_response_bytes = 65536");
    let result = tokio::time::timeout(Duration::from_secs(20), channel.fetch_page(&window(), None))
        .await
        .expect("reading must stop at the limit, not wait for the end of an endless body");
    let err = result.unwrap_err();
    assert!(
        matches!(&err, ChannelError::Protocol { detail, excerpt, .. }
            if detail.contains("max_response_bytes") && excerpt.starts_with("<Orders")),
        "{err}"
    );
}

#[tokio::test]
async fn an_html_page_or_empty_body_with_200_is_a_protocol_error() {
    for body in ["<!doctype html><html><body>Maintenance</body></html>", ""] {
        let server = MockServer::start().await;
        export_page(1)
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let channel = channel_at(&server.uri(), FAST_RETRIES);
        let err = channel.fetch_page(&window(), None).await.unwrap_err();
        assert!(matches!(err, ChannelError::Protocol { .. }), "{err}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn check_connection_needs_a_well_formed_orders_reply() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("action", "export"))
        .and(query_param("page", "1"))
        .respond_with(xml(page(Some("0"), &[])))
        .expect(1)
        .mount(&server)
        .await;
    channel_at(&server.uri(), "")
        .check_connection()
        .await
        .unwrap();

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(""))
        .expect(1)
        .mount(&server)
        .await;
    let err = channel_at(&server.uri(), FAST_RETRIES)
        .check_connection()
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Protocol { .. }), "{err}");

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let err = channel_at(&server.uri(), FAST_RETRIES)
        .check_connection()
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Authentication { .. }), "{err}");
}

#[tokio::test]
async fn a_foreign_page_token_is_refused_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(xml(page(Some("1"), &[])))
        .expect(0)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), "");
    let err = channel
        .fetch_page(&window(), Some(&PageToken::new("cursor-abc")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Configuration { field, .. } if field == "page_token"),
        "{err}"
    );
}
