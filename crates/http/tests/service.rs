//! The HTTP layer against hostile servers on loopback: redirects, echoed secrets, endless or
//! huge bodies, and which failures each idempotency retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use orderport_core::{ChannelError, RetryPolicy};
use orderport_http::{Auth, HttpClient, HttpService, HttpSettings, Idempotency, Request};
use secrecy::SecretString;
use url::Url;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, Request as Seen, ResponseTemplate};

const PASSWORD: &str = "hunter2 S3cr&t=/+x";
const API_KEY: &str = "pk_live_0123456789abcdef";

fn settings(attempts: u32) -> HttpSettings {
    HttpSettings {
        request_timeout: Duration::from_secs(5),
        max_response_bytes: 4096,
        retry: RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        },
    }
}

fn auth() -> Auth {
    Auth::basic("vendor", SecretString::from(PASSWORD))
        .with_header("apiKey", SecretString::from(API_KEY))
        .unwrap()
        .with_plain_query("SS-UserName", "vendor")
        .with_query("SS-Password", SecretString::from(PASSWORD))
}

fn service(attempts: u32) -> HttpService {
    HttpService::new(HttpClient::new().unwrap(), "hq", auth(), settings(attempts))
}

fn url(server: &MockServer, path: &str) -> Url {
    Url::parse(&format!("{}{path}", server.uri())).unwrap()
}

/// Every spelling of a secret a hostile reply could echo.
fn leaks(text: &str) -> Vec<String> {
    use base64::Engine as _;
    let form: String = url::form_urlencoded::byte_serialize(PASSWORD.as_bytes()).collect();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("vendor:{PASSWORD}"));
    [
        PASSWORD.to_owned(),
        form.clone(),
        form.replace('+', "%20"),
        basic,
        API_KEY.to_owned(),
        "hunter2".to_owned(),
        "0123456789".to_owned(),
    ]
    .into_iter()
    .filter(|s| text.contains(s.as_str()))
    .collect()
}

fn assert_clean(err: &ChannelError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(
            leaks(&text).is_empty(),
            "{:?} leaked in {text}",
            leaks(&text)
        );
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_is_an_error_naming_it_and_nothing_reaches_it() {
    let store = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let target = Url::parse(&elsewhere.uri()).unwrap();
    let target_host = format!("{}:{}", target.host_str().unwrap(), target.port().unwrap());
    for status in [301, 302, 303, 307, 308] {
        store.reset().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{}/steal?x=1", elsewhere.uri())),
            )
            .mount(&store)
            .await;
        for request in [
            Request::get(url(&store, "/ss?action=export"), "export"),
            Request::post(url(&store, "/ss?action=shipnotify"), "shipnotify")
                .body(b"<ShipNotice/>".to_vec(), "application/xml"),
        ] {
            let err = service(3).send(request).await.unwrap_err();
            match &err {
                ChannelError::Redirected {
                    status: s, target, ..
                } => {
                    assert_eq!(*s, status);
                    assert_eq!(target, &target_host);
                }
                other => panic!("{other:?}"),
            }
            assert!(err.to_string().contains(&target_host), "{err}");
            assert!(!err.to_string().contains("steal"), "{err}");
            assert_clean(&err);
        }
        // Not retried: one request per call.
        assert_eq!(store.received_requests().await.unwrap().len(), 2);
    }
    // No request ever carried a Referer.
    for seen in store.received_requests().await.unwrap() {
        assert!(seen.headers.get("referer").is_none());
    }
}

#[tokio::test]
async fn a_host_client_that_follows_redirects_is_still_refused() {
    let store = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("<Orders/>"))
        .mount(&elsewhere)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{}/x", elsewhere.uri())),
        )
        .mount(&store)
        .await;
    let permissive = reqwest::Client::builder().build().unwrap();
    let service = HttpService::new(
        HttpClient::from_reqwest(permissive),
        "hq",
        auth(),
        settings(1),
    );
    let err = service
        .send(Request::get(url(&store, "/ss"), "export"))
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Redirected { .. }), "{err:?}");
    assert_clean(&err);
}

