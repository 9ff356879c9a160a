//! Required fields, declared once per connector and checked the same way for every channel.

use crate::address;
use crate::order::Order;
use crate::rejection::{ReasonCode, RejectionReason};

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

    #[test]
    fn only_declared_rules_apply() {
        let mut order = sample_order();
        order.ship_to.as_mut().unwrap().country = Some("USA".into());
        assert!(check(&order, &[Requirement::ShipToAddress], "X").is_empty());
    }
}
