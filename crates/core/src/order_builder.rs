//! [`OrderBuilder`]: a canonical [`Order`] built from what a channel sends, with a default for
//! everything optional, and [`LineItem::new`] for a line with only its required parts.
//!
//! The builder starts from the order's identity and its store. Four parts have no sensible
//! default and must be set: the status (with its raw string), `ordered_at`, `modified_at` and
//! `order_total`; every other field starts empty (`None`, no items, no discounts, not a gift).
//! [`finish`](OrderBuilder::finish) turns a part left unset, or an empty external id or order
//! number, into a `missing` [`RejectionReason`] instead of importing an order with a made-up
//! value, then runs [`finish`](crate::finish).
//!
//! ```
//! use orderport_core::{
//!     Address, CanonicalStatus, Clock, FetchOutcome, LineItem, Order, Reasons, StoreProfile,
//!     StoresFile,
//! };
//! # use orderport_core::{Capabilities, ChannelSpec, Requirement};
//! # static SPEC: ChannelSpec = ChannelSpec { id: "shop", name: "Shop",
//! #     requirements: &[Requirement::ShipToAddress], default_statuses: &[(CanonicalStatus::AwaitingShipment, &["paid"])],
//! #     capabilities: Capabilities::NONE,
//! #     modified_precision: chrono::Duration::seconds(1) };
//! # let file = StoresFile::parse("[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"shop\"\nurl = \"https://s.example\"\n", &|_| None)?;
//! # let store = StoreProfile::new(file.store("s")?, &SPEC)?;
//! let mut reasons = Reasons::new();
//! let order = Order::builder(&SPEC, &store, "A-1", "1001")
//!     .status(reasons.status(&store.statuses, "paid"), "paid")
//!     .ordered_at(reasons.time("ordered_at", "2026-03-01T08:00:00Z", Clock::Utc))
//!     .modified_at(reasons.time("modified_at", "2026-03-01T08:05:00Z", Clock::Utc))
//!     .order_total(reasons.money("order_total", "19.50"))
//!     .ship_to(Some(Address {
//!         name: Some("Ada Fixture".into()),
//!         address1: Some("100 Example Street".into()),
//!         city: Some("Chicago".into()),
//!         country: Some("US".into()),
//!         ..Address::default()
//!     }))
//!     .items(vec![LineItem::new("SKU-1", "Anvil", 1, "19.50".parse()?)]);
//! let FetchOutcome::Accepted(order) = order.finish(reasons) else { panic!() };
//! assert_eq!(order.status, CanonicalStatus::AwaitingShipment);
//! assert_eq!(order.store_name, "S");
//! assert!(order.bill_to.is_none() && order.discounts.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::channel::{ChannelSpec, FetchOutcome, StoreProfile};
use crate::order::{
    Address, CurrencyCode, CustomFields, Customer, Discount, Gift, LineItem, Order, Weight,
};
use crate::reasons::Reasons;
use crate::rejection::{ReasonCode, RejectionReason};
use crate::status::CanonicalStatus;

/// The parts [`OrderBuilder::finish`] requires to have been set.
const REQUIRED: [&str; 4] = ["raw_status", "ordered_at", "modified_at", "order_total"];

/// Builds one canonical order; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct OrderBuilder {
    spec: &'static ChannelSpec,
    order: Order,
    /// Which of [`REQUIRED`] have been set, in its order.
    set: [bool; 4],
}

impl Order {
    /// A builder for the order `external_id` (number `order_number`) of `store` on the channel
    /// `spec`; see [`OrderBuilder`].
    pub fn builder(
        spec: &'static ChannelSpec,
        store: &StoreProfile,
        external_id: impl Into<String>,
        order_number: impl Into<String>,
    ) -> OrderBuilder {
        OrderBuilder {
            spec,
            order: Order {
                channel: spec.id.to_owned(),
                store_id: store.id.clone(),
                store_name: store.name.clone(),
                external_id: external_id.into(),
                order_number: order_number.into(),
                status: CanonicalStatus::AwaitingPayment,
                raw_status: String::new(),
                ordered_at: DateTime::UNIX_EPOCH,
                modified_at: DateTime::UNIX_EPOCH,
                paid_at: None,
                customer: Customer::default(),
                bill_to: None,
                ship_to: None,
                items: Vec::new(),
                discounts: Vec::new(),
                currency: None,
                order_total: Decimal::ZERO,
                tax_amount: None,
                shipping_amount: None,
                requested_shipping_service: None,
                payment_method: None,
                gift: Gift::default(),
                customer_notes: None,
                internal_notes: None,
                total_weight: None,
                custom_fields: CustomFields::default(),
                source: None,
                requested_warehouse: None,
            },
            set: [false; 4],
        }
    }
}

