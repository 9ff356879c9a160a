//! `orderport new-connector NAME [--dir PATH]`: writes a new connector crate that compiles and
//! passes the conformance suite as written.
//!
//! The crate is the guide's example connector (`examples/connector-example`, Acme Market, a
//! made-up JSON API) renamed to the new channel: `src/lib.rs`, `tests/conformance.rs`,
//! `tests/fixtures.rs` (the fixtures described in Rust) and `fixtures/<NAME>/` with every
//! required scenario, snapshots included, plus a `Cargo.toml` from
//! `crates/cli/templates/connector.Cargo.toml`. The example is compiled and tested in this
//! workspace, so what is written is code that builds and passes; the author then replaces the
//! made-up API with the channel's, following docs/connector-guide.md.
//!
//! Renaming is one pass over each file, longest name first, so that no replacement is renamed
//! again: `orderport_connector_example` → `orderport_<snake>`, `acme-market` → `<NAME>`,
//! `acme_market` → `<snake>`, `Acme Market` → `<Title Case>`, `Acme` → `<PascalCase>`,
//! `ACME` → `<UPPER_SNAKE>`. The guide's `// ANCHOR` lines are left out.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;

use crate::exit::Failure;
use crate::fresh_dir;

/// Arguments of `orderport new-connector`.
#[derive(Debug, Args)]
pub struct NewConnectorArgs {
    /// The new channel's id, such as `woo-commerce`: words of lower-case letters and digits
    /// joined by single hyphens, starting with a letter. The crate is `orderport-<NAME>`.
    name: String,
    /// Where to write the crate; it must not exist, or be empty. Default: connectors/NAME.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The example connector's files the new crate is made of, by path in the example, with their
/// text.
macro_rules! example_files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../examples/connector-example/", $path)))),*]
    };
}

/// What `new-connector` copies from the example. A test of the CLI checks that this is every
/// file of the example's `src/`, `fixtures/` and the two tests it names.
const EXAMPLE: &[(&str, &str)] = example_files![
    "src/lib.rs",
    "tests/conformance.rs",
    "tests/fixtures.rs",
    "fixtures/acme-market/bad-credentials/scenario.toml",
    "fixtures/acme-market/bad-credentials/unauthorized.json",
    "fixtures/acme-market/check-connection/pong.json",
    "fixtures/acme-market/check-connection/scenario.toml",
    "fixtures/acme-market/dst-window/outcomes.snap",
    "fixtures/acme-market/dst-window/page-1.json",
    "fixtures/acme-market/dst-window/scenario.toml",
    "fixtures/acme-market/empty-window/outcomes.snap",
    "fixtures/acme-market/empty-window/page-1.json",
    "fixtures/acme-market/empty-window/scenario.toml",
    "fixtures/acme-market/html-error/error-page.html",
    "fixtures/acme-market/html-error/scenario.toml",
    "fixtures/acme-market/invalid-orders/outcomes.snap",
    "fixtures/acme-market/invalid-orders/page-1.json",
    "fixtures/acme-market/invalid-orders/scenario.toml",
    "fixtures/acme-market/missing-external-id/scenario.toml",
    "fixtures/acme-market/multi-page/outcomes.snap",
    "fixtures/acme-market/multi-page/page-1.json",
    "fixtures/acme-market/multi-page/page-2.json",
    "fixtures/acme-market/multi-page/scenario.toml",
    "fixtures/acme-market/rate-limited/outcomes.snap",
    "fixtures/acme-market/rate-limited/page-1.json",
    "fixtures/acme-market/rate-limited/scenario.toml",
    "fixtures/acme-market/rate-limited/too-many.json",
    "fixtures/acme-market/read-only-token/forbidden.json",
    "fixtures/acme-market/read-only-token/fulfillment.json",
    "fixtures/acme-market/read-only-token/scenario.toml",
    "fixtures/acme-market/shipment-full/fulfillment.json",
    "fixtures/acme-market/shipment-full/scenario.toml",
    "fixtures/acme-market/shipment-partial/fulfillment.json",
    "fixtures/acme-market/shipment-partial/scenario.toml",
    "fixtures/acme-market/unavailable/outcomes.snap",
    "fixtures/acme-market/unavailable/page-1.json",
    "fixtures/acme-market/unavailable/scenario.toml",
    "fixtures/acme-market/unmapped-status/outcomes.snap",
    "fixtures/acme-market/unmapped-status/page-1.json",
    "fixtures/acme-market/unmapped-status/scenario.toml",
];

/// The new crate's manifest; `{id}` and `{title}` are filled in.
const CARGO_TOML: &str = include_str!("../templates/connector.Cargo.toml");

/// Crates of this workspace a connector's crate name must not take.
const TAKEN: [&str; 8] = [
    "core",
    "http",
    "testkit",
    "cli",
    "sync",
    "sim",
    "custom-store",
    "connector-example",
];

/// The new channel's names, in each spelling the example's names take.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Names {
    /// `woo-commerce`.
    id: String,
    /// `woo_commerce`.
    snake: String,
    /// `Woo Commerce`.
    title: String,
    /// `WooCommerce`.
    pascal: String,
    /// `WOO_COMMERCE`.
    upper: String,
}

