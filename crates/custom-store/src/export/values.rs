//! Lenient readers for the scalar values of an export: numbers, quantities, booleans, dates,
//! currencies and weight units. Each returns a [`RejectionReason`] for its field on failure, never
//! an error for the page.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use orderport_core::{CurrencyCode, ReasonCode, RejectionReason, StoreZone, WeightUnit};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// A value that was absent, read, or present but unreadable (its reason already recorded).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) enum Slot<T> {
    /// The element was absent or empty.
    #[default]
    Absent,
    /// The element held a readable value.
    Present(T),
    /// The element held a value that could not be read; a reason was recorded.
    Invalid,
}

impl<T> Slot<T> {
    /// Stores the outcome of reading a value, recording the reason when it failed.
    pub(crate) fn record(
        &mut self,
        result: Result<T, RejectionReason>,
        reasons: &mut Vec<RejectionReason>,
    ) {
        *self = match result {
            Ok(value) => Slot::Present(value),
            Err(reason) => {
                reasons.push(reason);
                Slot::Invalid
            }
        };
    }

    /// The value, where one was read.
    pub(crate) fn value(self) -> Option<T> {
        match self {
            Slot::Present(value) => Some(value),
            Slot::Absent | Slot::Invalid => None,
        }
    }

    /// The value of a required field: a `Missing` reason when absent, the placeholder when
    /// absent or invalid (the order is rejected either way).
    pub(crate) fn required(
        self,
        field: &str,
        what: &str,
        placeholder: T,
        reasons: &mut Vec<RejectionReason>,
    ) -> T {
        match self {
            Slot::Present(value) => value,
            Slot::Invalid => placeholder,
            Slot::Absent => {
                reasons.push(missing(field, what));
                placeholder
            }
        }
    }
}

/// A `Missing` reason for a required element.
pub(crate) fn missing(field: &str, what: &str) -> RejectionReason {
    RejectionReason::new(
        field,
        ReasonCode::Missing,
        format!("{what} is missing or empty; the store must send it"),
    )
}

/// A decimal such as `12.50`, `-3`, ` 7.0 ` or `1.2E3`.
pub(crate) fn decimal(field: &str, text: &str) -> Result<Decimal, RejectionReason> {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| {
            RejectionReason::new(
                field,
                ReasonCode::InvalidNumber,
                format!("{text:?} is not a number; the store must send a decimal such as 12.50"),
            )
        })
}

/// A quantity of at least 1: `2`, or an integral decimal such as `2.00`.
pub(crate) fn quantity(field: &str, text: &str) -> Result<u32, RejectionReason> {
    let value = match text.parse::<i64>() {
        Ok(whole) => Decimal::from(whole),
        Err(_) => decimal(field, text)?,
    };
    if value < Decimal::ONE {
        return Err(RejectionReason::new(
            field,
            ReasonCode::InvalidValue,
            format!("quantity {text:?} is below 1; every item needs at least one unit"),
        ));
    }
    if !value.fract().is_zero() {
        return Err(RejectionReason::new(
            field,
            ReasonCode::InvalidValue,
            format!("quantity {text:?} is not a whole number of units"),
        ));
    }
    value.to_u32().ok_or_else(|| {
        RejectionReason::new(
            field,
            ReasonCode::InvalidValue,
            format!("quantity {text:?} is too large"),
        )
    })
}

/// A boolean: `true`/`false`, `1`/`0`, `yes`/`no` in any case; empty is `false`.
pub(crate) fn boolean(field: &str, text: &str) -> Result<bool, RejectionReason> {
    if text.is_empty() {
        return Ok(false);
    }
    for (spelling, value) in [
        ("true", true),
        ("1", true),
        ("yes", true),
        ("false", false),
        ("0", false),
        ("no", false),
    ] {
        if text.eq_ignore_ascii_case(spelling) {
            return Ok(value);
        }
    }
    Err(RejectionReason::new(
        field,
        ReasonCode::InvalidValue,
        format!("{text:?} is not a boolean; the store must send true or false"),
    ))
}

/// A date in any format [`orderport_core::store_time::parse_timestamp`] reads, in the store's
/// zone unless the text carries an offset.
pub(crate) fn date(
    field: &str,
    text: &str,
    zone: StoreZone,
) -> Result<DateTime<Utc>, RejectionReason> {
    zone.read(text)
        .map_err(|e| RejectionReason::new(field, ReasonCode::InvalidDate, e.to_string()))
}

/// An ISO 4217 currency code.
pub(crate) fn currency(field: &str, text: &str) -> Result<CurrencyCode, RejectionReason> {
    CurrencyCode::parse(text).ok_or_else(|| {
        RejectionReason::new(
            field,
            ReasonCode::InvalidValue,
            format!("{text:?} is not an ISO 4217 currency code such as USD"),
        )
    })
}

/// A weight unit in any spelling the schema allows, or the store's default when empty.
pub(crate) fn weight_unit(
    field: &str,
    text: Option<&str>,
    default: WeightUnit,
) -> Result<WeightUnit, RejectionReason> {
    match text {
        None => Ok(default),
        Some(text) => WeightUnit::parse_lenient(text).ok_or_else(|| {
            RejectionReason::new(
                field,
                ReasonCode::InvalidValue,
                format!("weight unit {text:?} is unknown; use Pounds, Ounces, Grams or Kilograms"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_tolerate_whitespace_free_variants() {
        assert_eq!(decimal("f", "12.50").unwrap(), Decimal::new(1250, 2));
        assert_eq!(decimal("f", "-3").unwrap(), Decimal::from(-3));
        assert_eq!(decimal("f", "1.2E3").unwrap(), Decimal::from(1200));
        let reason = decimal("order_total", "12,50").unwrap_err();
        assert_eq!(reason.field, "order_total");
        assert_eq!(reason.code, ReasonCode::InvalidNumber);
    }

    #[test]
    fn hostile_numbers_are_reasons_not_panics() {
        for text in [
            "1e99999999999",
            "1E+400",
            "-1e-99999",
            "7922816251426433759354395033500",
            "1e",
            "NaN",
            "inf",
            "--1",
            "0x10",
        ] {
            let _ = decimal("f", text);
            assert!(quantity("q", text).is_err(), "{text}");
        }
    }

    #[test]
    fn quantities_are_whole_and_positive() {
        assert_eq!(quantity("q", "2").unwrap(), 2);
        assert_eq!(quantity("q", "2.00").unwrap(), 2);
        assert_eq!(quantity("q", "99999").unwrap(), 99_999);
        for bad in ["0", "-1", "1.5", "abc", "99999999999"] {
            assert!(quantity("q", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans_read_every_spelling() {
        for (text, want) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("Yes", true),
            ("false", false),
            ("0", false),
            ("no", false),
            ("", false),
        ] {
            assert_eq!(boolean("gift", text), Ok(want), "{text}");
        }
        assert_eq!(
            boolean("gift", "maybe").unwrap_err().code,
            ReasonCode::InvalidValue
        );
    }

    #[test]
    fn weight_units_default_only_when_absent() {
        assert_eq!(
            weight_unit("w", None, WeightUnit::Ounces),
            Ok(WeightUnit::Ounces)
        );
        assert_eq!(
            weight_unit("w", Some("lbs"), WeightUnit::Ounces),
            Ok(WeightUnit::Pounds)
        );
        assert!(weight_unit("w", Some("stone"), WeightUnit::Pounds).is_err());
    }
}
