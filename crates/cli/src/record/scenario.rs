//! The recorded scenario in the test kit's format ([`ScenarioFixture`]): a `fetch` of the
//! window, the store as a fixture store, one exchange per attempt in the order they ended, each
//! body in a file named after its call, and `[expect]` from how the walk ended.
//!
//! The fixture's store is `recorded-store` ("Recorded Store") on the channel, its `url` the
//! path of the store's URL, its user name and secrets the fixture ones
//! ([`StoreIdentity`]), and every other setting as the store had it, except:
//!
//! - a setting holding an absolute URL is left out (a fixture's only address is its `url`);
//! - `pages_ahead` and `allow_insecure_http` are left out (the kit walks one page at a time,
//!   on loopback);
//! - retries wait 10 ms at first (`retry_base_delay_ms`), so that the fixture replays quickly;
//!   where the store does not set them, `retry_max_attempts` is at least the most attempts a
//!   call took and `retry_max_delay_ms` at least the longest `Retry-After` recorded.

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::anyhow;
use orderport::config::DEFAULT_MAX_PAGES_PER_WINDOW;
use orderport::toml;
use orderport::{ChannelError, StoreConfig, TimeWindow, UnmappedPolicy};
use orderport_testkit::fixture::{RequestFixture, ResponseFixture, ScenarioFixture, StoreFixture};
use orderport_testkit::pseudonym::BodyFormat;
use orderport_testkit::scenario::Expect;
use orderport_testkit::xsd::XsdSchema;
use orderport_testkit::{ResultKind, SchemaMark};

use super::exchange::Exchange;
use super::identity::StoreIdentity;
use super::pseudonyms::{reply_format, request_format};

/// The fixture store's id.
pub const FIXTURE_STORE_ID: &str = "recorded-store";

/// The fixture store's name.
pub const FIXTURE_STORE_NAME: &str = "Recorded Store";

/// How the walk ended: its counts, or the error that ended it.
#[derive(Debug)]
pub struct Walked {
    /// Pages returned.
    pub pages: usize,
    /// Orders accepted.
    pub accepted: usize,
    /// Orders rejected.
    pub rejected: usize,
    /// The error that ended the walk, if one did.
    pub error: Option<ChannelError>,
}

impl Walked {
    /// The `[expect]` of the scenario: the result, and for a whole walk the counts.
    pub fn expect(&self) -> Result<Expect, anyhow::Error> {
        match &self.error {
            None => Ok(Expect::ok().counts(self.pages, self.accepted, self.rejected)),
            Some(error) => match ResultKind::of::<()>(&Err(error.clone())) {
                ResultKind::Other => Err(anyhow!(
                    "the walk ended with an error the test kit cannot expect: {error}"
                )),
                kind => Ok(Expect::result(kind)),
            },
        }
    }
}

/// What the scenario is made of.
#[derive(Debug)]
pub struct Recording<'a> {
    /// The scenario's directory name.
    pub name: &'a str,
    /// What it shows, for people and the snapshot.
    pub description: &'a str,
    /// The window walked.
    pub window: TimeWindow,
    /// The store as configured (without its `sync_*` settings).
    pub config: &'a StoreConfig,
    /// Its identifying values.
    pub identity: &'a StoreIdentity,
    /// The exchanges, cleared and pseudonymized.
    pub exchanges: &'a [Exchange],
    /// How the walk ended.
    pub walked: &'a Walked,
    /// The channel's published schema, to mark XML replies strict or lenient.
    pub schema: Option<&'a XsdSchema>,
}

