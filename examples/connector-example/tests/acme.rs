//! The example connector's own unit tests, besides the conformance suite: what the fixtures do
//! not show (configuration errors by field, a host-supplied client, a reply without its page
//! count, a page count over the limit, an order id that needs escaping in a URL).

use futures::TryStreamExt;
use orderport_connector_example::{connect, connect_with, SPEC};
use orderport_core::{
    pages, ChannelError, OrderRef, Page, SellingChannel, ShipmentKind, ShipmentScope,
    ShipmentUpdate, StoreConfig, StoresFile, TimeWindow,
};
use orderport_http::HttpClient;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "fixture-acme-token";

fn store(
    url: &str,
    extra: &str,
    secrets: &str,
) -> Result<StoreConfig, orderport_core::ConfigError> {
    let text = format!(
        "[[store]]\nid = \"acme-test\"\nname = \"Acme Test\"\nchannel = \"acme-market\"\n\
         url = \"{url}\"\nretry_base_delay_ms = 10\n{extra}\n[store.secrets]\n{secrets}\n"
    );
    StoresFile::parse(&text, &|_| None).map(|mut file| file.stores.remove(0))
}

fn good(url: &str) -> StoreConfig {
    store(url, "", &format!("access_token = \"{TOKEN}\"")).unwrap()
}

async fn walk(channel: &dyn SellingChannel) -> Result<Vec<Page>, ChannelError> {
    let window = TimeWindow::new(
        "2026-03-01T00:00:00Z".parse().unwrap(),
        "2026-03-02T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    pages(channel, window).try_collect().await
}

#[test]
fn connect_checks_the_store_by_field() {
    let url = "https://api.acme.example";
    let token = format!("access_token = \"{TOKEN}\"");
    assert!(connect(&good(url)).is_ok());
    for (url, extra, secrets, field) in [
        (url, "page_size = 10", token.as_str(), "page_size"),
        (url, "retry_max_attempts = 0", &token, "retry_max_attempts"),
        (
            url,
            "request_timeout_secs = \"30\"",
            &token,
            "request_timeout_secs",
        ),
        (url, "", "", "secrets.access_token"),
        (url, "", "access_token = \" \"", "secrets.access_token"),
        (
            url,
            "",
            "consumer_key = \"fixture-x\"\naccess_token = \"fixture-y\"",
            "secrets.consumer_key",
        ),
        ("ftp://acme.example", "", &token, "url"),
        ("http://acme.example", "", &token, "url"),
    ] {
        let error = connect(&store(url, extra, secrets).unwrap()).err().unwrap();
        assert_eq!(error.field, field, "{extra} {secrets}: {error}");
        assert!(!error.to_string().contains("fixture-y"), "{error}");
    }
    let insecure = store("http://acme.example", "allow_insecure_http = true", &token).unwrap();
    assert!(connect(&insecure).is_ok());
    let mut other = good(url);
    other.channel = "spark-shipping".into();
    assert_eq!(connect(&other).err().unwrap().field, "channel");
    assert_eq!(SPEC.id, "acme-market");
}

#[tokio::test]
async fn a_host_supplied_client_sends_the_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/ping"))
        .and(header("x-host-platform", "shipping"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-host-platform", "shipping".parse().unwrap());
    let client = orderport_http::client_builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let channel = connect_with(&good(&server.uri()), &HttpClient::from_reqwest(client)).unwrap();
    channel.check_connection().await.unwrap();
}

#[tokio::test]
async fn a_page_without_its_page_count_is_a_protocol_error_not_the_last_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&good(&server.uri())).unwrap();
    let error = walk(channel.as_ref()).await.unwrap_err();
    assert!(matches!(error, ChannelError::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("X-Total-Pages"), "{error}");
}

#[tokio::test]
async fn a_page_count_over_the_limit_fails_before_the_next_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .insert_header("x-total-pages", "5000"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let config = store(
        &server.uri(),
        "max_pages_per_window = 100",
        &format!("access_token = \"{TOKEN}\""),
    );
    let channel = connect(&config.unwrap()).unwrap();
    let error = walk(channel.as_ref()).await.unwrap_err();
    assert!(
        error.to_string().contains("max_pages_per_window = 100"),
        "{error}"
    );
}

#[tokio::test]
async fn an_order_id_is_one_escaped_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/orders/A-1001%2FB/fulfillments"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let channel = connect(&good(&server.uri())).unwrap();
    let update = ShipmentUpdate {
        order: OrderRef {
            external_id: Some("A-1001/B".into()),
            order_number: "1001".into(),
        },
        carrier: "UPS".into(),
        service: None,
        tracking_number: "1Z0000000000001001".into(),
        ship_date: "2026-03-02".parse().unwrap(),
        label_created_at: None,
        shipping_cost: None,
        notes_to_buyer: None,
        notify_customer: false,
        scope: ShipmentScope::Complete(Vec::new()),
        kind: ShipmentKind::MarkedShipped,
    };
    channel.push_shipment(&update).await.unwrap();
}
