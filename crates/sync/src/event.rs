//! The status event, in the one shape it has from the engine to every sink.
//!
//! - [`NewEvent`]: a status change the engine appends to the outbox, in the same transaction
//!   as the order it concerns. Whether a change to `shipped` was a label is decided here, once,
//!   by the engine ([`NewEvent::label`]).
//! - [`StatusEvent`]: the event as the outbox keeps it (its id, whether it is backfill, when it
//!   was recorded); what `orderport events` lists.
//! - [`OutboxEvent`]: what a sink receives: the event, the typed order it concerns, and the
//!   shipment recorded for it. No JSON round trip: a backend decodes its stored order once.
//!
//! The order's content is stored once, in the orders table; an event keeps only its own facts
//! (statuses, raw status, time, label). A sink therefore gets the order as it is stored when
//! the event is delivered: its items and addresses may be newer than the event, its statuses
//! are the event's.

use chrono::{DateTime, Utc};
use orderport_core::{CanonicalStatus, Order, OrderKey, ShipmentUpdate};
use serde::{Deserialize, Serialize};

/// A status change to append to the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewEvent {
    /// The order.
    pub key: OrderKey,
    /// Its number.
    pub order_number: String,
    /// The store's name.
    pub store_name: String,
    /// The status before, `None` for an order seen for the first time.
    pub from: Option<CanonicalStatus>,
    /// The status now.
    pub to: CanonicalStatus,
    /// The channel's own status string now (for a label, the order's last one).
    pub raw_status: String,
    /// When it happened: the order's modification time, or the label's time.
    pub at: DateTime<Utc>,
    /// For `to == shipped`: whether a label shipment ships the order. Sinks send "Order
    /// Shipped" only then. Always false for other statuses.
    pub label: bool,
}

impl NewEvent {
    /// `order`'s change from `from` to `to` at `at` (its key, number, store name and raw status
    /// taken from the order), a label when `to` is shipped and a label was recorded for it
    /// ([`NewEvent::is_label`]).
    pub fn change(
        order: &Order,
        from: Option<CanonicalStatus>,
        to: CanonicalStatus,
        at: DateTime<Utc>,
        label_recorded: bool,
    ) -> Self {
        Self {
            key: order.key(),
            order_number: order.order_number.clone(),
            store_name: order.store_name.clone(),
            from,
            to,
            raw_status: order.raw_status.clone(),
            at,
            label: Self::is_label(to, label_recorded),
        }
    }

    /// Whether a change to `to` is a label shipment, given whether a label was recorded for
    /// the order: the one place this is decided.
    pub fn is_label(to: CanonicalStatus, label_recorded: bool) -> bool {
        to == CanonicalStatus::Shipped && label_recorded
    }
}

/// An event as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusEvent {
    /// Its position in the outbox: sinks report verdicts by it, readers page by it.
    pub id: i64,
    /// The order (serialized as `channel`, `store_id`, `external_id`).
    #[serde(flatten)]
    pub key: OrderKey,
    /// Its number.
    pub order_number: String,
    /// The store's name.
    pub store_name: String,
    /// The status before, `None` for an order seen for the first time.
    pub from: Option<CanonicalStatus>,
    /// The status after.
    pub to: CanonicalStatus,
    /// The channel's own status string after.
    pub raw_status: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// For `shipped`: whether it was a label shipment.
    pub label: bool,
    /// Written during the store's first sync (its history backfill).
    pub backfill: bool,
    /// When the engine recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// One outbox event handed to a sink.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    /// The event.
    pub event: StatusEvent,
    /// The order it concerns, as stored now (see the module documentation).
    pub order: Order,
    /// For events to `shipped`: the latest shipment recorded for the order, a label first.
    pub shipment: Option<ShipmentUpdate>,
}

impl OutboxEvent {
    /// The outbox id.
    pub fn id(&self) -> i64 {
        self.event.id
    }
}

/// A sink's verdict on one event, as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryMark {
    /// Delivered.
    Delivered(i64),
    /// Skipped, with its reason code.
    Skipped {
        /// The outbox id.
        id: i64,
        /// The reason code.
        reason: String,
    },
    /// Refused for good by the destination, with its reason.
    Refused {
        /// The outbox id.
        id: i64,
        /// What the destination said.
        reason: String,
    },
}

impl DeliveryMark {
    /// The outbox id.
    pub fn id(&self) -> i64 {
        match self {
            Self::Delivered(id) | Self::Skipped { id, .. } | Self::Refused { id, .. } => *id,
        }
    }

    /// `delivered`, `skipped` or `refused`, as stored.
    pub fn state(&self) -> &'static str {
        match self {
            Self::Delivered(_) => "delivered",
            Self::Skipped { .. } => "skipped",
            Self::Refused { .. } => "refused",
        }
    }

    /// The reason code or text, where there is one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Delivered(_) => None,
            Self::Skipped { reason, .. } | Self::Refused { reason, .. } => Some(reason),
        }
    }
}
