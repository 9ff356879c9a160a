//! The fixture format: one directory per scenario, holding `scenario.toml`, the bodies that went
//! over the wire, and the expected output as insta snapshots.
//!
//! ```text
//! fixtures/<connector-id>/<scenario>/
//!     scenario.toml      what is called, with which store, what is expected, the HTTP exchanges
//!     page-1.xml ...     response bodies, byte for byte as the server sent them
//!     ship-notice.xml    request bodies the connector must send, byte for byte
//!     outcomes.snap      the normalized output (insta snapshot, JSON)
//! ```
//!
//! See `docs/testing.md` for every field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use orderport_core::{
    CanonicalStatus, ConfigError, ReasonCode, ShipmentUpdate, StoreConfig, StoresFile, TimeWindow,
};
use serde::{Deserialize, Serialize};

/// The file that describes a scenario, in each scenario directory.
pub const SCENARIO_FILE: &str = "scenario.toml";

/// A fixture that cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `scenario.toml` is not valid TOML or does not have the fixture shape.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The `[store]` table is not a valid store.
    #[error("{path}: [store] is not a valid store: {source}")]
    Store {
        /// The scenario file.
        path: PathBuf,
        /// The configuration error.
        source: ConfigError,
    },
}

impl FixtureError {
    fn format(path: &Path, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// What a scenario calls on the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    /// Walks every page of `[window]` with [`orderport_core::pages`].
    Fetch,
    /// Sends `[shipment]` with `push_shipment`.
    PushShipment,
    /// Calls `check_connection`.
    CheckConnection,
}

/// How a call ended: `ok`, or the kind of [`orderport_core::ChannelError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultKind {
    /// Success.
    Ok,
    /// `ChannelError::Authentication`.
    Authentication,
    /// `ChannelError::Permission`.
    Permission,
    /// `ChannelError::RateLimited`.
    RateLimited,
    /// `ChannelError::Transient`.
    Transient,
    /// `ChannelError::Protocol`.
    Protocol,
    /// `ChannelError::Refused`.
    Refused,
    /// `ChannelError::Redirected`.
    Redirected,
    /// `ChannelError::InvalidShipment`.
    InvalidShipment,
    /// `ChannelError::Configuration`.
    Configuration,
    /// An error kind this version of the kit does not know yet (`ChannelError` is
    /// `#[non_exhaustive]`): a fixture cannot expect it, so such a result always fails a check.
    #[serde(skip_deserializing)]
    Other,
}

impl ResultKind {
    /// The kind of a call's result.
    pub fn of<T>(result: &Result<T, orderport_core::ChannelError>) -> Self {
        use orderport_core::ChannelError as E;
        match result {
            Ok(_) => Self::Ok,
            Err(E::Authentication { .. }) => Self::Authentication,
            Err(E::Permission { .. }) => Self::Permission,
            Err(E::RateLimited { .. }) => Self::RateLimited,
            Err(E::Transient { .. }) => Self::Transient,
            Err(E::Protocol { .. }) => Self::Protocol,
            Err(E::Refused { .. }) => Self::Refused,
            Err(E::Redirected { .. }) => Self::Redirected,
            Err(E::InvalidShipment { .. }) => Self::InvalidShipment,
            Err(E::Configuration { .. }) => Self::Configuration,
            Err(_) => Self::Other,
        }
    }
}

impl fmt::Display for ResultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ok => "ok",
            Self::Authentication => "authentication",
            Self::Permission => "permission",
            Self::RateLimited => "rate_limited",
            Self::Transient => "transient",
            Self::Protocol => "protocol",
            Self::Refused => "refused",
            Self::Redirected => "redirected",
            Self::InvalidShipment => "invalid_shipment",
            Self::Configuration => "configuration",
            Self::Other => "other",
        })
    }
}

/// Whether a response body follows the channel's published schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaMark {
    /// The body follows the schema; the kit checks that it validates.
    Strict,
    /// The body deliberately breaks the schema, as real servers do; the kit checks that it
    /// fails validation, so the marking stays honest.
    Lenient,
}

/// What the generic suite asserts about a scenario's result. Built in Rust (for
/// [`crate::fixture`]) with [`Expect::result`] and its setters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// How the call ends.
    pub result: ResultKind,
    /// Pages walked (fetch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<usize>,
    /// Orders accepted over the whole walk (fetch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<usize>,
    /// Orders rejected over the whole walk (fetch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<usize>,
    /// Accepted orders to check field by field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<ExpectedOrder>,
    /// Rejections that must be present, each with one of its reasons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejection: Vec<ExpectedRejection>,
    /// For `unmapped-status`: the order whose raw status is in no list, and the fallback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmapped: Option<ExpectedUnmapped>,
}

