//! End-to-end tests of the `orderport` binary against a Custom Store server on loopback.

use std::path::Path;
use std::process::Output;

use wiremock::matchers::{body_string_contains, method, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "fixture-cli-password";

fn stores_toml(url: &str, extra: &str) -> String {
    format!(
        r#"
[[store]]
id = "spark-hq"
name = "Spark HQ"
channel = "spark-shipping"
url = "{url}/shipstation"
username = "fixture-user"
password = "{SECRET}"
timezone = "America/Chicago"
retry_max_attempts = 1
{extra}
"#
    )
}

fn order_xml(number: &str, status: &str, country: &str) -> String {
    format!(
        r#"<Order>
  <OrderID>{number}</OrderID><OrderNumber>{number}</OrderNumber>
  <OrderDate>03/07/2026 21:56</OrderDate><OrderStatus>{status}</OrderStatus>
  <LastModified>03/07/2026 21:58</LastModified>
  <OrderTotal>25.00</OrderTotal>
  <Customer><CustomerCode>buyer@example.com</CustomerCode>
    <BillTo><Name>Pat Example</Name><Email>buyer@example.com</Email></BillTo>
    <ShipTo><Name>Pat Example</Name><Address1>1 Main St</Address1><City>Springfield</City>
      <State>IL</State><PostalCode>62701</PostalCode><Country>{country}</Country></ShipTo>
  </Customer>
  <Items><Item><SKU>SKU-1</SKU><Name>Widget</Name><Quantity>2</Quantity><UnitPrice>12.50</UnitPrice></Item></Items>
</Order>"#
    )
}

fn export(orders: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Orders pages=\"1\">{}</Orders>",
        orders.concat()
    )
}

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .output()
        .expect("the orderport binary runs")
}

async fn server_with_export(body: String, status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param("action", "export"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

fn write_config(dir: &Path, server: &MockServer) {
    std::fs::write(dir.join("stores.toml"), stores_toml(&server.uri(), "")).unwrap();
}

const WINDOW: [&str; 4] = [
    "--from",
    "2026-03-07T00:00:00Z",
    "--to",
    "2026-03-09T00:00:00Z",
];

#[tokio::test]
async fn import_writes_orders_and_rejections_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let body = export(&[
        order_xml("1001", "paid", "US"),
        order_xml("1002", "paid", "USA"),
        order_xml("1003", "shipped", "US"),
    ]);
    let server = server_with_export(body, 200).await;
    write_config(dir.path(), &server);
    let mut args = vec![
        "import",
        "--config",
        "stores.toml",
        "--store",
        "spark-hq",
        "--rejects",
        "rejects.jsonl",
    ];
    args.extend(WINDOW);
    let out = run(dir.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");

    let stdout = String::from_utf8(out.stdout).unwrap();
    let orders: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: Vec<_> = orders
        .iter()
        .map(|o| o["order_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1001", "1003"]);
    // 21:56 in Chicago on 7 March is 03:56 UTC on 8 March.
    assert_eq!(orders[0]["ordered_at"], "2026-03-08T03:56:00Z");
    assert_eq!(orders[0]["order_total"], "25.00");
    assert_eq!(orders[1]["status"], "shipped");

    let rejects = std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = rejects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["order_number"], "1002");
    assert_eq!(lines[0]["external_id"], "1002");
    assert_eq!(lines[0]["reasons"][0]["field"], "ship_to.country");
    assert!(lines[0]["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("\"US\""));
    assert!(
        stderr.contains("imported=2") && stderr.contains("rejected=1"),
        "{stderr}"
    );
}

#[tokio::test]
async fn rejections_without_a_rejects_file_are_logged_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_export(export(&[order_xml("1002", "paid", "USA")]), 200).await;
    write_config(dir.path(), &server);
    let mut args = vec!["import", "--config", "stores.toml", "--store", "spark-hq"];
    args.extend(WINDOW);
    let out = run(dir.path(), &args);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1002") && stderr.contains("ship_to.country"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_failed_window_exits_non_zero_without_leaking_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (status, code) in [(500, 1), (401, 3)] {
        let server = server_with_export("oops".into(), status).await;
        write_config(dir.path(), &server);
        let mut args = vec!["import", "--config", "stores.toml", "--store", "spark-hq"];
        args.extend(WINDOW);
        let out = run(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "HTTP {status}: {stderr}");
        assert!(stderr.contains("spark-hq"), "{stderr}");
        assert!(!stderr.contains(SECRET), "the password leaked: {stderr}");
    }
}

