//! Reading replies: HTTP statuses to typed errors, `Retry-After`, and bodies read chunk by chunk
//! under a size limit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orderport_core::ChannelError;
use reqwest::{Response, StatusCode};

use super::Operation;

/// The most bytes of an error reply read for its message.
const ERROR_BODY_LIMIT: usize = 1024;

/// The buffer a body starts with when the server declares no length.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// The most memory reserved up front for a declared length; the rest grows as bytes arrive.
const MAX_PREALLOCATION: usize = 8 * 1024 * 1024;

/// The most characters of an error reply quoted in a message.
const ERROR_TEXT_LIMIT: usize = 200;

/// Maps a non-2xx status to its error: 401 authentication, 403 permission, 429 rate limited,
/// 5xx transient, any other status refused. `said` is what the server's body said, already
/// scrubbed of secrets.
pub(crate) fn status_error(
    store: &str,
    operation: Operation,
    status: StatusCode,
    retry_after: Option<Duration>,
    said: &str,
) -> ChannelError {
    let store = store.to_owned();
    let code = status.as_u16();
    let detail = if said.is_empty() {
        format!("HTTP {code}")
    } else {
        format!("HTTP {code}: {said}")
    };
    match code {
        401 => ChannelError::Authentication { store, detail },
        403 => ChannelError::Permission {
            store,
            operation: operation.as_str().to_owned(),
            detail,
        },
        429 => ChannelError::RateLimited { store, retry_after },
        500..=599 => ChannelError::Transient {
            store,
            detail: format!("{} answered {detail}", operation.as_str()),
        },
        _ => ChannelError::Refused {
            store,
            operation: operation.as_str().to_owned(),
            status: code,
            detail: if said.is_empty() {
                "no message".to_owned()
            } else {
                said.to_owned()
            },
        },
    }
}

/// `Retry-After` as seconds or as an HTTP date; a date in the past means no wait.
pub(crate) fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// The server's `Retry-After`, where it sent a readable one.
pub(crate) fn retry_after_header(response: &Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    retry_after(value.to_str().ok()?, Utc::now())
}

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyFailure {
    /// The reply is over the limit; `start` is what was read of it.
    TooLarge {
        /// The first bytes.
        start: Vec<u8>,
        /// The size the server declared, where it did.
        declared: Option<u64>,
    },
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// Reads the body chunk by chunk and stops as soon as it is over `limit` bytes. A declared
/// `Content-Length` over the limit fails before anything is read.
pub(crate) async fn read_limited(
    response: &mut Response,
    limit: u64,
) -> Result<Vec<u8>, BodyFailure> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > limit) {
        return Err(BodyFailure::TooLarge {
            start: Vec::new(),
            declared,
        });
    }
    let expected = declared.map_or(INITIAL_BODY_CAPACITY, |length| {
        usize::try_from(length).map_or(INITIAL_BODY_CAPACITY, |l| l.min(MAX_PREALLOCATION))
    });
    let mut body = Vec::with_capacity(expected);
    while let Some(chunk) = response.chunk().await.map_err(BodyFailure::Transport)? {
        if (body.len() + chunk.len()) as u64 > limit {
            body.extend_from_slice(&chunk);
            return Err(BodyFailure::TooLarge {
                start: body,
                declared,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The start of an error reply as one line of text, for a message. Read failures give what was
/// read so far.
pub(crate) async fn error_text(response: &mut Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    let text = String::from_utf8_lossy(&body);
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = line.char_indices().nth(ERROR_TEXT_LIMIT) {
        line.truncate(cut);
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn statuses_map_to_their_kinds() {
        let kind = |code: u16| {
            status_error(
                "s",
                Operation::Export,
                StatusCode::from_u16(code).unwrap(),
                None,
                "",
            )
        };
        assert!(matches!(kind(401), ChannelError::Authentication { .. }));
        assert!(matches!(
            kind(403),
            ChannelError::Permission { operation, .. } if operation == "export"
        ));
        assert!(matches!(kind(429), ChannelError::RateLimited { .. }));
        assert!(matches!(kind(500), ChannelError::Transient { .. }));
        assert!(matches!(kind(503), ChannelError::Transient { .. }));
        assert!(matches!(
            kind(404),
            ChannelError::Refused { status: 404, .. }
        ));
        assert!(matches!(
            kind(400),
            ChannelError::Refused { status: 400, .. }
        ));
        let shipnotify = status_error(
            "s",
            Operation::ShipNotify,
            StatusCode::FORBIDDEN,
            None,
            "no",
        );
        assert!(matches!(
            shipnotify,
            ChannelError::Permission { operation, .. } if operation == "shipnotify"
        ));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 08 Mar 2026 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Sun, 08 Mar 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
