//! The Klaviyo simulator over HTTP.

use orderport_sim::{Faults, KlaviyoSim};
use serde_json::{json, Value};

fn create_event(unique_id: &str) -> Value {
    json!({"data": {"type": "event", "attributes": {
        "properties": {"OrderNumber": "1001", "StoreName": "Sim"},
        "time": "2026-03-10T12:00:00+00:00",
        "value": 42.5,
        "unique_id": unique_id,
        "metric": {"data": {"type": "metric", "attributes": {"name": "Order Shipped"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "ada@example.com"}}}
    }}})
}

async fn post(
    url: &str,
    path: &str,
    body: &Value,
    auth: bool,
    revision: bool,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("content-type", "application/vnd.api+json")
        .body(body.to_string());
    if auth {
        request = request.header("Authorization", "Klaviyo-API-Key pk_sim");
    }
    if revision {
        request = request.header("revision", "2026-07-15");
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn events_are_accepted_with_202_recorded_and_deduplicated_by_unique_id() {
    let klaviyo = KlaviyoSim::start(Faults::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = klaviyo.url();
    let reply = post(
        &url,
        "/api/events",
        &create_event("ss:1:shipped"),
        true,
        true,
    )
    .await;
    assert_eq!(reply.status(), 202);
    assert_eq!(reply.text().await.unwrap(), "");
    // The same unique id again: accepted, not recorded twice.
    assert_eq!(
        post(
            &url,
            "/api/events",
            &create_event("ss:1:shipped"),
            true,
            true
        )
        .await
        .status(),
        202
    );
    let bulk = json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": [
        {"type": "event-bulk-create", "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"email": "grace@example.com"}}},
            "events": {"data": [
                {"type": "event", "attributes": {"properties": {}, "unique_id": "ss:2:shipped",
                    "metric": {"data": {"type": "metric", "attributes": {"name": "Order Shipped"}}}}},
                {"type": "event", "attributes": {"properties": {}, "unique_id": "ss:2:awaiting",
                    "metric": {"data": {"type": "metric", "attributes": {"name": "Order Awaiting Shipment"}}}}}
            ]}
        }}
    ]}}}});
    let reply = post(&url, "/api/event-bulk-create-jobs", &bulk, true, true).await;
    assert_eq!(reply.status(), 202);
    let job: Value = reply.json().await.unwrap();
    assert_eq!(job["data"]["type"], "event-bulk-create-job");
    let events = klaviyo.events();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["attributes"]["unique_id"], "ss:1:shipped");
    assert_eq!(
        events[2]["attributes"]["profile"]["data"]["attributes"]["email"],
        "grace@example.com"
    );
    assert_eq!(klaviyo.payloads().len(), 3);
    assert_eq!(klaviyo.request_count(), 3);
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn missing_headers_and_bad_bodies_are_refused_with_klaviyo_errors() {
    let klaviyo = KlaviyoSim::start(Faults::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = klaviyo.url();
    for (auth, revision) in [(false, true), (true, false)] {
        let reply = post(&url, "/api/events", &create_event("x"), auth, revision).await;
        assert_eq!(reply.status(), 400);
        let body: Value = reply.json().await.unwrap();
        assert!(body["errors"][0]["code"].is_string());
    }
    let reply = post(
        &url,
        "/api/events",
        &json!({"data": {"type": "event"}}),
        true,
        true,
    )
    .await;
    assert_eq!(reply.status(), 400);
    let wrong_type = reqwest::Client::new()
        .post(format!("{url}/api/events"))
        .header("Authorization", "Klaviyo-API-Key pk_sim")
        .header("revision", "2026-07-15")
        .header("content-type", "text/plain")
        .body(create_event("y").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    assert_eq!(
        post(&url, "/api/profiles", &json!({}), true, true)
            .await
            .status(),
        404
    );
    assert!(klaviyo.events().is_empty());
    klaviyo.shutdown().await;
}

#[tokio::test]
async fn faults_apply_before_anything_is_recorded() {
    let faults = Faults {
        rate_limit_every: 2,
        error_503_every: 3,
        ..Faults::default()
    };
    let klaviyo = KlaviyoSim::start(faults, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = klaviyo.url();
    let mut statuses = Vec::new();
    for i in 0..3 {
        let reply = post(
            &url,
            "/api/events",
            &create_event(&i.to_string()),
            true,
            true,
        )
        .await;
        if reply.status() == 429 {
            assert_eq!(reply.headers()["retry-after"], "1");
            let body: Value = reply.json().await.unwrap();
            assert_eq!(body["errors"][0]["code"], "throttled");
            statuses.push(429);
        } else {
            statuses.push(reply.status().as_u16());
        }
    }
    assert_eq!(statuses, [202, 429, 503]);
    assert_eq!(klaviyo.events().len(), 1);
    klaviyo.shutdown().await;
}
