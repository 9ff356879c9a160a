//! Writing fixtures from Rust values: a scenario's `scenario.toml` and its JSON bodies, so that
//! no connector author writes (or keeps in step) a generator script.
//!
//! A connector describes its scenarios in a test with [`ScenarioFixture`], and calls [`sync`]:
//! with `UPDATE_FIXTURES=1` it writes each scenario directory, otherwise it fails when a file on
//! disk differs from its description. The conformance suite then replays the files as usual;
//! snapshots (`outcomes.snap`) are left to it, and must be read before they are accepted.
//!
//! ```
//! use orderport_testkit::fixture::{sync_to, RequestFixture, ResponseFixture, ScenarioFixture, StoreFixture};
//! use orderport_testkit::scenario::Expect;
//! use orderport_testkit::Scenario;
//! use serde_json::json;
//!
//! let store = StoreFixture::new("shop-fixture", "Shop Fixture", "shop", "/api")
//!     .secret("access_token", "fixture-token")
//!     .set("timezone", "America/Chicago");
//! let empty = ScenarioFixture::fetch("empty-window", "A window without orders", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
//!     .store(store)
//!     .expect(Expect::ok().counts(1, 0, 0))
//!     .exchange(
//!         RequestFixture::get("/api/orders").query("page", "1").header("authorization", "Bearer fixture-token"),
//!         ResponseFixture::json(200, "page-1.json", &json!({"orders": []})).header("x-total-pages", "1"),
//!     );
//! let dir = tempfile::tempdir()?;
//! sync_to(dir.path(), &[empty], true)?; // what `sync` does with UPDATE_FIXTURES=1
//! let loaded = Scenario::load(&dir.path().join("empty-window"))?;
//! assert_eq!(loaded.exchanges[0].request.query, [("page".to_owned(), "1".to_owned())]);
//! assert!(sync_to(dir.path(), &[], false).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use orderport_core::ShipmentUpdate;
use serde::Serialize;

use crate::scenario::{Expect, ScenarioKind, SchemaMark, SCENARIO_FILE};

/// The variable that makes [`sync`] write the fixtures instead of checking them.
pub const UPDATE_VARIABLE: &str = "UPDATE_FIXTURES";

/// A fixture that cannot be rendered: a value TOML cannot hold, or a body that does not
/// serialize.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fixture {scenario}: {message}")]
pub struct RenderError {
    /// The scenario.
    pub scenario: String,
    /// What is wrong.
    pub message: String,
}

/// A store as a scenario's `[store]` table: its `url` is a path on the mock server, its secrets
/// inline (fixture secrets start with `fixture-`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreFixture(toml::Table);

impl StoreFixture {
    /// A store with its id, name, channel and URL path, and fast retries (three attempts,
    /// 10 ms to 2 s apart, 5 s per request) so that fixtures replay quickly.
    pub fn new(id: &str, name: &str, channel: &str, url_path: &str) -> Self {
        Self(toml::Table::new())
            .set("id", id)
            .set("name", name)
            .set("channel", channel)
            .set("url", url_path)
            .set("retry_max_attempts", 3)
            .set("retry_base_delay_ms", 10)
            .set("retry_max_delay_ms", 2000)
            .set("request_timeout_secs", 5)
    }

    /// Sets a store key (a common one such as `timezone`, or a connector setting).
    pub fn set(mut self, key: &str, value: impl Into<toml::Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// Sets a secret: `password`, `api_key` and `dev_key` at the top level, any other name in
    /// `[store.secrets]`.
    pub fn secret(mut self, name: &str, value: &str) -> Self {
        if orderport_core::config::SECRET_NAMES.contains(&name) {
            return self.set(name, value);
        }
        let table = self
            .0
            .entry(orderport_core::config::NAMED_SECRETS_TABLE)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(table) = table {
            table.insert(name.to_owned(), value.into());
        }
        self
    }

    /// The `[store]` table.
    pub fn table(&self) -> &toml::Table {
        &self.0
    }
}

/// A body file: its name in the scenario directory and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BodyFile {
    file: String,
    bytes: Vec<u8>,
}

