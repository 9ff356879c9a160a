//! Fulfilment: how much of an order its label shipments cover.
//!
//! A split order ships in parts, each under its own label. orderport's model is **the order
//! ships when labels cover every unit of every line**: a label for the whole order
//! ([`ShipmentScope::Complete`]) covers it at once; labels for some items
//! ([`ShipmentScope::Partial`]) add their quantities line by line, and the label that covers
//! the last unit is the one that ships the order. Until then the order keeps its status and no
//! "shipped" event exists. Shipments only *marked* as shipped never count (the seed's rule:
//! only a created label ships an order), so they are not given to a [`Fulfilment`].
//!
//! Items are matched to lines by the line id when the item has one that the order knows, else
//! by SKU (filling the order's lines with that SKU in order). A label listing an item the order
//! does not have, or more units than remain unlabelled, is refused with a [`FulfilmentError`]
//! before anything is sent. A label repeated with the same tracking number counts once.
//!
//! ```
//! use orderport_core::{Fulfilment, LineItem, ShipmentScope, ShippedItem};
//! # use orderport_core::{OrderRef, ShipmentKind, ShipmentUpdate};
//! # use rust_decimal::Decimal;
//! # fn label(tracking: &str, sku: &str, quantity: u32) -> ShipmentUpdate {
//! #     ShipmentUpdate {
//! #         order: OrderRef { external_id: None, order_number: "1001".into() },
//! #         carrier: "USPS".into(), service: None, tracking_number: tracking.into(),
//! #         ship_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
//! #         label_created_at: None, shipping_cost: None, notes_to_buyer: None,
//! #         notify_customer: false,
//! #         scope: ShipmentScope::Partial(vec![ShippedItem {
//! #             line_id: None, sku: sku.into(), name: None, quantity }]),
//! #         kind: ShipmentKind::Label,
//! #     }
//! # }
//! // An order of 2 MUG and 1 TEE (`Fulfilment::new(&order)` for a stored order), shipped in
//! // two labels.
//! let lines = [
//!     LineItem::new("MUG", "Mug", 2, Decimal::TEN),
//!     LineItem::new("TEE", "T-shirt", 1, Decimal::TEN),
//! ];
//! let mut fulfilment = Fulfilment::from_items("1001", &lines);
//! fulfilment.add(&label("1Z1", "MUG", 2))?;
//! assert!(!fulfilment.is_complete());
//! fulfilment.add(&label("1Z2", "TEE", 1))?;
//! assert!(fulfilment.is_complete());
//! // A third label for a MUG would ship more than was ordered.
//! assert!(fulfilment.clone().add(&label("1Z3", "MUG", 1)).is_err());
//! # Ok::<(), orderport_core::FulfilmentError>(())
//! ```

use std::collections::HashSet;

use serde::Serialize;

use crate::order::{LineItem, Order};
use crate::shipment::{ShipmentScope, ShipmentUpdate, ShippedItem};

/// One order line and the units labels cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineFulfilment {
    /// The line's id, where the channel gave one.
    pub line_id: Option<String>,
    /// The SKU.
    pub sku: String,
    /// Units ordered.
    pub ordered: u32,
    /// Units covered by labels, at most `ordered`.
    pub labelled: u32,
}

impl LineFulfilment {
    fn remaining(&self) -> u32 {
        self.ordered.saturating_sub(self.labelled)
    }
}

/// How much of one order its label shipments cover (see the [module](self) for the model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fulfilment {
    order_number: String,
    lines: Vec<LineFulfilment>,
    /// A label for the whole order was added.
    whole: bool,
    /// Tracking numbers of the labels added.
    #[serde(skip)]
    tracking: HashSet<String>,
    /// Labels counted (repeats not included).
    labels: usize,
}

/// What adding a label did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Its items were counted.
    Counted,
    /// A label with the same tracking number was counted before; nothing changed.
    Repeat,
}

/// A label that cannot be counted against the order as stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FulfilmentError {
    /// The label lists an item the order does not have.
    #[error("order {order}: item {sku}{} is not on the order; list only the order's items (by SKU or line id), or sync the order first if it changed", line_id.as_deref().map(|l| format!(" (line {l})")).unwrap_or_default())]
    UnknownItem {
        /// The order number.
        order: String,
        /// The item's SKU.
        sku: String,
        /// The item's line id, if given.
        line_id: Option<String>,
    },
    /// The label ships more units than remain without a label.
    #[error("order {order}: item {sku}: this label ships {shipping} but only {remaining} of {ordered} remain without a label; check the quantities, or push the label again with the same tracking number if it is a repeat")]
    TooMany {
        /// The order number.
        order: String,
        /// The item's SKU.
        sku: String,
        /// Units this label lists.
        shipping: u32,
        /// Units of that item not yet labelled.
        remaining: u32,
        /// Units of that item ordered.
        ordered: u32,
    },
}

