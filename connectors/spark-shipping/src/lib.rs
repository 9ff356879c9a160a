//! The Spark Shipping connector.
//!
//! Spark Shipping routes orders to vendors; the merchant adds ShipStation as a vendor and gets a
//! user name, a password and a URL. This connector is the client of that endpoint, which it
//! treats as a ShipStation Custom Store v1 endpoint (XML export and shipnotify, Basic auth): see
//! [`orderport_custom_store`] for the protocol, the export window rule and the settings.
//!
//! What is Spark-specific lives in [`SPEC`]: orders must have a ship-to address with ISO
//! country and state codes, partial shipments are accepted (Spark splits orders by vendor), and
//! the default status strings are assumed ones that a store can override.
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use orderport_core::{pages, StoresFile, TimeWindow};
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "spark-hq"
//!     name = "Spark HQ"
//!     channel = "spark-shipping"
//!     url = "https://app.sparkshipping.com/shipstation/vendor/123"
//!     username = "ss-vendor"
//!     password_env = "SPARK_PW"
//!     timezone = "America/Chicago"   # the Spark server's zone; default UTC
//!     request_timeout_secs = 90
//!     [store.status_map]
//!     awaiting_shipment = ["paid", "Ready"]
//!     "#,
//!     &|var| std::env::var(var).ok(),
//! )?;
//! let channel = orderport_spark_shipping::connect(file.store("spark-hq")?)?;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! channel.check_connection().await?;
//! let window = TimeWindow::new("2026-11-01T00:00:00Z".parse()?, "2026-11-02T00:00:00Z".parse()?)?;
//! let all: Vec<_> = pages(channel.as_ref(), window).try_collect().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Building a channel needs no network, so a configuration can be checked offline:
//!
//! ```
//! use orderport_core::StoresFile;
//!
//! let file = StoresFile::parse(
//!     r#"
//!     [[store]]
//!     id = "spark-hq"
//!     name = "Spark HQ"
//!     channel = "spark-shipping"
//!     url = "https://spark.example/shipstation"
//!     username = "ss-vendor"
//!     password_env = "SPARK_PW"
//!     "#,
//!     &|var| (var == "SPARK_PW").then(|| "not-printed".to_owned()),
//! )?;
//! let channel = orderport_spark_shipping::connect(file.store("spark-hq")?)?;
//! assert_eq!(channel.spec().id, "spark-shipping");
//! assert_eq!(channel.store().zone.to_string(), "UTC");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod spec;

#[cfg(test)]
mod tests;

use orderport_core::{ConfigError, SellingChannel, StoreConfig};
use orderport_custom_store::CustomStoreChannel;
use orderport_http::HttpClient;

pub use spec::SPEC;

/// The store settings this connector reads besides the common store keys (`url`, `username`,
/// `password`, `timezone`, `status_map`, `unmapped_status`, `status_match`).
pub use orderport_custom_store::SETTINGS;

/// A Spark Shipping channel for one store. Fails when the store is not a `spark-shipping`
/// store, the URL is not http(s), the user name or password is missing, the status mapping is
/// inconsistent, or a setting is unknown or out of range.
pub fn connect(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    Ok(Box::new(CustomStoreChannel::new(&SPEC, config)?))
}

/// [`connect`], sending through the host platform's HTTP client (build it from
/// [`orderport_http::client_builder`] so that it follows no redirect).
pub fn connect_with(
    config: &StoreConfig,
    client: &HttpClient,
) -> Result<Box<dyn SellingChannel>, ConfigError> {
    Ok(Box::new(CustomStoreChannel::with_client(
        &SPEC,
        config,
        client.clone(),
    )?))
}
