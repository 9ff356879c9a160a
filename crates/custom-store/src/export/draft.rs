//! One `<Order>` being read, and its mapping into the canonical [`Order`].

use chrono::{DateTime, Utc};
use orderport_core::{
    Address, CanonicalStatus, CurrencyCode, CustomFields, Customer, Discount, Gift, LineItem,
    Order, ReasonCode, RejectionReason,
};
use rust_decimal::Decimal;

use super::item::{owned, read_into, weight_with_unit, ItemDraft, ItemLine};
use super::values::{self, Slot};
use super::vocabulary::{AddressField, Leaf, OrderField, Party};
use super::ParseContext;

/// The values read so far for one order, and every reason found while reading them.
#[derive(Debug, Default)]
pub(crate) struct OrderDraft {
    order_id: Option<String>,
    order_number: Option<String>,
    raw_status: Option<String>,
    ordered_at: Slot<DateTime<Utc>>,
    modified_at: Slot<DateTime<Utc>>,
    paid_at: Slot<DateTime<Utc>>,
    shipping_method: Option<String>,
    payment_method: Option<String>,
    currency: Slot<CurrencyCode>,
    order_total: Slot<Decimal>,
    tax_amount: Slot<Decimal>,
    shipping_amount: Slot<Decimal>,
    customer_notes: Option<String>,
    internal_notes: Option<String>,
    gift: Slot<bool>,
    gift_message: Option<String>,
    custom_fields: CustomFields,
    requested_warehouse: Option<String>,
    source: Option<String>,
    weight: Slot<Decimal>,
    weight_units: Option<String>,
    customer_code: Option<String>,
    bill_to: Address,
    ship_to: Address,
    items: Vec<LineItem>,
    discounts: Vec<Discount>,
    item: ItemDraft,
    reasons: Vec<RejectionReason>,
}

impl OrderDraft {
    /// Records the text of one value.
    pub(crate) fn apply(&mut self, leaf: Leaf, text: &str, ctx: &ParseContext<'_>) {
        match leaf {
            Leaf::Order(field) => self.apply_order(field, text, ctx),
            Leaf::CustomerCode => self.customer_code = owned(text),
            Leaf::Address(party, field) => set_address_line(self.address_mut(party), field, text),
            Leaf::Item(field) => self.item.apply(field, text),
            Leaf::Option(field) => self.item.apply_option(field, text),
        }
    }

    fn address_mut(&mut self, party: Party) -> &mut Address {
        match party {
            Party::BillTo => &mut self.bill_to,
            Party::ShipTo => &mut self.ship_to,
        }
    }

    fn apply_order(&mut self, field: OrderField, text: &str, ctx: &ParseContext<'_>) {
        let zone = ctx.store.zone;
        let reasons = &mut self.reasons;
        match field {
            OrderField::OrderId => self.order_id = owned(text),
            OrderField::OrderNumber => self.order_number = owned(text),
            OrderField::OrderStatus => self.raw_status = owned(text),
            OrderField::OrderDate => read_into(&mut self.ordered_at, text, reasons, |t| {
                values::date("ordered_at", t, zone)
            }),
            OrderField::LastModified => read_into(&mut self.modified_at, text, reasons, |t| {
                values::date("modified_at", t, zone)
            }),
            OrderField::PaymentDate => read_into(&mut self.paid_at, text, reasons, |t| {
                values::date("paid_at", t, zone)
            }),
            OrderField::CurrencyCode => read_into(&mut self.currency, text, reasons, |t| {
                values::currency("currency", t)
            }),
            OrderField::OrderTotal => read_into(&mut self.order_total, text, reasons, |t| {
                values::decimal("order_total", t)
            }),
            OrderField::TaxAmount => read_into(&mut self.tax_amount, text, reasons, |t| {
                values::decimal("tax_amount", t)
            }),
            OrderField::ShippingAmount => {
                read_into(&mut self.shipping_amount, text, reasons, |t| {
                    values::decimal("shipping_amount", t)
                })
            }
            OrderField::Gift => read_into(&mut self.gift, text, reasons, |t| {
                values::boolean("gift.is_gift", t)
            }),
            OrderField::Weight => read_into(&mut self.weight, text, reasons, |t| {
                values::decimal("total_weight", t)
            }),
            _ => self.apply_order_text(field, text),
        }
    }

