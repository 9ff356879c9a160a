//! The `<ShipNotice>` body and query of a `shipnotify` call, built by the Custom Store crate's
//! builder so that every connector sends the same document.
//!
//! Dates in the notice are written in UTC: Order Time's endpoint follows the Custom Store
//! specification, whose dates are UTC (unlike the REST API's offset-less dates, which are read
//! in the store's zone).

use orderport_core::{ChannelError, ShipmentUpdate, StoreZone};
use orderport_custom_store::ship_notice::ShipNotice;

/// The notice for `update`.
pub fn notice(update: &ShipmentUpdate) -> ShipNotice<'_> {
    ShipNotice::new(update, StoreZone::UTC)
}

/// The `<ShipNotice>` XML for `update`.
pub fn xml(store: &str, update: &ShipmentUpdate) -> Result<Vec<u8>, ChannelError> {
    notice(update)
        .to_xml()
        .map_err(|e| ChannelError::Configuration {
            store: store.to_owned(),
            field: "shipment".into(),
            detail: e.to_string(),
        })
}
