//! Replies as the handlers build them, before they become HTTP responses: a status, a content
//! type, extra headers and the body bytes, so that faults can cut or replace them.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

use crate::faults::Fault;

/// `text/xml` with UTF-8.
pub(crate) const XML: &str = "text/xml; charset=utf-8";
/// JSON with UTF-8.
pub(crate) const JSON: &str = "application/json; charset=utf-8";
/// Plain text.
pub(crate) const TEXT: &str = "text/plain; charset=utf-8";
/// HTML.
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// A reply being built.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub content_type: Option<&'static str>,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A reply with a body.
    pub fn new(status: StatusCode, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type: Some(content_type),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A reply without a body.
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON reply.
    pub fn json(status: StatusCode, value: &Value) -> Self {
        Self::new(status, JSON, value.to_string())
    }

    /// A plain-text reply.
    pub fn text(status: StatusCode, text: impl Into<String>) -> Self {
        Self::new(status, TEXT, text.into())
    }

    /// The same reply with one more header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// `401` with an empty body and a Basic challenge, as Custom Store endpoints answer.
    pub fn unauthorized_basic() -> Self {
        Self::empty(StatusCode::UNAUTHORIZED)
            .with_header(WWW_AUTHENTICATE, "Basic realm=\"ShipStation\"")
    }

    /// The same reply cut in the middle of its body.
    pub fn truncated(mut self) -> Self {
        let keep = self.body.len() / 2;
        self.body.truncate(keep);
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Some(content_type) = self.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// The reply a gateway-level fault gives, if the fault is one (429, 500, 503).
pub(crate) fn gateway_fault(fault: Fault, retry_after_secs: u64) -> Option<Reply> {
    match fault {
        Fault::RateLimited => Some(
            Reply::text(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests; slow down and retry after the Retry-After delay",
            )
            .with_header(RETRY_AFTER, retry_after_secs.to_string()),
        ),
        Fault::Error500 => Some(Reply::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        )),
        Fault::Error503 => Some(
            Reply::new(
                StatusCode::SERVICE_UNAVAILABLE,
                HTML,
                "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            )
            .with_header(RETRY_AFTER, "1"),
        ),
        Fault::Html200 | Fault::Truncated => None,
    }
}

/// A store's PHP error page, answered with `200`.
pub(crate) const STORE_ERROR_PAGE: &str = "<!doctype html>\n<html>\n<head><title>Store error</title></head>\n<body><h1>There has been an error processing your request</h1>\n<p>Exception printing is disabled by default for security reasons.</p></body>\n</html>\n";

/// A sign-in page, answered with `200` by a REST API behind a login wall.
pub(crate) const SIGN_IN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign In</title></head>\n<body><form action=\"/login\"><input name=\"email\"></form></body></html>\n";

/// The query's pairs, decoded, in order.
pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// The first value of `name` in `pairs`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The user name and password of an `Authorization: Basic` header.
pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// A header's value as text.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
