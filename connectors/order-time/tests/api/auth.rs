//! Credentials: which headers carry them, and that no secret leaks.

use std::io::Write;
use std::sync::{Arc, Mutex};

use orderport_core::ChannelError;
use orderport_core::SellingChannel;
use orderport_order_time::OrderTimeChannel;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

#[tokio::test]
async fn rest_calls_send_the_api_key_email_and_password() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .and(header("apiKey", API_KEY))
        .and(header("email", EMAIL))
        .and(header("password", PASSWORD))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .expect(1)
        .mount(&server)
        .await;
    channel(&server, "").check_connection().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("devkey").is_none());
}

#[tokio::test]
async fn a_dev_key_is_sent_instead_of_the_password() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .and(header("apiKey", API_KEY))
        .and(header("email", EMAIL))
        .and(header("DevKey", DEV_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .expect(1)
        .mount(&server)
        .await;
    channel(&server, &format!("dev_key = \"{DEV_KEY}\""))
        .check_connection()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests[0].headers.get("password").is_none(),
        "the password was sent too"
    );
}

#[tokio::test]
async fn refused_credentials_are_an_authentication_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(401).set_body_string("\"Invalid credentials\""))
        .expect(1)
        .mount(&server)
        .await;
    let err = channel(&server, "").check_connection().await.unwrap_err();
    let ChannelError::Authentication { store, detail } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(store, "ot-test");
    assert!(detail.contains("Invalid credentials"), "{detail}");
}

/// A writer into a shared buffer, for capturing log output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn echoing_server(secrets: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    // A server that echoes the credentials back: one 503 (retried), then a 401.
    let echo = format!("bad credentials for {EMAIL}: {}", secrets.join(" / "));
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(503).set_body_string(echo.clone()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(401).set_body_string(echo))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn no_secret_reaches_errors_logs_or_debug_output() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dev_key = format!("dev_key = \"{DEV_KEY}\"");
    for (extra, secrets) in [
        ("", vec![API_KEY, PASSWORD]),
        (dev_key.as_str(), vec![API_KEY, PASSWORD, DEV_KEY]),
    ] {
        let server = echoing_server(&secrets).await;
        let config = store(&server, extra);
        let channel = OrderTimeChannel::new(&config).unwrap();
        let err = channel.check_connection().await.unwrap_err();
        assert!(
            matches!(err, ChannelError::Authentication { .. }),
            "{err:?}"
        );
        let texts = [
            err.to_string(),
            format!("{err:?}"),
            format!("{channel:?}"),
            format!("{config:?}"),
        ];
        for text in texts {
            for secret in &secrets {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
        assert!(err.to_string().contains("[REDACTED]"), "{err}");
    }
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying"),
        "the retry was not logged: {logs}"
    );
    for secret in [API_KEY, PASSWORD, DEV_KEY] {
        assert!(!logs.contains(secret), "{secret} in the logs: {logs}");
    }
}

#[tokio::test]
async fn a_password_or_a_dev_key_chooses_the_rest_api_at_second_precision() {
    let server = MockServer::start().await;
    for extra in ["", "dev_key = \"fixture-dev-key\""] {
        let channel = OrderTimeChannel::new(&store(&server, extra)).unwrap();
        assert_eq!(channel.transport(), orderport_order_time::Transport::Rest);
        assert_eq!(
            channel.spec().modified_precision,
            chrono::Duration::seconds(1)
        );
        assert!(std::ptr::eq(
            channel.spec(),
            &orderport_order_time::REST_SPEC
        ));
    }
}
