//! How orders are written on the wire: Custom Store XML and Order Time JSON.

pub(crate) mod custom_store;
pub(crate) mod order_time;

use crate::book::{OrderState, Status};
use crate::generator::{Details, Invalid, SimOrder};
use crate::Flavor;

/// Cents as a decimal with two places: `1250` → `12.50`.
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// The status string an order shows in `flavor`.
pub(crate) fn raw_status(
    flavor: Flavor,
    order: &SimOrder,
    details: &Details,
    state: &OrderState,
) -> String {
    match &state.status {
        Status::Raw(name) => name.clone(),
        Status::Canonical(_) if order.invalid == Some(Invalid::UnmappedStatus) => {
            flavor.unmapped_status().to_owned()
        }
        Status::Canonical(status) => {
            let spellings = flavor.raw_statuses(*status);
            spellings[details.status_variant % spellings.len()].to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_places() {
        assert_eq!(money(1250), "12.50");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-200), "-2.00");
        assert_eq!(money(0), "0.00");
    }
}
