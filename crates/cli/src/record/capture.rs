//! Capturing a walk's traffic: an observer on the store's HTTP client
//! ([`orderport::http::observe`]) that keeps every attempt, the request as sent and the reply as
//! read, in memory and in clear. Nothing captured is written or logged as it is: the credentials
//! are replaced ([`super::identity`]) and the personal data pseudonymized
//! ([`super::pseudonyms`]) first.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use orderport::http::observe::{Exchange, Observe, Outcome};
use orderport::http::Redactor;

/// One attempt as it went over the wire. Holds the store's credentials in clear; its `Debug`
/// shows only the operation and the status.
pub struct Attempt {
    /// The call's name, such as `export` or `list`.
    pub operation: String,
    /// The attempt of the call, from 1.
    pub attempt: u32,
    /// The method, upper-case.
    pub method: String,
    /// The URL's path, as sent (percent-encoded).
    pub path: String,
    /// The query parameters, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// The request's own headers (names lower-case; the first value of a repeated one), the
    /// credential headers included.
    pub headers: Vec<(String, String)>,
    /// The request body, where it has one.
    pub body: Option<Vec<u8>>,
    /// The reply, or `None` when none came (the connection failed or timed out).
    pub reply: Option<Reply>,
    /// Every spelling of every secret the service sends, credential headers' whole values
    /// included.
    pub redactor: Redactor,
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("operation", &self.operation)
            .field("attempt", &self.attempt)
            .field("status", &self.reply.as_ref().map(|r| r.status))
            .finish_non_exhaustive()
    }
}

/// A reply as the service read it.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers (names lower-case; a repeated one's values joined with `, `).
    pub headers: Vec<(String, String)>,
    /// The body as far as the service read it.
    pub body: Vec<u8>,
    /// Whether `body` is the whole body (a failure's is cut to its first KiB).
    pub complete: bool,
}

/// Keeps every attempt of every service built on the client it is set on.
#[derive(Default)]
pub struct Capture {
    attempts: Mutex<Vec<Attempt>>,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attempts = self.lock().len();
        f.debug_struct("Capture")
            .field("attempts", &attempts)
            .finish()
    }
}

impl Capture {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Attempt>> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every attempt so far, in the order they ended.
    pub fn take(&self) -> Vec<Attempt> {
        std::mem::take(&mut *self.lock())
    }
}

impl Observe for Capture {
    fn exchange(&self, exchange: &Exchange<'_>) {
        let request = exchange.request;
        let url = request.url();
        let mut headers: Vec<(String, String)> = Vec::new();
        for (name, value) in request.headers() {
            if !headers.iter().any(|(n, _)| n == name.as_str()) {
                headers.push((
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                ));
            }
        }
        let body = request
            .body()
            .and_then(|b| b.as_bytes())
            .filter(|b| !b.is_empty())
            .map(<[u8]>::to_vec);
        let reply = match &exchange.outcome {
            Outcome::Reply(reply) => {
                let mut headers: Vec<(String, String)> = Vec::new();
                for name in reply.headers.keys() {
                    let values: Vec<String> = reply
                        .headers
                        .get_all(name)
                        .iter()
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                        .collect();
                    headers.push((name.as_str().to_owned(), values.join(", ")));
                }
                Some(Reply {
                    status: reply.status.as_u16(),
                    headers,
                    body: reply.body.to_vec(),
                    complete: reply.complete,
                })
            }
            _ => None,
        };
        let attempt = Attempt {
            operation: exchange.operation.to_owned(),
            attempt: exchange.attempt,
            method: request.method().as_str().to_ascii_uppercase(),
            path: url.path().to_owned(),
            query: url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            headers,
            body,
            reply,
            redactor: exchange.redactor.clone(),
        };
        self.lock().push(attempt);
    }
}
