//! Turning Order Time's HTTP replies into results and typed errors.
//!
//! Documented (help.ordertime.com, "Order Time REST API"): 400 carries an error message, 403 means
//! the user's role lacks the right, 409 carries an array of `ValidationResult`. The fields of a
//! `ValidationResult` and the form of a 400 body are not documented, so both are read leniently
//! and the raw text is kept where nothing better is found. 401, 429 and 5xx are ordinary HTTP.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orderport_core::error::excerpt;
use orderport_core::ChannelError;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::Value;

/// The call a reply answers, named as errors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The call, such as `list ship docs` or `get ship doc 1001`.
    pub name: String,
    /// The ship doc it concerns, where one.
    pub doc_no: Option<String>,
}

impl Operation {
    /// `POST /list` of ship docs.
    pub fn list() -> Self {
        Self {
            name: "list ship docs".into(),
            doc_no: None,
        }
    }

    /// `GET /shipdoc?docNo=N`.
    pub fn get(doc_no: &str) -> Self {
        Self::on_doc(format!("get ship doc {doc_no}"), doc_no)
    }

    /// `PUT /shipdoc` changing the StatusRef.
    pub fn update_status(doc_no: &str) -> Self {
        Self::on_doc(format!("update ship doc {doc_no} status"), doc_no)
    }

    /// The Custom Store `shipnotify` call for a ship doc.
    pub fn shipnotify(doc_no: &str) -> Self {
        Self::on_doc("shipnotify".into(), doc_no)
    }

    fn on_doc(name: String, doc_no: &str) -> Self {
        Self {
            name,
            doc_no: Some(doc_no.to_owned()),
        }
    }

    /// `ship doc N: ` where the call concerns one, else nothing.
    fn doc_prefix(&self) -> String {
        self.doc_no
            .as_deref()
            .map(|n| format!("ship doc {n}: "))
            .unwrap_or_default()
    }
}

/// A reply as received: status, headers and body, with the secrets to scrub from any quote.
pub struct Reply<'a> {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

/// Classifies a reply: `Ok(())` for 2xx, else the error its status means. `scrub` removes
/// secrets from any text quoted from the body.
pub fn check(
    reply: &Reply<'_>,
    operation: &Operation,
    store: &str,
    scrub: &dyn Fn(&str) -> String,
) -> Result<(), ChannelError> {
    let status = reply.status;
    if status.is_success() {
        return Ok(());
    }
    let store = store.to_owned();
    let prefix = operation.doc_prefix();
    let code = status.as_u16();
    Err(match status {
        StatusCode::UNAUTHORIZED => ChannelError::Authentication {
            store,
            detail: scrub(&format!(
                "HTTP 401 on {}: {}",
                operation.name,
                message(reply.body)
            )),
        },
        StatusCode::FORBIDDEN => ChannelError::Permission {
            store,
            operation: operation.name.clone(),
            detail: scrub(&format!("{prefix}HTTP 403: {}", message(reply.body))),
        },
        StatusCode::CONFLICT => ChannelError::Refused {
            store,
            operation: operation.name.clone(),
            status: code,
            detail: scrub(&format!(
                "{prefix}Order Time's validation failed: {}",
                validation_results(reply.body)
            )),
        },
        StatusCode::TOO_MANY_REQUESTS => ChannelError::RateLimited {
            store,
            retry_after: retry_after(reply.headers, Utc::now()),
        },
        s if s.is_server_error() => ChannelError::Transient {
            store,
            detail: scrub(&format!(
                "{prefix}HTTP {code} on {}: {}",
                operation.name,
                message(reply.body)
            )),
        },
        _ => ChannelError::Refused {
            store,
            operation: operation.name.clone(),
            status: code,
            detail: scrub(&format!("{prefix}{}", message(reply.body))),
        },
    })
}

/// The message in an error body: a JSON string, a JSON object's `Message` (or a similar key),
/// or the start of the text.
pub fn message(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::String(text)) => text,
        Ok(Value::Object(map)) => ["Message", "message", "ExceptionMessage", "Error", "error"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| excerpt(body)),
        _ if body.iter().all(u8::is_ascii_whitespace) => "no message in the reply".to_owned(),
        _ => excerpt(body).trim().to_owned(),
    }
}

/// The messages of a 409's `ValidationResult` array, joined with `; `. Each result shows its
/// property and message where it has keys that look like them, and its JSON otherwise.
pub fn validation_results(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(results)) if !results.is_empty() => results
            .iter()
            .map(validation_result)
            .collect::<Vec<_>>()
            .join("; "),
        _ => message(body),
    }
}

fn validation_result(result: &Value) -> String {
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| result.get(*key).and_then(Value::as_str))
            .filter(|s| !s.trim().is_empty())
    };
    let property = text(&["PropertyName", "MemberName", "Property", "Field"]).or_else(|| {
        result
            .get("MemberNames")
            .and_then(Value::as_array)
            .and_then(|names| names.first())
            .and_then(Value::as_str)
    });
    match (
        property,
        text(&["Message", "ErrorMessage", "Description", "message"]),
    ) {
        (Some(property), Some(message)) => format!("{property}: {message}"),
        (None, Some(message)) => message.to_owned(),
        _ => match result {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

/// The wait a 429 asks for: `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Whether a body is an HTML page rather than the data asked for.
pub fn looks_like_html(body: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start_matches('\u{feff}').trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_error(status: u16, body: &str) -> ChannelError {
        let headers = HeaderMap::new();
        let reply = Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: &headers,
            body: body.as_bytes(),
        };
        check(&reply, &Operation::get("1042"), "ot", &|s| {
            s.replace("fixture-secret", "[REDACTED]")
        })
        .unwrap_err()
    }

    #[test]
    fn validation_results_name_the_property_and_the_doc() {
        let err = reply_error(
            409,
            r#"[{"PropertyName":"StatusRef","Message":"Status is closed"},{"ErrorMessage":"Date is required"}]"#,
        );
        let ChannelError::Refused {
            status,
            detail,
            operation,
            ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(status, 409);
        assert_eq!(operation, "get ship doc 1042");
        assert_eq!(
            detail,
            "ship doc 1042: Order Time's validation failed: StatusRef: Status is closed; Date is required"
        );
    }

    #[test]
    fn unknown_validation_shapes_keep_their_json() {
        assert_eq!(validation_results(br#"[{"Code":7}]"#), r#"{"Code":7}"#);
        assert_eq!(validation_results(b"plain words"), "plain words");
    }

    #[test]
    fn messages_are_read_from_strings_objects_and_text() {
        assert_eq!(message(br#""Invalid filter""#), "Invalid filter");
        assert_eq!(message(br#"{"Message":"Bad type"}"#), "Bad type");
        assert_eq!(message(b"  oops \n"), "oops");
        assert_eq!(message(b""), "no message in the reply");
    }

    #[test]
    fn secrets_are_scrubbed_from_quoted_replies() {
        let err = reply_error(401, r#"{"Message":"bad key fixture-secret"}"#);
        assert!(!err.to_string().contains("fixture-secret"), "{err}");
        assert!(matches!(err, ChannelError::Authentication { .. }));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            retry_after(&headers, Utc::now()),
            Some(Duration::from_secs(7))
        );
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap(),
        );
        let now = DateTime::parse_from_rfc3339("2026-10-21T07:27:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn html_pages_are_recognised() {
        assert!(looks_like_html(b"\n<!DOCTYPE html><html>"));
        assert!(looks_like_html(b"<html><body>Login</body></html>"));
        assert!(!looks_like_html(b"[]"));
    }
}