/// The scenario, and the settings left out of its store (by name).
pub fn scenario(
    recording: &Recording<'_>,
) -> Result<(ScenarioFixture, Vec<String>), anyhow::Error> {
    let (store, left_out) = store(recording);
    let mut fixture = ScenarioFixture::fetch(
        recording.name,
        recording.description,
        &recording
            .window
            .from()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        &recording
            .window
            .to()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
    .store(store)
    .expect(recording.walked.expect()?);
    let mut bodies: BTreeMap<String, usize> = BTreeMap::new();
    for exchange in recording.exchanges {
        let mut request = RequestFixture::new(&exchange.method, &exchange.path);
        for field in &exchange.query {
            request = request.query(&field.name, &field.value);
        }
        for field in &exchange.headers {
            request = request.header(&field.name, &field.value);
        }
        // One name for the request's and the reply's body of an exchange.
        let stem = if exchange.body.is_some() || !exchange.reply_body.is_empty() {
            file_stem(&exchange.operation, &mut bodies)
        } else {
            String::new()
        };
        if let Some(body) = &exchange.body {
            let ext = extension(
                request_format(exchange, body),
                exchange.header("content-type"),
            );
            request = request.body(&format!("{stem}-request.{ext}"), body.clone());
        }
        let mut response = ResponseFixture::status(exchange.status);
        for field in &exchange.reply_headers {
            response = response.header(&field.name, &field.value);
        }
        if !exchange.reply_body.is_empty() {
            let format = reply_format(exchange);
            let ext = extension(format, exchange.reply_header("content-type"));
            response = response.body(&format!("{stem}.{ext}"), exchange.reply_body.clone());
            if let Some(mark) = schema_mark(recording.schema, exchange)? {
                response = response.schema(mark);
            }
        }
        fixture = fixture.exchange(request, response);
        if let Some(note) = note(exchange) {
            fixture = fixture.note(&note);
        }
    }
    Ok((fixture, left_out))
}

/// The fixture store, and the settings left out.
fn store(recording: &Recording<'_>) -> (StoreFixture, Vec<String>) {
    let config = recording.config;
    let identity = recording.identity;
    let url_path = url::Url::parse(&config.url).map_or_else(
        |_| "/".to_owned(),
        |url| {
            let query: Vec<String> = url
                .query_pairs()
                .map(|(k, v)| {
                    let pair = [(k.into_owned(), identity.value(&v))];
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pair)
                        .finish()
                })
                .collect();
            let path = identity.path(url.path());
            if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            }
        },
    );
    let mut store = StoreFixture::new(
        FIXTURE_STORE_ID,
        FIXTURE_STORE_NAME,
        &config.channel,
        &url_path,
    );
    if let Some(user) = identity.fixture_username() {
        store = store.set("username", user);
    }
    for (name, value) in identity.fixture_secrets() {
        store = store.secret(name, value);
    }
    store = store.set("timezone", config.timezone.to_string());
    if let UnmappedPolicy::Use(status) = config.unmapped_status {
        store = store.set("unmapped_status", status.to_string());
    }
    if let Ok(toml::Value::String(matching)) = toml::Value::try_from(config.status_match) {
        if matching != "case_sensitive" {
            store = store.set("status_match", matching);
        }
    }
    if let Some(map) = &config.status_map {
        let table: toml::Table = map
            .iter()
            .map(|(status, raws)| (status.to_string(), toml::Value::from(raws.clone())))
            .collect();
        store = store.set("status_map", table);
    }
    if config.max_pages_per_window != DEFAULT_MAX_PAGES_PER_WINDOW {
        store = store.set(
            "max_pages_per_window",
            i64::from(config.max_pages_per_window),
        );
    }
    let mut left_out = Vec::new();
    for (key, value) in &config.settings {
        match value {
            toml::Value::String(text) if text.contains("://") => left_out.push(key.clone()),
            toml::Value::String(text) => store = store.set(key, identity.value(text)),
            other => store = store.set(key, other.clone()),
        }
    }
    store = store.set("retry_base_delay_ms", 10);
    let attempts = recording
        .exchanges
        .iter()
        .map(|e| e.attempt)
        .max()
        .unwrap_or(1);
    if !config.settings.contains_key("retry_max_attempts") {
        store = store.set("retry_max_attempts", i64::from(attempts.max(3)));
    }
    if !config.settings.contains_key("retry_max_delay_ms") {
        let now = SystemTime::now();
        let longest = recording
            .exchanges
            .iter()
            .filter_map(|e| e.reply_header("retry-after"))
            .filter_map(|v| orderport::http::retry_after::parse(v, now))
            .max()
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        store = store.set("retry_max_delay_ms", longest.max(2000));
    }
    (store, left_out)
}

