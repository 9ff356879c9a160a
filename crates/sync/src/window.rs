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
/// already past `now - lag`, as after a clock step backwards, or `now - lag` is before
/// [`EARLIEST`]).
///
/// The arithmetic never panics, and the range stays within [`EARLIEST`]..=[`LATEST`], so every
/// bound a run records can be written and read back.
pub fn run_range(
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &SyncSettings,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let upper = upper_bound(now, settings)?;
    let lower = match watermark {
        None => upper.checked_sub_signed(settings.history),
        Some(w) => w.checked_sub_signed(settings.overlap),
    }
    .map_or(EARLIEST, |lower| lower.max(EARLIEST));
    (lower < upper).then_some((lower, upper))
}

/// No run reaches back before this instant: 1970-01-01T00:00:00Z.
pub const EARLIEST: DateTime<Utc> = DateTime::<Utc>::UNIX_EPOCH;

/// No run reaches past this instant: 9999-12-31T23:59:59Z, the last one four-digit years
/// write.
pub const LATEST: DateTime<Utc> = match DateTime::<Utc>::from_timestamp(253_402_300_799, 0) {
    Some(t) => t,
    None => DateTime::<Utc>::MAX_UTC,
};

/// A run's fixed upper bound, `now - lag`, at most [`LATEST`]; `None` when that is before
/// [`EARLIEST`] or outside the calendar.
pub fn upper_bound(now: DateTime<Utc>, settings: &SyncSettings) -> Option<DateTime<Utc>> {
    now.checked_sub_signed(settings.lag)
        .map(|upper| upper.min(LATEST))
        .filter(|upper| *upper > EARLIEST)
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

/// Of the first `started` slices of [`slices`]`(from, to, slice)`, the union of those that meet
/// `[lo, hi]` (share at least one instant with it), as one window since slices are contiguous;
/// `None` when none does. The degenerate range `from == to` counts as one slice, `[from, from]`.
///
/// This is how the engine finds the walk(s) of its own run that listed an order, without
/// keeping one record per slice: a run of tiny slices over years costs no memory.
pub fn slices_meeting(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    slice: Duration,
    started: u64,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> Option<TimeWindow> {
    if started == 0 || lo > hi || from > to || lo > to || hi < from {
        return None;
    }
    if from == to {
        return (lo <= from && from <= hi)
            .then(|| TimeWindow::new(from, to).ok())
            .flatten();
    }
    let step = nanos(slice);
    if step <= 0 {
        return None;
    }
    let count = nanos(to.signed_duration_since(from)).div_ceil_pos(step);
    let walked = i128::from(started).min(count);
    // Slice k is [from + k·step, min(from + (k+1)·step, to)]: it ends at or after `lo` when
    // k >= ceil((lo - from) / step) - 1, and starts at or before `hi` when
    // k <= floor((hi - from) / step).
    let first = (nanos(lo.signed_duration_since(from)).div_ceil_pos(step) - 1).max(0);
    let last = nanos(hi.signed_duration_since(from))
        .div_euclid(step)
        .min(walked - 1);
    if first > last {
        return None;
    }
    let at = |k: i128| {
        k.checked_mul(step)
            .and_then(duration_of)
            .and_then(|d| from.checked_add_signed(d))
    };
    let start = at(first)?;
    let end = at(last + 1).map_or(to, |e| e.min(to));
    TimeWindow::new(start, end).ok()
}

/// A duration in nanoseconds, exactly.
fn nanos(d: Duration) -> i128 {
    i128::from(d.num_seconds()) * 1_000_000_000 + i128::from(d.subsec_nanos())
}

/// The duration of `n` nanoseconds, if chrono can hold it.
fn duration_of(n: i128) -> Option<Duration> {
    let secs = i64::try_from(n.div_euclid(1_000_000_000)).ok()?;
    let rest = u32::try_from(n.rem_euclid(1_000_000_000)).ok()?;
    Duration::new(secs, rest)
}

/// Ceiling division for a positive divisor.
trait DivCeilPos {
    fn div_ceil_pos(self, d: i128) -> i128;
}

impl DivCeilPos for i128 {
    fn div_ceil_pos(self, d: i128) -> i128 {
        let q = self.div_euclid(d);
        if self.rem_euclid(d) == 0 {
            q
        } else {
            q + 1
        }
    }
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

        /// `slices_meeting` is the union of the started slices that share an instant with
        /// `[lo, hi]`, as counted one by one from `slices`.
        #[test]
        fn slices_meeting_is_the_union_of_the_slices_that_meet(
            a in 0i64..10_000,
            len in 0i64..5_000,
            slice in 1i64..700,
            sub in 0u32..1_000_000_000,
            started in 0u64..40,
            lo in -1_000i64..16_000,
            width in 0i64..3_000,
        ) {
            let slice = Duration::seconds(slice) + Duration::nanoseconds(i64::from(sub));
            let (from, to) = (t(a), t(a + len));
            let (lo, hi) = (t(lo), t(lo + width));
            let meeting: Vec<TimeWindow> = if from == to {
                vec![TimeWindow::new(from, to).unwrap()]
            } else {
                slices(from, to, slice).collect()
            }
            .into_iter()
            .take(usize::try_from(started).unwrap())
            .filter(|w| w.to() >= lo && w.from() <= hi)
            .collect();
            let expected = match (meeting.first(), meeting.last()) {
                (Some(f), Some(l)) => TimeWindow::new(f.from(), l.to()).ok(),
                _ => None,
            };
            prop_assert_eq!(slices_meeting(from, to, slice, started, lo, hi), expected);
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
