//! The Order Time flavour: the REST API under `/api` and the Custom Store `shipnotify` endpoint
//! Order Time hosts at `/api/shipstation`.
//!
//! - `POST /api/list` with a `ListInfo` body: ship docs (`Type` 4) filtered on
//!   `RecordInfo.ModifiedDate` (operators 1 `=`, 2 `>`, 3 `<`, 4 `>=`, 5 `<=`, values in the
//!   tenant's wall clock unless they carry an offset), sorted by `Sortation` (`DocNo` or
//!   `RecordInfo.ModifiedDate`; `DocNo` ascending by default), `PageNumber` from 1,
//!   `NumberOfRecords` capped at 1000. `PUT /api/list` with the same body answers the count.
//! - `GET /api/shipdoc?docNo=N`: one ship doc; `404` when unknown.
//! - `PUT /api/shipdoc`: the whole record; its `StatusRef` (by `Id` or `Name`) is applied, and
//!   the updated record is answered. An unknown status is `409` with a `ValidationResult` array.
//! - The Custom Store endpoint Order Time hosts at `/api/shipstation`, with HTTP Basic e-mail:API
//!   key (or `SS-UserName`/`SS-Password`):
//!   - `GET ?action=export&start_date=..&end_date=..&page=N`: the same ship docs as the REST
//!     list, as Custom Store XML (`render::custom_store`), exactly as the Spark Shipping and
//!     Listing Mirror flavours serve their exports: bounds in the tenant's wall clock, newest
//!     first, 100 a page;
//!   - `POST ?action=shipnotify&order_number=DocNo&…` with a `<ShipNotice>` body: recorded; the
//!     doc gets the tracking number and the status `shipped`.
//!
//! REST calls authenticate with the headers `apiKey`, `email`, and `password` or `DevKey`;
//! tenants share the API base and are told apart by these. Wrong credentials get `401`.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::custom_store::export as custom_store_export;
use super::reply::{self, header, param, query_pairs, Reply};
use super::{not_found, RecordedShipment, Request, Shared, StoreState};
use crate::book::{Bounds, Change, Row};
use crate::faults::Fault;
use crate::render::order_time::{self as render, find_status};

/// The most records one list query returns (documented by Order Time).
const MAX_RECORDS: u32 = 1000;
/// The ship doc record type (RecordTypeEnum).
const SHIP_DOC: u64 = 4;
/// The property list filters compare.
const MODIFIED: &str = "RecordInfo.ModifiedDate";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    List,
    Count,
    GetShipDoc,
    PutShipDoc,
    /// `/api/shipstation`: export or shipnotify, by `action`.
    CustomStore,
}

impl Endpoint {
    fn reads(self) -> bool {
        matches!(
            self,
            Endpoint::List | Endpoint::Count | Endpoint::GetShipDoc
        )
    }
}

pub(super) fn handle(shared: &Shared, request: &Request) -> Reply {
    let path = request
        .uri
        .path()
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let endpoint = match (&request.method, path.as_str()) {
        (&Method::POST, "/api/list") => Endpoint::List,
        (&Method::PUT, "/api/list") => Endpoint::Count,
        (&Method::GET, "/api/shipdoc") => Endpoint::GetShipDoc,
        (&Method::PUT, "/api/shipdoc") => Endpoint::PutShipDoc,
        (&Method::GET | &Method::POST, "/api/shipstation") => Endpoint::CustomStore,
        (_, "/api/list" | "/api/shipdoc" | "/api/shipstation") => {
            return Reply::json(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"Message": format!("The requested resource does not support http method '{}'.", request.method)}),
            )
        }
        _ => return not_found(request.uri.path()),
    };
    let fault = shared.fault_counter.next(&shared.faults);
    if let Some(reply) = fault.and_then(|f| reply::gateway_fault(f, shared.faults.retry_after())) {
        return reply;
    }
    if endpoint == Endpoint::CustomStore {
        return custom_store(shared, request, fault);
    }
    let Some(store) = rest_tenant(shared, request) else {
        return Reply::json(
            StatusCode::UNAUTHORIZED,
            &json!({"Message": "Authorization has been denied for this request."}),
        );
    };
    if endpoint.reads() && fault == Some(Fault::Html200) {
        return Reply::new(StatusCode::OK, reply::HTML, reply::SIGN_IN_PAGE);
    }
    let reply = match endpoint {
        Endpoint::List | Endpoint::Count => list(shared, store, request, endpoint),
        Endpoint::GetShipDoc => get_ship_doc(shared, store, request),
        Endpoint::PutShipDoc => put_ship_doc(shared, store, request),
        Endpoint::CustomStore => not_found(request.uri.path()),
    };
    match fault {
        Some(Fault::Truncated) if endpoint.reads() && reply.status == StatusCode::OK => {
            reply.truncated()
        }
        _ => reply,
    }
}

