//! Status changes made in the shipping platform itself: a hold until a date, an order marked
//! as paid, an order cancelled. The channel knows nothing of them, so the state keeps each as a
//! [`PlatformMark`] on the order, and the rules here decide what a channel report that arrives
//! later does to it. The rules live in this one place; the engine applies them, the backends
//! only store the mark.
//!
//! # Precedence
//!
//! | mark | channel reports | stored status | mark after |
//! |---|---|---|---|
//! | hold until T | `shipped` or `cancelled` | the report | cleared |
//! | hold until T | anything else | `on_hold` | kept |
//! | paid | `awaiting_payment` (the channel lags) | `awaiting_shipment` | kept |
//! | paid | anything else | the report | cleared |
//! | cancelled | anything | `cancelled` | kept |
//!
//! A hold that lapses returns the order to `awaiting_shipment` with one event, written by the
//! next run of the store ([`crate::SyncEngine::expire_holds`]). A label shipment clears any
//! mark: the order is shipped.
//!
//! Each action writes exactly one event when it changes the order's status, and none when it
//! repeats (a second `mark-paid`, a second `cancel`, a hold extended to a new date). An action
//! the order's status does not allow is refused with a [`PlatformRefusal`], and nothing is
//! written.

use chrono::{DateTime, Utc};
use orderport_core::CanonicalStatus;
use serde::Serialize;

/// A status the shipping platform set on an order, kept against the channel's later reports
/// (see the module's precedence table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "mark", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlatformMark {
    /// Put on hold with the Hold action until `until`, then back to awaiting shipment.
    Hold {
        /// When the hold lapses.
        until: DateTime<Utc>,
    },
    /// Marked as paid: awaiting shipment, whatever the channel still says about payment.
    Paid,
    /// Cancelled in the platform.
    Cancelled,
}

impl PlatformMark {
    /// `hold`, `paid` or `cancelled`, as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Hold { .. } => "hold",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
        }
    }

    /// When a hold lapses; `None` for the other marks.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Hold { until } => Some(*until),
            Self::Paid | Self::Cancelled => None,
        }
    }

    /// A stored mark, read back from [`PlatformMark::as_str`] and the hold's end; `None` when
    /// the text names no mark or a hold has no end.
    pub fn from_stored(text: &str, until: Option<DateTime<Utc>>) -> Option<Self> {
        match (text, until) {
            ("hold", Some(until)) => Some(Self::Hold { until }),
            ("paid", _) => Some(Self::Paid),
            ("cancelled", _) => Some(Self::Cancelled),
            _ => None,
        }
    }

    /// What a channel report of `reported` does to an order with `mark`: the status to store
    /// and the mark it keeps (the module's precedence table).
    pub fn absorb(
        mark: Option<Self>,
        reported: CanonicalStatus,
    ) -> (CanonicalStatus, Option<Self>) {
        use CanonicalStatus::*;
        match (mark, reported) {
            (None, reported) => (reported, None),
            (Some(Self::Hold { .. }), Shipped | Cancelled) => (reported, None),
            (Some(hold @ Self::Hold { .. }), _) => (OnHold, Some(hold)),
            (Some(Self::Paid), AwaitingPayment) => (AwaitingShipment, Some(Self::Paid)),
            (Some(Self::Paid), reported) => (reported, None),
            (Some(Self::Cancelled), _) => (Cancelled, Some(Self::Cancelled)),
        }
    }
}

/// An action taken in the shipping platform on a stored order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlatformAction {
    /// The Hold action: on hold until `until`, then back to awaiting shipment by itself.
    Hold {
        /// When the hold lapses.
        until: DateTime<Utc>,
    },
    /// Mark as paid: awaiting payment becomes awaiting shipment.
    MarkPaid,
    /// Cancel the order.
    Cancel,
}

/// What an allowed action does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformEffect {
    /// The order's status after the action.
    pub status: CanonicalStatus,
    /// The order's mark after the action.
    pub mark: Option<PlatformMark>,
}

