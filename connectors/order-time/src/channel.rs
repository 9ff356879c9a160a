//! The Order Time [`SellingChannel`]: one store's tenant.

use async_trait::async_trait;
use orderport_core::{
    ChannelError, ChannelSpec, ConfigError, Page, PageToken, SellingChannel, ShipmentUpdate,
    StoreConfig, StoreProfile, TimeWindow,
};
use orderport_http::HttpClient;
use reqwest::Method;

use crate::api::Api;
use crate::list;
use crate::reply::Operation;
use crate::settings::Settings;
use crate::{fetch, write_back, SPEC};

/// An Order Time tenant bound to one store.
#[derive(Debug)]
pub struct OrderTimeChannel {
    api: Api,
    profile: StoreProfile,
}

impl OrderTimeChannel {
    /// Builds the channel for a store, checking every setting.
    pub fn new(config: &StoreConfig) -> Result<Self, ConfigError> {
        let client = HttpClient::shared()
            .map_err(|e| ConfigError::store(&config.id, "url", e.to_string()))?;
        Self::with_client(config, client)
    }

    /// [`new`](Self::new), sending through `client` (a host platform's own; build it from
    /// [`orderport_http::client_builder`]).
    pub fn with_client(config: &StoreConfig, client: HttpClient) -> Result<Self, ConfigError> {
        let profile = StoreProfile::new(config, &SPEC)?;
        let settings = Settings::from_config(config)?;
        Ok(Self {
            api: Api::new(config, settings, client)?,
            profile,
        })
    }
}

#[async_trait]
impl SellingChannel for OrderTimeChannel {
    fn spec(&self) -> &'static ChannelSpec {
        &SPEC
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
