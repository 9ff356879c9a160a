//! The state database seen from the command line: refused deliveries in `orderport events`,
//! and the read commands on a database that lives on read-only media.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, KlaviyoSim, SimClock};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn orderport(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .output()
        .expect("the orderport binary runs")
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
            "\n[[sink]]\nkind = \"klaviyo\"\nurl = \"{klaviyo_url}\"\napi_key = \"pk_state_test\"\nmax_attempts = 1\n"
        )
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SYNC: [&str; 6] = [
    "sync",
    "--config",
    "stores.toml",
    "--db",
    "state.db",
    "--once",
];

/// Klaviyo refuses every event (400): `sync` reports them refused and exits 0 (nothing is left
/// pending), `orderport events` shows the verdict and its reason in JSON lines, CSV and text,
/// and the next `sync` sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_events_are_reported_shown_by_events_and_never_resent() {
    let sim = spark().await;
    let klaviyo = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"errors":[{"code":"invalid","detail":"profile is invalid"}]}"#,
            "application/vnd.api+json",
        ))
        .mount(&klaviyo)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stores.toml"),
        stores_toml(&sim, &klaviyo.uri()),
    )
    .unwrap();
    let out = orderport(dir.path(), &SYNC);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("sink klaviyo:"))
        .unwrap();
    assert!(
        line.contains("delivered 0") && line.contains("failed 0") && !line.contains("refused 0"),
        "{line}"
    );
    assert!(stderr.contains("refused for good"), "{stderr}");
    let requests = klaviyo.received_requests().await.unwrap().len();
    assert!(requests > 0);

    let out = orderport(dir.path(), &["events", "--db", "state.db"]);
    let (json, _) = text(&out);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refused = rows
        .iter()
        .filter(|r| r["deliveries"][0]["state"] == "refused")
        .count();
    assert!(refused > 0, "{json}");
    for r in rows
        .iter()
        .filter(|r| r["deliveries"][0]["state"] == "refused")
    {
        assert_eq!(r["deliveries"][0]["sink"], "klaviyo");
        let reason = r["deliveries"][0]["reason"].as_str().unwrap();
        assert!(
            reason.contains("HTTP 400") && reason.contains("profile is invalid"),
            "{reason}"
        );
    }
    assert!(line.contains(&format!("refused {refused}")), "{line}");

    let out = orderport(
        dir.path(),
        &["events", "--db", "state.db", "--format", "csv"],
    );
    let (csv, _) = text(&out);
    assert!(
        csv.lines().next().unwrap().ends_with(",deliveries"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().filter(|l| l.contains("refused")).count(),
        refused
    );
    let out = orderport(
        dir.path(),
        &["events", "--db", "state.db", "--format", "text"],
    );
    let (listing, _) = text(&out);
    assert_eq!(
        listing
            .lines()
            .filter(|l| l.contains("klaviyo refused (Klaviyo rejected the request with HTTP 400"))
            .count(),
        refused,
        "{listing}"
    );

    // Nothing refused is sent again.
    let out = orderport(dir.path(), &SYNC);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("sink klaviyo: delivered 0, skipped 0, refused 0, failed 0"),
        "{stdout}"
    );
    assert_eq!(klaviyo.received_requests().await.unwrap().len(), requests);
    sim.shutdown().await;
}

/// How the test makes a directory read-only for the `orderport` process.
enum ReadOnly {
    /// A read-only bind mount in a private mount namespace (root): the kernel refuses every
    /// write to it, as on read-only media.
    BindMount,
    /// Running as an unprivileged user (root drops to `nobody`) on a directory and file with
    /// their write bits removed.
    Permissions { as_nobody: bool },
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl ReadOnly {
    /// The strongest way this machine allows.
    fn choose(probe: &Path) -> Self {
        if !is_root() {
            return Self::Permissions { as_nobody: false };
        }
        let mounted = Command::new("unshare")
            .args([
                "-m",
                "sh",
                "-c",
                "mount --bind -o ro \"$1\" \"$1\" && ! touch \"$1/probe\" 2>/dev/null",
                "sh",
            ])
            .arg(probe)
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            Self::BindMount
        } else {
            Self::Permissions { as_nobody: true }
        }
    }

