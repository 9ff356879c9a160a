//! HTTP for the Custom Store protocol: the export GET and the shipnotify POST, sent through the
//! shared [`orderport_http::HttpService`] with the credentials both ways (HTTP Basic, and
//! `SS-UserName`/`SS-Password` in the query string, as ShipStation sends them).
//!
//! Secrets: the request URL carries `SS-Password`, so it is never formatted into an error or a
//! log line; the service's redactor removes every spelling of the password (raw, URL-encoded,
//! base64 of `user:password`, …) from any text a server sends back.

mod credentials;

use orderport_core::{ChannelError, ConfigError, StoreConfig, WallWindow};
use orderport_http::{endpoint, HttpClient, HttpService, Idempotency, Request};
use reqwest::header::{HeaderValue, ACCEPT};
use url::Url;

pub use credentials::Credentials;

use crate::settings::CustomStoreSettings;
use crate::window::query_dates;

/// The two calls of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `action=export`.
    Export,
    /// `action=shipnotify`.
    ShipNotify,
}

impl Operation {
    /// The protocol's name for the call, as in `action=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::ShipNotify => "shipnotify",
        }
    }
}

/// The `Content-Type` of a ShipNotice body.
pub const SHIP_NOTICE_CONTENT_TYPE: &str = "application/xml; charset=utf-8";

/// A client for one store's Custom Store endpoint. Debug output shows the endpoint without its
/// query string or user info, which could hold credentials.
#[derive(Clone)]
pub struct CustomStoreClient {
    http: HttpService,
    endpoint: Url,
    settings: CustomStoreSettings,
}

impl std::fmt::Debug for CustomStoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomStoreClient")
            .field("endpoint", &endpoint::display(&self.endpoint))
            .field("http", &self.http)
            .field("settings", &self.settings)
            .finish()
    }
}

impl CustomStoreClient {
    /// A client for `endpoint`, sending through `client`. The endpoint must pass
    /// [`endpoint::check`] (https, or http to loopback or with `allow_insecure_http`).
    pub fn new(
        store: &str,
        endpoint: Url,
        credentials: &Credentials,
        settings: CustomStoreSettings,
        client: HttpClient,
    ) -> Self {
        Self {
            http: HttpService::new(client, store, credentials.auth(), settings.http),
            endpoint,
            settings,
        }
    }

    /// A client from a store's `url`, `username`, `password`, `allow_insecure_http` and
    /// settings, sending through `client`.
    pub fn from_config(
        config: &StoreConfig,
        settings: CustomStoreSettings,
        client: HttpClient,
    ) -> Result<Self, ConfigError> {
        let endpoint = endpoint::parse(&config.url, config.allow_insecure_http)
            .map_err(|e| ConfigError::store(&config.id, "url", e.to_string()))?;
        Ok(Self::new(
            &config.id,
            endpoint,
            &Credentials::from_config(config)?,
            settings,
            client,
        ))
    }

    /// Counts its requests under `channel` in telemetry (the connector's id).
    pub fn with_channel(mut self, channel: &'static str) -> Self {
        self.http = self.http.with_channel(channel);
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &CustomStoreSettings {
        &self.settings
    }

    /// The HTTP service, for errors quoting a reply.
    pub fn http(&self) -> &HttpService {
        &self.http
    }

    /// `GET {url}?action=export&start_date=..&end_date=..&page=N`: the raw bytes of one page.
    pub async fn export(&self, window: &WallWindow, page: u32) -> Result<Vec<u8>, ChannelError> {
        let (start, end) = query_dates(window);
        tracing::debug!(store = %self.http.owner(), page, start_date = %start, end_date = %end, "requesting export page");
        let url = self.url(&[
            ("action", "export"),
            ("start_date", &start),
            ("end_date", &end),
            ("page", &page.to_string()),
        ]);
        let request = Request::get(url, Operation::Export.as_str()).header(
            ACCEPT,
            HeaderValue::from_static("application/xml, text/xml"),
        );
        Ok(self.http.send(request).await?.body)
    }

    /// `POST {url}?action=shipnotify&…` with a ShipNotice body; any non-2xx is an error.
    /// `query` holds `order_number`, `carrier`, `service` and `tracking_number`, in that order.
    ///
    /// Retried only when the server surely did not process it (429, or no connection), since a
    /// shipnotify sent twice may notify the buyer twice.
    pub async fn ship_notify(
        &self,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(), ChannelError> {
        tracing::debug!(store = %self.http.owner(), "sending shipnotify");
        let mut params = vec![("action", "shipnotify")];
        params.extend_from_slice(query);
        let request = Request::post(self.url(&params), Operation::ShipNotify.as_str())
            .body(body, SHIP_NOTICE_CONTENT_TYPE)
            .idempotency(Idempotency::RateLimitOnly);
        self.http.send(request).await.map(|_| ())
    }

    /// The endpoint with `params`; the service appends `SS-UserName` and `SS-Password`.
    fn url(&self, params: &[(&str, &str)]) -> Url {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut().extend_pairs(params);
        url
    }

    /// A protocol error whose excerpt of `body` is scrubbed of the password.
    pub(crate) fn protocol_error(&self, detail: String, body: &[u8]) -> ChannelError {
        self.http.protocol_error(detail, body)
    }
}
