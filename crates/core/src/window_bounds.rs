//! The bounds to send an API for a UTC [`TimeWindow`], so that no order modified in the window
//! is lost at a boundary, whatever the API's bound inclusivity, precision and clock.
//!
//! An API filters on `modified >= start` or `modified > start` (and `<=` or `<` at the end),
//! at some precision (whole seconds, whole minutes), in some clock (UTC, or the store's wall
//! clock, where a DST change makes a wall-clock bound ambiguous). [`TimeWindow::query_bounds`]
//! turns the window into bounds that cover it under every reading:
//!
//! 1. [`StoreZone::wall_window`]: the window in the API's clock, the start floored and the end
//!    ceiled to the precision, widened so that every DST interpretation of a bound covers the
//!    window (in [`Clock::Utc`] this is only the rounding);
//! 2. an [`Bound::Inclusive`] bound is sent as it is;
//! 3. an [`Bound::Exclusive`] bound (WooCommerce's `modified_after` and `modified_before` are
//!    strictly exclusive) moves one precision unit outwards, so that an order modified exactly
//!    at the window's bound is not excluded; and further, where a DST change makes some reading
//!    of the moved bound fall inside the window;
//! 4. a [`Bound::Undocumented`] bound is treated as exclusive: one unit wider costs a few
//!    duplicate orders (harmless, orders are upserted), one unit narrower loses orders.
//!
//! The reply may hold orders modified just outside the window; keep them (the sync engine
//! upserts them), or drop them with [`TimeWindow::may_contain`].
//!
//! ```
//! use chrono::Duration;
//! use orderport_core::{Bound, BoundsRule, Clock, StoreZone, TimeWindow};
//!
//! let window = TimeWindow::new("2026-03-01T00:00:00Z".parse()?, "2026-03-02T00:00:00Z".parse()?)?;
//! // WooCommerce: `modified_after`/`modified_before`, strictly exclusive, whole seconds, in UTC
//! // with `dates_are_gmt=true`.
//! let woo = window.query_bounds(Clock::Utc, BoundsRule::exclusive(Duration::seconds(1)));
//! let (after, before) = woo.format("%Y-%m-%dT%H:%M:%S");
//! assert_eq!((after.as_str(), before.as_str()), ("2026-02-28T23:59:59", "2026-03-02T00:00:01"));
//! // Custom Store: `MM/dd/yyyy HH:mm` in the store's wall clock, inclusivity undocumented.
//! let chicago = StoreZone::parse("America/Chicago")?;
//! let export = window.query_bounds(Clock::Store(chicago), BoundsRule::undocumented(Duration::minutes(1)));
//! assert_eq!(export.start.format("%m/%d/%Y %H:%M").to_string(), "02/28/2026 17:59");
//! assert_eq!(export.end.format("%m/%d/%Y %H:%M").to_string(), "03/01/2026 18:01");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use crate::channel::TimeWindow;
use crate::clock::Clock;
use crate::store_time::{ceil_to, floor_to, StoreZone, WallWindow};

/// How an API compares one bound of its window filter with a modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bound {
    /// `>=` at the start, `<=` at the end.
    Inclusive,
    /// `>` at the start, `<` at the end.
    Exclusive,
    /// Not documented: treated as [`Bound::Exclusive`], the reading that loses nothing.
    Undocumented,
}

/// How an API's window filter reads its bounds: their precision, and the inclusivity of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BoundsRule {
    /// The finest unit the bounds are written in (one second, one minute).
    pub precision: Duration,
    /// How the start bound compares.
    pub start: Bound,
    /// How the end bound compares.
    pub end: Bound,
}

impl BoundsRule {
    /// Both bounds inclusive (`>=`, `<=`).
    pub const fn inclusive(precision: Duration) -> Self {
        Self {
            precision,
            start: Bound::Inclusive,
            end: Bound::Inclusive,
        }
    }

    /// Both bounds strictly exclusive (`>`, `<`).
    pub const fn exclusive(precision: Duration) -> Self {
        Self {
            precision,
            start: Bound::Exclusive,
            end: Bound::Exclusive,
        }
    }

    /// Inclusivity not documented on either side.
    pub const fn undocumented(precision: Duration) -> Self {
        Self {
            precision,
            start: Bound::Undocumented,
            end: Bound::Undocumented,
        }
    }
}

