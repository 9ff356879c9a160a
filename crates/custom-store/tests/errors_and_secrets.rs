//! Every error kind, triggered for real, and the password absent from each one's Display and
//! Debug, even when the server echoes it back.

mod common;

use common::*;
use orderport_core::{ChannelError, SellingChannel};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Every spelling of the password that could leak: raw and URL-encoded.
fn spellings() -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    vec![
        PASSWORD.to_owned(),
        form.clone(),
        form.replace('+', "%20"),
        "S3cr".to_owned(),
    ]
}

fn assert_no_secret(err: &ChannelError) {
    for text in [err.to_string(), format!("{err:?}")] {
        for secret in spellings() {
            assert!(!text.contains(&secret), "{secret:?} leaked in {text}");
        }
    }
}

/// A body that echoes the request, as some error pages do.
fn echo() -> String {
    let form: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    format!("denied for /shipstation?SS-UserName=vendor&SS-Password={form} (password {PASSWORD})")
}

async fn error_for(response: ResponseTemplate, extra: &str) -> ChannelError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    let channel = channel_at(&server.uri(), extra);
    channel.fetch_page(&window(), None).await.unwrap_err()
}

#[tokio::test]
async fn authentication_errors_carry_no_secret() {
    let err = error_for(
        ResponseTemplate::new(401).set_body_string(echo()),
        FAST_RETRIES,
    )
    .await;
    assert!(matches!(err, ChannelError::Authentication { .. }), "{err}");
    assert!(err.to_string().contains("[REDACTED]"), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn permission_errors_carry_no_secret() {
    let err = error_for(
        ResponseTemplate::new(403).set_body_string(echo()),
        FAST_RETRIES,
    )
    .await;
    assert!(
        matches!(&err, ChannelError::Permission { operation, .. } if operation == "export"),
        "{err}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn rate_limit_errors_carry_no_secret() {
    let response = ResponseTemplate::new(429)
        .insert_header("Retry-After", "0")
        .set_body_string(echo());
    let err = error_for(response, FAST_RETRIES).await;
    assert!(
        matches!(err, ChannelError::RateLimited { retry_after: Some(d), .. } if d.is_zero()),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn server_errors_carry_no_secret() {
    let err = error_for(
        ResponseTemplate::new(500).set_body_string(echo()),
        FAST_RETRIES,
    )
    .await;
    assert!(matches!(err, ChannelError::Transient { .. }), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn refusals_carry_no_secret() {
    let err = error_for(
        ResponseTemplate::new(404).set_body_string(echo()),
        FAST_RETRIES,
    )
    .await;
    assert!(
        matches!(err, ChannelError::Refused { status: 404, .. }),
        "{err}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn protocol_errors_carry_no_secret_in_their_excerpt() {
    let body = format!("<!doctype html><html><body>{}</body></html>", echo());
    let err = error_for(
        ResponseTemplate::new(200).set_body_string(body),
        FAST_RETRIES,
    )
    .await;
    assert!(
        matches!(&err, ChannelError::Protocol { excerpt, .. } if excerpt.contains("[REDACTED]")),
        "{err}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn timeouts_are_transient_and_carry_no_secret() {
    let response = ResponseTemplate::new(200)
        .set_body_string("<Orders/>")
        .set_delay(std::time::Duration::from_secs(3));
    let err = error_for(response, "retry_max_attempts = 1\nrequest_timeout_secs = 1").await;
    assert!(
        matches!(&err, ChannelError::Transient { detail, .. } if detail.contains("timed out")),
        "{err}"
    );
    assert_no_secret(&err);
}

#[tokio::test]
async fn connection_failures_are_transient_and_carry_no_secret() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let channel = channel_at(&format!("http://{address}/shipstation"), FAST_RETRIES);
    let err = channel.fetch_page(&window(), None).await.unwrap_err();
    assert!(
        matches!(&err, ChannelError::Transient { detail, .. } if detail.contains("connect")),
        "{err}"
    );
    assert_no_secret(&err);
}

#[test]
fn the_channel_debug_output_carries_no_secret() {
    let channel = channel_at("http://127.0.0.1:9/shipstation", "");
    let debug = format!("{channel:?}");
    assert!(debug.contains("vendor"), "{debug}");
    for secret in spellings() {
        assert!(!debug.contains(&secret), "{secret:?} leaked in {debug}");
    }
    // Not even a password someone put in the endpoint URL itself.
    let channel = channel_at("http://user:url-pw@127.0.0.1:9/ss?SS-Password=url-pw", "");
    let debug = format!("{channel:?}");
    assert!(debug.contains("127.0.0.1:9/ss"), "{debug}");
    assert!(!debug.contains("url-pw"), "{debug}");
}
