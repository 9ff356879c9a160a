//! Delivery against `KlaviyoSim` (recording, deduplicating, faulting) and wiremock (exact
//! status codes and headers). Every request body sent is validated against the published
//! schemas.

use std::time::{Duration, Instant};

use orderport_core::CanonicalStatus;
use orderport_klaviyo::{KlaviyoConfig, KlaviyoSink, SkipReason, MAX_PAYLOAD_BYTES, REVISION};
use orderport_sim::{Faults, KlaviyoSim};
use orderport_sync::OutboxEvent;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::*;
use crate::schema::BodySchema;

const SINGLE: &str = "/api/events";
const BULK: &str = "/api/event-bulk-create-jobs";

async fn sim(faults: Faults) -> KlaviyoSim {
    KlaviyoSim::start(faults, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator starts")
}

fn sink(config: KlaviyoConfig) -> KlaviyoSink {
    KlaviyoSink::new(config).expect("sink")
}

/// Validates every body the simulator accepted; returns (single bodies, bulk bodies).
fn checked(payloads: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let (create, bulk) = (BodySchema::create(), BodySchema::bulk());
    let mut out = (Vec::new(), Vec::new());
    for body in payloads {
        if body["data"]["type"] == "event" {
            create.check(body);
            out.0.push(body.clone());
        } else {
            bulk.check(body);
            out.1.push(body.clone());
        }
    }
    out
}

fn bulk_event_count(body: &Value) -> usize {
    body["data"]["attributes"]["events-bulk-create"]["data"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            g["attributes"]["events"]["data"]
                .as_array()
                .expect("events")
                .len()
        })
        .sum()
}