#[tokio::test]
async fn usage_and_config_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    write_config(dir.path(), &server);
    // An inverted window.
    let out = run(
        dir.path(),
        &[
            "import",
            "--config",
            "stores.toml",
            "--store",
            "spark-hq",
            "--from",
            "2026-03-09T00:00:00Z",
            "--to",
            "2026-03-07T00:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("before it starts"));
    // An unknown store.
    let mut args = vec!["import", "--config", "stores.toml", "--store", "nope"];
    args.extend(WINDOW);
    let out = run(dir.path(), &args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("spark-hq"));
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}

/// `sync --store` with an id the file does not have, and a stores file without any
/// `[[store]]`, are usage errors (exit 2) that say what is wrong, for every command that takes
/// the file; before, `sync` exited 0 having done nothing.
#[tokio::test]
async fn unknown_stores_and_a_file_without_stores_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    write_config(dir.path(), &server);
    let out = run(
        dir.path(),
        &[
            "sync",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--store",
            "nope",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown store nope") && stderr.contains("spark-hq"),
        "{stderr}"
    );
    assert!(!dir.path().join("state.db").exists(), "nothing was opened");
    let out = run(
        dir.path(),
        &[
            "reconcile",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--store",
            "nope",
            "--tz",
            "UTC",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown store nope"), "{stderr}");

    // A file with a sink but no store, and an empty file.
    std::fs::write(
        dir.path().join("sinks-only.toml"),
        "[[sink]]\nkind = \"klaviyo\"\napi_key = \"pk_x\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.toml"), "").unwrap();
    for file in ["sinks-only.toml", "empty.toml"] {
        let mut import = vec!["import", "--config", file, "--store", "spark-hq"];
        import.extend(WINDOW);
        for args in [
            vec!["sync", "--config", file, "--db", "state.db"],
            vec!["sync", "--config", file, "--db", "state.db", "--watch"],
            vec!["check", "--config", file, "--store", "spark-hq"],
            import,
        ] {
            let out = run(dir.path(), &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(file) && stderr.contains("no [[store]]"),
                "{args:?}: {stderr}"
            );
        }
    }
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test]
async fn push_shipment_sends_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(query_param("action", "shipnotify"))
        .and(query_param("order_number", "1001"))
        .and(query_param("carrier", "USPS"))
        .and(query_param("service", "Priority Mail"))
        .and(query_param("tracking_number", "9400111"))
        .and(body_string_contains("<ShipDate>03/08/2026</ShipDate>"))
        .and(body_string_contains("<ShippingCost>7.25</ShippingCost>"))
        .and(body_string_contains("Thanks!"))
        .and(body_string_contains("<SKU><![CDATA[SKU-1]]></SKU>"))
        .and(body_string_contains("<Quantity>1</Quantity>"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    write_config(dir.path(), &server);
    let out = run(
        dir.path(),
        &[
            "push-shipment",
            "--config",
            "stores.toml",
            "--store",
            "spark-hq",
            "--order-number",
            "1001",
            "--carrier",
            "USPS",
            "--service",
            "Priority Mail",
            "--tracking-number",
            "9400111",
            "--ship-date",
            "2026-03-08",
            "--shipping-cost",
            "7.25",
            "--notes-to-buyer",
            "Thanks!",
            "--item",
            "SKU-1:1",
            "--partial",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.verify().await;
}

#[tokio::test]
async fn push_shipment_refuses_bad_items_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    write_config(dir.path(), &server);
    let base = [
        "push-shipment",
        "--config",
        "stores.toml",
        "--store",
        "spark-hq",
        "--order-number",
        "1001",
        "--carrier",
        "USPS",
        "--service",
        "Ground",
        "--tracking-number",
        "1",
    ];
    let mut partial_without_items = base.to_vec();
    partial_without_items.push("--partial");
    let out = run(dir.path(), &partial_without_items);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("partial"));
    let mut bad_item = base.to_vec();
    bad_item.extend(["--item", "SKU-1:zero"]);
    let out = run(dir.path(), &bad_item);
    assert_eq!(out.status.code(), Some(2));
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}

fn fixture(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/order-time");
    std::fs::read_to_string(root.join(path)).expect("the Order Time fixture exists")
}

fn order_time_toml(url: &str) -> String {
    format!(
        r#"
[[store]]
id = "ot"
name = "Order Time"
channel = "order-time"
url = "{url}/api"
username = "shipping@example.com"
api_key = "fixture-ot-api-key"
password = "{SECRET}"
retry_max_attempts = 1
"#
    )
}

#[tokio::test]
async fn order_time_stores_import_and_push_shipments() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/api/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("invalid-orders/page-1.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path("/api/shipstation"))
        .and(query_param("action", "shipnotify"))
        .and(query_param("order_number", "1042"))
        .and(query_param("tracking_number", "1Z999"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    std::fs::write(
        dir.path().join("stores.toml"),
        order_time_toml(&server.uri()),
    )
    .unwrap();

    let out = run(
        dir.path(),
        &[
            "import",
            "--config",
            "stores.toml",
            "--store",
            "ot",
            "--rejects",
            "rejects.jsonl",
            "--from",
            "2026-03-01T00:00:00Z",
            "--to",
            "2026-03-02T00:00:00Z",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "{stderr}"
    );
    let rejects = std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap();
    assert_eq!(rejects.lines().count(), 3);
    assert!(
        rejects.contains("suggest") || rejects.contains("use \\\""),
        "{rejects}"
    );
    assert!(!stderr.contains(SECRET));

    let out = run(
        dir.path(),
        &[
            "push-shipment",
            "--config",
            "stores.toml",
            "--store",
            "ot",
            "--order-number",
            "1042",
            "--carrier",
            "UPS",
            "--service",
            "UPS Ground",
            "--tracking-number",
            "1Z999",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.verify().await;
}

#[tokio::test]
async fn check_reports_a_good_and_a_bad_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_export(export(&[]), 200).await;
    write_config(dir.path(), &server);
    let out = run(
        dir.path(),
        &["check", "--config", "stores.toml", "--store", "spark-hq"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("connection OK"));

    let server = server_with_export(String::new(), 401).await;
    write_config(dir.path(), &server);
    let out = run(
        dir.path(),
        &[
            "check",
            "--config",
            "stores.toml",
            "--store",
            "spark-hq",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["channel"], "spark-shipping");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
}

#[tokio::test]
async fn json_mode_ends_an_import_with_a_summary_object() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_export(export(&[order_xml("1001", "paid", "US")]), 200).await;
    write_config(dir.path(), &server);
    let mut args = vec![
        "--json",
        "import",
        "--config",
        "stores.toml",
        "--store",
        "spark-hq",
    ];
    args.extend(WINDOW);
    let out = run(dir.path(), &args);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["imported"], 1);
    assert_eq!(summary["finished"], true);
    assert_eq!(summary["by_status"]["awaiting_shipment"], 1);
}

#[test]
fn demo_imports_from_every_simulated_channel_and_ships_back() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept");
    let out = run(
        dir.path(),
        &[
            "--json",
            "demo",
            "--days",
            "10",
            "--dir",
            kept.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stores = report["stores"].as_array().unwrap();
    let channels: Vec<_> = stores
        .iter()
        .map(|s| s["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["Spark Shipping", "Listing Mirror", "Order Time"]);
    for store in stores {
        let imported = store["imported"].as_u64().unwrap();
        assert!(imported > 50, "{store}");
        assert_eq!(store["shipment"]["received_by_simulator"], true, "{store}");
        // Every imported order is in the kept orders file, one JSON line each.
        let file = std::fs::read_to_string(store["orders_file"].as_str().unwrap()).unwrap();
        assert_eq!(file.lines().count() as u64, imported);
        let rejects = std::fs::read_to_string(store["rejects_file"].as_str().unwrap()).unwrap();
        assert_eq!(
            rejects.lines().count() as u64,
            store["rejected"].as_u64().unwrap()
        );
    }
    assert!(kept.join("stores.toml").exists());

    // The second act: the status sync to Klaviyo.
    let status = &report["status_sync"];
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{status}");
    for (run, store) in runs.iter().zip(stores) {
        // The first sync stores what the import saw (the same simulators, the same window),
        // except the order the first act just shipped: the simulator moved its modification
        // time to now, inside the sync's lag, so the next run fetches it.
        let (new, imported) = (
            run["new"].as_u64().unwrap(),
            store["imported"].as_u64().unwrap(),
        );
        assert!(new == imported || new + 1 == imported, "{run} vs {store}");
        assert_eq!(run["events"], run["new"], "one event per new order: {run}");
    }
    assert!(
        status["hold"]["event"].is_i64(),
        "the hold wrote its event: {status}"
    );
    assert!(
        status["label"]["event"].is_i64(),
        "the label shipped its order: {status}"
    );
    assert_eq!(status["delivered"]["failed"], 0);
    let metrics: Vec<(&str, u64, u64)> = status["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["metric"].as_str().unwrap(),
                m["events"].as_u64().unwrap(),
                m["backfill"].as_u64().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = metrics.iter().map(|m| m.0).collect();
    assert_eq!(
        names,
        [
            "Order Awaiting Payment",
            "Order Awaiting Shipment",
            "Order On Hold",
            "Order Shipped",
            "Order Cancelled"
        ]
    );
    let live = |name: &str| {
        let m = metrics.iter().find(|m| m.0 == name).unwrap();
        m.1 - m.2
    };
    // Exactly the two actions are live (not backfill): the hold and the label.
    assert_eq!(
        (live("Order On Hold"), live("Order Shipped")),
        (1, 1),
        "{metrics:?}"
    );
    let delivered: u64 = metrics.iter().map(|m| m.1).sum();
    assert_eq!(Some(delivered), status["delivered"]["delivered"].as_u64());
    assert!(
        metrics.iter().all(|m| m.1 > 0),
        "every metric was sent: {metrics:?}"
    );
    // Reconcile: seven days, each with every status.
    let table = status["reconcile"].as_object().unwrap();
    assert_eq!(table.len(), 7, "{table:?}");
    assert!(table
        .values()
        .all(|day| day.as_object().unwrap().len() == 5));
    assert!(kept.join("state.db").exists() && kept.join("sync.toml").exists());
    // Nothing was written next to the command.
    let mut entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    entries.sort();
    assert_eq!(entries, ["kept"]);
}

#[test]
fn demo_tells_a_newcomer_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["demo", "--days", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Spark Shipping",
        "Listing Mirror",
        "Order Time",
        "imported",
        "rejected",
        "by status",
        "received by the simulator",
        "Status sync to Klaviyo",
        "hold: order",
        "label: order",
        "Order Awaiting Payment",
        "Order Shipped",
        "Order Cancelled",
        "day(s) differ",
        "removed",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn simulate_serves_until_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.toml");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args([
            "simulate",
            "--days",
            "3",
            "--write-config",
            config.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !config.exists() && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let stores = std::fs::read_to_string(&config).expect("simulate wrote its stores file");
    for channel in ["spark-shipping", "listing-mirror", "order-time"] {
        assert!(stores.contains(channel), "{stores}");
    }
    // The served stores import with the ordinary command.
    let from = (chrono::Utc::now() - chrono::Duration::days(4)).to_rfc3339();
    let to = chrono::Utc::now().to_rfc3339();
    let out = run(
        dir.path(),
        &[
            "import", "--config", "sim.toml", "--store", "spark-1", "--from", &from, "--to", &to,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Ctrl-C"));
}

#[tokio::test]
async fn sync_stores_orders_events_and_quarantine_and_a_rerun_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Orders modified ten minutes ago, in a UTC store, so a one-hour history covers them.
    let recent = (chrono::Utc::now() - chrono::Duration::minutes(10))
        .format("%m/%d/%Y %H:%M")
        .to_string();
    let with_recent = |xml: String| {
        xml.replace("03/07/2026 21:58", &recent)
            .replace("03/07/2026 21:56", &recent)
    };
    let body = export(&[
        with_recent(order_xml("1001", "paid", "US")),
        with_recent(order_xml("1002", "paid", "USA")),
        with_recent(order_xml("1003", "shipped", "US")),
    ]);
    let server = server_with_export(body, 200).await;
    let config = stores_toml(
        &server.uri(),
        "sync_history = \"1h\"\nsync_slice = \"1h\"\n",
    )
    .replace("timezone = \"America/Chicago\"", "timezone = \"UTC\"");
    std::fs::write(dir.path().join("stores.toml"), config).unwrap();
    let sync = [
        "sync",
        "--config",
        "stores.toml",
        "--db",
        "state.db",
        "--once",
    ];

    let out = run(dir.path(), &sync);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("spark-hq: fetched 3, new 2"), "{stdout}");
    assert!(stdout.contains("rejected 1, events 2"), "{stdout}");

    let out = run(dir.path(), &sync);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("new 0, updated 0"), "{stdout}");
    assert!(stdout.contains("events 0"), "{stdout}");

    let out = run(
        dir.path(),
        &["events", "--db", "state.db", "--format", "csv"],
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,channel,store_id"));
    assert!(lines.iter().any(|l| l.contains(",1003,,shipped,")), "{csv}");

    let out = run(
        dir.path(),
        &["orders", "--db", "state.db", "--store", "spark-hq"],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let out = run(dir.path(), &["quarantine", "--db", "state.db"]);
    let quarantined = String::from_utf8_lossy(&out.stdout);
    assert_eq!(quarantined.lines().count(), 1);
    assert!(quarantined.contains("ship_to.country") && quarantined.contains("1002"));

    let out = run(dir.path(), &["orders", "--db", "missing.db"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `push-shipment --db` records the shipment: a label ships the order at once and its
/// "Order Shipped" goes to Klaviyo; `--marked-only` changes nothing until the channel says
/// shipped, and then no "Order Shipped" is sent (counted as skipped). `reconcile` counts only the
/// label as shipped (the seed's rule), shows the marked one beside it, and so finds no difference
/// with Klaviyo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_shipment_records_labels_and_marks_and_reconcile_counts_labels_only() {
    let dir = tempfile::tempdir().unwrap();
    let klaviyo = orderport_sim::KlaviyoSim::start(
        orderport_sim::Faults::none(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let minutes_ago = |m: i64| {
        (chrono::Utc::now() - chrono::Duration::minutes(m))
            .format("%m/%d/%Y %H:%M")
            .to_string()
    };
    let at = |xml: String, when: &str| {
        xml.replace("03/07/2026 21:58", when)
            .replace("03/07/2026 21:56", when)
    };
    let before = minutes_ago(10);
    let server = MockServer::start().await;
    let mount = |body: String| {
        let server = &server;
        async move {
            server.reset().await;
            Mock::given(method("GET"))
                .and(query_param("action", "export"))
                .respond_with(ResponseTemplate::new(200).set_body_string(body))
                .mount(server)
                .await;
            Mock::given(method("POST"))
                .and(query_param("action", "shipnotify"))
                .respond_with(ResponseTemplate::new(200))
                .mount(server)
                .await;
        }
    };
    mount(export(&[
        at(order_xml("1001", "paid", "US"), &before),
        at(order_xml("1002", "paid", "US"), &before),
    ]))
    .await;
    let config = stores_toml(
        &server.uri(),
        "sync_history = \"1h\"\nsync_slice = \"1h\"\n",
    )
    .replace("timezone = \"America/Chicago\"", "timezone = \"UTC\"")
        + &format!(
            "\n[[sink]]\nkind = \"klaviyo\"\nurl = \"{}\"\napi_key = \"pk_cli_test_key\"\n",
            klaviyo.url()
        );
    std::fs::write(dir.path().join("stores.toml"), config).unwrap();
    let sync = [
        "sync",
        "--config",
        "stores.toml",
        "--db",
        "state.db",
        "--once",
    ];
    let out = run(dir.path(), &sync);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("sink klaviyo: delivered 2, skipped 0, refused 0, failed 0"),
        "{stdout}"
    );
    // The first sync's events are backfill.
    let out = run(
        dir.path(),
        &["events", "--db", "state.db", "--format", "csv"],
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (backfill, deliveries) = (column("backfill"), column("deliveries"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| &r[backfill] == "true"), "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r[deliveries].contains(r#""sink":"klaviyo","state":"delivered""#)),
        "{rows:?}"
    );
    assert!(klaviyo
        .events()
        .iter()
        .all(|e| e["attributes"]["backfill"] == true));

    let push = |number: &'static str, marked: bool| {
        let mut args = vec![
            "push-shipment",
            "--config",
            "stores.toml",
            "--store",
            "spark-hq",
            "--order-number",
            number,
            "--carrier",
            "UPS",
            "--service",
            "Ground",
            "--tracking-number",
            "1Z999",
            "--db",
            "state.db",
        ];
        if marked {
            args.push("--marked-only");
        }
        run(dir.path(), &args)
    };
    let out = push("1001", false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("recorded: order 1001 is shipped"),
        "{stdout}"
    );
    assert!(stdout.contains("sink klaviyo: delivered 1,"), "{stdout}");
    let out = push("1002", true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("recorded: marked-only shipment of order 1002"),
        "{stdout}"
    );
    assert!(stdout.contains("sink klaviyo: delivered 0,"), "{stdout}");

    // The channel now reports both shipped.
    let later = minutes_ago(3);
    mount(export(&[
        at(order_xml("1001", "shipped", "US"), &later),
        at(order_xml("1002", "shipped", "US"), &later),
    ]))
    .await;
    let out = run(dir.path(), &sync);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("events 1,"), "{stdout}");
    assert!(
        stdout
            .contains("sink klaviyo: delivered 0, skipped 1 (not_a_label 1), refused 0, failed 0"),
        "{stdout}"
    );
    let shipped: Vec<String> = klaviyo
        .events()
        .iter()
        .filter(|e| e["attributes"]["metric"]["data"]["attributes"]["name"] == "Order Shipped")
        .map(|e| {
            e["attributes"]["properties"]["OrderNumber"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(shipped, vec!["1001".to_owned()]);
    assert_eq!(klaviyo.events().len(), 3);

    let reconcile = |format: &str| {
        run(
            dir.path(),
            &[
                "reconcile",
                "--config",
                "stores.toml",
                "--db",
                "state.db",
                "--store",
                "spark-hq",
                "--tz",
                "UTC",
                "--days",
                "2",
                "--format",
                format,
            ],
        )
    };
    let out = reconcile("csv");
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "day,status,reached,klaviyo,differs,unlabelled");
    assert_eq!(lines.len(), 1 + 2 * 5, "{csv}");
    let shipped_rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(",shipped,"))
        .collect();
    let total = |col: usize| -> usize {
        shipped_rows
            .iter()
            .map(|l| l.split(',').nth(col).unwrap().parse::<usize>().unwrap())
            .sum()
    };
    // Shipped: the label (1001) reached it and Klaviyo has it; the marked one (1002) is shown
    // as unlabelled, not counted.
    assert_eq!((total(2), total(3), total(5)), (1, 1, 1), "{csv}");
    assert!(lines.iter().all(|l| !l.contains(",true,")), "{csv}");
    let out = reconcile("text");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!text.contains("DIFFERS"), "{text}");
    assert!(text.contains("0 of 2 day(s) differ"), "{text}");
    assert!(
        text.contains("(+1 shipped without a label, not counted)"),
        "{text}"
    );
    assert!(!text.contains("pk_cli_test_key"));

    // An unknown sink kind is a usage error naming the sink.
    let bad = std::fs::read_to_string(dir.path().join("stores.toml")).unwrap()
        + "\n[[sink]]\nid = \"hook\"\nkind = \"webhook\"\n";
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let out = run(
        dir.path(),
        &["sync", "--config", "bad.toml", "--db", "state.db", "--once"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hook") && stderr.contains("webhook"),
        "{stderr}"
    );
    klaviyo.shutdown().await;
}

/// Split labels through `push-shipment --partial --db`: a part that ships more than remains is
/// refused before the channel is called; the parts are recorded with their quantities and the
/// one that covers the last unit ships the order, once, as a label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_shipment_splits_labels_and_refuses_one_that_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start().await;
    let recent = (chrono::Utc::now() - chrono::Duration::minutes(10))
        .format("%m/%d/%Y %H:%M")
        .to_string();
    let xml = order_xml("1001", "paid", "US")
        .replace("03/07/2026 21:58", &recent)
        .replace("03/07/2026 21:56", &recent);
    Mock::given(method("GET"))
        .and(query_param("action", "export"))
        .respond_with(ResponseTemplate::new(200).set_body_string(export(&[xml])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("action", "shipnotify"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let config = stores_toml(
        &server.uri(),
        "sync_history = \"1h\"\nsync_slice = \"1h\"\n",
    )
    .replace("timezone = \"America/Chicago\"", "timezone = \"UTC\"");
    std::fs::write(dir.path().join("stores.toml"), config).unwrap();
    let out = run(
        dir.path(),
        &[
            "sync",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--once",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let push = |tracking: &str, item: &str| {
        run(
            dir.path(),
            &[
                "push-shipment",
                "--config",
                "stores.toml",
                "--store",
                "spark-hq",
                "--order-number",
                "1001",
                "--carrier",
                "UPS",
                "--service",
                "Ground",
                "--tracking-number",
                tracking,
                "--partial",
                "--item",
                item,
                "--db",
                "state.db",
            ],
        )
    };
    let shipnotify_calls = || async {
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.query().unwrap_or("").contains("action=shipnotify"))
            .count()
    };
    // The order has 2 x SKU-1: 3 do not fit, and the channel is not called.
    let out = push("1Z-TOO-MANY", "SKU-1:3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("spark-hq") && stderr.contains("1001") && stderr.contains("SKU-1"),
        "{stderr}"
    );
    assert_eq!(
        shipnotify_calls().await,
        0,
        "refused before the channel was changed"
    );

    let out = push("1Z-PART-1", "SKU-1:1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("recorded: label of order 1001; labels cover 1 of 2 units in 1 labels"),
        "{stdout}"
    );
    let out = push("1Z-PART-2", "SKU-1:1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("recorded: order 1001 is shipped (event "),
        "{stdout}"
    );
    assert!(
        stdout.contains("labels cover 2 of 2 units in 2 labels"),
        "{stdout}"
    );
    assert_eq!(shipnotify_calls().await, 2);

    let out = run(
        dir.path(),
        &["events", "--db", "state.db", "--format", "csv"],
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (to, label) = (column("to"), column("label"));
    let shipped: Vec<csv::StringRecord> = reader
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[to] == "shipped")
        .collect();
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert_eq!(&shipped[0][label], "true");
}

/// `sync --watch` delivers after each store run, and stops cleanly on Ctrl-C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_watch_delivers_after_each_store_run() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let klaviyo = orderport_sim::KlaviyoSim::start(
        orderport_sim::Faults::none(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let recent = (chrono::Utc::now() - chrono::Duration::minutes(10))
        .format("%m/%d/%Y %H:%M")
        .to_string();
    let body = export(&[order_xml("1001", "paid", "US")
        .replace("03/07/2026 21:58", &recent)
        .replace("03/07/2026 21:56", &recent)]);
    let server = server_with_export(body, 200).await;
    let config = stores_toml(
        &server.uri(),
        "sync_history = \"1h\"\nsync_slice = \"1h\"\nsync_jitter = \"0s\"\nsync_interval = \"1h\"\n",
    )
    .replace("timezone = \"America/Chicago\"", "timezone = \"UTC\"")
        + &format!(
            "\n[[sink]]\nkind = \"klaviyo\"\nurl = \"{}\"\napi_key = \"pk_cli_test_key\"\n",
            klaviyo.url()
        );
    std::fs::write(dir.path().join("stores.toml"), config).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args([
            "sync",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--watch",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            seen.push(line);
            if seen
                .iter()
                .any(|l| l.contains("sink klaviyo: delivered 1,"))
            {
                break;
            }
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("sink klaviyo: delivered 1,")),
        "{seen:?}"
    );
    assert_eq!(klaviyo.events().len(), 1);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert_eq!(klaviyo.events().len(), 1);
    klaviyo.shutdown().await;
}

/// `import` with pages fetched ahead writes exactly what the one-page-at-a-time import writes,
/// line for line, in the same order, also when a server failing every third request makes
/// pages complete out of order (retried ones come back last).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_with_pages_ahead_writes_what_one_page_at_a_time_writes() {
    use orderport_sim::chrono::{Duration, TimeZone, Utc};
    use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock};

    let now = Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap();
    let sim = ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            orders_per_day: 120,
            days: 10,
            invalid_share: 0.05,
            ..GeneratorConfig::default()
        },
        Faults {
            error_503_every: 3,
            ..Faults::none()
        },
        SimClock::fixed(now),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores = sim.stores_toml();
    let from = (now - Duration::days(10)).to_rfc3339();
    let to = now.to_rfc3339();
    let mut outputs = Vec::new();
    for ahead in [0, 8] {
        let file = format!("ahead-{ahead}.toml");
        let rejects = format!("rejects-{ahead}.jsonl");
        std::fs::write(
            dir.path().join(&file),
            stores.replace(
                "[[store]]\n",
                &format!("[[store]]\npages_ahead = {ahead}\n"),
            ),
        )
        .unwrap();
        let path = dir.path().to_owned();
        let args: Vec<String> = [
            "import",
            "--config",
            &file,
            "--store",
            "spark-1",
            "--from",
            &from,
            "--to",
            &to,
            "--rejects",
            &rejects,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&path, &args)
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rejected = std::fs::read_to_string(dir.path().join(&rejects)).unwrap();
        outputs.push((String::from_utf8(out.stdout).unwrap(), rejected));
    }
    let (one_at_a_time, ahead) = (&outputs[0], &outputs[1]);
    let orders = one_at_a_time.0.lines().count();
    // Many pages (the simulator serves 100 orders a page), some of them rejected orders.
    assert!(orders > 1_000, "{orders}");
    assert!(one_at_a_time.1.lines().count() > 10);
    assert!(one_at_a_time.0 == ahead.0, "the orders differ");
    assert!(one_at_a_time.1 == ahead.1, "the rejections differ");
    sim.shutdown().await;
}
