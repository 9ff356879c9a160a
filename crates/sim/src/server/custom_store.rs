//! The Custom Store v1 endpoint of the Spark Shipping and Listing Mirror flavours.
//!
//! - `GET {store}?action=export&start_date=..&end_date=..&page=N`: the orders whose
//!   `LastModified`, in the store's wall clock, is within `[start_date, end_date]` (both
//!   inclusive, `MM/dd/yyyy HH:mm`), newest first, 100 a page, with `<Orders pages="N">`.
//! - `POST {store}?action=shipnotify&order_number=..&carrier=..&service=..&tracking_number=..`
//!   with a `<ShipNotice>` body: recorded; the order becomes shipped, modified now. An unknown
//!   order number is `404`.
//!
//! Both accept HTTP Basic or `SS-UserName`/`SS-Password` in the query; wrong or missing
//! credentials get `401` with an empty body.

use std::sync::atomic::Ordering;

use axum::http::{Method, StatusCode};
use chrono::{NaiveDate, NaiveDateTime};

use super::reply::{self, param, query_pairs, Reply};
use super::{not_found, RecordedShipment, Request, Shared, StoreState};
use crate::book::{Bounds, Change};
use crate::faults::Fault;
use crate::render::custom_store as xml;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Export,
    ShipNotify,
}

pub(super) fn handle(shared: &Shared, request: &Request) -> Reply {
    let path = request.uri.path().trim_end_matches('/');
    let Some(store) = shared.stores.iter().find(|s| s.path == path) else {
        return not_found(request.uri.path());
    };
    let query = query_pairs(&request.uri);
    let action = match param(&query, "action")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("export") => Action::Export,
        Some("shipnotify") => Action::ShipNotify,
        other => {
            return Reply::text(
                StatusCode::BAD_REQUEST,
                format!(
                    "Unknown action {:?}; use action=export or action=shipnotify",
                    other.unwrap_or("")
                ),
            )
        }
    };
    let fault = shared.fault_counter.next(&shared.faults);
    if let Some(reply) = fault.and_then(|f| reply::gateway_fault(f, shared.faults.retry_after())) {
        return reply;
    }
    if !authorized(store, request, &query) {
        return Reply::unauthorized_basic();
    }
    match action {
        Action::Export => {
            if request.method != Method::GET && request.method != Method::POST {
                return Reply::text(StatusCode::METHOD_NOT_ALLOWED, "Use GET for action=export");
            }
            if fault == Some(Fault::Html200) {
                return Reply::new(StatusCode::OK, reply::HTML, reply::STORE_ERROR_PAGE);
            }
            let reply = export(shared, store, &query);
            match fault {
                Some(Fault::Truncated) if reply.status == StatusCode::OK => reply.truncated(),
                _ => reply,
            }
        }
        Action::ShipNotify => {
            if request.method != Method::POST {
                return Reply::text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Use POST with a ShipNotice body for action=shipnotify",
                );
            }
            ship_notify(shared, store, &query, &request.body)
        }
    }
}

/// Basic auth or `SS-UserName`/`SS-Password`, either one matching.
fn authorized(store: &StoreState, request: &Request, query: &[(String, String)]) -> bool {
    let expected = (store.info.username.as_str(), store.info.password.as_str());
    let basic = reply::basic_auth(&request.headers)
        .is_some_and(|(u, p)| (u.as_str(), p.as_str()) == expected);
    let in_query = matches!(
        (param(query, "SS-UserName"), param(query, "SS-Password")),
        (Some(u), Some(p)) if (u, p) == expected
    );
    basic || in_query
}

