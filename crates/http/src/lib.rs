//! One HTTP layer for every orderport connector and sink: the client, credentials, redaction,
//! status mapping, `Retry-After`, bounded bodies, retries and pacing, written once.
//!
//! A connector builds one [`HttpService`] per store from its settings and sends
//! [`Request`]s through it; the service returns the 2xx [`Reply`] or a typed
//! [`ChannelError`](orderport_core::ChannelError) that never carries a URL or a secret.
//!
//! - [`client`]: one pooled `reqwest::Client` per process, or the host platform's; no
//!   redirects followed, no `Referer` sent.
//! - [`endpoint`]: plain `http://` to a non-loopback host is refused unless the store sets
//!   `allow_insecure_http = true`.
//! - [`auth`]: HTTP Basic, credential headers and query parameters over secret values.
//! - [`redact`]: one redactor for the raw, URL-encoded, escaped and base64 spellings of every
//!   secret sent.
//! - [`classify`]: status → error, with a per-channel [`StatusHook`].
//! - [`retry_after`]: seconds or an HTTP date.
//! - [`body`]: every body read under a limit.
//! - [`service`]: the retry loop, by [`Idempotency`].
//! - [`pace`]: pacing to a rate limit counted in fixed windows, shared per credential.
//! - [`observe`]: a hook on the client that sees every attempt, request and reply (what
//!   `orderport record` captures fixtures with).
//! - [`settings`]: the `request_timeout_secs`, `max_response_bytes` and `retry_*` keys.
//!
//! # Example
//!
//! ```no_run
//! use orderport_http::{endpoint, Auth, HttpClient, HttpService, HttpSettings, Request};
//! use secrecy::SecretString;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let url = endpoint::parse("https://store.example/shipstation", false)?;
//! let auth = Auth::basic("vendor", SecretString::from("s3cret"))
//!     .with_query("SS-Password", SecretString::from("s3cret"));
//! let service = HttpService::new(HttpClient::new()?, "store-1", auth, HttpSettings::default());
//! let reply = service.send(Request::get(url, "export")).await?;
//! println!("{} bytes", reply.body.len());
//! // Quoting a reply in an error never shows the secret, in any spelling.
//! assert!(!service.redactor().redact("pw=s3cret").contains("s3cret"));
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod auth;
pub mod body;
pub mod classify;
pub mod client;
pub mod endpoint;
pub mod observe;
pub mod pace;
pub mod redact;
pub mod retry_after;
pub mod service;
pub mod settings;
pub mod telemetry;

pub use auth::{Auth, InvalidCredential};
pub use classify::{Failure, StatusHook};
pub use client::{client_builder, ClientError, HttpClient};
pub use endpoint::EndpointError;
pub use observe::Observe;
pub use pace::{EndpointLimit, GapPacer, WindowPacer};
pub use redact::{Redactor, RedactorBuilder, REDACTED};
pub use service::{HttpService, Idempotency, Pace, Reply, Request};
pub use settings::HttpSettings;
