//! Turning a reply that is not a success into a typed [`ChannelError`]: one default mapping
//! for every connector and sink, and a [`StatusHook`] for a channel's quirks (a 409 carrying
//! validation results, a 401 that means a read-only key, a 500 that must not be retried).
//!
//! | status | error |
//! |---|---|
//! | 401 | `Authentication` |
//! | 403 | `Permission` |
//! | 408 | `Transient` |
//! | 429 | `RateLimited`, with `Retry-After` in seconds or as an HTTP date |
//! | 5xx | `Transient` |
//! | 3xx | `Redirected`, naming the target host (decided by [`crate::HttpService`]) |
//! | other 4xx | `Refused`, with what the server said |

use std::fmt;
use std::time::Duration;

use orderport_core::ChannelError;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::redact::Redactor;

/// The most bytes of what a server said quoted in an error.
pub const SAID_LIMIT: usize = 300;

/// A reply that is not a success, as a classifier sees it.
pub struct Failure<'a> {
    /// The store (or sink) the request was for.
    pub owner: &'a str,
    /// The call, as errors name it (`export`, `list ship docs`).
    pub operation: &'a str,
    /// The HTTP status.
    pub status: StatusCode,
    /// The reply's headers.
    pub headers: &'a HeaderMap,
    /// The start of the body (at most [`crate::body::ERROR_BODY_LIMIT`] bytes), raw: quote it
    /// only through [`Failure::said`] or [`Failure::redact`].
    pub body: &'a [u8],
    /// The service's redactor.
    pub redactor: &'a Redactor,
}

impl fmt::Debug for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("owner", &self.owner)
            .field("operation", &self.operation)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Failure<'_> {
    /// What the server said, as one short line without secrets: the message of a JSON error
    /// body (a string, `Message`/`message`/`error`/`detail`/`title`, or Klaviyo-style
    /// `errors[].detail`), else the body's text; empty when the body is.
    pub fn said(&self) -> String {
        let text = message(self.body);
        let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        self.redactor.excerpt(line.as_bytes(), SAID_LIMIT)
    }

    /// `text` without secrets, for a hook that quotes the body its own way.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// The reply's `Retry-After`, where it has a readable one.
    pub fn retry_after(&self) -> Option<Duration> {
        crate::retry_after::from_headers(self.headers)
    }

    /// `HTTP 500` or `HTTP 500: what the server said`.
    pub fn status_and_said(&self) -> String {
        let said = self.said();
        if said.is_empty() {
            format!("HTTP {}", self.status.as_u16())
        } else {
            format!("HTTP {}: {said}", self.status.as_u16())
        }
    }
}

/// A channel's own reading of some replies, consulted before the default mapping.
pub trait StatusHook: Send + Sync + fmt::Debug {
    /// The error for this reply, or `None` to use [`classify`].
    fn classify(&self, failure: &Failure<'_>) -> Option<ChannelError>;
}

/// The default mapping (see the module documentation).
pub fn classify(failure: &Failure<'_>) -> ChannelError {
    let store = failure.owner.to_owned();
    let operation = failure.operation.to_owned();
    let code = failure.status.as_u16();
    match code {
        401 => ChannelError::Authentication {
            store,
            detail: format!("{} on {operation}", failure.status_and_said()),
        },
        403 => ChannelError::Permission {
            store,
            operation,
            detail: failure.status_and_said(),
        },
        429 => ChannelError::RateLimited {
            store,
            retry_after: failure.retry_after(),
        },
        408 | 500..=599 => ChannelError::Transient {
            store,
            detail: format!("{operation} answered {}", failure.status_and_said()),
        },
        _ => {
            let said = failure.said();
            ChannelError::Refused {
                store,
                operation,
                status: code,
                detail: if said.is_empty() {
                    "no message".to_owned()
                } else {
                    said
                },
            }
        }
    }
}

/// The human message of an error body.
fn message(body: &[u8]) -> String {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return String::from_utf8_lossy(body).into_owned();
    };
    let from_object = |map: &serde_json::Map<String, Value>| {
        [
            "Message",
            "message",
            "ExceptionMessage",
            "error",
            "detail",
            "title",
        ]
        .iter()
        .find_map(|key| map.get(*key).and_then(Value::as_str).map(str::to_owned))
    };
    match &json {
        Value::String(text) => text.clone(),
        Value::Object(map) => {
            if let Some(errors) = map.get("errors").and_then(Value::as_array) {
                let joined: Vec<String> = errors
                    .iter()
                    .filter_map(|e| {
                        let detail = e
                            .get("detail")
                            .or_else(|| e.get("title"))
                            .and_then(Value::as_str)?;
                        let text = match e.get("code").and_then(Value::as_str) {
                            Some(code) => format!("{code}: {detail}"),
                            None => detail.to_owned(),
                        };
                        // JSON:API errors point at the field at fault.
                        Some(match e.pointer("/source/pointer").and_then(Value::as_str) {
                            Some(at) => format!("{text} (at {at})"),
                            None => text,
                        })
                    })
                    .collect();
                if !joined.is_empty() {
                    return joined.join("; ");
                }
            }
            from_object(map).unwrap_or_else(|| json.to_string())
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn error_for(status: u16, body: &str, headers: HeaderMap) -> ChannelError {
        let redactor = Redactor::builder()
            .secret(&SecretString::from("hunter2"))
            .build();
        classify(&Failure {
            owner: "hq",
            operation: "export",
            status: StatusCode::from_u16(status).unwrap(),
            headers: &headers,
            body: body.as_bytes(),
            redactor: &redactor,
        })
    }

    #[test]
    fn statuses_map_to_their_kinds() {
        let none = HeaderMap::new;
        assert!(matches!(
            error_for(401, "", none()),
            ChannelError::Authentication { .. }
        ));
        assert!(matches!(
            error_for(403, "no", none()),
            ChannelError::Permission { operation, .. } if operation == "export"
        ));
        assert!(matches!(
            error_for(408, "", none()),
            ChannelError::Transient { .. }
        ));
        assert!(matches!(
            error_for(503, "", none()),
            ChannelError::Transient { .. }
        ));
        assert!(matches!(
            error_for(404, "", none()),
            ChannelError::Refused { status: 404, detail, .. } if detail == "no message"
        ));
        let mut headers = HeaderMap::new();
        headers.insert("Retry-After", "7".parse().unwrap());
        assert_eq!(
            error_for(429, "", headers),
            ChannelError::RateLimited {
                store: "hq".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn what_the_server_said_is_read_from_json_or_text_without_secrets() {
        let said = |body: &str| match error_for(400, body, HeaderMap::new()) {
            ChannelError::Refused { detail, .. } => detail,
            other => panic!("{other:?}"),
        };
        assert_eq!(said(r#""Invalid filter""#), "Invalid filter");
        assert_eq!(said(r#"{"Message":"Bad type"}"#), "Bad type");
        assert_eq!(
            said(r#"{"errors":[{"code":"invalid","detail":"metric is required"}]}"#),
            "invalid: metric is required"
        );
        assert_eq!(
            said(
                r#"{"errors":[{"id":"x","status":400,"code":"invalid","title":"Invalid input.","detail":"metric name is required","source":{"pointer":"/data/attributes/metric"}}]}"#
            ),
            "invalid: metric name is required (at /data/attributes/metric)"
        );
        assert_eq!(said("  two\n lines  "), "two lines");
        assert_eq!(said("key hunter2 wrong"), "key [REDACTED] wrong");
        assert!(said(&"x".repeat(5000)).len() <= SAID_LIMIT + '…'.len_utf8());
    }
}