/// What requests and responses both carry: headers (names lower-case) and a body file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Message {
    headers: BTreeMap<String, String>,
    body: Option<BodyFile>,
}

impl Message {
    fn set_header(&mut self, name: &str, value: &str) {
        self.headers
            .insert(name.to_ascii_lowercase(), value.to_owned());
    }

    fn set_body(&mut self, file: &str, bytes: Vec<u8>) {
        self.body = Some(BodyFile {
            file: file.to_owned(),
            bytes,
        });
    }

    /// Its `headers` and `body` keys, as an exchange's request or response table has them.
    fn insert_into(&self, table: &mut toml::Table) {
        if !self.headers.is_empty() {
            table.insert("headers".into(), text_table(&self.headers).into());
        }
        if let Some(body) = &self.body {
            table.insert("body".into(), body.file.clone().into());
        }
    }
}

/// The request the connector must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFixture {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    message: Message,
}

impl RequestFixture {
    /// A request with this method and path (the store's URL path included).
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            query: Vec::new(),
            message: Message::default(),
        }
    }

    /// A GET.
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// A POST.
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// A query parameter, decoded (repeat the name for a repeated parameter).
    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    /// A header the request must carry with this exact value.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.message.set_header(name, value);
        self
    }

    /// The exact body the connector must send, saved as `file`.
    pub fn body(mut self, file: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.message.set_body(file, bytes.into());
        self
    }

    /// A JSON body as `orderport_http::Request::json` sends it (compact `serde_json`, in the
    /// value's field order) with `content-type: application/json`, saved as `file`.
    pub fn json(self, file: &str, value: &impl Serialize) -> Result<Self, serde_json::Error> {
        let bytes = serde_json::to_vec(value)?;
        Ok(self
            .header("content-type", "application/json")
            .body(file, bytes))
    }
}

/// The response the mock server gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFixture {
    status: u16,
    message: Message,
    schema: Option<SchemaMark>,
    delay_ms: Option<u64>,
}

impl ResponseFixture {
    /// A response with this status and no body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            message: Message::default(),
            schema: None,
            delay_ms: None,
        }
    }

    /// A JSON body, pretty-printed with a final newline, with
    /// `content-type: application/json`, saved as `file`. A value that cannot be JSON (a map
    /// with non-text keys) gives an empty body, which [`ScenarioFixture::files`] refuses.
    pub fn json(status: u16, file: &str, value: &impl Serialize) -> Self {
        let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
        if !bytes.is_empty() {
            bytes.push(b'\n');
        }
        Self::status(status)
            .header("content-type", "application/json")
            .body(file, bytes)
    }

    /// A text body with its content type (an HTML error page), saved as `file`.
    pub fn text(status: u16, file: &str, content_type: &str, text: &str) -> Self {
        Self::status(status)
            .header("content-type", content_type)
            .body(file, text)
    }

    /// A response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.message.set_header(name, value);
        self
    }

    /// The body, saved as `file`.
    pub fn body(mut self, file: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.message.set_body(file, bytes.into());
        self
    }

    /// Marks the body as following the channel's schema, or deliberately not.
    pub fn schema(mut self, mark: SchemaMark) -> Self {
        self.schema = Some(mark);
        self
    }

    /// Waits before answering.
    pub fn delay_ms(mut self, delay_ms: u64) -> Self {
        self.delay_ms = Some(delay_ms);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ExchangeFixture {
    times: Option<u64>,
    note: Option<String>,
    request: RequestFixture,
    response: ResponseFixture,
}

/// One scenario directory, described in Rust. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioFixture {
    name: String,
    description: String,
    kind: ScenarioKind,
    window: Option<(String, String)>,
    store: toml::Table,
    shipment: Option<ShipmentUpdate>,
    expect: Expect,
    exchanges: Vec<ExchangeFixture>,
}

