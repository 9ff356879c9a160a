//! The `POST {base}/list` query for the ship docs modified in a window, one page at a time.
//!
//! The body is Order Time's `ListInfo` (help.ordertime.com, "Working with Entity Refs",
//! documented): `Type`, `Filters` (`PropertyName`, `Operator`, `FilterValueArray`; all must
//! match), `Sortation`, 1-based `PageNumber` and `NumberOfRecords` (at most 1000). The record type
//! 4 (Ship Doc), the operators 4 (`>=`) and 5 (`<=`) and the `RecordInfo.ModifiedDate` property
//! with a timestamp value are observed in public client code, not documented.
//!
//! # The window
//!
//! The bounds are sent as the store's wall-clock time without an offset,
//! `yyyy-MM-ddTHH:mm:ss`, at one-second precision ([`PRECISION`]). The UTC window is widened by
//! [`TimeWindow::query_bounds`] with an undocumented inclusivity: so that every DST reading
//! of a bound covers it, and one more second on each side, because whether the server's bounds
//! are inclusive is not documented. The rows the wider query brings back are then kept only when
//! [`TimeWindow::may_contain`] their modification time.
//!
//! [`TimeWindow::query_bounds`]: orderport_core::TimeWindow::query_bounds
//! [`TimeWindow::may_contain`]: orderport_core::TimeWindow::may_contain

use chrono::{Duration, NaiveDateTime};
use orderport_core::{BoundsRule, Clock, StoreZone, TimeWindow, WallWindow};
use serde::Serialize;

use crate::settings::Settings;

/// The precision of the window bounds sent and of the modification times read: one second.
/// Order Time's dates carry seconds (and fractions, which the comparison tolerates).
pub const PRECISION: Duration = Duration::seconds(1);

/// FilterOpEnum `GreaterThanOrEqualTo` (observed).
pub const OP_AT_OR_AFTER: u8 = 4;
/// FilterOpEnum `LessThanOrEqualTo` (observed).
pub const OP_AT_OR_BEFORE: u8 = 5;
/// Sortation `Direction` ascending (documented).
pub const ASCENDING: u8 = 1;

/// The wall-clock bounds sent for a UTC window: [`TimeWindow::query_bounds`] in the store's
/// clock at [`PRECISION`], inclusivity undocumented (one precision unit more on each side).
pub fn wall_bounds(zone: StoreZone, window: &TimeWindow) -> WallWindow {
    window.query_bounds(Clock::Store(zone), BoundsRule::undocumented(PRECISION))
}

/// A wall-clock time as the filter sends it: `2026-11-01T01:30:00`.
pub fn format_wall(wall: NaiveDateTime) -> String {
    wall.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Order Time's `ListInfo`. A struct rather than a JSON map, so that the bytes sent keep this
/// field order whatever serde_json features are enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInfo {
    /// The RecordTypeEnum value.
    #[serde(rename = "Type")]
    pub record_type: u64,
    /// Filters that must all match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sortation: Option<Sortation>,
    /// The page, from 1.
    pub page_number: u32,
    /// Rows per page, at most 1000.
    pub number_of_records: u32,
}

/// One `ListInfo` filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    /// The property compared, such as `RecordInfo.ModifiedDate`.
    pub property_name: String,
    /// The FilterOpEnum value.
    pub operator: u8,
    /// The value, as text.
    pub filter_value_array: String,
}

/// The `ListInfo` sort order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sortation {
    /// The property sorted by.
    pub property_name: String,
    /// 1 ascending, 2 descending.
    pub direction: u8,
}

/// The `ListInfo` for one page of the ship docs modified within `bounds`. Rows are sorted by
/// `DocNo`, ascending, so that pages are stable and new documents land on the last page.
pub fn body(settings: &Settings, bounds: &WallWindow, page: u32) -> ListInfo {
    let filter = |operator: u8, wall: NaiveDateTime| Filter {
        property_name: settings.modified_property.clone(),
        operator,
        filter_value_array: format_wall(wall),
    };
    ListInfo {
        record_type: settings.record_type,
        filters: vec![
            filter(OP_AT_OR_AFTER, bounds.start),
            filter(OP_AT_OR_BEFORE, bounds.end),
        ],
        sortation: Some(Sortation {
            property_name: "DocNo".into(),
            direction: ASCENDING,
        }),
        page_number: page,
        number_of_records: settings.page_size,
    }
}

/// A connection check: the first ship doc, without filters.
pub fn probe_body(settings: &Settings) -> ListInfo {
    ListInfo {
        record_type: settings.record_type,
        filters: Vec::new(),
        sortation: None,
        page_number: 1,
        number_of_records: 1,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn window(from: (u32, u32, u32), to: (u32, u32, u32)) -> TimeWindow {
        let at = |(h, m, s): (u32, u32, u32)| Utc.with_ymd_and_hms(2026, 11, 1, h, m, s).unwrap();
        TimeWindow::new(at(from), at(to)).unwrap()
    }

    #[test]
    fn utc_windows_widen_by_one_second() {
        let bounds = wall_bounds(StoreZone::UTC, &window((10, 0, 0), (11, 0, 0)));
        assert_eq!(format_wall(bounds.start), "2026-11-01T09:59:59");
        assert_eq!(format_wall(bounds.end), "2026-11-01T11:00:01");
    }

    #[test]
    fn a_denver_window_across_the_end_of_dst_covers_both_readings() {
        // 07:30Z is 01:30 MDT; 08:30Z is 01:30 MST: the repeated hour.
        let zone = StoreZone::parse("America/Denver").unwrap();
        let bounds = wall_bounds(zone, &window((7, 30, 0), (8, 30, 0)));
        assert_eq!(format_wall(bounds.start), "2026-11-01T00:29:59");
        assert_eq!(format_wall(bounds.end), "2026-11-01T02:30:01");
    }
}
