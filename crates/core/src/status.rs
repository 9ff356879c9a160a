//! Canonical statuses and the per-store mapping from a channel's own status strings.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::rejection::{ReasonCode, RejectionReason};

/// The five statuses every channel's statuses map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanonicalStatus {
    /// Not paid yet; cannot be shipped.
    AwaitingPayment,
    /// Paid and ready to ship.
    AwaitingShipment,
    /// Held back, for example a pre-order.
    OnHold,
    /// Shipped.
    Shipped,
    /// Cancelled.
    Cancelled,
}

impl CanonicalStatus {
    /// Every canonical status, in lifecycle order.
    pub const ALL: [CanonicalStatus; 5] = [
        Self::AwaitingPayment,
        Self::AwaitingShipment,
        Self::OnHold,
        Self::Shipped,
        Self::Cancelled,
    ];

    /// The snake_case name used in configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingPayment => "awaiting_payment",
            Self::AwaitingShipment => "awaiting_shipment",
            Self::OnHold => "on_hold",
            Self::Shipped => "shipped",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for CanonicalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no canonical status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a canonical status; use one of awaiting_payment, awaiting_shipment, on_hold, shipped, cancelled")]
pub struct UnknownStatus(pub String);

impl FromStr for CanonicalStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// What to do with an order whose raw status is in no list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnmappedPolicy {
    /// Reject the order with a reason naming the status (the default).
    #[default]
    Reject,
    /// Import it with this canonical status.
    Use(CanonicalStatus),
}

/// How raw statuses are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusMatch {
    /// Exact, case-sensitive comparison, as ShipStation does (the default).
    #[default]
    CaseSensitive,
    /// Comparison that ignores letter case.
    CaseInsensitive,
}

/// A raw status listed under two canonical statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("raw status {raw:?} is mapped to both {first} and {second}; keep it under one of them")]
pub struct DuplicateRawStatus {
    /// The raw status.
    pub raw: String,
    /// The first canonical status it was listed under.
    pub first: CanonicalStatus,
    /// The second.
    pub second: CanonicalStatus,
}

/// A store's complete status mapping: raw strings to canonical statuses, the match mode and the
/// policy for strings in no list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMapping {
    by_raw: HashMap<String, CanonicalStatus>,
    matching: StatusMatch,
    unmapped: UnmappedPolicy,
}

impl StatusMapping {
    /// Builds a mapping from lists of raw strings per canonical status.
    ///
    /// Fails when one raw string (after case folding, in case-insensitive mode) is listed under
    /// two canonical statuses.
    pub fn new<'a, I, R>(
        lists: I,
        matching: StatusMatch,
        unmapped: UnmappedPolicy,
    ) -> Result<Self, DuplicateRawStatus>
    where
        I: IntoIterator<Item = (CanonicalStatus, R)>,
        R: IntoIterator<Item = &'a str>,
    {
        let mut by_raw: HashMap<String, CanonicalStatus> = HashMap::new();
        for (status, raws) in lists {
            for raw in raws {
                let key = fold(raw, matching);
                match by_raw.get(&key) {
                    Some(&first) if first != status => {
                        return Err(DuplicateRawStatus {
                            raw: raw.to_owned(),
                            first,
                            second: status,
                        })
                    }
                    _ => {
                        by_raw.insert(key, status);
                    }
                }
            }
        }
        Ok(Self {
            by_raw,
            matching,
            unmapped,
        })
    }

    /// Maps a raw status, or explains why it cannot be mapped.
    pub fn map(&self, raw: &str) -> Result<CanonicalStatus, RejectionReason> {
        if let Some(status) = self.by_raw.get(&fold(raw, self.matching)) {
            return Ok(*status);
        }
        match self.unmapped {
            UnmappedPolicy::Use(status) => Ok(status),
            UnmappedPolicy::Reject => Err(RejectionReason::new(
                "raw_status",
                ReasonCode::UnmappedStatus,
                format!(
                    "status {raw:?} is not mapped to a canonical status; add it to the store's \
                     [store.status_map] or set unmapped_status"
                ),
            )),
        }
    }

    /// The policy for unmapped strings.
    pub fn unmapped_policy(&self) -> UnmappedPolicy {
        self.unmapped
    }
}

fn fold(raw: &str, matching: StatusMatch) -> String {
    match matching {
        StatusMatch::CaseSensitive => raw.to_owned(),
        StatusMatch::CaseInsensitive => raw.to_lowercase(),
    }
}

/// A connector's default mapping: for each canonical status, the channel's raw strings.
pub type DefaultStatusMap = &'static [(CanonicalStatus, &'static [&'static str])];

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(matching: StatusMatch, unmapped: UnmappedPolicy) -> StatusMapping {
        StatusMapping::new(
            [
                (CanonicalStatus::AwaitingPayment, vec!["unpaid"]),
                (
                    CanonicalStatus::AwaitingShipment,
                    vec!["paid", "processing"],
                ),
                (CanonicalStatus::Shipped, vec!["shipped"]),
            ],
            matching,
            unmapped,
        )
        .unwrap()
    }

    #[test]
    fn case_sensitive_by_default() {
        let m = mapping(StatusMatch::CaseSensitive, UnmappedPolicy::Reject);
        assert_eq!(m.map("paid"), Ok(CanonicalStatus::AwaitingShipment));
        let reason = m.map("Paid").unwrap_err();
        assert_eq!(reason.code, ReasonCode::UnmappedStatus);
        assert_eq!(reason.field, "raw_status");
        assert!(reason.message.contains("\"Paid\""), "{}", reason.message);
        assert!(reason.message.contains("status_map"), "{}", reason.message);
    }

    #[test]
    fn case_insensitive_option() {
        let m = mapping(StatusMatch::CaseInsensitive, UnmappedPolicy::Reject);
        assert_eq!(m.map("PAID"), Ok(CanonicalStatus::AwaitingShipment));
        assert_eq!(m.map("Shipped"), Ok(CanonicalStatus::Shipped));
    }

    #[test]
    fn unmapped_status_uses_the_fallback_when_configured() {
        let m = mapping(
            StatusMatch::CaseSensitive,
            UnmappedPolicy::Use(CanonicalStatus::OnHold),
        );
        assert_eq!(m.map("disputed"), Ok(CanonicalStatus::OnHold));
        assert_eq!(m.map("unpaid"), Ok(CanonicalStatus::AwaitingPayment));
    }

    #[test]
    fn a_raw_status_mapped_twice_is_an_error() {
        let err = StatusMapping::new(
            [
                (CanonicalStatus::AwaitingShipment, vec!["paid"]),
                (CanonicalStatus::Shipped, vec!["Paid"]),
            ],
            StatusMatch::CaseInsensitive,
            UnmappedPolicy::Reject,
        )
        .unwrap_err();
        assert_eq!(err.first, CanonicalStatus::AwaitingShipment);
        assert_eq!(err.second, CanonicalStatus::Shipped);
        // The same two strings are distinct when case matters.
        assert!(StatusMapping::new(
            [
                (CanonicalStatus::AwaitingShipment, vec!["paid"]),
                (CanonicalStatus::Shipped, vec!["Paid"]),
            ],
            StatusMatch::CaseSensitive,
            UnmappedPolicy::Reject,
        )
        .is_ok());
    }

    #[test]
    fn canonical_names_round_trip() {
        for status in CanonicalStatus::ALL {
            assert_eq!(status.as_str().parse::<CanonicalStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{}\"", status.as_str())
            );
        }
        assert!("Shipped".parse::<CanonicalStatus>().is_err());
    }
}