impl WallWindow {
    /// Both bounds written with a chrono `format` (such as `%Y-%m-%dT%H:%M:%S`), start first.
    pub fn format(&self, format: &str) -> (String, String) {
        (
            self.start.format(format).to_string(),
            self.end.format(format).to_string(),
        )
    }
}

/// How many times a bound is moved further when a DST reading still falls inside the window.
const WIDENING_STEPS: usize = 8;

impl TimeWindow {
    /// The bounds to send, in `clock`, for an API that filters by `rule`: every order modified
    /// in this window is returned whether the API compares wall-clock texts or converts the
    /// bounds to instants by any DST rule. See the [module documentation](self).
    ///
    /// Guarantees, for an order modified at `u` in the window, `w` its time in `clock`
    /// truncated to the precision, and `I(b)` any instant a bound `b` can mean in `clock`:
    /// `start <= w <= end` (`start < w < end` for the exclusive sides), and
    /// `I(start) <= u <= I(end)` (`I(start) <= u - precision`, `I(end) >= u + precision` for
    /// the exclusive sides). Both bounds are multiples of the precision.
    pub fn query_bounds(&self, clock: Clock, rule: BoundsRule) -> WallWindow {
        let zone = clock.zone();
        let precision = if rule.precision > Duration::zero() {
            rule.precision
        } else {
            Duration::seconds(1)
        };
        let wall = zone.wall_window(self.from(), self.to(), precision);
        let start = match rule.start {
            Bound::Inclusive => wall.start,
            Bound::Exclusive | Bound::Undocumented => {
                start_before(zone, wall.start, self.from(), precision)
            }
        };
        let end = match rule.end {
            Bound::Inclusive => wall.end,
            Bound::Exclusive | Bound::Undocumented => {
                end_after(zone, wall.end, self.to(), precision)
            }
        };
        WallWindow { start, end }
    }
}

/// `start` one unit earlier, and earlier still until every reading of it is at least one unit
/// before `from`.
fn start_before(
    zone: StoreZone,
    start: NaiveDateTime,
    from: DateTime<Utc>,
    precision: Duration,
) -> NaiveDateTime {
    let limit = from.checked_sub_signed(precision).unwrap_or(from);
    let mut bound = start.checked_sub_signed(precision).unwrap_or(start);
    for _ in 0..WIDENING_STEPS {
        let (_, latest) = zone.interpretations(bound);
        if latest <= limit {
            break;
        }
        let earlier = bound.checked_sub_signed(latest - limit).unwrap_or(bound);
        bound = floor_to(earlier, precision);
    }
    bound
}