/// Why an action is refused for an order in its current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} is not allowed for an order that is {status}{hint}")]
pub struct PlatformRefusal {
    /// The action (`hold`, `mark-paid`, `cancel`).
    pub action: &'static str,
    /// The order's status.
    pub status: CanonicalStatus,
    /// What to do instead, with a leading separator; may be empty.
    pub hint: &'static str,
}

impl PlatformAction {
    /// The action's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hold { .. } => "hold",
            Self::MarkPaid => "mark-paid",
            Self::Cancel => "cancel",
        }
    }

    /// What the action does to an order of `status` with `mark`, or why it is refused. The
    /// effect's status equal to `status` means the action repeats an earlier one: it writes no
    /// event (a hold's new end is still stored).
    ///
    /// - hold: from `awaiting_shipment`; an order on a platform hold gets the new end.
    /// - mark-paid: from `awaiting_payment`; an order already marked paid is unchanged.
    /// - cancel: from anything but `shipped`; a cancelled order is unchanged.
    pub fn apply(
        &self,
        status: CanonicalStatus,
        mark: Option<PlatformMark>,
    ) -> Result<PlatformEffect, PlatformRefusal> {
        use CanonicalStatus::*;
        let refuse = |hint| PlatformRefusal {
            action: self.name(),
            status,
            hint,
        };
        match (self, status, mark) {
            (Self::Hold { until }, AwaitingShipment, _)
            | (Self::Hold { until }, OnHold, Some(PlatformMark::Hold { .. })) => {
                Ok(PlatformEffect {
                    status: OnHold,
                    mark: Some(PlatformMark::Hold { until: *until }),
                })
            }
            (Self::Hold { .. }, OnHold, _) => {
                Err(refuse("; the channel holds it: release it there first"))
            }
            (Self::Hold { .. }, AwaitingPayment, _) => {
                Err(refuse("; mark it paid first, then hold it"))
            }
            (Self::Hold { .. }, _, _) => Err(refuse("")),
            (Self::MarkPaid, AwaitingPayment, _)
            | (Self::MarkPaid, AwaitingShipment, Some(PlatformMark::Paid)) => Ok(PlatformEffect {
                status: AwaitingShipment,
                mark: Some(PlatformMark::Paid),
            }),
            (Self::MarkPaid, _, _) => Err(refuse(
                "; only an order awaiting payment can be marked paid",
            )),
            (Self::Cancel, Shipped, _) => Err(refuse("; void its label first")),
            (Self::Cancel, Cancelled, mark) => Ok(PlatformEffect {
                status: Cancelled,
                mark,
            }),
            (Self::Cancel, _, _) => Ok(PlatformEffect {
                status: Cancelled,
                mark: Some(PlatformMark::Cancelled),
            }),
        }
    }
}