fn ids(events: &[OutboxEvent]) -> Vec<i64> {
    events.iter().map(OutboxEvent::id).collect()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

fn validate_wiremock_bodies(requests: &[Request]) {
    let (create, bulk) = (BodySchema::create(), BodySchema::bulk());
    for request in requests {
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        match request.url.path() {
            SINGLE => create.check(&body),
            BULK => bulk.check(&body),
            other => panic!("unexpected path {other}"),
        }
    }
}

#[tokio::test]
async fn an_empty_batch_sends_nothing() {
    let server = MockServer::start().await;
    let report = sink(config(&server.uri())).deliver(&[]).await;
    assert_eq!(report, Default::default());
    assert!(server
        .received_requests()
        .await
        .expect("recorded")
        .is_empty());
}

#[tokio::test]
async fn small_batches_use_create_event_one_request_each() {
    let klaviyo = sim(Faults::none()).await;
    let events = many(2);
    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(sorted(report.delivered.clone()), ids(&events));
    assert!(report.failed.is_empty() && report.skipped.is_empty());
    assert_eq!(report.requests, 2);
    let (single, bulk) = checked(&klaviyo.payloads());
    assert_eq!((single.len(), bulk.len()), (2, 0));
    assert_eq!(klaviyo.events().len(), 2);
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn larger_batches_use_one_bulk_job_grouped_by_profile_and_backfill() {
    let klaviyo = sim(Faults::none()).await;
    let mut events = many(3);
    // Same buyer for all three; one of them a backfill.
    for e in &mut events {
        e.order.customer.email = Some("same@example.com".into());
    }
    events[2].event.backfill = true;
    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(sorted(report.delivered.clone()), ids(&events));
    assert_eq!(report.requests, 1);
    let (single, bulk) = checked(&klaviyo.payloads());
    assert_eq!((single.len(), bulk.len()), (0, 1));
    let groups = bulk[0]["data"]["attributes"]["events-bulk-create"]["data"]
        .as_array()
        .expect("groups")
        .clone();
    assert_eq!(groups.len(), 2, "one group per (profile, backfill)");
    for g in &groups {
        let flag = &g["attributes"]["backfill"];
        for e in g["attributes"]["events"]["data"]
            .as_array()
            .expect("events")
        {
            assert_eq!(&e["attributes"]["backfill"], flag);
        }
    }
    let recorded = klaviyo.events();
    assert_eq!(recorded.len(), 3);
    let backfilled: Vec<_> = recorded
        .iter()
        .filter(|e| e["attributes"]["backfill"] == json!(true))
        .collect();
    assert_eq!(backfilled.len(), 1);
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn five_metrics_end_to_end_and_marked_shipped_counted_not_sent() {
    let klaviyo = sim(Faults::none()).await;
    let o = order("1001");
    let mut events: Vec<OutboxEvent> = CanonicalStatus::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| sink_event(i as i64 + 1, &o, *s))
        .collect();
    events[3].shipment = Some(ups()); // the labelled shipment
    let mut marked = sink_event(6, &order("1002"), CanonicalStatus::Shipped);
    marked.event.label = false;
    events.push(marked);
    let mut anonymous = order("1003");
    anonymous.customer = Default::default();
    events.push(sink_event(7, &anonymous, CanonicalStatus::AwaitingShipment));

    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(sorted(report.delivered.clone()), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        report.skipped,
        vec![(6, SkipReason::NotALabel), (7, SkipReason::Unattributable)]
    );
    assert_eq!(report.skip_counts().get("not_a_label"), Some(&1));
    assert_eq!(report.skip_counts().get("unattributable"), Some(&1));
    checked(&klaviyo.payloads());
    let mut names: Vec<String> = klaviyo
        .events()
        .iter()
        .map(|e| {
            e["attributes"]["metric"]["data"]["attributes"]["name"]
                .as_str()
                .expect("name")
                .to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Order Awaiting Payment",
            "Order Awaiting Shipment",
            "Order Cancelled",
            "Order On Hold",
            "Order Shipped"
        ]
    );
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn re_running_a_delivery_records_nothing_twice() {
    let klaviyo = sim(Faults::none()).await;
    let events = many(5);
    let first = sink(config(&klaviyo.url())).deliver(&events).await;
    // A new sink, as a new process would build after a crash before the outbox was updated.
    let second = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(sorted(first.delivered), ids(&events));
    assert_eq!(sorted(second.delivered), ids(&events));
    assert_eq!(klaviyo.payloads().len(), 2, "both runs were sent");
    assert_eq!(klaviyo.events().len(), 5, "but recorded once");
    let ids_first: Vec<Value> = klaviyo.payloads()[0]["data"]["attributes"]["events-bulk-create"]
        ["data"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| {
            g["attributes"]["events"]["data"]
                .as_array()
                .expect("events")
                .clone()
        })
        .map(|e| e["attributes"]["unique_id"].clone())
        .collect();
    assert!(ids_first
        .iter()
        .all(|id| id.as_str().is_some_and(|s| s.starts_with("op1-"))));
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn the_same_change_twice_in_a_batch_is_sent_once_and_both_ids_delivered() {
    let klaviyo = sim(Faults::none()).await;
    let mut events = many(3);
    let mut twin = events[0].clone();
    twin.event.id = 99;
    events.push(twin);
    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(sorted(report.delivered), vec![1, 2, 3, 99]);
    let (_, bulk) = checked(&klaviyo.payloads());
    assert_eq!(bulk_event_count(&bulk[0]), 3);
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn bulk_jobs_split_at_1000_events() {
    let klaviyo = sim(Faults::none()).await;
    let events = many(2500);
    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(report.delivered.len(), 2500);
    assert!(report.failed.is_empty());
    let (single, bulk) = checked(&klaviyo.payloads());
    assert!(single.is_empty());
    let counts: Vec<usize> = bulk.iter().map(bulk_event_count).collect();
    assert_eq!(counts, [1000, 1000, 500]);
    assert_eq!(klaviyo.events().len(), 2500);
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn bulk_jobs_split_at_5_mb() {
    let klaviyo = sim(Faults::none()).await;
    // 120 events of ~90 KB each: ~10.8 MB, far under 1,000 events.
    let events: Vec<OutboxEvent> = (0..120)
        .map(|i| {
            let mut o = order(&format!("{}", 5000 + i));
            o.items[0].name = format!("{i}-{}", "w".repeat(90 * 1024));
            sink_event(i + 1, &o, CanonicalStatus::AwaitingShipment)
        })
        .collect();
    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(report.delivered.len(), 120, "{:?}", report.failed.first());
    let payloads = klaviyo.payloads();
    assert!(payloads.len() >= 3, "{} jobs", payloads.len());
    for body in &payloads {
        let size = serde_json::to_vec(body).expect("json").len();
        assert!(size <= MAX_PAYLOAD_BYTES, "{size} bytes");
    }
    let total: usize = payloads.iter().map(bulk_event_count).sum();
    assert_eq!(total, 120);
    checked(&payloads);
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn rate_limited_requests_wait_for_retry_after() {
    let klaviyo = sim(Faults {
        rate_limit_every: 2,
        retry_after_secs: 1,
        ..Faults::none()
    })
    .await;
    let events = many(2); // two single requests: the second is throttled once
    let started = Instant::now();
    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(sorted(report.delivered.clone()), ids(&events));
    assert_eq!(report.requests, 3);
    assert_eq!(klaviyo.request_count(), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(klaviyo.events().len(), 2);
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn service_unavailable_is_retried() {
    let klaviyo = sim(Faults {
        error_503_every: 1,
        ..Faults::none()
    })
    .await;
    let mut cfg = config(&klaviyo.url());
    cfg.http.retry.max_attempts = 2;
    let report = sink(cfg).deliver(&many(1)).await;
    assert!(report.delivered.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].1.contains("2 attempts"),
        "{}",
        report.failed[0].1
    );
    assert_eq!(klaviyo.request_count(), 2, "retried once, then gave up");
    klaviyo.shutdown().await;

    // Two single events: the second request gets a 503, its retry a 202.
    let klaviyo = sim(Faults {
        error_503_every: 2,
        ..Faults::none()
    })
    .await;
    let events = many(2);
    let report = sink(config(&klaviyo.url())).deliver(&events).await;
    assert_eq!(sorted(report.delivered), ids(&events));
    assert_eq!(report.requests, 3);
    assert_eq!(klaviyo.events().len(), 2);
    klaviyo.shutdown().await;
}

/// A mock answering each request with the next status of `statuses` (the last one repeats).
async fn scripted(server: &MockServer, route: &str, statuses: &[(u16, Option<&str>)]) {
    for (i, (status, retry_after)) in statuses.iter().enumerate() {
        let mut reply = ResponseTemplate::new(*status);
        if *status != 202 {
            reply = reply.set_body_raw(
                json!({"errors": [{"id": "e", "status": status, "code": "test", "title": "t", "detail": format!("scripted {status}")}]}).to_string(),
                "application/vnd.api+json",
            );
        }
        if let Some(secs) = retry_after {
            reply = reply.insert_header("Retry-After", *secs);
        }
        let mock = Mock::given(method("POST"))
            .and(path(route))
            .respond_with(reply);
        let mock = if i + 1 < statuses.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.with_priority(u8::try_from(i + 1).expect("few"))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn every_request_carries_the_pinned_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header(
            "authorization",
            format!("Klaviyo-API-Key {KEY}").as_str(),
        ))
        .and(header("revision", REVISION))
        .and(header("content-type", "application/vnd.api+json"))
        .and(header("accept", "application/vnd.api+json"))
        .respond_with(ResponseTemplate::new(202))
        .expect(2)
        .mount(&server)
        .await;
    let report = sink(config(&server.uri())).deliver(&many(1)).await;
    assert_eq!(report.delivered, vec![1]);
    let report = sink(config(&server.uri())).deliver(&many(3)).await;
    assert_eq!(report.delivered.len(), 3);
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests[0].url.path(), SINGLE);
    assert_eq!(requests[1].url.path(), BULK);
    validate_wiremock_bodies(&requests);
}

#[tokio::test]
async fn gateway_timeouts_are_retried_until_accepted() {
    let server = MockServer::start().await;
    scripted(&server, SINGLE, &[(504, None), (504, None), (202, None)]).await;
    let report = sink(config(&server.uri())).deliver(&many(1)).await;
    assert_eq!(report.delivered, vec![1]);
    assert_eq!(report.requests, 3);
    validate_wiremock_bodies(&server.received_requests().await.expect("recorded"));
}

#[tokio::test]
async fn a_429_waits_at_least_retry_after() {
    let server = MockServer::start().await;
    scripted(&server, BULK, &[(429, Some("1")), (202, None)]).await;
    let started = Instant::now();
    let report = sink(config(&server.uri())).deliver(&many(3)).await;
    assert_eq!(report.delivered.len(), 3);
    assert_eq!(report.requests, 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_fails_without_an_early_retry() {
    let server = MockServer::start().await;
    scripted(&server, SINGLE, &[(429, Some("3600"))]).await;
    let report = sink(config(&server.uri())).deliver(&many(1)).await;
    assert!(report.delivered.is_empty());
    assert_eq!(report.requests, 1);
    assert!(
        report.failed[0].1.contains("3600"),
        "{}",
        report.failed[0].1
    );
}

/// A single event answered 400 is refused for good: reported in `refused` with Klaviyo's
/// reason, not retried, not left pending.
#[tokio::test]
async fn a_400_to_a_single_event_refuses_it_for_good() {
    let server = MockServer::start().await;
    scripted(&server, SINGLE, &[(400, None)]).await;
    let report = sink(config(&server.uri())).deliver(&many(1)).await;
    assert!(report.delivered.is_empty() && report.failed.is_empty());
    assert_eq!(report.requests, 1);
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].0, 1);
    assert!(
        report.refused[0].1.contains("HTTP 400") && report.refused[0].1.contains("scripted 400"),
        "{}",
        report.refused[0].1
    );
}

/// Which answers to a single event refuse it for good (only what its content can cause) and
/// which leave it pending (the key, the URL, our content type, a timeout, a rate limit).
#[tokio::test]
async fn only_content_errors_refuse_an_event_for_good() {
    for (status, refused) in [
        (400, true),
        (409, true),
        (413, true),
        (422, true),
        (401, false),
        (403, false),
        (404, false),
        (405, false),
        (408, false),
        (410, false),
        (415, false),
    ] {
        let server = MockServer::start().await;
        scripted(&server, SINGLE, &[(status, None)]).await;
        let mut cfg = config(&server.uri());
        cfg.http.retry.max_attempts = 1;
        let report = sink(cfg).deliver(&many(1)).await;
        assert!(report.delivered.is_empty(), "HTTP {status}");
        assert_eq!(
            (report.refused.len(), report.failed.len()),
            if refused { (1, 0) } else { (0, 1) },
            "HTTP {status}: {report:?}"
        );
    }
}

/// A bulk job refused with a status that is not about its events (415: our content type) is
/// not split: every event fails and stays pending, none is refused.
#[tokio::test]
async fn a_bulk_job_refused_for_its_form_fails_every_event_and_refuses_none() {
    let server = MockServer::start().await;
    scripted(&server, BULK, &[(415, None)]).await;
    let events = many(4);
    let report = sink(config(&server.uri())).deliver(&events).await;
    assert!(report.refused.is_empty());
    assert_eq!(
        sorted(report.failed.iter().map(|f| f.0).collect()),
        ids(&events)
    );
    assert_eq!(report.requests, 1);
}

#[tokio::test]
async fn a_500_is_not_retried_and_stays_in_the_outbox() {
    let server = MockServer::start().await;
    scripted(&server, SINGLE, &[(500, None)]).await;
    let report = sink(config(&server.uri())).deliver(&many(1)).await;
    assert_eq!(report.requests, 1);
    assert_eq!(report.failed.len(), 1);
}

#[tokio::test]
async fn only_a_202_counts_as_delivered() {
    let server = MockServer::start().await;
    scripted(&server, SINGLE, &[(200, None)]).await;
    let report = sink(config(&server.uri())).deliver(&many(2)).await;
    assert!(report.delivered.is_empty());
    assert_eq!(report.failed.len(), 2);
    assert!(report.failed[0].1.contains("instead of 202"));
}

#[tokio::test]
async fn a_refused_bulk_job_is_resent_event_by_event_once() {
    let server = MockServer::start().await;
    scripted(&server, BULK, &[(400, None)]).await;
    // The second single event is refused, the others accepted.
    scripted(&server, SINGLE, &[(202, None), (400, None), (202, None)]).await;
    let events = many(3);
    let report = sink(config(&server.uri())).deliver(&events).await;
    assert_eq!(sorted(report.delivered), vec![1, 3]);
    // The event Klaviyo refused on its own is refused for good, the others are delivered.
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].0, 2);
    assert_eq!(
        report.requests, 4,
        "one bulk job, three single events, no retries"
    );
    validate_wiremock_bodies(&server.received_requests().await.expect("recorded"));
}

#[tokio::test]
async fn a_refused_key_stops_the_delivery_and_is_never_shown() {
    let server = MockServer::start().await;
    // A server that echoes the Authorization header into its error.
    Mock::given(method("POST"))
        .respond_with(|request: &Request| {
            let auth = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            ResponseTemplate::new(401).set_body_raw(
                json!({"errors": [{"code": "not_authenticated", "detail": format!("bad {auth}")}]})
                    .to_string(),
                "application/vnd.api+json",
            )
        })
        .mount(&server)
        .await;
    let events = many(2);
    let report = sink(config(&server.uri())).deliver(&events).await;
    assert_eq!(
        report.requests, 1,
        "nothing more is sent with a refused key"
    );
    assert_eq!(
        sorted(report.failed.iter().map(|f| f.0).collect()),
        ids(&events)
    );
    let text = format!("{report:?}");
    assert!(!text.contains(KEY), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

#[tokio::test]
async fn a_dead_endpoint_is_reported_without_the_key() {
    // Nothing listens on port 9 of loopback (discard); connection refused, retried, given up.
    let mut cfg = config("http://127.0.0.1:9");
    cfg.http.retry.max_attempts = 2;
    let report = sink(cfg).deliver(&many(1)).await;
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].1.contains("cannot connect"),
        "{}",
        report.failed[0].1
    );
    assert!(!format!("{report:?}").contains(KEY));
}
