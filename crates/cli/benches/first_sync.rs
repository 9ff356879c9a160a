//! The first sync of many simulated stores by real `orderport sync --watch` workers, on SQLite
//! (one process) and on PostgreSQL (1, 2 and 4 workers sharing one database): a bench binary
//! that prints its figures (docs/performance.md records them).
//!
//! The three channel simulators serve `--stores` stores each, as `orderport simulate --stores N
//! --latency-ms 50` does (Spark Shipping, Listing Mirror, Order Time; seed 42; 20 orders a day
//! for 90 days; 5% invalid orders; 50 ms before every reply), from this process, on a clock fixed
//! five minutes before the start, so every configuration syncs the very same orders. Each store
//! is configured with `sync_history` one day longer than the generated history (the whole history
//! is inside the first sync's range whenever it starts) and `sync_jitter = "0s"` (`--jitter`
//! sets others, each a configuration of its own: with `0s` every store in flight starts
//! together and stays paced in lockstep).
//!
//! For each configuration the workers start together, each with `--metrics-addr`; the run ends
//! when every store has reported its first sync (a run from no watermark, not cancelled), and
//! any failed run fails the bench. Then each worker's `/metrics` is scraped, its peak memory read
//! (`VmHWM`), and it is stopped with SIGTERM and reaped with `wait4` (its CPU time). The state is
//! then checked against the simulators: per store, orders stored + quarantined = orders served
//! and one event per stored order; anything else fails loudly.
//!
//! Figures per configuration: wall time (workers' start to the last first sync), requests per
//! second (counted by the simulators), worker CPU (user + system), peak memory per worker, the
//! state store's share (the workers' summed `orderport_sync_state_seconds` over their summed
//! `orderport_sync_run_seconds`), the runs' time over their pacing floor (what pacing and
//! latency cannot explain: an upper bound on the state's delay), and the state's size per
//! stored order (SQLite: the file plus its WAL after a checkpoint; PostgreSQL:
//! `pg_database_size`), each beside its goal. For PostgreSQL it also prints the server's CPU
//! (every `postgres` process's user + system time and its reaped children's, from /proc, over
//! the configuration).
//!
//! Run: `cargo bench -p orderport-cli --bench first_sync` (1,002 stores, every configuration),
//! or smaller: `cargo bench -p orderport-cli --bench first_sync -- --stores 30 --backends
//! sqlite,pg2`; `-- --help` lists the options. To compare builds side by side on the same
//! simulators, give each binary with a label: `-- --orderport base=/tmp/orderport-old
//! --orderport new=target/release/orderport` runs every configuration with each in turn.
//! Without `--bench` (as `cargo test -p orderport-cli` runs it) it is a smoke run: 3 stores,
//! 3 days, 1 ms latency, every configuration, the same checks. PostgreSQL answers at
//! `ORDERPORT_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`); each
//! configuration creates and drops its own database.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration as StdDuration, Instant};

use clap::Parser;
use orderport_sim::chrono::{DateTime, Duration, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, Tz};
use orderport_sync::suite::cpu;
use orderport_sync::suite::pg::TestDatabase;
use serde_json::Value;

/// The goals of issue 16.
const GOAL_STATE_SHARE: f64 = 0.10;
const GOAL_WORKER_MIB: f64 = 128.0;
const GOAL_BYTES_PER_ORDER: f64 = 1500.0;

/// The least time between two requests of one store (one credential each here): `orderport
/// sync`'s pacing (its `CREDENTIAL_GAP`). A run of `r` requests takes at least `(r - 1)` gaps
/// plus one reply's latency, however fast the state and the parsing are: its pacing floor.
const PACING_GAP: f64 = 0.25;

/// How long a stopped worker may take to exit.
const STOP_BOUND: StdDuration = StdDuration::from_secs(60);