/// What a recorded platform action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PlatformOutcome {
    /// The order's number.
    pub order_number: String,
    /// The channel's id for it.
    pub external_id: String,
    /// Its status before.
    pub from: CanonicalStatus,
    /// Its status after.
    pub to: CanonicalStatus,
    /// Its mark after.
    pub mark: Option<PlatformMark>,
    /// The event written, if the status changed (a repeat writes none).
    pub event_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use CanonicalStatus::*;

    fn until() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap()
    }

    fn status() -> impl Strategy<Value = CanonicalStatus> {
        prop::sample::select(CanonicalStatus::ALL.to_vec())
    }

    fn mark() -> impl Strategy<Value = Option<PlatformMark>> {
        prop::sample::select(vec![
            None,
            Some(PlatformMark::Hold { until: until() }),
            Some(PlatformMark::Paid),
            Some(PlatformMark::Cancelled),
        ])
    }

    fn action() -> impl Strategy<Value = PlatformAction> {
        prop::sample::select(vec![
            PlatformAction::Hold { until: until() },
            PlatformAction::MarkPaid,
            PlatformAction::Cancel,
        ])
    }

    #[test]
    fn the_precedence_table_holds() {
        let hold = Some(PlatformMark::Hold { until: until() });
        assert_eq!(PlatformMark::absorb(hold, AwaitingShipment), (OnHold, hold));
        assert_eq!(PlatformMark::absorb(hold, AwaitingPayment), (OnHold, hold));
        assert_eq!(PlatformMark::absorb(hold, Shipped), (Shipped, None));
        assert_eq!(PlatformMark::absorb(hold, Cancelled), (Cancelled, None));
        let paid = Some(PlatformMark::Paid);
        assert_eq!(
            PlatformMark::absorb(paid, AwaitingPayment),
            (AwaitingShipment, paid)
        );
        assert_eq!(
            PlatformMark::absorb(paid, AwaitingShipment),
            (AwaitingShipment, None)
        );
        assert_eq!(PlatformMark::absorb(paid, OnHold), (OnHold, None));
        let cancelled = Some(PlatformMark::Cancelled);
        for reported in CanonicalStatus::ALL {
            assert_eq!(
                PlatformMark::absorb(cancelled, reported),
                (Cancelled, cancelled)
            );
            assert_eq!(PlatformMark::absorb(None, reported), (reported, None));
        }
    }

    #[test]
    fn actions_change_what_their_status_allows_and_refuse_the_rest() {
        let hold = PlatformAction::Hold { until: until() };
        assert_eq!(hold.apply(AwaitingShipment, None).unwrap().status, OnHold);
        assert!(hold.apply(Shipped, None).is_err());
        assert!(hold.apply(Cancelled, None).is_err());
        let refused = hold.apply(AwaitingPayment, None).unwrap_err().to_string();
        assert!(refused.contains("mark it paid first"), "{refused}");
        assert!(hold.apply(OnHold, None).is_err(), "the channel's own hold");
        assert_eq!(
            PlatformAction::MarkPaid
                .apply(AwaitingPayment, None)
                .unwrap()
                .status,
            AwaitingShipment
        );
        assert!(PlatformAction::MarkPaid
            .apply(AwaitingShipment, None)
            .is_err());
        assert!(PlatformAction::Cancel.apply(Shipped, None).is_err());
        assert_eq!(
            PlatformAction::Cancel.apply(OnHold, None).unwrap().mark,
            Some(PlatformMark::Cancelled)
        );
    }

    #[test]
    fn a_second_hold_moves_the_end_without_a_status_change() {
        let later = until() + chrono::Duration::days(2);
        let effect = PlatformAction::Hold { until: later }
            .apply(OnHold, Some(PlatformMark::Hold { until: until() }))
            .unwrap();
        assert_eq!(effect.status, OnHold);
        assert_eq!(effect.mark, Some(PlatformMark::Hold { until: later }));
    }

    proptest! {
        /// An action applied twice changes the status at most once: the repeat is
        /// idempotent (same status, no second event), or refused.
        #[test]
        fn repeating_an_action_never_changes_the_status_again(
            action in action(), status in status(), mark in mark(),
        ) {
            if let Ok(first) = action.apply(status, mark) {
                let second = action.apply(first.status, first.mark).unwrap();
                prop_assert_eq!(second.status, first.status);
                prop_assert_eq!(second.mark, first.mark);
            }
        }

        /// A channel report never rolls a platform status back: whatever it says, an order
        /// marked paid is not stored as awaiting payment, a held order is not stored as
        /// awaiting shipment or payment, and a cancelled one stays cancelled. The mark kept
        /// always agrees with the stored status.
        #[test]
        fn a_channel_report_never_rolls_a_platform_status_back(
            mark in mark(), reported in status(),
        ) {
            let (stored, kept) = PlatformMark::absorb(mark, reported);
            match mark {
                Some(PlatformMark::Paid) => prop_assert_ne!(stored, AwaitingPayment),
                Some(PlatformMark::Hold { .. }) => {
                    prop_assert!(!matches!(stored, AwaitingShipment | AwaitingPayment));
                }
                Some(PlatformMark::Cancelled) => prop_assert_eq!(stored, Cancelled),
                None => prop_assert_eq!(stored, reported),
            }
            if let Some(kept) = kept {
                let expected = match kept {
                    PlatformMark::Hold { .. } => OnHold,
                    PlatformMark::Paid => AwaitingShipment,
                    PlatformMark::Cancelled => Cancelled,
                };
                prop_assert_eq!(stored, expected);
            }
        }
    }
}
