//! `orderport record` against the channel simulators: each channel recorded, the recording
//! replayed by the test kit as a connector's own scenario, no personal value nor credential of
//! the store left in any file, and the pseudonyms stable; and the refusals that write nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use orderport_sim::chrono::{Duration, TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, SimStore, Tz};
use orderport_testkit::conformance::{
    check_connector_scenarios, check_hygiene, check_schema_marks,
};
use orderport_testkit::{workspace_fixtures, Connector};
use serde_json::Value;

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the orderport binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn schema() -> PathBuf {
    workspace_fixtures().join("custom-store/schema/orders.xsd")
}

/// The channel each simulated transport is recorded as, and how.
struct Case {
    flavor: Flavor,
    /// Order Time over its REST API instead of its Custom Store endpoint.
    rest: bool,
    faults: Faults,
    /// The test kit's connector id.
    channel: &'static str,
}

/// Every personal value of an order as the connector imported it: (field, value).
fn personal(order: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut take = |field: String, value: &Value| {
        if let Some(v) = value.as_str().filter(|v| !v.trim().is_empty()) {
            found.push((field, v.to_owned()));
        }
    };
    for key in ["code", "email", "phone"] {
        take(format!("customer.{key}"), &order["customer"][key]);
    }
    for address in ["bill_to", "ship_to"] {
        for key in [
            "name", "company", "address1", "address2", "address3", "phone", "email",
        ] {
            take(format!("{address}.{key}"), &order[address][key]);
        }
    }
    found
}

/// The accepted orders of a snapshot, by order number.
fn snapshot_orders(snapshot: &str) -> BTreeMap<String, Value> {
    let json = snapshot.splitn(3, "---\n").nth(2).unwrap();
    let entries: Vec<Value> = serde_json::from_str(json).unwrap();
    entries
        .into_iter()
        .filter(|e| e["outcome"] == "accepted")
        .map(|e| {
            (
                e["order"]["order_number"].as_str().unwrap().to_owned(),
                e["order"].clone(),
            )
        })
        .collect()
}