    fn apply_order_text(&mut self, field: OrderField, text: &str) {
        let slot = match field {
            OrderField::ShippingMethod => &mut self.shipping_method,
            OrderField::PaymentMethod => &mut self.payment_method,
            OrderField::CustomerNotes => &mut self.customer_notes,
            OrderField::InternalNotes => &mut self.internal_notes,
            OrderField::GiftMessage => &mut self.gift_message,
            OrderField::CustomField1 => &mut self.custom_fields.custom_field_1,
            OrderField::CustomField2 => &mut self.custom_fields.custom_field_2,
            OrderField::CustomField3 => &mut self.custom_fields.custom_field_3,
            OrderField::RequestedWarehouse => &mut self.requested_warehouse,
            OrderField::Source => &mut self.source,
            OrderField::WeightUnits => &mut self.weight_units,
            _ => return,
        };
        *slot = owned(text);
    }

    /// Ends the current `<Option>`.
    pub(crate) fn end_option(&mut self) {
        self.item.end_option();
    }

    /// Ends the current `<Item>`: it becomes `items[n]` or, for an adjustment, `discounts[n]`.
    pub(crate) fn end_item(&mut self, ctx: &ParseContext<'_>) {
        let (line, reasons) = std::mem::take(&mut self.item).finish(ctx.default_weight_unit);
        let prefix = |kind: &str, index: usize| format!("{kind}[{index}]");
        let path = match &line {
            ItemLine::Item(_) if !reasons.is_empty() => prefix("items", self.items.len()),
            ItemLine::Discount(_) if !reasons.is_empty() => {
                prefix("discounts", self.discounts.len())
            }
            _ => String::new(),
        };
        self.reasons
            .extend(reasons.into_iter().map(|r| r.under(&path)));
        match line {
            ItemLine::Item(item) => self.items.push(item),
            ItemLine::Discount(discount) => self.discounts.push(discount),
        }
    }

    /// The canonical order, with placeholders where a required value failed, and every reason
    /// found while mapping. The caller applies the channel's requirements with
    /// [`orderport_core::finish`].
    pub(crate) fn finish(
        mut self,
        ctx: &ParseContext<'_>,
        statuses: &mut StatusCache,
    ) -> (Order, Vec<RejectionReason>) {
        let mut reasons = std::mem::take(&mut self.reasons);
        let required = self.required(ctx, statuses, &mut reasons);
        let total_weight = weight_with_unit(
            "total_weight",
            self.weight,
            self.weight_units.as_deref(),
            ctx.default_weight_unit,
            &mut reasons,
        );
        let emails = ctx.spec.capabilities.customer_email;
        let bill_to = finish_address(self.bill_to, emails);
        let ship_to = finish_address(self.ship_to, emails);
        // A channel that imports no e-mail must not leak one through the customer code, which
        // Custom Store endpoints often fill with the buyer's e-mail.
        let code = self
            .customer_code
            .filter(|code| emails || !code.contains('@'));
        let customer = customer(code, bill_to.as_ref(), ship_to.as_ref());
        let order = Order {
            channel: ctx.spec.id.to_owned(),
            store_id: ctx.store.id.clone(),
            store_name: ctx.store.name.clone(),
            external_id: self
                .order_id
                .unwrap_or_else(|| required.order_number.clone()),
            order_number: required.order_number,
            status: required.status,
            raw_status: required.raw_status,
            ordered_at: required.ordered_at,
            modified_at: required.modified_at,
            paid_at: self.paid_at.value(),
            customer,
            bill_to,
            ship_to,
            items: self.items,
            discounts: self.discounts,
            currency: self.currency.value(),
            order_total: required.order_total,
            tax_amount: self.tax_amount.value(),
            shipping_amount: self.shipping_amount.value(),
            requested_shipping_service: self.shipping_method,
            payment_method: self.payment_method,
            gift: Gift {
                is_gift: self.gift.value().unwrap_or(false),
                message: self.gift_message,
            },
            customer_notes: self.customer_notes,
            internal_notes: self.internal_notes,
            total_weight,
            custom_fields: self.custom_fields,
            source: self.source,
            requested_warehouse: self.requested_warehouse,
        };
        (order, reasons)
    }
}

/// The values every order must have, or their placeholders.
struct Required {
    order_number: String,
    raw_status: String,
    status: CanonicalStatus,
    ordered_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
    order_total: Decimal,
}

