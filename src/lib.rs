//! orderport imports orders from selling channels into a shipping platform, keeps them current,
//! and sends shipment details back.
//!
//! This facade re-exports the public API of [`orderport_core`] and turns connectors on through
//! Cargo features (`spark-shipping`, `order-time`, `listing-mirror`, or `all-connectors`, the
//! default). [`connect`] builds the right [`SellingChannel`] for a store from its
//! configuration. The sync engine (`sync`) and the Klaviyo sink (`klaviyo`) are features too,
//! off by default, so a host that only imports orders builds neither SQLite nor the sink; the
//! CLI's dependencies (clap, indicatif, axum for the simulators) are never the library's.
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
#![warn(missing_docs)]

pub mod layer;

pub use orderport_core::*;
/// The shared HTTP layer, for a host platform that hands in its own client
/// ([`connect_with`]).
pub use orderport_http as http;
pub use orderport_http::HttpClient;

/// The Klaviyo event sink (feature `klaviyo`, which turns `sync` on).
#[cfg(feature = "klaviyo")]
pub use orderport_klaviyo as klaviyo;
#[cfg(feature = "listing-mirror")]
pub use orderport_listing_mirror as listing_mirror;
#[cfg(feature = "order-time")]
pub use orderport_order_time as order_time;
#[cfg(feature = "spark-shipping")]
pub use orderport_spark_shipping as spark_shipping;
/// The sync engine (feature `sync`): cursors, outbox, quarantine, scheduler, the `State` trait
/// and its SQLite backend.
#[cfg(feature = "sync")]
pub use orderport_sync as sync;

/// A connector's constructor, sending through the given HTTP client.
pub type Constructor =
    fn(&StoreConfig, &HttpClient) -> Result<Box<dyn SellingChannel>, ConfigError>;

/// A connector compiled into this build: its declaration and its constructor.
#[derive(Clone, Copy)]
pub struct Registration {
    /// The connector's spec; stores name it by `spec.id`.
    pub spec: &'static ChannelSpec,
    /// Builds the channel for a store.
    pub connect: Constructor,
}

impl Registration {
    /// A connector's entry.
    pub const fn new(spec: &'static ChannelSpec, connect: Constructor) -> Self {
        Self { spec, connect }
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("channel", &self.spec.id)
            .finish_non_exhaustive()
    }
}

/// Every connector compiled in, in a stable order: one entry per connector, behind its feature.
pub const REGISTRY: &[Registration] = &[
    #[cfg(feature = "spark-shipping")]
    Registration::new(&spark_shipping::SPEC, spark_shipping::connect_with),
    #[cfg(feature = "order-time")]
    Registration::new(&order_time::SPEC, order_time::connect_with),
    #[cfg(feature = "listing-mirror")]
    Registration::new(&listing_mirror::SPEC, listing_mirror::connect_with),
];

/// The specs of every connector compiled in, in a stable order.
pub fn channels() -> Vec<&'static ChannelSpec> {
    REGISTRY.iter().map(|r| r.spec).collect()
}

/// Builds the channel for a store, by its `channel` setting, on the process-wide HTTP client.
pub fn connect(config: &StoreConfig) -> Result<Box<dyn SellingChannel>, ConfigError> {
    let client =
        HttpClient::new().map_err(|e| ConfigError::store(&config.id, "url", e.to_string()))?;
    connect_with(config, &client)
}

/// Builds the channel for a store on the host platform's HTTP client (its connection pool,
/// TLS roots, proxy). Build the client from [`http::client_builder`], which follows no
/// redirect and sends no `Referer`.
pub fn connect_with(
    config: &StoreConfig,
    client: &HttpClient,
) -> Result<Box<dyn SellingChannel>, ConfigError> {
    match REGISTRY.iter().find(|r| r.spec.id == config.channel) {
        Some(registration) => (registration.connect)(config, client),
        None => Err(ConfigError::store(
            &config.id,
            "channel",
            format!(
                "unknown channel {:?}; this build knows: {}",
                config.channel,
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
        assert!(!channels().is_empty());
        for spec in channels() {
            assert!(err.to_string().contains(spec.id), "{err}");
        }
    }
}
