//! [`HttpService`]: one store's (or sink's) way of sending requests. Every connector and sink
//! sends through it, so each request gets the same treatment:
//!
//! 1. waits for the client's pacer (one per credential, [`HttpClient::with_pacer`]) and the
//!    service's own (an endpoint's published limit), where set ([`Pace`]);
//! 2. carries the credentials ([`Auth`]) and the request timeout;
//! 3. refuses a redirect ([`ChannelError::Redirected`], naming the target host);
//! 4. maps a failure status to a [`ChannelError`] ([`crate::classify`], with the channel's
//!    [`StatusHook`]), quoting at most the first KiB of the body, redacted;
//! 5. reads a success body under `max_response_bytes`;
//! 6. retries what its [`Idempotency`] allows, by the store's [`RetryPolicy`]
//!    (`orderport_core::RetryPolicy`): at most `retry_max_attempts` attempts per request;
//! 7. reports each attempt, request and reply, to the client's observer where one is set
//!    ([`crate::observe`]).
//!
//! No error carries the request URL (it may hold a secret in its query) or a secret.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use orderport_core::ChannelError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

use crate::auth::Auth;
use crate::body::{self, BodyFailure};
use crate::classify::{classify, Failure, StatusHook};
use crate::client::HttpClient;
use crate::observe::{Exchange, Seen};
use crate::redact::Redactor;
use crate::settings::HttpSettings;
use crate::telemetry;

/// Which failures of a request may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating the request does no harm (GET, PUT, or a POST the API documents as
    /// idempotent): 429, 408, 5xx, timeouts and dropped connections are retried.
    Idempotent,
    /// Repeating a processed request would do it twice: only failures that prove it was not
    /// processed are retried, a 429 (refused before processing) and a failure to connect
    /// (never sent).
    RateLimitOnly,
    /// Never retried.
    Never,
}

/// Waits before each request on a credential so that a channel's rate limits are kept.
#[async_trait]
pub trait Pace: Send + Sync + fmt::Debug {
    /// Returns when the next request may go.
    async fn wait(&self);
}

/// One request: method, URL (credentials are added by the service), headers, body, the name of
/// the call for errors and logs, and which failures may be retried.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<bytes::Bytes>,
    operation: Cow<'static, str>,
    idempotency: Idempotency,
}

impl Request {
    /// A request; GET, HEAD, PUT and DELETE are [`Idempotency::Idempotent`], others
    /// [`Idempotency::RateLimitOnly`] until said otherwise.
    pub fn new(method: Method, url: Url, operation: impl Into<Cow<'static, str>>) -> Self {
        let idempotency = if matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ) {
            Idempotency::Idempotent
        } else {
            Idempotency::RateLimitOnly
        };
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            operation: operation.into(),
            idempotency,
        }
    }

    /// A GET.
    pub fn get(url: Url, operation: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Method::GET, url, operation)
    }

    /// A POST.
    pub fn post(url: Url, operation: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Method::POST, url, operation)
    }

    /// Adds a header (not a credential: those come from the service's [`Auth`]).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets the body and its `Content-Type`.
    pub fn body(mut self, body: impl Into<bytes::Bytes>, content_type: &'static str) -> Self {
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        self.body = Some(body.into());
        self
    }

    /// Sets the body to `value` as JSON.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Self, serde_json::Error> {
        let bytes = serde_json::to_vec(value)?;
        Ok(self.body(bytes, "application/json"))
    }

    /// Says which failures may be retried.
    pub fn idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// The call's name.
    pub fn operation(&self) -> &str {
        &self.operation
    }
}

/// A successful reply (2xx), its body read whole under the size limit.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// A failed attempt, and whether the request surely never reached the server.
struct Failed {
    error: ChannelError,
    unsent: bool,
    /// The reply's status, when there was a reply.
    status: Option<u16>,
}

/// One store's (or sink's) HTTP: client, credentials, redaction, limits, retries, pacing and
/// status hook. Cheap to clone.
#[derive(Clone)]
pub struct HttpService {
    client: HttpClient,
    owner: String,
    channel: &'static str,
    auth: Auth,
    redactor: Redactor,
    settings: HttpSettings,
    hook: Option<Arc<dyn StatusHook>>,
    pacer: Option<Arc<dyn Pace>>,
}

impl fmt::Debug for HttpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpService")
            .field("owner", &self.owner)
            .field("channel", &self.channel)
            .field("auth", &self.auth)
            .field("settings", &self.settings)
            .field("host_supplied_client", &self.client.is_host_supplied())
            .field("hook", &self.hook)
            .field("pacer", &self.pacer)
            .finish_non_exhaustive()
    }
}

