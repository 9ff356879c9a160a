//! Store configuration, loaded from TOML. The CLI and the library read the same file.
//!
//! ```toml
//! [[store]]
//! id = "spark-hq"                 # unique
//! name = "Spark HQ"               # shown to people, carried on orders and events
//! channel = "spark-shipping"      # spark-shipping | listing-mirror | order-time | ...
//! url = "https://spark.example/shipstation"
//! username = "ss-vendor"
//! password_env = "SPARK_PW"       # each secret (password, api_key, dev_key) inline or as <name>_env
//! timezone = "America/Chicago"    # the store server's IANA zone; default UTC
//! unmapped_status = "reject"      # or a canonical status to use instead
//! status_match = "case_sensitive" # or "case_insensitive"
//! allow_insecure_http = false     # plain http:// to a non-loopback host is refused unless true
//! max_pages_per_window = 10000    # a walk of one window that needs more pages fails
//! pages_ahead = 4                 # pages fetched ahead where the channel names them; 0 = none
//! [store.status_map]              # canonical status -> the channel's raw strings
//! awaiting_payment = ["unpaid"]
//! awaiting_shipment = ["paid"]
//! [store.secrets]                 # a connector's own secret names, each inline or <name>_env
//! consumer_key_env = "WOO_KEY"
//! consumer_secret_env = "WOO_SECRET"
//! ```
//!
//! Keys not listed here stay in [`StoreConfig::settings`] for the connector to read; a connector
//! rejects keys it does not know.
//!
//! # Secrets
//!
//! Every secret is held as a [`SecretString`] in [`StoreConfig::secrets`], never in
//! [`StoreConfig::settings`] (which is plain TOML and may be printed), and never reaches `Debug`
//! output. Two kinds:
//!
//! - the three fixed names, [`SECRET_NAMES`] (`password`, `api_key`, `dev_key`), at the store's
//!   top level, in [`Secrets::password`], [`Secrets::api_key`] and [`Secrets::dev_key`];
//! - **named secrets**: any other name a connector declares (WooCommerce's `consumer_key` and
//!   `consumer_secret`), in the `[store.secrets]` sub-table, in [`Secrets::named`]. A sub-table
//!   rather than top-level keys because the file is read before any connector is known: only
//!   there can a value be known to be a secret, so that it never lands in `settings`.
//!
//! Either kind is set inline (`name = "…"`) or from an environment variable
//! (`name_env = "VAR"`), not both. A connector reads them by name with
//! [`StoreConfig::secret`] or [`StoreConfig::required_secret`], and refuses names it does not
//! know with [`StoreConfig::reject_unknown_secrets`].

use std::collections::BTreeMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::status::{
    CanonicalStatus, DefaultStatusMap, StatusMapping, StatusMatch, UnmappedPolicy,
};
use crate::store_time::StoreZone;

/// A configuration that cannot be used. It names the store and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{field}: {message}", store.as_ref().map(|s| format!("store {s}: ")).unwrap_or_default())]
#[non_exhaustive]
pub struct ConfigError {
    /// The store's id, where the error belongs to one.
    pub store: Option<String>,
    /// The setting at fault.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl ConfigError {
    /// An error in one store's settings.
    pub fn store(store: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            store: Some(store.to_owned()),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The secret names a store may carry, each inline or as `<name>_env`.
pub const SECRET_NAMES: [&str; 3] = ["password", "api_key", "dev_key"];

/// The sub-table of a store that holds its named secrets.
pub const NAMED_SECRETS_TABLE: &str = "secrets";

/// A store's credentials. Debug output shows `[REDACTED]` (and the names of named secrets),
/// never the values.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// The password.
    pub password: Option<SecretString>,
    /// An API key.
    pub api_key: Option<SecretString>,
    /// A developer key.
    pub dev_key: Option<SecretString>,
    /// The connector's own secrets from `[store.secrets]`, by name (`consumer_key`).
    pub named: BTreeMap<String, SecretString>,
}

impl Secrets {
    /// The secret called `name`: one of the fixed three, or a named one.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        match name {
            "password" => self.password.as_ref(),
            "api_key" => self.api_key.as_ref(),
            "dev_key" => self.dev_key.as_ref(),
            _ => self.named.get(name),
        }
    }

    /// Every secret the store configured, fixed and named, with its name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        let fixed = [
            ("password", &self.password),
            ("api_key", &self.api_key),
            ("dev_key", &self.dev_key),
        ];
        fixed
            .into_iter()
            .filter_map(|(name, secret)| secret.as_ref().map(|s| (name, s)))
            .chain(self.named.iter().map(|(name, s)| (name.as_str(), s)))
    }

    /// The configuration field a secret is set in: `password` for a fixed one,
    /// `secrets.consumer_key` for a named one.
    pub fn field(name: &str) -> String {
        if SECRET_NAMES.contains(&name) {
            name.to_owned()
        } else {
            format!("{NAMED_SECRETS_TABLE}.{name}")
        }
    }
}