/// The first sync of many simulated stores on SQLite and PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "first_sync")]
struct Args {
    /// Stores per channel (three channels): 334 serves 1,002 stores. Default: 334 with
    /// `--bench`, 1 for the smoke run.
    #[arg(long)]
    stores: Option<usize>,
    /// The configurations, in order: `sqlite` (one process) and `pgN` (N workers on one
    /// PostgreSQL database).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,pg1,pg2,pg4")]
    backends: Vec<Backend>,
    /// Latency before every reply, in milliseconds. Default: 50 with `--bench`, 1 for the
    /// smoke run.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Orders per day per store.
    #[arg(long, default_value_t = 20)]
    orders_per_day: u32,
    /// Days of history. Default: 90 with `--bench`, 3 for the smoke run.
    #[arg(long)]
    days: Option<u32>,
    /// Stores each worker syncs at the same time (`sync --max-concurrent`). Default: every
    /// store at once, split evenly across the configuration's workers.
    #[arg(long)]
    max_concurrent: Option<usize>,
    /// Each store's `sync_jitter`, the random delay before its runs (the first one too). Give
    /// several, comma-separated, to run each configuration with each.
    #[arg(long, value_delimiter = ',', default_value = "0s")]
    jitter: Vec<String>,
    /// Give up on a configuration whose first syncs take longer, in seconds. Default: 3600
    /// with `--bench`, 300 for the smoke run.
    #[arg(long)]
    timeout_secs: Option<u64>,
    /// The `orderport` binaries to run, as `LABEL=PATH` (repeat it to compare builds side by
    /// side: each configuration runs with each binary in turn, on the same simulators; one of
    /// another build creates its own schema, which may be of another version, as its workers
    /// start). Default: this build's.
    #[arg(long = "orderport", value_name = "LABEL=PATH")]
    binaries: Vec<Binary>,
    /// Set by `cargo bench`: the full run's defaults.
    #[arg(long)]
    bench: bool,
    /// A test filter from cargo (ignored).
    #[arg(hide = true)]
    filter: Vec<String>,
}

/// One configuration: the state database and how many workers share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Backend {
    postgres: bool,
    workers: usize,
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "sqlite" {
            return Ok(Self {
                postgres: false,
                workers: 1,
            });
        }
        text.strip_prefix("pg")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=64).contains(n))
            .map(|workers| Self {
                postgres: true,
                workers,
            })
            .ok_or_else(|| {
                format!("{text:?}: write sqlite, or pgN for N PostgreSQL workers (pg1, pg2, pg4)")
            })
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.postgres, self.workers) {
            (false, _) => write!(f, "SQLite, 1 process"),
            (true, 1) => write!(f, "PostgreSQL, 1 worker"),
            (true, n) => write!(f, "PostgreSQL, {n} workers"),
        }
    }
}

/// An `orderport` binary to run the workers with, and its label in the figures.
#[derive(Debug, Clone)]
struct Binary {
    label: String,
    path: PathBuf,
}

impl std::str::FromStr for Binary {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (label, path) = text
            .split_once('=')
            .filter(|(label, path)| !label.is_empty() && !path.is_empty())
            .ok_or_else(|| format!("{text:?}: write LABEL=PATH, e.g. base=/tmp/orderport"))?;
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(format!("{}: no such file", path.display()));
        }
        Ok(Self {
            label: label.to_owned(),
            path,
        })
    }
}

/// The scale of a run.
#[derive(Debug, Clone, Copy)]
struct Scale {
    stores_per_channel: usize,
    latency_ms: u64,
    orders_per_day: u32,
    days: u32,
}

/// The simulators and what they serve.
struct Simulated {
    sims: Vec<ChannelSim>,
    /// Orders served per store (valid or not): what the first sync must store or quarantine.
    served: BTreeMap<String, u64>,
    /// Where the generated history begins.
    history_start: DateTime<Utc>,
    /// The stores files the workers read: one per `--jitter`, with it.
    stores_files: Vec<(String, PathBuf)>,
    /// The simulated latency before every reply.
    latency: StdDuration,
    /// `sync_history`.
    sync_history: Duration,
}

impl Simulated {
    fn requests(&self) -> u64 {
        self.sims.iter().map(ChannelSim::request_count).sum()
    }
}

/// What one worker cost.
#[derive(Debug, Default, Clone)]
struct WorkerCost {
    cpu: StdDuration,
    peak_kib: u64,
    first_syncs: usize,
    metrics: Scraped,
}

/// The sums a worker's `/metrics` holds.
#[derive(Debug, Default, Clone)]
struct Scraped {
    /// By operation: summed seconds and calls.
    state: BTreeMap<String, (f64, u64)>,
    run_seconds: f64,
    runs: u64,
    http_requests: u64,
}

impl Scraped {
    fn state_seconds(&self) -> f64 {
        self.state.values().map(|(s, _)| s).sum()
    }

    fn add(&mut self, other: &Scraped) {
        for (op, (s, n)) in &other.state {
            let entry = self.state.entry(op.clone()).or_default();
            entry.0 += s;
            entry.1 += n;
        }
        self.run_seconds += other.run_seconds;
        self.runs += other.runs;
        self.http_requests += other.http_requests;
    }
}