impl HttpService {
    /// A service for `owner` (a store id, or a sink's name), sending with `auth`. Its redactor
    /// knows every secret `auth` sends.
    pub fn new(
        client: HttpClient,
        owner: impl Into<String>,
        auth: Auth,
        settings: HttpSettings,
    ) -> Self {
        let redactor = auth.redactor_builder().build();
        Self {
            client,
            owner: owner.into(),
            channel: "unknown",
            auth,
            redactor,
            settings,
            hook: None,
            pacer: None,
        }
    }

    /// Replaces the redactor, for a store with secrets configured but not sent by this service
    /// (build it from [`Auth::redactor_builder`] plus those secrets).
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// The same service sending other credentials (same client, redactor, limits, hook and
    /// pacer), for a channel whose calls authenticate in two ways.
    pub fn with_auth(&self, auth: Auth) -> Self {
        Self {
            auth,
            ..self.clone()
        }
    }

    /// Names the channel (or sink kind) its requests are counted under: the `channel` field of
    /// the `http.request` span and label of the metrics ([`crate::telemetry`]). `unknown` until
    /// set.
    pub fn with_channel(mut self, channel: &'static str) -> Self {
        self.channel = channel;
        self
    }

    /// Adds the channel's reading of some failure statuses.
    pub fn with_hook(mut self, hook: Arc<dyn StatusHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Paces every request (retries included) by `pacer` as well as by the client's: an
    /// endpoint's own limit, such as Klaviyo's per-endpoint rate limits.
    pub fn with_pacer(mut self, pacer: Arc<dyn Pace>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// The store (or sink) it serves.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Its limits and retries.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Its redactor.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// A protocol error (an unreadable reply) whose excerpt of `body` is redacted.
    pub fn protocol_error(&self, detail: impl Into<String>, body: &[u8]) -> ChannelError {
        ChannelError::Protocol {
            store: self.owner.clone(),
            detail: self.redactor.redact(&detail.into()),
            excerpt: self
                .redactor
                .excerpt(body, orderport_core::error::EXCERPT_LIMIT),
        }
    }

    /// Sends `request`, retrying what its [`Idempotency`] and the retry policy allow, and
    /// returns the 2xx reply.
    pub async fn send(&self, request: Request) -> Result<Reply, ChannelError> {
        self.send_counted(request).await.0
    }

    /// [`send`](Self::send), also saying how many attempts were made (at most
    /// `retry_max_attempts`).
    ///
    /// Runs in an `http.request` span (fields `channel`, `store`, `operation`, then `attempts`
    /// and `status`) and records each attempt's duration and each retry ([`crate::telemetry`]).
    pub async fn send_counted(&self, request: Request) -> (Result<Reply, ChannelError>, u32) {
        let span = tracing::info_span!(
            "http.request",
            channel = self.channel,
            store = %self.owner,
            operation = %request.operation,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        let sent = self.send_in_span(&request).instrument(span.clone()).await;
        span.record("attempts", sent.1);
        sent
    }

    async fn send_in_span(&self, request: &Request) -> (Result<Reply, ChannelError>, u32) {
        let policy = self.settings.retry;
        let mut attempt: u32 = 1;
        loop {
            if let Some(pacer) = self.client.pacer() {
                pacer.wait().await;
            }
            if let Some(pacer) = &self.pacer {
                pacer.wait().await;
            }
            let started = std::time::Instant::now();
            let outcome = self.attempt(request, attempt).await;
            let status = match &outcome {
                Ok(reply) => Some(reply.status.as_u16()),
                Err(failed) => failed.status,
            };
            telemetry::record_attempt(self.channel, status, started.elapsed());
            if let Some(status) = status {
                tracing::Span::current().record("status", status);
            }
            let failed = match outcome {
                Ok(reply) => return (Ok(reply), attempt),
                Err(failed) => failed,
            };
            let may_retry = match request.idempotency {
                Idempotency::Idempotent => failed.error.is_retryable(),
                Idempotency::RateLimitOnly => {
                    matches!(failed.error, ChannelError::RateLimited { .. }) || failed.unsent
                }
                Idempotency::Never => false,
            };
            let wait = if may_retry {
                policy.delay_after(attempt, &failed.error)
            } else {
                None
            };
            let Some(wait) = wait else {
                return (Err(failed.error), attempt);
            };
            tracing::warn!(
                owner = %self.owner,
                operation = %request.operation,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %failed.error,
                "retrying request"
            );
            telemetry::record_retry(self.channel);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, request: &Request, attempt: u32) -> Result<Reply, Failed> {
        let mut url = request.url.clone();
        self.auth.apply_to_url(&mut url);
        let mut builder = self
            .client
            .reqwest()
            .request(request.method.clone(), url.clone())
            .timeout(self.settings.request_timeout)
            .headers(request.headers.clone());
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        builder = self.auth.apply_to_request(builder);
        tracing::debug!(
            owner = %self.owner,
            operation = %request.operation,
            method = %request.method,
            host = request.url.host_str().unwrap_or_default(),
            attempt,
            "sending request"
        );
        let sent = builder
            .build()
            .map_err(|e| self.transport_error(&request.operation, e))?;
        let Some(observer) = self.client.observer() else {
            return self.exchange(request, sent, &url, None).await;
        };
        // Bodies are bytes in memory, so the copy always succeeds.
        let copy = sent.try_clone();
        let mut seen = Seen::default();
        let result = self.exchange(request, sent, &url, Some(&mut seen)).await;
        if let Some(copy) = &copy {
            observer.exchange(&Exchange {
                owner: &self.owner,
                channel: self.channel,
                operation: &request.operation,
                attempt,
                request: copy,
                outcome: seen.outcome(),
                redactor: &self.redactor,
            });
        }
        result
    }

    /// Sends one built request and reads its reply; what was read goes to `seen` when the
    /// client has an observer.
    async fn exchange(
        &self,
        request: &Request,
        sent: reqwest::Request,
        url: &Url,
        mut seen: Option<&mut Seen>,
    ) -> Result<Reply, Failed> {
        let mut response = self
            .client
            .reqwest()
            .execute(sent)
            .await
            .map_err(|e| self.transport_error(&request.operation, e))?;
        let status = response.status();
        let mut keep = |headers: &HeaderMap, body: &[u8], complete: bool| {
            if let Some(seen) = seen.as_deref_mut() {
                seen.reply(status, headers, body, complete);
            }
        };
        if response.url() != url {
            // A host-supplied client followed a redirect.
            keep(response.headers(), &[], false);
            return Err(self.redirected(
                &request.operation,
                status.as_u16(),
                authority(response.url()),
            ));
        }
        if status.is_redirection() {
            keep(response.headers(), &[], false);
            let target = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .and_then(|to| authority(&to));
            return Err(self.redirected(&request.operation, status.as_u16(), target));
        }
        if !status.is_success() {
            let start = body::read_start(&mut response).await;
            keep(
                response.headers(),
                &start,
                start.len() < body::ERROR_BODY_LIMIT,
            );
            let failure = Failure {
                owner: &self.owner,
                operation: &request.operation,
                status,
                headers: response.headers(),
                body: &start,
                redactor: &self.redactor,
            };
            let error = self
                .hook
                .as_ref()
                .and_then(|hook| hook.classify(&failure))
                .unwrap_or_else(|| classify(&failure));
            return Err(Failed {
                error,
                unsent: false,
                status: Some(status.as_u16()),
            });
        }
        let headers = response.headers().clone();
        match body::read_limited(&mut response, self.settings.max_response_bytes).await {
            Ok(body) => {
                keep(&headers, &body, true);
                Ok(Reply {
                    status,
                    headers,
                    body,
                })
            }
            Err(BodyFailure::Transport(e)) => {
                keep(&headers, &[], false);
                Err(Failed {
                    status: Some(status.as_u16()),
                    ..self.transport_error(&request.operation, e)
                })
            }
            Err(BodyFailure::TooLarge { start, declared }) => {
                keep(&headers, &start, false);
                let size =
                    declared.map_or_else(|| "more than that".to_owned(), |d| format!("{d} bytes"));
                Err(Failed {
                    error: self.protocol_error(
                        format!(
                            "the {} reply is over max_response_bytes ({} bytes; it is {size}); \
                             raise max_response_bytes in the settings or ask for less at once",
                            request.operation, self.settings.max_response_bytes
                        ),
                        &start,
                    ),
                    unsent: false,
                    status: Some(status.as_u16()),
                })
            }
        }
    }

    fn redirected(&self, operation: &str, status: u16, target: Option<String>) -> Failed {
        Failed {
            error: ChannelError::Redirected {
                store: self.owner.clone(),
                operation: operation.to_owned(),
                status,
                target: target.unwrap_or_else(|| "an address it did not name".to_owned()),
            },
            unsent: false,
            status: Some(status),
        }
    }

    /// A failure without a reply. The URL is never part of the message.
    fn transport_error(&self, operation: &str, error: reqwest::Error) -> Failed {
        let error = error.without_url();
        let store = self.owner.clone();
        if error.is_builder() {
            return Failed {
                error: ChannelError::Configuration {
                    store,
                    field: "url".to_owned(),
                    detail: self.redactor.redact(&chain(&error)),
                },
                unsent: true,
                status: None,
            };
        }
        let unsent = error.is_connect();
        let detail = if error.is_timeout() {
            format!(
                "{operation} timed out after {}s; raise request_timeout_secs if the server is slow",
                self.settings.request_timeout.as_secs()
            )
        } else if unsent {
            format!("cannot connect: {}", chain(&error))
        } else {
            format!("{operation} failed: {}", chain(&error))
        };
        Failed {
            error: ChannelError::Transient {
                store,
                detail: self.redactor.redact(&detail),
            },
            unsent,
            status: None,
        }
    }
}

/// `host[:port]` of a URL, without user info.
fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
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
