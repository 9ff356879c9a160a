//! Per-store sync settings, read from (and removed from) a store's connector `settings` (the
//! store table's keys beyond the common ones, such as `sync_overlap = "10m"` beside `url`).
//!
//! Connectors reject settings they do not know (`StoreConfig::reject_unknown_settings`), so the
//! sync settings must be taken out of a store's configuration before it is handed to
//! `orderport::connect`. [`split_sync_settings`] does that and also fingerprints the parts of the
//! configuration that decide whether an order is accepted (see [`config_fingerprint`]).

use chrono::Duration;
use orderport_core::{ChannelSpec, StoreConfig};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::SyncError;

/// The store settings this crate reads; all are duration strings such as `"30s"`, `"10m"`,
/// `"2h"`, `"90d"` or `"1h30m"`.
pub const SYNC_SETTINGS: [&str; 6] = [
    "sync_overlap",
    "sync_lag",
    "sync_history",
    "sync_slice",
    "sync_interval",
    "sync_jitter",
];

/// The sync settings a store's configuration overrides; `None` keeps the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOverrides {
    /// `sync_overlap`: how far before the watermark each run starts.
    pub overlap: Option<Duration>,
    /// `sync_lag`: how far behind now each run stops.
    pub lag: Option<Duration>,
    /// `sync_history`: how much history the first run backfills.
    pub history: Option<Duration>,
    /// `sync_slice`: the size of each window fetched.
    pub slice: Option<Duration>,
    /// `sync_interval`: the time between scheduled runs.
    pub interval: Option<Duration>,
    /// `sync_jitter`: the most random delay added to each scheduled run.
    pub jitter: Option<Duration>,
}

/// Everything the engine needs to know about a store besides its channel: its resolved
/// settings and its configuration fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreSync {
    /// The resolved settings.
    pub settings: SyncSettings,
    /// The fingerprint of the configuration that decides acceptance ([`config_fingerprint`]).
    pub fingerprint: String,
}

/// A store's sync settings, resolved against its channel's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncSettings {
    /// Each run requests from `watermark - overlap`. At least the channel's
    /// `modified_precision`; default `max(2 × precision, 2 min)`.
    #[serde(with = "secs")]
    pub overlap: Duration,
    /// Each run requests up to `now - lag`, fixed when the run starts. Default 1 min.
    #[serde(with = "secs")]
    pub lag: Duration,
    /// The first run backfills this much history. Default 90 days.
    #[serde(with = "secs")]
    pub history: Duration,
    /// Windows are fetched in slices of at most this size. Default 1 day.
    #[serde(with = "secs")]
    pub slice: Duration,
    /// The scheduler runs the store this often. Default 30 min.
    #[serde(with = "secs")]
    pub interval: Duration,
    /// The scheduler delays each run by a random time up to this. Default 1 min.
    #[serde(with = "secs")]
    pub jitter: Duration,
}

mod secs {
    use chrono::Duration;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_seconds())
    }
}

impl SyncSettings {
    /// The defaults for a channel: overlap `max(2 × modified_precision, 2 min)`, lag 1 min,
    /// history 90 days, slice 1 day, interval 30 min, jitter 1 min.
    pub fn defaults_for(spec: &ChannelSpec) -> Self {
        Self {
            overlap: (spec.modified_precision * 2).max(Duration::minutes(2)),
            lag: Duration::minutes(1),
            history: Duration::days(90),
            slice: Duration::days(1),
            interval: Duration::minutes(30),
            jitter: Duration::minutes(1),
        }
    }

    /// The defaults for `spec` with a store's overrides applied, checked: the overlap must be
    /// at least the channel's precision, the slice and interval positive, the history not
    /// negative.
    pub fn resolve(
        overrides: &SyncOverrides,
        spec: &ChannelSpec,
        store: &str,
    ) -> Result<Self, SyncError> {
        let d = Self::defaults_for(spec);
        let s = Self {
            overlap: overrides.overlap.unwrap_or(d.overlap),
            lag: overrides.lag.unwrap_or(d.lag),
            history: overrides.history.unwrap_or(d.history),
            slice: overrides.slice.unwrap_or(d.slice),
            interval: overrides.interval.unwrap_or(d.interval),
            jitter: overrides.jitter.unwrap_or(d.jitter),
        };
        let bad = |setting: &str, detail: String| SyncError::Config {
            store: store.to_owned(),
            setting: setting.to_owned(),
            detail,
        };
        if s.overlap < spec.modified_precision {
            return Err(bad(
                "sync_overlap",
                format!(
                    "{}s is less than the precision of {}'s modification times ({}s); orders modified in the same {}s would be missed at window boundaries; use at least {}s",
                    s.overlap.num_seconds(),
                    spec.name,
                    spec.modified_precision.num_seconds(),
                    spec.modified_precision.num_seconds(),
                    (spec.modified_precision * 2).num_seconds()
                ),
            ));
        }
        if s.slice < Duration::seconds(1) {
            return Err(bad("sync_slice", "must be at least 1s".into()));
        }
        if s.interval < Duration::seconds(1) {
            return Err(bad("sync_interval", "must be at least 1s".into()));
        }
        Ok(s)
    }
}

