//! [`SimClock`]: the time the simulators live in, which the caller controls.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// A clock the caller controls, shared by every simulator that holds a clone.
///
/// A *system* clock follows the machine's clock plus an offset that [`SimClock::advance`] and
/// [`SimClock::set`] move; a *fixed* clock stands still until it is moved. Clones share one
/// time, so advancing the clock a test holds advances every simulator started with it.
///
/// ```
/// use orderport_sim::chrono::{Duration, TimeZone, Utc};
/// use orderport_sim::SimClock;
///
/// let start = Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap();
/// let clock = SimClock::fixed(start);
/// let shared = clock.clone();
/// clock.advance(Duration::minutes(30));
/// assert_eq!(shared.now(), start + Duration::minutes(30));
/// ```
#[derive(Clone, Debug)]
pub struct SimClock {
    inner: Arc<Mutex<Mode>>,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// The machine's clock plus an offset.
    System { offset: Duration },
    /// A time that moves only when told.
    Fixed { at: DateTime<Utc> },
}

impl SimClock {
    /// The machine's clock. [`SimClock::advance`] and [`SimClock::set`] shift it; it keeps
    /// ticking afterwards.
    pub fn system() -> Self {
        Self::with(Mode::System {
            offset: Duration::zero(),
        })
    }

    /// A clock that stands at `at` until it is advanced or set.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self::with(Mode::Fixed { at })
    }

    fn with(mode: Mode) -> Self {
        Self {
            inner: Arc::new(Mutex::new(mode)),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match *self.lock() {
            Mode::System { offset } => Utc::now() + offset,
            Mode::Fixed { at } => at,
        }
    }

    /// Moves the clock forward by `by` (backward when negative).
    pub fn advance(&self, by: Duration) {
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::System { offset } => Mode::System {
                offset: offset + by,
            },
            Mode::Fixed { at } => Mode::Fixed { at: at + by },
        };
    }

    /// Sets the clock to `at`. A system clock keeps ticking from there.
    pub fn set(&self, at: DateTime<Utc>) {
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::System { .. } => Mode::System {
                offset: at - Utc::now(),
            },
            Mode::Fixed { .. } => Mode::Fixed { at },
        };
    }

    /// Whether the clock stands still between moves.
    pub fn is_fixed(&self) -> bool {
        matches!(*self.lock(), Mode::Fixed { .. })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        // The mode is a plain value: a panic elsewhere cannot leave it half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told_and_clones_share_it() {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap();
        let clock = SimClock::fixed(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(Duration::hours(2));
        assert_eq!(clock.now(), start + Duration::hours(2));
        clock.set(start);
        assert_eq!(other.now(), start);
        assert!(clock.is_fixed());
    }

    #[test]
    fn a_system_clock_ticks_from_where_it_was_moved() {
        let clock = SimClock::system();
        let target = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        clock.set(target);
        let now = clock.now();
        assert!(
            now >= target && now - target < Duration::seconds(5),
            "{now}"
        );
        clock.advance(Duration::days(1));
        assert!(clock.now() >= target + Duration::days(1));
        assert!(!clock.is_fixed());
    }
}
