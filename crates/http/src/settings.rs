//! [`HttpSettings`]: timeouts, the reply size limit and retries, read from a store's (or a
//! sink's) settings by one parser, with one set of ranges.
//!
//! | key | range | default | meaning |
//! |---|---|---|---|
//! | `request_timeout_secs` | 1 – 3600 | per channel (60) | one HTTP request, body included |
//! | `max_response_bytes` | 1024 – 1 GiB | 32 MiB | a larger reply is a protocol error |
//! | `retry_max_attempts` | 1 – 20 | 5 | attempts per request, the first included |
//! | `retry_base_delay_ms` | 0 – 600000 | 500 | the first backoff; later ones double, jittered |
//! | `retry_max_delay_ms` | 0 – 3600000 | 60000 | the longest wait; a longer Retry-After is not waited for |

use std::time::Duration;

use orderport_core::settings::{ranged, SettingError};
use orderport_core::{ConfigError, RetryPolicy, StoreConfig};

/// Every key [`HttpSettings::read`] knows.
pub const SETTINGS: &[&str] = &[
    "request_timeout_secs",
    "max_response_bytes",
    "retry_max_attempts",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
];

/// The default reply size limit: 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// The largest `max_response_bytes` a store may set: 1 GiB.
pub const MAX_RESPONSE_BYTES_LIMIT: u64 = 1024 * 1024 * 1024;

/// How a service's requests are timed, bounded and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    /// The timeout of one request, body included.
    pub request_timeout: Duration,
    /// The largest reply body read, in bytes.
    pub max_response_bytes: u64,
    /// How requests are retried (see [`crate::Idempotency`] for which).
    pub retry: RetryPolicy,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retry: RetryPolicy::default(),
        }
    }
}

impl HttpSettings {
    /// These settings with another request timeout (a channel's own default).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Reads the [`SETTINGS`] keys of `table`, `defaults` for those absent, and checks them.
    pub fn read(table: &toml::Table, defaults: Self) -> Result<Self, SettingError> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let timeout = ranged(
            table,
            "request_timeout_secs",
            1,
            3600,
            defaults.request_timeout.as_secs().clamp(1, 3600),
        )?;
        let max_response_bytes = ranged(
            table,
            "max_response_bytes",
            1024,
            MAX_RESPONSE_BYTES_LIMIT,
            defaults.max_response_bytes,
        )?;
        let attempts = ranged(
            table,
            "retry_max_attempts",
            1,
            20,
            u64::from(defaults.retry.max_attempts),
        )?;
        let base = ranged(
            table,
            "retry_base_delay_ms",
            0,
            600_000,
            millis(defaults.retry.base_delay),
        )?;
        let max = ranged(
            table,
            "retry_max_delay_ms",
            0,
            3_600_000,
            millis(defaults.retry.max_delay),
        )?;
        if base > max {
            return Err(SettingError::new(
                "retry_base_delay_ms",
                format!(
                    "{base} is above retry_max_delay_ms ({max}); lower it or raise the maximum"
                ),
            ));
        }
        Ok(Self {
            request_timeout: Duration::from_secs(timeout),
            max_response_bytes,
            retry: RetryPolicy {
                max_attempts: u32::try_from(attempts).unwrap_or(20),
                base_delay: Duration::from_millis(base),
                max_delay: Duration::from_millis(max),
            },
        })
    }

    /// [`read`](Self::read) over a store's connector settings, naming the store in errors.
    pub fn from_store(config: &StoreConfig, defaults: Self) -> Result<Self, ConfigError> {
        Self::read(&config.settings, defaults).map_err(|e| config.setting_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_apply_and_every_key_is_read() {
        let d = HttpSettings::default().with_request_timeout(Duration::from_secs(30));
        assert_eq!(HttpSettings::read(&table(""), d), Ok(d));
        let s = HttpSettings::read(
            &table(
                "request_timeout_secs = 5\nmax_response_bytes = 2048\nretry_max_attempts = 2\n\
                 retry_base_delay_ms = 10\nretry_max_delay_ms = 20",
            ),
            d,
        )
        .unwrap();
        assert_eq!(s.request_timeout, Duration::from_secs(5));
        assert_eq!(s.max_response_bytes, 2048);
        assert_eq!(s.retry.max_attempts, 2);
        assert_eq!(s.retry.base_delay, Duration::from_millis(10));
        assert_eq!(s.retry.max_delay, Duration::from_millis(20));
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        for (text, key) in [
            ("retry_max_attempts = 0", "retry_max_attempts"),
            ("retry_max_attempts = 21", "retry_max_attempts"),
            ("request_timeout_secs = 0", "request_timeout_secs"),
            ("request_timeout_secs = \"60\"", "request_timeout_secs"),
            ("max_response_bytes = 0", "max_response_bytes"),
            ("max_response_bytes = 99999999999", "max_response_bytes"),
            (
                "retry_base_delay_ms = 50\nretry_max_delay_ms = 10",
                "retry_base_delay_ms",
            ),
        ] {
            let err = HttpSettings::read(&table(text), HttpSettings::default()).unwrap_err();
            assert_eq!(err.key, key, "{text}");
        }
    }
}
