//! Mapping a Ship Doc into the canonical [`Order`].
//!
//! Every field problem becomes a [`RejectionReason`] with the canonical field path; the order is
//! then checked against [`crate::REST_SPEC`]'s requirements by [`finish`]. Nothing is fixed silently:
//! a state or country that is not a two-letter ISO code rejects the order with a suggestion.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use orderport_core::{
    finish, Address, CanonicalStatus, CurrencyCode, CustomFields, Customer, Discount, FetchOutcome,
    Gift, LineItem, Order, ReasonCode, Rejection, RejectionReason, StoreProfile,
};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::ship_doc::{self, ref_name, text, CustomerAddress, Record, ShipDoc};

/// Maps one record into an accepted or rejected order. `modified_path` is the dotted path of the
/// modification date (`RecordInfo.ModifiedDate` by default).
pub fn normalize(record: &Record, modified_path: &str, profile: &StoreProfile) -> FetchOutcome {
    let doc_no = record.doc_no();
    match &record.doc {
        Ok(doc) => {
            let mut reasons = Vec::new();
            let order = order(doc, record, doc_no, modified_path, profile, &mut reasons);
            finish(order, reasons, &crate::REST_SPEC)
        }
        Err(error) => FetchOutcome::Rejected(Rejection {
            store_id: profile.id.clone(),
            external_id: doc_no.clone(),
            order_number: doc_no,
            reasons: vec![RejectionReason::new(
                "ship_doc",
                ReasonCode::InvalidValue,
                format!("the ship doc cannot be read ({error}); correct the record in Order Time"),
            )],
        }),
    }
}

fn order(
    doc: &ShipDoc,
    record: &Record,
    doc_no: Option<String>,
    modified_path: &str,
    profile: &StoreProfile,
    reasons: &mut Vec<RejectionReason>,
) -> Order {
    let doc_no = doc_no.unwrap_or_else(|| {
        reasons.push(missing("external_id", "the ship doc has no DocNo"));
        String::new()
    });
    let (status, raw_status) = status(doc, profile, reasons);
    let date_text = text(&doc.doc_date).or_else(|| text(&doc.date));
    let ordered_at = instant(date_text, "ordered_at", "DocDate", profile, reasons);
    let modified_text = record.text_at(modified_path);
    let modified_at = instant(
        modified_text,
        "modified_at",
        modified_path,
        profile,
        reasons,
    );
    let items = items(doc, reasons);
    let discounts = discounts(doc, reasons);
    let tax_amount = first_amount(&[&doc.tax, &doc.tax_amount], "tax_amount", reasons);
    let shipping_amount = first_amount(
        &[&doc.ship_amount, &doc.shipping],
        "shipping_amount",
        reasons,
    );
    let order_total = amount(&doc.total_amount, "order_total", reasons)
        .unwrap_or_else(|| computed_total(&items, &discounts, tax_amount, shipping_amount));
    let ship_to = doc.ship_address.as_ref().map(address);
    Order {
        channel: crate::REST_SPEC.id.to_owned(),
        store_id: profile.id.clone(),
        store_name: profile.name.clone(),
        external_id: doc_no.clone(),
        order_number: doc_no,
        status,
        raw_status,
        ordered_at,
        modified_at,
        paid_at: None,
        customer: Customer {
            code: ref_name(&doc.customer_ref),
            email: ship_to.as_ref().and_then(|a| a.email.clone()),
            phone: ship_to.as_ref().and_then(|a| a.phone.clone()),
        },
        bill_to: doc.bill_address.as_ref().map(address),
        ship_to,
        items,
        discounts,
        currency: ref_name(&doc.currency_ref).and_then(|c| CurrencyCode::parse(&c)),
        order_total,
        tax_amount,
        shipping_amount,
        requested_shipping_service: ref_name(&doc.ship_method_ref),
        payment_method: ref_name(&doc.term_ref),
        gift: Gift::default(),
        customer_notes: text(&doc.memo),
        internal_notes: text(&doc.internal_notes),
        total_weight: None,
        custom_fields: CustomFields {
            custom_field_1: text(&doc.customer_po),
            custom_field_2: text(&doc.so_no),
            custom_field_3: None,
        },
        source: None,
        requested_warehouse: ref_name(&doc.location_ref),
    }
}

fn missing(field: &str, message: &str) -> RejectionReason {
    RejectionReason::new(
        field,
        ReasonCode::Missing,
        format!("{message}; add it in Order Time and re-sync"),
    )
}

/// The raw status (`StatusRef.Name`) and what the store's mapping makes of it.
fn status(
    doc: &ShipDoc,
    profile: &StoreProfile,
    reasons: &mut Vec<RejectionReason>,
) -> (CanonicalStatus, String) {
    let Some(raw) = ref_name(&doc.status_ref) else {
        reasons.push(missing("raw_status", "the ship doc has no StatusRef name"));
        return (CanonicalStatus::AwaitingPayment, String::new());
    };
    match profile.statuses.map(&raw) {
        Ok(status) => (status, raw),
        Err(reason) => {
            reasons.push(reason);
            (CanonicalStatus::AwaitingPayment, raw)
        }
    }
}