impl OrderDraft {
    /// Takes the required values, adding a reason for each one missing and for an order without
    /// items.
    fn required(
        &mut self,
        ctx: &ParseContext<'_>,
        statuses: &mut StatusCache,
        reasons: &mut Vec<RejectionReason>,
    ) -> Required {
        let order_number = self.order_number.take().unwrap_or_else(|| {
            reasons.push(values::missing("order_number", "OrderNumber"));
            String::new()
        });
        let (raw_status, status) = status(self.raw_status.take(), ctx, statuses, reasons);
        let epoch = DateTime::UNIX_EPOCH;
        let ordered_at = self
            .ordered_at
            .required("ordered_at", "OrderDate", epoch, reasons);
        let modified_at = self
            .modified_at
            .required("modified_at", "LastModified", epoch, reasons);
        let order_total =
            self.order_total
                .required("order_total", "OrderTotal", Decimal::ZERO, reasons);
        if self.items.is_empty() {
            reasons.push(RejectionReason::new(
                "items",
                ReasonCode::Missing,
                "the order has no items; the store must send at least one <Item> that is not an adjustment",
            ));
        }
        Required {
            order_number,
            raw_status,
            status,
            ordered_at,
            modified_at,
            order_total,
        }
    }
}

/// The raw statuses of a page and what the store's mapping made of them: a page holds few
/// distinct statuses, so each is mapped once.
#[derive(Debug, Default)]
pub(crate) struct StatusCache {
    seen: Vec<(String, Result<CanonicalStatus, RejectionReason>)>,
}

impl StatusCache {
    /// The most distinct statuses remembered.
    const LIMIT: usize = 64;

    fn map(
        &mut self,
        raw: &str,
        ctx: &ParseContext<'_>,
    ) -> Result<CanonicalStatus, RejectionReason> {
        if let Some((_, known)) = self.seen.iter().find(|(seen, _)| seen == raw) {
            return known.clone();
        }
        let mapped = ctx.store.statuses.map(raw);
        if self.seen.len() < Self::LIMIT {
            self.seen.push((raw.to_owned(), mapped.clone()));
        }
        mapped
    }
}

/// The raw status verbatim and its canonical status through the store's mapping.
fn status(
    raw: Option<String>,
    ctx: &ParseContext<'_>,
    statuses: &mut StatusCache,
    reasons: &mut Vec<RejectionReason>,
) -> (String, CanonicalStatus) {
    let Some(raw) = raw else {
        reasons.push(values::missing("raw_status", "OrderStatus"));
        return (String::new(), CanonicalStatus::AwaitingPayment);
    };
    match statuses.map(&raw, ctx) {
        Ok(status) => (raw, status),
        Err(reason) => {
            reasons.push(reason);
            (raw, CanonicalStatus::AwaitingPayment)
        }
    }
}

fn set_address_line(address: &mut Address, field: AddressField, text: &str) {
    let slot = match field {
        AddressField::Name => &mut address.name,
        AddressField::Company => &mut address.company,
        AddressField::Address1 => &mut address.address1,
        AddressField::Address2 => &mut address.address2,
        AddressField::Address3 => &mut address.address3,
        AddressField::City => &mut address.city,
        AddressField::State => &mut address.state,
        AddressField::PostalCode => &mut address.postal_code,
        AddressField::Country => &mut address.country,
        AddressField::Phone => &mut address.phone,
        AddressField::Email => &mut address.email,
    };
    *slot = owned(text);
}

/// `None` for an absent or empty address; the e-mail is dropped unless the channel sends
/// e-mails.
fn finish_address(mut address: Address, emails: bool) -> Option<Address> {
    if !emails {
        address.email = None;
    }
    (address != Address::default()).then_some(address)
}

fn customer(
    code: Option<String>,
    bill_to: Option<&Address>,
    ship_to: Option<&Address>,
) -> Customer {
    let first = |pick: fn(&Address) -> Option<&String>| {
        bill_to
            .and_then(pick)
            .or_else(|| ship_to.and_then(pick))
            .cloned()
    };
    Customer {
        code,
        // Addresses carry no e-mail when the channel sends none, so this is `None` then too.
        email: first(|a| a.email.as_ref()),
        phone: first(|a| a.phone.as_ref()),
    }
}
