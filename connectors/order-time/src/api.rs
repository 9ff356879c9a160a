//! The HTTP calls to Order Time, each retried by the store's [`RetryPolicy`]: 429 (honouring
//! `Retry-After`), 5xx, timeouts and dropped connections are retried; other 4xx never.
//!
//! [`RetryPolicy`]: orderport_core::RetryPolicy

use std::sync::Arc;
use std::time::Duration;

use orderport_core::{ChannelError, ConfigError};
use orderport_custom_store::client::SHIP_NOTICE_CONTENT_TYPE;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Method, RequestBuilder};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::reply::{self, Operation, Reply};
use crate::settings::{self, Settings};

/// An Order Time tenant's API, bound to one store.
#[derive(Debug, Clone)]
pub struct Api {
    http: Client,
    store: String,
    settings: Arc<Settings>,
}

/// How a call authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// The REST headers `apiKey`, `email`, and `password` or `DevKey`.
    Rest,
    /// HTTP Basic with the e-mail and the API key (the Custom Store endpoint).
    Basic,
}

impl Api {
    /// A client for one store.
    pub fn new(store: &str, settings: Settings) -> Result<Self, ConfigError> {
        let http = Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout.min(Duration::from_secs(30)))
            .user_agent(concat!("orderport-order-time/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::store(store, "url", format!("cannot build an HTTP client: {e}"))
            })?;
        Ok(Self {
            http,
            store: store.to_owned(),
            settings: Arc::new(settings),
        })
    }

    /// The store's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store's id.
    pub fn store(&self) -> &str {
        &self.store
    }

    /// `{base}/{segment}`.
    pub fn endpoint(&self, segment: &str) -> Result<Url, ChannelError> {
        settings::join_url(&self.settings.base, segment).ok_or_else(|| {
            ChannelError::Configuration {
                store: self.store.clone(),
                field: "url".into(),
                detail: "the API base cannot hold a path".into(),
            }
        })
    }

    /// `GET`s with the REST headers and reads a JSON reply.
    pub async fn get_json(&self, url: Url, operation: &Operation) -> Result<Value, ChannelError> {
        self.json::<()>(Method::GET, url, None, operation).await
    }

    /// Sends `body` as JSON with the REST headers and reads a JSON reply.
    pub async fn json<B: Serialize + ?Sized + Sync>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        operation: &Operation,
    ) -> Result<Value, ChannelError> {
        let bytes = self
            .send(operation, Auth::Rest, || {
                let request = self.http.request(method.clone(), url.clone());
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await?;
        if reply::looks_like_html(&bytes) {
            return Err(ChannelError::protocol(
                &self.store,
                format!(
                    "{} answered with an HTML page instead of JSON; check the url",
                    operation.name
                ),
                &bytes,
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            ChannelError::protocol(
                &self.store,
                format!(
                    "{} answered with JSON that cannot be read: {e}",
                    operation.name
                ),
                &bytes,
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
        let bytes = self
            .send(operation, Auth::Basic, || {
                self.http
                    .post(url.clone())
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static(SHIP_NOTICE_CONTENT_TYPE),
                    )
                    .body(xml.clone())
            })
            .await?;
        if reply::looks_like_html(&bytes) {
            return Err(ChannelError::protocol(
                &self.store,
                format!(
                    "{} answered 2xx with an HTML page; check shipnotify_url",
                    operation.name
                ),
                &bytes,
            ));
        }
        Ok(())
    }

    /// Sends a request built by `build`, retrying by the store's policy, and returns the body of
    /// a 2xx reply.
    async fn send(
        &self,
        operation: &Operation,
        auth: Auth,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Vec<u8>, ChannelError> {
        self.settings
            .retry
            .run(
                || self.attempt(operation, auth, build()),
                |error, wait| {
                    tracing::warn!(store = %self.store, operation = %operation.name, ?wait, "retrying: {error}");
                },
            )
            .await
    }

    async fn attempt(
        &self,
        operation: &Operation,
        auth: Auth,
        request: RequestBuilder,
    ) -> Result<Vec<u8>, ChannelError> {
        let credentials = &self.settings.credentials;
        let request = match auth {
            Auth::Rest => request.headers(credentials.rest_headers()),
            Auth::Basic => credentials.basic_auth(request),
        };
        tracing::debug!(store = %self.store, operation = %operation.name, "calling Order Time");
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(operation, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(operation, e))?;
        let reply = Reply {
            status,
            headers: &headers,
            body: &body,
        };
        reply::check(&reply, operation, &self.store, &|text| {
            credentials.redact(text)
        })?;
        Ok(body.to_vec())
    }

    /// A failure before a reply: a timeout or a dropped connection, safe to retry. The URL is
    /// left out of the message.
    fn transport_error(&self, operation: &Operation, error: reqwest::Error) -> ChannelError {
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else {
            "failed"
        };
        let builder = error.is_builder();
        let detail = format!("{} {kind}: {}", operation.name, error.without_url());
        if builder {
            return ChannelError::Configuration {
                store: self.store.clone(),
                field: "url".into(),
                detail: self.settings.credentials.redact(&detail),
            };
        }
        ChannelError::Transient {
            store: self.store.clone(),
            detail: self.settings.credentials.redact(&detail),
        }
    }
}