/// One store, validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreConfig {
    /// Unique id.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// The channel id, such as `spark-shipping`.
    pub channel: String,
    /// The endpoint or API base.
    pub url: String,
    /// The user name, where the channel uses one.
    pub username: Option<String>,
    /// The credentials.
    pub secrets: Secrets,
    /// The store server's time zone.
    pub timezone: StoreZone,
    /// What to do with a raw status in no list.
    pub unmapped_status: UnmappedPolicy,
    /// How raw statuses are compared.
    pub status_match: StatusMatch,
    /// The store's own mapping, replacing the connector's default when present.
    pub status_map: Option<BTreeMap<CanonicalStatus, Vec<String>>>,
    /// Whether plain `http://` may carry this store's credentials to a host that is not
    /// loopback (`allow_insecure_http = true`). Off by default: such a URL is refused when the
    /// channel is built.
    pub allow_insecure_http: bool,
    /// The most pages one window's walk may take (`max_pages_per_window`, default
    /// [`DEFAULT_MAX_PAGES_PER_WINDOW`]); a walk that needs more fails with a clear error
    /// instead of running forever on a server that never stops paging.
    pub max_pages_per_window: u32,
    /// How many pages a walk fetches ahead while the current one is handled, where the channel
    /// names the pages to come (`pages_ahead`, 0 to [`MAX_AHEAD`](crate::MAX_AHEAD), default
    /// [`DEFAULT_PAGES_AHEAD`]; see [`walk_pages`](crate::walk_pages)). 0 fetches one page at
    /// a time, for a server that must not see concurrent requests.
    pub pages_ahead: u32,
    /// Connector-specific settings.
    pub settings: toml::Table,
}

/// The default of [`StoreConfig::max_pages_per_window`].
pub const DEFAULT_MAX_PAGES_PER_WINDOW: u32 = 10_000;

/// The default of [`StoreConfig::pages_ahead`]: enough to keep the wire and two cores busy
/// (docs/performance.md) while a store server sees at most this many requests at once.
pub const DEFAULT_PAGES_AHEAD: u32 = 4;

impl StoreConfig {
    /// The store's status mapping: its own `status_map`, or else the connector's default.
    pub fn status_mapping(&self, defaults: DefaultStatusMap) -> Result<StatusMapping, ConfigError> {
        let result = match &self.status_map {
            Some(map) => StatusMapping::new(
                map.iter()
                    .map(|(status, raws)| (*status, raws.iter().map(String::as_str))),
                self.status_match,
                self.unmapped_status,
            ),
            None => StatusMapping::new(
                defaults
                    .iter()
                    .map(|(status, raws)| (*status, raws.iter().copied())),
                self.status_match,
                self.unmapped_status,
            ),
        };
        result.map_err(|e| ConfigError::store(&self.id, "status_map", e.to_string()))
    }