/// A date as ShipStation sends it (`MM/dd/yyyy HH:mm`), or as lenient plugins also read it
/// (with seconds, with AM/PM, or a date alone).
fn parse_date(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    for format in [
        "%m/%d/%Y %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %I:%M:%S %p",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(text, "%m/%d/%Y")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// The export of one store: also served by the Order Time flavour at `/api/shipstation`.
pub(super) fn export(shared: &Shared, store: &StoreState, query: &[(String, String)]) -> Reply {
    let bound = |name: &str| -> Result<NaiveDateTime, Reply> {
        let text = param(query, name).ok_or_else(|| {
            Reply::text(
                StatusCode::BAD_REQUEST,
                format!("{name} is required (MM/dd/yyyy HH:mm)"),
            )
        })?;
        parse_date(text).ok_or_else(|| {
            Reply::text(
                StatusCode::BAD_REQUEST,
                format!("{name} {text:?} is not a date (MM/dd/yyyy HH:mm)"),
            )
        })
    };
    let (start, end) = match (bound("start_date"), bound("end_date")) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(reply), _) | (_, Err(reply)) => return reply,
    };
    let page = match param(query, "page").map(str::trim) {
        None | Some("") => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(page) if page >= 1 => page,
            _ => {
                return Reply::text(
                    StatusCode::BAD_REQUEST,
                    format!("page {text:?} is not a page number (1, 2, ...)"),
                )
            }
        },
    };
    let now = shared.clock.now();
    let book = &store.book;
    let rows = book.rows(
        Bounds::Wall {
            lo: Some(start),
            hi: Some(end),
        },
        now,
    );
    let page_size = shared.page_size.load(Ordering::SeqCst).max(1);
    let pages = rows.len().div_ceil(page_size);
    // Newest first, then LIMIT 100 OFFSET (page - 1) * 100 (with the default page size).
    let orders = rows
        .iter()
        .rev()
        .skip((page - 1).saturating_mul(page_size))
        .take(page_size)
        .filter_map(|row| {
            book.state(row.index, now)
                .map(|state| (book.order(row.index), state))
        });
    let body = xml::page(shared.flavor, book.tz(), pages, orders);
    if shared.faults.shift_during_walk && page == 1 && pages >= 2 {
        // The oldest row, on the last page, is edited now and jumps to the top.
        if let Some(oldest) = rows.first() {
            book.change(oldest.index, shared.change_time(), Change::Touched);
            tracing::debug!(store = %store.info.id, order = %book.order(oldest.index).number, "shift_during_walk: order modified during the walk");
        }
    }
    if page == 1 && pages >= 2 && shared.fault_counter.shift_served(&shared.faults) {
        // The last row of page 1 is edited now: if now is after the window, it leaves the
        // listing and every later row moves up one place.
        if let Some(last) = rows.iter().rev().nth(page_size - 1) {
            book.change(last.index, shared.change_time(), Change::Touched);
            tracing::debug!(store = %store.info.id, order = %book.order(last.index).number, "shift_served_on_walk: an order page 1 served was modified during the walk");
        }
    }
    Reply::new(StatusCode::OK, reply::XML, body)
}

fn ship_notify(
    shared: &Shared,
    store: &StoreState,
    query: &[(String, String)],
    body: &[u8],
) -> Reply {
    let required = |name: &str| -> Result<String, Reply> {
        param(query, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Reply::text(StatusCode::BAD_REQUEST, format!("{name} is required")))
    };
    let (order_number, carrier, tracking_number) = match (
        required("order_number"),
        required("carrier"),
        required("tracking_number"),
    ) {
        (Ok(o), Ok(c), Ok(t)) => (o, c, t),
        (Err(reply), _, _) | (_, Err(reply), _) | (_, _, Err(reply)) => return reply,
    };
    let now = shared.clock.now();
    let Some(index) = store
        .book
        .find(&order_number)
        .filter(|i| store.book.state(*i, now).is_some())
    else {
        return Reply::text(
            StatusCode::NOT_FOUND,
            format!("Order {order_number} not found"),
        );
    };
    let text = String::from_utf8_lossy(body).into_owned();
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
        service: param(query, "service")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        tracking_number: tracking_number.clone(),
        body: text,
        received_at: now,
    });
    store.book.change(
        index,
        shared.change_time(),
        Change::Shipped { tracking_number },
    );
    Reply::empty(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_as_shipstation_and_lenient_plugins_write_them() {
        let expected = NaiveDate::from_ymd_opt(2026, 3, 7)
            .and_then(|d| d.and_hms_opt(21, 56, 0))
            .unwrap();
        for text in [
            "03/07/2026 21:56",
            "3/7/2026 21:56:00",
            "03/07/2026 09:56 PM",
        ] {
            assert_eq!(parse_date(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_date("03/07/2026"),
            NaiveDate::from_ymd_opt(2026, 3, 7).and_then(|d| d.and_hms_opt(0, 0, 0))
        );
        assert_eq!(parse_date("2026-03-07"), None);
    }
}
