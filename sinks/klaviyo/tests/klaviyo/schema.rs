//! Validators for request bodies, built from Klaviyo's published OpenAPI operations
//! (`fixtures/klaviyo/schema/`, revision 2026-07-15, MIT): the operation's requestBody schema,
//! with the document's `components` beside it so that its `$ref`s resolve.
//!
//! The published schemas leave objects open; to catch a misspelt attribute (`valueCurrency`)
//! we close every object schema that lists `properties` (`additionalProperties: false`). The
//! free-form objects (an event's `properties`, a profile's custom `properties`) list none and
//! stay open.

use std::path::PathBuf;

use serde_json::{json, Value};

fn load(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/klaviyo/schema")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("the OpenAPI document is JSON")
}

fn close(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("object")) && map.contains_key("properties") {
                map.entry("additionalProperties").or_insert(json!(false));
            }
            for value in map.values_mut() {
                close(value);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(close),
        _ => {}
    }
}

/// A validator for the request body of `operation` at `path` in `file`.
pub struct BodySchema {
    validator: jsonschema::Validator,
    name: &'static str,
}

impl BodySchema {
    fn new(file: &str, path: &str, name: &'static str, strict: bool) -> Self {
        let doc = load(file);
        let operation = &doc["paths"][path]["post"];
        assert_eq!(operation["requestBody"]["required"], json!(true));
        let mut root =
            operation["requestBody"]["content"]["application/vnd.api+json"]["schema"].clone();
        assert!(
            root["$ref"].is_string(),
            "{name}: the body schema is a $ref"
        );
        let mut components = doc["components"].clone();
        if strict {
            close(&mut components["schemas"]);
        }
        root["components"] = components;
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        Self { validator, name }
    }

    /// Create Event, strict.
    pub fn create() -> Self {
        Self::new("create_event.json", "/api/events", "create_event", true)
    }

    /// Bulk Create Events, strict.
    pub fn bulk() -> Self {
        Self::new(
            "bulk_create_events.json",
            "/api/event-bulk-create-jobs",
            "bulk_create_events",
            true,
        )
    }

    /// Create Event as published (objects open).
    pub fn create_as_published() -> Self {
        Self::new("create_event.json", "/api/events", "create_event", false)
    }

    /// The errors of `body`, one line each.
    pub fn errors(&self, body: &Value) -> Vec<String> {
        self.validator
            .iter_errors(body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    /// Panics with every error unless `body` is valid.
    pub fn check(&self, body: &Value) {
        let errors = self.errors(body);
        assert!(
            errors.is_empty(),
            "{} body is invalid:\n{}\n{body:#}",
            self.name,
            errors.join("\n")
        );
    }
}

#[test]
fn the_validators_catch_broken_bodies() {
    let create = BodySchema::create();
    let good = json!({"data": {"type": "event", "attributes": {
        "properties": {"OrderNumber": "1"},
        "time": "2026-03-07T12:30:00+00:00",
        "metric": {"data": {"type": "metric", "attributes": {"name": "Order Shipped"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.com"}}}
    }}});
    create.check(&good);
    create_as_published_also_accepts(&good);

    let mut no_metric = good.clone();
    no_metric["data"]["attributes"]
        .as_object_mut()
        .expect("object")
        .remove("metric");
    assert!(!create.errors(&no_metric).is_empty());

    let mut misspelt = good.clone();
    misspelt["data"]["attributes"]["valueCurrency"] = json!("USD");
    assert!(!create.errors(&misspelt).is_empty());

    let mut bad_time = good.clone();
    bad_time["data"]["attributes"]["time"] = json!("03/07/2026 12:30");
    assert!(!create.errors(&bad_time).is_empty());

    let mut string_value = good.clone();
    string_value["data"]["attributes"]["value"] = json!("25.50");
    assert!(!create.errors(&string_value).is_empty());

    let mut wrong_type = good;
    wrong_type["data"]["type"] = json!("events");
    assert!(!create.errors(&wrong_type).is_empty());

    let bulk = BodySchema::bulk();
    let job = json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": [
        {"type": "event-bulk-create", "attributes": {
            "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.com"}}},
            "events": {"data": [{"type": "event", "attributes": {
                "properties": {}, "backfill": true,
                "metric": {"data": {"type": "metric", "attributes": {"name": "Order Shipped"}}}}}]},
            "backfill": true}}]}}}});
    bulk.check(&job);
    let mut profile_in_event = job;
    profile_in_event["data"]["attributes"]["events-bulk-create"]["data"][0]["attributes"]
        ["events"]["data"][0]["attributes"]["profile"] = json!({"data": {}});
    assert!(!bulk.errors(&profile_in_event).is_empty());
}

fn create_as_published_also_accepts(body: &Value) {
    BodySchema::create_as_published().check(body);
}