/// The tenant whose `apiKey`, `email` and `password` (or `DevKey`) the request carries.
fn rest_tenant<'a>(shared: &'a Shared, request: &Request) -> Option<&'a StoreState> {
    let headers = &request.headers;
    let api_key = header(headers, "apikey")?;
    let email = header(headers, "email")?;
    let password = header(headers, "password");
    let dev_key = header(headers, "devkey");
    shared.stores.iter().find(|store| {
        let info = &store.info;
        info.api_key.as_deref() == Some(api_key)
            && info.username.eq_ignore_ascii_case(email.trim())
            && (password == Some(info.password.as_str())
                || (dev_key.is_some() && dev_key == info.dev_key.as_deref()))
    })
}

fn bad_request(message: impl Into<String>) -> Reply {
    Reply::json(StatusCode::BAD_REQUEST, &json!(message.into()))
}

fn json_body(request: &Request) -> Result<Value, Reply> {
    let is_json = header(&request.headers, "content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    if !is_json {
        return Err(Reply::json(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &json!({"Message": "The request's Content-Type must be application/json."}),
        ));
    }
    serde_json::from_slice(&request.body)
        .map_err(|e| bad_request(format!("The request body is not valid JSON: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInfo {
    #[serde(rename = "Type")]
    record_type: Option<u64>,
    #[serde(default)]
    filters: Vec<Filter>,
    sortation: Option<Sortation>,
    page_number: Option<u32>,
    number_of_records: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Filter {
    property_name: String,
    operator: u8,
    filter_value_array: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sortation {
    property_name: String,
    direction: Option<u8>,
}

/// A filter value as a wall-clock time in the tenant's zone.
fn filter_time(store: &StoreState, value: &Value) -> Option<NaiveDateTime> {
    let text = value.as_str()?.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&store.book.tz()).naive_local());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// The wall-clock bounds the filters set, and whether any filter is on the date.
fn bounds(store: &StoreState, filters: &[Filter]) -> Result<(Bounds, bool), Reply> {
    let (mut lo, mut hi): (Option<NaiveDateTime>, Option<NaiveDateTime>) = (None, None);
    let tighten_lo = |lo: &mut Option<NaiveDateTime>, t: NaiveDateTime| {
        *lo = Some(lo.map_or(t, |l| l.max(t)));
    };
    let tighten_hi = |hi: &mut Option<NaiveDateTime>, t: NaiveDateTime| {
        *hi = Some(hi.map_or(t, |h| h.min(t)));
    };
    for filter in filters {
        if !filter.property_name.eq_ignore_ascii_case(MODIFIED) {
            return Err(bad_request(format!(
                "The simulator filters ship docs on {MODIFIED} only, not {}",
                filter.property_name
            )));
        }
        let t = filter_time(store, &filter.filter_value_array).ok_or_else(|| {
            bad_request(format!(
                "Invalid filter value {} for {MODIFIED}",
                filter.filter_value_array
            ))
        })?;
        let tick = Duration::nanoseconds(1);
        match filter.operator {
            1 => {
                tighten_lo(&mut lo, t);
                tighten_hi(&mut hi, t);
            }
            2 => tighten_lo(&mut lo, t + tick),
            3 => tighten_hi(&mut hi, t - tick),
            4 => tighten_lo(&mut lo, t),
            5 => tighten_hi(&mut hi, t),
            other => {
                return Err(bad_request(format!(
                    "Operator {other} is not supported on {MODIFIED}; use 1 to 5"
                )))
            }
        }
    }
    Ok((Bounds::Wall { lo, hi }, !filters.is_empty()))
}

fn list(shared: &Shared, store: &StoreState, request: &Request, endpoint: Endpoint) -> Reply {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let info: ListInfo = match serde_json::from_value(body) {
        Ok(info) => info,
        Err(e) => return bad_request(format!("The ListInfo cannot be read: {e}")),
    };
    match info.record_type {
        Some(SHIP_DOC) => {}
        Some(other) => {
            return bad_request(format!(
                "Record type {other} is not simulated; the simulator serves ship docs (Type 4)"
            ))
        }
        None => return bad_request("Type is required"),
    }
    let (bounds, filtered) = match bounds(store, &info.filters) {
        Ok(b) => b,
        Err(reply) => return reply,
    };
    let now = shared.clock.now();
    let book = &store.book;
    let rows = book.rows(bounds, now);
    if endpoint == Endpoint::Count {
        return Reply::new(StatusCode::OK, reply::JSON, rows.len().to_string());
    }
    let mut sorted: Vec<Row> = rows.as_ref().clone();
    let (property, direction) = info.sortation.as_ref().map_or(("DocNo", 1), |s| {
        (s.property_name.as_str(), s.direction.unwrap_or(1))
    });
    match property.to_ascii_lowercase().as_str() {
        "docno" | "date" | "docdate" => sorted.sort_by_key(|r| r.index),
        "recordinfo.modifieddate" => {}
        _ => {
            return bad_request(format!(
                "The simulator sorts by DocNo or {MODIFIED}, not {property}"
            ))
        }
    }
    if direction == 2 {
        sorted.reverse();
    }
    let page = info.page_number.unwrap_or(1).max(1) as usize;
    let size = info.number_of_records.unwrap_or(100).clamp(1, MAX_RECORDS) as usize;
    let records: Vec<Value> = sorted
        .iter()
        .skip((page - 1).saturating_mul(size))
        .take(size)
        .filter_map(|row| {
            book.state(row.index, now)
                .map(|state| render::record(book.tz(), book.order(row.index), &state))
        })
        .collect();
    if shared.faults.shift_during_walk && filtered && page == 1 && sorted.len() > size {
        // The walk's last row is edited now, while the walk is on page 1.
        if let Some(last) = sorted.last() {
            book.change(last.index, shared.change_time(), Change::Touched);
        }
    }
    if filtered
        && page == 1
        && sorted.len() > size
        && shared.fault_counter.shift_served(&shared.faults)
    {
        // The last row of page 1 is edited now: if now is after the window, it leaves the
        // listing and every later row moves up one place.
        if let Some(last) = sorted.get(size - 1) {
            book.change(last.index, shared.change_time(), Change::Touched);
        }
    }
    Reply::json(StatusCode::OK, &Value::Array(records))
}

fn doc_not_found(doc_no: &str) -> Reply {
    Reply::json(
        StatusCode::NOT_FOUND,
        &json!({"Message": format!("Ship Doc {doc_no} was not found.")}),
    )
}

fn get_ship_doc(shared: &Shared, store: &StoreState, request: &Request) -> Reply {
    let query = query_pairs(&request.uri);
    let Some(doc_no) = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("docNo"))
        .map(|(_, v)| v.trim().to_owned())
    else {
        return bad_request("docNo is required");
    };
    let now = shared.clock.now();
    let book = &store.book;
    match book
        .find(&doc_no)
        .and_then(|i| book.state(i, now).map(|s| (i, s)))
    {
        Some((index, state)) => Reply::json(
            StatusCode::OK,
            &render::record(book.tz(), book.order(index), &state),
        ),
        None => doc_not_found(&doc_no),
    }
}

fn put_ship_doc(shared: &Shared, store: &StoreState, request: &Request) -> Reply {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let doc_no = match body.get("DocNo") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => return bad_request("DocNo is required"),
    };
    let now = shared.clock.now();
    let book = &store.book;
    let Some(index) = book.find(&doc_no).filter(|i| book.state(*i, now).is_some()) else {
        return doc_not_found(&doc_no);
    };
    if let Some(reference) = body.get("StatusRef") {
        let id = reference.get("Id").and_then(Value::as_u64);
        let name = reference.get("Name").and_then(Value::as_str);
        let Some((_, status)) = find_status(id, name) else {
            return Reply::json(
                StatusCode::CONFLICT,
                &json!([{"PropertyName": "StatusRef", "Message": format!("Status {reference} does not exist")}]),
            );
        };
        book.change(
            index,
            shared.change_time(),
            Change::Status {
                name: status.to_owned(),
            },
        );
    }
    match book.state(index, now) {
        Some(state) => Reply::json(
            StatusCode::OK,
            &render::record(book.tz(), book.order(index), &state),
        ),
        None => doc_not_found(&doc_no),
    }
}

/// The tenant whose e-mail and API key the request carries, as HTTP Basic or as
/// `SS-UserName`/`SS-Password` (e-mails compared without case).
fn custom_store_tenant<'a>(
    shared: &'a Shared,
    request: &Request,
    query: &[(String, String)],
) -> Option<&'a StoreState> {
    let matches = |user: &str, key: &str| {
        shared.stores.iter().find(|s| {
            s.info.username.eq_ignore_ascii_case(user.trim())
                && s.info.api_key.as_deref() == Some(key)
        })
    };
    let basic = reply::basic_auth(&request.headers).and_then(|(user, key)| matches(&user, &key));
    basic.or_else(|| matches(param(query, "SS-UserName")?, param(query, "SS-Password")?))
}

