//! [`Observe`]: a hook that sees every attempt a service makes, the request as it went on the
//! wire and the reply as the service read it. Set one on a client
//! ([`HttpClient::with_observer`](crate::HttpClient::with_observer)) and every service built on
//! that client reports to it, whichever connector or sink built the service and however many
//! requests a page needs (detail fetches and retries included). `orderport record` captures a
//! store's traffic into test fixtures this way; a host could audit or debug with it.
//!
//! What an observer is handed holds the store's **credentials in clear**: the URL carries
//! query-string secrets (`SS-Password`) and the headers carry `Authorization` and credential
//! headers. An observer must never log, print or store them as they are; the exchange carries
//! the service's [`Redactor`], which knows every spelling of every secret the service sends.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use orderport_http::observe::{Exchange, Observe, Outcome};
//! use orderport_http::HttpClient;
//!
//! /// Counts the statuses seen, and nothing else.
//! #[derive(Debug, Default)]
//! struct Statuses(Mutex<Vec<u16>>);
//!
//! impl Observe for Statuses {
//!     fn exchange(&self, exchange: &Exchange<'_>) {
//!         if let Outcome::Reply(reply) = &exchange.outcome {
//!             self.0.lock().unwrap().push(reply.status.as_u16());
//!         }
//!     }
//! }
//!
//! let statuses = Arc::new(Statuses::default());
//! let client = HttpClient::new()?.with_observer(statuses.clone());
//! assert!(client.observer().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::redact::Redactor;

/// Sees every attempt of every service built on a client that carries it. Called once per
/// attempt, after the reply was read (or the attempt failed without one), from the task that
/// sent the request: keep it quick, and never block on I/O.
pub trait Observe: Send + Sync + fmt::Debug {
    /// One attempt, done.
    fn exchange(&self, exchange: &Exchange<'_>);
}

/// One attempt: who sent what, and what came back.
#[derive(Debug)]
#[non_exhaustive]
pub struct Exchange<'a> {
    /// The store (or sink) the service serves.
    pub owner: &'a str,
    /// The channel (or sink kind) its requests are counted under.
    pub channel: &'a str,
    /// The call's name, such as `export` or `list`.
    pub operation: &'a str,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The request as sent: method, URL with the credential query parameters, the request's
    /// headers with the credential headers (`Authorization` included), and the body. The
    /// client's own defaults (`User-Agent`, `Accept`) that reqwest adds while sending are not
    /// in it. **Holds secrets**: see the [module documentation](self).
    pub request: &'a reqwest::Request,
    /// The reply, or that none came.
    pub outcome: Outcome<'a>,
    /// The service's redactor: every spelling of every secret the request carries.
    pub redactor: &'a Redactor,
}

/// How an attempt ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome<'a> {
    /// The server replied.
    Reply(ObservedReply<'a>),
    /// No reply came: the connection failed or timed out.
    NoReply,
}

/// A reply as the service read it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ObservedReply<'a> {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body as far as it was read: the whole body of a success; the first KiB of a failure
    /// ([`crate::body::ERROR_BODY_LIMIT`]); what was read of a body over `max_response_bytes`;
    /// nothing of a redirect.
    pub body: &'a [u8],
    /// Whether `body` is the whole body.
    pub complete: bool,
}

/// What an attempt saw of the reply, kept for the observer.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub reply: Option<SeenReply>,
}

/// An owned [`ObservedReply`].
#[derive(Debug)]
pub(crate) struct SeenReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub complete: bool,
}

impl Seen {
    /// Keeps a reply.
    pub fn reply(&mut self, status: StatusCode, headers: &HeaderMap, body: &[u8], complete: bool) {
        self.reply = Some(SeenReply {
            status,
            headers: headers.clone(),
            body: body.to_vec(),
            complete,
        });
    }

    /// The outcome to report.
    pub fn outcome(&self) -> Outcome<'_> {
        match &self.reply {
            Some(reply) => Outcome::Reply(ObservedReply {
                status: reply.status,
                headers: &reply.headers,
                body: &reply.body,
                complete: reply.complete,
            }),
            None => Outcome::NoReply,
        }
    }
}
