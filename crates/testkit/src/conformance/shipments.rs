//! The checks of shipments: what is sent, and partial shipments a channel cannot take.

use orderport_core::shipment::InvalidShipment;
use orderport_core::{ChannelError, ShipmentScope, StoreConfig};

use super::harness::Check;
use super::{CheckResult, Connector};
use crate::scenario::ScenarioKind;

async fn check_shipment(connector: &Connector, name: &str, partial: bool) -> CheckResult {
    let mut check = Check::new(name);
    if let Some(run) = check.run(connector, name).await {
        check.ensure(
            run.scenario.kind == ScenarioKind::PushShipment,
            "kind must be push_shipment",
        );
        // A channel that declares no partial shipments must refuse one before sending anything.
        let refuses_partial = partial && !supports_partial_shipments(connector, &run.store);
        if refuses_partial {
            check.ensure(
                matches!(
                    run.result,
                    Err(ChannelError::InvalidShipment {
                        reason: InvalidShipment::PartialNotSupported { .. },
                        ..
                    })
                ),
                "the channel declares partial_shipments = false, so a partial shipment must be refused with ChannelError::InvalidShipment (PartialNotSupported): call ShipmentUpdate::check_for before sending",
            );
            check.ensure(
                run.scenario.exchanges.is_empty(),
                "a refused partial shipment must send nothing: record no exchange",
            );
        } else {
            check.ensure(run.result.is_ok(), "push_shipment failed");
        }
        if let Some(update) = &run.scenario.shipment {
            if let Err(e) = update.validate() {
                check.fail(format!("[shipment] is not a valid update: {e}"));
            }
            for (field, set) in [
                ("service", update.service.is_some()),
                ("label_created_at", update.label_created_at.is_some()),
                ("shipping_cost", update.shipping_cost.is_some()),
                ("notes_to_buyer", update.notes_to_buyer.is_some()),
            ] {
                check.ensure(
                    set,
                    format!("[shipment] must set {field} so that sending every field is exercised"),
                );
            }
            match (&update.scope, partial) {
                (ShipmentScope::Partial(_), true) | (ShipmentScope::Complete(_), false) => {}
                (_, true) => check.fail("[shipment] scope must be partial"),
                (_, false) => check.fail("[shipment] scope must be complete"),
            }
        }
        check.ensure(
            refuses_partial
                || run
                    .scenario
                    .exchanges
                    .iter()
                    .any(|e| e.request.body.is_some()),
            "no recorded request has a body, so what is sent is not compared",
        );
    }
    check.finish()
}

/// What the channel built from `store` declares about partial shipments. Connecting does no I/O.
fn supports_partial_shipments(connector: &Connector, store: &StoreConfig) -> bool {
    (connector.connect)(store).map_or(true, |channel| {
        channel.spec().capabilities.partial_shipments
    })
}

/// `shipment-full`: a complete shipment that sets every optional field is sent, and the request
/// (query and body) is exactly the recorded one.
pub async fn check_shipment_full(connector: &Connector) -> CheckResult {
    check_shipment(connector, "shipment-full", false).await
}

/// `shipment-partial`: as `shipment-full`, for a `ShipmentScope::Partial` shipment. A channel
/// whose `Capabilities::partial_shipments` is false must instead refuse it with
/// `ChannelError::InvalidShipment` (`PartialNotSupported`) and send nothing.
pub async fn check_shipment_partial(connector: &Connector) -> CheckResult {
    check_shipment(connector, "shipment-partial", true).await
}