/// `/api/shipstation`: the Custom Store export and shipnotify, for the tenant whose e-mail and
/// API key the request carries.
fn custom_store(shared: &Shared, request: &Request, fault: Option<Fault>) -> Reply {
    let query = query_pairs(&request.uri);
    let action = param(&query, "action").map(str::to_ascii_lowercase);
    let Some(store) = custom_store_tenant(shared, request, &query) else {
        return Reply::unauthorized_basic();
    };
    match (action.as_deref(), &request.method) {
        (Some("export"), &Method::GET) => {
            if fault == Some(Fault::Html200) {
                return Reply::new(StatusCode::OK, reply::HTML, reply::SIGN_IN_PAGE);
            }
            let reply = custom_store_export(shared, store, &query);
            match fault {
                Some(Fault::Truncated) if reply.status == StatusCode::OK => reply.truncated(),
                _ => reply,
            }
        }
        (Some("shipnotify"), &Method::POST) => ship_notify(shared, store, request, &query),
        (Some("export"), _) => {
            Reply::text(StatusCode::METHOD_NOT_ALLOWED, "Use GET for action=export")
        }
        (Some("shipnotify"), _) => Reply::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "Use POST with a ShipNotice body for action=shipnotify",
        ),
        (other, _) => Reply::text(
            StatusCode::BAD_REQUEST,
            format!(
                "Unknown action {:?}; use action=export or action=shipnotify",
                other.unwrap_or("")
            ),
        ),
    }
}

