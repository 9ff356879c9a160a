//! [`Faults`]: the ways a simulator misbehaves on demand, and how each request's fault is
//! chosen.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Misbehaviour on demand. "Every N" means every Nth request to a protocol endpoint (export,
/// shipnotify, list, ship doc, events) gets the fault; 0 turns it off. Requests are counted
/// together, faulted or not, from 1; when several knobs pick the same request the first in
/// field order wins.
///
/// - `latency`: every request, protocol endpoint or not, waits this long before it is
///   answered.
/// - `rate_limit_every`: `429 Too Many Requests` with `Retry-After: retry_after_secs` (0 means
///   1, so a rate-limited reply always says how long to wait).
/// - `error_500_every`, `error_503_every`: `500` and `503` with a short text body.
/// - `html_200_every`: an HTML error page answered with `200`, as a store with a crashed
///   plugin does. Only replies that carry data (export, list, ship doc) get it; writes
///   (shipnotify, `PUT`, events) are processed as usual.
/// - `truncate_every`: the real reply with `200`, cut in the middle (mid-XML or mid-JSON),
///   for replies that carry data only.
/// - `shift_during_walk`: after page 1 of a multi-page walk of a window is served, the order
///   on the walk's last row is modified (`LastModified` = the clock's now). Custom Store
///   exports sort by `LastModified` descending, so that order jumps to page 1, which the walk
///   has already read: the walk misses it, and every row before its old place moves down one,
///   so page 2 repeats the last row of page 1. See `docs/simulator.md` for what a connector or
///   a sync engine does about it.
/// - `shift_served_on_walk`: on the Nth walk with more than one page (counted from 1 by the
///   page-1 requests of such walks; 0 is off), after page 1 is served, the **last order page 1
///   served** is modified (`LastModified` = the server's now). When the walk's window ends
///   before now, that order leaves the walk's listing: every later row moves up one place and
///   the row that was first on page 2 is never served. This is the loss a sync engine must
///   repair by fetching the walk again (see `docs/simulator.md`).
/// - `minute_clock`: the server dates the changes it makes (shipnotify, a status `PUT`, the
///   shift faults) to the minute, `now` truncated to whole minutes, as a store whose
///   modification column keeps minutes only.
///
/// The 429, 500 and 503 replies are sent before the credentials are checked and before
/// anything else happens, as a gateway in front of the store would.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Delay before every reply.
    pub latency: Duration,
    /// Every Nth protocol request gets `429` with `Retry-After`.
    pub rate_limit_every: u32,
    /// The `Retry-After` of a `429`, in seconds; 0 means 1.
    pub retry_after_secs: u64,
    /// Every Nth protocol request gets `500`.
    pub error_500_every: u32,
    /// Every Nth protocol request gets `503`.
    pub error_503_every: u32,
    /// Every Nth protocol request that reads data gets an HTML page with `200`.
    pub html_200_every: u32,
    /// Every Nth protocol request that reads data gets its reply cut short, with `200`.
    pub truncate_every: u32,
    /// Modify an order on a later page after page 1 of a walk is served.
    pub shift_during_walk: bool,
    /// On the Nth multi-page walk, modify the last order page 1 served, after serving it.
    pub shift_served_on_walk: u32,
    /// Date the server's own changes to the minute.
    pub minute_clock: bool,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// The `Retry-After` sent with a `429`, in seconds.
    pub fn retry_after(&self) -> u64 {
        self.retry_after_secs.max(1)
    }

    /// Whether any knob is on.
    pub fn any(&self) -> bool {
        !self.latency.is_zero()
            || self.rate_limit_every > 0
            || self.error_500_every > 0
            || self.error_503_every > 0
            || self.html_200_every > 0
            || self.truncate_every > 0
            || self.shift_during_walk
            || self.shift_served_on_walk > 0
            || self.minute_clock
    }
}

/// The fault chosen for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    RateLimited,
    Error500,
    Error503,
    Html200,
    Truncated,
}

/// Counts protocol requests and picks each one's fault.
#[derive(Debug, Default)]
pub(crate) struct FaultCounter {
    requests: AtomicU64,
    multi_page_walks: AtomicU64,
}

impl FaultCounter {
    /// Counts one protocol request and returns its fault, if any.
    pub fn next(&self, faults: &Faults) -> Option<Fault> {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let hits = |every: u32| every > 0 && n.is_multiple_of(u64::from(every));
        [
            (faults.rate_limit_every, Fault::RateLimited),
            (faults.error_500_every, Fault::Error500),
            (faults.error_503_every, Fault::Error503),
            (faults.html_200_every, Fault::Html200),
            (faults.truncate_every, Fault::Truncated),
        ]
        .into_iter()
        .find(|(every, _)| hits(*every))
        .map(|(_, fault)| fault)
    }

    /// Counts the start of a walk with more than one page (its page-1 request) and says
    /// whether `shift_served_on_walk` picks it.
    pub fn shift_served(&self, faults: &Faults) -> bool {
        let n = self.multi_page_walks.fetch_add(1, Ordering::SeqCst) + 1;
        faults.shift_served_on_walk > 0 && n == u64::from(faults.shift_served_on_walk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_request_is_faulted_and_the_first_knob_wins() {
        let faults = Faults {
            rate_limit_every: 3,
            error_500_every: 2,
            ..Faults::default()
        };
        let counter = FaultCounter::default();
        let seen: Vec<_> = (0..6).map(|_| counter.next(&faults)).collect();
        assert_eq!(
            seen,
            [
                None,
                Some(Fault::Error500),
                Some(Fault::RateLimited),
                Some(Fault::Error500),
                None,
                Some(Fault::RateLimited),
            ]
        );
        assert_eq!(Faults::default().retry_after(), 1);
        assert!(!Faults::none().any());
        assert!(faults.any());
    }

    #[test]
    fn only_the_chosen_multi_page_walk_is_shifted() {
        let faults = Faults {
            shift_served_on_walk: 2,
            ..Faults::default()
        };
        let counter = FaultCounter::default();
        let picked: Vec<bool> = (0..4).map(|_| counter.shift_served(&faults)).collect();
        assert_eq!(picked, [false, true, false, false]);
        assert!(faults.any());
        let off = FaultCounter::default();
        assert!((0..3).all(|_| !off.shift_served(&Faults::default())));
    }
}