    /// Runs `orderport args` with `dir` read-only.
    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        let bin = env!("CARGO_BIN_EXE_orderport");
        let mut command = match self {
            Self::BindMount => {
                let mut c = Command::new("unshare");
                c.args([
                    "-m",
                    "sh",
                    "-c",
                    "mount --bind -o ro \"$1\" \"$1\" && shift && exec \"$@\"",
                    "sh",
                ])
                .arg(dir)
                .arg(bin);
                c
            }
            Self::Permissions { as_nobody: true } => {
                let mut c = Command::new("setpriv");
                c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
                c
            }
            Self::Permissions { as_nobody: false } => Command::new(bin),
        };
        command
            .args(args)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .output()
            .expect("orderport runs")
    }
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `orders`, `events`, `quarantine` and `reconcile` read a database on read-only media: they
/// print exactly what they print from a writable copy, exit 0, and leave the directory as it
/// was (no `-wal` or `-shm` file, no change to the database). Before, opening applied the
/// schema and switched on WAL, which fails where nothing can be written.
///
/// What makes the directory read-only depends on the machine: as root, a read-only bind
/// mount in a private mount namespace (what read-only media look like to the process), else
/// dropping to `nobody` with the write bits removed; as another user, the write bits alone.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_commands_work_on_a_database_on_read_only_media() {
    let sim = spark().await;
    let klaviyo = KlaviyoSim::start(Faults::none(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("stores.toml"),
        stores_toml(&sim, &klaviyo.url()),
    )
    .unwrap();
    let out = orderport(work.path(), &SYNC);
    assert!(out.status.success(), "{:?}", text(&out));
    let queries: Vec<Vec<&str>> = vec![
        vec!["events", "--db", "state.db"],
        vec!["events", "--db", "state.db", "--format", "csv"],
        vec!["events", "--db", "state.db", "--format", "text"],
        vec!["orders", "--db", "state.db", "--format", "csv"],
        vec!["quarantine", "--db", "state.db"],
        vec![
            "reconcile",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
            "--store",
            "spark-1",
            "--tz",
            "UTC",
            "--days",
            "3",
        ],
    ];
    // A writable copy first, for the expected output.
    let media = tempfile::tempdir().unwrap();
    std::fs::copy(work.path().join("state.db"), media.path().join("state.db")).unwrap();
    std::fs::copy(
        work.path().join("stores.toml"),
        media.path().join("stores.toml"),
    )
    .unwrap();
    let expected: Vec<String> = queries
        .iter()
        .map(|q| {
            let out = orderport(work.path(), q);
            assert!(out.status.success(), "{q:?}: {:?}", text(&out));
            text(&out).0
        })
        .collect();
    assert!(expected[0].lines().count() > 5, "{}", expected[0]);

    let before = listing(media.path());
    let bytes = std::fs::read(media.path().join("state.db")).unwrap();
    let mode = ReadOnly::choose(media.path());
    set_mode(&media.path().join("state.db"), 0o444);
    set_mode(&media.path().join("stores.toml"), 0o444);
    set_mode(media.path(), 0o555);
    for (q, want) in queries.iter().zip(&expected) {
        let out = mode.run(media.path(), q);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{q:?}: {stderr}");
        assert_eq!(&stdout, want, "{q:?}");
    }
    assert_eq!(listing(media.path()), before, "a file was created");
    assert_eq!(
        std::fs::read(media.path().join("state.db")).unwrap(),
        bytes,
        "the database changed"
    );
    set_mode(media.path(), 0o755);
    klaviyo.shutdown().await;
    sim.shutdown().await;
}