/// The figures of one configuration.
#[derive(Debug)]
struct Figures {
    backend: Backend,
    /// The label of the binary the workers ran.
    binary: String,
    /// The stores' `sync_jitter`.
    jitter: String,
    max_concurrent: usize,
    wall: StdDuration,
    requests: u64,
    workers: Vec<WorkerCost>,
    /// CPU of this process (the simulators) during the configuration.
    sim_cpu: StdDuration,
    /// CPU of the PostgreSQL server's processes during the configuration (PostgreSQL only).
    server_cpu: Option<StdDuration>,
    orders: u64,
    quarantined: u64,
    state_bytes: u64,
    state_what: &'static str,
    /// The simulated latency before every reply.
    latency: StdDuration,
}

impl Figures {
    fn metrics(&self) -> Scraped {
        let mut all = Scraped::default();
        for w in &self.workers {
            all.add(&w.metrics);
        }
        all
    }

    fn state_share(&self) -> f64 {
        let m = self.metrics();
        if m.run_seconds > 0.0 {
            m.state_seconds() / m.run_seconds
        } else {
            f64::NAN
        }
    }

    /// The share of the runs' time over their pacing floor: the time their requests' pacing
    /// and the last reply's latency cannot explain. Whatever else a run waits for (the state,
    /// parsing, a busy CPU) is in it, so it bounds from above how much the state store delayed
    /// the runs (a state call that ends before the next paced request may go delays nothing,
    /// though [`Figures::state_share`] counts it whole).
    fn over_floor(&self) -> f64 {
        let m = self.metrics();
        let runs = m.runs as f64;
        let floor = (m.http_requests as f64 - runs) * PACING_GAP + runs * secs(self.latency);
        if m.run_seconds > 0.0 {
            (m.run_seconds - floor) / m.run_seconds
        } else {
            f64::NAN
        }
    }

    fn cpu(&self) -> StdDuration {
        self.workers.iter().map(|w| w.cpu).sum()
    }

    fn peak_mib(&self) -> f64 {
        self.workers.iter().map(|w| w.peak_kib).max().unwrap_or(0) as f64 / 1024.0
    }

    fn bytes_per_order(&self) -> f64 {
        self.state_bytes as f64 / self.orders.max(1) as f64
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let measuring = std::env::args().any(|a| a == "--bench");
    // Under `cargo test`, arguments meant for libtest (`--nocapture`, `--test-threads=1`)
    // reach this binary too: the smoke run ignores what it does not know.
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if measuring || e.kind() == clap::error::ErrorKind::DisplayHelp => e.exit(),
        Err(_) => Args::parse_from(["first_sync"]),
    };
    let scale = Scale {
        stores_per_channel: args
            .stores
            .unwrap_or(if measuring { 334 } else { 1 })
            .max(1),
        latency_ms: args.latency_ms.unwrap_or(if measuring { 50 } else { 1 }),
        orders_per_day: args.orders_per_day,
        days: args.days.unwrap_or(if measuring { 90 } else { 3 }).max(1),
    };
    let timeout =
        StdDuration::from_secs(
            args.timeout_secs
                .unwrap_or(if measuring { 3600 } else { 300 }),
        );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sim = runtime.block_on(simulate(scale, &args.jitter, dir.path()));
    let stores = sim.served.len();
    let served: u64 = sim.served.values().sum();
    println!(
        "first_sync: {stores} stores ({} per channel), {} days × {} orders a day, {} ms latency: {} orders served ({} per store on average); {}",
        scale.stores_per_channel,
        scale.days,
        scale.orders_per_day,
        scale.latency_ms,
        group(served),
        served / stores.max(1) as u64,
        machine()
    );

    let binaries = if args.binaries.is_empty() {
        vec![Binary {
            label: "this build".into(),
            path: PathBuf::from(env!("CARGO_BIN_EXE_orderport")),
        }]
    } else {
        args.binaries.clone()
    };
    let mut all = Vec::new();
    for backend in &args.backends {
        let max_concurrent = args
            .max_concurrent
            .unwrap_or_else(|| stores.div_ceil(backend.workers))
            .max(1);
        for stores_file in &sim.stores_files {
            for binary in &binaries {
                let config = Config {
                    backend: *backend,
                    binary,
                    stores: stores_file,
                    max_concurrent,
                };
                let figures = run(&runtime, &sim, config, timeout, dir.path());
                print_detail(&figures);
                check_sane(&figures, stores);
                all.push(figures);
            }
        }
    }
    print_table(&all, binaries.len() > 1, sim.stores_files.len() > 1);
    runtime.block_on(async {
        for s in sim.sims {
            s.shutdown().await;
        }
    });
}

