//! The one declaration of the Spark Shipping channel.

use chrono::Duration;
use orderport_core::{CanonicalStatus, Capabilities, ChannelSpec, Requirement};

/// Spark Shipping: id `spark-shipping`, over Custom Store v1.
///
/// - Requirements: a ship-to address ("must include a shipping address"), with ISO 3166 country
///   and state codes.
/// - Default statuses: the usual Custom Store strings. Spark's own strings are not documented
///   upstream, so these are assumptions; a store overrides them with `[store.status_map]`.
/// - Capabilities: partial shipments (Spark splits orders by vendor), customer e-mail, custom
///   statuses; no label/marked-shipped distinction.
/// - Modification times have minute precision (`MM/dd/yyyy HH:mm`).
pub static SPEC: ChannelSpec = ChannelSpec {
    id: "spark-shipping",
    name: "Spark Shipping",
    requirements: &[
        Requirement::ShipToAddress,
        Requirement::IsoCountryCode,
        Requirement::IsoStateCode,
    ],
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["unpaid", "pending"]),
        (CanonicalStatus::AwaitingShipment, &["paid", "processing"]),
        (CanonicalStatus::OnHold, &["on-hold", "on_hold"]),
        (CanonicalStatus::Shipped, &["shipped", "complete"]),
        (CanonicalStatus::Cancelled, &["cancelled", "canceled"]),
    ],
    capabilities: Capabilities::NONE
        .with_partial_shipments(true)
        .with_customer_email(true)
        .with_custom_statuses(true),
    modified_precision: Duration::minutes(1),
};
