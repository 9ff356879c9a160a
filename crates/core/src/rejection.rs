//! Orders a channel sent that cannot be imported, and every reason why.

use serde::{Deserialize, Serialize};

/// What kind of problem a [`RejectionReason`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// A field the channel requires is absent or empty.
    Missing,
    /// A country that is not an ISO 3166-1 alpha-2 code.
    InvalidCountryCode,
    /// A state that is not an ISO 3166-2 subdivision code of its country.
    InvalidStateCode,
    /// A raw status no list maps, under the reject policy.
    UnmappedStatus,
    /// A date or time in no format the parser knows.
    InvalidDate,
    /// A number that does not parse.
    InvalidNumber,
    /// Any other value outside what the field allows.
    InvalidValue,
    /// A value that reads but cannot be true: a negative amount, no units of an item, a date
    /// before 1990 or more than a year ahead ([`crate::requirements::plausibility`]).
    Implausible,
}

/// One reason an order was rejected: where, what kind, and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionReason {
    /// Path of the field in the canonical order, such as `ship_to.country` or `items[2].quantity`.
    pub field: String,
    /// The kind of problem.
    pub code: ReasonCode,
    /// A message for people.
    pub message: String,
}

impl RejectionReason {
    /// Creates a reason.
    pub fn new(field: impl Into<String>, code: ReasonCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The same reason with its field path placed under `prefix` (`ship_to` + `country`).
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

/// An order that was not imported. It carries the order's identity and every reason, never only
/// the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The store the order came from.
    pub store_id: String,
    /// The channel's id for the order, where it could be read.
    pub external_id: Option<String>,
    /// The order number, where it could be read.
    pub order_number: Option<String>,
    /// Every reason, at least one.
    pub reasons: Vec<RejectionReason>,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "store {}: order {} (id {}) rejected:",
            self.store_id,
            self.order_number.as_deref().unwrap_or("<unknown>"),
            self.external_id.as_deref().unwrap_or("<unknown>")
        )?;
        for reason in &self.reasons {
            write!(f, " {}: {};", reason.field, reason.message)?;
        }
        Ok(())
    }
}