fn ship_notify(
    shared: &Shared,
    store: &StoreState,
    request: &Request,
    query: &[(String, String)],
) -> Reply {
    let required = |name: &str| {
        param(query, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (Some(order_number), Some(carrier), Some(tracking_number)) = (
        required("order_number"),
        required("carrier"),
        required("tracking_number"),
    ) else {
        return Reply::text(
            StatusCode::BAD_REQUEST,
            "order_number, carrier and tracking_number are required",
        );
    };
    let now: DateTime<Utc> = shared.clock.now();
    let book = &store.book;
    let Some(index) = book
        .find(&order_number)
        .filter(|i| book.state(*i, now).is_some())
    else {
        return Reply::text(
            StatusCode::NOT_FOUND,
            format!("Order {order_number} not found"),
        );
    };
    let text = String::from_utf8_lossy(&request.body).into_owned();
    if !text.contains("<ShipNotice") {
        return Reply::text(
            StatusCode::BAD_REQUEST,
            "The body is not a ShipNotice XML document",
        );
    }
    shared.record(RecordedShipment {
        store_id: store.info.id.clone(),
        order_number,
        carrier,
        service: required("service"),
        tracking_number: tracking_number.clone(),
        body: text,
        received_at: now,
    });
    book.change(
        index,
        shared.change_time(),
        Change::Shipped { tracking_number },
    );
    Reply::text(StatusCode::OK, "OK")
}