/// Starts the three simulators on a fixed clock and writes the stores file.
async fn simulate(scale: Scale, jitters: &[String], dir: &Path) -> Simulated {
    // Five minutes back: every order is older than the workers' upper bound (now - 1 minute).
    let clock = SimClock::fixed(Utc::now() - Duration::minutes(5));
    let faults = Faults {
        latency: StdDuration::from_millis(scale.latency_ms),
        ..Faults::none()
    };
    let mut sims = Vec::new();
    // As `orderport simulate` builds them: one seed per channel, in `Flavor::ALL` order.
    for (i, flavor) in Flavor::ALL.into_iter().enumerate() {
        let generator = GeneratorConfig {
            seed: 42 + i as u64,
            stores: scale.stores_per_channel,
            orders_per_day: scale.orders_per_day,
            days: scale.days,
            timezone: Tz::UTC,
            invalid_share: 0.05,
            ..GeneratorConfig::default()
        };
        let sim = ChannelSim::start(
            flavor,
            generator,
            faults.clone(),
            clock.clone(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .expect("the simulator starts");
        sims.push(sim);
    }
    let now = clock.now();
    let history_start = now - Duration::days(i64::from(scale.days));
    let mut served = BTreeMap::new();
    for sim in &sims {
        for store in sim.stores() {
            let n = sim
                .orders_visible(&store.id, history_start - Duration::days(1), now)
                .len() as u64;
            assert!(
                served.insert(store.id.clone(), n).is_none(),
                "two simulated stores are named {}",
                store.id
            );
        }
    }
    let sync_history = Duration::days(i64::from(scale.days) + 1);
    let stores_files = jitters
        .iter()
        .enumerate()
        .map(|(i, jitter)| {
            let settings = format!(
                "[[store]]\nsync_history = \"{}d\"\nsync_jitter = {jitter:?}\n",
                sync_history.num_days()
            );
            let toml: String = sims
                .iter()
                .map(|s| s.stores_toml().replace("[[store]]\n", &settings))
                .collect::<Vec<_>>()
                .join("\n");
            let stores_file = dir.join(format!("stores-{i}.toml"));
            std::fs::write(&stores_file, toml).expect("the stores file");
            (jitter.clone(), stores_file)
        })
        .collect();
    Simulated {
        sims,
        latency: StdDuration::from_millis(scale.latency_ms),
        served,
        history_start,
        stores_files,
        sync_history,
    }
}

/// A running `orderport sync --watch`.
struct Worker {
    child: Child,
    pid: libc::pid_t,
    metrics_addr: String,
    stderr: Option<std::thread::JoinHandle<String>>,
    reaped: bool,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Only a worker not reaped by `stop` (a failure on the way): never signal a reaped pid.
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a worker's stdout says.
enum Said {
    /// A `--json` line.
    Line(usize, Value),
    /// Its stdout closed: it exited.
    Closed(usize),
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether `path` is this build's `orderport`, whose schema this bench's library writes.
fn is_this_build(path: &Path) -> bool {
    let this = Path::new(env!("CARGO_BIN_EXE_orderport"));
    match (std::fs::canonicalize(path), std::fs::canonicalize(this)) {
        (Ok(a), Ok(b)) => a == b,
        _ => path == this,
    }
}

fn start_worker(
    binary: &Binary,
    index: usize,
    stores_file: &Path,
    db: &str,
    max_concurrent: usize,
    said: mpsc::Sender<Said>,
) -> Worker {
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(&binary.path)
        .args([
            "--json",
            "-q",
            "--metrics-addr",
            &metrics_addr,
            "sync",
            "--config",
        ])
        .arg(stores_file)
        .args(["--db", db, "--watch", "--max-concurrent"])
        .arg(max_concurrent.to_string())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker starts");
    let stdout = child.stdout.take().expect("its stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                if said.send(Said::Line(index, value)).is_err() {
                    return;
                }
            }
        }
        let _ = said.send(Said::Closed(index));
    });
    let mut stderr = child.stderr.take().expect("its stderr");
    let stderr = Some(std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        // The end says why it stopped.
        let tail = bytes.len().saturating_sub(8192);
        String::from_utf8_lossy(&bytes[tail..]).into_owned()
    }));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    Worker {
        child,
        pid,
        metrics_addr,
        stderr,
        reaped: false,
    }
}

