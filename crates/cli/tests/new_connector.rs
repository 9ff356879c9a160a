//! `orderport new-connector`: the crate it writes is the example connector (compiled and
//! conformance-tested in this workspace) renamed, file for file, and it builds on its own in a
//! throwaway workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> PathBuf {
    root().join("examples/connector-example")
}

fn orderport(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_orderport"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the orderport binary runs")
}

/// Every file under `dir`, by path relative to it.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let relative = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The example's files the new crate is made of: `src/`, `fixtures/`, and the conformance and
/// fixture tests (its other tests are about the guide and Acme).
fn example_files() -> BTreeMap<String, String> {
    tree(&example())
        .into_iter()
        .filter(|(path, _)| {
            path.starts_with("src/")
                || path.starts_with("fixtures/")
                || path == "tests/conformance.rs"
                || path == "tests/fixtures.rs"
        })
        .collect()
}

/// The new names turned back into the example's, with plain replacements (none of the
/// example's names contains a new one), so that the test does not lean on the command's own
/// renaming.
fn back_to_the_example(text: &str) -> String {
    [
        ("orderport_zeta_shop", "orderport_connector_example"),
        ("zeta-shop", "acme-market"),
        ("zeta_shop", "acme_market"),
        ("Zeta Shop", "Acme Market"),
        ("ZetaShop", "Acme"),
        ("ZETA_SHOP", "ACME"),
    ]
    .iter()
    .fold(text.to_owned(), |text, (new, old)| text.replace(new, old))
}

fn without_anchor_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| !line.trim_start().starts_with("// ANCHOR"))
        .collect()
}

/// The `[dependencies]` lines of a manifest.
fn dependencies(manifest: &str) -> Vec<&str> {
    manifest
        .lines()
        .skip_while(|l| *l != "[dependencies]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn the_crate_is_the_example_renamed_file_for_file() {
    let tmp = tempfile::tempdir().unwrap();
    let output = orderport(tmp.path(), &["--json", "new-connector", "zeta-shop"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["crate"], "orderport-zeta-shop");
    assert_eq!(report["dir"], "connectors/zeta-shop");
    let written = tree(&tmp.path().join("connectors/zeta-shop"));
    assert_eq!(report["files"].as_array().unwrap().len(), written.len());

    let manifest = &written["Cargo.toml"];
    assert!(
        manifest.contains("name = \"orderport-zeta-shop\""),
        "{manifest}"
    );
    assert!(manifest.contains("description = \"The Zeta Shop connector for orderport.\""));
    let example_manifest = std::fs::read_to_string(example().join("Cargo.toml")).unwrap();
    assert_eq!(dependencies(manifest), dependencies(&example_manifest));

    let expected = example_files();
    let renamed: BTreeMap<String, String> = written
        .iter()
        .filter(|(path, _)| *path != "Cargo.toml")
        .map(|(path, text)| (back_to_the_example(path), back_to_the_example(text)))
        .collect();
    assert_eq!(
        renamed.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "new-connector does not write every file of the example (update EXAMPLE in crates/cli/src/new_connector.rs)"
    );
    for (path, text) in &expected {
        assert_eq!(renamed[path], without_anchor_lines(text), "{path}");
    }
    for (path, text) in &written {
        assert!(
            !text.to_ascii_lowercase().contains("acme"),
            "{path} still names Acme"
        );
        assert!(!path.contains("acme"), "{path}");
    }
}

#[test]
fn bad_names_and_occupied_directories_are_refused_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, needle) in [
        ("Woo", "not a channel id"),
        ("woo--commerce", "not a channel id"),
        ("core", "already a crate"),
    ] {
        let output = orderport(tmp.path(), &["new-connector", name]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{name}: {stderr}");
    }
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
    let taken = tmp.path().join("taken");
    std::fs::create_dir_all(&taken).unwrap();
    std::fs::write(taken.join("keep.txt"), "mine").unwrap();
    let output = orderport(tmp.path(), &["new-connector", "woo", "--dir", "taken"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));
    assert_eq!(std::fs::read_dir(&taken).unwrap().count(), 1);
}

/// A workspace holding only the new crate, with this workspace's shared settings and
/// dependencies (our crates by absolute path) and its lock file, so that it builds offline.
fn throwaway_workspace(dir: &Path, member: &str) {
    let root = root().canonicalize().unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let start = manifest.find("[workspace.package]").unwrap();
    let end = manifest.find("\n[package]").unwrap();
    let shared =
        manifest[start..end].replace("path = \"", &format!("path = \"{}/", root.display()));
    let text = format!(
        "[workspace]\nresolver = \"2\"\nmembers = [\"{member}\"]\n\n[profile.dev]\ndebug = \"line-tables-only\"\n\n{shared}"
    );
    std::fs::write(dir.join("Cargo.toml"), text).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

#[test]
fn the_crate_builds_in_a_throwaway_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let member = "connectors/zeta-shop";
    let output = orderport(tmp.path(), &["new-connector", "zeta-shop", "--dir", member]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    throwaway_workspace(tmp.path(), member);
    // Its own target directory under this workspace's, kept between runs so that only the first
    // one checks every dependency.
    let target = root().join("target/new-connector-check");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let check = std::process::Command::new(cargo)
        .args(["check", "--offline", "--all-targets", "--quiet"])
        .current_dir(tmp.path())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        check.status.success(),
        "the new crate does not build:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