    /// The `username`, trimmed, or an error on the `username` field saying `hint` (how to fill it)
    /// when it is missing or blank.
    pub fn required_username(&self, hint: &str) -> Result<&str, ConfigError> {
        self.username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ConfigError::store(&self.id, "username", hint))
    }

    /// The secret called `name` (fixed or named), when set.
    pub fn secret(&self, name: &str) -> Option<&SecretString> {
        self.secrets.get(name)
    }

    /// The secret called `name` (one of the fixed three, or a named secret of
    /// `[store.secrets]`), or an error on its field saying `hint` (how to set it) when it is
    /// missing or blank.
    ///
    /// ```
    /// use orderport_core::StoresFile;
    ///
    /// let file = StoresFile::parse(
    ///     "[[store]]\nid = \"woo\"\nname = \"Woo\"\nchannel = \"woo\"\nurl = \"https://w.example\"\n\
    ///      [store.secrets]\nconsumer_key_env = \"WOO_KEY\"\n",
    ///     &|var| (var == "WOO_KEY").then(|| "ck_not_printed".to_owned()),
    /// )?;
    /// let store = file.store("woo")?;
    /// assert!(store.required_secret("consumer_key", "set consumer_key_env").is_ok());
    /// let missing = store.required_secret("consumer_secret", "set consumer_secret_env in [store.secrets]");
    /// assert_eq!(missing.unwrap_err().field, "secrets.consumer_secret");
    /// assert!(!format!("{store:?}").contains("ck_not_printed"));
    /// # Ok::<(), orderport_core::ConfigError>(())
    /// ```
    pub fn required_secret(&self, name: &str, hint: &str) -> Result<SecretString, ConfigError> {
        self.secret(name)
            .filter(|s| !s.expose_secret().trim().is_empty())
            .cloned()
            .ok_or_else(|| {
                ConfigError::store(
                    &self.id,
                    Secrets::field(name),
                    format!("required, and missing or empty; {hint}"),
                )
            })
    }

    /// Fails on a named secret (`[store.secrets]`) the connector does not use, so that a typo
    /// does not leave a credential unread.
    pub fn reject_unknown_secrets(&self, known: &[&str]) -> Result<(), ConfigError> {
        match self
            .secrets
            .named
            .keys()
            .find(|k| !known.contains(&k.as_str()))
        {
            None => Ok(()),
            Some(name) => Err(ConfigError::store(
                &self.id,
                Secrets::field(name),
                format!(
                    "unknown secret for channel {}; known secrets: {}",
                    self.channel,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            )),
        }
    }

    /// A connector-specific string setting.
    pub fn setting_str(&self, key: &str) -> Result<Option<&str>, ConfigError> {
        crate::settings::get_str(&self.settings, key).map_err(|e| self.setting_error(e))
    }

    /// A connector-specific integer setting.
    pub fn setting_u64(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        crate::settings::get_u64(&self.settings, key).map_err(|e| self.setting_error(e))
    }

    /// A connector-specific boolean setting.
    pub fn setting_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        crate::settings::get_bool(&self.settings, key).map_err(|e| self.setting_error(e))
    }

    /// A connector-specific integer setting in `min..=max`, `default` when absent.
    pub fn setting_ranged(
        &self,
        key: &str,
        min: u64,
        max: u64,
        default: u64,
    ) -> Result<u64, ConfigError> {
        crate::settings::ranged(&self.settings, key, min, max, default)
            .map_err(|e| self.setting_error(e))
    }

    /// A [`SettingError`](crate::settings::SettingError) on one of this store's keys.
    pub fn setting_error(&self, error: crate::settings::SettingError) -> ConfigError {
        ConfigError::store(&self.id, error.key, error.message)
    }

    /// Fails on a setting the connector does not know, so that typos do not pass silently.
    pub fn reject_unknown_settings(&self, known: &[&str]) -> Result<(), ConfigError> {
        match self.settings.keys().find(|k| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) => Err(ConfigError::store(
                &self.id,
                key.as_str(),
                format!(
                    "unknown setting for channel {}; known settings: {}",
                    self.channel,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            )),
        }
    }
}

/// A whole configuration file: its stores, and the raw `[[sink]]` tables for the event layer.
#[derive(Debug, Clone, Default)]
pub struct StoresFile {
    /// The stores, in file order.
    pub stores: Vec<StoreConfig>,
    /// `[[sink]]` tables, read by the event layer.
    pub sinks: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    store: Vec<toml::Table>,
    #[serde(default)]
    sink: Vec<toml::Table>,
}