#[tokio::test]
async fn a_host_supplied_client_is_the_one_that_sends() {
    let store = MockServer::start().await;
    Mock::given(header("user-agent", "platform-pool/7"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&store)
        .await;
    let client = orderport_http::client_builder()
        .user_agent("platform-pool/7")
        .build()
        .unwrap();
    let service = HttpService::new(HttpClient::from_reqwest(client), "hq", auth(), settings(1));
    let reply = service
        .send(Request::get(url(&store, "/ss"), "export"))
        .await
        .unwrap();
    assert_eq!(reply.body, b"ok");
}

#[tokio::test]
async fn credentials_go_out_as_configured() {
    let store = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ss"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&store)
        .await;
    service(1)
        .send(Request::get(url(&store, "/ss?action=export"), "export"))
        .await
        .unwrap();
    let seen: Seen = store.received_requests().await.unwrap().remove(0);
    let query: Vec<(String, String)> = seen.url.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        [
            ("action".to_owned(), "export".to_owned()),
            ("SS-UserName".to_owned(), "vendor".to_owned()),
            ("SS-Password".to_owned(), PASSWORD.to_owned()),
        ]
    );
    assert_eq!(seen.headers.get("apikey").unwrap(), API_KEY);
    assert!(seen
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Basic "));
}

/// A body echoing the request in every spelling, as a broken proxy or error page does.
fn echo_body(seen: &Seen) -> String {
    let headers: Vec<String> = seen
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("")))
        .collect();
    format!(
        "<html><body>You sent {} with {}</body></html>",
        seen.url,
        headers.join("; ")
    )
}

struct Echo(u16);

impl wiremock::Respond for Echo {
    fn respond(&self, request: &Seen) -> ResponseTemplate {
        ResponseTemplate::new(self.0).set_body_string(echo_body(request))
    }
}

#[tokio::test]
async fn echoed_requests_never_put_a_secret_into_an_error() {
    for status in [200, 400, 401, 403, 404, 409, 429, 500, 503] {
        let store = MockServer::start().await;
        Mock::given(any())
            .respond_with(Echo(status))
            .mount(&store)
            .await;
        let result = service(2)
            .send(Request::get(url(&store, "/ss?action=export"), "export"))
            .await;
        let err = match result {
            // A 2xx echo is the connector's to judge: it turns it into a protocol error.
            Ok(reply) => service(1).protocol_error("not an export", &reply.body),
            Err(e) => e,
        };
        assert_clean(&err);
    }
}