impl Names {
    /// The names for a channel id, or why it is not one.
    fn new(id: &str) -> Result<Self, String> {
        let words: Vec<&str> = id.split('-').collect();
        let valid = id.len() <= 40
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && words.iter().all(|w| {
                !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !valid {
            return Err(format!(
                "{id:?} is not a channel id: use words of lower-case letters and digits joined by single hyphens, starting with a letter, at most 40 characters (such as woo-commerce)"
            ));
        }
        if TAKEN.contains(&id) {
            return Err(format!(
                "orderport-{id} is already a crate of orderport; choose another name"
            ));
        }
        let capitalized = |w: &&str| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        };
        Ok(Self {
            id: id.to_owned(),
            snake: words.join("_"),
            title: words.iter().map(capitalized).collect::<Vec<_>>().join(" "),
            pascal: words.iter().map(capitalized).collect(),
            upper: words.join("_").to_ascii_uppercase(),
        })
    }

    /// The example's names and what each becomes, longest first.
    fn renames(&self) -> [(&'static str, String); 6] {
        [
            (
                "orderport_connector_example",
                format!("orderport_{}", self.snake),
            ),
            ("acme-market", self.id.clone()),
            ("acme_market", self.snake.clone()),
            ("Acme Market", self.title.clone()),
            ("Acme", self.pascal.clone()),
            ("ACME", self.upper.clone()),
        ]
    }
}

/// `text` with every example name replaced, in one pass (a replacement is never renamed
/// again), and without the guide's `// ANCHOR` lines.
fn rename(text: &str, names: &Names) -> String {
    let renames = names.renames();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("// ANCHOR") {
            continue;
        }
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            match renames.iter().find(|(from, _)| rest.starts_with(from)) {
                Some((from, to)) => {
                    out.push_str(to);
                    rest = &rest[from.len()..];
                }
                None => {
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
    }
    out
}

/// Every file of the new crate: its path in the crate and its text.
fn files(names: &Names) -> Vec<(String, String)> {
    let manifest = CARGO_TOML
        .replace("{id}", &names.id)
        .replace("{title}", &names.title);
    let mut files = vec![("Cargo.toml".to_owned(), manifest)];
    files.extend(
        EXAMPLE
            .iter()
            .map(|(path, text)| (rename(path, names), rename(text, names))),
    );
    files
}

/// Writes the crate and says what to do next.
pub async fn run(args: NewConnectorArgs, json: bool) -> Result<(), Failure> {
    let names = Names::new(&args.name).map_err(|e| Failure::usage(anyhow!(e)))?;
    let dir = args
        .dir
        .unwrap_or_else(|| Path::new("connectors").join(&names.id));
    fresh_dir::ensure_free(&dir, "--dir")?;
    let files = files(&names);
    fresh_dir::write(
        &dir,
        files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_bytes())),
    )?;
    let package = format!("orderport-{}", names.id);
    if json {
        let report = serde_json::json!({
            "channel": names.id,
            "crate": package,
            "dir": dir.display().to_string(),
            "files": files.iter().map(|(path, _)| path).collect::<Vec<_>>(),
        });
        println!("{report}");
        return Ok(());
    }
    println!(
        "wrote {package} ({} files) in {}: Acme Market, the guide's made-up example, renamed to {}",
        files.len(),
        dir.display(),
        names.title
    );
    println!("next:");
    println!(
        "  1. in the workspace's Cargo.toml, add \"{}\" to [workspace] members and\n     {package} = {{ path = \"{}\", version = \"0.1.0\" }} to [workspace.dependencies]",
        dir.display(),
        dir.display()
    );
    println!("  2. cargo test -p {package}: it passes as written");
    println!(
        "  3. replace the made-up API with {}'s, step by step: docs/connector-guide.md; rewrite tests/fixtures.rs from real exchanges and run it with UPDATE_FIXTURES=1",
        names.title
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_every_spelling() {
        let names = Names::new("woo-commerce2").unwrap();
        assert_eq!(names.snake, "woo_commerce2");
        assert_eq!(names.title, "Woo Commerce2");
        assert_eq!(names.pascal, "WooCommerce2");
        assert_eq!(names.upper, "WOO_COMMERCE2");
        for bad in [
            "",
            "Woo",
            "woo--x",
            "-woo",
            "woo-",
            "2woo",
            "woo_x",
            "wöo",
            "core",
            &"a".repeat(41),
        ] {
            assert!(Names::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn renaming_is_one_pass_and_drops_anchor_lines() {
        // A new name that contains an example name is not renamed again.
        let names = Names::new("acme").unwrap();
        let text = "// ANCHOR: spec\nstruct AcmeChannel; // Acme Market, acme-market, ACME-1\n    // ANCHOR_END: spec\nuse orderport_connector_example::SPEC; fn acme_market() {}\n";
        assert_eq!(
            rename(text, &names),
            "struct AcmeChannel; // Acme, acme, ACME-1\nuse orderport_acme::SPEC; fn acme() {}\n"
        );
        let names = Names::new("zeta-shop").unwrap();
        assert_eq!(
            rename("Acme Market: AcmeChannel, ACME_TOKEN", &names),
            "Zeta Shop: ZetaShopChannel, ZETA_SHOP_TOKEN"
        );
    }
}
