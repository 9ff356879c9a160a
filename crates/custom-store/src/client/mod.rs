//! HTTP for the Custom Store protocol: the export GET and the shipnotify POST, with credentials
//! sent both ways, typed errors, retries and a reply size limit.
//!
//! Secrets: the request URL carries `SS-Password`, so it is never formatted into an error or a
//! log line; reqwest errors are stripped of their URL with `without_url()`; and every text that
//! comes from the server or the network stack is scrubbed of the password before it goes into an
//! error.

mod credentials;
mod reply;

use orderport_core::{ChannelError, ConfigError, StoreConfig, WallWindow};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::RequestBuilder;
use url::Url;

pub use credentials::{Credentials, REDACTED};

use crate::settings::CustomStoreSettings;
use crate::window::query_dates;
use reply::{read_limited, BodyFailure};

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
    http: reqwest::Client,
    endpoint: Url,
    credentials: Credentials,
    store: String,
    settings: CustomStoreSettings,
}

impl std::fmt::Debug for CustomStoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoint = format!(
            "{}://{}{}",
            self.endpoint.scheme(),
            self.endpoint.host_str().unwrap_or_default(),
            self.endpoint.path()
        );
        f.debug_struct("CustomStoreClient")
            .field("store", &self.store)
            .field("endpoint", &endpoint)
            .field("credentials", &self.credentials)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CustomStoreClient {
    /// A client for `endpoint`, an `http` or `https` URL.
    pub fn new(
        store: &str,
        endpoint: Url,
        credentials: Credentials,
        settings: CustomStoreSettings,
    ) -> Result<Self, ConfigError> {
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(ConfigError::store(
                store,
                "url",
                "the endpoint must be an http or https URL with a host",
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .user_agent(concat!("orderport/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::store(
                    store,
                    "url",
                    format!("cannot build the HTTP client: {}", e.without_url()),
                )
            })?;
        Ok(Self {
            http,
            endpoint,
            credentials,
            store: store.to_owned(),
            settings,
        })
    }

    /// A client from a store's `url`, `username`, `password` and settings.
    pub fn from_config(
        config: &StoreConfig,
        settings: CustomStoreSettings,
    ) -> Result<Self, ConfigError> {
        let endpoint = Url::parse(config.url.trim()).map_err(|e| {
            ConfigError::store(
                &config.id,
                "url",
                format!("not a URL ({e}); use the endpoint the channel gave"),
            )
        })?;
        Self::new(
            &config.id,
            endpoint,
            Credentials::from_config(config)?,
            settings,
        )
    }

    /// The settings in force.
    pub fn settings(&self) -> &CustomStoreSettings {
        &self.settings
    }

    /// `GET {url}?action=export&start_date=..&end_date=..&page=N`: the raw bytes of one page.
    pub async fn export(&self, window: &WallWindow, page: u32) -> Result<Vec<u8>, ChannelError> {
        let (start, end) = query_dates(window);
        let page_text = page.to_string();
        tracing::debug!(store = %self.store, page, start_date = %start, end_date = %end, "requesting export page");
        let url = self.url(&[
            ("action", "export"),
            ("start_date", &start),
            ("end_date", &end),
            ("page", &page_text),
        ]);
        self.call(Operation::Export, || {
            self.http
                .get(url.clone())
                .header(ACCEPT, "application/xml, text/xml")
        })
        .await
    }

    /// `POST {url}?action=shipnotify&…` with a ShipNotice body; any non-2xx is an error.
    /// `query` holds `order_number`, `carrier`, `service` and `tracking_number`, in that order.
    pub async fn ship_notify(
        &self,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<(), ChannelError> {
        tracing::debug!(store = %self.store, "sending shipnotify");
        let mut params = vec![("action", "shipnotify")];
        params.extend_from_slice(query);
        let url = self.url(&params);
        self.call(Operation::ShipNotify, || {
            self.http
                .post(url.clone())
                .header(CONTENT_TYPE, SHIP_NOTICE_CONTENT_TYPE)
                .body(body.clone())
        })
        .await
        .map(|_| ())
    }

    /// The endpoint with `params`, then `SS-UserName` and `SS-Password`. Never log it.
    fn url(&self, params: &[(&str, &str)]) -> Url {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .extend_pairs(params)
            .append_pair("SS-UserName", self.credentials.username())
            .append_pair("SS-Password", self.credentials.password());
        url
    }

    /// One call with the store's retry policy.
    async fn call(
        &self,
        operation: Operation,
        request: impl Fn() -> RequestBuilder,
    ) -> Result<Vec<u8>, ChannelError> {
        self.settings
            .retry
            .run(
                || self.attempt(operation, request()),
                |error, wait| {
                    tracing::warn!(
                        store = %self.store,
                        operation = operation.as_str(),
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        %error,
                        "retrying Custom Store request"
                    );
                },
            )
            .await
    }

    async fn attempt(
        &self,
        operation: Operation,
        request: RequestBuilder,
    ) -> Result<Vec<u8>, ChannelError> {
        let mut response = request
            .basic_auth(
                self.credentials.username(),
                Some(self.credentials.password()),
            )
            .send()
            .await
            .map_err(|e| self.transport_error(operation, e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = reply::retry_after_header(&response);
            let said = self
                .credentials
                .redact(&reply::error_text(&mut response).await);
            return Err(reply::status_error(
                &self.store,
                operation,
                status,
                retry_after,
                &said,
            ));
        }
        read_limited(&mut response, self.settings.max_response_bytes)
            .await
            .map_err(|failure| self.body_error(operation, failure))
    }

    fn body_error(&self, operation: Operation, failure: BodyFailure) -> ChannelError {
        match failure {
            BodyFailure::Transport(e) => self.transport_error(operation, e),
            BodyFailure::TooLarge { start, declared } => {
                let size =
                    declared.map_or_else(|| "more than that".to_owned(), |d| format!("{d} bytes"));
                self.protocol_error(
                    format!(
                        "the {} reply is over max_response_bytes ({} bytes; it is {size}); raise \
                         max_response_bytes in the store's settings or ask for a shorter window",
                        operation.as_str(),
                        self.settings.max_response_bytes
                    ),
                    &start,
                )
            }
        }
    }

    /// A protocol error whose excerpt of `body` is scrubbed of the password.
    pub(crate) fn protocol_error(&self, detail: String, body: &[u8]) -> ChannelError {
        match ChannelError::protocol(&self.store, detail, body) {
            ChannelError::Protocol {
                store,
                detail,
                excerpt,
            } => ChannelError::Protocol {
                store,
                detail: self.credentials.redact(&detail),
                excerpt: self.credentials.redact(&excerpt),
            },
            other => other,
        }
    }

    fn transport_error(&self, operation: Operation, error: reqwest::Error) -> ChannelError {
        let error = error.without_url();
        let store = self.store.clone();
        if error.is_builder() {
            return ChannelError::Configuration {
                store,
                field: "url".to_owned(),
                detail: self.credentials.redact(&chain(&error)),
            };
        }
        let detail = if error.is_timeout() {
            format!(
                "{} timed out after {}s; raise request_timeout_secs if the store is slow",
                operation.as_str(),
                self.settings.request_timeout.as_secs()
            )
        } else if error.is_connect() {
            format!("cannot connect to the store: {}", chain(&error))
        } else {
            format!("{} failed: {}", operation.as_str(), chain(&error))
        };
        ChannelError::Transient {
            store,
            detail: self.credentials.redact(&detail),
        }
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
