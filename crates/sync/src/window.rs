//! Cursor and window arithmetic, pure and property-tested.
//!
//! A run covers `[lower, upper]` where `upper = now - lag` (fixed when the run starts) and
//! `lower = watermark - overlap`, or `upper - history` on the first run. The range is cut into
//! [`slices`] of at most `slice`; adjacent slices share their boundary instant, and windows are
//! inclusive at both ends, so an order modified exactly at a boundary is fetched twice (and
//! upserted once) rather than never.

use chrono::{DateTime, Duration, Utc};
use orderport_core::TimeWindow;

use crate::settings::SyncSettings;

/// The range a run must cover, or `None` when there is nothing to fetch (the watermark is
/// already past `now - lag`, as after a clock step backwards).
pub fn run_range(
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &SyncSettings,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let upper = now - settings.lag;
    let lower = match watermark {
        None => upper - settings.history,
        Some(w) => w - settings.overlap,
    };
    (lower < upper).then_some((lower, upper))
}

/// The slices of `[from, to]`, in order, each at most `slice` long; the first starts at `from`,
/// the last ends at `to`, and each starts where the one before ended. Lazy, so a tiny slice over
/// a long range costs no memory. Empty when `from >= to` or `slice` is not positive.
pub fn slices(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    slice: Duration,
) -> impl Iterator<Item = TimeWindow> {
    let mut next = (from < to && slice > Duration::zero()).then_some(from);
    std::iter::from_fn(move || {
        let start = next?;
        let end = start.checked_add_signed(slice).map_or(to, |e| e.min(to));
        next = (end < to).then_some(end);
        TimeWindow::new(start, end).ok()
    })
}

/// The watermark after a slice ending at `slice_end` is committed: it never moves back.
pub fn advance(watermark: Option<DateTime<Utc>>, slice_end: DateTime<Utc>) -> DateTime<Utc> {
    watermark.map_or(slice_end, |w| w.max(slice_end))
}

/// Merges overlapping or touching windows; the result is sorted and disjoint.
pub fn merge(mut windows: Vec<TimeWindow>) -> Vec<TimeWindow> {
    windows.sort_by_key(|w| (w.from(), w.to()));
    let mut out: Vec<TimeWindow> = Vec::with_capacity(windows.len());
    for w in windows {
        match out.last_mut() {
            Some(last) if w.from() <= last.to() => {
                if w.to() > last.to() {
                    if let Ok(joined) = TimeWindow::new(last.from(), w.to()) {
                        *last = joined;
                    }
                }
            }
            _ => out.push(w),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn settings(overlap: i64, lag: i64, history: i64, slice: i64) -> SyncSettings {
        SyncSettings {
            overlap: Duration::seconds(overlap),
            lag: Duration::seconds(lag),
            history: Duration::seconds(history),
            slice: Duration::seconds(slice),
            interval: Duration::minutes(30),
            jitter: Duration::zero(),
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn first_run_backfills_history_in_day_slices() {
        let s = settings(120, 60, 90 * 86_400, 86_400);
        let (lo, hi) = run_range(None, t(0), &s).unwrap_or((t(0), t(0)));
        assert_eq!(hi, t(-60));
        assert_eq!(lo, t(-60 - 90 * 86_400));
        assert_eq!(slices(lo, hi, s.slice).count(), 90);
    }

    proptest! {
        /// Slices tile the range exactly: contiguous, bounded, non-empty, in order.
        #[test]
        fn slices_tile_the_range(from in 0i64..10_000_000, len in 0i64..10_000_000, slice in 1i64..2_000_000) {
            let (a, b) = (t(from), t(from + len));
            let v: Vec<_> = slices(a, b, Duration::seconds(slice)).collect();
            if len == 0 {
                prop_assert!(v.is_empty());
            } else {
                prop_assert_eq!(v[0].from(), a);
                prop_assert_eq!(v[v.len() - 1].to(), b);
                for w in &v {
                    prop_assert!(w.from() < w.to());
                    prop_assert!(w.to() - w.from() <= Duration::seconds(slice));
                }
                for pair in v.windows(2) {
                    prop_assert_eq!(pair[0].to(), pair[1].from());
                }
            }
        }

        /// Over any sequence of runs, each advancing the watermark to its upper bound, every
        /// instant from the first lower bound to the last upper bound is inside some window, and
        /// every order whose true modification time is after the previous watermark is requested
        /// even when the channel truncates it to its precision.
        #[test]
        fn consecutive_runs_leave_no_gap(
            gaps in proptest::collection::vec(0i64..7_200, 1..20),
            precision in 1i64..120,
            extra in 0i64..600,
            lag in 0i64..300,
            probe in 0i64..100_000,
        ) {
            let s = settings(precision + extra, lag, 86_400, 3_600);
            let mut now = t(86_400 * 2);
            let mut watermark = None;
            let mut covered: Vec<TimeWindow> = Vec::new();
            for gap in gaps {
                now += Duration::seconds(gap);
                if let Some((lo, hi)) = run_range(watermark, now, &s) {
                    if let Some(w) = watermark {
                        // The lower bound reaches back by the overlap.
                        prop_assert!(lo <= w - Duration::seconds(precision));
                        let true_time = w + Duration::seconds(probe % 3_600);
                        let reported = true_time - Duration::seconds(true_time.timestamp().rem_euclid(precision));
                        if true_time <= hi {
                            prop_assert!(reported >= lo, "a truncated time fell before the window");
                        }
                    }
                    for sl in slices(lo, hi, s.slice) {
                        let before = watermark;
                        watermark = Some(advance(watermark, sl.to()));
                        prop_assert!(before.is_none_or(|b| watermark >= Some(b)));
                        covered.push(sl);
                    }
                }
            }
            let merged = merge(covered);
            prop_assert!(merged.len() <= 1, "the covered instants are one interval: {:?}", merged);
        }

        /// The watermark never moves back.
        #[test]
        fn watermark_is_monotonic(w in 0i64..1_000_000, e in 0i64..1_000_000) {
            prop_assert!(advance(Some(t(w)), t(e)) >= t(w));
            prop_assert_eq!(advance(None, t(e)), t(e));
        }

        /// Merged windows are disjoint and cover exactly what the inputs covered.
        #[test]
        fn merge_is_a_union(v in proptest::collection::vec((0i64..1000, 0i64..100), 0..20), probe in 0i64..1200) {
            let ws: Vec<_> = v.iter().filter_map(|(a, l)| TimeWindow::new(t(*a), t(a + l)).ok()).collect();
            let m = merge(ws.clone());
            for pair in m.windows(2) {
                prop_assert!(pair[0].to() < pair[1].from());
            }
            let p = t(probe);
            let inside = |w: &TimeWindow| w.from() <= p && p <= w.to();
            prop_assert_eq!(ws.iter().any(inside), m.iter().any(inside));
        }
    }
}
