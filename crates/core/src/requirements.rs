//! Required fields, declared once per connector and checked the same way for every channel,
//! and the plausibility checks every order passes whatever its channel.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::address;
use crate::order::Order;
use crate::rejection::{ReasonCode, RejectionReason};

/// The earliest plausible order date: 1990-01-01T00:00:00Z. Online orders are younger; an
/// earlier date is a default or a misread value (`0001-01-01`, the Unix epoch).
pub fn earliest_plausible() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// How far after now an order date is still plausible: one year (366 days), room for a
/// server clock set wrong by hours or a time zone misread, not for `9999-12-31`.
pub const PLAUSIBLE_AHEAD: Duration = Duration::days(366);

/// What every order must be, whatever its channel: no negative order total, tax or shipping
/// amount; at least one unit of each item; order, modification and payment dates from
/// [`earliest_plausible`] (1990-01-01) to [`PLAUSIBLE_AHEAD`] (a year) after `now`. Each
/// failure is a [`ReasonCode::Implausible`] reason naming the field, the value and what to do.
/// [`crate::finish`] applies it to every order, with the system clock's `now`.
pub fn plausibility(order: &Order, now: DateTime<Utc>) -> Vec<RejectionReason> {
    let mut reasons = Vec::new();
    for (field, label, amount) in [
        ("order_total", "order total", Some(order.order_total)),
        ("tax_amount", "tax amount", order.tax_amount),
        ("shipping_amount", "shipping amount", order.shipping_amount),
    ] {
        if let Some(amount) = amount.filter(|a| *a < Decimal::ZERO) {
            reasons.push(RejectionReason::new(
                field,
                ReasonCode::Implausible,
                format!("the {label} is negative ({amount}); an order cannot cost less than nothing: correct it in the channel (a refund is not an order) and sync again"),
            ));
        }
    }
    for (i, item) in order.items.iter().enumerate() {
        if item.quantity == 0 {
            reasons.push(RejectionReason::new(
                format!("items[{i}].quantity"),
                ReasonCode::Implausible,
                format!(
                    "item {:?} has a quantity of 0; every item needs at least one unit: correct the line in the channel and sync again",
                    item.sku
                ),
            ));
        }
    }
    let earliest = earliest_plausible();
    let latest = now.checked_add_signed(PLAUSIBLE_AHEAD).unwrap_or(now);
    for (field, label, at) in [
        ("ordered_at", "order date", Some(order.ordered_at)),
        ("modified_at", "modification date", Some(order.modified_at)),
        ("paid_at", "payment date", order.paid_at),
    ] {
        let Some(at) = at else { continue };
        if at < earliest || at > latest {
            reasons.push(RejectionReason::new(
                field,
                ReasonCode::Implausible,
                format!(
                    "the {label} {} is not plausible (before {} or more than a year from now); correct the date in the channel, or check the store's time zone and date format, and sync again",
                    at.to_rfc3339(),
                    earliest.date_naive()
                ),
            ));
        }
    }
    reasons
}

/// A field rule a channel imposes on the orders it imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A ship-to address with a first street line, a city and a country.
    ShipToAddress,
    /// The ship-to country is an ISO 3166-1 alpha-2 code.
    IsoCountryCode,
    /// The ship-to state is an ISO 3166-2 subdivision code of its country, where the dataset
    /// knows subdivisions; the state is required for the countries in
    /// [`STATE_REQUIRED_COUNTRIES`].
    IsoStateCode,
}

/// Countries whose addresses need a state to ship (ShipStation: "US/CA need 2-char code").
pub const STATE_REQUIRED_COUNTRIES: &[&str] = &["US", "CA"];

/// Checks an order against a channel's requirements and returns every failed rule.
pub fn check(
    order: &Order,
    requirements: &[Requirement],
    channel_name: &str,
) -> Vec<RejectionReason> {
    let mut reasons = Vec::new();
    for requirement in requirements {
        match requirement {
            Requirement::ShipToAddress => ship_to_present(order, channel_name, &mut reasons),
            Requirement::IsoCountryCode => iso_country(order, &mut reasons),
            Requirement::IsoStateCode => iso_state(order, &mut reasons),
        }
    }
    reasons
}

fn ship_to_present(order: &Order, channel_name: &str, reasons: &mut Vec<RejectionReason>) {
    let Some(ship_to) = &order.ship_to else {
        reasons.push(RejectionReason::new(
            "ship_to",
            ReasonCode::Missing,
            format!("the order has no ship-to address; {channel_name} requires one: add it in the channel and re-sync"),
        ));
        return;
    };
    for (field, value) in [
        ("address1", &ship_to.address1),
        ("city", &ship_to.city),
        ("country", &ship_to.country),
    ] {
        if is_blank(value) {
            reasons.push(RejectionReason::new(
                format!("ship_to.{field}"),
                ReasonCode::Missing,
                format!("the ship-to address has no {field}; {channel_name} requires one"),
            ));
        }
    }
}

fn iso_country(order: &Order, reasons: &mut Vec<RejectionReason>) {
    let Some(country) = order.ship_to.as_ref().and_then(|a| a.country.as_deref()) else {
        return;
    };
    if let Err(reason) = address::check_country(country) {
        reasons.push(reason.under("ship_to"));
    }
}

