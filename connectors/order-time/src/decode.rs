//! Reading Order Time replies without the network: a `POST /list` page and a `GET /shipdoc`
//! reply, turned into outcomes exactly as a fetch does (without completing rows that lack
//! details). For tools that replay recorded replies, and for the fuzz targets in `fuzz/`.

use orderport_core::{FetchOutcome, StoreProfile};
use serde_json::Value;

use crate::normalize::normalize;
use crate::rows::{self, RowsError};
use crate::settings::MODIFIED_PROPERTY;
use crate::ship_doc::Record;

/// The outcomes of one list page of at most `page_size` rows: each row accepted, or rejected
/// with its reasons (a row that is not JSON too). The modification time is read at
/// `RecordInfo.ModifiedDate`.
pub fn list_page(
    body: &[u8],
    page_size: usize,
    profile: &StoreProfile,
) -> Result<Vec<FetchOutcome>, RowsError> {
    Ok(rows::split(body, page_size)?
        .into_iter()
        .map(|row| normalize(&Record::from_bytes(row), MODIFIED_PROPERTY, profile))
        .collect())
}

/// The outcome of one `GET /shipdoc` reply: an object, or an array holding one.
pub fn ship_doc(body: &[u8], profile: &StoreProfile) -> FetchOutcome {
    let record = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(mut items)) if items.len() == 1 => Record::parse(items.remove(0)),
        Ok(_) | Err(_) => Record::from_bytes(body),
    };
    normalize(&record, MODIFIED_PROPERTY, profile)
}
