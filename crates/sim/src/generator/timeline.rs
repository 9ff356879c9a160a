//! Order timelines: placed → paid → maybe on hold → shipped or cancelled, with event times.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, RngExt};

/// The five canonical states, as the simulator thinks of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Canonical {
    AwaitingPayment,
    AwaitingShipment,
    OnHold,
    Shipped,
    Cancelled,
}

impl Canonical {
    /// In the order of [`crate::StatusMix`]'s weights.
    pub const ALL: [Canonical; 5] = [
        Canonical::AwaitingPayment,
        Canonical::AwaitingShipment,
        Canonical::OnHold,
        Canonical::Shipped,
        Canonical::Cancelled,
    ];
}

/// One step of a timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The buyer placed the order; not yet paid.
    Placed,
    /// Payment arrived.
    Paid,
    /// Someone put the order on hold.
    OnHold,
    /// The hold was lifted.
    Released,
    /// The order shipped.
    Shipped,
    /// The order was cancelled.
    Cancelled,
}

impl Stage {
    /// The state the order is in after this step.
    pub fn status(self) -> Canonical {
        match self {
            Stage::Placed => Canonical::AwaitingPayment,
            Stage::Paid | Stage::Released => Canonical::AwaitingShipment,
            Stage::OnHold => Canonical::OnHold,
            Stage::Shipped => Canonical::Shipped,
            Stage::Cancelled => Canonical::Cancelled,
        }
    }
}

/// A random duration between `lo` and `hi` seconds, plus milliseconds, so that event times
/// carry the sub-second part real databases store.
fn after(rng: &mut impl Rng, lo: i64, hi: i64) -> Duration {
    Duration::seconds(rng.random_range(lo..hi)) + Duration::milliseconds(rng.random_range(0..1000))
}

/// How long payment takes: most clear at once (a card at checkout), the rest in hours or days.
fn payment_delay(rng: &mut impl Rng) -> (i64, i64) {
    if rng.random_bool(0.75) {
        (5, 5 * MINUTE)
    } else {
        (30 * MINUTE, 2 * DAY)
    }
}

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// A timeline being built.
struct Timeline<'r, R> {
    events: Vec<(DateTime<Utc>, Stage)>,
    rng: &'r mut R,
}

impl<R: Rng> Timeline<'_, R> {
    /// Adds `stage` between `lo` and `hi` seconds after the last event.
    fn then(&mut self, (lo, hi): (i64, i64), stage: Stage) {
        let last = self.events.last().map_or(DateTime::UNIX_EPOCH, |(t, _)| *t);
        let at = last + after(self.rng, lo, hi);
        self.events.push((at, stage));
    }

    fn paid(&mut self) {
        let delay = payment_delay(self.rng);
        self.then(delay, Stage::Paid);
    }
}

/// The timeline of an order placed at `placed` that ends in `last`.
pub(crate) fn build(
    placed: DateTime<Utc>,
    last: Canonical,
    rng: &mut impl Rng,
) -> Vec<(DateTime<Utc>, Stage)> {
    let mut t = Timeline {
        events: vec![(placed, Stage::Placed)],
        rng,
    };
    match last {
        Canonical::AwaitingPayment => {}
        Canonical::AwaitingShipment => t.paid(),
        Canonical::OnHold => {
            t.paid();
            t.then((HOUR, 36 * HOUR), Stage::OnHold);
        }
        Canonical::Shipped => {
            t.paid();
            if t.rng.random_bool(0.15) {
                t.then((HOUR, 36 * HOUR), Stage::OnHold);
                t.then((2 * HOUR, 3 * DAY), Stage::Released);
            }
            t.then((2 * HOUR, 4 * DAY), Stage::Shipped);
        }
        Canonical::Cancelled => {
            if t.rng.random_bool(0.5) {
                t.paid();
            }
            t.then((HOUR, 3 * DAY), Stage::Cancelled);
        }
    }
    t.events
}
