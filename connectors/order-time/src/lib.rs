//! The Order Time connector: imports Order Time's shipping documents ("Ship Docs") and sends
//! shipments back, over either of the two wire protocols Order Time documents.
//!
//! # Transports
//!
//! - **Custom Store** (the default, [`Transport::CustomStore`]): the ShipStation Custom Store v1
//!   endpoint Order Time hosts at `{url}/shipstation`, with HTTP Basic e-mail:API key, which is
//!   how ShipStation's own Order Time tile connects (seed 004). A store needs only `username`
//!   (the master admin's e-mail) and `api_key`. The protocol is `orderport-custom-store`'s
//!   ([`orderport_custom_store::CustomStoreChannel`]): the export's pages, its streaming reader
//!   (gift, order and item weights, item images, options and locations included) and
//!   `shipnotify`. An order whose export weighs the items but not the order gets their total.
//! - **REST** ([`Transport::Rest`]): Order Time's REST API (`POST {url}/list`,
//!   `GET {url}/shipdoc`), chosen when the store configures a `password` or a `dev_key` (or
//!   `transport = "rest"`). It sees what the REST Ship Doc holds (no gift, weights, images,
//!   options or line locations), at one-second precision, and can also set a status through
//!   `PUT /shipdoc` after a shipment (`shipped_status_ref`).
//!
//! `transport = "custom_store" | "rest"` chooses explicitly; a store that contradicts itself
//! (`transport = "custom_store"` with a password, or a setting of the other transport) is
//! refused when it connects, naming the store and the field. Both transports are the same
//! `order-time` channel: [`SPEC`] (Custom Store, modification times to the minute) and
//! [`REST_SPEC`] (to the second) differ in nothing else.
//!
//! - **Validation.** Order Time requires two-letter ISO state and country codes; a full name or
//!   a three-letter code rejects the order with the code to use. Nothing is fixed silently.
//! - **Shipments.** Both transports send the Custom Store `shipnotify` call to the endpoint Order
//!   Time hosts, which sets the tracking number and marks the ship doc Shipped. A ship doc ships
//!   whole: partial shipments are refused on both.
//!
//! Every setting is listed in `docs/channels/order-time.md` and in [`SETTINGS`].
//!
//! # Example
//!
//! ```
//! use orderport_core::{CanonicalStatus, SellingChannel, StoresFile};
//! use orderport_order_time::{OrderTimeChannel, Transport};
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "ot-denver"
//!     name = "Order Time Denver"
//!     channel = "order-time"
//!     url = "https://services.ordertime.com/api"
//!     username = "admin@example.com"   # the master admin's user name
//!     api_key_env = "OT_API_KEY"       # generated when the ShipStation integration is enabled
//!
//!     [[store]]
//!     id = "ot-rest"
//!     name = "Order Time over REST"
//!     channel = "order-time"
//!     url = "https://services.ordertime.com/api"
//!     username = "shipping@example.com"
//!     api_key_env = "OT_API_KEY"
//!     password_env = "OT_PASSWORD"     # a password (or dev_key) chooses the REST API
//!     timezone = "America/Denver"
//!     page_size = 200
//!     shipped_status_ref = "shipped"
//!     "#,
//!     &|var| Some(format!("secret-from-{var}")),
//! )?;
//! let seed = OrderTimeChannel::new(file.store("ot-denver")?)?;
//! assert_eq!(seed.transport(), Transport::CustomStore);
//! assert_eq!(seed.spec().id, "order-time");
//! assert_eq!(seed.map_status("voided"), Ok(CanonicalStatus::Cancelled));
//! assert!(!seed.spec().capabilities.partial_shipments);
//! let rest = OrderTimeChannel::new(file.store("ot-rest")?)?;
//! assert_eq!(rest.transport(), Transport::Rest);
//!
//! // A setting the connector does not know is refused, so typos do not pass silently; so is a
//! // setting of the other transport.
//! let typo = StoresFile::parse(
//!     "[[store]]\nid = \"x\"\nname = \"X\"\nchannel = \"order-time\"\n\
//!      url = \"https://services.ordertime.com/api\"\nusername = \"a@example.com\"\n\
//!      api_key = \"k\"\npage_sise = 5\n",
//!     &|_| None,
//! )?;
//! let err = orderport_order_time::connect(&typo.stores[0]).err().unwrap();
//! assert_eq!(err.field, "page_sise");
//! let foreign = StoresFile::parse(
//!     "[[store]]\nid = \"x\"\nname = \"X\"\nchannel = \"order-time\"\n\
//!      url = \"https://services.ordertime.com/api\"\nusername = \"a@example.com\"\n\
//!      api_key = \"k\"\npage_size = 5\n",
//!     &|_| None,
//! )?;
//! let err = orderport_order_time::connect(&foreign.stores[0]).err().unwrap();
//! assert_eq!(err.field, "page_size"); // a REST setting on a Custom Store store
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod api;
mod channel;
mod credentials;
mod custom_store;
pub mod decode;
mod fetch;
mod list;
mod normalize;
mod reply;
mod rows;
mod settings;
mod ship_doc;
mod ship_notice;
mod transport;
mod weight;
mod write_back;

