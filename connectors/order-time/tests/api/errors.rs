//! HTTP errors: what each status becomes, and which are retried.

use std::time::{Duration, Instant};

use orderport_core::ChannelError;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const WINDOW: (&str, &str) = ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");

async fn fetch_error(server: &MockServer, extra: &str) -> ChannelError {
    let channel = channel(server, extra);
    walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap_err()
}

async fn list_answers(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_400_carries_its_message_and_is_not_retried() {
    let server = MockServer::start().await;
    list_answers(
        &server,
        ResponseTemplate::new(400).set_body_string("\"Invalid property RecordInfo.ModifiedDate\""),
        1,
    )
    .await;
    let err = fetch_error(&server, "").await;
    let ChannelError::Refused {
        operation,
        status,
        detail,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((operation.as_str(), *status), ("list ship docs", 400));
    assert_eq!(detail, "Invalid property RecordInfo.ModifiedDate");
}

#[tokio::test]
async fn a_403_names_the_call_that_was_refused() {
    let server = MockServer::start().await;
    list_answers(
        &server,
        ResponseTemplate::new(403).set_body_string("\"Access denied\""),
        1,
    )
    .await;
    let err = fetch_error(&server, "").await;
    let ChannelError::Permission {
        operation, detail, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(operation, "list ship docs");
    assert!(detail.contains("Access denied"), "{detail}");
    assert!(err
        .to_string()
        .contains("grant the API user the right to list ship docs"));
}

#[tokio::test]
async fn a_403_on_a_detail_fetch_names_the_ship_doc() {
    let server = MockServer::start().await;
    list_answers(
        &server,
        ResponseTemplate::new(200).set_body_json(json!([summary(1042, "2026-03-01T10:30:00")])),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "1042"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&server)
        .await;
    let err = fetch_error(&server, "").await;
    let ChannelError::Permission { operation, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(operation, "get ship doc 1042");
}

#[tokio::test]
async fn a_409_surfaces_the_validation_results_with_the_doc_number() {
    let server = MockServer::start().await;
    list_answers(
        &server,
        ResponseTemplate::new(200).set_body_json(json!([summary(1042, "2026-03-01T10:30:00")])),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!([
            {"PropertyName": "CustomerRef", "Message": "Customer is inactive"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let err = fetch_error(&server, "").await;
    let ChannelError::Refused {
        status,
        detail,
        operation,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 409);
    assert_eq!(operation, "get ship doc 1042");
    assert_eq!(
        detail,
        "Order Time's validation failed: CustomerRef: Customer is inactive"
    );
}

#[tokio::test]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    list_answers(
        &server,
        ResponseTemplate::new(200).set_body_json(json!([])),
        1,
    )
    .await;
    let started = Instant::now();
    let channel = channel(&server, "");
    let pages = walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_503_is_retried_until_the_attempts_run_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    list_answers(
        &server,
        ResponseTemplate::new(200).set_body_json(json!([])),
        1,
    )
    .await;
    let channel = channel(&server, "retry_max_attempts = 3");
    walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap();

    let server = MockServer::start().await;
    list_answers(&server, ResponseTemplate::new(503), 3).await;
    let err = fetch_error(&server, "retry_max_attempts = 3").await;
    assert!(matches!(err, ChannelError::Transient { .. }), "{err:?}");
}

#[tokio::test]
async fn other_client_errors_are_never_retried() {
    let server = MockServer::start().await;
    list_answers(
        &server,
        ResponseTemplate::new(404).set_body_string("Not Found"),
        1,
    )
    .await;
    let err = fetch_error(&server, "").await;
    assert!(
        matches!(err, ChannelError::Refused { status: 404, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_html_page_is_a_protocol_error() {
    let server = MockServer::start().await;
    list_answers(
        &server,
        ResponseTemplate::new(200)
            .set_body_string("<!DOCTYPE html><html><body>Sign in</body></html>"),
        1,
    )
    .await;
    let err = fetch_error(&server, "").await;
    let ChannelError::Protocol { excerpt, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(excerpt.contains("Sign in"), "{excerpt}");
}
