//! One `<Item>` being read: a line of goods, or, with `Adjustment=true`, a discount.

use orderport_core::{
    Discount, ItemOption, LineItem, ReasonCode, RejectionReason, Weight, WeightUnit,
};
use rust_decimal::Decimal;

use super::values::{self, Slot};
use super::vocabulary::{ItemField, OptionField};

/// The values read so far for one item. Reasons carry paths relative to the item (`quantity`);
/// the order prefixes them once it knows whether the line is an item or a discount.
#[derive(Debug, Default)]
pub(crate) struct ItemDraft {
    line_id: Option<String>,
    sku: Option<String>,
    name: Option<String>,
    image_url: Option<String>,
    location: Option<String>,
    upc: Option<String>,
    weight_units: Option<String>,
    quantity: Slot<u32>,
    unit_price: Slot<Decimal>,
    weight: Slot<Decimal>,
    adjustment: Slot<bool>,
    options: Vec<ItemOption>,
    option: OptionDraft,
    reasons: Vec<RejectionReason>,
}

/// What an `<Item>` turned out to be.
#[derive(Debug)]
pub(crate) enum ItemLine {
    /// Goods.
    Item(LineItem),
    /// An adjustment line: a discount or coupon.
    Discount(Discount),
}

/// One `<Option>` being read.
#[derive(Debug, Default)]
struct OptionDraft {
    name: Option<String>,
    value: Option<String>,
}

/// Stores a value's text: `None` when empty.
pub(crate) fn owned(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// Reads a typed value into its slot; empty text leaves the slot absent.
pub(crate) fn read_into<T>(
    slot: &mut Slot<T>,
    text: &str,
    reasons: &mut Vec<RejectionReason>,
    read: impl FnOnce(&str) -> Result<T, RejectionReason>,
) {
    if text.is_empty() {
        *slot = Slot::Absent;
    } else {
        slot.record(read(text), reasons);
    }
}

impl ItemDraft {
    /// Records the text of one of the item's values.
    pub(crate) fn apply(&mut self, field: ItemField, text: &str) {
        let reasons = &mut self.reasons;
        match field {
            ItemField::LineItemId => self.line_id = owned(text),
            ItemField::Sku => self.sku = owned(text),
            ItemField::Name => self.name = owned(text),
            ItemField::ImageUrl => self.image_url = owned(text),
            ItemField::Location => self.location = owned(text),
            ItemField::Upc => self.upc = owned(text),
            ItemField::WeightUnits => self.weight_units = owned(text),
            ItemField::Quantity => read_into(&mut self.quantity, text, reasons, |t| {
                values::quantity("quantity", t)
            }),
            ItemField::UnitPrice => read_into(&mut self.unit_price, text, reasons, |t| {
                values::decimal("unit_price", t)
            }),
            ItemField::Weight => read_into(&mut self.weight, text, reasons, |t| {
                values::decimal("weight", t)
            }),
            ItemField::Adjustment => read_into(&mut self.adjustment, text, reasons, |t| {
                values::boolean("adjustment", t)
            }),
        }
    }

    /// Records the text of one of the current option's values.
    pub(crate) fn apply_option(&mut self, field: OptionField, text: &str) {
        match field {
            OptionField::Name => self.option.name = owned(text),
            OptionField::Value => self.option.value = owned(text),
        }
    }

    /// Ends the current `<Option>`; one with neither name nor value is dropped.
    pub(crate) fn end_option(&mut self) {
        let option = std::mem::take(&mut self.option);
        if option.name.is_some() || option.value.is_some() {
            self.options.push(ItemOption {
                name: option.name.unwrap_or_default(),
                value: option.value.unwrap_or_default(),
            });
        }
    }

    /// The finished line and its reasons, with paths relative to the line.
    pub(crate) fn finish(self, default_unit: WeightUnit) -> (ItemLine, Vec<RejectionReason>) {
        if self.adjustment == Slot::Present(true) {
            self.into_discount()
        } else {
            self.into_item(default_unit)
        }
    }

    fn into_item(self, default_unit: WeightUnit) -> (ItemLine, Vec<RejectionReason>) {
        let mut reasons = self.reasons;
        let sku = required_text(self.sku, "sku", "SKU", &mut reasons);
        let name = required_text(self.name, "name", "Name", &mut reasons);
        let quantity = self
            .quantity
            .required("quantity", "Quantity", 0, &mut reasons);
        let unit_price =
            self.unit_price
                .required("unit_price", "UnitPrice", Decimal::ZERO, &mut reasons);
        let weight = weight_with_unit(
            "weight",
            self.weight,
            self.weight_units.as_deref(),
            default_unit,
            &mut reasons,
        );
        let item = LineItem {
            line_id: self.line_id,
            sku,
            name,
            quantity,
            unit_price,
            weight,
            image_url: self.image_url,
            options: self.options,
            location: self.location,
            upc: self.upc,
        };
        (ItemLine::Item(item), reasons)
    }

    /// `Discount { code: SKU, description: Name, amount: -(UnitPrice × Quantity) }`; a missing
    /// quantity counts as one.
    fn into_discount(self) -> (ItemLine, Vec<RejectionReason>) {
        let mut reasons: Vec<RejectionReason> = self
            .reasons
            .into_iter()
            .map(|mut reason| {
                reason.field = "amount".to_owned();
                reason
            })
            .collect();
        let quantity = match self.quantity {
            Slot::Absent => 1,
            other => other.value().unwrap_or(0),
        };
        let unit_price =
            self.unit_price
                .required("amount", "UnitPrice", Decimal::ZERO, &mut reasons);
        let Some(amount) = unit_price.checked_mul(Decimal::from(quantity)).map(|a| -a) else {
            reasons.push(RejectionReason::new(
                "amount",
                ReasonCode::InvalidValue,
                format!("UnitPrice {unit_price} × Quantity {quantity} is too large"),
            ));
            let discount = Discount {
                code: self.sku,
                description: self.name,
                amount: Decimal::ZERO,
            };
            return (ItemLine::Discount(discount), reasons);
        };
        if amount.is_sign_negative() && !amount.is_zero() {
            reasons.push(RejectionReason::new(
                "amount",
                ReasonCode::InvalidValue,
                format!(
                    "adjustment line {:?} has a positive UnitPrice ({unit_price}); adjustment lines \
                     must have a negative UnitPrice",
                    self.name.as_deref().unwrap_or_default()
                ),
            ));
        }
        let discount = Discount {
            code: self.sku,
            description: self.name,
            amount,
        };
        (ItemLine::Discount(discount), reasons)
    }
}

fn required_text(
    value: Option<String>,
    field: &str,
    what: &str,
    reasons: &mut Vec<RejectionReason>,
) -> String {
    value.unwrap_or_else(|| {
        reasons.push(values::missing(field, what));
        String::new()
    })
}

/// A weight with its unit; `None` when no weight was sent.
pub(crate) fn weight_with_unit(
    field: &str,
    value: Slot<Decimal>,
    units: Option<&str>,
    default_unit: WeightUnit,
    reasons: &mut Vec<RejectionReason>,
) -> Option<Weight> {
    let value = value.value()?;
    match values::weight_unit(field, units, default_unit) {
        Ok(unit) => Some(Weight { value, unit }),
        Err(reason) => {
            reasons.push(reason);
            None
        }
    }
}
