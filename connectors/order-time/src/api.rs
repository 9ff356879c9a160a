//! The HTTP calls to Order Time, sent through the shared [`orderport_http::HttpService`]: the
//! REST calls with the `apiKey`/`email`/`password` (or `DevKey`) headers, and the Custom Store
//! `shipnotify` with HTTP Basic. Reads are retried on 429, 5xx, timeouts and dropped
//! connections; writes only when Order Time surely did not process them (429, no connection).

use std::sync::Arc;

use orderport_core::{ChannelError, ConfigError, StoreConfig};
use orderport_custom_store::client::SHIP_NOTICE_CONTENT_TYPE;
use orderport_http::{endpoint, HttpClient, HttpService, Idempotency, Request};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::reply::{self, Operation, OrderTimeStatuses};
use crate::settings::Settings;

/// An Order Time tenant's API, bound to one store.
#[derive(Debug, Clone)]
pub struct Api {
    rest: HttpService,
    shipnotify: HttpService,
    settings: Arc<Settings>,
}

impl Api {
    /// A client for one store, sending through `client`.
    pub fn new(
        config: &StoreConfig,
        settings: Settings,
        client: HttpClient,
    ) -> Result<Self, ConfigError> {
        let credentials = &settings.credentials;
        let rest_auth = credentials
            .rest_auth()
            .map_err(|e| ConfigError::store(&config.id, "api_key", e.to_string()))?;
        let rest = HttpService::new(client, &config.id, rest_auth, settings.http)
            .with_redactor(credentials.redactor())
            .with_hook(Arc::new(OrderTimeStatuses))
            .with_channel(crate::SPEC.id);
        let shipnotify = rest.with_auth(credentials.basic_auth());
        Ok(Self {
            rest,
            shipnotify,
            settings: Arc::new(settings),
        })
    }

    /// The store's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store's id.
    pub fn store(&self) -> &str {
        self.rest.owner()
    }

    /// The REST service, for protocol errors quoting a reply.
    pub fn http(&self) -> &HttpService {
        &self.rest
    }

    /// `{base}/{segment}`.
    pub fn endpoint(&self, segment: &str) -> Result<Url, ChannelError> {
        endpoint::join(&self.settings.base, segment).ok_or_else(|| ChannelError::Configuration {
            store: self.store().to_owned(),
            field: "url".into(),
            detail: "the API base cannot hold a path".into(),
        })
    }

    /// `GET`s with the REST headers: the raw body of a 2xx reply that is not an HTML page.
    pub async fn get(&self, url: Url, operation: &Operation) -> Result<Vec<u8>, ChannelError> {
        self.rest_call::<()>(Method::GET, url, None, operation)
            .await
    }

    /// `GET`s with the REST headers and reads a JSON reply.
    pub async fn get_json(&self, url: Url, operation: &Operation) -> Result<Value, ChannelError> {
        let body = self.get(url, operation).await?;
        self.parse_json(&body, operation)
    }

    /// Sends `body` as JSON with the REST headers: the raw body of a 2xx reply that is not an
    /// HTML page. A `POST /list` is a query: it is retried like a read.
    pub async fn rest_call<B: Serialize + ?Sized + Sync>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        operation: &Operation,
    ) -> Result<Vec<u8>, ChannelError> {
        let mut request =
            Request::new(method, url, operation.name.clone()).idempotency(operation.idempotency);
        if let Some(body) = body {
            request = request.json(body).map_err(|e| {
                self.rest.protocol_error(
                    format!("{}: the request cannot be written: {e}", operation.name),
                    &[],
                )
            })?;
        }
        let reply = self.rest.send(request).await?;
        if reply::looks_like_html(&reply.body) {
            return Err(self.rest.protocol_error(
                format!(
                    "{} answered with an HTML page instead of JSON; check the url",
                    operation.name
                ),
                &reply.body,
            ));
        }
        Ok(reply.body)
    }

    /// [`rest_call`](Self::rest_call) reading a JSON reply.
    pub async fn json<B: Serialize + ?Sized + Sync>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        operation: &Operation,
    ) -> Result<Value, ChannelError> {
        let bytes = self.rest_call(method, url, body, operation).await?;
        self.parse_json(&bytes, operation)
    }

    fn parse_json(&self, bytes: &[u8], operation: &Operation) -> Result<Value, ChannelError> {
        serde_json::from_slice(bytes).map_err(|e| {
            self.rest.protocol_error(
                format!(
                    "{} answered with JSON that cannot be read: {e}",
                    operation.name
                ),
                bytes,
            )
        })
    }

    /// POSTs an XML body with HTTP Basic (e-mail and API key). Any 2xx that is not an HTML page
    /// is success; the body is otherwise ignored, as the Custom Store protocol says.
    pub async fn post_xml(
        &self,
        url: Url,
        xml: Vec<u8>,
        operation: &Operation,
    ) -> Result<(), ChannelError> {
        let request = Request::post(url, operation.name.clone())
            .body(xml, SHIP_NOTICE_CONTENT_TYPE)
            .idempotency(Idempotency::RateLimitOnly);
        let reply = self.shipnotify.send(request).await?;
        if reply::looks_like_html(&reply.body) {
            return Err(self.rest.protocol_error(
                format!(
                    "{} answered 2xx with an HTML page; check shipnotify_url",
                    operation.name
                ),
                &reply.body,
            ));
        }
        Ok(())
    }
}
