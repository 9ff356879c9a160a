//! Checks against hostile servers, run on loopback for every connector: what a broken or
//! malicious endpoint can do beyond what the channel documents.
//!
//! Each check takes the store of the connector's `bad-credentials` scenario (a fetch) or
//! `shipment-full` scenario (a push), points it at its own mock server, and proves:
//!
//! - [`check_redirects`]: a `302` or `307` to another host is an error naming that host
//!   (`ChannelError::Redirected`), not followed (the other host receives nothing), never
//!   retried, and no request carries a `Referer`;
//! - [`check_echoed_secrets`]: a reply echoing the whole request (URL and headers) with any
//!   status puts none of the store's secrets into the error, raw, URL-encoded or base64;
//! - [`check_insecure_http`]: plain `http://` to a host that is not loopback is refused when
//!   the channel is built, unless the store sets `allow_insecure_http = true`;
//! - [`check_body_limit`]: a reply over `max_response_bytes` is a protocol error.

use base64::Engine as _;
use orderport_core::{pages, ChannelError, SellingChannel, StoreConfig};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::conformance::{CheckResult, Connector, Failures};
use crate::scenario::Scenario;

/// The required scenario whose store the fetch checks use.
const FETCH_TEMPLATE: &str = "bad-credentials";
/// The required scenario whose store and shipment the push checks use.
const PUSH_TEMPLATE: &str = "shipment-full";

/// Settings every check adds: one quick attempt, a small reply limit.
fn overrides(extra: &[(&str, toml::Value)]) -> toml::Table {
    let mut table = toml::Table::new();
    table.insert("retry_max_attempts".into(), toml::Value::Integer(1));
    table.insert("request_timeout_secs".into(), toml::Value::Integer(5));
    for (key, value) in extra {
        table.insert((*key).to_owned(), value.clone());
    }
    table
}

fn template(connector: &Connector, check: &str, name: &str) -> Result<Scenario, Failures> {
    Scenario::load(&connector.fixtures.join(name)).map_err(|e| Failures::one(check, e.to_string()))
}

fn connect(
    connector: &Connector,
    scenario: &Scenario,
    base: &str,
    extra: &[(&str, toml::Value)],
) -> Result<(StoreConfig, Box<dyn SellingChannel>), String> {
    let store = scenario
        .store_config(base, &overrides(extra))
        .map_err(|e| e.to_string())?;
    let channel = (connector.connect)(&store)
        .map_err(|e| format!("connect refused the {} store: {e}", scenario.name))?;
    Ok((store, channel))
}

/// How long one call may take against a hostile server before the check fails.
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the channel does with one call of the scenario's kind, failing (as a `Transient` error
/// saying so) when it takes longer than [`CALL_TIMEOUT`].
async fn call(channel: &dyn SellingChannel, scenario: &Scenario) -> Result<(), ChannelError> {
    tokio::time::timeout(CALL_TIMEOUT, call_once(channel, scenario))
        .await
        .unwrap_or_else(|_| {
            Err(ChannelError::Transient {
                store: channel.store().id.clone(),
                detail: format!(
                    "the call did not finish within {}s against a hostile server",
                    CALL_TIMEOUT.as_secs()
                ),
            })
        })
}

async fn call_once(channel: &dyn SellingChannel, scenario: &Scenario) -> Result<(), ChannelError> {
    if let Some(update) = &scenario.shipment {
        return channel.push_shipment(update).await;
    }
    let Some(window) = scenario.window else {
        return channel.check_connection().await;
    };
    let mut walk = std::pin::pin!(pages(channel, window));
    while let Some(page) = futures::StreamExt::next(&mut walk).await {
        page?;
    }
    Ok(())
}

/// The store's secrets in every spelling a reply could echo them in.
fn spellings(store: &StoreConfig) -> Vec<String> {
    use secrecy::ExposeSecret;
    let mut out = Vec::new();
    for (_, secret) in store.secrets.iter() {
        let raw = secret.expose_secret();
        if raw.is_empty() {
            continue;
        }
        let form: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        out.push(raw.to_owned());
        out.push(form.replace('+', "%20"));
        out.push(form);
        out.push(base64::engine::general_purpose::STANDARD.encode(raw));
        if let Some(user) = &store.username {
            out.push(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{raw}")));
        }
    }
    out
}

/// Redirects run for the fetch and the push template, with `302` and `307`.
pub async fn check_redirects(connector: &Connector) -> CheckResult {
    let mut failures = Failures::default();
    for name in [FETCH_TEMPLATE, PUSH_TEMPLATE] {
        let scenario = template(connector, "redirects", name)?;
        for status in [302u16, 307] {
            if let Err(e) = redirect_once(connector, &scenario, status).await {
                failures.add("redirects", format!("{status} ({name}): {e}"));
            }
        }
    }
    failures.into_result()
}

async fn redirect_once(
    connector: &Connector,
    scenario: &Scenario,
    status: u16,
) -> Result<(), String> {
    let store = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("Location", format!("{}/collect", elsewhere.uri())),
        )
        .mount(&store)
        .await;
    let (_, channel) = connect(connector, scenario, &store.uri(), &[])?;
    let result = call(channel.as_ref(), scenario).await;
    let target = elsewhere.address().to_string();
    let reached = elsewhere.received_requests().await.unwrap_or_default();
    if !reached.is_empty() {
        return Err(format!(
            "the redirect was followed: {} request(s) reached the other host",
            reached.len()
        ));
    }
    let seen = store.received_requests().await.unwrap_or_default();
    if seen.iter().any(|r| r.headers.contains_key("referer")) {
        return Err("a request carried a Referer header".into());
    }
    if seen.len() != 1 {
        return Err(format!(
            "a redirect must not be retried, yet {} requests were made",
            seen.len()
        ));
    }
    match result {
        Err(ChannelError::Redirected { target: named, .. }) if named == target => Ok(()),
        Err(ChannelError::Redirected { target: named, .. }) => Err(format!(
            "the error names {named:?}, not the redirect's host {target:?}"
        )),
        other => Err(format!("expected ChannelError::Redirected, got {other:?}")),
    }
}

