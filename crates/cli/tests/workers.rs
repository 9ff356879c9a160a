//! Several `orderport sync --watch` workers sharing one PostgreSQL database: three processes,
//! the Spark Shipping simulator serving 30 stores and the Klaviyo simulator as the sink. The
//! worker holding a store mid first sync is killed (SIGKILL); the other two take its stores
//! over within the lease TTL plus the interval, and in the end every order is stored once,
//! every status change is one event, and every event has one verdict from the sink. SIGTERM
//! then stops each survivor cleanly (exit 0, leases released).
//!
//! The time bounds are behavioural (a takeover within seconds, against a lease that would
//! otherwise block the store forever), with slack for a loaded machine.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, KlaviyoSim, SimClock};
use orderport_sync::suite::pg::TestDatabase;
use tokio_postgres::NoTls;

const STORES: usize = 30;
const TTL_SECS: u64 = 4;
const INTERVAL_SECS: u64 = 2;
/// Slack on the takeover bound: polling, process start, a loaded machine.
const SLACK: Duration = Duration::from_secs(3);

/// An order: its store and external id.
type OrderId = (String, String);

/// A status change: from (none for a new order) and to.
type Change = (Option<String>, String);

struct Worker {
    child: Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Worker {
    fn start(dir: &Path, db: &str) -> Self {
        let ttl = format!("{TTL_SECS}s");
        Self::run(
            dir,
            db,
            &[
                "sync",
                "--config",
                "stores.toml",
                "--watch",
                "--lease-ttl",
                &ttl,
            ],
        )
    }

    fn run(dir: &Path, db: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_orderport"))
            .args(args)
            .env("ORDERPORT_DB", db)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Some(drain(child.stdout.take().unwrap()));
        let stderr = Some(drain(child.stderr.take().unwrap()));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn output(&mut self) -> (String, String) {
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        (join(self.stdout.take()), join(self.stderr.take()))
    }

    async fn exited(&mut self, bound: Duration) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + bound;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let (out, err) = self.output();
                panic!(
                    "worker {} still running after {bound:?}\nstdout: {out}\nstderr: {err}",
                    self.pid()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (out, err) = self.output();
        (status, out, err)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Each store's lease: (owner, token, expires in ns since 1970).
async fn leases(db: &tokio_postgres::Client) -> HashMap<String, (String, i64, i64)> {
    db.query("SELECT store_id, owner, token, expires_ns FROM leases", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap()
}

/// Whether every store finished its first sync (its watermark reached its backfill bound).
async fn first_syncs_done(db: &tokio_postgres::Client) -> usize {
    let row = db
        .query_one(
            "SELECT count(*) FROM cursors WHERE watermark_ns >= backfill_until_ns",
            &[],
        )
        .await
        .unwrap();
    usize::try_from(row.get::<_, i64>(0)).unwrap()
}

async fn undelivered(db: &tokio_postgres::Client) -> i64 {
    db.query_one(
        "SELECT count(*) FROM events e WHERE NOT EXISTS
             (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.sink = 'klaviyo')",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

async fn wait_for<F, Fut>(what: &str, bound: Duration, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + bound;
    while !ready().await {
        assert!(Instant::now() < deadline, "not within {bound:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_thirty_stores_and_survive_a_sigkill() {
    let database = TestDatabase::create("workers")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = database.url().to_owned();
    let sim = ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            stores: STORES,
            orders_per_day: 3,
            days: 10,
            ..GeneratorConfig::default()
        },
        Faults {
            latency: Duration::from_millis(400),
            ..Faults::none()
        },
        SimClock::system(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let klaviyo = KlaviyoSim::start(Faults::none(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores = sim.stores_toml().replace(
        "[[store]]\n",
        &format!(
            "[[store]]\nsync_history = \"10d\"\nsync_slice = \"1d\"\nsync_interval = \"{INTERVAL_SECS}s\"\nsync_jitter = \"0s\"\n"
        ),
    ) + &format!(
        "\n[[sink]]\nkind = \"klaviyo\"\nurl = \"{}\"\napi_key = \"pk_workers_test\"\n",
        klaviyo.url()
    );
    std::fs::write(dir.path().join("stores.toml"), stores).unwrap();
    let db = client(&url).await;
    // The schema exists before the workers race to create it (they would migrate it once
    // anyway; this keeps the kill below from landing before any work).
    orderport_sync::postgres::PostgresState::connect(&url)
        .await
        .unwrap();

    let started = Instant::now();
    let mut workers: Vec<Worker> = (0..3).map(|_| Worker::start(dir.path(), &url)).collect();
    // Kill the worker that holds a store in the middle of that store's first sync (after some
    // pages were committed), whichever it is.
    let deadline = Instant::now() + Duration::from_secs(30);
    let victim_pid = loop {
        assert!(
            Instant::now() < deadline,
            "no worker held a store in the middle of its first sync within 30 s"
        );
        let committed: i64 = db
            .query_one("SELECT count(*) FROM cursors", &[])
            .await
            .unwrap()
            .get(0);
        let holder = db
            .query_opt(
                "SELECT l.owner FROM leases l
                 LEFT JOIN cursors c ON c.store_id = l.store_id
                 WHERE l.expires_ns > $1 AND l.store_id NOT LIKE 'sink:%'
                   AND (c.watermark_ns IS NULL OR c.watermark_ns < c.backfill_until_ns)
                 LIMIT 1",
                &[&now_ns()],
            )
            .await
            .unwrap();
        // Owners are HOSTNAME:pid:random.
        let pid = holder.filter(|_| committed > 0).and_then(|row| {
            let owner: String = row.get(0);
            owner
                .rsplit(':')
                .nth(1)
                .and_then(|pid| pid.parse::<u32>().ok())
        });
        if let Some(pid) = pid {
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let victim = workers.iter().position(|w| w.pid() == victim_pid).unwrap();
    let victim_tag = format!(":{victim_pid}:");
    let at_kill = leases(&db).await;
    workers[victim].signal("KILL");
    let killed_at = Instant::now();
    let orphaned: BTreeMap<String, i64> = at_kill
        .iter()
        .filter(|(store, (owner, _, expires))| {
            owner.contains(&victim_tag) && *expires > now_ns() && !store.starts_with("sink:")
        })
        .map(|(store, (_, token, _))| (store.clone(), *token))
        .collect();
    assert!(!orphaned.is_empty());
    assert!(
        first_syncs_done(&db).await < STORES,
        "the kill must land mid first sync"
    );

    // Each store the victim held is taken over (a larger token, another owner) within the
    // TTL plus the interval.
    let bound = Duration::from_secs(TTL_SECS + INTERVAL_SECS) + SLACK;
    let mut taken_over: BTreeMap<String, Duration> = BTreeMap::new();
    while taken_over.len() < orphaned.len() {
        assert!(
            killed_at.elapsed() < bound,
            "not taken over within {bound:?}: {:?}",
            orphaned
                .keys()
                .filter(|s| !taken_over.contains_key(*s))
                .collect::<Vec<_>>()
        );
        let now = leases(&db).await;
        for (store, token) in &orphaned {
            if let Some((owner, t, _)) = now.get(store) {
                if *t > *token && !owner.contains(&victim_tag) {
                    taken_over
                        .entry(store.clone())
                        .or_insert(killed_at.elapsed());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slowest = taken_over.values().max().copied().unwrap_or_default();

    // Every store's first sync finishes, and every event gets the sink's verdict.
    wait_for("every first sync done", Duration::from_secs(40), || {
        let db = &db;
        async move { first_syncs_done(db).await == STORES }
    })
    .await;
    wait_for("every event has a verdict", Duration::from_secs(20), || {
        let db = &db;
        async move { undelivered(db).await == 0 }
    })
    .await;

    // SIGTERM stops each survivor cleanly: exit 0, its leases released.
    let mut killed = workers.remove(victim);
    for worker in workers.iter_mut() {
        worker.signal("TERM");
        let (status, out, err) = worker.exited(Duration::from_secs(15)).await;
        assert_eq!(status.code(), Some(0), "stdout: {out}\nstderr: {err}");
        let tag = format!(":{}:", worker.pid());
        let still = leases(&db)
            .await
            .into_iter()
            .filter(|(_, (owner, _, expires))| owner.contains(&tag) && *expires > now_ns())
            .count();
        assert_eq!(still, 0, "leases left behind by a stopped worker");
    }
    let (_, victim_out, victim_err) = killed.exited(Duration::from_secs(1)).await;

    // Every order of every store stored once.
    let stored: Vec<(String, String, String)> = db
        .query("SELECT store_id, external_id, status FROM orders", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let keys: HashSet<(&str, &str)> = stored
        .iter()
        .map(|(s, e, _)| (s.as_str(), e.as_str()))
        .collect();
    assert_eq!(keys.len(), stored.len(), "an order stored twice");
    let per_store: HashSet<&str> = stored.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(per_store.len(), STORES, "every store has orders");

    // Each status change exactly one event: per order, a chain from nothing to its status.
    let events = db
        .query(
            "SELECT o.store_id, o.external_id, e.from_status, e.to_status, o.status
             FROM events e JOIN orders o ON o.seq = e.order_seq ORDER BY e.id",
            &[],
        )
        .await
        .unwrap();
    let mut chains: HashMap<OrderId, (Vec<Change>, String)> = HashMap::new();
    for r in &events {
        let entry = chains
            .entry((r.get(0), r.get(1)))
            .or_insert_with(|| (Vec::new(), r.get(4)));
        entry.0.push((r.get(2), r.get(3)));
    }
    assert_eq!(
        chains.len(),
        stored.len(),
        "every stored order has its events"
    );
    for (key, (chain, status)) in &chains {
        assert_eq!(
            chain[0].0, None,
            "{key:?}: the first event is the order's arrival"
        );
        for pair in chain.windows(2) {
            assert_eq!(
                pair[1].0.as_deref(),
                Some(pair[0].1.as_str()),
                "{key:?}: each event starts where the last ended (no change twice): {chain:?}"
            );
        }
        assert_eq!(
            &chain[chain.len() - 1].1,
            status,
            "{key:?}: ends at the order's status"
        );
    }

    // Each event one verdict from the sink; what was delivered reached Klaviyo once.
    let verdicts = db
        .query(
            "SELECT e.id, count(d.event_id), count(*) FILTER (WHERE d.state = 'delivered')
             FROM events e LEFT JOIN deliveries d ON d.event_id = e.id GROUP BY e.id",
            &[],
        )
        .await
        .unwrap();
    let mut delivered = 0;
    for r in &verdicts {
        assert_eq!(
            r.get::<_, i64>(1),
            1,
            "event {} has one verdict",
            r.get::<_, i64>(0)
        );
        delivered += r.get::<_, i64>(2);
    }
    assert_eq!(
        klaviyo.events().len() as i64,
        delivered,
        "Klaviyo recorded each delivered event once"
    );
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
    eprintln!(
        "workers: {} orders, {} events, {} stores taken over from the killed worker (slowest after {slowest:?}), {:?} in all",
        stored.len(),
        events.len(),
        taken_over.len(),
        started.elapsed()
    );
    drop((victim_out, victim_err));
    sim.shutdown().await;
    klaviyo.shutdown().await;
}

/// SIGTERM during a walk on PostgreSQL: the connector waits out a ten-minute `Retry-After`
/// after two pages; the process stops at once with exit 0, the pages before are committed, and
/// the store's lease is released (another worker takes it at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_walk_commits_releases_and_exits_0_on_postgres() {
    let database = TestDatabase::create("sigterm")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = database.url().to_owned();
    let sim = ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            orders_per_day: 10,
            days: 3,
            invalid_share: 0.0,
            ..GeneratorConfig::default()
        },
        Faults {
            rate_limit_every: 3,
            retry_after_secs: 600,
            ..Faults::none()
        },
        SimClock::system(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores = sim
        .stores_toml()
        .replace("retry_max_delay_ms = 200", "retry_max_delay_ms = 3600000")
        .replace(
            "[[store]]\n",
            "[[store]]\nsync_history = \"3d\"\nsync_slice = \"1d\"\nsync_jitter = \"0s\"\n",
        );
    std::fs::write(dir.path().join("stores.toml"), stores).unwrap();
    let mut worker = Worker::run(
        dir.path(),
        &url,
        &["sync", "--config", "stores.toml", "--once"],
    );
    wait_for(
        "the third request, answered 429",
        Duration::from_secs(30),
        || {
            let n = sim.request_count();
            async move { n >= 3 }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.signal("TERM");
    let (status, out, err) = worker.exited(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("stopped by a signal"), "{out}");
    let db = client(&url).await;
    let orders: i64 = db
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert!(orders > 0, "the pages before the back-off are committed");
    let state = orderport_sync::postgres::PostgresState::connect(&url)
        .await
        .unwrap();
    let grant = orderport_sync::State::acquire_lease(
        &state,
        "spark-1",
        "another-worker",
        chrono::Duration::minutes(10),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(
        matches!(grant, orderport_sync::LeaseGrant::Granted(_)),
        "the lease was left behind: {grant:?}"
    );
    assert_eq!(
        sim.request_count(),
        3,
        "nothing was fetched after the signal"
    );
    sim.shutdown().await;
}
