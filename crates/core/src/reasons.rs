//! [`Reasons`]: every problem found while mapping one order, collected as
//! [`RejectionReason`]s with their field paths, so that a bad field never fails the page and
//! the rejection lists every problem, not only the first.
//!
//! Each reader (`time`, `money`, `currency`, `status`, `text`) returns the value read, or, when
//! the value is bad, records a reason and returns a **placeholder** (the Unix epoch, zero, no
//! currency, `awaiting_payment`, an empty text) so that mapping can go on. An order with a
//! reason is always rejected ([`finish`](crate::finish) never accepts it), so a placeholder
//! never reaches an imported order.
//!
//! ```
//! use orderport_core::{CanonicalStatus, Clock, ReasonCode, Reasons, StatusMapping, StatusMatch, UnmappedPolicy};
//!
//! let statuses = StatusMapping::new(
//!     [(CanonicalStatus::AwaitingShipment, ["paid"])],
//!     StatusMatch::CaseSensitive,
//!     UnmappedPolicy::Reject,
//! )?;
//! let mut reasons = Reasons::new();
//! let total = reasons.money("order_total", "19.50");
//! let paid = reasons.time("paid_at", "2026-03-01T08:00:00", Clock::Utc);
//! let status = reasons.status(&statuses, "paid");
//! assert!(reasons.is_empty());
//! assert_eq!(total.to_string(), "19.50");
//! assert_eq!(status, CanonicalStatus::AwaitingShipment);
//!
//! reasons.money("items[1].unit_price", "12,50");
//! reasons.currency("currency", Some("dollars"));
//! reasons.text("ship_to.country", Some("  "));
//! let codes: Vec<(&str, ReasonCode)> =
//!     reasons.as_slice().iter().map(|r| (r.field.as_str(), r.code)).collect();
//! assert_eq!(codes, [
//!     ("items[1].unit_price", ReasonCode::InvalidNumber),
//!     ("currency", ReasonCode::InvalidValue),
//!     ("ship_to.country", ReasonCode::Missing),
//! ]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use crate::channel::{finish, ChannelSpec, FetchOutcome, StoreProfile};
use crate::clock::Clock;
use crate::order::{CurrencyCode, Order};
use crate::rejection::{ReasonCode, Rejection, RejectionReason};
use crate::status::{CanonicalStatus, StatusMapping};

/// The problems found in one order so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reasons(Vec<RejectionReason>);

impl Reasons {
    /// No problem yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a reason.
    pub fn push(&mut self, reason: RejectionReason) {
        self.0.push(reason);
    }

    /// Records a reason on `field`.
    pub fn add(&mut self, field: impl Into<String>, code: ReasonCode, message: impl Into<String>) {
        self.push(RejectionReason::new(field, code, message));
    }

    /// True when nothing is wrong so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The reasons recorded, in order.
    pub fn as_slice(&self) -> &[RejectionReason] {
        &self.0
    }

    /// The reasons recorded, in order.
    pub fn into_vec(self) -> Vec<RejectionReason> {
        self.0
    }

    /// A time from `text`, offset-less times read in `clock`; the Unix epoch and an
    /// `invalid_date` reason when it is in no known format (or empty).
    pub fn time(&mut self, field: &str, text: &str, clock: Clock) -> DateTime<Utc> {
        clock.read(text).unwrap_or_else(|e| {
            self.add(field, ReasonCode::InvalidDate, e.to_string());
            DateTime::UNIX_EPOCH
        })
    }

    /// [`time`](Self::time) for a field the channel may leave out: `None` when absent or blank.
    pub fn optional_time(
        &mut self,
        field: &str,
        text: Option<&str>,
        clock: Clock,
    ) -> Option<DateTime<Utc>> {
        let text = text.filter(|t| !t.trim().is_empty())?;
        Some(self.time(field, text, clock))
    }