/// Stops every worker at once and says why, with each one's last logs.
fn fail(workers: &mut [Worker], why: String) -> ! {
    let mut logs = String::new();
    for w in workers.iter_mut() {
        if !w.reaped {
            let _ = w.child.kill();
            let _ = w.child.wait();
            w.reaped = true;
        }
        if let Some(err) = w.stderr.take().and_then(|h| h.join().ok()) {
            logs.push_str(&format!("\n--- worker {} stderr (end) ---\n{err}", w.pid));
        }
    }
    panic!("{why}{logs}");
}

/// One configuration: the state, the binary its workers run, the stores file (and its
/// `sync_jitter`) and the workers' `--max-concurrent`.
struct Config<'a> {
    backend: Backend,
    binary: &'a Binary,
    stores: &'a (String, PathBuf),
    max_concurrent: usize,
}

/// Runs one configuration from an empty state to every store's first sync, and measures it.
fn run(
    runtime: &tokio::runtime::Runtime,
    sim: &Simulated,
    config: Config<'_>,
    timeout: StdDuration,
    dir: &Path,
) -> Figures {
    let Config {
        backend,
        binary,
        stores: (jitter, stores_file),
        max_concurrent,
    } = config;
    // The first sync must cover the whole generated history (see the module's comment).
    let lower = Utc::now() - Duration::minutes(1) - sim.sync_history;
    assert!(
        lower < sim.history_start,
        "the simulators started too long ago: the first sync would miss the oldest orders"
    );
    let database = backend.postgres.then(|| {
        let database = runtime
            .block_on(TestDatabase::create("first_sync"))
            .unwrap_or_else(|e| panic!("{e}"));
        // The last configuration's writes flushed now, so that this one does not pay for them
        // inside its window (the second of two configurations ran 15–20% slower, whichever
        // build it was, before this).
        runtime.block_on(checkpoint(database.url()));
        database
    });
    let sqlite = dir.join(format!("state-{}.db", now_tag()));
    let db = database
        .as_ref()
        .map_or_else(|| sqlite.display().to_string(), |d| d.url().to_owned());
    // The schema exists before the clock starts (the workers would otherwise create it inside
    // the timed window). Another build's binary may write another schema version: its workers
    // create theirs (once, under the migrations' advisory lock), inside the window.
    if is_this_build(&binary.path) {
        runtime
            .block_on(orderport_sync::StateStore::open(&db))
            .expect("the state opens");
    }

    let requests_before = sim.requests();
    let cpu_before = cpu::process();
    let server_before = backend.postgres.then(cpu::postgres_server);
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let mut workers: Vec<Worker> = (0..backend.workers)
        .map(|i| start_worker(binary, i, stores_file, &db, max_concurrent, tx.clone()))
        .collect();
    drop(tx);

    // Every store's first sync: a run from no watermark, finished. Any failed run fails.
    let mut first: BTreeMap<String, (usize, Value)> = BTreeMap::new();
    let mut new_in_later_runs = 0u64;
    let deadline = started + timeout;
    while first.len() < sim.served.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let said = match rx.recv_timeout(left) {
            Ok(said) => said,
            Err(_) => fail(
                &mut workers,
                format!(
                    "{backend}: {} of {} first syncs done after {timeout:?}; raise --timeout-secs or lower --stores",
                    first.len(),
                    sim.served.len()
                ),
            ),
        };
        let (index, line) = match said {
            Said::Line(index, line) => (index, line),
            Said::Closed(index) => fail(
                &mut workers,
                format!("{backend}: worker {index} exited before every store's first sync"),
            ),
        };
        if line["ok"] != Value::Bool(true) {
            fail(
                &mut workers,
                format!("{backend}: a store run failed: {line}"),
            );
        }
        let report = &line["report"];
        let store = report["store_id"].as_str().unwrap_or_default().to_owned();
        if report["cancelled"] == Value::Bool(true) {
            continue;
        }
        if !report["watermark_before"].is_null() {
            new_in_later_runs += report["new"].as_u64().unwrap_or(0);
            continue;
        }
        if let Some((other, _)) = first.insert(store.clone(), (index, report.clone())) {
            fail(
                &mut workers,
                format!("{backend}: store {store} was synced from scratch twice (workers {other} and {index})"),
            );
        }
    }
    let wall = started.elapsed();
    let requests = sim.requests() - requests_before;
    // The server's CPU over the same span as the wall time.
    let server_cpu = server_before.map(|before| cpu::postgres_server().saturating_sub(before));

    // Each worker's metrics and peak memory while it runs, then its CPU once stopped.
    let mut costs: Vec<WorkerCost> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| WorkerCost {
            metrics: parse_metrics(&runtime.block_on(scrape(&w.metrics_addr))),
            peak_kib: vm_hwm_kib(w.pid),
            first_syncs: first.values().filter(|(by, _)| *by == i).count(),
            ..WorkerCost::default()
        })
        .collect();
    for (i, cost) in costs.iter_mut().enumerate() {
        match stop(&mut workers[i]) {
            Ok(cpu) => cost.cpu = cpu,
            Err(why) => fail(&mut workers, format!("{backend}: {why}")),
        }
    }
    let sim_cpu = cpu::process().saturating_sub(cpu_before);

    // The state against what the simulators served.
    let stored = if backend.postgres {
        runtime.block_on(postgres_state(&db))
    } else {
        sqlite_state(&sqlite)
    };
    let new_in_first: u64 = first
        .values()
        .map(|(_, r)| r["new"].as_u64().unwrap_or(0))
        .sum();
    verify(backend, sim, &stored, new_in_first, new_in_later_runs);
    drop(database);
    Figures {
        backend,
        binary: binary.label.clone(),
        jitter: jitter.clone(),
        max_concurrent,
        wall,
        requests,
        workers: costs,
        sim_cpu,
        server_cpu,
        orders: stored.orders.values().sum(),
        quarantined: stored.quarantined.values().sum(),
        state_bytes: stored.bytes,
        state_what: stored.what,
        latency: sim.latency,
    }
}