async fn record(case: Case) -> BTreeMap<String, String> {
    let tmp = tempfile::tempdir().unwrap();
    let clock = SimClock::fixed(Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap());
    let sim = ChannelSim::start(
        case.flavor,
        GeneratorConfig {
            days: 3,
            orders_per_day: 25,
            invalid_share: 0.1,
            timezone: Tz::America__Chicago,
            ..GeneratorConfig::default()
        },
        case.faults,
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    sim.set_page_size(20);
    // Order Time's REST list pages hold 20 ship docs, as the exports do.
    let toml = if case.rest {
        sim.rest_stores_toml().replace(
            "request_timeout_secs",
            "page_size = 20\nrequest_timeout_secs",
        )
    } else {
        sim.stores_toml()
    };
    std::fs::write(tmp.path().join("stores.toml"), &toml).unwrap();
    let store: SimStore = sim.stores()[0].clone();
    let from = (clock.now() - Duration::days(2)).to_rfc3339();
    let to = clock.now().to_rfc3339();

    // The store's own data, as the connector imports it.
    let import = run(
        tmp.path(),
        &[
            "import",
            "--config",
            "stores.toml",
            "--store",
            &store.id,
            "--from",
            &from,
            "--to",
            &to,
        ],
    );
    assert!(import.status.success(), "{}", text(&import));
    let originals: BTreeMap<String, Value> = String::from_utf8_lossy(&import.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|o| (o["order_number"].as_str().unwrap().to_owned(), o))
        .collect();
    assert!(originals.len() > 20, "{} orders", originals.len());

    let fixtures = tmp.path().join("fixtures");
    let out = fixtures.join("recorded-window");
    let mut args = vec![
        "--json",
        "record",
        "--config",
        "stores.toml",
        "--store",
        &store.id,
        "--from",
        &from,
        "--to",
        &to,
        "--out",
    ];
    let out_arg = out.to_string_lossy().into_owned();
    args.push(&out_arg);
    let schema = schema().to_string_lossy().into_owned();
    if !case.rest {
        args.extend(["--schema", &schema]);
    }
    let recorded = run(tmp.path(), &args);
    assert!(recorded.status.success(), "{}", text(&recorded));
    let report: Value = serde_json::from_slice(&recorded.stdout).unwrap();
    assert_eq!(report["result"], "ok", "{report}");
    assert_eq!(report["accepted"], originals.len(), "{report}");
    assert!(report["pages"].as_u64().unwrap() >= 2, "{report}");
    assert!(
        report["pseudonyms"]["name"].as_u64().unwrap() > 0,
        "{report}"
    );

    // Replayed by the kit as a connector's own scenario: requests, [expect] and the snapshot;
    // the hygiene rules; and, for Custom Store, the schema marks.
    let mut connector = Connector::new(case.channel, orderport::connect, &fixtures);
    if !case.rest {
        connector = connector.with_schema(schema.clone());
    }
    check_connector_scenarios(&connector).await.unwrap();
    check_hygiene(&connector).await.unwrap();
    check_schema_marks(&connector).await.unwrap();

    // No personal value of the store, nor any credential, in any file written.
    let files: BTreeMap<String, String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    assert!(files.contains_key("scenario.toml") && files.contains_key("outcomes.snap"));
    let mut secrets = vec![store.username.clone(), store.password.clone()];
    secrets.extend(store.api_key.clone());
    secrets.extend(store.dev_key.clone());
    let basic = base64::engine::general_purpose::STANDARD;
    let credentials: Vec<String> = secrets
        .iter()
        .cloned()
        .chain(std::iter::once(basic.encode(format!(
            "{}:{}",
            store.username,
            store.api_key.as_deref().unwrap_or(&store.password)
        ))))
        .collect();
    let values: BTreeSet<String> = originals
        .values()
        .flat_map(personal)
        .map(|(_, v)| v)
        .collect();
    assert!(values.len() > 50, "{} values", values.len());
    for (file, content) in &files {
        for value in values.iter().chain(&credentials) {
            assert!(
                !content.contains(value.as_str()),
                "{file} holds the store's {value:?}"
            );
        }
    }
    assert!(
        !files["scenario.toml"].contains(&sim.base_url()),
        "the simulator's address is in the scenario"
    );

    // Stable pseudonyms: one original, one pseudonym, wherever and however often it shows up;
    // two originals, two pseudonyms.
    let recorded = snapshot_orders(&files["outcomes.snap"]);
    assert_eq!(
        recorded.keys().collect::<Vec<_>>(),
        originals.keys().collect::<Vec<_>>()
    );
    let mut pseudonym_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (number, original) in &originals {
        let fields: BTreeMap<String, String> = personal(&recorded[number]).into_iter().collect();
        for (field, value) in personal(original) {
            let pseudonym = fields
                .get(&field)
                .unwrap_or_else(|| panic!("order {number}: {field} is gone"));
            assert_ne!(pseudonym, &value);
            pseudonym_of
                .entry(value.clone())
                .or_default()
                .insert(pseudonym.clone());
            *seen.entry(value).or_default() += 1;
        }
    }
    for (original, pseudonyms) in &pseudonym_of {
        assert_eq!(pseudonyms.len(), 1, "{original:?} got {pseudonyms:?}");
    }
    let distinct: BTreeSet<&String> = pseudonym_of.values().flatten().collect();
    assert_eq!(
        distinct.len(),
        pseudonym_of.len(),
        "two originals share a pseudonym"
    );
    assert!(
        seen.values().any(|n| *n >= 2),
        "no value shows up twice: stability is not exercised"
    );
    sim.shutdown().await;
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_shipping_is_recorded_with_its_rate_limits_and_replays() {
    let files = record(Case {
        flavor: Flavor::SparkShipping,
        rest: false,
        // A 429 with Retry-After: 1 on every third request: the fixture holds both replies.
        faults: Faults {
            rate_limit_every: 3,
            ..Faults::none()
        },
        channel: "spark-shipping",
    })
    .await;
    let scenario = &files["scenario.toml"];
    assert!(scenario.contains("status = 429"), "{scenario}");
    assert!(scenario.contains("retry-after = \"1\""), "{scenario}");
    assert!(
        scenario.contains("note = \"export, attempt 2\""),
        "{scenario}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_mirror_is_recorded_and_replays() {
    record(Case {
        flavor: Flavor::ListingMirror,
        rest: false,
        faults: Faults::none(),
        channel: "listing-mirror",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_time_custom_store_is_recorded_and_replays() {
    record(Case {
        flavor: Flavor::OrderTime,
        rest: false,
        faults: Faults::none(),
        channel: "order-time",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_time_rest_is_recorded_and_replays() {
    record(Case {
        flavor: Flavor::OrderTime,
        rest: true,
        faults: Faults::none(),
        channel: "order-time",
    })
    .await;
}

/// A Custom Store export of one page whose comment names a real-looking address and phone
/// number: markup, which the pseudonyms never touch.
fn export_with_comment() -> String {
    let page =
        std::fs::read_to_string(workspace_fixtures().join("spark-shipping/multi-page/page-1.xml"))
            .unwrap()
            .replace("pages=\"3\"", "pages=\"1\"");
    page.replacen(
        "<Orders",
        "<!-- exported for ops@shop-owner.test, call 312-867-5309 -->\n<Orders",
        1,
    )
}

fn wiremock_store(url: &str) -> String {
    format!(
        "[[store]]\nid = \"live\"\nname = \"Live Shop\"\nchannel = \"spark-shipping\"\nurl = \"{url}/shipstation\"\nusername = \"vendor-7\"\npassword = \"live-password-7\"\nretry_max_attempts = 1\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_that_fails_the_hygiene_check_writes_nothing() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "application/xml; charset=utf-8")
                .set_body_string(export_with_comment()),
        )
        .mount(&server)
        .await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("stores.toml"),
        wiremock_store(&server.uri()),
    )
    .unwrap();
    let out = tmp.path().join("fixtures").join("recorded");
    let recorded = run(
        tmp.path(),
        &[
            "record",
            "--config",
            "stores.toml",
            "--store",
            "live",
            "--from",
            "2026-03-01T00:00:00Z",
            "--to",
            "2026-03-02T00:00:00Z",
            "--out",
            &out.to_string_lossy(),
        ],
    );
    let said = text(&recorded);
    assert_eq!(recorded.status.code(), Some(4), "{said}");
    // The message names the file, the line and the rule broken, for each problem.
    for expected in [
        "refusing to record into",
        "nothing was written",
        "hygiene check",
        "recorded/export-1.xml:2: e-mail address",
        "recorded/export-1.xml:2: phone number",
    ] {
        assert!(said.contains(expected), "{expected:?} in {said}");
    }
    // Nothing: neither the directory nor its parent.
    assert!(!tmp.path().join("fixtures").exists(), "{said}");
    // The store's credentials are not in the message.
    assert!(!said.contains("live-password-7"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_occupied_out_directory_is_refused_before_anything_is_sent() {
    let server = wiremock::MockServer::start().await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("stores.toml"),
        wiremock_store(&server.uri()),
    )
    .unwrap();
    let out = tmp.path().join("taken");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.md"), "mine").unwrap();
    let recorded = run(
        tmp.path(),
        &[
            "record",
            "--config",
            "stores.toml",
            "--store",
            "live",
            "--from",
            "2026-03-01T00:00:00Z",
            "--to",
            "2026-03-02T00:00:00Z",
            "--out",
            "taken",
        ],
    );
    let said = text(&recorded);
    assert_eq!(recorded.status.code(), Some(2), "{said}");
    assert!(
        said.contains("already exists and is not empty; choose another --out"),
        "{said}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A Spark Shipping simulator with `orders_per_day` orders a day for three days, `page_size`
/// orders a page, and its stores file in `dir` with `edit` applied.
async fn spark(
    dir: &Path,
    orders_per_day: u32,
    page_size: usize,
    edit: impl Fn(String) -> String,
) -> (ChannelSim, String, String) {
    let clock = SimClock::fixed(Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap());
    let sim = ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            days: 3,
            orders_per_day,
            ..GeneratorConfig::default()
        },
        Faults::none(),
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    sim.set_page_size(page_size);
    std::fs::write(dir.join("stores.toml"), edit(sim.stores_toml())).unwrap();
    let from = (clock.now() - Duration::days(3)).to_rfc3339();
    (sim, from, clock.now().to_rfc3339())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_the_channel_refuses_is_recorded_as_its_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, from, to) = spark(tmp.path(), 5, 100, |t| {
        t.replace("sim-spark-password-1", "an-old-password")
    })
    .await;
    let fixtures = tmp.path().join("fixtures");
    let out = fixtures.join("bad-password").to_string_lossy().into_owned();
    let recorded = run(
        tmp.path(),
        &[
            "record",
            "--config",
            "stores.toml",
            "--store",
            "spark-1",
            "--from",
            &from,
            "--to",
            &to,
            "--out",
            &out,
        ],
    );
    let said = text(&recorded);
    assert!(recorded.status.success(), "{said}");
    assert!(said.contains("result authentication"), "{said}");
    let scenario = std::fs::read_to_string(fixtures.join("bad-password/scenario.toml")).unwrap();
    assert!(
        scenario.contains("result = \"authentication\""),
        "{scenario}"
    );
    assert!(scenario.contains("status = 401"), "{scenario}");
    assert!(!scenario.contains("an-old-password"), "{scenario}");
    // No snapshot for a walk that ended with an error; the kit replays it as recorded.
    assert!(!fixtures.join("bad-password/outcomes.snap").exists());
    let connector = Connector::new("spark-shipping", orderport::connect, &fixtures);
    check_connector_scenarios(&connector).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_past_the_kits_page_limit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, from, to) = spark(tmp.path(), 100, 1, |t| t).await;
    let recorded = run(
        tmp.path(),
        &[
            "record",
            "--config",
            "stores.toml",
            "--store",
            "spark-1",
            "--from",
            &from,
            "--to",
            &to,
            "--out",
            "long",
        ],
    );
    let said = text(&recorded);
    assert_eq!(recorded.status.code(), Some(4), "{said}");
    assert!(
        said.contains("200 pages or more") && said.contains("record a shorter window"),
        "{said}"
    );
    assert!(!tmp.path().join("long").exists());
    sim.shutdown().await;
}
