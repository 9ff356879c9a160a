//! The export window sent as `start_date`/`end_date`.
//!
//! The rule, for a UTC window `[from, to]` and the store server's zone:
//!
//! 1. `wall = zone.wall_window(from, to, 1 minute)`: the wall-clock window that covers every
//!    instant of `[from, to]` however the server reads its bounds across DST changes, floored and
//!    ceiled to whole minutes;
//! 2. `start_date = wall.start − 1 minute`, `end_date = wall.end + 1 minute` (further where a DST
//!    change makes a reading of the moved bound fall inside the window), because whether the
//!    protocol's bounds are inclusive is undocumented: an order modified in a boundary minute must
//!    not be lost. Steps 1 and 2 are core's [`TimeWindow::query_bounds`] with
//!    [`BoundsRule::undocumented`];
//! 3. both written `MM/dd/yyyy HH:mm` (24-hour) in the store's zone.
//!
//! The reply may then hold orders modified outside `[from, to]`; the reader keeps an accepted
//! order only when `window.may_contain(modified_at, 1 minute)` (rejected orders are always kept).

use chrono::Duration;
use orderport_core::store_time::format_custom_store;
use orderport_core::{BoundsRule, Clock, StoreZone, TimeWindow, WallWindow};

/// The precision of the protocol's dates.
pub const PRECISION: Duration = Duration::minutes(1);

/// The wall-clock window to request for `window` from a server in `zone`:
/// [`TimeWindow::query_bounds`] in the store's clock at [`PRECISION`], inclusivity undocumented.
pub fn export_window(zone: StoreZone, window: &TimeWindow) -> WallWindow {
    window.query_bounds(Clock::Store(zone), BoundsRule::undocumented(PRECISION))
}

/// `start_date` and `end_date` as sent: `MM/dd/yyyy HH:mm`.
pub fn query_dates(wall: &WallWindow) -> (String, String) {
    (
        format_custom_store(wall.start),
        format_custom_store(wall.end),
    )
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn window(from: (u32, u32, u32, u32), to: (u32, u32, u32, u32)) -> TimeWindow {
        let at = |(mo, d, h, mi): (u32, u32, u32, u32)| {
            Utc.with_ymd_and_hms(2026, mo, d, h, mi, 0).unwrap()
        };
        TimeWindow::new(at(from), at(to)).unwrap()
    }

    #[test]
    fn utc_window_is_widened_by_one_minute_each_side() {
        let w = export_window(StoreZone::UTC, &window((3, 7, 20, 0), (3, 7, 21, 30)));
        assert_eq!(
            query_dates(&w),
            ("03/07/2026 19:59".to_owned(), "03/07/2026 21:31".to_owned())
        );
    }

    #[test]
    fn seconds_are_floored_and_ceiled_before_widening() {
        let from = Utc.with_ymd_and_hms(2026, 3, 7, 20, 0, 30).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 3, 7, 21, 30, 10).unwrap();
        let w = export_window(StoreZone::UTC, &TimeWindow::new(from, to).unwrap());
        assert_eq!(
            query_dates(&w),
            ("03/07/2026 19:59".to_owned(), "03/07/2026 21:32".to_owned())
        );
    }

    #[test]
    fn the_window_is_sent_in_the_store_wall_clock() {
        let chicago = StoreZone::parse("America/Chicago").unwrap();
        // 2026-03-08 03:00-04:00 UTC is 21:00-22:00 CST on the 7th.
        let w = export_window(chicago, &window((3, 8, 3, 0), (3, 8, 4, 0)));
        assert_eq!(
            query_dates(&w),
            ("03/07/2026 20:59".to_owned(), "03/07/2026 22:01".to_owned())
        );
    }
}
