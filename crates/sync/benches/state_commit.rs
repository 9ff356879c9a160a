//! The state store's own cost per order, without the network: many stores commit pages of new
//! orders (each with its new-order event, the page's cursor and backfill bound) straight into a
//! `State`, as a first sync's commits would, on PostgreSQL (a database the bench creates and
//! drops, on `ORDERPORT_TEST_PG` or 127.0.0.1:5432) and on SQLite (a temporary file). Each
//! backend commits the pages twice over, into fresh states: the general way (the orders
//! upserted, the events finding their orders by key) and as a blank store's
//! (`PageCommit::assumes_blank`). The rounds alternate the order of the configurations, so
//! that no way always runs first.
//!
//! ```sh
//! cargo bench -p orderport-sync --bench state_commit                 # 64 stores × 60 pages × 20 orders, 2 rounds
//! cargo bench -p orderport-sync --bench state_commit -- --stores 16 --pages 30 --rounds 1
//! ```
//!
//! Printed per configuration: the wall time, orders per second, and per order the bench's CPU
//! (this process: packing, the driver, the runtime; the orders are built before the clock
//! starts) and the PostgreSQL server's (every `postgres` process, from /proc). The first-sync
//! bench (`orderport-cli`'s `first_sync`) measures the whole worker against the simulators; this
//! one isolates the state, whose share of a first sync's CPU is the question there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use orderport_core::CanonicalStatus;
use orderport_sync::suite::{self, cpu, pg::TestDatabase};
use orderport_sync::{PageCommit, PostgresState, SliceDone, SqliteState, State};

/// The bench's options: `--stores`, `--pages` (per store), `--orders` (per page), `--rounds`.
struct Options {
    stores: usize,
    pages: usize,
    orders: usize,
    rounds: usize,
}

impl Options {
    fn parse() -> Options {
        let args: Vec<String> = std::env::args().collect();
        // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
        // it, as a smoke run.
        let measuring = args.iter().any(|a| a == "--bench");
        let value = |name: &str, default: usize| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{name} takes a number, not {v}"))
                })
                .unwrap_or(default)
        };
        Options {
            stores: value("--stores", if measuring { 64 } else { 4 }),
            pages: value("--pages", if measuring { 60 } else { 3 }),
            orders: value("--orders", 20),
            rounds: value("--rounds", if measuring { 2 } else { 1 }),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Postgres,
    Sqlite,
}

/// One configuration: a backend, and whether the pages assume a blank store.
#[derive(Clone, Copy, Debug)]
struct Config {
    backend: Backend,
    blank: bool,
}

impl Config {
    fn label(self) -> String {
        let backend = match self.backend {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        };
        let way = if self.blank {
            "blank store (assumes_blank)"
        } else {
            "general (upsert, events by key)"
        };
        format!("{backend}, {way}")
    }
}

/// What one configuration measured.
struct Figures {
    wall: StdDuration,
    bench_cpu: StdDuration,
    server_cpu: StdDuration,
    orders: usize,
}

/// Store `s`'s pages: page `k` holds `orders` new orders modified in its minute, each with its
/// event, and moves the cursor to the minute's end. Each order carries a few hundred bytes of
/// notes, so that it packs to about the size of a simulated order (a few hundred bytes).
fn pages(store: &str, o: &Options, blank: bool) -> Vec<PageCommit> {
    let t0 = suite::t0();
    (0..o.pages)
        .map(|k| {
            let at = t0 + Duration::minutes(k as i64);
            let orders: Vec<_> = (0..o.orders)
                .map(|i| {
                    let id = format!("{k}-{i}");
                    let mut order = suite::order(store, &id, CanonicalStatus::AwaitingShipment, at);
                    order.internal_notes = Some(
                        (0..12)
                            .map(|n| format!("note {n} of order {id} of {store}; "))
                            .collect(),
                    );
                    order
                })
                .collect();
            PageCommit {
                done: Some(SliceDone::Advance(at + Duration::minutes(1))),
                backfill: true,
                backfill_until: Some(t0 + Duration::days(1)),
                assumes_blank: blank,
                ..suite::page_of(&orders)
            }
        })
        .collect()
}

