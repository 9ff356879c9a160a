//! `KlaviyoSink::check_connection`: one read-only Get Accounts, and each answer's verdict.

use orderport_klaviyo::{CheckError, KlaviyoSink};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

async fn answering(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/"))
        .and(header(
            "authorization",
            format!("Klaviyo-API-Key {KEY}").as_str(),
        ))
        .and(header("revision", orderport_klaviyo::REVISION))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

async fn check(server: &MockServer) -> Result<(), CheckError> {
    let mut config = config(&server.uri());
    config.http.retry.max_attempts = 2;
    KlaviyoSink::new(config)
        .expect("sink")
        .check_connection()
        .await
}

#[tokio::test]
async fn a_200_from_get_accounts_is_a_working_connection_and_nothing_is_written() {
    let server = answering(200, r#"{"data":[]}"#).await;
    assert_eq!(check(&server).await, Ok(()));
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    assert!(requests.iter().all(|r| r.method.as_str() == "GET"));
}

#[tokio::test]
async fn each_failure_says_what_to_fix_without_the_key() {
    let echo = format!("bad key {KEY}");
    for (status, expected) in [
        (401, "api_key"),
        (403, "accounts:read"),
        (500, "HTTP 500"),
        (404, "HTTP 404"),
    ] {
        let server = answering(status, &echo).await;
        let error = check(&server).await.expect_err("fails");
        let text = error.to_string();
        assert!(text.contains(expected), "{status}: {text}");
        assert!(!text.contains(KEY), "{status}: the key leaked: {text}");
        assert_eq!(
            error.is_credentials(),
            matches!(status, 401 | 403),
            "{status}: {error:?}"
        );
    }
}