impl ScenarioFixture {
    fn new(name: &str, description: &str, kind: ScenarioKind) -> Self {
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            kind,
            window: None,
            store: toml::Table::new(),
            shipment: None,
            expect: Expect::ok(),
            exchanges: Vec::new(),
        }
    }

    /// A fetch of the UTC window `from`..`to` (RFC 3339, such as `2026-03-01T00:00:00Z`),
    /// in the directory `name`, described for people (and the snapshot) by `description`.
    pub fn fetch(name: &str, description: &str, from: &str, to: &str) -> Self {
        let mut scenario = Self::new(name, description, ScenarioKind::Fetch);
        scenario.window = Some((from.to_owned(), to.to_owned()));
        scenario
    }

    /// A `push_shipment` of `update`.
    pub fn push_shipment(name: &str, description: &str, update: ShipmentUpdate) -> Self {
        let mut scenario = Self::new(name, description, ScenarioKind::PushShipment);
        scenario.shipment = Some(update);
        scenario
    }

    /// A `check_connection`.
    pub fn check_connection(name: &str, description: &str) -> Self {
        Self::new(name, description, ScenarioKind::CheckConnection)
    }

    /// The directory name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The store called.
    pub fn store(mut self, store: StoreFixture) -> Self {
        self.store = store.0;
        self
    }

    /// What the suite asserts (by default, that the call succeeds).
    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    /// The next exchange: a request the connector must make, and the response it gets.
    pub fn exchange(mut self, request: RequestFixture, response: ResponseFixture) -> Self {
        self.exchanges.push(ExchangeFixture {
            times: None,
            note: None,
            request,
            response,
        });
        self
    }

    /// The last exchange happens `times` times in a row.
    pub fn times(mut self, times: u64) -> Self {
        if let Some(last) = self.exchanges.last_mut() {
            last.times = Some(times);
        }
        self
    }

    /// A note on the last exchange, for people reading the fixture.
    pub fn note(mut self, note: &str) -> Self {
        if let Some(last) = self.exchanges.last_mut() {
            last.note = Some(note.to_owned());
        }
        self
    }

    /// Every file of the scenario directory, by name: `scenario.toml` and each body. Bodies
    /// that two exchanges share must be identical.
    pub fn files(&self) -> Result<BTreeMap<String, Vec<u8>>, RenderError> {
        let fail = |message: String| RenderError {
            scenario: self.name.clone(),
            message,
        };
        let mut files = BTreeMap::new();
        for exchange in &self.exchanges {
            for body in [
                &exchange.request.message.body,
                &exchange.response.message.body,
            ]
            .into_iter()
            .flatten()
            {
                if body.bytes.is_empty() {
                    return Err(fail(format!("{} would be empty", body.file)));
                }
                if body.file == SCENARIO_FILE || body.file.contains(['/', '\\']) {
                    return Err(fail(format!(
                        "{} is not a body file name (a plain name beside {SCENARIO_FILE})",
                        body.file
                    )));
                }
                match files.insert(body.file.clone(), body.bytes.clone()) {
                    Some(other) if other != body.bytes => {
                        return Err(fail(format!(
                            "two different bodies are both called {}",
                            body.file
                        )))
                    }
                    _ => {}
                }
            }
        }
        files.insert(SCENARIO_FILE.to_owned(), self.toml()?.into_bytes());
        Ok(files)
    }

    /// The `scenario.toml` text, in the section order docs/testing.md shows.
    fn toml(&self) -> Result<String, RenderError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| RenderError {
            scenario: self.name.clone(),
            message: format!("{what}: {e}"),
        };
        let mut out = String::new();
        let mut head = toml::Table::new();
        head.insert("description".into(), self.description.clone().into());
        let kind = toml::Value::try_from(self.kind).map_err(|e| fail("kind", &e))?;
        head.insert("kind".into(), kind);
        write_table(&mut out, None, &head);
        if let Some((from, to)) = &self.window {
            let mut window = toml::Table::new();
            window.insert("from".into(), from.clone().into());
            window.insert("to".into(), to.clone().into());
            write_table(&mut out, Some("window"), &window);
        }
        write_table(&mut out, Some("store"), &self.store);
        if let Some(update) = &self.shipment {
            let table = toml::Table::try_from(update).map_err(|e| fail("[shipment]", &e))?;
            write_table(&mut out, Some("shipment"), &table);
        }
        let expect = toml::Table::try_from(&self.expect).map_err(|e| fail("[expect]", &e))?;
        write_table(&mut out, Some("expect"), &expect);
        for exchange in &self.exchanges {
            out.push_str("\n[[exchange]]\n");
            let mut head = toml::Table::new();
            if let Some(times) = exchange.times {
                head.insert(
                    "times".into(),
                    i64::try_from(times).unwrap_or(i64::MAX).into(),
                );
            }
            if let Some(note) = &exchange.note {
                head.insert("note".into(), note.clone().into());
            }
            write_values(&mut out, &head);
            let request = &exchange.request;
            let mut table = toml::Table::new();
            table.insert("method".into(), request.method.clone().into());
            table.insert("path".into(), request.path.clone().into());
            if !request.query.is_empty() {
                table.insert("query".into(), query_table(&request.query).into());
            }
            request.message.insert_into(&mut table);
            write_inline_section(&mut out, "exchange.request", &table);
            let response = &exchange.response;
            let mut table = toml::Table::new();
            table.insert("status".into(), i64::from(response.status).into());
            response.message.insert_into(&mut table);
            if let Some(mark) = response.schema {
                let mark = toml::Value::try_from(mark).map_err(|e| fail("schema", &e))?;
                table.insert("schema".into(), mark);
            }
            if let Some(delay) = response.delay_ms {
                table.insert(
                    "delay_ms".into(),
                    i64::try_from(delay).unwrap_or(i64::MAX).into(),
                );
            }
            write_inline_section(&mut out, "exchange.response", &table);
        }
        Ok(out)
    }
}