    /// An amount from a decimal text (`"19.50"`; never through a float); zero and a reason when
    /// it is empty (`missing`) or not a number (`invalid_number`, such as `"12,50"`).
    pub fn money(&mut self, field: &str, text: &str) -> Decimal {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            self.add(
                field,
                ReasonCode::Missing,
                "no amount; the channel sent an empty value",
            );
            return Decimal::ZERO;
        }
        Decimal::from_str(trimmed).unwrap_or_else(|_| {
            self.add(
                field,
                ReasonCode::InvalidNumber,
                format!("{text:?} is not an amount (digits with a point, such as 19.50)"),
            );
            Decimal::ZERO
        })
    }

    /// [`money`](Self::money) for a field the channel may leave out: `None` when absent or
    /// blank.
    pub fn optional_money(&mut self, field: &str, text: Option<&str>) -> Option<Decimal> {
        let text = text.filter(|t| !t.trim().is_empty())?;
        Some(self.money(field, text))
    }

    /// An ISO 4217 currency code (any case); `None` when absent or blank, and `None` with an
    /// `invalid_value` reason when it is not three letters.
    pub fn currency(&mut self, field: &str, text: Option<&str>) -> Option<CurrencyCode> {
        let text = text.filter(|t| !t.trim().is_empty())?;
        let code = CurrencyCode::parse(text);
        if code.is_none() {
            self.add(
                field,
                ReasonCode::InvalidValue,
                format!("{text:?} is not an ISO 4217 currency code (three letters, such as USD)"),
            );
        }
        code
    }

    /// The canonical status of `raw` through the store's mapping; `awaiting_payment` and the
    /// mapping's `unmapped_status` reason (on `raw_status`) when no list holds it under the
    /// reject policy.
    pub fn status(&mut self, statuses: &StatusMapping, raw: &str) -> CanonicalStatus {
        statuses.map(raw).unwrap_or_else(|reason| {
            self.push(reason);
            CanonicalStatus::AwaitingPayment
        })
    }

    /// A text the order cannot do without; empty and a `missing` reason when it is absent or
    /// blank.
    pub fn text(&mut self, field: &str, text: Option<&str>) -> String {
        match text.filter(|t| !t.trim().is_empty()) {
            Some(text) => text.to_owned(),
            None => {
                self.add(
                    field,
                    ReasonCode::Missing,
                    "missing or empty; fill it in on the channel, and the next sync imports the order",
                );
                String::new()
            }
        }
    }

    /// Finishes a mapped order with these reasons: [`finish`] adds the channel's requirements
    /// and the plausibility rules, and returns the order or its rejection.
    pub fn finish(self, order: Order, spec: &ChannelSpec) -> FetchOutcome {
        finish(order, self.0, spec)
    }

    /// A rejection of an order that could not be mapped at all, with these reasons (at least
    /// one: an empty collector gives a reason on `order`).
    pub fn reject(
        mut self,
        store: &StoreProfile,
        external_id: Option<String>,
        order_number: Option<String>,
    ) -> FetchOutcome {
        if self.is_empty() {
            self.add(
                "order",
                ReasonCode::InvalidValue,
                "the order could not be read; report it to the channel",
            );
        }
        FetchOutcome::Rejected(Rejection {
            store_id: store.id.clone(),
            external_id,
            order_number,
            reasons: self.0,
        })
    }
}

impl From<Reasons> for Vec<RejectionReason> {
    fn from(reasons: Reasons) -> Self {
        reasons.0
    }
}

