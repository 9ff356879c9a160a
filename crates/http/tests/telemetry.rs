//! Telemetry of the HTTP layer: the `http.request` span's fields and the request metrics, as a
//! host's subscriber and recorder see them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use orderport_core::RetryPolicy;
use orderport_http::telemetry::{REQUEST_SECONDS, RETRIES};
use orderport_http::{Auth, HttpClient, HttpService, HttpSettings, Idempotency, Request};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The fields of every span named `http.request`, as recorded.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<BTreeMap<u64, BTreeMap<String, String>>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "http.request" {
            let mut fields = BTreeMap::new();
            attrs.record(&mut Fields(&mut fields));
            self.0.lock().unwrap().insert(id.into_u64(), fields);
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
}

#[test]
fn a_request_is_one_span_with_its_channel_store_status_and_attempts_and_metrics_per_attempt() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&server)
            .await;
        server
    });
    let service = HttpService::new(
        HttpClient::new().unwrap(),
        "spark-hq",
        Auth::none(),
        HttpSettings {
            request_timeout: Duration::from_secs(5),
            max_response_bytes: 4096,
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
        },
    )
    .with_channel("spark-shipping");
    let url = Url::parse(&server.uri()).unwrap();

    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let (reply, attempts) = tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(
                service
                    .send_counted(Request::get(url, "export").idempotency(Idempotency::Idempotent)),
            )
        })
    });
    assert_eq!(reply.unwrap().status.as_u16(), 200);
    assert_eq!(attempts, 2);

    let spans = spans.0.lock().unwrap().clone();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let fields = spans.values().next().unwrap();
    assert_eq!(fields["channel"], "spark-shipping");
    assert_eq!(fields["store"], "spark-hq");
    assert_eq!(fields["operation"], "export");
    assert_eq!(fields["status"], "200");
    assert_eq!(fields["attempts"], "2");

    let mut durations: BTreeMap<String, usize> = BTreeMap::new();
    let mut retries = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let labels: BTreeMap<&str, &str> =
            key.key().labels().map(|l| (l.key(), l.value())).collect();
        assert_eq!(labels["channel"], "spark-shipping");
        match (key.key().name(), value) {
            (REQUEST_SECONDS, DebugValue::Histogram(values)) => {
                assert!(values.iter().all(|v| v.into_inner() >= 0.0));
                *durations.entry(labels["status"].to_owned()).or_default() += values.len();
            }
            (RETRIES, DebugValue::Counter(n)) => retries += n,
            other => panic!("unexpected metric {other:?}"),
        }
    }
    assert_eq!(
        durations,
        BTreeMap::from([("200".to_owned(), 1), ("503".to_owned(), 1)])
    );
    assert_eq!(retries, 1);
    drop(server);
}
