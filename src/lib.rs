//! orderport imports orders from selling channels into a shipping platform, keeps them current,
//! and sends shipment details back.
//!
//! This facade re-exports the public API of [`orderport_core`] and turns connectors on through
//! Cargo features (`spark-shipping`, `order-time`, `listing-mirror`, or `all-connectors`, the default). [`connect`] builds the right
//! [`SellingChannel`] for a store from its configuration.
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use orderport::{connect, pages, FetchOutcome, StoresFile, TimeWindow};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let stores = StoresFile::load("stores.toml".as_ref())?;
//! let channel = connect(stores.store("spark-hq")?)?;
//! let window = TimeWindow::new(
//!     "2026-11-01T00:00:00Z".parse()?,
//!     "2026-11-02T00:00:00Z".parse()?,
//! )?;
//! let mut walk = Box::pin(pages(channel.as_ref(), window));
//! while let Some(page) = walk.try_next().await? {
//!     for outcome in page.outcomes {
//!         match outcome {
//!             FetchOutcome::Accepted(order) => println!("{}", order.order_number),
//!             FetchOutcome::Rejected(rejection) => eprintln!("{rejection}"),
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub use orderport_core::*;

#[cfg(feature = "listing-mirror")]
pub use orderport_listing_mirror as listing_mirror;
#[cfg(feature = "order-time")]
pub use orderport_order_time as order_time;
#[cfg(feature = "spark-shipping")]
pub use orderport_spark_shipping as spark_shipping;

/// The specs of every connector compiled in, in a stable order.
pub fn channels() -> Vec<&'static ChannelSpec> {
    vec![
        #[cfg(feature = "spark-shipping")]
        &spark_shipping::SPEC,
        #[cfg(feature = "order-time")]
        &order_time::SPEC,
        #[cfg(feature = "listing-mirror")]
        &listing_mirror::SPEC,
    ]
}

/// Builds the channel for a store, by its `channel` setting.
pub fn connect(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    match config.channel.as_str() {
        #[cfg(feature = "spark-shipping")]
        id if id == spark_shipping::SPEC.id => spark_shipping::connect(config),
        #[cfg(feature = "order-time")]
        id if id == order_time::SPEC.id => order_time::connect(config),
        #[cfg(feature = "listing-mirror")]
        id if id == listing_mirror::SPEC.id => listing_mirror::connect(config),
        other => Err(ConfigError::store(
            &config.id,
            "channel",
            format!(
                "unknown channel {other:?}; this build knows: {}",
                channels()
                    .iter()
                    .map(|spec| spec.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_channel_lists_the_known_ones() {
        let file = StoresFile::parse(
            "[[store]]\nid = \"x\"\nname = \"X\"\nchannel = \"nope\"\nurl = \"http://127.0.0.1:1\"\n",
            &|_| None,
        )
        .unwrap();
        let err = connect(&file.stores[0]).err().unwrap();
        assert_eq!(err.field, "channel");
        for id in ["spark-shipping", "order-time", "listing-mirror"] {
            assert!(err.to_string().contains(id), "{err}");
        }
    }
}
