//! Sending a shipment back to Order Time.
//!
//! Order Time's REST API cannot set a ship doc's `TrackingNo` (the Ship Doc page marks it "PUT:
//! no"). The documented path is the Custom Store `shipnotify` call on the endpoint Order Time
//! hosts (`{base}/shipstation`, HTTP Basic with the e-mail and the API key), after which Order
//! Time sets the tracking number and marks the doc Shipped itself. Where the store configures
//! `shipped_status_ref` or `shipped_status_ref_id`, the doc's `StatusRef` is then also set through
//! REST: `GET /shipdoc?docNo=N`, change `StatusRef`, `PUT /shipdoc` with the whole record
//! (observed practice: "read first, then PUT").

use orderport_core::{ChannelError, ShipmentUpdate};
use reqwest::Method;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::api::Api;
use crate::reply::Operation;
use crate::settings::StatusRef;
use crate::ship_notice;

/// The `$type` Order Time requires on each line item written (Ship Doc page, documented).
pub const LINE_ITEM_TYPE: &str = "AOLib7.ShipDocLineItem, AOLib7";

/// Sends `update` with `shipnotify`, then sets the configured status, if any.
pub async fn push(api: &Api, update: &ShipmentUpdate) -> Result<(), ChannelError> {
    check(api.store(), update)?;
    let doc_no = doc_no(update);
    let xml = ship_notice::xml(api.store(), update)?;
    api.post_xml(
        shipnotify_url(api, update),
        xml,
        &Operation::shipnotify(&doc_no),
    )
    .await?;
    tracing::info!(store = %api.store(), doc_no = %doc_no, "shipment sent to Order Time");
    if let Some(status) = &api.settings().shipped_status {
        set_status(api, &doc_no, status).await?;
    }
    Ok(())
}

/// Refuses an update Order Time cannot take, before anything is sent: an invalid one, or a
/// partial shipment (a ship doc has one tracking number and shipnotify marks the whole doc
/// shipped; `SPEC` declares no partial shipments).
fn check(store: &str, update: &ShipmentUpdate) -> Result<(), ChannelError> {
    update
        .check_for(&crate::REST_SPEC)
        .map_err(|reason| ChannelError::InvalidShipment {
            store: store.to_owned(),
            reason,
        })
}

/// The ship doc number: the order's external id, which is its DocNo, or its order number.
fn doc_no(update: &ShipmentUpdate) -> String {
    update
        .order
        .external_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .unwrap_or(update.order.order_number.trim())
        .to_owned()
}

/// `{shipnotify_url}?action=shipnotify&order_number=..&carrier=..&service=..&tracking_number=..`.
fn shipnotify_url(api: &Api, update: &ShipmentUpdate) -> url::Url {
    let mut url = api.settings().shipnotify_url.clone();
    url.query_pairs_mut()
        .append_pair("action", "shipnotify")
        .extend_pairs(ship_notice::notice(update).query());
    url
}

/// Reads the ship doc, sets its `StatusRef`, and writes it back whole.
async fn set_status(api: &Api, doc_no: &str, status: &StatusRef) -> Result<(), ChannelError> {
    let mut url = api.endpoint("shipdoc")?;
    url.query_pairs_mut().append_pair("docNo", doc_no);
    let record = api.get_json(url, &Operation::get(doc_no)).await?;
    let Value::Object(record) = record else {
        return Err(ChannelError::protocol(
            api.store(),
            format!("get ship doc {doc_no} answered with something other than a ship doc object"),
            record.to_string().as_bytes(),
        ));
    };
    let updated = with_status(record, status);
    api.json(
        Method::PUT,
        api.endpoint("shipdoc")?,
        Some(&SortedKeys(&updated)),
        &Operation::update_status(doc_no),
    )
    .await?;
    tracing::info!(store = %api.store(), doc_no = %doc_no, "ship doc status updated");
    Ok(())
}

/// The record with `StatusRef` replaced and `$type` on every line item that lacks it.
pub fn with_status(mut record: Map<String, Value>, status: &StatusRef) -> Value {
    let mut reference = Map::new();
    if let Some(id) = status.id {
        reference.insert("Id".into(), json!(id));
    }
    if let Some(name) = &status.name {
        reference.insert("Name".into(), json!(name));
    }
    record.insert("StatusRef".into(), Value::Object(reference));
    if let Some(Value::Array(lines)) = record.get_mut("LineItems") {
        for line in lines.iter_mut().filter_map(Value::as_object_mut) {
            line.entry("$type").or_insert_with(|| json!(LINE_ITEM_TYPE));
        }
    }
    Value::Object(record)
}

/// A JSON value serialized with every object's keys in byte order, whatever serde_json's
/// features. Order Time reads `$type` with Json.NET, which wants it as the first property of its
/// object; `$` sorts before every letter and digit, so it always comes first.
pub struct SortedKeys<'a>(pub &'a Value);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by_key(|(key, _)| *key);
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &SortedKeys(value))?;
                }
                out.end()
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(SortedKeys)),
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_is_replaced_and_lines_get_their_type() {
        let record = json!({
            "DocNo": 7,
            "StatusRef": {"Id": 1, "Name": "processing"},
            "TrackingNo": "kept",
            "LineItems": [{"Id": 10}, {"$type": "Other, AOLib7", "Id": 11}]
        });
        let Value::Object(record) = record else {
            unreachable!()
        };
        let updated = with_status(
            record,
            &StatusRef {
                id: None,
                name: Some("shipped".into()),
            },
        );
        assert_eq!(updated["StatusRef"], json!({"Name": "shipped"}));
        assert_eq!(updated["TrackingNo"], "kept");
        assert_eq!(updated["LineItems"][0]["$type"], LINE_ITEM_TYPE);
        assert_eq!(updated["LineItems"][1]["$type"], "Other, AOLib7");
    }

    #[test]
    fn keys_are_written_in_order_with_the_type_first() {
        let value = json!({"b": [{"Id": 1, "$type": "T"}], "a": null, "$type": "R"});
        assert_eq!(
            serde_json::to_string(&SortedKeys(&value)).unwrap(),
            r#"{"$type":"R","a":null,"b":[{"$type":"T","Id":1}]}"#
        );
    }
}
