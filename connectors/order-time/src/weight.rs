//! An order's total weight from its items, for a Custom Store export that weighs every item but
//! not the order.
//!
//! Seed 004 says the order's total weight is imported. The published Custom Store schema has no
//! order weight (only `Item/Weight`), so when the export carries no `<Weight>` (or
//! `<TotalWeight>`) on the order, the total is derived: the sum of each item's weight times its
//! quantity. It is derived only when every item has a weight; one unweighed item leaves the total
//! unknown rather than too light.
//!
//! The unit: the items' unit when they share one; ounces when they mix pounds and ounces; grams
//! when they mix grams and kilograms, or metric and imperial units (1 lb = 453.59237 g and
//! 1 oz = 28.349523125 g exactly, so nothing is rounded).

use orderport_core::{LineItem, Weight, WeightUnit};
use rust_decimal::Decimal;

/// The sum of the items' weights times their quantities, or `None` when an item has no weight,
/// there is no item, or the sum overflows.
pub fn total_of_items(items: &[LineItem]) -> Option<Weight> {
    let weights: Vec<(Weight, u32)> = items
        .iter()
        .map(|item| item.weight.map(|w| (w, item.quantity)))
        .collect::<Option<_>>()?;
    let first = weights.first()?.0.unit;
    let unit = if weights.iter().all(|(w, _)| w.unit == first) {
        first
    } else if weights.iter().all(|(w, _)| imperial(w.unit)) {
        WeightUnit::Ounces
    } else {
        WeightUnit::Grams
    };
    let mut total = Decimal::ZERO;
    for (weight, quantity) in weights {
        let value = convert(weight, unit)?.checked_mul(Decimal::from(quantity))?;
        total = total.checked_add(value)?;
    }
    Some(Weight {
        value: total.normalize(),
        unit,
    })
}

fn imperial(unit: WeightUnit) -> bool {
    matches!(unit, WeightUnit::Pounds | WeightUnit::Ounces)
}

/// Grams in one of `unit` (exact by definition).
fn grams_per(unit: WeightUnit) -> Decimal {
    match unit {
        WeightUnit::Grams => Decimal::ONE,
        WeightUnit::Kilograms => Decimal::from(1000),
        WeightUnit::Pounds => Decimal::new(45_359_237, 5),
        WeightUnit::Ounces => Decimal::new(28_349_523_125, 9),
    }
}

/// `weight` in `unit`: ounces from pounds (× 16), or grams from anything.
fn convert(weight: Weight, unit: WeightUnit) -> Option<Decimal> {
    match (weight.unit, unit) {
        (from, to) if from == to => Some(weight.value),
        (WeightUnit::Pounds, WeightUnit::Ounces) => weight.value.checked_mul(Decimal::from(16)),
        (from, WeightUnit::Grams) => weight.value.checked_mul(grams_per(from)),
        // `total_of_items` converts to ounces only from pounds, and otherwise to grams.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;

    fn item(value: &str, unit: Option<WeightUnit>, quantity: u32) -> LineItem {
        LineItem {
            line_id: None,
            sku: "SKU".into(),
            name: "Item".into(),
            quantity,
            unit_price: Decimal::ONE,
            weight: unit.map(|unit| Weight {
                value: value.parse().unwrap(),
                unit,
            }),
            image_url: None,
            options: Vec::new(),
            location: None,
            upc: None,
        }
    }

    fn weight(value: &str, unit: WeightUnit) -> Option<Weight> {
        Some(Weight {
            value: value.parse().unwrap(),
            unit,
        })
    }

    #[test]
    fn items_of_one_unit_keep_it() {
        let items = [
            item("10", Some(WeightUnit::Ounces), 2),
            item("3.5", Some(WeightUnit::Ounces), 1),
        ];
        assert_eq!(total_of_items(&items), weight("23.5", WeightUnit::Ounces));
        let items = [item("1.25", Some(WeightUnit::Pounds), 3)];
        assert_eq!(total_of_items(&items), weight("3.75", WeightUnit::Pounds));
    }

    #[test]
    fn pounds_and_ounces_add_up_in_ounces() {
        let items = [
            item("0.63", Some(WeightUnit::Pounds), 1),
            item("6", Some(WeightUnit::Ounces), 2),
        ];
        assert_eq!(total_of_items(&items), weight("22.08", WeightUnit::Ounces));
    }

    #[test]
    fn metric_or_mixed_systems_add_up_in_grams() {
        let items = [
            item("1.5", Some(WeightUnit::Kilograms), 1),
            item("250", Some(WeightUnit::Grams), 2),
        ];
        assert_eq!(total_of_items(&items), weight("2000", WeightUnit::Grams));
        let items = [
            item("1", Some(WeightUnit::Pounds), 1),
            item("1", Some(WeightUnit::Ounces), 1),
            item("1", Some(WeightUnit::Grams), 1),
        ];
        assert_eq!(
            total_of_items(&items),
            weight("482.941893125", WeightUnit::Grams)
        );
    }

    #[test]
    fn one_unweighed_item_leaves_the_total_unknown() {
        let items = [item("10", Some(WeightUnit::Ounces), 1), item("0", None, 1)];
        assert_eq!(total_of_items(&items), None);
        assert_eq!(total_of_items(&[]), None);
    }

    #[test]
    fn an_overflowing_sum_is_unknown_not_a_panic() {
        let items = [item(
            "79228162514264337593543950335",
            Some(WeightUnit::Pounds),
            2,
        )];
        assert_eq!(total_of_items(&items), None);
    }

    fn unit() -> impl Strategy<Value = WeightUnit> {
        prop_oneof![
            Just(WeightUnit::Pounds),
            Just(WeightUnit::Ounces),
            Just(WeightUnit::Grams),
            Just(WeightUnit::Kilograms),
        ]
    }

    proptest! {
        /// Whatever the units and the order of the lines, the total is the sum of each line in
        /// grams, and reordering the lines changes nothing.
        #[test]
        fn the_total_is_the_sum_of_the_lines_in_any_order(
            lines in prop::collection::vec((0u32..100_000, unit(), 1u32..50), 1..6)
        ) {
            let items: Vec<LineItem> = lines
                .iter()
                .map(|(centi, unit, qty)| item(&Decimal::new(i64::from(*centi), 2).to_string(), Some(*unit), *qty))
                .collect();
            let total = total_of_items(&items).unwrap();
            let expected: Decimal = lines
                .iter()
                .map(|(centi, unit, qty)| Decimal::new(i64::from(*centi), 2) * grams_per(*unit) * Decimal::from(*qty))
                .sum();
            prop_assert_eq!(total.value * grams_per(total.unit), expected);
            let mut reversed = items.clone();
            reversed.reverse();
            prop_assert_eq!(total_of_items(&reversed), Some(total));
        }
    }
}