/// Commits every store's pages into a new state of `config`'s backend, the stores at once.
async fn run(config: Config, o: &Options) -> Figures {
    let mut database = None;
    let mut directory = None;
    let state: Arc<dyn State> = match config.backend {
        Backend::Postgres => {
            let db = TestDatabase::create("state_commit")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let state = PostgresState::connect(db.url()).await.unwrap();
            let client = db.client().await.unwrap();
            // Nothing of the configuration before is left to flush.
            client.batch_execute("CHECKPOINT").await.unwrap();
            database = Some(db);
            Arc::new(state)
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let state = SqliteState::open(dir.path().join("state.db")).unwrap();
            directory = Some(dir);
            Arc::new(state)
        }
    };
    let stores: Vec<(String, Vec<PageCommit>)> = (0..o.stores)
        .map(|s| {
            let store = format!("store-{s}");
            let pages = pages(&store, o, config.blank);
            (store, pages)
        })
        .collect();
    let (cpu_before, server_before, start) =
        (cpu::process(), cpu::postgres_server(), Instant::now());
    let names: Vec<String> = stores.iter().map(|(store, _)| store.clone()).collect();
    let runs = stores.into_iter().map(|(store, pages)| {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let lease = suite::lease(state.as_ref(), &store, "bench", suite::t0())
                .await
                .unwrap();
            for page in pages {
                state.commit_page(&lease, page).await.unwrap();
            }
        })
    });
    for run in futures::future::join_all(runs).await {
        run.unwrap();
    }
    let figures = Figures {
        wall: start.elapsed(),
        bench_cpu: cpu::process().saturating_sub(cpu_before),
        server_cpu: match config.backend {
            Backend::Postgres => cpu::postgres_server().saturating_sub(server_before),
            Backend::Sqlite => StdDuration::ZERO,
        },
        orders: o.stores * o.pages * o.orders,
    };
    // Every page landed: each store has one event per order, none twice.
    let per_store = o.pages * o.orders;
    for store in &names {
        let events = state
            .pending_events("state_commit", Some(store), 0, per_store + 1)
            .await
            .unwrap();
        assert_eq!(events.len(), per_store, "{store}: one event per order");
    }
    drop(state);
    drop((database, directory));
    figures
}

fn micros_per(d: StdDuration, orders: usize) -> f64 {
    d.as_secs_f64() * 1e6 / orders.max(1) as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let o = Options::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "state_commit: {} stores × {} pages × {} orders = {} orders per configuration, {} round(s), {cores} cores",
        o.stores,
        o.pages,
        o.orders,
        o.stores * o.pages * o.orders,
        o.rounds
    );
    let configs = [
        Config {
            backend: Backend::Postgres,
            blank: false,
        },
        Config {
            backend: Backend::Postgres,
            blank: true,
        },
        Config {
            backend: Backend::Sqlite,
            blank: false,
        },
        Config {
            backend: Backend::Sqlite,
            blank: true,
        },
    ];
    println!();
    println!("| configuration | round | wall | orders/s | bench CPU per order | server CPU per order | both per order |");
    println!("|---|---|---|---|---|---|---|");
    for round in 0..o.rounds {
        let mut order: Vec<Config> = configs.to_vec();
        if round % 2 == 1 {
            order.reverse();
        }
        for config in order {
            let f = runtime.block_on(run(config, &o));
            let bench = micros_per(f.bench_cpu, f.orders);
            let server = micros_per(f.server_cpu, f.orders);
            let server_text = if config.backend == Backend::Postgres {
                format!("{server:.1} µs")
            } else {
                "—".to_owned()
            };
            println!(
                "| {} | {} | {:.2} s | {:.0} | {bench:.1} µs | {server_text} | {:.1} µs |",
                config.label(),
                round + 1,
                f.wall.as_secs_f64(),
                f.orders as f64 / f.wall.as_secs_f64(),
                bench + server,
            );
        }
    }
}
