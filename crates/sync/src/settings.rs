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

/// The sync settings a store's configuration overrides; `None` keeps the default. Build one
/// from `SyncOverrides::default()` and set the fields wanted (more may come).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct StoreSync {
    /// The resolved settings.
    pub settings: SyncSettings,
    /// The fingerprint of the configuration that decides acceptance ([`config_fingerprint`]).
    pub fingerprint: String,
}

impl StoreSync {
    /// A store's settings and its configuration fingerprint. [`SyncSetup::resolve`] makes one
    /// from a store's configuration; a host with its own configuration calls this.
    pub fn new(settings: SyncSettings, fingerprint: impl Into<String>) -> Self {
        Self {
            settings,
            fingerprint: fingerprint.into(),
        }
    }
}

/// A store's sync settings, resolved against its channel's spec. Start from
/// [`SyncSettings::defaults_for`] (or [`SyncSettings::resolve`]) and set the fields wanted (more
/// may come).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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

    /// The defaults for `spec` with a store's overrides applied, checked against the limits
    /// below; a setting outside them is [`SyncError::Config`] naming the setting and what to
    /// write instead.
    ///
    /// - every setting at most [`MAX_SETTING`] (3650 days, about ten years);
    /// - `sync_overlap` at least the channel's `modified_precision`;
    /// - `sync_slice` at least [`MIN_SLICE`] (one minute), `sync_interval` at least one second;
    /// - `sync_overlap` and `sync_lag` each at most a tenth of `sync_history`
    ///   ([`HISTORY_SHARE`]), so that the history really is the first run's range and each run
    ///   mostly fetches new changes.
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
        for (setting, value) in [
            ("sync_overlap", s.overlap),
            ("sync_lag", s.lag),
            ("sync_history", s.history),
            ("sync_slice", s.slice),
            ("sync_interval", s.interval),
            ("sync_jitter", s.jitter),
        ] {
            if value > MAX_SETTING {
                return Err(bad(
                    setting,
                    format!(
                        "{} is more than the most allowed, {}; write at most \"{}d\"",
                        show(value),
                        show(MAX_SETTING),
                        MAX_SETTING.num_days()
                    ),
                ));
            }
            if value < Duration::zero() {
                return Err(bad(setting, "must not be negative".into()));
            }
        }
        if s.slice < MIN_SLICE {
            return Err(bad(
                "sync_slice",
                format!(
                    "{} is less than the least allowed, {}: tiny slices cost one request each; write at least \"1m\"",
                    show(s.slice),
                    show(MIN_SLICE)
                ),
            ));
        }
        if s.interval < Duration::seconds(1) {
            return Err(bad("sync_interval", "must be at least 1s".into()));
        }
        let most = s.history / HISTORY_SHARE;
        for (setting, value) in [("sync_overlap", s.overlap), ("sync_lag", s.lag)] {
            if value > most {
                return Err(bad(
                    setting,
                    format!(
                        "{} is more than a tenth of sync_history ({}); it must stay far below the history: shorten it to at most {} or lengthen sync_history to at least {}",
                        show(value),
                        show(s.history),
                        show(most),
                        show(value.checked_mul(HISTORY_SHARE).unwrap_or(MAX_SETTING))
                    ),
                ));
            }
        }
        Ok(s)
    }
}

/// The longest any sync setting may be: 3650 days, about ten years. Longer values are refused
/// by [`SyncSettings::resolve`]; window arithmetic on them could overflow the calendar.
pub const MAX_SETTING: Duration = Duration::days(3650);

/// The shortest `sync_slice`: one minute.
pub const MIN_SLICE: Duration = Duration::minutes(1);

/// `sync_overlap` and `sync_lag` may each be at most `sync_history / HISTORY_SHARE`.
pub const HISTORY_SHARE: i32 = 10;

/// A duration as people write it in a stores file: `90d`, `1h30m`, `45s`.
fn show(d: Duration) -> String {
    let mut secs = d.num_seconds();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = secs.saturating_abs();
    }
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Why a text is not a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DurationError {
    /// Not written like `30s`, `10m`, `2h`, `90d` or `1h30m`.
    Malformed,
    /// Well written, but too long for any clock.
    TooLong,
}

fn parse_checked(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Malformed);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(Duration::try_seconds)
            .ok_or(DurationError::TooLong);
    }
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if number.is_empty() {
            return Err(DurationError::Malformed);
        }
        let make: fn(i64) -> Option<Duration> = match c {
            's' => Duration::try_seconds,
            'm' => Duration::try_minutes,
            'h' => Duration::try_hours,
            'd' => Duration::try_days,
            _ => return Err(DurationError::Malformed),
        };
        let part = number
            .parse::<i64>()
            .ok()
            .and_then(make)
            .ok_or(DurationError::TooLong)?;
        number.clear();
        total = total.checked_add(&part).ok_or(DurationError::TooLong)?;
    }
    if number.is_empty() {
        Ok(total)
    } else {
        Err(DurationError::Malformed)
    }
}

