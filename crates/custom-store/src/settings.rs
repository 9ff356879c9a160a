//! The store settings a Custom Store channel reads, with their defaults and limits.
//!
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `max_response_bytes` | 33554432 (32 MiB) | a larger reply is a protocol error |
//! | `request_timeout_secs` | 60 | one HTTP request, body included |
//! | `retry_max_attempts` | 5 | attempts per request, the first included; 1 disables retries |
//! | `retry_base_delay_ms` | 500 | the first backoff; later ones double, with jitter |
//! | `retry_max_delay_ms` | 60000 | the longest single wait, `Retry-After` included |
//! | `default_weight_units` | `pounds` | the unit of a weight sent without `WeightUnits` |
//!
//! The store's zone (`timezone`) and status mapping are common store keys, read by
//! [`orderport_core::StoreProfile`].

use std::time::Duration;

use orderport_core::{ConfigError, RetryPolicy, StoreConfig, WeightUnit};

/// Every setting key a Custom Store channel knows; any other is a configuration error.
pub const SETTINGS: &[&str] = &[
    "max_response_bytes",
    "request_timeout_secs",
    "retry_max_attempts",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
    "default_weight_units",
];

/// The default reply size limit: 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// The default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A store's Custom Store settings, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomStoreSettings {
    /// The largest reply read, in bytes.
    pub max_response_bytes: u64,
    /// The timeout of one HTTP request.
    pub request_timeout: Duration,
    /// How requests are retried.
    pub retry: RetryPolicy,
    /// The unit of a weight sent without `WeightUnits`.
    pub default_weight_unit: WeightUnit,
}

impl Default for CustomStoreSettings {
    fn default() -> Self {
        Self {
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            default_weight_unit: WeightUnit::Pounds,
        }
    }
}

impl CustomStoreSettings {
    /// Reads and validates the settings; unknown keys are refused.
    pub fn from_config(config: &StoreConfig) -> Result<Self, ConfigError> {
        config.reject_unknown_settings(SETTINGS)?;
        let defaults = Self::default();
        let ranged = |key: &str, min: u64, max: u64, default: u64| -> Result<u64, ConfigError> {
            let value = config.setting_u64(key)?.unwrap_or(default);
            if (min..=max).contains(&value) {
                Ok(value)
            } else {
                Err(ConfigError::store(
                    &config.id,
                    key,
                    format!("{value} is out of range; use a value from {min} to {max}"),
                ))
            }
        };
        let max_response_bytes = ranged(
            "max_response_bytes",
            1,
            u64::MAX,
            defaults.max_response_bytes,
        )?;
        let timeout = ranged("request_timeout_secs", 1, 3600, 60)?;
        let attempts = ranged(
            "retry_max_attempts",
            1,
            20,
            u64::from(defaults.retry.max_attempts),
        )?;
        let base = ranged(
            "retry_base_delay_ms",
            0,
            3_600_000,
            millis(defaults.retry.base_delay),
        )?;
        let max = ranged(
            "retry_max_delay_ms",
            0,
            3_600_000,
            millis(defaults.retry.max_delay),
        )?;
        if base > max {
            return Err(ConfigError::store(
                &config.id,
                "retry_base_delay_ms",
                format!(
                    "{base} is above retry_max_delay_ms ({max}); lower it or raise the maximum"
                ),
            ));
        }
        Ok(Self {
            max_response_bytes,
            request_timeout: Duration::from_secs(timeout),
            retry: RetryPolicy {
                max_attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                base_delay: Duration::from_millis(base),
                max_delay: Duration::from_millis(max),
            },
            default_weight_unit: weight_unit(config)?,
        })
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn weight_unit(config: &StoreConfig) -> Result<WeightUnit, ConfigError> {
    match config.setting_str("default_weight_units")? {
        None => Ok(WeightUnit::Pounds),
        Some(text) => WeightUnit::parse_lenient(text).ok_or_else(|| {
            ConfigError::store(
                &config.id,
                "default_weight_units",
                format!("{text:?} is not a weight unit; use pounds, ounces, grams or kilograms"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use orderport_core::StoresFile;

    use super::*;

    fn config(extra: &str) -> StoreConfig {
        let text = format!(
            "[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"c\"\nurl = \"http://x\"\n{extra}"
        );
        StoresFile::parse(&text, &|_| None)
            .unwrap()
            .stores
            .remove(0)
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = CustomStoreSettings::from_config(&config("")).unwrap();
        assert_eq!(settings, CustomStoreSettings::default());
        assert_eq!(settings.max_response_bytes, 32 * 1024 * 1024);
        assert_eq!(settings.request_timeout, Duration::from_secs(60));
    }

    #[test]
    fn every_setting_is_read() {
        let settings = CustomStoreSettings::from_config(&config(
            "max_response_bytes = 2048\nrequest_timeout_secs = 5\nretry_max_attempts = 2\n\
             retry_base_delay_ms = 10\nretry_max_delay_ms = 20\ndefault_weight_units = \"oz\"",
        ))
        .unwrap();
        assert_eq!(settings.max_response_bytes, 2048);
        assert_eq!(settings.request_timeout, Duration::from_secs(5));
        assert_eq!(settings.retry.max_attempts, 2);
        assert_eq!(settings.retry.base_delay, Duration::from_millis(10));
        assert_eq!(settings.retry.max_delay, Duration::from_millis(20));
        assert_eq!(settings.default_weight_unit, WeightUnit::Ounces);
    }

    #[test]
    fn unknown_and_bad_settings_are_refused_by_name() {
        let err = CustomStoreSettings::from_config(&config("retry_max_atempts = 2")).unwrap_err();
        assert_eq!(err.field, "retry_max_atempts");
        assert!(
            err.message.contains("retry_max_attempts"),
            "{}",
            err.message
        );
        for (extra, field) in [
            ("retry_max_attempts = 0", "retry_max_attempts"),
            ("request_timeout_secs = \"60\"", "request_timeout_secs"),
            ("max_response_bytes = 0", "max_response_bytes"),
            (
                "retry_base_delay_ms = 50\nretry_max_delay_ms = 10",
                "retry_base_delay_ms",
            ),
            ("default_weight_units = \"stone\"", "default_weight_units"),
        ] {
            let err = CustomStoreSettings::from_config(&config(extra)).unwrap_err();
            assert_eq!(err.field, field, "{extra}");
        }
    }
}
