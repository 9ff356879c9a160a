//! The deterministic order generator: how many orders, when they were placed, the timeline each
//! one follows, and which ones are invalid.
//!
//! Everything comes from a [`ChaCha8Rng`] seeded with the configuration's seed and the store's
//! number, so the same configuration and the same clock start give the same orders. Each order
//! carries its own seed, from which its details (customer, address, items) are drawn again
//! whenever it is rendered, so that 100,000 orders take a few megabytes.

mod catalog;
mod details;
mod timeline;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) use details::{Address, Details};
pub(crate) use timeline::{Canonical, Stage};

/// Days of orders generated after the clock's start, so that advancing the clock reveals new
/// orders as well as new states of old ones.
pub const FUTURE_DAYS: u32 = 7;

/// What the generator makes.
#[derive(Clone, Debug)]
pub struct GeneratorConfig {
    /// The seed: the same seed (and clock start) gives the same orders.
    pub seed: u64,
    /// How many stores the simulator serves (0 is taken as 1).
    pub stores: usize,
    /// Orders placed per day in each store, on average.
    pub orders_per_day: u32,
    /// Days of history before the clock's time at start. Orders are also placed for
    /// [`FUTURE_DAYS`] after it; they appear as the clock advances.
    pub days: u32,
    /// The relative weights of the states orders end in.
    pub status_mix: StatusMix,
    /// The store server's time zone: dates are written, and query bounds read, in it.
    pub timezone: Tz,
    /// The share of orders, from 0 to 1 (values outside are clamped), that a connector must
    /// reject: no ship-to address, a country or state written as a name (`USA`,
    /// `United States`, `California`), or a status in no default mapping.
    pub invalid_share: f64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            stores: 1,
            orders_per_day: 20,
            days: 90,
            status_mix: StatusMix::default(),
            timezone: Tz::UTC,
            invalid_share: 0.05,
        }
    }
}

/// The relative weights of the final states of orders. An order gets there through its
/// timeline, so an order placed shortly before the clock's time may not have arrived yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusMix {
    /// Never paid.
    pub awaiting_payment: u32,
    /// Paid, not shipped.
    pub awaiting_shipment: u32,
    /// Paid, then put on hold.
    pub on_hold: u32,
    /// Shipped (some after a hold).
    pub shipped: u32,
    /// Cancelled (some after payment).
    pub cancelled: u32,
}

impl Default for StatusMix {
    /// `5,15,5,70,5`: most of a 90-day history has shipped.
    fn default() -> Self {
        Self {
            awaiting_payment: 5,
            awaiting_shipment: 15,
            on_hold: 5,
            shipped: 70,
            cancelled: 5,
        }
    }
}

/// A status mix that is not five non-negative integers with a positive sum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a status mix; write five weights for awaiting_payment,awaiting_shipment,on_hold,shipped,cancelled, such as \"10,50,5,30,5\"")]
pub struct ParseStatusMixError(pub String);

impl FromStr for StatusMix {
    type Err = ParseStatusMixError;

    /// Reads `awaiting_payment,awaiting_shipment,on_hold,shipped,cancelled`, such as
    /// `10,50,5,30,5`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseStatusMixError(text.to_owned());
        let weights: Vec<u32> = text
            .split(',')
            .map(|part| part.trim().parse::<u32>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let [awaiting_payment, awaiting_shipment, on_hold, shipped, cancelled] =
            <[u32; 5]>::try_from(weights).map_err(|_| bad())?;
        let mix = Self {
            awaiting_payment,
            awaiting_shipment,
            on_hold,
            shipped,
            cancelled,
        };
        if mix.weights().iter().all(|w| *w == 0) {
            return Err(bad());
        }
        Ok(mix)
    }
}

impl fmt::Display for StatusMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e] = self.weights();
        write!(f, "{a},{b},{c},{d},{e}")
    }
}

impl StatusMix {
    fn weights(&self) -> [u32; 5] {
        [
            self.awaiting_payment,
            self.awaiting_shipment,
            self.on_hold,
            self.shipped,
            self.cancelled,
        ]
    }

    /// A final state drawn by weight; all-zero weights fall back to the default mix.
    fn draw(&self, rng: &mut impl Rng) -> Canonical {
        let weights = if self.weights().iter().all(|w| *w == 0) {
            StatusMix::default().weights()
        } else {
            self.weights()
        };
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut pick = rng.random_range(0..total);
        for (weight, status) in weights.iter().zip(Canonical::ALL) {
            if pick < u64::from(*weight) {
                return status;
            }
            pick -= u64::from(*weight);
        }
        Canonical::Shipped
    }
}

/// Why an order must be rejected by the connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// No ship-to address at all.
    MissingShipTo,
    /// The country written as a name or a three-letter code (`USA`, `United States`).
    CountryName,
    /// The state written as its full name (`California`).
    StateName,
    /// A status in no default mapping.
    UnmappedStatus,
}

impl Invalid {
    const ALL: [Invalid; 4] = [
        Invalid::MissingShipTo,
        Invalid::CountryName,
        Invalid::StateName,
        Invalid::UnmappedStatus,
    ];
}

