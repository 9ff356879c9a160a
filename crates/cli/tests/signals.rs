//! SIGTERM and SIGINT against the real `orderport` binary and the channel simulators: a
//! 429 back-off, a slow request or a hanging Klaviyo no longer hold the process; the pages
//! committed stay, leases are released, and the exit code says whether anything failed.
//!
//! The bound on stopping (15 s, against ten minutes of back-off or request) is behavioural, not
//! a benchmark: before the fix each of these processes went on for minutes.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, KlaviyoSim, SimClock};
use orderport_sync::{LeaseGrant, SqliteState, State};

/// How long a stopping process may take at most.
const STOP_BOUND: Duration = Duration::from_secs(15);

/// Far longer than any test: a `Retry-After`, a request's latency.
const LONG_SECS: u64 = 600;

async fn spark(faults: Faults) -> ChannelSim {
    spark_with(10, faults).await
}

async fn spark_with(orders_per_day: u32, faults: Faults) -> ChannelSim {
    ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            orders_per_day,
            days: 3,
            invalid_share: 0.0,
            ..GeneratorConfig::default()
        },
        faults,
        SimClock::system(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

/// The simulator's stores file with a short history (a few daily slices) and a connector that
/// honours a `Retry-After` of up to an hour, as a production setting may.
fn stores_toml(sim: &ChannelSim) -> String {
    sim.stores_toml()
        .replace("retry_max_delay_ms = 200", "retry_max_delay_ms = 3600000")
        .replace(
            "[[store]]\n",
            "[[store]]\nsync_history = \"3d\"\nsync_slice = \"1d\"\nsync_jitter = \"0s\"\n",
        )
}

/// The running binary; its stdout and stderr are drained by threads as they come (a full
/// pipe would block the process).
struct Running {
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

impl Running {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_orderport"))
            .args(args)
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

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit, at most [`STOP_BOUND`]; returns the status and the output.
    async fn stopped(mut self) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + STOP_BOUND;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let (out, err) = self.output();
                panic!(
                    "still running {STOP_BOUND:?} after the signal\nstdout: {out}\nstderr: {err}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (out, err) = self.output();
        (status, out, err)
    }

    /// The whole output; call once the process has exited (or was killed).
    fn output(&mut self) -> (String, String) {
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        (join(self.stdout.take()), join(self.stderr.take()))
    }
}

impl Running {
    /// Waits until `ready` holds (the process reached the state under test), at most 60 s; the
    /// process must still be running then.
    async fn until(&mut self, what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let (out, err) = self.output();
                panic!("exited ({status}) before {what}\nstdout: {out}\nstderr: {err}");
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let (out, err) = self.output();
                panic!("never reached: {what}\nstdout: {out}\nstderr: {err}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Let the reply arrive and the wait begin.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "exited on its own after {what}"
        );
    }
}

/// The store's lease is free: another worker takes it at once.
async fn lease_is_free(db: &Path, store: &str) {
    let state = Arc::new(SqliteState::open(db).unwrap());
    let grant = state
        .acquire_lease(
            store,
            "another-worker",
            chrono::Duration::minutes(10),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert!(
        matches!(grant, LeaseGrant::Granted(_)),
        "the lease was left behind: {grant:?}"
    );
}

async fn stored_orders(db: &Path) -> usize {
    let state = SqliteState::open_read_only(db).unwrap();
    state.orders_page(None, 0, 100_000).await.unwrap().len()
}

/// SIGTERM while the connector waits out a 10-minute `Retry-After`: the process stops at once,
/// the pages fetched before are committed, the lease is released, and the exit code is 0 since
/// nothing failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cuts_a_retry_after_back_off_short_and_keeps_the_committed_pages() {
    let sim = spark(Faults {
        rate_limit_every: 3,
        retry_after_secs: LONG_SECS,
        ..Faults::none()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stores.toml"), stores_toml(&sim)).unwrap();
    let mut run = Running::start(
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
    run.until("the third request, answered 429", || {
        sim.request_count() >= 3
    })
    .await;
    run.signal("TERM");
    let (status, out, err) = run.stopped().await;
    assert_eq!(status.code(), Some(0), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("stopped by a signal"), "{out}");
    assert!(err.contains("SIGTERM"), "{err}");
    assert!(
        stored_orders(&dir.path().join("state.db")).await > 0,
        "the pages before the back-off are committed"
    );
    lease_is_free(&dir.path().join("state.db"), "spark-1").await;
    assert_eq!(
        sim.request_count(),
        3,
        "nothing was fetched after the signal"
    );
    sim.shutdown().await;
}

/// Ctrl-C (SIGINT) during a request the server takes ten minutes to answer, with --watch: the
/// request is abandoned, the lease released, exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_abandons_a_slow_request_in_watch_mode() {
    let sim = spark(Faults {
        latency: Duration::from_secs(LONG_SECS),
        ..Faults::none()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stores.toml"), stores_toml(&sim)).unwrap();
    let mut run = Running::start(
        dir.path(),
        &[
            "sync",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--watch",
        ],
    );
    run.until("the first request", || sim.request_count() >= 1)
        .await;
    run.signal("INT");
    let (status, out, err) = run.stopped().await;
    assert_eq!(status.code(), Some(0), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("stopped by a signal"), "{out}");
    lease_is_free(&dir.path().join("state.db"), "spark-1").await;
    sim.shutdown().await;
}

/// A store whose run failed (its credentials are refused) beside one stopped by SIGTERM in a
/// back-off: the process stops at once and exits 1, because a run failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_exits_1_after_a_signal() {
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let sim = spark(Faults {
        rate_limit_every: 3,
        retry_after_secs: LONG_SECS,
        ..Faults::none()
    })
    .await;
    let refusing = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(401))
        .mount(&refusing)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let bad = format!(
        "[[store]]\nid = \"refused\"\nname = \"Refused\"\nchannel = \"spark-shipping\"\nurl = \"{}/shipstation\"\nusername = \"u\"\npassword = \"p\"\nretry_max_attempts = 1\nsync_history = \"3d\"\nsync_slice = \"1d\"\n",
        refusing.uri()
    );
    std::fs::write(
        dir.path().join("stores.toml"),
        stores_toml(&sim) + "\n" + &bad,
    )
    .unwrap();
    let mut run = Running::start(
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
    run.until("the third request, answered 429", || {
        sim.request_count() >= 3
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while refusing
        .received_requests()
        .await
        .is_none_or(|r| r.is_empty())
    {
        assert!(
            Instant::now() < deadline,
            "the refused store was never tried"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    run.signal("TERM");
    let (status, out, err) = run.stopped().await;
    assert_eq!(status.code(), Some(1), "stdout: {out}\nstderr: {err}");
    assert!(err.contains("1 store run(s) failed"), "{err}");
    lease_is_free(&dir.path().join("state.db"), "spark-1").await;
    lease_is_free(&dir.path().join("state.db"), "refused").await;
    sim.shutdown().await;
}

/// The final delivery after a signal runs within the grace period only: Klaviyo never
/// answers, SIGTERM arrives during the delivery, the process stops at once, exits 1 (events
/// stayed undelivered), and every event is still pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_delivery_is_cut_short_and_its_events_stay_pending() {
    let sim = spark(Faults::none()).await;
    let klaviyo = KlaviyoSim::start(
        Faults {
            latency: Duration::from_secs(LONG_SECS),
            ..Faults::none()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = stores_toml(&sim)
        + &format!(
            "\n[[sink]]\nkind = \"klaviyo\"\nurl = \"{}\"\napi_key = \"pk_signal_test\"\ntimeout_secs = {}\n",
            klaviyo.url(),
            LONG_SECS * 2
        );
    std::fs::write(dir.path().join("stores.toml"), config).unwrap();
    let mut run = Running::start(
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
    run.until("the first Klaviyo request", || klaviyo.request_count() >= 1)
        .await;
    run.signal("TERM");
    let (status, out, err) = run.stopped().await;
    assert_eq!(status.code(), Some(1), "stdout: {out}\nstderr: {err}");
    assert!(err.contains("cut short"), "{err}");
    let db = dir.path().join("state.db");
    let state = SqliteState::open_read_only(&db).unwrap();
    let events = state.events_page(None, 0, 100_000).await.unwrap();
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| e.deliveries.is_empty()),
        "nothing was recorded as delivered"
    );
    drop(state);
    lease_is_free(&db, "spark-1").await;
    klaviyo.shutdown().await;
    sim.shutdown().await;
}

/// `import` stopped by SIGTERM during a back-off: it stops at once, what it wrote is whole JSON
/// lines, and it exits 130 because the window was not fetched whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_an_import_with_exit_130_and_whole_lines() {
    // 80 orders a day: a three-day window is several export pages of 100; the second request
    // is answered 429.
    let sim = spark_with(
        80,
        Faults {
            rate_limit_every: 2,
            retry_after_secs: LONG_SECS,
            ..Faults::none()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let toml = sim
        .stores_toml()
        .replace("retry_max_delay_ms = 200", "retry_max_delay_ms = 3600000");
    std::fs::write(dir.path().join("stores.toml"), toml).unwrap();
    let from = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    let to = chrono::Utc::now().to_rfc3339();
    let mut run = Running::start(
        dir.path(),
        &[
            "import",
            "--config",
            "stores.toml",
            "--store",
            "spark-1",
            "--from",
            &from,
            "--to",
            &to,
        ],
    );
    run.until("the second request, answered 429", || {
        sim.request_count() >= 2
    })
    .await;
    run.signal("TERM");
    let (status, out, err) = run.stopped().await;
    assert_eq!(status.code(), Some(130), "stderr: {err}");
    assert!(err.contains("partial"), "{err}");
    for line in out.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("a whole JSON line");
    }
    sim.shutdown().await;
}