/// The next body file's name without its extension: the call's name (lower-case letters,
/// digits and hyphens), and how many bodies that call had so far: `export-1`, `export-2`.
fn file_stem(operation: &str, bodies: &mut BTreeMap<String, usize>) -> String {
    let mut name = String::new();
    for c in operation.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name
        .trim_end_matches('-')
        .chars()
        .take(40)
        .collect::<String>();
    if name.is_empty() {
        name = "reply".to_owned();
    }
    let count = bodies.entry(name.clone()).or_default();
    *count += 1;
    format!("{}-{count}", name.trim_end_matches('-'))
}

/// A body file's extension by what it holds.
fn extension(format: BodyFormat, content_type: Option<&str>) -> &'static str {
    match format {
        BodyFormat::Xml => "xml",
        BodyFormat::Json => "json",
        BodyFormat::Text
            if content_type.is_some_and(|t| t.to_ascii_lowercase().contains("html")) =>
        {
            "html"
        }
        _ => "txt",
    }
}

/// With the channel's schema, a successful XML reply is marked strict when it validates and
/// lenient when it does not; a body the validator could not judge fails the recording.
fn schema_mark(
    schema: Option<&XsdSchema>,
    exchange: &Exchange,
) -> Result<Option<SchemaMark>, anyhow::Error> {
    let xml = exchange
        .reply_header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("xml"));
    let Some(schema) = schema.filter(|_| xml && (200..300).contains(&exchange.status)) else {
        return Ok(None);
    };
    match schema.validate(&exchange.reply_body) {
        Ok(()) => Ok(Some(SchemaMark::Strict)),
        Err(e) if e.is_verdict() => Ok(Some(SchemaMark::Lenient)),
        Err(e) => Err(anyhow!(
            "the {} reply (attempt {}) could not be checked against the schema: {}",
            exchange.operation,
            exchange.attempt,
            e
        )),
    }
}

