//! The store settings a Custom Store channel reads, with their defaults and limits.
//!
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `max_response_bytes` | 33554432 (32 MiB) | a larger reply is a protocol error |
//! | `request_timeout_secs` | 60 | one HTTP request, body included |
//! | `retry_max_attempts` | 5 | attempts per request, the first included; 1 disables retries |
//! | `retry_base_delay_ms` | 500 | the first backoff; later ones double, with jitter |
//! | `retry_max_delay_ms` | 60000 | the longest single wait; a longer `Retry-After` is not waited for |
//! | `max_orders_per_page` | 10000 | a page holding more `<Order>` elements is a protocol error |
//! | `default_weight_units` | `pounds` | the unit of a weight sent without `WeightUnits` |
//!
//! The HTTP keys are read by [`orderport_http::HttpSettings`], with the same ranges for every
//! channel. The store's zone (`timezone`) and status mapping are common store keys, read by
//! [`orderport_core::StoreProfile`].

use orderport_core::{ConfigError, StoreConfig, WeightUnit};
use orderport_http::HttpSettings;

/// Every setting key a Custom Store channel knows; any other is a configuration error.
pub const SETTINGS: &[&str] = &[
    "max_response_bytes",
    "request_timeout_secs",
    "retry_max_attempts",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
    "max_orders_per_page",
    "default_weight_units",
];

/// The default of `max_orders_per_page`: far above what any endpoint sends (100 to 500), and
/// low enough that a page of empty `<Order/>` elements, each a rejection with its reasons,
/// stays within a few tens of MiB.
pub const DEFAULT_MAX_ORDERS_PER_PAGE: u64 = 10_000;

/// A store's Custom Store settings, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomStoreSettings {
    /// Timeouts, the reply size limit and retries.
    pub http: HttpSettings,
    /// The most orders one page may hold.
    pub max_orders_per_page: usize,
    /// The unit of a weight sent without `WeightUnits`.
    pub default_weight_unit: WeightUnit,
}

impl Default for CustomStoreSettings {
    fn default() -> Self {
        Self {
            http: HttpSettings::default(),
            max_orders_per_page: DEFAULT_MAX_ORDERS_PER_PAGE as usize,
            default_weight_unit: WeightUnit::Pounds,
        }
    }
}

impl CustomStoreSettings {
    /// Reads and validates the settings; unknown keys are refused.
    pub fn from_config(config: &StoreConfig) -> Result<Self, ConfigError> {
        config.reject_unknown_settings(SETTINGS)?;
        let defaults = Self::default();
        Ok(Self {
            http: HttpSettings::from_store(config, defaults.http)?,
            max_orders_per_page: config.setting_ranged(
                "max_orders_per_page",
                1,
                1_000_000,
                DEFAULT_MAX_ORDERS_PER_PAGE,
            )? as usize,
            default_weight_unit: weight_unit(config)?,
        })
    }
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

    use std::time::Duration;

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
        assert_eq!(settings.http.max_response_bytes, 32 * 1024 * 1024);
        assert_eq!(settings.http.request_timeout, Duration::from_secs(60));
        assert_eq!(settings.max_orders_per_page, 10_000);
    }

    #[test]
    fn every_setting_is_read() {
        let settings = CustomStoreSettings::from_config(&config(
            "max_response_bytes = 2048\nrequest_timeout_secs = 5\nretry_max_attempts = 2\n\
             retry_base_delay_ms = 10\nretry_max_delay_ms = 20\ndefault_weight_units = \"oz\"\n\
             max_orders_per_page = 500",
        ))
        .unwrap();
        assert_eq!(settings.http.max_response_bytes, 2048);
        assert_eq!(settings.http.request_timeout, Duration::from_secs(5));
        assert_eq!(settings.http.retry.max_attempts, 2);
        assert_eq!(settings.http.retry.base_delay, Duration::from_millis(10));
        assert_eq!(settings.http.retry.max_delay, Duration::from_millis(20));
        assert_eq!(settings.max_orders_per_page, 500);
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
            ("max_orders_per_page = 0", "max_orders_per_page"),
        ] {
            let err = CustomStoreSettings::from_config(&config(extra)).unwrap_err();
            assert_eq!(err.field, field, "{extra}");
        }
    }
}
