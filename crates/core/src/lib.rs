//! The foundation of orderport: the canonical [`Order`], the [`SellingChannel`] trait every
//! connector implements, store configuration, store time zones, status mapping and address
//! validation.
//!
//! A connector maps a channel's orders into [`Order`], declares its [`ChannelSpec`] (required
//! fields, default statuses, capabilities) and implements [`SellingChannel`]. Everything else
//! (the sync engine, the CLI, the test kit) works through the trait.
//!
//! Helpers for connector authors, so that each writes only what is specific to its channel:
//!
//! - [`Reasons`]: rejection reasons collected while mapping an order (dates, money, currency,
//!   status, required texts), and [`json_order`] for one order of a JSON page;
//! - [`Clock`]: whether an offset-less time is in the store's zone or in UTC;
//! - [`OrderBuilder`] (`Order::builder`) and [`LineItem::new`]: defaults for everything
//!   optional;
//! - [`TimeWindow::query_bounds`] with a [`BoundsRule`]: the bounds to send for a window, by
//!   the API's precision and inclusivity, so that no boundary order is lost;
//! - [`PageNumber`]: page-number paging by a total, a short page, or a reported next page;
//! - [`StoreConfig::required_secret`] and named secrets (`[store.secrets]`),
//!   [`StoreConfig::setting_ranged`] and [`settings`].
//!
//! # Example
//!
//! ```
//! use orderport_core::{StoreZone, StoresFile, CanonicalStatus};
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "spark-hq"
//!     name = "Spark HQ"
//!     channel = "spark-shipping"
//!     url = "https://spark.example/shipstation"
//!     username = "vendor"
//!     password_env = "SPARK_PW"
//!     timezone = "America/Chicago"
//!     [store.status_map]
//!     awaiting_shipment = ["paid"]
//!     "#,
//!     &|var| (var == "SPARK_PW").then(|| "not-printed".to_owned()),
//! )?;
//! let store = file.store("spark-hq")?;
//!
//! // A late-evening wall-clock time in Chicago is the next day in UTC.
//! let utc = store.timezone.read("03/07/2026 21:56 PM")?;
//! assert_eq!(utc.to_rfc3339(), "2026-03-08T03:56:00+00:00");
//!
//! let statuses = store.status_mapping(&[])?;
//! assert_eq!(statuses.map("paid"), Ok(CanonicalStatus::AwaitingShipment));
//! assert!(statuses.map("Paid").is_err()); // case-sensitive by default
//!
//! // Secrets never reach Debug output.
//! assert!(!format!("{store:?}").contains("not-printed"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod address;
pub mod channel;
pub mod clock;
pub mod config;
pub mod error;
pub mod fulfilment;
pub mod order;
pub mod order_builder;
pub mod page_number;
pub mod page_walk;
pub mod reasons;
pub mod rejection;
pub mod requirements;
pub mod retry;
pub mod settings;
pub mod shipment;
pub mod status;
pub mod store_time;
pub mod window_bounds;

#[cfg(test)]
mod testing;

pub use channel::{
    finish, Capabilities, ChannelSpec, FetchOutcome, InvertedWindow, Page, PageToken,
    SellingChannel, StoreProfile, TimeWindow, WalkGuard,
};
pub use clock::Clock;
pub use config::{ConfigError, Secrets, StoreConfig, StoresFile};
pub use error::ChannelError;
pub use fulfilment::{Added, Fulfilment, FulfilmentError, LineFulfilment};
pub use order::{
    Address, CurrencyCode, CustomFields, Customer, Discount, Gift, ItemOption, LineItem, Order,
    OrderKey, Weight, WeightUnit,
};
pub use order_builder::OrderBuilder;
pub use page_number::PageNumber;
pub use page_walk::{pages, pages_ahead, walk_pages, walk_pages_then, Walked, MAX_AHEAD};
pub use reasons::{json_order, Reasons};
pub use rejection::{ReasonCode, Rejection, RejectionReason};
pub use requirements::Requirement;
pub use retry::RetryPolicy;
pub use shipment::{
    InvalidShipment, OrderRef, ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem,
};
pub use status::{CanonicalStatus, DefaultStatusMap, StatusMapping, StatusMatch, UnmappedPolicy};
pub use store_time::{StoreZone, WallKind, WallResolution, WallWindow};
pub use window_bounds::{Bound, BoundsRule};

/// Re-exported so that connectors and hosts use the same secret type.
pub use secrecy;
/// Re-exported because `toml::Table` is part of the API (`StoreConfig::settings`, sink tables):
/// hosts and connectors use this version of it.
pub use toml;
