//! What Order Time's replies mean beyond plain HTTP.
//!
//! Documented (help.ordertime.com, "Order Time REST API"): 400 carries an error message, 403 means
//! the user's role lacks the right, 409 carries an array of `ValidationResult`. The fields of a
//! `ValidationResult` and the form of a 400 body are not documented, so both are read leniently
//! and the raw text is kept where nothing better is found. 401, 429 and 5xx are ordinary HTTP,
//! mapped by [`orderport_http::classify`]; the 409 is this connector's [`StatusHook`].

use orderport_core::ChannelError;
use orderport_http::{Failure, Idempotency, StatusHook};
use serde_json::Value;

/// The call a reply answers, named as errors show it, and whether it may be repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The call, such as `list ship docs` or `get ship doc 1001`.
    pub name: String,
    /// Which failures may be retried.
    pub idempotency: Idempotency,
}

impl Operation {
    /// `POST /list` of ship docs: a query, safe to repeat.
    pub fn list() -> Self {
        Self::read("list ship docs".into())
    }

    /// `GET /shipdoc?docNo=N`.
    pub fn get(doc_no: &str) -> Self {
        Self::read(format!("get ship doc {doc_no}"))
    }

    /// `PUT /shipdoc` changing the StatusRef: a whole-record write, safe to repeat.
    pub fn update_status(doc_no: &str) -> Self {
        Self::read(format!("update ship doc {doc_no} status"))
    }

    /// The Custom Store `shipnotify` call for a ship doc: repeated only when surely not
    /// processed.
    pub fn shipnotify(doc_no: &str) -> Self {
        Self {
            name: format!("shipnotify for ship doc {doc_no}"),
            idempotency: Idempotency::RateLimitOnly,
        }
    }

    fn read(name: String) -> Self {
        Self {
            name,
            idempotency: Idempotency::Idempotent,
        }
    }
}

/// Order Time's own statuses: a 409 is refused with its validation results.
#[derive(Debug)]
pub struct OrderTimeStatuses;

impl StatusHook for OrderTimeStatuses {
    fn classify(&self, failure: &Failure<'_>) -> Option<ChannelError> {
        (failure.status.as_u16() == 409).then(|| ChannelError::Refused {
            store: failure.owner.to_owned(),
            operation: failure.operation.to_owned(),
            status: 409,
            detail: failure.redact(&format!(
                "Order Time's validation failed: {}",
                validation_results(failure.body).unwrap_or_else(|| failure.said())
            )),
        })
    }
}

/// The messages of a 409's `ValidationResult` array, joined with `; `, or `None` when the body
/// is not such an array. Each result shows its property and message where it has keys that
/// look like them, and its JSON otherwise.
pub fn validation_results(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(results)) if !results.is_empty() => Some(
            results
                .iter()
                .map(validation_result)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
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

/// Whether a body is an HTML page rather than the data asked for.
pub fn looks_like_html(body: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let start = start.trim_start_matches('\u{feff}').trim_start();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

#[cfg(test)]
mod tests {
    use orderport_http::Redactor;
    use reqwest::header::HeaderMap;
    use reqwest::StatusCode;
    use secrecy::SecretString;

    use super::*;

    fn hooked(status: u16, body: &str) -> Option<ChannelError> {
        let headers = HeaderMap::new();
        let redactor = Redactor::builder()
            .secret(&SecretString::from("fixture-secret"))
            .build();
        OrderTimeStatuses.classify(&Failure {
            owner: "ot",
            operation: "get ship doc 1042",
            status: StatusCode::from_u16(status).unwrap(),
            headers: &headers,
            body: body.as_bytes(),
            redactor: &redactor,
        })
    }

    #[test]
    fn validation_results_name_the_property() {
        let err = hooked(
            409,
            r#"[{"PropertyName":"StatusRef","Message":"Status is closed"},{"ErrorMessage":"Date is required"}]"#,
        )
        .unwrap();
        let ChannelError::Refused {
            status,
            detail,
            operation,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*status, 409);
        assert_eq!(operation, "get ship doc 1042");
        assert_eq!(
            detail,
            "Order Time's validation failed: StatusRef: Status is closed; Date is required"
        );
        assert!(err.to_string().contains("ship doc 1042"));
    }

    #[test]
    fn unknown_validation_shapes_keep_their_json_or_text() {
        assert_eq!(
            validation_results(br#"[{"Code":7}]"#).as_deref(),
            Some(r#"{"Code":7}"#)
        );
        assert_eq!(validation_results(b"plain words"), None);
        let err = hooked(409, "plain words with fixture-secret").unwrap();
        assert!(err.to_string().contains("plain words"), "{err}");
        assert!(!err.to_string().contains("fixture-secret"), "{err}");
    }

    #[test]
    fn other_statuses_are_left_to_the_default_mapping() {
        assert_eq!(hooked(401, "no"), None);
        assert_eq!(hooked(400, "no"), None);
    }

    #[test]
    fn html_pages_are_recognised() {
        assert!(looks_like_html(b"\n<!DOCTYPE html><html>"));
        assert!(looks_like_html(b"<html><body>Login</body></html>"));
        assert!(!looks_like_html(b"[]"));
    }
}
