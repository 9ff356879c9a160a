//! [`HttpClient`]: the `reqwest::Client` requests go through. Build one with
//! [`HttpClient::new`] and hand it to every store (`orderport::connect_with`) so that
//! connections are pooled across them, as `orderport sync` does; a host platform can hand in
//! its own (connection pool, TLS roots, proxy) with [`HttpClient::from_reqwest`]. A channel
//! built without one gets a client of its own.
//!
//! There is deliberately no process-wide client: a pooled connection belongs to the tokio
//! runtime that opened it, and a client kept across runtimes (several `#[tokio::test]`s, a host
//! that restarts its runtime) would hand a later runtime a connection whose task is gone.
//!
//! orderport's own client follows **no redirect** and sends **no `Referer`**: reqwest strips
//! `Authorization` on a cross-host hop but forwards custom credential headers (`apiKey`), and
//! its `Referer` carries the previous URL, query-string secrets included. A redirect therefore
//! comes back as a 3xx reply, which [`crate::HttpService`] reports as
//! `ChannelError::Redirected` naming the target host. A host-supplied client should be built
//! from [`client_builder`] for the same reason; if it follows a redirect anyway, the reply is
//! refused and reported the same way, though its credentials have then already travelled.

use std::sync::Arc;
use std::time::Duration;

use crate::observe::Observe;
use crate::service::Pace;

/// How long connecting may take on orderport's own client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` of orderport's own client.
pub const USER_AGENT: &str = concat!("orderport/", env!("CARGO_PKG_VERSION"));

/// A `reqwest::ClientBuilder` with orderport's safety settings: no redirects, no `Referer`, a
/// connect timeout and orderport's user agent. Start a host-supplied client from it.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(USER_AGENT)
}

/// The client requests are sent with, and the pacer every request sent through it waits on,
/// where one is set ([`HttpClient::with_pacer`]). Cheap to clone (reqwest's client is a handle
/// to a shared pool).
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    host_supplied: bool,
    pacer: Option<Arc<dyn Pace>>,
    observer: Option<Arc<dyn Observe>>,
}

/// orderport's own client could not be built (the TLS backend failed to initialise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(pub String);

impl HttpClient {
    /// A new client built from [`client_builder`], with its own connection pool: share it by
    /// cloning.
    pub fn new() -> Result<Self, ClientError> {
        let inner = client_builder()
            .build()
            .map_err(|e| ClientError(e.without_url().to_string()))?;
        Ok(Self {
            inner,
            host_supplied: false,
            pacer: None,
            observer: None,
        })
    }

    /// A client the host platform built (its pool, TLS roots, proxy). Build it from
    /// [`client_builder`] so that it follows no redirect and sends no `Referer`.
    pub fn from_reqwest(client: reqwest::Client) -> Self {
        Self {
            inner: client,
            host_supplied: true,
            pacer: None,
            observer: None,
        }
    }

    /// The same client whose every request, retries included, first waits on `pacer`: give
    /// every store of one credential a client with the same pacer, and their requests are paced
    /// together, whichever connector sends them and however many a page needs.
    pub fn with_pacer(&self, pacer: Arc<dyn Pace>) -> Self {
        Self {
            pacer: Some(pacer),
            ..self.clone()
        }
    }

    /// The same client whose every attempt, retries included, is reported to `observer` once it
    /// is done: the request as sent and the reply as read ([`crate::observe`]). The observer
    /// sees the credentials in clear.
    pub fn with_observer(&self, observer: Arc<dyn Observe>) -> Self {
        Self {
            observer: Some(observer),
            ..self.clone()
        }
    }

    /// The observer attempts are reported to, if any.
    pub fn observer(&self) -> Option<&Arc<dyn Observe>> {
        self.observer.as_ref()
    }

    /// The pacer requests wait on, if any.
    pub fn pacer(&self) -> Option<&Arc<dyn Pace>> {
        self.pacer.as_ref()
    }

    /// The reqwest client.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Whether the host platform supplied it.
    pub fn is_host_supplied(&self) -> bool {
        self.host_supplied
    }
}