/// A note for people reading the fixture: a retried call, or a body cut as the client read it.
fn note(exchange: &Exchange) -> Option<String> {
    let mut parts = Vec::new();
    if exchange.attempt > 1 {
        parts.push(format!(
            "{}, attempt {}",
            exchange.operation, exchange.attempt
        ));
    }
    if !exchange.complete {
        parts.push(format!(
            "the reply's body is cut where the client stopped reading it ({} bytes)",
            exchange.reply_body.len()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use orderport::{CanonicalStatus, StatusMatch, StoresFile};
    use orderport_testkit::Scenario;

    use super::super::exchange::Field;
    use super::*;

    fn field(name: &str, value: &str) -> Field {
        Field {
            name: name.into(),
            value: value.into(),
            credential: false,
        }
    }

    #[test]
    fn the_fixture_store_keeps_the_settings_and_takes_the_fixture_identity() {
        let file = StoresFile::parse(
            "[[store]]\nid = \"acme-live\"\nname = \"ACME Outdoor\"\nchannel = \"order-time\"\n\
             url = \"https://acme.ordertime.test/api\"\nusername = \"ops@acme.test\"\n\
             api_key = \"live-key\"\ntimezone = \"America/Denver\"\nunmapped_status = \"on_hold\"\n\
             status_match = \"case_insensitive\"\nmax_pages_per_window = 50\npages_ahead = 2\n\
             custom_store_url = \"https://acme.ordertime.test/ss\"\npage_size = 20\n\
             [store.status_map]\nshipped = [\"sent\"]\n",
            &|_| None,
        )
        .unwrap();
        let config = &file.stores[0];
        let identity = StoreIdentity::of(config);
        let exchange = Exchange {
            operation: "list ship docs".into(),
            attempt: 4,
            method: "POST".into(),
            path: "/api/list".into(),
            query: Vec::new(),
            headers: vec![field("content-type", "application/json")],
            body: Some(b"{}".to_vec()),
            status: 429,
            reply_headers: vec![field("retry-after", "7")],
            reply_body: Vec::new(),
            complete: false,
        };
        let walked = Walked {
            pages: 0,
            accepted: 0,
            rejected: 0,
            error: None,
        };
        let window = TimeWindow::new(
            "2026-03-01T00:00:00Z".parse().unwrap(),
            "2026-03-02T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        let recording = Recording {
            name: "rec",
            description: "A recording",
            window,
            config,
            identity: &identity,
            exchanges: std::slice::from_ref(&exchange),
            walked: &walked,
            schema: None,
        };
        let (fixture, left_out) = scenario(&recording).unwrap();
        assert_eq!(left_out, ["custom_store_url"]);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("rec");
        std::fs::create_dir(&dir).unwrap();
        for (name, bytes) in fixture.files().unwrap() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let loaded = Scenario::load(&dir).unwrap();
        let store = loaded
            .store_config("http://127.0.0.1:9", &toml::Table::new())
            .unwrap();
        assert_eq!(
            (store.id.as_str(), store.name.as_str()),
            (FIXTURE_STORE_ID, FIXTURE_STORE_NAME)
        );
        assert_eq!(store.url, "http://127.0.0.1:9/api");
        assert_eq!(store.username.as_deref(), Some("fixture-user@example.com"));
        assert!(store.secret("api_key").is_some_and(|k| {
            orderport::secrecy::ExposeSecret::expose_secret(k) == "fixture-api-key"
        }));
        assert_eq!(store.timezone.to_string(), "America/Denver");
        assert_eq!(
            store.unmapped_status,
            UnmappedPolicy::Use(CanonicalStatus::OnHold)
        );
        assert_eq!(store.status_match, StatusMatch::CaseInsensitive);
        assert_eq!(
            store.status_map.as_ref().unwrap()[&CanonicalStatus::Shipped],
            ["sent"]
        );
        assert_eq!(store.max_pages_per_window, 50);
        assert_eq!(store.pages_ahead, orderport::config::DEFAULT_PAGES_AHEAD);
        let setting = |key: &str| store.settings.get(key).cloned();
        assert_eq!(setting("page_size"), Some(toml::Value::Integer(20)));
        assert_eq!(setting("custom_store_url"), None);
        // Fast retries, enough attempts for the call that took four, a wait for Retry-After: 7.
        assert_eq!(
            setting("retry_base_delay_ms"),
            Some(toml::Value::Integer(10))
        );
        assert_eq!(setting("retry_max_attempts"), Some(toml::Value::Integer(4)));
        assert_eq!(
            setting("retry_max_delay_ms"),
            Some(toml::Value::Integer(7000))
        );
        let recorded = &loaded.exchanges[0];
        assert_eq!(
            recorded.request.body.as_ref().unwrap().file,
            "list-ship-docs-1-request.json"
        );
        assert!(recorded.response.body.is_none());
        assert_eq!(
            recorded.note.as_deref(),
            Some("list ship docs, attempt 4; the reply's body is cut where the client stopped reading it (0 bytes)")
        );
        let text = String::from_utf8(fixture.files().unwrap()["scenario.toml"].clone()).unwrap();
        for gone in ["acme", "live-key", "ACME"] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
    }

    #[test]
    fn body_files_are_named_after_their_call() {
        let mut bodies = BTreeMap::new();
        assert_eq!(file_stem("export", &mut bodies), "export-1");
        assert_eq!(file_stem("export", &mut bodies), "export-2");
        assert_eq!(
            file_stem("get ship doc 1042", &mut bodies),
            "get-ship-doc-1042-1"
        );
        assert_eq!(file_stem("../x", &mut bodies), "x-1");
        assert_eq!(file_stem("", &mut bodies), "reply-1");
        assert_eq!(extension(BodyFormat::Text, Some("text/html")), "html");
        assert_eq!(extension(BodyFormat::Text, None), "txt");
    }
}
