//! The normalized output of a fetch, as an insta JSON snapshot stored in the scenario directory.
//!
//! One entry per outcome, in the order the pages returned them: an accepted order in canonical
//! JSON, or a rejection with every reason.
//!
//! Review new snapshots by hand: run with `INSTA_UPDATE=always` to write `<name>.snap` in place,
//! or read the `<name>.snap.new` file insta leaves next to it and rename it once it is right.
//! A tool that makes fixtures (`orderport record`) writes the file with [`render_outcomes`],
//! which is what insta would write, without running insta.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use orderport_core::{FetchOutcome, Order, Page, Rejection};
use serde::Serialize;

/// One outcome in a snapshot.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SnapshotEntry<'a> {
    /// An accepted order.
    Accepted {
        /// The page it came on, from 1.
        page: usize,
        /// The canonical order.
        order: &'a Order,
    },
    /// A rejected order.
    Rejected {
        /// The page it came on, from 1.
        page: usize,
        /// The rejection and its reasons.
        rejection: &'a Rejection,
    },
}

/// The snapshot entries of a walk, page by page.
pub fn entries(pages: &[Page]) -> Vec<SnapshotEntry<'_>> {
    pages
        .iter()
        .enumerate()
        .flat_map(|(i, page)| {
            page.outcomes.iter().map(move |outcome| match outcome {
                FetchOutcome::Accepted(order) => SnapshotEntry::Accepted { page: i + 1, order },
                FetchOutcome::Rejected(rejection) => SnapshotEntry::Rejected {
                    page: i + 1,
                    rejection,
                },
            })
        })
        .collect()
}

/// The source insta names in the snapshots the kit checks.
pub const SNAPSHOT_SOURCE: &str = "crates/testkit/src/snapshot.rs";

/// The text of `<name>.snap` for a walk's outcomes, as [`check_outcomes`] expects it: insta's
/// header (source and description) and the entries as pretty JSON (two-space indent, the
/// escapes insta's JSON writer uses). Orders carry no floating-point number, the one place
/// where insta's writer and `serde_json`'s differ.
pub fn render_outcomes(description: &str, pages: &[Page]) -> Result<String, serde_json::Error> {
    let entries = serde_json::to_string_pretty(&entries(pages))?;
    // A YAML double-quoted string accepts every escape JSON writes.
    let description = serde_json::to_string(description)?;
    Ok(format!(
        "---\nsource: {SNAPSHOT_SOURCE}\ndescription: {description}\n---\n{entries}\n"
    ))
}

/// Compares a walk's outcomes with `dir/<name>.snap`, and returns insta's report when they
/// differ (or when the snapshot is new) instead of panicking.
pub fn check_outcomes(
    dir: &Path,
    name: &str,
    description: &str,
    pages: &[Page],
) -> Result<(), String> {
    let value = entries(pages);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_json_snapshot!(name, value));
    }));
    outcome.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "snapshot assertion failed".to_owned());
        format!(
            "snapshot {}/{name}.snap does not match: {message}; review {name}.snap.new (or run \
             with INSTA_UPDATE=always) and read every value before accepting it",
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use orderport_core::{FetchOutcome, Order, Page, Rejection};

    use super::*;

    /// The pages a snapshot describes, read back from its JSON.
    fn pages_of(snapshot: &str) -> Vec<Page> {
        let json = snapshot.splitn(3, "---\n").nth(2).unwrap();
        let entries: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
        let mut pages: Vec<Page> = Vec::new();
        for entry in entries {
            let page = entry["page"].as_u64().unwrap() as usize;
            while pages.len() < page {
                pages.push(Page::new(Vec::new(), None));
            }
            let outcome = match entry["outcome"].as_str().unwrap() {
                "accepted" => FetchOutcome::Accepted(Box::new(
                    serde_json::from_value::<Order>(entry["order"].clone()).unwrap(),
                )),
                _ => FetchOutcome::Rejected(
                    serde_json::from_value::<Rejection>(entry["rejection"].clone()).unwrap(),
                ),
            };
            pages[page - 1].outcomes.push(outcome);
        }
        pages
    }

    #[test]
    fn rendered_snapshots_are_what_insta_compares_with() {
        // Real snapshots of every channel: accepted orders of every shape, rejections, an
        // empty walk, text that needs escapes.
        let fixtures = crate::workspace_fixtures();
        let mut checked = 0;
        for (channel, scenario) in [
            ("spark-shipping", "multi-page"),
            ("spark-shipping", "invalid-orders"),
            ("order-time", "multi-page"),
            ("listing-mirror", "empty-window"),
            ("order-time-custom-store", "seed-features"),
        ] {
            let dir = fixtures.join(channel).join(scenario);
            let on_disk = std::fs::read_to_string(dir.join("outcomes.snap")).unwrap();
            let pages = pages_of(&on_disk);
            let description = "Recorded \"here\"\n\tand: there";
            let rendered = render_outcomes(description, &pages).unwrap();
            // The same entries as insta wrote, byte for byte.
            assert_eq!(
                rendered.splitn(3, "---\n").nth(2),
                on_disk.splitn(3, "---\n").nth(2),
                "{channel}/{scenario}"
            );
            // And insta reads the rendered file as a match.
            let tmp = tempfile::tempdir().unwrap();
            std::fs::write(tmp.path().join("outcomes.snap"), &rendered).unwrap();
            check_outcomes(tmp.path(), "outcomes", description, &pages).unwrap();
            checked += 1;
        }
        assert_eq!(checked, 5);
    }
}
