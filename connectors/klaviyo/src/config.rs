//! [`KlaviyoConfig`]: where to send, with which key, how fast and how persistently.

use std::time::Duration;

use orderport_core::RetryPolicy;
use secrecy::SecretString;

use crate::error::KlaviyoError;
use crate::event::ExternalIdScope;

/// Klaviyo's production API base.
pub const DEFAULT_URL: &str = "https://a.klaviyo.com";

/// One endpoint's published rate limits (Klaviyo counts them per account, in fixed windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointLimit {
    /// Requests per second (the burst window).
    pub burst_per_second: u32,
    /// Requests per minute (the steady window).
    pub steady_per_minute: u32,
}

/// The rate limits the sink paces itself to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Create Event (`POST /api/events`): 350/s, 3,500/min (the spec's `x-klaviyo-ratelimit`).
    pub single: EndpointLimit,
    /// Bulk Create Events (`POST /api/event-bulk-create-jobs`): 10/s, 150/min.
    pub bulk: EndpointLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            single: EndpointLimit {
                burst_per_second: 350,
                steady_per_minute: 3500,
            },
            bulk: EndpointLimit {
                burst_per_second: 10,
                steady_per_minute: 150,
            },
        }
    }
}

/// The sink's settings. The API key is a [`SecretString`]: it never reaches `Debug` output,
/// logs or errors.
#[derive(Debug, Clone)]
pub struct KlaviyoConfig {
    /// The API base, [`DEFAULT_URL`] unless testing; no trailing slash.
    pub url: String,
    /// The private API key (scope `events:write`).
    pub api_key: SecretString,
    /// Retries of 429, 503, 504, 524 and network errors.
    pub retry: RetryPolicy,
    /// Pacing per endpoint.
    pub limits: RateLimits,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
    /// How a customer code becomes an `external_id`.
    pub external_id_scope: ExternalIdScope,
}

/// Keys a `[[sink]]` table of kind `klaviyo` may hold.
pub const SINK_KEYS: &[&str] = &[
    "kind",
    "id",
    "name",
    "url",
    "api_key",
    "api_key_env",
    "timeout_secs",
    "max_attempts",
    "external_id_scope",
];

impl KlaviyoConfig {
    /// Defaults for everything but the key: production URL, the default [`RetryPolicy`], the
    /// published rate limits, a 30-second timeout, store-scoped external ids.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            url: DEFAULT_URL.to_owned(),
            api_key,
            retry: RetryPolicy::default(),
            limits: RateLimits::default(),
            timeout: Duration::from_secs(30),
            external_id_scope: ExternalIdScope::default(),
        }
    }

    /// Reads a `[[sink]]` table, taking `api_key_env` from the process environment.
    ///
    /// ```toml
    /// [[sink]]
    /// kind = "klaviyo"
    /// url = "https://a.klaviyo.com"      # optional
    /// api_key_env = "KLAVIYO_API_KEY"    # or api_key = "pk_…" inline
    /// timeout_secs = 30                  # optional
    /// max_attempts = 5                   # optional, the first included
    /// external_id_scope = "store"        # or "global"; optional
    /// ```
    pub fn from_table(table: &toml::Table) -> Result<Self, KlaviyoError> {
        Self::from_table_with_env(table, &|name| std::env::var(name).ok())
    }

    /// [`from_table`](Self::from_table), looking `api_key_env` up with `env`.
    pub fn from_table_with_env(
        table: &toml::Table,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, KlaviyoError> {
        if let Some(unknown) = table.keys().find(|k| !SINK_KEYS.contains(&k.as_str())) {
            return Err(KlaviyoError::config(
                unknown,
                format!(
                    "unknown setting for a klaviyo sink; known: {}",
                    SINK_KEYS.join(", ")
                ),
            ));
        }
        match table.get("kind").map(|k| k.as_str()) {
            Some(Some("klaviyo")) => {}
            Some(_) => {
                return Err(KlaviyoError::config(
                    "kind",
                    "this table is not a klaviyo sink; expected kind = \"klaviyo\"",
                ))
            }
            None => {
                return Err(KlaviyoError::config(
                    "kind",
                    "missing; set kind = \"klaviyo\"",
                ))
            }
        }
        let text = |key: &str| -> Result<Option<String>, KlaviyoError> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(KlaviyoError::config(key, "must be a string")),
            }
        };
        let api_key = match (text("api_key")?, text("api_key_env")?) {
            (Some(_), Some(_)) => {
                return Err(KlaviyoError::config(
                    "api_key",
                    "set api_key or api_key_env, not both",
                ))
            }
            (Some(key), None) => key,
            (None, Some(var)) => env(&var).ok_or_else(|| {
                KlaviyoError::config(
                    "api_key_env",
                    format!("the environment variable {var} is not set"),
                )
            })?,
            (None, None) => {
                return Err(KlaviyoError::config(
                    "api_key",
                    "missing; set api_key_env to the variable holding the private API key",
                ))
            }
        };
        if api_key.trim().is_empty() {
            return Err(KlaviyoError::config("api_key", "is empty"));
        }
        let mut config = Self::new(SecretString::from(api_key.trim().to_owned()));
        if let Some(url) = text("url")? {
            let url = url.trim().trim_end_matches('/').to_owned();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(KlaviyoError::config(
                    "url",
                    format!("{url:?} is not an http(s) URL; use https://a.klaviyo.com"),
                ));
            }
            config.url = url;
        }
        let positive = |key: &str| -> Result<Option<u64>, KlaviyoError> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::Integer(n)) if *n > 0 => Ok(Some(*n as u64)),
                Some(_) => Err(KlaviyoError::config(key, "must be a positive integer")),
            }
        };
        if let Some(secs) = positive("timeout_secs")? {
            config.timeout = Duration::from_secs(secs);
        }
        if let Some(n) = positive("max_attempts")? {
            config.retry.max_attempts = u32::try_from(n).unwrap_or(u32::MAX);
        }
        match text("external_id_scope")?.as_deref() {
            None | Some("store") => {}
            Some("global") => config.external_id_scope = ExternalIdScope::Global,
            Some(other) => {
                return Err(KlaviyoError::config(
                    "external_id_scope",
                    format!("{other:?}: expected \"store\" or \"global\""),
                ))
            }
        }
        Ok(config)
    }
}
