//! `--db postgres://…` and `ORDERPORT_DB` on the commands that read or write state, against a
//! PostgreSQL database of the test's own (127.0.0.1:5432, or `ORDERPORT_TEST_PG`). A server
//! that does not answer fails these tests; they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, KlaviyoSim, SimClock};
use orderport_sync::suite::pg::TestDatabase;

fn orderport(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orderport"));
    command
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env_remove("ORDERPORT_DB")
        .env_remove("PGPASSWORD");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the orderport binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn spark() -> ChannelSim {
    ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            orders_per_day: 6,
            days: 2,
            ..GeneratorConfig::default()
        },
        Faults::none(),
        SimClock::system(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn stores_toml(sim: &ChannelSim, klaviyo_url: &str) -> String {
    sim.stores_toml()
        .replace("[[store]]\n", "[[store]]\nsync_history = \"2d\"\n")
        + &format!(
            "\n[[sink]]\nkind = \"klaviyo\"\nurl = \"{klaviyo_url}\"\napi_key = \"pk_pg_test\"\nmax_attempts = 1\n"
        )
}

/// The orders as listed, without what differs between two databases (row numbers and the
/// times the engine stored them).
fn orders(stdout: &str) -> Vec<serde_json::Value> {
    let mut rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| {
            let mut row: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = row.as_object_mut().unwrap();
            for volatile in ["seq", "first_seen", "updated_at"] {
                o.remove(volatile);
            }
            row
        })
        .collect();
    rows.sort_by_key(|r| r["external_id"].as_str().unwrap_or_default().to_owned());
    rows
}

/// `sync --once` into PostgreSQL stores what the same sync stores into SQLite; `orders`,
/// `events`, `quarantine` and `reconcile` read it back with `--db` or `ORDERPORT_DB`; every
/// event got Klaviyo's verdict; a second sync stores nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_the_read_commands_work_on_postgres_as_on_sqlite() {
    let db = TestDatabase::create("cli_sync")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sim = spark().await;
    let klaviyo = KlaviyoSim::start(Faults::none(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stores.toml"),
        stores_toml(&sim, &klaviyo.url()),
    )
    .unwrap();
    let url = db.url();
    let sync = ["sync", "--config", "stores.toml", "--once", "--json"];
    let out = orderport(dir.path(), &[&sync[..], &["--db", url]].concat(), &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(report["ok"], true, "{stdout}");
    let new = report["report"]["new"].as_u64().unwrap();
    assert!(new > 0, "{stdout}");

    // The same sync into SQLite.
    let out = orderport(
        dir.path(),
        &[&sync[..], &["--db", "state.db"]].concat(),
        &[],
    );
    assert!(out.status.success(), "{:?}", text(&out));

    let env = [("ORDERPORT_DB", url)];
    let out = orderport(dir.path(), &["orders"], &env);
    let (pg_orders, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let out = orderport(dir.path(), &["orders", "--db", "state.db"], &env);
    let (sqlite_orders, _) = text(&out);
    assert_eq!(orders(&pg_orders).len() as u64, new);
    assert_eq!(
        orders(&pg_orders),
        orders(&sqlite_orders),
        "PostgreSQL stores what SQLite stores"
    );

    let out = orderport(dir.path(), &["events", "--db", url], &[]);
    let (events, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let events: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        events.len() as u64,
        report["report"]["events"].as_u64().unwrap()
    );
    for e in &events {
        let verdicts = e["deliveries"].as_array().unwrap();
        assert_eq!(verdicts.len(), 1, "one verdict per event per sink: {e}");
        assert_eq!(verdicts[0]["sink"], "klaviyo");
    }
    let out = orderport(dir.path(), &["quarantine", "--format", "text"], &env);
    assert!(out.status.success(), "{:?}", text(&out));
    let store = sim.stores_toml();
    let store_id = store
        .lines()
        .find_map(|l| l.strip_prefix("id = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_owned();
    let out = orderport(
        dir.path(),
        &[
            "reconcile",
            "--config",
            "stores.toml",
            "--store",
            &store_id,
            "--tz",
            "UTC",
            "--format",
            "csv",
        ],
        &env,
    );
    let (table, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        table.starts_with("day,status,reached,klaviyo,differs"),
        "{table}"
    );

    // Nothing new the second time; the watermark moved on.
    let out = orderport(dir.path(), &sync, &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let again: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(again["report"]["new"], 0, "{stdout}");
}

/// A password in `--db` or `ORDERPORT_DB` is never printed: not in errors, not in `--help`.
#[test]
fn the_database_password_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://orderport:hunter2secret@127.0.0.1:1/orders";
    for args in [
        vec!["orders", "--db", url],
        vec!["events", "--db", url],
        vec!["sync", "--config", "missing.toml", "--db", url],
    ] {
        let out = orderport(dir.path(), &args, &[]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success());
        assert!(
            !stdout.contains("hunter2secret") && !stderr.contains("hunter2secret"),
            "{stderr}"
        );
    }
    let out = orderport(dir.path(), &["orders"], &[("ORDERPORT_DB", url)]);
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("postgres://orderport:***@127.0.0.1:1/orders")
            || stderr.contains("postgres://orderport@127.0.0.1:1/orders"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
    for command in ["sync", "orders", "reconcile", "push-shipment"] {
        let out = orderport(dir.path(), &[command, "--help"], &[("ORDERPORT_DB", url)]);
        let (stdout, _) = text(&out);
        assert!(stdout.contains("ORDERPORT_DB"), "{command}: {stdout}");
        assert!(!stdout.contains("hunter2secret"), "{command}: {stdout}");
    }
}

/// `push-shipment --db postgres://…` records a label: the stored order is shipped at once, with
/// one "shipped" event marked as a label, and that event goes to the sink.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_shipment_records_a_label_on_postgres() {
    let db = TestDatabase::create("cli_push")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sim = spark().await;
    let klaviyo = KlaviyoSim::start(Faults::none(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stores.toml"),
        stores_toml(&sim, &klaviyo.url()),
    )
    .unwrap();
    let env = [("ORDERPORT_DB", db.url())];
    let out = orderport(
        dir.path(),
        &["sync", "--config", "stores.toml", "--once"],
        &env,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = orderport(dir.path(), &["orders"], &env);
    let (listed, _) = text(&out);
    let awaiting: serde_json::Value = listed
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|o| o["status"] == "awaiting_shipment")
        .expect("an order awaiting shipment");
    let (store, number, id) = (
        awaiting["store_id"].as_str().unwrap().to_owned(),
        awaiting["order_number"].as_str().unwrap().to_owned(),
        awaiting["external_id"].as_str().unwrap().to_owned(),
    );
    let out = orderport(
        dir.path(),
        &[
            "push-shipment",
            "--config",
            "stores.toml",
            "--store",
            &store,
            "--order-number",
            &number,
            "--order-id",
            &id,
            "--carrier",
            "UPS",
            "--service",
            "Ground",
            "--tracking-number",
            "1Z999",
            "--db",
            db.url(),
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("recorded: order {number} is shipped")),
        "{stdout}"
    );
    let out = orderport(dir.path(), &["events", "--store", &store], &env);
    let (events, _) = text(&out);
    let shipped: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["external_id"] == id.as_str() && e["to"] == "shipped")
        .collect();
    assert_eq!(shipped.len(), 1, "{events}");
    assert_eq!(shipped[0]["label"], true);
    assert_eq!(
        shipped[0]["deliveries"][0]["state"], "delivered",
        "{events}"
    );
    let out = orderport(dir.path(), &["orders", "--store", &store], &env);
    let (orders, _) = text(&out);
    let order = orders
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|o| o["external_id"] == id.as_str())
        .unwrap();
    assert_eq!(order["status"], "shipped");
    assert_eq!(
        order["order"]["status"], "shipped",
        "the stored JSON says so too"
    );
}