/// Query parameters as TOML: one value a string, a repeated one an array.
fn query_table(query: &[(String, String)]) -> toml::Table {
    let mut table = toml::Table::new();
    for (name, value) in query {
        match table.get_mut(name) {
            None => {
                table.insert(name.clone(), value.clone().into());
            }
            Some(toml::Value::Array(values)) => values.push(value.clone().into()),
            Some(first) => {
                let earlier = first.clone();
                *first = toml::Value::Array(vec![earlier, value.clone().into()]);
            }
        }
    }
    table
}

fn text_table(map: &BTreeMap<String, String>) -> toml::Table {
    map.iter()
        .map(|(k, v)| (k.clone(), toml::Value::String(v.clone())))
        .collect()
}

/// A key as TOML writes it: bare when it can be, quoted otherwise.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        name.to_owned()
    } else {
        toml::Value::String(name.to_owned()).to_string()
    }
}

/// A value on one line: scalars as TOML writes them, arrays and tables inline.
fn inline(value: &toml::Value) -> String {
    match value {
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        toml::Value::Table(table) if table.is_empty() => "{}".to_owned(),
        toml::Value::Table(table) => {
            let pairs: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect();
            format!("{{ {} }}", pairs.join(", "))
        }
        scalar => scalar.to_string(),
    }
}

fn is_table_array(value: &toml::Value) -> bool {
    matches!(value, toml::Value::Array(items)
        if !items.is_empty() && items.iter().all(toml::Value::is_table))
}

/// Keys written first wherever they appear, in this order, so that a section starts with what
/// identifies it; the others follow by name.
const LEADING_KEYS: [&str; 9] = [
    "id",
    "name",
    "channel",
    "url",
    "method",
    "path",
    "status",
    "result",
    "order_number",
];

/// The table's entries, [`LEADING_KEYS`] first.
fn entries(table: &toml::Table) -> impl Iterator<Item = (&String, &toml::Value)> {
    let leading = LEADING_KEYS.iter().filter_map(|k| table.get_key_value(*k));
    let rest = table
        .iter()
        .filter(|(k, _)| !LEADING_KEYS.contains(&k.as_str()));
    leading.chain(rest)
}

/// The table's plain values (everything but sub-tables and arrays of tables), one a line.
fn write_values(out: &mut String, table: &toml::Table) {
    for (name, value) in entries(table) {
        if !value.is_table() && !is_table_array(value) {
            let _ = writeln!(out, "{} = {}", key(name), inline(value));
        }
    }
}