fn iso_state(order: &Order, reasons: &mut Vec<RejectionReason>) {
    let Some(ship_to) = &order.ship_to else {
        return;
    };
    let Some(country) = ship_to.country.as_deref().map(str::trim) else {
        return;
    };
    if address::check_country(country).is_err() {
        return;
    }
    match ship_to.state.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(state) => {
            if let Err(reason) = address::check_state(country, state) {
                reasons.push(reason.under("ship_to"));
            }
        }
        None if STATE_REQUIRED_COUNTRIES.contains(&country) => {
            reasons.push(RejectionReason::new(
                "ship_to.state",
                ReasonCode::Missing,
                format!("the ship-to address in {country} has no state; add its two-letter code"),
            ));
        }
        None => {}
    }
}

fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|v| v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::Order;
    use crate::testing::sample_order;

    const ALL: &[Requirement] = &[
        Requirement::ShipToAddress,
        Requirement::IsoCountryCode,
        Requirement::IsoStateCode,
    ];

    #[test]
    fn a_complete_order_passes() {
        assert!(check(&sample_order(), ALL, "Spark Shipping").is_empty());
    }

    #[test]
    fn a_missing_ship_to_is_one_reason_naming_the_channel() {
        let mut order = sample_order();
        order.ship_to = None;
        let reasons = check(&order, ALL, "Spark Shipping");
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].field, "ship_to");
        assert_eq!(reasons[0].code, ReasonCode::Missing);
        assert!(reasons[0].message.contains("Spark Shipping requires"));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut order = sample_order();
        let ship_to = order.ship_to.as_mut().unwrap();
        ship_to.city = Some("  ".into());
        ship_to.state = Some("California".into());
        let reasons = check(&order, ALL, "Order Time");
        let fields: Vec<_> = reasons.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(fields, ["ship_to.city", "ship_to.state"]);
        assert!(reasons[1].message.contains("use \"CA\""));

        let ship_to = order.ship_to.as_mut().unwrap();
        ship_to.country = Some("USA".into());
        let reasons = check(&order, ALL, "Order Time");
        let fields: Vec<_> = reasons.iter().map(|r| r.field.as_str()).collect();
        // The state cannot be checked against an unknown country, so only the country is named.
        assert_eq!(fields, ["ship_to.city", "ship_to.country"]);
    }

    #[test]
    fn a_us_address_needs_a_state() {
        let mut order = sample_order();
        order.ship_to.as_mut().unwrap().state = None;
        let reasons = check(&order, ALL, "Order Time");
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].field, "ship_to.state");
        // A country that needs no state passes without one.
        order.ship_to.as_mut().unwrap().country = Some("DE".into());
        assert!(check(&order, ALL, "Order Time").is_empty());
    }

    fn implausible(order: &Order) -> Vec<(String, ReasonCode)> {
        plausibility(order, Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).unwrap())
            .into_iter()
            .map(|r| (r.field, r.code))
            .collect()
    }

    #[test]
    fn a_complete_order_is_plausible() {
        assert!(implausible(&sample_order()).is_empty());
        let mut order = sample_order();
        order.order_total = Decimal::ZERO;
        order.tax_amount = Some(Decimal::ZERO);
        order.paid_at = Some(Utc.with_ymd_and_hms(2027, 3, 8, 0, 0, 0).unwrap());
        assert!(implausible(&order).is_empty(), "zero and a year ahead pass");
    }

    #[test]
    fn negative_amounts_and_empty_lines_are_implausible() {
        let mut order = sample_order();
        order.order_total = Decimal::new(-1250, 2);
        order.tax_amount = Some(Decimal::new(-1, 2));
        order.shipping_amount = Some(Decimal::new(-500, 2));
        order.items[0].quantity = 0;
        assert_eq!(
            implausible(&order),
            [
                ("order_total".to_owned(), ReasonCode::Implausible),
                ("tax_amount".to_owned(), ReasonCode::Implausible),
                ("shipping_amount".to_owned(), ReasonCode::Implausible),
                ("items[0].quantity".to_owned(), ReasonCode::Implausible),
            ]
        );
        let now = Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).unwrap();
        let message = &plausibility(&order, now)[0].message;
        assert!(message.contains("negative (-12.50)"), "{message}");
        assert!(message.contains("correct it in the channel"), "{message}");
    }

    #[test]
    fn dates_in_year_1_or_9999_are_implausible() {
        let mut order = sample_order();
        order.ordered_at = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        order.modified_at = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 0).unwrap();
        order.paid_at = Some(Utc.with_ymd_and_hms(1989, 12, 31, 23, 59, 59).unwrap());
        assert_eq!(
            implausible(&order),
            [
                ("ordered_at".to_owned(), ReasonCode::Implausible),
                ("modified_at".to_owned(), ReasonCode::Implausible),
                ("paid_at".to_owned(), ReasonCode::Implausible),
            ]
        );
        let now = Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).unwrap();
        let reasons = plausibility(&order, now);
        assert!(
            reasons[0].message.contains("0001-01-01T00:00:00+00:00"),
            "{}",
            reasons[0].message
        );
        assert!(reasons[0].message.contains("before 1990-01-01"));
        // A year and a day ahead is too far; the boundaries themselves pass.
        order.ordered_at = earliest_plausible();
        order.modified_at = now + PLAUSIBLE_AHEAD;
        order.paid_at = Some(now + PLAUSIBLE_AHEAD + Duration::seconds(1));
        assert_eq!(
            implausible(&order),
            [("paid_at".to_owned(), ReasonCode::Implausible)]
        );
    }

    #[test]
    fn only_declared_rules_apply() {
        let mut order = sample_order();
        order.ship_to.as_mut().unwrap().country = Some("USA".into());
        assert!(check(&order, &[Requirement::ShipToAddress], "X").is_empty());
    }
}
