//! Order Time Ship Doc records (record type 4), as `POST /list` and `GET /shipdoc` return them:
//! dates without an offset in the tenant's wall clock, .NET-style seven-digit fractions where
//! the time has one, amounts as JSON numbers, references as `{Id, Name}`.

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use super::raw_status;
use crate::book::OrderState;
use crate::generator::{Address, SimOrder};
use crate::Flavor;

/// The tenant's Doc Status records (record type 630): Id and Name.
pub(crate) const STATUSES: &[(u64, &str)] = &[
    (1, "payment pending"),
    (2, "open"),
    (3, "paid"),
    (4, "ready to ship"),
    (5, "processing"),
    (6, "shipped"),
    (7, "voided"),
    (8, "backordered"),
];

/// The status record with this Id or Name (names compare without regard to case).
pub(crate) fn find_status(id: Option<u64>, name: Option<&str>) -> Option<(u64, &'static str)> {
    STATUSES
        .iter()
        .find(|(i, n)| match (id, name) {
            (Some(id), _) => *i == id,
            (None, Some(name)) => n.eq_ignore_ascii_case(name.trim()),
            (None, None) => false,
        })
        .copied()
}

/// A wall-clock time as Order Time writes it: `2026-03-01T09:40:12`, or
/// `2026-03-01T09:40:12.5170000` when it has a fraction.
pub(crate) fn wall(tz: Tz, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&tz);
    let base = local.format("%Y-%m-%dT%H:%M:%S").to_string();
    match local.nanosecond() {
        0 => base,
        nanos => format!("{base}.{:07}", nanos / 100),
    }
}

fn amount(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

fn reference(id: u64, name: &str) -> Value {
    json!({ "Id": id, "Name": name })
}

fn address(a: &Address, label: &str) -> Value {
    json!({
        "Name": label,
        "Contact": a.name,
        "Addr1": a.address1,
        "Addr2": a.address2.clone().unwrap_or_default(),
        "Addr3": Value::Null,
        "Addr4": Value::Null,
        "City": a.city,
        "State": a.state,
        "Zip": a.postal_code,
        "Country": a.country,
        "Phone": a.phone,
        "Email": a.email,
    })
}

/// The `Id` of line `index` (from 0) of an order's ship doc, the same in the REST record and in
/// the Custom Store export.
pub(crate) fn line_id(order: &SimOrder, index: usize) -> u64 {
    doc_no(order) * 10 + index as u64 + 1
}

fn doc_no(order: &SimOrder) -> u64 {
    order.number.parse().unwrap_or_default()
}

/// The Ship Doc record of an order as of its state.
pub(crate) fn record(tz: Tz, order: &SimOrder, state: &OrderState) -> Value {
    let details = order.details(Flavor::OrderTime);
    let doc_no = doc_no(order);
    let status = raw_status(Flavor::OrderTime, order, &details, state);
    let status_id = find_status(None, Some(&status)).map_or(0, |(id, _)| id);
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    put("DocNo", json!(doc_no));
    put("SONo", json!(format!("SO-{doc_no}")));
    put("DocDate", json!(wall(tz, order.placed_at())));
    put(
        "CustomerRef",
        reference(u64::from(details.customer_id), &details.customer_code),
    );
    put("CustomerPO", json!(details.custom_field1));
    put("StatusRef", reference(status_id, &status));
    put("ShipMethodRef", reference(5, details.shipping_method));
    put("TermRef", reference(2, details.payment_method));
    put("LocationRef", reference(1, details.warehouse));
    put("CurrencyRef", reference(1, "USD"));
    if let Some((code, _, cents)) = details.discount {
        put("DiscountRef", reference(9, code));
        put("DiscountAmount", amount(cents));
    }
    put("ShipAmount", amount(details.shipping_cents));
    put("Tax", amount(details.tax_cents));
    put("TotalAmount", amount(details.total_cents()));
    if let Some(memo) = details.customer_notes {
        put("Memo", json!(memo));
    }
    if let Some(notes) = details.internal_notes {
        put("InternalNotes", json!(notes));
    }
    put(
        "RecordInfo",
        json!({
            "CreatedDate": wall(tz, order.placed_at()),
            "ModifiedDate": wall(tz, state.modified),
        }),
    );
    if let Some(ship) = &details.ship_to {
        put("ShipAddress", address(ship, "Shipping"));
    }
    put("BillAddress", address(&details.bill_to, "Billing"));
    let lines: Vec<Value> = details
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            json!({
                "Id": line_id(order, i),
                "LineNo": i + 1,
                "ItemRef": reference(500 + i as u64, item.sku),
                "Description": item.name,
                "Quantity": f64::from(item.quantity),
                "Price": amount(item.unit_cents),
            })
        })
        .collect();
    put("LineItems", Value::Array(lines));
    if let Some(tracking) = &state.tracking_number {
        put("TrackingNo", json!(tracking));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn fractions_have_seven_digits_like_dotnet() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 40, 12).unwrap()
            + chrono::Duration::milliseconds(517);
        assert_eq!(wall(Tz::UTC, at), "2026-03-01T09:40:12.5170000");
        let whole = Utc.with_ymd_and_hms(2026, 11, 1, 7, 30, 0).unwrap();
        assert_eq!(
            wall(chrono_tz::America::Denver, whole),
            "2026-11-01T01:30:00"
        );
    }

    #[test]
    fn statuses_are_found_by_id_or_name() {
        assert_eq!(find_status(Some(6), None), Some((6, "shipped")));
        assert_eq!(find_status(None, Some("Shipped ")), Some((6, "shipped")));
        assert_eq!(find_status(None, Some("lost")), None);
        for flavor_status in crate::generator::Canonical::ALL {
            for name in Flavor::OrderTime.raw_statuses(flavor_status) {
                assert!(find_status(None, Some(name)).is_some(), "{name}");
            }
        }
        assert!(find_status(None, Some(Flavor::OrderTime.unmapped_status())).is_some());
    }
}
