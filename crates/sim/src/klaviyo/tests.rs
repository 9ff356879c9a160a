use serde_json::json;

use super::*;

fn event(unique_id: &str) -> Value {
    json!({"type": "event", "attributes": {
        "properties": {"OrderNumber": "1001"},
        "unique_id": unique_id,
        "metric": {"data": {"type": "metric", "attributes": {"name": "Order Shipped"}}},
    }})
}

#[test]
fn bulk_jobs_unpack_into_create_event_shapes_with_the_group_profile() {
    let job = json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": [
        {"type": "event-bulk-create", "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"email": "a@example.com"}}},
            "events": {"data": [event("u1"), event("u2")]},
            "backfill": true
        }}
    ]}}}});
    let events = bulk_events(&job).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]["attributes"]["profile"]["data"]["attributes"]["email"],
        "a@example.com"
    );
    assert_eq!(events[1]["attributes"]["unique_id"], "u2");
    assert_eq!(events[0]["attributes"]["backfill"], true);
}

#[test]
fn events_without_a_metric_properties_or_profile_identifier_are_refused() {
    let mut single = json!({"data": event("u")});
    assert!(single_event(&single).is_err(), "no profile");
    single["data"]["attributes"]["profile"] =
        json!({"data": {"type": "profile", "attributes": {"phone_number": "+15005550006"}}});
    assert!(single_event(&single).is_ok());
    let mut no_metric = single.clone();
    no_metric["data"]["attributes"]["metric"] = json!({});
    assert!(single_event(&no_metric).is_err());
    let mut no_properties = single.clone();
    no_properties["data"]["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("properties");
    assert!(single_event(&no_properties).is_err());
    let mut wrong_type = single.clone();
    wrong_type["data"]["type"] = json!("metric");
    assert!(single_event(&wrong_type).is_err());
}

#[test]
fn a_bulk_job_of_more_than_a_thousand_events_is_refused() {
    let events: Vec<Value> = (0..1001).map(|i| event(&i.to_string())).collect();
    let job = json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": [
        {"type": "event-bulk-create", "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"external_id": "c-1"}}},
            "events": {"data": events}
        }}
    ]}}}});
    let reply = bulk_events(&job).unwrap_err();
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}
