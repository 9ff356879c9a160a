//! The Order Time connector: imports Order Time's shipping documents ("Ship Docs", record type
//! 4) over its REST API and sends shipments back.
//!
//! # Overview
//!
//! - **Connection.** `url` is the REST API base (`https://services.ordertime.com/api`),
//!   `username` the API user's e-mail (the master admin's for the ShipStation integration), and
//!   the secrets `api_key` (the key Order Time generates when the integration is enabled) plus
//!   `password`, or `dev_key` to send a developer key instead of the password.
//! - **Import.** [`SellingChannel::fetch_page`] lists the ship docs modified in the window with
//!   `POST {base}/list`, one page of `page_size` rows at a time, completes rows that lack lines
//!   or addresses with `GET {base}/shipdoc?docNo=N` (`fetch_concurrency` at a time, in list
//!   order), and maps each into the canonical [`Order`](orderport_core::Order). Dates without an
//!   offset are read in the store's `timezone`; the window's bounds are sent in that wall clock
//!   too, widened so that no boundary order is lost.
//! - **Validation.** Order Time requires two-letter ISO state and country codes; a full name or
//!   a three-letter code rejects the order with the code to use. Nothing is fixed silently.
//! - **Shipments.** [`SellingChannel::push_shipment`] sends the Custom Store `shipnotify` call to
//!   the endpoint Order Time hosts (`{base}/shipstation`), which sets the tracking number, and,
//!   where the store sets `shipped_status_ref`, also `PUT`s the ship doc's status.
//!
//! Every setting is listed in `docs/channels/order-time.md` and in [`SETTINGS`].
//!
//! # Example
//!
//! ```
//! use orderport_core::{CanonicalStatus, SellingChannel, StoresFile};
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "ot-denver"
//!     name = "Order Time Denver"
//!     channel = "order-time"
//!     url = "https://services.ordertime.com/api"
//!     username = "shipping@example.com"
//!     api_key_env = "OT_API_KEY"
//!     password_env = "OT_PASSWORD"
//!     timezone = "America/Denver"
//!     page_size = 200
//!     shipped_status_ref = "shipped"
//!     "#,
//!     &|var| Some(format!("secret-from-{var}")),
//! )?;
//! let channel = orderport_order_time::connect(file.store("ot-denver")?)?;
//! assert_eq!(channel.spec().id, "order-time");
//! assert_eq!(channel.map_status("voided"), Ok(CanonicalStatus::Cancelled));
//! assert!(!channel.spec().capabilities.partial_shipments);
//!
//! // A setting the connector does not know is refused, so typos do not pass silently.
//! let typo = StoresFile::parse(
//!     "[[store]]\nid = \"x\"\nname = \"X\"\nchannel = \"order-time\"\n\
//!      url = \"https://services.ordertime.com/api\"\nusername = \"a@example.com\"\n\
//!      api_key = \"k\"\npassword = \"p\"\npage_sise = 5\n",
//!     &|_| None,
//! )?;
//! let err = orderport_order_time::connect(&typo.stores[0]).err().unwrap();
//! assert_eq!(err.field, "page_sise");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod api;
mod channel;
mod credentials;
pub mod decode;
mod fetch;
mod list;
mod normalize;
mod reply;
mod rows;
mod settings;
mod ship_doc;
mod ship_notice;
mod write_back;

use chrono::Duration;
use orderport_core::{
    CanonicalStatus, Capabilities, ChannelSpec, ConfigError, Requirement, SellingChannel,
    StoreConfig,
};
use orderport_http::HttpClient;

pub use channel::OrderTimeChannel;
pub use rows::RowsError;
pub use settings::SETTINGS;

/// The Order Time connector's declaration, the only one.
pub static SPEC: ChannelSpec = ChannelSpec {
    id: "order-time",
    name: "Order Time",
    requirements: &[
        Requirement::ShipToAddress,
        Requirement::IsoCountryCode,
        Requirement::IsoStateCode,
    ],
    default_statuses: &[
        (CanonicalStatus::AwaitingPayment, &["payment pending"]),
        (
            CanonicalStatus::AwaitingShipment,
            &["paid", "open", "ready to ship"],
        ),
        (CanonicalStatus::OnHold, &["processing"]),
        (CanonicalStatus::Shipped, &["shipped"]),
        (CanonicalStatus::Cancelled, &["voided"]),
    ],
    capabilities: Capabilities {
        // A ship doc has one tracking number, and shipnotify marks the whole doc shipped.
        partial_shipments: false,
        customer_email: true,
        custom_statuses: true,
        shipment_kinds: false,
    },
    modified_precision: Duration::seconds(1),
};

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