/// A section whose values, tables included, are all written inline.
fn write_inline_section(out: &mut String, path: &str, table: &toml::Table) {
    let _ = writeln!(out, "[{path}]");
    for (name, value) in entries(table) {
        let _ = writeln!(out, "{} = {}", key(name), inline(value));
    }
}

/// A table as a section (`None`: the document's top), its sub-tables as `[path.key]` sections
/// and its arrays of tables as `[[path.key]]` sections, after its own values.
fn write_table(out: &mut String, path: Option<&str>, table: &toml::Table) {
    if let Some(path) = path {
        let _ = writeln!(out, "\n[{path}]");
    }
    write_values(out, table);
    let child = |name: &str| match path {
        Some(path) => format!("{path}.{}", key(name)),
        None => key(name),
    };
    for (name, value) in table {
        if let toml::Value::Table(sub) = value {
            write_table(out, Some(&child(name)), sub);
        }
    }
    for (name, value) in table {
        if let (true, toml::Value::Array(items)) = (is_table_array(value), value) {
            for item in items {
                if let toml::Value::Table(sub) = item {
                    let _ = writeln!(out, "\n[[{}]]", child(name));
                    write_values(out, sub);
                }
            }
        }
    }
}

/// Writes every scenario (with `UPDATE_FIXTURES` set) or checks that the files on disk are what
/// the scenarios describe, under `fixtures` (the connector's fixture directory). See
/// [`sync_to`].
pub fn sync(fixtures: &Path, scenarios: &[ScenarioFixture]) -> Result<(), String> {
    sync_to(
        fixtures,
        scenarios,
        std::env::var_os(UPDATE_VARIABLE).is_some(),
    )
}