fn now_tag() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// SIGTERM, then `wait4`: the worker's CPU time (user + system); an error unless it exits 0
/// within [`STOP_BOUND`].
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports its CPU time
fn stop(worker: &mut Worker) -> Result<StdDuration, String> {
    // SAFETY: our own child, not reaped yet.
    unsafe { libc::kill(worker.pid, libc::SIGTERM) };
    let deadline = Instant::now() + STOP_BOUND;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as above; WNOHANG returns 0 while it runs.
        let waited = unsafe { libc::wait4(worker.pid, &mut status, libc::WNOHANG, &mut usage) };
        if waited == worker.pid {
            break;
        }
        if waited < 0 {
            return Err(format!("wait4 on worker {} failed", worker.pid));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "worker {} did not stop within {STOP_BOUND:?} of SIGTERM",
                worker.pid
            ));
        }
        std::thread::sleep(StdDuration::from_millis(20));
    }
    worker.reaped = true;
    let logs = worker
        .stderr
        .take()
        .and_then(|h| h.join().ok())
        .unwrap_or_default();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!(
            "worker {} ended with wait status {status} after SIGTERM (exit 0 expected)\n{logs}",
            worker.pid
        ));
    }
    let time = |t: libc::timeval| {
        StdDuration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + StdDuration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Ok(time(usage.ru_utime) + time(usage.ru_stime))
}