#[tokio::test]
async fn bodies_over_the_limit_fail_without_being_read_whole() {
    let store = MockServer::start().await;
    // Declared too large.
    Mock::given(path("/declared"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 10_000]))
        .mount(&store)
        .await;
    let err = service(1)
        .send(Request::get(url(&store, "/declared"), "export"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Protocol { detail, .. } if detail.contains("max_response_bytes (4096 bytes; it is 10000 bytes)")),
        "{err}"
    );
    // An error reply's body is read only for its first KiB.
    Mock::given(path("/error"))
        .respond_with(ResponseTemplate::new(400).set_body_bytes(vec![b'y'; 5_000_000]))
        .mount(&store)
        .await;
    let err = service(1)
        .send(Request::get(url(&store, "/error"), "export"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Refused { detail, .. } if detail.len() < 400),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_chunked_body_without_a_length_is_cut_at_the_limit() {
    // A raw server that streams without Content-Length, forever.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .await;
                let chunk = format!("{:x}\r\n{}\r\n", 1000, "z".repeat(1000));
                for _ in 0..100_000 {
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let err = service(1)
        .send(Request::get(
            Url::parse(&format!("http://{address}/ss")).unwrap(),
            "export",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Protocol { detail, .. } if detail.contains("more than that")),
        "{err}"
    );
}

async fn count_attempts(status: u16, idempotency: Idempotency) -> usize {
    let store = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(status).insert_header("Retry-After", "0"))
        .mount(&store)
        .await;
    let _ = service(4)
        .send(Request::post(url(&store, "/x"), "write").idempotency(idempotency))
        .await;
    store.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn each_idempotency_retries_only_what_it_may() {
    use Idempotency::*;
    assert_eq!(count_attempts(503, Idempotent).await, 4);
    assert_eq!(count_attempts(429, Idempotent).await, 4);
    assert_eq!(count_attempts(400, Idempotent).await, 1);
    assert_eq!(count_attempts(503, RateLimitOnly).await, 1);
    assert_eq!(count_attempts(429, RateLimitOnly).await, 4);
    assert_eq!(count_attempts(429, Never).await, 1);
    assert_eq!(count_attempts(503, Never).await, 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_writes_since_nothing_was_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let err = service(3)
        .send(
            Request::post(Url::parse(&format!("http://{address}/x")).unwrap(), "write")
                .idempotency(Idempotency::RateLimitOnly),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Transient { detail, .. } if detail.contains("cannot connect")),
        "{err}"
    );
    assert_clean(&err);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_policy_allows_is_not_waited_for() {
    let store = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&store)
        .await;
    let err = service(5)
        .send(Request::get(url(&store, "/x"), "export"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ChannelError::RateLimited {
            store: "hq".into(),
            retry_after: Some(Duration::from_secs(3600))
        }
    );
    assert_eq!(store.received_requests().await.unwrap().len(), 1);
}

/// Keeps what an observer is shown: per attempt, the operation, the attempt number, the
/// request's query and headers, and the reply.
#[derive(Debug, Default)]
struct Captured(std::sync::Mutex<Vec<CapturedAttempt>>);

#[derive(Debug, Clone)]
struct CapturedAttempt {
    operation: String,
    attempt: u32,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    reply: Option<(u16, Vec<u8>, bool)>,
}

impl orderport_http::Observe for Captured {
    fn exchange(&self, exchange: &orderport_http::observe::Exchange<'_>) {
        use orderport_http::observe::Outcome;
        let request = exchange.request;
        let reply = match &exchange.outcome {
            Outcome::Reply(reply) => {
                Some((reply.status.as_u16(), reply.body.to_vec(), reply.complete))
            }
            _ => None,
        };
        self.0.lock().unwrap().push(CapturedAttempt {
            operation: exchange.operation.to_owned(),
            attempt: exchange.attempt,
            query: request.url().query_pairs().into_owned().collect(),
            headers: request
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect(),
            body: request
                .body()
                .and_then(|b| b.as_bytes())
                .map(<[u8]>::to_vec),
            reply,
        });
    }
}

#[tokio::test]
async fn an_observer_sees_every_attempt_as_sent_and_every_reply_as_read() {
    let store = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&store)
        .await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<Orders/>"))
        .mount(&store)
        .await;
    Mock::given(path("/broken"))
        .respond_with(ResponseTemplate::new(500).set_body_string("x".repeat(5000)))
        .mount(&store)
        .await;
    let captured = std::sync::Arc::new(Captured::default());
    let client = HttpClient::new().unwrap().with_observer(captured.clone());
    let service = HttpService::new(client, "hq", auth(), settings(2));
    let reply = service
        .send(
            Request::post(url(&store, "/busy?action=export"), "export")
                .body(b"<Ask/>".to_vec(), "application/xml"),
        )
        .await
        .unwrap();
    assert_eq!(reply.body, b"<Orders/>");
    let err = service
        .send(Request::get(url(&store, "/broken"), "detail").idempotency(Idempotency::Never))
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Transient { .. }), "{err:?}");

    let seen = captured.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    // The 429 and the retry that succeeded, each as sent: credentials included.
    for (i, attempt) in seen[..2].iter().enumerate() {
        assert_eq!(attempt.operation, "export");
        assert_eq!(attempt.attempt, i as u32 + 1);
        assert!(attempt
            .query
            .contains(&("SS-Password".to_owned(), PASSWORD.to_owned())));
        assert!(attempt
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v.starts_with("Basic ")));
        assert!(attempt
            .headers
            .contains(&("content-type".to_owned(), "application/xml".to_owned())));
        assert_eq!(attempt.body.as_deref(), Some(&b"<Ask/>"[..]));
    }
    assert_eq!(seen[0].reply, Some((429, Vec::new(), true)));
    assert_eq!(seen[1].reply, Some((200, b"<Orders/>".to_vec(), true)));
    // A failure's body is read for its first KiB only, and said to be cut.
    let (status, body, complete) = seen[2].reply.clone().unwrap();
    assert_eq!((status, body.len(), complete), (500, 1024, false));
}

#[tokio::test]
async fn an_observer_hears_of_an_attempt_that_got_no_reply() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let captured = std::sync::Arc::new(Captured::default());
    let client = HttpClient::new().unwrap().with_observer(captured.clone());
    let service = HttpService::new(client, "hq", auth(), settings(1));
    let target = Url::parse(&format!("http://127.0.0.1:{port}/ss")).unwrap();
    assert!(service.send(Request::get(target, "export")).await.is_err());
    let seen = captured.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].reply.is_none());
}