/// Parses a duration such as `"30s"`, `"10m"`, `"2h"`, `"90d"` or `"1h30m"`. A bare number is
/// seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<i64>() {
        return (secs >= 0).then(|| Duration::seconds(secs));
    }
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        let part = match c {
            's' => Duration::seconds(n),
            'm' => Duration::minutes(n),
            'h' => Duration::hours(n),
            'd' => Duration::days(n),
            _ => return None,
        };
        total = total.checked_add(&part)?;
    }
    number.is_empty().then_some(total)
}

/// The sync settings taken out of a store's configuration, and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSetup {
    /// The store's id.
    pub store: String,
    /// The overrides found.
    pub overrides: SyncOverrides,
    /// The configuration fingerprint ([`config_fingerprint`]).
    pub fingerprint: String,
}

impl SyncSetup {
    /// Resolves the overrides against the channel's spec (known once connected).
    pub fn resolve(&self, spec: &ChannelSpec) -> Result<StoreSync, SyncError> {
        Ok(StoreSync {
            settings: SyncSettings::resolve(&self.overrides, spec, &self.store)?,
            fingerprint: self.fingerprint.clone(),
        })
    }
}

/// Removes the `sync_*` settings ([`SYNC_SETTINGS`]) from a copy of `config`, so the copy can
/// be given to `orderport::connect` (connectors reject unknown settings), and returns them
/// parsed with the configuration fingerprint.
///
/// ```
/// # use orderport_core::StoresFile;
/// let file = StoresFile::parse(r#"
///     [[store]]
///     id = "s"
///     name = "S"
///     channel = "spark-shipping"
///     url = "https://s.example"
///     username = "u"
///     password = "p"
///     sync_overlap = "10m"
/// "#, &|_| None)?;
/// let (for_connector, setup) = orderport_sync::split_sync_settings(file.store("s")?)?;
/// assert!(for_connector.settings.is_empty());
/// assert_eq!(setup.overrides.overlap, Some(chrono::Duration::minutes(10)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn split_sync_settings(config: &StoreConfig) -> Result<(StoreConfig, SyncSetup), SyncError> {
    let mut stripped = config.clone();
    let mut overrides = SyncOverrides::default();
    for key in SYNC_SETTINGS {
        let Some(value) = stripped.settings.remove(key) else {
            continue;
        };
        let parsed = match &value {
            toml::Value::String(s) => parse_duration(s),
            toml::Value::Integer(i) if *i >= 0 => Some(Duration::seconds(*i)),
            _ => None,
        };
        let Some(d) = parsed else {
            return Err(SyncError::Config {
                store: config.id.clone(),
                setting: key.to_owned(),
                detail: format!(
                    "{value} is not a duration; write it like \"30s\", \"10m\", \"2h\" or \"90d\""
                ),
            });
        };
        let slot = match key {
            "sync_overlap" => &mut overrides.overlap,
            "sync_lag" => &mut overrides.lag,
            "sync_history" => &mut overrides.history,
            "sync_slice" => &mut overrides.slice,
            "sync_interval" => &mut overrides.interval,
            _ => &mut overrides.jitter,
        };
        *slot = Some(d);
    }
    let fingerprint = config_fingerprint(&stripped);
    Ok((
        stripped,
        SyncSetup {
            store: config.id.clone(),
            overrides,
            fingerprint,
        },
    ))
}

/// A hash of the configuration that decides whether an order is accepted or rejected: the
/// channel, the time zone, the status map, the unmapped-status policy, the status matching and
/// the connector settings other than the `sync_*` ones. Secrets, the URL, the user name and the
/// store's name are left out. When it changes, quarantined orders are fetched again.
pub fn config_fingerprint(config: &StoreConfig) -> String {
    let mut settings = config.settings.clone();
    for key in SYNC_SETTINGS {
        settings.remove(key);
    }
    let canonical = format!(
        "channel={:?}\ntimezone={}\nunmapped={:?}\nmatch={:?}\nstatus_map={:?}\nsettings={}",
        config.channel,
        config.timezone,
        config.unmapped_status,
        config.status_match,
        config.status_map,
        toml::Value::Table(settings)
    );
    hex(&Sha256::digest(canonical.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30s"), Some(Duration::seconds(30)));
        assert_eq!(parse_duration("10m"), Some(Duration::minutes(10)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("90d"), Some(Duration::days(90)));
        assert_eq!(parse_duration("45"), Some(Duration::seconds(45)));
        assert_eq!(parse_duration("10"), Some(Duration::seconds(10)));
        assert_eq!(parse_duration("10x"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5m3"), None);
        assert_eq!(parse_duration(""), None);
    }
}
