//! How many times a request and a page are tried, through the real connectors: the HTTP layer
//! retries each request up to `retry_max_attempts`; the engine tries each page once per run.
//! And every request, detail fetches and retries included, waits on the credential's pacer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use orderport::layer::{connect_layered, Layer};
use orderport::{HttpClient, SellingChannel, StoreConfig, StoresFile};
use orderport_http::Pace;
use orderport_sync::{
    split_sync_settings, CancellationToken, ManualClock, SqliteState, SyncEngine, SyncError,
};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ATTEMPTS: u32 = 3;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

fn store(text: &str) -> StoreConfig {
    StoresFile::parse(text, &|_| None).unwrap().stores.remove(0)
}

/// Counts the requests that waited on it.
#[derive(Debug, Default)]
struct CountingPacer(AtomicUsize);

#[async_trait]
impl Pace for CountingPacer {
    async fn wait(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A layer giving every store's client the counting pacer.
struct Counting(Arc<CountingPacer>);

impl Layer for Counting {
    fn wrap_client(&self, _: &StoreConfig, client: HttpClient) -> HttpClient {
        client.with_pacer(self.0.clone())
    }
}

/// Runs the store's first sync (a one-day history, one slice) and returns its result.
async fn first_sync(config: &StoreConfig, pacer: &Arc<CountingPacer>) -> Result<(), SyncError> {
    let (for_connector, setup) = split_sync_settings(config).unwrap();
    let channel: Box<dyn SellingChannel> = connect_layered(
        &for_connector,
        &HttpClient::new().unwrap(),
        &[&Counting(pacer.clone())],
    )
    .unwrap();
    let sync = setup.resolve(channel.spec()).unwrap();
    let engine = SyncEngine::new(Arc::new(SqliteState::in_memory().unwrap()))
        .with_clock(Arc::new(ManualClock::new(now())));
    engine
        .run_store(channel.as_ref(), &sync, &CancellationToken::new())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_custom_store_page_is_requested_retry_max_attempts_times_in_one_run() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(u64::from(ATTEMPTS))
        .mount(&server)
        .await;
    let config = store(&format!(
        "[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"spark-shipping\"\nurl = \"{}/ss\"\n\
         username = \"u\"\npassword = \"p\"\nretry_max_attempts = {ATTEMPTS}\n\
         retry_base_delay_ms = 1\nretry_max_delay_ms = 5\nsync_history = \"1d\"\n",
        server.uri()
    ));
    let pacer = Arc::new(CountingPacer::default());
    let err = first_sync(&config, &pacer).await.unwrap_err();
    assert!(matches!(err, SyncError::Channel { .. }), "{err}");
    // One page, tried once by the engine, its request tried ATTEMPTS times by the HTTP layer,
    // every attempt paced.
    assert_eq!(pacer.0.load(Ordering::SeqCst), ATTEMPTS as usize);
}

#[tokio::test]
async fn an_order_time_page_tries_its_list_and_each_detail_fetch_up_to_retry_max_attempts() {
    let server = MockServer::start().await;
    let row = |doc: u32| json!({"DocNo": doc, "RecordInfo": {"ModifiedDate": "2026-03-02T08:00:00"}, "StatusRef": {"Name": "paid"}});
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row(1), row(2)])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "DocNo": 1, "DocDate": "2026-03-02T07:00:00", "StatusRef": {"Name": "paid"},
            "RecordInfo": {"ModifiedDate": "2026-03-02T08:00:00"},
            "ShipAddress": {"Contact": "Ada", "Addr1": "1 Main St", "City": "Denver",
                            "State": "CO", "Zip": "80202", "Country": "US"},
            "LineItems": [{"ItemRef": {"Name": "SKU-1"}, "Quantity": 1, "Price": 10}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "2"))
        .respond_with(ResponseTemplate::new(503))
        .expect(u64::from(ATTEMPTS))
        .mount(&server)
        .await;
    let config = store(&format!(
        "[[store]]\nid = \"ot\"\nname = \"OT\"\nchannel = \"order-time\"\nurl = \"{}/api\"\n\
         username = \"a@example.com\"\napi_key = \"k\"\npassword = \"p\"\n\
         retry_max_attempts = {ATTEMPTS}\nretry_base_delay_ms = 1\nretry_max_delay_ms = 5\n\
         fetch_concurrency = 1\nsync_history = \"1d\"\n",
        server.uri()
    ));
    let pacer = Arc::new(CountingPacer::default());
    let err = first_sync(&config, &pacer).await.unwrap_err();
    assert!(matches!(err, SyncError::Channel { .. }), "{err}");
    // The list once, doc 1 once, doc 2 ATTEMPTS times: every request paced, details included.
    assert_eq!(pacer.0.load(Ordering::SeqCst), 2 + ATTEMPTS as usize);
}