/// Setters for the optional fields: each replaces the field's default.
macro_rules! optional_setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, value: $ty) -> Self {
                self.order.$field = value;
                self
            }
        )*
    };
}

impl OrderBuilder {
    /// The canonical status (from the store's mapping) and the channel's raw string. Required.
    pub fn status(mut self, status: CanonicalStatus, raw: impl Into<String>) -> Self {
        self.order.status = status;
        self.order.raw_status = raw.into();
        self.set[0] = true;
        self
    }

    /// When the order was placed. Required.
    pub fn ordered_at(mut self, at: DateTime<Utc>) -> Self {
        self.order.ordered_at = at;
        self.set[1] = true;
        self
    }

    /// When the channel last modified the order. Required.
    pub fn modified_at(mut self, at: DateTime<Utc>) -> Self {
        self.order.modified_at = at;
        self.set[2] = true;
        self
    }

    /// The order total as the channel reports it. Required.
    pub fn order_total(mut self, total: Decimal) -> Self {
        self.order.order_total = total;
        self.set[3] = true;
        self
    }

    /// Adds one line of goods.
    pub fn item(mut self, item: LineItem) -> Self {
        self.order.items.push(item);
        self
    }

    optional_setters! {
        /// When the order was paid.
        paid_at: Option<DateTime<Utc>>;
        /// Who bought.
        customer: Customer;
        /// The billing address.
        bill_to: Option<Address>;
        /// Where the order goes.
        ship_to: Option<Address>;
        /// Every line of goods (replacing those added so far).
        items: Vec<LineItem>;
        /// Discounts and coupons.
        discounts: Vec<Discount>;
        /// The ISO 4217 currency of every amount.
        currency: Option<CurrencyCode>;
        /// Tax on the order.
        tax_amount: Option<Decimal>;
        /// What the buyer paid for shipping.
        shipping_amount: Option<Decimal>;
        /// The shipping service the buyer chose.
        requested_shipping_service: Option<String>;
        /// How the order was paid.
        payment_method: Option<String>;
        /// Whether it is a gift, and its message.
        gift: Gift;
        /// Notes the buyer left.
        customer_notes: Option<String>;
        /// Internal notes from the store.
        internal_notes: Option<String>;
        /// The whole order's weight.
        total_weight: Option<Weight>;
        /// Up to three custom fields.
        custom_fields: CustomFields;
        /// The marketplace the order came from.
        source: Option<String>;
        /// The warehouse the store asks to ship from.
        requested_warehouse: Option<String>;
    }

    /// The order, or a `missing` reason for each required part left unset and for an empty
    /// external id or order number.
    pub fn build(self) -> Result<Order, Vec<RejectionReason>> {
        let mut missing = Vec::new();
        for (field, set) in REQUIRED.iter().zip(self.set) {
            if !set {
                missing.push(RejectionReason::new(
                    *field,
                    ReasonCode::Missing,
                    format!(
                        "the connector set no {field}; this is a bug in the connector: report it"
                    ),
                ));
            }
        }
        for (field, value) in [
            ("external_id", &self.order.external_id),
            ("order_number", &self.order.order_number),
        ] {
            if value.trim().is_empty() {
                missing.push(RejectionReason::new(
                    field,
                    ReasonCode::Missing,
                    "missing or empty; the channel sent the order without it",
                ));
            }
        }
        if missing.is_empty() {
            Ok(self.order)
        } else {
            Err(missing)
        }
    }

