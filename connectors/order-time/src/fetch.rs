//! Fetching one page of a window: list the ship docs, complete the rows that lack details with
//! `GET {base}/shipdoc?docNo=N` (a bounded number at a time, in list order), keep the ones the
//! window may contain, and normalize them. Memory is bounded by one page.

use futures::stream::{self, StreamExt, TryStreamExt};
use orderport_core::{ChannelError, Page, PageNumber, PageToken, StoreProfile, TimeWindow};
use reqwest::Method;
use serde_json::Value;

use crate::api::Api;
use crate::list::{self, PRECISION};
use crate::normalize::normalize;
use crate::reply::Operation;
use crate::rows;
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
    let number = PageNumber::from_token(api.store(), token)?;
    let bounds = list::wall_bounds(profile.zone, window);
    let body = list::body(settings, &bounds, number.get());
    let reply = api
        .rest_call(
            Method::POST,
            api.endpoint("list")?,
            Some(&body),
            &Operation::list(),
        )
        .await?;
    let rows = rows::split(&reply, settings.page_size as usize).map_err(|e| {
        api.http()
            .protocol_error(format!("list ship docs page {}: {e}", number.get()), &reply)
    })?;
    let next = number.next_if_full(rows.len(), settings.page_size);
    let path = settings.modified_property.as_str();
    let candidates: Vec<Record> = rows
        .into_iter()
        .map(Record::from_bytes)
        .filter(|record| may_be_in(record, window, profile, path))
        .collect();
    drop(reply);
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
    Ok(Page::new(outcomes, next))
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
/// `GET /shipdoc?docNo=N` (the full record's fields win). A detail reply that cannot be read,
/// or a doc that is gone, rejects that record alone; a failure of the call itself (auth, 5xx
/// after retries) fails the page.
async fn complete(api: &Api, record: Record) -> Result<Record, ChannelError> {
    // A row whose bytes were not JSON has nothing to complete.
    let wanted = !record.raw.is_null()
        && match api.settings().fetch_details {
            FetchDetails::Always => true,
            FetchDetails::WhenMissing => record.needs_details(&api.settings().modified_property),
        };
    let Some(doc_no) = record.doc_no().filter(|_| wanted) else {
        return Ok(record);
    };
    let mut url = api.endpoint("shipdoc")?;
    url.query_pairs_mut().append_pair("docNo", &doc_no);
    let operation = Operation::get(&doc_no);
    let body = match api.get(url, &operation).await {
        Ok(body) => body,
        Err(ChannelError::Refused { status: 404, .. }) => {
            return Ok(record.unreadable(format!(
                "Order Time listed ship doc {doc_no} but no longer finds it (404 on its details); it was probably deleted"
            )))
        }
        Err(e) => return Err(e),
    };
    let full = match serde_json::from_slice::<Value>(&body).map_err(|e| e.to_string()) {
        Ok(value) => single(value),
        Err(e) => Err(format!("its JSON cannot be read: {e}")),
    };
    Ok(match full {
        Ok(full) => Record::parse(merge(record.raw, full)),
        Err(reason) => record.unreadable(format!("the details of ship doc {doc_no}: {reason}")),
    })
}

/// The record of a `GET /shipdoc` reply: an object, or an array holding one.
fn single(reply: Value) -> Result<Value, String> {
    let reply = match reply {
        Value::Array(items) if items.len() == 1 => items.into_iter().next().unwrap_or_default(),
        other => other,
    };
    match reply {
        Value::Object(_) => Ok(reply),
        _ => Err("the reply is not a ship doc object".to_owned()),
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
        assert!(single(json!({"DocNo": 5})).is_ok());
        assert!(single(json!([{"DocNo": 5}])).is_ok());
        assert!(single(json!("nope")).is_err());
        assert!(single(json!([{"DocNo": 5}, {"DocNo": 6}])).is_err());
    }
}
