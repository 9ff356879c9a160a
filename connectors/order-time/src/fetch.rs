//! Fetching one page of a window: list the ship docs, complete the rows that lack details with
//! `GET {base}/shipdoc?docNo=N` (a bounded number at a time, in list order), keep the ones the
//! window may contain, and normalize them. Memory is bounded by one page.

use futures::stream::{self, StreamExt, TryStreamExt};
use orderport_core::{ChannelError, Page, PageToken, StoreProfile, TimeWindow};
use reqwest::Method;
use serde_json::Value;

use crate::api::Api;
use crate::list::{self, PRECISION};
use crate::normalize::normalize;
use crate::reply::Operation;
use crate::settings::FetchDetails;
use crate::ship_doc::Record;

/// One page of the ship docs modified in `window`.
pub async fn page(
    api: &Api,
    profile: &StoreProfile,
    window: &TimeWindow,
    token: Option<&PageToken>,
) -> Result<Page, ChannelError> {
    let settings = api.settings();
    let number = list::page_number(api.store(), token)?;
    let bounds = list::wall_bounds(profile.zone, window);
    let body = list::body(settings, &bounds, number);
    let reply = api
        .json(
            Method::POST,
            api.endpoint("list")?,
            Some(&body),
            &Operation::list(),
        )
        .await?;
    let rows = rows(api.store(), reply)?;
    let next = list::next_page(number, rows.len(), settings.page_size);
    let path = settings.modified_property.as_str();
    let candidates: Vec<Record> = rows
        .into_iter()
        .map(Record::parse)
        .filter(|record| may_be_in(record, window, profile, path))
        .collect();
    let completed: Vec<Record> = stream::iter(candidates)
        .map(|record| complete(api, record))
        .buffered(settings.fetch_concurrency)
        .try_collect()
        .await?;
    let outcomes = completed
        .iter()
        .filter(|record| may_be_in(record, window, profile, path))
        .map(|record| normalize(record, path, profile))
        .collect();
    Ok(Page { outcomes, next })
}

/// The rows of a `/list` reply: a JSON array of records.
fn rows(store: &str, reply: Value) -> Result<Vec<Value>, ChannelError> {
    match reply {
        Value::Array(rows) => Ok(rows),
        other => Err(ChannelError::protocol(
            store,
            "list ship docs answered with something other than a JSON array",
            other.to_string().as_bytes(),
        )),
    }
}

/// False only for a record whose modification time is known and outside the window. A record
/// without a readable time is kept, to be completed or rejected with a reason.
fn may_be_in(record: &Record, window: &TimeWindow, profile: &StoreProfile, path: &str) -> bool {
    record
        .text_at(path)
        .and_then(|text| profile.zone.read(&text).ok())
        .is_none_or(|modified| window.may_contain(modified, PRECISION))
}

/// The record with its details: as listed when it has them, else merged with
/// `GET /shipdoc?docNo=N` (the full record's fields win).
async fn complete(api: &Api, record: Record) -> Result<Record, ChannelError> {
    let wanted = match api.settings().fetch_details {
        FetchDetails::Always => true,
        FetchDetails::WhenMissing => record.needs_details(&api.settings().modified_property),
    };
    let Some(doc_no) = record.doc_no().filter(|_| wanted) else {
        return Ok(record);
    };
    let mut url = api.endpoint("shipdoc")?;
    url.query_pairs_mut().append_pair("docNo", &doc_no);
    let operation = Operation::get(&doc_no);
    let full = api.get_json(url, &operation).await?;
    Ok(Record::parse(merge(
        record.raw,
        single(api.store(), &operation, full)?,
    )))
}

/// The record of a `GET /shipdoc` reply: an object, or an array holding one.
fn single(store: &str, operation: &Operation, reply: Value) -> Result<Value, ChannelError> {
    let reply = match reply {
        Value::Array(items) if items.len() == 1 => items.into_iter().next().unwrap_or_default(),
        other => other,
    };
    match reply {
        Value::Object(_) => Ok(reply),
        other => Err(ChannelError::protocol(
            store,
            format!(
                "{} answered with something other than a ship doc object",
                operation.name
            ),
            other.to_string().as_bytes(),
        )),
    }
}

/// `listed` with every field of `full` written over it.
fn merge(listed: Value, full: Value) -> Value {
    match (listed, full) {
        (Value::Object(mut base), Value::Object(top)) => {
            base.extend(top);
            Value::Object(base)
        }
        (_, full) => full,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_full_record_wins_and_listed_fields_stay() {
        let merged = merge(
            json!({"DocNo": 1, "RecordInfo": {"ModifiedDate": "x"}, "Memo": "old"}),
            json!({"DocNo": 1, "Memo": "new", "LineItems": []}),
        );
        assert_eq!(merged["Memo"], "new");
        assert_eq!(merged["RecordInfo"]["ModifiedDate"], "x");
        assert!(merged["LineItems"].is_array());
    }

    #[test]
    fn a_ship_doc_reply_is_one_object() {
        let op = Operation::get("5");
        assert!(single("s", &op, json!({"DocNo": 5})).is_ok());
        assert!(single("s", &op, json!([{"DocNo": 5}])).is_ok());
        assert!(matches!(
            single("s", &op, json!("nope")),
            Err(ChannelError::Protocol { .. })
        ));
    }
}
