//! A host that embeds the facade with `default-features = false` and one connector
//! (examples/host-embed) builds no SQLite, no CLI and no simulator dependency.

use std::process::Command;

#[test]
fn a_host_importing_orders_builds_no_sqlite_cli_or_simulator_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            "orderport-host-embed",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        names.contains(&"orderport-spark-shipping"),
        "the connector is there: {tree}"
    );
    for unwanted in [
        "rusqlite",
        "libsqlite3-sys",
        "clap",
        "axum",
        "indicatif",
        "orderport-sync",
        "orderport-sim",
        "orderport-cli",
        "orderport-order-time",
        "orderport-listing-mirror",
    ] {
        assert!(
            !names.contains(&unwanted),
            "{unwanted} is in the host's build:\n{tree}"
        );
    }
}