impl Fulfilment {
    /// Nothing labelled yet: every line of `order` with its ordered quantity.
    pub fn new(order: &Order) -> Self {
        Self::from_items(&order.order_number, &order.items)
    }

    /// Nothing labelled yet, for the order numbered `order_number` with these lines.
    pub fn from_items(order_number: &str, items: &[LineItem]) -> Self {
        Self {
            order_number: order_number.to_owned(),
            lines: items
                .iter()
                .map(|item| LineFulfilment {
                    line_id: item.line_id.clone(),
                    sku: item.sku.clone(),
                    ordered: item.quantity,
                    labelled: 0,
                })
                .collect(),
            whole: false,
            tracking: HashSet::new(),
            labels: 0,
        }
    }

    /// Counts a label shipment. Nothing changes when it fails.
    pub fn add(&mut self, label: &ShipmentUpdate) -> Result<Added, FulfilmentError> {
        if self.tracking.contains(&label.tracking_number) {
            return Ok(Added::Repeat);
        }
        match &label.scope {
            ShipmentScope::Complete(_) => {
                self.whole = true;
                for line in &mut self.lines {
                    line.labelled = line.ordered;
                }
            }
            ShipmentScope::Partial(items) => {
                let mut lines = self.lines.clone();
                for item in items {
                    self.count(&mut lines, item)?;
                }
                self.lines = lines;
            }
        }
        self.tracking.insert(label.tracking_number.clone());
        self.labels += 1;
        Ok(Added::Counted)
    }