impl Expect {
    /// The call ends with `result`; nothing else is asserted yet.
    pub fn result(result: ResultKind) -> Self {
        Self {
            result,
            pages: None,
            accepted: None,
            rejected: None,
            order: Vec::new(),
            rejection: Vec::new(),
            unmapped: None,
        }
    }

    /// The call succeeds.
    pub fn ok() -> Self {
        Self::result(ResultKind::Ok)
    }

    /// A fetch walks `pages` pages, accepting `accepted` orders and rejecting `rejected`.
    pub fn counts(mut self, pages: usize, accepted: usize, rejected: usize) -> Self {
        self.pages = Some(pages);
        self.accepted = Some(accepted);
        self.rejected = Some(rejected);
        self
    }

    /// Pins an accepted order.
    pub fn order(mut self, order: ExpectedOrder) -> Self {
        self.order.push(order);
        self
    }

    /// Requires the order `order_number` to be rejected with a reason `code` on `field`.
    pub fn rejection(
        mut self,
        order_number: impl Into<String>,
        field: impl Into<String>,
        code: ReasonCode,
    ) -> Self {
        self.rejection.push(ExpectedRejection {
            order_number: order_number.into(),
            field: field.into(),
            code,
        });
        self
    }

    /// The `unmapped-status` expectation: `order_number` has the raw status `raw_status`, in
    /// no list, and is accepted with `fallback` once that is the store's `unmapped_status`.
    pub fn unmapped(
        mut self,
        order_number: impl Into<String>,
        raw_status: impl Into<String>,
        fallback: CanonicalStatus,
    ) -> Self {
        self.unmapped = Some(ExpectedUnmapped {
            order_number: order_number.into(),
            raw_status: raw_status.into(),
            fallback,
        });
        self
    }
}

/// An accepted order the scenario pins, by order number. Absent fields are not checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedOrder {
    /// The order number.
    pub order_number: String,
    /// The canonical status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CanonicalStatus>,
    /// When it was placed, in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordered_at: Option<DateTime<Utc>>,
    /// When it was last modified, in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<DateTime<Utc>>,
    /// When it was paid, in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
}

impl ExpectedOrder {
    /// The order `order_number`, nothing pinned yet.
    pub fn number(order_number: impl Into<String>) -> Self {
        Self {
            order_number: order_number.into(),
            status: None,
            ordered_at: None,
            modified_at: None,
            paid_at: None,
        }
    }

    /// Pins its canonical status.
    pub fn status(mut self, status: CanonicalStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Pins when it was placed and last modified, in UTC.
    pub fn times(mut self, ordered_at: DateTime<Utc>, modified_at: DateTime<Utc>) -> Self {
        self.ordered_at = Some(ordered_at);
        self.modified_at = Some(modified_at);
        self
    }

    /// Pins when it was paid, in UTC.
    pub fn paid_at(mut self, paid_at: DateTime<Utc>) -> Self {
        self.paid_at = Some(paid_at);
        self
    }
}

/// A rejection the scenario pins: the order, and one reason it must carry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRejection {
    /// The order number.
    pub order_number: String,
    /// The reason's field path, such as `ship_to.country`.
    pub field: String,
    /// The reason's code.
    pub code: ReasonCode,
}

/// The `unmapped-status` expectation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedUnmapped {
    /// The order whose status is in no list.
    pub order_number: String,
    /// Its raw status, as the channel sent it.
    pub raw_status: String,
    /// The canonical status the suite sets as `unmapped_status` for the second run.
    pub fallback: CanonicalStatus,
}

/// A body file, read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The file name, relative to the scenario directory.
    pub file: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The request the connector must send.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The HTTP method, upper-case.
    pub method: String,
    /// The path, such as `/shipstation`.
    pub path: String,
    /// The query parameters, as a set of decoded `(name, value)` pairs, sorted.
    pub query: Vec<(String, String)>,
    /// Headers that must be present with these exact values (names lower-case).
    pub headers: BTreeMap<String, String>,
    /// The body the connector must send, compared exactly (line endings normalized); `None`
    /// means the request has no body.
    pub body: Option<Body>,
}

