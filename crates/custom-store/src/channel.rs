//! [`CustomStoreChannel`]: a [`SellingChannel`] over the Custom Store protocol, for any
//! connector that declares a [`ChannelSpec`].

use async_trait::async_trait;
use chrono::{Duration, Utc};
use orderport_core::{
    ChannelError, ChannelSpec, ConfigError, Page, PageToken, SellingChannel, ShipmentUpdate,
    StoreConfig, StoreProfile, TimeWindow,
};

use orderport_http::HttpClient;

use crate::client::CustomStoreClient;
use crate::export::{parse_page, ParseContext};
use crate::paging::PageCursor;
use crate::settings::CustomStoreSettings;
use crate::ship_notice::ShipNotice;
use crate::window::export_window;

/// One store reached over the Custom Store protocol.
#[derive(Debug, Clone)]
pub struct CustomStoreChannel {
    spec: &'static ChannelSpec,
    profile: StoreProfile,
    client: CustomStoreClient,
}

impl CustomStoreChannel {
    /// A channel for `config`, declared by `spec`. Fails when the store is for another channel,
    /// the URL is not http(s), the user name or password is missing, the status mapping is
    /// inconsistent, or a setting is unknown or out of range.
    pub fn new(spec: &'static ChannelSpec, config: &StoreConfig) -> Result<Self, ConfigError> {
        let client =
            HttpClient::new().map_err(|e| ConfigError::store(&config.id, "url", e.to_string()))?;
        Self::with_client(spec, config, client)
    }

    /// [`new`](Self::new), sending through `client` (a host platform's own pool, TLS roots or
    /// proxy; build it from [`orderport_http::client_builder`]).
    pub fn with_client(
        spec: &'static ChannelSpec,
        config: &StoreConfig,
        client: HttpClient,
    ) -> Result<Self, ConfigError> {
        let profile = StoreProfile::new(config, spec)?;
        let settings = CustomStoreSettings::from_config(config)?;
        let client =
            CustomStoreClient::from_config(config, settings, client)?.with_channel(spec.id);
        Ok(Self {
            spec,
            profile,
            client,
        })
    }

    /// The HTTP client.
    pub fn client(&self) -> &CustomStoreClient {
        &self.client
    }

    /// The store's Custom Store settings.
    pub fn settings(&self) -> &CustomStoreSettings {
        self.client.settings()
    }

    /// What the export reader needs for this store, filtering by `window` when given.
    pub fn parse_context(&self, window: Option<TimeWindow>) -> ParseContext<'_> {
        ParseContext {
            spec: self.spec,
            store: &self.profile,
            window,
            default_weight_unit: self.settings().default_weight_unit,
            max_orders: self.settings().max_orders_per_page,
        }
    }

    /// The notice for `update`, after [`ShipmentUpdate::check_for`]: an invalid update, or a
    /// partial shipment on a channel that declares no `partial_shipments`, is
    /// [`ChannelError::InvalidShipment`] and nothing is sent.
    pub fn ship_notice<'a>(
        &self,
        update: &'a ShipmentUpdate,
    ) -> Result<ShipNotice<'a>, ChannelError> {
        update
            .check_for(self.spec)
            .map_err(|reason| ChannelError::InvalidShipment {
                store: self.profile.id.clone(),
                reason,
            })?;
        Ok(ShipNotice::new(update, self.profile.zone))
    }

    fn bad_token(&self, detail: String) -> ChannelError {
        ChannelError::Configuration {
            store: self.profile.id.clone(),
            field: "page_token".to_owned(),
            detail,
        }
    }
}

#[async_trait]
impl SellingChannel for CustomStoreChannel {
    fn spec(&self) -> &'static ChannelSpec {
        self.spec
    }

    fn store(&self) -> &StoreProfile {
        &self.profile
    }

    /// Exports page 1 of the last minute and requires a well-formed `<Orders>` reply.
    async fn check_connection(&self) -> Result<(), ChannelError> {
        let now = Utc::now();
        let window = TimeWindow::new(now - Duration::minutes(1), now)
            .map_err(|e| self.bad_token(e.to_string()))?;
        self.fetch_page(&window, None).await.map(|_| ())
    }

    /// Fetches and reads one page; the page's bytes are dropped once read.
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        let cursor = PageCursor::from_token(page).map_err(|e| self.bad_token(e.to_string()))?;
        let wall = export_window(self.profile.zone, window);
        let body = self.client.export(&wall, cursor.page).await?;
        let parsed = parse_page(&body, &self.parse_context(Some(*window))).map_err(|e| {
            self.client
                .protocol_error(format!("export page {}: {e}", cursor.page), &body)
        })?;
        drop(body);
        let (total, next) = cursor.advance(
            parsed.total_pages,
            parsed.orders_read,
            &self.profile,
            window,
        )?;
        tracing::debug!(
            store = %self.profile.id,
            page = cursor.page,
            total,
            read = parsed.orders_read,
            outside_window = parsed.outside_window,
            "export page read"
        );
        let ahead = match next {
            Some(_) => cursor.ahead(total),
            None => Vec::new(),
        };
        Ok(Page::new(parsed.outcomes, next).with_ahead(ahead))
    }

    /// Sends `POST ?action=shipnotify` with the `<ShipNotice>` body; see
    /// [`CustomStoreChannel::ship_notice`] for the updates refused before sending.
    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        let notice = self.ship_notice(update)?;
        let body = notice
            .to_xml()
            .map_err(|e| self.client.protocol_error(e.to_string(), &[]))?;
        self.client.ship_notify(&notice.query(), body).await
    }
}