/// One generated order: its identity, its timeline and the seed of its details.
#[derive(Clone, Debug)]
pub(crate) struct SimOrder {
    /// The number people see (`OrderNumber`, or Order Time's `DocNo`).
    pub number: String,
    /// The channel's internal id (`OrderID`); for Order Time the same as the number.
    pub id: String,
    /// The timeline, in time order; the first event is the placement.
    pub events: Vec<(DateTime<Utc>, Stage)>,
    /// Why the order is invalid, if it is.
    pub invalid: Option<Invalid>,
    /// The seed its details are drawn from.
    pub seed: u64,
}

impl SimOrder {
    /// When it was placed.
    pub fn placed_at(&self) -> DateTime<Utc> {
        self.events
            .first()
            .map_or(DateTime::UNIX_EPOCH, |(at, _)| *at)
    }

    /// Its details, drawn from its seed.
    pub fn details(&self, flavor: crate::Flavor) -> Details {
        details::draw(self.seed, flavor, self.invalid)
    }
}

/// The orders of store `index` (from 0), sorted by placement, numbered in that order.
pub(crate) fn generate_store(
    config: &GeneratorConfig,
    flavor: crate::Flavor,
    index: usize,
    anchor: DateTime<Utc>,
) -> Vec<SimOrder> {
    let mut rng = ChaCha8Rng::seed_from_u64(
        config.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let tz = config.timezone;
    let start = anchor - Duration::days(i64::from(config.days));
    let end = anchor + Duration::days(i64::from(FUTURE_DAYS));
    let mut placements: Vec<(DateTime<Utc>, u64)> = Vec::new();
    let first_day = start.with_timezone(&tz).date_naive() - Duration::days(1);
    let last_day = end.with_timezone(&tz).date_naive() + Duration::days(1);
    let mut day = first_day;
    while day <= last_day {
        let mut times: Vec<DateTime<Utc>> = (0..config.orders_per_day)
            .map(|_| local_to_utc(tz, day.and_time(local_time(&mut rng))))
            .collect();
        if let Some(change) = offset_change(tz, day) {
            // Two orders straddle the DST change, so that windows across it are exercised.
            for (slot, sign) in times.iter_mut().zip([-1i64, 1]) {
                *slot = change + Duration::seconds(sign * rng.random_range(60..3000));
            }
        }
        placements.extend(times.into_iter().map(|t| (t, rng.random::<u64>())));
        day += Duration::days(1);
    }
    placements.retain(|(t, _)| *t >= start && *t < end);
    placements.sort();
    let invalid_share = if config.invalid_share.is_nan() {
        0.0
    } else {
        config.invalid_share.clamp(0.0, 1.0)
    };
    placements
        .into_iter()
        .enumerate()
        .map(|(seq, (placed, seed))| {
            let mut order_rng = ChaCha8Rng::seed_from_u64(seed);
            let final_state = config.status_mix.draw(&mut order_rng);
            let events = timeline::build(placed, final_state, &mut order_rng);
            let invalid = order_rng
                .random_bool(invalid_share)
                .then(|| Invalid::ALL[order_rng.random_range(0..Invalid::ALL.len())]);
            let (number, id) = identity(flavor, index, seq, seed);
            SimOrder {
                number,
                id,
                events,
                invalid,
                seed,
            }
        })
        .collect()
}

/// The order number and internal id of the `seq`-th order of store `index`.
fn identity(flavor: crate::Flavor, index: usize, seq: usize, seed: u64) -> (String, String) {
    let store = index + 1;
    match flavor {
        crate::Flavor::SparkShipping => {
            let number = (store * 1_000_000 + 1001 + seq).to_string();
            let id = format!("SP-{number}");
            (number, id)
        }
        crate::Flavor::ListingMirror => {
            // Marketplace order ids, in Amazon's 3-7-7 shape; Listing Mirror's own id inside.
            let number = format!("11{store}-{:07}-{:07}", seq % 10_000_000, seed % 10_000_000);
            let id = (store * 10_000_000 + 500_001 + seq).to_string();
            (number, id)
        }
        crate::Flavor::OrderTime => {
            let doc_no = (1001 + seq).to_string();
            (doc_no.clone(), doc_no)
        }
    }
}

/// A wall-clock time of day: 15 % late in the evening (21:00–23:59), the rest at any time.
fn local_time(rng: &mut impl Rng) -> NaiveTime {
    let seconds = if rng.random_bool(0.15) {
        rng.random_range(21 * 3600..24 * 3600)
    } else {
        rng.random_range(0..24 * 3600)
    };
    NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or(NaiveTime::MIN)
}

/// A wall-clock time as an instant: the earlier one when it is repeated, and for a skipped time
/// the instant as far after the gap as the wall clock said (the offset before the gap).
pub(crate) fn local_to_utc(tz: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&wall) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            let before = tz
                .offset_from_utc_datetime(&(wall - Duration::hours(26)))
                .fix();
            wall.and_utc() - Duration::seconds(i64::from(before.local_minus_utc()))
        }
    }
}

/// The instant the zone's offset changes during local day `day`, if it does.
fn offset_change(tz: Tz, day: NaiveDate) -> Option<DateTime<Utc>> {
    let start = local_to_utc(tz, day.and_time(NaiveTime::MIN));
    let end = start + Duration::hours(24);
    let offset = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    if offset(start) == offset(end) {
        return None;
    }
    // Whole seconds: offsets change on the second.
    let (mut lo, mut hi) = (start.timestamp(), end.timestamp());
    let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or(start);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset(at(mid)) == offset(start) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(at(hi))
}

#[cfg(test)]
mod tests;
