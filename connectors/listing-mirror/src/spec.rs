//! The one declaration of the Listing Mirror channel.

use chrono::Duration;
use orderport_core::{CanonicalStatus, Capabilities, ChannelSpec, Requirement};

/// Listing Mirror: id `listing-mirror`, over Custom Store v1 (inferred: the endpoint hides behind
/// ShipStation's tile).
///
/// - Requirements: a ship-to address (ShipStation's only documented import requirement for
///   Listing Mirror), with ISO 3166 country and state codes.
/// - Default statuses: **assumed**. The Custom Store strings are not published; Listing Mirror's
///   REST API shows `Pending`, `Unpaid`, `Accepted` and `Cancelled`, so those are mapped, with
///   `Shipped` and the US spelling `Canceled`. Case-sensitive, like Listing Mirror's own
///   mappings. A store replaces them with `[store.status_map]`.
/// - Capabilities: custom statuses; **no customer e-mail** (ShipStation's list of imported
///   fields for Listing Mirror has none, so `BillTo/Email` is dropped); partial shipments
///   (**assumed**: the shipment update carries item information and Listing Mirror passes it to
///   marketplaces that accept per-item shipments); no label/marked-shipped distinction.
/// - Modification times have minute precision (`MM/dd/yyyy HH:mm`).
pub static SPEC: ChannelSpec = ChannelSpec {
    id: "listing-mirror",
    name: "Listing Mirror",
    requirements: &[
        Requirement::ShipToAddress,
        Requirement::IsoCountryCode,
        Requirement::IsoStateCode,
    ],
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["Unpaid", "Pending"]),
        (CanonicalStatus::AwaitingShipment, &["Accepted"]),
        (CanonicalStatus::Shipped, &["Shipped"]),
        (CanonicalStatus::Cancelled, &["Cancelled", "Canceled"]),
    ],
    capabilities: Capabilities::NONE
        .with_partial_shipments(true)
        .with_customer_email(false)
        .with_custom_statuses(true),
    modified_precision: Duration::minutes(1),
};