/// A date read in the store's zone (values with an offset keep it).
fn instant(
    value: Option<String>,
    field: &str,
    source: &str,
    profile: &StoreProfile,
    reasons: &mut Vec<RejectionReason>,
) -> DateTime<Utc> {
    let Some(value) = value else {
        reasons.push(missing(field, &format!("the ship doc has no {source}")));
        return DateTime::UNIX_EPOCH;
    };
    profile.zone.read(&value).unwrap_or_else(|e| {
        reasons.push(RejectionReason::new(
            field,
            ReasonCode::InvalidDate,
            format!("{source}: {e}"),
        ));
        DateTime::UNIX_EPOCH
    })
}

/// The canonical address of a CustomerAddress. `Addr4` is appended to `address3` after a comma,
/// since the canonical address has three street lines. State and country are kept verbatim.
pub fn address(source: &CustomerAddress) -> Address {
    let address3 = match (text(&source.addr3), text(&source.addr4)) {
        (Some(three), Some(four)) => Some(format!("{three}, {four}")),
        (three, four) => three.or(four),
    };
    Address {
        name: text(&source.contact),
        company: None,
        address1: text(&source.addr1),
        address2: text(&source.addr2),
        address3,
        city: text(&source.city),
        state: text(&source.state),
        postal_code: text(&source.zip),
        country: text(&source.country),
        phone: text(&source.phone),
        email: text(&source.email),
    }
}

fn items(doc: &ShipDoc, reasons: &mut Vec<RejectionReason>) -> Vec<LineItem> {
    let lines = doc.line_items.as_deref().unwrap_or_default();
    if lines.is_empty() {
        reasons.push(missing("items", "the ship doc has no line items"));
    }
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| item(line, &format!("items[{index}]"), reasons))
        .collect()
}

fn item(line: &ship_doc::LineItem, path: &str, reasons: &mut Vec<RejectionReason>) -> LineItem {
    let sku = line
        .item_ref
        .as_ref()
        .and_then(|r| r.name())
        .unwrap_or_else(|| {
            reasons.push(missing(
                &format!("{path}.sku"),
                "the line has no ItemRef name",
            ));
            String::new()
        });
    let unit_price = required_amount(&line.price, &format!("{path}.unit_price"), "Price", reasons)
        .unwrap_or(Decimal::ZERO);
    LineItem {
        line_id: line
            .id
            .as_ref()
            .or(line.line_no.as_ref())
            .and_then(ship_doc::scalar_text),
        name: text(&line.description).unwrap_or_else(|| sku.clone()),
        quantity: quantity(&line.quantity, &format!("{path}.quantity"), reasons),
        sku,
        unit_price,
        weight: None,
        image_url: None,
        options: Vec::new(),
        location: None,
        upc: None,
    }
}

/// A whole quantity of at least one unit.
fn quantity(value: &Option<Value>, field: &str, reasons: &mut Vec<RejectionReason>) -> u32 {
    let Some(decimal) = required_amount(value, field, "Quantity", reasons) else {
        return 0;
    };
    let whole = (decimal.fract().is_zero() && decimal >= Decimal::ONE)
        .then(|| decimal.to_u32())
        .flatten();
    whole.unwrap_or_else(|| {
        reasons.push(RejectionReason::new(
            field,
            ReasonCode::InvalidNumber,
            format!("quantity {decimal} is not a whole number of at least 1; correct the line in Order Time"),
        ));
        0
    })
}

fn discounts(doc: &ShipDoc, reasons: &mut Vec<RejectionReason>) -> Vec<Discount> {
    match amount(&doc.discount_amount, "discounts[0].amount", reasons) {
        Some(value) if !value.is_zero() => vec![Discount {
            code: ref_name(&doc.discount_ref),
            description: None,
            amount: value.abs(),
        }],
        _ => Vec::new(),
    }
}

/// The first of several alternative fields that holds an amount.
fn first_amount(
    candidates: &[&Option<Value>],
    field: &str,
    reasons: &mut Vec<RejectionReason>,
) -> Option<Decimal> {
    candidates
        .iter()
        .find_map(|value| amount(value, field, reasons))
}

/// A decimal that must be present: a missing one is a [`ReasonCode::Missing`] reason naming the
/// Order Time field, an unreadable one an [`ReasonCode::InvalidNumber`] reason.
fn required_amount(
    value: &Option<Value>,
    field: &str,
    source: &str,
    reasons: &mut Vec<RejectionReason>,
) -> Option<Decimal> {
    let blank = match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    };
    if blank {
        reasons.push(missing(field, &format!("the line has no {source}")));
        return None;
    }
    amount(value, field, reasons)
}

/// A decimal from a JSON number or numeric string; `null` or blank is absent.
fn amount(
    value: &Option<Value>,
    field: &str,
    reasons: &mut Vec<RejectionReason>,
) -> Option<Decimal> {
    let text = match value.as_ref()? {
        Value::Null => return None,
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.trim().is_empty() => return None,
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    match Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)) {
        Ok(decimal) => Some(decimal),
        Err(_) => {
            reasons.push(RejectionReason::new(
                field,
                ReasonCode::InvalidNumber,
                format!("{text:?} is not a number"),
            ));
            None
        }
    }
}

/// Lines plus tax and shipping, less discounts, for records that carry no total.
fn computed_total(
    items: &[LineItem],
    discounts: &[Discount],
    tax: Option<Decimal>,
    shipping: Option<Decimal>,
) -> Decimal {
    let lines: Decimal = items
        .iter()
        .map(|i| i.unit_price * Decimal::from(i.quantity))
        .sum();
    let off: Decimal = discounts.iter().map(|d| d.amount).sum();
    lines + tax.unwrap_or_default() + shipping.unwrap_or_default() - off
}

#[cfg(test)]
mod tests;