/// With `update`, writes each scenario's files into `fixtures/<name>/` and removes the files
/// there it no longer has (snapshots and `.md` notes are kept); without, reports every file
/// that differs from its description, is missing, or is left over, and says to run with
/// `UPDATE_FIXTURES=1`. Scenario directories no description names (recorded by hand) are left
/// alone.
pub fn sync_to(fixtures: &Path, scenarios: &[ScenarioFixture], update: bool) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut names: Vec<&str> = scenarios.iter().map(ScenarioFixture::name).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two scenarios are called {}", twice[0]));
    }
    for scenario in scenarios {
        let files = scenario.files().map_err(|e| e.to_string())?;
        let dir = fixtures.join(&scenario.name);
        let kept = |file: &str| file.ends_with(".snap") || file.ends_with(".md");
        let on_disk: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|f| !kept(f))
                    .collect()
            })
            .unwrap_or_default();
        if update {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for stale in on_disk.iter().filter(|f| !files.contains_key(*f)) {
                std::fs::remove_file(dir.join(stale))
                    .map_err(|e| format!("{}/{stale}: {e}", dir.display()))?;
            }
            for (file, bytes) in &files {
                let path = dir.join(file);
                if std::fs::read(&path).ok().as_ref() != Some(bytes) {
                    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                }
            }
            continue;
        }
        for (file, bytes) in &files {
            match std::fs::read(dir.join(file)) {
                Ok(found) if &found == bytes => {}
                Ok(_) => problems.push(format!("{}/{file} differs", scenario.name)),
                Err(_) => problems.push(format!("{}/{file} is missing", scenario.name)),
            }
        }
        for stale in on_disk.iter().filter(|f| !files.contains_key(*f)) {
            problems.push(format!("{}/{stale} is no longer described", scenario.name));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the fixtures in {} are not what their description says:\n  {}\nrun with {UPDATE_VARIABLE}=1 to rewrite them, and read the diff",
            fixtures.display(),
            problems.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use orderport_core::{OrderRef, ReasonCode, ShipmentKind, ShipmentScope, ShippedItem};
    use serde_json::json;

    use super::*;
    use crate::scenario::{ExpectedOrder, ResultKind, Scenario};

    fn store() -> StoreFixture {
        StoreFixture::new("shop-fixture", "Shop \"Fixture\" Store", "shop", "/api")
            .secret("api_key", "fixture-key")
            .secret("consumer_secret", "fixture-cs")
            .set("timezone", "America/Chicago")
    }

    fn update() -> ShipmentUpdate {
        ShipmentUpdate {
            order: OrderRef {
                external_id: Some("A-1".into()),
                order_number: "1001".into(),
            },
            carrier: "UPS".into(),
            service: Some("Ground".into()),
            tracking_number: "1Z".into(),
            ship_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            label_created_at: Some(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()),
            shipping_cost: Some("7.45".parse().unwrap()),
            notes_to_buyer: None,
            notify_customer: true,
            scope: ShipmentScope::Partial(vec![ShippedItem {
                line_id: Some("L1".into()),
                sku: "S-1".into(),
                name: None,
                quantity: 2,
            }]),
            kind: ShipmentKind::Label,
        }
    }

    #[test]
    fn a_fetch_round_trips_through_the_loader() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        let scenario = ScenarioFixture::fetch(
            "multi-page",
            "Two pages; \"quoted\" and\nmulti-line",
            "2026-03-01T00:00:00Z",
            "2026-03-02T00:00:00Z",
        )
        .store(store())
        .expect(
            Expect::ok()
                .counts(2, 1, 1)
                .order(ExpectedOrder::number("1001").times(at, at))
                .rejection("1002", "ship_to", ReasonCode::Missing),
        )
        .exchange(
            RequestFixture::get("/api/orders")
                .query("page", 1)
                .query("status", "a b")
                .query("status", "c")
                .header("Authorization", "Bearer fixture-key"),
            ResponseFixture::status(429).header("Retry-After", "1"),
        )
        .note("busy first")
        .times(2)
        .exchange(
            RequestFixture::get("/api/orders").query("page", 1),
            ResponseFixture::json(200, "page-1.json", &json!({"orders": [{"id": "A-1"}]}))
                .schema(SchemaMark::Lenient)
                .delay_ms(5),
        );
        let tmp = tempfile::tempdir().unwrap();
        sync_to(tmp.path(), std::slice::from_ref(&scenario), true).unwrap();
        let loaded = Scenario::load(&tmp.path().join("multi-page")).unwrap();
        assert_eq!(loaded.description, "Two pages; \"quoted\" and\nmulti-line");
        assert_eq!(loaded.kind, ScenarioKind::Fetch);
        assert_eq!(
            loaded.window.unwrap().from().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        let config = loaded
            .store_config("http://127.0.0.1:9", &toml::Table::new())
            .unwrap();
        assert_eq!(config.name, "Shop \"Fixture\" Store");
        assert_eq!(config.url, "http://127.0.0.1:9/api");
        assert_eq!(config.timezone.to_string(), "America/Chicago");
        assert!(config.secret("consumer_secret").is_some() && config.secrets.api_key.is_some());
        assert_eq!(loaded.expect.result, ResultKind::Ok);
        assert_eq!(
            (loaded.expect.pages, loaded.expect.accepted),
            (Some(2), Some(1))
        );
        assert_eq!(loaded.expect.order[0].ordered_at, Some(at));
        assert_eq!(loaded.expect.rejection[0].code, ReasonCode::Missing);
        let [busy, page] = loaded.exchanges.as_slice() else {
            panic!("two exchanges");
        };
        assert_eq!((busy.times, busy.note.as_deref()), (2, Some("busy first")));
        assert_eq!(
            busy.request.query,
            [
                ("page".to_owned(), "1".to_owned()),
                ("status".to_owned(), "a b".to_owned()),
                ("status".to_owned(), "c".to_owned())
            ]
        );
        assert_eq!(busy.request.headers["authorization"], "Bearer fixture-key");
        assert_eq!(busy.response.retry_after_secs(), Some(1));
        let body = page.response.body.as_ref().unwrap();
        assert_eq!(body.file, "page-1.json");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body.bytes).unwrap(),
            json!({"orders": [{"id": "A-1"}]})
        );
        assert_eq!(page.response.content_type(), Some("application/json"));
        assert_eq!(
            (page.response.schema, page.response.delay_ms),
            (Some(SchemaMark::Lenient), Some(5))
        );
        // The fixture passes the hygiene rules it is meant to.
        assert!(crate::hygiene::check_tree(tmp.path()).is_empty());
    }

    #[test]
    fn a_shipment_round_trips_with_its_exact_request_body() {
        #[derive(Serialize)]
        struct Wire<'a> {
            tracking: &'a str,
            zeta: u32,
            alpha: bool,
        }
        let wire = Wire {
            tracking: "1Z",
            zeta: 1,
            alpha: true,
        };
        let scenario =
            ScenarioFixture::push_shipment("shipment-partial", "A partial shipment", update())
                .store(store())
                .expect(Expect::result(ResultKind::InvalidShipment))
                .exchange(
                    RequestFixture::post("/api/orders/A-1/fulfillments")
                        .json("fulfillment.json", &wire)
                        .unwrap(),
                    ResponseFixture::status(201),
                );
        let files = scenario.files().unwrap();
        // Field order kept, compact, as the connector serializes it.
        assert_eq!(
            files["fulfillment.json"],
            br#"{"tracking":"1Z","zeta":1,"alpha":true}"#
        );
        let tmp = tempfile::tempdir().unwrap();
        sync_to(tmp.path(), std::slice::from_ref(&scenario), true).unwrap();
        let loaded = Scenario::load(&tmp.path().join("shipment-partial")).unwrap();
        assert_eq!(loaded.shipment, Some(update()));
        assert_eq!(loaded.expect.result, ResultKind::InvalidShipment);
        let request = &loaded.exchanges[0].request;
        assert_eq!(request.method, "POST");
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(request.body.as_ref().unwrap().file, "fulfillment.json");
    }

    #[test]
    fn checking_reports_drift_and_updating_fixes_it_keeping_snapshots_and_notes() {
        let scenario = ScenarioFixture::check_connection("ping", "A ping")
            .store(store())
            .exchange(
                RequestFixture::get("/api/ping"),
                ResponseFixture::json(200, "pong.json", &json!({"ok": true})),
            );
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ping");
        let err = sync_to(tmp.path(), std::slice::from_ref(&scenario), false).unwrap_err();
        assert!(
            err.contains("ping/scenario.toml is missing") && err.contains("UPDATE_FIXTURES=1"),
            "{err}"
        );
        sync_to(tmp.path(), std::slice::from_ref(&scenario), true).unwrap();
        std::fs::write(dir.join("pong.json"), "{}").unwrap();
        std::fs::write(dir.join("stale.json"), "{}").unwrap();
        std::fs::write(dir.join("notes.md"), "why").unwrap();
        std::fs::write(dir.join("outcomes.snap"), "kept").unwrap();
        let err = sync_to(tmp.path(), std::slice::from_ref(&scenario), false).unwrap_err();
        assert!(err.contains("ping/pong.json differs"), "{err}");
        assert!(
            err.contains("ping/stale.json is no longer described"),
            "{err}"
        );
        assert!(
            !err.contains("notes.md") && !err.contains("outcomes.snap"),
            "{err}"
        );
        sync_to(tmp.path(), std::slice::from_ref(&scenario), true).unwrap();
        sync_to(tmp.path(), std::slice::from_ref(&scenario), false).unwrap();
        assert!(!dir.join("stale.json").exists());
        assert!(dir.join("notes.md").exists() && dir.join("outcomes.snap").exists());
    }

    #[test]
    fn bad_descriptions_are_refused() {
        let twice = ScenarioFixture::check_connection("ping", "A ping");
        let err = sync_to(Path::new("/nonexistent"), &[twice.clone(), twice], false).unwrap_err();
        assert!(err.contains("two scenarios are called ping"), "{err}");
        let clash = ScenarioFixture::check_connection("ping", "A ping")
            .exchange(
                RequestFixture::get("/a"),
                ResponseFixture::json(200, "x.json", &1),
            )
            .exchange(
                RequestFixture::get("/b"),
                ResponseFixture::json(200, "x.json", &2),
            );
        assert!(clash
            .files()
            .unwrap_err()
            .message
            .contains("two different bodies"));
        let escape = ScenarioFixture::check_connection("ping", "A ping").exchange(
            RequestFixture::get("/a"),
            ResponseFixture::json(200, "../x.json", &1),
        );
        assert!(escape
            .files()
            .unwrap_err()
            .message
            .contains("not a body file name"));
    }
}
