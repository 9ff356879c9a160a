//! Killing the process at any point and running again loses nothing and duplicates nothing.
//!
//! The parent test re-invokes this test binary as a child (`crash_child`, selected by an
//! environment variable) that syncs a scripted channel into a SQLite file, SIGKILLs it at
//! random points, re-runs until a run completes, over several 30-minute "phases" in which
//! orders change status, and then checks the database: every order exactly once with its final
//! status, every status transition exactly one event, every rejected order quarantined once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use common::*;
use orderport_core::StoreZone;
use orderport_sync::{CancellationToken, ManualClock, SqliteState, SyncEngine};
use rand::{RngExt, SeedableRng};

const CHILD_ENV: &str = "ORDERPORT_SYNC_CRASH_CHILD";
const ORDERS: usize = 300;
const PHASES: i64 = 4;

fn base() -> DateTime<Utc> {
    t(2026, 6, 1, 12, 0, 0)
}

fn raw(status: usize) -> &'static str {
    ["unpaid", "paid", "hold", "shipped", "cancelled"][status % 5]
}

/// The raw status of order `i` as of phase `k` (`None` while it does not exist yet).
fn status_at(i: usize, k: i64) -> Option<&'static str> {
    if i.is_multiple_of(37) {
        return Some("mystery"); // never mappable: quarantined
    }
    let born = (i % 7) as i64 - 3; // some orders appear only in later phases
    if k < born.max(0) {
        return None;
    }
    // Changes only at phases where (i + k) % 3 == 0, at most one per phase.
    let changes = (born.max(0) + 1..=k)
        .filter(|p| (i as i64 + p) % 3 == 0)
        .count();
    Some(raw(i % 3 + changes))
}

/// The server's data at phase `k`.
fn data_at(k: i64) -> Vec<FakeOrder> {
    (0..ORDERS)
        .filter_map(|i| {
            let raw = status_at(i, k)?;
            // The time of its latest change: in the history for phase 0, else just before the
            // phase that made it.
            let mut last = 0;
            for p in 1..=k {
                if status_at(i, p) != status_at(i, p - 1) {
                    last = p;
                }
            }
            let modified = if last == 0 {
                base() - Duration::days(89) + Duration::minutes((i as i64) * 419)
            } else {
                base() + Duration::minutes(30 * last - 10) - Duration::seconds(i as i64 % 60)
            };
            Some(FakeOrder::new(format!("o{i}"), raw, modified))
        })
        .collect()
}

/// The child: one full sync of phase `k` into the database, then exit.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (db, k) = spec.split_once('|').unwrap();
    let k: i64 = k.parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut ch = FakeChannel::new(&SPEC_SECONDS, StoreZone::UTC, 4);
        ch.delay = Some(StdDuration::from_millis(2));
        for o in data_at(k) {
            ch.put(o);
        }
        let state = Arc::new(SqliteState::open(db).unwrap());
        let engine = SyncEngine::new(state)
            .with_clock(Arc::new(ManualClock::new(
                base() + Duration::minutes(30 * k),
            )))
            .with_owner("crash-test");
        engine
            .run_store(&ch, &store_sync(&SPEC_SECONDS), &CancellationToken::new())
            .await
            .unwrap();
    });
}

#[test]
fn killed_at_random_points_then_rerun_loses_nothing_and_duplicates_nothing() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("orderport.db");
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("crash test seed {seed} (CRASH_SEED={seed} to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let exe = std::env::current_exe().unwrap();
    let child = |k: i64| {
        Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{}|{k}", db.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut kills_that_interrupted = 0;
    for k in 0..PHASES {
        for _ in 0..4 {
            let mut c = child(k);
            let wait = if k == 0 {
                rng.random_range(5..900)
            } else {
                rng.random_range(5..120)
            };
            std::thread::sleep(StdDuration::from_millis(wait));
            if c.try_wait().unwrap().is_none() {
                kills_that_interrupted += 1;
            }
            c.kill().unwrap(); // SIGKILL
            c.wait().unwrap();
        }
        let status = child(k).wait().unwrap();
        assert!(status.success(), "phase {k}: the completing run failed");
    }
    assert!(kills_that_interrupted > 0, "no kill landed mid-run");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let state = SqliteState::open(&db).unwrap();
        let orders = state.orders_page(None, 0, 100_000).await.unwrap();
        let events = state.events_page(None, 0, 100_000).await.unwrap();
        let quarantine = state.quarantine_page(None, 0, 100_000).await.unwrap();

        // Every order exactly once, with its final status.
        let last = PHASES - 1;
        let expected: BTreeMap<String, &str> = (0..ORDERS)
            .filter(|i| i % 37 != 0)
            .filter_map(|i| status_at(i, last).map(|s| (format!("o{i}"), s)))
            .collect();
        let got: BTreeMap<String, String> = orders
            .iter()
            .map(|o| {
                (
                    o.external_id.clone(),
                    o.order["raw_status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(orders.len(), got.len(), "an order is stored twice");
        assert_eq!(got.len(), expected.len());
        for (id, raw) in &expected {
            assert_eq!(got.get(id).map(String::as_str), Some(*raw), "order {id}");
        }

        // Every transition exactly one event: as observed at phase boundaries.
        let canon = |raw: &str| match raw {
            "unpaid" => "awaiting_payment",
            "paid" => "awaiting_shipment",
            "hold" => "on_hold",
            "shipped" => "shipped",
            _ => "cancelled",
        };
        let mut want = Vec::new();
        for i in (0..ORDERS).filter(|i| i % 37 != 0) {
            let mut prev: Option<&str> = None;
            for k in 0..PHASES {
                if let Some(s) = status_at(i, k).map(canon) {
                    if prev != Some(s) {
                        want.push((format!("o{i}"), prev.map(str::to_owned), s.to_owned()));
                    }
                    prev = Some(s);
                }
            }
        }
        let mut have: Vec<_> = events
            .iter()
            .map(|e| {
                let e = &e.event;
                (
                    e.key.external_id.clone(),
                    e.from.map(|f| f.as_str().to_owned()),
                    e.to.as_str().to_owned(),
                )
            })
            .collect();
        let unique: HashSet<_> = have.iter().cloned().collect();
        assert_eq!(unique.len(), have.len(), "a duplicated event");
        want.sort();
        have.sort();
        assert_eq!(have, want);

        // Rejected orders quarantined once each.
        let q: HashSet<_> = quarantine
            .iter()
            .map(|q| q.external_id.clone().unwrap())
            .collect();
        assert_eq!(q.len(), quarantine.len());
        assert_eq!(
            q.len(),
            (0..ORDERS).filter(|i| i.is_multiple_of(37)).count()
        );
    });
}