/// The peak resident memory of a running process: `VmHWM` of its /proc status. (`ru_maxrss`
/// from wait4 would count this process's memory, which a child shares between its spawn and
/// its exec.)
fn vm_hwm_kib(pid: libc::pid_t) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn scrape(addr: &str) -> String {
    let url = format!("http://{addr}/metrics");
    reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("scraping {url}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("reading {url}: {e}"))
}

/// The sums of the Prometheus text this bench reads.
fn parse_metrics(text: &str) -> Scraped {
    let mut out = Scraped::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let operation = || {
            labels
                .split_once("operation=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map_or_else(String::new, |(op, _)| op.to_owned())
        };
        match name {
            "orderport_sync_state_seconds_sum" => {
                out.state.entry(operation()).or_default().0 += value;
            }
            "orderport_sync_state_seconds_count" => {
                out.state.entry(operation()).or_default().1 += value as u64;
            }
            "orderport_sync_run_seconds_sum" => out.run_seconds += value,
            "orderport_sync_run_seconds_count" => out.runs += value as u64,
            "orderport_http_request_duration_seconds_count" => out.http_requests += value as u64,
            _ => {}
        }
    }
    out
}

/// What the state holds after the run.
struct Stored {
    orders: BTreeMap<String, u64>,
    quarantined: BTreeMap<String, u64>,
    events: BTreeMap<String, u64>,
    bytes: u64,
    what: &'static str,
}

const PER_STORE: [(&str, &str); 3] = [
    (
        "orders",
        "SELECT store_id, count(*) FROM orders GROUP BY store_id",
    ),
    (
        "quarantine",
        "SELECT store_id, count(*) FROM quarantine GROUP BY store_id",
    ),
    (
        "events",
        "SELECT store_id, count(*) FROM events GROUP BY store_id",
    ),
];

fn sqlite_state(path: &Path) -> Stored {
    let conn = rusqlite::Connection::open(path).expect("the SQLite state opens");
    let mut counts = PER_STORE.iter().map(|(table, sql)| {
        let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{table}: {e}"));
        statement
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .and_then(Iterator::collect::<Result<BTreeMap<_, _>, _>>)
            .unwrap_or_else(|e| panic!("{table}: {e}"))
    });
    let (orders, quarantined, events) = (
        counts.next().unwrap(),
        counts.next().unwrap(),
        counts.next().unwrap(),
    );
    // Everything in the WAL goes to the file; the WAL (emptied) is counted too.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("a checkpoint");
    let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let bytes = size(path.to_owned()) + size(wal);
    Stored {
        orders,
        quarantined,
        events,
        bytes,
        what: "file + WAL after a checkpoint",
    }
}

/// `CHECKPOINT`: every dirty page of the server written out (a warning if not allowed).
async fn checkpoint(url: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL answers");
    let connection = tokio::spawn(connection);
    if let Err(e) = client.batch_execute("CHECKPOINT").await {
        // Needs a superuser or `pg_checkpoint`: the figures may then drift between
        // configurations.
        eprintln!("first_sync: no CHECKPOINT before this configuration ({e})");
    }
    drop(client);
    let _ = connection.await;
}

async fn postgres_state(url: &str) -> Stored {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL answers");
    let connection = tokio::spawn(connection);
    let mut counts = Vec::new();
    for (table, sql) in PER_STORE {
        let rows = client
            .query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        counts.push(
            rows.iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
                .collect::<BTreeMap<_, _>>(),
        );
    }
    let bytes: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .expect("the database's size")
        .get(0);
    drop(client);
    let _ = connection.await;
    let events = counts.pop().unwrap();
    let quarantined = counts.pop().unwrap();
    let orders = counts.pop().unwrap();
    Stored {
        orders,
        quarantined,
        events,
        bytes: u64::try_from(bytes).unwrap_or(0),
        what: "pg_database_size",
    }
}

/// Per store: orders stored + quarantined = orders served, one event per stored order (the
/// clock is fixed, so each order arrives once), and the first syncs' reports stored them all.
fn verify(backend: Backend, sim: &Simulated, stored: &Stored, new_first: u64, new_later: u64) {
    let get = |map: &BTreeMap<String, u64>, store: &str| map.get(store).copied().unwrap_or(0);
    let mut wrong = Vec::new();
    for (store, served) in &sim.served {
        let (orders, quarantined, events) = (
            get(&stored.orders, store),
            get(&stored.quarantined, store),
            get(&stored.events, store),
        );
        if orders + quarantined != *served || events != orders {
            wrong.push(format!(
                "{store}: served {served}, stored {orders} + quarantined {quarantined}, {events} events"
            ));
        }
    }
    let unknown: Vec<&String> = stored
        .orders
        .keys()
        .chain(stored.quarantined.keys())
        .filter(|s| !sim.served.contains_key(*s))
        .collect();
    let orders: u64 = stored.orders.values().sum();
    assert!(
        wrong.is_empty() && unknown.is_empty(),
        "{backend}: the state does not hold what the simulators served ({} stores wrong, unknown stores {unknown:?}):\n{}",
        wrong.len(),
        wrong.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(
        (new_first, new_later),
        (orders, 0),
        "{backend}: the first syncs reported {new_first} new orders and later runs {new_later}, the state holds {orders}"
    );
}

/// The smoke run's checks, and the full run's: figures that cannot be wrong.
fn check_sane(f: &Figures, stores: usize) {
    let m = f.metrics();
    let first_syncs: usize = f.workers.iter().map(|w| w.first_syncs).sum();
    assert_eq!(
        first_syncs, stores,
        "{}: every store's first sync",
        f.backend
    );
    assert!(f.requests > 0 && f.orders > 0, "{}: {f:?}", f.backend);
    assert!(
        f.cpu() > StdDuration::ZERO,
        "{}: worker CPU {f:?}",
        f.backend
    );
    assert!(
        f.workers.iter().all(|w| w.peak_kib > 0),
        "{}: peak memory read for every worker: {f:?}",
        f.backend
    );
    assert!(f.state_bytes > 0, "{}: state size {f:?}", f.backend);
    assert!(
        m.runs as usize >= stores && m.run_seconds > 0.0,
        "{}: every first sync in orderport_sync_run_seconds: {m:?}",
        f.backend
    );
    // No `lookup`: a first sync of a blank store commits its pages without one (docs/sync.md).
    for op in ["commit_page", "acquire_lease"] {
        assert!(
            m.state.get(op).is_some_and(|(s, n)| *s > 0.0 && *n > 0),
            "{}: {op} in orderport_sync_state_seconds: {m:?}",
            f.backend
        );
    }
    // Above 1 is possible: calls outside runs and the heartbeat's renewals overlap run time.
    let share = f.state_share();
    assert!(
        share > 0.0 && share.is_finite(),
        "{}: state share {share}",
        f.backend
    );
    assert!(
        m.http_requests > 0,
        "{}: the workers' requests: {m:?}",
        f.backend
    );
    // Below the floor by more than the clocks' noise: the pacing is not what PACING_GAP says.
    let over = f.over_floor();
    assert!(
        over > -0.01,
        "{}: the runs took {:.1}% less than their pacing floor: is PACING_GAP still `orderport sync`'s pacing?",
        f.backend,
        -over * 100.0
    );
}

fn secs(d: StdDuration) -> f64 {
    d.as_secs_f64()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "pass"
    } else {
        "FAIL"
    }
}

fn print_detail(f: &Figures) {
    let m = f.metrics();
    println!(
        "\n{} ({}, sync_jitter {}): wall {:.1} s, {} requests ({:.0}/s; the workers' count, scraped after: {}), {} orders stored + {} quarantined, --max-concurrent {}, simulators' CPU {:.1} s{}",
        f.backend,
        f.binary,
        f.jitter,
        secs(f.wall),
        group(f.requests),
        f.requests as f64 / secs(f.wall),
        group(m.http_requests),
        group(f.orders),
        group(f.quarantined),
        f.max_concurrent,
        secs(f.sim_cpu),
        f.server_cpu
            .map(|c| format!(", PostgreSQL server's CPU {:.1} s", secs(c)))
            .unwrap_or_default()
    );
    for (i, w) in f.workers.iter().enumerate() {
        println!(
            "  worker {i}: {} first syncs, CPU {:.1} s, peak {:.1} MiB, {} runs for {:.1} s, state calls {:.1} s",
            w.first_syncs,
            secs(w.cpu),
            w.peak_kib as f64 / 1024.0,
            w.metrics.runs,
            w.metrics.run_seconds,
            w.metrics.state_seconds()
        );
    }
    let mut ops: Vec<_> = m.state.iter().collect();
    ops.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    let ops: Vec<String> = ops
        .iter()
        .map(|(op, (s, n))| {
            format!(
                "{op} {s:.1} s / {} calls ({:.2} ms)",
                group(*n),
                s * 1000.0 / (*n).max(1) as f64
            )
        })
        .collect();
    println!(
        "  run time over the pacing floor {:.1}%; state share {:.1}% ({:.1} s of {:.1} s run time): {}",
        f.over_floor() * 100.0,
        f.state_share() * 100.0,
        m.state_seconds(),
        m.run_seconds,
        ops.join(", ")
    );
}

fn print_table(all: &[Figures], labelled: bool, jitters: bool) {
    println!("\n| state | wall | requests/s | worker CPU (user + sys) | server CPU | peak memory per worker | state-store share (goal ≤ 10%) | run time over the pacing floor (bounds the state's delay; ≤ 10%) | state size | per order (goal ≤ 1.5 KB) |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in all {
        let peaks: Vec<String> = f
            .workers
            .iter()
            .map(|w| format!("{:.1}", w.peak_kib as f64 / 1024.0))
            .collect();
        let share = f.state_share();
        let per_order = f.bytes_per_order();
        let mut name = f.backend.to_string();
        if labelled {
            name.push_str(&format!(" ({})", f.binary));
        }
        if jitters {
            name.push_str(&format!(", sync_jitter {}", f.jitter));
        }
        let server = f
            .server_cpu
            .map_or_else(|| "—".to_owned(), |c| format!("{:.1} s", secs(c)));
        println!(
            "| {} | {:.1} s | {:.0} | {:.1} s | {} | {} MiB ({} ≤ 128 MiB) | {:.1}% ({}) | {:.1}% ({}) | {:.1} MB ({}) | {:.2} KB ({}) |",
            name,
            secs(f.wall),
            f.requests as f64 / secs(f.wall),
            secs(f.cpu()),
            server,
            peaks.join(", "),
            verdict(f.peak_mib() <= GOAL_WORKER_MIB),
            share * 100.0,
            verdict(share <= GOAL_STATE_SHARE),
            f.over_floor() * 100.0,
            verdict(f.over_floor() <= GOAL_STATE_SHARE),
            f.state_bytes as f64 / 1e6,
            f.state_what,
            per_order / 1000.0,
            verdict(per_order <= GOAL_BYTES_PER_ORDER),
        );
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}
