//! The Order Time [`SellingChannel`]: one store's tenant, over the transport its configuration
//! chooses ([`Transport::for_store`]).

use async_trait::async_trait;
use orderport_core::{
    ChannelError, ChannelSpec, ConfigError, Page, PageToken, SellingChannel, ShipmentUpdate,
    StoreConfig, StoreProfile, TimeWindow,
};
use orderport_http::HttpClient;
use reqwest::Method;

use crate::api::Api;
use crate::custom_store::CustomStoreTransport;
use crate::list;
use crate::reply::Operation;
use crate::settings::Settings;
use crate::transport::Transport;
use crate::{fetch, write_back, REST_SPEC, SPEC};

/// An Order Time tenant bound to one store, over the Custom Store endpoint (the default) or the
/// REST API.
#[derive(Debug)]
pub struct OrderTimeChannel {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    CustomStore(CustomStoreTransport),
    Rest(RestTransport),
}

impl OrderTimeChannel {
    /// Builds the channel for a store, checking every setting.
    pub fn new(config: &StoreConfig) -> Result<Self, ConfigError> {
        let client =
            HttpClient::new().map_err(|e| ConfigError::store(&config.id, "url", e.to_string()))?;
        Self::with_client(config, client)
    }

    /// [`new`](Self::new), sending through `client` (a host platform's own; build it from
    /// [`orderport_http::client_builder`]).
    pub fn with_client(config: &StoreConfig, client: HttpClient) -> Result<Self, ConfigError> {
        let inner = match Transport::for_store(config)? {
            Transport::CustomStore => {
                Inner::CustomStore(CustomStoreTransport::new(&SPEC, config, client)?)
            }
            Transport::Rest => Inner::Rest(RestTransport::new(config, client)?),
        };
        Ok(Self { inner })
    }

    /// The transport this store uses.
    pub fn transport(&self) -> Transport {
        match self.inner {
            Inner::CustomStore(_) => Transport::CustomStore,
            Inner::Rest(_) => Transport::Rest,
        }
    }

    fn channel(&self) -> &dyn SellingChannel {
        match &self.inner {
            Inner::CustomStore(transport) => transport,
            Inner::Rest(transport) => transport,
        }
    }
}

#[async_trait]
impl SellingChannel for OrderTimeChannel {
    /// [`SPEC`] over the Custom Store endpoint, [`REST_SPEC`] over REST: the same declaration
    /// but for the precision of modification times (a minute, a second).
    fn spec(&self) -> &'static ChannelSpec {
        self.channel().spec()
    }

    fn store(&self) -> &StoreProfile {
        self.channel().store()
    }

    async fn check_connection(&self) -> Result<(), ChannelError> {
        self.channel().check_connection().await
    }

    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        self.channel().fetch_page(window, page).await
    }

    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        self.channel().push_shipment(update).await
    }
}

/// An Order Time tenant reached through the REST API.
#[derive(Debug)]
struct RestTransport {
    api: Api,
    profile: StoreProfile,
}

impl RestTransport {
    fn new(config: &StoreConfig, client: HttpClient) -> Result<Self, ConfigError> {
        let profile = StoreProfile::new(config, &REST_SPEC)?;
        let settings = Settings::from_config(config)?;
        Ok(Self {
            api: Api::new(config, settings, client)?,
            profile,
        })
    }
}

#[async_trait]
impl SellingChannel for RestTransport {
    fn spec(&self) -> &'static ChannelSpec {
        &REST_SPEC
    }

    fn store(&self) -> &StoreProfile {
        &self.profile
    }

    /// Lists one ship doc, unfiltered: proves the URL, the credentials and the right to list.
    async fn check_connection(&self) -> Result<(), ChannelError> {
        let body = list::probe_body(self.api.settings());
        self.api
            .json(
                Method::POST,
                self.api.endpoint("list")?,
                Some(&body),
                &Operation::list(),
            )
            .await
            .map(|_| ())
    }

    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        fetch::page(&self.api, &self.profile, window, page).await
    }

    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        write_back::push(&self.api, update).await
    }
}