/// The response the mock server gives.
#[derive(Debug, Clone)]
pub struct RecordedResponse {
    /// The status code.
    pub status: u16,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Option<Body>,
    /// Whether the body follows the channel's schema.
    pub schema: Option<SchemaMark>,
    /// A delay before the response is sent, in milliseconds.
    pub delay_ms: Option<u64>,
}

impl RecordedResponse {
    /// The `Retry-After` header, in seconds, where present and numeric.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.headers
            .get("retry-after")
            .and_then(|v| v.trim().parse().ok())
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("content-type").map(String::as_str)
    }

    /// True when the body is an HTML page (by content type or by its first bytes).
    pub fn is_html(&self) -> bool {
        let by_type = self
            .content_type()
            .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
        let by_body = self.body.as_ref().is_some_and(|b| {
            let start =
                String::from_utf8_lossy(&b.bytes[..b.bytes.len().min(64)]).to_ascii_lowercase();
            let start = start.trim_start();
            start.starts_with("<!doctype html") || start.starts_with("<html")
        });
        by_type || by_body
    }
}

/// One HTTP exchange: the request expected and the response given, `times` times in a row.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// How many times the request is expected and answered (default 1).
    pub times: u64,
    /// A note for people reading the fixture.
    pub note: Option<String>,
    /// The request.
    pub request: RecordedRequest,
    /// The response.
    pub response: RecordedResponse,
}

impl Exchange {
    /// A one-line description, such as `#2 GET /shipstation?action=export&page=2`.
    pub fn label(&self, index: usize) -> String {
        let query = self
            .request
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        format!(
            "exchange #{} {} {}{}{} -> {}",
            index + 1,
            self.request.method,
            self.request.path,
            if query.is_empty() { "" } else { "?" },
            query,
            self.response.status
        )
    }
}

/// One scenario, loaded with its bodies.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The directory name, such as `multi-page`.
    pub name: String,
    /// The scenario directory.
    pub dir: PathBuf,
    /// What the scenario shows.
    pub description: String,
    /// What it calls.
    pub kind: ScenarioKind,
    /// The window fetched (fetch scenarios).
    pub window: Option<TimeWindow>,
    /// The `[store]` table, in the stores.toml shape, `url` being a path on the mock server.
    pub store: toml::Table,
    /// The update sent (push_shipment scenarios).
    pub shipment: Option<ShipmentUpdate>,
    /// What the suite asserts.
    pub expect: Expect,
    /// The HTTP exchanges, in the order they happen.
    pub exchanges: Vec<Exchange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: String,
    kind: ScenarioKind,
    window: Option<RawWindow>,
    store: toml::Table,
    shipment: Option<ShipmentUpdate>,
    expect: Expect,
    #[serde(default)]
    exchange: Vec<RawExchange>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExchange {
    times: Option<u64>,
    note: Option<String>,
    request: RawRequest,
    response: RawResponse,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    method: String,
    path: String,
    #[serde(default)]
    query: toml::Table,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    schema: Option<SchemaMark>,
    delay_ms: Option<u64>,
}

impl Scenario {
    /// Loads `dir/scenario.toml` and every body file it names.
    pub fn load(dir: &Path) -> Result<Self, FixtureError> {
        let path = dir.join(SCENARIO_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| FixtureError::Io {
            path: path.clone(),
            source,
        })?;
        let raw: RawScenario =
            toml::from_str(&text).map_err(|e| FixtureError::format(&path, e.to_string()))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let window = raw
            .window
            .map(|w| TimeWindow::new(w.from, w.to))
            .transpose()
            .map_err(|e| FixtureError::format(&path, format!("[window]: {e}")))?;
        match raw.kind {
            ScenarioKind::Fetch if window.is_none() => {
                return Err(FixtureError::format(
                    &path,
                    "a fetch scenario needs [window] from/to",
                ))
            }
            ScenarioKind::PushShipment if raw.shipment.is_none() => {
                return Err(FixtureError::format(
                    &path,
                    "a push_shipment scenario needs [shipment]",
                ))
            }
            _ => {}
        }
        if !raw.store.contains_key("url") {
            return Err(FixtureError::format(
                &path,
                "[store] needs url, the path on the mock server such as \"/shipstation\"",
            ));
        }
        let exchanges = raw
            .exchange
            .into_iter()
            .enumerate()
            .map(|(i, e)| load_exchange(dir, &path, i, e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            name,
            dir: dir.to_owned(),
            description: raw.description,
            kind: raw.kind,
            window,
            store: raw.store,
            shipment: raw.shipment,
            expect: raw.expect,
            exchanges,
        })
    }