#[derive(Deserialize)]
struct RawStore {
    id: String,
    name: String,
    channel: String,
    url: String,
    username: Option<String>,
    timezone: Option<String>,
    unmapped_status: Option<String>,
    status_match: Option<StatusMatch>,
    status_map: Option<BTreeMap<String, Vec<String>>>,
    allow_insecure_http: Option<bool>,
    max_pages_per_window: Option<i64>,
    pages_ahead: Option<i64>,
    #[serde(flatten)]
    rest: toml::Table,
}

impl StoresFile {
    /// Reads a file, taking `<name>_env` secrets from the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            store: None,
            field: path.display().to_string(),
            message: format!("cannot read the configuration file: {e}"),
        })?;
        Self::parse(&text, &|name| std::env::var(name).ok())
    }

    /// Parses a configuration, looking `<name>_env` variables up with `env`.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError {
            store: None,
            field: "file".into(),
            message: format!("not a valid stores file: {e}"),
        })?;
        let mut stores: Vec<StoreConfig> = Vec::with_capacity(raw.store.len());
        for (index, table) in raw.store.into_iter().enumerate() {
            let store = parse_store(index, table, env)?;
            if stores.iter().any(|s| s.id == store.id) {
                return Err(ConfigError::store(
                    &store.id,
                    "id",
                    "two stores share this id; ids must be unique",
                ));
            }
            stores.push(store);
        }
        Ok(Self {
            stores,
            sinks: raw.sink,
        })
    }

    /// The store with this id.
    pub fn store(&self, id: &str) -> Result<&StoreConfig, ConfigError> {
        self.stores
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| ConfigError {
                store: Some(id.to_owned()),
                field: "id".into(),
                message: format!(
                    "no store has this id; the file has: {}",
                    self.stores
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }
}

fn parse_store(
    index: usize,
    table: toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StoreConfig, ConfigError> {
    let label = table
        .get("id")
        .and_then(|v| v.as_str())
        .map_or_else(|| format!("#{}", index + 1), str::to_owned);
    let raw: RawStore = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| {
            ConfigError::store(&label, "store", e.message().to_owned())
        })?;
    let id = raw.id.trim().to_owned();
    if id.is_empty() {
        return Err(ConfigError::store(&label, "id", "must not be empty"));
    }
    let timezone = match raw.timezone.as_deref() {
        None => StoreZone::UTC,
        Some(name) => StoreZone::parse(name)
            .map_err(|e| ConfigError::store(&id, "timezone", e.to_string()))?,
    };
    let unmapped_status = match raw.unmapped_status.as_deref() {
        None | Some("reject") => UnmappedPolicy::Reject,
        Some(name) => {
            UnmappedPolicy::Use(name.parse().map_err(|e: crate::status::UnknownStatus| {
                ConfigError::store(&id, "unmapped_status", format!("{e}, or \"reject\""))
            })?)
        }
    };
    let status_map = raw
        .status_map
        .map(|map| parse_status_map(&id, map))
        .transpose()?;
    let max_pages_per_window = match raw.max_pages_per_window {
        None => DEFAULT_MAX_PAGES_PER_WINDOW,
        Some(n) => u32::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
            ConfigError::store(
                &id,
                "max_pages_per_window",
                format!(
                    "{n} is out of range; use 1 to {} (default {DEFAULT_MAX_PAGES_PER_WINDOW})",
                    u32::MAX
                ),
            )
        })?,
    };
    let pages_ahead = match raw.pages_ahead {
        None => DEFAULT_PAGES_AHEAD,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| usize::try_from(*n).is_ok_and(|n| n <= crate::MAX_AHEAD))
            .ok_or_else(|| {
                ConfigError::store(
                    &id,
                    "pages_ahead",
                    format!(
                        "{n} is out of range; use 0 (one page at a time) to {} (default {DEFAULT_PAGES_AHEAD})",
                        crate::MAX_AHEAD
                    ),
                )
            })?,
    };
    let mut rest = raw.rest;
    let secrets = take_secrets(&id, &mut rest, env)?;
    let config = StoreConfig {
        id,
        name: raw.name,
        channel: raw.channel,
        url: raw.url,
        username: raw.username,
        secrets,
        timezone,
        unmapped_status,
        status_match: raw.status_match.unwrap_or_default(),
        status_map,
        allow_insecure_http: raw.allow_insecure_http.unwrap_or(false),
        max_pages_per_window,
        pages_ahead,
        settings: rest,
    };
    // Check duplicates now so that a bad mapping fails at load, not at the first order.
    if config.status_map.is_some() {
        config.status_mapping(&[])?;
    }
    Ok(config)
}

