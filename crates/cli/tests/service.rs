//! The CLI as a service: `-v`/`-q`, `--log-format json`, `ORDERPORT_CONFIG` and shell
//! completions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use orderport_sim::chrono::{TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock};

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_orderport"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("ORDERPORT_CONFIG");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the orderport binary runs")
}

async fn simulator() -> ChannelSim {
    ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            days: 2,
            orders_per_day: 10,
            ..GeneratorConfig::default()
        },
        Faults::none(),
        SimClock::fixed(Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap()),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

const WINDOW: [&str; 4] = [
    "--from",
    "2026-03-18T00:00:00Z",
    "--to",
    "2026-03-20T12:00:00Z",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_levels_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator().await;
    std::fs::write(dir.path().join("stores.toml"), sim.stores_toml()).unwrap();
    let store = orderport::StoresFile::parse(&sim.stores_toml(), &|_| None)
        .unwrap()
        .stores[0]
        .id
        .clone();
    let import = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["import", "--config", "stores.toml", "--store", &store]);
        args.extend(WINDOW);
        run(dir.path(), &args, &[])
    };

    // Default: the closing summary is logged at info, as text.
    let out = import(&[]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("INFO") && stderr.contains("import finished"),
        "{stderr}"
    );

    // -q: warnings and errors only; the orders still go to stdout.
    let out = import(&["-q"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("INFO"), "{stderr}");
    assert!(!out.stdout.is_empty());

    // -v: debug lines too.
    let out = import(&["-v"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DEBUG"));

    // --log-format json: every stderr line is a JSON object with a level and the fields.
    let out = import(&["--log-format", "json"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let summary = lines
        .iter()
        .find(|l| l["fields"]["message"] == "import finished")
        .unwrap_or_else(|| panic!("no summary line: {stderr}"));
    assert_eq!(summary["level"], "INFO");
    assert_eq!(summary["fields"]["store"], store.as_str());
    assert!(summary["fields"]["imported"].as_u64().unwrap() > 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderport_config_stands_in_for_config() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator().await;
    let path = dir.path().join("elsewhere.toml");
    std::fs::write(&path, sim.stores_toml()).unwrap();
    let path = path.to_str().unwrap();
    let out = run(dir.path(), &["check"], &[("ORDERPORT_CONFIG", path)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("connection OK"), "{stdout}");
    // --config wins over the variable.
    let out = run(
        dir.path(),
        &["check", "--config", "missing.toml"],
        &[("ORDERPORT_CONFIG", path)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    sim.shutdown().await;
}

#[test]
fn completions_are_printed_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, mark) in [
        ("bash", "_orderport()"),
        ("zsh", "#compdef orderport"),
        ("fish", "complete -c orderport"),
    ] {
        let out = run(dir.path(), &["completions", shell], &[]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(mark), "{shell}: {script}");
        // Every command is offered.
        for command in ["import", "sync", "check", "reconcile", "new-connector"] {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_for_prometheus_while_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator().await;
    // No random delay before the first run (sync_jitter defaults to a minute).
    let stores = sim
        .stores_toml()
        .replace("[[store]]\n", "[[store]]\nsync_jitter = \"0s\"\n");
    assert!(stores.contains("sync_jitter"));
    std::fs::write(dir.path().join("stores.toml"), stores).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args([
            "--metrics-addr",
            &addr,
            "sync",
            "--watch",
            "--config",
            "stores.toml",
            "--db",
            "state.db",
        ])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut body = String::new();
    for _ in 0..300 {
        if let Ok(reply) = client.get(format!("http://{addr}/metrics")).send().await {
            body = reply.text().await.unwrap_or_default();
            if body.contains("orderport_http_request_duration_seconds") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    sim.shutdown().await;
    let line = body
        .lines()
        .find(|l| l.starts_with("orderport_http_request_duration_seconds_count"))
        .unwrap_or_else(|| panic!("no request metric served: {body}"));
    assert!(
        line.contains("channel=\"spark-shipping\"") && line.contains("status=\"200\""),
        "{line}"
    );
}