impl Extend<RejectionReason> for Reasons {
    fn extend<I: IntoIterator<Item = RejectionReason>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

/// Reads one order of a JSON page into the connector's wire type `T`. An order that does not
/// have that shape (a missing field, a list where a text should be) becomes a rejection with a
/// reason on `order`, identified by its `id_key` and `number_key` texts where it has them, so
/// that it never fails its page.
///
/// ```
/// use orderport_core::reasons::json_order;
/// # use orderport_core::{FetchOutcome, StoreProfile, StoresFile, ChannelSpec, Capabilities};
/// # static SPEC: ChannelSpec = ChannelSpec { id: "shop", name: "Shop", requirements: &[],
/// #     default_statuses: &[], capabilities: Capabilities::NONE,
/// #     modified_precision: chrono::Duration::seconds(1) };
/// # let file = StoresFile::parse("[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"shop\"\nurl = \"https://s.example\"\n", &|_| None)?;
/// # let store = StoreProfile::new(file.store("s")?, &SPEC)?;
/// #[derive(serde::Deserialize)]
/// struct Wire { id: String, total: String }
///
/// let good = serde_json::json!({"id": "A-1", "total": "5.00"});
/// assert!(json_order::<Wire>(good, &store, "id", "number").is_ok());
/// let bad = serde_json::json!({"id": "A-2", "number": "1002", "total": 5});
/// let Err(FetchOutcome::Rejected(rejection)) = json_order::<Wire>(bad, &store, "id", "number") else {
///     panic!("a shape error is a rejection");
/// };
/// assert_eq!(rejection.order_number.as_deref(), Some("1002"));
/// assert_eq!(rejection.reasons[0].field, "order");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn json_order<T: DeserializeOwned>(
    value: serde_json::Value,
    store: &StoreProfile,
    id_key: &str,
    number_key: &str,
) -> Result<T, FetchOutcome> {
    let text = |key: &str| match value.get(key) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let (external_id, order_number) = (text(id_key), text(number_key));
    serde_json::from_value(value).map_err(|e| {
        let mut reasons = Reasons::new();
        reasons.add(
            "order",
            ReasonCode::InvalidValue,
            format!(
                "the order is not in the shape the connector reads ({e}); report it to the channel"
            ),
        );
        reasons.reject(store, external_id, order_number)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::status::{StatusMatch, UnmappedPolicy};
    use crate::store_time::StoreZone;
    use crate::testing::{sample_order, SAMPLE_SPEC as SPEC};

    fn statuses() -> StatusMapping {
        StatusMapping::new(
            [(CanonicalStatus::Shipped, ["sent"])],
            StatusMatch::CaseSensitive,
            UnmappedPolicy::Reject,
        )
        .unwrap()
    }

    #[test]
    fn every_reader_records_its_field_and_code_and_returns_a_placeholder() {
        let mut r = Reasons::new();
        assert_eq!(
            r.time("ordered_at", "soon", Clock::Utc),
            DateTime::UNIX_EPOCH
        );
        assert_eq!(r.money("order_total", " "), Decimal::ZERO);
        assert_eq!(r.money("tax_amount", "1.2.3"), Decimal::ZERO);
        assert_eq!(r.currency("currency", Some("EURO")), None);
        assert_eq!(
            r.status(&statuses(), "lost"),
            CanonicalStatus::AwaitingPayment
        );
        assert_eq!(r.text("order_number", None), "");
        assert_eq!(
            r.optional_time("paid_at", Some("x"), Clock::Utc),
            Some(DateTime::UNIX_EPOCH)
        );
        assert_eq!(
            r.optional_money("shipping_amount", Some("free")),
            Some(Decimal::ZERO)
        );
        let got: Vec<(&str, ReasonCode)> = r
            .as_slice()
            .iter()
            .map(|x| (x.field.as_str(), x.code))
            .collect();
        assert_eq!(
            got,
            [
                ("ordered_at", ReasonCode::InvalidDate),
                ("order_total", ReasonCode::Missing),
                ("tax_amount", ReasonCode::InvalidNumber),
                ("currency", ReasonCode::InvalidValue),
                ("raw_status", ReasonCode::UnmappedStatus),
                ("order_number", ReasonCode::Missing),
                ("paid_at", ReasonCode::InvalidDate),
                ("shipping_amount", ReasonCode::InvalidNumber),
            ]
        );
        assert!(r.as_slice().iter().all(|x| !x.message.trim().is_empty()));
    }

    #[test]
    fn absent_optional_values_record_nothing() {
        let mut r = Reasons::new();
        assert_eq!(r.optional_time("paid_at", None, Clock::Utc), None);
        assert_eq!(r.optional_time("paid_at", Some(" "), Clock::Utc), None);
        assert_eq!(r.optional_money("tax_amount", None), None);
        assert_eq!(r.currency("currency", None), None);
        assert_eq!(r.currency("currency", Some("usd")).unwrap().as_str(), "USD");
        assert_eq!(r.status(&statuses(), "sent"), CanonicalStatus::Shipped);
        assert_eq!(r.text("order_number", Some("1001")), "1001");
        let chicago = StoreZone::parse("America/Chicago").unwrap();
        let t = r.time("ordered_at", "03/07/2026 21:56", Clock::Store(chicago));
        assert_eq!(t.to_rfc3339(), "2026-03-08T03:56:00+00:00");
        assert!(r.is_empty(), "{r:?}");
    }

    #[test]
    fn finish_rejects_an_order_with_a_reason_and_accepts_a_clean_one() {
        assert!(matches!(
            Reasons::new().finish(sample_order(), &SPEC),
            FetchOutcome::Accepted(_)
        ));
        let mut r = Reasons::new();
        r.money("order_total", "n/a");
        let FetchOutcome::Rejected(rejection) = r.finish(sample_order(), &SPEC) else {
            panic!("a reason rejects the order");
        };
        assert_eq!(rejection.reasons[0].field, "order_total");
        assert_eq!(rejection.external_id.as_deref(), Some("A-1"));
    }

    proptest! {
        /// Any decimal text reads exactly (no float on the way), and no text that is not one
        /// is accepted silently.
        #[test]
        fn money_reads_decimal_texts_exactly(units in any::<i64>(), scale in 0u32..8, junk in "[a-z,]{1,3}") {
            let amount = Decimal::new(units, scale);
            let mut r = Reasons::new();
            prop_assert_eq!(r.money("order_total", &amount.to_string()), amount);
            prop_assert!(r.is_empty());
            let text = format!("{amount}{junk}");
            prop_assert_eq!(r.money("order_total", &text), Decimal::ZERO);
            prop_assert_eq!(r.as_slice().len(), 1);
        }
    }
}
