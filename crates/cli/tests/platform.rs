//! `orderport hold`, `mark-paid` and `cancel` against a state that `orderport sync` filled
//! from the Spark Shipping simulator: one event per action, none for a repeat, refusals with
//! exit code 2 and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock};

fn orderport(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the orderport binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Each stored order's (number, status).
fn orders(dir: &Path) -> Vec<(String, String)> {
    let out = orderport(dir, &["orders", "--db", "state.db", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out)
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                row["order_number"].as_str().unwrap().to_owned(),
                row["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn events(dir: &Path) -> Vec<serde_json::Value> {
    let out = orderport(dir, &["events", "--db", "state.db", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn first_with(orders: &[(String, String)], status: &str) -> String {
    orders
        .iter()
        .find(|(_, s)| s == status)
        .unwrap_or_else(|| panic!("no {status} order in {orders:?}"))
        .0
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_actions_write_one_event_each_and_refuse_what_the_status_forbids() {
    let sim = ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            orders_per_day: 30,
            days: 3,
            ..GeneratorConfig::default()
        },
        Faults::none(),
        SimClock::system(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(
        dir.join("stores.toml"),
        sim.stores_toml()
            .replace("[[store]]\n", "[[store]]\nsync_history = \"3d\"\n"),
    )
    .unwrap();
    let out = orderport(
        dir,
        &[
            "sync",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--once",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let stored = orders(dir);
    let store = "spark-1";
    let ready = first_with(&stored, "awaiting_shipment");
    let unpaid = first_with(&stored, "awaiting_payment");
    let shipped = first_with(&stored, "shipped");
    let before = events(dir).len();
    let act = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--db", "state.db", "--store", store]);
        orderport(dir, &all)
    };

    let out = act(&["hold", "--order-number", &ready, "--days", "2"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("awaiting_shipment → on_hold until"),
        "{out:?}"
    );
    let out = act(&["hold", "--order-number", &ready, "--until", "2099-01-01"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("already on hold"), "{out:?}");
    let out = act(&["mark-paid", "--order-number", &unpaid]);
    assert!(out.status.success(), "{out:?}");
    let out = act(&["mark-paid", "--order-number", &unpaid]);
    assert!(stdout(&out).contains("no new event"), "{out:?}");

    // Refused: exit 2, the store, the order and what to do; nothing written.
    let out = act(&["cancel", "--order-number", &shipped]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(store) && err.contains(&shipped) && err.contains("void its label"),
        "{err}"
    );
    let out = act(&["hold", "--order-number", &ready, "--until", "2001-01-01"]);
    assert_eq!(out.status.code(), Some(2), "a hold in the past: {out:?}");
    let out = act(&["cancel", "--order-number", "no-such-order"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-order"));

    let after = events(dir);
    let new: Vec<(String, String)> = after[before..]
        .iter()
        .map(|e| {
            (
                e["order_number"].as_str().unwrap().to_owned(),
                e["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        new,
        [
            (ready.clone(), "on_hold".to_owned()),
            (unpaid.clone(), "awaiting_shipment".to_owned())
        ]
    );
    let now = orders(dir);
    let status_of = |n: &str| now.iter().find(|(m, _)| m == n).unwrap().1.clone();
    assert_eq!(status_of(&ready), "on_hold");
    assert_eq!(status_of(&unpaid), "awaiting_shipment");
    assert_eq!(status_of(&shipped), "shipped");

    // The next sync keeps the platform's statuses (the simulator still reports the old ones).
    let out = orderport(
        dir,
        &[
            "sync",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--once",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let again = orders(dir);
    assert_eq!(
        again.iter().find(|(m, _)| *m == ready).unwrap().1,
        "on_hold"
    );
}
