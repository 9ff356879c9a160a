//! Shipments recorded after a push: what ships an order, split labels included.
//!
//! Shipped means a label (the seed's rule). A label for the whole order ships it; labels for
//! some of its items ship it when they cover every unit of every line
//! ([`orderport_core::fulfilment`] has the model and the matching rules), and the label that
//! covers the last unit is the one that ships it: the order becomes `shipped` and one status
//! event to `shipped` with `label = true` is written at that label's time, in the same
//! transaction. Earlier parts are recorded (their items and quantities) and change nothing
//! else. A shipment only marked as shipped never ships the order: when the channel reports it
//! shipped, its event has `label = false`.

use orderport_core::{CanonicalStatus, Fulfilment, Order, OrderRef, ShipmentKind, ShipmentUpdate};
use serde::Serialize;

use crate::engine::SyncEngine;
use crate::error::{StateError, SyncError};
use crate::event::NewEvent;
use crate::state::{LabelCoverage, ShipOrder, ShipmentRecord};

/// How often a shipment's decision is made again when another write got in between.
const ATTEMPTS: u32 = 3;

/// What recording a shipment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShipmentRecorded {
    /// The outbox id of the event to `shipped`, when this shipment shipped the order.
    pub event: Option<i64>,
    /// For a label of a stored order: how much of the order labels cover now, this one
    /// included. `None` for a shipment only marked as shipped and for an order not stored yet.
    pub fulfilment: Option<Fulfilment>,
}

/// A label counted against its stored order.
struct Counted {
    order: Order,
    labels_before: usize,
    fulfilment: Fulfilment,
}

impl SyncEngine {
    /// Checks a shipment against the stored order before it is pushed: a label listing an item
    /// the order does not have, or more units than remain without a label, fails with
    /// [`SyncError::Label`]. Returns the coverage the label would give (see
    /// [`ShipmentRecorded::fulfilment`]). Nothing is written.
    pub async fn check_shipment(
        &self,
        store_id: &str,
        update: &ShipmentUpdate,
    ) -> Result<Option<Fulfilment>, SyncError> {
        Ok(self
            .count_label(store_id, update)
            .await?
            .map(|counted| counted.fulfilment))
    }

    /// Records a shipment pushed for an order of `store_id`. Call it when the push succeeds.
    ///
    /// The rules are the [module's](crate::shipment): a label that completes the order's
    /// coverage ships it (one event, `label = true`, at the label's time); a label for some
    /// items that leaves units unlabelled is recorded with its quantities and ships nothing; a
    /// shipment only marked as shipped ships nothing. The channel reporting the order shipped
    /// later adds no second event. A label for an order not stored yet makes its later event
    /// to `shipped` carry `label = true` when it was for the whole order. A label that does not
    /// fit the stored order fails with [`SyncError::Label`] and records nothing.
    pub async fn record_shipment(
        &self,
        store_id: &str,
        update: &ShipmentUpdate,
    ) -> Result<ShipmentRecorded, SyncError> {
        let at = self.clock.now();
        let label_at = update.label_created_at.unwrap_or(at);
        // The order and its labels may change between the reads and the write (another
        // worker's page, another label): the write checks what the decision was made on, and
        // the decision is made again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let counted = self.count_label(store_id, update).await?;
            let (ship, coverage) = match &counted {
                None => (None, None),
                Some(c) => {
                    let completes = c.fulfilment.is_complete();
                    let ship =
                        (completes && c.order.status != CanonicalStatus::Shipped).then(|| {
                            ShipOrder {
                                key: c.order.key(),
                                expect: c.order.status,
                                event: NewEvent::change(
                                    &c.order,
                                    Some(c.order.status),
                                    CanonicalStatus::Shipped,
                                    label_at,
                                    true,
                                ),
                            }
                        });
                    let coverage = LabelCoverage {
                        key: c.order.key(),
                        order_number: c.order.order_number.clone(),
                        labels_before: c.labels_before,
                        completes,
                    };
                    (ship, Some(coverage))
                }
            };
            let written = self
                .state
                .record_shipment(ShipmentRecord {
                    store_id,
                    update,
                    at,
                    ship,
                    coverage,
                })
                .await;
            match written {
                Err(StateError::Conflict { .. }) if attempts < ATTEMPTS => continue,
                other => {
                    return Ok(ShipmentRecorded {
                        event: other?,
                        fulfilment: counted.map(|c| c.fulfilment),
                    })
                }
            }
        }
    }

    /// For a label of a stored order: the order, its labels so far and the coverage with this
    /// one added.
    async fn count_label(
        &self,
        store_id: &str,
        update: &ShipmentUpdate,
    ) -> Result<Option<Counted>, SyncError> {
        if update.kind != ShipmentKind::Label {
            return Ok(None);
        }
        let Some(order) = self.state.find_order(store_id, &update.order).await? else {
            return Ok(None);
        };
        let stored = OrderRef {
            external_id: Some(order.external_id.clone()),
            order_number: order.order_number.clone(),
        };
        let before = self.state.label_shipments(store_id, &stored).await?;
        let mut fulfilment = Fulfilment::new(&order);
        fulfilment.absorb(&before);
        fulfilment.add(update).map_err(|source| SyncError::Label {
            store: store_id.to_owned(),
            source,
        })?;
        Ok(Some(Counted {
            order,
            labels_before: before.len(),
            fulfilment,
        }))
    }
}