    /// Finishes the order with the reasons found while mapping it: adds a reason for each
    /// missing part ([`build`](Self::build)), then [`crate::finish`] (requirements and
    /// plausibility). Returns the order, or its rejection with every reason.
    pub fn finish(self, mut reasons: Reasons) -> FetchOutcome {
        let spec = self.spec;
        let order = self.order.clone();
        if let Err(missing) = self.build() {
            reasons.extend(missing);
        }
        reasons.finish(order, spec)
    }
}

impl LineItem {
    /// A line with its SKU, name, quantity and unit price, and nothing else (no line id,
    /// weight, image, options, location or UPC).
    pub fn new(
        sku: impl Into<String>,
        name: impl Into<String>,
        quantity: u32,
        unit_price: Decimal,
    ) -> Self {
        Self {
            line_id: None,
            sku: sku.into(),
            name: name.into(),
            quantity,
            unit_price,
            weight: None,
            image_url: None,
            options: Vec::new(),
            location: None,
            upc: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::testing::{sample_order, sample_store, SAMPLE_SPEC as SPEC};

    fn store() -> StoreProfile {
        sample_store(10)
    }

    #[test]
    fn setting_every_field_gives_the_same_order_as_writing_it_out() {
        let o = sample_order();
        let built = Order::builder(
            &SPEC,
            &store(),
            o.external_id.clone(),
            o.order_number.clone(),
        )
        .status(o.status, o.raw_status.clone())
        .ordered_at(o.ordered_at)
        .modified_at(o.modified_at)
        .order_total(o.order_total)
        .paid_at(o.paid_at)
        .customer(o.customer.clone())
        .bill_to(o.bill_to.clone())
        .ship_to(o.ship_to.clone())
        .items(o.items.clone())
        .discounts(o.discounts.clone())
        .currency(o.currency.clone())
        .tax_amount(o.tax_amount)
        .shipping_amount(o.shipping_amount)
        .requested_shipping_service(o.requested_shipping_service.clone())
        .payment_method(o.payment_method.clone())
        .gift(o.gift.clone())
        .customer_notes(o.customer_notes.clone())
        .internal_notes(o.internal_notes.clone())
        .total_weight(o.total_weight)
        .custom_fields(o.custom_fields.clone())
        .source(o.source.clone())
        .requested_warehouse(o.requested_warehouse.clone())
        .build()
        .unwrap();
        assert_eq!(built, o);
    }

    #[test]
    fn optional_fields_default_to_empty() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        let order = Order::builder(&SPEC, &store(), "A-9", "9")
            .status(CanonicalStatus::Shipped, "sent")
            .ordered_at(at)
            .modified_at(at)
            .order_total(Decimal::ONE)
            .item(LineItem::new("S", "N", 2, Decimal::ONE))
            .build()
            .unwrap();
        assert_eq!(
            (order.channel.as_str(), order.store_id.as_str()),
            ("spark-shipping", "spark-hq")
        );
        assert_eq!(order.items.len(), 1);
        assert_eq!(order.items[0].quantity, 2);
        assert!(order.items[0].line_id.is_none() && order.items[0].options.is_empty());
        assert!(order.ship_to.is_none() && order.paid_at.is_none() && !order.gift.is_gift);
        assert_eq!(order.customer, Customer::default());
    }

    #[test]
    fn unset_required_parts_and_empty_ids_reject_the_order_naming_each() {
        let FetchOutcome::Rejected(rejection) = Order::builder(&SPEC, &store(), " ", "7")
            .order_total(Decimal::ONE)
            .finish(Reasons::new())
        else {
            panic!("an order without status and dates is not imported");
        };
        let fields: Vec<(&str, ReasonCode)> = rejection
            .reasons
            .iter()
            .map(|r| (r.field.as_str(), r.code))
            .collect();
        assert_eq!(
            fields,
            [
                ("raw_status", ReasonCode::Missing),
                ("ordered_at", ReasonCode::Missing),
                ("modified_at", ReasonCode::Missing),
                ("external_id", ReasonCode::Missing),
            ]
        );
        assert_eq!(rejection.order_number.as_deref(), Some("7"));
        assert_eq!(rejection.store_id, "spark-hq");
    }
}
