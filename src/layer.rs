//! Layers over how a store's channel is built, after OpenDAL's layers: a [`Layer`] may wrap the
//! HTTP client the channel sends through (so it sees every request the connector makes, detail
//! fetches and retries included) and the channel itself. [`connect_layered`] applies them.
//!
//! [`PaceLayer`] paces every request of every store by its credential (the store's URL and user
//! name): stores that share a credential share one pacer, whichever connector they use.
//! [`ObserveLayer`] reports every attempt of every store, request and reply, to an observer
//! (`orderport record` captures fixtures with it).
//!
//! ```
//! use std::time::Duration;
//! use orderport::layer::{connect_layered, PaceLayer};
//! use orderport::{HttpClient, StoresFile};
//!
//! let file = StoresFile::parse(
//!     "[[store]]\nid = \"a\"\nname = \"A\"\nchannel = \"spark-shipping\"\n\
//!      url = \"https://spark.example/ss\"\nusername = \"u\"\npassword = \"p\"\n",
//!     &|_| None,
//! )?;
//! let pacing = PaceLayer::new(Duration::from_millis(250));
//! let channel = connect_layered(&file.stores[0], &HttpClient::new()?, &[&pacing])?;
//! assert_eq!(channel.spec().id, "spark-shipping");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use orderport_core::{ConfigError, SellingChannel, StoreConfig};
use orderport_http::{GapPacer, HttpClient, Observe, Pace};

/// Wraps how one store's channel is built. Both hooks default to doing nothing.
pub trait Layer: Send + Sync {
    /// The HTTP client the store's channel will send every request through.
    fn wrap_client(&self, store: &StoreConfig, client: HttpClient) -> HttpClient {
        let _ = store;
        client
    }

    /// The channel, once built.
    fn wrap_channel(&self, channel: Box<dyn SellingChannel>) -> Box<dyn SellingChannel> {
        channel
    }
}

/// [`crate::connect_with`] through `layers`: each wraps the client in turn, then each wraps the
/// channel in turn.
pub fn connect_layered(
    config: &StoreConfig,
    client: &HttpClient,
    layers: &[&dyn Layer],
) -> Result<Box<dyn SellingChannel>, ConfigError> {
    let client = layers.iter().fold(client.clone(), |client, layer| {
        layer.wrap_client(config, client)
    });
    let channel = crate::connect_with(config, &client)?;
    Ok(layers
        .iter()
        .fold(channel, |channel, layer| layer.wrap_channel(channel)))
}

/// The credential a store's requests count against: its URL and user name.
pub fn credential_key(config: &StoreConfig) -> String {
    format!(
        "{}|{}",
        config.url.trim().trim_end_matches('/'),
        config.username.as_deref().unwrap_or("").trim()
    )
}

/// Spaces every request on one credential by at least a gap ([`GapPacer`]), across every store
/// connected through the same layer.
#[derive(Debug)]
pub struct PaceLayer {
    gap: Duration,
    pacers: Mutex<HashMap<String, Arc<GapPacer>>>,
}

impl PaceLayer {
    /// One request per `gap` on each credential.
    pub fn new(gap: Duration) -> Self {
        Self {
            gap,
            pacers: Mutex::new(HashMap::new()),
        }
    }

    /// The pacer of `store`'s credential (the same one for every store sharing it).
    pub fn pacer_for(&self, store: &StoreConfig) -> Arc<GapPacer> {
        let mut pacers = self.pacers.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            pacers
                .entry(credential_key(store))
                .or_insert_with(|| Arc::new(GapPacer::new(self.gap))),
        )
    }
}

impl Layer for PaceLayer {
    fn wrap_client(&self, store: &StoreConfig, client: HttpClient) -> HttpClient {
        let pacer: Arc<dyn Pace> = self.pacer_for(store);
        client.with_pacer(pacer)
    }
}

/// Reports every attempt each store's channel makes, request as sent and reply as read, to one
/// observer ([`orderport_http::observe`]). The observer sees the credentials in clear.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    observer: Arc<dyn Observe>,
}

impl ObserveLayer {
    /// Every store connected through this layer reports to `observer`.
    pub fn new(observer: Arc<dyn Observe>) -> Self {
        Self { observer }
    }
}

impl Layer for ObserveLayer {
    fn wrap_client(&self, _store: &StoreConfig, client: HttpClient) -> HttpClient {
        client.with_observer(Arc::clone(&self.observer))
    }
}

#[cfg(test)]
mod tests {
    use orderport_core::StoresFile;

    use super::*;

    #[test]
    fn stores_sharing_a_credential_share_a_pacer() {
        let file = StoresFile::parse(
            "[[store]]\nid = \"a\"\nname = \"A\"\nchannel = \"spark-shipping\"\nurl = \"https://x.example/ss/\"\nusername = \"u\"\npassword = \"p\"\n\
             [[store]]\nid = \"b\"\nname = \"B\"\nchannel = \"spark-shipping\"\nurl = \"https://x.example/ss\"\nusername = \"u\"\npassword = \"p\"\n\
             [[store]]\nid = \"c\"\nname = \"C\"\nchannel = \"spark-shipping\"\nurl = \"https://x.example/ss\"\nusername = \"other\"\npassword = \"p\"\n",
            &|_| None,
        )
        .unwrap();
        let layer = PaceLayer::new(Duration::from_millis(10));
        let a = layer.pacer_for(&file.stores[0]);
        let b = layer.pacer_for(&file.stores[1]);
        let c = layer.pacer_for(&file.stores[2]);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn the_observe_layer_puts_its_observer_on_every_store_client() {
        #[derive(Debug)]
        struct Nobody;
        impl Observe for Nobody {
            fn exchange(&self, _: &orderport_http::observe::Exchange<'_>) {}
        }
        let file = StoresFile::parse(
            "[[store]]\nid = \"a\"\nname = \"A\"\nchannel = \"spark-shipping\"\nurl = \"https://x.example/ss\"\nusername = \"u\"\npassword = \"p\"\n",
            &|_| None,
        )
        .unwrap();
        let observer: Arc<dyn Observe> = Arc::new(Nobody);
        let layer = ObserveLayer::new(Arc::clone(&observer));
        let plain = HttpClient::new().unwrap();
        assert!(plain.observer().is_none());
        let client = layer.wrap_client(&file.stores[0], plain);
        assert!(Arc::ptr_eq(client.observer().unwrap(), &observer));
    }
}