    /// Counts labels recorded earlier, as [`add`](Self::add) but never failing: a label that no
    /// longer fits the order (the channel changed its lines since) covers what it can.
    pub fn absorb<'a>(&mut self, labels: impl IntoIterator<Item = &'a ShipmentUpdate>) {
        for label in labels {
            if self.add(label).is_ok() {
                continue;
            }
            if let ShipmentScope::Partial(items) = &label.scope {
                for item in items {
                    let mut left = item.quantity;
                    for index in self.matching(&self.lines, item) {
                        let line = &mut self.lines[index];
                        let take = left.min(line.remaining());
                        line.labelled += take;
                        left -= take;
                    }
                }
            }
            self.tracking.insert(label.tracking_number.clone());
            self.labels += 1;
        }
    }

    fn count(
        &self,
        lines: &mut [LineFulfilment],
        item: &ShippedItem,
    ) -> Result<(), FulfilmentError> {
        let matching = self.matching(lines, item);
        if matching.is_empty() {
            return Err(FulfilmentError::UnknownItem {
                order: self.order_number.clone(),
                sku: item.sku.clone(),
                line_id: item.line_id.clone(),
            });
        }
        // Sums saturate: quantities come from the channel, and several lines near `u32::MAX`
        // must not overflow.
        let remaining = matching
            .iter()
            .fold(0u32, |sum, &i| sum.saturating_add(lines[i].remaining()));
        if item.quantity > remaining {
            return Err(FulfilmentError::TooMany {
                order: self.order_number.clone(),
                sku: item.sku.clone(),
                shipping: item.quantity,
                remaining,
                ordered: matching
                    .iter()
                    .fold(0u32, |sum, &i| sum.saturating_add(lines[i].ordered)),
            });
        }
        let mut left = item.quantity;
        for index in matching {
            let line = &mut lines[index];
            let take = left.min(line.remaining());
            line.labelled += take;
            left -= take;
        }
        Ok(())
    }

    /// The indexes of the lines an item names: the line with its id when the order knows that
    /// id, else every line with its SKU.
    fn matching(&self, lines: &[LineFulfilment], item: &ShippedItem) -> Vec<usize> {
        if let Some(id) = &item.line_id {
            let by_id: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].line_id.as_deref() == Some(id.as_str()))
                .collect();
            if !by_id.is_empty() {
                return by_id;
            }
        }
        (0..lines.len())
            .filter(|&i| lines[i].sku == item.sku)
            .collect()
    }

    /// True when labels cover the whole order: a label for the whole order, or every unit of
    /// every line. An order without lines is complete only after a label for the whole order.
    pub fn is_complete(&self) -> bool {
        self.whole || (!self.lines.is_empty() && self.lines.iter().all(|l| l.labelled >= l.ordered))
    }

    /// The order's lines with the units labelled.
    pub fn lines(&self) -> &[LineFulfilment] {
        &self.lines
    }

    /// Labels counted (a repeat of a tracking number counts once).
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// Units labelled and units ordered, over all lines (each saturating at `u32::MAX`).
    pub fn units(&self) -> (u32, u32) {
        self.lines.iter().fold((0, 0), |(labelled, ordered), l| {
            (
                labelled.saturating_add(l.labelled),
                ordered.saturating_add(l.ordered),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shipment::{OrderRef, ShipmentKind};
    use proptest::prelude::*;

    fn order(lines: &[(Option<&str>, &str, u32)]) -> Order {
        let mut order = crate::testing::sample_order();
        order.order_number = "1001".into();
        order.items = lines
            .iter()
            .map(|(id, sku, quantity)| {
                let mut item = LineItem::new(*sku, *sku, *quantity, rust_decimal::Decimal::ONE);
                item.line_id = id.map(str::to_owned);
                item
            })
            .collect();
        order
    }

    fn label(tracking: &str, scope: ShipmentScope) -> ShipmentUpdate {
        ShipmentUpdate {
            order: OrderRef {
                external_id: None,
                order_number: "1001".into(),
            },
            carrier: "USPS".into(),
            service: None,
            tracking_number: tracking.into(),
            ship_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
            label_created_at: None,
            shipping_cost: None,
            notes_to_buyer: None,
            notify_customer: false,
            scope,
            kind: ShipmentKind::Label,
        }
    }

    fn item(line_id: Option<&str>, sku: &str, quantity: u32) -> ShippedItem {
        ShippedItem {
            line_id: line_id.map(str::to_owned),
            sku: sku.into(),
            name: None,
            quantity,
        }
    }

    fn part(tracking: &str, items: Vec<ShippedItem>) -> ShipmentUpdate {
        label(tracking, ShipmentScope::Partial(items))
    }

    #[test]
    fn the_order_ships_when_the_last_unit_has_a_label() {
        let order = order(&[(None, "MUG", 2), (None, "TEE", 1)]);
        let mut f = Fulfilment::new(&order);
        assert_eq!(
            f.add(&part("A", vec![item(None, "MUG", 1)])),
            Ok(Added::Counted)
        );
        assert!(!f.is_complete());
        f.add(&part("B", vec![item(None, "TEE", 1), item(None, "MUG", 1)]))
            .unwrap();
        assert!(f.is_complete());
        assert_eq!(f.units(), (3, 3));
        assert_eq!(f.labels(), 2);
    }

    #[test]
    fn a_label_for_the_whole_order_covers_it_at_once() {
        let order = order(&[(None, "MUG", 2), (None, "TEE", 1)]);
        let mut f = Fulfilment::new(&order);
        f.add(&label("A", ShipmentScope::Complete(vec![]))).unwrap();
        assert!(f.is_complete());
        assert_eq!(f.units(), (3, 3));
    }

    #[test]
    fn an_order_without_lines_needs_a_whole_order_label() {
        let empty = order(&[]);
        let mut f = Fulfilment::new(&empty);
        assert!(!f.is_complete());
        assert!(matches!(
            f.add(&part("A", vec![item(None, "MUG", 1)])),
            Err(FulfilmentError::UnknownItem { .. })
        ));
        f.add(&label("B", ShipmentScope::Complete(vec![]))).unwrap();
        assert!(f.is_complete());
    }

    #[test]
    fn a_repeated_tracking_number_counts_once() {
        let order = order(&[(None, "MUG", 2)]);
        let mut f = Fulfilment::new(&order);
        f.add(&part("A", vec![item(None, "MUG", 1)])).unwrap();
        assert_eq!(
            f.add(&part("A", vec![item(None, "MUG", 1)])),
            Ok(Added::Repeat)
        );
        assert!(!f.is_complete(), "a repeat must not ship the order");
        assert_eq!(f.units(), (1, 2));
    }

    #[test]
    fn unknown_items_and_too_many_units_are_refused_and_change_nothing() {
        let order = order(&[(None, "MUG", 2), (None, "TEE", 1)]);
        let mut f = Fulfilment::new(&order);
        let before = f.clone();
        let err = f
            .add(&part("A", vec![item(None, "MUG", 1), item(None, "HAT", 1)]))
            .unwrap_err();
        assert!(matches!(&err, FulfilmentError::UnknownItem { sku, .. } if sku == "HAT"));
        assert!(err.to_string().contains("order 1001") && err.to_string().contains("HAT"));
        assert_eq!(
            f, before,
            "the MUG before the unknown item must not be counted"
        );
        let err = f.add(&part("B", vec![item(None, "MUG", 3)])).unwrap_err();
        assert_eq!(
            err,
            FulfilmentError::TooMany {
                order: "1001".into(),
                sku: "MUG".into(),
                shipping: 3,
                remaining: 2,
                ordered: 2
            }
        );
        assert_eq!(f, before);
    }

    #[test]
    fn line_ids_pick_the_line_and_skus_fill_lines_in_order() {
        // The same SKU on two lines (two prices, say).
        let order = order(&[(Some("L1"), "MUG", 1), (Some("L2"), "MUG", 2)]);
        let mut f = Fulfilment::new(&order);
        f.add(&part("A", vec![item(Some("L2"), "MUG", 2)])).unwrap();
        assert_eq!(f.lines()[0].labelled, 0);
        assert_eq!(f.lines()[1].labelled, 2);
        // By SKU: fills what remains, whichever line it is on.
        f.add(&part("B", vec![item(None, "MUG", 1)])).unwrap();
        assert!(f.is_complete());
        // An unknown line id falls back to the SKU.
        let mut g = Fulfilment::new(&order);
        g.add(&part("C", vec![item(Some("L9"), "MUG", 3)])).unwrap();
        assert!(g.is_complete());
    }

    #[test]
    fn huge_quantities_saturate_instead_of_overflowing() {
        let order = order(&[(None, "MUG", u32::MAX), (None, "MUG", u32::MAX)]);
        let mut f = Fulfilment::new(&order);
        assert_eq!(f.units(), (0, u32::MAX));
        f.add(&part("A", vec![item(None, "MUG", u32::MAX)]))
            .unwrap();
        assert!(!f.is_complete());
        f.add(&part("B", vec![item(None, "MUG", u32::MAX)]))
            .unwrap();
        assert!(f.is_complete());
        assert_eq!(f.units(), (u32::MAX, u32::MAX));
    }

    #[test]
    fn absorbing_old_labels_that_no_longer_fit_covers_what_they_can() {
        let order = order(&[(None, "MUG", 2)]);
        let mut f = Fulfilment::new(&order);
        f.absorb(&[
            part("A", vec![item(None, "MUG", 1), item(None, "GONE", 1)]),
            part("B", vec![item(None, "MUG", 5)]),
        ]);
        assert_eq!(f.units(), (2, 2));
        assert_eq!(f.labels(), 2);
        assert!(f.is_complete());
    }

    proptest! {
        /// Whatever way the units are split over labels (in any order, with repeats), the order
        /// is complete exactly when every unit got a label, and never before.
        #[test]
        fn complete_exactly_when_every_unit_is_labelled(
            quantities in proptest::collection::vec(1u32..4, 1..5),
            cuts in proptest::collection::vec(0usize..100, 0..12),
            repeat in any::<bool>(),
        ) {
            let lines: Vec<(Option<&str>, String, u32)> = quantities
                .iter()
                .enumerate()
                .map(|(i, q)| (None, format!("SKU{i}"), *q))
                .collect();
            let borrowed: Vec<(Option<&str>, &str, u32)> =
                lines.iter().map(|(id, s, q)| (*id, s.as_str(), *q)).collect();
            let order = order(&borrowed);
            // Every unit as its own (sku) entry, then cut into consecutive labels.
            let units: Vec<String> = lines
                .iter()
                .flat_map(|(_, s, q)| std::iter::repeat_n(s.clone(), *q as usize))
                .collect();
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c % units.len()).collect();
            bounds.push(0);
            bounds.push(units.len());
            bounds.sort_unstable();
            bounds.dedup();
            let mut f = Fulfilment::new(&order);
            for (n, pair) in bounds.windows(2).enumerate() {
                prop_assert!(!f.is_complete());
                let items = units[pair[0]..pair[1]]
                    .iter()
                    .map(|s| item(None, s, 1))
                    .collect();
                let l = part(&format!("T{n}"), items);
                prop_assert_eq!(f.add(&l), Ok(Added::Counted));
                if repeat {
                    prop_assert_eq!(f.add(&l), Ok(Added::Repeat));
                }
            }
            prop_assert!(f.is_complete());
            let total: u32 = quantities.iter().sum();
            prop_assert_eq!(f.units(), (total, total));
            // One more unit of anything is too many.
            prop_assert!(
                matches!(
                    f.add(&part("extra", vec![item(None, "SKU0", 1)])),
                    Err(FulfilmentError::TooMany { .. })
                ),
                "one more unit must be refused"
            );
        }
    }
}