/// `end` one unit later, and later still until every reading of it is at least one unit after
/// `to`.
fn end_after(
    zone: StoreZone,
    end: NaiveDateTime,
    to: DateTime<Utc>,
    precision: Duration,
) -> NaiveDateTime {
    let limit = to.checked_add_signed(precision).unwrap_or(to);
    let mut bound = end.checked_add_signed(precision).unwrap_or(end);
    for _ in 0..WIDENING_STEPS {
        let (earliest, _) = zone.interpretations(bound);
        if earliest >= limit {
            break;
        }
        let later = bound.checked_add_signed(limit - earliest).unwrap_or(bound);
        bound = ceil_to(later, precision);
    }
    bound
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn text(wall: NaiveDateTime) -> String {
        wall.format("%Y-%m-%dT%H:%M:%S").to_string()
    }

    #[test]
    fn undocumented_bounds_match_what_custom_store_and_order_time_send() {
        // crates/custom-store/src/window.rs: one minute each side of the wall window.
        let minute = BoundsRule::undocumented(Duration::minutes(1));
        let w = TimeWindow::new(utc(2026, 3, 7, 20, 0, 30), utc(2026, 3, 7, 21, 30, 10)).unwrap();
        let b = w.query_bounds(Clock::Utc, minute);
        assert_eq!(
            (text(b.start), text(b.end)),
            ("2026-03-07T19:59:00".into(), "2026-03-07T21:32:00".into())
        );
        let chicago = StoreZone::parse("America/Chicago").unwrap();
        let w = TimeWindow::new(utc(2026, 3, 8, 3, 0, 0), utc(2026, 3, 8, 4, 0, 0)).unwrap();
        let b = w.query_bounds(Clock::Store(chicago), minute);
        assert_eq!(
            (text(b.start), text(b.end)),
            ("2026-03-07T20:59:00".into(), "2026-03-07T22:01:00".into())
        );
        // connectors/order-time/src/list.rs: one second each side, across Denver's repeated hour.
        let denver = StoreZone::parse("America/Denver").unwrap();
        let w = TimeWindow::new(utc(2026, 11, 1, 7, 30, 0), utc(2026, 11, 1, 8, 30, 0)).unwrap();
        let b = w.query_bounds(
            Clock::Store(denver),
            BoundsRule::undocumented(Duration::seconds(1)),
        );
        assert_eq!(
            (text(b.start), text(b.end)),
            ("2026-11-01T00:29:59".into(), "2026-11-01T02:30:01".into())
        );
    }

    #[test]
    fn inclusive_bounds_are_the_rounded_window_and_exclusive_ones_one_unit_wider() {
        let w = TimeWindow::new(utc(2026, 3, 1, 0, 0, 0), utc(2026, 3, 2, 0, 0, 0)).unwrap();
        let second = Duration::seconds(1);
        let inclusive = w.query_bounds(Clock::Utc, BoundsRule::inclusive(second));
        assert_eq!(
            (text(inclusive.start), text(inclusive.end)),
            ("2026-03-01T00:00:00".into(), "2026-03-02T00:00:00".into())
        );
        let mixed = BoundsRule {
            start: Bound::Inclusive,
            end: Bound::Exclusive,
            precision: second,
        };
        let b = w.query_bounds(Clock::Utc, mixed);
        assert_eq!(
            (text(b.start), text(b.end)),
            ("2026-03-01T00:00:00".into(), "2026-03-02T00:00:01".into())
        );
        // A zero precision is read as one second rather than dividing by zero.
        let zero = w.query_bounds(Clock::Utc, BoundsRule::exclusive(Duration::zero()));
        assert_eq!(text(zero.start), "2026-02-28T23:59:59");
    }

    const ZONES: &[&str] = &[
        "UTC",
        "America/Chicago",
        "America/Denver",
        "Europe/London",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "America/St_Johns",
        "Pacific/Chatham",
    ];

    fn bound() -> impl Strategy<Value = Bound> {
        prop::sample::select(vec![
            Bound::Inclusive,
            Bound::Exclusive,
            Bound::Undocumented,
        ])
    }

    /// Instants of the window worth checking: its bounds, a few inside, and the instants
    /// around each change of the zone's offset within it.
    fn samples(zone: StoreZone, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = vec![from, to, from + (to - from) / 2, from + (to - from) / 3];
        let mut t = from;
        while t < to {
            let next = (t + Duration::minutes(15)).min(to);
            if zone.to_wall(next) - zone.to_wall(t) != next - t {
                for s in [-1i64, 0, 1] {
                    out.push((next + Duration::seconds(s)).clamp(from, to));
                }
            }
            t = next;
        }
        out
    }

    /// Checks the guarantees of [`TimeWindow::query_bounds`] for one window: a server comparing
    /// wall-clock texts (truncated to the precision) returns every order of the window, and so
    /// does a server converting the bounds to instants by any DST reading; and the bounds are
    /// never wider than the window by more than a DST shift and two units.
    fn check_no_loss(window: TimeWindow, clock: Clock, rule: BoundsRule) -> Result<(), String> {
        let zone = clock.zone();
        let p = rule.precision;
        let (from, to) = (window.from(), window.to());
        let b = window.query_bounds(clock, rule);
        let at = format!(
            "{clock:?} {from}..{to} {rule:?}: bounds {} .. {}",
            b.start, b.end
        );
        let ensure = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(format!("{at}: {what}"))
            }
        };
        ensure(
            floor_to(b.start, p) == b.start && ceil_to(b.end, p) == b.end,
            "not multiples of the precision",
        )?;
        let (_, latest_start) = zone.interpretations(b.start);
        let (earliest_end, _) = zone.interpretations(b.end);
        for u in samples(zone, from, to) {
            let w = floor_to(zone.to_wall(u), p);
            let exclusive = |bound| bound != Bound::Inclusive;
            let (start_ok, end_ok) = if exclusive(rule.start) {
                (b.start < w, latest_start + p <= u)
            } else {
                (b.start <= w, latest_start <= u)
            };
            ensure(
                start_ok,
                &format!("an order at {u} (wall {w}) is before the start"),
            )?;
            ensure(
                end_ok,
                &format!("a reading of the start ({latest_start}) is after an order at {u}"),
            )?;
            let (end_ok, reading_ok) = if exclusive(rule.end) {
                (w < b.end, earliest_end >= u + p)
            } else {
                (w <= b.end, earliest_end >= u)
            };
            ensure(
                end_ok,
                &format!("an order at {u} (wall {w}) is after the end"),
            )?;
            ensure(
                reading_ok,
                &format!("a reading of the end ({earliest_end}) is before an order at {u}"),
            )?;
        }
        let slack = Duration::hours(3) + p * 2;
        ensure(
            zone.to_wall(from) - b.start <= slack,
            "the start is too early",
        )?;
        ensure(b.end - zone.to_wall(to) <= slack, "the end is too late")
    }

    fn every_rule(precision: Duration) -> Vec<BoundsRule> {
        let kinds = [Bound::Inclusive, Bound::Exclusive, Bound::Undocumented];
        kinds
            .iter()
            .flat_map(|start| {
                kinds.iter().map(move |end| BoundsRule {
                    precision,
                    start: *start,
                    end: *end,
                })
            })
            .collect()
    }

    #[test]
    fn windows_starting_or_ending_next_to_a_dst_change_lose_nothing() {
        // Spring forward and fall back in Chicago (08:00Z, 07:00Z), Sydney (16:00Z, 16:00Z)
        // and Lord Howe (half-hour shifts; 15:30Z, 15:00Z).
        let changes = [
            ("America/Chicago", utc(2026, 3, 8, 8, 0, 0)),
            ("America/Chicago", utc(2026, 11, 1, 7, 0, 0)),
            ("Australia/Sydney", utc(2026, 10, 3, 16, 0, 0)),
            ("Australia/Sydney", utc(2026, 4, 4, 16, 0, 0)),
            ("Australia/Lord_Howe", utc(2026, 10, 3, 15, 30, 0)),
            ("Australia/Lord_Howe", utc(2026, 4, 4, 15, 0, 0)),
        ];
        for (name, change) in changes {
            let zone = StoreZone::parse(name).unwrap();
            for minutes in (-150i64..150).step_by(5) {
                let edge = change + Duration::minutes(minutes) + Duration::seconds(30);
                for (from, to) in [
                    (edge, edge + Duration::hours(2)),
                    (edge - Duration::hours(2), edge),
                ] {
                    let window = TimeWindow::new(from, to).unwrap();
                    for p in [Duration::seconds(1), Duration::minutes(1)] {
                        for rule in every_rule(p) {
                            check_no_loss(window, Clock::Store(zone), rule).unwrap();
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_moved_bound_in_a_skipped_hour_is_moved_out_of_it() {
        // 08:00:30Z is 03:00:30 CDT, just after Chicago skipped 02:00-03:00. One minute before
        // the window's start is 02:59, which a server may read as 08:59Z (with the offset before
        // the gap): inside the window. The bound goes back before the gap instead.
        let chicago = StoreZone::parse("America/Chicago").unwrap();
        let window = TimeWindow::new(utc(2026, 3, 8, 8, 0, 30), utc(2026, 3, 8, 10, 0, 0)).unwrap();
        let b = window.query_bounds(
            Clock::Store(chicago),
            BoundsRule::exclusive(Duration::minutes(1)),
        );
        assert_eq!(text(b.start), "2026-03-08T01:59:00");
        assert_eq!(text(b.end), "2026-03-08T05:01:00");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// No order of any window is lost at a boundary, in any zone and clock, at any
        /// precision and inclusivity.
        #[test]
        fn no_boundary_order_is_lost(
            from_secs in 946_684_800i64..2_145_916_800i64,
            length in 0i64..3 * 86_400,
            zone in prop::sample::select(ZONES.to_vec()),
            store_clock in any::<bool>(),
            precision in prop::sample::select(vec![1i64, 60, 3600]),
            start in bound(),
            end in bound(),
        ) {
            let zone = StoreZone::parse(zone).unwrap();
            let clock = if store_clock { Clock::Store(zone) } else { Clock::Utc };
            let from = DateTime::from_timestamp(from_secs, 0).unwrap();
            let window = TimeWindow::new(from, from + Duration::seconds(length)).unwrap();
            let rule = BoundsRule { precision: Duration::seconds(precision), start, end };
            prop_assert_eq!(check_no_loss(window, clock, rule), Ok(()));
        }
    }
}
