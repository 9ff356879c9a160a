//! [`Flavor`]: which channel a [`ChannelSim`](crate::ChannelSim) plays, and the vocabulary each
//! one speaks (status strings, shipping methods, store names and credentials).

use crate::generator::Canonical;

/// The channel a simulator plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// Spark Shipping's ShipStation vendor endpoint: Custom Store v1 (XML export, shipnotify).
    SparkShipping,
    /// Listing Mirror's ShipStation integration endpoint: Custom Store v1, marketplace orders.
    ListingMirror,
    /// Order Time's REST API (`/list`, `/shipdoc`) and the Custom Store endpoint it hosts beside
    /// it (`/shipstation`: export and shipnotify), serving the same ship docs.
    OrderTime,
}

impl Flavor {
    /// Every flavour, in a stable order.
    pub const ALL: [Flavor; 3] = [
        Flavor::SparkShipping,
        Flavor::ListingMirror,
        Flavor::OrderTime,
    ];

    /// The orderport channel id: `spark-shipping`, `listing-mirror` or `order-time`.
    pub fn channel_id(self) -> &'static str {
        match self {
            Flavor::SparkShipping => "spark-shipping",
            Flavor::ListingMirror => "listing-mirror",
            Flavor::OrderTime => "order-time",
        }
    }

    /// The name shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::SparkShipping => "Spark Shipping",
            Flavor::ListingMirror => "Listing Mirror",
            Flavor::OrderTime => "Order Time",
        }
    }

    /// Whether the flavour speaks only the Custom Store v1 protocol (Spark Shipping, Listing
    /// Mirror). Order Time serves its REST API and a Custom Store endpoint beside it.
    pub fn is_custom_store(self) -> bool {
        !matches!(self, Flavor::OrderTime)
    }

    /// The raw status strings the flavour writes for a canonical status. An order uses one of
    /// them throughout (chosen by its seed), so that every string of the connector's default
    /// mapping shows up. These are the connectors' default mappings:
    /// `connectors/spark-shipping/src/spec.rs`, `connectors/listing-mirror/src/spec.rs` and
    /// `connectors/order-time/src/lib.rs`.
    pub(crate) fn raw_statuses(self, status: Canonical) -> &'static [&'static str] {
        use Canonical::*;
        match (self, status) {
            (Flavor::SparkShipping, AwaitingPayment) => &["unpaid", "pending"],
            (Flavor::SparkShipping, AwaitingShipment) => &["paid", "processing"],
            (Flavor::SparkShipping, OnHold) => &["on-hold", "on_hold"],
            (Flavor::SparkShipping, Shipped) => &["shipped", "complete"],
            (Flavor::SparkShipping, Cancelled) => &["cancelled", "canceled"],
            (Flavor::ListingMirror, AwaitingPayment) => &["Unpaid", "Pending"],
            // Listing Mirror has no hold state of its own: a held order stays Accepted.
            (Flavor::ListingMirror, AwaitingShipment | OnHold) => &["Accepted"],
            (Flavor::ListingMirror, Shipped) => &["Shipped"],
            (Flavor::ListingMirror, Cancelled) => &["Cancelled", "Canceled"],
            (Flavor::OrderTime, AwaitingPayment) => &["payment pending"],
            (Flavor::OrderTime, AwaitingShipment) => &["paid", "open", "ready to ship"],
            (Flavor::OrderTime, OnHold) => &["processing"],
            (Flavor::OrderTime, Shipped) => &["shipped"],
            (Flavor::OrderTime, Cancelled) => &["voided"],
        }
    }

    /// A status string in no default mapping, for the "unmapped status" invalid orders.
    pub(crate) fn unmapped_status(self) -> &'static str {
        match self {
            Flavor::SparkShipping => "fraud-review",
            Flavor::ListingMirror => "Backordered",
            Flavor::OrderTime => "backordered",
        }
    }

    /// The shipping methods buyers choose.
    pub(crate) fn shipping_methods(self) -> &'static [&'static str] {
        match self {
            Flavor::SparkShipping => &[
                "USPS Ground Advantage",
                "USPS Priority Mail",
                "UPS Ground",
                "UPS 2nd Day Air",
                "FedEx Home Delivery",
            ],
            // Listing Mirror sends its speed category.
            Flavor::ListingMirror => &["Standard", "Standard", "Standard", "Expedited", "Priority"],
            Flavor::OrderTime => &[
                "UPS Ground",
                "UPS Next Day Air",
                "FedEx Ground",
                "USPS Priority Mail",
                "Will Call",
            ],
        }
    }

    /// The id of store `n` (from 1).
    pub(crate) fn store_id(self, n: usize) -> String {
        match self {
            Flavor::SparkShipping => format!("spark-{n}"),
            Flavor::ListingMirror => format!("lm-{n}"),
            Flavor::OrderTime => format!("ot-{n}"),
        }
    }

    /// The name of store `n`.
    pub(crate) fn store_name(self, n: usize) -> String {
        match self {
            Flavor::SparkShipping => format!("Spark Shipping Sim Store {n}"),
            Flavor::ListingMirror => format!("Listing Mirror Sim Integration {n}"),
            Flavor::OrderTime => format!("Order Time Sim Tenant {n}"),
        }
    }

    /// The path of store `n`'s endpoint. Order Time tenants share one API base and are told
    /// apart by their credentials, as on the real service.
    pub(crate) fn store_path(self, n: usize) -> String {
        match self {
            Flavor::SparkShipping => format!("/shipstation/vendor/{n}"),
            Flavor::ListingMirror => format!("/shipstation/integration/{n}"),
            Flavor::OrderTime => "/api".to_owned(),
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.channel_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_connector_ids() {
        let ids: Vec<_> = Flavor::ALL.iter().map(|f| f.channel_id()).collect();
        assert_eq!(ids, ["spark-shipping", "listing-mirror", "order-time"]);
    }

    #[test]
    fn the_unmapped_status_is_in_no_list() {
        for flavor in Flavor::ALL {
            for status in Canonical::ALL {
                assert!(!flavor
                    .raw_statuses(status)
                    .contains(&flavor.unmapped_status()));
            }
        }
    }
}
