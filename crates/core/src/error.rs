//! Typed errors a channel returns.

use std::time::Duration;

/// The most bytes of a reply kept in a [`ChannelError::Protocol`] excerpt.
pub const EXCERPT_LIMIT: usize = 300;

/// Why a channel call failed. Every variant names the store; none carries a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The channel refused the credentials.
    #[error("store {store}: the channel refused the credentials ({detail}); check the username and secrets in the store configuration")]
    Authentication {
        /// The store's id.
        store: String,
        /// What the channel said, without the secret.
        detail: String,
    },
    /// The credentials are good but lack a right.
    #[error("store {store}: permission denied for {operation} ({detail}); grant the API user the right to {operation}")]
    Permission {
        /// The store's id.
        store: String,
        /// The call that was refused.
        operation: String,
        /// What the channel said.
        detail: String,
    },
    /// The channel asked us to slow down.
    #[error("store {store}: rate limited by the channel{}", retry_after.map(|d| format!("; it asked to retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The store's id.
        store: String,
        /// The server's Retry-After, where it sent one.
        retry_after: Option<Duration>,
    },
    /// A failure that is safe to retry: a 5xx, a timeout, a dropped connection.
    #[error("store {store}: temporary failure ({detail}); it is safe to retry")]
    Transient {
        /// The store's id.
        store: String,
        /// What happened.
        detail: String,
    },
    /// A reply that cannot be understood.
    #[error(
        "store {store}: unreadable reply from the channel: {detail}; the reply began {excerpt:?}"
    )]
    Protocol {
        /// The store's id.
        store: String,
        /// What was wrong with it.
        detail: String,
        /// The start of the reply, at most [`EXCERPT_LIMIT`] bytes.
        excerpt: String,
    },
    /// The channel refused a request for a reason of its own (a 4xx other than auth).
    #[error("store {store}: the channel refused {operation} with HTTP {status}: {detail}")]
    Refused {
        /// The store's id.
        store: String,
        /// The call that was refused.
        operation: String,
        /// The HTTP status.
        status: u16,
        /// What the channel said.
        detail: String,
    },
    /// The channel answered with a redirect. No redirect is followed: the request would carry
    /// the store's credentials to whatever address the redirect names.
    #[error("store {store}: {operation} was answered with HTTP {status}, a redirect to {target}; orderport follows no redirect, since it would carry the credentials there: if that address is really the channel's, set the store's url to it")]
    Redirected {
        /// The store's id.
        store: String,
        /// The call that was redirected.
        operation: String,
        /// The HTTP status (301, 302, 303, 307, 308).
        status: u16,
        /// The host the redirect points to (never the whole URL, which may carry credentials).
        target: String,
    },
    /// A shipment update that was not sent: it is invalid, or the channel cannot take it.
    #[error("store {store}: shipment not sent: {reason}")]
    InvalidShipment {
        /// The store's id.
        store: String,
        /// What is wrong with the update.
        reason: crate::shipment::InvalidShipment,
    },
    /// The store's configuration cannot work.
    #[error("store {store}: configuration error in {field}: {detail}")]
    Configuration {
        /// The store's id.
        store: String,
        /// The setting at fault.
        field: String,
        /// What is wrong and how to fix it.
        detail: String,
    },
}

impl ChannelError {
    /// True for errors a caller may retry unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient { .. })
    }

    /// Builds a protocol error whose excerpt is the start of `body`, cut at [`EXCERPT_LIMIT`]
    /// bytes on a character boundary.
    pub fn protocol(store: &str, detail: impl Into<String>, body: &[u8]) -> Self {
        Self::Protocol {
            store: store.to_owned(),
            detail: detail.into(),
            excerpt: excerpt(body),
        }
    }
}

/// The start of a reply, lossily decoded and cut at [`EXCERPT_LIMIT`] bytes.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_LIMIT)]);
    let mut cut = text.into_owned();
    if body.len() > EXCERPT_LIMIT {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded() {
        let body = "é".repeat(1000);
        let e = excerpt(body.as_bytes());
        assert!(e.len() <= EXCERPT_LIMIT + '…'.len_utf8() + 3);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"short"), "short");
    }

    #[test]
    fn messages_name_the_store_and_say_what_to_do() {
        let err = ChannelError::Authentication {
            store: "spark-hq".into(),
            detail: "HTTP 401".into(),
        };
        let text = err.to_string();
        assert!(text.contains("spark-hq") && text.contains("check the username"));
        let err = ChannelError::RateLimited {
            store: "s".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert!(err.to_string().contains("7s"));
        assert!(err.is_retryable());
    }
}
