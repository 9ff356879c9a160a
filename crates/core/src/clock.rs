//! [`Clock`]: in which clock a channel writes the times it sends **without an offset**, said
//! explicitly per field.
//!
//! Channels mix both: WooCommerce sends `date_modified` in the store's wall clock and
//! `date_modified_gmt` in UTC, both as `2026-03-01T08:05:00` with no offset. Reading the second
//! in the store's zone shifts every order by the zone's offset, which passes every test run
//! in a UTC store. A connector therefore names the clock of each field:
//!
//! - [`Clock::Store`]: the store's wall clock, resolved by the DST rule of
//!   [`StoreZone`](crate::StoreZone) (the default for most channels, `StoreZone::read`);
//! - [`Clock::Utc`]: UTC, whatever the store's zone.
//!
//! A text that carries an offset (`Z`, `+01:00`) is read by its offset under either clock.
//!
//! ```
//! use orderport_core::{Clock, StoreZone};
//!
//! let chicago = StoreZone::parse("America/Chicago")?;
//! // `date_modified`: Chicago wall clock.
//! let local = Clock::Store(chicago).read("2026-03-07T21:56:00")?;
//! assert_eq!(local.to_rfc3339(), "2026-03-08T03:56:00+00:00");
//! // `date_modified_gmt`: the same instant, written in UTC without an offset.
//! let gmt = Clock::Utc.read("2026-03-08T03:56:00")?;
//! assert_eq!(gmt, local);
//! // An explicit offset wins under either clock.
//! assert_eq!(Clock::Utc.read("2026-03-07T21:56:00-06:00")?, local);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{DateTime, Utc};

use crate::store_time::{StoreZone, TimeParseError};

/// The clock a channel's offset-less times are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clock {
    /// The store server's wall clock, in its zone.
    Store(StoreZone),
    /// UTC, whatever the store's zone (WooCommerce's `*_gmt` fields).
    Utc,
}

impl Clock {
    /// The zone offset-less times are read in: the store's, or UTC.
    pub fn zone(self) -> StoreZone {
        match self {
            Self::Store(zone) => zone,
            Self::Utc => StoreZone::UTC,
        }
    }

    /// Parses a timestamp in any format [`StoreZone::read`] knows: offset-less times in this
    /// clock, others by their offset.
    pub fn read(self, text: &str) -> Result<DateTime<Utc>, TimeParseError> {
        self.zone().read(text)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn utc_ignores_the_store_zone_and_store_uses_it() {
        let berlin = StoreZone::parse("Europe/Berlin").unwrap();
        let text = "2026-07-01 12:00:00";
        assert_eq!(
            Clock::Utc.read(text).unwrap(),
            Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap()
        );
        assert_eq!(
            Clock::Store(berlin).read(text).unwrap(),
            Utc.with_ymd_and_hms(2026, 7, 1, 10, 0, 0).unwrap()
        );
        assert_eq!(Clock::Utc.zone(), StoreZone::UTC);
        assert_eq!(Clock::Store(berlin).zone(), berlin);
        assert!(Clock::Utc.read("yesterday").is_err());
    }

    proptest! {
        /// For any instant and any zone, the store's wall-clock text read in the store's clock
        /// and the UTC text read in the UTC clock are the same instant, except in the repeated
        /// hour of a DST change, where the wall clock cannot tell two instants apart.
        #[test]
        fn both_clocks_agree_on_the_same_instant(
            secs in 946_684_800i64..4_102_444_800i64,
            zone in prop::sample::select(vec![
                "America/Chicago", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney", "UTC",
            ]),
        ) {
            let zone = StoreZone::parse(zone).unwrap();
            let instant = DateTime::from_timestamp(secs, 0).unwrap();
            let wall = zone.to_wall(instant).format("%Y-%m-%dT%H:%M:%S").to_string();
            let gmt = instant.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string();
            prop_assert_eq!(Clock::Utc.read(&gmt).unwrap(), instant);
            let (earliest, latest) = zone.interpretations(zone.to_wall(instant));
            let read = Clock::Store(zone).read(&wall).unwrap();
            prop_assert!(read == instant || (earliest != latest && read == earliest));
        }
    }
}