fn parse_status_map(
    id: &str,
    map: BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<CanonicalStatus, Vec<String>>, ConfigError> {
    map.into_iter()
        .map(|(key, raws)| {
            let status = key.parse().map_err(|e: crate::status::UnknownStatus| {
                ConfigError::store(id, format!("status_map.{key}"), e.to_string())
            })?;
            Ok((status, raws))
        })
        .collect()
}

fn take_secrets(
    id: &str,
    rest: &mut toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secrets, ConfigError> {
    let mut secrets = Secrets::default();
    for name in SECRET_NAMES {
        let slot = match name {
            "password" => &mut secrets.password,
            "api_key" => &mut secrets.api_key,
            _ => &mut secrets.dev_key,
        };
        *slot = take_secret(id, "", name, rest, env)?;
    }
    let mut named =
        match rest.remove(NAMED_SECRETS_TABLE) {
            None => toml::Table::new(),
            Some(toml::Value::Table(table)) => table,
            Some(_) => return Err(ConfigError::store(
                id,
                NAMED_SECRETS_TABLE,
                "expected a table: [store.secrets], with name = \"…\" or name_env = \"VAR\" lines",
            )),
        };
    let names: std::collections::BTreeSet<String> = named
        .keys()
        .map(|k| k.strip_suffix("_env").unwrap_or(k).to_owned())
        .collect();
    for name in names {
        let prefix = format!("{NAMED_SECRETS_TABLE}.");
        if SECRET_NAMES.contains(&name.as_str()) {
            return Err(ConfigError::store(
                id,
                format!("{prefix}{name}"),
                format!("{name} is a store key: set it (or {name}_env) at the store's top level, not in [store.secrets]"),
            ));
        }
        if !is_secret_name(&name) {
            return Err(ConfigError::store(
                id,
                format!("{prefix}{name}"),
                "a secret name is lower-case letters, digits and underscores, starting with a letter",
            ));
        }
        if let Some(value) = take_secret(id, &prefix, &name, &mut named, env)? {
            secrets.named.insert(name, value);
        }
    }
    Ok(secrets)
}

/// `[a-z][a-z0-9_]*`.
fn is_secret_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Takes `name` or `name_env` out of `table`; `prefix` places the field in errors
/// (`secrets.`).
fn take_secret(
    id: &str,
    prefix: &str,
    name: &str,
    table: &mut toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    let env_key = format!("{name}_env");
    let inline = table.remove(name);
    let variable = table.remove(&env_key);
    match (inline, variable) {
        (Some(_), Some(_)) => Err(ConfigError::store(
            id,
            format!("{prefix}{name}"),
            format!("set either {name} or {env_key}, not both"),
        )),
        (Some(toml::Value::String(value)), None) => Ok(Some(SecretString::from(value))),
        (None, Some(toml::Value::String(var))) => match env(&var) {
            Some(value) if !value.is_empty() => Ok(Some(SecretString::from(value))),
            _ => Err(ConfigError::store(
                id,
                format!("{prefix}{env_key}"),
                format!("environment variable {var} is not set; export it or set {name} inline"),
            )),
        },
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => Err(ConfigError::store(
            id,
            format!("{prefix}{name}"),
            "expected a string",
        )),
    }
}

#[cfg(test)]
mod tests;