/// Answers with the request itself: URL and every header, as an error page might.
struct Echo(u16);

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let body = format!(
            "<html><body><h1>Error</h1><p>{} {}</p><pre>{}</pre><p>{}</p></body></html>",
            request.method,
            request.url,
            headers.join("\n"),
            String::from_utf8_lossy(&request.body)
        );
        ResponseTemplate::new(self.0)
            .insert_header("content-type", "text/html")
            .set_body_string(body)
    }
}

/// Echoing replies with `200`, `400`, `401`, `403`, `404`, `409`, `429` and `500`.
pub async fn check_echoed_secrets(connector: &Connector) -> CheckResult {
    let mut failures = Failures::default();
    for name in [FETCH_TEMPLATE, PUSH_TEMPLATE] {
        let scenario = template(connector, "echoed-secrets", name)?;
        for status in [200u16, 400, 401, 403, 404, 409, 429, 500] {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(Echo(status))
                .mount(&server)
                .await;
            let (store, channel) = match connect(connector, &scenario, &server.uri(), &[]) {
                Ok(pair) => pair,
                Err(e) => {
                    failures.add("echoed-secrets", e);
                    continue;
                }
            };
            let Err(error) = call(channel.as_ref(), &scenario).await else {
                // A 200 may be success (a connection check); whether an HTML page is data is
                // check_html_error's question. Any other status must fail the call.
                if status != 200 {
                    failures.add(
                        "echoed-secrets",
                        format!("{status} ({name}): the call succeeded on an echoed request"),
                    );
                }
                continue;
            };
            let shown = [error.to_string(), format!("{error:?}")];
            for spelling in spellings(&store) {
                if shown.iter().any(|text| text.contains(&spelling)) {
                    failures.add(
                        "echoed-secrets",
                        format!(
                            "{status} ({name}): a secret ({} characters in one spelling) is in the error",
                            spelling.len()
                        ),
                    );
                }
            }
        }
    }
    failures.into_result()
}

/// Plain http to a remote host is refused unless allowed.
pub async fn check_insecure_http(connector: &Connector) -> CheckResult {
    let check = "insecure-http";
    let scenario = template(connector, check, FETCH_TEMPLATE)?;
    let remote = "http://orderport-insecure.example";
    let mut failures = Failures::default();
    match connect(connector, &scenario, remote, &[]) {
        Ok(_) => failures.add(
            check,
            format!("a store at {remote} (plain http, not loopback) was accepted without allow_insecure_http"),
        ),
        Err(e) if !e.contains("allow_insecure_http") => failures.add(
            check,
            format!("refusing plain http must say how to allow it (allow_insecure_http): {e}"),
        ),
        Err(_) => {}
    }
    if let Err(e) = connect(
        connector,
        &scenario,
        remote,
        &[("allow_insecure_http", toml::Value::Boolean(true))],
    ) {
        failures.add(
            check,
            format!("allow_insecure_http = true must allow plain http: {e}"),
        );
    }
    failures.into_result()
}

/// A `200` reply of 64 KiB against `max_response_bytes = 4096`.
pub async fn check_body_limit(connector: &Connector) -> CheckResult {
    let check = "body-limit";
    let scenario = template(connector, check, FETCH_TEMPLATE)?;
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b' '; 64 * 1024]))
        .mount(&server)
        .await;
    let (_, channel) = connect(
        connector,
        &scenario,
        &server.uri(),
        &[("max_response_bytes", toml::Value::Integer(4096))],
    )
    .map_err(|e| Failures::one(check, e))?;
    match call(channel.as_ref(), &scenario).await {
        Err(ChannelError::Protocol { detail, .. }) if detail.contains("max_response_bytes") => {
            Ok(())
        }
        other => Err(Failures::one(
            check,
            format!("a 64 KiB reply over max_response_bytes = 4096 must be a protocol error naming the setting, got {other:?}"),
        )),
    }
}
