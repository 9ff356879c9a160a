//! A hostile or broken Klaviyo endpoint: redirects, echoed keys, plain http, huge bodies.

use base64::Engine as _;
use orderport_klaviyo::{KlaviyoConfig, KlaviyoError, KlaviyoSink};
use orderport_sync::OutboxEvent;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::*;

fn events() -> Vec<OutboxEvent> {
    many(2)
}

fn sink(url: &str) -> KlaviyoSink {
    let mut config = config(url);
    config.http.retry.max_attempts = 1;
    KlaviyoSink::new(config).expect("sink")
}

#[tokio::test]
async fn a_redirect_is_never_followed_and_names_its_host() {
    let klaviyo = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/api/events", elsewhere.uri())),
        )
        .mount(&klaviyo)
        .await;
    let report = sink(&klaviyo.uri()).deliver(&events()).await;
    assert_eq!(report.failed.len(), 2, "{report:?}");
    let host = elsewhere.address().to_string();
    assert!(report.failed[0].1.contains(&host), "{}", report.failed[0].1);
    assert!(report.delivered.is_empty());
    for seen in klaviyo.received_requests().await.unwrap() {
        assert!(seen.headers.get("referer").is_none());
    }
}

#[tokio::test]
async fn an_echoed_key_in_any_spelling_never_reaches_the_report() {
    let klaviyo = MockServer::start().await;
    Mock::given(any())
        .respond_with(|request: &Request| {
            let auth = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&auth);
            let form: String = url::form_urlencoded::byte_serialize(auth.as_bytes()).collect();
            ResponseTemplate::new(400).set_body_string(format!(
                "<html>you sent {auth} ({form}) [{b64}] key={KEY}</html>"
            ))
        })
        .mount(&klaviyo)
        .await;
    let report = sink(&klaviyo.uri()).deliver(&events()).await;
    let text = format!("{report:?}");
    assert!(!report.refused.is_empty() || !report.failed.is_empty());
    assert!(!text.contains(KEY), "{text}");
    assert!(!text.contains("DO_NOT_LEAK"), "{text}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("Klaviyo-API-Key {KEY}"));
    assert!(!text.contains(&b64), "{text}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    let mut config = config("http://klaviyo.example");
    let err = KlaviyoSink::new(config.clone()).unwrap_err();
    assert!(
        matches!(&err, KlaviyoError::Config { field, detail } if field == "url" && detail.contains("allow_insecure_http")),
        "{err}"
    );
    config.allow_insecure_http = true;
    assert!(KlaviyoSink::new(config).is_ok());
    // The same from a [[sink]] table.
    let table: toml::Table = toml::from_str(&format!(
        "kind = \"klaviyo\"\napi_key = \"{KEY}\"\nurl = \"http://klaviyo.example\""
    ))
    .unwrap();
    let err = KlaviyoConfig::from_table(&table).unwrap_err();
    assert!(!err.to_string().contains(KEY));
    assert!(err.to_string().contains("allow_insecure_http"), "{err}");
}

#[tokio::test]
async fn a_huge_error_body_is_read_only_for_its_start() {
    let klaviyo = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_bytes(vec![b'e'; 50 * 1024 * 1024]))
        .mount(&klaviyo)
        .await;
    let report = sink(&klaviyo.uri()).deliver(&events()).await;
    assert_eq!(report.refused.len() + report.failed.len(), 2, "{report:?}");
    for (_, why) in report.refused.iter().chain(&report.failed) {
        assert!(why.len() < 1024, "{} bytes kept", why.len());
    }
}

#[tokio::test]
async fn a_huge_success_body_is_over_the_limit_and_stays_pending() {
    let klaviyo = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(202).set_body_bytes(vec![b' '; 64 * 1024]))
        .mount(&klaviyo)
        .await;
    let mut config = config(&klaviyo.uri());
    config.http.retry.max_attempts = 1;
    config.http.max_response_bytes = 4096;
    let report = KlaviyoSink::new(config).unwrap().deliver(&events()).await;
    assert_eq!(report.failed.len(), 2, "{report:?}");
    assert!(
        report.failed[0].1.contains("max_response_bytes"),
        "{report:?}"
    );
}