use chrono::Duration;
use orderport_core::{
    CanonicalStatus, Capabilities, ChannelSpec, ConfigError, DefaultStatusMap, Requirement,
    SellingChannel, StoreConfig,
};
use orderport_http::HttpClient;

pub use channel::OrderTimeChannel;
pub use rows::RowsError;
pub use transport::{Transport, COMMON_SETTINGS, CUSTOM_STORE_SETTINGS, REST_SETTINGS, SETTINGS};

/// The Order Time connector's declaration, over its default transport, the Custom Store
/// endpoint: the one the facade registers for `channel = "order-time"`.
///
/// - Requirements: a ship-to address with two-letter ISO country and state codes (seed 004).
/// - Default statuses: Order Time's ShipStation defaults (`payment pending`, `processing`,
///   `shipped`, `voided`, documented), and `paid`, `open`, `ready to ship` for awaiting shipment
///   (assumed). Statuses are tenant-defined; a store replaces them with `[store.status_map]`.
/// - Capabilities: custom statuses and the buyer's e-mail; **no partial shipments** on either
///   transport (a ship doc has one tracking number and `shipnotify` marks the whole doc
///   Shipped); no label/marked-shipped distinction.
/// - Modification times to the minute (the Custom Store export's `MM/dd/yyyy HH:mm`).
pub static SPEC: ChannelSpec = CUSTOM_STORE_SPEC;

/// The declaration of a store on the REST transport: [`SPEC`] but for the precision of
/// modification times, one second (Order Time's REST dates carry seconds).
pub static REST_SPEC: ChannelSpec = ChannelSpec {
    modified_precision: Duration::seconds(1),
    ..CUSTOM_STORE_SPEC
};

const CUSTOM_STORE_SPEC: ChannelSpec = ChannelSpec {
    id: "order-time",
    name: "Order Time",
    requirements: &REQUIREMENTS,
    default_statuses: DEFAULT_STATUSES,
    capabilities: CAPABILITIES,
    modified_precision: Duration::minutes(1),
};

const REQUIREMENTS: [Requirement; 3] = [
    Requirement::ShipToAddress,
    Requirement::IsoCountryCode,
    Requirement::IsoStateCode,
];

const DEFAULT_STATUSES: DefaultStatusMap = &[
    (CanonicalStatus::AwaitingPayment, &["payment pending"]),
    (
        CanonicalStatus::AwaitingShipment,
        &["paid", "open", "ready to ship"],
    ),
    (CanonicalStatus::OnHold, &["processing"]),
    (CanonicalStatus::Shipped, &["shipped"]),
    (CanonicalStatus::Cancelled, &["voided"]),
];

// A ship doc has one tracking number, and shipnotify marks the whole doc shipped: no partial
// shipments.
const CAPABILITIES: Capabilities = Capabilities::NONE
    .with_customer_email(true)
    .with_custom_statuses(true);

/// Builds the channel for a store whose `channel` is `order-time`, checking every setting.
pub fn connect(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    Ok(Box::new(OrderTimeChannel::new(config)?))
}

/// [`connect`], sending through the host platform's HTTP client (build it from
/// [`orderport_http::client_builder`] so that it follows no redirect).
pub fn connect_with(
    config: &StoreConfig,
    client: &HttpClient,
) -> Result<Box<dyn SellingChannel>, ConfigError> {
    Ok(Box::new(OrderTimeChannel::with_client(
        config,
        client.clone(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_transports_declare_the_same_channel_but_for_precision() {
        assert_eq!(SPEC.id, REST_SPEC.id);
        assert_eq!(SPEC.name, REST_SPEC.name);
        assert_eq!(SPEC.requirements, REST_SPEC.requirements);
        assert_eq!(SPEC.default_statuses, REST_SPEC.default_statuses);
        assert_eq!(SPEC.capabilities, REST_SPEC.capabilities);
        assert_eq!(SPEC.modified_precision, Duration::minutes(1));
        assert_eq!(REST_SPEC.modified_precision, Duration::seconds(1));
    }
}