    /// The scenario's store, its `url` prefixed with `base_url` (the mock server's URL), with
    /// `overrides` replacing keys of `[store]`.
    pub fn store_config(
        &self,
        base_url: &str,
        overrides: &toml::Table,
    ) -> Result<StoreConfig, FixtureError> {
        let path = self.dir.join(SCENARIO_FILE);
        let mut table = self.store.clone();
        for (key, value) in overrides {
            table.insert(key.clone(), value.clone());
        }
        let url_path = table
            .get("url")
            .and_then(toml::Value::as_str)
            .ok_or_else(|| FixtureError::format(&path, "[store] url must be a string"))?;
        let url = format!("{}{}", base_url.trim_end_matches('/'), url_path);
        table.insert("url".into(), toml::Value::String(url));
        let mut file = toml::Table::new();
        file.insert(
            "store".into(),
            toml::Value::Array(vec![toml::Value::Table(table)]),
        );
        let text = toml::to_string(&file)
            .map_err(|e| FixtureError::format(&path, format!("[store]: {e}")))?;
        // Fixtures carry inline fake secrets; `*_env` variables are never looked up.
        let parsed = StoresFile::parse(&text, &|_| None).map_err(|source| FixtureError::Store {
            path: path.clone(),
            source,
        })?;
        parsed
            .stores
            .into_iter()
            .next()
            .ok_or_else(|| FixtureError::format(&path, "[store] is empty"))
    }

    /// Every response that carries a schema mark, with its exchange index.
    pub fn marked_responses(&self) -> impl Iterator<Item = (usize, SchemaMark, &Body)> {
        self.exchanges.iter().enumerate().filter_map(|(i, e)| {
            let mark = e.response.schema?;
            Some((i, mark, e.response.body.as_ref()?))
        })
    }
}

fn load_exchange(
    dir: &Path,
    path: &Path,
    index: usize,
    raw: RawExchange,
) -> Result<Exchange, FixtureError> {
    let at = |what: &str| format!("exchange #{}: {what}", index + 1);
    let times = raw.times.unwrap_or(1);
    if times == 0 {
        return Err(FixtureError::format(path, at("times must be at least 1")));
    }
    if !raw.request.path.starts_with('/') {
        return Err(FixtureError::format(
            path,
            at("request.path must start with /"),
        ));
    }
    let mut query = Vec::new();
    for (name, value) in raw.request.query {
        for v in query_values(&value)
            .ok_or_else(|| FixtureError::format(path, at(&format!("query.{name}: use a string"))))?
        {
            query.push((name.clone(), v));
        }
    }
    query.sort();
    let read_body = |file: Option<String>| -> Result<Option<Body>, FixtureError> {
        file.map(|file| {
            let body_path = dir.join(&file);
            let bytes = std::fs::read(&body_path).map_err(|source| FixtureError::Io {
                path: body_path,
                source,
            })?;
            Ok(Body { file, bytes })
        })
        .transpose()
    };
    let lower = |headers: BTreeMap<String, String>| {
        headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect::<BTreeMap<_, _>>()
    };
    let response = RecordedResponse {
        status: raw.response.status,
        headers: lower(raw.response.headers),
        body: read_body(raw.response.body)?,
        schema: raw.response.schema,
        delay_ms: raw.response.delay_ms,
    };
    if response.schema.is_some() && response.body.is_none() {
        return Err(FixtureError::format(
            path,
            at("response.schema is set but there is no body"),
        ));
    }
    Ok(Exchange {
        times,
        note: raw.note,
        request: RecordedRequest {
            method: raw.request.method.to_ascii_uppercase(),
            path: raw.request.path,
            query,
            headers: lower(raw.request.headers),
            body: read_body(raw.request.body)?,
        },
        response,
    })
}

fn query_values(value: &toml::Value) -> Option<Vec<String>> {
    match value {
        toml::Value::String(s) => Some(vec![s.clone()]),
        toml::Value::Integer(i) => Some(vec![i.to_string()]),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => Some(s.clone()),
                toml::Value::Integer(i) => Some(i.to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The scenario directories under a connector's fixture directory, sorted by name. Directories
/// whose name starts with `.` or `_` are skipped.
pub fn scenario_dirs(fixtures: &Path) -> Result<Vec<PathBuf>, FixtureError> {
    let entries = std::fs::read_dir(fixtures).map_err(|source| FixtureError::Io {
        path: fixtures.to_owned(),
        source,
    })?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| FixtureError::Io {
            path: fixtures.to_owned(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !name.starts_with('.') && !name.starts_with('_') {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}