/// Parses a duration such as `"30s"`, `"10m"`, `"2h"`, `"90d"` or `"1h30m"`. A bare number is
/// seconds. `None` for anything else, and for a duration too long to represent; never panics.
/// [`SyncSettings::resolve`] then applies the limits ([`MAX_SETTING`]).
pub fn parse_duration(text: &str) -> Option<Duration> {
    parse_checked(text).ok()
}

/// The sync settings taken out of a store's configuration, and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
            toml::Value::String(s) => parse_checked(s),
            toml::Value::Integer(i) if *i >= 0 => {
                Duration::try_seconds(*i).ok_or(DurationError::TooLong)
            }
            _ => Err(DurationError::Malformed),
        };
        let d = match parsed {
            Ok(d) => d,
            Err(e) => {
                let shown: String = value.to_string().chars().take(60).collect();
                let detail = match e {
                    DurationError::Malformed => format!(
                        "{shown} is not a duration; write it like \"30s\", \"10m\", \"2h\" or \"90d\""
                    ),
                    DurationError::TooLong => format!(
                        "{shown} is longer than the most allowed, {}; write at most \"{}d\"",
                        show(MAX_SETTING),
                        MAX_SETTING.num_days()
                    ),
                };
                return Err(SyncError::Config {
                    store: config.id.clone(),
                    setting: key.to_owned(),
                    detail,
                });
            }
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
    use chrono::{DateTime, TimeZone, Utc};
    use orderport_core::{CanonicalStatus, Capabilities, StoresFile};
    use proptest::prelude::*;

    use super::*;
    use crate::window::{run_range, slices, EARLIEST, LATEST};

    static SPEC: ChannelSpec = ChannelSpec {
        id: "spark-shipping",
        name: "Spark Shipping",
        requirements: &[],
        default_statuses: &[(CanonicalStatus::AwaitingShipment, &["paid"])],
        capabilities: Capabilities::NONE
            .with_partial_shipments(false)
            .with_customer_email(true)
            .with_custom_statuses(true),
        modified_precision: Duration::minutes(1),
    };

    fn store(extra: &str) -> StoreConfig {
        let text = format!(
            "[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"spark-shipping\"\n\
             url = \"https://s.example\"\nusername = \"u\"\npassword = \"p\"\n{extra}"
        );
        let file = StoresFile::parse(&text, &|_| None).unwrap();
        file.stores[0].clone()
    }

    fn resolved(extra: &str) -> Result<SyncSettings, SyncError> {
        let (_, setup) = split_sync_settings(&store(extra))?;
        Ok(setup.resolve(&SPEC)?.settings)
    }

    fn refused(extra: &str, setting: &str) -> String {
        match resolved(extra) {
            Err(SyncError::Config {
                store,
                setting: named,
                detail,
            }) => {
                assert_eq!(store, "s");
                assert_eq!(named, setting, "{detail}");
                detail
            }
            other => panic!("{extra}: expected a {setting} error, got {other:?}"),
        }
    }

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
        assert_eq!(parse_duration("-5"), None);
        assert_eq!(parse_duration("+5"), None);
        // Too long for any clock: no panic, no value.
        assert_eq!(parse_duration("9223372036854775807"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
        assert_eq!(parse_duration("999999999999999d"), None);
    }

    /// The hash behind every configuration fingerprint (and the stored content hashes), as
    /// `config_fingerprint` writes it: a stored fingerprint stays comparable only while
    /// `hex(&Sha256::digest(..))` gives the same text, whatever sha2 release builds it.
    #[test]
    fn fingerprints_are_lowercase_hex_sha256_of_the_known_vectors() {
        // FIPS 180-2, appendix B.1 ("abc"), and the empty message.
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_defaults_pass_the_limits() {
        assert_eq!(resolved("").unwrap(), SyncSettings::defaults_for(&SPEC));
        let s = resolved("sync_history = \"3650d\"\nsync_slice = \"1m\"\nsync_overlap = 120\n")
            .unwrap();
        assert_eq!(s.history, MAX_SETTING);
        assert_eq!(s.slice, MIN_SLICE);
    }

    /// The issue's cases: each once passed and panicked in window arithmetic (exit 101).
    #[test]
    fn absurd_durations_are_refused_with_a_clear_message() {
        let detail = refused("sync_history = \"999999999d\"", "sync_history");
        assert!(
            detail.contains("more than the most allowed, 3650d"),
            "{detail}"
        );
        assert!(detail.contains("at most \"3650d\""), "{detail}");
        let detail = refused("sync_overlap = \"99999999999999s\"", "sync_overlap");
        assert!(detail.contains("more than the most allowed"), "{detail}");
        let detail = refused("sync_lag = 9223372036854775807", "sync_lag");
        assert!(detail.contains("longer than the most allowed"), "{detail}");
        let detail = refused("sync_jitter = \"99999999999999999999d\"", "sync_jitter");
        assert!(detail.contains("longer than the most allowed"), "{detail}");
        let detail = refused("sync_interval = \"1x\"", "sync_interval");
        assert!(detail.contains("not a duration"), "{detail}");
        let detail = refused("sync_lag = -5", "sync_lag");
        assert!(detail.contains("not a duration"), "{detail}");
    }

    #[test]
    fn a_slice_is_at_least_a_minute() {
        let detail = refused("sync_slice = \"59s\"", "sync_slice");
        assert!(detail.contains("least allowed, 1m"), "{detail}");
        refused("sync_slice = 0", "sync_slice");
        assert!(resolved("sync_slice = \"60s\"").is_ok());
    }

    #[test]
    fn overlap_and_lag_stay_far_below_the_history() {
        let detail = refused(
            "sync_history = \"1d\"\nsync_overlap = \"3h\"",
            "sync_overlap",
        );
        assert!(
            detail.contains("3h is more than a tenth of sync_history (1d)"),
            "{detail}"
        );
        assert!(detail.contains("at most 2h24m"), "{detail}");
        assert!(detail.contains("at least 1d6h"), "{detail}");
        refused("sync_history = \"1h\"\nsync_lag = \"7m\"", "sync_lag");
        assert!(resolved("sync_history = \"1h\"\nsync_lag = \"6m\"").is_ok());
        // A history too short for the default overlap says so.
        refused("sync_history = \"10m\"", "sync_overlap");
        refused("sync_history = 0", "sync_overlap");
    }

    fn value() -> impl Strategy<Value = Option<toml::Value>> {
        prop_oneof![
            Just(None),
            any::<i64>().prop_map(|i| Some(toml::Value::Integer(i))),
            "\\PC{0,16}".prop_map(|s| Some(toml::Value::String(s))),
            "[0-9]{1,22}[smhdx]?([0-9]{1,22}[smhd])?".prop_map(|s| Some(toml::Value::String(s))),
            (0i64..4_000, prop::sample::select(vec!["s", "m", "h", "d"]))
                .prop_map(|(n, u)| Some(toml::Value::String(format!("{n}{u}")))),
            any::<f64>().prop_map(|f| Some(toml::Value::Float(f))),
        ]
    }

    fn instants() -> Vec<Option<DateTime<Utc>>> {
        vec![
            None,
            Some(DateTime::<Utc>::MIN_UTC),
            Some(DateTime::<Utc>::MAX_UTC),
            Some(Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap()),
            Some(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()),
            Some(Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap()),
        ]
    }

    proptest! {
        /// No configuration text panics: whatever the `sync_*` values, splitting, resolving,
        /// and the window arithmetic of a run (for watermarks and clocks from the calendar's
        /// first instant to its last) return a value or a clear error.
        #[test]
        fn no_configuration_text_panics(values in proptest::collection::vec(value(), 6)) {
            let mut config = store("");
            for (key, value) in SYNC_SETTINGS.iter().zip(values) {
                if let Some(value) = value {
                    config.settings.insert((*key).to_owned(), value);
                }
            }
            let resolved = split_sync_settings(&config).and_then(|(_, setup)| setup.resolve(&SPEC));
            let settings = match resolved {
                Ok(sync) => {
                    let s = sync.settings;
                    prop_assert!(s.slice >= MIN_SLICE && s.slice <= MAX_SETTING);
                    prop_assert!(s.overlap >= SPEC.modified_precision);
                    prop_assert!(s.overlap <= s.history / HISTORY_SHARE);
                    prop_assert!(s.lag <= s.history / HISTORY_SHARE);
                    s
                }
                Err(e) => {
                    let text = e.to_string();
                    prop_assert!(text.starts_with("store s: sync setting sync_"), "{}", text);
                    // Unchecked settings must not panic either.
                    let (_, setup) = match split_sync_settings(&config) {
                        Ok(split) => split,
                        Err(_) => return Ok(()),
                    };
                    let d = SyncSettings::defaults_for(&SPEC);
                    let o = setup.overrides;
                    SyncSettings {
                        overlap: o.overlap.unwrap_or(d.overlap),
                        lag: o.lag.unwrap_or(d.lag),
                        history: o.history.unwrap_or(d.history),
                        slice: o.slice.unwrap_or(d.slice),
                        interval: o.interval.unwrap_or(d.interval),
                        jitter: o.jitter.unwrap_or(d.jitter),
                    }
                }
            };
            for watermark in instants() {
                for now in instants().into_iter().flatten() {
                    if let Some((lower, upper)) = run_range(watermark, now, &settings) {
                        prop_assert!(lower < upper);
                        prop_assert!(lower >= EARLIEST && upper <= LATEST);
                        for w in slices(lower, upper, settings.slice).take(3) {
                            prop_assert!(w.from() >= lower && w.to() <= upper);
                        }
                    }
                }
            }
        }
    }
}
