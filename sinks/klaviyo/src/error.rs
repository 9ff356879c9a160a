//! Typed errors: configuration problems, and why a request to Klaviyo failed for good.
//!
//! No error ever carries the API key: the key only lives in a `SecretString` and a sensitive
//! header value, and any text Klaviyo sends back is scrubbed of it before it is kept.

/// A problem with the sink's configuration or setup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KlaviyoError {
    /// A `[[sink]]` setting is missing or wrong.
    #[error("Klaviyo sink: configuration error in {field}: {detail}")]
    Config {
        /// The setting, such as `api_key_env`.
        field: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// The HTTP client could not be built.
    #[error("Klaviyo sink: cannot build the HTTP client: {detail}")]
    Client {
        /// What went wrong.
        detail: String,
    },
}

impl KlaviyoError {
    pub(crate) fn config(field: &str, detail: impl Into<String>) -> Self {
        Self::Config {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }
}

/// Why [`KlaviyoSink::check_connection`](crate::KlaviyoSink::check_connection) failed. Never
/// carries the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// 401: the key is wrong or revoked.
    #[error("Klaviyo refused the API key with HTTP 401 ({detail}); check the sink's api_key (or api_key_env)")]
    Unauthorized {
        /// What Klaviyo said.
        detail: String,
    },
    /// 403: the key is valid but may not read accounts, so whether it may write events cannot
    /// be checked without sending one.
    #[error("Klaviyo took the API key but refused to read the account with HTTP 403 ({detail}): the key lacks the accounts:read scope the check needs; give it read access to Accounts, or let the first delivery show whether it has events:write")]
    MissingScope {
        /// What Klaviyo said.
        detail: String,
    },
    /// No usable answer: a network error, a timeout, a redirect, a 5xx after the retries, a
    /// status other than 200.
    #[error(
        "Klaviyo did not confirm the connection: {detail}; check the sink's url and the network"
    )]
    Unreachable {
        /// What happened.
        detail: String,
    },
}

impl CheckError {
    /// Whether the key is at fault (wrong, revoked, or missing a scope), not the connection.
    pub fn is_credentials(&self) -> bool {
        matches!(self, Self::Unauthorized { .. } | Self::MissingScope { .. })
    }
}

/// Why one request to Klaviyo failed for good. The events it carried stay in the outbox (they
/// are reported in [`DeliveryReport::failed`](crate::DeliveryReport::failed)) and are sent again
/// on the next run; their `unique_id`s keep that from creating duplicates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// 401 or 403: the key is wrong, revoked, or lacks the `events:write` scope. Nothing else is
    /// sent in the same delivery.
    #[error("Klaviyo refused the API key with HTTP {status} ({detail}); check the sink's api_key and that the key has the events:write scope")]
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// What Klaviyo said.
        detail: String,
    },
    /// A 4xx other than 401, 403 and 429: the request itself is wrong. Never retried. When the
    /// request carried one event and the status is one an event can cause
    /// ([`DeliveryError::refuses_the_event`]), that event is refused for good.
    #[error("Klaviyo rejected the request with HTTP {status} ({detail}); not retried")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// What Klaviyo said.
        detail: String,
    },
    /// A retryable failure (429, 503, 504, 524, a network error) that persisted through every
    /// attempt of the retry policy.
    #[error(
        "Klaviyo still failed after {attempts} attempts ({detail}); the events stay in the outbox"
    )]
    GaveUp {
        /// Attempts made, the first included.
        attempts: u32,
        /// The last failure.
        detail: String,
    },
    /// Klaviyo asked us to wait longer than the retry policy's `max_delay`; retrying earlier
    /// would only be throttled again.
    #[error("Klaviyo asked to retry after {retry_after_secs}s, longer than the retry policy allows ({max_delay_secs}s); the events stay in the outbox")]
    RetryAfterTooLong {
        /// The server's Retry-After.
        retry_after_secs: u64,
        /// The policy's bound.
        max_delay_secs: u64,
    },
    /// The request could not be made or its answer not read: a redirect (never followed, it
    /// would carry the key), a reply over `max_response_bytes`, a URL the HTTP client refuses.
    #[error("Klaviyo request failed: {detail}; the events stay in the outbox")]
    Failed {
        /// What happened, without the key.
        detail: String,
    },
    /// Any other answer than `202 Accepted` that is not retried (a 500, a 502, a 2xx other
    /// than 202, a redirect). Only a 202 counts as delivered.
    #[error("Klaviyo answered HTTP {status} instead of 202 Accepted ({detail}); the events stay in the outbox")]
    NotAccepted {
        /// The HTTP status.
        status: u16,
        /// What Klaviyo said.
        detail: String,
    },
}

/// Statuses with which Klaviyo refuses what a request carries rather than how it was sent:
/// `400` (invalid), `409` (conflict), `413` (too large), `422` (unprocessable). Not `401`/`403`
/// (the key), `404`/`405`/`410` (the URL), `408`/`429` (try later) or `415` (our content type):
/// those are no event's fault, and the event must stay pending until they are fixed.
pub(crate) fn refuses_content(status: u16) -> bool {
    matches!(status, 400 | 409 | 413 | 422)
}

impl DeliveryError {
    /// Whether a request carrying a single event failed because of that event: Klaviyo
    /// rejected it with a status only its content can cause (400, 409, 413, 422). Sending it
    /// again would fail the same way, so the sink reports the event refused for good instead
    /// of leaving it pending. False for a refused key (401/403), an outage, a wrong URL, a
    /// timeout or a rate limit.
    pub fn refuses_the_event(&self) -> bool {
        matches!(self, Self::Rejected { status, .. } if refuses_content(*status))
    }
}
