//! `orderport check`: every store and every `[[sink]]` of the file, against the simulators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use orderport_sim::chrono::{TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, KlaviyoSim, SimClock};

const KEY: &str = "pk_check_test_key_4f1c";

fn run(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the orderport binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_tests_every_store_and_every_sink_and_names_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let clock = SimClock::fixed(Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap());
    let spark = ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            stores: 2,
            days: 1,
            orders_per_day: 5,
            ..GeneratorConfig::default()
        },
        Faults::none(),
        clock,
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let klaviyo = KlaviyoSim::start(Faults::none(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    klaviyo.set_accepted_key(Some(KEY));
    let sinks = |key: &str| {
        format!(
            "\n[[sink]]\nkind = \"klaviyo\"\nid = \"klaviyo-main\"\nurl = \"{}\"\napi_key = \"{key}\"\n",
            klaviyo.url()
        )
    };
    let stores = spark.stores_toml();
    let ids: Vec<String> = orderport::StoresFile::parse(&stores, &|_| None)
        .unwrap()
        .stores
        .iter()
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(ids.len(), 2);

    // Everything answers: one line per store and per sink, exit 0.
    std::fs::write(dir.path().join("stores.toml"), stores.clone() + &sinks(KEY)).unwrap();
    let out = run(dir.path(), &["check", "--config", "stores.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in &ids {
        assert!(
            stdout.contains(&format!("store {id} (spark-shipping): connection OK")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("sink klaviyo-main (klaviyo): connection OK"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    // The check wrote nothing to Klaviyo.
    assert!(klaviyo.events().is_empty());

    // A revoked key: the stores still pass, the sink fails as an authentication error (exit
    // 3), and the key is printed nowhere.
    let revoked = "pk_revoked_key_9d2e";
    std::fs::write(
        dir.path().join("stores.toml"),
        stores.clone() + &sinks(revoked),
    )
    .unwrap();
    for json in [false, true] {
        let mut args = vec!["check", "--config", "stores.toml"];
        if json {
            args.insert(0, "--json");
        }
        let out = run(dir.path(), &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
        assert!(!stdout.contains(revoked) && !stderr.contains(revoked));
        if json {
            let lines: Vec<serde_json::Value> = stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(lines.len(), 3, "{stdout}");
            assert!(lines[..2].iter().all(|l| l["ok"] == true), "{stdout}");
            assert_eq!(lines[2]["sink"], "klaviyo-main");
            assert_eq!(lines[2]["ok"], false);
            assert!(
                lines[2]["error"].as_str().unwrap().contains("401"),
                "{stdout}"
            );
        } else {
            assert!(
                stdout.contains("sink klaviyo-main (klaviyo): FAILED:")
                    && stdout.contains("refused the API key with HTTP 401"),
                "{stdout}"
            );
            assert!(stderr.contains("not every connection works"), "{stderr}");
        }
    }

    // A store that cannot be built (an unknown setting) is one FAILED line, exit 2; the
    // others are still checked.
    let broken = stores.replacen("[[store]]\n", "[[store]]\nno_such_setting = 1\n", 1);
    std::fs::write(dir.path().join("stores.toml"), broken + &sinks(KEY)).unwrap();
    let out = run(dir.path(), &["check", "--config", "stores.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(&format!("store {} (spark-shipping): FAILED:", ids[0]))
            && stdout.contains("no_such_setting"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("store {} (spark-shipping): connection OK", ids[1])),
        "{stdout}"
    );
    assert!(
        stdout.contains("sink klaviyo-main (klaviyo): connection OK"),
        "{stdout}"
    );
    std::fs::write(
        dir.path().join("stores.toml"),
        stores.clone() + &sinks(revoked),
    )
    .unwrap();

    // --store checks that store alone (and no sink).
    let out = run(
        dir.path(),
        &["check", "--config", "stores.toml", "--store", &ids[0]],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");

    klaviyo.shutdown().await;
    spark.shutdown().await;
}
