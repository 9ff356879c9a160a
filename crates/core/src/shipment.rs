//! Shipment updates: what goes back to the channel once an order ships.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::channel::ChannelSpec;

/// How a shipment came about. The event layer sends "Order Shipped" only for labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentKind {
    /// A shipping label was created.
    Label,
    /// The order was only marked as shipped (manually or by a third party).
    MarkedShipped,
}

/// Items and quantities in one shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedItem {
    /// The line's id from the order, where the channel gave one.
    pub line_id: Option<String>,
    /// The SKU.
    pub sku: String,
    /// The product name, where known.
    pub name: Option<String>,
    /// Units in this shipment, at least 1.
    pub quantity: u32,
}

/// Whether a shipment covers the whole order or only some of its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", content = "items", rename_all = "snake_case")]
pub enum ShipmentScope {
    /// The whole order; the items, where listed, are informative.
    Complete(Vec<ShippedItem>),
    /// Only these items: a split or partial shipment. Never empty.
    Partial(Vec<ShippedItem>),
}

/// The order a shipment belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    /// The channel's id for the order, where known.
    pub external_id: Option<String>,
    /// The order number.
    pub order_number: String,
}

/// A shipment to report back to the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentUpdate {
    /// The order shipped.
    pub order: OrderRef,
    /// The carrier code, such as `USPS` or `UPS`.
    pub carrier: String,
    /// The carrier's service, such as `Priority Mail`.
    pub service: Option<String>,
    /// The tracking number.
    pub tracking_number: String,
    /// The day it shipped.
    pub ship_date: NaiveDate,
    /// When the label was created, for label shipments.
    pub label_created_at: Option<DateTime<Utc>>,
    /// What the label cost.
    pub shipping_cost: Option<Decimal>,
    /// Notes for the buyer.
    pub notes_to_buyer: Option<String>,
    /// Whether the channel should notify the buyer.
    pub notify_customer: bool,
    /// What the shipment contains.
    pub scope: ShipmentScope,
    /// How it came about.
    pub kind: ShipmentKind,
}

/// A shipment update that cannot be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidShipment {
    /// A partial shipment must list its items.
    #[error("order {0}: a partial shipment must list the items shipped; add at least one item")]
    PartialWithoutItems(String),
    /// Quantities start at 1.
    #[error("order {order}: item {sku} has quantity 0; ship at least one unit or leave it out")]
    ZeroQuantity {
        /// The order number.
        order: String,
        /// The item's SKU.
        sku: String,
    },
    /// The channel cannot take a shipment of only some items.
    #[error(
        "order {order}: {channel} does not accept partial shipments; send the complete shipment"
    )]
    PartialNotSupported {
        /// The order number.
        order: String,
        /// The channel's name.
        channel: &'static str,
    },
    /// Required text is empty.
    #[error("order {order}: {field} is empty; it is required")]
    Empty {
        /// The order number.
        order: String,
        /// The field.
        field: &'static str,
    },
}

impl ShipmentUpdate {
    /// The items listed, whatever the scope.
    pub fn items(&self) -> &[ShippedItem] {
        match &self.scope {
            ShipmentScope::Complete(items) | ShipmentScope::Partial(items) => items,
        }
    }

    /// True when only some items shipped.
    pub fn is_partial(&self) -> bool {
        matches!(self.scope, ShipmentScope::Partial(_))
    }

    /// Checks the update before it is sent.
    pub fn validate(&self) -> Result<(), InvalidShipment> {
        let order = &self.order.order_number;
        for (field, value) in [
            ("order_number", order.as_str()),
            ("carrier", self.carrier.as_str()),
            ("tracking_number", self.tracking_number.as_str()),
        ] {
            if value.trim().is_empty() {
                return Err(InvalidShipment::Empty {
                    order: order.clone(),
                    field,
                });
            }
        }
        if let ShipmentScope::Partial(items) = &self.scope {
            if items.is_empty() {
                return Err(InvalidShipment::PartialWithoutItems(order.clone()));
            }
        }
        if let Some(item) = self.items().iter().find(|i| i.quantity == 0) {
            return Err(InvalidShipment::ZeroQuantity {
                order: order.clone(),
                sku: item.sku.clone(),
            });
        }
        Ok(())
    }

    /// [`validate`](Self::validate), and checks that the channel can take the update: a partial
    /// shipment needs `capabilities.partial_shipments`. Connectors call this before sending.
    pub fn check_for(&self, spec: &ChannelSpec) -> Result<(), InvalidShipment> {
        self.validate()?;
        if self.is_partial() && !spec.capabilities.partial_shipments {
            return Err(InvalidShipment::PartialNotSupported {
                order: self.order.order_number.clone(),
                channel: spec.name,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(scope: ShipmentScope) -> ShipmentUpdate {
        ShipmentUpdate {
            order: OrderRef {
                external_id: None,
                order_number: "1001".into(),
            },
            carrier: "USPS".into(),
            service: None,
            tracking_number: "9400".into(),
            ship_date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            label_created_at: None,
            shipping_cost: None,
            notes_to_buyer: None,
            notify_customer: true,
            scope,
            kind: ShipmentKind::Label,
        }
    }

    #[test]
    fn partial_shipments_must_list_items() {
        assert_eq!(
            update(ShipmentScope::Partial(vec![])).validate(),
            Err(InvalidShipment::PartialWithoutItems("1001".into()))
        );
        assert!(update(ShipmentScope::Complete(vec![])).validate().is_ok());
    }

    #[test]
    fn partial_shipments_need_the_capability() {
        use crate::channel::Capabilities;
        let item = ShippedItem {
            line_id: None,
            sku: "A".into(),
            name: None,
            quantity: 1,
        };
        let mut spec = ChannelSpec {
            id: "x",
            name: "X Channel",
            requirements: &[],
            default_statuses: &[],
            capabilities: Capabilities::NONE
                .with_partial_shipments(false)
                .with_customer_email(true)
                .with_custom_statuses(true),
            modified_precision: chrono::Duration::minutes(1),
        };
        let partial = update(ShipmentScope::Partial(vec![item]));
        let err = partial.check_for(&spec).unwrap_err();
        assert!(matches!(
            err,
            InvalidShipment::PartialNotSupported {
                channel: "X Channel",
                ..
            }
        ));
        assert!(err.to_string().contains("send the complete shipment"));
        assert!(update(ShipmentScope::Complete(vec![]))
            .check_for(&spec)
            .is_ok());
        spec.capabilities.partial_shipments = true;
        assert!(partial.check_for(&spec).is_ok());
        // An invalid update fails whatever the channel.
        assert!(matches!(
            update(ShipmentScope::Partial(vec![])).check_for(&spec),
            Err(InvalidShipment::PartialWithoutItems(_))
        ));
    }

    #[test]
    fn zero_quantities_and_empty_tracking_are_refused() {
        let item = ShippedItem {
            line_id: None,
            sku: "A".into(),
            name: None,
            quantity: 0,
        };
        assert!(matches!(
            update(ShipmentScope::Partial(vec![item])).validate(),
            Err(InvalidShipment::ZeroQuantity { .. })
        ));
        let mut u = update(ShipmentScope::Complete(vec![]));
        u.tracking_number = " ".into();
        assert!(matches!(
            u.validate(),
            Err(InvalidShipment::Empty {
                field: "tracking_number",
                ..
            })
        ));
    }
}
