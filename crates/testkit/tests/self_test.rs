//! The kit tested on itself: the replay engine, every conformance check against a conforming
//! toy connector, each check catching a connector broken on purpose, fixture hygiene, and the
//! schema marks.

mod toy;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;

use orderport_testkit::conformance::{self, Connector, REQUIRED_SCENARIOS};
use orderport_testkit::replay::UNEXPECTED_BODY;
use orderport_testkit::{hygiene, workspace_fixtures, Replay, Scenario};

fn toy_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/toy-shop")
}

fn toy(
    connect: fn(
        &orderport_core::StoreConfig,
    )
        -> Result<Box<dyn orderport_core::SellingChannel>, orderport_core::ConfigError>,
) -> Connector {
    Connector::new("toy-shop", connect, toy_fixtures())
}

/// A broken connector against a copy of the toy fixtures, so that the snapshots insta writes for
/// its wrong output (`.snap.new`) land in a temporary directory, not in the repository.
fn broken(
    connect: fn(
        &orderport_core::StoreConfig,
    )
        -> Result<Box<dyn orderport_core::SellingChannel>, orderport_core::ConfigError>,
) -> (tempfile::TempDir, Connector) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&toy_fixtures(), &tmp.path().join("toy-shop"));
    let connector = Connector::new("toy-shop", connect, tmp.path().join("toy-shop"));
    (tmp, connector)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().ends_with(".snap.new") {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn failure_text(result: conformance::CheckResult) -> String {
    match result {
        Ok(()) => panic!("the check passed; it should have failed"),
        Err(failures) => failures.to_string(),
    }
}

/// Writes a scenario directory with these files.
fn write_scenario(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

const ENGINE_SCENARIO: &str = r#"
description = "replay engine"
kind = "check_connection"

[store]
id = "s"
name = "S"
channel = "toy-shop"
url = "/api"
api_key = "fixture-key"

[expect]
result = "ok"

[[exchange]]
note = "first the server is busy"
[exchange.request]
method = "GET"
path = "/api/items"
query = { page = "1", filter = "a b" }
[exchange.response]
status = 429
headers = { retry-after = "1" }

[[exchange]]
[exchange.request]
method = "GET"
path = "/api/items"
query = { filter = "a b", page = "1" }
[exchange.response]
status = 200
body = "items.json"

[[exchange]]
[exchange.request]
method = "POST"
path = "/api/notes"
headers = { content-type = "text/plain" }
body = "note.txt"
[exchange.response]
status = 204
"#;

fn engine_scenario() -> (tempfile::TempDir, Scenario) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = write_scenario(
        tmp.path(),
        "engine",
        &[
            ("scenario.toml", ENGINE_SCENARIO),
            ("items.json", r#"{"items": []}"#),
            ("note.txt", "line one\nline two\n"),
        ],
    );
    let scenario = Scenario::load(&dir).unwrap();
    (tmp, scenario)
}

#[tokio::test]
async fn replay_serves_repeated_requests_in_order_and_matches_query_as_a_set() {
    let (_tmp, scenario) = engine_scenario();
    let replay = Replay::start(&scenario).await;
    let http = reqwest::Client::new();
    let items = format!("{}/api/items?page=1&filter=a+b", replay.uri());
    assert_eq!(http.get(&items).send().await.unwrap().status(), 429);
    // Same parameters in another order, spaces percent-encoded: still the same set.
    let reordered = format!("{}/api/items?filter=a%20b&page=1", replay.uri());
    let ok = http.get(&reordered).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), r#"{"items": []}"#);
    // CRLF line endings are normalized before bodies are compared.
    let note = http
        .post(format!("{}/api/notes", replay.uri()))
        .header("content-type", "text/plain")
        .body("line one\r\nline two\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 204);
    let report = replay.finish().await.unwrap();
    assert_eq!(report.requests, 3);
}

#[tokio::test]
async fn a_recorded_request_that_is_not_made_fails_the_replay() {
    let (_tmp, scenario) = engine_scenario();
    let replay = Replay::start(&scenario).await;
    let http = reqwest::Client::new();
    let items = format!("{}/api/items?page=1&filter=a+b", replay.uri());
    http.get(&items).send().await.unwrap();
    http.get(&items).send().await.unwrap();
    let mismatch = replay.finish().await.unwrap_err();
    assert!(mismatch.unexpected.is_empty(), "{mismatch}");
    assert_eq!(mismatch.missing.len(), 1, "{mismatch}");
    let text = mismatch.to_string();
    assert!(
        text.contains("POST /api/notes") && text.contains("made 0 time(s)"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unexpected_request_fails_the_replay_and_says_why() {
    let (_tmp, scenario) = engine_scenario();
    let replay = Replay::start(&scenario).await;
    let http = reqwest::Client::new();
    let base = replay.uri();
    http.get(format!("{base}/api/items?page=1&filter=a+b"))
        .send()
        .await
        .unwrap();
    http.get(format!("{base}/api/items?page=1&filter=a+b"))
        .send()
        .await
        .unwrap();
    // page=2 was not recorded, and a third call to page=1 is one too many.
    let stray = http
        .get(format!("{base}/api/items?page=2&filter=a+b"))
        .send()
        .await
        .unwrap();
    assert_eq!(stray.status(), 404);
    assert_eq!(stray.text().await.unwrap(), UNEXPECTED_BODY);
    http.get(format!("{base}/api/items?page=1&filter=a+b"))
        .send()
        .await
        .unwrap();
    // A body that differs from the recording.
    http.post(format!("{base}/api/notes"))
        .header("content-type", "text/plain")
        .body("line one\nline 2\n")
        .send()
        .await
        .unwrap();
    let mismatch = replay.finish().await.unwrap_err();
    let text = mismatch.to_string();
    assert_eq!(mismatch.unexpected.len(), 3, "{text}");
    assert!(
        text.contains(r#"query parameter page is ["2"], recorded "1""#),
        "{text}"
    );
    assert!(text.contains("already used"), "{text}");
    assert!(
        text.contains("body differs from note.txt") && text.contains("line 2"),
        "{text}"
    );
    assert_eq!(mismatch.missing.len(), 1, "{text}");
}

#[tokio::test]
async fn a_missing_header_or_an_extra_parameter_does_not_match() {
    let (_tmp, scenario) = engine_scenario();
    let replay = Replay::start(&scenario).await;
    let http = reqwest::Client::new();
    let base = replay.uri();
    http.get(format!("{base}/api/items?page=1&filter=a+b&debug=1"))
        .send()
        .await
        .unwrap();
    http.post(format!("{base}/api/notes"))
        .body("line one\nline two\n")
        .send()
        .await
        .unwrap();
    let text = replay.finish().await.unwrap_err().to_string();
    assert!(
        text.contains("query parameter debug=\"1\" was not recorded"),
        "{text}"
    );
    assert!(text.contains("header content-type is missing"), "{text}");
}

#[tokio::test]
async fn the_toy_connector_passes_the_whole_suite() {
    let started = Instant::now();
    conformance::run_conformance(&toy(toy::connect)).await;
    // The rate-limited scenario waits for its Retry-After; nothing else should be slow.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn a_connector_that_shows_its_secret_fails_bad_credentials() {
    let text = {
        let (_tmp, connector) = broken(toy::connect_leaky);
        failure_text(conformance::check_bad_credentials(&connector).await)
    };
    assert!(text.contains("shows a store secret"), "{text}");
}

#[tokio::test]
async fn a_connector_that_ignores_retry_after_fails_rate_limited() {
    let text = {
        let (_tmp, connector) = broken(toy::connect_impatient);
        failure_text(conformance::check_rate_limited(&connector).await)
    };
    assert!(text.contains("the header is not honoured"), "{text}");
}

#[tokio::test]
async fn a_connector_that_follows_redirects_or_takes_plain_http_fails_the_hostile_checks() {
    let (_tmp, connector) = broken(toy::connect_trusting);
    let text = failure_text(orderport_testkit::hostile::check_redirects(&connector).await);
    assert!(text.contains("the redirect was followed"), "{text}");
    let text = failure_text(orderport_testkit::hostile::check_insecure_http(&connector).await);
    assert!(
        text.contains("was accepted without allow_insecure_http"),
        "{text}"
    );
}

#[tokio::test]
async fn a_connector_that_stops_after_one_page_fails_multi_page() {
    let text = {
        let (_tmp, connector) = broken(toy::connect_first_page_only);
        failure_text(conformance::check_multi_page(&connector).await)
    };
    assert!(
        text.contains("missing: exchange #2 GET /api/orders"),
        "{text}"
    );
    assert!(text.contains("expected 3 accepted orders, got 2"), "{text}");
    assert!(text.contains("at least 2 pages"), "{text}");
}

#[tokio::test]
async fn a_connector_that_ignores_the_store_zone_fails_dst_window() {
    let text = {
        let (_tmp, connector) = broken(toy::connect_utc_only);
        failure_text(conformance::check_dst_window(&connector).await)
    };
    assert!(
        text.contains("order 2001: expected ordered_at 2026-03-08T03:56:00+00:00, got 2026-03-07T21:56:00+00:00"),
        "{text}"
    );
}

#[tokio::test]
async fn the_layout_check_lists_missing_scenarios_and_stray_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("toy-shop");
    let dir = toy_fixtures().join("empty-window");
    let copy = root.join("empty-window");
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["scenario.toml", "page-1.json", "outcomes.snap"] {
        std::fs::copy(dir.join(file), copy.join(file)).unwrap();
    }
    std::fs::write(copy.join("page-9.json"), "{}").unwrap();
    std::fs::write(copy.join("outcomes.snap.new"), "pending").unwrap();
    std::fs::create_dir_all(root.join("no-scenario")).unwrap();
    let connector = Connector::new("toy-shop", toy::connect, &root);
    let text = failure_text(conformance::check_layout(&connector).await);
    for required in REQUIRED_SCENARIOS.iter().filter(|r| **r != "empty-window") {
        assert!(
            text.contains(&format!("required scenario {required}/ is missing")),
            "{text}"
        );
    }
    assert!(
        text.contains("empty-window/page-9.json is not used"),
        "{text}"
    );
    assert!(
        text.contains("outcomes.snap.new is a snapshot pending review"),
        "{text}"
    );
    assert!(text.contains("no-scenario/ has no scenario.toml"), "{text}");
}

#[test]
fn every_fixture_in_the_repository_is_clean() {
    for root in [workspace_fixtures(), toy_fixtures()] {
        if root.exists() {
            conformance::check_fixture_tree(&root).unwrap();
        }
    }
}

#[test]
fn the_hygiene_check_catches_real_looking_data() {
    let tmp = tempfile::tempdir().unwrap();
    write_scenario(
        tmp.path(),
        "leaky",
        &[
            (
                "scenario.toml",
                r#"
description = "leaky"
kind = "fetch"
[store]
id = "s"
name = "S"
channel = "toy-shop"
url = "/api"
username = "vendor"
password = "hunter2"
api_key_env = "REAL_KEY"
[expect]
result = "ok"
[[exchange]]
[exchange.request]
method = "GET"
path = "/api"
query = { SS-Password = "hunter2", page = "1" }
headers = { Authorization = "Basic dmVuZG9yOmh1bnRlcjI=" }
[exchange.response]
status = 200
body = "page.xml"
"#,
            ),
            (
                "page.xml",
                "<Email>jane.doe@gmail.com</Email>\n<Email>ok@shop.example.net</Email>\n\
                 <Phone>(312) 867-5309</Phone>\n<Phone>312-555-0142</Phone>\n<Phone></Phone>\n",
            ),
            ("notes.md", "Call me at +1 415 123 4567.\n"),
        ],
    );
    let violations = hygiene::check_tree(tmp.path());
    let report: Vec<String> = violations.iter().map(ToString::to_string).collect();
    let has = |rule: hygiene::HygieneRule, needle: &str| {
        violations
            .iter()
            .any(|v| v.rule == rule && v.to_string().contains(needle))
    };
    assert!(
        has(
            hygiene::HygieneRule::StoreSecret,
            "password must start with"
        ),
        "{report:#?}"
    );
    assert!(
        has(hygiene::HygieneRule::StoreSecret, "api_key_env"),
        "{report:#?}"
    );
    assert!(
        has(hygiene::HygieneRule::CredentialParameter, "SS-Password"),
        "{report:#?}"
    );
    assert!(
        has(hygiene::HygieneRule::Authorization, "Basic credentials"),
        "{report:#?}"
    );
    assert!(
        has(hygiene::HygieneRule::Email, "jane.doe@gmail.com"),
        "{report:#?}"
    );
    assert!(
        has(hygiene::HygieneRule::Phone, "page.xml:3"),
        "{report:#?}"
    );
    assert!(
        has(hygiene::HygieneRule::Phone, "notes.md:1"),
        "{report:#?}"
    );
    // The fictional number, the reserved domain and the empty phone pass.
    assert!(
        !report
            .iter()
            .any(|r| r.contains(":4:") || r.contains(":5:") || r.contains("shop.example.net")),
        "{report:#?}"
    );
    assert_eq!(violations.len(), 7, "{report:#?}");
}

#[test]
fn named_secrets_are_held_to_the_fixture_rules_and_searched_in_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode("fixture-ck:fixture-cs");
    let text = format!(
        r#"
description = "named"
kind = "check_connection"
[store]
id = "s"
name = "S"
channel = "toy-shop"
url = "/api"
[store.secrets]
consumer_key = "fixture-ck"
consumer_secret = "fixture-cs"
webhook_secret = "whsec_live_1234"
token_env = "REAL_TOKEN"
[expect]
result = "ok"
[[exchange]]
[exchange.request]
method = "GET"
path = "/api"
headers = {{ Authorization = "Basic {basic}" }}
[exchange.response]
status = 200
"#
    );
    let dir = write_scenario(tmp.path(), "named", &[("scenario.toml", &text)]);
    let violations = hygiene::check_tree(tmp.path());
    let report: Vec<String> = violations.iter().map(ToString::to_string).collect();
    // The Basic header decodes to the named secrets, so it passes; the live-looking secret and
    // the environment variable do not.
    assert_eq!(violations.len(), 2, "{report:#?}");
    assert!(
        report[0].contains("[store.secrets] token_env: fixtures carry an inline"),
        "{report:#?}"
    );
    assert!(
        report[1].contains("[store.secrets] webhook_secret must start with \"fixture-\""),
        "{report:#?}"
    );
    // The secrets a check searches errors for include the named ones.
    std::fs::write(
        dir.join("scenario.toml"),
        text.replace("token_env = \"REAL_TOKEN\"\n", ""),
    )
    .unwrap();
    let store = Scenario::load(&dir)
        .unwrap()
        .store_config("http://127.0.0.1:9", &toml::Table::new())
        .unwrap();
    let mut secrets = conformance::store_secrets(&store);
    secrets.sort();
    assert_eq!(secrets, ["fixture-ck", "fixture-cs", "whsec_live_1234"]);
}

const TINY_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="Orders"><xs:complexType><xs:sequence>
    <xs:element name="Order" type="xs:int" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#;

fn marked_scenario(marks: &[(&str, Option<&str>, &str)]) -> String {
    let mut text = String::from(
        "description = \"marks\"\nkind = \"check_connection\"\n[store]\nid = \"s\"\nname = \"S\"\n\
         channel = \"toy-shop\"\nurl = \"/api\"\napi_key = \"fixture-key\"\n[expect]\nresult = \"ok\"\n",
    );
    for (file, mark, _) in marks {
        text.push_str(&format!(
            "[[exchange]]\n[exchange.request]\nmethod = \"GET\"\npath = \"/api/{file}\"\n\
             [exchange.response]\nstatus = 200\nheaders = {{ content-type = \"application/xml\" }}\nbody = \"{file}\"\n"
        ));
        if let Some(mark) = mark {
            text.push_str(&format!("schema = \"{mark}\"\n"));
        }
    }
    text
}

#[tokio::test]
async fn schema_marks_must_be_honest() {
    let tmp = tempfile::tempdir().unwrap();
    let xsd = tmp.path().join("tiny.xsd");
    std::fs::write(&xsd, TINY_XSD).unwrap();
    let bodies: [(&str, Option<&str>, &str); 5] = [
        (
            "strict-ok.xml",
            Some("strict"),
            "<Orders><Order>1</Order></Orders>",
        ),
        (
            "lenient-ok.xml",
            Some("lenient"),
            "<Orders><Order><![CDATA[ 1 ]]></Order><Extra/></Orders>",
        ),
        (
            "strict-bad.xml",
            Some("strict"),
            "<Orders><Order>one</Order></Orders>",
        ),
        (
            "lenient-bad.xml",
            Some("lenient"),
            "<Orders><Order>2</Order></Orders>",
        ),
        ("unmarked.xml", None, "<Orders/>"),
    ];
    let mut files: Vec<(&str, &str)> = bodies.iter().map(|(f, _, body)| (*f, *body)).collect();
    let scenario = marked_scenario(&bodies);
    files.push(("scenario.toml", &scenario));
    let root = tmp.path().join("fixtures");
    write_scenario(&root, "marks", &files);
    let connector = Connector::new("toy-shop", toy::connect, &root).with_schema(&xsd);
    let text = failure_text(conformance::check_schema_marks(&connector).await);
    assert!(
        text.contains("marks/strict-bad.xml is marked strict but does not validate"),
        "{text}"
    );
    assert!(
        text.contains("marks/lenient-bad.xml is marked lenient but validates"),
        "{text}"
    );
    assert!(
        text.contains("exchange #5 GET /api/unmarked.xml -> 200 returns XML without schema"),
        "{text}"
    );
    assert!(
        !text.contains("strict-ok") && !text.contains("lenient-ok"),
        "{text}"
    );
    assert_eq!(text.matches("\n  [schema]").count(), 3, "{text}");

    // Marks without a schema are refused too.
    let unschemed = Connector::new("toy-shop", toy::connect, &root);
    let text = failure_text(conformance::check_schema_marks(&unschemed).await);
    assert!(text.contains("the connector declares no schema"), "{text}");
}

#[test]
fn vendored_schemas_are_exempt_but_only_with_their_licence() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = tmp.path().join("acme/schema");
    std::fs::create_dir_all(&schema).unwrap();
    std::fs::write(
        schema.join("api.json"),
        r#"{"contact": "developers@acme-real.com"}"#,
    )
    .unwrap();
    // Without a LICENSE beside it, the directory is ordinary fixture data and is checked.
    let violations = orderport_testkit::hygiene::check_tree(tmp.path());
    assert_eq!(violations.len(), 1, "{violations:?}");
    // With the publisher's LICENSE it is a verbatim third-party copy and is skipped.
    std::fs::write(schema.join("LICENSE"), "MIT").unwrap();
    assert!(orderport_testkit::hygiene::check_tree(tmp.path()).is_empty());
}
