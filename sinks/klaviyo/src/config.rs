//! [`KlaviyoConfig`]: where to send, with which key, how fast and how persistently.

use std::time::Duration;

use orderport_http::{endpoint, EndpointLimit, HttpSettings};
use secrecy::SecretString;

use crate::error::KlaviyoError;
use crate::event::ExternalIdScope;

/// Klaviyo's production API base.
pub const DEFAULT_URL: &str = "https://a.klaviyo.com";

/// How long one request to Klaviyo may take unless `request_timeout_secs` says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Plain `http://` to a host that is not loopback is refused unless this is set.
    pub allow_insecure_http: bool,
    /// Timeouts, the reply size limit, and retries of 429, 503, 504, 524 and network errors.
    pub http: HttpSettings,
    /// Pacing per endpoint.
    pub limits: RateLimits,
    /// How a customer code becomes an `external_id`.
    pub external_id_scope: ExternalIdScope,
}

/// Keys a `[[sink]]` table of kind `klaviyo` may hold: its own, and the HTTP keys every
/// connector takes (`request_timeout_secs`, `max_response_bytes`, `retry_max_attempts`,
/// `retry_base_delay_ms`, `retry_max_delay_ms`; see [`orderport_http::settings`]).
/// `timeout_secs` and `max_attempts` are the older names of `request_timeout_secs` and
/// `retry_max_attempts`, still read.
pub const SINK_KEYS: &[&str] = &[
    "kind",
    "id",
    "name",
    "url",
    "api_key",
    "api_key_env",
    "allow_insecure_http",
    "external_id_scope",
    "request_timeout_secs",
    "max_response_bytes",
    "retry_max_attempts",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
    "timeout_secs",
    "max_attempts",
];

/// The older key names and the HTTP keys they stand for.
const ALIASES: [(&str, &str); 2] = [
    ("timeout_secs", "request_timeout_secs"),
    ("max_attempts", "retry_max_attempts"),
];

impl KlaviyoConfig {
    /// Defaults for everything but the key: production URL, the default retry policy, the
    /// published rate limits, a 30-second timeout, store-scoped external ids.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            url: DEFAULT_URL.to_owned(),
            api_key,
            allow_insecure_http: false,
            http: HttpSettings::default().with_request_timeout(DEFAULT_REQUEST_TIMEOUT),
            limits: RateLimits::default(),
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
    /// request_timeout_secs = 30          # optional (timeout_secs, the older name, too)
    /// retry_max_attempts = 5             # optional, the first included (or max_attempts)
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
        let setting =
            |e: orderport_core::settings::SettingError| KlaviyoError::config(&e.key, e.message);
        let text = |key: &str| -> Result<Option<String>, KlaviyoError> {
            orderport_core::settings::get_str(table, key)
                .map(|v| v.map(str::to_owned))
                .map_err(setting)
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
        config.allow_insecure_http =
            orderport_core::settings::get_bool(table, "allow_insecure_http")
                .map_err(setting)?
                .unwrap_or(false);
        if let Some(url) = text("url")? {
            config.url = url.trim().trim_end_matches('/').to_owned();
        }
        config.check_url()?;
        // The older key names stand for the HTTP keys.
        let mut http = table.clone();
        for (old, new) in ALIASES {
            if let Some(value) = http.remove(old) {
                if table.contains_key(new) {
                    return Err(KlaviyoError::config(
                        old,
                        format!("set {new} or its older name {old}, not both"),
                    ));
                }
                http.insert(new.to_owned(), value);
            }
        }
        config.http = HttpSettings::read(&http, config.http).map_err(|e| {
            let key = ALIASES
                .iter()
                .find(|(old, new)| *new == e.key && table.contains_key(*old))
                .map_or(e.key.as_str(), |(old, _)| old);
            KlaviyoError::config(key, e.message.clone())
        })?;
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

    /// Checks `url`: an http(s) URL, and not plain http to a host that is not loopback unless
    /// `allow_insecure_http` is set (the API key would cross the network unencrypted).
    pub fn check_url(&self) -> Result<(), KlaviyoError> {
        endpoint::parse(&self.url, self.allow_insecure_http)
            .map(|_| ())
            .map_err(|e| KlaviyoError::config("url", e.to_string()))
    }
}
